//! One host's output as the store keeps it: the lines (the last
//! `buffer_limit` bytes of them), how many came before, the unfinished
//! line of each stream, and a running digest of everything, so hosts that
//! printed the same thing can be gathered without keeping their output.
//! `LineMaker` turns output chunks and step boundaries into those lines;
//! the store and the journal read-back both use it, so they number lines
//! alike.

use std::collections::VecDeque;

use super::screen_line::screen_line;
use crate::engine::events::{BatchIndex, HostStatus, StepIndex, StepOutcome, Stream, UnixMillis};

/// A line longer than this is cut into pieces, so one endless line cannot
/// grow a partial-line buffer without bound.
pub(super) const MAX_LINE_BYTES: usize = 4096;

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

/// Bytes a line is charged against the buffer: what it really takes on
/// the heap (the allocator's header and rounding to 16 bytes; an empty text
/// allocates nothing) plus its slot in the deque.
pub(super) fn line_cost(text: &str) -> usize {
    let text = match text.len() {
        0 => 0,
        n => (n + 8).next_multiple_of(16).max(32),
    };
    text + std::mem::size_of::<OutputLine>()
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
    /// What the host waits for before its step can start (its slot).
    pub waits_for: Option<String>,
    lines: VecDeque<OutputLine>,
    buffered_bytes: usize,
    /// Lines dropped from the front of the buffer (read back from the journal).
    dropped_lines: u64,
    /// Cuts output into lines (and holds unfinished ones).
    maker: LineMaker,
    digest: u64,
}

impl HostRecord {
    pub(super) fn new(name: String) -> HostRecord {
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
            waits_for: None,
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

    /// Bytes the buffered lines are charged (see `line_cost`).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
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
    pub(super) fn make_lines(
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
        let label = crate::report::step_label(steps, step);
        let retry = if attempt > 1 {
            format!(" (attempt {attempt})")
        } else {
            String::new()
        };
        emit(LineKind::Step, format!("── {label}{retry}"));
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
            emit(kind, screen_line(&line));
        }
        self.partial[slot].extend_from_slice(rest);
        while self.partial[slot].len() > MAX_LINE_BYTES {
            let tail = self.partial[slot].split_off(MAX_LINE_BYTES);
            let piece = std::mem::replace(&mut self.partial[slot], tail);
            emit(kind, screen_line(&piece));
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
                emit(kind, screen_line(&line));
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
