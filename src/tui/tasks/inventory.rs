//! Loading the inventory and evaluating host patterns: both may read files.

use std::path::Path;
use std::sync::Arc;

use crate::inventory::{HostId, Inventory, pattern};

/// Loads the inventory from `sources` (the `-i` values, or the default).
pub fn load(sources: &[String]) -> Result<Arc<Inventory>, String> {
    Inventory::load(sources)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// The hosts `text` selects (an `@file` pattern reads `base/file`). An
/// error may span lines (regex carets); the pattern box shows it as one.
pub fn evaluate_pattern(inv: &Inventory, text: &str, base: &Path) -> Result<Vec<HostId>, String> {
    pattern::select(&inv.data, text, base).map_err(|e| {
        e.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    })
}
