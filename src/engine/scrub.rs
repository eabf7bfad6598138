//! Removes secret values from output before any consumer sees it (screen,
//! journal, reporter, replay, logs: they all get the scrubbed bytes).
//!
//! A secret is masked where it appears in the raw bytes, and where it appears
//! in the text a terminal shows: escape sequences (the grammar of
//! [`crate::escapes`], the one the display cleaner uses) and carriage returns
//! removed. `printf 'x=%s\033[0m%s' first second` shows `x=firstsecond`, so
//! with the secret `firstsecond` the whole raw span, escape and all, becomes
//! `***`. A secret split across chunks is still caught: the tail that could
//! begin a secret is held back until the next chunk (or the end) decides.

use bytes::Bytes;

use crate::escapes::EscapeState;

pub const MASK: &[u8] = b"***";
/// At most this much output is held back waiting for the rest of a secret
/// (escape sequences can sit in its middle); past it the partial secret is
/// masked as if whole.
const MAX_HELD: usize = 64 * 1024;

#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    secrets: Vec<Vec<u8>>,
    held: Vec<u8>,
    /// The escape state at the start of `held`.
    held_state: EscapeState,
}

/// What one pass over the bytes found.
struct Scan {
    /// Raw ranges to replace by the mask, sorted, not overlapping.
    spans: Vec<(usize, usize)>,
    /// Bytes from here on are held back (the length when nothing is).
    hold: usize,
    /// The escape state at `hold`.
    state_at_hold: EscapeState,
}

impl Scrubber {
    /// Empty and one-character secrets are ignored: masking them would
    /// destroy the output without protecting anything.
    pub fn new(secrets: &[String]) -> Scrubber {
        let mut secrets: Vec<Vec<u8>> = secrets
            .iter()
            .filter(|s| s.len() >= 2)
            .map(|s| s.as_bytes().to_vec())
            .collect();
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Scrubber {
            secrets,
            ..Scrubber::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The part of `chunk` (after what was held) that is safe to show now.
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        if self.secrets.is_empty() {
            return Bytes::copy_from_slice(chunk);
        }
        let mut data = std::mem::take(&mut self.held);
        data.extend_from_slice(chunk);
        let scan = self.scan(&data, self.held_state, false);
        self.held = data[scan.hold..].to_vec();
        self.held_state = scan.state_at_hold;
        Bytes::from(apply(&data[..scan.hold], &scan.spans))
    }

    /// `text` with every secret masked: for whole texts (error messages),
    /// not streams.
    pub fn mask_text(&self, text: &str) -> String {
        if self.secrets.is_empty() {
            return text.to_string();
        }
        let scan = self.scan(text.as_bytes(), EscapeState::default(), true);
        // Masking swaps whole byte ranges for ASCII; a range may cut a
        // character, which then shows as U+FFFD.
        String::from_utf8_lossy(&apply(text.as_bytes(), &scan.spans)).into_owned()
    }

    /// Whatever is still held back, at the end of the stream.
    pub fn finish(&mut self) -> Bytes {
        let data = std::mem::take(&mut self.held);
        let scan = self.scan(&data, self.held_state, true);
        self.held_state = EscapeState::default();
        Bytes::from(apply(&data, &scan.spans))
    }

    /// Finds the secrets in `data` (which begins in escape state `state`),
    /// raw and as shown, and unless `at_end` the tail to hold back.
    fn scan(&self, data: &[u8], mut state: EscapeState, at_end: bool) -> Scan {
        // What a terminal shows, and where each shown byte sits in `data`.
        let mut shown = Vec::with_capacity(data.len());
        let mut at = Vec::with_capacity(data.len());
        let mut states = Vec::with_capacity(data.len() + 1);
        for (index, &byte) in data.iter().enumerate() {
            states.push(state);
            // A carriage return is dropped too: `\r\n` shows as `\n`.
            if state.feed(byte) && byte != b'\r' {
                shown.push(byte);
                at.push(index);
            }
        }
        states.push(state);

        let mut spans = Vec::new();
        let shown_end = self.find_all(&shown, |start, end| {
            spans.push((at[start], at[end - 1] + 1));
        });
        let raw_end = self.find_all(data, |start, end| spans.push((start, end)));
        let spans = merge(spans);
        if at_end {
            return Scan {
                spans,
                hold: data.len(),
                state_at_hold: state,
            };
        }

        let candidate_shown = self
            .undecided_start(&shown[shown_end..])
            .map(|offset| at[shown_end + offset]);
        let candidate_raw = self
            .undecided_start(&data[raw_end..])
            .map(|offset| raw_end + offset);
        let masked_until = spans.last().map_or(0, |&(_, end)| end);
        let hold = match candidate_shown.into_iter().chain(candidate_raw).min() {
            Some(start) => start.max(masked_until),
            None => data.len(),
        };
        if data.len() - hold > MAX_HELD {
            // A secret's beginning, then more escape bytes than we keep: mask
            // from there on, and read on as text, as consumers will.
            let mut spans = spans;
            spans.push((hold, data.len()));
            return Scan {
                spans,
                hold: data.len(),
                state_at_hold: EscapeState::default(),
            };
        }
        Scan {
            spans,
            hold,
            state_at_hold: states[hold],
        }
    }

    /// Calls `found(start, end)` for each secret in `data`, left to right,
    /// longest first where two start at the same byte; returns where the last
    /// one ended (0 if none).
    fn find_all(&self, data: &[u8], mut found: impl FnMut(usize, usize)) -> usize {
        let mut last_end = 0;
        let mut i = 0;
        while i < data.len() {
            match self.secrets.iter().find(|s| data[i..].starts_with(s)) {
                Some(secret) => {
                    found(i, i + secret.len());
                    i += secret.len();
                    last_end = i;
                }
                None => i += 1,
            }
        }
        last_end
    }

    /// Where the longest suffix of `data` that is a proper prefix of a secret
    /// begins.
    fn undecided_start(&self, data: &[u8]) -> Option<usize> {
        let longest = self.secrets.first().map_or(0, Vec::len);
        let max = longest.saturating_sub(1).min(data.len());
        (1..=max)
            .rev()
            .find(|&n| {
                let tail = &data[data.len() - n..];
                self.secrets
                    .iter()
                    .any(|s| s.len() > n && s.starts_with(tail))
            })
            .map(|n| data.len() - n)
    }
}

/// Sorted, with overlapping ranges joined.
fn merge(mut spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start < last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// `data` with each span replaced by the mask.
fn apply(data: &[u8], spans: &[(usize, usize)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut from = 0;
    for &(start, end) in spans {
        out.extend_from_slice(&data[from..start]);
        out.extend_from_slice(MASK);
        from = end;
    }
    out.extend_from_slice(&data[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub_all(secrets: &[&str], chunks: &[&str]) -> String {
        let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
        let mut s = Scrubber::new(&secrets);
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(&s.push(c.as_bytes()));
        }
        out.extend_from_slice(&s.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn masks_whole_and_split_secrets() {
        assert_eq!(scrub_all(&["hunter2"], &["pw=hunter2\n"]), "pw=***\n");
        assert_eq!(scrub_all(&["hunter2"], &["pw=hun", "ter2 ok"]), "pw=*** ok");
        assert_eq!(
            scrub_all(&["hunter2"], &["pw=h", "u", "nter", "2"]),
            "pw=***"
        );
        assert_eq!(scrub_all(&["hunter2"], &["hunt", "ing"]), "hunting");
        assert_eq!(
            scrub_all(&["abc", "abcdef"], &["xabcdefy abc"]),
            "x***y ***"
        );
        assert_eq!(scrub_all(&[], &["plain"]), "plain");
        assert_eq!(scrub_all(&["x"], &["x marks"]), "x marks");
    }

    #[test]
    fn masks_whole_texts() {
        let s = Scrubber::new(&["hunter2".to_string()]);
        assert_eq!(
            s.mask_text("cannot create /x/hunter2/y: denied"),
            "cannot create /x/***/y: denied"
        );
        assert_eq!(Scrubber::new(&[]).mask_text("plain"), "plain");
    }

    #[test]
    fn masks_a_secret_shown_whole_around_an_escape_sequence() {
        // printf 'x=%s\033[0m%s' first second
        assert_eq!(
            scrub_all(&["firstsecond"], &["x=first\x1b[0msecond\n"]),
            "x=***\n"
        );
        // Several sequences, a string sequence, a CRLF inside a multi-line secret.
        assert_eq!(
            scrub_all(&["firstsecond"], &["fi\x1b[1mrst\x1b]0;t\x07sec\x1b(Bond!"]),
            "***!"
        );
        assert_eq!(scrub_all(&["l1\nl2"], &["l1\r\nl2"]), "***");
        // Hidden from the screen but in the raw bytes (a window title): masked too.
        assert_eq!(
            scrub_all(&["hunter2"], &["\x1b]0;hunter2\x07ok"]),
            "\x1b]0;***\x07ok"
        );
        // Text that only looks joined once an escape is taken out stays as is
        // when it is not a secret.
        assert_eq!(
            scrub_all(&["firstsecond"], &["first\x1b[0mthird"]),
            "first\x1b[0mthird"
        );
    }

    #[test]
    fn any_chunking_masks_like_the_whole() {
        let secrets = ["firstsecond", "hunter2"];
        for sample in [
            "x=first\x1b[0msecond\nhunter2 \x1b]0;hunter2\x07first",
            "fir\x1b[31;1mst\x1b[0msec\x1bcond hunt\x1b]8;;u\x1b\\er2.",
        ] {
            let whole = scrub_all(&secrets, &[sample]);
            assert!(
                !crate::escapes::strip(whole.as_bytes())
                    .windows(11)
                    .any(|w| w == b"firstsecond")
            );
            let bytes = sample.as_bytes();
            for i in 0..=bytes.len() {
                for j in i..=bytes.len() {
                    let chunks = [&bytes[..i], &bytes[i..j], &bytes[j..]];
                    let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
                    let mut scrubber = Scrubber::new(&secrets);
                    let mut out = Vec::new();
                    for chunk in chunks {
                        out.extend_from_slice(&scrubber.push(chunk));
                    }
                    out.extend_from_slice(&scrubber.finish());
                    assert_eq!(String::from_utf8(out).unwrap(), whole, "split at {i}, {j}");
                }
            }
        }
    }

    #[test]
    fn a_secret_held_open_by_endless_escapes_is_masked_not_kept() {
        let mut s = Scrubber::new(&["firstsecond".to_string()]);
        let mut out = s.push(b"x first\x1b]0;").to_vec();
        for _ in 0..100 {
            out.extend_from_slice(&s.push(&[b'y'; 1024]));
            assert!(s.held.len() <= MAX_HELD + 1024);
        }
        out.extend_from_slice(&s.push(b"\x07second\n"));
        out.extend_from_slice(&s.finish());
        let shown = crate::report::sanitize::clean_text(&out);
        assert!(shown.starts_with("x ***"), "{}", &shown[..20]);
        assert!(!shown.contains("firstsecond"));
    }

    #[test]
    fn holds_back_only_what_could_start_a_secret() {
        let mut s = Scrubber::new(&["secret".to_string()]);
        assert_eq!(&s.push(b"abc se")[..], b"abc ");
        assert_eq!(&s.push(b"x")[..], b"sex");
        assert_eq!(&s.finish()[..], b"");
    }
}
