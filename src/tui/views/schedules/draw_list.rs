//! Drawing the schedule list: the table (when, flow → targets, next fire,
//! state, last run, overlap), and under it the selected schedule's next
//! fires and recent fires with their runs.

use std::path::Path;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::SchedulesView;
use super::rows::{PREVIEW, ScheduleRow};
use crate::tui::layout;
use crate::tui::tasks::schedules::RECENT_FIRES;
use crate::tui::theme::Theme;
use crate::tui::widgets::clip::clip;
use crate::tui::widgets::load_state::Words;
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::scroll_list::keep_in_view;
use crate::tui::widgets::status_look::instance_look;

impl SchedulesView {
    /// The list, and under it the selected schedule's detail when there
    /// is room (the list keeps at least a few rows).
    pub(super) fn draw_list(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let wide = area.width >= 120 && area.height >= 30;
        let detail_height: u16 = if wide {
            2 + 2 + RECENT_FIRES.max(PREVIEW) as u16
        } else {
            2 + 1 + PREVIEW as u16
        };
        let selected = self.selected().filter(|r| r.schedule.is_some());
        match selected {
            Some(row) if area.height >= detail_height + 6 => {
                let list_height = area.height - detail_height;
                self.draw_table(
                    frame,
                    Rect::new(area.x, area.y, area.width, list_height),
                    theme,
                );
                let detail = Rect::new(area.x, area.y + list_height, area.width, detail_height);
                self.draw_detail(row, wide, frame, detail, theme);
            }
            _ => self.draw_table(frame, area, theme),
        }
    }

    /// The next fire times and the recent fires of the selected schedule.
    fn draw_detail(
        &self,
        row: &ScheduleRow,
        wide: bool,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
    ) {
        let title = format!(" {} · {} → {} ", row.name, row.flow, row.target);
        let block = panel(&title, false, theme);
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        let width = inner.width as usize;
        let (time_format, next_width) = if wide {
            ("%Y-%m-%d %H:%M %Z (%a)", 34)
        } else {
            ("%m-%d %H:%M %Z", 24)
        };
        let next_width = next_width.min(width / 2);
        let heading = theme.muted().add_modifier(Modifier::BOLD);
        let mut lines = Vec::new();
        if wide {
            // What a fire runs: the stored options, without the inventory.
            let run = row
                .schedule
                .as_ref()
                .map(|s| {
                    let mut copy = s.run.clone();
                    copy.inventory.clear();
                    copy.to_args().join(" ")
                })
                .unwrap_or_default();
            let run = if run.is_empty() {
                "the flow's defaults".to_string()
            } else {
                run
            };
            lines.push(Line::from(vec![
                Span::styled(" runs with ", theme.muted()),
                Span::styled(clip(&run, width.saturating_sub(11)), theme.text()),
            ]));
        }
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<w$}", "NEXT FIRES", w = next_width), heading),
            Span::styled("RECENT FIRES (newest first)", heading),
        ]));
        let rows = if wide { RECENT_FIRES } else { PREVIEW };
        let fire_width = width.saturating_sub(next_width + 1);
        for i in 0..rows.max(1) {
            let next = match row.upcoming.get(i) {
                Some(t) => Span::styled(
                    format!(" {:<w$}", t.format(time_format).to_string(), w = next_width),
                    theme.text(),
                ),
                None if i == 0 => Span::styled(
                    format!(
                        " {:<w$}",
                        if row.paused {
                            "— (paused)"
                        } else {
                            "— (none left)"
                        },
                        w = next_width
                    ),
                    theme.muted(),
                ),
                None => Span::raw(" ".repeat(next_width + 1)),
            };
            let fire = match row.fires.get(i) {
                Some(f) => {
                    let style = match f.instance {
                        Some((_, status)) => theme.fg(instance_look(theme, status).1),
                        None if f.outcome == "failed" => theme.fg(theme.colors.error),
                        None => theme.muted(),
                    };
                    let when = if wide {
                        "%Y-%m-%d %H:%M %Z"
                    } else {
                        time_format
                    };
                    let text = format!("{}  {}", f.due.format(when), f.result());
                    Span::styled(clip(&text, fire_width), style)
                }
                None if i == 0 => Span::styled("none yet", theme.muted()),
                None => Span::raw(""),
            };
            lines.push(Line::from(vec![next, fire]));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn draw_table(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let block = panel(" Schedules ", true, theme);
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        if inner.height < 2 || inner.width < 10 {
            return;
        }
        let words = Words {
            loading: "Reading the schedules…",
            missing: format!(
                "No journal at {} yet: no schedules. a adds one.",
                self.journal.as_deref().unwrap_or(Path::new("?")).display()
            ),
            failed: "The schedules could not be read",
            empty: "No schedules yet. a adds one; `jobdeck schedule add` does too.",
        };
        if let Some(note) = self.rows.note(words, self.rows().is_empty()) {
            frame.render_widget(
                note.paragraph(theme),
                Rect::new(
                    inner.x + 1,
                    inner.y,
                    inner.width.saturating_sub(2),
                    inner.height,
                ),
            );
            return;
        }
        let wide = inner.width >= 120;
        // Narrow: month-day times without the zone (the WHEN column names it).
        let time_format = if wide {
            "%Y-%m-%d %H:%M %Z"
        } else {
            "%m-%d %H:%M"
        };
        // Column widths: name, when, flow+target, next, state, last, overlap.
        let cols: &[(&str, usize)] = if wide {
            &[
                ("NAME", 16),
                ("WHEN", 30),
                ("FLOW → TARGETS", 24),
                ("NEXT FIRE", 21),
                ("STATE", 8),
                ("LAST RUN", 0),
                ("OVERLAP", 8),
            ]
        } else {
            &[
                ("NAME", 12),
                ("WHEN", 20),
                ("NEXT FIRE", 11),
                ("STATE", 7),
                ("LAST RUN", 0),
            ]
        };
        let fixed: usize = cols.iter().map(|(_, w)| w + 1).sum::<usize>() + 1;
        let flexible = (inner.width as usize).saturating_sub(fixed).max(8);
        let fit = |text: &str, width: usize| -> String {
            let width = if width == 0 { flexible } else { width };
            format!("{:<width$} ", clip(text, width))
        };
        let mut header = vec![Span::raw(" ")];
        for (title, width) in cols {
            header.push(Span::styled(
                fit(title, *width),
                theme.muted().add_modifier(Modifier::BOLD),
            ));
        }
        let mut lines = vec![Line::from(header)];
        let height = inner.height as usize - 1;
        let rows = self.rows();
        let scroll = keep_in_view(self.list.cursor(), self.list.offset(), height, rows.len());
        for (i, row) in rows.iter().enumerate().skip(scroll).take(height) {
            let selected = i == self.list.cursor();
            let base = if selected {
                theme.selection()
            } else {
                Style::default()
            };
            let state_style = if row.problem.is_some() {
                theme.fg(theme.colors.error)
            } else if row.paused {
                theme.fg(theme.colors.warning)
            } else if row.next.is_none() {
                theme.muted()
            } else {
                theme.fg(theme.colors.ok)
            };
            let last_style = match row.last_instance {
                Some((_, status)) => theme.fg(instance_look(theme, status).1),
                None if row.last_error.is_some() => theme.fg(theme.colors.error),
                None => theme.muted(),
            };
            let mut spans = vec![Span::styled(if selected { "›" } else { " " }, base)];
            for (title, width) in cols {
                let (text, style) = match *title {
                    "NAME" => (row.name.clone(), theme.text()),
                    "WHEN" => (
                        row.problem.clone().unwrap_or_else(|| row.when.clone()),
                        if row.problem.is_some() {
                            theme.fg(theme.colors.error)
                        } else {
                            theme.accent()
                        },
                    ),
                    "FLOW → TARGETS" => (format!("{} → {}", row.flow, row.target), theme.text()),
                    "NEXT FIRE" => (
                        match (&row.next, row.paused) {
                            (_, true) => "—".to_string(),
                            (Some(t), false) => t.format(time_format).to_string(),
                            (None, false) => "none".into(),
                        },
                        theme.text(),
                    ),
                    "STATE" => (row.state().to_string(), state_style),
                    "LAST RUN" => (row.last_run(time_format), last_style),
                    _ => (row.overlap.to_string(), theme.muted()),
                };
                spans.push(Span::styled(fit(&text, *width), style.patch(base)));
            }
            lines.push(Line::from(spans));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
