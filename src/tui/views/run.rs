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

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::background::Background;
use super::{Hint, View};
use crate::engine::events::{
    HostIndex, HostStatus, InstanceStatus, Stream, UnixMillis, WaitReason, now_millis,
};
use crate::hostlist;
use crate::tui::action::Action;
use crate::tui::input::TextInput;
use crate::tui::keymap::KeyContext;
use crate::tui::layout;
use crate::tui::run_store::{
    Counts, HostRecord, LineKind, OLDER_WINDOW_LINES, OlderLines, OlderRequest, OutputLine,
    RunStore, SharedRunStore, read_older,
};
use crate::tui::theme::Theme;

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
    host_scroll: usize,
    focus: Pane,
    layout: OutputLayout,
    pinned: Vec<HostIndex>,
    follow: bool,
    /// The absolute line at the top of the output pane when not following.
    top_line: u64,
    gather_scroll: usize,
    /// The search box, while it has the keyboard.
    search: Option<TextInput>,
    term: String,
    area: Rect,
    /// Replaces the clock (tests).
    fixed_now: Option<UnixMillis>,
    /// The journal the shown run is recorded in: lines the store dropped
    /// are read back from it when the operator scrolls up to them.
    journal: Option<PathBuf>,
    background: Background,
    older: Older,
    /// Where read-back lines are reported (the History view's replay has its own route).
    older_route: fn(OlderLines) -> crate::tui::app::AppMessage,
    /// Replay mode: a past run played back; live controls are off.
    replay: Option<ReplayBar>,
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

/// Lines read back from the journal for the host in focus: one window at a
/// time, dropped when the cursor or the position moves away.
#[derive(Debug, Default)]
struct Older {
    /// The window: the host, its first absolute line, the lines.
    window: Option<(HostIndex, u64, Vec<OutputLine>)>,
    /// The read in flight: its generation, host and lines.
    pending: Option<(u64, HostIndex, std::ops::Range<u64>)>,
    /// Why the last read for a host failed; not asked again until the
    /// cursor moves.
    problem: Option<(HostIndex, String)>,
    generation: u64,
}

impl Older {
    fn clear(&mut self) {
        self.window = None;
        self.pending = None;
        self.problem = None;
        self.generation += 1;
    }

    /// A line of the window, if it holds it.
    fn line(&self, host: HostIndex, line: u64) -> Option<&OutputLine> {
        let (h, first, lines) = self.window.as_ref()?;
        if *h != host || line < *first {
            return None;
        }
        lines.get((line - first) as usize)
    }
}

/// What the output pane shows in one row.
enum Row<'a> {
    Line(LineKind, std::borrow::Cow<'a, str>),
    /// Above the first line, once the output is read back from the journal.
    StartOfOutput,
    Loading,
    Unavailable(&'a str),
    Blank,
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

impl RunView {
    pub fn new() -> RunView {
        RunView {
            store: None,
            cursor: 0,
            host_scroll: 0,
            focus: Pane::Hosts,
            layout: OutputLayout::Single,
            pinned: Vec::new(),
            follow: true,
            top_line: 0,
            gather_scroll: 0,
            search: None,
            term: String::new(),
            area: Rect::default(),
            fixed_now: None,
            journal: None,
            background: Background::default(),
            older: Older::default(),
            older_route: crate::tui::app::AppMessage::RunOlder,
            replay: None,
        }
    }

    /// Replay mode (a past run) with its timeline, or live mode (`None`).
    pub fn set_replay(&mut self, bar: Option<ReplayBar>) {
        self.replay = bar;
    }

    pub fn replay_bar(&self) -> Option<ReplayBar> {
        self.replay
    }

    /// Where journal reads of older lines report.
    pub fn set_older_route(&mut self, route: fn(OlderLines) -> crate::tui::app::AppMessage) {
        self.older_route = route;
    }

    /// The store was rebuilt in place (a replay seeked back): lines read
    /// back for the old contents are dropped, the cursor stays.
    pub fn store_rebuilt(&mut self) {
        self.older.clear();
        if let Some(store) = &self.store {
            let count = RunStore::lock(store).hosts.len();
            self.cursor = self.cursor.min(count.saturating_sub(1));
        }
    }

    /// The journal runs shown here are recorded in.
    pub fn set_journal(&mut self, journal: PathBuf) {
        self.journal = Some(journal);
    }

    /// Where journal reads report (without one they run inline: tests).
    pub fn set_background(&mut self, background: Background) {
        self.background = background;
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

    /// Lines `from..to` of the host under the cursor as the output pane
    /// shows them: read back from the journal below the buffer, then the
    /// buffer. `None` where a line is not at hand (not read yet).
    pub fn output_lines(&self, from: u64, to: u64) -> Vec<Option<(LineKind, String)>> {
        let Some(h) = self.cursor_host() else {
            return Vec::new();
        };
        let Some(store) = &self.store else {
            return Vec::new();
        };
        let store = RunStore::lock(store);
        let host = &store.hosts[h];
        let (_, end) = line_span(host);
        (from..to.min(end))
            .map(|i| match self.row(host, h, i) {
                Row::Line(kind, text) => Some((kind, text.into_owned())),
                _ => None,
            })
            .collect()
    }

    /// Older lines can be read back for this host: the store dropped some
    /// and the run's journal is known.
    fn reads_older(&self, store: &RunStore, host: &HostRecord) -> bool {
        self.journal.is_some() && store.instance > 0 && host.first_line() > 0
    }

    /// The lowest line the pane may scroll to.
    fn lowest_line(&self, store: &RunStore, host: &HostRecord) -> u64 {
        if self.reads_older(store, host) {
            0
        } else {
            host.first_line()
        }
    }

    /// One absolute line of a host: from the buffer, the window read back
    /// from the journal, or a note saying why it is not there.
    fn row<'a>(&'a self, host: &'a HostRecord, h: HostIndex, i: u64) -> Row<'a> {
        let first = host.first_line();
        if i < first {
            return match self.older.line(h, i) {
                Some(line) => Row::Line(line.kind, std::borrow::Cow::Borrowed(&line.text)),
                None => match &self.older.problem {
                    Some((ph, problem)) if *ph == h => Row::Unavailable(problem),
                    _ => Row::Loading,
                },
            };
        }
        let index = i - first;
        let buffered = host.lines().len() as u64;
        if index < buffered {
            let line = &host.lines()[index as usize];
            return Row::Line(line.kind, std::borrow::Cow::Borrowed(&line.text));
        }
        // The unfinished lines (no newline yet) come last.
        let stream = if index == buffered && !host.partial(Stream::Stdout).is_empty() {
            Stream::Stdout
        } else {
            Stream::Stderr
        };
        let kind = if stream == Stream::Stdout {
            LineKind::Stdout
        } else {
            LineKind::Stderr
        };
        Row::Line(
            kind,
            std::borrow::Cow::Owned(crate::report::sanitize::clean_text(host.partial(stream))),
        )
    }

    /// Asks the journal for the lines the pane shows that the store
    /// dropped, unless the window has them or a read for them is under way.
    /// The app calls it every tick too: a live run keeps dropping lines
    /// under a pane that stays put.
    pub fn request_older(&mut self) -> bool {
        if self.follow || self.layout == OutputLayout::Gathered {
            return false;
        }
        let (Some(h), Some(journal)) = (self.cursor_host(), self.journal.clone()) else {
            return false;
        };
        let Some(store) = self.store.clone() else {
            return false;
        };
        let request = {
            let store = RunStore::lock(&store);
            let host = &store.hosts[h];
            if !self.reads_older(&store, host)
                || self.older.problem.as_ref().is_some_and(|(ph, _)| *ph == h)
            {
                return false;
            }
            let first = host.first_line();
            let height = self.output_height();
            let top = self.top_line;
            let shown = top..(top + height).min(first);
            if shown.is_empty() || shown.clone().all(|i| self.older.line(h, i).is_some()) {
                return false;
            }
            if let Some((_, ph, lines)) = &self.older.pending
                && *ph == h
                && lines.start <= shown.start
                && shown.end <= lines.end
            {
                return false;
            }
            // A window around the pane, as far as the dropped lines go.
            let end = (top + height / 2 + OLDER_WINDOW_LINES / 2)
                .max(top + height)
                .min(first);
            let start = end.saturating_sub(OLDER_WINDOW_LINES).min(top);
            self.older.generation += 1;
            OlderRequest::new(journal, &store, h, start..end, self.older.generation)
        };
        let Some(request) = request else {
            return false;
        };
        self.older.pending = Some((request.generation, h, request.lines.clone()));
        if let Some(read) = self
            .background
            .run(move || read_older(request), self.older_route)
        {
            self.older_read(read);
        }
        true
    }

    /// A journal read came back.
    pub fn older_read(&mut self, read: OlderLines) {
        let current = self
            .older
            .pending
            .as_ref()
            .is_some_and(|(generation, _, _)| *generation == read.generation);
        let same_run = self
            .store
            .as_ref()
            .is_some_and(|s| RunStore::lock(s).instance == read.instance);
        if !current || !same_run {
            return;
        }
        self.older.pending = None;
        match read.result {
            Ok((first, lines)) => self.older.window = Some((read.host, first, lines)),
            Err(problem) => self.older.problem = Some((read.host, problem)),
        }
    }

    /// Shows another run (a new one started, or one opened from history).
    pub fn set_store(&mut self, store: SharedRunStore) {
        self.store = Some(store);
        self.cursor = 0;
        self.host_scroll = 0;
        self.pinned.clear();
        self.follow = true;
        self.gather_scroll = 0;
        self.older.clear();
    }

    pub fn store(&self) -> Option<&SharedRunStore> {
        self.store.as_ref()
    }

    /// The store's revision, so the app redraws when events arrive.
    pub fn revision(&self) -> Option<u64> {
        self.store.as_ref().map(|s| RunStore::lock(s).revision)
    }

    pub fn set_fixed_now(&mut self, now: UnixMillis) {
        self.fixed_now = Some(now);
    }

    fn now(&self) -> UnixMillis {
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

    pub fn search_term(&self) -> &str {
        &self.term
    }

    /// The host under the cursor.
    pub fn cursor_host(&self) -> Option<HostIndex> {
        let store = RunStore::lock(self.store.as_ref()?);
        store.host_order().get(self.cursor).copied()
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

    fn body_parts(&self) -> (Rect, Rect, Rect) {
        let area = self.area;
        // A replay's timeline is a fourth header line.
        let rows = if self.replay.is_some() { 4 } else { 3 };
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

    /// Scrolls the output of the host under the cursor by `delta` lines.
    fn scroll_output(&mut self, delta: i64) {
        if self.layout == OutputLayout::Gathered {
            self.gather_scroll = (self.gather_scroll as i64 + delta).max(0) as usize;
            return;
        }
        let Some(h) = self.cursor_host() else { return };
        let Some(store) = self.store.clone() else {
            return;
        };
        {
            let store = RunStore::lock(&store);
            let host = &store.hosts[h];
            let height = self.output_height();
            let (first, end) = line_span(host);
            let lowest = self.lowest_line(&store, host);
            let bottom_top = end.saturating_sub(height).max(first);
            let top = if self.follow {
                bottom_top
            } else {
                self.top_line
            };
            let top = (top as i64)
                .saturating_add(delta)
                .clamp(lowest as i64, bottom_top as i64) as u64;
            self.follow = top >= bottom_top;
            self.top_line = top;
        }
        if self.follow {
            // Back at the tail: the lines read back are not needed now.
            self.older.clear();
        } else {
            self.request_older();
        }
    }

    fn jump_to_match(&mut self, forward: bool) -> Option<Action> {
        if self.term.is_empty() {
            return None;
        }
        let h = self.cursor_host()?;
        let store = RunStore::lock(self.store.as_ref()?);
        let host = &store.hosts[h];
        let height = self.output_height();
        let (first, end) = line_span(host);
        let bottom_top = end.saturating_sub(height).max(first);
        let top = if self.follow {
            bottom_top
        } else {
            self.top_line
        };
        // The line the search continues from: the middle of the pane.
        let from = top + height / 2;
        let needle = self.term.to_lowercase();
        let matches = |i: u64| {
            let Some(index) = i.checked_sub(first) else {
                return false;
            };
            let index = index as usize;
            host.lines()
                .get(index)
                .is_some_and(|l| l.text.to_lowercase().contains(&needle))
        };
        let found = if forward {
            (from + 1..end).find(|&i| matches(i))
        } else {
            (first..from.min(end)).rev().find(|&i| matches(i))
        };
        let name = host.name.clone();
        drop(store);
        match found {
            Some(line) => {
                self.top_line = line.saturating_sub(height / 2).max(first).min(bottom_top);
                self.follow = self.top_line >= bottom_top && bottom_top > first;
                if self.follow && !(self.top_line..self.top_line + height).contains(&line) {
                    self.follow = false;
                }
                None
            }
            None => Some(Action::Status(format!(
                "'{}' not found {} in {name}'s buffered output",
                self.term,
                if forward { "below" } else { "above" }
            ))),
        }
    }

    /// The text to save: the selected host's buffered output, or the gathered blocks.
    fn output_file(&self) -> Option<Action> {
        let store = RunStore::lock(self.store.as_ref()?);
        let id = store.instance;
        let (name, contents) = if self.layout == OutputLayout::Gathered {
            let mut text = String::new();
            for block in store.gathered() {
                let names =
                    hostlist::fold(block.hosts.iter().map(|&h| store.hosts[h].name.as_str()));
                text.push_str(&format!(
                    "---------------\n{names} ({}) {}{}\n---------------\n",
                    block.hosts.len(),
                    block.status,
                    block
                        .exit_code
                        .map(|c| format!(" exit {c}"))
                        .unwrap_or_default()
                ));
                push_lines(&mut text, &store.hosts[block.hosts[0]]);
            }
            ("gathered".to_string(), text)
        } else {
            let h = store.host_order().get(self.cursor).copied()?;
            let host = &store.hosts[h];
            let mut text = format!(
                "# jobdeck run {id}, host {}: lines {}-{} of {} (all of them: jobdeck show {id} --host {})\n",
                host.name,
                host.first_line() + 1,
                host.total_lines(),
                host.total_lines(),
                host.name
            );
            push_lines(&mut text, host);
            (safe_file_part(&host.name), text)
        };
        Some(Action::WriteFile {
            path: PathBuf::from(format!("jobdeck-run-{id}-{name}.log")),
            contents,
        })
    }

    fn hosts_file(&self) -> Option<Action> {
        let store = RunStore::lock(self.store.as_ref()?);
        let now = self.now();
        let mut text = String::new();
        for &h in store.host_order() {
            let host = &store.hosts[h];
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\n",
                host.name,
                host.status,
                host.batch.map(|b| (b + 1).to_string()).unwrap_or_default(),
                host.elapsed_ms(now).map(fmt_ms).unwrap_or_default()
            ));
        }
        Some(Action::WriteFile {
            path: PathBuf::from(format!("jobdeck-run-{}-hosts.txt", store.instance)),
            contents: text,
        })
    }

    /// Hosts shown side by side: pinned ones, then from the cursor on.
    fn split_hosts(&self, store: &RunStore, count: usize) -> Vec<HostIndex> {
        let order = store.host_order();
        let mut hosts: Vec<HostIndex> = self
            .pinned
            .iter()
            .copied()
            .filter(|&h| h < store.hosts.len())
            .take(count)
            .collect();
        for &h in order.iter().skip(self.cursor) {
            if hosts.len() >= count {
                break;
            }
            if !hosts.contains(&h) {
                hosts.push(h);
            }
        }
        hosts
    }

    fn draw_header(&self, frame: &mut Frame, area: Rect, theme: &Theme, store: &RunStore) {
        let now = self.now();
        let counts = store.counts();
        let (glyph, color) = instance_look(store.status, theme);
        let batch = match store.current_batch {
            Some(b) => format!(" · batch {}/{}", b + 1, store.batches.len()),
            None if store.batches.is_empty() => String::new(),
            None if store.batches.len() == 1 => " · 1 batch".to_string(),
            None => format!(" · {} batches", store.batches.len()),
        };
        let elapsed = store
            .started_at
            .map(|s| fmt_ms((store.finished_at.unwrap_or(now) - s).max(0)))
            .unwrap_or_default();
        let id = if store.instance > 0 {
            format!(" Run {}", store.instance)
        } else {
            " Run".to_string()
        };
        let title = Line::from(vec![
            Span::styled(id, theme.title()),
            Span::styled(format!(" · {}", store.flow), theme.text()),
            Span::styled(format!(" · {glyph} {}", store.status), theme.fg(color)),
            Span::styled(format!("{batch} · {elapsed}"), theme.muted()),
            Span::styled(
                format!(
                    "   {} {}  {} {}  {} {}  {} {}",
                    theme.glyphs.ok,
                    counts.ok,
                    theme.glyphs.failed,
                    counts.failed,
                    theme.glyphs.running,
                    counts.active,
                    theme.glyphs.pending,
                    counts.pending
                ),
                theme.muted(),
            ),
        ]);
        let bar_width = (area.width as usize / 3).clamp(10, 50);
        let mut gauge = vec![Span::styled(" Overall ", theme.muted())];
        gauge.extend(bar(&counts, bar_width, theme));
        gauge.push(Span::styled(
            format!(" {}/{}", counts.done(), counts.total),
            theme.text(),
        ));
        if let Some(eta) = store.eta_ms(now).filter(|_| counts.done() < counts.total) {
            gauge.push(Span::styled(
                format!(" · ETA {}", fmt_ms(eta)),
                theme.muted(),
            ));
        }
        if let Some(b) = store.current_batch
            && area.width >= 100
        {
            let bc = store.batch_counts(b);
            gauge.push(Span::styled(format!("   Batch {} ", b + 1), theme.muted()));
            gauge.extend(bar(&bc, bar_width / 2, theme));
            gauge.push(Span::styled(
                format!(" {}/{}", bc.done(), bc.total),
                theme.text(),
            ));
        }
        let state = self.state_line(store, theme, now);
        let mut lines = vec![title, Line::from(gauge), state];
        if let Some(bar) = self.replay {
            lines.push(replay_line(&bar, area.width as usize, theme));
        }
        frame.render_widget(Paragraph::new(lines), area);
    }

    /// What the run waits for, or how it ended.
    fn state_line(&self, store: &RunStore, theme: &Theme, now: UnixMillis) -> Line<'static> {
        let warn = theme.fg(theme.colors.warning);
        if self.replay.is_some() && !store.status.is_final() {
            return Line::from(Span::styled(
                " replay: live controls are off — F reruns failed hosts, R resumes",
                theme.muted(),
            ));
        }
        if let Some(approval) = &store.approval {
            return Line::from(Span::styled(
                format!(
                    " ⏸ batch {} waits for approval: {} — c approves",
                    approval.batch + 1,
                    crate::report::sanitize::one_line(&approval.message)
                ),
                warn,
            ));
        }
        if let Some(wait) = store.waiting {
            let text = match wait.reason {
                WaitReason::Interval => {
                    let left = wait.until.map(|u| (u - now).max(0)).unwrap_or(0);
                    format!(
                        " ⏳ batch {} starts in {} — c starts it now, p holds it",
                        wait.next_batch + 1,
                        fmt_clock(left)
                    )
                }
                WaitReason::Confirm => {
                    format!(" ⏸ batch {} is ready — c confirms it", wait.next_batch + 1)
                }
                WaitReason::Failure => format!(
                    " ⏸ paused: hosts failed — c goes on with batch {}, R retries failed, a aborts",
                    wait.next_batch + 1
                ),
                WaitReason::Lock => " ⏳ waiting for the run's lock".to_owned(),
            };
            return Line::from(Span::styled(text, warn));
        }
        if store.paused {
            return Line::from(Span::styled(
                " ⏸ paused: no new host starts (running ones finish) — p resumes",
                warn,
            ));
        }
        if store.status.is_final() {
            let (_, color) = instance_look(store.status, theme);
            let reason = store
                .reason
                .clone()
                .unwrap_or_else(|| "every host ok".into());
            return Line::from(Span::styled(
                format!(
                    " finished {}: {}",
                    store.status,
                    crate::report::sanitize::one_line(&reason)
                ),
                theme.fg(color),
            ));
        }
        if store.hosts.is_empty() {
            return Line::from(Span::styled(" preparing the run…", theme.muted()));
        }
        Line::from(Span::styled(
            " running — p pause · a abort · R retry failed · s skip host",
            theme.muted(),
        ))
    }

    fn draw_hosts(&self, frame: &mut Frame, area: Rect, theme: &Theme, store: &RunStore) {
        let now = self.now();
        let height = area.height.saturating_sub(2) as usize;
        // Rows: a header per batch, then its hosts.
        let mut rows: Vec<(Option<usize>, Option<HostIndex>)> = Vec::new();
        let mut cursor_row = 0;
        let mut position = 0;
        let order = store.host_order();
        let mut in_batches = 0;
        for (b, batch) in store.batches.iter().enumerate() {
            rows.push((Some(b), None));
            for &h in &batch.hosts {
                if position == self.cursor {
                    cursor_row = rows.len();
                }
                rows.push((None, Some(h)));
                position += 1;
            }
            in_batches += batch.hosts.len();
        }
        for &h in order.iter().skip(in_batches) {
            if position == self.cursor {
                cursor_row = rows.len();
            }
            rows.push((None, Some(h)));
            position += 1;
        }
        let scroll = scroll_for(cursor_row, self.host_scroll, height, rows.len());
        let width = area.width.saturating_sub(2) as usize;
        let lines: Vec<Line> = rows
            .iter()
            .skip(scroll)
            .take(height)
            .map(|row| match *row {
                (Some(b), _) => batch_row(store, b, width, theme),
                (_, Some(h)) => {
                    let is_cursor = cursor_row < rows.len() && rows[cursor_row].1 == Some(h);
                    host_row(
                        &store.hosts[h],
                        self.pinned.contains(&h),
                        is_cursor,
                        self.focus == Pane::Hosts,
                        now,
                        width,
                        theme,
                    )
                }
                _ => Line::default(),
            })
            .collect();
        let title = format!(" Hosts {} ", store.hosts.len());
        frame.render_widget(
            Paragraph::new(lines).block(panel(&title, self.focus == Pane::Hosts, theme)),
            area,
        );
    }

    fn draw_output(&self, frame: &mut Frame, area: Rect, theme: &Theme, store: &RunStore) {
        match self.layout {
            OutputLayout::Gathered => self.draw_gathered(frame, area, theme, store),
            OutputLayout::Single => {
                if let Some(&h) = store.host_order().get(self.cursor) {
                    self.draw_host_output(frame, area, theme, store, h, true);
                } else {
                    frame.render_widget(
                        Paragraph::new(Span::styled(" no hosts yet", theme.muted()))
                            .block(panel(" Output ", false, theme)),
                        area,
                    );
                }
            }
            OutputLayout::Split(n) => {
                let hosts = self.split_hosts(store, n.clamp(2, MAX_SPLIT));
                let count = hosts.len().max(1) as u16;
                let width = area.width / count;
                for (i, &h) in hosts.iter().enumerate() {
                    let x = area.x + width * i as u16;
                    let w = if i + 1 == hosts.len() {
                        area.right() - x
                    } else {
                        width
                    };
                    let primary = store.host_order().get(self.cursor) == Some(&h);
                    self.draw_host_output(
                        frame,
                        Rect::new(x, area.y, w, area.height),
                        theme,
                        store,
                        h,
                        primary,
                    );
                }
            }
        }
    }

    fn draw_host_output(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        store: &RunStore,
        h: HostIndex,
        primary: bool,
    ) {
        let now = self.now();
        let host = &store.hosts[h];
        let height = area.height.saturating_sub(2) as u64;
        let width = area.width.saturating_sub(2) as usize;
        let (first, end) = line_span(host);
        let bottom_top = end.saturating_sub(height).max(first);
        let top = if self.follow || !primary {
            bottom_top
        } else {
            self.top_line
                .clamp(self.lowest_line(store, host), bottom_top)
        };
        let mut lines: Vec<Line> = Vec::with_capacity(height as usize);
        let mut rows = top..(top + height).min(end);
        if top == 0 && first > 0 && primary && self.reads_older(store, host) {
            // The real start, so it is plain that nothing is above.
            rows.end = rows.end.min(top + height.saturating_sub(1));
            lines.push(marker_line(&Row::StartOfOutput, theme));
        }
        let mut in_gap = false;
        for i in rows {
            let row = self.row(host, h, i);
            match row {
                Row::Line(kind, text) => {
                    in_gap = false;
                    lines.push(output_line(kind, &text, &self.term, width, theme));
                }
                // One note per run of missing lines; the rest stay blank.
                _ if in_gap => lines.push(marker_line(&Row::Blank, theme)),
                other => {
                    in_gap = true;
                    lines.push(marker_line(&other, theme));
                }
            }
        }
        let (glyph, color) = status_look(host.status, theme);
        let mut title = vec![
            Span::styled(format!(" {} ", host.name), theme.title()),
            Span::styled(format!("{glyph} {}", host.status), theme.fg(color)),
        ];
        if let Some(code) = host.exit_code {
            title.push(Span::styled(format!(" · exit {code}"), theme.muted()));
        }
        if let Some(ms) = host.elapsed_ms(now) {
            title.push(Span::styled(format!(" · {}", fmt_ms(ms)), theme.muted()));
        }
        if let Some(step) = host.step {
            title.push(Span::styled(
                format!(
                    " · {}/{} {}",
                    step + 1,
                    store.steps.len(),
                    store.steps.get(step).map(String::as_str).unwrap_or("")
                ),
                theme.muted(),
            ));
        }
        title.push(Span::raw(" "));
        let position = if self.follow || !primary {
            "follow".to_string()
        } else {
            format!("line {}/{}", top + 1, end)
        };
        let mut bottom = vec![Span::styled(format!(" {position} "), theme.accent())];
        // Where the rest is, unless scrolling up reads it back here.
        if host.first_line() > 0 && !(primary && self.reads_older(store, host)) {
            bottom.push(Span::styled(
                format!(
                    "{} earlier lines: jobdeck show {} --host {} ",
                    host.first_line(),
                    store.instance,
                    host.name
                ),
                theme.muted(),
            ));
        }
        let mut block = panel("", primary && self.focus == Pane::Output, theme)
            .title(Line::from(title))
            .title_bottom(Line::from(bottom).right_aligned());
        if let Some(search) = &self.search
            && primary
        {
            block = block.title_bottom(Line::from(vec![
                Span::styled(" / ", theme.accent().add_modifier(Modifier::BOLD)),
                Span::styled(
                    format!("{}▏ ", search.visible_tail(width / 2)),
                    theme.text(),
                ),
            ]));
        }
        if lines.is_empty() {
            let note = match host.status {
                HostStatus::Pending => " waiting for its batch",
                HostStatus::Connecting => " connecting…",
                _ => " no output",
            };
            lines.push(Line::from(Span::styled(note, theme.muted())));
        }
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }

    fn draw_gathered(&self, frame: &mut Frame, area: Rect, theme: &Theme, store: &RunStore) {
        let blocks = store.gathered();
        let height = area.height.saturating_sub(2) as usize;
        let width = area.width.saturating_sub(2) as usize;
        let mut lines: Vec<Line> = Vec::with_capacity(height);
        let mut row = 0usize;
        let skip = self.gather_scroll;
        for block in &blocks {
            let host = &store.hosts[block.hosts[0]];
            let extra = usize::from(host.first_line() > 0);
            let size = 1 + extra + host.lines().len() + 1;
            if row + size <= skip {
                row += size;
                continue;
            }
            let (glyph, color) = status_look(block.status, theme);
            let names = hostlist::fold(block.hosts.iter().map(|&h| store.hosts[h].name.as_str()));
            let mut block_lines = vec![Line::from(vec![
                Span::styled(
                    format!("{glyph} {} ", ellipsis(&names, width.saturating_sub(24))),
                    theme.fg(color).add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!(
                        "({}) {}{}",
                        block.hosts.len(),
                        block.status,
                        block
                            .exit_code
                            .map(|c| format!(" exit {c}"))
                            .unwrap_or_default()
                    ),
                    theme.muted(),
                ),
            ])];
            if extra > 0 {
                block_lines.push(Line::from(Span::styled(
                    format!("  … {} earlier lines", host.first_line()),
                    theme.muted(),
                )));
            }
            for line in host.lines() {
                block_lines.push(output_line(line.kind, &line.text, &self.term, width, theme));
            }
            block_lines.push(Line::default());
            let from = skip.saturating_sub(row);
            lines.extend(block_lines.into_iter().skip(from));
            row += size;
            if lines.len() >= height {
                break;
            }
        }
        lines.truncate(height);
        let title = format!(
            " Gathered: {} host(s) in {} block(s) ",
            store.hosts.len(),
            blocks.len()
        );
        frame.render_widget(
            Paragraph::new(lines).block(panel(&title, self.focus == Pane::Output, theme)),
            area,
        );
    }
}

/// A row that is not output: where the output starts, or lines on their way.
/// `▶ 10×  0:08.5 ━━━━●──── 0:42.0`: the replay's state, playhead and length.
fn replay_line(bar: &ReplayBar, width: usize, theme: &Theme) -> Line<'static> {
    let state = if bar.playing { "▶" } else { "⏸" };
    let left = format!(
        " {state} {:>3}×  {} ",
        bar.speed,
        replay_clock(bar.position)
    );
    let right = format!(" {} ", replay_clock(bar.duration));
    let room = width.saturating_sub(left.chars().count() + right.chars().count());
    let filled = if bar.duration > 0 {
        ((bar.position as f64 / bar.duration as f64) * room as f64).round() as usize
    } else {
        room
    };
    let knob = filled.min(room.saturating_sub(1));
    let mut spans = vec![Span::styled(
        left,
        theme.accent().add_modifier(Modifier::BOLD),
    )];
    if room > 0 {
        spans.push(Span::styled("━".repeat(knob), theme.accent()));
        spans.push(Span::styled("●", theme.fg(theme.colors.selected)));
        spans.push(Span::styled(
            "─".repeat(room.saturating_sub(knob + 1)),
            theme.muted(),
        ));
    }
    spans.push(Span::styled(right, theme.muted()));
    Line::from(spans)
}

/// A timeline position, `m:ss.t`.
pub fn replay_clock(ms: i64) -> String {
    let ms = ms.max(0);
    format!("{}:{:02}.{}", ms / 60_000, ms / 1000 % 60, ms / 100 % 10)
}

fn marker_line(row: &Row<'_>, theme: &Theme) -> Line<'static> {
    let text = match row {
        Row::StartOfOutput => "── start of output ──".to_string(),
        Row::Loading => "⋯ loading older output…".to_string(),
        Row::Unavailable(why) => format!("⋯ older output unavailable: {why}"),
        Row::Blank | Row::Line(..) => String::new(),
    };
    Line::from(Span::styled(text, theme.muted()))
}

/// First and one-past-last absolute line of a host, unfinished lines included.
fn line_span(host: &HostRecord) -> (u64, u64) {
    let partial = u64::from(!host.partial(Stream::Stdout).is_empty())
        + u64::from(!host.partial(Stream::Stderr).is_empty());
    (host.first_line(), host.total_lines() + partial)
}

fn push_lines(text: &mut String, host: &HostRecord) {
    for line in host.lines() {
        match line.kind {
            LineKind::Stderr => text.push_str("stderr| "),
            LineKind::Step | LineKind::Note => text.push_str("# "),
            LineKind::Stdout => {}
        }
        text.push_str(&line.text);
        text.push('\n');
    }
}

/// A host name made safe as part of a file name.
fn safe_file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn output_line(
    kind: LineKind,
    text: &str,
    term: &str,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let (prefix, style) = match kind {
        LineKind::Stdout => ("", theme.text()),
        LineKind::Stderr => ("▌", theme.fg(theme.colors.stderr)),
        LineKind::Step => ("", theme.accent().add_modifier(Modifier::BOLD)),
        LineKind::Note => ("", theme.fg(theme.colors.failed)),
    };
    let text: String = text
        .chars()
        .take(width.saturating_sub(prefix.chars().count()))
        .collect();
    let mut spans = Vec::new();
    if !prefix.is_empty() {
        spans.push(Span::styled(prefix, style));
    }
    if term.is_empty() {
        spans.push(Span::styled(text, style));
    } else {
        let lower = text.to_lowercase();
        let needle = term.to_lowercase();
        let mut at = 0;
        // Lowercasing can change byte lengths outside ASCII; highlight only
        // when the positions line up.
        if lower.len() == text.len() {
            while let Some(found) = lower[at..].find(&needle) {
                let start = at + found;
                let end = start + needle.len();
                if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                    break;
                }
                spans.push(Span::styled(text[at..start].to_string(), style));
                spans.push(Span::styled(
                    text[start..end].to_string(),
                    Style::new()
                        .fg(theme.colors.selection_fg)
                        .bg(theme.colors.matched),
                ));
                at = end;
            }
        }
        spans.push(Span::styled(text[at..].to_string(), style));
    }
    Line::from(spans)
}

fn batch_row(store: &RunStore, b: usize, width: usize, theme: &Theme) -> Line<'static> {
    let counts = store.batch_counts(b);
    let current = store.current_batch == Some(b);
    let label_style = if current {
        theme.accent().add_modifier(Modifier::BOLD)
    } else {
        theme.muted()
    };
    let label = format!("Batch {}/{} ", b + 1, store.batches.len());
    let tail = format!(" {}/{}", counts.done(), counts.total);
    let bar_width = width
        .saturating_sub(label.chars().count() + tail.chars().count() + 1)
        .min(16);
    let mut spans = vec![Span::styled(label, label_style)];
    spans.extend(bar(&counts, bar_width, theme));
    spans.push(Span::styled(tail, theme.muted()));
    Line::from(spans)
}

fn host_row(
    host: &HostRecord,
    pinned: bool,
    cursor: bool,
    focused: bool,
    now: UnixMillis,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let (glyph, color) = status_look(host.status, theme);
    let elapsed = host.elapsed_ms(now).map(fmt_ms).unwrap_or_default();
    let pin = if pinned { "◆" } else { " " };
    // pin (2) + glyph (2) + name + elapsed (7)
    let name_width = width.saturating_sub(11);
    let name = ellipsis(&host.name, name_width);
    let text_style = if cursor && focused {
        theme.selection()
    } else if cursor {
        theme.text().add_modifier(Modifier::REVERSED)
    } else {
        theme.text()
    };
    Line::from(vec![
        Span::styled(format!(" {pin}"), theme.fg(theme.colors.selected)),
        Span::styled(format!("{glyph} "), theme.fg(color)),
        Span::styled(format!("{name:<name_width$}"), text_style),
        Span::styled(format!(" {elapsed:>6}"), theme.muted()),
    ])
}

/// A bar of `width` cells: ok, failed, other done, running, then pending.
fn bar(counts: &Counts, width: usize, theme: &Theme) -> Vec<Span<'static>> {
    if width == 0 {
        return Vec::new();
    }
    let total = counts.total.max(1);
    let cells = |n: usize| n * width / total;
    let ok = cells(counts.ok);
    let failed = if counts.failed > 0 {
        cells(counts.failed).max(1)
    } else {
        0
    };
    let other = cells(counts.other);
    let active = cells(counts.active);
    let used = (ok + failed + other + active).min(width);
    let rest = width - used;
    let part = |n: usize, c: &str, color: Color| Span::styled(c.repeat(n), Style::new().fg(color));
    vec![
        part(ok, "█", theme.colors.ok),
        part(failed, "█", theme.colors.failed),
        part(other, "█", theme.colors.skipped),
        part(active, "▒", theme.colors.running),
        part(rest, "░", theme.colors.muted),
    ]
}

/// A host state's glyph and colour.
pub fn status_look(status: HostStatus, theme: &Theme) -> (String, Color) {
    let g = &theme.glyphs;
    let c = &theme.colors;
    match status {
        HostStatus::Pending => (g.pending.clone(), c.pending),
        HostStatus::Connecting => (g.connecting.clone(), c.connecting),
        HostStatus::Running => (g.running.clone(), c.running),
        HostStatus::Ok => (g.ok.clone(), c.ok),
        HostStatus::Failed => (g.failed.clone(), c.failed),
        HostStatus::TimedOut => (g.timed_out.clone(), c.timed_out),
        HostStatus::Unreachable | HostStatus::AuthFailed | HostStatus::HostKeyRejected => {
            (g.unreachable.clone(), c.unreachable)
        }
        HostStatus::RolledBack => (g.rolled_back.clone(), c.rolled_back),
        HostStatus::Skipped | HostStatus::Cancelled | HostStatus::Interrupted => {
            (g.skipped.clone(), c.skipped)
        }
    }
}

fn instance_look(status: InstanceStatus, theme: &Theme) -> (String, Color) {
    let g = &theme.glyphs;
    let c = &theme.colors;
    match status {
        InstanceStatus::Running => (g.running.clone(), c.running),
        InstanceStatus::Waiting | InstanceStatus::Paused => ("⏸".into(), c.warning),
        InstanceStatus::Ok => (g.ok.clone(), c.ok),
        InstanceStatus::Failed => (g.failed.clone(), c.failed),
        InstanceStatus::Aborted => (g.failed.clone(), c.warning),
        InstanceStatus::Interrupted => (g.skipped.clone(), c.warning),
    }
}

/// `0.3s`, `12s`, `3m04s`, `2h05m`.
pub fn fmt_ms(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 10_000 {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else if ms < 60_000 {
        format!("{}s", ms / 1000)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

/// A countdown: `1:59:07`, `4:05`.
fn fmt_clock(ms: i64) -> String {
    let s = (ms.max(0) + 999) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn panel<'a>(title: &str, focused: bool, theme: &Theme) -> Block<'a> {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused));
    if title.is_empty() {
        block
    } else {
        block.title(Span::styled(title.to_string(), theme.title()))
    }
}

/// The first row to show so the cursor stays in view.
fn scroll_for(cursor: usize, scroll: usize, height: usize, rows: usize) -> usize {
    if height == 0 {
        return 0;
    }
    let scroll = if cursor < scroll {
        cursor.saturating_sub(1)
    } else if cursor >= scroll + height {
        cursor + 1 - height
    } else {
        scroll
    };
    scroll.min(rows.saturating_sub(height))
}

impl View for RunView {
    fn handle(&mut self, action: &Action) -> Option<Action> {
        if let Some(search) = &mut self.search {
            match action {
                Action::InsertChar(c) => search.push(*c),
                Action::Backspace => search.backspace(),
                Action::ClearInput => search.clear(),
                Action::Submit => {
                    self.search = None;
                    return self.jump_to_match(false);
                }
                Action::Cancel => {
                    self.search = None;
                    self.term.clear();
                    return None;
                }
                _ => return None,
            }
            self.term = self
                .search
                .as_ref()
                .map(|s| s.text().to_string())
                .unwrap_or_default();
            return None;
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
            (Action::Down, Pane::Output) => self.scroll_output(1),
            (Action::Up, Pane::Output) => self.scroll_output(-1),
            (Action::PageDown, Pane::Output) => self.scroll_output(out_page),
            (Action::PageUp, Pane::Output) => self.scroll_output(-out_page),
            (Action::Top, Pane::Output) => {
                self.gather_scroll = 0;
                self.scroll_output(i64::MIN / 2);
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
                    self.scroll_output(0);
                    self.follow = false;
                }
            }
            (Action::ToggleGather, _) => {
                self.layout = if self.layout == OutputLayout::Gathered {
                    OutputLayout::Single
                } else {
                    OutputLayout::Gathered
                };
                self.gather_scroll = 0;
            }
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
            (Action::Search, _) => {
                self.search = Some(TextInput::default());
                self.term.clear();
            }
            (Action::SearchNext, _) => return self.jump_to_match(true),
            (Action::SearchPrev, _) => return self.jump_to_match(false),
            (Action::SaveOutput, _) => return self.output_file(),
            (Action::SaveHosts, _) => return self.hosts_file(),
            (Action::Cancel, _) if !self.term.is_empty() => self.term.clear(),
            (Action::Cancel, Pane::Output) => self.focus = Pane::Hosts,
            (Action::ScrollDown { column, row }, _) | (Action::ScrollUp { column, row }, _) => {
                let down = matches!(action, Action::ScrollDown { .. });
                let (_, hosts, output) = self.body_parts();
                if layout::contains(output, *column, *row) {
                    let delta = WHEEL_LINES as i64;
                    self.scroll_output(if down { delta } else { -delta });
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
        None
    }

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
        if self.search.is_some() {
            vec![KeyContext::Input]
        } else {
            vec![KeyContext::Run]
        }
    }

    fn captures_text(&self) -> bool {
        self.search.is_some()
    }

    fn hints(&self) -> Vec<Hint> {
        if self.search.is_some() {
            return vec![
                Hint::new(Action::Submit, "keep"),
                Hint::new(Action::Cancel, "clear"),
            ];
        }
        if self.replay.is_some() {
            return vec![
                Hint::new(Action::PlayPause, "play"),
                Hint::new(Action::CycleSpeed, "speed"),
                Hint::pair(Action::SeekBack, Action::SeekForward, "seek"),
                Hint::pair(Action::Down, Action::Up, "move"),
                Hint::new(Action::FocusNext, "pane"),
                Hint::new(Action::ToggleGather, "gather"),
                Hint::new(Action::CycleSplit, "split"),
                Hint::new(Action::Search, "search"),
                Hint::new(Action::RerunFailed, "rerun failed"),
                Hint::new(Action::ResumeRun, "resume"),
                Hint::new(Action::SaveOutput, "save output"),
                Hint::new(Action::Cancel, "back"),
            ];
        }
        let Some(store) = &self.store else {
            return vec![Hint::new(
                Action::ShowView(crate::tui::action::ViewId::Planner),
                "planner",
            )];
        };
        let (finished, waiting, paused) = {
            let s = RunStore::lock(store);
            (
                s.is_finished() || s.stream_ended,
                s.waiting.is_some() || s.approval.is_some(),
                s.paused,
            )
        };
        let mut hints = vec![Hint::pair(Action::Down, Action::Up, "move")];
        if !finished {
            if waiting {
                hints.push(Hint::new(Action::Confirm, "confirm"));
            }
            hints.push(Hint::new(
                Action::TogglePause,
                if paused { "resume" } else { "pause" },
            ));
            hints.push(Hint::new(Action::AbortRun, "abort"));
        }
        hints.extend([
            Hint::new(Action::FocusNext, "pane"),
            Hint::new(Action::ToggleGather, "gather"),
            Hint::new(Action::CycleSplit, "split"),
            Hint::new(Action::Search, "search"),
            Hint::new(Action::ToggleFollow, "follow"),
            Hint::new(Action::RetryFailed, "retry failed"),
            Hint::new(Action::SkipHost, "skip"),
            Hint::new(Action::SaveOutput, "save output"),
        ]);
        hints
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_compactly() {
        assert_eq!(fmt_ms(340), "0.3s");
        assert_eq!(fmt_ms(12_400), "12s");
        assert_eq!(fmt_ms(184_000), "3m04s");
        assert_eq!(fmt_ms(7_500_000), "2h05m");
        assert_eq!(fmt_clock(7_147_000), "1:59:07");
        assert_eq!(fmt_clock(245_000), "4:05");
        assert_eq!(replay_clock(83_450), "1:23.4");
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(safe_file_part("web-01.example/x y"), "web-01.example_x_y");
    }
}
