//! A session's output as the journal keeps it when `[ssh] keep_output` is
//! on: masked by the run output's scrubber (the host's secret variables),
//! then cut like run output — the head and the latest tail of the cap, a
//! marker naming what was dropped between them.

use crate::engine::events::Stream;
use crate::engine::scrub::Scrubber;
use crate::journal::output_cap;
use crate::report::capture::HostCapture;

pub struct KeptOutput {
    scrubber: Scrubber,
    capture: HostCapture,
    cap: u64,
}

impl KeptOutput {
    pub fn new(secrets: &[String], cap: u64) -> KeptOutput {
        KeptOutput {
            scrubber: Scrubber::new(secrets),
            capture: HostCapture::new(cap as usize, false),
            cap,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        let clean = self.scrubber.push(data);
        self.capture.push(0, Stream::Stdout, &clean);
    }

    /// What is kept: the head, the marker if anything was dropped, the tail.
    pub fn finish(mut self) -> Vec<u8> {
        let rest = self.scrubber.finish();
        self.capture.push(0, Stream::Stdout, &rest);
        self.capture.align_cut();
        let mut kept = Vec::new();
        for piece in &self.capture.head {
            kept.extend_from_slice(piece.bytes());
        }
        let dropped = self.capture.cut_bytes();
        if dropped > 0 {
            if kept.last().is_some_and(|&b| b != b'\n') {
                kept.push(b'\n');
            }
            kept.extend_from_slice(output_cap::marker(dropped, None, self.cap).as_bytes());
            kept.push(b'\n');
        }
        for piece in &self.capture.tail {
            kept.extend_from_slice(piece.bytes());
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_even_across_chunks() {
        let mut kept = KeptOutput::new(&["hunter22".to_string()], 1024);
        kept.push(b"password: hun");
        kept.push(b"ter22\nbye\n");
        assert_eq!(kept.finish(), b"password: ***\nbye\n");
    }

    #[test]
    fn long_output_keeps_its_head_and_tail_with_a_marker() {
        let mut kept = KeptOutput::new(&[], 40);
        for i in 0..100 {
            kept.push(format!("line {i:03}\n").as_bytes());
        }
        let text = String::from_utf8(kept.finish()).unwrap();
        assert!(text.starts_with("line 000\nline 001\n"), "{text}");
        assert!(text.ends_with("line 098\nline 099\n"), "{text}");
        assert!(text.contains("not kept here"), "{text}");
        assert!(!text.contains("line 050"), "{text}");
    }
}
