//! The gathered view's comparison, off the UI task: a run's hosts that
//! ended, folded into groups of alike output after what is host specific
//! is normalised (`compare::Normalizer`: the host's own name as `{host}`,
//! and what `=` asks for: timestamps, hex ids, numbers), the majority
//! first, with "38 of 40 alike, 2 differ" (`compare::Comparison::summary`)
//! and, when `d` shows them, each minority group's diff against the
//! majority (`compare::unified_diff`, the code behind `--gather --diff`).
//!
//! Normalising 10,000 outputs takes longer than a frame, so it runs here.
//! The store is locked only to read which hosts share an output and,
//! one host at a time, the lines of an output not normalised before; a
//! template is kept by output digest and host between comparisons.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::compare::{Comparison, HostTerms, NormalizeOptions, Normalizer, unified_diff};
use crate::engine::events::{HostIndex, HostStatus};
use crate::hostlist;
use crate::tui::run_store::{HostRecord, LineKind, RunStore, SharedRunStore};

/// Normalised outputs by output digest and the host normalised for.
pub type Templates = HashMap<(u64, HostIndex), String>;

/// Hosts that ended with alike output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlikeGroup {
    /// In host-list order; the first one's buffer is shown for all.
    pub hosts: Vec<HostIndex>,
    pub status: HostStatus,
    pub exit_code: Option<i32>,
    /// Against the majority's output (`None` for the majority itself, and
    /// while `d` does not show diffs); empty when only the outcome differs.
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

/// What to compare.
pub struct GatherRequest {
    pub store: SharedRunStore,
    pub options: NormalizeOptions,
    /// The templates of the last comparison with the same options.
    pub templates: Templates,
    /// Work out each minority group's diff against the majority.
    pub diffs: bool,
    /// Tells this comparison's answer from a late one.
    pub generation: u64,
}

/// The answer.
#[derive(Debug)]
pub struct Gathered {
    pub generation: u64,
    /// The store revision compared.
    pub revision: u64,
    pub compared: Compared,
    pub diffs: bool,
    /// The templates used, for the next comparison.
    pub templates: Templates,
    /// How long the comparison took.
    pub took: Duration,
}

/// An output shared by hosts, as the store had it.
struct Block {
    hosts: Vec<HostIndex>,
    status: HostStatus,
    exit_code: Option<i32>,
    digest: u64,
    cut: bool,
}

/// Compares the ended hosts of `request.store`. Blocking: off the UI task.
pub fn compare(request: GatherRequest) -> Gathered {
    let started = Instant::now();
    let GatherRequest {
        store,
        options,
        templates: mut kept,
        diffs,
        generation,
    } = request;
    let (revision, order, names, terms, blocks, unfinished) = {
        let store = RunStore::lock(&store);
        let mut unfinished = 0;
        let mut blocks = Vec::new();
        for block in store.gathered() {
            if !block.status.is_final() {
                unfinished += block.hosts.len();
                continue;
            }
            let first = &store.hosts[block.hosts[0]];
            blocks.push(Block {
                digest: first.gather_key().0,
                cut: first.first_line() > 0,
                hosts: block.hosts,
                status: block.status,
                exit_code: block.exit_code,
            });
        }
        let order = store.host_order().to_vec();
        let names: Vec<String> = store.hosts.iter().map(|h| h.name.clone()).collect();
        // A replay's store has none: its hosts' names stand alone.
        let terms = store.host_terms.clone();
        (store.revision, order, names, terms, blocks, unfinished)
    };
    let position: HashMap<HostIndex, usize> =
        order.iter().enumerate().map(|(i, &h)| (h, i)).collect();
    let mut comparison: Comparison<usize> = Comparison::new();
    let mut used = Templates::new();
    // The first block of each group, and how many blocks it took: more
    // than one, and its hosts printed different bytes.
    let mut first_block: Vec<usize> = Vec::new();
    let mut blocks_in: Vec<usize> = Vec::new();
    for (b, block) in blocks.iter().enumerate() {
        let first = block.hosts[0];
        let key = (block.digest, first);
        let (template, current) = match kept.remove(&key) {
            Some(template) => (template, true),
            None => {
                // The lines of one host under the lock, normalised after.
                let (pieces, current) = {
                    let store = RunStore::lock(&store);
                    let host = &store.hosts[first];
                    (pieces(host), host.gather_key().0 == block.digest)
                };
                let named = HostTerms::named(&names[first]);
                let normalizer = Normalizer::new(terms.get(first).unwrap_or(&named), options);
                (template(&pieces, &normalizer), current)
            }
        };
        // What the buffer no longer holds is told apart by its digest.
        let mut class = format!("{} {:?}", block.status, block.exit_code);
        if block.cut {
            class.push_str(&format!(" {:016x}", block.digest));
        }
        // Members by host-list position: the majority's tie-break and
        // the order within a group follow the list.
        let members = block.hosts.iter().map(|h| position[h]);
        let group = comparison.add_all(members, class, template.clone());
        if group == blocks_in.len() {
            blocks_in.push(0);
            first_block.push(b);
        }
        blocks_in[group] += 1;
        // A host that ran again since the blocks were read: its template
        // is of its new output, not kept for the digest it had.
        if current {
            used.insert(key, template);
        }
    }
    let fold = |members: &[usize]| {
        let mut members = members.to_vec();
        members.sort_unstable();
        hostlist::fold(members.iter().map(|&p| names[order[p]].as_str()))
    };
    let ranked = comparison.ranked();
    let majority = ranked
        .first()
        .map(|&m| (m, comparison.group(m), fold(&comparison.group(m).members)));
    let groups = ranked
        .iter()
        .map(|&g| {
            let group = comparison.group(g);
            let mut members = group.members.clone();
            members.sort_unstable();
            let block = &blocks[first_block[g]];
            let diff = majority.as_ref().filter(|(m, _, _)| diffs && *m != g).map(
                |(_, major, major_names)| {
                    unified_diff(
                        &major.template,
                        &group.template,
                        major_names,
                        &fold(&members),
                    )
                },
            );
            AlikeGroup {
                hosts: members.iter().map(|&p| order[p]).collect(),
                status: block.status,
                exit_code: block.exit_code,
                diff,
                template: (blocks_in[g] > 1).then(|| group.template.clone()),
            }
        })
        .collect();
    Gathered {
        generation,
        revision,
        compared: Compared {
            summary: if comparison.total() > 0 {
                comparison.summary()
            } else {
                String::new()
            },
            groups,
            unfinished,
        },
        diffs,
        templates: used,
        took: started.elapsed(),
    }
}

/// A host's buffered lines: runs of output lines joined (`false`), and the
/// console's own lines (`true`: step headers, how a step ended).
fn pieces(host: &HostRecord) -> Vec<(bool, String)> {
    let mut pieces: Vec<(bool, String)> = Vec::new();
    for line in host.lines() {
        let own = !matches!(line.kind, LineKind::Stdout | LineKind::Stderr);
        match pieces.last_mut() {
            Some((last_own, text)) if !own && !*last_own => {
                text.push_str(&line.text);
                text.push('\n');
            }
            _ => pieces.push((own, format!("{}\n", line.text))),
        }
    }
    pieces
}

/// The output normalised; the console's own lines as they are: `step 1/2`
/// is the same on every host and stays readable with numbers normalised.
fn template(pieces: &[(bool, String)], normalizer: &Normalizer) -> String {
    let mut template = String::new();
    for (own, text) in pieces {
        if *own {
            template.push_str(text);
        } else {
            template.push_str(&normalizer.normalize(text));
        }
    }
    template
}
