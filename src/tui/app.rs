//! The console's state: which view is shown, the views themselves, the
//! help overlay and the status line. Terminal events become `Action`s
//! through the keymap; background tasks send `AppMessage`s. `draw` takes
//! `&self`, so drawing can never change what is shown next.

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{Event, KeyEventKind, KeyModifiers, MouseEventKind};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use tokio::sync::mpsc;

use super::action::{Action, ViewId};
use super::keymap::{Key, KeyContext, Keymap};
use super::layout::{self, Screen};
use super::theme::Theme;
use super::views::inventory::InventoryView;
use super::views::placeholder::PlaceholderView;
// tuihist views
use super::views::background::Background;
use super::views::flows::{FlowsMessage, FlowsView};
use super::views::history::{HistoryMessage, HistoryView};
use super::views::schedules::SchedulesView;
use super::views::{Hint, View};
use crate::inventory::{HostId, Inventory, pattern};

/// What background tasks tell the UI task.
#[derive(Debug)]
pub enum AppMessage {
    InventoryLoaded {
        result: Result<Arc<Inventory>, String>,
        base: PathBuf,
    },
    PatternEvaluated {
        generation: u64,
        result: Result<Vec<HostId>, String>,
    },
    Status(StatusLevel, String),
    // tuihist views
    History(HistoryMessage),
    Flows(FlowsMessage),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusLevel {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
struct Status {
    level: StatusLevel,
    text: String,
    /// Wall-clock time the message arrived, HH:MM:SS.
    at: String,
}

pub struct App {
    theme: Theme,
    keymap: Keymap,
    view: ViewId,
    inventory: InventoryView,
    placeholders: Vec<PlaceholderView>,
    // tuihist views
    history: HistoryView,
    flows: FlowsView,
    schedules: SchedulesView,
    /// The help overlay's scroll position, while it is open.
    help: Option<usize>,
    status: Option<Status>,
    size: Rect,
    quit: bool,
    suspend: bool,
    dirty: bool,
    /// Where background work reports; `None` runs it inline (tests).
    tasks: Option<mpsc::Sender<AppMessage>>,
    /// Replaces the wall clock in the status line (tests).
    fixed_clock: Option<String>,
}

impl App {
    pub fn new(theme: Theme, keymap: Keymap) -> App {
        App {
            theme,
            keymap,
            view: ViewId::Inventory,
            inventory: InventoryView::new(),
            placeholders: ViewId::ALL[1..]
                .iter()
                .map(|&id| PlaceholderView::new(id))
                .collect(),
            history: HistoryView::new(),
            flows: FlowsView::new(),
            schedules: SchedulesView::new(),
            help: None,
            status: None,
            size: Rect::default(),
            quit: false,
            suspend: false,
            dirty: true,
            tasks: None,
            fixed_clock: None,
        }
    }

    /// Background work (pattern evaluation) reports through `tasks`.
    pub fn set_task_sender(&mut self, tasks: mpsc::Sender<AppMessage>) {
        self.history.set_background(Background::new(tasks.clone()));
        self.flows.set_background(Background::new(tasks.clone()));
        self.tasks = Some(tasks);
    }

    /// The journal History reads (`--journal`, else the default path).
    pub fn set_journal_path(&mut self, path: PathBuf) {
        self.history.set_journal_path(path);
    }

    /// Advances time-driven state (History's playback and refresh).
    pub fn tick(&mut self) {
        let history_shown = self.view == ViewId::History;
        if self.history.tick(std::time::Instant::now(), history_shown) {
            self.dirty = true;
        }
    }

    pub fn history_view(&self) -> &HistoryView {
        &self.history
    }

    pub fn flows_view(&self) -> &FlowsView {
        &self.flows
    }

    pub fn schedules_view_mut(&mut self) -> &mut SchedulesView {
        &mut self.schedules
    }

    /// Shows this time in the status line instead of the clock.
    pub fn set_fixed_clock(&mut self, at: &str) {
        self.fixed_clock = Some(at.to_string());
    }

    pub fn set_loading(&mut self, sources: &str) {
        self.inventory.set_loading(sources);
        self.dirty = true;
    }

    pub fn set_inventory(&mut self, inv: Arc<Inventory>, base: PathBuf) {
        let hosts = inv.data.hosts.len();
        let groups = inv.data.groups.len();
        self.history.set_inventory_sources(&inv.sources);
        self.flows.set_inventory_sources(&inv.sources, &base);
        self.inventory.set_inventory(inv, base);
        self.set_status(
            StatusLevel::Info,
            format!("loaded {hosts} hosts in {groups} groups"),
        );
    }

    /// The selected hosts' names, in inventory order, for the planner.
    pub fn selection(&self) -> Vec<String> {
        self.inventory.selection()
    }

    pub fn inventory_view(&self) -> &InventoryView {
        &self.inventory
    }

    pub fn current_view(&self) -> ViewId {
        self.view
    }

    pub fn help_open(&self) -> bool {
        self.help.is_some()
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// True once after the user asked to suspend (Ctrl-Z).
    pub fn take_suspend(&mut self) -> bool {
        std::mem::take(&mut self.suspend)
    }

    /// True if something changed since the last `mark_drawn`.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn mark_drawn(&mut self) {
        self.dirty = false;
    }

    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    pub fn status_text(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.text.as_str())
    }

    pub fn set_status(&mut self, level: StatusLevel, text: impl Into<String>) {
        let at = self
            .fixed_clock
            .clone()
            .unwrap_or_else(|| chrono::Local::now().format("%H:%M:%S").to_string());
        self.status = Some(Status {
            level,
            text: text.into(),
            at,
        });
        self.dirty = true;
    }

    /// A background task's report.
    pub fn on_message(&mut self, message: AppMessage) {
        match message {
            AppMessage::InventoryLoaded { result, base } => match result {
                Ok(inv) => self.set_inventory(inv, base),
                Err(e) => {
                    self.inventory.set_failed(e.clone());
                    self.set_status(StatusLevel::Error, e);
                }
            },
            AppMessage::PatternEvaluated { generation, result } => {
                self.inventory.pattern_evaluated(generation, result);
            }
            AppMessage::Status(level, text) => self.set_status(level, text),
            AppMessage::History(message) => {
                if let Some((level, text)) = self.history.on_message(message) {
                    self.set_status(level, text);
                }
            }
            AppMessage::Flows(message) => {
                if let Some((level, text)) = self.flows.on_message(message) {
                    self.set_status(level, text);
                }
            }
        }
        self.dirty = true;
    }

    /// A terminal event: keys go through the keymap, the mouse is routed by
    /// position, a resize relays out.
    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => {
                if let Some(action) = self.action_for_key(&Key::from_event(&key)) {
                    self.dispatch(action);
                }
            }
            Event::Mouse(mouse) => {
                let (column, row) = (mouse.column, mouse.row);
                let action = match mouse.kind {
                    MouseEventKind::ScrollUp => Some(Action::ScrollUp { column, row }),
                    MouseEventKind::ScrollDown => Some(Action::ScrollDown { column, row }),
                    MouseEventKind::Down(_) => Some(Action::Click { column, row }),
                    _ => None,
                };
                if let Some(action) = action {
                    self.dispatch(action);
                }
            }
            Event::Resize(width, height) => self.dispatch(Action::Resize(width, height)),
            Event::Paste(text) if self.active_view().captures_text() => {
                for c in text.chars().filter(|c| !c.is_control()) {
                    self.dispatch(Action::InsertChar(c));
                }
            }
            Event::FocusGained => self.dirty = true,
            _ => {}
        }
    }

    fn contexts(&self) -> Vec<KeyContext> {
        if self.help.is_some() {
            return vec![KeyContext::Help];
        }
        let view = self.active_view();
        let mut contexts = view.key_contexts();
        if !view.captures_text() {
            contexts.push(KeyContext::Global);
        }
        contexts
    }

    pub fn action_for_key(&self, key: &Key) -> Option<Action> {
        if let Some(action) = self.keymap.lookup(&self.contexts(), key) {
            return Some(action);
        }
        if self.help.is_none() && self.active_view().raw_keys() {
            return Some(Action::Key(*key));
        }
        let plain = key.modifiers.difference(KeyModifiers::SHIFT).is_empty();
        match key.code {
            crossterm::event::KeyCode::Char(c)
                if plain && self.help.is_none() && self.active_view().captures_text() =>
            {
                Some(Action::InsertChar(c))
            }
            _ => None,
        }
    }

    /// Applies an action and every follow-up action it leads to.
    pub fn dispatch(&mut self, action: Action) {
        let mut next = Some(action);
        // Follow-ups are few; the bound only guards against a cycle.
        for _ in 0..16 {
            let Some(action) = next.take() else { break };
            next = self.apply(action);
        }
        self.dirty = true;
    }

    fn apply(&mut self, action: Action) -> Option<Action> {
        match action {
            Action::Quit => self.quit = true,
            Action::Suspend => self.suspend = true,
            Action::Help => {
                self.help = match self.help {
                    Some(_) => None,
                    None => Some(0),
                }
            }
            Action::Resize(width, height) => self.resize(Rect::new(0, 0, width, height)),
            Action::Status(text) => self.set_status(StatusLevel::Info, text),
            Action::EvaluatePattern {
                generation,
                pattern,
            } => self.evaluate_pattern(generation, pattern),
            _ if self.help.is_some() => self.help_action(&action),
            Action::ShowView(view) => self.show(view),
            Action::NextView => self.show(self.view.next()),
            Action::PrevView => self.show(self.view.prev()),
            Action::Click { column, row } if self.size.height > 0 && row == self.size.y => {
                if let Some(view) = tab_at(column) {
                    self.show(view);
                }
            }
            other => return self.route(other),
        }
        None
    }

    /// Hands an action to the active view; a view's `Status` answer goes
    /// to the status line with the level the view chose.
    fn route(&mut self, action: Action) -> Option<Action> {
        let answer = self.active_view_mut().handle(&action);
        if self.view == ViewId::History
            && let Some((level, text)) = self.history.take_status()
        {
            self.set_status(level, text);
        }
        if self.view == ViewId::Flows
            && let Some((level, text)) = self.flows.take_status()
        {
            self.set_status(level, text);
        }
        if self.view == ViewId::Schedules
            && let Some((level, text)) = self.schedules.take_status()
        {
            self.set_status(level, text);
        }
        answer
    }

    fn help_action(&mut self, action: &Action) {
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

    fn show(&mut self, view: ViewId) {
        self.view = view;
        let selected = self.inventory.selected_count();
        for placeholder in &mut self.placeholders {
            placeholder.selected_hosts = selected;
        }
        self.active_view_mut().on_show();
    }

    fn resize(&mut self, size: Rect) {
        self.size = size;
        let body = Screen::of(size).map(|s| s.body).unwrap_or_default();
        self.inventory.set_area(body);
        for placeholder in &mut self.placeholders {
            placeholder.set_area(body);
        }
        self.history.set_area(body);
        self.flows.set_area(body);
        self.schedules.set_area(body);
    }

    /// Runs a pattern on a blocking thread when there is a runtime (an
    /// `@file` pattern reads a file), inline otherwise.
    fn evaluate_pattern(&mut self, generation: u64, text: String) {
        let Some(inv) = self.inventory.inventory() else {
            return;
        };
        let base = self.inventory.pattern_base();
        // Errors may span lines (regex carets); the box shows them as one.
        let run = move || {
            pattern::select(&inv.data, &text, &base).map_err(|e| {
                e.to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        };
        match (&self.tasks, tokio::runtime::Handle::try_current()) {
            (Some(tasks), Ok(runtime)) => {
                let tasks = tasks.clone();
                runtime.spawn_blocking(move || {
                    let result = run();
                    let _ =
                        tasks.blocking_send(AppMessage::PatternEvaluated { generation, result });
                });
            }
            _ => self.inventory.pattern_evaluated(generation, run()),
        }
    }

    fn active_view(&self) -> &dyn View {
        match self.view {
            ViewId::Inventory => &self.inventory,
            ViewId::History => &self.history,
            ViewId::Flows => &self.flows,
            ViewId::Schedules => &self.schedules,
            other => &self.placeholders[other.index() - 1],
        }
    }

    fn active_view_mut(&mut self) -> &mut dyn View {
        match self.view {
            ViewId::Inventory => &mut self.inventory,
            ViewId::History => &mut self.history,
            ViewId::Flows => &mut self.flows,
            ViewId::Schedules => &mut self.schedules,
            other => &mut self.placeholders[other.index() - 1],
        }
    }

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
        self.draw_status(frame, screen.status);
        self.draw_footer(frame, screen.footer);
        if let Some(scroll) = self.help {
            self.draw_help(frame, screen.body, scroll);
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
            } else if view == ViewId::Inventory {
                theme.text()
            } else {
                theme.muted()
            };
            spans.push(Span::styled(label, style));
        }
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let selected = self.inventory.selected_count();
        let info = if selected > 0 {
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

    fn draw_status(&self, frame: &mut Frame, area: Rect) {
        let theme = &self.theme;
        let line = match &self.status {
            None => Line::default(),
            Some(status) => {
                let (glyph, color) = match status.level {
                    StatusLevel::Info => (&theme.glyphs.info, theme.colors.info),
                    StatusLevel::Warning => (&theme.glyphs.warning, theme.colors.warning),
                    StatusLevel::Error => (&theme.glyphs.error, theme.colors.error),
                };
                Line::from(vec![
                    Span::styled(format!(" {} ", status.at), theme.muted()),
                    Span::styled(format!("{glyph} "), theme.fg(color)),
                    Span::styled(status.text.clone(), theme.fg(color)),
                ])
            }
        };
        frame.render_widget(
            Paragraph::new(line).style(theme.base().bg(theme.colors.status_bg)),
            area,
        );
    }

    /// The keys that apply now: the view's, then help and quit. Room for
    /// help and quit is kept; view hints that do not fit are left out
    /// whole rather than cut.
    fn draw_footer(&self, frame: &mut Frame, area: Rect) {
        let theme = &self.theme;
        let (hints, always) = if self.help.is_some() {
            (
                vec![
                    Hint::pair(Action::Down, Action::Up, "scroll"),
                    Hint::new(Action::Cancel, "close help"),
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
                    Hint::new(Action::Quit, "quit"),
                ],
            )
        };
        let contexts = self.contexts();
        let label = |hint: &Hint| -> Option<(String, &'static str, usize)> {
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
            Some((keys, hint.label, width))
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
        let mut sections: Vec<(String, KeyContext)> = Vec::new();
        if self.view == ViewId::Inventory {
            sections.push(("Inventory".into(), KeyContext::Inventory));
            sections.push(("Filter and pattern boxes".into(), KeyContext::Input));
        }
        let view_sections = self.active_view().help_sections();
        let has_view_help = !view_sections.is_empty();
        for (title, context) in view_sections {
            sections.push((title.to_string(), context));
        }
        sections.push(("Everywhere".into(), KeyContext::Global));
        let mut lines = Vec::new();
        for (title, context) in sections {
            if !lines.is_empty() {
                lines.push(Line::default());
            }
            lines.push(Line::from(Span::styled(title, theme.title())));
            let mut actions: Vec<(Action, Vec<String>)> = Vec::new();
            for (key, action) in self.keymap.bindings(context) {
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
                    Span::styled(action.description().to_string(), theme.text()),
                ]));
            }
        }
        if self.view != ViewId::Inventory && !has_view_help {
            lines.insert(
                0,
                Line::from(Span::styled(
                    format!("{}: arrives in a later milestone.", self.view.title()),
                    theme.muted(),
                )),
            );
        }
        lines
    }

    fn draw_help(&self, frame: &mut Frame, body: Rect, scroll: usize) {
        let theme = &self.theme;
        let lines = self.help_lines();
        let area = layout::centered(body, 64, lines.len() as u16 + 2);
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
}

const APP_LABEL: &str = " jobdeck ";

fn tab_label(view: ViewId) -> String {
    format!(" {} {} ", view.index() + 1, view.title())
}

/// The view whose tab is at `column` of the title bar.
fn tab_at(column: u16) -> Option<ViewId> {
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
