//! INI inventory sources, parsed as Ansible's `ini` inventory plugin parses them.

use std::path::Path;

use super::{InventoryData, InventoryError};

/// Parses one INI source into `data`.
pub fn parse(path: &Path, text: &str, data: &mut InventoryData) -> Result<(), InventoryError> {
    let _ = (text, data);
    Err(InventoryError::file(
        path,
        "INI inventories are not supported yet",
    ))
}
