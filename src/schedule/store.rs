//! Schedules as the journal keeps them: the `schedules` table, the log of
//! what happened to each fire time (`schedule_fires`), and the fire-time
//! arithmetic a stored schedule needs (zone, end date, one-shot or cron).
//!
//! The store has its own connection to the journal file (same WAL set-up,
//! same migrations) so the scheduler thread never shares one with callers.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::crontab::{CronExpr, parse_zone};
use crate::engine::events::{InstanceId, InstanceStatus, UnixMillis};
use crate::journal::{JournalError, open_connection};

/// What happens when a fire time comes while an instance of the same
/// schedule is still running (or waiting, or paused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// The fire is dropped (and logged).
    #[default]
    Skip,
    /// The fire waits until the running instance ends; at most
    /// [`QUEUE_CAP`] fires wait, more are dropped.
    Queue,
    /// The fire starts a second instance alongside.
    Allow,
}

/// What happens to fire times that passed while no scheduler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// One run stands for all the missed fire times.
    #[default]
    Once,
    /// Every missed fire time runs, the latest [`CATCH_UP_CAP`] of them.
    All,
    /// Missed fire times are dropped; only on-time fires run.
    None,
}

/// `--catch-up all` runs at most this many missed fires; older ones are
/// logged as skipped, so a long downtime never floods the hosts.
pub const CATCH_UP_CAP: usize = 10;

/// `--overlap queue` keeps at most this many fires waiting.
pub const QUEUE_CAP: u32 = 10;

/// How many fire outcomes `schedule_fires` keeps per schedule.
const FIRE_LOG_KEEP: i64 = 200;

macro_rules! text_enum {
    ($ty:ty, $what:literal, $($variant:path => $text:literal),+) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($variant => $text),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                match text.trim() {
                    $($text => Ok($variant),)+
                    other => Err(format!(
                        concat!("unknown ", $what, " '{}': expected {}"),
                        other,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}
text_enum!(Overlap, "--overlap", Overlap::Skip => "skip", Overlap::Queue => "queue", Overlap::Allow => "allow");
text_enum!(CatchUp, "--catch-up", CatchUp::Once => "once", CatchUp::All => "all", CatchUp::None => "none");

/// When a schedule fires.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    Cron(CronExpr),
    /// Once, at this instant.
    At(DateTime<Utc>),
}

impl When {
    fn kind(&self) -> &'static str {
        match self {
            When::Cron(_) => "cron",
            When::At(_) => "at",
        }
    }

    fn stored_expr(&self) -> String {
        match self {
            When::Cron(expr) => expr.as_str().to_owned(),
            When::At(at) => at.to_rfc3339(),
        }
    }
}

/// The run a schedule starts: what `jobdeck --run FLOW` gets besides the
/// flow. Kept as JSON in `schedules.run_options`. Never holds a secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    /// `-i` sources, absolute when they are paths.
    pub inventory: Vec<String>,
    /// The directory `schedule add` ran in: relative `@file` patterns and
    /// the like resolve there, as they would have by hand.
    pub workdir: Option<String>,
    pub params: Vec<(String, String)>,
    pub limit: Option<String>,
    pub project: Option<String>,
    pub cluster: Option<String>,
    pub app: Option<String>,
    pub hosts: Vec<String>,
    pub batches: Option<String>,
    pub interval: Option<String>,
    pub mode: Option<String>,
    pub max_fail: Option<String>,
    pub forks: Option<usize>,
    pub order: Option<String>,
    pub timeout: Option<String>,
    pub connect_timeout: Option<String>,
    pub accept_new: bool,
    pub ssh_config: Option<String>,
    pub yes: bool,
    /// Pre-flight, --allow, the lock, nice/ionice, notifications.
    pub safety: crate::safety::SafetyOptions,
}

impl RunOptions {
    /// The command-line arguments that give a headless run these options
    /// (everything after `--run FLOW`, `-i` included).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut opt = |flag: &str, value: &Option<String>| {
            if let Some(v) = value {
                args.push(flag.to_owned());
                args.push(v.clone());
            }
        };
        opt("--limit", &self.limit);
        opt("--project", &self.project);
        opt("--cluster", &self.cluster);
        opt("--app", &self.app);
        opt("--batches", &self.batches);
        opt("--interval", &self.interval);
        opt("--mode", &self.mode);
        opt("--max-fail", &self.max_fail);
        opt("--forks", &self.forks.map(|n| n.to_string()));
        opt("--order", &self.order);
        opt("--timeout", &self.timeout);
        opt("--connect-timeout", &self.connect_timeout);
        opt("-F", &self.ssh_config);
        for source in &self.inventory {
            args.extend(["-i".to_owned(), source.clone()]);
        }
        if !self.hosts.is_empty() {
            args.extend(["--hosts".to_owned(), self.hosts.join(",")]);
        }
        for (name, value) in &self.params {
            args.extend(["--param".to_owned(), format!("{name}={value}")]);
        }
        if self.accept_new {
            args.push("--accept-new".to_owned());
        }
        if self.yes {
            args.push("--yes".to_owned());
        }
        args.extend(self.safety.to_args());
        args
    }
}

/// A schedule as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub id: i64,
    pub name: String,
    pub flow_path: PathBuf,
    pub flow_name: String,
    pub run: RunOptions,
    pub when: When,
    pub zone: Tz,
    pub until: Option<DateTime<Utc>>,
    pub overlap: Overlap,
    pub catch_up: CatchUp,
    pub paused: bool,
    pub created_at: DateTime<Utc>,
    /// `None`: nothing left to fire (a one-shot that ran, or past the end date).
    pub next_fire_at: Option<DateTime<Utc>>,
    pub last_fire_at: Option<DateTime<Utc>>,
    pub queued: u32,
    /// Why the last fire did not start a run (spawn failure, exit 2), if it did not.
    pub last_error: Option<String>,
    /// The log file of the last run the scheduler started.
    pub last_log: Option<String>,
}

/// The trigger text of instances this schedule starts.
pub fn trigger_of(schedule_id: i64) -> String {
    crate::journal::Trigger::Schedule(schedule_id).to_string()
}

impl Schedule {
    /// The first fire time strictly after `after`, within the end date.
    /// Cron times are found in the schedule's zone, so DST follows cronie
    /// there (see `crontab`).
    pub fn next_fire_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        next_fire(&self.when, self.zone, self.until, after)
    }

    /// `30 2 * * * (Europe/Berlin)` or `at 2026-12-01 02:00:00 CET`.
    pub fn describe_when(&self) -> String {
        match &self.when {
            When::Cron(expr) => format!("{} ({})", expr.as_str(), self.zone.name()),
            When::At(at) => format!(
                "at {}",
                at.with_timezone(&self.zone).format("%Y-%m-%d %H:%M:%S %Z")
            ),
        }
    }
}

pub fn next_fire(
    when: &When,
    zone: Tz,
    until: Option<DateTime<Utc>>,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let next = match when {
        When::Cron(expr) => expr
            .next_after(&after.with_timezone(&zone))
            .map(|t| t.with_timezone(&Utc)),
        When::At(at) => (*at > after).then_some(*at),
    }?;
    match until {
        Some(end) if next > end => None,
        _ => Some(next),
    }
}

/// A new schedule, validated by the caller (`schedule add`).
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub name: String,
    pub flow_path: PathBuf,
    pub flow_name: String,
    pub run: RunOptions,
    pub when: When,
    pub zone: Tz,
    pub until: Option<DateTime<Utc>>,
    pub overlap: Overlap,
    pub catch_up: CatchUp,
}

/// A schedule with its latest instance, for `schedule list` and `show`.
#[derive(Debug, Clone)]
pub struct ScheduleListing {
    pub schedule: Schedule,
    pub last_instance: Option<(InstanceId, InstanceStatus)>,
    pub running: usize,
}

/// A fire and the instance it started, when one is known.
pub type FireRun = (FireRecord, Option<(InstanceId, InstanceStatus)>);

/// One line of `schedule_fires`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FireRecord {
    pub due_at: UnixMillis,
    pub at: UnixMillis,
    pub outcome: String,
    pub detail: Option<String>,
    pub pid: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("journal: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("no schedule '{0}' in the journal (see `jobdeck schedule list`)")]
    NoSuchSchedule(String),
    #[error(
        "a schedule named '{name}' already exists (id {id}); pick another name or `schedule rm` it"
    )]
    NameTaken { name: String, id: i64 },
    #[error("schedule {id}: stored {what} is unreadable: {why}")]
    Corrupt {
        id: i64,
        what: &'static str,
        why: String,
    },
}

pub struct ScheduleStore {
    conn: Connection,
    path: PathBuf,
}

const SCHEDULE_COLUMNS: &str =
    "id, name, flow_path, flow_name, run_options, kind, expr, zone, until_at, overlap,
    catch_up, paused, created_at, next_fire_at, last_fire_at, queued, last_error, last_log";

fn to_millis(t: DateTime<Utc>) -> UnixMillis {
    t.timestamp_millis()
}

pub fn from_millis(ms: UnixMillis) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Reads one row; a value this jobdeck cannot read is reported with the
/// schedule id instead of failing the whole list.
fn schedule_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Schedule, StoreError>> {
    let id: i64 = row.get(0)?;
    let corrupt = |what: &'static str, why: String| StoreError::Corrupt { id, what, why };
    let run_text: String = row.get(4)?;
    let kind: String = row.get(5)?;
    let expr: String = row.get(6)?;
    let zone_text: String = row.get(7)?;
    let overlap: String = row.get(9)?;
    let catch_up: String = row.get(10)?;
    let built = (|| {
        let run: RunOptions =
            serde_json::from_str(&run_text).map_err(|e| corrupt("run options", e.to_string()))?;
        let zone = parse_zone(&zone_text).map_err(|e| corrupt("zone", e.to_string()))?;
        let when = match kind.as_str() {
            "cron" => When::Cron(
                CronExpr::parse(&expr).map_err(|e| corrupt("expression", e.to_string()))?,
            ),
            _ => When::At(
                DateTime::parse_from_rfc3339(&expr)
                    .map_err(|e| corrupt("time", e.to_string()))?
                    .with_timezone(&Utc),
            ),
        };
        Ok::<_, StoreError>((run, zone, when))
    })();
    let (run, zone, when) = match built {
        Ok(parts) => parts,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(Schedule {
        id,
        name: row.get(1)?,
        flow_path: PathBuf::from(row.get::<_, String>(2)?),
        flow_name: row.get(3)?,
        run,
        when,
        zone,
        until: row.get::<_, Option<i64>>(8)?.map(from_millis),
        overlap: overlap.parse().unwrap_or_default(),
        catch_up: catch_up.parse().unwrap_or_default(),
        paused: row.get(11)?,
        created_at: from_millis(row.get(12)?),
        next_fire_at: row.get::<_, Option<i64>>(13)?.map(from_millis),
        last_fire_at: row.get::<_, Option<i64>>(14)?.map(from_millis),
        queued: row.get(15)?,
        last_error: row.get(16)?,
        last_log: row.get(17)?,
    }))
}

/// Statuses of an instance that some process is still running.
pub const LIVE_STATUSES_SQL: &str = "('running', 'waiting', 'paused')";

impl ScheduleStore {
    pub fn open(path: impl AsRef<Path>) -> Result<ScheduleStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = open_connection(&path)?;
        Ok(ScheduleStore { conn, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Stores a schedule whose first fire after `now` is known; the caller
    /// checked that there is one.
    pub fn add(&mut self, new: &NewSchedule, now: DateTime<Utc>) -> Result<Schedule, StoreError> {
        let first = next_fire(&new.when, new.zone, new.until, now);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(id) = tx
            .query_row(
                "SELECT id FROM schedules WHERE name = ?1",
                [&new.name],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
        {
            return Err(StoreError::NameTaken {
                name: new.name.clone(),
                id,
            });
        }
        tx.execute(
            "INSERT INTO schedules (name, flow_path, flow_name, run_options, kind, expr, zone, until_at,
                 overlap, catch_up, created_at, next_fire_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                new.name,
                new.flow_path.to_string_lossy(),
                new.flow_name,
                serde_json::to_string(&new.run).map_err(JournalError::from)?,
                new.when.kind(),
                new.when.stored_expr(),
                new.zone.name(),
                new.until.map(to_millis),
                new.overlap.as_str(),
                new.catch_up.as_str(),
                to_millis(now),
                first.map(to_millis),
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        self.get(id)
    }

    /// Replaces what a schedule does and when (the console's edit form).
    /// The fire log, the last run and the paused flag stay; the next fire
    /// is found again from `now`, since the old one belonged to the old
    /// timing. Queued fires are dropped with the old timing too.
    pub fn update(
        &mut self,
        id: i64,
        new: &NewSchedule,
        now: DateTime<Utc>,
    ) -> Result<Schedule, StoreError> {
        let first = next_fire(&new.when, new.zone, new.until, now);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(other) = tx
            .query_row(
                "SELECT id FROM schedules WHERE name = ?1 AND id != ?2",
                params![new.name, id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
        {
            return Err(StoreError::NameTaken {
                name: new.name.clone(),
                id: other,
            });
        }
        let changed = tx.execute(
            "UPDATE schedules SET name = ?2, flow_path = ?3, flow_name = ?4, run_options = ?5,
                 kind = ?6, expr = ?7, zone = ?8, until_at = ?9, overlap = ?10, catch_up = ?11,
                 next_fire_at = ?12, queued = 0
             WHERE id = ?1",
            params![
                id,
                new.name,
                new.flow_path.to_string_lossy(),
                new.flow_name,
                serde_json::to_string(&new.run).map_err(JournalError::from)?,
                new.when.kind(),
                new.when.stored_expr(),
                new.zone.name(),
                new.until.map(to_millis),
                new.overlap.as_str(),
                new.catch_up.as_str(),
                first.map(to_millis),
            ],
        )?;
        if changed == 0 {
            return Err(StoreError::NoSuchSchedule(id.to_string()));
        }
        tx.commit()?;
        self.get(id)
    }

    pub fn get(&self, id: i64) -> Result<Schedule, StoreError> {
        let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = ?1");
        self.conn
            .query_row(&sql, [id], schedule_from_row)
            .optional()?
            .ok_or_else(|| StoreError::NoSuchSchedule(id.to_string()))?
    }

    /// A schedule by id, or by name when the text is not a number.
    pub fn find(&self, id_or_name: &str) -> Result<Schedule, StoreError> {
        let text = id_or_name.trim();
        let id = match text.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => self
                .conn
                .query_row("SELECT id FROM schedules WHERE name = ?1", [text], |r| {
                    r.get(0)
                })
                .optional()?,
        };
        match id {
            Some(id) => self.get(id).map_err(|e| match e {
                StoreError::NoSuchSchedule(_) => StoreError::NoSuchSchedule(text.to_owned()),
                other => other,
            }),
            None => Err(StoreError::NoSuchSchedule(text.to_owned())),
        }
    }

    /// Every schedule, by id; unreadable ones come back as errors in place.
    pub fn all(&self) -> Result<Vec<Result<Schedule, StoreError>>, StoreError> {
        let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY id");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], schedule_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every schedule with its latest instance and how many instances run.
    pub fn listing(&self) -> Result<Vec<Result<ScheduleListing, StoreError>>, StoreError> {
        let mut out = Vec::new();
        for schedule in self.all()? {
            out.push(match schedule {
                Ok(schedule) => Ok(ScheduleListing {
                    last_instance: self.last_instance(schedule.id)?,
                    running: self.live_instances(schedule.id)?,
                    schedule,
                }),
                Err(e) => Err(e),
            });
        }
        Ok(out)
    }

    pub fn last_instance(
        &self,
        schedule_id: i64,
    ) -> Result<Option<(InstanceId, InstanceStatus)>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT id, status FROM instances WHERE trigger = ?1 ORDER BY id DESC LIMIT 1",
            )?
            .query_row([trigger_of(schedule_id)], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?;
        Ok(row.map(|(id, status)| {
            (
                id,
                InstanceStatus::parse(&status).unwrap_or(InstanceStatus::Interrupted),
            )
        }))
    }

    /// Instances of this schedule that are running, waiting or paused.
    pub fn live_instances(&self, schedule_id: i64) -> Result<usize, StoreError> {
        let sql = format!(
            "SELECT count(*) FROM instances WHERE trigger = ?1 AND status IN {LIVE_STATUSES_SQL}"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([trigger_of(schedule_id)], |r| r.get(0))?)
    }

    /// The latest fire outcomes, newest first.
    pub fn fires(&self, schedule_id: i64, limit: usize) -> Result<Vec<FireRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT due_at, at, outcome, detail, pid FROM schedule_fires
             WHERE schedule_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![schedule_id, limit as i64], |r| {
            Ok(FireRecord {
                due_at: r.get(0)?,
                at: r.get(1)?,
                outcome: r.get(2)?,
                detail: r.get(3)?,
                pid: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest fires of a schedule, newest first, each `started` one with
    /// the instance it started. The fire log does not name the instance: an
    /// instance of this schedule created after a start (and before the next
    /// start) is taken to be its run, in order.
    pub fn fires_with_runs(
        &self,
        schedule_id: i64,
        limit: usize,
    ) -> Result<Vec<FireRun>, StoreError> {
        let mut fires = self.fires(schedule_id, limit)?;
        fires.reverse(); // oldest first, to pair with instances in order
        let mut instances: Vec<(InstanceId, InstanceStatus, i64)> = Vec::new();
        if let Some(oldest) = fires.iter().map(|f| f.at).min() {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, status, created_at FROM instances
                 WHERE trigger = ?1 AND created_at >= ?2 ORDER BY id",
            )?;
            let found = stmt.query_map(params![trigger_of(schedule_id), oldest], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in found {
                let (id, status, created) = row?;
                let status = InstanceStatus::parse(&status).unwrap_or(InstanceStatus::Interrupted);
                instances.push((id, status, created));
            }
        }
        let starts: Vec<i64> = fires
            .iter()
            .filter(|f| f.outcome == "started")
            .map(|f| f.at)
            .collect();
        let mut next_instance = 0;
        let mut out = Vec::new();
        for fire in fires {
            let mut instance = None;
            if fire.outcome == "started" {
                // Instances before this start belong to nothing shown here.
                while instances
                    .get(next_instance)
                    .is_some_and(|(_, _, created)| *created < fire.at)
                {
                    next_instance += 1;
                }
                let window_end = starts.iter().copied().find(|at| *at > fire.at);
                if let Some((id, status, created)) = instances.get(next_instance)
                    && window_end.is_none_or(|end| *created < end)
                {
                    instance = Some((*id, *status));
                    next_instance += 1;
                }
            }
            out.push((fire, instance));
        }
        out.reverse();
        Ok(out)
    }

    /// Pauses or resumes. Resuming starts again from the next fire after
    /// `now`: what fell due while paused is not caught up (the operator
    /// paused on purpose). Returns false if it already was in that state.
    pub fn set_paused(
        &mut self,
        id: i64,
        paused: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let schedule = self.get(id)?;
        if schedule.paused == paused {
            return Ok(false);
        }
        let next = if paused {
            schedule.next_fire_at
        } else {
            schedule.next_fire_after(now)
        };
        self.conn.execute(
            "UPDATE schedules SET paused = ?2, next_fire_at = ?3, queued = CASE WHEN ?2 THEN queued ELSE 0 END
             WHERE id = ?1",
            params![id, paused, next.map(to_millis)],
        )?;
        Ok(true)
    }

    /// Deletes a schedule and its fire log. Its instances stay in history.
    pub fn remove(&mut self, id: i64) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM schedules WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(StoreError::NoSuchSchedule(id.to_string()));
        }
        Ok(())
    }

    /// Schedules that may have something to do at `now`: not paused, and
    /// either due or with queued fires.
    pub fn candidates(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<Schedule, StoreError>>, StoreError> {
        let sql = format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules
             WHERE paused = 0 AND ((next_fire_at IS NOT NULL AND next_fire_at <= ?1) OR queued > 0)
             ORDER BY next_fire_at, id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([to_millis(now)], schedule_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records what became of a launch: the log file, and an error or none.
    pub fn record_launch(
        &mut self,
        id: i64,
        log: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE schedules SET last_log = COALESCE(?2, last_log), last_error = ?3 WHERE id = ?1",
            params![id, log, error],
        )?;
        Ok(())
    }

    /// Sets `last_error` only (a run that exited with a usage error).
    pub fn record_error(&mut self, id: i64, error: Option<&str>) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE schedules SET last_error = ?2 WHERE id = ?1",
            params![id, error],
        )?;
        Ok(())
    }
}

/// A row for `schedule_fires`.
pub(crate) fn log_fire(
    tx: &Transaction<'_>,
    schedule_id: i64,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    outcome: &str,
    detail: Option<&str>,
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO schedule_fires (schedule_id, due_at, at, outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![schedule_id, to_millis(due), to_millis(now), outcome, detail])?;
    let row = tx.last_insert_rowid();
    tx.prepare_cached("DELETE FROM schedule_fires WHERE schedule_id = ?1 AND id <= ?2 - ?3")?
        .execute(params![schedule_id, row, FIRE_LOG_KEEP])?;
    Ok(row)
}

/// Fills in the pid (or a failure) of a fire row once the launch happened.
pub(crate) fn finish_fire_row(
    conn: &Connection,
    row: i64,
    pid: Option<u32>,
    failure: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE schedule_fires SET pid = ?2,
             outcome = CASE WHEN ?3 IS NULL THEN outcome ELSE 'failed' END,
             detail = COALESCE(?3, detail)
         WHERE id = ?1",
        params![row, pid, failure],
    )?;
    Ok(())
}

pub(crate) fn millis(t: DateTime<Utc>) -> UnixMillis {
    to_millis(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_end_date_stops_fires() {
        let when = When::Cron(CronExpr::parse("0 12 * * *").unwrap());
        let until = Some(utc("2026-03-02T12:00:00Z"));
        let after = utc("2026-03-01T13:00:00Z");
        assert_eq!(
            next_fire(&when, Tz::UTC, until, after),
            Some(utc("2026-03-02T12:00:00Z")),
            "a fire exactly at the end date still runs"
        );
        assert_eq!(
            next_fire(&when, Tz::UTC, until, utc("2026-03-02T12:00:00Z")),
            None
        );
    }

    #[test]
    fn cron_fire_times_are_found_in_the_schedule_zone() {
        let when = When::Cron(CronExpr::parse("30 2 * * *").unwrap());
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        // The spring-forward night in Berlin: 02:30 does not exist, cronie
        // fires a fixed-time job at the first minute after the jump (03:00 CEST).
        let next = next_fire(&when, zone, None, utc("2026-03-28T12:00:00Z")).unwrap();
        assert_eq!(next, utc("2026-03-29T01:00:00Z"));
    }

    #[test]
    fn a_one_shot_fires_once() {
        let at = utc("2026-12-01T02:00:00Z");
        let when = When::At(at);
        assert_eq!(
            next_fire(&when, Tz::UTC, None, utc("2026-11-30T00:00:00Z")),
            Some(at)
        );
        assert_eq!(next_fire(&when, Tz::UTC, None, at), None);
    }

    #[test]
    fn run_options_become_run_arguments() {
        let run = RunOptions {
            inventory: vec!["/srv/inv".into()],
            params: vec![("version".into(), "1.2 beta".into())],
            limit: Some("web:&prod".into()),
            hosts: vec!["a".into(), "b".into()],
            batches: Some("1 100%".into()),
            forks: Some(4),
            yes: true,
            ..Default::default()
        };
        assert_eq!(
            run.to_args(),
            [
                "--limit",
                "web:&prod",
                "--batches",
                "1 100%",
                "--forks",
                "4",
                "-i",
                "/srv/inv",
                "--hosts",
                "a,b",
                "--param",
                "version=1.2 beta",
                "--yes"
            ]
        );
    }

    fn new_schedule(name: &str, expr: &str) -> NewSchedule {
        NewSchedule {
            name: name.into(),
            flow_path: PathBuf::from("/srv/flows/health.yml"),
            flow_name: "health".into(),
            run: RunOptions::default(),
            when: When::Cron(CronExpr::parse(expr).unwrap()),
            zone: Tz::UTC,
            until: None,
            overlap: Overlap::Skip,
            catch_up: CatchUp::Once,
        }
    }

    #[test]
    fn update_replaces_the_timing_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = ScheduleStore::open(dir.path().join("journal.db")).unwrap();
        let now = utc("2026-03-02T08:00:00Z");
        let nightly = store
            .add(&new_schedule("nightly", "0 2 * * *"), now)
            .unwrap();
        let other = store.add(&new_schedule("other", "0 3 * * *"), now).unwrap();
        store.set_paused(nightly.id, true, now).unwrap();

        let mut changed = new_schedule("nightly-web", "30 4 * * *");
        changed.overlap = Overlap::Queue;
        changed.run.limit = Some("web".into());
        let updated = store.update(nightly.id, &changed, now).unwrap();
        assert_eq!(updated.id, nightly.id);
        assert_eq!(updated.name, "nightly-web");
        assert_eq!(updated.describe_when(), "30 4 * * * (UTC)");
        assert_eq!(updated.overlap, Overlap::Queue);
        assert_eq!(updated.run.limit.as_deref(), Some("web"));
        assert!(updated.paused, "editing does not resume a paused schedule");
        assert_eq!(updated.next_fire_at, Some(utc("2026-03-03T04:30:00Z")));
        assert_eq!(updated.created_at, nightly.created_at);

        match store.update(nightly.id, &new_schedule("other", "0 1 * * *"), now) {
            Err(StoreError::NameTaken { id, .. }) => assert_eq!(id, other.id),
            got => panic!("{got:?}"),
        }
        assert!(matches!(
            store.update(999, &new_schedule("ghost", "0 1 * * *"), now),
            Err(StoreError::NoSuchSchedule(_))
        ));
        assert_eq!(store.get(nightly.id).unwrap().name, "nightly-web");
    }

    #[test]
    fn policy_names_parse_and_name_the_choices() {
        assert_eq!("queue".parse::<Overlap>(), Ok(Overlap::Queue));
        assert_eq!("none".parse::<CatchUp>(), Ok(CatchUp::None));
        let err = "sometimes".parse::<Overlap>().unwrap_err();
        assert_eq!(
            err,
            "unknown --overlap 'sometimes': expected skip, queue, allow"
        );
    }

    #[test]
    fn fires_are_paired_with_the_instances_they_started() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let mut store = ScheduleStore::open(&path).unwrap();
        let now = utc("2026-03-02T08:00:00Z");
        let s = store
            .add(
                &NewSchedule {
                    name: "n".into(),
                    flow_path: "/f.yml".into(),
                    flow_name: "f".into(),
                    run: RunOptions::default(),
                    when: When::Cron(CronExpr::parse("0 * * * *").unwrap()),
                    zone: chrono_tz::Tz::UTC,
                    until: None,
                    overlap: Overlap::Skip,
                    catch_up: CatchUp::Once,
                },
                now,
            )
            .unwrap();
        let conn = store.connection();
        let hour = 3_600_000;
        let t0 = now.timestamp_millis();
        // 08:00 started #1; 09:00 started but never made an instance;
        // 10:00 skipped; 11:00 started #2 (created a bit later).
        for (i, (outcome, detail)) in [
            ("started", None),
            ("started", None),
            ("skipped", Some("still running")),
            ("started", None),
        ]
        .into_iter()
        .enumerate()
        {
            let at = t0 + i as i64 * hour;
            conn.execute(
                "INSERT INTO schedule_fires (schedule_id, due_at, at, outcome, detail) VALUES (?1, ?2, ?2, ?3, ?4)",
                params![s.id, at, outcome, detail],
            )
            .unwrap();
        }
        let mut journal = crate::journal::Journal::open(&path).unwrap();
        for (offset, status) in [(1000, "ok"), (3 * hour + 5000, "failed")] {
            let id = journal
                .create_instance(&crate::journal::NewInstance {
                    flow: "f".into(),
                    trigger: crate::journal::Trigger::Schedule(s.id),
                    ..crate::journal::NewInstance::default()
                })
                .unwrap();
            conn.execute(
                "UPDATE instances SET status = ?2, created_at = ?3 WHERE id = ?1",
                params![id, status, t0 + offset],
            )
            .unwrap();
        }
        let fires = store.fires_with_runs(s.id, 10).unwrap();
        let runs: Vec<(&str, Option<(InstanceId, InstanceStatus)>)> = fires
            .iter()
            .map(|(f, run)| (f.outcome.as_str(), *run))
            .collect();
        assert_eq!(
            runs,
            [
                ("started", Some((2, InstanceStatus::Failed))),
                ("skipped", None),
                ("started", None),
                ("started", Some((1, InstanceStatus::Ok))),
            ]
        );
        assert_eq!(fires[3].0.due_at, t0);
    }
}
