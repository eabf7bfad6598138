//! The journal writer: a dedicated thread with its own connection that
//! applies the engine's events in batched transactions.
//!
//! The engine sends through a bounded channel (`JournalSink::send().await`),
//! so a writer that falls behind slows the engine down rather than letting a
//! queue grow without bound. The writer drains whatever is queued (up to
//! `max_batch_events`) into one `BEGIN IMMEDIATE` transaction, so a flood of
//! output costs one commit per few thousand chunks.
//!
//! Odd event orders (output for a step whose start was never seen, indexes
//! past the announced lists, events for an unknown instance) are skipped or
//! absorbed and counted in `WriterStats`; the writer never panics on them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::JournalError;
use super::search::follow::{self, Follower};
use super::step_output::{OutputKey, StepOutput};
use super::transaction::{begin_immediate, close_in_flight};
use super::write_failure::{FailureLog, WriteFailure, is_event_error};
use crate::engine::events::{BatchIndex, Event, EventKind, HostIndex, InstanceId, StepIndex};

pub use super::output_cap::DEFAULT_OUTPUT_CAP;

#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// How many events may wait in the channel before `send` waits.
    pub capacity: usize,
    /// Output bytes kept per host and step, half from its start and half
    /// from its end; what falls between is counted and dropped.
    pub output_cap_bytes: u64,
    /// The most events applied in one transaction.
    pub max_batch_events: usize,
    /// How long the writer waits for more events before it indexes the
    /// output it stored for search (`search::follow`); it also does so at
    /// the end of each run and before it stops.
    pub index_when_idle: Duration,
    /// Whether the writer indexes output for search at all; `false` leaves
    /// the rows to searches that read them in full (and to a later writer),
    /// and serves to measure what the index costs (`benches/journal_ingest`).
    pub index_search: bool,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            capacity: 16 * 1024,
            output_cap_bytes: DEFAULT_OUTPUT_CAP,
            max_batch_events: 4096,
            index_when_idle: INDEX_WHEN_IDLE,
            index_search: true,
        }
    }
}

/// Counters a caller can read while the writer runs (`JournalSink::stats`)
/// and gets back in full when it stops (the thread's result).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub events_applied: u64,
    /// Events ignored because they made no sense (see `last_problem`).
    pub events_skipped: u64,
    pub transactions: u64,
    pub largest_transaction: usize,
    pub output_bytes_stored: u64,
    pub output_bytes_dropped: u64,
    /// Time spent applying and committing, to compare with wall time.
    pub busy: Duration,
    /// Time spent indexing stored output for search, behind the writes
    /// (when idle and at the end of runs; not part of `busy`).
    pub index_busy: Duration,
    /// Output rows indexed for search.
    pub rows_indexed: u64,
    /// SQLite errors; the events involved are lost.
    pub errors: u64,
    /// Steps of live runs the writer holds state for (output cap, index
    /// words): those of hosts that have not finished.
    pub steps_held: usize,
    /// The latest skipped event or error, for the status line and logs.
    pub last_problem: Option<String>,
    /// Set once a write failed: the writer records nothing more but the
    /// ends of its runs (see `write_failure`).
    pub failure: Option<WriteFailure>,
}

enum Msg {
    Event(Event),
    /// Answered once everything sent before it is committed.
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the journal writer has stopped")]
pub struct SinkClosed;

/// The sending side of the writer. Cheap to clone; the writer thread
/// finishes its last transaction and exits once every clone is dropped.
#[derive(Clone)]
pub struct JournalSink {
    tx: mpsc::Sender<Msg>,
    stats: Arc<Mutex<WriterStats>>,
    failed: CancellationToken,
}

impl JournalSink {
    /// Queues an event, waiting while the channel is full.
    pub async fn send(&self, event: Event) -> Result<(), SinkClosed> {
        self.tx
            .send(Msg::Event(event))
            .await
            .map_err(|_| SinkClosed)
    }

    /// Queues an event from synchronous code. Must not be called from inside
    /// an async task (tokio panics there); use `send` instead.
    pub fn blocking_send(&self, event: Event) -> Result<(), SinkClosed> {
        self.tx
            .blocking_send(Msg::Event(event))
            .map_err(|_| SinkClosed)
    }

    /// Queues an event if there is room; gives it back otherwise.
    pub fn try_send(&self, event: Event) -> Result<(), mpsc::error::TrySendError<Event>> {
        use mpsc::error::TrySendError;
        self.tx
            .try_send(Msg::Event(event))
            .map_err(|err| match err {
                TrySendError::Full(Msg::Event(e)) => TrySendError::Full(e),
                TrySendError::Closed(Msg::Event(e)) => TrySendError::Closed(e),
                _ => unreachable!("only events are sent here"),
            })
    }

    /// Waits until everything sent before is committed.
    pub async fn flush(&self) -> Result<(), SinkClosed> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Flush(done))
            .await
            .map_err(|_| SinkClosed)?;
        wait.await.map_err(|_| SinkClosed)
    }

    /// `flush` for synchronous code (not from inside an async task).
    pub fn blocking_flush(&self) -> Result<(), SinkClosed> {
        let (done, wait) = oneshot::channel();
        self.tx
            .blocking_send(Msg::Flush(done))
            .map_err(|_| SinkClosed)?;
        wait.blocking_recv().map_err(|_| SinkClosed)
    }

    /// Messages waiting in the channel right now.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    pub fn capacity(&self) -> usize {
        self.tx.max_capacity()
    }

    pub fn stats(&self) -> WriterStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Resolves once a write has failed: the journal records nothing more
    /// of the run but its end, so nothing more should start.
    pub fn failed(&self) -> WaitForCancellationFuture<'_> {
        self.failed.cancelled()
    }

    /// Cancelled once a write has failed (for those that only look).
    pub fn failed_token(&self) -> CancellationToken {
        self.failed.clone()
    }

    /// What could not be recorded, once a write has failed.
    pub fn failure(&self) -> Option<WriteFailure> {
        self.stats().failure
    }
}

pub struct JournalWriter;

impl JournalWriter {
    /// Opens the journal (creating and migrating it if needed) on the
    /// caller's thread, so errors show up here, then starts the writer thread.
    pub fn spawn(
        path: impl AsRef<Path>,
        options: WriterOptions,
    ) -> Result<(JournalSink, JoinHandle<WriterStats>), JournalError> {
        let path = path.as_ref();
        let conn = super::open_connection(path)?;
        let (tx, rx) = mpsc::channel(options.capacity.max(1));
        let stats = Arc::new(Mutex::new(WriterStats::default()));
        let shared = Arc::clone(&stats);
        let failed = CancellationToken::new();
        let on_failure = failed.clone();
        let handle = std::thread::Builder::new()
            .name("jobdeck-journal".to_owned())
            .spawn(move || Writer::new(conn, options, shared, on_failure).run(rx))
            .map_err(|cause| JournalError::Io {
                path: path.to_path_buf(),
                cause,
            })?;
        Ok((JournalSink { tx, stats, failed }, handle))
    }
}

/// What the writer remembers about one host's step.
#[derive(Debug)]
struct StepState {
    /// Added to the engine's attempt numbers: when an instance is resumed,
    /// its earlier attempts are already in the journal and must stay.
    attempt_offset: u32,
    /// The attempt (as stored) that output is attributed to.
    current_attempt: u32,
    output: StepOutput,
}

#[derive(Debug)]
struct InstanceState {
    hosts: usize,
    steps: usize,
    batches: usize,
    /// Nothing about its hosts was in the journal before this writer saw
    /// it, so per-step state need not be loaded from the database.
    fresh: bool,
    per_step: HashMap<(HostIndex, StepIndex), StepState>,
    /// Hosts that finished in this transaction: their steps' state goes
    /// once it is written (`forget_finished_hosts`).
    finished_hosts: Vec<HostIndex>,
}

/// The default of `WriterOptions::index_when_idle`.
pub const INDEX_WHEN_IDLE: Duration = Duration::from_millis(200);

struct Writer {
    conn: Connection,
    state: WriterState,
    /// Indexes stored output for search behind the writes.
    follower: Follower,
    /// Output was stored that the index may not hold yet.
    index_behind: bool,
    /// A run ended: index without waiting for a quiet moment (still a
    /// short step at a time, and events first).
    index_now: bool,
    shared: Arc<Mutex<WriterStats>>,
    /// Cancelled when a write fails.
    on_failure: CancellationToken,
}

/// Everything but the connection, so a transaction on the connection and
/// the state can be borrowed side by side.
struct WriterState {
    options: WriterOptions,
    stats: WriterStats,
    /// `None` remembers an id with no instance row, so a flood of events for
    /// it costs one lookup.
    instances: HashMap<InstanceId, Option<InstanceState>>,
    /// Instances that finished in the current transaction; forgotten after it.
    finished: Vec<InstanceId>,
    /// Host names of the instances being recorded, to name what a failed
    /// write could not record.
    host_names: HashMap<InstanceId, Vec<String>>,
    /// Set once a write failed.
    failure: Option<FailureLog>,
}

impl Writer {
    fn new(
        conn: Connection,
        options: WriterOptions,
        shared: Arc<Mutex<WriterStats>>,
        on_failure: CancellationToken,
    ) -> Writer {
        // Output an earlier writer left unindexed: at the first pause.
        let index_behind = options.index_search;
        Writer {
            conn,
            state: WriterState {
                options,
                stats: WriterStats::default(),
                instances: HashMap::new(),
                finished: Vec::new(),
                host_names: HashMap::new(),
                failure: None,
            },
            follower: Follower::new(),
            index_behind,
            index_now: false,
            shared,
            on_failure,
        }
    }

    fn run(mut self, mut rx: mpsc::Receiver<Msg>) -> WriterStats {
        let max = self.state.options.max_batch_events.max(1);
        let mut events = Vec::with_capacity(max);
        let mut acks = Vec::new();
        // A clock to wait for events with a timeout; without one the index
        // is caught up when the writer stops.
        let clock = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .ok();
        loop {
            let first = match &clock {
                Some(clock) if self.index_behind => {
                    let wait = if self.index_now {
                        Duration::ZERO
                    } else {
                        self.state.options.index_when_idle
                    };
                    match clock.block_on(async { tokio::time::timeout(wait, rx.recv()).await }) {
                        Ok(Some(msg)) => msg,
                        Ok(None) => break,
                        Err(_idle) => {
                            self.index_step();
                            continue;
                        }
                    }
                }
                _ => match rx.blocking_recv() {
                    Some(msg) => msg,
                    None => break,
                },
            };
            let mut next = Some(first);
            while let Some(msg) = next {
                match msg {
                    Msg::Event(e) => events.push(e),
                    Msg::Flush(ack) => acks.push(ack),
                }
                next = if events.len() < max {
                    rx.try_recv().ok()
                } else {
                    None
                };
            }
            if !events.is_empty() {
                self.write_batch(&mut events);
            }
            // Before the acks, so a flusher sees the stats of what it waited for.
            if let Ok(mut shared) = self.shared.lock() {
                *shared = self.state.stats.clone();
            }
            for ack in acks.drain(..) {
                let _ = ack.send(()); // the flusher may have given up waiting
            }
        }
        // The last sink is gone (a headless run ends with the process):
        // index everything before the thread ends.
        while self.index_behind {
            self.index_step();
        }
        self.state.stats
    }

    /// One short step of indexing stored output (`search::follow`).
    fn index_step(&mut self) {
        if self.state.failure.is_some() {
            self.index_behind = false;
            return;
        }
        let started = std::time::Instant::now();
        // While a run is live its next batch waits for the step: short
        // steps then, long ones (fuller groups, fewer commits) otherwise.
        let live = self.state.instances.values().any(Option::is_some);
        let size = if live {
            follow::LIVE_STEP
        } else {
            follow::QUIET_STEP
        };
        let result = self.follower.step(&self.conn, size);
        let stats = &mut self.state.stats;
        stats.index_busy += started.elapsed();
        match result {
            Ok(step) => {
                stats.rows_indexed += step.rows as u64;
                self.index_behind = step.more;
            }
            Err(err) => {
                // The rows stay behind the watermark: searches read them in
                // full, and the next write tries again.
                self.state
                    .problem(true, format!("indexing output for search failed: {err}"));
                self.index_behind = false;
            }
        }
        self.index_now &= self.index_behind;
        if let Ok(mut shared) = self.shared.lock() {
            *shared = self.state.stats.clone();
        }
    }

    fn write_batch(&mut self, events: &mut Vec<Event>) {
        if self.state.failure.is_some() {
            self.after_failure(events);
            return;
        }
        let count = events.len();
        let started = std::time::Instant::now();
        let state = &mut self.state;
        for event in events.iter() {
            if let EventKind::InstanceStarted { hosts, .. } = &event.kind {
                state.host_names.insert(event.instance, hosts.clone());
            }
        }
        let (mut applied, mut skipped) = (0, 0);
        let stored_before = state.stats.output_bytes_stored;
        let result = begin_immediate(&self.conn).and_then(|tx| {
            for event in events.iter() {
                match state.apply(&tx, event) {
                    Ok(true) => applied += 1,
                    Ok(false) => skipped += 1,
                    // A bad event is skipped; the journal itself is fine.
                    Err(err) if is_event_error(&err) => {
                        state.problem(true, format!("instance {}: {err}", event.instance))
                    }
                    Err(err) => return Err(err),
                }
            }
            state.write_truncation_markers(&tx)?;
            state.forget_finished_hosts();
            state.stats.steps_held = state.steps_held();
            tx.commit()
        });
        state.stats.busy += started.elapsed();
        match result {
            Ok(()) => {
                state.stats.events_applied += applied;
                state.stats.events_skipped += skipped;
                state.stats.transactions += 1;
                state.stats.largest_transaction = state.stats.largest_transaction.max(count);
                self.index_behind |=
                    state.options.index_search && state.stats.output_bytes_stored > stored_before;
                self.index_now |= !state.finished.is_empty();
                for id in state.finished.drain(..) {
                    state.instances.remove(&id);
                    state.host_names.remove(&id);
                }
                events.clear();
            }
            Err(err) => self.fail(err, events),
        }
    }

    /// A write failed: nothing of this batch is in the journal. Say why in
    /// the journal if that still fits, tell the sink's users, and from now
    /// on record only the runs' ends.
    fn fail(&mut self, err: rusqlite::Error, events: &mut Vec<Event>) {
        let state = &mut self.state;
        state.finished.clear();
        // What we believed about the database may not hold any more.
        state.instances.clear();
        state.problem(
            true,
            format!("a write failed, {} events lost: {err}", events.len()),
        );
        let mut failure = FailureLog::new(&err);
        for (&id, names) in &state.host_names {
            failure.track(id, names);
        }
        for event in events.iter() {
            failure.note(event);
        }
        failure.write_reasons(&self.conn);
        state.failure = Some(failure);
        self.after_failure(events);
        if let Ok(mut shared) = self.shared.lock() {
            *shared = self.state.stats.clone();
        }
        self.on_failure.cancel();
    }

    /// Once a write failed: events only tell which hosts ran unrecorded; an
    /// instance's end is recorded as an interruption.
    fn after_failure(&mut self, events: &mut Vec<Event>) {
        let Some(failure) = self.state.failure.as_mut() else {
            return;
        };
        for event in events.drain(..) {
            failure.note(&event);
            if let EventKind::InstanceFinished { .. } = event.kind {
                failure.write_end(&self.conn, event.instance);
            }
        }
        self.state.stats.failure = Some(failure.report());
    }
}

impl WriterState {
    fn problem(&mut self, is_error: bool, what: String) {
        if is_error {
            self.stats.errors += 1;
        }
        self.stats.last_problem = Some(what);
    }

    fn skip(&mut self, event: &Event, why: &str) -> rusqlite::Result<bool> {
        self.problem(
            false,
            format!(
                "skipped {:?} for instance {}: {why}",
                kind_name(&event.kind),
                event.instance
            ),
        );
        Ok(false)
    }

    /// Applies one event; `Ok(false)` when it was skipped.
    fn apply(&mut self, tx: &Transaction<'_>, event: &Event) -> rusqlite::Result<bool> {
        let id = event.instance;
        let at = event.at;
        if let std::collections::hash_map::Entry::Vacant(slot) = self.instances.entry(id) {
            slot.insert(load_instance(tx, id)?);
        }
        let Some(Some(inst)) = self.instances.get_mut(&id) else {
            return self.skip(event, "no such instance (create_instance first)");
        };
        let host_ok = |h: HostIndex, inst: &InstanceState| h < inst.hosts;
        let step_ok = |s: StepIndex, inst: &InstanceState| s < inst.steps;
        match &event.kind {
            EventKind::InstanceStarted {
                flow: _,
                hosts,
                steps,
                batches,
            } => {
                tx.prepare_cached(
                    "UPDATE instances SET started_at = COALESCE(started_at, ?2), status = 'running' WHERE id = ?1",
                )?
                .execute(params![id, at])?;
                let mut insert_step = tx.prepare_cached(
                    "INSERT INTO steps (instance_id, step_idx, name) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                )?;
                for (i, name) in steps.iter().enumerate() {
                    insert_step.execute(params![id, i, name])?;
                }
                let mut place: Vec<Option<(BatchIndex, usize)>> = vec![None; hosts.len()];
                for (b, members) in batches.iter().enumerate() {
                    for (pos, &h) in members.iter().enumerate() {
                        if let Some(slot) = place.get_mut(h) {
                            *slot = Some((b, pos));
                        }
                    }
                }
                let mut insert_host = tx.prepare_cached(
                    "INSERT INTO hosts (instance_id, host_idx, name, batch_idx, batch_pos) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT DO NOTHING",
                )?;
                for (i, name) in hosts.iter().enumerate() {
                    let (batch, pos) = place[i].unzip();
                    insert_host.execute(params![id, i, name, batch, pos])?;
                }
                let mut insert_batch = tx.prepare_cached(
                    "INSERT INTO batches (instance_id, batch_idx, size) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                )?;
                for (b, members) in batches.iter().enumerate() {
                    insert_batch.execute(params![id, b, members.len()])?;
                }
                inst.hosts = inst.hosts.max(hosts.len());
                inst.steps = inst.steps.max(steps.len());
                inst.batches = inst.batches.max(batches.len());
            }
            EventKind::BatchStarted { batch } => {
                if *batch >= inst.batches {
                    return self.skip(event, "batch index past the announced batches");
                }
                tx.prepare_cached(
                    "UPDATE batches SET status = 'running', started_at = COALESCE(started_at, ?3)
                     WHERE instance_id = ?1 AND batch_idx = ?2",
                )?
                .execute(params![id, batch, at])?;
                tx.prepare_cached(
                    "UPDATE instances SET status = 'running', next_batch = ?2, wait_reason = NULL, resume_at = NULL
                     WHERE id = ?1",
                )?
                .execute(params![id, batch])?;
            }
            EventKind::HostConnecting { host } => {
                if !host_ok(*host, inst) {
                    return self.skip(event, "host index past the announced list");
                }
                tx.prepare_cached(
                    "UPDATE hosts SET status = 'connecting', started_at = COALESCE(started_at, ?3)
                     WHERE instance_id = ?1 AND host_idx = ?2",
                )?
                .execute(params![id, host, at])?;
            }
            // Approval gates are live state for the operator; the step's own
            // start and finish record what happened.
            EventKind::ApprovalRequested { .. } | EventKind::Approved { .. } => {}
            EventKind::StepStarted {
                host,
                step,
                attempt,
            } => {
                if !host_ok(*host, inst) || !step_ok(*step, inst) {
                    return self.skip(event, "host or step index past the announced lists");
                }
                let fresh = inst.fresh;
                let st = step_state(tx, inst, id, *host, *step, fresh)?;
                st.current_attempt = attempt + st.attempt_offset;
                let stored_attempt = st.current_attempt;
                tx.prepare_cached(
                    "INSERT INTO step_results (instance_id, host_idx, step_idx, attempt, status, started_at)
                     VALUES (?1, ?2, ?3, ?4, 'running', ?5)
                     ON CONFLICT DO UPDATE SET status = 'running', started_at = excluded.started_at,
                         finished_at = NULL, exit_code = NULL, signal = NULL, error = NULL",
                )?
                .execute(params![id, host, step, stored_attempt, at])?;
                tx.prepare_cached(
                    "UPDATE hosts SET status = 'running', current_step = ?3, started_at = COALESCE(started_at, ?4),
                         finished_at = NULL
                     WHERE instance_id = ?1 AND host_idx = ?2",
                )?
                .execute(params![id, host, step, at])?;
            }
            EventKind::Output {
                host,
                step,
                stream,
                data,
            } => {
                if !host_ok(*host, inst) || !step_ok(*step, inst) {
                    return self.skip(event, "host or step index past the announced lists");
                }
                let cap = self.options.output_cap_bytes;
                let fresh = inst.fresh;
                let st = step_state(tx, inst, id, *host, *step, fresh)?;
                let key = OutputKey {
                    instance: id,
                    host: *host,
                    step: *step,
                    attempt: st.current_attempt.max(st.attempt_offset + 1),
                };
                let dropped = st.output.push(tx, key, cap, *stream, at, data)?;
                self.stats.output_bytes_stored +=
                    data.len() as u64 - dropped.min(data.len() as u64);
                self.stats.output_bytes_dropped += dropped;
            }
            EventKind::StepFinished {
                host,
                step,
                attempt,
                outcome,
            } => {
                if !host_ok(*host, inst) || !step_ok(*step, inst) {
                    return self.skip(event, "host or step index past the announced lists");
                }
                let fresh = inst.fresh;
                let st = step_state(tx, inst, id, *host, *step, fresh)?;
                let stored_attempt = attempt + st.attempt_offset;
                tx.prepare_cached(
                    "INSERT INTO step_results (instance_id, host_idx, step_idx, attempt, status, exit_code, signal,
                         finished_at, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT DO UPDATE SET status = excluded.status, exit_code = excluded.exit_code,
                         signal = excluded.signal, finished_at = excluded.finished_at, error = excluded.error",
                )?
                .execute(params![
                    id,
                    host,
                    step,
                    stored_attempt,
                    outcome.status.as_str(),
                    outcome.exit_code,
                    outcome.signal,
                    at,
                    outcome.error
                ])?;
                tx.prepare_cached(
                    "UPDATE hosts SET exit_code = ?3, error = COALESCE(?4, error) WHERE instance_id = ?1 AND host_idx = ?2",
                )?
                .execute(params![id, host, outcome.exit_code, outcome.error])?;
            }
            EventKind::HostFinished { host, status } => {
                if !host_ok(*host, inst) {
                    return self.skip(event, "host index past the announced hosts");
                }
                tx.prepare_cached(
                    "UPDATE hosts SET status = ?3, finished_at = ?4 WHERE instance_id = ?1 AND host_idx = ?2",
                )?
                .execute(params![id, host, status.as_str(), at])?;
                inst.finished_hosts.push(*host);
            }
            EventKind::BatchFinished { batch, ok, failed } => {
                if *batch >= inst.batches {
                    return self.skip(event, "batch index past the announced batches");
                }
                tx.prepare_cached(
                    "UPDATE batches SET status = 'done', finished_at = ?3, ok = ?4, failed = ?5
                     WHERE instance_id = ?1 AND batch_idx = ?2",
                )?
                .execute(params![id, batch, at, ok, failed])?;
                tx.prepare_cached(
                    "UPDATE instances SET next_batch = max(next_batch, ?2) WHERE id = ?1",
                )?
                .execute(params![id, batch + 1])?;
            }
            EventKind::Waiting {
                next_batch,
                reason,
                until,
            } => {
                tx.prepare_cached(
                    "UPDATE instances SET status = 'waiting', next_batch = ?2, wait_reason = ?3, resume_at = ?4
                     WHERE id = ?1",
                )?
                .execute(params![id, next_batch, reason.as_str(), until])?;
            }
            EventKind::Paused => {
                tx.prepare_cached("UPDATE instances SET status = 'paused' WHERE id = ?1")?
                    .execute([id])?;
            }
            EventKind::Resumed => {
                tx.prepare_cached(
                    "UPDATE instances SET status = 'running', wait_reason = NULL, resume_at = NULL WHERE id = ?1",
                )?
                .execute([id])?;
            }
            EventKind::Exported {
                host,
                step,
                name,
                value,
            } => {
                if !host_ok(*host, inst) || !step_ok(*step, inst) {
                    return self.skip(event, "host or step index past the announced lists");
                }
                tx.prepare_cached(
                    "INSERT INTO exports (instance_id, host_idx, step_idx, name, value, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT DO UPDATE SET value = excluded.value, at = excluded.at",
                )?
                .execute(params![id, host, step, name, value, at])?;
            }
            EventKind::GuardHit { hit } => {
                let Some(outcome) = hit.outcome else {
                    return self.skip(event, "a guard hit without an outcome");
                };
                tx.prepare_cached(
                    "INSERT INTO guard_hits (instance_id, rule, action, outcome, location, step_idx, matched,
                         os_user, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, (SELECT os_user FROM instances WHERE id = ?1), ?8)",
                )?
                .execute(params![
                    id,
                    hit.rule,
                    hit.action.as_str(),
                    outcome.as_str(),
                    hit.location,
                    hit.step,
                    hit.matched,
                    at
                ])?;
            }
            EventKind::LockWaiting { until, .. } => {
                tx.prepare_cached(
                    "UPDATE instances SET status = 'waiting', wait_reason = 'lock', resume_at = ?2 WHERE id = ?1",
                )?
                .execute(params![id, until])?;
            }
            EventKind::LockAcquired { .. } => {
                tx.prepare_cached(
                    "UPDATE instances SET status = 'running', wait_reason = NULL, resume_at = NULL
                     WHERE id = ?1 AND wait_reason = 'lock'",
                )?
                .execute([id])?;
            }
            EventKind::PreflightChecked { mode, hosts } => {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO preflight (instance_id, host_idx, mode, ready, reason, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT DO UPDATE SET mode = excluded.mode, ready = excluded.ready,
                         reason = excluded.reason, at = excluded.at",
                )?;
                let mut note = tx.prepare_cached(
                    "UPDATE hosts SET error = ?3 WHERE instance_id = ?1 AND host_idx = ?2",
                )?;
                for host in hosts.iter().filter(|h| host_ok(h.host, inst)) {
                    insert.execute(params![
                        id,
                        host.host,
                        mode.as_str(),
                        host.ready,
                        host.reason,
                        at
                    ])?;
                    if let Some(reason) = host.reason.as_ref().filter(|_| !host.ready) {
                        note.execute(params![id, host.host, format!("pre-flight: {reason}")])?;
                    }
                }
            }
            // Live only: what a console shows while the run waits or starts.
            EventKind::GuardConfirmNeeded { .. }
            | EventKind::HostSlotWaiting { .. }
            | EventKind::RunRefused { .. } => {}
            EventKind::InstanceFinished { status, reason } => {
                if !status.is_final() {
                    return self.skip(event, "InstanceFinished with a status that is not final");
                }
                // An interrupted instance keeps where it stood, so it can be resumed
                // (after an interval wait, even automatically).
                tx.prepare_cached(
                    "UPDATE instances SET status = ?2, reason = ?3, finished_at = ?4,
                         interrupted_from = CASE WHEN ?2 = 'interrupted' THEN status END,
                         wait_reason = CASE WHEN ?2 = 'interrupted' THEN wait_reason END,
                         resume_at = CASE WHEN ?2 = 'interrupted' THEN resume_at END
                     WHERE id = ?1",
                )?
                .execute(params![id, status.as_str(), reason, at])?;
                close_in_flight(tx, id, *status)?;
                self.finished.push(id);
            }
        }
        Ok(true)
    }

    /// A finished host's steps are written and done with: their state goes,
    /// so the writer's memory and its work at each commit follow the hosts
    /// in flight, not every host of the run (10,000 of them at a time).
    fn forget_finished_hosts(&mut self) {
        for inst in self.instances.values_mut().flatten() {
            for host in std::mem::take(&mut inst.finished_hosts) {
                for step in 0..inst.steps {
                    inst.per_step.remove(&(host, step));
                }
            }
        }
    }

    fn steps_held(&self) -> usize {
        self.instances
            .values()
            .flatten()
            .map(|inst| inst.per_step.len())
            .sum()
    }

    fn write_truncation_markers(&mut self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        let cap = self.options.output_cap_bytes;
        for (&id, inst) in self.instances.iter_mut() {
            let Some(inst) = inst else { continue };
            for (&(host, step), st) in inst.per_step.iter_mut() {
                let key = OutputKey {
                    instance: id,
                    host,
                    step,
                    attempt: st.current_attempt,
                };
                st.output.write_marker(tx, key, cap)?;
            }
        }
        Ok(())
    }
}

fn load_instance(tx: &Transaction<'_>, id: InstanceId) -> rusqlite::Result<Option<InstanceState>> {
    tx.prepare_cached(
        "SELECT (SELECT count(*) FROM hosts WHERE instance_id = ?1),
                (SELECT count(*) FROM steps WHERE instance_id = ?1),
                (SELECT count(*) FROM batches WHERE instance_id = ?1)
         FROM instances WHERE id = ?1",
    )?
    .query_row([id], |r| {
        let hosts: usize = r.get(0)?;
        Ok(InstanceState {
            hosts,
            steps: r.get(1)?,
            batches: r.get(2)?,
            fresh: hosts == 0,
            per_step: HashMap::new(),
            finished_hosts: Vec::new(),
        })
    })
    .optional()
}

/// The writer's memory of one host's step, loaded from the journal when the
/// instance was already there before this writer (a resumed run).
fn step_state<'a>(
    tx: &Transaction<'_>,
    inst: &'a mut InstanceState,
    id: InstanceId,
    host: HostIndex,
    step: StepIndex,
    fresh: bool,
) -> rusqlite::Result<&'a mut StepState> {
    use std::collections::hash_map::Entry;
    match inst.per_step.entry((host, step)) {
        Entry::Occupied(e) => Ok(e.into_mut()),
        Entry::Vacant(e) => {
            let mut st = StepState {
                attempt_offset: 0,
                current_attempt: 0,
                output: StepOutput::new(),
            };
            if !fresh {
                let key = params![id, host, step];
                st.attempt_offset = tx
                    .prepare_cached(
                        "SELECT COALESCE(max(attempt), 0) FROM step_results
                         WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3",
                    )?
                    .query_row(key, |r| r.get(0))?;
                st.current_attempt = st.attempt_offset;
                let key = OutputKey {
                    instance: id,
                    host,
                    step,
                    attempt: st.current_attempt,
                };
                st.output = StepOutput::load(tx, key)?;
            }
            Ok(e.insert(st))
        }
    }
}

fn kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::InstanceStarted { .. } => "instance_started",
        EventKind::BatchStarted { .. } => "batch_started",
        EventKind::HostConnecting { .. } => "host_connecting",
        EventKind::ApprovalRequested { .. } => "approval_requested",
        EventKind::Approved { .. } => "approved",
        EventKind::StepStarted { .. } => "step_started",
        EventKind::Output { .. } => "output",
        EventKind::StepFinished { .. } => "step_finished",
        EventKind::HostFinished { .. } => "host_finished",
        EventKind::BatchFinished { .. } => "batch_finished",
        EventKind::Waiting { .. } => "waiting",
        EventKind::Paused => "paused",
        EventKind::Resumed => "resumed",
        EventKind::Exported { .. } => "exported",
        EventKind::InstanceFinished { .. } => "instance_finished",
        EventKind::GuardHit { .. } => "guard_hit",
        EventKind::GuardConfirmNeeded { .. } => "guard_confirm_needed",
        EventKind::LockWaiting { .. } => "lock_waiting",
        EventKind::LockAcquired { .. } => "lock_acquired",
        EventKind::PreflightChecked { .. } => "preflight_checked",
        EventKind::HostSlotWaiting { .. } => "host_slot_waiting",
        EventKind::RunRefused { .. } => "run_refused",
    }
}
