//! `jobdeck journal backup PATH`: an online, consistent copy of the journal
//! through SQLite's backup API, while runs and the daemon keep writing.
//!
//! The copy is taken in one backup step, inside one read transaction of
//! the source: in WAL mode that snapshot never blocks a writer, and writers
//! never make the copy start over (as they would between smaller steps).
//! It is written to a hidden file beside PATH, checked (`quick_check`),
//! synced and only then renamed to PATH, so PATH is either a whole, sound
//! copy or absent. The copy is a single file (rollback journal mode), mode
//! 0600 like the journal.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::{BUSY_TIMEOUT, Journal, JournalError};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{}: already exists; back up to a new file", .0.display())]
    Exists(PathBuf),
    #[error("{}: is the journal itself (or its log); back up to another file", .0.display())]
    SameFile(PathBuf),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("backup to {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("backup to {}: the copy failed its check: {problem}", path.display())]
    BadCopy { path: PathBuf, problem: String },
    #[error("backup to {}: the journal stayed locked for {}s", path.display(), BUSY_TIMEOUT.as_secs())]
    Busy { path: PathBuf },
    #[error(transparent)]
    Journal(#[from] JournalError),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub pages: u64,
    #[serde(skip)]
    pub elapsed: Duration,
}

impl Journal {
    /// Copies the journal to `dest`, a file that must not exist yet.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupReport, BackupError> {
        let started = Instant::now();
        if super::is_journal_file(dest, &self.path) {
            return Err(BackupError::SameFile(dest.to_path_buf()));
        }
        // `symlink_metadata` stats by path; a dangling link counts as taken too.
        if dest.symlink_metadata().is_ok() {
            return Err(BackupError::Exists(dest.to_path_buf()));
        }
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BackupError::Io { path, source }
        };
        let name = dest
            .file_name()
            .ok_or_else(|| BackupError::Io {
                path: dest.to_path_buf(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
            })?
            .to_string_lossy()
            .into_owned();
        let partial = dest.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)
            .map_err(io_err(&partial))?;
        let result = self.copy_into(&partial, dest);
        let pages = match result {
            Ok(pages) => pages,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        // The copy's connection is closed: syncing it through a descriptor is safe.
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io_err(&partial))?;
        if dest.symlink_metadata().is_ok() {
            let _ = std::fs::remove_file(&partial);
            return Err(BackupError::Exists(dest.to_path_buf()));
        }
        std::fs::rename(&partial, dest).map_err(io_err(dest))?;
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(BackupReport {
            path: dest.to_path_buf(),
            bytes: std::fs::metadata(dest).map_or(0, |m| m.len()),
            pages,
            elapsed: started.elapsed(),
        })
    }

    /// The backup itself into `partial`; returns the page count.
    fn copy_into(&self, partial: &Path, dest: &Path) -> Result<u64, BackupError> {
        let sqlite_err = |source| BackupError::Sqlite {
            path: dest.to_path_buf(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut copy = Connection::open_with_flags(partial, flags).map_err(sqlite_err)?;
        {
            let backup = Backup::new(&self.conn, &mut copy).map_err(sqlite_err)?;
            let waited = Instant::now();
            loop {
                // -1: every page in one step, from one snapshot.
                match backup.step(-1).map_err(sqlite_err)? {
                    StepResult::Done => break,
                    StepResult::More => {}
                    _ if waited.elapsed() > BUSY_TIMEOUT => {
                        return Err(BackupError::Busy {
                            path: dest.to_path_buf(),
                        });
                    }
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        // One self-contained file: no write-ahead log beside it.
        copy.pragma_update(None, "journal_mode", "DELETE")
            .map_err(sqlite_err)?;
        let check: Vec<String> = copy
            .prepare("PRAGMA quick_check")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(sqlite_err)?;
        if check != ["ok"] {
            return Err(BackupError::BadCopy {
                path: dest.to_path_buf(),
                problem: check.join("; "),
            });
        }
        let pages: i64 = copy
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .map_err(sqlite_err)?;
        copy.close().map_err(|(_, e)| sqlite_err(e))?;
        Ok(pages.max(0) as u64)
    }
}
