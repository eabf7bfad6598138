//! A form of label / value / problem rows: a label column (marked when the
//! row has a problem), the value (wrapped under itself rather than cut),
//! and the problem wrapped under the value. Drawn scrolled so the focused
//! row and its problem stay in view.

use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::clip::{clip, wrap_words};
use crate::tui::theme::Theme;

/// How a value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueLook {
    Plain,
    /// A placeholder for an empty field.
    Empty,
    Focused,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FormRow {
    pub label: String,
    pub value: String,
    pub look: ValueLook,
    pub focused: bool,
    /// What is wrong with the row (it is marked) ...
    pub problem: Option<String>,
    /// ... and whether the message itself shows now.
    pub show_problem: bool,
}

/// The form's lines, and the lines of the focused row.
pub fn form_lines(
    rows: &[FormRow],
    label_width: usize,
    width: usize,
    theme: &Theme,
) -> (Vec<Line<'static>>, Range<usize>) {
    let indent = label_width + 2;
    let value_width = width.saturating_sub(indent).max(4);
    let mut lines = Vec::new();
    let mut focus_lines = 0..0;
    for row in rows {
        let label_style = if row.problem.is_some() {
            theme.fg(theme.colors.error)
        } else if row.focused {
            theme.accent()
        } else {
            theme.muted()
        };
        let value_style = match row.look {
            ValueLook::Focused => theme.accent().add_modifier(Modifier::BOLD),
            ValueLook::Empty => theme.muted(),
            ValueLook::Plain => theme.text(),
        };
        let mark = if row.problem.is_some() {
            theme.glyphs.error.as_str()
        } else {
            " "
        };
        let first = lines.len();
        // A long value goes on under itself rather than being cut.
        let mut parts = if row.value.chars().count() > value_width {
            wrap_words(&row.value, value_width)
        } else {
            vec![row.value.clone()]
        }
        .into_iter();
        let label = clip(&row.label, label_width);
        lines.push(Line::from(vec![
            Span::styled(mark.to_string(), theme.fg(theme.colors.error)),
            Span::styled(format!("{label:<label_width$} "), label_style),
            Span::styled(parts.next().unwrap_or_default(), value_style),
        ]));
        for part in parts {
            lines.push(Line::from(Span::styled(
                format!("{}{part}", " ".repeat(indent)),
                value_style,
            )));
        }
        if let Some(message) = row.problem.as_deref().filter(|_| row.show_problem) {
            // Wrapped by hand so every line stays under the field's value.
            for part in wrap_words(message, value_width) {
                lines.push(Line::from(Span::styled(
                    format!("{}{part}", " ".repeat(indent)),
                    theme.fg(theme.colors.error),
                )));
            }
        }
        if row.focused {
            focus_lines = first..lines.len();
        }
    }
    (lines, focus_lines)
}

/// Draws `lines` into `area`, scrolled so `focus` stays in view.
pub fn draw_scrolled(
    frame: &mut Frame,
    area: Rect,
    lines: Vec<Line<'static>>,
    focus: Range<usize>,
) {
    let height = area.height as usize;
    let scroll = focus.end.saturating_sub(height).min(focus.start);
    frame.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_wrap_under_the_value_and_mark_the_label() {
        let theme = Theme::default_theme();
        let rows = [
            FormRow {
                label: "name".into(),
                value: "nightly".into(),
                look: ValueLook::Plain,
                focused: false,
                problem: None,
                show_problem: false,
            },
            FormRow {
                label: "forks".into(),
                value: "0".into(),
                look: ValueLook::Focused,
                focused: true,
                problem: Some("must be at least 1 host at a time".into()),
                show_problem: true,
            },
        ];
        let (lines, focus) = form_lines(&rows, 6, 20, &theme);
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(
            text,
            [
                " name   nightly",
                "✘forks  0",
                "        must be at",
                "        least 1 host",
                "        at a time"
            ]
        );
        assert_eq!(focus, 1..5);
    }
}
