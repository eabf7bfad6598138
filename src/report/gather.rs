//! `--gather`: hosts with identical output and outcome are shown once, as
//! one block under their folded host list (clush -b style). Hosts are
//! grouped by a digest of their complete output, so 1,000 hosts cost one
//! hash lookup each, and only one capture per distinct group is kept.
//! Error texts (why a host was unreachable) are not part of the digest, as
//! they often name the host; a block whose hosts ended for different
//! reasons lists each reason under the hosts that share it.

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
    /// Each distinct detail with its error text (`exit 1, connection
    /// refused`), and the hosts that ended with it, in first-seen order.
    reasons: Vec<(String, Vec<HostIndex>)>,
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
            let group = &mut self.groups[old];
            group.hosts.retain(|&h| h != host);
            for (_, hosts) in &mut group.reasons {
                hosts.retain(|&h| h != host);
            }
            group.reasons.retain(|(_, hosts)| !hosts.is_empty());
        }
        let mut key = digest::Context::new(&digest::SHA256);
        key.update(status.as_str().as_bytes());
        let key = match &capture {
            Some(capture) => capture.group_key(key),
            None => key.finish(),
        };
        let reason = host_detail(capture.as_ref(), status, run, true);
        let index = match self.by_key.get(key.as_ref()) {
            Some(&index) => {
                let group = &mut self.groups[index];
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
                    reasons: Vec::new(),
                });
                self.by_key
                    .insert(key.as_ref().to_vec(), self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[index];
        group.hosts.push(host);
        match group.reasons.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, hosts)) => hosts.push(host),
            None => group.reasons.push((reason, vec![host])),
        }
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
            let mut title = format!(
                "{} ({}): {}",
                fold(run, &group.hosts),
                group.hosts.len(),
                status_label(group.status)
            );
            let differ = group.reasons.len() > 1;
            let detail = match &group.shown {
                Some((_, capture)) => host_detail(Some(capture), group.status, run, !differ),
                None => String::new(),
            };
            if !detail.is_empty() {
                let _ = write!(title, ", {detail}");
            }
            let mut header = vec![title];
            if differ {
                // One line per reason, hosts folded: largest first.
                let mut reasons: Vec<&(String, Vec<HostIndex>)> = group.reasons.iter().collect();
                reasons.sort_by_key(|(_, hosts)| {
                    (std::cmp::Reverse(hosts.len()), hosts.iter().min().copied())
                });
                header.extend(reasons.into_iter().map(|(reason, hosts)| {
                    let reason = if reason.is_empty() {
                        "(no detail)"
                    } else {
                        reason
                    };
                    format!("  {} ({}): {reason}", fold(run, hosts), hosts.len())
                }));
            }
            let width = header.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            let rule = "-".repeat(width.clamp(15, 80));
            let _ = writeln!(out, "{rule}\n{}\n{rule}", header.join("\n"));
            if let Some((host, capture)) = &group.shown {
                render_output(&mut out, capture, run, *host);
            }
        }
        out
    }
}

/// The hosts' names folded into ranges, in host order.
fn fold(run: &RunInfo, hosts: &[HostIndex]) -> String {
    let mut hosts = hosts.to_vec();
    hosts.sort_unstable();
    let names: Vec<String> = hosts.iter().map(|&h| run.host_name(h)).collect();
    hostlist::fold(names.iter().map(String::as_str))
}
