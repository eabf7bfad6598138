//! Reading the journal: history lists, one instance in full, output in
//! order, what a resume needs, and a JSON export.

use rusqlite::types::{FromSql, FromSqlError, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::owner::ProcessIdentity;
use super::{Journal, JournalError};
use crate::engine::events::{
    BatchIndex, HostIndex, HostStatus, InstanceId, InstanceStatus, StepIndex, Stream, UnixMillis,
    WaitReason,
};

/// Which instances `list_instances` returns; `None` fields match anything.
#[derive(Debug, Clone, Default)]
pub struct InstanceFilter {
    pub flow: Option<String>,
    pub status: Option<InstanceStatus>,
    /// Only instances created at or after this time.
    pub since: Option<UnixMillis>,
    pub limit: Option<usize>,
}

/// One line of history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceSummary {
    pub id: InstanceId,
    pub flow: String,
    pub status: InstanceStatus,
    pub trigger: String,
    pub parent: Option<InstanceId>,
    pub user: String,
    pub created_at: UnixMillis,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
    pub reason: Option<String>,
    pub hosts_total: usize,
    pub hosts_ok: usize,
    /// Hosts whose status counts against `--max-fail`.
    pub hosts_failed: usize,
}

/// The instance row itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceRecord {
    pub id: InstanceId,
    pub flow: String,
    pub flow_snapshot: String,
    pub atom_hashes: Map<String, Value>,
    pub params: Map<String, Value>,
    pub secret_params: Vec<String>,
    pub target: Value,
    pub resolved_hosts: Vec<String>,
    pub rollout: Value,
    pub trigger: String,
    pub parent: Option<InstanceId>,
    pub user: String,
    pub status: InstanceStatus,
    pub created_at: UnixMillis,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
    pub owner: Option<ProcessIdentity>,
    /// The first batch that has not finished.
    pub next_batch: BatchIndex,
    pub wait_reason: Option<WaitReason>,
    pub resume_at: Option<UnixMillis>,
    /// Set by crash recovery: what the instance was doing when its process died.
    pub interrupted_from: Option<InstanceStatus>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchRecord {
    pub index: BatchIndex,
    pub size: usize,
    /// pending | running | done | interrupted | cancelled
    pub status: String,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
    pub ok: Option<usize>,
    pub failed: Option<usize>,
    pub hosts: Vec<HostIndex>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostRecord {
    pub index: HostIndex,
    pub name: String,
    pub batch: Option<BatchIndex>,
    pub status: HostStatus,
    pub current_step: Option<StepIndex>,
    pub exit_code: Option<i32>,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
    pub error: Option<String>,
}

/// One attempt of one step on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResultRecord {
    pub host: HostIndex,
    pub step: StepIndex,
    pub attempt: u32,
    pub status: HostStatus,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
    pub error: Option<String>,
}

const TRUNCATION_COLUMNS: &str =
    "SELECT host_idx, step_idx, cap_bytes, dropped_bytes, dropped_chunks,
     first_dropped_at, last_dropped_at, cut_after, dropped_lines FROM truncations";

fn truncation_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TruncationRecord> {
    Ok(TruncationRecord {
        host: r.get(0)?,
        step: r.get(1)?,
        cap_bytes: r.get(2)?,
        dropped_bytes: r.get(3)?,
        dropped_chunks: r.get(4)?,
        first_dropped_at: r.get(5)?,
        last_dropped_at: r.get(6)?,
        cut_after: r.get(7)?,
        dropped_lines: r.get(8)?,
    })
}

/// A `step_results` row selected as host_idx, step_idx, attempt, status,
/// exit_code, signal, started_at, finished_at, error.
fn step_result_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StepResultRecord> {
    Ok(StepResultRecord {
        host: r.get(0)?,
        step: r.get(1)?,
        attempt: r.get(2)?,
        status: named(r, 3)?,
        exit_code: r.get(4)?,
        signal: r.get(5)?,
        started_at: r.get(6)?,
        finished_at: r.get(7)?,
        error: r.get(8)?,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportRecord {
    pub host: HostIndex,
    pub step: StepIndex,
    pub name: String,
    pub value: String,
    pub at: UnixMillis,
}

/// Output the journal did not keep: the bytes between the head and the
/// tail of one host's step (see `output_cap`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TruncationRecord {
    pub host: HostIndex,
    pub step: StepIndex,
    pub cap_bytes: u64,
    pub dropped_bytes: u64,
    /// Chunks dropped whole.
    pub dropped_chunks: u64,
    pub first_dropped_at: UnixMillis,
    pub last_dropped_at: UnixMillis,
    /// The output id after which the dropped bytes were (0: before the
    /// step's first row); `None`: after its last row (an older jobdeck,
    /// which kept the first bytes only).
    pub cut_after: Option<i64>,
    /// Line ends among the dropped bytes; `None`: not counted (an older jobdeck).
    pub dropped_lines: Option<u64>,
}

impl TruncationRecord {
    /// What a reader shows in place of the dropped bytes.
    pub fn marker(&self) -> String {
        super::output_cap::marker(self.dropped_bytes, self.dropped_lines, self.cap_bytes)
    }
}

/// A step's cut marker and the output row it goes before (`None`: after
/// the step's last row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutMarker {
    pub before_id: Option<i64>,
    pub chunk: Chunk,
}

/// An instance with everything but its output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceDetail {
    pub instance: InstanceRecord,
    pub steps: Vec<String>,
    pub batches: Vec<BatchRecord>,
    pub hosts: Vec<HostRecord>,
    /// Ordered by host, step, attempt.
    pub step_results: Vec<StepResultRecord>,
    pub exports: Vec<ExportRecord>,
    pub truncations: Vec<TruncationRecord>,
}

/// One piece of output, exactly as the host sent it, or (`marker`) the
/// journal's note of output it did not keep at that place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub host: HostIndex,
    pub step: StepIndex,
    pub attempt: u32,
    pub at: UnixMillis,
    pub stream: Stream,
    pub data: Vec<u8>,
    /// Not output: the marker text of `TruncationRecord::marker`, a line.
    pub marker: bool,
}

/// One host's history as `for_each_host_item` walks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostItem {
    /// First: the instance's step names and the host's status (`None`: no such host).
    Start {
        steps: Vec<String>,
        status: Option<HostStatus>,
    },
    /// A step attempt started; its outcome is filled in once it finished
    /// (`finished_at` set), else it still runs (or its end was never recorded).
    Attempt(StepResultRecord),
    Chunk(Chunk),
}

/// Where an interrupted or waiting rollout stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResumePoint {
    pub id: InstanceId,
    pub status: InstanceStatus,
    pub interrupted_from: Option<InstanceStatus>,
    /// The first batch that has not finished.
    pub next_batch: BatchIndex,
    pub wait_reason: Option<WaitReason>,
    /// When the interval being waited out ends (may be in the past).
    pub resume_at: Option<UnixMillis>,
    /// Hosts not yet done (pending, connecting, running or interrupted),
    /// grouped by batch in run order.
    pub remaining: Vec<(BatchIndex, Vec<HostIndex>)>,
}

/// Reads a TEXT column holding one of our snake_case names.
struct Named<T>(T);

macro_rules! named_from_sql {
    ($($ty:ty),+) => {$(
        impl FromSql for Named<$ty> {
            fn column_result(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
                let text = value.as_str()?;
                <$ty>::parse(text)
                    .map(Named)
                    .ok_or_else(|| FromSqlError::Other(format!("unknown status {text:?}").into()))
            }
        }
    )+};
}
named_from_sql!(HostStatus, InstanceStatus, Stream, WaitReason);

fn named<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    Named<T>: FromSql,
{
    Ok(row.get::<_, Named<T>>(idx)?.0)
}

fn opt_named<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<T>>
where
    Named<T>: FromSql,
{
    Ok(row.get::<_, Option<Named<T>>>(idx)?.map(|n| n.0))
}

fn json_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Value> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn json_map(row: &Row<'_>, idx: usize) -> rusqlite::Result<Map<String, Value>> {
    match json_col(row, idx)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

fn json_strings(row: &Row<'_>, idx: usize) -> rusqlite::Result<Vec<String>> {
    Ok(match json_col(row, idx)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    })
}

/// Host statuses counted as failures, as `HostStatus::is_failure` says.
fn failure_names() -> String {
    let names: Vec<&str> = HostStatus::ALL
        .iter()
        .filter(|s| s.is_failure())
        .map(|s| s.as_str())
        .collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned())
}

const INSTANCE_COLUMNS: &str = "id, flow, flow_snapshot, atom_hashes, params, secret_params, target, resolved_hosts,
    rollout, trigger, parent_id, os_user, status, created_at, started_at, finished_at,
    owner_pid, owner_host, owner_start, owner_boot, next_batch, wait_reason, resume_at, interrupted_from, reason";

fn instance_from_row(row: &Row<'_>) -> rusqlite::Result<InstanceRecord> {
    Ok(InstanceRecord {
        id: row.get(0)?,
        flow: row.get(1)?,
        flow_snapshot: row.get(2)?,
        atom_hashes: json_map(row, 3)?,
        params: json_map(row, 4)?,
        secret_params: json_strings(row, 5)?,
        target: json_col(row, 6)?,
        resolved_hosts: json_strings(row, 7)?,
        rollout: json_col(row, 8)?,
        trigger: row.get(9)?,
        parent: row.get(10)?,
        user: row.get(11)?,
        status: named(row, 12)?,
        created_at: row.get(13)?,
        started_at: row.get(14)?,
        finished_at: row.get(15)?,
        owner: super::owner::owner_from_row(row, 16)?,
        next_batch: row.get(20)?,
        wait_reason: opt_named(row, 21)?,
        resume_at: row.get(22)?,
        interrupted_from: opt_named(row, 23)?,
        reason: row.get(24)?,
    })
}

/// The ids of one history page, newest first: one statement per filter
/// shape, each naming the index that answers it without reading instance
/// rows (they are wide: the flow text, the host list). The flow-only and
/// status-only indexes are ordered by id, so those pages stop after `limit`
/// entries; the others scan the matching index range and keep the top ids.
fn page_ids_sql(filter: &InstanceFilter) -> String {
    let (index, mut conds) = match (
        filter.flow.is_some(),
        filter.status.is_some(),
        filter.since.is_some(),
    ) {
        (false, false, false) => ("", Vec::new()),
        (true, false, false) => ("INDEXED BY instances_by_flow", vec!["flow = :flow"]),
        (false, true, false) => ("INDEXED BY instances_by_status", vec!["status = :status"]),
        (true, true, _) => (
            "INDEXED BY instances_by_flow_status_created",
            vec!["flow = :flow", "status = :status"],
        ),
        (true, false, true) => ("INDEXED BY instances_by_flow_created", vec!["flow = :flow"]),
        (false, true, true) => (
            "INDEXED BY instances_by_status_created",
            vec!["status = :status"],
        ),
        (false, false, true) => ("INDEXED BY instances_by_created", Vec::new()),
    };
    if filter.since.is_some() {
        conds.push("created_at >= :since");
    }
    let conds = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    format!("SELECT id FROM instances {index} {conds} ORDER BY id DESC LIMIT :limit")
}

/// A history page: its ids (`page_ids_sql`), then those rows with their
/// host counts, read through the ids alone.
fn list_sql(filter: &InstanceFilter) -> String {
    format!(
        "WITH page(id) AS MATERIALIZED ({})
         SELECT i.id, i.flow, i.status, i.trigger, i.parent_id, i.os_user, i.created_at,
                i.started_at, i.finished_at, i.reason,
                (SELECT count(*) FROM hosts h WHERE h.instance_id = i.id),
                (SELECT count(*) FROM hosts h WHERE h.instance_id = i.id AND h.status = 'ok'),
                (SELECT count(*) FROM hosts h WHERE h.instance_id = i.id
                     AND h.status IN (SELECT value FROM json_each(:failures)))
         FROM page CROSS JOIN instances i ON i.id = page.id
         ORDER BY i.id DESC",
        page_ids_sql(filter)
    )
}

impl Journal {
    /// How many runs the journal holds, whatever a filter would pass.
    pub fn count_instances(&self) -> Result<usize, JournalError> {
        let count: i64 = self
            .conn
            .query_row("SELECT count(*) FROM instances", [], |row| row.get(0))?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// History, newest first. Fast on a journal of 100,000 runs whatever the
    /// filter (`benches/journal_history.rs`): the page's ids come from an
    /// index first, then only those rows are read and their hosts counted.
    pub fn list_instances(
        &self,
        filter: &InstanceFilter,
    ) -> Result<Vec<InstanceSummary>, JournalError> {
        let mut stmt = self.conn.prepare_cached(&list_sql(filter))?;
        let limit = filter
            .limit
            .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let failures = failure_names();
        let status = filter.status.map(|s| s.as_str());
        let mut bound: Vec<(&str, &dyn rusqlite::ToSql)> =
            vec![(":limit", &limit), (":failures", &failures)];
        if let Some(flow) = &filter.flow {
            bound.push((":flow", flow));
        }
        if let Some(status) = &status {
            bound.push((":status", status));
        }
        if let Some(since) = &filter.since {
            bound.push((":since", since));
        }
        let rows = stmt.query_map(bound.as_slice(), |row| {
            Ok(InstanceSummary {
                id: row.get(0)?,
                flow: row.get(1)?,
                status: named(row, 2)?,
                trigger: row.get(3)?,
                parent: row.get(4)?,
                user: row.get(5)?,
                created_at: row.get(6)?,
                started_at: row.get(7)?,
                finished_at: row.get(8)?,
                reason: row.get(9)?,
                hosts_total: row.get(10)?,
                hosts_ok: row.get(11)?,
                hosts_failed: row.get(12)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One instance with its steps, batches, hosts, step results, exported
    /// values and truncation markers; `None` if there is no such id.
    pub fn instance(&self, id: InstanceId) -> Result<Option<InstanceDetail>, JournalError> {
        let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = ?1");
        let Some(instance) = self
            .conn
            .query_row(&sql, [id], instance_from_row)
            .optional()?
        else {
            return Ok(None);
        };
        let conn = &self.conn;
        let steps = collect(
            conn,
            "SELECT name FROM steps WHERE instance_id = ?1 ORDER BY step_idx",
            id,
            |r| r.get(0),
        )?;
        let hosts = collect(
            conn,
            "SELECT host_idx, name, batch_idx, status, current_step, exit_code, started_at, finished_at, error
             FROM hosts WHERE instance_id = ?1 ORDER BY host_idx",
            id,
            |r| {
                Ok(HostRecord {
                    index: r.get(0)?,
                    name: r.get(1)?,
                    batch: r.get(2)?,
                    status: named(r, 3)?,
                    current_step: r.get(4)?,
                    exit_code: r.get(5)?,
                    started_at: r.get(6)?,
                    finished_at: r.get(7)?,
                    error: r.get(8)?,
                })
            },
        )?;
        let mut batches = collect(
            conn,
            "SELECT batch_idx, size, status, started_at, finished_at, ok, failed
             FROM batches WHERE instance_id = ?1 ORDER BY batch_idx",
            id,
            |r| {
                Ok(BatchRecord {
                    index: r.get(0)?,
                    size: r.get(1)?,
                    status: r.get(2)?,
                    started_at: r.get(3)?,
                    finished_at: r.get(4)?,
                    ok: r.get(5)?,
                    failed: r.get(6)?,
                    hosts: Vec::new(),
                })
            },
        )?;
        let members: Vec<(BatchIndex, HostIndex)> = collect(
            conn,
            "SELECT batch_idx, host_idx FROM hosts WHERE instance_id = ?1 AND batch_idx IS NOT NULL
             ORDER BY batch_idx, batch_pos",
            id,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for (b, host) in members {
            if let Some(batch) = batches.get_mut(b) {
                batch.hosts.push(host);
            }
        }
        let step_results = collect(
            conn,
            "SELECT host_idx, step_idx, attempt, status, exit_code, signal, started_at, finished_at, error
             FROM step_results WHERE instance_id = ?1 ORDER BY host_idx, step_idx, attempt",
            id,
            step_result_row,
        )?;
        let exports = collect(
            conn,
            "SELECT host_idx, step_idx, name, value, at FROM exports WHERE instance_id = ?1
             ORDER BY host_idx, step_idx, name",
            id,
            |r| {
                Ok(ExportRecord {
                    host: r.get(0)?,
                    step: r.get(1)?,
                    name: r.get(2)?,
                    value: r.get(3)?,
                    at: r.get(4)?,
                })
            },
        )?;
        let truncations = truncations_of(conn, id)?;
        Ok(Some(InstanceDetail {
            instance,
            steps,
            batches,
            hosts,
            step_results,
            exports,
            truncations,
        }))
    }

    pub fn host_index(
        &self,
        id: InstanceId,
        name: &str,
    ) -> Result<Option<HostIndex>, JournalError> {
        let sql = "SELECT host_idx FROM hosts WHERE instance_id = ?1 AND name = ?2";
        Ok(self
            .conn
            .query_row(sql, params![id, name], |r| r.get(0))
            .optional()?)
    }

    pub fn step_index(
        &self,
        id: InstanceId,
        name: &str,
    ) -> Result<Option<StepIndex>, JournalError> {
        let sql = "SELECT step_idx FROM steps WHERE instance_id = ?1 AND name = ?2";
        Ok(self
            .conn
            .query_row(sql, params![id, name], |r| r.get(0))
            .optional()?)
    }

    /// An instance's output in arrival order, optionally for one host and/or step.
    pub fn output(
        &self,
        id: InstanceId,
        host: Option<HostIndex>,
        step: Option<StepIndex>,
    ) -> Result<Vec<Chunk>, JournalError> {
        let mut chunks = Vec::new();
        self.for_each_output(id, host, step, |chunk| chunks.push(chunk))?;
        Ok(chunks)
    }

    /// Like `output`, one chunk at a time, for replaying large outputs.
    /// Where the journal dropped output, a marker chunk stands in its place.
    pub fn for_each_output(
        &self,
        id: InstanceId,
        host: Option<HostIndex>,
        step: Option<StepIndex>,
        mut each: impl FnMut(Chunk),
    ) -> Result<(), JournalError> {
        // One read transaction: the markers' places and the rows agree.
        let tx = self.conn.unchecked_transaction()?;
        walk_output(&tx, id, host, step, |chunk| {
            each(chunk);
            true
        })
    }

    /// Each host's step whose output the journal cut, with its marker and
    /// where it goes; narrowed like `for_each_output`.
    pub fn cut_markers(
        &self,
        id: InstanceId,
        host: Option<HostIndex>,
        step: Option<StepIndex>,
    ) -> Result<Vec<CutMarker>, JournalError> {
        cut_markers_in(&self.conn, id, host, step)
    }

    /// One host's step attempts and output in the order they happened,
    /// from one snapshot of the journal (a live writer may be adding to it):
    /// `Start`, then each attempt before its first chunk. Attempts run in
    /// the order they started (ties: step, then attempt). `each` returns
    /// false to stop early.
    pub fn for_each_host_item(
        &self,
        id: InstanceId,
        host: HostIndex,
        mut each: impl FnMut(HostItem) -> bool,
    ) -> Result<(), JournalError> {
        // A read transaction: attempts and chunks agree with each other.
        let tx = self.conn.unchecked_transaction()?;
        let steps: Vec<String> = collect(
            &tx,
            "SELECT name FROM steps WHERE instance_id = ?1 ORDER BY step_idx",
            id,
            |r| r.get(0),
        )?;
        let status = tx
            .prepare_cached("SELECT status FROM hosts WHERE instance_id = ?1 AND host_idx = ?2")?
            .query_row(params![id, host], |r| named(r, 0))
            .optional()?;
        if !each(HostItem::Start { steps, status }) {
            return Ok(());
        }
        let attempts: Vec<StepResultRecord> = tx
            .prepare_cached(
                "SELECT host_idx, step_idx, attempt, status, exit_code, signal, started_at, finished_at, error
                 FROM step_results WHERE instance_id = ?1 AND host_idx = ?2
                 ORDER BY started_at IS NULL, started_at, step_idx, attempt",
            )?
            .query_map(params![id, host], step_result_row)?
            .collect::<Result<_, _>>()?;
        let mut next = 0;
        let mut go_on = true;
        walk_output(&tx, id, Some(host), None, |chunk| {
            // The attempts up to the one this chunk belongs to come first;
            // a chunk of no known attempt is passed on where it is.
            let owner = attempts[next..]
                .iter()
                .position(|a| (a.step, a.attempt) == (chunk.step, chunk.attempt));
            if let Some(offset) = owner {
                for attempt in &attempts[next..=next + offset] {
                    go_on = go_on && each(HostItem::Attempt(attempt.clone()));
                }
                next += offset + 1;
            }
            go_on = go_on && each(HostItem::Chunk(chunk));
            go_on
        })?;
        if go_on {
            for attempt in &attempts[next..] {
                if !each(HostItem::Attempt(attempt.clone())) {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The script body an atom hash refers to.
    pub fn atom_body(&self, sha256: &str) -> Result<Option<Vec<u8>>, JournalError> {
        let sql = "SELECT body FROM atoms WHERE sha256 = ?1";
        Ok(self
            .conn
            .query_row(sql, [sha256], |r| r.get(0))
            .optional()?)
    }

    /// What a resume would run. Read-only: `claim_for_resume` takes the
    /// instance over and returns the same.
    pub fn resume_point(&self, id: InstanceId) -> Result<ResumePoint, JournalError> {
        resume_point_in(&self.conn, id)
    }

    /// Instances that recovery interrupted while they were waiting out an
    /// interval: a scheduler can resume these on its own (issue 5's durable
    /// rollouts), while ones cut off mid-batch wait for an operator.
    pub fn interrupted_while_waiting(&self) -> Result<Vec<ResumePoint>, JournalError> {
        let ids: Vec<InstanceId> = self
            .conn
            .prepare_cached(
                "SELECT id FROM instances WHERE status = 'interrupted' AND interrupted_from = 'waiting'
                     AND wait_reason = 'interval' ORDER BY id",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter().map(|id| self.resume_point(id)).collect()
    }

    /// The whole instance as JSON: the record, steps, batches, hosts, step
    /// results, exports, truncations, atom bodies and every output chunk
    /// (as `text` when it is UTF-8, else as `hex`).
    pub fn export_instance(&self, id: InstanceId) -> Result<Value, JournalError> {
        let detail = self.instance(id)?.ok_or(JournalError::NoSuchInstance(id))?;
        let mut atoms = Map::new();
        for (name, hash) in &detail.instance.atom_hashes {
            let Some(hash) = hash.as_str() else { continue };
            let body = self.atom_body(hash)?;
            atoms.insert(
                name.clone(),
                json!({ "sha256": hash, "body": body.map(|b| String::from_utf8_lossy(&b).into_owned()) }),
            );
        }
        let mut output = Vec::new();
        self.for_each_output(id, None, None, |c| {
            let mut chunk = json!({
                "host": c.host, "step": c.step, "attempt": c.attempt, "at": c.at, "stream": c.stream,
            });
            if c.marker {
                chunk["marker"] = Value::Bool(true);
            }
            match std::str::from_utf8(&c.data) {
                Ok(text) => chunk["text"] = Value::String(text.to_owned()),
                Err(_) => chunk["hex"] = Value::String(hex(&c.data)),
            }
            output.push(chunk);
        })?;
        let mut value = serde_json::to_value(&detail)?;
        value["atoms"] = Value::Object(atoms);
        value["output"] = Value::Array(output);
        let guardrails = self.guardrails(id)?;
        value["guard_hits"] = serde_json::to_value(&guardrails.guard_hits)?;
        value["preflight"] = serde_json::to_value(&guardrails.preflight)?;
        value["notifications"] = serde_json::to_value(&guardrails.notifications)?;
        Ok(value)
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An `output` row selected as host_idx, step_idx, attempt, at, stream,
/// data, starting at column `first`.
fn chunk_row(r: &Row<'_>, first: usize) -> rusqlite::Result<Chunk> {
    Ok(Chunk {
        host: r.get(first)?,
        step: r.get(first + 1)?,
        attempt: r.get(first + 2)?,
        at: r.get(first + 3)?,
        stream: named(r, first + 4)?,
        data: r.get(first + 5)?,
        marker: false,
    })
}

/// An instance's output rows in order, each cut marker before the row
/// that follows the bytes it stands for; `each` returns false to stop.
fn walk_output(
    conn: &Connection,
    id: InstanceId,
    host: Option<HostIndex>,
    step: Option<StepIndex>,
    mut each: impl FnMut(Chunk) -> bool,
) -> Result<(), JournalError> {
    const COLUMNS: &str = "SELECT id, host_idx, step_idx, attempt, at, stream, data FROM output WHERE instance_id = ?1";
    // One fixed statement per filter shape so each uses the index fully.
    let sql = match (host.is_some(), step.is_some()) {
        (true, true) => format!("{COLUMNS} AND host_idx = ?2 AND step_idx = ?3 ORDER BY id"),
        (true, false) => format!("{COLUMNS} AND host_idx = ?2 AND ?3 IS NULL ORDER BY id"),
        (false, true) => format!("{COLUMNS} AND ?2 IS NULL AND step_idx = ?3 ORDER BY id"),
        (false, false) => format!("{COLUMNS} AND ?2 IS NULL AND ?3 IS NULL ORDER BY id"),
    };
    let mut markers = Markers::new(cut_markers_in(conn, id, host, step)?);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id, host.map(to_i64), step.map(to_i64)])?;
    while let Some(r) = rows.next()? {
        if let Some(marker) = markers.before(r.get(0)?)
            && !each(marker)
        {
            return Ok(());
        }
        if !each(chunk_row(r, 1)?) {
            return Ok(());
        }
    }
    while let Some(marker) = markers.next_unplaced() {
        if !each(marker) {
            return Ok(());
        }
    }
    Ok(())
}

/// An instance's truncations that dropped something.
fn truncations_of(conn: &Connection, id: InstanceId) -> rusqlite::Result<Vec<TruncationRecord>> {
    collect(
        conn,
        &format!(
            "{TRUNCATION_COLUMNS} WHERE instance_id = ?1 AND dropped_bytes > 0 ORDER BY host_idx, step_idx"
        ),
        id,
        truncation_row,
    )
}

fn cut_markers_in(
    conn: &Connection,
    id: InstanceId,
    host: Option<HostIndex>,
    step: Option<StepIndex>,
) -> Result<Vec<CutMarker>, JournalError> {
    let cuts = truncations_of(conn, id)?;
    let mut next_row = conn.prepare_cached(
        "SELECT id, attempt FROM output WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3 AND id > ?4
         ORDER BY id LIMIT 1",
    )?;
    let mut last_attempt = conn.prepare_cached(
        "SELECT COALESCE(max(attempt), 1) FROM output WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3",
    )?;
    let mut markers = Vec::new();
    for cut in cuts
        .into_iter()
        .filter(|c| host.is_none_or(|h| h == c.host) && step.is_none_or(|s| s == c.step))
    {
        let before: Option<(i64, u32)> = match cut.cut_after {
            Some(after) => next_row
                .query_row(params![id, cut.host, cut.step, after], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?,
            None => None,
        };
        let attempt = match before {
            Some((_, attempt)) => attempt,
            None => last_attempt.query_row(params![id, cut.host, cut.step], |r| r.get(0))?,
        };
        let mut text = cut.marker();
        text.push('\n');
        markers.push(CutMarker {
            before_id: before.map(|(row, _)| row),
            chunk: Chunk {
                host: cut.host,
                step: cut.step,
                attempt,
                at: cut.first_dropped_at,
                stream: Stream::Stdout,
                data: text.into_bytes(),
                marker: true,
            },
        });
    }
    Ok(markers)
}

/// Cut markers waiting for their place in a walk over output rows.
struct Markers {
    waiting: Vec<CutMarker>,
}

impl Markers {
    fn new(markers: Vec<CutMarker>) -> Markers {
        Markers { waiting: markers }
    }

    /// The marker that goes before the row `id`, if any.
    fn before(&mut self, id: i64) -> Option<Chunk> {
        let at = self.waiting.iter().position(|m| m.before_id == Some(id))?;
        Some(self.waiting.remove(at).chunk)
    }

    /// The next marker that goes after every row (they are not placed).
    fn next_unplaced(&mut self) -> Option<Chunk> {
        (!self.waiting.is_empty()).then(|| self.waiting.remove(0).chunk)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn collect<T>(
    conn: &Connection,
    sql: &str,
    id: InstanceId,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([id], map)?;
    rows.collect()
}

pub(crate) fn resume_point_in(
    conn: &Connection,
    id: InstanceId,
) -> Result<ResumePoint, JournalError> {
    let row = conn
        .query_row(
            "SELECT status, interrupted_from, next_batch, wait_reason, resume_at FROM instances WHERE id = ?1",
            [id],
            |r| {
                Ok(ResumePoint {
                    id,
                    status: named(r, 0)?,
                    interrupted_from: opt_named(r, 1)?,
                    next_batch: r.get(2)?,
                    wait_reason: opt_named(r, 3)?,
                    resume_at: r.get(4)?,
                    remaining: Vec::new(),
                })
            },
        )
        .optional()?;
    let mut point = row.ok_or(JournalError::NoSuchInstance(id))?;
    let not_done: Vec<(Option<BatchIndex>, HostIndex)> = collect(
        conn,
        "SELECT batch_idx, host_idx FROM hosts
         WHERE instance_id = ?1 AND status IN ('pending', 'connecting', 'running', 'interrupted')
         ORDER BY batch_idx, batch_pos, host_idx",
        id,
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    for (batch, host) in not_done {
        let batch = batch.unwrap_or(point.next_batch);
        match point.remaining.last_mut() {
            Some((b, hosts)) if *b == batch => hosts.push(host),
            _ => point.remaining.push((batch, vec![host])),
        }
    }
    Ok(point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::{Event, EventKind, StepOutcome};
    use crate::journal::{JournalWriter, NewInstance, Trigger, WriterOptions};

    fn outcome(status: HostStatus, code: i32) -> StepOutcome {
        StepOutcome {
            status,
            exit_code: Some(code),
            signal: None,
            error: None,
        }
    }

    fn items_of(journal: &Journal, id: InstanceId, host: HostIndex) -> Vec<String> {
        let mut seen = Vec::new();
        journal
            .for_each_host_item(id, host, |item| {
                seen.push(match item {
                    HostItem::Start { steps, status } => format!("start {steps:?} {status:?}"),
                    HostItem::Attempt(a) => format!(
                        "attempt {}.{} {} {}",
                        a.step,
                        a.attempt,
                        a.status,
                        a.finished_at.is_some()
                    ),
                    HostItem::Chunk(c) => format!(
                        "chunk {}.{} {}",
                        c.step,
                        c.attempt,
                        String::from_utf8_lossy(&c.data)
                    ),
                });
                true
            })
            .unwrap();
        seen
    }

    /// Every history filter shape is answered through an index: no plan
    /// step reads the instances table (its rows are wide, so that costs
    /// seconds on 100,000 runs) to check a filter.
    #[test]
    fn every_history_filter_uses_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path().join("j.db")).unwrap();
        for shape in 0..8u8 {
            let filter = InstanceFilter {
                flow: (shape & 1 != 0).then(|| "deploy".to_owned()),
                status: (shape & 2 != 0).then_some(InstanceStatus::Failed),
                since: (shape & 4 != 0).then_some(1_700_000_000_000),
                limit: Some(20),
            };
            let sql = format!("EXPLAIN QUERY PLAN {}", list_sql(&filter));
            let mut stmt = journal.connection().prepare(&sql).unwrap();
            // Unbound parameters are NULL: the plan is the same.
            let mut rows = stmt.raw_query();
            let mut plan = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                plan.push(row.get::<_, String>(3).unwrap());
            }
            for step in &plan {
                let full_scan = step.starts_with("SCAN") && !step.contains("INDEX");
                // Unfiltered, the newest ids are the last rowids: a scan
                // from the end that stops after `limit` rows.
                let allowed = step == "SCAN page" || (shape == 0 && step == "SCAN instances");
                assert!(!full_scan || allowed, "{filter:?}: {step} in {plan:#?}");
                if step.contains(" instances ") && step.contains("INDEX") {
                    assert!(step.contains("COVERING INDEX"), "{filter:?}: {step}");
                }
            }
            // The limit holds and the shapes all run.
            assert!(journal.list_instances(&filter).unwrap().is_empty());
        }
    }

    #[test]
    fn a_hosts_items_come_in_the_order_they_happened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let mut journal = Journal::open(&path).unwrap();
        let id = journal
            .create_instance(&NewInstance {
                flow: "f".into(),
                flow_snapshot: "name: f\n".into(),
                hosts: vec!["a".into(), "b".into()],
                trigger: Trigger::Cli,
                ..NewInstance::default()
            })
            .unwrap();
        let (sink, writer) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
        let mut at = 1_000;
        let mut send = |kind: EventKind| {
            at += 1;
            sink.blocking_send(Event {
                instance: id,
                at,
                kind,
            })
            .unwrap();
        };
        let out = |host: usize, step: usize, text: &str| EventKind::Output {
            host,
            step,
            stream: Stream::Stdout,
            data: bytes::Bytes::copy_from_slice(text.as_bytes()),
        };
        send(EventKind::InstanceStarted {
            flow: "f".into(),
            hosts: vec!["a".into(), "b".into()],
            steps: vec!["one".into(), "two".into()],
            batches: vec![vec![0, 1]],
        });
        for (step, attempt) in [(0, 1), (0, 2), (1, 1)] {
            send(EventKind::StepStarted {
                host: 0,
                step,
                attempt,
            });
            // Another host's output in between is not this host's.
            send(out(1, 0, "other"));
            if attempt == 1 {
                send(out(0, step, &format!("s{step}a{attempt}")));
            }
            let status = if (step, attempt) == (0, 1) {
                HostStatus::Failed
            } else {
                HostStatus::Ok
            };
            if step == 0 {
                send(EventKind::StepFinished {
                    host: 0,
                    step,
                    attempt,
                    outcome: outcome(status, 0),
                });
            }
        }
        sink.blocking_flush().unwrap();
        assert_eq!(
            items_of(&journal, id, 0),
            [
                "start [\"one\", \"two\"] Some(Running)",
                "attempt 0.1 failed true",
                "chunk 0.1 s0a1",
                "attempt 0.2 ok true",
                "attempt 1.1 running false",
                "chunk 1.1 s1a1",
            ]
        );
        // Stopping early stops.
        let mut count = 0;
        journal
            .for_each_host_item(id, 0, |_| {
                count += 1;
                count < 2
            })
            .unwrap();
        assert_eq!(count, 2);
        // No such host: a start without a status, nothing else.
        assert_eq!(items_of(&journal, id, 9), ["start [\"one\", \"two\"] None"]);
        drop(sink);
        writer.join().unwrap();
    }
}
