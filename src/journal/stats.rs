//! `jobdeck journal stats`: how big the journal is and what fills it.
//!
//! Sizes come from `stat` by path and from SQLite's own page counts, never
//! from opening the file beside the live connection (closing any descriptor
//! of the file would drop this process's SQLite locks on it).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{Local, TimeZone};
use rusqlite::Connection;
use serde::Serialize;

use super::{Journal, JournalError};
use crate::engine::events::{InstanceId, UnixMillis};

/// How many of the largest runs `stats` lists.
pub const LARGEST_RUNS: usize = 10;

/// The file and its pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStats {
    /// The main file on disk (`stat`).
    pub file_bytes: u64,
    /// The write-ahead log beside it (0 when there is none).
    pub wal_bytes: u64,
    pub page_size: u64,
    pub page_count: u64,
    /// Pages on the free list: space the file holds but no data uses.
    pub free_pages: u64,
    /// none | full | incremental
    pub auto_vacuum: String,
}

impl FileStats {
    /// The database's size as SQLite sees it (the file may lag behind until
    /// the write-ahead log is checkpointed).
    pub fn logical_bytes(&self) -> u64 {
        self.page_count * self.page_size
    }

    pub fn free_bytes(&self) -> u64 {
        self.free_pages * self.page_size
    }
}

/// Output attributed to a flow or a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub name: String,
    pub runs: u64,
    pub output_chunks: u64,
    pub output_bytes: u64,
}

/// One of the runs with the most output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LargeRun {
    pub id: InstanceId,
    pub flow: String,
    pub status: String,
    pub created_at: UnixMillis,
    pub hosts: u64,
    pub output_chunks: u64,
    pub output_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalStats {
    pub path: PathBuf,
    pub schema_version: i64,
    pub file: FileStats,
    pub runs: u64,
    pub oldest_run: Option<UnixMillis>,
    pub newest_run: Option<UnixMillis>,
    /// Instances by status name.
    pub by_status: BTreeMap<String, u64>,
    pub output_chunks: u64,
    pub output_bytes: u64,
    /// Most output first.
    pub by_flow: Vec<Usage>,
    /// `2026-03`, in the local time zone, by when the runs started; oldest first.
    pub by_month: Vec<Usage>,
    pub largest_runs: Vec<LargeRun>,
}

/// `stat` of the journal and its `-wal` file, by path.
pub fn file_sizes(path: &Path) -> (u64, u64) {
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    (size(path), size(Path::new(&wal)))
}

/// Page counts and the auto-vacuum mode of `conn`'s main database.
pub fn file_stats(conn: &Connection, path: &Path) -> rusqlite::Result<FileStats> {
    let pragma = |name: &str| conn.pragma_query_value(None, name, |r| r.get::<_, i64>(0));
    let (file_bytes, wal_bytes) = file_sizes(path);
    Ok(FileStats {
        file_bytes,
        wal_bytes,
        page_size: pragma("page_size")?.max(0) as u64,
        page_count: pragma("page_count")?.max(0) as u64,
        free_pages: pragma("freelist_count")?.max(0) as u64,
        auto_vacuum: match pragma("auto_vacuum")? {
            1 => "full",
            2 => "incremental",
            _ => "none",
        }
        .to_owned(),
    })
}

/// `2026-03` for a Unix-ms time, in the local zone.
fn month_of(at: UnixMillis) -> String {
    Local
        .timestamp_millis_opt(at)
        .earliest()
        .map_or_else(|| "unknown".to_owned(), |t| t.format("%Y-%m").to_string())
}

impl Journal {
    /// Reads the whole output table once (lengths only, from the record
    /// headers) in one read transaction; takes no write lock.
    pub fn stats(&self) -> Result<JournalStats, JournalError> {
        let tx = self.conn.unchecked_transaction()?;
        let file = file_stats(&tx, &self.path)?;
        let schema_version = super::schema::user_version(&tx)?;

        struct Run {
            flow: String,
            status: String,
            created_at: UnixMillis,
            chunks: u64,
            bytes: u64,
        }
        let mut runs: HashMap<InstanceId, Run> = HashMap::new();
        {
            let mut stmt = tx.prepare(
                "SELECT id, flow, status, created_at
                 FROM instances INDEXED BY instances_by_flow_status_created",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let run = Run {
                    flow: r.get(1)?,
                    status: r.get(2)?,
                    created_at: r.get(3)?,
                    chunks: 0,
                    bytes: 0,
                };
                runs.insert(r.get(0)?, run);
            }
        }
        let (mut output_chunks, mut output_bytes) = (0u64, 0u64);
        {
            let mut stmt = tx.prepare(
                "SELECT instance_id, count(*), total(length(data)) FROM output GROUP BY instance_id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let id: InstanceId = r.get(0)?;
                let chunks = r.get::<_, i64>(1)?.max(0) as u64;
                let bytes = r.get::<_, f64>(2)?.max(0.0) as u64;
                output_chunks += chunks;
                output_bytes += bytes;
                if let Some(run) = runs.get_mut(&id) {
                    run.chunks += chunks;
                    run.bytes += bytes;
                }
            }
        }

        let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_flow: HashMap<&str, Usage> = HashMap::new();
        let mut by_month: BTreeMap<String, Usage> = BTreeMap::new();
        for run in runs.values() {
            *by_status.entry(run.status.clone()).or_default() += 1;
            let add = |usage: &mut Usage| {
                usage.runs += 1;
                usage.output_chunks += run.chunks;
                usage.output_bytes += run.bytes;
            };
            add(by_flow.entry(&run.flow).or_insert_with(|| Usage {
                name: run.flow.clone(),
                runs: 0,
                output_chunks: 0,
                output_bytes: 0,
            }));
            let month = month_of(run.created_at);
            add(by_month.entry(month.clone()).or_insert_with(|| Usage {
                name: month,
                runs: 0,
                output_chunks: 0,
                output_bytes: 0,
            }));
        }
        let mut by_flow: Vec<Usage> = by_flow.into_values().collect();
        by_flow.sort_by(|a, b| {
            b.output_bytes
                .cmp(&a.output_bytes)
                .then_with(|| a.name.cmp(&b.name))
        });

        let mut largest: Vec<(&InstanceId, &Run)> =
            runs.iter().filter(|(_, r)| r.chunks > 0).collect();
        largest.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then_with(|| b.0.cmp(a.0)));
        largest.truncate(LARGEST_RUNS);
        let mut count_hosts = tx.prepare("SELECT count(*) FROM hosts WHERE instance_id = ?1")?;
        let largest_runs = largest
            .into_iter()
            .map(|(id, run)| {
                Ok(LargeRun {
                    id: *id,
                    flow: run.flow.clone(),
                    status: run.status.clone(),
                    created_at: run.created_at,
                    hosts: count_hosts.query_row([id], |r| r.get::<_, i64>(0))?.max(0) as u64,
                    output_chunks: run.chunks,
                    output_bytes: run.bytes,
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;

        Ok(JournalStats {
            path: self.path.clone(),
            schema_version,
            file,
            runs: runs.len() as u64,
            oldest_run: runs.values().map(|r| r.created_at).min(),
            newest_run: runs.values().map(|r| r.created_at).max(),
            by_status,
            output_chunks,
            output_bytes,
            by_flow,
            by_month: by_month.into_values().collect(),
            largest_runs,
        })
    }
}
