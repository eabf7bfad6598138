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
    /// Lines dropped from the front of the buffer (read back from the journal).
    dropped_lines: u64,
    /// Cuts output into lines (and holds unfinished ones).
    maker: LineMaker,
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
            maker: LineMaker::default(),
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
        self.maker.partial(stream)
    }

    /// How long the host has run (until `now` while it still runs).
    pub fn elapsed_ms(&self, now: UnixMillis) -> Option<i64> {
        let start = self.started_at?;
        Some((self.finished_at.unwrap_or(now) - start).max(0))
    }

    /// What gathering compares: the digest of the output and the outcome.
    pub fn gather_key(&self) -> (u64, HostStatus, Option<i32>) {
        let mut digest = self.digest;
        for (slot, partial) in self.maker.partial.iter().enumerate() {
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

    /// Runs the line maker, buffering what it makes.
    fn make_lines(
        &mut self,
        limit: usize,
        make: impl FnOnce(&mut LineMaker, &mut dyn FnMut(LineKind, String)),
    ) {
        let mut maker = std::mem::take(&mut self.maker);
        make(&mut maker, &mut |kind, text| {
            self.push_line(kind, text, limit)
        });
        self.maker = maker;
    }
}

/// Turns one host's step starts, output and step ends into lines. The live
/// buffer and the lines read back from the journal both go through it, so
/// they split, clean and mark lines the same way and meet without a seam.
#[derive(Debug, Clone, Default)]
pub struct LineMaker {
    /// Unfinished lines per stream (stdout, stderr).
    partial: [Vec<u8>; 2],
}

impl LineMaker {
    pub fn partial(&self, stream: Stream) -> &[u8] {
        &self.partial[stream_slot(stream)]
    }

    /// A step attempt starts: unfinished output becomes lines, then a header.
    pub fn step_started(
        &mut self,
        step: StepIndex,
        steps: &[String],
        attempt: u32,
        emit: &mut dyn FnMut(LineKind, String),
    ) {
        self.flush(emit);
        let name = steps.get(step).map_or("", String::as_str);
        let retry = if attempt > 1 {
            format!(" (attempt {attempt})")
        } else {
            String::new()
        };
        emit(
            LineKind::Step,
            format!("── {}/{} {name}{retry}", step + 1, steps.len()),
        );
    }

    pub fn output(&mut self, stream: Stream, data: &[u8], emit: &mut dyn FnMut(LineKind, String)) {
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
            emit(kind, clean_text(&line));
        }
        self.partial[slot].extend_from_slice(rest);
        while self.partial[slot].len() > MAX_LINE_BYTES {
            let tail = self.partial[slot].split_off(MAX_LINE_BYTES);
            let piece = std::mem::replace(&mut self.partial[slot], tail);
            emit(kind, clean_text(&piece));
        }
    }

    /// A step attempt ended: unfinished output becomes lines, then a note
    /// when it did not end ok.
    pub fn step_finished(&mut self, outcome: &StepOutcome, emit: &mut dyn FnMut(LineKind, String)) {
        self.flush(emit);
        if let Some(note) = outcome_note(outcome) {
            emit(LineKind::Note, note);
        }
    }

    /// What was printed without a final newline becomes a line.
    pub fn flush(&mut self, emit: &mut dyn FnMut(LineKind, String)) {
        for (slot, kind) in [(0, LineKind::Stdout), (1, LineKind::Stderr)] {
            if !self.partial[slot].is_empty() {
                let line = std::mem::take(&mut self.partial[slot]);
                emit(kind, clean_text(&line));
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

// ------------------------------------------------- older lines, from the journal

/// Most lines read back from the journal and kept at once (for the host in
/// focus): older output costs memory only while the operator reads it.
pub const OLDER_WINDOW_LINES: u64 = 2000;

/// How long a read waits for the journal writer to catch up with the store
/// (it lags by the events queued for it, normally a batch or two).
const WRITER_CATCH_UP: std::time::Duration = std::time::Duration::from_secs(3);

/// Asks for absolute lines `lines` of one host, which the store dropped.
/// `check` holds the store's lines from `check_from` on (the first buffered
/// ones): the lines read must lead up to exactly these, or the journal and
/// the store disagree about the numbering and nothing is shown.
#[derive(Debug, Clone)]
pub struct OlderRequest {
    pub journal: std::path::PathBuf,
    pub instance: InstanceId,
    pub host: HostIndex,
    pub lines: std::ops::Range<u64>,
    pub check_from: u64,
    pub check: Vec<OutputLine>,
    /// Tells a late answer from the current one.
    pub generation: u64,
}

impl OlderRequest {
    /// A request for the dropped lines in `lines` (clamped to what was
    /// dropped), checked against the store's first buffered lines.
    pub fn new(
        journal: std::path::PathBuf,
        store: &RunStore,
        host: HostIndex,
        lines: std::ops::Range<u64>,
        generation: u64,
    ) -> Option<OlderRequest> {
        let record = store.hosts.get(host)?;
        let first = record.first_line();
        let lines = lines.start.min(first)..lines.end.min(first);
        if lines.is_empty() || store.instance <= 0 {
            return None;
        }
        Some(OlderRequest {
            journal,
            instance: store.instance,
            host,
            lines,
            check_from: first,
            check: record.lines().iter().take(3).cloned().collect(),
            generation,
        })
    }
}

/// The answer to an `OlderRequest`.
#[derive(Debug, Clone)]
pub struct OlderLines {
    pub instance: InstanceId,
    pub host: HostIndex,
    pub generation: u64,
    /// The first line's absolute number and the lines.
    pub result: Result<(u64, Vec<OutputLine>), String>,
}

/// Numbers lines as the store did, keeping those in two ranges.
#[derive(Debug, Default)]
struct NumberedLines {
    keep: std::ops::Range<u64>,
    check: std::ops::Range<u64>,
    made: u64,
    kept: Vec<OutputLine>,
    checked: Vec<OutputLine>,
    /// Past the journal's cut marker the store's numbers are unknown: the
    /// lines are kept unnumbered, to be placed by the store's own lines.
    after_cut: Option<Vec<OutputLine>>,
}

impl NumberedLines {
    fn push(&mut self, kind: LineKind, text: String) {
        if let Some(after) = &mut self.after_cut {
            after.push(OutputLine {
                kind,
                text: text.into_boxed_str(),
            });
            return;
        }
        let n = self.made;
        self.made += 1;
        let to = if self.keep.contains(&n) {
            &mut self.kept
        } else if self.check.contains(&n) {
            &mut self.checked
        } else {
            return;
        };
        to.push(OutputLine {
            kind,
            text: text.into_boxed_str(),
        });
    }
}

/// Replays one host's journal items through a `LineMaker`, numbering the
/// lines as the store did: keeps the lines in `keep` and those in `check`
/// (to compare with the store's own).
#[derive(Debug)]
pub struct LineReplay {
    lines: NumberedLines,
    maker: LineMaker,
    steps: Vec<String>,
    host_done: bool,
    /// The attempt whose output comes now, with its outcome once finished.
    current: Option<Option<StepOutcome>>,
    /// The journal's cut marker among the wanted lines: its line number
    /// and text.
    cut: Option<(u64, String)>,
}

impl LineReplay {
    pub fn new(keep: std::ops::Range<u64>, check: std::ops::Range<u64>) -> LineReplay {
        LineReplay {
            lines: NumberedLines {
                keep,
                check,
                ..NumberedLines::default()
            },
            maker: LineMaker::default(),
            steps: Vec::new(),
            host_done: false,
            current: None,
            cut: None,
        }
    }

    /// Takes one item; false once every line wanted is made.
    pub fn item(&mut self, item: crate::journal::HostItem) -> bool {
        use crate::journal::HostItem;
        let lines = &mut self.lines;
        let emit = &mut |kind, text| lines.push(kind, text);
        match item {
            HostItem::Start { steps, status } => {
                self.steps = steps;
                self.host_done = status.is_some_and(|s| s.is_final());
            }
            HostItem::Attempt(attempt) => {
                if let Some(Some(outcome)) = self.current.take() {
                    self.maker.step_finished(&outcome, emit);
                }
                self.maker
                    .step_started(attempt.step, &self.steps, attempt.attempt, emit);
                self.current = Some(attempt.finished_at.map(|_| StepOutcome {
                    status: attempt.status,
                    exit_code: attempt.exit_code,
                    signal: attempt.signal,
                    error: attempt.error,
                }));
            }
            HostItem::Chunk(chunk) if chunk.marker => {
                // Past the store's first lines the numbers are known already.
                if self.cut.is_none() && self.made() < self.lines.check.start {
                    let text = String::from_utf8_lossy(&chunk.data).trim_end().to_owned();
                    self.cut = Some((self.made(), text));
                    self.lines.after_cut = Some(Vec::new());
                }
            }
            HostItem::Chunk(chunk) => self.maker.output(chunk.stream, &chunk.data, emit),
        }
        // Past a cut, the rest is needed to find where the store's lines are.
        self.cut.is_some() || self.made() < self.wanted_end()
    }

    /// With a cut among the wanted lines: the lines `keep` asked for, the
    /// numbers after the cut found by where the store's first lines
    /// (`check`, from line `check_from`) are in the journal's tail, the
    /// cut's own numbers showing its marker. `None` without a cut;
    /// `Some(None)` when the store's lines are not (yet) in the journal.
    pub fn across_cut(
        &self,
        check_from: u64,
        check: &[OutputLine],
    ) -> Option<Option<Vec<OutputLine>>> {
        let (cut_at, marker) = self.cut.as_ref()?;
        let after = self.lines.after_cut.as_deref().unwrap_or_default();
        let found = (0..=after.len().saturating_sub(check.len()))
            .rev()
            .find(|&j| !check.is_empty() && after[j..].starts_with(check));
        let Some(j) = found else {
            return Some(None);
        };
        // The store's line `check_from` is the journal's `after[j]`.
        let Some(tail_start) = check_from.checked_sub(j as u64).filter(|t| t >= cut_at) else {
            return Some(None);
        };
        let keep = self.lines.keep.clone();
        let lines = keep
            .map(|n| {
                if n < *cut_at {
                    self.lines.kept[(n - self.lines.keep.start) as usize].clone()
                } else if n < tail_start {
                    OutputLine {
                        kind: LineKind::Note,
                        text: marker.clone().into_boxed_str(),
                    }
                } else {
                    after[(n - tail_start) as usize].clone()
                }
            })
            .collect();
        Some(Some(lines))
    }

    /// No more items: the last attempt's end, and the host's (it flushes
    /// what is left when it finished).
    pub fn end(&mut self) {
        let lines = &mut self.lines;
        let emit = &mut |kind, text| lines.push(kind, text);
        if let Some(Some(outcome)) = self.current.take() {
            self.maker.step_finished(&outcome, emit);
        }
        if self.host_done {
            self.maker.flush(emit);
        }
    }

    fn wanted_end(&self) -> u64 {
        self.lines.keep.end.max(self.lines.check.end)
    }

    /// Lines made so far.
    pub fn made(&self) -> u64 {
        self.lines.made
    }

    /// Every wanted line is made.
    pub fn complete(&self) -> bool {
        self.made() >= self.wanted_end()
    }

    /// The lines kept and the lines to check.
    pub fn into_lines(self) -> (Vec<OutputLine>, Vec<OutputLine>) {
        (self.lines.kept, self.lines.checked)
    }
}

/// Reads the lines an `OlderRequest` asks for. Blocking (SQLite): call it
/// off the UI task. A live run's journal may not have them yet: it is read
/// again for a few seconds until it reaches the store's first lines.
pub fn read_older(request: OlderRequest) -> OlderLines {
    let result = read_older_lines(&request);
    OlderLines {
        instance: request.instance,
        host: request.host,
        generation: request.generation,
        result,
    }
}

fn read_older_lines(request: &OlderRequest) -> Result<(u64, Vec<OutputLine>), String> {
    let path = &request.journal;
    // Reading never creates a journal.
    if !path.exists() {
        return Err(format!("no journal at {}", path.display()));
    }
    let journal = crate::journal::Journal::open(path).map_err(|e| e.to_string())?;
    let check = request.check_from..request.check_from + request.check.len() as u64;
    let deadline = std::time::Instant::now() + WRITER_CATCH_UP;
    loop {
        let mut replay = LineReplay::new(request.lines.clone(), check.clone());
        let mut stopped_early = false;
        journal
            .for_each_host_item(request.instance, request.host, |item| {
                let more = replay.item(item);
                stopped_early = !more;
                more
            })
            .map_err(|e| e.to_string())?;
        if !stopped_early {
            replay.end();
        }
        match replay.across_cut(request.check_from, &request.check) {
            Some(Some(lines)) => return Ok((request.lines.start, lines)),
            Some(None) => {} // the journal has not caught up yet
            None if replay.complete() => {
                let (lines, checked) = replay.into_lines();
                if checked != request.check {
                    return Err("the journal's lines do not line up with the console's".into());
                }
                return Ok((request.lines.start, lines));
            }
            None => {}
        }
        if std::time::Instant::now() >= deadline {
            return Err(format!(
                "the journal has {} of this host's lines, the console {}",
                replay.made(),
                check.end
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
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
        assert!(all.iter().any(|l| &*l.text == "── 1/2 fetch (attempt 2)"));
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
        assert_eq!(&*kept[0].text, "── 1/2 fetch");
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
        let read = read_older(request);
        assert!(read.result.unwrap_err().contains("no journal"));
        assert!(!path.exists());
    }
}
