//! The Inventory view: the project → cluster → app → host tree with counts,
//! a fuzzy filter, an Ansible pattern box with a live count, multi-select of
//! hosts and whole groups, and a detail pane for the host or group under
//! the cursor.
//!
//! - `tree`: the tree as a flat arena, and the rows shown.
//! - `selection`: selecting hosts and groups, and the pattern box.
//! - `detail`: the detail pane's rows.
//! - `draw`: drawing.
//!
//! The pattern is evaluated off the UI task (an `@file` pattern reads a
//! file); its answer comes back as a `Message`.

mod detail;
mod draw;
mod selection;
mod tree;

use std::path::PathBuf;
use std::sync::Arc;

use nucleo_matcher::{Config, Matcher};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Hint, Update, View};
use crate::inventory::connection::ConnectionSettings;
use crate::inventory::{HostId, Inventory};
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::keymap::KeyContext;
use crate::tui::layout::{self, WIDE};
use crate::tui::theme::Theme;
use crate::tui::widgets::load_state::Note;
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::scroll_list::{ScrollList, WHEEL_ROWS};
use crate::tui::widgets::text_box::TextInput;
use detail::{DetailRow, group_detail, host_detail};
use tree::{Level, Node, TreeRow, build_tree, expanded_rows, filtered_rows};

/// What the view's work reports.
#[derive(Debug)]
pub enum Message {
    /// The pattern box's text, evaluated.
    PatternEvaluated {
        generation: u64,
        result: Result<Vec<HostId>, String>,
    },
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
    rows: Vec<TreeRow>,
    list: ScrollList,
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
            list: ScrollList::default(),
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

    /// The list's window follows its current height (the boxes under it
    /// come and go).
    fn fit_list(&mut self) {
        let page = self.page();
        if let Load::Ready(m) = &mut self.load {
            m.list.set_height(page, m.rows.len());
        }
    }

    fn refresh_rows(&mut self) {
        let filter = self.filter.text().to_string();
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        let keep = m.rows.get(m.list.cursor()).map(|r| r.node);
        m.rows = if filter.trim().is_empty() {
            expanded_rows(&m.nodes, &m.expanded)
        } else {
            filtered_rows(&m.nodes, &filter, &mut self.matcher)
        };
        let cursor = keep
            .and_then(|node| m.rows.iter().position(|r| r.node == node))
            .unwrap_or(m.list.cursor());
        m.list.select(cursor, m.rows.len());
        m.detail_scroll = 0;
        self.fit_list();
    }

    /// Moves the cursor (and the window with it); a new row resets the
    /// detail pane's scroll.
    fn move_cursor(&mut self, action: &Action) {
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        let before = m.list.cursor();
        m.list.handle(action, m.rows.len());
        if m.list.cursor() != before {
            m.detail_scroll = 0;
        }
    }

    fn select_row(&mut self, index: usize) {
        if let Load::Ready(m) = &mut self.load {
            if index != m.list.cursor() {
                m.detail_scroll = 0;
            }
            m.list.select(index, m.rows.len());
        }
    }

    fn scroll_detail(&mut self, by: isize) {
        let lines = self.detail_rows().len();
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        let max = lines.saturating_sub(1);
        m.detail_scroll = m.detail_scroll.saturating_add_signed(by).min(max);
    }

    /// The host under the cursor, when the cursor is on a host (not a group).
    pub fn cursor_host_name(&self) -> Option<String> {
        let Load::Ready(m) = &self.load else {
            return None;
        };
        match m.nodes[self.cursor_node()?].level {
            Level::Host(host) => Some(m.inv.host_name(host).to_string()),
            _ => None,
        }
    }

    /// The hosts of the row under the cursor: the host, or every host of
    /// the group.
    pub fn cursor_host_names(&self) -> Vec<String> {
        let (Load::Ready(m), Some(node)) = (&self.load, self.cursor_node()) else {
            return Vec::new();
        };
        m.nodes[node]
            .hosts
            .iter()
            .map(|&host| m.inv.host_name(host).to_string())
            .collect()
    }

    fn cursor_node(&self) -> Option<usize> {
        match &self.load {
            Load::Ready(m) => m.rows.get(m.list.cursor()).map(|r| r.node),
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

    /// Expand, collapse, toggle; on a host or a closed group, collapse goes
    /// to the parent.
    fn fold(&mut self, action: &Action) {
        let Some(node) = self.cursor_node() else {
            return;
        };
        let Load::Ready(m) = &self.load else {
            return;
        };
        let (is_group, open, parent) = (
            m.nodes[node].is_group(),
            m.expanded[node],
            m.nodes[node].parent,
        );
        match action {
            Action::Expand if is_group => self.set_expanded(node, true),
            Action::ToggleExpand if is_group => self.set_expanded(node, !open),
            Action::Collapse if is_group && open => self.set_expanded(node, false),
            Action::Collapse => {
                if let Some(i) = parent.and_then(|p| m.rows.iter().position(|r| r.node == p)) {
                    self.select_row(i);
                }
            }
            _ => {}
        }
    }

    fn handle_input(&mut self, mode: InputMode, action: &Action, fx: &mut Effects<Message>) {
        match action {
            Action::Submit => match mode {
                InputMode::Filter => {
                    self.input = None;
                    self.fit_list();
                }
                InputMode::Pattern => self.apply_pattern(fx),
            },
            Action::Cancel => match mode {
                InputMode::Filter => {
                    self.input = None;
                    self.filter.clear();
                    self.refresh_rows();
                }
                InputMode::Pattern => self.close_pattern(),
            },
            edit => {
                let input = match mode {
                    InputMode::Filter => &mut self.filter,
                    InputMode::Pattern => &mut self.pattern,
                };
                if input.edit(edit) {
                    match mode {
                        InputMode::Filter => self.refresh_rows(),
                        InputMode::Pattern => self.pattern_changed(fx),
                    }
                }
            }
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
            if layout::contains(list, column, row)
                && let Load::Ready(m) = &self.load
            {
                let target = m.list.row_at((row - list.y) as usize);
                self.select_row(target);
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
}

impl Default for InventoryView {
    fn default() -> Self {
        Self::new()
    }
}

impl Update for InventoryView {
    type Message = Message;

    fn handle(&mut self, action: &Action, fx: &mut Effects<Message>) {
        if !matches!(self.load, Load::Ready(_)) {
            return;
        }
        if let Some(mode) = self.input {
            return self.handle_input(mode, action, fx);
        }
        let detail = self.focus == Focus::Detail;
        match action {
            Action::Up if detail => self.scroll_detail(-1),
            Action::Down if detail => self.scroll_detail(1),
            Action::PageUp if detail => self.scroll_detail(-(self.page() as isize)),
            Action::PageDown if detail => self.scroll_detail(self.page() as isize),
            Action::Top if detail => self.scroll_detail(isize::MIN / 2),
            Action::Bottom if detail => self.scroll_detail(isize::MAX / 2),
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => self.move_cursor(action),
            Action::Expand | Action::Collapse | Action::ToggleExpand => self.fold(action),
            Action::ExpandAll => self.set_all_expanded(true),
            Action::CollapseAll => self.set_all_expanded(false),
            Action::ToggleSelect => self.toggle_select(),
            Action::SelectAll => self.select_shown(fx),
            Action::ClearSelection => self.clear_selection(fx),
            Action::Filter => {
                self.focus = Focus::Tree;
                self.input = Some(InputMode::Filter);
                self.fit_list();
            }
            Action::Pattern => {
                self.focus = Focus::Tree;
                self.input = Some(InputMode::Pattern);
                // Reopened on the last pattern: typing replaces it.
                self.pattern.select_all();
                self.pattern_changed(fx);
            }
            Action::ToggleDetail | Action::FocusNext => {
                self.focus = match self.focus {
                    Focus::Tree => Focus::Detail,
                    Focus::Detail => Focus::Tree,
                };
                self.fit_list();
            }
            Action::Cancel => {
                if detail {
                    self.focus = Focus::Tree;
                    self.fit_list();
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                    self.refresh_rows();
                }
            }
            Action::ScrollUp { column, row } | Action::ScrollDown { column, row } => {
                let down = matches!(action, Action::ScrollDown { .. });
                if self.in_detail(*column, *row) {
                    let by = WHEEL_ROWS as isize;
                    self.scroll_detail(if down { by } else { -by });
                } else {
                    self.move_cursor(action);
                }
            }
            Action::Click { column, row } => self.click(*column, *row),
            _ => {}
        }
    }

    fn on_message(&mut self, message: Message, _fx: &mut Effects<Message>) {
        match message {
            Message::PatternEvaluated { generation, result } => {
                self.pattern_evaluated(generation, result)
            }
        }
    }
}

impl View for InventoryView {
    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let block = |title: &str| panel(&format!(" {title} "), true, theme);
        let m = match &self.load {
            Load::Loading(sources) => {
                let text = format!("Loading the inventory from {sources}…");
                frame.render_widget(
                    Note::muted(text).paragraph(theme).block(block("Inventory")),
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
        self.fit_list();
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

    fn help_sections(&self) -> Vec<(&'static str, KeyContext)> {
        vec![
            ("Inventory", KeyContext::Inventory),
            ("Filter and pattern boxes", KeyContext::Input),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sample() -> InventoryView {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
        let inv = Inventory::load(&[root.to_string_lossy().into_owned()]).unwrap();
        let mut view = InventoryView::new();
        view.set_area(Rect::new(0, 1, 80, 21));
        view.set_inventory(Arc::new(inv), PathBuf::from("."));
        view
    }

    fn act(view: &mut InventoryView, action: Action) {
        view.handle(&action, &mut Effects::new());
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
    fn filter_shows_matches_their_groups_and_whole_matching_groups() {
        let mut view = sample();
        act(&mut view, Action::Filter);
        for c in "wrk".chars() {
            act(&mut view, Action::InsertChar(c));
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
        act(&mut view, Action::ClearInput);
        for c in "nginx-02".chars() {
            act(&mut view, Action::InsertChar(c));
        }
        assert_eq!(
            view.visible_labels(),
            ["blog", "blog_c1", "blog_nginx", "blog-nginx-02"]
        );
        act(&mut view, Action::Cancel);
        assert_eq!(view.visible_labels().len(), 13);
    }

    #[test]
    fn selecting_all_says_how_many() {
        let mut view = sample();
        let mut fx = Effects::new();
        view.handle(&Action::SelectAll, &mut fx);
        assert_eq!(view.selected_count(), 18);
        assert_eq!(fx.statuses()[0].1, "18 of 18 hosts selected");
    }

    #[test]
    fn the_pattern_box_asks_for_work_and_takes_only_its_latest_answer() {
        let mut view = sample();
        act(&mut view, Action::Pattern);
        let mut fx = Effects::new();
        view.handle(&Action::InsertChar('x'), &mut fx);
        assert!(!fx.is_empty(), "the pattern is evaluated off the UI task");
        view.on_message(
            Message::PatternEvaluated {
                generation: 1,
                result: Ok(vec![1]),
            },
            &mut Effects::new(),
        );
        assert_eq!(view.pattern_count(), None, "a stale answer is dropped");
        view.on_message(
            Message::PatternEvaluated {
                generation: 2,
                result: Ok(vec![1, 2]),
            },
            &mut Effects::new(),
        );
        assert_eq!(view.pattern_count(), Some(Ok(2)));
    }
}
