//! Deleting finished runs: which ones (a [`PrunePolicy`]), and how, so that
//! live runs writing to the same journal never wait long.
//!
//! - Only finished runs go (`ok`, `failed`, `aborted`): never a running,
//!   waiting, paused or interrupted one, and never the last run of a
//!   schedule that still exists.
//! - A run goes with everything hanging off it: its output first, in
//!   batches, then its hosts (their step results, exported values and
//!   truncation markers follow by `ON DELETE CASCADE`), then the instance
//!   row, whose cascade takes its steps, batches and any later table that
//!   references instances the same way.
//! - Each batch is one short `BEGIN IMMEDIATE` transaction. Batches grow or
//!   shrink to stay near `PruneOptions::batch_target`, and a pause between
//!   them lets a waiting writer in: SQLite's busy handler retries at most
//!   25 ms apart during its first 200 ms of waiting, so a pause of 25 ms is
//!   always seen. The longest lock held is reported.
//! - The audit rows of shell sessions (`shell_sessions`) go by age alone,
//!   and only under the rule for every run (`--older-than` without
//!   `--flow`, or retention's `days`): a session that ended longer ago than
//!   that goes; keep-last and flow rules never touch them.
//! - A prune stopped part-way leaves the run it was deleting without some
//!   of its output; the next prune finishes it.
//! - Space: with `auto_vacuum=INCREMENTAL` the freed pages are handed back
//!   to the file system by `PRAGMA incremental_vacuum`, in batches as well.
//!   A journal created before that mode was the default is converted by a
//!   `VACUUM` on a prune that asks for it (`convert`) while no run is live:
//!   that one statement holds the journal for as long as it takes.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

use super::instance::Trigger;
use super::stats::file_stats;
use super::{BUSY_TIMEOUT, Journal, JournalError};
use crate::engine::events::{InstanceId, UnixMillis};

/// The statuses a run can be pruned in.
pub const PRUNABLE_STATUSES: [&str; 3] = ["ok", "failed", "aborted"];
const PRUNABLE_SQL: &str = "('ok', 'failed', 'aborted')";
/// A prune checkpoints the write-ahead log itself, this often (in write
/// transactions): about every half second, so the log stays a few MB.
const CHECKPOINT_EVERY: u64 = 16;

/// How long runs are kept: by age, and a number of newest runs kept anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Rule {
    /// Finished runs that ended longer ago than this go; `None`: any age.
    pub older_than: Option<Duration>,
    /// The newest this many runs of the group (a flow, or a schedule's
    /// runs) stay, whatever their age.
    pub keep_last: usize,
}

/// Which finished runs a prune deletes. A run follows the most specific
/// rule that names it: its schedule's, else its flow's, else the default.
/// Keep-last counts a schedule's runs for a schedule rule, else the runs of
/// the flow.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PrunePolicy {
    /// For runs no other rule names; `None` keeps them.
    pub default: Option<Rule>,
    /// By flow name.
    pub flows: BTreeMap<String, Rule>,
    /// By schedule id: the runs that schedule fired.
    pub schedules: BTreeMap<i64, Rule>,
}

impl PrunePolicy {
    /// One rule for every run.
    pub fn everything(rule: Rule) -> PrunePolicy {
        PrunePolicy {
            default: Some(rule),
            ..PrunePolicy::default()
        }
    }

    /// One rule for the runs of one flow; other runs are kept.
    pub fn flow(name: &str, rule: Rule) -> PrunePolicy {
        PrunePolicy {
            flows: BTreeMap::from([(name.to_owned(), rule)]),
            ..PrunePolicy::default()
        }
    }
}

/// How a prune goes about it.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Write transactions aim to be this short.
    pub batch_target: Duration,
    /// The pause after each write transaction, for writers that wait.
    pub pause: Duration,
    /// Count what would go; change nothing.
    pub dry_run: bool,
    /// Convert a journal without incremental auto-vacuum (one `VACUUM`)
    /// when no run is live.
    pub convert: bool,
    /// Set from another thread to stop between two batches.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for PruneOptions {
    fn default() -> PruneOptions {
        PruneOptions {
            batch_target: Duration::from_millis(20),
            pause: Duration::from_millis(25),
            dry_run: false,
            convert: false,
            cancel: None,
        }
    }
}

/// What happened to the space the deleted runs used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SpaceOutcome {
    /// Dry run: nothing changed.
    Unchanged,
    /// Free pages were handed back to the file system.
    Returned { pages: u64 },
    /// The journal was converted to incremental auto-vacuum by a `VACUUM`,
    /// which also gave back every free page.
    Converted {
        #[serde(rename = "took_ms", serialize_with = "as_millis")]
        took: Duration,
    },
    /// The journal is not in incremental mode, so freed pages stay in the
    /// file (new runs reuse them); `why` says why it was not converted.
    Kept { pages: u64, why: String },
}

/// What a prune did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    /// Runs deleted (dry: selected).
    pub runs: u64,
    pub by_flow: BTreeMap<String, u64>,
    pub hosts: u64,
    pub output_chunks: u64,
    /// Audit rows of shell sessions deleted (dry: selected).
    pub shell_sessions: u64,
    /// Counted on a dry run only (a real prune does not read the output).
    pub output_bytes: Option<u64>,
    /// The database's size before and after (pages × page size).
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub space: SpaceOutcome,
    pub transactions: u64,
    /// The longest a write lock was held by one batch (the conversion's
    /// `VACUUM`, if any, is in `space`).
    #[serde(rename = "longest_lock_ms", serialize_with = "as_millis")]
    pub longest_lock: Duration,
    /// Stopped by `cancel` before the end.
    pub stopped_early: bool,
    #[serde(rename = "elapsed_ms", serialize_with = "as_millis")]
    pub elapsed: Duration,
}

impl PruneReport {
    /// `deploy 75, health 75`: runs by flow, names cleaned of control
    /// characters and quoted when they hold spaces.
    pub fn flows_text(&self) -> String {
        let flows: Vec<String> = self
            .by_flow
            .iter()
            .map(|(flow, n)| {
                let name = crate::report::sanitize::one_line(flow);
                if name.is_empty() || name.contains(char::is_whitespace) {
                    format!("{name:?} {n}")
                } else {
                    format!("{name} {n}")
                }
            })
            .collect();
        flows.join(", ")
    }
}

/// Durations in JSON: milliseconds, fractional.
fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// One instance as the selection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    pub id: InstanceId,
    pub flow: String,
    pub trigger: String,
    pub status: String,
    /// When it finished (or was created, if it never recorded an end).
    pub ended: UnixMillis,
}

/// The runs `policy` deletes, oldest first. `schedules` are the ids of the
/// schedules that exist: each one's newest run is kept.
pub fn select(
    rows: &[RunRow],
    policy: &PrunePolicy,
    schedules: &HashSet<i64>,
    now: UnixMillis,
) -> Vec<InstanceId> {
    let mut newest_first: Vec<&RunRow> = rows.iter().collect();
    newest_first.sort_by_key(|r| std::cmp::Reverse(r.id));
    let mut seen_in_flow: HashMap<&str, usize> = HashMap::new();
    let mut seen_of_schedule: HashMap<i64, usize> = HashMap::new();
    let mut chosen = Vec::new();
    for row in newest_first {
        let schedule = match row.trigger.parse::<Trigger>() {
            Ok(Trigger::Schedule(id)) => Some(id),
            _ => None,
        };
        let flow_rank = bump(&mut seen_in_flow, row.flow.as_str());
        let schedule_rank = schedule.map(|id| bump(&mut seen_of_schedule, id));
        let (rule, rank) = match schedule.and_then(|id| policy.schedules.get(&id)) {
            Some(rule) => (rule, schedule_rank.unwrap_or(0)),
            None => match policy.flows.get(&row.flow).or(policy.default.as_ref()) {
                Some(rule) => (rule, flow_rank),
                None => continue,
            },
        };
        let last_of_schedule =
            schedule_rank == Some(0) && schedule.is_some_and(|id| schedules.contains(&id));
        let old_enough = rule.older_than.is_none_or(|age| {
            let age = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
            row.ended < now.saturating_sub(age)
        });
        if PRUNABLE_STATUSES.contains(&row.status.as_str())
            && !last_of_schedule
            && rank >= rule.keep_last
            && old_enough
        {
            chosen.push(row.id);
        }
    }
    chosen.reverse();
    chosen
}

/// Counts one more member of `key`'s group; returns how many came before.
fn bump<K: std::hash::Hash + Eq>(seen: &mut HashMap<K, usize>, key: K) -> usize {
    let count = seen.entry(key).or_default();
    *count += 1;
    *count - 1
}

/// Runs write transactions of an adaptive size and keeps the lock times.
struct Batcher {
    /// Units of work (rows, pages) per transaction.
    size: usize,
    min: usize,
    max: usize,
    target: Duration,
    pause: Duration,
    transactions: u64,
    longest: Duration,
}

impl Batcher {
    fn new(start: usize, min: usize, max: usize, options: &PruneOptions) -> Batcher {
        Batcher {
            size: start,
            min,
            max,
            target: options.batch_target,
            pause: options.pause,
            transactions: 0,
            longest: Duration::ZERO,
        }
    }

    /// `work` gets the transaction and how many units to do at most.
    fn run<T>(
        &mut self,
        conn: &mut Connection,
        work: impl FnOnce(&Transaction<'_>, usize) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        if self.transactions > 0 && !self.pause.is_zero() {
            std::thread::sleep(self.pause);
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The lock is ours from here to the end of the commit.
        let held = Instant::now();
        let out = work(&tx, self.size)?;
        tx.commit()?;
        let held = held.elapsed();
        self.transactions += 1;
        self.longest = self.longest.max(held);
        if held > self.target {
            self.size = (self.size / 2).max(self.min);
        } else if held < self.target / 2 {
            self.size = (self.size * 2).min(self.max);
        }
        Ok(out)
    }
}

/// Where the deletion of the current run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Not yet checked: is it still there and finished?
    Check,
    Output,
    Hosts,
    Instance,
}

/// The runs still to delete, and how far the first one has gone.
#[derive(Debug)]
struct Deletion {
    queue: VecDeque<InstanceId>,
    stage: Stage,
}

/// What one batch deleted.
#[derive(Debug, Default)]
struct Progress {
    output_chunks: u64,
    hosts: u64,
    /// Runs whose instance row went.
    runs: Vec<InstanceId>,
}

const DELETE_OUTPUT: &str = "DELETE FROM output WHERE rowid IN
    (SELECT rowid FROM output WHERE instance_id = ?1 LIMIT ?2)";
/// Each host row takes its step results, exports and truncations along.
const DELETE_HOSTS: &str = "DELETE FROM hosts WHERE instance_id = ?1 AND host_idx IN
    (SELECT host_idx FROM hosts WHERE instance_id = ?1 LIMIT ?2)";

impl Deletion {
    /// Deletes up to `budget` rows inside `tx`, run after run.
    fn step(&mut self, tx: &Transaction<'_>, budget: usize) -> rusqlite::Result<Progress> {
        let mut progress = Progress::default();
        let mut left = budget;
        while left > 0 {
            let Some(&id) = self.queue.front() else { break };
            match self.stage {
                Stage::Check => {
                    let status: Option<String> = tx
                        .prepare_cached("SELECT status FROM instances WHERE id = ?1")?
                        .query_row([id], |r| r.get(0))
                        .optional()?;
                    let finished = status.is_some_and(|s| PRUNABLE_STATUSES.contains(&s.as_str()));
                    if finished {
                        self.stage = Stage::Output;
                    } else {
                        // Gone already (another prune), or not finished: skip it.
                        self.queue.pop_front();
                    }
                    left -= 1;
                }
                Stage::Output | Stage::Hosts => {
                    let (sql, then) = match self.stage {
                        Stage::Output => (DELETE_OUTPUT, Stage::Hosts),
                        _ => (DELETE_HOSTS, Stage::Instance),
                    };
                    let n = tx.prepare_cached(sql)?.execute(params![id, to_i64(left)])?;
                    match self.stage {
                        Stage::Output => progress.output_chunks += n as u64,
                        _ => progress.hosts += n as u64,
                    }
                    if n < left {
                        self.stage = then;
                    }
                    left = left.saturating_sub(n.max(1));
                }
                Stage::Instance => {
                    let sql =
                        format!("DELETE FROM instances WHERE id = ?1 AND status IN {PRUNABLE_SQL}");
                    if tx.prepare_cached(&sql)?.execute([id])? > 0 {
                        progress.runs.push(id);
                    }
                    self.queue.pop_front();
                    self.stage = Stage::Check;
                    left -= 1;
                }
            }
        }
        Ok(progress)
    }
}

/// When a shell session ended (or started, if it never recorded an end).
const SESSION_ENDED: &str = "coalesce(ended_at, started_at)";

/// Shell sessions that ended before this go: the age of the rule for every
/// run, if it has one.
fn sessions_cutoff(policy: &PrunePolicy, now: UnixMillis) -> Option<UnixMillis> {
    let age = policy.default.as_ref()?.older_than?;
    Some(now.saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX)))
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Journal {
    /// Reads every instance's flow, trigger, status and end from one index
    /// (no instance row is read), and the schedules that exist.
    fn prune_candidates(&self) -> Result<(Vec<RunRow>, HashSet<i64>), JournalError> {
        let tx = self.conn.unchecked_transaction()?;
        let rows = tx
            .prepare(
                "SELECT id, flow, trigger, status, coalesce(finished_at, created_at)
                 FROM instances INDEXED BY instances_by_flow_status_created",
            )?
            .query_map([], |r| {
                Ok(RunRow {
                    id: r.get(0)?,
                    flow: r.get(1)?,
                    trigger: r.get(2)?,
                    status: r.get(3)?,
                    ended: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let schedules = tx
            .prepare("SELECT id FROM schedules")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<HashSet<i64>>>()?;
        Ok((rows, schedules))
    }

    /// Deletes what `policy` selects at `now` (see the module docs).
    pub fn prune(
        &mut self,
        policy: &PrunePolicy,
        options: &PruneOptions,
        now: UnixMillis,
    ) -> Result<PruneReport, JournalError> {
        let started = Instant::now();
        let before = file_stats(&self.conn, &self.path)?;
        let (rows, schedules) = self.prune_candidates()?;
        let chosen = select(&rows, policy, &schedules, now);
        let flow_of: HashMap<InstanceId, &str> =
            rows.iter().map(|r| (r.id, r.flow.as_str())).collect();
        let mut report = PruneReport {
            dry_run: options.dry_run,
            runs: 0,
            by_flow: BTreeMap::new(),
            hosts: 0,
            output_chunks: 0,
            shell_sessions: 0,
            output_bytes: None,
            bytes_before: before.logical_bytes(),
            bytes_after: before.logical_bytes(),
            space: SpaceOutcome::Unchanged,
            transactions: 0,
            longest_lock: Duration::ZERO,
            stopped_early: false,
            elapsed: Duration::ZERO,
        };
        let mut count_flow = |report: &mut PruneReport, id: InstanceId| {
            report.runs += 1;
            let flow = flow_of.get(&id).copied().unwrap_or_default();
            *report.by_flow.entry(flow.to_owned()).or_default() += 1;
        };
        let sessions_before = sessions_cutoff(policy, now);
        if options.dry_run {
            self.count_dry(&chosen, &mut report, &mut count_flow)?;
            if let Some(cutoff) = sessions_before {
                report.shell_sessions = self.conn.query_row(
                    &format!("SELECT count(*) FROM shell_sessions WHERE {SESSION_ENDED} < ?1"),
                    [cutoff],
                    |r| r.get::<_, i64>(0),
                )? as u64;
            }
            report.elapsed = started.elapsed();
            return Ok(report);
        }

        // Our own checkpoints, outside the timed transactions.
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let result = self.delete_runs(chosen, options, &mut report, &mut count_flow);
        let result = result.and_then(|()| match sessions_before {
            Some(cutoff) if !report.stopped_early => {
                self.delete_shell_sessions(cutoff, options, &mut report)
            }
            _ => Ok(()),
        });
        let result = result.and_then(|()| {
            if report.stopped_early {
                Ok(())
            } else {
                self.give_space_back(options, &mut report)
            }
        });
        let restored = self.conn.pragma_update(None, "wal_autocheckpoint", 1000);
        result?;
        restored?;
        report.bytes_after = file_stats(&self.conn, &self.path)?.logical_bytes();
        report.elapsed = started.elapsed();
        Ok(report)
    }

    fn count_dry(
        &self,
        chosen: &[InstanceId],
        report: &mut PruneReport,
        count_flow: &mut impl FnMut(&mut PruneReport, InstanceId),
    ) -> Result<(), JournalError> {
        let tx = self.conn.unchecked_transaction()?;
        let mut hosts = tx.prepare("SELECT count(*) FROM hosts WHERE instance_id = ?1")?;
        let mut output =
            tx.prepare("SELECT count(*), total(length(data)) FROM output WHERE instance_id = ?1")?;
        let mut bytes = 0u64;
        for &id in chosen {
            count_flow(report, id);
            report.hosts += hosts.query_row([id], |r| r.get::<_, i64>(0))?.max(0) as u64;
            let (chunks, size) =
                output.query_row([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)))?;
            report.output_chunks += chunks.max(0) as u64;
            bytes += size.max(0.0) as u64;
        }
        report.output_bytes = Some(bytes);
        let stats = file_stats(&tx, &self.path)?;
        if stats.auto_vacuum != "incremental" {
            report.space = SpaceOutcome::Kept {
                pages: 0,
                why: "dry run; a prune with conversion turns incremental auto-vacuum on".into(),
            };
        }
        Ok(())
    }

    fn delete_runs(
        &mut self,
        chosen: Vec<InstanceId>,
        options: &PruneOptions,
        report: &mut PruneReport,
        count_flow: &mut impl FnMut(&mut PruneReport, InstanceId),
    ) -> Result<(), JournalError> {
        let mut deletion = Deletion {
            queue: chosen.into(),
            stage: Stage::Check,
        };
        // Even the smallest batch does real work: on a saturated machine, lock
        // times are mostly waiting for a CPU, and tiny batches would only crawl.
        let mut batcher = Batcher::new(512, 256, 65_536, options);
        let cancelled = || {
            options
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
        };
        while !deletion.queue.is_empty() {
            if cancelled() {
                report.stopped_early = true;
                break;
            }
            // An error ends the prune: the batch rolled back, nothing of it happened.
            let progress = batcher.run(&mut self.conn, |tx, budget| deletion.step(tx, budget))?;
            report.output_chunks += progress.output_chunks;
            report.hosts += progress.hosts;
            for id in progress.runs {
                count_flow(report, id);
            }
            self.checkpoint_now_and_then(&batcher)?;
        }
        report.transactions += batcher.transactions;
        report.longest_lock = report.longest_lock.max(batcher.longest);
        Ok(())
    }

    /// Deletes the audit rows of sessions that ended before `cutoff`, in
    /// batches like the runs.
    fn delete_shell_sessions(
        &mut self,
        cutoff: UnixMillis,
        options: &PruneOptions,
        report: &mut PruneReport,
    ) -> Result<(), JournalError> {
        let sql = format!(
            "DELETE FROM shell_sessions WHERE id IN
                (SELECT id FROM shell_sessions WHERE {SESSION_ENDED} < ?1 LIMIT ?2)"
        );
        let mut batcher = Batcher::new(512, 256, 65_536, options);
        loop {
            let deleted = batcher.run(&mut self.conn, |tx, budget| {
                tx.prepare_cached(&sql)?
                    .execute(params![cutoff, to_i64(budget)])
                    .map(|n| (n, budget))
            })?;
            report.shell_sessions += deleted.0 as u64;
            if deleted.0 < deleted.1 {
                break;
            }
        }
        report.transactions += batcher.transactions;
        report.longest_lock = report.longest_lock.max(batcher.longest);
        Ok(())
    }

    /// Every `CHECKPOINT_EVERY` transactions, a passive checkpoint (it never
    /// waits for anyone), as SQLite's automatic one would do inside the
    /// commit, but here outside the timed transactions.
    fn checkpoint_now_and_then(&self, batcher: &Batcher) -> rusqlite::Result<()> {
        if batcher.transactions.is_multiple_of(CHECKPOINT_EVERY) {
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// Hands free pages back (incremental mode), or converts the journal
    /// when asked and idle; then checkpoints so the file itself shrinks.
    fn give_space_back(
        &mut self,
        options: &PruneOptions,
        report: &mut PruneReport,
    ) -> Result<(), JournalError> {
        let stats = file_stats(&self.conn, &self.path)?;
        if stats.auto_vacuum == "incremental" {
            let mut batcher = Batcher::new(256, 64, 16_384, options);
            let mut free = stats.free_pages;
            let mut returned = 0;
            while free > 0 {
                batcher.run(&mut self.conn, |tx, pages| {
                    // A number we chose, not user input: PRAGMA takes no
                    // parameters. It frees one page per row it returns.
                    let mut stmt = tx.prepare(&format!("PRAGMA incremental_vacuum({pages})"))?;
                    let mut rows = stmt.query([])?;
                    while rows.next()?.is_some() {}
                    Ok(())
                })?;
                self.checkpoint_now_and_then(&batcher)?;
                let now_free = file_stats(&self.conn, &self.path)?.free_pages;
                if now_free >= free {
                    break; // others are freeing and using pages too; enough
                }
                returned += free - now_free;
                free = now_free;
            }
            report.transactions += batcher.transactions;
            report.longest_lock = report.longest_lock.max(batcher.longest);
            report.space = SpaceOutcome::Returned { pages: returned };
        } else if !options.convert {
            report.space = SpaceOutcome::Kept {
                pages: stats.free_pages,
                why: "the journal predates incremental auto-vacuum; `jobdeck journal prune` converts it while no run is live".into(),
            };
        } else if let Some(live) = self.live_runs()? {
            report.space = SpaceOutcome::Kept {
                pages: stats.free_pages,
                why: format!(
                    "not converted to incremental auto-vacuum while {live} run(s) are live; prune again when none is"
                ),
            };
        } else {
            let took = Instant::now();
            self.conn
                .execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")?;
            report.space = SpaceOutcome::Converted {
                took: took.elapsed(),
            };
        }
        // It keeps writers out while it runs: it counts as a lock held.
        let held = Instant::now();
        self.final_checkpoint()?;
        report.longest_lock = report.longest_lock.max(held.elapsed());
        Ok(())
    }

    /// How many runs are running, waiting or paused, if any.
    fn live_runs(&self) -> rusqlite::Result<Option<u64>> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM instances WHERE status IN ('running', 'waiting', 'paused')",
            [],
            |r| r.get(0),
        )?;
        Ok((n > 0).then_some(n as u64))
    }

    /// Copies the log into the file and truncates both. This checkpoint
    /// keeps new writers out while it waits for readers, so it waits at
    /// most 100 ms; if readers stay, a later checkpoint shrinks the file.
    fn final_checkpoint(&self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(Duration::from_millis(100))?;
        let result = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            });
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: InstanceId, flow: &str, trigger: &str, status: &str, age_days: i64) -> RunRow {
        RunRow {
            id,
            flow: flow.into(),
            trigger: trigger.into(),
            status: status.into(),
            ended: NOW - age_days * 86_400_000,
        }
    }

    const NOW: UnixMillis = 1_800_000_000_000;

    fn rule(days: u64, keep_last: usize) -> Rule {
        Rule {
            older_than: Some(Duration::from_secs(days * 86_400)),
            keep_last,
        }
    }

    /// A schedule's rule beats its flow's, which beats the default; each
    /// keep-last counts its own group.
    #[test]
    fn the_most_specific_rule_decides() {
        let rows = [
            row(1, "deploy", "cli", "ok", 50),
            row(2, "deploy", "schedule:7", "ok", 50),
            row(3, "deploy", "schedule:7", "ok", 50),
            row(4, "health", "cli", "failed", 50),
            row(5, "health", "cli", "ok", 50),
            row(6, "deploy", "schedule:7", "ok", 50),
            row(7, "other", "cli", "aborted", 50),
        ];
        let policy = PrunePolicy {
            default: Some(rule(30, 0)),
            flows: BTreeMap::from([("deploy".to_owned(), rule(365, 0))]),
            schedules: BTreeMap::from([(7, rule(10, 1))]),
        };
        let schedules = HashSet::from([7]);
        // deploy by cli: 365 days, kept; schedule 7: older than 10 days but
        // the newest one stays; health and other: the default.
        assert_eq!(select(&rows, &policy, &schedules, NOW), [2, 3, 4, 5, 7]);
        let only_flows = PrunePolicy {
            schedules: BTreeMap::new(),
            ..policy.clone()
        };
        assert_eq!(select(&rows, &only_flows, &schedules, NOW), [4, 5, 7]);
        // Count-only rules: keep the newest 1 of each flow, any age.
        let count_only = PrunePolicy::everything(Rule {
            older_than: None,
            keep_last: 1,
        });
        assert_eq!(
            select(&rows, &count_only, &HashSet::new(), NOW),
            [1, 2, 3, 4]
        );
        // Nothing for runs no rule names.
        assert!(select(&rows, &PrunePolicy::default(), &schedules, NOW).is_empty());
    }
}
