//! Drawing the search over every host: the list of matching hosts with a
//! count each, over the output pane, and the box while the term is typed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::RunView;
use crate::tui::run_store::RunStore;
use crate::tui::theme::Theme;
use crate::tui::widgets::clip::clip;
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::scroll_list::keep_in_view;

impl RunView {
    pub(super) fn draw_all_hosts(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        store: &RunStore,
    ) {
        let rows = self.all_host_matches_in(store);
        let height = area.height.saturating_sub(2) as usize;
        let width = area.width.saturating_sub(2) as usize;
        let selected = self.all.selected.min(rows.len().saturating_sub(1));
        let scroll = keep_in_view(selected, 0, height, rows.len());
        let count_width = 14;
        let name_width = width.saturating_sub(count_width + 3);
        let mut lines: Vec<Line> = rows
            .iter()
            .enumerate()
            .skip(scroll)
            .take(height)
            .map(|(i, row)| {
                let mut count = format!(
                    "{} {}",
                    row.count,
                    if row.count == 1 { "match" } else { "matches" }
                );
                if row.reading {
                    count.push('…');
                } else if row.problem.is_some() {
                    count.push('?');
                }
                let style = if i == selected {
                    theme.selection()
                } else {
                    theme.text()
                };
                Line::from(vec![
                    Span::styled(
                        format!(" {:<name_width$}", clip(&row.name, name_width)),
                        style,
                    ),
                    Span::styled(format!(" {count:>count_width$} "), theme.muted()),
                ])
            })
            .collect();
        let reading = self.all.reading();
        if lines.is_empty() {
            let note = if self.all.term.is_empty() {
                " type a term; enter lists matching hosts"
            } else if reading {
                " searching…"
            } else {
                " no host's output holds it"
            };
            lines.push(Line::from(Span::styled(note, theme.muted())));
        }
        let title = if self.all.term.is_empty() {
            " Search all hosts ".to_string()
        } else {
            format!(
                " '{}' in {} of {} hosts{} ",
                clip(&self.all.term, width / 3),
                rows.len(),
                store.hosts.len(),
                if reading {
                    " · searching the journal…"
                } else {
                    ""
                }
            )
        };
        let mut block = panel(&clip(&title, width), true, theme);
        if let Some(problem) = rows.iter().find_map(|r| r.problem.as_ref()) {
            block = block.title_bottom(Line::from(Span::styled(
                format!(
                    " ? earlier lines not searched: {} ",
                    clip(problem, width / 2)
                ),
                theme.fg(theme.colors.warning),
            )));
        }
        if let Some(input) = &self.all.input {
            block = block.title_bottom(Line::from(vec![
                Span::styled(" all hosts / ", theme.accent().add_modifier(Modifier::BOLD)),
                Span::styled(format!("{}▏ ", input.visible_tail(width / 2)), theme.text()),
            ]));
        }
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}
