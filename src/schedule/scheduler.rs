//! The scheduler: holds the lease, turns due fire times into runs, and
//! picks up rollouts that were waiting out an interval when their jobdeck
//! stopped. The daemon and the console both run it.
//!
//! Each run is a child process (`jobdeck --run FLOW --trigger schedule:ID
//! ...`, or `jobdeck resume ID`) with its output in a log file next to the
//! journal: a run that crashes cannot take the scheduler down, and a run
//! outlives the scheduler that started it. The child records itself in the
//! journal like any headless run.
//!
//! Time comes from a [`Clock`], so tests drive fire times without sleeping.
//!
//! # One tick
//! 1. Reap finished children (a run that failed before it started, exit 2,
//!    is kept as the schedule's `last_error`).
//! 2. Take or renew the lease (see `lease`); without it, do nothing else.
//! 3. On taking the lease, and every [`DURABLE_CHECK`]: mark instances of
//!    dead processes interrupted, resume those that were waiting out an
//!    interval, and log those cut off mid-batch (they wait for an operator).
//! 4. For every schedule that is due or has queued fires: apply catch-up,
//!    then overlap, record the outcome and the next fire time in one
//!    transaction that also checks the lease, and only then start runs.
//!    A fire is therefore started at most once, even if two schedulers race.
//! 5. Hourly, prune run logs, and start a retention pass on the journal
//!    (on its own thread, see `retention`).

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{TransactionBehavior, params};
use serde_json::Value;

pub use super::event::{Level, SchedulerEvent};
pub use super::launcher::{LaunchKind, LaunchRequest, Launched, Launcher, ProcessLauncher};
use super::lease::{self, Acquire, LeaseTimes};
use super::retention::RetentionJob;
use super::store::{
    self, CATCH_UP_CAP, CatchUp, Overlap, QUEUE_CAP, Schedule, ScheduleStore, StoreError,
    from_millis, millis,
};
use crate::engine::events::{InstanceId, InstanceStatus};
use crate::journal::{Journal, ProcessIdentity, Trigger};

/// Where time comes from. Tests use [`ManualClock`].
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(start))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = now;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A fire this late or less is on time; an older one was missed and the
/// schedule's catch-up rule decides.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// How often a lease holder looks for interrupted rollouts to resume.
pub const DURABLE_CHECK: Duration = Duration::from_secs(30);
/// How often the lease holder prunes old run logs (see `logs`).
pub const LOG_PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// At most this many missed fire times are counted one by one.
const COUNT_LIMIT: usize = 20_000;

/// What to do with the fire times of one schedule that are due at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirePlan {
    /// Fire times to run, oldest first.
    pub run: Vec<DateTime<Utc>>,
    /// Fire times dropped by the catch-up rule.
    pub missed: Option<Missed>,
    /// The first fire time after `now` (None: the schedule is done).
    pub next: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    pub count: usize,
    /// True when there were more than `count` (a very long downtime).
    pub at_least: bool,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

impl fmt::Display for Missed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let more = if self.at_least { "more than " } else { "" };
        if self.count == 1 {
            write!(f, "1 fire time ({})", self.first.to_rfc3339())
        } else {
            write!(
                f,
                "{more}{} fire times ({} to {})",
                self.count,
                self.first.to_rfc3339(),
                self.last.to_rfc3339()
            )
        }
    }
}

/// Applies the catch-up rule to the fire times from `next_fire_at` up to
/// `now`. A fire at most `grace` old is on time; older ones were missed:
/// - `once`: the latest due time runs, standing for all of them;
/// - `all`: the latest [`CATCH_UP_CAP`] run, older ones are dropped;
/// - `none`: only an on-time fire runs.
pub fn plan_fires(schedule: &Schedule, now: DateTime<Utc>, grace: Duration) -> FirePlan {
    let Some(first) = schedule.next_fire_at.filter(|t| *t <= now) else {
        return FirePlan {
            run: Vec::new(),
            missed: None,
            next: schedule.next_fire_at,
        };
    };
    let mut count = 0usize;
    let mut recent: VecDeque<DateTime<Utc>> = VecDeque::with_capacity(CATCH_UP_CAP + 1);
    // The latest due time that fell out of `recent`.
    let mut dropped: Option<DateTime<Utc>> = None;
    let mut cursor = Some(first);
    let mut at_least = false;
    while let Some(t) = cursor.filter(|t| *t <= now) {
        count += 1;
        recent.push_back(t);
        if recent.len() > CATCH_UP_CAP {
            dropped = recent.pop_front();
        }
        if count >= COUNT_LIMIT {
            at_least = true;
            break;
        }
        cursor = schedule.next_fire_after(t);
    }
    if at_least {
        // Too many to walk: take the latest ones from the last day instead.
        let mut from_day: VecDeque<_> = VecDeque::new();
        let mut c = schedule.next_fire_after(now - chrono::Duration::days(1));
        while let Some(t) = c.filter(|t| *t <= now) {
            from_day.push_back(t);
            if from_day.len() > CATCH_UP_CAP {
                dropped = from_day.pop_front();
            }
            c = schedule.next_fire_after(t);
        }
        if !from_day.is_empty() {
            recent = from_day;
        }
        cursor = schedule.next_fire_after(now);
    }
    let next = cursor;
    let last = *recent.back().expect("the first fire time is due");
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let on_time = now - last <= grace;
    let before_last = if recent.len() >= 2 {
        Some(recent[recent.len() - 2])
    } else {
        dropped
    };
    let (run, last_missed): (Vec<_>, Option<DateTime<Utc>>) = match schedule.catch_up {
        CatchUp::None if on_time => (vec![last], before_last),
        CatchUp::None => (Vec::new(), Some(last)),
        CatchUp::Once => (vec![last], before_last),
        CatchUp::All => (recent.iter().copied().collect(), dropped),
    };
    let missed_count = count - run.len().min(count);
    let missed = last_missed.filter(|_| missed_count > 0).map(|last| Missed {
        count: missed_count,
        at_least,
        first,
        last,
    });
    FirePlan { run, missed, next }
}

/// How a scheduler runs.
pub struct SchedulerOptions {
    pub launcher: Box<dyn Launcher>,
    pub lease: LeaseTimes,
    /// How often the loop wakes up.
    pub tick: Duration,
    pub grace: Duration,
    /// Recorded with the lease: daemon | console | test.
    pub kind: String,
    /// Where run logs go. Default: `schedule-logs/` next to the journal.
    pub log_dir: Option<PathBuf>,
    /// The config file whose `[retention]` section the lease holder applies
    /// every hour (see `retention`); `None`: no retention.
    pub retention_config: Option<PathBuf>,
}

impl SchedulerOptions {
    /// Spawns this binary; lease times from the environment (for tests).
    pub fn for_this_binary(kind: &str) -> std::io::Result<SchedulerOptions> {
        Ok(SchedulerOptions {
            launcher: Box::new(ProcessLauncher::current_exe()?),
            lease: LeaseTimes::from_env(),
            tick: Duration::from_secs(1),
            grace: DEFAULT_GRACE,
            kind: kind.to_owned(),
            log_dir: None,
            retention_config: crate::tui::config::default_config_dir()
                .map(|dir| dir.join("config.toml")),
        })
    }
}

struct ChildRun {
    kind: LaunchKind,
    /// The schedule the run belongs to, if any (resumes of scheduled runs too).
    schedule: Option<i64>,
    pid: u32,
    child: Child,
    log: PathBuf,
}

pub struct Scheduler {
    store: ScheduleStore,
    journal: Journal,
    clock: Arc<dyn Clock>,
    me: ProcessIdentity,
    options: SchedulerOptions,
    log_dir: PathBuf,
    holding: bool,
    last_lease_check: Option<DateTime<Utc>>,
    last_durable_check: Option<DateTime<Utc>>,
    /// When old run logs were last pruned (wall clock: file times are real).
    last_log_prune: Option<std::time::Instant>,
    retention: RetentionJob,
    /// The holder last reported while standing by, so it is logged once.
    reported_holder: Option<u32>,
    children: Vec<ChildRun>,
    resumes_tried: HashSet<InstanceId>,
    events: Vec<SchedulerEvent>,
}

/// Runs a scheduler on its own thread until stopped.
pub struct SchedulerHandle {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    events: Option<mpsc::Receiver<SchedulerEvent>>,
}

impl SchedulerHandle {
    /// Events so far (empty when the handle was made with a callback).
    pub fn drain_events(&self) -> Vec<SchedulerEvent> {
        self.events
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default()
    }

    /// Stops firing, releases the lease and waits for the thread. Runs
    /// already started keep going: they are separate processes.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SchedulerHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}

impl Scheduler {
    pub fn new(
        journal_path: &Path,
        clock: Arc<dyn Clock>,
        options: SchedulerOptions,
    ) -> Result<Scheduler, StoreError> {
        let store = ScheduleStore::open(journal_path)?;
        let journal = Journal::open(journal_path)?;
        let log_dir = options.log_dir.clone().unwrap_or_else(|| {
            journal_path
                .parent()
                .unwrap_or(Path::new("."))
                .join("schedule-logs")
        });
        Ok(Scheduler {
            store,
            journal,
            clock,
            me: ProcessIdentity::current(),
            options,
            log_dir,
            holding: false,
            last_lease_check: None,
            last_durable_check: None,
            last_log_prune: None,
            retention: RetentionJob::default(),
            reported_holder: None,
            children: Vec::new(),
            resumes_tried: HashSet::new(),
            events: Vec::new(),
        })
    }

    /// The console's entry point: this binary runs the fires, events come
    /// through the handle.
    pub fn spawn(journal_path: &Path, clock: Arc<dyn Clock>) -> anyhow::Result<SchedulerHandle> {
        let (tx, rx) = mpsc::channel();
        let options = SchedulerOptions::for_this_binary("console")?;
        let mut handle = Scheduler::spawn_with(journal_path, clock, options, move |event| {
            let _ = tx.send(event);
        })?;
        handle.events = Some(rx);
        Ok(handle)
    }

    /// Runs a scheduler on a thread, handing each event to `on_event`.
    pub fn spawn_with(
        journal_path: &Path,
        clock: Arc<dyn Clock>,
        options: SchedulerOptions,
        mut on_event: impl FnMut(SchedulerEvent) + Send + 'static,
    ) -> anyhow::Result<SchedulerHandle> {
        // Wake often enough to renew the lease on time.
        let tick = options.tick.min(options.lease.renew);
        let mut scheduler = Scheduler::new(journal_path, clock, options)?;
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("jobdeck-scheduler".into())
            .spawn(move || {
                loop {
                    for event in scheduler.tick() {
                        on_event(event);
                    }
                    match stop_rx.recv_timeout(tick) {
                        Err(mpsc::RecvTimeoutError::Timeout) => continue,
                        // A message or a dropped sender both mean stop.
                        _ => break,
                    }
                }
                for event in scheduler.shutdown() {
                    on_event(event);
                }
            })?;
        Ok(SchedulerHandle {
            stop: Some(stop_tx),
            thread: Some(thread),
            events: None,
        })
    }

    pub fn holds_lease(&self) -> bool {
        self.holding
    }

    /// Pids of runs this scheduler started that are still going.
    pub fn running_children(&self) -> Vec<u32> {
        self.children.iter().map(|c| c.pid).collect()
    }

    fn event(&mut self, level: Level, message: impl Into<String>) {
        self.events.push(SchedulerEvent {
            at: self.clock.now(),
            level,
            message: message.into(),
        });
    }

    /// One pass (see the module docs); returns what happened.
    pub fn tick(&mut self) -> Vec<SchedulerEvent> {
        let now = self.clock.now();
        self.reap_children();
        if let Err(e) = self.keep_lease(now) {
            self.event(Level::Error, format!("lease: {e}"));
        }
        if self.holding {
            let durable_due = self.last_durable_check.is_none_or(|t| {
                now - t >= chrono::Duration::from_std(DURABLE_CHECK).unwrap_or_default()
            });
            if durable_due {
                self.last_durable_check = Some(now);
                if let Err(e) = self.resume_waiting_rollouts() {
                    self.event(
                        Level::Error,
                        format!("resuming interrupted rollouts: {e:#}"),
                    );
                }
            }
            if let Err(e) = self.fire_due(now) {
                self.event(Level::Error, format!("firing schedules: {e}"));
            }
            self.prune_logs();
        }
        // A pass that started while holding the lease is collected even if
        // the lease has gone since; a new one starts only under the lease.
        let config = self
            .options
            .retention_config
            .as_deref()
            .filter(|_| self.holding);
        for (level, message) in self.retention.poll(now, self.store.path(), config) {
            self.event(level, message);
        }
        std::mem::take(&mut self.events)
    }

    /// At most once an hour, by the lease holder only.
    fn prune_logs(&mut self) {
        if self
            .last_log_prune
            .is_some_and(|at| at.elapsed() < LOG_PRUNE_EVERY)
        {
            return;
        }
        self.last_log_prune = Some(std::time::Instant::now());
        match super::logs::prune(&self.log_dir, std::time::SystemTime::now()) {
            Ok(0) => {}
            Ok(n) => self.event(
                Level::Info,
                format!(
                    "removed {n} run log(s) older than {} days",
                    super::logs::KEEP_DAYS
                ),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => self.event(
                Level::Warn,
                format!("pruning run logs in {}: {e}", self.log_dir.display()),
            ),
        }
    }

    /// Releases the lease. Runs already started keep going.
    pub fn shutdown(&mut self) -> Vec<SchedulerEvent> {
        self.reap_children();
        for (level, message) in self.retention.stop() {
            self.event(level, message);
        }
        if self.holding {
            match lease::release(self.store.connection(), &self.me) {
                Ok(()) => self.event(Level::Info, "scheduler stopped; lease released"),
                Err(e) => self.event(Level::Error, format!("releasing the lease: {e}")),
            }
            self.holding = false;
        }
        if !self.children.is_empty() {
            let pids: Vec<String> = self.children.iter().map(|c| c.pid.to_string()).collect();
            self.event(
                Level::Info,
                format!(
                    "{} run(s) started here keep running on their own (pid {}); the journal records them",
                    pids.len(),
                    pids.join(", ")
                ),
            );
        }
        std::mem::take(&mut self.events)
    }

    fn keep_lease(&mut self, now: DateTime<Utc>) -> rusqlite::Result<()> {
        let renew = chrono::Duration::from_std(self.options.lease.renew).unwrap_or_default();
        if self.holding
            && self
                .last_lease_check
                .is_some_and(|t| now - t < renew && now >= t)
        {
            return Ok(());
        }
        self.last_lease_check = Some(now);
        let now_ms = millis(now);
        if self.holding {
            if lease::renew(self.store.connection(), &self.me, now_ms)? {
                return Ok(());
            }
            self.holding = false;
            let by = lease::holder(self.store.connection())?
                .map(|h| format!(" to {}", h.describe()))
                .unwrap_or_default();
            self.event(
                Level::Warn,
                format!("lost the scheduler lease{by}; no longer firing schedules"),
            );
        }
        let kind = self.options.kind.clone();
        match lease::acquire(
            self.store.connection_mut(),
            &self.me,
            &kind,
            now_ms,
            self.options.lease,
        )? {
            Acquire::Held { replaced } => {
                self.holding = true;
                self.reported_holder = None;
                self.last_durable_check = None;
                let took = replaced
                    .map(|h| {
                        format!(
                            " (took over from {}, last heartbeat {})",
                            h.describe(),
                            from_millis(h.heartbeat_at).to_rfc3339()
                        )
                    })
                    .unwrap_or_default();
                self.event(
                    Level::Info,
                    format!(
                        "holding the scheduler lease for {}{took}",
                        self.store.path().display()
                    ),
                );
            }
            Acquire::Busy(holder) => {
                if self.reported_holder != Some(holder.owner.pid) {
                    self.reported_holder = Some(holder.owner.pid);
                    self.event(
                        Level::Info,
                        format!(
                            "schedules are run by {}; standing by until its lease expires",
                            holder.describe()
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    fn reap_children(&mut self) {
        let mut finished = Vec::new();
        self.children.retain_mut(|run| match run.child.try_wait() {
            Ok(Some(status)) => {
                finished.push((
                    run.kind.clone(),
                    run.schedule,
                    run.pid,
                    status,
                    run.log.clone(),
                ));
                false
            }
            Ok(None) => true,
            Err(_) => false,
        });
        for (kind, schedule, pid, status, log) in finished {
            let what = match &kind {
                LaunchKind::Fire { schedule, .. } => {
                    format!("schedule {schedule}: run (pid {pid})")
                }
                other => format!("{} (pid {pid})", other.describe()),
            };
            let (level, message, error) = match status.code() {
                Some(code) if code == i32::from(crate::exit::USAGE) => (
                    Level::Error,
                    format!("{what} did not start: exit {code}; see {}", log.display()),
                    Some(format!("exit {code} (nothing ran); see {}", log.display())),
                ),
                Some(code) if code == i32::from(crate::exit::JOURNAL) => (
                    Level::Error,
                    format!(
                        "{what} ended: exit {code}, the journal could not record it; see {}",
                        log.display()
                    ),
                    Some(format!(
                        "exit {code}: the journal could not record the run; see {}",
                        log.display()
                    )),
                ),
                Some(code) => (Level::Info, format!("{what} ended: exit {code}"), None),
                None => (
                    Level::Warn,
                    format!("{what} was killed by a signal; see {}", log.display()),
                    Some(format!("killed by a signal; see {}", log.display())),
                ),
            };
            self.event(level, message);
            if let Some(id) = schedule.filter(|_| matches!(kind, LaunchKind::Fire { .. }))
                && let Err(e) = self.store.record_error(id, error.as_deref())
            {
                self.event(Level::Error, format!("schedule {id}: {e}"));
            }
        }
    }

    /// True when an instance of the schedule is running, waiting or paused,
    /// or a run this scheduler started for it has not yet exited (it may
    /// not have recorded its instance yet).
    fn busy(&mut self, schedule: i64) -> Result<bool, StoreError> {
        if self.children.iter().any(|c| c.schedule == Some(schedule)) {
            return Ok(true);
        }
        if self.store.live_instances(schedule)? == 0 {
            return Ok(false);
        }
        // A crashed run still looks live until recovery marks it.
        self.journal.recover_interrupted()?;
        Ok(self.store.live_instances(schedule)? > 0)
    }

    fn fire_due(&mut self, now: DateTime<Utc>) -> Result<(), StoreError> {
        for candidate in self.store.candidates(now)? {
            match candidate {
                Ok(schedule) => {
                    if let Err(e) = self.fire_schedule(&schedule, now) {
                        self.event(
                            Level::Error,
                            format!("schedule {} '{}': {e}", schedule.id, schedule.name),
                        );
                    }
                }
                Err(e) => self.event(Level::Error, e.to_string()),
            }
        }
        Ok(())
    }

    /// `lock 'NAME' is held by run 12 (...)` when the schedule's run lock
    /// (`--lock`, or the flow's `lock:` with the schedule's params) is held.
    fn held_lock_of(&self, schedule: &Schedule) -> Option<String> {
        let name = lock_name(schedule)?;
        let holder = crate::locks::lock_holder(self.store.connection(), &name).ok()??;
        Some(format!(
            "lock '{name}' is held by {}",
            holder.describe_since()
        ))
    }

    fn fire_schedule(&mut self, schedule: &Schedule, now: DateTime<Utc>) -> Result<(), StoreError> {
        let plan = plan_fires(schedule, now, self.options.grace);
        let running = self.busy(schedule.id)?;
        // A fire whose run lock another run holds is busy too: the overlap
        // policy decides (skip, queue behind it, or start and let it wait).
        let lock_held = if running {
            None
        } else {
            self.held_lock_of(schedule)
        };
        let why_busy = lock_held
            .clone()
            .unwrap_or_else(|| "an instance is still running".to_owned());
        let mut busy = running || lock_held.is_some();
        let mut queued = schedule.queued;
        let mut starts: Vec<DateTime<Utc>> = Vec::new();
        // (due, outcome, detail) rows for `schedule_fires`.
        let mut rows: Vec<(DateTime<Utc>, &'static str, String)> = Vec::new();
        let label = format!("schedule {} '{}'", schedule.id, schedule.name);

        if let Some(missed) = &plan.missed {
            let detail = format!(
                "missed {missed} while no scheduler ran (catch-up {})",
                schedule.catch_up
            );
            self.event(Level::Warn, format!("{label}: skipped: {detail}"));
            rows.push((missed.first, "skipped", detail));
        }
        if queued > 0 && !busy {
            queued -= 1;
            busy = true;
            starts.push(now);
            rows.push((now, "started", "a queued fire".to_owned()));
        }
        for due in &plan.run {
            let late = now - *due;
            let late_note =
                if late > chrono::Duration::from_std(self.options.grace).unwrap_or_default() {
                    format!(
                        " (missed at {}, catch-up {})",
                        due.to_rfc3339(),
                        schedule.catch_up
                    )
                } else {
                    String::new()
                };
            match schedule.overlap {
                Overlap::Skip if busy => {
                    let detail = format!("{why_busy} (overlap skip)");
                    self.event(
                        Level::Warn,
                        format!("{label}: fire time {} skipped: {detail}", due.to_rfc3339()),
                    );
                    rows.push((*due, "skipped", detail));
                }
                Overlap::Queue if busy => {
                    if queued < QUEUE_CAP {
                        queued += 1;
                        self.event(
                            Level::Info,
                            format!(
                                "{label}: fire time {} queued: {why_busy} ({queued} waiting)",
                                due.to_rfc3339()
                            ),
                        );
                        rows.push((*due, "queued", format!("{queued} waiting")));
                    } else {
                        let detail = format!("the queue is full ({QUEUE_CAP} waiting)");
                        self.event(
                            Level::Warn,
                            format!("{label}: fire time {} skipped: {detail}", due.to_rfc3339()),
                        );
                        rows.push((*due, "skipped", detail));
                    }
                }
                _ => {
                    busy = true;
                    starts.push(*due);
                    rows.push((*due, "started", late_note.trim().to_owned()));
                }
            }
        }
        if rows.is_empty() && plan.next == schedule.next_fire_at && queued == schedule.queued {
            return Ok(()); // queued fires still waiting: nothing to write
        }
        // Record first, then start: a fire whose record did not commit
        // (lease lost, schedule paused or removed meanwhile) never starts.
        let me = self.me.clone();
        let conn = self.store.connection_mut();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !lease::holds(&tx, &me)? {
            drop(tx);
            self.holding = false;
            self.event(
                Level::Warn,
                "lost the scheduler lease; no longer firing schedules",
            );
            return Ok(());
        }
        let changed = tx.execute(
            "UPDATE schedules SET next_fire_at = ?2, queued = ?3,
                 last_fire_at = CASE WHEN ?4 THEN ?5 ELSE last_fire_at END
             WHERE id = ?1 AND paused = 0 AND next_fire_at IS ?6 AND queued = ?7",
            params![
                schedule.id,
                plan.next.map(millis),
                queued,
                !starts.is_empty(),
                millis(now),
                schedule.next_fire_at.map(millis),
                schedule.queued,
            ],
        )?;
        if changed == 0 {
            return Ok(()); // changed under us; the next tick sees the new state
        }
        let mut start_rows = Vec::new();
        for (due, outcome, detail) in &rows {
            let detail = (!detail.is_empty()).then_some(detail.as_str());
            let row = store::log_fire(&tx, schedule.id, *due, now, outcome, detail)?;
            if *outcome == "started" {
                start_rows.push(row);
            }
        }
        tx.commit()?;

        for (due, row) in starts.into_iter().zip(start_rows) {
            self.start_fire(schedule, due, now, row);
        }
        if plan.next.is_none() && schedule.next_fire_at.is_some() {
            self.event(
                Level::Info,
                format!("{label}: no fire time left; the schedule is done"),
            );
        }
        Ok(())
    }

    fn start_fire(
        &mut self,
        schedule: &Schedule,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
        row: i64,
    ) {
        let label = format!("schedule {} '{}'", schedule.id, schedule.name);
        let log = self.log_dir.join(format!(
            "schedule-{}-{}.log",
            schedule.id,
            now.format("%Y%m%dT%H%M%S%.3fZ")
        ));
        let request = LaunchRequest {
            kind: LaunchKind::Fire {
                schedule: schedule.id,
                due,
            },
            args: fire_args(schedule, self.store.path()),
            workdir: schedule.run.workdir.as_ref().map(PathBuf::from),
            log: log.clone(),
        };
        let log_text = log.display().to_string();
        match self.options.launcher.launch(&request) {
            Ok(launched) => {
                self.event(
                    Level::Info,
                    format!(
                        "{label}: fired for {}: flow {}, pid {}, log {log_text}",
                        due.to_rfc3339(),
                        schedule.flow_path.display(),
                        launched.pid
                    ),
                );
                let _ =
                    store::finish_fire_row(self.store.connection(), row, Some(launched.pid), None);
                let _ = self.store.record_launch(schedule.id, Some(&log_text), None);
                if let Some(child) = launched.child {
                    self.children.push(ChildRun {
                        kind: request.kind,
                        schedule: Some(schedule.id),
                        pid: launched.pid,
                        child,
                        log,
                    });
                }
            }
            Err(e) => {
                let error = format!("cannot start jobdeck: {e}");
                self.event(Level::Error, format!("{label}: {error}"));
                let _ = store::finish_fire_row(self.store.connection(), row, None, Some(&error));
                let _ = self.store.record_launch(schedule.id, None, Some(&error));
            }
        }
    }

    /// Durable rollouts: resume what was waiting out an interval when its
    /// process died; log what was cut off mid-batch.
    fn resume_waiting_rollouts(&mut self) -> anyhow::Result<()> {
        let recovered = self.journal.recover_interrupted()?;
        for id in recovered {
            let point = self.journal.resume_point(id)?;
            if point.interrupted_from == Some(InstanceStatus::Running) {
                self.event(
                    Level::Warn,
                    format!(
                        "run {id} was interrupted in the middle of batch {}; it waits for an operator: jobdeck resume {id}",
                        point.next_batch + 1
                    ),
                );
            }
        }
        let waiting = self.journal.interrupted_while_waiting()?;
        for point in waiting {
            if !self.resumes_tried.insert(point.id) {
                continue;
            }
            let Some(detail) = self.journal.instance(point.id)? else {
                continue;
            };
            let record = detail.instance;
            let schedule = match record.trigger.parse::<Trigger>() {
                Ok(Trigger::Schedule(sid)) => Some(sid),
                _ => None,
            };
            let mut args = vec![
                "resume".to_owned(),
                point.id.to_string(),
                "--journal".to_owned(),
                self.store.path().display().to_string(),
            ];
            if let Some(Value::Array(sources)) = record.target.get("inventory") {
                for source in sources.iter().filter_map(Value::as_str) {
                    args.extend(["-i".to_owned(), source.to_owned()]);
                }
            }
            // A scheduled run that was allowed to confirm batches still is.
            if let Some(sid) = schedule
                && self.store.get(sid).is_ok_and(|s| s.run.yes)
            {
                args.push("--yes".to_owned());
            }
            let now = self.clock.now();
            let when = match point.resume_at.map(from_millis) {
                Some(at) if at > now => format!(
                    "batch {} starts at {}",
                    point.next_batch + 1,
                    at.to_rfc3339()
                ),
                _ => format!(
                    "the interval has passed: batch {} starts now",
                    point.next_batch + 1
                ),
            };
            let log = self.log_dir.join(format!(
                "resume-{}-{}.log",
                point.id,
                now.format("%Y%m%dT%H%M%S%.3fZ")
            ));
            let request = LaunchRequest {
                kind: LaunchKind::Resume { instance: point.id },
                args,
                workdir: schedule
                    .and_then(|sid| self.store.get(sid).ok())
                    .and_then(|s| s.run.workdir.map(PathBuf::from)),
                log: log.clone(),
            };
            match self.options.launcher.launch(&request) {
                Ok(launched) => {
                    self.event(
                        Level::Info,
                        format!(
                            "resuming run {} ({}), interrupted while waiting out its interval: {when}; pid {}, log {}",
                            point.id,
                            record.flow,
                            launched.pid,
                            log.display()
                        ),
                    );
                    if let Some(child) = launched.child {
                        self.children.push(ChildRun {
                            kind: request.kind,
                            schedule,
                            pid: launched.pid,
                            child,
                            log,
                        });
                    }
                }
                Err(e) => self.event(
                    Level::Error,
                    format!("cannot start jobdeck to resume run {}: {e}", point.id),
                ),
            }
        }
        Ok(())
    }
}

/// `--run FLOW --journal J --trigger schedule:ID` and the schedule's options.
/// The run lock a fire of `schedule` will ask for, params substituted.
/// Reads the flow file (as the fire will); `None` if it has none or does
/// not load (the fire itself then reports why).
pub fn lock_name(schedule: &Schedule) -> Option<String> {
    let written = match &schedule.run.safety.lock {
        Some(name) => name.clone(),
        None => crate::flow::load_flow(&schedule.flow_path).ok()?.lock?,
    };
    let flow = crate::flow::load_flow(&schedule.flow_path).ok();
    let values = match &flow {
        Some(flow) => crate::flow::params::resolve(&flow.params, &schedule.run.params).ok()?,
        None => schedule.run.params.clone(),
    };
    crate::flow::params::substitute(&written, &values).ok()
}

pub fn fire_args(schedule: &Schedule, journal: &Path) -> Vec<String> {
    let mut args = vec![
        "--run".to_owned(),
        schedule.flow_path.display().to_string(),
        "--journal".to_owned(),
        journal.display().to_string(),
        "--trigger".to_owned(),
        store::trigger_of(schedule.id),
    ];
    args.extend(schedule.run.to_args());
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::crontab::CronExpr;
    use crate::schedule::store::{RunOptions, When};
    use chrono_tz::Tz;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn schedule(expr: &str, next: &str, catch_up: CatchUp) -> Schedule {
        Schedule {
            id: 1,
            name: "t".into(),
            flow_path: "/f.yml".into(),
            flow_name: "f".into(),
            run: RunOptions::default(),
            when: When::Cron(CronExpr::parse(expr).unwrap()),
            zone: Tz::UTC,
            until: None,
            overlap: Overlap::Skip,
            catch_up,
            paused: false,
            created_at: utc("2026-01-01T00:00:00Z"),
            next_fire_at: Some(utc(next)),
            last_fire_at: None,
            queued: 0,
            last_error: None,
            last_log: None,
        }
    }

    const GRACE: Duration = Duration::from_secs(60);

    #[test]
    fn nothing_is_due_before_the_fire_time() {
        let s = schedule("0 * * * *", "2026-01-01T10:00:00Z", CatchUp::Once);
        let plan = plan_fires(&s, utc("2026-01-01T09:59:59Z"), GRACE);
        assert!(plan.run.is_empty());
        assert_eq!(plan.next, Some(utc("2026-01-01T10:00:00Z")));
    }

    #[test]
    fn an_on_time_fire_runs_under_every_rule() {
        for rule in [CatchUp::Once, CatchUp::All, CatchUp::None] {
            let s = schedule("0 * * * *", "2026-01-01T10:00:00Z", rule);
            let plan = plan_fires(&s, utc("2026-01-01T10:00:30Z"), GRACE);
            assert_eq!(plan.run, [utc("2026-01-01T10:00:00Z")], "{rule}");
            assert_eq!(plan.missed, None);
            assert_eq!(plan.next, Some(utc("2026-01-01T11:00:00Z")));
        }
    }

    #[test]
    fn catch_up_after_five_missed_hours() {
        let now = utc("2026-01-01T14:30:00Z"); // 10..14 o'clock were missed
        let once = plan_fires(
            &schedule("0 * * * *", "2026-01-01T10:00:00Z", CatchUp::Once),
            now,
            GRACE,
        );
        assert_eq!(once.run, [utc("2026-01-01T14:00:00Z")]);
        let missed = once.missed.unwrap();
        assert_eq!(
            (missed.count, missed.first, missed.last),
            (4, utc("2026-01-01T10:00:00Z"), utc("2026-01-01T13:00:00Z"))
        );
        assert_eq!(once.next, Some(utc("2026-01-01T15:00:00Z")));

        let all = plan_fires(
            &schedule("0 * * * *", "2026-01-01T10:00:00Z", CatchUp::All),
            now,
            GRACE,
        );
        assert_eq!(all.run.len(), 5);
        assert_eq!(all.missed, None);

        let none = plan_fires(
            &schedule("0 * * * *", "2026-01-01T10:00:00Z", CatchUp::None),
            now,
            GRACE,
        );
        assert!(none.run.is_empty());
        assert_eq!(none.missed.unwrap().count, 5);
        assert_eq!(none.next, Some(utc("2026-01-01T15:00:00Z")));
    }

    #[test]
    fn catch_up_all_is_capped() {
        let now = utc("2026-01-02T00:00:30Z"); // 25 hourly fires due, the last on time
        let all = plan_fires(
            &schedule("0 * * * *", "2026-01-01T00:00:00Z", CatchUp::All),
            now,
            GRACE,
        );
        assert_eq!(all.run.len(), CATCH_UP_CAP);
        assert_eq!(all.run.first(), Some(&utc("2026-01-01T15:00:00Z")));
        assert_eq!(all.run.last(), Some(&utc("2026-01-02T00:00:00Z")));
        let missed = all.missed.unwrap();
        assert_eq!(
            (missed.count, missed.last),
            (15, utc("2026-01-01T14:00:00Z"))
        );
    }

    #[test]
    fn a_very_long_downtime_is_counted_roughly_and_runs_the_latest() {
        let now = utc("2026-04-01T12:00:00Z");
        let plan = plan_fires(
            &schedule("* * * * *", "2026-01-01T00:00:00Z", CatchUp::Once),
            now,
            GRACE,
        );
        assert_eq!(plan.run, [now]);
        let missed = plan.missed.unwrap();
        assert!(missed.at_least);
        assert_eq!(plan.next, Some(utc("2026-04-01T12:01:00Z")));
    }
}
