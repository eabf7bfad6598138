//! The gathered view's comparison: the hosts that ended, folded into groups
//! of alike output after the normalisation `--gather` uses (the host's own
//! name as `{host}`; on request, `=`, timestamps, hex ids and numbers too:
//! `compare::Normalizer`), the majority first, with "38 of 40 alike, 2
//! differ" (`compare::Comparison::summary`) and each minority group's diff
//! against the majority (`compare::unified_diff`, the code behind
//! `--gather --diff`). A group whose hosts printed different bytes shows
//! its template, as `--gather` prints it. Worked out when the store
//! changed and the gathered view is shown, not while drawing; a template
//! is normalised once per distinct output.

use std::collections::HashMap;

use super::OutputLayout;
use super::RunView;
use crate::compare::{Comparison, HostTerms, NormalizeOptions, Normalizer, unified_diff};
use crate::engine::events::{HostIndex, HostStatus};
use crate::hostlist;
use crate::tui::run_store::{HostRecord, LineKind, RunStore};

/// Hosts that ended with alike output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlikeGroup {
    /// In host-list order; the first one's buffer is shown for all.
    pub hosts: Vec<HostIndex>,
    pub status: HostStatus,
    pub exit_code: Option<i32>,
    /// Against the majority's output (`None` for the majority itself);
    /// empty when only the outcome differs.
    pub diff: Option<String>,
    /// The normalised output (`{host}`, `{n}`, ...) when the hosts printed
    /// different bytes; `None` when they all printed the same.
    pub template: Option<String>,
}

/// The comparison as the gathered view shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compared {
    /// "38 of 40 alike, 2 differ"; empty before a host ended.
    pub summary: String,
    /// The majority first.
    pub groups: Vec<AlikeGroup>,
    /// Hosts still under way (or waiting), not compared yet.
    pub unfinished: usize,
}

#[derive(Debug, Default)]
pub(super) struct Gathering {
    /// `d`: minority groups as diffs against the majority.
    pub(super) diff: bool,
    /// `=`: what counts as host specific beyond the host's names.
    pub(super) normalize: NormalizeOptions,
    pub(super) compared: Compared,
    /// The store revision compared.
    revision: Option<u64>,
    /// Normalised outputs by output digest and the host normalised for.
    templates: HashMap<(u64, HostIndex), String>,
}

impl Gathering {
    pub(super) fn forget(&mut self) {
        self.revision = None;
        self.templates.clear();
        self.compared = Compared::default();
    }
}

impl RunView {
    /// Compares the hosts again if the store changed while the gathered
    /// view is shown. True when it did.
    pub fn refresh_gathering(&mut self) -> bool {
        if self.layout != OutputLayout::Gathered {
            // The templates cost as much as the buffers they copy: kept
            // only while the view shows them.
            if self.gathering.revision.is_some() {
                self.gathering.forget();
            }
            return false;
        }
        let Some(store) = self.store.clone() else {
            return false;
        };
        let store = RunStore::lock(&store);
        if self.gathering.revision == Some(store.revision) {
            return false;
        }
        self.gathering.revision = Some(store.revision);
        self.gathering.compared = compare(
            &store,
            &mut self.gathering.templates,
            self.gathering.normalize,
        );
        true
    }

    /// `=`: the next normalisation of the cycle; the groups are worked out
    /// again with it.
    pub(super) fn cycle_normalize(&mut self) {
        let next = self.gathering.normalize.next();
        self.gathering.forget();
        self.gathering.normalize = next;
        self.layout = OutputLayout::Gathered;
        self.refresh_gathering();
    }

    /// What the gathered view compares outputs after.
    pub fn normalize_options(&self) -> NormalizeOptions {
        self.gathering.normalize
    }

    /// The gathered view's comparison, as last worked out.
    pub fn compared(&self) -> &Compared {
        &self.gathering.compared
    }

    /// Minority groups show as diffs against the majority.
    pub fn showing_diff(&self) -> bool {
        self.gathering.diff
    }
}

/// A host's buffered lines, its output normalised; the console's own
/// lines (step headers, how a step ended) as they are: `step 1/2` is the
/// same on every host and stays readable with numbers normalised.
fn template(host: &HostRecord, normalizer: &Normalizer) -> String {
    let mut template = String::new();
    let mut output = String::new();
    for line in host.lines() {
        if matches!(line.kind, LineKind::Stdout | LineKind::Stderr) {
            output.push_str(&line.text);
            output.push('\n');
            continue;
        }
        template.push_str(&normalizer.normalize(&output));
        output.clear();
        template.push_str(&line.text);
        template.push('\n');
    }
    template.push_str(&normalizer.normalize(&output));
    template
}

/// The ended hosts grouped; the raw blocks (same output digest and
/// outcome) are normalised once each, with their first host's names.
fn compare(
    store: &RunStore,
    templates: &mut HashMap<(u64, HostIndex), String>,
    options: NormalizeOptions,
) -> Compared {
    let mut comparison: Comparison<HostIndex> = Comparison::new();
    let mut unfinished = 0;
    let mut used = HashMap::new();
    // How many raw blocks each group took: more than one, and its hosts
    // printed different bytes.
    let mut blocks_in: Vec<usize> = Vec::new();
    let position: HashMap<HostIndex, usize> = store
        .host_order()
        .iter()
        .enumerate()
        .map(|(i, &h)| (h, i))
        .collect();
    for block in store.gathered() {
        if !block.status.is_final() {
            unfinished += block.hosts.len();
            continue;
        }
        let first = block.hosts[0];
        let host = &store.hosts[first];
        let (digest, _, _) = host.gather_key();
        let key = (digest, first);
        let template = match templates.remove(&key) {
            Some(template) => template,
            None => template(
                host,
                &Normalizer::new(&HostTerms::named(&host.name), options),
            ),
        };
        // What the buffer no longer holds is told apart by its digest.
        let mut class = format!("{} {:?}", block.status, block.exit_code);
        if host.first_line() > 0 {
            class.push_str(&format!(" {digest:016x}"));
        }
        // Members by host-list position: the majority's tie-break and
        // the order within a group follow the list.
        let members = block.hosts.iter().map(|h| position[h]);
        let group = comparison.add_all(members, class, template.clone());
        if group == blocks_in.len() {
            blocks_in.push(0);
        }
        blocks_in[group] += 1;
        used.insert(key, template);
    }
    *templates = used;
    let order = store.host_order();
    let names = |members: &[usize]| {
        let mut members = members.to_vec();
        members.sort_unstable();
        hostlist::fold(members.iter().map(|&p| store.hosts[order[p]].name.as_str()))
    };
    let ranked = comparison.ranked();
    let majority = ranked.first().map(|&m| comparison.group(m));
    let groups = ranked
        .iter()
        .map(|&g| {
            let group = comparison.group(g);
            let mut members = group.members.clone();
            members.sort_unstable();
            let shown = &store.hosts[order[members[0]]];
            let diff = majority.filter(|m| !std::ptr::eq(*m, group)).map(|m| {
                unified_diff(
                    &m.template,
                    &group.template,
                    &names(&m.members),
                    &names(&members),
                )
            });
            AlikeGroup {
                hosts: members.iter().map(|&p| order[p]).collect(),
                status: shown.status,
                exit_code: shown.exit_code,
                diff,
                template: (blocks_in[g] > 1).then(|| group.template.clone()),
            }
        })
        .collect();
    Compared {
        summary: if comparison.total() > 0 {
            comparison.summary()
        } else {
            String::new()
        },
        groups,
        unfinished,
    }
}
