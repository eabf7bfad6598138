//! What "save" writes: the shown output (a host's buffered lines, or the
//! gathered blocks) or the host list with states, as a file name and its
//! text. The App's tasks write it, off the UI task.

use std::path::PathBuf;

use super::{OutputLayout, RunView};
use crate::hostlist;
use crate::tui::run_store::{HostRecord, LineKind, RunStore};
use crate::tui::widgets::durations::elapsed;

impl RunView {
    /// The text to save: the selected host's buffered output, or the gathered blocks.
    pub(super) fn output_file(&self) -> Option<(PathBuf, String)> {
        let store = RunStore::lock(self.store.as_ref()?);
        let id = store.instance;
        let (name, contents) = if self.layout == OutputLayout::Gathered {
            let mut text = String::new();
            for block in store.gathered() {
                let names =
                    hostlist::fold(block.hosts.iter().map(|&h| store.hosts[h].name.as_str()));
                text.push_str(&format!(
                    "---------------\n{names} {}\n---------------\n",
                    block.outcome()
                ));
                push_lines(&mut text, &store.hosts[block.hosts[0]]);
            }
            ("gathered".to_string(), text)
        } else {
            let h = store.host_order().get(self.cursor).copied()?;
            let host = &store.hosts[h];
            let mut text = format!(
                "# jobdeck run {id}, host {}: lines {}-{} of {} (all of them: jobdeck show {id} --host {})\n",
                host.name,
                host.first_line() + 1,
                host.total_lines(),
                host.total_lines(),
                host.name
            );
            push_lines(&mut text, host);
            (safe_file_part(&host.name), text)
        };
        Some((
            PathBuf::from(format!("jobdeck-run-{id}-{name}.log")),
            contents,
        ))
    }

    pub(super) fn hosts_file(&self) -> Option<(PathBuf, String)> {
        let store = RunStore::lock(self.store.as_ref()?);
        let now = self.now();
        let mut text = String::new();
        for &h in store.host_order() {
            let host = &store.hosts[h];
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\n",
                host.name,
                host.status,
                host.batch.map(|b| (b + 1).to_string()).unwrap_or_default(),
                host.elapsed_ms(now).map(elapsed).unwrap_or_default()
            ));
        }
        Some((
            PathBuf::from(format!("jobdeck-run-{}-hosts.txt", store.instance)),
            text,
        ))
    }
}

fn push_lines(text: &mut String, host: &HostRecord) {
    for line in host.lines() {
        match line.kind {
            LineKind::Stderr => text.push_str("stderr| "),
            LineKind::Step | LineKind::Note => text.push_str("# "),
            LineKind::Stdout => {}
        }
        text.push_str(&line.text);
        text.push('\n');
    }
}

/// A host name made safe as part of a file name.
fn safe_file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(safe_file_part("web-01.example/x y"), "web-01.example_x_y");
    }
}
