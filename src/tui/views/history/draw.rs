//! Drawing the History list: the filter bar, the runs with their status,
//! hosts, creation time and duration, and a note when there is nothing to
//! show.

use std::path::Path;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{HistoryView, Mode};
use crate::engine::events::now_millis;
use crate::tui::layout;
use crate::tui::theme::Theme;
use crate::tui::widgets::clip::clip;
use crate::tui::widgets::durations::{elapsed, local_minute};
use crate::tui::widgets::load_state::Words;
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::scroll_list::keep_in_view;
use crate::tui::widgets::status_look::instance_look;

impl HistoryView {
    pub(super) fn draw_list(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let block = panel(" History ", true, theme);
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        if inner.height < 2 || inner.width < 10 {
            return;
        }
        let width = inner.width as usize;
        let visible = self.visible();
        // Filter bar.
        let editing = self.mode == Mode::FlowFilter;
        let flow_text = if editing {
            format!("{}▏", self.flow_filter.visible_tail(20))
        } else if self.flow_filter.is_empty() {
            "any".to_string()
        } else {
            self.flow_filter.text().to_string()
        };
        let status_text = self.status_filter.map_or("any", |s| s.as_str());
        let flow_style = if editing {
            theme.accent().add_modifier(Modifier::BOLD)
        } else {
            theme.text()
        };
        let count = match self.rows.ready() {
            // M is every run the journal holds: the filters only narrow N.
            Some(_) => format!("  {} of {} runs", visible.len(), self.total_runs),
            None => String::new(),
        };
        let bar = Line::from(vec![
            Span::styled(" flow ", theme.muted()),
            Span::styled(flow_text, flow_style),
            Span::styled("  status ", theme.muted()),
            Span::styled(status_text.to_string(), theme.text()),
            Span::styled("  date ", theme.muted()),
            Span::styled(self.date_filter.label(), theme.text()),
            Span::styled(count, theme.muted()),
        ]);
        frame.render_widget(Paragraph::new(bar), row(inner, 0));
        let body = Rect::new(
            inner.x,
            inner.y + 1,
            inner.width,
            inner.height.saturating_sub(1),
        );
        let words = Words {
            loading: "Reading the journal…",
            missing: format!(
                "No journal at {} yet: nothing has run. It is created by the first run.",
                self.journal.as_deref().unwrap_or(Path::new("?")).display()
            ),
            failed: "The journal could not be read",
            empty: "No runs match the filters (esc clears them).",
        };
        if let Some(note) = self.rows.note(words, visible.is_empty()) {
            frame.render_widget(
                note.paragraph(theme),
                Rect::new(
                    body.x + 1,
                    body.y + 1,
                    body.width.saturating_sub(2),
                    3.min(body.height.saturating_sub(1)),
                ),
            );
            return;
        }
        let wide = width >= 100;
        let header = if wide {
            format!(
                "  {:>5}  {:<22} {:<14} {:<16} {:<16} {:>8}  {}",
                "ID", "FLOW", "STATUS", "HOSTS", "CREATED", "TOOK", "TRIGGER"
            )
        } else {
            format!(
                "  {:>4} {:<14} {:<13} {:<10} {}",
                "ID", "FLOW", "STATUS", "HOSTS", "CREATED"
            )
        };
        frame.render_widget(
            Paragraph::new(Span::styled(clip(&header, width), theme.muted())),
            row(body, 0),
        );
        let height = (body.height as usize).saturating_sub(1);
        let scroll = keep_in_view(
            self.list.cursor(),
            self.list.offset(),
            height,
            visible.len(),
        );
        for (i, summary) in visible.iter().enumerate().skip(scroll).take(height) {
            let (glyph, color) = instance_look(theme, summary.status);
            let hosts = if summary.hosts_failed > 0 {
                format!(
                    "{}/{} ok {}✘",
                    summary.hosts_ok, summary.hosts_total, summary.hosts_failed
                )
            } else {
                format!("{}/{} ok", summary.hosts_ok, summary.hosts_total)
            };
            let created = local_minute(summary.created_at);
            let took = match (summary.started_at, summary.finished_at) {
                (Some(s), Some(f)) => elapsed(f - s),
                (Some(s), None) if !summary.status.is_final() => {
                    format!("{}…", elapsed(now_millis() - s))
                }
                _ => "—".into(),
            };
            let status = format!("{glyph} {}", summary.status.as_str());
            let spans = if wide {
                vec![
                    Span::raw(format!("  {:>5}  ", summary.id)),
                    Span::styled(format!("{:<22} ", clip(&summary.flow, 22)), theme.text()),
                    Span::styled(format!("{:<14} ", clip(&status, 14)), theme.fg(color)),
                    Span::styled(format!("{:<16} ", hosts), theme.text()),
                    Span::styled(format!("{:<16} ", created), theme.muted()),
                    Span::styled(format!("{:>8}  ", took), theme.muted()),
                    Span::styled(summary.trigger.clone(), theme.muted()),
                ]
            } else {
                vec![
                    Span::raw(format!("  {:>4} ", summary.id)),
                    Span::styled(format!("{:<14} ", clip(&summary.flow, 14)), theme.text()),
                    Span::styled(format!("{:<13} ", clip(&status, 13)), theme.fg(color)),
                    Span::styled(format!("{:<10} ", clip(&hosts, 10)), theme.text()),
                    Span::styled(created, theme.muted()),
                ]
            };
            let mut line = Line::from(spans);
            if i == self.list.cursor() {
                line = line.style(theme.selection());
            }
            let y = (i - scroll) as u16 + 1;
            frame.render_widget(Paragraph::new(line), row(body, y));
        }
    }
}

pub(super) fn row(area: Rect, y: u16) -> Rect {
    if y >= area.height {
        return Rect::new(area.x, area.y, area.width, 0);
    }
    Rect::new(area.x, area.y + y, area.width, 1)
}
