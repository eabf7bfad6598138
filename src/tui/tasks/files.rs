//! Writing a file the operator asked for (saved output, a host list).

use std::path::Path;

/// Writes `contents` to `path`; says where it went, or why it did not.
pub fn save_text(path: &Path, contents: &str) -> Result<String, String> {
    let absolute = std::path::absolute(path).unwrap_or(path.to_path_buf());
    std::fs::write(&absolute, contents)
        .map(|_| format!("saved {}", absolute.display()))
        .map_err(|e| format!("cannot write {}: {e}", absolute.display()))
}
