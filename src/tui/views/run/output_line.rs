//! One row of the output pane: a line of output (stderr marked, search
//! matches highlighted, control characters dim), or a marker where there
//! is no line (the start of the output, lines on their way).

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::pane::PaneLine;
use crate::tui::run_store::LineKind;
use crate::tui::run_store::screen_line::is_control_picture;
use crate::tui::theme::Theme;

/// A row that is not output: where the output starts, or lines on their way.
pub(super) fn marker_line(row: &PaneLine<'_>, theme: &Theme) -> Line<'static> {
    let text = match row {
        PaneLine::StartOfOutput => "── start of output ──".to_string(),
        PaneLine::Loading => "⋯ loading older output…".to_string(),
        PaneLine::Unavailable(why) => format!("⋯ older output unavailable: {why}"),
        PaneLine::Blank | PaneLine::Line(..) => String::new(),
    };
    Line::from(Span::styled(text, theme.muted()))
}

/// How a line's prefix (stderr's bar) and text look.
fn look(kind: LineKind, theme: &Theme) -> (&'static str, Style) {
    match kind {
        LineKind::Stdout => ("", theme.text()),
        LineKind::Stderr => ("▌", theme.fg(theme.colors.stderr)),
        LineKind::Step => ("", theme.accent().add_modifier(Modifier::BOLD)),
        LineKind::Note => ("", theme.fg(theme.colors.failed)),
    }
}

/// A line of a host's output, its search matches marked.
///
/// The pane shows the columns from `column` on; a line cut on either side
/// carries a `…` there.
pub(super) fn output_line(
    kind: LineKind,
    text: &str,
    term: &str,
    width: usize,
    column: usize,
    theme: &Theme,
) -> Line<'static> {
    let (prefix, style) = look(kind, theme);
    let room = width.saturating_sub(prefix.chars().count());
    let text = shown_columns(text, column, room);
    let mut spans = Vec::new();
    if !prefix.is_empty() {
        spans.push(Span::styled(prefix, style));
    }
    spans.extend(marked(&text, term, style, theme));
    Line::from(dim_control_pictures(spans, theme))
}

/// A line of a host's output wrapped into rows of `width` columns, each
/// row with the line's prefix, its search matches marked.
pub(super) fn wrapped_line(
    kind: LineKind,
    text: &str,
    term: &str,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let (prefix, style) = look(kind, theme);
    let room = width.saturating_sub(prefix.chars().count()).max(1);
    let spans = dim_control_pictures(marked(text, term, style, theme), theme);
    let mut rows: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0;
    for span in spans {
        let mut chars = span.content.chars().peekable();
        while chars.peek().is_some() {
            if used == room {
                rows.push(Vec::new());
                used = 0;
            }
            let piece: String = chars.by_ref().take(room - used).collect();
            used += piece.chars().count();
            rows.last_mut()
                .expect("rows start with one")
                .push(Span::styled(piece, span.style));
        }
    }
    rows.into_iter()
        .map(|row| {
            let mut spans = Vec::with_capacity(row.len() + 1);
            if !prefix.is_empty() {
                spans.push(Span::styled(prefix, style));
            }
            spans.extend(row);
            Line::from(spans)
        })
        .collect()
}

/// `text` in `style`, the places that match the search term marked.
fn marked(text: &str, term: &str, style: Style, theme: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if term.is_empty() {
        spans.push(Span::styled(text.to_string(), style));
    } else {
        let lower = text.to_lowercase();
        let needle = term.to_lowercase();
        let mut at = 0;
        // Lowercasing can change byte lengths outside ASCII; highlight only
        // when the positions line up.
        if lower.len() == text.len() {
            while let Some(found) = lower[at..].find(&needle) {
                let start = at + found;
                let end = start + needle.len();
                if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                    break;
                }
                spans.push(Span::styled(text[at..start].to_string(), style));
                spans.push(Span::styled(
                    text[start..end].to_string(),
                    Style::new()
                        .fg(theme.colors.selection_fg)
                        .bg(theme.colors.matched),
                ));
                at = end;
            }
        }
        spans.push(Span::styled(text[at..].to_string(), style));
    }
    spans
}

/// The `room` columns of `text` from `column` on, with `…` where the text
/// goes on past either edge.
fn shown_columns(text: &str, column: usize, room: usize) -> String {
    let total = text.chars().count();
    let mut shown: Vec<char> = text.chars().skip(column).take(room).collect();
    if room == 0 || shown.is_empty() {
        return shown.into_iter().collect();
    }
    if column > 0 {
        shown[0] = '…';
    }
    if column + room < total {
        let last = shown.len() - 1;
        shown[last] = '…';
    }
    shown.into_iter().collect()
}

/// Control characters of the output (shown as control pictures, `␇`) are
/// drawn dim, apart from the text around them.
fn dim_control_pictures(spans: Vec<Span<'static>>, theme: &Theme) -> Vec<Span<'static>> {
    let mut out = Vec::with_capacity(spans.len());
    for span in spans {
        if !span.content.chars().any(is_control_picture) {
            out.push(span);
            continue;
        }
        let mut run = String::new();
        let mut run_is_control = false;
        for c in span.content.chars() {
            let control = is_control_picture(c);
            if control != run_is_control && !run.is_empty() {
                let style = if run_is_control {
                    theme.muted().add_modifier(Modifier::DIM)
                } else {
                    span.style
                };
                out.push(Span::styled(std::mem::take(&mut run), style));
            }
            run_is_control = control;
            run.push(c);
        }
        let style = if run_is_control {
            theme.muted().add_modifier(Modifier::DIM)
        } else {
            span.style
        };
        out.push(Span::styled(run, style));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_lines_carry_an_ellipsis_on_the_cut_side() {
        assert_eq!(shown_columns("abcdefghij", 0, 20), "abcdefghij");
        assert_eq!(shown_columns("abcdefghij", 0, 5), "abcd…");
        assert_eq!(shown_columns("abcdefghij", 3, 5), "…efg…");
        assert_eq!(shown_columns("abcdefghij", 6, 5), "…hij");
        assert_eq!(shown_columns("abc", 8, 5), "");
    }

    #[test]
    fn a_wrapped_line_keeps_every_character_and_its_prefix_on_each_row() {
        let theme = Theme::default_theme();
        let rows = wrapped_line(LineKind::Stderr, "abcdefghij", "def", 5, &theme);
        let texts: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        assert_eq!(texts, ["▌abcd", "▌efgh", "▌ij"]);
        let one = wrapped_line(LineKind::Stdout, "", "", 5, &theme);
        assert_eq!(one.len(), 1);
    }
}
