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
pub(super) fn output_line(
    kind: LineKind,
    text: &str,
    term: &str,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let (prefix, style) = match kind {
        LineKind::Stdout => ("", theme.text()),
        LineKind::Stderr => ("▌", theme.fg(theme.colors.stderr)),
        LineKind::Step => ("", theme.accent().add_modifier(Modifier::BOLD)),
        LineKind::Note => ("", theme.fg(theme.colors.failed)),
    };
    let text: String = text
        .chars()
        .take(width.saturating_sub(prefix.chars().count()))
        .collect();
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
