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
    let (prefix, style) = match kind {
        LineKind::Stdout => ("", theme.text()),
        LineKind::Stderr => ("▌", theme.fg(theme.colors.stderr)),
        LineKind::Step => ("", theme.accent().add_modifier(Modifier::BOLD)),
        LineKind::Note => ("", theme.fg(theme.colors.failed)),
    };
    let room = width.saturating_sub(prefix.chars().count());
    let text = shown_columns(text, column, room);
    let mut spans = Vec::new();
    if !prefix.is_empty() {
        spans.push(Span::styled(prefix, style));
    }
    if term.is_empty() {
        spans.push(Span::styled(text, style));
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
    Line::from(dim_control_pictures(spans, theme))
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
}
