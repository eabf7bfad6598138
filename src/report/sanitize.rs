//! Host output made safe to show on an operator's terminal: bytes decode
//! lossily (invalid UTF-8 shows as U+FFFD), escape sequences are removed so
//! a hostile host cannot move the cursor, retitle the window, rewrite the
//! screen or answer back through the terminal, and other control characters
//! show in caret notation (`^G`, `^H`). Newlines and tabs stay; `\r\n`
//! becomes `\n`.

use crate::escapes;

/// Multi-line host output, safe for display.
pub fn clean_text(bytes: &[u8]) -> String {
    // Escape sequences go first, by the grammar the secret scrubber follows too.
    let shown = escapes::strip(bytes);
    let text = String::from_utf8_lossy(&shown);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' if chars.peek() == Some(&'\n') => {}
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
    fn one_line_flattens() {
        assert_eq!(one_line("a\nb\tc\x1b[1md"), "a b cd");
    }
}
