//! One host's output while it runs, bounded in memory: the first half of
//! the cap is kept from the start, the second half is a sliding window of
//! the latest bytes, and whatever falls between is only counted. The
//! journal keeps the full output; the reporter only shows it.
//!
//! In gather mode every byte (kept or not) also goes through a SHA-256 per
//! step and stream, so hosts are grouped by their complete output.

use std::collections::VecDeque;

use ring::digest;

use crate::engine::events::{StepIndex, StepOutcome, Stream};

/// A step run as the host saw it: one per attempt.
pub struct Section {
    pub step: StepIndex,
    pub attempt: u32,
    pub outcome: Option<StepOutcome>,
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
    total: u64,
    hashing: bool,
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
            total: 0,
            hashing,
        }
    }

    /// A new attempt of a step begins.
    pub fn start_step(&mut self, step: StepIndex, attempt: u32) -> usize {
        self.sections.push(Section {
            step,
            attempt,
            outcome: None,
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

        let head_room = self.head_cap - self.head_bytes;
        if head_room > 0 {
            let (now, rest) = data.split_at(head_room.min(data.len()));
            match self.head.last_mut() {
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
            if self.head_bytes == self.head_cap
                && let Some(last) = self.head.last_mut()
            {
                last.data.shrink_to_fit(); // the head is complete
            }
            data = rest;
        }
        if data.is_empty() || self.tail_cap == 0 {
            return;
        }
        // Only the last `tail_cap` bytes of this chunk can survive anyway.
        if data.len() > self.tail_cap {
            data = &data[data.len() - self.tail_cap..];
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
                self.tail_bytes -= front.len();
                self.tail.pop_front();
            } else {
                front.start += excess;
                self.tail_bytes -= excess;
            }
        }
    }

    /// Bytes received but not kept (between the head and the tail).
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
