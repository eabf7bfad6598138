//! The two ways jobdeck opens a journal besides creating it. A reader (a
//! listing, a replay, the console's views) never creates a journal that is
//! not there: it asks `open_existing`. Whoever is about to plan or resume a
//! run first marks the runs of dead jobdecks interrupted: `open_recovered`.

use std::path::Path;

use super::{Journal, JournalError};

/// Whether a journal file is at `path`, by `stat` (no descriptor); a path
/// through something that is not a directory is an error that names it.
pub fn exists(path: &Path) -> Result<bool, JournalError> {
    super::files::exists(path)
}

/// The journal at `path`, or `None` when there is none yet.
pub fn open_existing(path: &Path) -> Result<Option<Journal>, JournalError> {
    if !exists(path)? {
        return Ok(None);
    }
    Journal::open(path).map(Some)
}

/// Opens (creating it if needed) and marks as interrupted every run whose
/// jobdeck died, as every jobdeck that plans a run does first.
pub fn open_recovered(path: &Path) -> Result<Journal, JournalError> {
    let mut journal = Journal::open(path)?;
    journal.recover_interrupted()?;
    Ok(journal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_never_creates_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("journal.db");
        assert!(open_existing(&path).unwrap().is_none());
        assert!(!path.parent().unwrap().exists());
        open_recovered(&path).unwrap();
        assert!(open_existing(&path).unwrap().is_some());
    }
}
