//! `--gather`: hosts with identical output and outcome are shown once, as
//! one block under their folded host list (clush -b style). Hosts are
//! grouped by a digest of their complete output, so 1,000 hosts cost one
//! hash lookup each, and only one capture per distinct group is kept.

use std::collections::HashMap;
use std::fmt::Write as _;

use ring::digest;

use super::capture::HostCapture;
use super::labels::status_label;
use super::render::{host_detail, render_output};
use super::run::RunInfo;
use crate::engine::events::{HostIndex, HostStatus};
use crate::hostlist;

#[derive(Debug)]
struct Group {
    hosts: Vec<HostIndex>,
    status: HostStatus,
    /// The first host's capture; every host of the group printed the same.
    shown: Option<(HostIndex, HostCapture)>,
    /// The error detail, while every host of the group has the same one.
    error: Option<String>,
    errors_differ: bool,
}

#[derive(Debug, Default)]
pub struct Gather {
    groups: Vec<Group>,
    by_key: HashMap<Vec<u8>, usize>,
    group_of: HashMap<HostIndex, usize>,
}

impl Gather {
    pub fn add(
        &mut self,
        run: &RunInfo,
        host: HostIndex,
        status: HostStatus,
        capture: Option<HostCapture>,
    ) {
        // A host run again (retry failed) leaves its earlier group.
        if let Some(old) = self.group_of.remove(&host) {
            self.groups[old].hosts.retain(|&h| h != host);
        }
        let mut key = digest::Context::new(&digest::SHA256);
        key.update(status.as_str().as_bytes());
        let key = match &capture {
            Some(capture) => capture.group_key(key),
            None => key.finish(),
        };
        let error = capture
            .as_ref()
            .map(|c| host_detail(Some(c), status, run, true));
        let index = match self.by_key.get(key.as_ref()) {
            Some(&index) => {
                let group = &mut self.groups[index];
                if group.error != error {
                    group.errors_differ = true;
                }
                if group.shown.is_none() {
                    group.shown = capture.map(|c| (host, c));
                }
                index
            }
            None => {
                self.groups.push(Group {
                    hosts: Vec::new(),
                    status,
                    shown: capture.map(|c| (host, c)),
                    error,
                    errors_differ: false,
                });
                self.by_key
                    .insert(key.as_ref().to_vec(), self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        self.groups[index].hosts.push(host);
        self.group_of.insert(host, index);
    }

    /// Every group as a block, largest first, then by first host.
    pub fn render(&mut self, run: &RunInfo) -> String {
        let mut order: Vec<usize> = (0..self.groups.len())
            .filter(|&g| !self.groups[g].hosts.is_empty())
            .collect();
        for group in &mut self.groups {
            group.hosts.sort_unstable();
        }
        order.sort_by_key(|&g| {
            let group = &self.groups[g];
            (std::cmp::Reverse(group.hosts.len()), group.hosts[0])
        });
        let mut out = String::new();
        for g in order {
            let group = &self.groups[g];
            let names: Vec<String> = group.hosts.iter().map(|&h| run.host_name(h)).collect();
            let mut title = format!(
                "{} ({}): {}",
                hostlist::fold(names.iter().map(String::as_str)),
                group.hosts.len(),
                status_label(group.status)
            );
            let detail = match &group.shown {
                Some((_, capture)) => {
                    host_detail(Some(capture), group.status, run, !group.errors_differ)
                }
                None => String::new(),
            };
            if !detail.is_empty() {
                let _ = write!(title, ", {detail}");
            }
            if group.errors_differ {
                title.push_str(" (errors differ by host)");
            }
            let rule = "-".repeat(title.chars().count().clamp(15, 80));
            let _ = writeln!(out, "{rule}\n{title}\n{rule}");
            if let Some((host, capture)) = &group.shown {
                render_output(&mut out, capture, run, *host);
            }
        }
        out
    }
}
