//! Writing a file the operator asked for (saved output, a host list).

use std::path::Path;

/// Writes `contents` to `path`; says where it went, or why it did not.
/// `journal` is the journal runs are recorded in (`None`: the default
/// path): writing over it would destroy it and drop SQLite's locks.
pub fn save_text(path: &Path, contents: &str, journal: Option<&Path>) -> Result<String, String> {
    let absolute = std::path::absolute(path).unwrap_or(path.to_path_buf());
    let journal = journal
        .map(Path::to_path_buf)
        .or_else(|| crate::journal::default_path().ok());
    if journal.is_some_and(|j| crate::journal::is_journal_file(&absolute, &j)) {
        return Err(format!(
            "{} is the journal: not written",
            absolute.display()
        ));
    }
    std::fs::write(&absolute, contents)
        .map(|_| format!("saved {}", absolute.display()))
        .map_err(|e| format!("cannot write {}: {e}", absolute.display()))
}
