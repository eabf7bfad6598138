//! The Inventory view: the project → cluster → app → host tree with counts,
//! a fuzzy filter, an Ansible pattern box with a live count, multi-select of
//! hosts and whole groups, and a detail pane for the host or group under
//! the cursor.
//!
//! The tree is a flat arena in pre-order (a node's subtree is the index
//! range `node+1..end`), so filtering and counting are single passes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use serde_json::Value;

use super::{Hint, View};
use crate::hostlist;
use crate::inventory::connection::{self, ConnectionSettings};
use crate::inventory::{HostId, Inventory, vars};
use crate::tui::action::Action;
use crate::tui::keymap::KeyContext;
use crate::tui::layout::{self, WIDE};
use crate::tui::theme::Theme;
use crate::tui::widgets::text_box::TextInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Project,
    Cluster,
    App,
    /// Hosts with no project, cluster or app.
    Ungrouped,
    Host(HostId),
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Project => "project",
            Level::Cluster => "cluster",
            Level::App => "app",
            Level::Ungrouped => "no placement",
            Level::Host(_) => "host",
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    level: Level,
    label: String,
    depth: u16,
    parent: Option<usize>,
    /// One past the last node of this node's subtree.
    end: usize,
    /// Every host at or under this node, in tree order.
    hosts: Vec<HostId>,
    /// The hosts as folded ranges (`web-[01-04]`), for a closed app row;
    /// folded once here because folding thousands of names per frame is not free.
    folded: String,
}

impl Node {
    fn is_group(&self) -> bool {
        !matches!(self.level, Level::Host(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Row {
    node: usize,
    /// Character positions the fuzzy filter matched, for highlighting.
    matched: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputMode {
    Filter,
    Pattern,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Tree,
    Detail,
}

/// The pattern box's answer for the current text.
#[derive(Debug, Clone, PartialEq)]
enum PatternState {
    Empty,
    Evaluating,
    Matched(Vec<HostId>),
    Failed(String),
}

/// The loaded inventory and everything the view keeps about it.
struct Model {
    inv: Arc<Inventory>,
    /// Where relative `@file` patterns are read from.
    base: PathBuf,
    nodes: Vec<Node>,
    expanded: Vec<bool>,
    selected: Vec<bool>,
    selected_count: usize,
    /// The address shown beside a host when it differs from its name.
    addresses: Vec<Option<String>>,
    rows: Vec<Row>,
    cursor: usize,
    scroll: usize,
    detail_scroll: usize,
    pattern_state: PatternState,
    /// Hosts the pattern box matches, by `HostId`, while it is open.
    pattern_hits: Vec<bool>,
    pattern_generation: u64,
}

enum Load {
    Loading(String),
    Failed(String),
    Ready(Box<Model>),
}

pub struct InventoryView {
    load: Load,
    focus: Focus,
    input: Option<InputMode>,
    filter: TextInput,
    pattern: TextInput,
    matcher: Matcher,
    area: Rect,
}

/// Rows scrolled by one mouse wheel notch.
const WHEEL_ROWS: usize = 3;

impl InventoryView {
    pub fn new() -> InventoryView {
        InventoryView {
            load: Load::Loading(String::new()),
            focus: Focus::Tree,
            input: None,
            filter: TextInput::default(),
            pattern: TextInput::default(),
            matcher: Matcher::new(Config::DEFAULT),
            area: Rect::default(),
        }
    }

    pub fn set_loading(&mut self, sources: &str) {
        self.load = Load::Loading(sources.to_string());
    }

    pub fn set_failed(&mut self, message: String) {
        self.load = Load::Failed(message);
    }

    /// Shows a loaded inventory: projects and clusters open, apps folded.
    pub fn set_inventory(&mut self, inv: Arc<Inventory>, base: PathBuf) {
        let nodes = build_tree(&inv);
        let expanded = nodes
            .iter()
            .map(|n| matches!(n.level, Level::Project | Level::Cluster))
            .collect();
        let addresses = (0..inv.data.hosts.len())
            .map(|h| {
                let name = inv.host_name(h);
                ConnectionSettings::from_vars(name, &inv.hostvars[h])
                    .ok()
                    .map(|c| match c.port {
                        Some(port) => format!("{}:{port}", c.address),
                        None => c.address,
                    })
                    .filter(|a| a != name)
            })
            .collect();
        let host_count = inv.data.hosts.len();
        self.load = Load::Ready(Box::new(Model {
            inv,
            base,
            nodes,
            expanded,
            selected: vec![false; host_count],
            selected_count: 0,
            addresses,
            rows: Vec::new(),
            cursor: 0,
            scroll: 0,
            detail_scroll: 0,
            pattern_state: PatternState::Empty,
            pattern_hits: vec![false; host_count],
            pattern_generation: 0,
        }));
        self.refresh_rows();
    }

    pub fn inventory(&self) -> Option<Arc<Inventory>> {
        match &self.load {
            Load::Ready(m) => Some(m.inv.clone()),
            _ => None,
        }
    }

    pub fn pattern_base(&self) -> PathBuf {
        match &self.load {
            Load::Ready(m) => m.base.clone(),
            _ => PathBuf::from("."),
        }
    }

    /// The selected hosts' names, in inventory order: what a run will use.
    pub fn selection(&self) -> Vec<String> {
        let Load::Ready(m) = &self.load else {
            return Vec::new();
        };
        m.inv
            .all_hosts()
            .into_iter()
            .filter(|&h| m.selected[h])
            .map(|h| m.inv.host_name(h).to_string())
            .collect()
    }

    pub fn selected_count(&self) -> usize {
        match &self.load {
            Load::Ready(m) => m.selected_count,
            _ => 0,
        }
    }

    pub fn host_count(&self) -> usize {
        match &self.load {
            Load::Ready(m) => m.inv.data.hosts.len(),
            _ => 0,
        }
    }

    /// The live count of the pattern box, or its error.
    pub fn pattern_count(&self) -> Option<Result<usize, String>> {
        match &self.load {
            Load::Ready(m) => match &m.pattern_state {
                PatternState::Matched(hosts) => Some(Ok(hosts.len())),
                PatternState::Failed(e) => Some(Err(e.clone())),
                _ => None,
            },
            _ => None,
        }
    }

    /// The rows shown, as their labels (for tests and the smoke check).
    pub fn visible_labels(&self) -> Vec<String> {
        match &self.load {
            Load::Ready(m) => m
                .rows
                .iter()
                .map(|r| m.nodes[r.node].label.clone())
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn focus(&self) -> Focus {
        self.focus
    }

    pub fn input_mode(&self) -> Option<InputMode> {
        self.input
    }

    /// Takes a background pattern evaluation's answer, unless the text
    /// has changed since it was asked for.
    pub fn pattern_evaluated(&mut self, generation: u64, result: Result<Vec<HostId>, String>) {
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        if generation != m.pattern_generation || self.input != Some(InputMode::Pattern) {
            return;
        }
        m.pattern_hits.iter_mut().for_each(|hit| *hit = false);
        m.pattern_state = match result {
            Ok(hosts) => {
                for &h in &hosts {
                    if let Some(hit) = m.pattern_hits.get_mut(h) {
                        *hit = true;
                    }
                }
                PatternState::Matched(hosts)
            }
            Err(e) => PatternState::Failed(e),
        };
    }

    fn wide(&self) -> bool {
        self.area.width >= WIDE
    }

    /// The tree pane and the detail pane, either of which may be hidden.
    fn panes(&self) -> (Option<Rect>, Option<Rect>) {
        let area = self.area;
        if self.wide() {
            let tree_width = (area.width * 45 / 100).max(40);
            let tree = Rect::new(area.x, area.y, tree_width, area.height);
            let detail = Rect::new(
                area.x + tree_width,
                area.y,
                area.width - tree_width,
                area.height,
            );
            (Some(tree), Some(detail))
        } else if self.focus == Focus::Detail {
            (None, Some(area))
        } else {
            (Some(area), None)
        }
    }

    /// Lines under the tree for the filter or the pattern box.
    fn input_height(&self) -> u16 {
        match self.input {
            // An error gets room to wrap.
            Some(InputMode::Pattern) => match &self.load {
                Load::Ready(m) if matches!(m.pattern_state, PatternState::Failed(_)) => 4,
                _ => 2,
            },
            Some(InputMode::Filter) => 1,
            None if !self.filter.is_empty() => 1,
            None => 0,
        }
    }

    /// The list part of the tree pane.
    fn list_area(&self) -> Rect {
        let Some(tree) = self.panes().0 else {
            return Rect::default();
        };
        let inner = layout::inner(tree);
        let height = inner.height.saturating_sub(self.input_height());
        Rect::new(inner.x, inner.y, inner.width, height)
    }

    fn page(&self) -> usize {
        (self.list_area().height as usize).max(1)
    }

    fn refresh_rows(&mut self) {
        let filter = self.filter.text().to_string();
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        let keep = m.rows.get(m.cursor).map(|r| r.node);
        m.rows = if filter.trim().is_empty() {
            expanded_rows(&m.nodes, &m.expanded)
        } else {
            filtered_rows(&m.nodes, &filter, &mut self.matcher)
        };
        m.cursor = keep
            .and_then(|node| m.rows.iter().position(|r| r.node == node))
            .unwrap_or(m.cursor)
            .min(m.rows.len().saturating_sub(1));
        m.detail_scroll = 0;
        let page = self.page();
        if let Load::Ready(m) = &mut self.load {
            m.scroll = scroll_for(m.cursor, m.scroll, page, m.rows.len());
        }
    }

    fn move_cursor(&mut self, to: impl FnOnce(usize, usize, usize) -> usize) {
        let page = self.page();
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        if m.rows.is_empty() {
            return;
        }
        let last = m.rows.len() - 1;
        let target = to(m.cursor, last, page).min(last);
        if target != m.cursor {
            m.detail_scroll = 0;
        }
        m.cursor = target;
        m.scroll = scroll_for(m.cursor, m.scroll, page, m.rows.len());
    }

    fn scroll_detail(&mut self, by: isize) {
        let lines = self.detail_rows().len();
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        let max = lines.saturating_sub(1);
        m.detail_scroll = m.detail_scroll.saturating_add_signed(by).min(max);
    }

    fn cursor_node(&self) -> Option<usize> {
        match &self.load {
            Load::Ready(m) => m.rows.get(m.cursor).map(|r| r.node),
            _ => None,
        }
    }

    fn set_expanded(&mut self, node: usize, open: bool) {
        if let Load::Ready(m) = &mut self.load
            && m.nodes[node].is_group()
        {
            m.expanded[node] = open;
        }
        self.refresh_rows();
    }

    fn set_all_expanded(&mut self, open: bool) {
        if let Load::Ready(m) = &mut self.load {
            for (i, node) in m.nodes.iter().enumerate() {
                m.expanded[i] = open && node.is_group();
            }
        }
        self.refresh_rows();
    }

    /// Selects a host, or every host of a group; unselects them if all
    /// already were.
    fn toggle_select(&mut self) -> Option<Action> {
        let node = self.cursor_node()?;
        let Load::Ready(m) = &mut self.load else {
            return None;
        };
        let hosts = m.nodes[node].hosts.clone();
        let all_selected = hosts.iter().all(|&h| m.selected[h]);
        set_selected(m, &hosts, !all_selected);
        None
    }

    /// Selects every host shown (all of them without a filter).
    fn select_shown(&mut self) -> Option<Action> {
        let Load::Ready(m) = &mut self.load else {
            return None;
        };
        let mut shown: Vec<HostId> = Vec::new();
        if self.filter.text().trim().is_empty() {
            shown = m.inv.all_hosts();
        } else {
            for row in &m.rows {
                if let Level::Host(h) = m.nodes[row.node].level {
                    shown.push(h);
                }
            }
        }
        set_selected(m, &shown, true);
        Some(Action::Status(format!(
            "{} of {} hosts selected",
            m.selected_count,
            m.inv.data.hosts.len()
        )))
    }

    fn clear_selection(&mut self) -> Option<Action> {
        let Load::Ready(m) = &mut self.load else {
            return None;
        };
        m.selected.iter_mut().for_each(|s| *s = false);
        m.selected_count = 0;
        Some(Action::Status("selection cleared".into()))
    }

    /// Asks for the pattern box's text to be evaluated. The app runs it off
    /// the UI task (an `@file` pattern reads a file) and hands the answer
    /// to `pattern_evaluated`.
    fn pattern_changed(&mut self) -> Option<Action> {
        let text = self.pattern.text().trim().to_string();
        let Load::Ready(m) = &mut self.load else {
            return None;
        };
        m.pattern_generation += 1;
        m.pattern_hits.iter_mut().for_each(|hit| *hit = false);
        if text.is_empty() {
            m.pattern_state = PatternState::Empty;
            return None;
        }
        m.pattern_state = PatternState::Evaluating;
        Some(Action::EvaluatePattern {
            generation: m.pattern_generation,
            pattern: text,
        })
    }

    /// Enter in the pattern box: the matched hosts become the selection.
    fn apply_pattern(&mut self) -> Option<Action> {
        let pattern = self.pattern.text().trim().to_string();
        let Load::Ready(m) = &mut self.load else {
            return None;
        };
        match &m.pattern_state {
            PatternState::Matched(hosts) if !hosts.is_empty() => {
                let hosts = hosts.clone();
                m.selected.iter_mut().for_each(|s| *s = false);
                m.selected_count = 0;
                set_selected(m, &hosts, true);
                m.pattern_hits.iter_mut().for_each(|hit| *hit = false);
                self.input = None;
                Some(Action::Status(format!(
                    "selected {} hosts matching '{pattern}'",
                    hosts.len()
                )))
            }
            PatternState::Matched(_) => Some(Action::Status(format!(
                "pattern '{pattern}' matches no hosts; nothing selected"
            ))),
            PatternState::Failed(e) => Some(Action::Status(format!("pattern error: {e}"))),
            PatternState::Evaluating => Some(Action::Status("still evaluating the pattern".into())),
            PatternState::Empty => {
                self.input = None;
                None
            }
        }
    }

    fn close_pattern(&mut self) {
        self.input = None;
        if let Load::Ready(m) = &mut self.load {
            m.pattern_hits.iter_mut().for_each(|hit| *hit = false);
        }
    }

    fn handle_input(&mut self, mode: InputMode, action: &Action) -> Option<Action> {
        let edited = match action {
            Action::InsertChar(c) => {
                self.input_mut(mode).push(*c);
                true
            }
            Action::Backspace => {
                self.input_mut(mode).backspace();
                true
            }
            Action::ClearInput => {
                self.input_mut(mode).clear();
                true
            }
            Action::Submit => {
                return match mode {
                    InputMode::Filter => {
                        self.input = None;
                        None
                    }
                    InputMode::Pattern => self.apply_pattern(),
                };
            }
            Action::Cancel => {
                match mode {
                    InputMode::Filter => {
                        self.input = None;
                        self.filter.clear();
                        self.refresh_rows();
                    }
                    InputMode::Pattern => self.close_pattern(),
                }
                return None;
            }
            _ => false,
        };
        if !edited {
            return None;
        }
        match mode {
            InputMode::Filter => {
                self.refresh_rows();
                None
            }
            InputMode::Pattern => self.pattern_changed(),
        }
    }

    fn input_mut(&mut self, mode: InputMode) -> &mut TextInput {
        match mode {
            InputMode::Filter => &mut self.filter,
            InputMode::Pattern => &mut self.pattern,
        }
    }

    fn click(&mut self, column: u16, row: u16) {
        let (tree, detail) = self.panes();
        if detail.is_some_and(|d| layout::contains(d, column, row)) {
            self.focus = Focus::Detail;
            return;
        }
        if tree.is_some_and(|t| layout::contains(t, column, row)) {
            self.focus = Focus::Tree;
            let list = self.list_area();
            if layout::contains(list, column, row) {
                let offset = match &self.load {
                    Load::Ready(m) => m.scroll,
                    _ => 0,
                };
                let target = offset + (row - list.y) as usize;
                self.move_cursor(|_, _, _| target);
            }
        }
    }

    fn in_detail(&self, column: u16, row: u16) -> bool {
        self.panes()
            .1
            .is_some_and(|d| layout::contains(d, column, row))
    }

    /// The detail pane's content as (kind, key, value) rows; drawing
    /// styles them, and scrolling counts them.
    fn detail_rows(&self) -> Vec<DetailRow> {
        let (Load::Ready(m), Some(node)) = (&self.load, self.cursor_node()) else {
            return Vec::new();
        };
        let node = &m.nodes[node];
        match node.level {
            Level::Host(h) => host_detail(m, h),
            _ => group_detail(m, node),
        }
    }

    fn draw_tree(&self, frame: &mut Frame, area: Rect, theme: &Theme, m: &Model) {
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
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(focused))
            .title(Line::from(title));
        frame.render_widget(block, area);

        let list = self.list_area();
        let offset = scroll_for(m.cursor, m.scroll, list.height as usize, m.rows.len());
        let lines: Vec<Line> = m
            .rows
            .iter()
            .enumerate()
            .skip(offset)
            .take(list.height as usize)
            .map(|(i, row)| self.tree_line(theme, m, row, i == m.cursor && focused))
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

    fn tree_line(&self, theme: &Theme, m: &Model, row: &Row, cursor: bool) -> Line<'static> {
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
                    Span::styled(self.pattern.visible_tail(room).to_string(), theme.text()),
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

    fn draw_detail(&self, frame: &mut Frame, area: Rect, theme: &Theme, m: &Model) {
        let focused = self.focus == Focus::Detail;
        let title = match self.cursor_node().map(|n| &m.nodes[n]) {
            Some(node) => format!(" {} · {} ", node.label, node.level.name()),
            None => " Detail ".into(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(focused))
            .title(Span::styled(title, theme.title()));
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

impl Default for InventoryView {
    fn default() -> Self {
        Self::new()
    }
}

impl View for InventoryView {
    fn handle(&mut self, action: &Action) -> Option<Action> {
        if !matches!(self.load, Load::Ready(_)) {
            return None;
        }
        if let Some(mode) = self.input {
            return self.handle_input(mode, action);
        }
        let detail = self.focus == Focus::Detail;
        match action {
            Action::Up if detail => self.scroll_detail(-1),
            Action::Down if detail => self.scroll_detail(1),
            Action::PageUp if detail => self.scroll_detail(-(self.page() as isize)),
            Action::PageDown if detail => self.scroll_detail(self.page() as isize),
            Action::Top if detail => self.scroll_detail(isize::MIN / 2),
            Action::Bottom if detail => self.scroll_detail(isize::MAX / 2),
            Action::Up => self.move_cursor(|c, _, _| c.saturating_sub(1)),
            Action::Down => self.move_cursor(|c, _, _| c + 1),
            Action::PageUp => self.move_cursor(|c, _, page| c.saturating_sub(page)),
            Action::PageDown => self.move_cursor(|c, _, page| c + page),
            Action::Top => self.move_cursor(|_, _, _| 0),
            Action::Bottom => self.move_cursor(|_, last, _| last),
            Action::Expand | Action::Collapse | Action::ToggleExpand => {
                let node = self.cursor_node()?;
                let (is_group, open, parent) = match &self.load {
                    Load::Ready(m) => (
                        m.nodes[node].is_group(),
                        m.expanded[node],
                        m.nodes[node].parent,
                    ),
                    _ => return None,
                };
                match action {
                    Action::Expand if is_group => self.set_expanded(node, true),
                    Action::ToggleExpand if is_group => self.set_expanded(node, !open),
                    Action::Collapse if is_group && open => self.set_expanded(node, false),
                    // On a host or a closed group, h goes to the parent.
                    Action::Collapse => {
                        if let (Some(parent), Load::Ready(m)) = (parent, &self.load)
                            && let Some(i) = m.rows.iter().position(|r| r.node == parent)
                        {
                            self.move_cursor(|_, _, _| i);
                        }
                    }
                    _ => {}
                }
            }
            Action::ExpandAll => self.set_all_expanded(true),
            Action::CollapseAll => self.set_all_expanded(false),
            Action::ToggleSelect => return self.toggle_select(),
            Action::SelectAll => return self.select_shown(),
            Action::ClearSelection => return self.clear_selection(),
            Action::Filter => {
                self.focus = Focus::Tree;
                self.input = Some(InputMode::Filter);
            }
            Action::Pattern => {
                self.focus = Focus::Tree;
                self.input = Some(InputMode::Pattern);
                return self.pattern_changed();
            }
            Action::ToggleDetail | Action::FocusNext => {
                self.focus = match self.focus {
                    Focus::Tree => Focus::Detail,
                    Focus::Detail => Focus::Tree,
                };
            }
            Action::Cancel => {
                if detail {
                    self.focus = Focus::Tree;
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                    self.refresh_rows();
                }
            }
            Action::ScrollUp { column, row } | Action::ScrollDown { column, row } => {
                let down = matches!(action, Action::ScrollDown { .. });
                if self.in_detail(*column, *row) {
                    self.scroll_detail(if down { 3 } else { -3 });
                } else if down {
                    self.move_cursor(|c, _, _| c + WHEEL_ROWS);
                } else {
                    self.move_cursor(|c, _, _| c.saturating_sub(WHEEL_ROWS));
                }
            }
            Action::Click { column, row } => self.click(*column, *row),
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let block = |title: &str| {
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border(true))
                .title(Span::styled(format!(" {title} "), theme.title()))
        };
        let m = match &self.load {
            Load::Loading(sources) => {
                let text = format!("Loading the inventory from {sources}…");
                frame.render_widget(
                    Paragraph::new(Span::styled(text, theme.muted())).block(block("Inventory")),
                    area,
                );
                return;
            }
            Load::Failed(message) => {
                let lines = vec![
                    Line::from(Span::styled(
                        format!("{} The inventory could not be loaded:", theme.glyphs.error),
                        theme.fg(theme.colors.error),
                    )),
                    Line::default(),
                    Line::from(Span::styled(message.clone(), theme.text())),
                    Line::default(),
                    Line::from(Span::styled(
                        "Fix the file and start jobdeck again (-i chooses the inventory).",
                        theme.muted(),
                    )),
                ];
                frame.render_widget(
                    Paragraph::new(lines)
                        .block(block("Inventory"))
                        .wrap(ratatui::widgets::Wrap { trim: false }),
                    area,
                );
                return;
            }
            Load::Ready(m) => m,
        };
        let (tree, detail) = self.panes();
        if let Some(tree) = tree {
            self.draw_tree(frame, tree, theme, m);
        }
        if let Some(detail) = detail {
            self.draw_detail(frame, detail, theme, m);
        }
    }

    fn set_area(&mut self, area: Rect) {
        self.area = area;
        let page = self.page();
        if let Load::Ready(m) = &mut self.load {
            m.scroll = scroll_for(m.cursor, m.scroll, page, m.rows.len());
        }
    }

    fn key_contexts(&self) -> Vec<KeyContext> {
        if self.input.is_some() {
            vec![KeyContext::Input]
        } else {
            vec![KeyContext::Inventory]
        }
    }

    fn captures_text(&self) -> bool {
        self.input.is_some()
    }

    fn hints(&self) -> Vec<Hint> {
        if !matches!(self.load, Load::Ready(_)) {
            return Vec::new();
        }
        match self.input {
            Some(InputMode::Filter) => vec![
                Hint::new(Action::Submit, "keep filter"),
                Hint::new(Action::Cancel, "clear"),
            ],
            Some(InputMode::Pattern) => vec![
                Hint::new(Action::Submit, "select matches"),
                Hint::new(Action::Cancel, "close"),
                Hint::new(Action::ClearInput, "clear"),
            ],
            None if self.focus == Focus::Detail => vec![
                Hint::pair(Action::Down, Action::Up, "scroll"),
                Hint::new(Action::ToggleDetail, "tree"),
                Hint::new(Action::Cancel, "back"),
            ],
            None => {
                let mut hints = vec![
                    Hint::pair(Action::Down, Action::Up, "move"),
                    Hint::pair(Action::Collapse, Action::Expand, "fold"),
                    Hint::new(Action::ToggleSelect, "select"),
                    Hint::new(Action::Filter, "filter"),
                    Hint::new(Action::Pattern, "pattern"),
                    Hint::new(Action::ToggleDetail, "detail"),
                ];
                if self.selected_count() > 0 {
                    hints.push(Hint::new(Action::ClearSelection, "unselect all"));
                } else {
                    hints.push(Hint::new(Action::SelectAll, "select all"));
                }
                if !self.filter.is_empty() {
                    hints.push(Hint::new(Action::Cancel, "clear filter"));
                }
                hints
            }
        }
    }
}

fn set_selected(m: &mut Model, hosts: &[HostId], on: bool) {
    for &h in hosts {
        if m.selected[h] != on {
            m.selected[h] = on;
            if on {
                m.selected_count += 1;
            } else {
                m.selected_count -= 1;
            }
        }
    }
}

/// Keeps the cursor inside a window of `height` rows, moving the window as
/// little as possible.
fn scroll_for(cursor: usize, scroll: usize, height: usize, rows: usize) -> usize {
    if height == 0 {
        return cursor;
    }
    let mut top = scroll.min(cursor);
    if cursor >= top + height {
        top = cursor + 1 - height;
    }
    top.min(rows.saturating_sub(height))
}

type Apps = IndexMap<Option<String>, Vec<HostId>>;
type Clusters = IndexMap<Option<String>, Apps>;

/// The project → cluster → app → host tree, in inventory order. A level a
/// host has no name for is skipped, so a flat `[web]` group is a top-level
/// app; hosts with no placement at all sit under one "(no placement)" node.
fn build_tree(inv: &Inventory) -> Vec<Node> {
    let mut projects: IndexMap<Option<String>, Clusters> = IndexMap::new();
    let mut unplaced = Vec::new();
    for h in inv.all_hosts() {
        let p = &inv.placement[h];
        if p.project.is_none() && p.cluster.is_none() && p.app.is_none() {
            unplaced.push(h);
            continue;
        }
        projects
            .entry(p.project.clone())
            .or_default()
            .entry(p.cluster.clone())
            .or_default()
            .entry(p.app.clone())
            .or_default()
            .push(h);
    }
    let mut nodes = Vec::new();
    for (project, clusters) in &projects {
        let (p_parent, p_depth) = open_group(&mut nodes, project, Level::Project, None, 0);
        for (cluster, apps) in clusters {
            let (c_parent, c_depth) =
                open_group(&mut nodes, cluster, Level::Cluster, p_parent, p_depth);
            for (app, hosts) in apps {
                let (a_parent, a_depth) =
                    open_group(&mut nodes, app, Level::App, c_parent, c_depth);
                push_hosts(&mut nodes, inv, hosts, a_parent, a_depth);
                close_group(&mut nodes, inv, a_parent, app.is_some());
            }
            close_group(&mut nodes, inv, c_parent, cluster.is_some());
        }
        close_group(&mut nodes, inv, p_parent, project.is_some());
    }
    if !unplaced.is_empty() {
        let label = Some("(no placement)".to_string());
        let (parent, depth) = open_group(&mut nodes, &label, Level::Ungrouped, None, 0);
        push_hosts(&mut nodes, inv, &unplaced, parent, depth);
        close_group(&mut nodes, inv, parent, true);
    }
    nodes
}

/// Starts a group node if the level has a name; returns the parent and
/// depth its children get.
fn open_group(
    nodes: &mut Vec<Node>,
    label: &Option<String>,
    level: Level,
    parent: Option<usize>,
    depth: u16,
) -> (Option<usize>, u16) {
    let Some(label) = label else {
        return (parent, depth);
    };
    nodes.push(Node {
        level,
        label: label.clone(),
        depth,
        parent,
        end: 0,
        hosts: Vec::new(),
        folded: String::new(),
    });
    (Some(nodes.len() - 1), depth + 1)
}

/// Ends a group opened by `open_group`: its subtree and host list are known now.
fn close_group(nodes: &mut [Node], inv: &Inventory, group: Option<usize>, opened: bool) {
    if let (true, Some(g)) = (opened, group) {
        let end = nodes.len();
        let hosts: Vec<HostId> = nodes[g + 1..end]
            .iter()
            .filter_map(|n| match n.level {
                Level::Host(h) => Some(h),
                _ => None,
            })
            .collect();
        if nodes[g].level == Level::App {
            nodes[g].folded = hostlist::fold(hosts.iter().map(|&h| inv.host_name(h)));
        }
        nodes[g].end = end;
        nodes[g].hosts = hosts;
    }
}

fn push_hosts(
    nodes: &mut Vec<Node>,
    inv: &Inventory,
    hosts: &[HostId],
    parent: Option<usize>,
    depth: u16,
) {
    for &h in hosts {
        let index = nodes.len();
        nodes.push(Node {
            level: Level::Host(h),
            label: inv.host_name(h).to_string(),
            depth,
            parent,
            end: index + 1,
            hosts: vec![h],
            folded: String::new(),
        });
    }
}

/// Rows under open groups only.
fn expanded_rows(nodes: &[Node], expanded: &[bool]) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut i = 0;
    while i < nodes.len() {
        rows.push(Row {
            node: i,
            matched: Vec::new(),
        });
        i = if nodes[i].is_group() && !expanded[i] {
            nodes[i].end
        } else {
            i + 1
        };
    }
    rows
}

/// Rows for a fuzzy filter: nodes whose name matches, everything under a
/// matching group, and the groups leading to a match, all shown open.
fn filtered_rows(nodes: &[Node], filter: &str, matcher: &mut Matcher) -> Vec<Row> {
    let pattern = Pattern::parse(filter, CaseMatching::Ignore, Normalization::Smart);
    let mut buf = Vec::new();
    let mut indices: Vec<Option<Vec<u32>>> = Vec::with_capacity(nodes.len());
    for node in nodes {
        let mut hit = Vec::new();
        let matched = pattern
            .indices(Utf32Str::new(&node.label, &mut buf), matcher, &mut hit)
            .is_some();
        hit.sort_unstable();
        hit.dedup();
        indices.push(matched.then_some(hit));
    }
    // A node is shown if it matches, sits under a match, or leads to one.
    let mut leads_to_match = vec![false; nodes.len()];
    for i in (0..nodes.len()).rev() {
        if (indices[i].is_some() || leads_to_match[i])
            && let Some(parent) = nodes[i].parent
        {
            leads_to_match[parent] = true;
        }
    }
    let mut rows = Vec::new();
    let mut under_match_until = 0;
    for (i, node) in nodes.iter().enumerate() {
        let matched = indices[i].is_some();
        let under_match = i < under_match_until;
        if matched && node.is_group() {
            under_match_until = under_match_until.max(node.end);
        }
        if matched || under_match || leads_to_match[i] {
            rows.push(Row {
                node: i,
                matched: indices[i].take().unwrap_or_default(),
            });
        }
    }
    rows
}

/// A label with the filter's matched characters picked out.
fn highlighted(label: &str, matched: &[u32], style: Style, theme: &Theme) -> Vec<Span<'static>> {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DetailKind {
    Heading,
    Field,
    Secret,
    Problem,
    Note,
}

#[derive(Debug, Clone, PartialEq)]
struct DetailRow {
    kind: DetailKind,
    key: String,
    value: String,
}

fn heading(text: impl Into<String>) -> DetailRow {
    DetailRow {
        kind: DetailKind::Heading,
        key: text.into(),
        value: String::new(),
    }
}

fn field(key: impl Into<String>, value: impl Into<String>) -> DetailRow {
    DetailRow {
        kind: DetailKind::Field,
        key: key.into(),
        value: value.into(),
    }
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

/// The inventory file that declared a host, relative to its source directory.
fn source_label(inv: &Inventory, path: &Path) -> String {
    inv.sources
        .iter()
        .find_map(|source| path.strip_prefix(source).ok())
        .filter(|rel| !rel.as_os_str().is_empty())
        .or_else(|| path.file_name().map(Path::new))
        .unwrap_or(path)
        .display()
        .to_string()
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn placement_text(m: &Model, h: HostId) -> String {
    let p = &m.inv.placement[h];
    [&p.project, &p.cluster, &p.app]
        .iter()
        .map(|level| level.as_deref().unwrap_or("–"))
        .collect::<Vec<_>>()
        .join(" › ")
}

fn host_detail(m: &Model, h: HostId) -> Vec<DetailRow> {
    let inv = &m.inv;
    let host = inv.data.host(h);
    let mut rows = vec![heading(host.name.clone())];
    rows.push(field("placement", placement_text(m, h)));
    let groups: Vec<&str> = vars::sorted_groups(&inv.data, h)
        .into_iter()
        .map(|g| inv.data.group(g).name.as_str())
        .collect();
    rows.push(field("groups", groups.join(", ")));
    if let Some(source) = &host.source {
        rows.push(field("source", source_label(inv, source)));
    }
    rows.push(field("selected", if m.selected[h] { "yes" } else { "no" }));
    rows.push(heading("Connection"));
    match ConnectionSettings::from_vars(&host.name, &inv.hostvars[h]) {
        Ok(c) => {
            rows.push(field("connection", c.connection.clone()));
            rows.push(field("address", c.address.clone()));
            let or_default = |v: Option<String>, default: &str| v.unwrap_or(default.to_string());
            rows.push(field(
                "port",
                or_default(c.port.map(|p| p.to_string()), "ssh_config (22)"),
            ));
            rows.push(field("user", or_default(c.user.clone(), "ssh_config")));
            if let Some(key) = &c.private_key_file {
                rows.push(field("key file", key.clone()));
            }
            if c.has_password {
                rows.push(DetailRow {
                    kind: DetailKind::Secret,
                    key: "password".into(),
                    value: "set (***)".into(),
                });
            }
            if let Some(jump) = &c.proxy_jump {
                rows.push(field("proxy jump", jump.clone()));
            }
            if let Some(command) = &c.proxy_command {
                rows.push(field("proxy cmd", command.clone()));
            }
            for (key, value) in &c.ssh_options {
                rows.push(field(format!("-o {key}"), value.clone()));
            }
        }
        Err(e) => rows.push(DetailRow {
            kind: DetailKind::Problem,
            key: "error".into(),
            value: e,
        }),
    }
    let merged = connection::masked(&inv.hostvars[h]);
    rows.push(heading(format!("Variables ({})", merged.len())));
    if merged.is_empty() {
        rows.push(DetailRow {
            kind: DetailKind::Note,
            key: "none".into(),
            value: String::new(),
        });
    }
    for (key, value) in &merged {
        let kind = if connection::is_secret_var(key) {
            DetailKind::Secret
        } else {
            DetailKind::Field
        };
        rows.push(DetailRow {
            kind,
            key: key.clone(),
            value: value_text(value),
        });
    }
    rows
}

fn group_detail(m: &Model, node: &Node) -> Vec<DetailRow> {
    let inv = &m.inv;
    let selected = node.hosts.iter().filter(|&&h| m.selected[h]).count();
    let mut rows = vec![heading(node.label.clone())];
    rows.push(field("level", node.level.name()));
    let mut path = Vec::new();
    let mut up = node.parent;
    while let Some(p) = up {
        path.push(m.nodes[p].label.as_str());
        up = m.nodes[p].parent;
    }
    if !path.is_empty() {
        path.reverse();
        rows.push(field("under", path.join(" › ")));
    }
    rows.push(field(
        "hosts",
        format!("{} ({selected} selected)", node.hosts.len()),
    ));
    rows.push(field(
        "members",
        hostlist::fold(node.hosts.iter().map(|&h| inv.host_name(h))),
    ));
    if let Some(g) = inv.data.group_id(&node.label) {
        let group = inv.data.group(g);
        let children: Vec<&str> = group
            .children
            .iter()
            .map(|&c| inv.data.group(c).name.as_str())
            .collect();
        if !children.is_empty() {
            rows.push(field("children", children.join(", ")));
        }
        let own = connection::masked(&vars::group_own_vars(inv, g));
        rows.push(heading(format!("Group variables ({})", own.len())));
        if own.is_empty() {
            rows.push(DetailRow {
                kind: DetailKind::Note,
                key: "none set on this group".into(),
                value: String::new(),
            });
        }
        for (key, value) in &own {
            let kind = if connection::is_secret_var(key) {
                DetailKind::Secret
            } else {
                DetailKind::Field
            };
            rows.push(DetailRow {
                kind,
                key: key.clone(),
                value: value_text(value),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> InventoryView {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
        let inv = Inventory::load(&[root.to_string_lossy().into_owned()]).unwrap();
        let mut view = InventoryView::new();
        view.set_area(Rect::new(0, 1, 80, 21));
        view.set_inventory(Arc::new(inv), PathBuf::from("."));
        view
    }

    #[test]
    fn tree_opens_projects_and_clusters_and_counts_hosts() {
        let view = sample();
        assert_eq!(
            view.visible_labels(),
            [
                "blog",
                "blog_c1",
                "blog_php",
                "blog_nginx",
                "shop",
                "shop_c1",
                "shop_web",
                "shop_api",
                "shop_c2",
                "shop_worker",
                "lab",
                "lab_c1",
                "local"
            ]
        );
        let Load::Ready(m) = &view.load else { panic!() };
        let shop = m.nodes.iter().find(|n| n.label == "shop").unwrap();
        assert_eq!(shop.hosts.len(), 10);
        // Pre-order arena: every host of a group lies inside its subtree.
        for (i, n) in m.nodes.iter().enumerate() {
            assert!(n.end > i);
            for child in &m.nodes[i + 1..n.end] {
                assert!(child.depth > n.depth);
            }
        }
    }

    #[test]
    fn scroll_keeps_cursor_in_view() {
        assert_eq!(scroll_for(0, 0, 5, 20), 0);
        assert_eq!(scroll_for(7, 0, 5, 20), 3);
        assert_eq!(scroll_for(2, 3, 5, 20), 2);
        assert_eq!(scroll_for(19, 0, 5, 20), 15);
        assert_eq!(scroll_for(3, 10, 50, 20), 0);
        assert_eq!(scroll_for(4, 0, 0, 20), 4);
    }

    #[test]
    fn filter_shows_matches_their_groups_and_whole_matching_groups() {
        let mut view = sample();
        view.handle(&Action::Filter);
        for c in "wrk".chars() {
            view.handle(&Action::InsertChar(c));
        }
        assert_eq!(
            view.visible_labels(),
            [
                "shop",
                "shop_c2",
                "shop_worker",
                "shop-worker-a",
                "shop-worker-b",
                "shop-worker-c"
            ]
        );
        view.handle(&Action::ClearInput);
        for c in "nginx-02".chars() {
            view.handle(&Action::InsertChar(c));
        }
        assert_eq!(
            view.visible_labels(),
            ["blog", "blog_c1", "blog_nginx", "blog-nginx-02"]
        );
        view.handle(&Action::Cancel);
        assert_eq!(view.visible_labels().len(), 13);
    }

    #[test]
    fn highlight_splits_runs() {
        let theme = Theme::default_theme();
        let spans = highlighted("shop", &[1, 2], Style::new(), &theme);
        let texts: Vec<&str> = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(texts, ["s", "ho", "p"]);
    }
}
