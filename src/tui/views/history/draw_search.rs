//! Drawing History's search box: the query, how many lines matched, and
//! the matching lines as `run · flow · host · step: line`, newest first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::HistoryView;
use super::draw::row;
use crate::tui::layout;
use crate::tui::tasks::journal_search::MAX_HITS;
use crate::tui::theme::Theme;
use crate::tui::widgets::clip::clip;
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::scroll_list::keep_in_view;

impl HistoryView {
    /// Rows the list of matches shows.
    pub(super) fn search_list_height(&self) -> usize {
        (self.area.height as usize).saturating_sub(4)
    }

    pub(super) fn draw_search(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        frame.render_widget(panel(" Search every run's output ", true, theme), area);
        let inner = layout::inner(area);
        if inner.height < 2 || inner.width < 10 {
            return;
        }
        let width = inner.width as usize;
        let search = &self.search;
        let typing = search.typing;
        let query = if typing {
            format!("{}▏", search.input.visible_tail(width / 2))
        } else {
            search.input.text().to_string()
        };
        let hits = search.hits();
        let said = match &search.found {
            _ if search.searching => "  searching…".to_string(),
            None => String::new(),
            Some(Err(problem)) => format!("  {problem}"),
            Some(Ok(found)) if found.cut => format!("  the first {MAX_HITS} matching lines"),
            Some(Ok(found)) => {
                let runs = {
                    let mut ids: Vec<_> = found.hits.iter().map(|h| h.instance).collect();
                    ids.dedup();
                    ids.len()
                };
                format!(
                    "  {} matching line{} in {runs} run{}",
                    found.hits.len(),
                    if found.hits.len() == 1 { "" } else { "s" },
                    if runs == 1 { "" } else { "s" }
                )
            }
        };
        let query_style = if typing {
            theme.accent().add_modifier(Modifier::BOLD)
        } else {
            theme.text()
        };
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(" / ", theme.accent()),
                Span::styled(query, query_style),
                Span::styled(said, theme.muted()),
            ])),
            row(inner, 0),
        );
        let body = Rect::new(
            inner.x,
            inner.y + 1,
            inner.width,
            inner.height.saturating_sub(1),
        );
        if hits.is_empty() {
            let note = if search.input.is_empty() {
                " Type what to look for: every run's output is searched as in jobdeck grep -i."
            } else if search.searching {
                ""
            } else {
                " No output line matches."
            };
            frame.render_widget(
                Paragraph::new(Span::styled(clip(note, width), theme.muted())),
                row(body, 1),
            );
            return;
        }
        let height = body.height as usize;
        let cursor = search.list.cursor();
        let scroll = keep_in_view(cursor, search.list.offset(), height, hits.len());
        for (i, hit) in hits.iter().enumerate().skip(scroll).take(height) {
            let place = format!(
                " #{} · {} · {} · {}: ",
                hit.instance, hit.flow, hit.host, hit.step
            );
            let place_width = place.chars().count().min(width * 2 / 3);
            let text_style = if hit.stderr {
                theme.fg(theme.colors.warning)
            } else {
                theme.text()
            };
            let mut line = Line::from(vec![
                Span::styled(clip(&place, place_width), theme.muted()),
                Span::styled(
                    clip(&hit.text, width.saturating_sub(place_width)),
                    text_style,
                ),
            ]);
            if i == cursor && !typing {
                line = line.style(theme.selection());
            }
            frame.render_widget(Paragraph::new(line), row(body, (i - scroll) as u16));
        }
    }
}
