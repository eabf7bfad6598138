//! The embedded text editor for flow YAML, inline scripts and atoms.
//! `ratatui-textarea` does the editing; drawing is done here so the text
//! can carry syntax highlighting, a line-number gutter and the marks and
//! messages of the problems a check found. The window follows the cursor
//! as keys move it; drawing only reads.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui_textarea::{Input as EditorInput, Key as EditorKey, TextArea};

use super::highlight::{Syntax, highlighted};
use super::panel::panel;
use super::scroll_list::keep_in_view;
use crate::tui::key::Key;
use crate::tui::layout;
use crate::tui::theme::Theme;

/// Problem messages shown under the text, at most.
const MESSAGE_ROWS: usize = 3;

pub struct Editor {
    area: TextArea<'static>,
    syntax: Syntax,
    title: String,
    /// Problems of the last check, by line (0: in another file).
    pub errors: Vec<(usize, String)>,
    /// The text was checked since its last change.
    pub checked: bool,
    /// The text as it is on disk (as opened, or as last saved).
    saved_text: String,
    /// The text differs from `saved_text`.
    modified: bool,
    /// The first line shown, and the text rows the last layout had.
    offset: usize,
    height: usize,
}

impl Editor {
    pub fn new(text: &str, syntax: Syntax, title: String) -> Editor {
        let lines: Vec<String> = text.lines().map(String::from).collect();
        let mut area = TextArea::new(if lines.is_empty() {
            vec![String::new()]
        } else {
            lines
        });
        area.set_tab_length(2);
        let mut editor = Editor {
            area,
            syntax,
            title,
            errors: Vec::new(),
            checked: false,
            saved_text: String::new(),
            modified: false,
            offset: 0,
            height: 1,
        };
        editor.saved_text = editor.text();
        editor
    }

    /// The text has edits that are not on disk.
    pub fn is_modified(&self) -> bool {
        self.modified
    }

    /// `text` is now what the file holds (a save wrote it).
    pub fn mark_saved(&mut self, text: String) {
        self.saved_text = text;
        self.modified = self.text() != self.saved_text;
    }

    fn changed(&mut self) {
        self.checked = false;
        self.modified = self.text() != self.saved_text;
    }

    pub fn text(&self) -> String {
        let mut text = self.area.lines().join("\n");
        text.push('\n');
        text
    }

    /// The editor is laid out in `area` (its text rows follow).
    pub fn set_area(&mut self, area: Rect) {
        let inner = layout::inner(area);
        self.height = (inner.height as usize)
            .saturating_sub(self.errors.len().min(MESSAGE_ROWS))
            .max(1);
        self.follow_cursor();
    }

    fn follow_cursor(&mut self) {
        let row = self.area.cursor().0;
        self.offset = keep_in_view(row, self.offset, self.height, usize::MAX);
    }

    /// A key the keymap left to the editor.
    pub fn key(&mut self, key: &Key) {
        use crossterm::event::{KeyCode, KeyModifiers};
        let ekey = match key.code {
            KeyCode::Char(c) => EditorKey::Char(c),
            KeyCode::Enter => EditorKey::Enter,
            KeyCode::Backspace => EditorKey::Backspace,
            KeyCode::Delete => EditorKey::Delete,
            KeyCode::Left => EditorKey::Left,
            KeyCode::Right => EditorKey::Right,
            KeyCode::Up => EditorKey::Up,
            KeyCode::Down => EditorKey::Down,
            KeyCode::Home => EditorKey::Home,
            KeyCode::End => EditorKey::End,
            KeyCode::PageUp => EditorKey::PageUp,
            KeyCode::PageDown => EditorKey::PageDown,
            KeyCode::Tab => EditorKey::Tab,
            KeyCode::F(n) => EditorKey::F(n),
            _ => return,
        };
        let input = EditorInput {
            key: ekey,
            ctrl: key.modifiers.contains(KeyModifiers::CONTROL),
            alt: key.modifiers.contains(KeyModifiers::ALT),
            shift: key.modifiers.contains(KeyModifiers::SHIFT),
        };
        if self.area.input(input) {
            self.changed();
        }
        self.follow_cursor();
    }

    pub fn insert(&mut self, c: char) {
        self.area.insert_char(c);
        self.changed();
        self.follow_cursor();
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let cursor = self.area.cursor();
        let (row, col) = (cursor.0, cursor.1);
        let mut title = vec![Span::styled(format!(" {} ", self.title), theme.title())];
        if self.modified {
            title.push(Span::styled("● modified ", theme.fg(theme.colors.warning)));
        }
        if self.checked && self.errors.is_empty() {
            title.push(Span::styled(
                format!("{} valid ", theme.glyphs.ok),
                theme.fg(theme.colors.ok),
            ));
        } else if !self.errors.is_empty() {
            title.push(Span::styled(
                format!("{} {} problem(s) ", theme.glyphs.error, self.errors.len()),
                theme.fg(theme.colors.error),
            ));
        }
        let block = panel("", true, theme)
            .title(Line::from(title))
            .title_bottom(
                Line::from(Span::styled(
                    format!(" {}:{} ", row + 1, col + 1),
                    theme.muted(),
                ))
                .right_aligned(),
            );
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        // Errors take the bottom rows: the one at the cursor first.
        let mut messages: Vec<&(usize, String)> = self.errors.iter().collect();
        messages.sort_by_key(|(line, _)| (*line != row + 1, *line));
        let error_rows = messages.len().min(MESSAGE_ROWS) as u16;
        let text_area = Rect::new(
            inner.x,
            inner.y,
            inner.width,
            inner.height.saturating_sub(error_rows),
        );
        let lines = self.area.lines();
        let height = text_area.height as usize;
        let scroll = keep_in_view(row, self.offset, height, lines.len());
        let gutter = format!("{}", lines.len()).len().max(2);
        let painted = highlighted(lines, self.syntax, theme);
        let mut out: Vec<Line> = Vec::new();
        for (i, spans) in painted.into_iter().enumerate().skip(scroll).take(height) {
            let error = self.errors.iter().any(|(l, _)| *l == i + 1);
            let mark = if error {
                Span::styled(theme.glyphs.error.clone(), theme.fg(theme.colors.error))
            } else {
                Span::raw(" ")
            };
            let number_style = if i == row {
                theme.accent()
            } else {
                theme.muted()
            };
            let mut line_spans = vec![
                mark,
                Span::styled(format!("{:>gutter$} ", i + 1), number_style),
            ];
            if i == row {
                line_spans.extend(with_cursor(spans, col, theme));
            } else {
                line_spans.extend(spans);
            }
            out.push(Line::from(line_spans));
        }
        frame.render_widget(Paragraph::new(out), text_area);
        for (k, (line, message)) in messages.iter().take(MESSAGE_ROWS).enumerate() {
            let y = text_area.bottom() + k as u16;
            frame.render_widget(
                Paragraph::new(problem_line(*line, message, theme)),
                Rect::new(inner.x, y, inner.width, 1),
            );
        }
    }
}

/// A check's problem under the text: `✘ line 12: message` (line 0: the
/// message names its own file and line).
pub fn problem_line(line: usize, message: &str, theme: &Theme) -> Line<'static> {
    let at = if line > 0 {
        format!("line {line}: ")
    } else {
        String::new()
    };
    Line::from(vec![
        Span::styled(
            format!("{} ", theme.glyphs.error),
            theme.fg(theme.colors.error),
        ),
        Span::styled(
            at,
            theme.fg(theme.colors.error).add_modifier(Modifier::BOLD),
        ),
        Span::styled(message.to_string(), theme.fg(theme.colors.error)),
    ])
}

/// The spans with the character at `col` drawn as the cursor.
fn with_cursor(spans: Vec<Span<'static>>, col: usize, theme: &Theme) -> Vec<Span<'static>> {
    let cursor = theme.selection().add_modifier(Modifier::REVERSED);
    let mut out = Vec::new();
    let mut seen = 0;
    let mut placed = false;
    for span in spans {
        let len = span.content.chars().count();
        if !placed && col < seen + len {
            let chars: Vec<char> = span.content.chars().collect();
            let at = col - seen;
            let before: String = chars[..at].iter().collect();
            let here: String = chars[at].to_string();
            let after: String = chars[at + 1..].iter().collect();
            if !before.is_empty() {
                out.push(Span::styled(before, span.style));
            }
            out.push(Span::styled(here, cursor));
            if !after.is_empty() {
                out.push(Span::styled(after, span.style));
            }
            placed = true;
        } else {
            out.push(span);
        }
        seen += len;
    }
    if !placed {
        out.push(Span::styled(" ", cursor));
    }
    out
}
