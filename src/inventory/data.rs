//! The in-memory inventory, built the way Ansible's `InventoryData` builds it.
//!
//! Parsers (INI, YAML) call `add_group`, `add_host`, `add_child` and
//! `set_variable`; `reconcile` then applies Ansible's rules (every group under
//! `all`, group-less hosts in `ungrouped`). Relationships are stored as indices
//! so a 10,000-host inventory resolves without cloning names.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::Value;

use super::InventoryError;

/// Variables keep their source types (YAML numbers, booleans, lists, maps).
pub type VarMap = IndexMap<String, Value>;

pub type GroupId = usize;
pub type HostId = usize;

pub const ALL: GroupId = 0;
pub const UNGROUPED: GroupId = 1;

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    /// Variables set in an inventory source (not group_vars/ files).
    pub vars: VarMap,
    /// Hosts listed directly in this group, in the order they were added.
    pub hosts: Vec<HostId>,
    pub children: Vec<GroupId>,
    pub parents: Vec<GroupId>,
    /// Longest path from `all` (all = 0); set by `reconcile`.
    pub depth: usize,
    /// `ansible_group_priority`; higher wins among groups of equal depth.
    pub priority: i64,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    /// Variables set in an inventory source (not host_vars/ files).
    pub vars: VarMap,
    /// Groups that list this host directly, in the order they did.
    pub direct_groups: Vec<GroupId>,
    /// The inventory source that first declared the host.
    pub source: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone)]
pub struct InventoryData {
    pub groups: IndexMap<String, Group>,
    pub hosts: IndexMap<String, Host>,
    /// Set while a source is being parsed; recorded on hosts it declares.
    pub current_source: Option<std::path::PathBuf>,
    /// What the file being tried changed, while it may still be taken out.
    undo: Option<Undo>,
}

/// How to take a file's changes out again: the sizes before it (groups and
/// hosts are only ever appended) and each older group or host as it was
/// before the file first changed it.
#[derive(Debug, Clone, Default)]
struct Undo {
    groups: usize,
    hosts: usize,
    saved_groups: HashMap<GroupId, Group>,
    saved_hosts: HashMap<HostId, Host>,
}

impl Default for InventoryData {
    fn default() -> Self {
        Self::new()
    }
}

impl InventoryData {
    pub fn new() -> Self {
        let mut data = InventoryData {
            groups: IndexMap::new(),
            hosts: IndexMap::new(),
            current_source: None,
            undo: None,
        };
        data.add_group("all");
        data.add_group("ungrouped");
        data.add_child_ids(ALL, UNGROUPED)
            .expect("ungrouped under all cannot loop");
        data
    }

    /// Starts recording changes, so that [`rollback`](Self::rollback) can
    /// take out all of them (a file that failed to parse halfway).
    pub fn begin(&mut self) {
        self.undo = Some(Undo {
            groups: self.groups.len(),
            hosts: self.hosts.len(),
            ..Undo::default()
        });
    }

    /// Keeps what was changed since [`begin`](Self::begin).
    pub fn commit(&mut self) {
        self.undo = None;
    }

    /// Puts everything back as it was at [`begin`](Self::begin).
    pub fn rollback(&mut self) {
        let Some(undo) = self.undo.take() else {
            return;
        };
        self.groups.truncate(undo.groups);
        self.hosts.truncate(undo.hosts);
        for (g, group) in undo.saved_groups {
            self.groups[g] = group;
        }
        for (h, host) in undo.saved_hosts {
            self.hosts[h] = host;
        }
    }

    /// Saves an older group before its first change since `begin`.
    fn touch_group(&mut self, g: GroupId) {
        if let Some(undo) = &mut self.undo
            && g < undo.groups
        {
            undo.saved_groups
                .entry(g)
                .or_insert_with(|| self.groups[g].clone());
        }
    }

    fn touch_host(&mut self, h: HostId) {
        if let Some(undo) = &mut self.undo
            && h < undo.hosts
        {
            undo.saved_hosts
                .entry(h)
                .or_insert_with(|| self.hosts[h].clone());
        }
    }

    pub fn group_id(&self, name: &str) -> Option<GroupId> {
        self.groups.get_index_of(name)
    }

    pub fn host_id(&self, name: &str) -> Option<HostId> {
        self.hosts.get_index_of(name)
    }

    pub fn group(&self, id: GroupId) -> &Group {
        &self.groups[id]
    }

    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id]
    }

    /// Adds a group if it is new; returns its id either way.
    pub fn add_group(&mut self, name: &str) -> GroupId {
        if let Some(id) = self.group_id(name) {
            return id;
        }
        let (id, _) = self.groups.insert_full(
            name.to_string(),
            Group {
                name: name.to_string(),
                vars: VarMap::new(),
                hosts: Vec::new(),
                children: Vec::new(),
                parents: Vec::new(),
                depth: 0,
                priority: 1,
            },
        );
        id
    }

    /// Adds a host if it is new, and puts it in `group` if one is given.
    /// A port from `host:port` shorthand becomes `ansible_port`, as in
    /// Ansible: only when the host is new and the port is not 0, and kept
    /// even if no SSH port could be that large.
    pub fn add_host(&mut self, name: &str, group: Option<GroupId>, port: Option<u64>) -> HostId {
        let id = match self.host_id(name) {
            Some(id) => id,
            None => {
                let (id, _) = self.hosts.insert_full(
                    name.to_string(),
                    Host {
                        name: name.to_string(),
                        vars: VarMap::new(),
                        direct_groups: Vec::new(),
                        source: self.current_source.clone(),
                    },
                );
                if let Some(port) = port.filter(|&p| p != 0) {
                    set_var(&mut self.hosts[id].vars, "ansible_port", Value::from(port));
                }
                id
            }
        };
        if let Some(g) = group {
            self.add_host_to(id, g);
        }
        id
    }

    /// Makes `child` a child of `parent`; both must exist.
    pub fn add_child(&mut self, parent: &str, child: &str) -> Result<(), InventoryError> {
        let p = self
            .group_id(parent)
            .ok_or_else(|| InventoryError::msg(format!("group '{parent}' is not defined")))?;
        if let Some(c) = self.group_id(child) {
            return self.add_child_ids(p, c);
        }
        // Ansible's add_child also accepts a host as the child.
        if self.host_id(child).is_none() {
            return Err(InventoryError::msg(format!(
                "'{child}' is neither a group nor a host"
            )));
        }
        self.add_host(child, Some(p), None);
        Ok(())
    }

    pub fn add_child_ids(&mut self, parent: GroupId, child: GroupId) -> Result<(), InventoryError> {
        if parent == child {
            return Err(InventoryError::msg(format!(
                "group '{}' cannot be a child of itself",
                self.groups[parent].name
            )));
        }
        if self.groups[parent].children.contains(&child) {
            return Ok(());
        }
        if self.is_ancestor(child, parent) {
            return Err(InventoryError::msg(format!(
                "adding group '{}' as a child of '{}' creates a loop",
                self.groups[child].name, self.groups[parent].name
            )));
        }
        self.touch_group(parent);
        self.touch_group(child);
        self.groups[parent].children.push(child);
        if !self.groups[child].parents.contains(&parent) {
            self.groups[child].parents.push(parent);
        }
        Ok(())
    }

    /// True when `maybe_ancestor` is `group` or sits above it.
    fn is_ancestor(&self, maybe_ancestor: GroupId, group: GroupId) -> bool {
        let mut stack = vec![group];
        let mut seen = vec![false; self.groups.len()];
        while let Some(g) = stack.pop() {
            if g == maybe_ancestor {
                return true;
            }
            if !std::mem::replace(&mut seen[g], true) {
                stack.extend(self.groups[g].parents.iter().copied());
            }
        }
        false
    }

    /// Sets a variable on a group or host, as Ansible does: a group of that
    /// name wins over a host of that name, and `ansible_group_priority` sets
    /// the group's priority instead of a variable.
    pub fn set_variable(
        &mut self,
        entity: &str,
        key: &str,
        value: Value,
    ) -> Result<(), InventoryError> {
        if let Some(g) = self.group_id(entity) {
            self.touch_group(g);
            if key == "ansible_group_priority" {
                self.groups[g].priority = priority_of(&value).ok_or_else(|| {
                    InventoryError::msg(format!(
                        "ansible_group_priority for group '{entity}' must be an integer, got {value}"
                    ))
                })?;
            } else {
                set_var(&mut self.groups[g].vars, key, value);
            }
            Ok(())
        } else if let Some(h) = self.host_id(entity) {
            self.touch_host(h);
            set_var(&mut self.hosts[h].vars, key, value);
            Ok(())
        } else {
            Err(InventoryError::msg(format!(
                "no group or host named '{entity}'"
            )))
        }
    }

    /// Ansible's `reconcile_inventory`: groups without parents go under `all`,
    /// hosts in no group go to `ungrouped`, hosts in other groups leave it.
    /// Then depths are computed.
    pub fn reconcile(&mut self) {
        for g in 0..self.groups.len() {
            if g != ALL && self.groups[g].parents.is_empty() {
                self.add_child_ids(ALL, g)
                    .expect("a parentless group cannot loop");
            }
        }
        for h in 0..self.hosts.len() {
            let groups = &self.hosts[h].direct_groups;
            let in_ungrouped = groups.contains(&UNGROUPED);
            let in_other = groups.iter().any(|&g| g != ALL && g != UNGROUPED);
            if in_ungrouped && in_other {
                self.hosts[h].direct_groups.retain(|&g| g != UNGROUPED);
                self.groups[UNGROUPED].hosts.retain(|&x| x != h);
            } else if !in_ungrouped && !in_other {
                self.add_host_to(h, UNGROUPED);
            }
        }
        self.compute_depths();
    }

    fn add_host_to(&mut self, h: HostId, g: GroupId) {
        // A host is in few groups, a group may have thousands of hosts.
        if !self.hosts[h].direct_groups.contains(&g) {
            self.touch_group(g);
            self.touch_host(h);
            self.groups[g].hosts.push(h);
            self.hosts[h].direct_groups.push(g);
        }
    }

    fn compute_depths(&mut self) {
        for g in self.groups.values_mut() {
            g.depth = 0;
        }
        // Longest path from `all`; the graph is acyclic (add_child_ids refuses loops).
        let order = self.topological_order();
        for g in order {
            let depth = self.groups[g].depth;
            for i in 0..self.groups[g].children.len() {
                let c = self.groups[g].children[i];
                if self.groups[c].depth < depth + 1 {
                    self.groups[c].depth = depth + 1;
                }
            }
        }
    }

    fn topological_order(&self) -> Vec<GroupId> {
        let mut indegree: Vec<usize> = self.groups.values().map(|g| g.parents.len()).collect();
        let mut ready: Vec<GroupId> = (0..self.groups.len())
            .filter(|&g| indegree[g] == 0)
            .collect();
        let mut order = Vec::with_capacity(self.groups.len());
        while let Some(g) = ready.pop() {
            order.push(g);
            for &c in &self.groups[g].children {
                indegree[c] -= 1;
                if indegree[c] == 0 {
                    ready.push(c);
                }
            }
        }
        order
    }

    /// The group and every group above it, excluding none; `all` included.
    pub fn ancestors_of_group(&self, g: GroupId, out: &mut Vec<GroupId>) {
        let mut stack = vec![g];
        while let Some(x) = stack.pop() {
            if !out.contains(&x) {
                out.push(x);
                stack.extend(self.groups[x].parents.iter().copied());
            }
        }
    }

    /// Every group a host belongs to, directly or through children (with `all`).
    pub fn host_groups(&self, h: HostId) -> Vec<GroupId> {
        let mut out = Vec::new();
        for &g in &self.hosts[h].direct_groups {
            self.ancestors_of_group(g, &mut out);
        }
        if !out.contains(&ALL) {
            out.push(ALL);
        }
        out
    }

    /// Hosts of a group and its descendants, in Ansible's order: the group's
    /// own hosts, then each level of descendants breadth-first.
    pub fn group_hosts(&self, g: GroupId) -> Vec<HostId> {
        let mut seen_group = vec![false; self.groups.len()];
        let mut seen_host = vec![false; self.hosts.len()];
        let mut ordered = vec![g];
        seen_group[g] = true;
        let mut level = vec![g];
        while !level.is_empty() {
            let mut next = Vec::new();
            for &x in &level {
                for &c in &self.groups[x].children {
                    if !seen_group[c] {
                        seen_group[c] = true;
                        next.push(c);
                        ordered.push(c);
                    }
                }
            }
            level = next;
        }
        let mut hosts = Vec::new();
        for x in ordered {
            for &h in &self.groups[x].hosts {
                if !std::mem::replace(&mut seen_host[h], true) {
                    hosts.push(h);
                }
            }
        }
        hosts
    }
}

/// Ansible's `set_variable`: the last assignment wins (hash_behaviour=replace).
fn set_var(vars: &mut VarMap, key: &str, value: Value) {
    vars.insert(key.to_string(), value);
}

fn priority_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(*b as i64),
        _ => None,
    }
}
