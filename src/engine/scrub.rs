//! Removes secret values from output before any consumer sees it. A secret
//! split across two chunks is still caught: the tail of a chunk that could
//! begin a secret is held back until the next chunk (or the end) decides.

use bytes::{Bytes, BytesMut};

pub const MASK: &[u8] = b"***";

#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    secrets: Vec<Vec<u8>>,
    held: Vec<u8>,
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
            held: Vec::new(),
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
        let masked = self.mask(&data);
        let keep = self.undecided_tail(&masked);
        self.held = masked[masked.len() - keep..].to_vec();
        Bytes::copy_from_slice(&masked[..masked.len() - keep])
    }

    /// `text` with every secret masked: for whole texts (error messages),
    /// not streams.
    pub fn mask_text(&self, text: &str) -> String {
        if self.secrets.is_empty() {
            return text.to_string();
        }
        // Masking swaps whole secrets (valid UTF-8) for ASCII: still UTF-8.
        String::from_utf8_lossy(&self.mask(text.as_bytes())).into_owned()
    }

    /// Whatever is still held back, at the end of the stream.
    pub fn finish(&mut self) -> Bytes {
        Bytes::from(std::mem::take(&mut self.held))
    }

    fn mask(&self, data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::with_capacity(data.len());
        let mut i = 0;
        'outer: while i < data.len() {
            for secret in &self.secrets {
                if data[i..].starts_with(secret) {
                    out.extend_from_slice(MASK);
                    i += secret.len();
                    continue 'outer;
                }
            }
            out.extend_from_slice(&data[i..i + 1]);
            i += 1;
        }
        out.to_vec()
    }

    /// Length of the longest suffix of `data` that is a proper prefix of a secret.
    fn undecided_tail(&self, data: &[u8]) -> usize {
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
            .unwrap_or(0)
    }
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
    fn holds_back_only_what_could_start_a_secret() {
        let mut s = Scrubber::new(&["secret".to_string()]);
        assert_eq!(&s.push(b"abc se")[..], b"abc ");
        assert_eq!(&s.push(b"x")[..], b"sex");
        assert_eq!(&s.finish()[..], b"");
    }
}
