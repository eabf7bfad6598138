//! Terminal escape sequences in host output: which bytes a terminal would not
//! show as text. One grammar for the two places that must agree on it: the
//! display cleaner (`report::sanitize`) removes these bytes, and the secret
//! scrubber (`engine::scrub`) looks for secrets in what is left, so a secret
//! printed in pieces around an escape sequence is caught.
//!
//! Recognised (ECMA-48, as terminals read it): CSI `ESC [` parameters and
//! intermediates then one final byte; strings `ESC ] P X ^ _` ended by BEL or
//! `ESC \`; nF sequences `ESC` intermediates then a final byte; any other
//! two-byte `ESC x`. A byte that cannot continue a sequence ends it and is
//! read again as text (so a newline or an `ESC` inside a broken sequence
//! still counts); an `ESC` inside a string starts a new sequence.
//!
//! Written here rather than taken from `vte`: the scrubber needs to know of
//! each raw byte whether it is shown, with the state carried from one chunk
//! to the next; `vte` reports finished actions (a character printed, a
//! sequence dispatched), not bytes, and a terminal's rules (controls executed
//! inside a sequence) are not what the display cleaner does.

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;

/// Where a byte stream stands in the grammar. Carried across chunks, so a
/// sequence split between two reads is still recognised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EscapeState {
    #[default]
    Text,
    /// After `ESC`.
    Escape,
    /// Inside `ESC [ ...`.
    Csi,
    /// Inside `ESC` + intermediate bytes.
    Intermediate,
    /// Inside an OSC/DCS/SOS/PM/APC string.
    String,
    /// After `ESC` inside a string: `\` ends it, anything else starts anew.
    StringEscape,
}

impl EscapeState {
    /// Reads one byte: true if a terminal would show it, false if it belongs to
    /// an escape sequence.
    pub fn feed(&mut self, byte: u8) -> bool {
        match *self {
            EscapeState::Text => {
                if byte == ESC {
                    *self = EscapeState::Escape;
                    return false;
                }
                true
            }
            EscapeState::Escape => {
                *self = match byte {
                    b'[' => EscapeState::Csi,
                    b']' | b'P' | b'X' | b'^' | b'_' => EscapeState::String,
                    0x20..=0x2f => EscapeState::Intermediate,
                    // ESC ESC: the first one is dropped, the second begins.
                    ESC => EscapeState::Escape,
                    0x30..=0x7e => EscapeState::Text,
                    _ => return self.text_again(byte),
                };
                false
            }
            EscapeState::Csi => match byte {
                0x20..=0x3f => false,
                0x40..=0x7e => {
                    *self = EscapeState::Text;
                    false
                }
                _ => self.text_again(byte),
            },
            EscapeState::Intermediate => match byte {
                0x20..=0x2f => false,
                0x30..=0x7e => {
                    *self = EscapeState::Text;
                    false
                }
                _ => self.text_again(byte),
            },
            EscapeState::String => {
                match byte {
                    BEL => *self = EscapeState::Text,
                    ESC => *self = EscapeState::StringEscape,
                    _ => {}
                }
                false
            }
            EscapeState::StringEscape => {
                if byte == b'\\' {
                    *self = EscapeState::Text;
                    return false;
                }
                *self = EscapeState::Escape;
                self.feed(byte)
            }
        }
    }

    /// A byte that cannot continue the sequence: the sequence ends, the byte
    /// is read as text.
    fn text_again(&mut self, byte: u8) -> bool {
        *self = EscapeState::Text;
        self.feed(byte)
    }
}

/// `bytes` without their escape sequences. A sequence cut off by the end of
/// the bytes is dropped whole.
pub fn strip(bytes: &[u8]) -> Vec<u8> {
    let mut state = EscapeState::default();
    bytes
        .iter()
        .copied()
        .filter(|&byte| state.feed(byte))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripped(bytes: &[u8]) -> String {
        String::from_utf8_lossy(&strip(bytes)).into_owned()
    }

    #[test]
    fn sequences_of_every_kind_disappear() {
        assert_eq!(stripped(b"\x1b[31mred\x1b[0m \x1b[2J\x1b[Hx"), "red x");
        assert_eq!(stripped(b"\x1b]0;title\x07a\x1b]8;;u\x1b\\b"), "ab");
        assert_eq!(stripped(b"\x1bP$q\"p\x1b\\ok\x1bcx\x1b(By"), "okxy");
    }

    #[test]
    fn a_broken_sequence_gives_its_text_back() {
        // A newline ends a broken CSI and stays a newline.
        assert_eq!(stripped(b"a\x1b[3\nb"), "a\nb");
        // An ESC inside a string or a CSI starts the next sequence.
        assert_eq!(stripped(b"\x1b]0;t\x1b[31mx"), "x");
        assert_eq!(stripped(b"\x1b[3\x1b[0mx"), "x");
        assert_eq!(stripped(b"\x1b\xc3\xa9"), "\u{e9}");
    }

    #[test]
    fn state_carries_across_chunks() {
        let mut state = EscapeState::default();
        let mut shown = Vec::new();
        for chunk in [&b"fir"[..], b"st\x1b", b"[0", b"msec", b"ond"] {
            shown.extend(chunk.iter().copied().filter(|&b| state.feed(b)));
        }
        assert_eq!(shown, b"firstsecond");
    }
}
