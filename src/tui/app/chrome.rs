//! What surrounds the view: the title bar with the tabs and the run or
//! selection badge, the status line, the footer with the keys that apply
//! now, the help overlay with the view's keys, and the shared dialog over
//! it all.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::App;
use crate::tui::action::{Action, ViewId};
use crate::tui::effects::StatusLevel;
use crate::tui::keymap::KeyContext;
use crate::tui::layout::{self, Screen};
use crate::tui::run_store::RunStore;
use crate::tui::views::Hint;
use crate::tui::widgets::clip::{clip, wrap_words};

/// Rows a long status message may take, its own included.
const STATUS_ROWS: usize = 4;

const APP_LABEL: &str = " jobdeck ";

impl App {
    pub fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        let theme = &self.theme;
        frame.render_widget(Block::default().style(theme.base()), area);
        let Some(screen) = Screen::of(area) else {
            let note = format!(
                "terminal too small ({}×{}); jobdeck needs {}×{}",
                area.width,
                area.height,
                layout::MIN_WIDTH,
                layout::MIN_HEIGHT
            );
            frame.render_widget(
                Paragraph::new(Span::styled(note, theme.fg(theme.colors.warning)))
                    .wrap(ratatui::widgets::Wrap { trim: true }),
                area,
            );
            return;
        };
        self.draw_title(frame, screen.title);
        self.active_view().draw(frame, screen.body, theme);
        if let Some(command) = &self.command {
            command.draw(frame, screen.body, theme);
        }
        self.draw_status(frame, screen.status);
        self.draw_footer(frame, screen.footer);
        if let Some(scroll) = self.help {
            self.draw_help(frame, screen.body, scroll);
        }
        if let Some((dialog, _)) = &self.dialog {
            let contexts = self.contexts();
            let key_of = |action: &Action| {
                self.keymap
                    .keys_for(&contexts, action)
                    .first()
                    .map(|k| k.to_string())
                    .unwrap_or_default()
            };
            dialog.draw(frame, screen.body, theme, &key_of);
        }
    }

    fn draw_title(&self, frame: &mut Frame, area: Rect) {
        let theme = &self.theme;
        let mut spans = vec![Span::styled(APP_LABEL, theme.title())];
        for view in ViewId::ALL {
            let label = tab_label(view);
            let style = if view == self.view {
                theme
                    .fg(theme.colors.tab_active_fg)
                    .bg(theme.colors.tab_active_bg)
                    .add_modifier(Modifier::BOLD)
            } else if matches!(view, ViewId::Inventory | ViewId::Planner | ViewId::Run) {
                theme.text()
            } else {
                theme.muted()
            };
            spans.push(Span::styled(label, style));
        }
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let selected = self.inventory.selected_count();
        let live: Vec<_> = self.runs.live().collect();
        let run_badge = match live.as_slice() {
            [] => None,
            [h] => {
                let status = RunStore::lock(&h.store).status;
                Some(format!(
                    "{} run {} {status} ",
                    theme.glyphs.running, h.instance
                ))
            }
            several => Some(format!(
                "{} {} runs live ",
                theme.glyphs.running,
                several.len()
            )),
        };
        let info = if let Some(badge) = run_badge.filter(|_| self.view != ViewId::Run) {
            badge
        } else if selected > 0 {
            format!("{} {selected} selected ", theme.glyphs.selected)
        } else {
            format!("{} hosts ", self.inventory.host_count())
        };
        let room = (area.width as usize).saturating_sub(used);
        if room > info.chars().count() {
            spans.push(Span::raw(" ".repeat(room - info.chars().count())));
            let style = if selected > 0 {
                theme.fg(theme.colors.selected)
            } else {
                theme.muted()
            };
            spans.push(Span::styled(info, style));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    /// The status line. A message too long for one row wraps between
    /// words upwards, over the bottom rows of the view (at most
    /// `STATUS_ROWS`; the last ends in `…` if even that is not enough).
    fn draw_status(&self, frame: &mut Frame, area: Rect) {
        let theme = &self.theme;
        let background = theme.base().bg(theme.colors.status_bg);
        let Some(status) = &self.status else {
            frame.render_widget(Paragraph::new(Line::default()).style(background), area);
            return;
        };
        let (glyph, color) = match status.level {
            StatusLevel::Info => (&theme.glyphs.info, theme.colors.info),
            StatusLevel::Warning => (&theme.glyphs.warning, theme.colors.warning),
            StatusLevel::Error => (&theme.glyphs.error, theme.colors.error),
        };
        let head = format!(" {} ", status.at);
        let mark = format!("{glyph} ");
        let indent = head.chars().count() + mark.chars().count();
        let room = (area.width as usize).saturating_sub(indent).max(1);
        let mut rows = wrap_words(&status.text, room);
        if rows.len() > STATUS_ROWS {
            rows.truncate(STATUS_ROWS);
            let last = rows.pop().unwrap_or_default();
            rows.push(clip(&format!("{last} …"), room));
        }
        let extra = (rows.len().max(1) as u16 - 1).min(area.y);
        let lines: Vec<Line> = rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let (head, mark) = if i == 0 {
                    (head.clone(), mark.clone())
                } else {
                    (
                        " ".repeat(head.chars().count()),
                        " ".repeat(mark.chars().count()),
                    )
                };
                Line::from(vec![
                    Span::styled(head, theme.muted()),
                    Span::styled(mark, theme.fg(color)),
                    Span::styled(row, theme.fg(color)),
                ])
            })
            .collect();
        let area = Rect::new(area.x, area.y - extra, area.width, area.height + extra);
        frame.render_widget(Clear, area);
        frame.render_widget(Paragraph::new(lines).style(background), area);
    }

    /// The keys that apply now: the view's, then help and quit. Room for
    /// help and quit is kept; view hints that do not fit are left out
    /// whole rather than cut.
    fn draw_footer(&self, frame: &mut Frame, area: Rect) {
        let theme = &self.theme;
        let (hints, always) = if let Some((dialog, _)) = &self.dialog {
            (
                dialog
                    .choices
                    .iter()
                    .map(|c| Hint::new(c.action.clone(), c.label.clone()))
                    .collect(),
                Vec::new(),
            )
        } else if self.help.is_some() {
            (
                vec![
                    Hint::pair(Action::Down, Action::Up, "scroll"),
                    Hint::new(Action::Cancel, "close help"),
                ],
                Vec::new(),
            )
        } else if self.command.is_some() {
            (
                vec![
                    Hint::new(Action::Submit, "run"),
                    Hint::pair(Action::Up, Action::Down, "earlier commands"),
                    Hint::new(Action::Cancel, "cancel"),
                ],
                Vec::new(),
            )
        } else if self.active_view().captures_text() {
            (self.active_view().hints(), Vec::new())
        } else {
            (
                self.active_view().hints(),
                vec![
                    Hint::new(Action::Help, "help"),
                    // A replay's q goes back (its own binding, before quit's).
                    if self.in_history_replay() {
                        Hint::new(Action::Cancel, "back")
                    } else {
                        Hint::new(Action::Quit, "quit")
                    },
                ],
            )
        };
        let contexts = self.contexts();
        let label = |hint: &Hint| -> Option<(String, std::borrow::Cow<'static, str>, usize)> {
            let keys: Vec<String> = hint
                .actions
                .iter()
                .filter_map(|a| {
                    self.keymap
                        .keys_for(&contexts, a)
                        .first()
                        .map(|k| k.to_string())
                })
                .collect();
            if keys.is_empty() {
                return None;
            }
            let keys = keys.join("/");
            let width = keys.chars().count() + 1 + hint.label.chars().count() + 2;
            Some((keys, hint.label.clone(), width))
        };
        let always: Vec<_> = always.iter().filter_map(label).collect();
        let reserved: usize = always.iter().map(|(_, _, w)| w).sum();
        let mut used = 1 + reserved;
        let mut shown = Vec::new();
        for (keys, text, width) in hints.iter().filter_map(label) {
            if used + width > area.width as usize {
                break;
            }
            used += width;
            shown.push((keys, text, width));
        }
        shown.extend(always);
        let mut spans = vec![Span::raw(" ")];
        for (keys, text, _) in shown {
            spans.push(Span::styled(
                keys,
                theme.accent().add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(format!(" {text}  "), theme.muted()));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    /// The help overlay's lines: the current view's keys, then the text
    /// box keys where the view has one, then the keys that work everywhere.
    fn help_lines(&self) -> Vec<Line<'static>> {
        let theme = &self.theme;
        let mut sections: Vec<(&str, KeyContext)> = self.active_view().help_sections();
        sections.push(("Everywhere", KeyContext::Global));
        // The contexts under the help: a global key the view binds itself
        // is listed with the view's keys, not here.
        let mut under = self.active_view().key_contexts();
        under.push(KeyContext::Global);
        let mut lines = Vec::new();
        for (title, context) in sections {
            if !lines.is_empty() {
                lines.push(Line::default());
            }
            lines.push(Line::from(Span::styled(title.to_string(), theme.title())));
            let mut actions: Vec<(Action, Vec<String>)> = Vec::new();
            for (key, action) in self.keymap.bindings(context) {
                // A key the view takes for something else is not this one.
                if context == KeyContext::Global
                    && self.keymap.lookup(&under, &key).as_ref() != Some(&action)
                {
                    continue;
                }
                match actions.iter_mut().find(|(a, _)| *a == action) {
                    Some((_, keys)) => keys.push(key.to_string()),
                    None => actions.push((action, vec![key.to_string()])),
                }
            }
            for (action, keys) in actions {
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("  {:<16}", keys.join(" ")),
                        theme.accent().add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(help_words(context, &action).to_string(), theme.text()),
                ]));
            }
        }
        lines
    }

    fn draw_help(&self, frame: &mut Frame, body: Rect, scroll: usize) {
        let theme = &self.theme;
        let lines = self.help_lines();
        // As wide as the longest line, as far as the screen allows.
        let widest = lines.iter().map(Line::width).max().unwrap_or(0) as u16;
        let width = (widest + 4).clamp(40, body.width.max(1));
        let area = layout::centered(body, width, lines.len() as u16 + 2);
        let height = layout::inner(area).height as usize;
        let scroll = scroll.min(lines.len().saturating_sub(height));
        let mut block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Span::styled(
                format!(" Help · {} ", self.view.title()),
                theme.title(),
            ));
        if scroll + height < lines.len() {
            let more = format!(" {} more ↓ ", lines.len() - scroll - height);
            block =
                block.title_bottom(Line::from(Span::styled(more, theme.accent())).right_aligned());
        }
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .style(theme.base())
                .scroll((scroll.min(u16::MAX as usize) as u16, 0)),
            area,
        );
    }

    pub(super) fn help_action(&mut self, action: &Action) {
        let lines = self.help_lines().len();
        let Some(scroll) = self.help.as_mut() else {
            return;
        };
        match action {
            Action::Cancel => self.help = None,
            Action::Up | Action::ScrollUp { .. } => *scroll = scroll.saturating_sub(1),
            Action::Down | Action::ScrollDown { .. } => {
                *scroll = (*scroll + 1).min(lines.saturating_sub(1))
            }
            _ => {}
        }
    }
}

/// What a key does in one context: the action's own words, or the
/// context's where the action means something particular there, so each
/// view's help speaks of that view only.
fn help_words(context: KeyContext, action: &Action) -> &'static str {
    use KeyContext as C;
    match (context, action) {
        (C::Flows, Action::NewItem) => "create a new flow",
        (C::Flows, Action::Edit) => "compose the flow, open the atom",
        (C::Flows, Action::Refresh) => "read flows and atoms again",
        (C::Composer, Action::DeleteItem) => "remove the step",
        (C::Composer | C::Editor, Action::Save) => "save to the file",
        (C::Editor, Action::Cancel) => "leave (asks first with unsaved edits)",
        (C::Schedules, Action::NewItem) => "add a schedule",
        (C::Schedules, Action::Edit) => "edit the schedule",
        (C::Schedules, Action::DeleteItem) => "delete the schedule (asks first)",
        (C::Schedules, Action::TogglePause) => "pause or resume the schedule",
        (C::Schedules, Action::Refresh) => "read the schedules again",
        (C::ScheduleForm, Action::Save) => "save the schedule",
        (C::History, Action::Refresh) => "read the list again",
        (C::History, Action::Filter) => "filter the runs by flow name",
        (C::History, Action::SearchAll) => {
            "search every run's output in the journal; enter opens the match"
        }
        (C::Run, Action::Submit) => "jump to the host picked in the list of matches",
        (C::Run, Action::TogglePause) => "pause or resume the run",
        (C::Run, Action::RerunFailed | Action::RetryFailed) => {
            "failed hosts again: retry now, or rerun once ended"
        }
        _ => action.description(),
    }
}

fn tab_label(view: ViewId) -> String {
    format!(" {} {} ", view.index() + 1, view.title())
}

/// The view whose tab is at `column` of the title bar.
pub(super) fn tab_at(column: u16) -> Option<ViewId> {
    let mut x = APP_LABEL.chars().count() as u16;
    for view in ViewId::ALL {
        let width = tab_label(view).chars().count() as u16;
        if column >= x && column < x + width {
            return Some(view);
        }
        x += width;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_are_found_by_column() {
        assert_eq!(tab_at(0), None);
        assert_eq!(tab_at(9), Some(ViewId::Inventory));
        assert_eq!(tab_at(22), Some(ViewId::Flows));
        assert_eq!(tab_at(200), None);
    }
}
