//! The Schedules view. For now: a crontab expression and a time zone, with
//! the next five fire times previewed live as you type (the same
//! `CronExpr` the scheduler uses). The stored schedules (list, add, pause,
//! resume, delete, last run) arrive with the scheduler's store: the view
//! keeps a `ScheduleList` slot for them and draws a note until then.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{Hint, View};
use crate::schedule::{CronExpr, local_zone, parse_zone};
use crate::tui::action::Action;
use crate::tui::app::StatusLevel;
use crate::tui::input::TextInput;
use crate::tui::keymap::KeyContext;
use crate::tui::layout;
use crate::tui::theme::Theme;

/// Fire times shown under the expression.
pub const PREVIEW: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Expr,
    Zone,
}

/// One stored schedule as the list will show it; filled by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRow {
    pub name: String,
    pub expr: String,
    pub paused: bool,
    pub last_run: Option<String>,
}

/// Where the stored schedules plug in: `None` until the store exists.
pub type ScheduleList = Option<Vec<ScheduleRow>>;

/// The preview's outcome for the current text.
#[derive(Debug, Clone, PartialEq)]
pub enum Preview {
    Times(Vec<DateTime<Tz>>),
    Error(String),
}

pub struct SchedulesView {
    expr: TextInput,
    zone: TextInput,
    editing: Option<Field>,
    /// Fixed "now" for tests; the wall clock otherwise.
    now: Option<DateTime<Utc>>,
    preview: Preview,
    pub schedules: ScheduleList,
    status: Option<(StatusLevel, String)>,
}

impl Default for SchedulesView {
    fn default() -> Self {
        SchedulesView::new()
    }
}

impl SchedulesView {
    pub fn new() -> SchedulesView {
        let mut expr = TextInput::default();
        for c in "*/15 9-17 * * mon-fri".chars() {
            expr.push(c);
        }
        let mut view = SchedulesView {
            expr,
            zone: TextInput::default(),
            editing: None,
            now: None,
            preview: Preview::Times(Vec::new()),
            schedules: None,
            status: None,
        };
        view.update_preview();
        view
    }

    /// Previews from this instant instead of the wall clock (tests).
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now = Some(now);
        self.update_preview();
    }

    pub fn preview(&self) -> &Preview {
        &self.preview
    }

    pub fn take_status(&mut self) -> Option<(StatusLevel, String)> {
        self.status.take()
    }

    /// Recomputed on every keystroke; a parse is microseconds and the
    /// search is bounded by the crontab module's years limit.
    fn update_preview(&mut self) {
        self.preview = compute_preview(
            self.expr.text(),
            self.zone.text(),
            self.now.unwrap_or_else(Utc::now),
        );
    }

    fn input_mut(&mut self, field: Field) -> &mut TextInput {
        match field {
            Field::Expr => &mut self.expr,
            Field::Zone => &mut self.zone,
        }
    }
}

/// The next `PREVIEW` fire times of `expr` in `zone` (empty: local) after `now`.
pub fn compute_preview(expr: &str, zone: &str, now: DateTime<Utc>) -> Preview {
    let zone = if zone.trim().is_empty() {
        local_zone()
    } else {
        match parse_zone(zone.trim()) {
            Ok(z) => z,
            Err(e) => return Preview::Error(e.to_string()),
        }
    };
    match CronExpr::parse(expr) {
        Ok(cron) => {
            let times: Vec<_> = cron
                .upcoming(now.with_timezone(&zone))
                .take(PREVIEW)
                .collect();
            if times.is_empty() {
                Preview::Error(format!(
                    "'{expr}' never fires in the next years: check the day and month fields"
                ))
            } else {
                Preview::Times(times)
            }
        }
        Err(e) => Preview::Error(e.to_string()),
    }
}

impl View for SchedulesView {
    fn handle(&mut self, action: &Action) -> Option<Action> {
        match (self.editing, action) {
            (None, Action::Edit | Action::Submit) => self.editing = Some(Field::Expr),
            (None, Action::EditText) => self.editing = Some(Field::Zone),
            (Some(field), Action::InsertChar(c)) => {
                self.input_mut(field).push(*c);
                self.update_preview();
            }
            (Some(field), Action::Backspace) => {
                self.input_mut(field).backspace();
                self.update_preview();
            }
            (Some(field), Action::ClearInput) => {
                self.input_mut(field).clear();
                self.update_preview();
            }
            (Some(_), Action::Submit | Action::Cancel) => self.editing = None,
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Span::styled(" Schedules ", theme.title()));
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        let field = |label: &'static str, input: &TextInput, which: Field, empty: &str| {
            let editing = self.editing == Some(which);
            let text = if editing {
                format!("{}▏", input.visible_tail(40))
            } else if input.is_empty() {
                empty.to_string()
            } else {
                input.text().to_string()
            };
            let style = if editing {
                theme.accent().add_modifier(Modifier::BOLD)
            } else if input.is_empty() {
                theme.muted()
            } else {
                theme.text()
            };
            Line::from(vec![
                Span::styled(format!(" {label:<6}"), theme.muted()),
                Span::styled(text, style),
            ])
        };
        let local = format!("local ({})", local_zone().name());
        let mut lines = vec![
            Line::from(Span::styled(" Try a schedule", theme.title())),
            field("cron", &self.expr, Field::Expr, "(empty)"),
            field("zone", &self.zone, Field::Zone, &local),
            Line::default(),
        ];
        match &self.preview {
            Preview::Times(times) => {
                lines.push(Line::from(Span::styled(
                    format!(" Next {} fire times", times.len()),
                    theme.muted(),
                )));
                for t in times {
                    lines.push(Line::from(vec![
                        Span::styled(format!(" {} ", theme.glyphs.pending), theme.accent()),
                        Span::styled(t.format("%Y-%m-%d %H:%M %Z (%a)").to_string(), theme.text()),
                    ]));
                }
            }
            Preview::Error(e) => lines.push(Line::from(vec![
                Span::styled(
                    format!(" {} ", theme.glyphs.error),
                    theme.fg(theme.colors.error),
                ),
                Span::styled(e.clone(), theme.fg(theme.colors.error)),
            ])),
        }
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(" Stored schedules", theme.title())));
        match &self.schedules {
            None => lines.push(Line::from(Span::styled(
                " The schedule store is not here yet: listing, adding, pausing, resuming \
                 and deleting schedules, with each one's last run, arrive with it. \
                 `jobdeck schedule next EXPR` previews from the shell.",
                theme.muted(),
            ))),
            Some(rows) if rows.is_empty() => lines.push(Line::from(Span::styled(
                " No schedules yet.",
                theme.muted(),
            ))),
            Some(rows) => {
                for s in rows {
                    lines.push(Line::from(vec![
                        Span::styled(format!(" {:<20} ", s.name), theme.text()),
                        Span::styled(format!("{:<22} ", s.expr), theme.accent()),
                        Span::styled(if s.paused { "paused " } else { "active " }, theme.muted()),
                        Span::styled(s.last_run.clone().unwrap_or_default(), theme.muted()),
                    ]));
                }
            }
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }

    fn set_area(&mut self, _area: Rect) {}

    fn key_contexts(&self) -> Vec<KeyContext> {
        match self.editing {
            Some(_) => vec![KeyContext::Input],
            None => vec![KeyContext::Schedules],
        }
    }

    fn captures_text(&self) -> bool {
        self.editing.is_some()
    }

    fn hints(&self) -> Vec<Hint> {
        match self.editing {
            Some(_) => vec![
                Hint::new(Action::Submit, "done"),
                Hint::new(Action::ClearInput, "clear"),
            ],
            None => vec![
                Hint::new(Action::Edit, "edit cron"),
                Hint::new(Action::EditText, "edit zone"),
            ],
        }
    }

    fn help_sections(&self) -> Vec<(&'static str, KeyContext)> {
        vec![
            ("Schedules", KeyContext::Schedules),
            ("While typing", KeyContext::Input),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn preview_follows_the_text() {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap(); // a Monday
        match compute_preview("30 9 * * mon", "Europe/Berlin", now) {
            Preview::Times(times) => {
                assert_eq!(times.len(), PREVIEW);
                assert_eq!(
                    times[0].format("%Y-%m-%d %H:%M %Z").to_string(),
                    "2026-03-02 09:30 CET"
                );
                assert_eq!(times[1].format("%Y-%m-%d").to_string(), "2026-03-09");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(compute_preview("61 * * * *", "UTC", now), Preview::Error(e) if e.contains("minute"))
        );
        assert!(matches!(
            compute_preview("* * * * *", "Mars/Olympus", now),
            Preview::Error(_)
        ));
    }
}
