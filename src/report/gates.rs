//! How the reporter shows what happens before and around the batches: guard
//! hits, the run lock, the pre-flight table, steps waiting for a host slot.

use super::sanitize::one_line;
use crate::engine::gates::Holder;
use crate::guard::{Action, HitRecord};
use crate::hostlist::fold;
use crate::preflight::{PreflightMode, Readiness};

/// `== guard: warned: rule 'pipe-to-shell' (warn) at flows/x.yml:4: matched `...``
pub fn guard_hit(hit: &HitRecord) -> String {
    let outcome = hit.outcome.map_or("waiting", |o| o.as_str());
    let mut line = format!("== guard: {outcome}: {}", one_line(&hit.describe()));
    if let Some(message) = &hit.message {
        line.push_str(&format!(" ({})", one_line(message)));
    }
    line.push('\n');
    line
}

/// The confirm rules an operator must answer.
pub fn guard_confirm(hits: &[HitRecord]) -> String {
    let mut out = String::new();
    for hit in hits.iter().filter(|h| h.action == Action::Confirm) {
        out.push_str(&format!(
            "== guard: rule '{}' needs an operator to confirm (word: {}; headless: --allow {})\n",
            hit.rule, hit.word, hit.rule
        ));
    }
    out
}

pub fn lock_waiting(name: &str, holder: &Holder, until: Option<&str>) -> String {
    let until = until.map(|t| format!(" (until {t})")).unwrap_or_default();
    format!(
        "waiting for lock '{}', held by {}{until}",
        one_line(name),
        one_line(&holder.describe_since())
    )
}

pub fn slot_waiting(host: &str, step: &str, limit: u32, holders: &[Holder]) -> String {
    let held: Vec<String> = holders.iter().map(|h| one_line(&h.describe())).collect();
    format!(
        "== {host}: {step} waits for its turn: {limit} jobdeck step{} already run on this host ({})\n",
        if limit == 1 { "" } else { "s" },
        held.join("; ")
    )
}

/// The pre-flight table: one row per result, with the hosts that share it
/// folded (`web[01-40]`); ready hosts first.
pub fn preflight_table(
    mode: PreflightMode,
    hosts: &[Readiness],
    name: &dyn Fn(usize) -> String,
) -> String {
    let ready = hosts.iter().filter(|h| h.ready).count();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for host in hosts {
        let result = if host.ready {
            "ready".to_owned()
        } else {
            one_line(host.reason.as_deref().unwrap_or("not ready"))
        };
        match rows.iter_mut().find(|(r, _)| *r == result) {
            Some((_, names)) => names.push(name(host.host)),
            None => rows.push((result, vec![name(host.host)])),
        }
    }
    rows.sort_by_key(|(result, _)| result != "ready");
    let folded: Vec<(String, String)> = rows
        .into_iter()
        .map(|(result, names)| (fold(names.iter().map(String::as_str)), result))
        .collect();
    let width = folded
        .iter()
        .map(|(h, _)| h.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, 48);
    let mut out = format!(
        "== pre-flight ({mode}): {ready} of {} host{} ready\n",
        hosts.len(),
        if hosts.len() == 1 { "" } else { "s" }
    );
    out.push_str(&format!("{:<width$}  RESULT\n", "HOST"));
    for (names, result) in folded {
        out.push_str(&format!("{names:<width$}  {result}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_folds_hosts_that_share_a_result() {
        let hosts: Vec<Readiness> = (0..5)
            .map(|h| Readiness {
                host: h,
                ready: h != 3,
                reason: (h == 3).then(|| "unreachable: connection refused".to_owned()),
            })
            .collect();
        let table = preflight_table(PreflightMode::SkipUnready, &hosts, &|h| {
            format!("web{}", h + 1)
        });
        assert_eq!(
            table,
            "== pre-flight (skip-unready): 4 of 5 hosts ready\n\
             HOST        RESULT\n\
             web[1-3,5]  ready\n\
             web4        unreachable: connection refused\n"
        );
    }
}
