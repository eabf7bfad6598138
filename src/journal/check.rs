//! `jobdeck journal check`: SQLite's integrity check and foreign-key check,
//! turned into a report a person can read.
//!
//! The file is opened as it is: not created, not migrated, its journal
//! mode left alone, so a damaged journal is looked at, never written. A file
//! SQLite cannot read at all is a problem in the report, not a crash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::{BUSY_TIMEOUT, JournalError};

/// At most this many integrity problems are listed (SQLite's own default).
const MAX_PROBLEMS: usize = 100;
/// Row ids shown per broken reference.
const SAMPLE_ROWS: usize = 5;

/// Rows of `table` whose reference into `parent` leads nowhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenReference {
    pub table: String,
    pub parent: String,
    pub rows: u64,
    /// A few of their rowids (none for tables without rowids).
    pub sample_rowids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub path: PathBuf,
    /// `quick_check` (no index content checks) instead of `integrity_check`.
    pub quick: bool,
    pub schema_version: Option<i64>,
    /// Empty when the file is sound.
    pub integrity: Vec<String>,
    /// Empty when every reference holds.
    pub foreign_keys: Vec<BrokenReference>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.integrity.is_empty() && self.foreign_keys.is_empty()
    }
}

/// Checks the journal at `path`, which must exist.
pub fn check(path: &Path, quick: bool) -> Result<CheckReport, JournalError> {
    let mut report = CheckReport {
        path: path.to_path_buf(),
        quick,
        schema_version: None,
        integrity: Vec::new(),
        foreign_keys: Vec::new(),
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    match super::schema::user_version(&conn) {
        Ok(v) => report.schema_version = Some(v),
        Err(e) => {
            // Not a database at all, or page 1 is damaged: nothing else can run.
            report.integrity.push(format!("cannot read the file: {e}"));
            return Ok(report);
        }
    }
    let pragma = if quick {
        format!("PRAGMA quick_check({MAX_PROBLEMS})")
    } else {
        format!("PRAGMA integrity_check({MAX_PROBLEMS})")
    };
    match rows_of(&conn, &pragma, |r| r.get::<_, String>(0)) {
        Ok(lines) if lines == ["ok"] => {}
        Ok(lines) => report.integrity = lines,
        Err(e) => report.integrity.push(format!("the check stopped: {e}")),
    }
    let broken = rows_of(&conn, "PRAGMA foreign_key_check", |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, String>(2)?,
        ))
    });
    match broken {
        Ok(rows) => {
            let mut grouped: BTreeMap<(String, String), BrokenReference> = BTreeMap::new();
            for (table, rowid, parent) in rows {
                let entry = grouped
                    .entry((table.clone(), parent.clone()))
                    .or_insert_with(|| BrokenReference {
                        table,
                        parent,
                        rows: 0,
                        sample_rowids: Vec::new(),
                    });
                entry.rows += 1;
                if let Some(rowid) = rowid.filter(|_| entry.sample_rowids.len() < SAMPLE_ROWS) {
                    entry.sample_rowids.push(rowid);
                }
            }
            report.foreign_keys = grouped.into_values().collect();
        }
        Err(e) => report
            .integrity
            .push(format!("the foreign-key check stopped: {e}")),
    }
    Ok(report)
}

fn rows_of<T>(
    conn: &Connection,
    sql: &str,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    conn.prepare(sql)?.query_map([], map)?.collect()
}
