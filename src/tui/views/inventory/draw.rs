//! Drawing the Inventory view: the tree with its selection marks, pattern
//! hits and filter highlights; the filter and pattern boxes; the detail
//! pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::detail::{DetailKind, DetailRow};
use super::tree::{Level, TreeRow};
use super::{Focus, InputMode, InventoryView, Model, PatternState};
use crate::tui::layout;
use crate::tui::theme::Theme;
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::scroll_list::keep_in_view;

impl InventoryView {
    pub(super) fn draw_tree(&self, frame: &mut Frame, area: Rect, theme: &Theme, m: &Model) {
        let focused = self.focus == Focus::Tree;
        let mut title = vec![Span::styled(" Inventory ", theme.title())];
        title.push(Span::styled(
            format!("{} hosts ", m.inv.data.hosts.len()),
            theme.muted(),
        ));
        if m.selected_count > 0 {
            title.push(Span::styled(
                format!("· {} selected ", m.selected_count),
                theme.fg(theme.colors.selected),
            ));
        }
        frame.render_widget(panel("", focused, theme).title(Line::from(title)), area);

        let list = self.list_area();
        let offset = keep_in_view(
            m.list.cursor(),
            m.list.offset(),
            list.height as usize,
            m.rows.len(),
        );
        let lines: Vec<Line> = m
            .rows
            .iter()
            .enumerate()
            .skip(offset)
            .take(list.height as usize)
            .map(|(i, row)| self.tree_line(theme, m, row, i == m.list.cursor() && focused))
            .collect();
        if lines.is_empty() && list.height > 0 {
            let note = if self.filter.is_empty() {
                "The inventory has no hosts."
            } else {
                "Nothing matches the filter. Esc clears it."
            };
            frame.render_widget(Paragraph::new(Span::styled(note, theme.muted())), list);
        } else {
            frame.render_widget(Paragraph::new(lines), list);
        }

        let inner = layout::inner(area);
        let box_height = self.input_height().min(inner.height);
        if box_height > 0 {
            let input_area = Rect::new(
                inner.x,
                inner.bottom() - box_height,
                inner.width,
                box_height,
            );
            self.draw_input(frame, input_area, theme, m);
        }
    }

    fn tree_line(&self, theme: &Theme, m: &Model, row: &TreeRow, cursor: bool) -> Line<'static> {
        let node = &m.nodes[row.node];
        let g = &theme.glyphs;
        let mut spans = vec![Span::raw("  ".repeat(node.depth as usize))];
        let selected = node.hosts.iter().filter(|&&h| m.selected[h]).count();
        let mark = if selected == 0 {
            Span::styled(format!("{} ", g.unselected), theme.muted())
        } else if selected == node.hosts.len() {
            Span::styled(format!("{} ", g.selected), theme.fg(theme.colors.selected))
        } else {
            Span::styled(
                format!("{} ", g.partly_selected),
                theme.fg(theme.colors.selected),
            )
        };
        let filtering = !self.filter.text().trim().is_empty();
        if node.is_group() {
            let open = filtering || m.expanded[row.node];
            let glyph = if open { &g.expanded } else { &g.collapsed };
            spans.push(Span::styled(format!("{glyph} "), theme.accent()));
            spans.push(mark);
            let label_style = theme.text().add_modifier(Modifier::BOLD);
            spans.extend(highlighted(&node.label, &row.matched, label_style, theme));
            spans.push(Span::styled(
                format!("  {}", node.hosts.len()),
                theme.muted(),
            ));
            if selected > 0 && selected < node.hosts.len() {
                spans.push(Span::styled(
                    format!(" ({selected} selected)"),
                    theme.fg(theme.colors.selected),
                ));
            }
            let hits = node.hosts.iter().filter(|&&h| m.pattern_hits[h]).count();
            if hits > 0 {
                spans.push(Span::styled(
                    format!(" {}{hits}", g.matched),
                    theme.fg(theme.colors.matched),
                ));
            }
            if !open && node.level == Level::App {
                spans.push(Span::styled(format!("  {}", node.folded), theme.muted()));
            }
        } else if let Level::Host(h) = node.level {
            spans.push(Span::raw("  "));
            spans.push(mark);
            let hit = m.pattern_hits[h];
            let style = if hit {
                theme.fg(theme.colors.matched).add_modifier(Modifier::BOLD)
            } else {
                theme.text()
            };
            spans.extend(highlighted(&node.label, &row.matched, style, theme));
            if hit {
                spans.push(Span::styled(
                    format!(" {}", g.matched),
                    theme.fg(theme.colors.matched),
                ));
            }
            if let Some(address) = &m.addresses[h] {
                spans.push(Span::styled(format!("  {address}"), theme.muted()));
            }
        }
        let line = Line::from(spans);
        if cursor {
            line.style(theme.selection())
        } else {
            line
        }
    }

    fn draw_input(&self, frame: &mut Frame, area: Rect, theme: &Theme, m: &Model) {
        frame.render_widget(Clear, area);
        let width = area.width as usize;
        match self.input {
            Some(InputMode::Filter) | None => {
                let editing = self.input.is_some();
                let shown = m
                    .rows
                    .iter()
                    .filter(|r| !m.nodes[r.node].is_group())
                    .count();
                let count = format!("  {shown} hosts shown");
                let room = width.saturating_sub(2 + count.chars().count());
                let mut spans = vec![
                    Span::styled("/ ", theme.accent()),
                    Span::styled(self.filter.visible_tail(room).to_string(), theme.text()),
                ];
                if editing {
                    spans.push(Span::styled("█", theme.accent()));
                }
                spans.push(Span::styled(count, theme.muted()));
                frame.render_widget(Paragraph::new(Line::from(spans)), area);
            }
            Some(InputMode::Pattern) => {
                let label = "pattern: ";
                let room = width.saturating_sub(label.len() + 1);
                let input = Line::from(vec![
                    Span::styled(label, theme.accent()),
                    Span::styled(
                        self.pattern.visible_tail(room).to_string(),
                        if self.pattern.is_selected() {
                            theme.selection()
                        } else {
                            theme.text()
                        },
                    ),
                    Span::styled("█", theme.accent()),
                ]);
                let g = &theme.glyphs;
                let result = match &m.pattern_state {
                    PatternState::Empty => Line::from(Span::styled(
                        "e.g. shop_web, web*:&prod, ~api-0[12], shop:!shop_c2",
                        theme.muted(),
                    )),
                    PatternState::Evaluating => {
                        Line::from(Span::styled("evaluating…", theme.muted()))
                    }
                    PatternState::Matched(hosts) => {
                        let n = hosts.len();
                        let noun = if n == 1 { "host" } else { "hosts" };
                        let style = if n == 0 {
                            theme.fg(theme.colors.warning)
                        } else {
                            theme.fg(theme.colors.matched).add_modifier(Modifier::BOLD)
                        };
                        Line::from(vec![
                            Span::styled(format!("{} {n} {noun} match", g.matched), style),
                            Span::styled("  enter selects them", theme.muted()),
                        ])
                    }
                    PatternState::Failed(e) => Line::from(Span::styled(
                        format!("{} {e}", g.error),
                        theme.fg(theme.colors.error),
                    )),
                };
                frame.render_widget(
                    Paragraph::new(vec![input, result]).wrap(ratatui::widgets::Wrap { trim: true }),
                    area,
                );
            }
        }
    }

    pub(super) fn draw_detail(&self, frame: &mut Frame, area: Rect, theme: &Theme, m: &Model) {
        let focused = self.focus == Focus::Detail;
        let title = match self.cursor_node().map(|n| &m.nodes[n]) {
            Some(node) => format!(" {} · {} ", node.label, node.level.name()),
            None => " Detail ".into(),
        };
        let block = panel(&title, focused, theme);
        let rows = self.detail_rows();
        let key_width = rows
            .iter()
            .filter(|r| r.kind != DetailKind::Heading)
            .map(|r| r.key.chars().count())
            .max()
            .unwrap_or(0)
            .min(28);
        let lines: Vec<Line> = rows
            .iter()
            .map(|r| detail_line(r, key_width, theme))
            .collect();
        let height = layout::inner(area).height as usize;
        let scroll = m
            .detail_scroll
            .min(lines.len().saturating_sub(height.max(1)));
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .scroll((scroll.min(u16::MAX as usize) as u16, 0)),
            area,
        );
    }
}

/// A label with the filter's matched characters picked out.
pub(super) fn highlighted(
    label: &str,
    matched: &[u32],
    style: Style,
    theme: &Theme,
) -> Vec<Span<'static>> {
    if matched.is_empty() {
        return vec![Span::styled(label.to_string(), style)];
    }
    let hit_style = style
        .fg(theme.colors.matched)
        .add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut run = String::new();
    let mut run_hit = false;
    for (i, c) in label.chars().enumerate() {
        let hit = matched.binary_search(&(i as u32)).is_ok();
        if hit != run_hit && !run.is_empty() {
            let s = if run_hit { hit_style } else { style };
            spans.push(Span::styled(std::mem::take(&mut run), s));
        }
        run_hit = hit;
        run.push(c);
    }
    if !run.is_empty() {
        spans.push(Span::styled(run, if run_hit { hit_style } else { style }));
    }
    spans
}

fn detail_line(row: &DetailRow, key_width: usize, theme: &Theme) -> Line<'static> {
    match row.kind {
        DetailKind::Heading => Line::from(Span::styled(row.key.clone(), theme.title())),
        DetailKind::Note => Line::from(Span::styled(format!("  {}", row.key), theme.muted())),
        _ => {
            let value_style = match row.kind {
                DetailKind::Secret => theme.fg(theme.colors.warning),
                DetailKind::Problem => theme.fg(theme.colors.error),
                _ => theme.text(),
            };
            let key: String = row.key.chars().take(key_width).collect();
            Line::from(vec![
                Span::styled(format!("  {key:<key_width$}  "), theme.accent()),
                Span::styled(row.value.clone(), value_style),
            ])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_splits_runs() {
        let theme = Theme::default_theme();
        let spans = highlighted("shop", &[1, 2], Style::new(), &theme);
        let texts: Vec<&str> = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(texts, ["s", "ho", "p"]);
    }
}
