//! What the journal keeps of a long output, in one place: the first half of
//! the cap of each host's step (the head) and the latest half (the tail),
//! with a marker between them that says exactly what was dropped. The cuts
//! fall on line boundaries where the output has any, so a reader sees whole
//! lines on both sides of the marker. The headless reporter cuts the same way
//! and asks this module whether the journal kept what it did not show.

/// Bytes kept per host and step, head and tail together, by default.
pub const DEFAULT_OUTPUT_CAP: u64 = 4 * 1024 * 1024;

/// The head's share of a cap; the tail gets the rest.
pub fn head_share(cap: u64) -> u64 {
    cap / 2
}

/// Where a head with `room` bytes left ends in `data`, which does not fit:
/// after the last line end that fits. `None`: no line ends there; the head
/// then ends where its last line does (before `data`), unless it is empty
/// (one line longer than the head: it takes `room` bytes of it).
pub fn head_end(data: &[u8], room: usize) -> Option<usize> {
    data[..room.min(data.len())]
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|newline| newline + 1)
}

/// Bytes to drop from the front of a tail that may start in the middle of
/// a line, so that it starts the next one; `None` when `data` has no line
/// end (the line goes on past it).
pub fn to_line_start(data: &[u8]) -> Option<usize> {
    data.iter()
        .position(|&b| b == b'\n')
        .map(|newline| newline + 1)
}

/// Lines in `data`, counted by their ends.
pub fn line_ends(data: &[u8]) -> u64 {
    data.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Whether the journal keeps every byte of a step that printed `bytes`.
pub fn keeps_all(bytes: u64, cap: u64) -> bool {
    bytes <= cap
}

/// The marker a reader shows where output was dropped (`show`, the console
/// and its replay all use this text).
pub fn marker(dropped_bytes: u64, dropped_lines: Option<u64>, cap: u64) -> String {
    let lines = match dropped_lines {
        Some(1) => ", 1 line".to_owned(),
        Some(n) => format!(", {n} lines"),
        None => String::new(),
    };
    let bytes = if dropped_bytes == 1 { "byte" } else { "bytes" };
    format!(
        "[... {dropped_bytes} {bytes}{lines} not kept here: {} ...]",
        what_is_kept(cap)
    )
}

/// "the journal keeps the first 2 MiB and the last 2 MiB of a step's output"
pub fn what_is_kept(cap: u64) -> String {
    format!(
        "the journal keeps the first {} and the last {} of a step's output",
        size(head_share(cap)),
        size(cap - head_share(cap))
    )
}

/// `2 MiB`, `512 KiB`, `100 bytes`: sizes of a cap.
fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    if bytes >= KIB * KIB && bytes.is_multiple_of(KIB * KIB) {
        format!("{} MiB", bytes / (KIB * KIB))
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_ends_after_the_last_line_end_that_fits() {
        assert_eq!(head_end(b"ab\ncd\nef", 7), Some(6));
        assert_eq!(head_end(b"ab\ncd\nef", 5), Some(3));
        assert_eq!(head_end(b"abcdef\n", 3), None);
    }

    #[test]
    fn the_tail_starts_after_the_first_line_end() {
        assert_eq!(to_line_start(b"rest of a line\nnext\n"), Some(15));
        assert_eq!(to_line_start(b"\nnext"), Some(1));
        assert_eq!(to_line_start(b"no end"), None);
        assert_eq!(line_ends(b"a\nb\n\nc"), 3);
    }

    #[test]
    fn the_marker_says_what_was_dropped_and_what_is_kept() {
        assert_eq!(
            marker(5_000_000, Some(81_234), DEFAULT_OUTPUT_CAP),
            "[... 5000000 bytes, 81234 lines not kept here: the journal keeps the first 2 MiB and the last 2 MiB of a step's output ...]"
        );
        assert_eq!(
            marker(1, None, 100),
            "[... 1 byte not kept here: the journal keeps the first 50 bytes and the last 50 bytes of a step's output ...]"
        );
        assert!(keeps_all(DEFAULT_OUTPUT_CAP, DEFAULT_OUTPUT_CAP));
        assert!(!keeps_all(DEFAULT_OUTPUT_CAP + 1, DEFAULT_OUTPUT_CAP));
    }
}
