//! Host output made safe to show on an operator's terminal: bytes decode
//! lossily (invalid UTF-8 shows as U+FFFD), escape sequences are removed so
//! a hostile host cannot move the cursor, retitle the window, rewrite the
//! screen or answer back through the terminal, and other control characters
//! show in caret notation (`^G`, `^H`). Newlines and tabs stay; `\r\n`
//! becomes `\n`.
//!
//! [`Cleaner`] does it as bytes arrive, chunk by chunk, with what a chunk
//! leaves unfinished (an escape sequence, a UTF-8 character, a `\r`)
//! carried to the next; [`clean_text`] is the same for bytes at hand.

use crate::escapes::EscapeState;

/// The display cleaner, fed in pieces: `push` what arrives, then `finish`.
/// The text out is exactly `clean_text` of everything pushed.
#[derive(Debug, Default, Clone)]
pub struct Cleaner {
    escapes: EscapeState,
    /// The start of a UTF-8 character cut off by the end of a push.
    partial: Vec<u8>,
    /// A `\r` not yet known to be part of a `\r\n`.
    carriage_return: bool,
    /// The shown bytes of a push, kept to save an allocation per push.
    shown: Vec<u8>,
}

impl Cleaner {
    pub fn new() -> Cleaner {
        Cleaner::default()
    }

    /// Cleans `bytes` onto `out`; whatever they leave unfinished waits.
    pub fn push(&mut self, bytes: &[u8], out: &mut String) {
        // Plain text (printable ASCII, tabs, newlines) with nothing pending
        // stays as it is: the common case, taken without a copy.
        if self.partial.is_empty()
            && !self.carriage_return
            && self.escapes == EscapeState::Text
            && bytes
                .iter()
                .all(|&b| (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n')
            && let Ok(text) = std::str::from_utf8(bytes)
        {
            out.push_str(text);
            return;
        }
        let mut shown = std::mem::take(&mut self.shown);
        shown.clear();
        shown.append(&mut self.partial);
        shown.extend(bytes.iter().copied().filter(|&b| self.escapes.feed(b)));
        self.decode(&shown, out);
        self.shown = shown;
    }

    fn decode(&mut self, shown: &[u8], out: &mut String) {
        let mut rest = shown;
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    self.push_str(text, out);
                    break;
                }
                Err(err) => {
                    let (good, bad) = rest.split_at(err.valid_up_to());
                    // Valid up to there, as the error says.
                    self.push_str(std::str::from_utf8(good).unwrap_or_default(), out);
                    match err.error_len() {
                        Some(len) => {
                            self.push_char(char::REPLACEMENT_CHARACTER, out);
                            rest = &bad[len..];
                        }
                        // A character cut off at the end: the next push may complete it.
                        None => {
                            self.partial = bad.to_vec();
                            break;
                        }
                    }
                }
            }
        }
    }

    /// The end of the bytes: a cut-off character shows as U+FFFD, a last
    /// `\r` as `^M`.
    pub fn finish(&mut self, out: &mut String) {
        if !std::mem::take(&mut self.partial).is_empty() {
            self.push_char(char::REPLACEMENT_CHARACTER, out);
        }
        if std::mem::take(&mut self.carriage_return) {
            out.push_str("^M");
        }
        self.escapes = EscapeState::default();
    }

    /// The end of a line (a newline was read and is not pushed): as
    /// `finish`, but a last `\r` was the first half of a `\r\n`.
    pub fn end_line(&mut self, out: &mut String) {
        self.carriage_return = false;
        self.finish(out);
    }

    fn push_str(&mut self, text: &str, out: &mut String) {
        for c in text.chars() {
            self.push_char(c, out);
        }
    }

    fn push_char(&mut self, c: char, out: &mut String) {
        if std::mem::take(&mut self.carriage_return) && c != '\n' {
            out.push_str("^M");
        }
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => self.carriage_return = true,
            '\0'..='\u{1f}' => {
                out.push('^');
                out.push(char::from(c as u8 + b'@'));
            }
            '\u{7f}' => out.push_str("^?"),
            // C1 controls: some terminals read U+009B as CSI and U+009D as OSC.
            '\u{80}'..='\u{9f}' => out.push(char::REPLACEMENT_CHARACTER),
            _ => out.push(c),
        }
    }
}

/// One line of host output (its bytes without the newline), safe for
/// display: a line's cleaning starts afresh, whatever the line before left
/// open (search reads output this way, line by line).
pub fn clean_line(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut cleaner = Cleaner::new();
    cleaner.push(bytes, &mut out);
    cleaner.end_line(&mut out);
    out
}

/// Multi-line host output, safe for display.
pub fn clean_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut cleaner = Cleaner::new();
    cleaner.push(bytes, &mut out);
    cleaner.finish(&mut out);
    out
}

/// One line of text from the run (host names, error details, reasons):
/// cleaned like output, with line breaks and tabs turned into spaces so a
/// header stays one line.
pub fn one_line(text: &str) -> String {
    clean_text(text.as_bytes())
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_plain_text_newlines_and_tabs() {
        assert_eq!(clean_text(b"a\tb\nc\r\n"), "a\tb\nc\n");
    }

    #[test]
    fn strips_colour_and_cursor_sequences() {
        assert_eq!(clean_text(b"\x1b[31mred\x1b[0m \x1b[2J\x1b[Hx"), "red x");
        assert_eq!(clean_text(b"\x1b[?1049h"), "");
    }

    #[test]
    fn strips_osc_title_and_hyperlinks() {
        assert_eq!(clean_text(b"\x1b]0;pwned\x07after"), "after");
        assert_eq!(
            clean_text(b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"),
            "link"
        );
        // Device control strings (DECRQSS and friends) too.
        assert_eq!(clean_text(b"\x1bP$q\"p\x1b\\ok"), "ok");
    }

    #[test]
    fn other_escapes_and_controls() {
        assert_eq!(clean_text(b"\x1bcreset"), "reset");
        assert_eq!(clean_text(b"\x1b(Bx"), "x");
        assert_eq!(
            clean_text(b"bell\x07 bs\x08 nul\x00 del\x7f"),
            "bell^G bs^H nul^@ del^?"
        );
        assert_eq!(clean_text(b"50%\r100%"), "50%^M100%");
        // A lone ESC at the end, or a cut-off sequence, disappears.
        assert_eq!(clean_text(b"x\x1b"), "x");
        assert_eq!(clean_text(b"x\x1b[3"), "x");
        assert_eq!(clean_text(b"x\x1b]0;title"), "x");
    }

    #[test]
    fn c1_controls_and_invalid_utf8_become_replacement() {
        assert_eq!(clean_text("a\u{9b}31m".as_bytes()), "a\u{fffd}31m");
        assert_eq!(clean_text(b"caf\xe9 ok"), "caf\u{fffd} ok");
        assert_eq!(clean_text("héllo ✓".as_bytes()), "héllo ✓");
    }

    #[test]
    fn the_cleaner_fed_in_pieces_gives_what_clean_text_gives() {
        let samples: [&[u8]; 6] = [
            b"a\x1b[31mred\x1b[0m\r\nnext\rline\x07\n",
            "h\u{e9}llo \u{2713} caf\u{e9}".as_bytes(),
            b"caf\xe9 \xf0\x9f\x98 bad\xff end\xe2\x82",
            b"\x1b]0;title\x07after\r",
            b"\x1b[3\nb\x1b\xc3\xa9\x00\x7f",
            "\u{9b}31m\r\r\n".as_bytes(),
        ];
        for sample in samples {
            let whole = clean_text(sample);
            for cut in 0..=sample.len() {
                for second in cut..=sample.len() {
                    let mut cleaner = Cleaner::new();
                    let mut out = String::new();
                    cleaner.push(&sample[..cut], &mut out);
                    cleaner.push(&sample[cut..second], &mut out);
                    cleaner.push(&sample[second..], &mut out);
                    cleaner.finish(&mut out);
                    assert_eq!(out, whole, "{sample:?} cut at {cut} and {second}");
                }
            }
        }
    }

    #[test]
    fn one_line_flattens() {
        assert_eq!(one_line("a\nb\tc\x1b[1md"), "a b cd");
    }
}
