//! Where a host sits in the project → cluster → app tree.
//!
//! Each level comes from the host's variables if one is set, otherwise from
//! the group tree:
//! - variables: `jobdeck_project` / `jobdeck_cluster` / `jobdeck_app`, or the
//!   seed's `ZDOPS_PROJECT` / `ZDOPS_CLUSTER` / `ZDOPS_APP`;
//! - group tree: the host's deepest direct group is its app, that group's
//!   first parent its cluster, and the cluster's first parent its project
//!   (`all` is never a level). A flat `[web]` group is thus an app with no
//!   project or cluster, and wrapper groups above the project are ignored.

use indexmap::IndexMap;
use serde_json::Value;

use super::data::{ALL, GroupId, UNGROUPED};
use super::{HostId, Inventory, InventoryData, VarMap};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub project: Option<String>,
    pub cluster: Option<String>,
    pub app: Option<String>,
}

const PROJECT_VARS: &[&str] = &["jobdeck_project", "ZDOPS_PROJECT"];
const CLUSTER_VARS: &[&str] = &["jobdeck_cluster", "ZDOPS_CLUSTER"];
const APP_VARS: &[&str] = &["jobdeck_app", "ZDOPS_APP"];

pub fn place_all(data: &InventoryData, hostvars: &[VarMap]) -> Vec<Placement> {
    (0..data.hosts.len())
        .map(|h| {
            let chain = group_chain(data, h);
            let level = |up: usize| {
                chain
                    .len()
                    .checked_sub(up + 1)
                    .map(|i| data.group(chain[i]).name.clone())
            };
            Placement {
                project: var_of(&hostvars[h], PROJECT_VARS).or_else(|| level(2)),
                cluster: var_of(&hostvars[h], CLUSTER_VARS).or_else(|| level(1)),
                app: var_of(&hostvars[h], APP_VARS).or_else(|| level(0)),
            }
        })
        .collect()
}

fn var_of(vars: &VarMap, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match vars.get(*n)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Up to three groups from the top down, ending at the host's deepest direct group.
fn group_chain(data: &InventoryData, h: HostId) -> Vec<GroupId> {
    let direct = data
        .host(h)
        .direct_groups
        .iter()
        .copied()
        .filter(|&g| g != UNGROUPED && g != ALL);
    let Some(deepest) = direct.max_by_key(|&g| (data.group(g).depth, std::cmp::Reverse(g))) else {
        return Vec::new();
    };
    let mut chain = vec![deepest];
    while chain.len() < 3 {
        let last = *chain.last().expect("chain is never empty");
        match data.group(last).parents.iter().copied().find(|&p| p != ALL) {
            Some(parent) if !chain.contains(&parent) => chain.push(parent),
            _ => break,
        }
    }
    chain.reverse();
    chain
}

/// Apps by name (`None`: hosts with no app) and their hosts.
pub type AppMap = IndexMap<Option<String>, Vec<HostId>>;
/// Clusters by name and their apps.
pub type ClusterMap = IndexMap<Option<String>, AppMap>;
/// Projects by name and their clusters.
pub type ProjectMap = IndexMap<Option<String>, ClusterMap>;

/// Every host by project, cluster and app, in inventory order: the tree
/// `inventory list` prints and the console's Inventory view shows.
pub fn by_placement(inv: &Inventory) -> ProjectMap {
    let mut projects = ProjectMap::new();
    for h in inv.all_hosts() {
        let p = &inv.placement[h];
        projects
            .entry(p.project.clone())
            .or_default()
            .entry(p.cluster.clone())
            .or_default()
            .entry(p.app.clone())
            .or_default()
            .push(h);
    }
    projects
}

/// The human form of `inventory list`: project → cluster → app → hosts, with
/// counts, in inventory order. Hosts are folded into ranges.
pub fn render_tree(inv: &Inventory) -> String {
    let projects = by_placement(inv);
    let hosts = inv.all_hosts();
    let label = |name: &Option<String>| name.clone().unwrap_or_else(|| "(none)".into());
    let mut rows: Vec<(String, usize, String)> = Vec::new();
    for (project, clusters) in &projects {
        let count = clusters
            .values()
            .flat_map(|apps| apps.values())
            .map(Vec::len)
            .sum();
        rows.push((label(project), count, String::new()));
        for (ci, (cluster, apps)) in clusters.iter().enumerate() {
            let last_cluster = ci + 1 == clusters.len();
            let (branch, stem) = if last_cluster {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            rows.push((
                format!("{branch}{}", label(cluster)),
                apps.values().map(Vec::len).sum(),
                String::new(),
            ));
            for (ai, (app, members)) in apps.iter().enumerate() {
                let twig = if ai + 1 == apps.len() {
                    "└── "
                } else {
                    "├── "
                };
                let names = crate::hostlist::fold(members.iter().map(|&h| inv.host_name(h)));
                rows.push((format!("{stem}{twig}{}", label(app)), members.len(), names));
            }
        }
    }
    let width = rows
        .iter()
        .map(|(name, _, _)| name.chars().count())
        .max()
        .unwrap_or(0)
        .max(24);
    let mut out = format!(
        "{:<width$}  {:>5}  HOSTS\n",
        "PROJECT / CLUSTER / APP", "COUNT"
    );
    for (name, count, names) in rows {
        let pad = width - name.chars().count();
        let line = format!("{name}{}  {count:>5}  {names}", " ".repeat(pad));
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "{} hosts, {} groups, from {}\n",
        hosts.len(),
        inv.data.groups.len(),
        inv.sources
            .iter()
            .map(|s| s.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out
}
