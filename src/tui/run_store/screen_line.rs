//! One line of host output as a terminal would leave it on screen: escape
//! sequences (colours included) are stripped by the grammar the secret
//! scrubber follows, tabs are expanded to the next multiple of 8 columns,
//! a carriage return sends the cursor back to the start of the line so what
//! follows writes over it (a progress bar shows its last state), and every
//! other control character shows as its Unicode control picture (`␇` for
//! BEL), which the Run view draws dim. Colours are stripped rather than
//! mapped to the theme: a host's colours are chosen for its own terminal
//! and would fight the theme's meanings (failed, stderr, matches).

use crate::escapes;

/// Tab stops, as a terminal sets them.
const TAB: usize = 8;

/// Is `c` a control character shown as its control picture?
pub fn is_control_picture(c: char) -> bool {
    ('\u{2400}'..='\u{2421}').contains(&c)
}

/// `bytes` (one line, without its newline) as a terminal shows it.
pub fn screen_line(bytes: &[u8]) -> String {
    let shown = escapes::strip(bytes);
    let text = String::from_utf8_lossy(&shown);
    let mut cells: Vec<char> = Vec::with_capacity(text.len());
    let mut cursor = 0;
    let put = |cells: &mut Vec<char>, cursor: &mut usize, c: char| {
        if *cursor < cells.len() {
            cells[*cursor] = c;
        } else {
            cells.push(c);
        }
        *cursor += 1;
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // A CR at the very end (the CR of CRLF) moves nothing visible.
            '\r' if chars.peek().is_none() => {}
            '\r' => cursor = 0,
            '\t' => {
                let stop = (cursor / TAB + 1) * TAB;
                while cursor < stop {
                    // A tab moves over what is there; past the end it pads.
                    if cursor < cells.len() {
                        cursor += 1;
                    } else {
                        put(&mut cells, &mut cursor, ' ');
                    }
                }
            }
            '\0'..='\u{1f}' => {
                let picture = char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}');
                put(&mut cells, &mut cursor, picture);
            }
            '\u{7f}' => put(&mut cells, &mut cursor, '\u{2421}'),
            // C1 controls: some terminals read U+009B as CSI and U+009D as OSC.
            '\u{80}'..='\u{9f}' => put(&mut cells, &mut cursor, char::REPLACEMENT_CHARACTER),
            _ => put(&mut cells, &mut cursor, c),
        }
    }
    cells.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_expand_to_the_next_stop() {
        assert_eq!(screen_line(b"a\tb"), "a       b");
        assert_eq!(screen_line(b"\tx"), "        x");
        assert_eq!(screen_line(b"12345678\tx"), "12345678        x");
    }

    #[test]
    fn a_carriage_return_redraws_the_line() {
        assert_eq!(screen_line(b" 10%\r 50%\r100% done"), "100% done");
        assert_eq!(screen_line(b"abcdef\rXY"), "XYcdef");
        assert_eq!(screen_line(b"line\r"), "line");
        // A tab after CR moves over the old text without erasing it.
        assert_eq!(screen_line(b"abcdefghij\r\tX"), "abcdefghXj");
    }

    #[test]
    fn other_controls_are_control_pictures() {
        assert_eq!(screen_line(b"bell\x07!"), "bell\u{2407}!");
        assert_eq!(screen_line(b"a\x08b"), "a\u{2408}b");
        assert_eq!(screen_line(b"\x7f"), "\u{2421}");
        assert!(is_control_picture('\u{2407}'));
        assert!(!is_control_picture('a'));
    }

    #[test]
    fn colours_and_cursor_moves_are_stripped() {
        assert_eq!(screen_line(b"\x1b[31mred\x1b[0m \x1b[2Jx"), "red x");
        assert_eq!(screen_line(b"\x1b]0;title\x07ok"), "ok");
    }
}
