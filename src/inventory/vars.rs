//! Variable precedence, as ansible-inventory resolves it. Ansible's default
//! `hash_behaviour = replace` makes every step a shallow update where the
//! later step wins:
//!
//! 1. `all` vars from inventory sources
//! 2. other groups' vars from inventory sources, sorted by (depth, priority, name)
//! 3. `group_vars/all` next to each source, in source order
//! 4. `group_vars/<group>` next to each source, groups in the order of step 2
//! 5. the host's vars from inventory sources
//! 6. `host_vars/<host>` next to each source
//!
//! So `group_vars/all.yml` beats a child group's `[web:vars]` in the INI
//! file: that is Ansible's real order, and jobdeck keeps it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::data::{ALL, GroupId, HostId};
use super::vars_files::VarsDir;
use super::{Inventory, InventoryData, InventoryError, VarMap};

/// group_vars/ and host_vars/ of one inventory source's directory, with
/// every group's file already loaded (hosts are loaded on demand).
#[derive(Debug)]
pub struct SourceVars {
    /// Loaded `group_vars/<group>`, indexed by `GroupId`.
    group_vars: Vec<Option<VarMap>>,
    host_vars: VarsDir,
}

impl SourceVars {
    fn load(dir: &Path, data: &InventoryData) -> Result<SourceVars, InventoryError> {
        let group_dir = VarsDir::scan(&dir.join("group_vars"))?;
        let group_vars = data
            .groups
            .values()
            .map(|g| entity_vars(&group_dir, &g.name))
            .collect::<Result<_, _>>()?;
        Ok(SourceVars {
            group_vars,
            host_vars: VarsDir::scan(&dir.join("host_vars"))?,
        })
    }

    fn host(&self, name: &str) -> Result<Option<VarMap>, InventoryError> {
        entity_vars(&self.host_vars, name)
    }
}

/// Ansible skips names that look like paths (chroot-style hostnames).
fn entity_vars(dir: &VarsDir, name: &str) -> Result<Option<VarMap>, InventoryError> {
    if name.contains('/') {
        return Ok(None);
    }
    dir.load(name)
}

/// The directory whose group_vars/ and host_vars/ apply to each source:
/// the source itself if it is a directory, else its parent. Host lists have none.
/// Sources sharing a directory share one loaded `SourceVars`.
pub fn load_source_vars(
    data: &InventoryData,
    sources: &[PathBuf],
) -> Result<Vec<Arc<SourceVars>>, InventoryError> {
    let mut by_dir: HashMap<PathBuf, Arc<SourceVars>> = HashMap::new();
    let mut out = Vec::new();
    for source in sources {
        if !source.exists() {
            continue; // a host list such as `web1,web2`
        }
        let dir = if source.is_dir() {
            source.clone()
        } else {
            source.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let loaded = match by_dir.get(&dir) {
            Some(loaded) => loaded.clone(),
            None => {
                let loaded = Arc::new(SourceVars::load(&dir, data)?);
                by_dir.insert(dir, loaded.clone());
                loaded
            }
        };
        out.push(loaded);
    }
    Ok(out)
}

/// A host's groups other than `all`, in precedence order (lowest first).
pub fn sorted_groups(data: &InventoryData, h: HostId) -> Vec<GroupId> {
    let mut groups: Vec<GroupId> = data
        .host_groups(h)
        .into_iter()
        .filter(|&g| g != ALL)
        .collect();
    groups.sort_by(|&a, &b| {
        let (a, b) = (data.group(a), data.group(b));
        (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name))
    });
    groups
}

/// Merged variables of every host, indexed by `HostId`. Hosts in the same
/// direct groups share the group part of the work (it depends on nothing else).
pub fn resolve_all(
    data: &InventoryData,
    source_vars: &[Arc<SourceVars>],
) -> Result<Vec<VarMap>, InventoryError> {
    let mut by_direct_groups: HashMap<&[GroupId], VarMap> = HashMap::new();
    let mut out = Vec::with_capacity(data.hosts.len());
    for (h, host) in data.hosts.values().enumerate() {
        let group_vars = by_direct_groups
            .entry(host.direct_groups.as_slice())
            .or_insert_with(|| group_part(data, source_vars, &sorted_groups(data, h)));
        let mut vars = group_vars.clone();
        vars.reserve(host.vars.len());
        extend(&mut vars, &host.vars);
        for source in source_vars {
            if let Some(file_vars) = source.host(&host.name)? {
                vars.extend(file_vars);
            }
        }
        out.push(vars);
    }
    Ok(out)
}

/// Steps 1–4 of the precedence list.
fn group_part(data: &InventoryData, source_vars: &[Arc<SourceVars>], groups: &[GroupId]) -> VarMap {
    let mut vars = data.group(ALL).vars.clone();
    for &g in groups {
        extend(&mut vars, &data.group(g).vars);
    }
    for source in source_vars {
        if let Some(v) = &source.group_vars[ALL] {
            extend(&mut vars, v);
        }
    }
    for source in source_vars {
        for &g in groups {
            if let Some(v) = &source.group_vars[g] {
                extend(&mut vars, v);
            }
        }
    }
    vars
}

fn extend(into: &mut VarMap, from: &VarMap) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
    }
}

/// A group's own variables (inventory source, then group_vars/ files), as
/// `ansible-inventory --export` shows them.
pub fn group_own_vars(inv: &Inventory, g: GroupId) -> VarMap {
    let group = inv.data.group(g);
    let mut vars = group.vars.clone();
    for source in &inv.source_vars {
        if let Some(v) = &source.group_vars[g] {
            extend(&mut vars, v);
        }
    }
    if group.priority != 1 {
        vars.insert("ansible_group_priority".into(), group.priority.into());
    }
    vars
}

/// A host's own variables (inventory source, then host_vars/ files).
pub fn host_own_vars(inv: &Inventory, h: HostId) -> VarMap {
    let host = inv.data.host(h);
    let mut vars = host.vars.clone();
    for source in &inv.source_vars {
        // Already loaded without error during `Inventory::load`.
        if let Ok(Some(v)) = source.host(&host.name) {
            extend(&mut vars, &v);
        }
    }
    vars
}
