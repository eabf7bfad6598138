//! The console's picture of one run, built only from the engine's events.
//!
//! A task absorbs events into a `RunStore` behind a mutex; the UI locks it
//! to draw. Memory stays bounded: each host keeps the last
//! `buffer_limit` bytes of its output as lines (older lines are counted and
//! dropped; the journal has them, but for the middle of a step's output
//! past its cap, which a marker stands for). Every complete line also goes into
//! a running digest of the host's output, so hosts that printed the same
//! thing and ended the same way can be gathered into one block without
//! keeping their output.

//!
//! - `host`: one host's lines, digest and line making.
//! - `older`: asking the journal for lines the store dropped.

mod host;
mod older;
pub mod screen_line;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::events::{
    BatchIndex, Event, EventKind, HostIndex, HostStatus, InstanceId, InstanceStatus, StepIndex,
    UnixMillis, WaitReason,
};
pub use host::{HostRecord, LineKind, LineMaker, OutputLine};
pub use older::{LineReplay, OLDER_WINDOW_LINES, OlderLines, OlderRequest};

/// A store shared by the absorbing task and the UI.
pub type SharedRunStore = Arc<Mutex<RunStore>>;

/// Output bytes kept in memory per host by default.
pub const HOST_BUFFER_BYTES: usize = 32 * 1024;

#[derive(Debug, Clone, Default)]
pub struct BatchRecord {
    pub hosts: Vec<HostIndex>,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
}

/// The engine is between batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub next_batch: BatchIndex,
    pub reason: WaitReason,
    pub until: Option<UnixMillis>,
    /// The interval's time left when the run was paused: its clock stands
    /// still until the run resumes (the engine then sends a new `until`).
    pub held_left: Option<i64>,
}

/// An approval step holds a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub batch: BatchIndex,
    pub step: StepIndex,
    pub message: String,
}

/// How many hosts stand where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub pending: usize,
    pub active: usize,
    pub ok: usize,
    pub failed: usize,
    /// Skipped by an operator, or never started (the run ended first).
    pub skipped: usize,
    /// Stopped part way by an abort, or by jobdeck stopping.
    pub cancelled: usize,
}

impl Counts {
    /// Hosts that went through the flow, ok or failed. Skipped and
    /// cancelled hosts are counted apart, never as done.
    pub fn done(&self) -> usize {
        self.ok + self.failed
    }

    /// Hosts that will not change any more.
    pub fn ended(&self) -> usize {
        self.done() + self.skipped + self.cancelled
    }

    fn add(&mut self, status: HostStatus) {
        self.total += 1;
        match status {
            HostStatus::Pending => self.pending += 1,
            HostStatus::Connecting | HostStatus::Running => self.active += 1,
            HostStatus::Ok => self.ok += 1,
            s if s.is_failure() => self.failed += 1,
            HostStatus::Cancelled | HostStatus::Interrupted => self.cancelled += 1,
            _ => self.skipped += 1,
        }
    }
}

/// Hosts whose output and outcome are the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatherBlock {
    /// In host-list order; the first one's buffer is shown for all.
    pub hosts: Vec<HostIndex>,
    pub status: HostStatus,
    pub exit_code: Option<i32>,
}

impl GatherBlock {
    /// How many hosts and how they ended: `(3) failed exit 2`.
    pub fn outcome(&self) -> String {
        let exit = self
            .exit_code
            .map(|c| format!(" exit {c}"))
            .unwrap_or_default();
        format!("({}) {}{exit}", self.hosts.len(), self.status)
    }
}

#[derive(Debug, Clone)]
pub struct RunStore {
    pub instance: InstanceId,
    pub flow: String,
    pub steps: Vec<String>,
    pub hosts: Vec<HostRecord>,
    pub batches: Vec<BatchRecord>,
    /// `host_order`, computed when the hosts are announced.
    order: Vec<HostIndex>,
    pub status: InstanceStatus,
    pub current_batch: Option<BatchIndex>,
    pub waiting: Option<Waiting>,
    pub approval: Option<Approval>,
    pub paused: bool,
    /// Why the run ended the way it did (failures, abort, detach).
    pub reason: Option<String>,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
    /// Bumped by every event, so the UI knows when to draw again.
    pub revision: u64,
    /// The event stream has ended (the run finished, or stopped being watched).
    pub stream_ended: bool,
    buffer_limit: usize,
}

impl Default for RunStore {
    fn default() -> Self {
        RunStore::new(0, HOST_BUFFER_BYTES)
    }
}

impl RunStore {
    pub fn new(instance: InstanceId, buffer_limit: usize) -> RunStore {
        RunStore {
            instance,
            flow: String::new(),
            steps: Vec::new(),
            hosts: Vec::new(),
            batches: Vec::new(),
            order: Vec::new(),
            status: InstanceStatus::Running,
            current_batch: None,
            waiting: None,
            approval: None,
            paused: false,
            reason: None,
            started_at: None,
            finished_at: None,
            revision: 0,
            stream_ended: false,
            buffer_limit: buffer_limit.max(256),
        }
    }

    pub fn shared(self) -> SharedRunStore {
        Arc::new(Mutex::new(self))
    }

    /// Locks a shared store; a panic elsewhere while it was held does not
    /// make it unreadable.
    pub fn lock(store: &SharedRunStore) -> MutexGuard<'_, RunStore> {
        store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn is_finished(&self) -> bool {
        self.status.is_final()
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for host in &self.hosts {
            counts.add(host.status);
        }
        counts
    }

    pub fn batch_counts(&self, batch: BatchIndex) -> Counts {
        let mut counts = Counts::default();
        if let Some(b) = self.batches.get(batch) {
            for &h in &b.hosts {
                if let Some(host) = self.hosts.get(h) {
                    counts.add(host.status);
                }
            }
        }
        counts
    }

    /// Hosts in list order: batch by batch, then any in no batch.
    pub fn host_order(&self) -> &[HostIndex] {
        &self.order
    }

    fn compute_order(&mut self) {
        let mut seen = vec![false; self.hosts.len()];
        let mut order = Vec::with_capacity(self.hosts.len());
        for &h in self.batches.iter().flat_map(|b| b.hosts.iter()) {
            if let Some(s) = seen.get_mut(h)
                && !*s
            {
                *s = true;
                order.push(h);
            }
        }
        order.extend((0..self.hosts.len()).filter(|&h| !seen[h]));
        self.order = order;
    }

    /// Hosts with the same output and outcome, folded into blocks, in the
    /// order of their first host.
    pub fn gathered(&self) -> Vec<GatherBlock> {
        let mut blocks: Vec<GatherBlock> = Vec::new();
        let mut by_key: HashMap<(u64, HostStatus, Option<i32>), usize> = HashMap::new();
        for &h in self.host_order() {
            let host = &self.hosts[h];
            let key = host.gather_key();
            match by_key.get(&key) {
                Some(&i) => blocks[i].hosts.push(h),
                None => {
                    by_key.insert(key, blocks.len());
                    blocks.push(GatherBlock {
                        hosts: vec![h],
                        status: host.status,
                        exit_code: host.exit_code,
                    });
                }
            }
        }
        blocks
    }

    /// Estimated milliseconds left, from the pace of the hosts done so far
    /// (intervals between batches are added as planned when known).
    pub fn eta_ms(&self, now: UnixMillis) -> Option<i64> {
        if self.is_finished() {
            return None;
        }
        let counts = self.counts();
        let start = self.started_at?;
        let done = counts.done();
        if done == 0 || counts.total == 0 {
            return None;
        }
        let spent = (now - start).max(0);
        let left = counts.total - counts.ended();
        Some(spent * left as i64 / done as i64)
    }

    /// The event stream ended. Without an `InstanceFinished` the run was cut
    /// off (detached, or the engine stopped): it reads as interrupted, as
    /// the journal records it.
    pub fn end_stream(&mut self, reason: &str) {
        self.stream_ended = true;
        if !self.status.is_final() {
            self.status = InstanceStatus::Interrupted;
            self.reason = Some(reason.to_string());
            self.waiting = None;
            self.approval = None;
            for host in &mut self.hosts {
                if matches!(host.status, HostStatus::Running | HostStatus::Connecting) {
                    host.status = HostStatus::Interrupted;
                }
            }
        }
        self.revision += 1;
    }

    pub fn absorb(&mut self, event: &Event) {
        self.revision += 1;
        let at = event.at;
        let limit = self.buffer_limit;
        match &event.kind {
            EventKind::InstanceStarted {
                flow,
                hosts,
                steps,
                batches,
            } => {
                self.instance = event.instance;
                self.flow = flow.clone();
                self.steps = steps.clone();
                self.hosts = hosts.iter().cloned().map(HostRecord::new).collect();
                self.batches = batches
                    .iter()
                    .map(|members| BatchRecord {
                        hosts: members.clone(),
                        ..BatchRecord::default()
                    })
                    .collect();
                for (b, members) in batches.iter().enumerate() {
                    for &h in members {
                        if let Some(host) = self.hosts.get_mut(h) {
                            host.batch = Some(b);
                        }
                    }
                }
                self.compute_order();
                self.started_at.get_or_insert(at);
                self.status = InstanceStatus::Running;
            }
            EventKind::BatchStarted { batch } => {
                self.current_batch = Some(*batch);
                self.waiting = None;
                if let Some(b) = self.batches.get_mut(*batch) {
                    b.started_at.get_or_insert(at);
                    b.finished_at = None;
                }
                if !self.paused {
                    self.status = InstanceStatus::Running;
                }
            }
            EventKind::HostConnecting { host } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.status = HostStatus::Connecting;
                    h.started_at.get_or_insert(at);
                    h.finished_at = None;
                }
            }
            EventKind::StepStarted {
                host,
                step,
                attempt,
            } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.status = HostStatus::Running;
                    h.started_at.get_or_insert(at);
                    h.finished_at = None;
                    h.step = Some(*step);
                    h.attempt = *attempt;
                    h.exit_code = None;
                    h.error = None;
                    let steps = &self.steps;
                    h.make_lines(limit, |maker, emit| {
                        maker.step_started(*step, steps, *attempt, emit)
                    });
                }
            }
            EventKind::Output {
                host, stream, data, ..
            } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.make_lines(limit, |maker, emit| maker.output(*stream, data, emit));
                }
            }
            EventKind::StepFinished { host, outcome, .. } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.exit_code = outcome.exit_code;
                    h.error = outcome.error.clone();
                    h.make_lines(limit, |maker, emit| maker.step_finished(outcome, emit));
                }
            }
            EventKind::HostFinished { host, status } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.make_lines(limit, |maker, emit| maker.flush(emit));
                    h.status = *status;
                    h.finished_at = Some(at);
                }
            }
            EventKind::BatchFinished { batch, .. } => {
                if let Some(b) = self.batches.get_mut(*batch) {
                    b.finished_at = Some(at);
                }
            }
            EventKind::Waiting {
                next_batch,
                reason,
                until,
            } => {
                self.waiting = Some(Waiting {
                    next_batch: *next_batch,
                    reason: *reason,
                    until: *until,
                    held_left: None,
                });
                if !self.paused {
                    self.status = InstanceStatus::Waiting;
                }
            }
            EventKind::ApprovalRequested {
                batch,
                step,
                message,
            } => {
                self.approval = Some(Approval {
                    batch: *batch,
                    step: *step,
                    message: message.clone(),
                });
            }
            EventKind::Approved { .. } => self.approval = None,
            EventKind::Paused => {
                self.paused = true;
                self.status = InstanceStatus::Paused;
                if let Some(wait) = &mut self.waiting
                    && let Some(until) = wait.until
                {
                    wait.held_left = Some((until - at).max(0));
                }
            }
            EventKind::Resumed => {
                self.paused = false;
                if let Some(wait) = &mut self.waiting {
                    wait.held_left = None;
                }
                self.status = if self.waiting.is_some() {
                    InstanceStatus::Waiting
                } else {
                    InstanceStatus::Running
                };
            }
            EventKind::Exported { .. } => {}
            // Shown by the console in a later change (guard confirm, lock
            // and host-slot waits, the pre-flight table).
            EventKind::GuardHit { .. }
            | EventKind::GuardConfirmNeeded { .. }
            | EventKind::LockWaiting { .. }
            | EventKind::LockAcquired { .. }
            | EventKind::PreflightChecked { .. }
            | EventKind::HostSlotWaiting { .. }
            | EventKind::RunRefused { .. } => {}
            EventKind::InstanceFinished { status, reason } => {
                self.status = *status;
                self.reason = reason.clone();
                self.finished_at = Some(at);
                self.waiting = None;
                self.approval = None;
                self.paused = false;
                for h in &mut self.hosts {
                    h.make_lines(limit, |maker, emit| maker.flush(emit));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::{StepOutcome, Stream};
    use bytes::Bytes;
    use host::MAX_LINE_BYTES;

    fn ev(kind: EventKind) -> Event {
        Event {
            instance: 7,
            at: 1_000,
            kind,
        }
    }

    fn started(hosts: usize) -> Event {
        ev(EventKind::InstanceStarted {
            flow: "f".into(),
            hosts: (0..hosts).map(|h| format!("web{h:02}")).collect(),
            steps: vec!["one".into()],
            batches: vec![(0..hosts).collect()],
        })
    }

    fn out(host: usize, stream: Stream, text: &str) -> Event {
        ev(EventKind::Output {
            host,
            step: 0,
            stream,
            data: Bytes::copy_from_slice(text.as_bytes()),
        })
    }

    fn texts(store: &RunStore, host: usize) -> Vec<String> {
        store.hosts[host]
            .lines()
            .iter()
            .map(|l| l.text.to_string())
            .collect()
    }

    #[test]
    fn chunks_become_lines_whatever_the_split() {
        let mut a = RunStore::default();
        a.absorb(&started(2));
        a.absorb(&out(0, Stream::Stdout, "hel"));
        a.absorb(&out(0, Stream::Stdout, "lo\nwor"));
        a.absorb(&out(0, Stream::Stderr, "oops\n"));
        a.absorb(&out(0, Stream::Stdout, "ld\n"));
        a.absorb(&out(1, Stream::Stdout, "hello\nworld\n"));
        a.absorb(&out(1, Stream::Stderr, "oops\n"));
        assert_eq!(texts(&a, 0), ["hello", "oops", "world"]);
        assert_eq!(a.hosts[0].lines()[1].kind, LineKind::Stderr);
        // Same lines in a different order are different output.
        assert_ne!(a.hosts[0].gather_key(), a.hosts[1].gather_key());
        let mut b = RunStore::default();
        b.absorb(&started(2));
        b.absorb(&out(0, Stream::Stdout, "hello\n"));
        b.absorb(&out(1, Stream::Stdout, "he"));
        b.absorb(&out(1, Stream::Stdout, "llo\n"));
        assert_eq!(b.hosts[0].gather_key(), b.hosts[1].gather_key());
    }

    #[test]
    fn buffers_stay_bounded_and_count_what_they_drop() {
        let mut store = RunStore::new(1, 1024);
        store.absorb(&started(1));
        for i in 0..10_000 {
            store.absorb(&out(0, Stream::Stdout, &format!("line {i}\n")));
        }
        let host = &store.hosts[0];
        assert_eq!(host.total_lines(), 10_000);
        assert!(host.lines().len() < 100, "{}", host.lines().len());
        assert_eq!(host.lines().back().unwrap().text.as_ref(), "line 9999");
        assert_eq!(
            host.first_line() + host.lines().len() as u64,
            host.total_lines()
        );
        // An endless line is cut into pieces, not kept whole.
        store.absorb(&out(0, Stream::Stdout, &"x".repeat(10_000)));
        assert!(store.hosts[0].partial(Stream::Stdout).len() <= MAX_LINE_BYTES);
    }

    #[test]
    fn gathering_folds_equal_hosts() {
        let mut store = RunStore::default();
        store.absorb(&started(1000));
        for h in 0..1000 {
            let text = if h % 100 == 7 { "disk full\n" } else { "ok\n" };
            store.absorb(&out(h, Stream::Stdout, text));
            let status = if h % 100 == 7 {
                HostStatus::Failed
            } else {
                HostStatus::Ok
            };
            store.absorb(&ev(EventKind::HostFinished { host: h, status }));
        }
        let blocks = store.gathered();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].hosts.len(), 990);
        assert_eq!(blocks[1].hosts.len(), 10);
        assert_eq!(blocks[1].status, HostStatus::Failed);
    }

    #[test]
    fn control_sequences_are_cleaned() {
        let mut store = RunStore::default();
        store.absorb(&started(1));
        store.absorb(&out(0, Stream::Stdout, "\x1b[2Jred\x1b[31m!\x07\n"));
        // BEL shows as its control picture, which the view draws dim.
        assert_eq!(texts(&store, 0), ["red!\u{2407}"]);
    }

    #[test]
    fn a_cut_off_stream_reads_as_interrupted() {
        let mut store = RunStore::default();
        store.absorb(&started(2));
        store.absorb(&ev(EventKind::StepStarted {
            host: 0,
            step: 0,
            attempt: 1,
        }));
        store.end_stream("detached");
        assert_eq!(store.status, InstanceStatus::Interrupted);
        assert_eq!(store.hosts[0].status, HostStatus::Interrupted);
        assert_eq!(store.hosts[1].status, HostStatus::Pending);
        // A finished run stays as it finished.
        let mut done = RunStore::default();
        done.absorb(&started(1));
        done.absorb(&ev(EventKind::InstanceFinished {
            status: InstanceStatus::Ok,
            reason: None,
        }));
        done.end_stream("gone");
        assert_eq!(done.status, InstanceStatus::Ok);
    }

    /// A host's events as the store sees them and as the journal gives
    /// them back (attempts before their output, chunks in order).
    fn host_history() -> (Vec<EventKind>, Vec<crate::journal::HostItem>) {
        use crate::journal::{Chunk, HostItem, StepResultRecord};
        let steps: Vec<String> = vec!["fetch".into(), "count".into()];
        let mut events = Vec::new();
        let mut items = vec![HostItem::Start {
            steps: steps.clone(),
            status: Some(HostStatus::Failed),
        }];
        let attempt = |events: &mut Vec<EventKind>,
                       items: &mut Vec<HostItem>,
                       step: usize,
                       n: u32,
                       chunks: Vec<(Stream, String)>,
                       outcome: StepOutcome| {
            events.push(EventKind::StepStarted {
                host: 0,
                step,
                attempt: n,
            });
            items.push(HostItem::Attempt(StepResultRecord {
                host: 0,
                step,
                attempt: n,
                status: outcome.status,
                exit_code: outcome.exit_code,
                signal: outcome.signal.clone(),
                started_at: Some(1),
                finished_at: Some(2),
                error: outcome.error.clone(),
            }));
            for (stream, text) in chunks {
                events.push(EventKind::Output {
                    host: 0,
                    step,
                    stream,
                    data: Bytes::from(text.clone().into_bytes()),
                });
                items.push(HostItem::Chunk(Chunk {
                    host: 0,
                    step,
                    attempt: n,
                    at: 1,
                    stream,
                    data: text.into_bytes(),
                    marker: false,
                }));
            }
            events.push(EventKind::StepFinished {
                host: 0,
                step,
                attempt: n,
                outcome,
            });
        };
        let ok = StepOutcome {
            status: HostStatus::Ok,
            exit_code: Some(0),
            signal: None,
            error: None,
        };
        let failed = StepOutcome {
            status: HostStatus::Failed,
            exit_code: Some(3),
            signal: None,
            error: Some("exit\nstatus 3".into()),
        };
        // Lines split across chunks, stderr between, an unfinished last line.
        let mut chunks = Vec::new();
        for i in 0..300 {
            chunks.push((Stream::Stdout, format!("line {i}\nli")));
            chunks.push((Stream::Stdout, "ne-tail ".to_string()));
            if i % 7 == 0 {
                chunks.push((Stream::Stderr, format!("warn \x1b[31m{i}\n")));
            }
        }
        chunks.push((Stream::Stdout, "no newline".into()));
        attempt(
            &mut events,
            &mut items,
            0,
            1,
            chunks.clone(),
            failed.clone(),
        );
        attempt(&mut events, &mut items, 0, 2, vec![], failed.clone());
        chunks.push((Stream::Stdout, "x".repeat(9000)));
        attempt(&mut events, &mut items, 0, 3, chunks, ok);
        attempt(
            &mut events,
            &mut items,
            1,
            1,
            vec![(Stream::Stdout, "12\n".into())],
            failed,
        );
        events.push(EventKind::HostFinished {
            host: 0,
            status: HostStatus::Failed,
        });
        (events, items)
    }

    fn store_of(events: &[EventKind], limit: usize) -> RunStore {
        let mut store = RunStore::new(7, limit);
        store.absorb(&ev(EventKind::InstanceStarted {
            flow: "f".into(),
            hosts: vec!["web00".into()],
            steps: vec!["fetch".into(), "count".into()],
            batches: vec![vec![0]],
        }));
        for e in events {
            store.absorb(&ev(e.clone()));
        }
        store
    }

    fn replay(
        items: &[crate::journal::HostItem],
        keep: std::ops::Range<u64>,
        check: std::ops::Range<u64>,
    ) -> (Vec<OutputLine>, Vec<OutputLine>, u64) {
        let mut replay = LineReplay::new(keep, check);
        let mut stopped = false;
        for item in items {
            if !replay.item(item.clone()) {
                stopped = true;
                break;
            }
        }
        if !stopped {
            replay.end();
        }
        let made = replay.made();
        let (kept, checked) = replay.into_lines();
        (kept, checked, made)
    }

    #[test]
    fn journal_lines_meet_the_buffer_without_a_seam() {
        let (events, items) = host_history();
        let whole = store_of(&events, usize::MAX);
        let all: Vec<OutputLine> = whole.hosts[0].lines().iter().cloned().collect();
        assert_eq!(whole.hosts[0].first_line(), 0);
        let small = store_of(&events, 1024);
        let host = &small.hosts[0];
        let first = host.first_line();
        assert!(first > 500, "the small buffer drops lines: {first}");
        // The replay makes exactly the lines the unbounded store kept.
        let (every, _, made) = replay(&items, 0..u64::MAX, 0..0);
        assert_eq!(made, all.len() as u64);
        assert_eq!(every, all);
        // A window just below the buffer, then the buffer: every line once.
        let check = first..first + 3;
        let (window, checked, _) = replay(&items, first - 50..first, check);
        assert_eq!(
            checked,
            host.lines().iter().take(3).cloned().collect::<Vec<_>>()
        );
        let mut joined = window;
        joined.extend(host.lines().iter().cloned());
        assert_eq!(joined, all[(first - 50) as usize..]);
        // The kinds and the cleaning are the store's.
        assert!(
            all.iter()
                .any(|l| l.kind == LineKind::Stderr && &*l.text == "warn 0")
        );
        assert!(
            all.iter()
                .any(|l| &*l.text == "── step 1/2: fetch (attempt 2)")
        );
        assert!(
            all.iter()
                .any(|l| &*l.text == "✘ failed, exit 3: exit status 3")
        );
        assert!(all.iter().any(|l| &*l.text == "line 0"));
        assert!(all.iter().any(|l| &*l.text == "line-tail line 1"));
    }

    #[test]
    fn a_replay_stops_once_it_has_the_lines_asked_for() {
        let (_, items) = host_history();
        let (kept, checked, made) = replay(&items, 10..20, 30..31);
        assert_eq!(kept.len(), 10);
        assert_eq!(checked.len(), 1);
        assert_eq!(made, 31);
        // The first line of all is the first step's header.
        let (kept, _, _) = replay(&items, 0..1, 0..0);
        assert_eq!(&*kept[0].text, "── step 1/2: fetch");
    }

    #[test]
    fn a_request_asks_only_for_dropped_lines() {
        let (events, _) = host_history();
        let store = store_of(&events, 1024);
        let first = store.hosts[0].first_line();
        let path = std::path::PathBuf::from("/nonexistent/journal.db");
        let request =
            OlderRequest::new(path.clone(), &store, 0, first - 10..first + 50, 1).unwrap();
        assert_eq!(request.lines, first - 10..first);
        assert_eq!(request.check_from, first);
        assert_eq!(request.check.len(), 3);
        assert!(OlderRequest::new(path.clone(), &store, 0, first..first + 5, 1).is_none());
        // A missing journal is reported, never created.
        let read = crate::tui::tasks::older_lines::read_older(request);
        assert!(read.result.unwrap_err().contains("no journal"));
        assert!(!path.exists());
    }
}
