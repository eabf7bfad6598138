//! `jobdeck rollout preview`: show how a batch expression splits the hosts.

use anyhow::Result;

use crate::cli::RolloutCommand;
use crate::rollout::BatchExpr;

pub fn run(cmd: RolloutCommand) -> Result<u8> {
    match cmd {
        RolloutCommand::Preview { expr, hosts, json } => {
            // Several words (`preview 10% 30% 100%`) are one expression.
            let expr = BatchExpr::parse(&expr.join(" "))?;
            let sizes = expr.plan(hosts)?;
            if json {
                super::stdout::write(serde_json::to_string(&sizes)? + "\n")
            } else {
                super::stdout::write(render_plan(&sizes, hosts))
            }
        }
    }
}

/// `batch 1: 10 hosts (10%)` lines, then `total: ...`.
fn render_plan(sizes: &[usize], hosts: usize) -> String {
    let mut text = String::new();
    for (i, &size) in sizes.iter().enumerate() {
        text.push_str(&format!(
            "batch {}: {} ({})\n",
            i + 1,
            host_count(size),
            share(size, hosts)
        ));
    }
    let batches = if sizes.len() == 1 { "batch" } else { "batches" };
    text.push_str(&format!(
        "total: {} in {} {batches}\n",
        host_count(hosts),
        sizes.len()
    ));
    text
}

fn host_count(n: usize) -> String {
    if n == 1 {
        "1 host".into()
    } else {
        format!("{n} hosts")
    }
}

/// The batch's share of all hosts: whole percent when exact, else one decimal.
fn share(size: usize, hosts: usize) -> String {
    let tenths = (size as u128 * 1000 + hosts as u128 / 2) / hosts.max(1) as u128;
    if tenths.is_multiple_of(10) {
        format!("{}%", tenths / 10)
    } else {
        format!("{}.{}%", tenths / 10, tenths % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_form() {
        assert_eq!(
            render_plan(&[1, 2], 3),
            "batch 1: 1 host (33.3%)\nbatch 2: 2 hosts (66.7%)\ntotal: 3 hosts in 2 batches\n"
        );
        assert_eq!(render_plan(&[], 0), "total: 0 hosts in 0 batches\n");
        assert_eq!(
            render_plan(&[5], 5),
            "batch 1: 5 hosts (100%)\ntotal: 5 hosts in 1 batch\n"
        );
    }
}
