//! A past run, replayed into a `RunStore` from the journal: the events the
//! engine emitted are rebuilt from the journal's rows and fed to the store
//! in order, so the Run view shows a replay exactly as it showed the run.
//!
//! - The small rows (instance, batches, hosts, step attempts) become a
//!   `ReplayPlan`: their events in run order, kept in memory (a few per
//!   host and attempt). Output is never held: it is streamed from the
//!   journal in arrival order and merged in by time, a budget at a time.
//! - Within one host the order is the journal's (connect, each attempt's
//!   start, its output, its end, the host's end); across hosts it is by
//!   time. Output at the same millisecond as its step's end comes first.
//! - Positions are on a `Timeline` that shortens every gap longer than
//!   `max_gap` (a two-hour batch interval plays as five seconds).
//! - Everything here reads SQLite: call it off the UI task.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;

use bytes::Bytes;

use crate::engine::events::{
    Event, EventKind, HostIndex, InstanceId, InstanceStatus, StepIndex, StepOutcome, UnixMillis,
};
use crate::journal::MAX_REPLAY_GAP_MS;
use crate::journal::{InstanceDetail, Journal};
use crate::plan::RerunHosts;
use crate::tui::run_store::{HOST_BUFFER_BYTES, RunStore};

/// What a rerun of failed hosts takes (`jobdeck rerun --failed`).
const FAILED: RerunHosts = RerunHosts {
    failed: true,
    skipped: false,
};

// ------------------------------------------------------------ timeline

/// Maps the run's wall-clock times onto a replay timeline where no gap is
/// longer than `max_gap`. Kept as runs of times without a long gap
/// (segments), so its size grows with the long gaps, not the events.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    /// Sorted, disjoint; consecutive segments are more than `max_gap` apart.
    segments: Vec<(UnixMillis, UnixMillis)>,
    /// Where each segment starts on the timeline.
    mapped: Vec<i64>,
    max_gap: i64,
}

impl Timeline {
    pub fn new(times: impl IntoIterator<Item = UnixMillis>, max_gap: i64) -> Timeline {
        let mut timeline = Timeline {
            max_gap: max_gap.max(0),
            ..Timeline::default()
        };
        for t in times {
            timeline.insert(t);
        }
        timeline
    }

    /// Adds a time (in any order).
    pub fn insert(&mut self, t: UnixMillis) {
        let gap = self.max_gap;
        // The segment starting at or before t.
        let i = self.segments.partition_point(|&(start, _)| start <= t);
        if i > 0 && t <= self.segments[i - 1].1 {
            // Inside a segment already (most output): nothing moves.
            return;
        }
        if i > 0 && t <= self.segments[i - 1].1.saturating_add(gap) {
            let seg = &mut self.segments[i - 1];
            seg.1 = seg.1.max(t);
            // Reaching the next segment joins them.
            if i < self.segments.len() && self.segments[i].0 <= self.segments[i - 1].1 + gap {
                let next = self.segments.remove(i);
                self.segments[i - 1].1 = self.segments[i - 1].1.max(next.1);
            }
        } else if i < self.segments.len() && self.segments[i].0 <= t.saturating_add(gap) {
            self.segments[i].0 = t;
        } else {
            self.segments.insert(i, (t, t));
        }
        self.remap();
    }

    fn remap(&mut self) {
        self.mapped.clear();
        let mut at = 0;
        for (i, &(start, end)) in self.segments.iter().enumerate() {
            if i > 0 {
                at += self.max_gap;
            }
            self.mapped.push(at);
            at += end - start;
        }
    }

    /// Milliseconds into the replay of a real time.
    pub fn map(&self, at: UnixMillis) -> i64 {
        let i = self.segments.partition_point(|&(start, _)| start <= at);
        if i == 0 {
            return 0;
        }
        let (start, end) = self.segments[i - 1];
        let base = self.mapped[i - 1];
        if at <= end {
            base + (at - start)
        } else {
            base + (end - start) + (at - end).min(self.max_gap)
        }
    }

    /// The real time at a replay position (the latest one that maps to it).
    pub fn unmap(&self, position: i64) -> UnixMillis {
        let i = self.mapped.partition_point(|&m| m <= position);
        if i == 0 {
            return self.segments.first().map_or(0, |s| s.0);
        }
        let (start, end) = self.segments[i - 1];
        let offset = position - self.mapped[i - 1];
        if offset <= end - start {
            start + offset
        } else {
            end + (offset - (end - start)).min(self.max_gap - 1).max(0)
        }
    }

    pub fn duration(&self) -> i64 {
        match (self.segments.last(), self.mapped.last()) {
            (Some(&(start, end)), Some(&m)) => m + end - start,
            _ => 0,
        }
    }
}

// ------------------------------------------------------------ the plan

/// Everything but the output, as events in run order, and where to find
/// each attempt's start (its output may not come before it).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayPlan {
    pub instance: InstanceId,
    pub flow: String,
    pub status: InstanceStatus,
    /// Hosts that failed, were cancelled or interrupted: what a rerun takes.
    pub failed_hosts: usize,
    events: Vec<Event>,
    starts: HashMap<(HostIndex, StepIndex, u32), usize>,
    /// The run's output rows lie in this id range (a rowid range scan
    /// reads them in order without sorting).
    chunk_ids: (i64, i64),
    /// The journal's cut markers, by the output row each goes before.
    markers: HashMap<i64, crate::journal::Chunk>,
    pub timeline: Timeline,
}

/// Where a replay stands: the next planned event, the last output row
/// streamed, and the real time it has reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayCursor {
    next_event: usize,
    last_chunk: i64,
    pub reached: UnixMillis,
}

/// Ties at one millisecond: the run's start first, its end last.
fn rank(kind: &EventKind) -> u8 {
    match kind {
        EventKind::InstanceStarted { .. } => 0,
        EventKind::BatchStarted { .. } => 1,
        EventKind::HostConnecting { .. } => 2,
        EventKind::StepStarted { .. } => 3,
        EventKind::StepFinished { .. } => 5,
        EventKind::HostFinished { .. } => 6,
        EventKind::BatchFinished { .. } => 7,
        EventKind::InstanceFinished { .. } => 9,
        _ => 4,
    }
}

impl ReplayPlan {
    /// The events of an instance's rows. `last` is the latest time seen
    /// anywhere (output included): ends that were never stamped go there.
    pub fn from_detail(detail: &InstanceDetail, last: UnixMillis) -> ReplayPlan {
        let record = &detail.instance;
        let id = record.id;
        let start = record.started_at.unwrap_or(record.created_at);
        let end = record.finished_at.unwrap_or(last).max(start);
        let ev = |at: UnixMillis, kind: EventKind| Event {
            instance: id,
            at,
            kind,
        };
        // One queue for the run and its batches, one per host; each in order.
        let mut run_queue = vec![ev(
            start,
            EventKind::InstanceStarted {
                flow: record.flow.clone(),
                hosts: detail.hosts.iter().map(|h| h.name.clone()).collect(),
                steps: detail.steps.clone(),
                batches: detail.batches.iter().map(|b| b.hosts.clone()).collect(),
            },
        )];
        let mut batch_events = Vec::new();
        for b in &detail.batches {
            if let Some(at) = b.started_at {
                batch_events.push(ev(at, EventKind::BatchStarted { batch: b.index }));
            }
            if let Some(at) = b.finished_at {
                batch_events.push(ev(
                    at,
                    EventKind::BatchFinished {
                        batch: b.index,
                        ok: b.ok.unwrap_or(0),
                        failed: b.failed.unwrap_or(0),
                    },
                ));
            }
        }
        batch_events.sort_by_key(|e| (e.at, rank(&e.kind)));
        run_queue.extend(batch_events);
        let mut attempts: Vec<Vec<&crate::journal::StepResultRecord>> =
            vec![Vec::new(); detail.hosts.len()];
        for a in &detail.step_results {
            if let Some(list) = attempts.get_mut(a.host) {
                list.push(a);
            }
        }
        let mut queues = vec![run_queue];
        for (h, host) in detail.hosts.iter().enumerate() {
            let mut queue = Vec::new();
            let host_start = host.started_at.unwrap_or(start);
            if let Some(at) = host.started_at {
                queue.push(ev(at, EventKind::HostConnecting { host: h }));
            }
            // As the journal reads a host back: by start, then step, attempt.
            attempts[h].sort_by_key(|a| (a.started_at.is_none(), a.started_at, a.step, a.attempt));
            for a in &attempts[h] {
                let started = a.started_at.or(a.finished_at).unwrap_or(host_start);
                queue.push(ev(
                    started,
                    EventKind::StepStarted {
                        host: h,
                        step: a.step,
                        attempt: a.attempt,
                    },
                ));
                if let Some(at) = a.finished_at {
                    queue.push(ev(
                        at,
                        EventKind::StepFinished {
                            host: h,
                            step: a.step,
                            attempt: a.attempt,
                            outcome: StepOutcome {
                                status: a.status,
                                exit_code: a.exit_code,
                                signal: a.signal.clone(),
                                error: a.error.clone(),
                            },
                        },
                    ));
                }
            }
            if host.status.is_final() {
                queue.push(ev(
                    host.finished_at.unwrap_or(end),
                    EventKind::HostFinished {
                        host: h,
                        status: host.status,
                    },
                ));
            }
            queues.push(queue);
        }
        if record.status.is_final() {
            queues[0].push(ev(
                end,
                EventKind::InstanceFinished {
                    status: record.status,
                    reason: record.reason.clone(),
                },
            ));
        }
        // Merge the queues by time, keeping each queue's own order.
        let mut heads: BinaryHeap<Reverse<(UnixMillis, u8, usize, usize)>> = BinaryHeap::new();
        for (q, queue) in queues.iter().enumerate() {
            if let Some(e) = queue.first() {
                heads.push(Reverse((e.at, rank(&e.kind), q, 0)));
            }
        }
        let mut events = Vec::new();
        let mut starts = HashMap::new();
        while let Some(Reverse((_, _, q, i))) = heads.pop() {
            let event = queues[q][i].clone();
            if let EventKind::StepStarted {
                host,
                step,
                attempt,
            } = event.kind
            {
                starts.insert((host, step, attempt), events.len());
            }
            events.push(event);
            if let Some(e) = queues[q].get(i + 1) {
                heads.push(Reverse((e.at, rank(&e.kind), q, i + 1)));
            }
        }
        let failed_hosts = detail
            .hosts
            .iter()
            .filter(|h| FAILED.includes(h.status))
            .count();
        let timeline = Timeline::new(events.iter().map(|e| e.at), MAX_REPLAY_GAP_MS);
        ReplayPlan {
            instance: id,
            flow: record.flow.clone(),
            status: record.status,
            failed_hosts,
            events,
            starts,
            chunk_ids: (0, i64::MAX),
            markers: HashMap::new(),
            timeline,
        }
    }

    /// The planned events (no output), in replay order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
}

/// One output row with its row id (the streaming cursor).
struct OutputRow {
    id: i64,
    host: HostIndex,
    step: StepIndex,
    attempt: u32,
    at: UnixMillis,
    stream: crate::engine::events::Stream,
    data: Vec<u8>,
}

/// Feeds `emit` the events after `cursor` up to real time `until`, output
/// merged in. With a `budget` (output bytes) it may stop early: the
/// answer's bool says whether `until` was reached.
pub fn stream(
    journal: &Journal,
    plan: &ReplayPlan,
    mut cursor: ReplayCursor,
    until: UnixMillis,
    budget: Option<usize>,
    emit: &mut dyn FnMut(Event),
) -> Result<(ReplayCursor, bool), String> {
    let conn = journal.connection();
    // `+instance_id`: walk the rowids in order rather than sort the
    // instance's rows found by its index.
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, host_idx, step_idx, attempt, at, stream, data FROM output
             WHERE +instance_id = ?1 AND id > ?2 AND id <= ?3 ORDER BY id",
        )
        .map_err(|e| e.to_string())?;
    let (first, last) = plan.chunk_ids;
    let after = cursor.last_chunk.max(first - 1);
    let mut rows = stmt
        .query(rusqlite::params![plan.instance, after, last])
        .map_err(|e| e.to_string())?;
    let mut spent = 0usize;
    let events = &plan.events;
    let mut chunks: Vec<OutputRow> = Vec::new();
    loop {
        // Rows are read a few at a time so the emitting needs no borrow of them.
        chunks.clear();
        let mut done = false;
        while chunks.len() < 256 {
            let Some(r) = rows.next().map_err(|e| e.to_string())? else {
                done = true;
                break;
            };
            let stream: String = r.get(5).map_err(|e| e.to_string())?;
            chunks.push(OutputRow {
                id: r.get(0).map_err(|e| e.to_string())?,
                host: r.get(1).map_err(|e| e.to_string())?,
                step: r.get(2).map_err(|e| e.to_string())?,
                attempt: r.get(3).map_err(|e| e.to_string())?,
                at: r.get(4).map_err(|e| e.to_string())?,
                stream: crate::engine::events::Stream::parse(&stream)
                    .unwrap_or(crate::engine::events::Stream::Stdout),
                data: r.get(6).map_err(|e| e.to_string())?,
            });
        }
        for row in chunks.drain(..) {
            if row.at > until {
                return Ok(finish(cursor, until, emit, events));
            }
            // Everything planned before this output, then its attempt's start.
            let before = events[cursor.next_event..].partition_point(|e| e.at < row.at);
            if before > 0 {
                let last = cursor.next_event + before - 1;
                emit_through(&mut cursor, last, events, emit);
            }
            if let Some(&start) = plan.starts.get(&(row.host, row.step, row.attempt)) {
                emit_through(&mut cursor, start, events, emit);
            }
            // Where the journal dropped output, its marker (as `show` prints it).
            if let Some(marker) = plan.markers.get(&row.id) {
                emit(Event {
                    instance: plan.instance,
                    at: row.at,
                    kind: EventKind::Output {
                        host: marker.host,
                        step: marker.step,
                        stream: marker.stream,
                        data: Bytes::from(marker.data.clone()),
                    },
                });
            }
            spent += row.data.len();
            emit(Event {
                instance: plan.instance,
                at: row.at,
                kind: EventKind::Output {
                    host: row.host,
                    step: row.step,
                    stream: row.stream,
                    data: Bytes::from(row.data),
                },
            });
            cursor.last_chunk = row.id;
            cursor.reached = cursor.reached.max(row.at);
            if budget.is_some_and(|b| spent >= b) {
                return Ok((cursor, false));
            }
        }
        if done {
            return Ok(finish(cursor, until, emit, events));
        }
    }
}

/// Emits the planned events up to and including index `last`.
fn emit_through(
    cursor: &mut ReplayCursor,
    last: usize,
    events: &[Event],
    emit: &mut dyn FnMut(Event),
) {
    while cursor.next_event <= last && cursor.next_event < events.len() {
        emit(events[cursor.next_event].clone());
        cursor.next_event += 1;
    }
}

/// No output left before `until`: the planned events up to it.
fn finish(
    mut cursor: ReplayCursor,
    until: UnixMillis,
    emit: &mut dyn FnMut(Event),
    events: &[Event],
) -> (ReplayCursor, bool) {
    let upto = events[cursor.next_event..].partition_point(|e| e.at <= until);
    if upto > 0 {
        let last = cursor.next_event + upto - 1;
        emit_through(&mut cursor, last, events, emit);
    }
    cursor.reached = cursor.reached.max(until);
    (cursor, true)
}

/// Opens the journal for reading; a missing one is an error, never created.
pub fn open_journal(path: &Path) -> Result<Journal, String> {
    crate::journal::open_existing(path)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no journal at {}", path.display()))
}

/// Reads an instance's plan and its output's times (for the timeline).
pub fn read_plan(journal: &Journal, id: InstanceId) -> Result<ReplayPlan, String> {
    let detail = journal
        .instance(id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no run {id} in the journal"))?;
    let conn = journal.connection();
    let (first, last, latest): (Option<i64>, Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT min(id), max(id), max(at) FROM output WHERE instance_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(|e| e.to_string())?;
    let start = detail
        .instance
        .started_at
        .unwrap_or(detail.instance.created_at);
    let mut plan = ReplayPlan::from_detail(&detail, latest.unwrap_or(start).max(start));
    plan.chunk_ids = (first.unwrap_or(1), last.unwrap_or(0));
    for marker in journal
        .cut_markers(id, None, None)
        .map_err(|e| e.to_string())?
    {
        if let Some(before) = marker.before_id {
            plan.markers.insert(before, marker.chunk);
        }
    }
    let mut stmt = conn
        .prepare_cached("SELECT at FROM output WHERE instance_id = ?1")
        .map_err(|e| e.to_string())?;
    let mut rows = stmt.query([id]).map_err(|e| e.to_string())?;
    while let Some(r) = rows.next().map_err(|e| e.to_string())? {
        plan.timeline.insert(r.get(0).map_err(|e| e.to_string())?);
    }
    Ok(plan)
}

/// A store of the run up to real time `until` (the end: `i64::MAX`).
pub fn build(
    journal: &Journal,
    plan: &ReplayPlan,
    until: UnixMillis,
) -> Result<(RunStore, ReplayCursor), String> {
    let mut store = RunStore::new(plan.instance, HOST_BUFFER_BYTES);
    let (cursor, _) = stream(
        journal,
        plan,
        ReplayCursor::default(),
        until,
        None,
        &mut |e| store.absorb(&e),
    )?;
    Ok((store, cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_shortens_long_gaps_only() {
        let t = Timeline::new(vec![10_000_200, 1_500, 1_000, 10_000_000], 5_000);
        assert_eq!(t.map(1_000), 0);
        assert_eq!(t.map(1_500), 500);
        assert_eq!(t.map(1_700), 700);
        // The two-hour gap becomes five seconds.
        assert_eq!(t.map(9_000_000), 5_500);
        assert_eq!(t.map(10_000_000), 5_500);
        assert_eq!(t.map(10_000_200), 5_700);
        assert_eq!(t.duration(), 5_700);
        assert_eq!(t.map(0), 0);
        assert_eq!(Timeline::new(Vec::new(), 5_000).duration(), 0);
        // Back from positions to times.
        assert_eq!(t.unmap(0), 1_000);
        assert_eq!(t.unmap(500), 1_500);
        assert_eq!(t.unmap(5_500), 10_000_000);
        assert_eq!(t.unmap(5_700), 10_000_200);
        assert!(t.unmap(3_000) < 10_000_000);
        assert_eq!(t.map(t.unmap(3_000)), 3_000);
    }

    #[test]
    fn timeline_segments_join_whatever_the_insert_order() {
        let mut t = Timeline::new([0, 20_000], 5_000);
        assert_eq!(t.duration(), 5_000);
        for at in [16_000, 4_000, 12_000, 8_000] {
            t.insert(at);
        }
        // Every gap is now 4 s: nothing is shortened.
        assert_eq!(t.duration(), 20_000);
        assert_eq!(t.segments.len(), 1);
    }

    use crate::engine::events::{HostStatus, Stream};
    use crate::journal::{JournalWriter, NewInstance, WriterOptions};
    use crate::tui::run_store::OutputLine;

    const T0: i64 = 1_700_000_000_000;
    const HOUR: i64 = 3_600_000;

    fn outcome(status: HostStatus, code: i32) -> StepOutcome {
        StepOutcome {
            status,
            exit_code: Some(code),
            signal: None,
            error: (status != HostStatus::Ok).then(|| format!("exit status {code}")),
        }
    }

    /// A run as the engine sends it: two batches two hours apart; web01
    /// retries its first step; web02 fails with stderr and an unfinished
    /// last line; db1 is fine.
    fn run_events(id: InstanceId) -> Vec<Event> {
        let mut events = Vec::new();
        let mut at = |t: i64, kind: EventKind| {
            events.push(Event {
                instance: id,
                at: T0 + t,
                kind,
            })
        };
        let out = |host, step, stream, text: &str| EventKind::Output {
            host,
            step,
            stream,
            data: Bytes::copy_from_slice(text.as_bytes()),
        };
        let started = |host, step, attempt| EventKind::StepStarted {
            host,
            step,
            attempt,
        };
        let finished = |host, step, attempt, o| EventKind::StepFinished {
            host,
            step,
            attempt,
            outcome: o,
        };
        at(
            0,
            EventKind::InstanceStarted {
                flow: "deploy".into(),
                hosts: vec!["web01".into(), "web02".into(), "db1".into()],
                steps: vec!["stop".into(), "start".into()],
                batches: vec![vec![0], vec![1, 2]],
            },
        );
        at(0, EventKind::BatchStarted { batch: 0 });
        at(50, EventKind::HostConnecting { host: 0 });
        at(100, started(0, 0, 1));
        at(200, out(0, 0, Stream::Stdout, "stopping app\nhal"));
        at(300, out(0, 0, Stream::Stdout, "f a line\n"));
        at(400, finished(0, 0, 1, outcome(HostStatus::Failed, 1)));
        // The retry starts the same millisecond the first try ended.
        at(400, started(0, 0, 2));
        at(400, out(0, 0, Stream::Stdout, "stopping app again\n"));
        at(900, out(0, 0, Stream::Stderr, "warn: slow stop\n"));
        at(900, finished(0, 0, 2, outcome(HostStatus::Ok, 0)));
        at(1_000, started(0, 1, 1));
        at(1_100, out(0, 1, Stream::Stdout, "starting app\nready\n"));
        at(1_200, finished(0, 1, 1, outcome(HostStatus::Ok, 0)));
        at(
            1_300,
            EventKind::HostFinished {
                host: 0,
                status: HostStatus::Ok,
            },
        );
        at(
            1_400,
            EventKind::BatchFinished {
                batch: 0,
                ok: 1,
                failed: 0,
            },
        );
        let b2 = 2 * HOUR;
        at(b2, EventKind::BatchStarted { batch: 1 });
        at(b2 + 10, EventKind::HostConnecting { host: 1 });
        at(b2 + 10, EventKind::HostConnecting { host: 2 });
        at(b2 + 100, started(1, 0, 1));
        at(b2 + 120, started(2, 0, 1));
        at(b2 + 200, out(1, 0, Stream::Stdout, "stopping app\n"));
        at(b2 + 210, out(2, 0, Stream::Stdout, "stopping db\n"));
        at(b2 + 300, finished(1, 0, 1, outcome(HostStatus::Ok, 0)));
        at(b2 + 310, finished(2, 0, 1, outcome(HostStatus::Ok, 0)));
        at(b2 + 400, started(1, 1, 1));
        at(b2 + 410, started(2, 1, 1));
        at(
            b2 + 500,
            out(1, 1, Stream::Stderr, "boom: port 8080 in use\n"),
        );
        at(b2 + 600, out(1, 1, Stream::Stdout, "no newline"));
        at(b2 + 700, finished(1, 1, 1, outcome(HostStatus::Failed, 3)));
        at(
            b2 + 710,
            EventKind::HostFinished {
                host: 1,
                status: HostStatus::Failed,
            },
        );
        at(b2 + 5_000, out(2, 1, Stream::Stdout, "started db\n"));
        at(b2 + 6_000, finished(2, 1, 1, outcome(HostStatus::Ok, 0)));
        at(
            b2 + 6_010,
            EventKind::HostFinished {
                host: 2,
                status: HostStatus::Ok,
            },
        );
        at(
            b2 + 6_100,
            EventKind::BatchFinished {
                batch: 1,
                ok: 1,
                failed: 1,
            },
        );
        at(
            b2 + 6_200,
            EventKind::InstanceFinished {
                status: InstanceStatus::Failed,
                reason: Some("1 of 3 hosts failed".into()),
            },
        );
        events
    }

    /// A journal holding the run; the events the engine sent.
    fn stored_run() -> (tempfile::TempDir, Journal, Vec<Event>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let mut journal = Journal::open(&path).unwrap();
        let id = journal
            .create_instance(&NewInstance {
                flow: "deploy".into(),
                hosts: vec!["web01".into(), "web02".into(), "db1".into()],
                ..NewInstance::default()
            })
            .unwrap();
        let events = run_events(id);
        let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
        for e in &events {
            sink.blocking_send(e.clone()).unwrap();
        }
        sink.blocking_flush().unwrap();
        drop(sink);
        let stats = handle.join().unwrap();
        assert_eq!(stats.errors, 0, "{:?}", stats.last_problem);
        (dir, journal, events)
    }

    fn live(events: &[Event]) -> RunStore {
        let mut store = RunStore::new(0, HOST_BUFFER_BYTES);
        for e in events {
            store.absorb(e);
        }
        store
    }

    /// What the Run view shows of a store.
    fn picture(store: &RunStore) -> Vec<String> {
        let mut rows = vec![format!(
            "{} {} {:?} {:?} {:?}",
            store.instance, store.flow, store.status, store.reason, store.steps
        )];
        for b in &store.batches {
            rows.push(format!(
                "batch {:?} {:?} {:?}",
                b.hosts, b.started_at, b.finished_at
            ));
        }
        for h in &store.hosts {
            let lines: Vec<&OutputLine> = h.lines().iter().collect();
            rows.push(format!(
                "{} {:?} {:?} step {:?} attempt {} exit {:?} error {:?} {:?}..{:?} partial {:?} lines {:?}",
                h.name,
                h.batch,
                h.status,
                h.step,
                h.attempt,
                h.exit_code,
                h.error,
                h.started_at,
                h.finished_at,
                h.partial(Stream::Stdout),
                lines
            ));
        }
        rows
    }

    #[test]
    fn a_stored_run_replays_into_the_store_the_live_run_had() {
        let (_dir, journal, events) = stored_run();
        let id = events[0].instance;
        let plan = read_plan(&journal, id).unwrap();
        let (replayed, cursor) = build(&journal, &plan, i64::MAX).unwrap();
        let live = live(&events);
        assert_eq!(picture(&replayed), picture(&live));
        // Spot checks, so a shared mistake cannot hide.
        assert_eq!(replayed.status, InstanceStatus::Failed);
        let statuses: Vec<HostStatus> = replayed.hosts.iter().map(|h| h.status).collect();
        assert_eq!(
            statuses,
            [HostStatus::Ok, HostStatus::Failed, HostStatus::Ok]
        );
        let web01: Vec<&str> = replayed.hosts[0].lines().iter().map(|l| &*l.text).collect();
        assert_eq!(
            web01,
            [
                "── step 1/2: stop",
                "stopping app",
                "half a line",
                "✘ failed, exit 1: exit status 1",
                "── step 1/2: stop (attempt 2)",
                "stopping app again",
                "warn: slow stop",
                "── step 2/2: start",
                "starting app",
                "ready"
            ]
        );
        assert!(
            replayed.hosts[1]
                .lines()
                .iter()
                .any(|l| l.kind == crate::tui::run_store::LineKind::Stderr
                    && &*l.text == "boom: port 8080 in use")
        );
        // The two-hour interval plays as five seconds.
        assert_eq!(plan.timeline.duration(), 1_400 + 5_000 + 6_200);
        assert_eq!(cursor.reached, i64::MAX);
        assert_eq!(plan.failed_hosts, 1);
    }

    #[test]
    fn a_replay_stopped_midway_has_what_had_happened_by_then() {
        let (_dir, journal, events) = stored_run();
        let id = events[0].instance;
        let plan = read_plan(&journal, id).unwrap();
        // Halfway through db1's second step: web02 is done, db1 runs.
        let until = T0 + 2 * HOUR + 1_000;
        let (store, _) = build(&journal, &plan, until).unwrap();
        let upto: Vec<Event> = events.iter().filter(|e| e.at <= until).cloned().collect();
        assert_eq!(picture(&store), picture(&live(&upto)));
        assert_eq!(store.hosts[1].status, HostStatus::Failed);
        assert_eq!(store.hosts[2].status, HostStatus::Running);
        assert!(
            !store.hosts[2]
                .lines()
                .iter()
                .any(|l| &*l.text == "started db")
        );
        assert_eq!(store.status, InstanceStatus::Running);
        // At the very start every host waits.
        let (start, _) = build(&journal, &plan, plan.timeline.unmap(0)).unwrap();
        assert!(start.hosts.iter().all(|h| h.status == HostStatus::Pending));
        assert_eq!(start.hosts.len(), 3);
    }

    #[test]
    fn streaming_a_little_at_a_time_ends_where_one_pass_does() {
        let (_dir, journal, events) = stored_run();
        let plan = read_plan(&journal, events[0].instance).unwrap();
        let mut store = RunStore::new(plan.instance, HOST_BUFFER_BYTES);
        let mut cursor = ReplayCursor::default();
        let mut calls = 0;
        // Step the playhead through the timeline with a tiny budget.
        for position in (0..=plan.timeline.duration()).step_by(700) {
            let until = plan.timeline.unmap(position);
            loop {
                calls += 1;
                let (next, complete) = stream(&journal, &plan, cursor, until, Some(1), &mut |e| {
                    store.absorb(&e)
                })
                .unwrap();
                cursor = next;
                if complete {
                    break;
                }
            }
        }
        let (next, _) = stream(&journal, &plan, cursor, i64::MAX, None, &mut |e| {
            store.absorb(&e)
        })
        .unwrap();
        assert!(calls > 20, "{calls}");
        assert_eq!(next.reached, i64::MAX);
        assert_eq!(picture(&store), picture(&live(&events)));
    }
}
