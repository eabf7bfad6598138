//! One host's output while it runs, bounded in memory: the first half of
//! the cap is kept from the start, the second half is a sliding window of
//! the latest bytes, and whatever falls between is only counted. Both cuts
//! fall on line ends where the output has them (`journal::output_cap`'s
//! rules), so whole lines show on either side of the note. The journal
//! keeps more (see `journal_keeps_all`); the reporter only shows it.
//!
//! In gather mode every byte (kept or not) also goes through a SHA-256 per
//! step and stream, so hosts are grouped by their complete output.

use std::collections::VecDeque;

use ring::digest;

use crate::engine::events::{StepIndex, StepOutcome, Stream};
use crate::journal::output_cap;

/// A step run as the host saw it: one per attempt.
pub struct Section {
    pub step: StepIndex,
    pub attempt: u32,
    pub outcome: Option<StepOutcome>,
    /// Bytes the attempt printed, kept or not.
    bytes: u64,
    /// Digests of stdout and stderr, in gather mode.
    digests: Option<[digest::Context; 2]>,
}

impl std::fmt::Debug for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Section")
            .field("step", &self.step)
            .field("attempt", &self.attempt)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

/// Bytes of one stream of one section, in arrival order.
#[derive(Debug)]
pub struct Piece {
    pub section: usize,
    pub stream: Stream,
    data: Vec<u8>,
    /// Bytes at the front already dropped from the tail window.
    start: usize,
}

impl Piece {
    pub fn bytes(&self) -> &[u8] {
        &self.data[self.start..]
    }

    fn len(&self) -> usize {
        self.data.len() - self.start
    }
}

/// Tail pieces stop growing past this, so dropping from the front of the
/// window never holds much dead memory.
const TAIL_PIECE_MAX: usize = 64 * 1024;

#[derive(Debug)]
pub struct HostCapture {
    pub sections: Vec<Section>,
    pub head: Vec<Piece>,
    pub tail: VecDeque<Piece>,
    head_bytes: usize,
    tail_bytes: usize,
    head_cap: usize,
    tail_cap: usize,
    /// The head is complete: later bytes go to the tail window.
    head_done: bool,
    /// The last byte that left the tail window ended a line (or none left).
    dropped_ends_line: bool,
    total: u64,
    hashing: bool,
    /// The journal could not record the run (known when the host ended).
    pub journal_failed: bool,
    /// Some bytes are known by their count only (`push_unknown`).
    unknown: bool,
}

impl HostCapture {
    /// `cap` bounds the bytes kept; `hashing` digests everything (gather mode).
    pub fn new(cap: usize, hashing: bool) -> HostCapture {
        let head_cap = cap / 2;
        HostCapture {
            sections: Vec::new(),
            head: Vec::new(),
            tail: VecDeque::new(),
            head_bytes: 0,
            tail_bytes: 0,
            head_cap,
            tail_cap: cap - head_cap,
            head_done: head_cap == 0,
            dropped_ends_line: true,
            total: 0,
            hashing,
            journal_failed: false,
            unknown: false,
        }
    }

    /// A new attempt of a step begins.
    pub fn start_step(&mut self, step: StepIndex, attempt: u32) -> usize {
        self.sections.push(Section {
            step,
            attempt,
            outcome: None,
            bytes: 0,
            digests: self.hashing.then(|| {
                [
                    digest::Context::new(&digest::SHA256),
                    digest::Context::new(&digest::SHA256),
                ]
            }),
        });
        self.sections.len() - 1
    }

    /// The section output of `step` belongs to: its latest attempt.
    fn section_of(&mut self, step: StepIndex) -> usize {
        match self.sections.iter().rposition(|s| s.step == step) {
            Some(index) => index,
            None => self.start_step(step, 1),
        }
    }

    pub fn finish_step(&mut self, step: StepIndex, attempt: u32, outcome: StepOutcome) {
        let index = match self
            .sections
            .iter()
            .rposition(|s| s.step == step && s.attempt == attempt)
        {
            Some(index) => index,
            None => self.start_step(step, attempt),
        };
        self.sections[index].outcome = Some(outcome);
    }

    pub fn push(&mut self, step: StepIndex, stream: Stream, mut data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let section = self.section_of(step);
        if let Some(digests) = &mut self.sections[section].digests {
            digests[stream_slot(stream)].update(data);
        }
        self.total += data.len() as u64;
        self.sections[section].bytes += data.len() as u64;

        if !self.head_done {
            let room = self.head_cap - self.head_bytes;
            let take = match output_cap::head_end(data, room) {
                _ if data.len() <= room => data.len(),
                Some(end) => end,
                // The head ends with its last line.
                None if self.head.iter().any(|p| p.data.contains(&b'\n')) => 0,
                // One line longer than the head: its start.
                None => room,
            };
            let (now, rest) = data.split_at(take);
            match self.head.last_mut() {
                _ if now.is_empty() => {}
                Some(last) if last.section == section && last.stream == stream => {
                    last.data.extend_from_slice(now)
                }
                _ => self.head.push(Piece {
                    section,
                    stream,
                    data: now.to_vec(),
                    start: 0,
                }),
            }
            self.head_bytes += now.len();
            if self.head_bytes == self.head_cap || !rest.is_empty() {
                self.head_done = true;
                self.end_head_at_line();
                if let Some(last) = self.head.last_mut() {
                    last.data.shrink_to_fit();
                }
            }
            data = rest;
        }
        if data.is_empty() || self.tail_cap == 0 {
            return;
        }
        // Only the last `tail_cap` bytes of this chunk can survive anyway.
        if data.len() > self.tail_cap {
            let (gone, kept) = data.split_at(data.len() - self.tail_cap);
            self.tail.clear();
            self.tail_bytes = 0;
            self.dropped_ends_line = gone.last() == Some(&b'\n');
            data = kept;
        }
        match self.tail.back_mut() {
            Some(last)
                if last.section == section
                    && last.stream == stream
                    && last.data.len() < TAIL_PIECE_MAX =>
            {
                last.data.extend_from_slice(data)
            }
            _ => self.tail.push_back(Piece {
                section,
                stream,
                data: data.to_vec(),
                start: 0,
            }),
        }
        self.tail_bytes += data.len();
        while self.tail_bytes > self.tail_cap {
            let excess = self.tail_bytes - self.tail_cap;
            let front = self.tail.front_mut().expect("tail holds the excess");
            if front.len() <= excess {
                self.dropped_ends_line = front.bytes().last() == Some(&b'\n');
                self.tail_bytes -= front.len();
                self.tail.pop_front();
            } else {
                self.dropped_ends_line = front.bytes()[excess - 1] == b'\n';
                front.start += excess;
                self.tail_bytes -= excess;
            }
        }
    }

    /// Bytes `step` printed that are known by their count only: the journal
    /// kept a long output's head and tail and counted its middle. They are
    /// cut, as the middle of a long output is: the tail window starts
    /// after them (what the journal kept after a cut is more than it holds).
    /// What they were is unknown, so the complete output is too
    /// (`fully_known`).
    pub fn push_unknown(&mut self, step: StepIndex, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let section = self.section_of(step);
        self.sections[section].bytes += bytes;
        self.total += bytes;
        self.unknown = true;
        if !self.head_done {
            self.head_done = true;
            self.end_head_at_line();
        }
        self.tail.clear();
        self.tail_bytes = 0;
        // The journal cuts at line ends.
        self.dropped_ends_line = true;
    }

    /// The head is complete but ends inside a line: what follows its last
    /// line end starts the tail instead (it is empty still).
    fn end_head_at_line(&mut self) {
        let Some(at) = self.head.iter().rposition(|p| p.data.contains(&b'\n')) else {
            return; // one line longer than the head
        };
        let piece = &mut self.head[at];
        let end = piece
            .data
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |n| n + 1);
        let mut moved = Vec::new();
        if end < piece.data.len() {
            moved.push(Piece {
                section: piece.section,
                stream: piece.stream,
                data: piece.data.split_off(end),
                start: 0,
            });
        }
        moved.extend(self.head.drain(at + 1..));
        for piece in moved {
            self.head_bytes -= piece.len();
            self.tail_bytes += piece.len();
            self.tail.push_back(piece);
        }
    }

    /// Once the host is done: the tail window starts at a line's start,
    /// unless a line runs through all of it (the cut bytes count the rest).
    pub fn align_cut(&mut self) {
        if self.cut_bytes() == 0 || self.dropped_ends_line {
            return;
        }
        let mut skip = 0;
        for piece in &self.tail {
            match output_cap::to_line_start(piece.bytes()) {
                Some(n) => {
                    skip += n;
                    break;
                }
                None => skip += piece.len(),
            }
            if skip >= self.tail_bytes {
                return; // no line end at all
            }
        }
        while skip > 0 {
            let front = self
                .tail
                .front_mut()
                .expect("the skipped bytes are in the tail");
            let n = skip.min(front.len());
            front.start += n;
            self.tail_bytes -= n;
            skip -= n;
            if front.len() == 0 {
                self.tail.pop_front();
            }
        }
        self.dropped_ends_line = true;
    }

    /// Whether the journal, which keeps `cap` bytes of each step (its head
    /// and tail), has every byte this host printed.
    pub fn journal_keeps_all(&self, cap: u64) -> bool {
        let mut per_step: Vec<(StepIndex, u64)> = Vec::new();
        for section in &self.sections {
            match per_step.iter_mut().find(|(step, _)| *step == section.step) {
                Some((_, bytes)) => *bytes += section.bytes,
                None => per_step.push((section.step, section.bytes)),
            }
        }
        per_step
            .iter()
            .all(|&(_, bytes)| output_cap::keeps_all(bytes, cap))
    }

    /// Bytes received but not kept (between the head and the tail).
    /// Every byte the host printed went through `push` (none was only
    /// counted): `group_key` covers the complete output.
    pub fn fully_known(&self) -> bool {
        !self.unknown
    }

    pub fn cut_bytes(&self) -> u64 {
        self.total - (self.head_bytes + self.tail_bytes) as u64
    }

    /// A digest of everything the host printed and how each step ended:
    /// equal keys mean identical complete output and outcomes. Error texts
    /// are left out, since they often name the host.
    pub fn group_key(&self, mut key: digest::Context) -> digest::Digest {
        for section in &self.sections {
            key.update(&(section.step as u64).to_le_bytes());
            key.update(&section.attempt.to_le_bytes());
            match &section.outcome {
                Some(outcome) => {
                    key.update(b"o");
                    key.update(outcome.status.as_str().as_bytes());
                    match outcome.exit_code {
                        Some(code) => key.update(&[&b"c"[..], &code.to_le_bytes()].concat()),
                        None => key.update(b"-"),
                    }
                    let signal = outcome.signal.as_deref().unwrap_or("");
                    key.update(&(signal.len() as u64).to_le_bytes());
                    key.update(signal.as_bytes());
                }
                None => key.update(b"n"),
            }
            if let Some(digests) = &section.digests {
                for context in digests {
                    key.update(context.clone().finish().as_ref());
                }
            }
        }
        key.finish()
    }
}

fn stream_slot(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::HostStatus;

    fn kept(capture: &HostCapture) -> (Vec<u8>, Vec<u8>) {
        let head = capture
            .head
            .iter()
            .flat_map(|p| p.bytes().to_vec())
            .collect();
        let tail = capture
            .tail
            .iter()
            .flat_map(|p| p.bytes().to_vec())
            .collect();
        (head, tail)
    }

    #[test]
    fn small_output_is_kept_whole() {
        let mut capture = HostCapture::new(100, false);
        capture.start_step(0, 1);
        capture.push(0, Stream::Stdout, b"hello ");
        capture.push(0, Stream::Stdout, b"world");
        capture.push(0, Stream::Stderr, b"oops");
        assert_eq!(capture.cut_bytes(), 0);
        assert_eq!(capture.head.len(), 2, "same stream merges");
        assert_eq!(capture.head[0].bytes(), b"hello world");
        assert_eq!(capture.head[1].bytes(), b"oops");
    }

    #[test]
    fn large_output_keeps_head_and_tail_within_the_cap() {
        let mut capture = HostCapture::new(10, false);
        for chunk in [&b"0123"[..], b"4567", b"89ab", b"cdef", b"ghij"] {
            capture.push(0, Stream::Stdout, chunk);
        }
        let (head, tail) = kept(&capture);
        assert_eq!(head, b"01234");
        assert_eq!(tail, b"fghij");
        assert_eq!(capture.cut_bytes(), 10);
        // One chunk bigger than the whole cap.
        let mut capture = HostCapture::new(4, false);
        capture.push(0, Stream::Stdout, b"abcdefghij");
        assert_eq!(kept(&capture), (b"ab".to_vec(), b"ij".to_vec()));
        assert_eq!(capture.cut_bytes(), 6);
    }

    #[test]
    fn the_cuts_fall_on_line_ends() {
        let text = b"aaa\nbbb\nccc\nddd\neee\nfff\nggg\n";
        for chunk_size in 1..=text.len() {
            let mut capture = HostCapture::new(20, false);
            for chunk in text.chunks(chunk_size) {
                capture.push(0, Stream::Stdout, chunk);
            }
            capture.align_cut();
            let (head, tail) = kept(&capture);
            assert_eq!(head, b"aaa\nbbb\n", "chunks of {chunk_size}");
            assert!(text.ends_with(&tail), "chunks of {chunk_size}");
            assert!(
                tail.len() >= 4 && tail.len() <= 10 && tail.len() % 4 == 0,
                "chunks of {chunk_size}: {:?}",
                String::from_utf8_lossy(&tail)
            );
            assert_eq!(
                capture.cut_bytes(),
                (text.len() - head.len() - tail.len()) as u64
            );
        }
        // One line longer than the cap is cut inside it.
        let mut capture = HostCapture::new(10, false);
        capture.push(0, Stream::Stdout, &[b'x'; 30]);
        capture.align_cut();
        assert_eq!(kept(&capture), (vec![b'x'; 5], vec![b'x'; 5]));
    }

    #[test]
    fn the_journal_has_it_all_unless_a_step_passed_its_cap() {
        let mut capture = HostCapture::new(10, false);
        capture.start_step(0, 1);
        capture.push(0, Stream::Stdout, &[b'x'; 60]);
        capture.start_step(0, 2);
        capture.push(0, Stream::Stdout, &[b'x'; 60]);
        capture.start_step(1, 1);
        capture.push(1, Stream::Stdout, &[b'x'; 100]);
        assert!(capture.journal_keeps_all(120));
        assert!(
            !capture.journal_keeps_all(119),
            "step 0's two attempts add up"
        );
    }

    #[test]
    fn ten_megabytes_stay_within_the_cap() {
        let cap = 1024 * 1024;
        let mut capture = HostCapture::new(cap, true);
        let chunk = vec![b'x'; 4096];
        for i in 0..2560 {
            let stream = if i % 7 == 0 {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            capture.push(0, stream, &chunk);
        }
        let (head, tail) = kept(&capture);
        assert_eq!(head.len() + tail.len(), cap);
        assert_eq!(capture.cut_bytes(), 10 * 1024 * 1024 - cap as u64);
        let held: usize = capture
            .head
            .iter()
            .chain(&capture.tail)
            .map(|p| p.data.capacity())
            .sum();
        assert!(
            held < 2 * cap,
            "{held} bytes allocated for a {cap}-byte cap"
        );
    }

    #[test]
    fn bytes_known_by_their_count_are_cut_and_not_fully_known() {
        let capture = || {
            let mut capture = HostCapture::new(10, true);
            capture.start_step(0, 1);
            capture.push(0, Stream::Stdout, b"aaa\nbbb\nccc\n");
            capture.push_unknown(0, 1000);
            capture.push(0, Stream::Stdout, b"yyy\nzzz\n");
            capture.align_cut();
            capture
        };
        let one = capture();
        assert_eq!(kept(&one), (b"aaa\n".to_vec(), b"zzz\n".to_vec()));
        assert_eq!(one.cut_bytes(), 8 + 1000 + 4);
        assert!(one.journal_keeps_all(1020) && !one.journal_keeps_all(1019));
        assert!(!one.fully_known());
    }

    #[test]
    fn tail_window_slides_across_streams() {
        let mut capture = HostCapture::new(6, false);
        capture.push(0, Stream::Stdout, b"abc");
        capture.push(0, Stream::Stderr, b"12");
        capture.push(0, Stream::Stdout, b"de");
        capture.push(1, Stream::Stdout, b"XY");
        assert_eq!(kept(&capture), (b"abc".to_vec(), b"eXY".to_vec()));
        assert_eq!(capture.tail.front().unwrap().section, 0);
        assert_eq!(capture.tail.back().unwrap().section, 1);
    }

    #[test]
    fn group_key_covers_full_output_and_outcome() {
        let ok = StepOutcome {
            status: HostStatus::Ok,
            exit_code: Some(0),
            signal: None,
            error: None,
        };
        let key = |output: &[u8], outcome: &StepOutcome| {
            let mut capture = HostCapture::new(4, true);
            capture.start_step(0, 1);
            capture.push(0, Stream::Stdout, output);
            capture.finish_step(0, 1, outcome.clone());
            capture.group_key(digest::Context::new(&digest::SHA256))
        };
        let same = key(b"0123456789", &ok);
        assert_eq!(same.as_ref(), key(b"0123456789", &ok).as_ref());
        // Differs only in the cut middle: still a different group.
        assert_ne!(same.as_ref(), key(b"0123x56789", &ok).as_ref());
        let failed = StepOutcome {
            status: HostStatus::Failed,
            exit_code: Some(1),
            ..ok.clone()
        };
        assert_ne!(same.as_ref(), key(b"0123456789", &failed).as_ref());
        // Stdout vs stderr matters.
        let mut err = HostCapture::new(100, true);
        err.push(0, Stream::Stderr, b"0123456789");
        err.finish_step(0, 1, ok.clone());
        assert_ne!(
            same.as_ref(),
            err.group_key(digest::Context::new(&digest::SHA256))
                .as_ref()
        );
    }
}
