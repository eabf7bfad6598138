//! `--gather`: hosts with alike output and the same outcome are shown once,
//! as one block under their folded host list (clush -b style). Outputs are
//! compared after what is host specific is normalised (`compare`): the
//! host's own names and address always, timestamps, hex ids and numbers
//! with `--normalize`; a block whose hosts printed different texts shows
//! the template (`{host}` for the name, ...) once. `--diff` starts with
//! "38 of 40 alike, 2 differ" and shows each minority group as a diff
//! against the majority.
//!
//! Error texts (why a host was unreachable) are not compared, as they often
//! name the host; a block whose hosts ended for different reasons lists
//! each reason under the hosts that share it. A host whose output was cut
//! (more than the reporter keeps) is only alike to hosts whose complete
//! output was the same, byte for byte (a digest of all of it).

use std::collections::HashMap;
use std::fmt::Write as _;

use ring::digest;

use super::capture::HostCapture;
use super::labels::status_label;
use super::render::{host_detail, render_output, render_output_with};
use super::run::RunInfo;
use crate::compare::{Comparison, HostTerms, NormalizeOptions, Normalizer, unified_diff};
use crate::engine::Plan;
use crate::engine::events::{HostIndex, HostStatus};
use crate::hostlist;

/// What is host specific of each of `plan`'s hosts, by host index: its
/// inventory name and the address it is dialled at.
pub fn host_terms(plan: &Plan) -> Vec<HostTerms> {
    plan.hosts
        .iter()
        .map(|h| HostTerms {
            name: h.name.clone(),
            address: Some(h.target.address.clone()),
        })
        .collect()
}

/// How gather compares hosts.
#[derive(Debug, Clone, Default)]
pub struct GatherOptions {
    /// Each host's names, by host index (missing: its name in the run).
    pub hosts: Vec<HostTerms>,
    pub normalize: NormalizeOptions,
    /// Minority groups as diffs against the majority.
    pub diff: bool,
}

impl GatherOptions {
    /// As `--gather` asks: `normalize` folds timestamps, hex ids and
    /// numbers too; `diff` shows minority groups as diffs.
    pub fn new(hosts: Vec<HostTerms>, normalize: bool, diff: bool) -> GatherOptions {
        GatherOptions {
            hosts,
            normalize: if normalize {
                NormalizeOptions::all()
            } else {
                NormalizeOptions::default()
            },
            diff,
        }
    }
}

#[derive(Debug)]
struct Group {
    status: HostStatus,
    /// The capture of the group's first host in the list, shown when every
    /// host printed the same.
    shown: Option<(HostIndex, HostCapture)>,
    /// The digest of the first host's complete output and outcomes.
    raw_key: Vec<u8>,
    /// Hosts of the group printed different texts: the template is shown.
    varied: bool,
    /// Each distinct detail with its error text (`exit 1, connection
    /// refused`), and the hosts that ended with it, in first-seen order.
    reasons: Vec<(String, Vec<HostIndex>)>,
}

#[derive(Debug, Default)]
pub struct Gather {
    options: GatherOptions,
    compare: Comparison<HostIndex>,
    /// By the group index `compare` gives.
    groups: Vec<Group>,
    group_of: HashMap<HostIndex, usize>,
}

impl Gather {
    pub fn new(options: GatherOptions) -> Gather {
        Gather {
            options,
            ..Gather::default()
        }
    }

    pub fn add(
        &mut self,
        run: &RunInfo,
        host: HostIndex,
        status: HostStatus,
        capture: Option<HostCapture>,
    ) {
        // A host run again (retry failed) leaves its earlier group.
        if let Some(old) = self.group_of.remove(&host) {
            self.compare.remove(&host);
            let group = &mut self.groups[old];
            for (_, hosts) in &mut group.reasons {
                hosts.retain(|&h| h != host);
            }
            group.reasons.retain(|(_, hosts)| !hosts.is_empty());
        }
        let mut key = digest::Context::new(&digest::SHA256);
        key.update(status.as_str().as_bytes());
        let raw_key = match &capture {
            Some(capture) => capture.group_key(key),
            None => key.finish(),
        }
        .as_ref()
        .to_vec();
        let terms = match self.options.hosts.get(host) {
            Some(terms) => terms.clone(),
            None => HostTerms::named(&run.host_name(host)),
        };
        let normalizer = Normalizer::new(&terms, self.options.normalize);
        let mut template = String::new();
        let mut class = status.as_str().to_owned();
        if let Some(capture) = &capture {
            render_output_with(&mut template, capture, run, host, &|text| {
                normalizer.normalize(&text)
            });
            if capture.cut_bytes() > 0 {
                class.push(' ');
                class.extend(raw_key.iter().map(|b| format!("{b:02x}")));
            }
            if !capture.fully_known() {
                // Bytes the journal only counted: the complete output is
                // unknown, so the host is alike to no other.
                class.push_str(&format!(" unknown {host}"));
            }
        }
        let reason = host_detail(capture.as_ref(), status, run, true);
        let index = self.compare.add(host, class, template);
        if index == self.groups.len() {
            self.groups.push(Group {
                status,
                shown: capture.map(|c| (host, c)),
                raw_key,
                varied: false,
                reasons: Vec::new(),
            });
        } else {
            let group = &mut self.groups[index];
            group.varied |= group.raw_key != raw_key;
            // The first host in the list, not the first to end: the same
            // block whatever order the hosts ended in (it names its host
            // where its output was cut), live and in `show --gather`.
            if group.shown.as_ref().is_none_or(|(shown, _)| host < *shown) && capture.is_some() {
                group.shown = capture.map(|c| (host, c));
            }
        }
        let group = &mut self.groups[index];
        match group.reasons.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, hosts)) => hosts.push(host),
            None => group.reasons.push((reason, vec![host])),
        }
        self.group_of.insert(host, index);
    }

    /// Every group as a block, largest first, then by first host; with
    /// `diff`, the summary first and each group after the first as a diff
    /// against it.
    pub fn render(&mut self, run: &RunInfo) -> String {
        let ranked = self.compare.ranked();
        let mut out = String::new();
        if self.options.diff && !ranked.is_empty() {
            let _ = writeln!(out, "{}", self.compare.summary());
        }
        let majority = ranked.first().copied();
        for &g in &ranked {
            let hosts = &self.compare.group(g).members;
            let group = &self.groups[g];
            let mut title = format!(
                "{} ({}): {}",
                fold(run, hosts),
                hosts.len(),
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
            match majority.filter(|&m| self.options.diff && m != g) {
                Some(m) => {
                    let major = self.compare.group(m);
                    let diff = unified_diff(
                        &major.template,
                        &self.compare.group(g).template,
                        &fold(run, &major.members),
                        &fold(run, hosts),
                    );
                    if diff.is_empty() {
                        out.push_str("(same output as the majority)\n");
                    } else {
                        out.push_str(&diff);
                    }
                }
                None if group.varied => out.push_str(&self.compare.group(g).template),
                None => {
                    if let Some((host, capture)) = &group.shown {
                        render_output(&mut out, capture, run, *host);
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::Stream;

    #[test]
    fn hosts_with_bytes_known_by_their_count_are_alike_to_no_other() {
        let mut run = RunInfo::default();
        let hosts = ["a".to_owned(), "b".to_owned()];
        run.start(7, 0, "f", &hosts, &["s".to_owned()], &[vec![0, 1]]);
        let capture = || {
            let mut capture = HostCapture::new(8, true);
            capture.start_step(0, 1);
            capture.push(0, Stream::Stdout, b"1\n2\n");
            capture.push_unknown(0, 1000);
            capture.push(0, Stream::Stdout, b"3\n");
            capture.align_cut();
            capture
        };
        let mut gather = Gather::new(GatherOptions::default());
        gather.add(&run, 0, HostStatus::Ok, Some(capture()));
        gather.add(&run, 1, HostStatus::Ok, Some(capture()));
        let text = gather.render(&run);
        assert!(text.contains("a (1): OK\n"), "{text}");
        assert!(text.contains("b (1): OK\n"), "{text}");
    }

    #[test]
    fn a_block_shows_its_first_host_in_the_list_whatever_ended_first() {
        let mut run = RunInfo::default();
        let hosts = ["a".to_owned(), "b".to_owned()];
        run.start(7, 0, "f", &hosts, &["s".to_owned()], &[vec![0, 1]]);
        // More than the capture keeps: the cut note names the shown host.
        let capture = || {
            let mut capture = HostCapture::new(8, true);
            capture.start_step(0, 1);
            capture.push(0, Stream::Stdout, b"1\n2\n3\n4\n5\n6\n");
            capture.align_cut();
            capture
        };
        let mut gather = Gather::new(GatherOptions::default());
        gather.add(&run, 1, HostStatus::Ok, Some(capture()));
        gather.add(&run, 0, HostStatus::Ok, Some(capture()));
        let text = gather.render(&run);
        assert!(text.contains("a,b (2): OK\n"), "{text}");
        assert!(text.contains("jobdeck show 7 --host a ..."), "{text}");
    }
}
