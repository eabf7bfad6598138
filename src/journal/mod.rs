//! The journal: every job instance, its hosts, steps, batches and output,
//! in one SQLite file (WAL mode) that several jobdeck processes share.
//!
//! - `Journal` is a synchronous handle for creating instances, recovering
//!   crashed ones and answering queries. Use it off the UI task.
//! - `JournalWriter` runs on its own thread and applies the engine's
//!   `Event`s in batched transactions, fed through a bounded channel.
//!
//! Every write is a `BEGIN IMMEDIATE` transaction: it takes the write lock up
//! front, so the busy timeout covers it and two processes queue up instead of
//! failing with "database is locked" on a read-to-write upgrade.

pub mod instance;
pub mod owner;
pub mod query;
pub mod schema;
pub mod search;
pub mod writer;

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

#[allow(unused_imports)] // for the engine and commands, which come next
pub use crate::engine::events::InstanceId;
#[allow(unused_imports)] // for the engine and commands, which come next
pub use instance::{NewInstance, SECRET_MASK, Trigger, mask_secrets};
#[allow(unused_imports)] // for the engine and commands, which come next
pub use owner::ProcessIdentity;
#[allow(unused_imports)] // for the engine and commands, which come next
pub use query::{
    BatchRecord, Chunk, ExportRecord, HostItem, HostRecord, InstanceDetail, InstanceFilter,
    InstanceRecord, InstanceSummary, ResumePoint, StepResultRecord, TruncationRecord,
};
#[allow(unused_imports)] // for the engine and commands, which come next
pub use writer::{JournalSink, JournalWriter, SinkClosed, WriterOptions, WriterStats};

/// How long a writer waits for another process's transaction to finish.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("journal {}: cannot open: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
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
    #[error("journal {}: migration {version} ({name}) failed: {source}", path.display())]
    Migration {
        path: PathBuf,
        version: i64,
        name: &'static str,
        source: rusqlite::Error,
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
    Sqlite(#[from] rusqlite::Error),
    #[error("journal: bad JSON: {0}")]
    Json(#[from] serde_json::Error),
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
    create_private_file(path)?;
    let open_err = |source| JournalError::Open {
        path: path.to_path_buf(),
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
    configure(&conn, path)?;
    schema::migrate(&mut conn, path)?;
    Ok(conn)
}

fn configure(conn: &Connection, path: &Path) -> Result<(), JournalError> {
    let open_err = |source| JournalError::Open {
        path: path.to_path_buf(),
        source,
    };
    // First, so that even switching to WAL waits for other processes.
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
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

/// Creates the parent directories (0700) and the file itself with mode 0600
/// before SQLite sees it; SQLite gives its -wal and -shm files the same mode.
/// An existing file keeps the mode its owner chose.
fn create_private_file(path: &Path) -> Result<(), JournalError> {
    let io_err = |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(io_err)?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io_err)?;
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
