//! The project → cluster → app → host tree as a flat arena in pre-order (a
//! node's subtree is the index range `node+1..end`), so filtering and
//! counting are single passes; and the rows shown, open groups or a fuzzy
//! filter's matches.

use nucleo_matcher::Matcher;
use nucleo_matcher::Utf32Str;
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};

use crate::hostlist;
use crate::inventory::tree::{ProjectMap, by_placement};
use crate::inventory::{HostId, Inventory};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Project,
    Cluster,
    App,
    /// Hosts with no project, cluster or app.
    Ungrouped,
    Host(HostId),
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Project => "project",
            Level::Cluster => "cluster",
            Level::App => "app",
            Level::Ungrouped => "no placement",
            Level::Host(_) => "host",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub level: Level,
    pub label: String,
    pub depth: u16,
    pub parent: Option<usize>,
    /// One past the last node of this node's subtree.
    pub end: usize,
    /// Every host at or under this node, in tree order.
    pub hosts: Vec<HostId>,
    /// The hosts as folded ranges (`web-[01-04]`), for a closed app row;
    /// folded once here because folding thousands of names per frame is not free.
    pub folded: String,
}

impl Node {
    pub fn is_group(&self) -> bool {
        !matches!(self.level, Level::Host(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TreeRow {
    pub node: usize,
    /// Character positions the fuzzy filter matched, for highlighting.
    pub matched: Vec<u32>,
}

/// The project → cluster → app → host tree, in inventory order. A level a
/// host has no name for is skipped, so a flat `[web]` group is a top-level
/// app; hosts with no placement at all sit under one "(no placement)" node.
pub fn build_tree(inv: &Inventory) -> Vec<Node> {
    let mut projects = by_placement(inv);
    let unplaced = take_unplaced(&mut projects);
    let mut nodes = Vec::new();
    for (project, clusters) in &projects {
        let (p_parent, p_depth) = open_group(&mut nodes, project, Level::Project, None, 0);
        for (cluster, apps) in clusters {
            let (c_parent, c_depth) =
                open_group(&mut nodes, cluster, Level::Cluster, p_parent, p_depth);
            for (app, hosts) in apps {
                let (a_parent, a_depth) =
                    open_group(&mut nodes, app, Level::App, c_parent, c_depth);
                push_hosts(&mut nodes, inv, hosts, a_parent, a_depth);
                close_group(&mut nodes, inv, a_parent, app.is_some());
            }
            close_group(&mut nodes, inv, c_parent, cluster.is_some());
        }
        close_group(&mut nodes, inv, p_parent, project.is_some());
    }
    if !unplaced.is_empty() {
        let label = Some("(no placement)".to_string());
        let (parent, depth) = open_group(&mut nodes, &label, Level::Ungrouped, None, 0);
        push_hosts(&mut nodes, inv, &unplaced, parent, depth);
        close_group(&mut nodes, inv, parent, true);
    }
    nodes
}

/// Starts a group node if the level has a name; returns the parent and
/// depth its children get.
fn open_group(
    nodes: &mut Vec<Node>,
    label: &Option<String>,
    level: Level,
    parent: Option<usize>,
    depth: u16,
) -> (Option<usize>, u16) {
    let Some(label) = label else {
        return (parent, depth);
    };
    nodes.push(Node {
        level,
        label: label.clone(),
        depth,
        parent,
        end: 0,
        hosts: Vec::new(),
        folded: String::new(),
    });
    (Some(nodes.len() - 1), depth + 1)
}

/// Ends a group opened by `open_group`: its subtree and host list are known now.
fn close_group(nodes: &mut [Node], inv: &Inventory, group: Option<usize>, opened: bool) {
    if let (true, Some(g)) = (opened, group) {
        let end = nodes.len();
        let hosts: Vec<HostId> = nodes[g + 1..end]
            .iter()
            .filter_map(|n| match n.level {
                Level::Host(h) => Some(h),
                _ => None,
            })
            .collect();
        if nodes[g].level == Level::App {
            nodes[g].folded = hostlist::fold(hosts.iter().map(|&h| inv.host_name(h)));
        }
        nodes[g].end = end;
        nodes[g].hosts = hosts;
    }
}

fn push_hosts(
    nodes: &mut Vec<Node>,
    inv: &Inventory,
    hosts: &[HostId],
    parent: Option<usize>,
    depth: u16,
) {
    for &h in hosts {
        let index = nodes.len();
        nodes.push(Node {
            level: Level::Host(h),
            label: inv.host_name(h).to_string(),
            depth,
            parent,
            end: index + 1,
            hosts: vec![h],
            folded: String::new(),
        });
    }
}

/// Rows under open groups only.
pub fn expanded_rows(nodes: &[Node], expanded: &[bool]) -> Vec<TreeRow> {
    let mut rows = Vec::new();
    let mut i = 0;
    while i < nodes.len() {
        rows.push(TreeRow {
            node: i,
            matched: Vec::new(),
        });
        i = if nodes[i].is_group() && !expanded[i] {
            nodes[i].end
        } else {
            i + 1
        };
    }
    rows
}

/// Rows for a fuzzy filter: nodes whose name matches, everything under a
/// matching group, and the groups leading to a match, all shown open.
pub fn filtered_rows(nodes: &[Node], filter: &str, matcher: &mut Matcher) -> Vec<TreeRow> {
    let pattern = Pattern::parse(filter, CaseMatching::Ignore, Normalization::Smart);
    let mut buf = Vec::new();
    let mut indices: Vec<Option<Vec<u32>>> = Vec::with_capacity(nodes.len());
    for node in nodes {
        let mut hit = Vec::new();
        let matched = pattern
            .indices(Utf32Str::new(&node.label, &mut buf), matcher, &mut hit)
            .is_some();
        hit.sort_unstable();
        hit.dedup();
        indices.push(matched.then_some(hit));
    }
    // A node is shown if it matches, sits under a match, or leads to one.
    let mut leads_to_match = vec![false; nodes.len()];
    for i in (0..nodes.len()).rev() {
        if (indices[i].is_some() || leads_to_match[i])
            && let Some(parent) = nodes[i].parent
        {
            leads_to_match[parent] = true;
        }
    }
    let mut shown = vec![false; nodes.len()];
    let mut under_match_until = 0;
    for (i, node) in nodes.iter().enumerate() {
        let matched = indices[i].is_some();
        let under_match = i < under_match_until;
        if matched && node.is_group() {
            under_match_until = under_match_until.max(node.end);
        }
        shown[i] = matched || under_match || leads_to_match[i];
    }
    // Siblings are ordered by their best match inside: whole words and
    // prefixes first, then other substrings, then scattered letters, so
    // "web" lists the web hosts before shop-worker-b. The tree stays a tree.
    let needle = filter.trim().to_lowercase();
    let mut best: Vec<u8> = nodes
        .iter()
        .zip(&indices)
        .map(|(node, hit)| match hit {
            Some(_) => match_rank(&node.label, &needle),
            None => UNRANKED,
        })
        .collect();
    for i in (0..nodes.len()).rev() {
        if let Some(parent) = nodes[i].parent {
            best[parent] = best[parent].min(best[i]);
        }
    }
    let mut rows = Vec::new();
    let roots = siblings(nodes, 0, nodes.len());
    push_ranked(nodes, roots, &shown, &best, &mut indices, &mut rows);
    rows
}

/// A match's rank: 0 a whole word or a word's prefix, 1 elsewhere in a
/// word, 2 letters scattered (a fuzzy match only).
fn match_rank(label: &str, needle: &str) -> u8 {
    if needle.is_empty() {
        return 0;
    }
    let label = label.to_lowercase();
    let mut rank = 2;
    for (at, _) in label.match_indices(needle) {
        let word_start = label[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        if word_start {
            return 0;
        }
        rank = 1;
    }
    rank
}

/// Worse than any match: nodes shown only for what is above or below them.
const UNRANKED: u8 = 3;

/// The direct children of the span `from..end` of the tree.
fn siblings(nodes: &[Node], from: usize, end: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = from;
    while i < end {
        out.push(i);
        i = if nodes[i].is_group() {
            nodes[i].end.max(i + 1)
        } else {
            i + 1
        };
    }
    out
}

/// The shown nodes among `level`, best first (ties in tree order), each
/// followed by its own shown children.
fn push_ranked(
    nodes: &[Node],
    mut level: Vec<usize>,
    shown: &[bool],
    best: &[u8],
    indices: &mut [Option<Vec<u32>>],
    rows: &mut Vec<TreeRow>,
) {
    level.retain(|&i| shown[i]);
    level.sort_by_key(|&i| best[i]);
    for i in level {
        rows.push(TreeRow {
            node: i,
            matched: indices[i].take().unwrap_or_default(),
        });
        if nodes[i].is_group() {
            let children = siblings(nodes, i + 1, nodes[i].end);
            push_ranked(nodes, children, shown, best, indices, rows);
        }
    }
}

/// Takes the hosts with no project, cluster or app out of the tree.
fn take_unplaced(projects: &mut ProjectMap) -> Vec<HostId> {
    let Some(clusters) = projects.get_mut(&None) else {
        return Vec::new();
    };
    let unplaced = clusters
        .get_mut(&None)
        .and_then(|apps| apps.shift_remove(&None))
        .unwrap_or_default();
    clusters.retain(|_, apps| !apps.is_empty());
    projects.retain(|_, clusters| !clusters.is_empty());
    unplaced
}
