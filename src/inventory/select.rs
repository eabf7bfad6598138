//! Host selection as operators ask for it: an Ansible pattern, narrowed by
//! project / cluster / app, or an explicit list of names and IPs that
//! replaces both (seed 000: an explicit list switches the filters off).

use std::path::Path;

use super::{HostId, Inventory, InventoryError};

#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// An Ansible host pattern; `None` means `all`.
    pub pattern: Option<String>,
    pub project: Option<String>,
    pub cluster: Option<String>,
    pub app: Option<String>,
    /// Explicit hostnames or IPs; when given, the filters above do not apply.
    pub hosts: Vec<String>,
}

impl Selection {
    /// The selected hosts, in pattern order. An empty result is an error.
    pub fn resolve(&self, inv: &Inventory, base: &Path) -> Result<Vec<HostId>, InventoryError> {
        let pattern = self.pattern.as_deref().unwrap_or("all");
        let hosts = super::pattern::select(&inv.data, pattern, base)?;
        if hosts.is_empty() {
            return Err(InventoryError::msg(format!("pattern '{pattern}' matched no hosts")));
        }
        Ok(hosts)
    }
}
