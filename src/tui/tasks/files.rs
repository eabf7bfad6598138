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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_and_its_files_are_never_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("journal.db");
        std::fs::write(&journal, "sqlite").unwrap();
        for name in ["journal.db", "journal.db-wal"] {
            let err = save_text(&dir.path().join(name), "output", Some(&journal)).unwrap_err();
            assert!(err.ends_with("is the journal: not written"), "{err}");
        }
        assert_eq!(std::fs::read_to_string(&journal).unwrap(), "sqlite");
        let saved = save_text(&dir.path().join("out.txt"), "output", Some(&journal)).unwrap();
        assert!(saved.starts_with("saved "), "{saved}");
    }
}
