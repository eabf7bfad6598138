//! The detail pane's content for the host or group under the cursor:
//! placement, groups, connection settings and merged variables (secrets
//! masked), as rows that drawing styles and scrolling counts.

use std::path::Path;

use serde_json::Value;

use super::Model;
use super::tree::Node;
use crate::hostlist;
use crate::inventory::connection::{self, ConnectionSettings};
use crate::inventory::{HostId, Inventory, VarMap, vars};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailKind {
    Heading,
    Field,
    Secret,
    Problem,
    Note,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DetailRow {
    pub kind: DetailKind,
    pub key: String,
    pub value: String,
}

fn heading(text: impl Into<String>) -> DetailRow {
    DetailRow {
        kind: DetailKind::Heading,
        key: text.into(),
        value: String::new(),
    }
}

fn field(key: impl Into<String>, value: impl Into<String>) -> DetailRow {
    DetailRow {
        kind: DetailKind::Field,
        key: key.into(),
        value: value.into(),
    }
}

/// The inventory file that declared a host, relative to its source directory.
fn source_label(inv: &Inventory, path: &Path) -> String {
    inv.sources
        .iter()
        .find_map(|source| path.strip_prefix(source).ok())
        .filter(|rel| !rel.as_os_str().is_empty())
        .or_else(|| path.file_name().map(Path::new))
        .unwrap_or(path)
        .display()
        .to_string()
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn placement_text(m: &Model, h: HostId) -> String {
    let p = &m.inv.placement[h];
    [&p.project, &p.cluster, &p.app]
        .iter()
        .map(|level| level.as_deref().unwrap_or("–"))
        .collect::<Vec<_>>()
        .join(" › ")
}

pub fn host_detail(m: &Model, h: HostId) -> Vec<DetailRow> {
    let inv = &m.inv;
    let host = inv.data.host(h);
    let mut rows = vec![heading(host.name.clone())];
    rows.push(field("placement", placement_text(m, h)));
    let groups: Vec<&str> = vars::sorted_groups(&inv.data, h)
        .into_iter()
        .map(|g| inv.data.group(g).name.as_str())
        .collect();
    rows.push(field("groups", groups.join(", ")));
    if let Some(source) = &host.source {
        rows.push(field("source", source_label(inv, source)));
    }
    rows.push(field("selected", if m.selected[h] { "yes" } else { "no" }));
    rows.push(heading("Connection"));
    match ConnectionSettings::from_vars(&host.name, &inv.hostvars[h]) {
        Ok(c) => {
            rows.push(field("connection", c.connection.clone()));
            rows.push(field("address", c.address.clone()));
            let or_default = |v: Option<String>, default: &str| v.unwrap_or(default.to_string());
            rows.push(field(
                "port",
                or_default(c.port.map(|p| p.to_string()), "ssh_config (22)"),
            ));
            rows.push(field("user", or_default(c.user.clone(), "ssh_config")));
            if let Some(key) = &c.private_key_file {
                rows.push(field("key file", key.clone()));
            }
            if c.has_password {
                rows.push(DetailRow {
                    kind: DetailKind::Secret,
                    key: "password".into(),
                    value: "set (***)".into(),
                });
            }
            if let Some(jump) = &c.proxy_jump {
                rows.push(field("proxy jump", jump.clone()));
            }
            if let Some(command) = &c.proxy_command {
                rows.push(field("proxy cmd", command.clone()));
            }
            for (key, value) in &c.ssh_options {
                rows.push(field(format!("-o {key}"), value.clone()));
            }
        }
        Err(e) => rows.push(DetailRow {
            kind: DetailKind::Problem,
            key: "error".into(),
            value: e,
        }),
    }
    let merged = connection::masked(&inv.hostvars[h]);
    rows.push(heading(format!("Variables ({})", merged.len())));
    push_vars(&mut rows, &merged, "none");
    rows
}

/// One row per variable (secret ones marked), or `none` when there are none.
fn push_vars(rows: &mut Vec<DetailRow>, vars: &VarMap, none: &str) {
    if vars.is_empty() {
        rows.push(DetailRow {
            kind: DetailKind::Note,
            key: none.into(),
            value: String::new(),
        });
    }
    for (key, value) in vars {
        let kind = if connection::is_secret_var(key) {
            DetailKind::Secret
        } else {
            DetailKind::Field
        };
        rows.push(DetailRow {
            kind,
            key: key.clone(),
            value: value_text(value),
        });
    }
}

pub fn group_detail(m: &Model, node: &Node) -> Vec<DetailRow> {
    let inv = &m.inv;
    let selected = node.hosts.iter().filter(|&&h| m.selected[h]).count();
    let mut rows = vec![heading(node.label.clone())];
    rows.push(field("level", node.level.name()));
    let mut path = Vec::new();
    let mut up = node.parent;
    while let Some(p) = up {
        path.push(m.nodes[p].label.as_str());
        up = m.nodes[p].parent;
    }
    if !path.is_empty() {
        path.reverse();
        rows.push(field("under", path.join(" › ")));
    }
    rows.push(field(
        "hosts",
        format!("{} ({selected} selected)", node.hosts.len()),
    ));
    rows.push(field(
        "members",
        hostlist::fold(node.hosts.iter().map(|&h| inv.host_name(h))),
    ));
    if let Some(g) = inv.data.group_id(&node.label) {
        let group = inv.data.group(g);
        let children: Vec<&str> = group
            .children
            .iter()
            .map(|&c| inv.data.group(c).name.as_str())
            .collect();
        if !children.is_empty() {
            rows.push(field("children", children.join(", ")));
        }
        let own = connection::masked(&vars::group_own_vars(inv, g));
        rows.push(heading(format!("Group variables ({})", own.len())));
        push_vars(&mut rows, &own, "none set on this group");
    }
    rows
}
