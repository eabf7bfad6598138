//! The live Run view: hosts grouped by batch with their state and elapsed
//! time, the selected host's output streaming (stderr in its own colour),
//! 2–4 hosts side by side, a gathered view that folds hosts with the same
//! output and outcome into one block, progress per batch and overall with
//! an ETA and the countdown of a batch interval.
//!
//! The view reads a `RunStore` that a background task fills; it keeps only
//! where the operator is looking (cursor, pane, scroll, search). Leaving
//! the view does not touch the run. Controls (pause, confirm, abort...)
//! are the app's business: it holds the run's handle.
//!
//! - `run_list`: the row of the console's runs, to switch between them.
//! - `pane`: the output pane's position, older lines read back.
//! - `search`: `/ ? n N` over the whole output of a host.
//! - `all_hosts`: `ctrl-f`, the hosts whose output matches, with counts.
//! - `save`: the text of the output and host-list files.
//! - `compare`: the gathered view's groups of alike output and diffs.
//! - `draw`, `draw_all_hosts`, `draw_gathered`, `output_line`: drawing; a
//!   row of output.

mod all_hosts;
mod compare;
mod draw;
mod draw_all_hosts;
mod draw_gathered;
mod gates;
mod output_line;
mod pane;
mod run_list;
mod save;
mod search;

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Hint, Update, View};
use crate::engine::events::{HostIndex, UnixMillis, now_millis};
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::key_names::KeyNames;
use crate::tui::keymap::KeyContext;
use crate::tui::layout;
use crate::tui::run_store::{DroppedMatches, OlderLines, RunStore, SharedRunStore};
use crate::tui::tasks;
pub use crate::tui::tasks::gather::{AlikeGroup, Compared};
use crate::tui::theme::Theme;
use crate::tui::widgets::panel::panel;
use all_hosts::AllHosts;
pub use all_hosts::HostMatches;
use compare::Gathering;
use pane::Older;
pub use run_list::waits_for_operator;
pub use search::Direction;
use search::Search;

/// What the view's work reports.
#[derive(Debug)]
pub enum Message {
    /// Lines read back from the journal.
    Older(OlderLines),
    /// The gathered view's comparison.
    Gathered(Box<tasks::gather::Gathered>),
    /// A search's matches among the lines the store dropped.
    Matches(DroppedMatches),
    /// The same, for every host the search over all hosts asked about.
    AllMatches(Vec<DroppedMatches>),
    /// A file written (what to say), or why it was not.
    Saved(Result<String, String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Hosts,
    Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputLayout {
    /// The host under the cursor.
    Single,
    /// 2–4 hosts side by side: pinned ones first, then from the cursor on.
    Split(usize),
    /// Hosts with the same output and outcome as one block each.
    Gathered,
}

pub struct RunView {
    store: Option<SharedRunStore>,
    /// Position in the store's host order.
    cursor: usize,
    focus: Pane,
    layout: OutputLayout,
    pinned: Vec<HostIndex>,
    follow: bool,
    /// The absolute line at the top of the output pane when not following.
    top_line: u64,
    gather_scroll: usize,
    /// The first column of output shown (long lines scroll sideways).
    column: usize,
    /// Long lines wrap instead (the column is then not used).
    wrap: bool,
    search: Search,
    /// The search over every host (`ctrl-f`) and its list.
    all: AllHosts,
    /// The gathered view's comparison.
    gathering: Gathering,
    area: Rect,
    /// Replaces the clock (tests).
    fixed_now: Option<UnixMillis>,
    /// The journal the shown run is recorded in: lines the store dropped
    /// are read back from it when the operator scrolls up to them.
    journal: Option<PathBuf>,
    older: Older,
    /// Where saved files go; `None`: the current directory.
    output_dir: Option<PathBuf>,
    /// Replay mode: a past run played back; live controls are off.
    replay: Option<ReplayBar>,
    /// Lines under the header for the run's gates (guard, pre-flight).
    gate_rows: u16,
    /// The keys texts name ("— c confirms it").
    keys: KeyNames,
    /// The console's runs, for the list row (empty in a replay).
    runs: run_list::RunTabs,
}

/// The timeline of a replayed run, drawn under the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayBar {
    pub playing: bool,
    pub speed: i64,
    /// Milliseconds into the (gap-shortened) timeline, and its length.
    pub position: i64,
    pub duration: i64,
    /// The run's own clock at the playhead, for elapsed times.
    pub now: UnixMillis,
}

impl Default for RunView {
    fn default() -> Self {
        RunView::new()
    }
}

/// Most hosts shown side by side.
const MAX_SPLIT: usize = 4;
/// Width of the host list.
const HOST_LIST_WIDTH: u16 = 34;
const WHEEL_LINES: u64 = 3;
/// Columns one sideways scroll moves, and the furthest it goes (a line is
/// at most a few KiB: see the store's line limit).
const SIDE_STEP: usize = 8;
const MAX_COLUMN: usize = 64 * 1024;

impl RunView {
    pub fn new() -> RunView {
        RunView {
            store: None,
            cursor: 0,
            focus: Pane::Hosts,
            layout: OutputLayout::Single,
            pinned: Vec::new(),
            follow: true,
            top_line: 0,
            gather_scroll: 0,
            column: 0,
            wrap: false,
            search: Search::default(),
            all: AllHosts::default(),
            gathering: Gathering::default(),
            area: Rect::default(),
            fixed_now: None,
            journal: None,
            older: Older::default(),
            output_dir: None,
            replay: None,
            gate_rows: 0,
            keys: KeyNames::default(),
            runs: run_list::RunTabs::default(),
        }
    }

    /// The keymap texts take key names from.
    pub fn set_key_names(&mut self, keys: KeyNames) {
        self.keys = keys;
    }

    /// The keys texts about this run name (its dialogs' too).
    pub fn key_names(&self) -> &KeyNames {
        &self.keys
    }

    /// Replay mode (a past run) with its timeline, or live mode (`None`).
    pub fn set_replay(&mut self, bar: Option<ReplayBar>) {
        self.replay = bar;
    }

    pub fn replay_bar(&self) -> Option<ReplayBar> {
        self.replay
    }

    /// The store was rebuilt in place (a replay seeked back): lines read
    /// back for the old contents are dropped, the cursor stays.
    pub fn store_rebuilt(&mut self) {
        self.older.clear();
        self.search.forget_read();
        self.all.forget();
        self.gathering.forget();
        if let Some(store) = &self.store {
            let count = RunStore::lock(store).hosts.len();
            self.cursor = self.cursor.min(count.saturating_sub(1));
        }
    }

    /// The journal runs shown here are recorded in.
    pub fn set_journal(&mut self, journal: PathBuf) {
        self.journal = Some(journal);
    }

    /// Where saved output and host lists go instead of the current directory.
    pub fn set_output_dir(&mut self, dir: PathBuf) {
        self.output_dir = Some(dir);
    }

    /// The absolute line at the top of the primary output pane.
    pub fn top_line(&self) -> u64 {
        self.top_line
    }

    /// A read of older lines is in flight.
    pub fn loading_older(&self) -> bool {
        self.older.pending.is_some()
    }

    /// Why older lines could not be read, if they could not.
    pub fn older_problem(&self) -> Option<&str> {
        self.older.problem.as_ref().map(|(_, p)| p.as_str())
    }

    /// Shows another run (a new one started, or one opened from history).
    pub fn set_store(&mut self, store: SharedRunStore) {
        self.store = Some(store);
        self.cursor = 0;
        self.pinned.clear();
        self.follow = true;
        self.gather_scroll = 0;
        self.older.clear();
        self.search.forget_read();
        self.all.forget();
        self.gathering.forget();
        self.refresh_gate_rows();
    }

    /// Shows no run (the only one listed never ran).
    pub fn clear_store(&mut self) {
        self.store = None;
        self.cursor = 0;
        self.pinned.clear();
        self.older.clear();
        self.search.forget_read();
        self.all.forget();
        self.gathering.forget();
        self.refresh_gate_rows();
    }

    pub fn store(&self) -> Option<&SharedRunStore> {
        self.store.as_ref()
    }

    /// Brings what is worked out from the store up to date (the counts of
    /// the search over every host, the gathered view's comparison); time
    /// passing calls it. True when something shown changed.
    pub fn refresh_from_store(&mut self, fx: &mut Effects<Message>) -> bool {
        self.refresh_gathering(fx);
        self.refresh_all_hosts(fx)
    }

    /// The store's revision, so the app redraws when events arrive.
    pub fn revision(&self) -> Option<u64> {
        self.store.as_ref().map(|s| RunStore::lock(s).revision)
    }

    pub fn set_fixed_now(&mut self, now: UnixMillis) {
        self.fixed_now = Some(now);
    }

    pub(super) fn now(&self) -> UnixMillis {
        match (self.replay, self.fixed_now) {
            (Some(bar), _) => bar.now,
            (None, Some(now)) => now,
            (None, None) => now_millis(),
        }
    }

    pub fn layout(&self) -> OutputLayout {
        self.layout
    }

    pub fn focus(&self) -> Pane {
        self.focus
    }

    pub fn following(&self) -> bool {
        self.follow
    }

    fn wrap_hint(&self) -> &'static str {
        if self.wrap { "no wrap" } else { "wrap" }
    }

    /// Long lines wrap (else the pane scrolls sideways).
    pub fn wrapping(&self) -> bool {
        self.wrap
    }

    pub fn search_term(&self) -> &str {
        &self.search.term
    }

    /// The match last jumped to: host and absolute line.
    pub fn search_match(&self) -> Option<(HostIndex, u64)> {
        self.search.current
    }

    /// A search of the journal (the lines the store dropped) is under way.
    pub fn searching_journal(&self) -> bool {
        self.search.searching_journal()
    }

    /// The host under the cursor.
    pub fn cursor_host(&self) -> Option<HostIndex> {
        let store = RunStore::lock(self.store.as_ref()?);
        store.host_order().get(self.cursor).copied()
    }

    /// The name of the host under the cursor.
    pub fn cursor_host_name(&self) -> Option<String> {
        let store = RunStore::lock(self.store.as_ref()?);
        let host = *store.host_order().get(self.cursor)?;
        store.hosts.get(host).map(|h| h.name.clone())
    }

    /// The hosts a command box runs on: the pinned ones, else the host
    /// under the cursor.
    pub fn selected_host_names(&self) -> Vec<String> {
        let Some(store) = &self.store else {
            return Vec::new();
        };
        if self.pinned.is_empty() {
            return self.cursor_host_name().into_iter().collect();
        }
        let store = RunStore::lock(store);
        self.pinned
            .iter()
            .filter_map(|&h| store.hosts.get(h).map(|host| host.name.clone()))
            .collect()
    }

    /// Moves the cursor to a host by name.
    pub fn select_host(&mut self, name: &str) -> bool {
        let Some(store) = &self.store else {
            return false;
        };
        let position = {
            let store = RunStore::lock(store);
            store
                .host_order()
                .iter()
                .position(|&h| store.hosts[h].name == name)
        };
        match position {
            Some(p) => {
                if p != self.cursor {
                    self.older.clear();
                }
                self.cursor = p;
                self.follow = true;
                true
            }
            None => false,
        }
    }

    pub(super) fn body_parts(&self) -> (Rect, Rect, Rect) {
        let below_list = self.runs.rows().min(self.area.height);
        let area = Rect {
            y: self.area.y + below_list,
            height: self.area.height - below_list,
            ..self.area
        };
        // A replay's timeline is a fourth header line.
        let rows = (if self.replay.is_some() { 4 } else { 3 }) + self.gate_rows;
        let header = Rect::new(area.x, area.y, area.width, rows.min(area.height));
        let rest = Rect::new(
            area.x,
            area.y + header.height,
            area.width,
            area.height.saturating_sub(header.height),
        );
        let list_width = if area.width >= layout::WIDE {
            HOST_LIST_WIDTH + 6
        } else {
            HOST_LIST_WIDTH.min(area.width / 2)
        };
        let hosts = Rect::new(rest.x, rest.y, list_width, rest.height);
        let output = Rect::new(
            rest.x + list_width,
            rest.y,
            rest.width.saturating_sub(list_width),
            rest.height,
        );
        (header, hosts, output)
    }

    /// Rows of output the primary pane shows.
    pub fn output_height(&self) -> u64 {
        let (_, _, output) = self.body_parts();
        u64::from(output.height.saturating_sub(2)).max(1)
    }

    fn list_height(&self) -> usize {
        let (_, hosts, _) = self.body_parts();
        hosts.height.saturating_sub(2).max(1) as usize
    }

    fn move_cursor(&mut self, to: usize) {
        let Some(store) = &self.store else { return };
        let count = RunStore::lock(store).hosts.len();
        let to = to.min(count.saturating_sub(1));
        if to != self.cursor {
            self.cursor = to;
            self.follow = true;
            self.older.clear();
        }
    }
}

impl RunView {
    /// Saves a file the operator asked for, off the UI task.
    fn save(&self, file: Option<(PathBuf, String)>, fx: &mut Effects<Message>) {
        let Some((name, contents)) = file else {
            return;
        };
        let path = match &self.output_dir {
            Some(dir) => dir.join(name),
            None => name,
        };
        let journal = self.journal.clone();
        fx.work(move || {
            Message::Saved(tasks::files::save_text(
                &path,
                &contents,
                journal.as_deref(),
            ))
        });
    }
}

impl Update for RunView {
    type Message = Message;

    fn handle(&mut self, action: &Action, fx: &mut Effects<Message>) {
        if self.search.input.is_some() {
            self.search_box_key(action, fx);
            return;
        }
        if self.all.input.is_some() {
            self.all_hosts_box_key(action, fx);
            return;
        }
        if self.all.listing && self.all_hosts_list_key(action, fx) {
            return;
        }
        let page = self.list_height().max(2) - 1;
        let out_page = self.output_height().max(2) as i64 - 1;
        match (action, self.focus) {
            (Action::FocusNext, _) => {
                self.focus = match self.focus {
                    Pane::Hosts => Pane::Output,
                    Pane::Output => Pane::Hosts,
                }
            }
            (Action::Down, Pane::Hosts) => self.move_cursor(self.cursor + 1),
            (Action::Up, Pane::Hosts) => self.move_cursor(self.cursor.saturating_sub(1)),
            (Action::PageDown, Pane::Hosts) => self.move_cursor(self.cursor + page),
            (Action::PageUp, Pane::Hosts) => self.move_cursor(self.cursor.saturating_sub(page)),
            (Action::Top, Pane::Hosts) => self.move_cursor(0),
            (Action::Bottom, Pane::Hosts) => self.move_cursor(usize::MAX),
            (Action::Down, Pane::Output) => self.scroll_output(1, fx),
            (Action::Up, Pane::Output) => self.scroll_output(-1, fx),
            (Action::PageDown, Pane::Output) => self.scroll_output(out_page, fx),
            (Action::PageUp, Pane::Output) => self.scroll_output(-out_page, fx),
            (Action::Top, Pane::Output) => {
                self.gather_scroll = 0;
                self.scroll_output(i64::MIN / 2, fx);
            }
            (Action::Bottom, Pane::Output) => {
                self.follow = true;
                self.older.clear();
            }
            (Action::ToggleFollow, _) => {
                self.follow = !self.follow;
                if self.follow {
                    self.older.clear();
                } else {
                    // Stay where the tail is now.
                    self.scroll_output(0, fx);
                    self.follow = false;
                }
            }
            (Action::ScrollRight, _) => {
                self.column = (self.column + SIDE_STEP).min(MAX_COLUMN);
            }
            (Action::ScrollLeft, _) => self.column = self.column.saturating_sub(SIDE_STEP),
            (Action::ToggleWrap, _) => self.wrap = !self.wrap,
            (Action::ToggleGather, _) => {
                self.layout = if self.layout == OutputLayout::Gathered {
                    OutputLayout::Single
                } else {
                    OutputLayout::Gathered
                };
                self.gather_scroll = 0;
                self.refresh_gathering(fx);
            }
            (Action::GatherDiff, _) => {
                self.gathering.diff = !self.gathering.diff || self.layout != OutputLayout::Gathered;
                self.layout = OutputLayout::Gathered;
                self.refresh_gathering(fx);
            }
            (Action::GatherNormalize, _) => self.cycle_normalize(fx),
            (Action::CycleSplit, _) => {
                self.layout = match self.layout {
                    OutputLayout::Single | OutputLayout::Gathered => OutputLayout::Split(2),
                    OutputLayout::Split(n) if n < MAX_SPLIT => OutputLayout::Split(n + 1),
                    OutputLayout::Split(_) => OutputLayout::Single,
                };
            }
            (Action::TogglePin, _) => {
                if let Some(h) = self.cursor_host() {
                    if let Some(i) = self.pinned.iter().position(|&p| p == h) {
                        self.pinned.remove(i);
                    } else {
                        if self.pinned.len() == MAX_SPLIT {
                            self.pinned.remove(0);
                        }
                        self.pinned.push(h);
                        if self.layout == OutputLayout::Single {
                            self.layout = OutputLayout::Split(2);
                        }
                    }
                }
            }
            (Action::Search, _) => self.open_search(Direction::Forward),
            (Action::SearchBackward, _) => self.open_search(Direction::Backward),
            (Action::SearchNext, _) => self.search_again(true, fx),
            (Action::SearchPrev, _) => self.search_again(false, fx),
            (Action::SearchAll, _) => self.open_all_hosts(),
            (Action::SaveOutput, _) => self.save(self.output_file(), fx),
            (Action::SaveHosts, _) => self.save(self.hosts_file(), fx),
            (Action::Cancel, _) if !self.search.term.is_empty() => self.search.term.clear(),
            (Action::Cancel, Pane::Output) => self.focus = Pane::Hosts,
            (Action::ScrollDown { column, row }, _) | (Action::ScrollUp { column, row }, _) => {
                let down = matches!(action, Action::ScrollDown { .. });
                let (_, hosts, output) = self.body_parts();
                if layout::contains(output, *column, *row) {
                    let delta = WHEEL_LINES as i64;
                    self.scroll_output(if down { delta } else { -delta }, fx);
                } else if layout::contains(hosts, *column, *row) {
                    let to = if down {
                        self.cursor + 3
                    } else {
                        self.cursor.saturating_sub(3)
                    };
                    self.move_cursor(to);
                }
            }
            (Action::Click { column, row }, _) => {
                let (_, hosts, output) = self.body_parts();
                if layout::contains(output, *column, *row) {
                    self.focus = Pane::Output;
                } else if layout::contains(hosts, *column, *row) {
                    self.focus = Pane::Hosts;
                }
            }
            _ => {}
        }
    }

    fn on_message(&mut self, message: Message, fx: &mut Effects<Message>) {
        match message {
            Message::Older(read) => self.older_read(read),
            Message::Gathered(answer) => {
                self.gathered(*answer);
            }
            Message::Matches(read) => self.dropped_matches_read(read, fx),
            Message::AllMatches(reads) => self.all_matches_read(reads),
            Message::Saved(Ok(said)) => fx.info(said),
            Message::Saved(Err(said)) => fx.error(said),
        }
    }
}

impl View for RunView {
    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let Some(store) = &self.store else {
            let lines = vec![
                Line::from(Span::styled(" No run yet.", theme.title())),
                Line::default(),
                Line::from(Span::styled(
                    " Select hosts in the Inventory (1), plan a rollout in the Planner (3), start it: it shows here.",
                    theme.muted(),
                )),
            ];
            frame.render_widget(
                Paragraph::new(lines)
                    .block(panel(" Run ", false, theme))
                    .wrap(ratatui::widgets::Wrap { trim: false }),
                area,
            );
            return;
        };
        if self.runs.rows() > 0 {
            // Before the shown store is locked: the list locks each run's.
            let row = Rect::new(self.area.x, self.area.y, self.area.width, 1);
            self.draw_run_list(frame, row.intersection(area), theme);
        }
        let store = RunStore::lock(store);
        let (header, hosts, output) = self.body_parts();
        self.draw_header(frame, header, theme, &store);
        self.draw_hosts(frame, hosts, theme, &store);
        self.draw_output(frame, output, theme, &store);
    }

    fn set_area(&mut self, area: Rect) {
        self.area = area;
    }

    fn key_contexts(&self) -> Vec<KeyContext> {
        if self.search.input.is_some() || self.all.input.is_some() {
            vec![KeyContext::Input]
        } else {
            vec![KeyContext::Run]
        }
    }

    fn captures_text(&self) -> bool {
        self.search.input.is_some() || self.all.input.is_some()
    }

    fn hints(&self) -> Vec<Hint> {
        if self.search.input.is_some() {
            return vec![
                Hint::new(Action::Submit, "search"),
                Hint::new(Action::Cancel, "cancel"),
            ];
        }
        if self.all.input.is_some() {
            return vec![
                Hint::new(Action::Submit, "search all hosts"),
                Hint::new(Action::Cancel, "cancel"),
            ];
        }
        if self.all.listing {
            return vec![
                Hint::new(Action::Submit, "jump to host"),
                Hint::pair(Action::Down, Action::Up, "move"),
                Hint::pair(Action::SearchNext, Action::SearchPrev, "next/prev match"),
                Hint::new(Action::Cancel, "close"),
            ];
        }
        if self.replay.is_some() {
            return vec![
                Hint::new(Action::PlayPause, "play"),
                Hint::new(Action::CycleSpeed, "speed"),
                Hint::pair(Action::SeekBack, Action::SeekForward, "seek"),
                Hint::new(Action::ToggleGather, "gather"),
                Hint::pair(Action::Down, Action::Up, "move"),
                Hint::new(Action::Search, "search"),
                Hint::new(Action::FocusNext, "pane"),
                Hint::new(Action::CycleSplit, "split"),
                Hint::new(Action::ToggleWrap, self.wrap_hint()),
                Hint::new(Action::RerunFailed, "rerun failed"),
                Hint::new(Action::ResumeRun, "resume"),
                Hint::new(Action::SaveOutput, "save output"),
            ];
        }
        let Some(store) = &self.store else {
            return vec![Hint::new(
                Action::ShowView(crate::tui::action::ViewId::Planner),
                "planner",
            )];
        };
        let (finished, waiting, paused, failed) = {
            let s = RunStore::lock(store);
            (
                s.is_finished() || s.stream_ended,
                s.waiting.is_some() || s.approval.is_some(),
                s.paused,
                s.counts().failed > 0,
            )
        };
        // Only keys that do something now: an ended run takes no controls,
        // and R starts a new run of its failed hosts. The run's controls
        // and the gathered view come first: at 80 columns the footer ends
        // there (the help lists every key).
        let mut hints = Vec::new();
        if !finished {
            if waiting {
                hints.push(Hint::new(Action::Confirm, "confirm"));
            }
            hints.push(Hint::new(
                Action::TogglePause,
                if paused { "resume" } else { "pause" },
            ));
            hints.push(Hint::new(Action::AbortRun, "abort"));
            if failed {
                hints.push(Hint::new(Action::RerunFailed, "retry"));
            }
            hints.push(Hint::new(Action::SkipHost, "skip"));
        } else if failed {
            hints.push(Hint::new(Action::RerunFailed, "rerun failed"));
        }
        hints.push(Hint::new(Action::ToggleGather, "gather"));
        if self.runs.rows() > 0 {
            hints.push(Hint::pair(Action::PrevRun, Action::NextRun, "runs"));
        }
        hints.extend([
            Hint::pair(Action::Down, Action::Up, "move"),
            Hint::new(Action::Shell, "shell"),
            Hint::new(Action::Search, "search"),
            Hint::new(Action::FocusNext, "pane"),
            Hint::new(Action::CycleSplit, "split"),
            Hint::new(Action::ToggleWrap, self.wrap_hint()),
            Hint::new(Action::ToggleFollow, "follow"),
            Hint::new(Action::SaveOutput, "save output"),
        ]);
        hints
    }

    fn help_sections(&self) -> Vec<(&'static str, KeyContext)> {
        vec![
            ("Run", KeyContext::Run),
            ("Search box", KeyContext::Input),
            ("Questions", KeyContext::Dialog),
        ]
    }
}
