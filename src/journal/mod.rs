//! The journal: every job instance, its hosts, steps, batches and output,
//! in one SQLite file (WAL mode) that several jobdeck processes share.
//!
//! - `Journal` is a synchronous handle for creating instances, recovering
//!   crashed ones and answering queries. Use it off the UI task.
//! - `JournalWriter` runs on its own thread and applies the engine's
//!   `Event`s in batched transactions, fed through a bounded channel.
//! - Housekeeping while others write: `stats`, `prune` (old runs, in short
//!   transactions, then the space), `backup` (online copy), `check`
//!   (integrity and references), `retention` (the config file's rules).
//!
//! Every write is a `BEGIN IMMEDIATE` transaction: it takes the write lock up
//! front, so the busy timeout covers it and two processes queue up instead of
//! failing with "database is locked" on a read-to-write upgrade.

pub mod backup;
pub mod check;
pub mod existing;
mod files;
pub mod forward;
pub mod guardrails;
pub mod instance;
pub mod output_cap;
pub mod owner;
pub mod prune;
pub mod query;
pub mod retention;
pub mod schema;
pub mod search;
pub mod shell_sessions;
pub mod stats;
mod step_output;
mod transaction;
pub mod write_failure;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

#[allow(unused_imports)] // for the engine and commands, which come next
pub use crate::engine::events::InstanceId;
pub use existing::{exists, open_existing, open_recovered};
pub use files::is_journal_file;
#[allow(unused_imports)] // for the engine and commands, which come next
pub use instance::{NewInstance, SECRET_MASK, Trigger, mask_secrets};
#[allow(unused_imports)] // for the engine and commands, which come next
pub use owner::ProcessIdentity;
#[allow(unused_imports)] // for the engine and commands, which come next
pub use query::{
    BatchRecord, Chunk, CutMarker, ExportRecord, HostItem, HostRecord, InstanceDetail,
    InstanceFilter, InstanceRecord, InstanceSummary, ResumePoint, StepResultRecord,
    TruncationRecord,
};
pub use write_failure::{UnrecordedRun, WriteFailure};
#[allow(unused_imports)] // for the engine and commands, which come next
pub use writer::{JournalSink, JournalWriter, SinkClosed, WriterOptions, WriterStats};

/// The longest silence a replay of a run keeps, in the run's own time
/// (before a speed-up divides it): `jobdeck show --replay` and the
/// console's History shorten longer gaps (a two-hour interval) to this.
pub const MAX_REPLAY_GAP_MS: i64 = 5_000;

/// How long a writer waits for another process's transaction to finish.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Each message carries its cause once: none of these report a `source()`,
/// so printing the error chain (`{:#}`) does not repeat it.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("journal {}: {} is not a directory", path.display(), ancestor.display())]
    NotADirectory { path: PathBuf, ancestor: PathBuf },
    #[error("journal {}: cannot open: {cause}", path.display())]
    Open {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error(
        "journal {} was written by a newer jobdeck (schema {found}, this jobdeck knows {known}); upgrade jobdeck",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("journal {}: migration {version} ({name}) failed: {cause}", path.display())]
    Migration {
        path: PathBuf,
        version: i64,
        name: &'static str,
        cause: rusqlite::Error,
    },
    #[error("journal {}: needs WAL mode, but SQLite kept {mode:?} (a network file system?)", path.display())]
    NotWal { path: PathBuf, mode: String },
    #[error("no job instance {0} in the journal")]
    NoSuchInstance(InstanceId),
    #[error("job instance {id} cannot be resumed: {why}")]
    NotResumable { id: InstanceId, why: String },
    #[error("cannot find a home directory for the default journal path; pass --journal PATH")]
    NoHome,
    #[error("journal: {0}")]
    Sqlite(rusqlite::Error),
    #[error("journal: bad JSON: {0}")]
    Json(serde_json::Error),
}

impl From<rusqlite::Error> for JournalError {
    fn from(err: rusqlite::Error) -> JournalError {
        JournalError::Sqlite(err)
    }
}

impl From<serde_json::Error> for JournalError {
    fn from(err: serde_json::Error) -> JournalError {
        JournalError::Json(err)
    }
}

/// `$XDG_DATA_HOME/jobdeck/journal.db`, i.e. `~/.local/share/jobdeck/journal.db`
/// unless XDG_DATA_HOME says otherwise.
pub fn default_path() -> Result<PathBuf, JournalError> {
    let base = directories::BaseDirs::new().ok_or(JournalError::NoHome)?;
    Ok(base.data_dir().join("jobdeck").join("journal.db"))
}

/// Opens (creating if needed) a journal file, configures the connection and
/// brings the schema up to date. Both `Journal` and the writer use this.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, JournalError> {
    let created = files::private_file(path)?;
    let open_err = |cause| JournalError::Open {
        path: path.to_path_buf(),
        cause,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
    if created == files::Created::BySqlite {
        // Before WAL mode: SQLite gives -wal and -shm the file's mode.
        files::make_private(path)?;
    }
    configure(&conn, path)?;
    schema::migrate(&mut conn, path)?;
    Ok(conn)
}

fn configure(conn: &Connection, path: &Path) -> Result<(), JournalError> {
    let open_err = |cause| JournalError::Open {
        path: path.to_path_buf(),
        cause,
    };
    // First, so that even switching to WAL waits for other processes.
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    // Only takes effect on a new, empty file, and only before WAL mode is
    // set: a new journal can give freed pages back (see prune.rs).
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
        .map_err(open_err)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(open_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(JournalError::NotWal {
            path: path.to_path_buf(),
            mode,
        });
    }
    // WAL + NORMAL: a commit survives a process crash; only a power loss
    // can lose the last transactions, and never corrupts the file.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(open_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// A synchronous handle on the journal for everything but the event stream.
pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

impl Journal {
    pub fn open(path: impl AsRef<Path>) -> Result<Journal, JournalError> {
        let path = path.as_ref().to_path_buf();
        let conn = open_connection(&path)?;
        Ok(Journal { conn, path })
    }

    /// Opens the journal if there is one at `path`; `None` if there is not.
    /// Readers use this: looking at history never creates a journal.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Option<Journal>, JournalError> {
        existing::open_existing(path.as_ref())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying connection, for tests and one-off maintenance.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// `PRAGMA integrity_check`, "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String, JournalError> {
        let rows: Vec<String> = self
            .conn
            .prepare("PRAGMA integrity_check")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows.join("\n"))
    }
}
