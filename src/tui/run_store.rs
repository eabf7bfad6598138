//! The console's picture of one run, built only from the engine's events.
//!
//! A task absorbs events into a `RunStore` behind a mutex; the UI locks it
//! to draw. Memory stays bounded: each host keeps the last
//! `buffer_limit` bytes of its output as lines (older lines are counted and
//! dropped; the journal has them all). Every complete line also goes into
//! a running digest of the host's output, so hosts that printed the same
//! thing and ended the same way can be gathered into one block without
//! keeping their output.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::events::{
    BatchIndex, Event, EventKind, HostIndex, HostStatus, InstanceId, InstanceStatus, StepIndex,
    StepOutcome, Stream, UnixMillis, WaitReason,
};
use crate::report::sanitize::clean_text;

/// A store shared by the absorbing task and the UI.
pub type SharedRunStore = Arc<Mutex<RunStore>>;

/// Output bytes kept in memory per host by default.
pub const HOST_BUFFER_BYTES: usize = 32 * 1024;

/// A line longer than this is cut into pieces, so one endless line cannot
/// grow a partial-line buffer without bound.
const MAX_LINE_BYTES: usize = 4096;

/// What a buffer line is, for colour and for the digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    Stdout,
    Stderr,
    /// A step header the console inserts when a step starts.
    Step,
    /// How a step ended, when it did not end ok.
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub kind: LineKind,
    pub text: Box<str>,
}

/// Bytes a line is charged against the buffer: its text plus bookkeeping.
fn line_cost(text: &str) -> usize {
    text.len() + 24
}

#[derive(Debug, Clone)]
pub struct HostRecord {
    pub name: String,
    pub batch: Option<BatchIndex>,
    pub status: HostStatus,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
    /// The step running now, or the last one that ran.
    pub step: Option<StepIndex>,
    pub attempt: u32,
    pub exit_code: Option<i32>,
    /// Why the last step failed when it was not an exit code.
    pub error: Option<String>,
    lines: VecDeque<OutputLine>,
    buffered_bytes: usize,
    /// Lines dropped from the front of the buffer (they are in the journal).
    dropped_lines: u64,
    /// Unfinished lines per stream (stdout, stderr).
    partial: [Vec<u8>; 2],
    digest: u64,
}

impl HostRecord {
    fn new(name: String) -> HostRecord {
        HostRecord {
            name,
            batch: None,
            status: HostStatus::Pending,
            started_at: None,
            finished_at: None,
            step: None,
            attempt: 0,
            exit_code: None,
            error: None,
            lines: VecDeque::new(),
            buffered_bytes: 0,
            dropped_lines: 0,
            partial: [Vec::new(), Vec::new()],
            digest: FNV_OFFSET,
        }
    }

    /// The lines still in memory, oldest first.
    pub fn lines(&self) -> &VecDeque<OutputLine> {
        &self.lines
    }

    /// Absolute number of the first buffered line (lines before it were dropped).
    pub fn first_line(&self) -> u64 {
        self.dropped_lines
    }

    /// Every line seen so far, dropped or buffered.
    pub fn total_lines(&self) -> u64 {
        self.dropped_lines + self.lines.len() as u64
    }

    /// Unfinished output (no newline yet), shown after the buffered lines.
    pub fn partial(&self, stream: Stream) -> &[u8] {
        &self.partial[stream_slot(stream)]
    }

    /// How long the host has run (until `now` while it still runs).
    pub fn elapsed_ms(&self, now: UnixMillis) -> Option<i64> {
        let start = self.started_at?;
        Some((self.finished_at.unwrap_or(now) - start).max(0))
    }

    /// What gathering compares: the digest of the output and the outcome.
    pub fn gather_key(&self) -> (u64, HostStatus, Option<i32>) {
        let mut digest = self.digest;
        for (slot, partial) in self.partial.iter().enumerate() {
            if !partial.is_empty() {
                digest = fnv(digest, &[slot as u8 + 0x10]);
                digest = fnv(digest, partial);
            }
        }
        (digest, self.status, self.exit_code)
    }

    fn push_line(&mut self, kind: LineKind, text: String, limit: usize) {
        self.digest = fnv(self.digest, &[kind as u8]);
        self.digest = fnv(self.digest, text.as_bytes());
        self.digest = fnv(self.digest, b"\n");
        self.buffered_bytes += line_cost(&text);
        self.lines.push_back(OutputLine {
            kind,
            text: text.into_boxed_str(),
        });
        while self.buffered_bytes > limit && self.lines.len() > 1 {
            if let Some(old) = self.lines.pop_front() {
                self.buffered_bytes -= line_cost(&old.text);
                self.dropped_lines += 1;
            }
        }
    }

    fn push_output(&mut self, stream: Stream, data: &[u8], limit: usize) {
        let slot = stream_slot(stream);
        let kind = match stream {
            Stream::Stdout => LineKind::Stdout,
            Stream::Stderr => LineKind::Stderr,
        };
        let mut rest = data;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let mut line = std::mem::take(&mut self.partial[slot]);
            line.extend_from_slice(&rest[..end]);
            rest = &rest[end + 1..];
            self.push_line(kind, clean_text(&line), limit);
        }
        self.partial[slot].extend_from_slice(rest);
        while self.partial[slot].len() > MAX_LINE_BYTES {
            let tail = self.partial[slot].split_off(MAX_LINE_BYTES);
            let piece = std::mem::replace(&mut self.partial[slot], tail);
            self.push_line(kind, clean_text(&piece), limit);
        }
    }

    /// A step ended: what it printed without a final newline becomes a line.
    fn flush_partial(&mut self, limit: usize) {
        for (slot, kind) in [(0, LineKind::Stdout), (1, LineKind::Stderr)] {
            if !self.partial[slot].is_empty() {
                let line = std::mem::take(&mut self.partial[slot]);
                self.push_line(kind, clean_text(&line), limit);
            }
        }
    }
}

fn stream_slot(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, continued from `hash`: cheap per byte and independent of how the
/// output was split into chunks (it is fed whole lines).
fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

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
    /// Skipped, cancelled, interrupted: done without success or failure.
    pub other: usize,
}

impl Counts {
    pub fn done(&self) -> usize {
        self.ok + self.failed + self.other
    }

    fn add(&mut self, status: HostStatus) {
        self.total += 1;
        match status {
            HostStatus::Pending => self.pending += 1,
            HostStatus::Connecting | HostStatus::Running => self.active += 1,
            HostStatus::Ok => self.ok += 1,
            s if s.is_failure() => self.failed += 1,
            _ => self.other += 1,
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
        let left = counts.total - done;
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
                let name = self.steps.get(*step).cloned().unwrap_or_default();
                let steps = self.steps.len();
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.status = HostStatus::Running;
                    h.started_at.get_or_insert(at);
                    h.finished_at = None;
                    h.step = Some(*step);
                    h.attempt = *attempt;
                    h.exit_code = None;
                    h.error = None;
                    h.flush_partial(limit);
                    let retry = if *attempt > 1 {
                        format!(" (attempt {attempt})")
                    } else {
                        String::new()
                    };
                    h.push_line(
                        LineKind::Step,
                        format!("── {}/{steps} {name}{retry}", step + 1),
                        limit,
                    );
                }
            }
            EventKind::Output {
                host, stream, data, ..
            } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.push_output(*stream, data, limit);
                }
            }
            EventKind::StepFinished { host, outcome, .. } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.flush_partial(limit);
                    h.exit_code = outcome.exit_code;
                    h.error = outcome.error.clone();
                    if let Some(note) = outcome_note(outcome) {
                        h.push_line(LineKind::Note, note, limit);
                    }
                }
            }
            EventKind::HostFinished { host, status } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.flush_partial(limit);
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
            }
            EventKind::Resumed => {
                self.paused = false;
                self.status = if self.waiting.is_some() {
                    InstanceStatus::Waiting
                } else {
                    InstanceStatus::Running
                };
            }
            EventKind::Exported { .. } => {}
            EventKind::InstanceFinished { status, reason } => {
                self.status = *status;
                self.reason = reason.clone();
                self.finished_at = Some(at);
                self.waiting = None;
                self.approval = None;
                self.paused = false;
                for h in &mut self.hosts {
                    h.flush_partial(limit);
                }
            }
        }
    }
}

/// A line saying how a step ended, when it did not end ok.
fn outcome_note(outcome: &StepOutcome) -> Option<String> {
    if outcome.status == HostStatus::Ok {
        return None;
    }
    let mut note = format!("✘ {}", outcome.status);
    if let Some(code) = outcome.exit_code {
        note.push_str(&format!(", exit {code}"));
    }
    if let Some(signal) = &outcome.signal {
        note.push_str(&format!(", signal {signal}"));
    }
    if let Some(error) = &outcome.error {
        note.push_str(&format!(": {}", crate::report::sanitize::one_line(error)));
    }
    Some(note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

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
        assert_eq!(texts(&store, 0), ["red!^G"]);
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
}
