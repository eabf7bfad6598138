//! The History view: the journal's instances, newest first, filtered by
//! flow (text), status and date; opening one shows the Run view in replay
//! mode (the same panes, on the final states) with a timeline that
//! re-streams the run with its original timing at 1×, 10× or 100×.
//!
//! - Every journal read runs through `Background` (a blocking thread), and
//!   arrives as a `HistoryMessage`. A missing journal is never created: the
//!   list stays empty with a note.
//! - The list refreshes every `REFRESH` while the view is shown; an open
//!   run that is not finished is re-read as well, so a run in progress (or
//!   one started from here) fills in.
//! - A replay is a `RunStore` fed the run's events rebuilt from the
//!   journal (`tui::replay`), read on a blocking thread: the whole run when
//!   it opens; while playing, the next stretch, a budget at a time; after
//!   a seek back, the run again from its start up to the playhead.
//! - The timeline keeps the run's own gaps up to `MAX_REPLAY_GAP_MS` (as
//!   `jobdeck show --replay` does): a two-hour batch interval becomes five
//!   seconds, so the scrubber stays usable.
//! - Rerun failed and resume interrupted start the real binary as a child
//!   process (`jobdeck rerun ID --failed` / `jobdeck resume ID`, same
//!   `--journal` and `-i`), its output going to a log file under the
//!   journal's directory (`tui-logs/`). The run is then the same as a
//!   headless one; this view watches it appear and progress in the journal.
//!   The console's own run wiring lives with the Run view, so this keeps the
//!   two independent.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Local, TimeZone};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::background::Background;
use super::run::{ReplayBar, RunView};
use super::{Hint, View};
use crate::engine::events::{Event, InstanceId, InstanceStatus, UnixMillis, now_millis};
use crate::journal::{InstanceFilter, InstanceSummary, Journal};
use crate::report::sanitize::clean_text;
use crate::tui::action::Action;
use crate::tui::app::{AppMessage, StatusLevel};
use crate::tui::keymap::KeyContext;
use crate::tui::layout;
use crate::tui::replay::{self, ReplayCursor, ReplayPlan};
use crate::tui::run_store::{OlderLines, RunStore, SharedRunStore};
use crate::tui::theme::Theme;
use crate::tui::widgets::clip::clip;
use crate::tui::widgets::durations::{elapsed, local_minute};
use crate::tui::widgets::status_look::instance_look;
use crate::tui::widgets::text_box::TextInput;

/// How often the list (and an unfinished open run) is re-read.
pub const REFRESH: Duration = Duration::from_secs(2);
/// Rows fetched from the journal; filters apply before the limit.
const LIST_LIMIT: usize = 500;
/// Output bytes one playback read streams; more waits for the next read.
/// The UI task absorbs them, so this keeps one read to a frame or so.
const PLAY_BUDGET: usize = 1024 * 1024;
/// Playback speeds, cycled with `x`.
pub const SPEEDS: [i64; 3] = [1, 10, 100];

/// What the journal reads send back.
#[derive(Debug)]
pub enum HistoryMessage {
    Listed {
        generation: u64,
        result: Result<Option<Vec<InstanceSummary>>, String>,
    },
    /// A run read up to a point: opened (at its end), or rebuilt after a seek back.
    Built {
        id: InstanceId,
        generation: u64,
        result: Result<Box<Built>, String>,
    },
    /// The next stretch of a playing replay.
    Advanced {
        id: InstanceId,
        generation: u64,
        result: Result<Advance, String>,
    },
    /// Lines the replay's Run view read back from the journal.
    Older(OlderLines),
    ChildFinished {
        label: String,
        tail: String,
    },
}

// ------------------------------------------------------------ playback

/// The timeline's playhead. Every call takes the current instant, so tests
/// drive it with their own clock; `position` is what the last call saw,
/// which is what a frame draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    duration: i64,
    position: i64,
    speed: usize,
    /// While playing: when the position was last set, and to what.
    anchor: Option<(Instant, i64)>,
}

impl Playback {
    /// Paused at the end: a replay opens on the final states.
    pub fn new(duration: i64) -> Playback {
        let duration = duration.max(0);
        Playback {
            duration,
            position: duration,
            speed: 0,
            anchor: None,
        }
    }

    pub fn position(&self) -> i64 {
        self.position
    }

    pub fn duration(&self) -> i64 {
        self.duration
    }

    pub fn speed(&self) -> i64 {
        SPEEDS[self.speed]
    }

    pub fn is_playing(&self) -> bool {
        self.anchor.is_some()
    }

    pub fn at_end(&self) -> bool {
        self.position >= self.duration
    }

    /// Moves the playhead to `now`; stops at the end. True while it moves.
    pub fn tick(&mut self, now: Instant) -> bool {
        let Some((since, from)) = self.anchor else {
            return false;
        };
        let elapsed = now.saturating_duration_since(since).as_millis() as i64;
        self.position = (from + elapsed.saturating_mul(self.speed())).min(self.duration);
        if self.position >= self.duration {
            self.anchor = None;
        }
        true
    }

    /// Play or pause; playing from the end starts over.
    pub fn toggle(&mut self, now: Instant) {
        self.tick(now);
        if self.anchor.is_some() {
            self.anchor = None;
        } else {
            if self.at_end() {
                self.position = 0;
            }
            self.anchor = Some((now, self.position));
        }
    }

    pub fn cycle_speed(&mut self, now: Instant) {
        self.tick(now);
        self.speed = (self.speed + 1) % SPEEDS.len();
        if self.anchor.is_some() {
            self.anchor = Some((now, self.position));
        }
    }

    /// Pauses where it is (a read failed).
    pub fn stop(&mut self) {
        self.anchor = None;
    }

    pub fn seek_to(&mut self, position: i64, now: Instant) {
        self.position = position.clamp(0, self.duration);
        if self.anchor.is_some() {
            self.anchor = (self.position < self.duration).then_some((now, self.position));
        }
    }

    pub fn seek(&mut self, delta: i64, now: Instant) {
        self.tick(now);
        self.seek_to(self.position.saturating_add(delta), now);
    }

    /// One `←`/`→` press: a fortieth of the run, at least half a second.
    pub fn step(&self) -> i64 {
        (self.duration / 40).max(500)
    }

    /// A longer run (reloaded while in progress) keeps the playhead; at
    /// the end it stays at the end.
    pub fn set_duration(&mut self, duration: i64) {
        let was_at_end = self.at_end() && self.anchor.is_none();
        self.duration = duration.max(0);
        if was_at_end {
            self.position = self.duration;
        }
        self.position = self.position.min(self.duration);
    }
}

// ------------------------------------------------------------ replay data

/// A run read from the journal up to a point, ready to show.
#[derive(Debug)]
pub struct Built {
    /// Read afresh (opening, or a run still in progress re-read).
    pub plan: Option<Arc<ReplayPlan>>,
    pub store: RunStore,
    pub cursor: ReplayCursor,
}

/// Events of a playing replay, for the store to absorb.
#[derive(Debug)]
pub struct Advance {
    pub events: Vec<Event>,
    pub cursor: ReplayCursor,
    /// The read reached the time asked for (else it stopped at its budget).
    pub complete: bool,
}

/// The run shown in replay: its plan, its store and how far it is read.
struct OpenRun {
    id: InstanceId,
    plan: Arc<ReplayPlan>,
    store: SharedRunStore,
    cursor: ReplayCursor,
    /// Bumped by every rebuild, so a late read is recognised.
    generation: u64,
    /// A read in flight.
    reading: bool,
}

/// The Run view as a replay shows it: read-back lines report to History.
fn replay_run_view(background: Background) -> RunView {
    let mut run = RunView::new();
    run.set_background(background);
    run.set_older_route(|read| AppMessage::History(HistoryMessage::Older(read)));
    run
}

// ------------------------------------------------------------ journal reads

/// Opens the journal if the file exists (never creating it), marking runs
/// whose jobdeck died as interrupted, as every jobdeck start does.
fn open_existing(path: &Path) -> Result<Option<Journal>, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("journal {}: {e}", path.display())),
        Ok(_) => {}
    }
    let mut journal = Journal::open(path).map_err(|e| e.to_string())?;
    // Reading goes on if another process holds the write lock.
    let _ = journal.recover_interrupted();
    Ok(Some(journal))
}

fn list(path: &Path, filter: &InstanceFilter) -> Result<Option<Vec<InstanceSummary>>, String> {
    let Some(journal) = open_existing(path)? else {
        return Ok(None);
    };
    journal
        .list_instances(filter)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Reads a run's plan (unless given) and builds its store up to real
/// time `until`; `None` is the end.
fn build(
    path: &Path,
    id: InstanceId,
    plan: Option<Arc<ReplayPlan>>,
    until: Option<i64>,
) -> Result<Box<Built>, String> {
    let journal =
        open_existing(path)?.ok_or_else(|| format!("no journal at {}", path.display()))?;
    let (plan, fresh) = match plan {
        Some(plan) => (plan, false),
        None => (Arc::new(replay::read_plan(&journal, id)?), true),
    };
    let (store, cursor) = replay::build(&journal, &plan, until.unwrap_or(i64::MAX))?;
    Ok(Box::new(Built {
        plan: fresh.then_some(plan),
        store,
        cursor,
    }))
}

/// The events after `cursor` up to real time `until`, at most a budget.
fn advance(
    path: &Path,
    plan: &ReplayPlan,
    cursor: ReplayCursor,
    until: i64,
) -> Result<Advance, String> {
    let journal = replay::open_journal(path)?;
    let mut events = Vec::new();
    let (cursor, complete) =
        replay::stream(&journal, plan, cursor, until, Some(PLAY_BUDGET), &mut |e| {
            events.push(e)
        })?;
    Ok(Advance {
        events,
        cursor,
        complete,
    })
}

// ------------------------------------------------------------ filters

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFilter {
    Any,
    Today,
    Day,
    Week,
    Month,
}

impl DateFilter {
    const ALL: [DateFilter; 5] = [
        DateFilter::Any,
        DateFilter::Today,
        DateFilter::Day,
        DateFilter::Week,
        DateFilter::Month,
    ];

    fn label(self) -> &'static str {
        match self {
            DateFilter::Any => "any time",
            DateFilter::Today => "today",
            DateFilter::Day => "last 24h",
            DateFilter::Week => "last 7 days",
            DateFilter::Month => "last 30 days",
        }
    }

    /// The earliest creation time that passes, relative to `now`.
    fn since(self, now: UnixMillis) -> Option<UnixMillis> {
        const DAY: i64 = 86_400_000;
        match self {
            DateFilter::Any => None,
            DateFilter::Today => {
                let local = Local.timestamp_millis_opt(now).single()?;
                let midnight = local.date_naive().and_hms_opt(0, 0, 0)?;
                Local
                    .from_local_datetime(&midnight)
                    .earliest()
                    .map(|t| t.timestamp_millis())
            }
            DateFilter::Day => Some(now - DAY),
            DateFilter::Week => Some(now - 7 * DAY),
            DateFilter::Month => Some(now - 30 * DAY),
        }
    }

    fn next(self) -> DateFilter {
        let i = DateFilter::ALL.iter().position(|&d| d == self).unwrap_or(0);
        DateFilter::ALL[(i + 1) % DateFilter::ALL.len()]
    }
}

/// `None` (any), then every status in turn.
fn next_status(current: Option<InstanceStatus>) -> Option<InstanceStatus> {
    let all = InstanceStatus::ALL;
    match current {
        None => all.first().copied(),
        Some(s) => {
            let i = all.iter().position(|&x| x == s).unwrap_or(0);
            all.get(i + 1).copied()
        }
    }
}

// ------------------------------------------------------------ child runs

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    Rerun,
    Resume,
}

impl ChildKind {
    fn word(self) -> &'static str {
        match self {
            ChildKind::Rerun => "rerun",
            ChildKind::Resume => "resume",
        }
    }
}

/// The command line a rerun or resume runs: global options, then the
/// subcommand.
pub fn child_args(
    kind: ChildKind,
    id: InstanceId,
    journal: &Path,
    inventory: &[PathBuf],
) -> Vec<String> {
    let mut args = Vec::new();
    for source in inventory {
        args.push("-i".to_string());
        args.push(source.display().to_string());
    }
    args.push("--journal".into());
    args.push(journal.display().to_string());
    args.push(kind.word().into());
    args.push(id.to_string());
    if kind == ChildKind::Rerun {
        args.push("--failed".into());
    }
    args
}

struct ChildJob {
    label: String,
    log: PathBuf,
    child: Option<Child>,
    /// How it ended, once it has.
    outcome: Option<String>,
}

/// A yes/no question before starting a child run.
#[derive(Debug, Clone, PartialEq)]
struct Question {
    kind: ChildKind,
    id: InstanceId,
    text: String,
}

// ------------------------------------------------------------ the view

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    List,
    FlowFilter,
    Replay,
}

pub struct HistoryView {
    background: Background,
    journal: Option<PathBuf>,
    inventory: Vec<PathBuf>,
    /// The binary rerun/resume start; `None` means this executable.
    program: Option<PathBuf>,
    mode: Mode,
    /// `None` until the first read, `Some(None)` when there is no journal.
    rows: Option<Option<Vec<InstanceSummary>>>,
    error: Option<String>,
    flow_filter: TextInput,
    status_filter: Option<InstanceStatus>,
    date_filter: DateFilter,
    cursor: usize,
    scroll: std::cell::Cell<usize>,
    generation: u64,
    loading: bool,
    last_refresh: Option<Instant>,
    /// The run opened in replay, shown by `run`.
    open_run: Option<OpenRun>,
    run: RunView,
    opening: Option<InstanceId>,
    /// Bumped by every build asked for; only the latest one is shown.
    build_generation: u64,
    playback: Playback,
    question: Option<Question>,
    jobs: Vec<ChildJob>,
    status: Option<(StatusLevel, String)>,
    area: Rect,
}

impl Default for HistoryView {
    fn default() -> Self {
        HistoryView::new()
    }
}

impl HistoryView {
    pub fn new() -> HistoryView {
        HistoryView {
            background: Background::default(),
            journal: None,
            inventory: Vec::new(),
            program: None,
            mode: Mode::List,
            rows: None,
            error: None,
            flow_filter: TextInput::default(),
            status_filter: None,
            date_filter: DateFilter::Any,
            cursor: 0,
            scroll: std::cell::Cell::new(0),
            generation: 0,
            loading: false,
            last_refresh: None,
            open_run: None,
            run: replay_run_view(Background::default()),
            opening: None,
            build_generation: 0,
            playback: Playback::new(0),
            question: None,
            jobs: Vec::new(),
            status: None,
            area: Rect::default(),
        }
    }

    pub fn set_background(&mut self, background: Background) {
        self.run.set_background(background.clone());
        self.background = background;
    }

    pub fn set_journal_path(&mut self, path: PathBuf) {
        self.run.set_journal(path.clone());
        self.journal = Some(path);
        self.rows = None;
    }

    pub fn set_inventory_sources(&mut self, sources: &[PathBuf]) {
        self.inventory = sources.to_vec();
    }

    /// The binary that reruns and resumes (tests point it elsewhere).
    pub fn set_program(&mut self, program: PathBuf) {
        self.program = Some(program);
    }

    pub fn take_status(&mut self) -> Option<(StatusLevel, String)> {
        self.status.take()
    }

    /// The instances shown now, after every filter.
    pub fn visible(&self) -> Vec<&InstanceSummary> {
        let needle = self.flow_filter.text().to_lowercase();
        match &self.rows {
            Some(Some(rows)) => rows
                .iter()
                .filter(|r| needle.is_empty() || r.flow.to_lowercase().contains(&needle))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The id of the run open in replay.
    pub fn replay_id(&self) -> Option<InstanceId> {
        self.open_run.as_ref().map(|r| r.id)
    }

    /// The replay's store (what the Run view shows).
    pub fn replay_store(&self) -> Option<&SharedRunStore> {
        self.open_run.as_ref().map(|r| &r.store)
    }

    /// The replay's timeline length.
    pub fn replay_duration(&self) -> Option<i64> {
        self.open_run.as_ref().map(|r| r.plan.timeline.duration())
    }

    /// The Run view showing the replay.
    pub fn run_view(&self) -> &RunView {
        &self.run
    }

    pub fn playback(&self) -> &Playback {
        &self.playback
    }

    fn filter(&self) -> InstanceFilter {
        InstanceFilter {
            flow: None,
            status: self.status_filter,
            since: self.date_filter.since(now_millis()),
            limit: Some(LIST_LIMIT),
        }
    }

    /// Re-reads the list (off the UI task when there is a runtime).
    pub fn refresh(&mut self) {
        let Some(path) = self.journal.clone() else {
            return;
        };
        self.generation += 1;
        self.loading = true;
        self.last_refresh = Some(Instant::now());
        let generation = self.generation;
        let filter = self.filter();
        let done = self.background.run(
            move || HistoryMessage::Listed {
                generation,
                result: list(&path, &filter),
            },
            AppMessage::History,
        );
        if let Some(message) = done {
            self.on_message(message);
        }
    }

    fn open(&mut self, id: InstanceId) {
        self.opening = Some(id);
        self.request_build(id, None, None);
    }

    /// Reads the run (plan given: keeps it) up to real time `until`.
    fn request_build(&mut self, id: InstanceId, plan: Option<Arc<ReplayPlan>>, until: Option<i64>) {
        let Some(path) = self.journal.clone() else {
            return;
        };
        self.build_generation += 1;
        let generation = self.build_generation;
        if let Some(open) = self.open_run.as_mut().filter(|o| o.id == id) {
            // Reads for the store as it is now are stale.
            open.generation = generation;
            open.reading = true;
        }
        let done = self.background.run(
            move || HistoryMessage::Built {
                id,
                generation,
                result: build(&path, id, plan, until),
            },
            AppMessage::History,
        );
        if let Some(message) = done {
            self.on_message(message);
        }
    }

    /// The run's time at the playhead (the end: everything).
    fn target(&self, plan: &ReplayPlan) -> i64 {
        if self.playback.at_end() {
            i64::MAX
        } else {
            plan.timeline.unmap(self.playback.position())
        }
    }

    /// Brings the store to the playhead: reads on from where it is, or
    /// rebuilds it from the start after a seek back. Then the bar.
    fn sync_replay(&mut self) {
        let Some(open) = &self.open_run else {
            return;
        };
        let target = self.target(&open.plan);
        if !open.reading && target != open.cursor.reached {
            if target < open.cursor.reached {
                let (id, plan) = (open.id, open.plan.clone());
                self.request_build(id, Some(plan), Some(target));
            } else if let Some(path) = self.journal.clone() {
                let open = self.open_run.as_mut().expect("checked above");
                open.reading = true;
                let (id, generation) = (open.id, open.generation);
                let (plan, cursor) = (open.plan.clone(), open.cursor);
                let done = self.background.run(
                    move || HistoryMessage::Advanced {
                        id,
                        generation,
                        result: advance(&path, &plan, cursor, target),
                    },
                    AppMessage::History,
                );
                if let Some(message) = done {
                    self.on_message(message);
                    return;
                }
            }
        }
        self.update_bar();
    }

    fn update_bar(&mut self) {
        let Some(open) = &self.open_run else {
            self.run.set_replay(None);
            return;
        };
        let timeline = &open.plan.timeline;
        self.run.set_replay(Some(ReplayBar {
            playing: self.playback.is_playing(),
            speed: self.playback.speed(),
            position: self.playback.position(),
            duration: self.playback.duration(),
            now: timeline.unmap(self.playback.position()),
        }));
    }

    fn close_replay(&mut self) {
        self.mode = Mode::List;
        self.open_run = None;
        self.run = replay_run_view(self.background.clone());
        if let Some(path) = &self.journal {
            self.run.set_journal(path.clone());
        }
        self.refresh();
    }

    /// A background read's result; may answer with a status line.
    pub fn on_message(&mut self, message: HistoryMessage) -> Option<(StatusLevel, String)> {
        match message {
            HistoryMessage::Listed { generation, result } => {
                if generation != self.generation {
                    return None;
                }
                self.loading = false;
                match result {
                    Ok(rows) => {
                        self.rows = Some(rows);
                        self.error = None;
                        self.cursor = self.cursor.min(self.visible().len().saturating_sub(1));
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            HistoryMessage::Built {
                id,
                generation,
                result,
            } => {
                if generation != self.build_generation {
                    return None;
                }
                self.opening = None;
                let built = match result {
                    Ok(built) => built,
                    Err(e) => {
                        if let Some(open) = self.open_run.as_mut() {
                            open.reading = false;
                        }
                        self.playback.stop();
                        return Some((StatusLevel::Error, e));
                    }
                };
                let Built {
                    plan,
                    store,
                    cursor,
                } = *built;
                match self.open_run.as_mut().filter(|o| o.id == id) {
                    Some(open) => {
                        // Rebuilt in place: the Run view keeps its cursor and panes.
                        *RunStore::lock(&open.store) = store;
                        open.cursor = cursor;
                        open.reading = false;
                        if let Some(plan) = plan {
                            self.playback.set_duration(plan.timeline.duration());
                            open.plan = plan;
                        }
                        self.run.store_rebuilt();
                    }
                    None => {
                        let plan = plan?;
                        let store = store.shared();
                        self.playback = Playback::new(plan.timeline.duration());
                        self.run = replay_run_view(self.background.clone());
                        if let Some(path) = &self.journal {
                            self.run.set_journal(path.clone());
                        }
                        self.run.set_area(self.area);
                        self.run.set_store(store.clone());
                        self.open_run = Some(OpenRun {
                            id,
                            plan,
                            store,
                            cursor,
                            generation,
                            reading: false,
                        });
                        self.mode = Mode::Replay;
                    }
                }
                self.sync_replay();
            }
            HistoryMessage::Advanced {
                id,
                generation,
                result,
            } => {
                let open = self
                    .open_run
                    .as_mut()
                    .filter(|o| o.id == id && o.generation == generation && o.reading)?;
                open.reading = false;
                match result {
                    Ok(advance) => {
                        let mut store = RunStore::lock(&open.store);
                        for event in &advance.events {
                            store.absorb(event);
                        }
                        drop(store);
                        open.cursor = advance.cursor;
                    }
                    Err(e) => {
                        self.playback.stop();
                        return Some((StatusLevel::Error, e));
                    }
                }
                self.sync_replay();
            }
            HistoryMessage::Older(read) => self.run.older_read(read),
            HistoryMessage::ChildFinished { label, tail } => {
                let text = format!("{label}: {tail}");
                if let Some(job) = self.jobs.iter_mut().find(|j| j.label == label) {
                    job.outcome.get_or_insert(tail);
                }
                return Some((StatusLevel::Info, text));
            }
        }
        None
    }

    /// Time passes: playback moves, children are checked, the list and an
    /// unfinished open run are re-read. True when something changed.
    pub fn tick(&mut self, now: Instant, shown: bool) -> bool {
        let mut changed = self.playback.tick(now);
        if changed {
            self.sync_replay();
        }
        if shown && self.mode == Mode::Replay && self.run.request_older() {
            changed = true;
        }
        changed |= self.reap_children();
        let due = self
            .last_refresh
            .is_none_or(|t| now.saturating_duration_since(t) >= REFRESH);
        let busy = self.jobs.iter().any(|j| j.child.is_some());
        if (shown || busy) && due && !self.loading {
            self.refresh();
            // A run still in progress: read it again, plan and all.
            if let Some(open) = &self.open_run
                && !open.plan.status.is_final()
                && !open.reading
            {
                let id = open.id;
                let until = (!self.playback.at_end()).then(|| self.target(&open.plan));
                self.request_build(id, None, until);
            }
        }
        changed
    }

    fn reap_children(&mut self) -> bool {
        let mut changed = false;
        for job in &mut self.jobs {
            let Some(child) = job.child.as_mut() else {
                continue;
            };
            let Ok(Some(exit)) = child.try_wait() else {
                continue;
            };
            job.child = None;
            changed = true;
            let label = job.label.clone();
            let log = job.log.clone();
            let code = exit.code();
            let done = self.background.run(
                move || HistoryMessage::ChildFinished {
                    label,
                    tail: child_outcome(code, &log),
                },
                AppMessage::History,
            );
            if let Some(HistoryMessage::ChildFinished { tail, .. }) = done {
                job.outcome = Some(tail);
            }
        }
        if changed {
            // The finished run's final state: read it now rather than at the next refresh.
            self.last_refresh = None;
        }
        changed
    }

    fn selected_summary(&self) -> Option<&InstanceSummary> {
        self.visible().get(self.cursor).copied()
    }

    /// Asks before a rerun or resume of the run under the cursor (or open).
    fn ask(&mut self, kind: ChildKind) {
        let (id, flow, status, failed) = match (&self.mode, &self.open_run) {
            (Mode::Replay, Some(r)) => (
                r.id,
                r.plan.flow.clone(),
                r.plan.status,
                r.plan.failed_hosts,
            ),
            _ => match self.selected_summary() {
                Some(s) => (s.id, s.flow.clone(), s.status, s.hosts_failed),
                None => return,
            },
        };
        let refusal = match kind {
            ChildKind::Rerun if failed == 0 && status == InstanceStatus::Ok => {
                Some(format!("run #{id} has no failed hosts: nothing to rerun"))
            }
            ChildKind::Rerun if !status.is_final() => Some(format!(
                "run #{id} is still {status}: rerun it when it ends"
            )),
            ChildKind::Resume if status != InstanceStatus::Interrupted => Some(format!(
                "run #{id} is {status}; only interrupted runs resume (F reruns failed hosts)"
            )),
            _ => None,
        };
        if let Some(text) = refusal {
            self.status = Some((StatusLevel::Warning, text));
            return;
        }
        let text = match kind {
            ChildKind::Rerun => {
                format!("Rerun the failed hosts of #{id} ({flow}) as a new run?")
            }
            ChildKind::Resume => format!("Resume interrupted run #{id} ({flow})?"),
        };
        self.question = Some(Question { kind, id, text });
    }

    fn start_child(&mut self, kind: ChildKind, id: InstanceId) {
        let Some(journal) = self.journal.clone() else {
            return;
        };
        let program = match self.program.clone().map_or_else(std::env::current_exe, Ok) {
            Ok(p) => p,
            Err(e) => {
                self.status = Some((StatusLevel::Error, format!("cannot find jobdeck: {e}")));
                return;
            }
        };
        let dir = journal.parent().unwrap_or(Path::new(".")).join("tui-logs");
        let stamp = Local::now().format("%Y%m%d-%H%M%S");
        let log = dir.join(format!("{}-{id}-{stamp}.log", kind.word()));
        let args = child_args(kind, id, &journal, &self.inventory);
        let started = std::fs::create_dir_all(&dir)
            .and_then(|()| File::create(&log))
            .and_then(|out| {
                let err = out.try_clone()?;
                Command::new(&program)
                    .args(&args)
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(err)
                    .spawn()
            });
        let label = format!("{} of #{id}", kind.word());
        // Old logs go on a thread of their own: the console never waits on files.
        std::thread::spawn(move || {
            crate::schedule::logs::prune(&dir, std::time::SystemTime::now())
        });
        match started {
            Ok(child) => {
                self.status = Some((
                    StatusLevel::Info,
                    format!(
                        "{label} started (pid {}); log {}",
                        child.id(),
                        log.display()
                    ),
                ));
                self.jobs.push(ChildJob {
                    label,
                    log,
                    child: Some(child),
                    outcome: None,
                });
                // Keep the last few.
                if self.jobs.len() > 3 {
                    let finished = self.jobs.iter().position(|j| j.child.is_none());
                    if let Some(i) = finished {
                        self.jobs.remove(i);
                    }
                }
                self.last_refresh = None;
            }
            Err(e) => {
                self.status = Some((
                    StatusLevel::Error,
                    format!("cannot start {label}: {e} ({})", log.display()),
                ))
            }
        }
    }

    fn list_action(&mut self, action: &Action) -> Option<Action> {
        let count = self.visible().len();
        let page = self.list_height().max(1);
        match action {
            Action::Up => self.cursor = self.cursor.saturating_sub(1),
            Action::Down => self.cursor = (self.cursor + 1).min(count.saturating_sub(1)),
            Action::PageUp => self.cursor = self.cursor.saturating_sub(page),
            Action::PageDown => self.cursor = (self.cursor + page).min(count.saturating_sub(1)),
            Action::Top => self.cursor = 0,
            Action::Bottom => self.cursor = count.saturating_sub(1),
            Action::Submit => {
                if let Some(id) = self.selected_summary().map(|s| s.id) {
                    self.open(id);
                }
            }
            Action::Filter => self.mode = Mode::FlowFilter,
            Action::CycleStatus => {
                self.status_filter = next_status(self.status_filter);
                self.cursor = 0;
                self.refresh();
            }
            Action::CycleDate => {
                self.date_filter = self.date_filter.next();
                self.cursor = 0;
                self.refresh();
            }
            Action::Refresh => self.refresh(),
            Action::Cancel => {
                self.flow_filter.clear();
                self.status_filter = None;
                self.date_filter = DateFilter::Any;
                self.refresh();
            }
            Action::RerunFailed => self.ask(ChildKind::Rerun),
            Action::ResumeRun => self.ask(ChildKind::Resume),
            Action::ScrollUp { .. } => self.cursor = self.cursor.saturating_sub(3),
            Action::ScrollDown { .. } => {
                self.cursor = (self.cursor + 3).min(count.saturating_sub(1))
            }
            Action::Click { row, .. } => {
                let first = self.area.y + 3;
                if *row >= first {
                    let index = self.scroll.get() + (*row - first) as usize;
                    if index < count {
                        self.cursor = index;
                    }
                }
            }
            _ => {}
        }
        None
    }

    fn replay_action(&mut self, action: &Action) -> Option<Action> {
        let now = Instant::now();
        // The Run view's search box has the keyboard while it is open.
        if self.run.captures_text() {
            return self.run.handle(action);
        }
        let answer = match action {
            Action::PlayPause => {
                self.playback.toggle(now);
                None
            }
            Action::CycleSpeed => {
                self.playback.cycle_speed(now);
                None
            }
            Action::SeekBack => {
                self.playback.seek(-self.playback.step(), now);
                None
            }
            Action::SeekForward => {
                self.playback.seek(self.playback.step(), now);
                None
            }
            Action::SeekStart => {
                self.playback.seek_to(0, now);
                None
            }
            Action::SeekEnd => {
                self.playback.seek_to(i64::MAX, now);
                None
            }
            Action::RerunFailed => {
                self.ask(ChildKind::Rerun);
                None
            }
            Action::ResumeRun => {
                self.ask(ChildKind::Resume);
                None
            }
            Action::TogglePause
            | Action::Confirm
            | Action::AbortRun
            | Action::RetryFailed
            | Action::SkipHost => {
                self.status = Some((
                    StatusLevel::Warning,
                    "a replay cannot be controlled: F reruns its failed hosts, R resumes it if interrupted; live runs are in Run (4)".into(),
                ));
                None
            }
            Action::Cancel if self.run.search_term().is_empty() => {
                self.close_replay();
                return None;
            }
            other => self.run.handle(other),
        };
        self.sync_replay();
        answer
    }

    fn list_height(&self) -> usize {
        // Border, filter bar, header row, border, jobs line.
        (self.area.height as usize).saturating_sub(5)
    }

    // -------------------------------------------------------- drawing

    fn draw_list(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Span::styled(" History ", theme.title()));
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
        let count = match &self.rows {
            Some(Some(rows)) => format!("  {} of {} runs", visible.len(), rows.len()),
            _ => String::new(),
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
        let note = match (&self.rows, &self.error) {
            (_, Some(e)) => Some((
                format!("The journal could not be read: {e}"),
                theme.colors.error,
            )),
            (None, _) => Some(("Reading the journal…".to_string(), theme.colors.muted)),
            (Some(None), _) => Some((
                format!(
                    "No journal at {} yet: nothing has run. It is created by the first run.",
                    self.journal.as_deref().unwrap_or(Path::new("?")).display()
                ),
                theme.colors.muted,
            )),
            (Some(Some(_)), _) if visible.is_empty() => Some((
                "No runs match the filters (esc clears them).".to_string(),
                theme.colors.muted,
            )),
            _ => None,
        };
        if let Some((text, color)) = note {
            frame.render_widget(
                Paragraph::new(Span::styled(text, theme.fg(color)))
                    .wrap(ratatui::widgets::Wrap { trim: true }),
                Rect::new(
                    body.x + 1,
                    body.y + 1,
                    body.width.saturating_sub(2),
                    3.min(body.height.saturating_sub(1)),
                ),
            );
            self.draw_jobs(frame, body, theme);
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
        let jobs_rows = self.jobs.len().min(2) as u16;
        let height = (body.height as usize).saturating_sub(1 + jobs_rows as usize);
        let mut scroll = self.scroll.get();
        if self.cursor < scroll {
            scroll = self.cursor;
        } else if height > 0 && self.cursor >= scroll + height {
            scroll = self.cursor + 1 - height;
        }
        self.scroll.set(scroll);
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
            if i == self.cursor {
                line = line.style(theme.selection());
            }
            let y = (i - scroll) as u16 + 1;
            frame.render_widget(Paragraph::new(line), row(body, y));
        }
        self.draw_jobs(frame, body, theme);
    }

    /// The last child runs, at the bottom of `area`.
    fn draw_jobs(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let shown: Vec<&ChildJob> = self.jobs.iter().rev().take(2).collect();
        for (i, job) in shown.iter().rev().enumerate() {
            let y = area.height.saturating_sub(shown.len() as u16) + i as u16;
            if y >= area.height {
                continue;
            }
            let (glyph, color, state) = match (&job.child, &job.outcome) {
                (Some(child), _) => (
                    &theme.glyphs.running,
                    theme.colors.running,
                    format!("running (pid {})", child.id()),
                ),
                (None, Some(outcome)) => (&theme.glyphs.info, theme.colors.info, outcome.clone()),
                (None, None) => (&theme.glyphs.info, theme.colors.info, "ended".into()),
            };
            let text = format!(
                " {glyph} {}: {state} · log {}",
                job.label,
                job.log.display()
            );
            frame.render_widget(
                Paragraph::new(Span::styled(
                    clip(&text, area.width as usize),
                    theme.fg(color),
                )),
                row(area, y),
            );
        }
    }

    fn draw_question(&self, frame: &mut Frame, area: Rect, theme: &Theme, question: &Question) {
        let width = (question.text.chars().count() as u16 + 4).clamp(30, area.width);
        let dialog = layout::centered(area, width, 6);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Span::styled(
                format!(" {} ", question.kind.word()),
                theme.title(),
            ));
        let lines = vec![
            Line::from(Span::styled(question.text.clone(), theme.text())),
            Line::from(Span::styled(
                "Runs `jobdeck` as a child process; its log goes next to the journal.",
                theme.muted(),
            )),
            Line::default(),
            Line::from(vec![
                Span::styled("y", theme.accent().add_modifier(Modifier::BOLD)),
                Span::styled(" start   ", theme.muted()),
                Span::styled("n", theme.accent().add_modifier(Modifier::BOLD)),
                Span::styled(" cancel", theme.muted()),
            ]),
        ];
        frame.render_widget(Clear, dialog);
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(ratatui::widgets::Wrap { trim: true })
                .style(theme.base()),
            dialog,
        );
    }
}

impl View for HistoryView {
    fn handle(&mut self, action: &Action) -> Option<Action> {
        if let Some(question) = &self.question {
            match action {
                Action::Confirm => {
                    let (kind, id) = (question.kind, question.id);
                    self.question = None;
                    self.start_child(kind, id);
                }
                Action::Cancel => self.question = None,
                _ => {}
            }
            return None;
        }
        match self.mode {
            Mode::FlowFilter => {
                match action {
                    Action::InsertChar(c) => self.flow_filter.push(*c),
                    Action::Backspace => self.flow_filter.backspace(),
                    Action::ClearInput => self.flow_filter.clear(),
                    Action::Submit => self.mode = Mode::List,
                    Action::Cancel => {
                        self.flow_filter.clear();
                        self.mode = Mode::List;
                    }
                    _ => {}
                }
                self.cursor = self.cursor.min(self.visible().len().saturating_sub(1));
                None
            }
            Mode::List => self.list_action(action),
            Mode::Replay => self.replay_action(action),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        match (&self.mode, &self.open_run) {
            (Mode::Replay, Some(_)) => self.run.draw(frame, area, theme),
            _ => self.draw_list(frame, area, theme),
        }
        if let Some(question) = &self.question {
            self.draw_question(frame, area, theme, question);
        }
    }

    fn set_area(&mut self, area: Rect) {
        self.area = area;
        self.run.set_area(area);
    }

    fn key_contexts(&self) -> Vec<KeyContext> {
        if self.question.is_some() {
            return vec![KeyContext::Dialog];
        }
        match self.mode {
            Mode::FlowFilter => vec![KeyContext::Input],
            Mode::List => vec![KeyContext::History],
            // Playback keys first, then the Run view's own.
            Mode::Replay if self.run.captures_text() => self.run.key_contexts(),
            Mode::Replay => vec![KeyContext::Replay, KeyContext::Run],
        }
    }

    fn captures_text(&self) -> bool {
        self.question.is_none()
            && (self.mode == Mode::FlowFilter
                || (self.mode == Mode::Replay && self.run.captures_text()))
    }

    fn hints(&self) -> Vec<Hint> {
        if self.question.is_some() {
            return vec![
                Hint::new(Action::Confirm, "start"),
                Hint::new(Action::Cancel, "cancel"),
            ];
        }
        match self.mode {
            Mode::FlowFilter => vec![
                Hint::new(Action::Submit, "done"),
                Hint::new(Action::Cancel, "clear"),
            ],
            Mode::List => vec![
                Hint::new(Action::Submit, "open"),
                Hint::new(Action::Filter, "flow"),
                Hint::new(Action::CycleStatus, "status"),
                Hint::new(Action::CycleDate, "date"),
                Hint::new(Action::RerunFailed, "rerun failed"),
                Hint::new(Action::ResumeRun, "resume"),
            ],
            Mode::Replay => self.run.hints(),
        }
    }

    fn help_sections(&self) -> Vec<(&'static str, KeyContext)> {
        vec![
            ("History list", KeyContext::History),
            ("Replay", KeyContext::Replay),
            ("Run view (also in replay)", KeyContext::Run),
        ]
    }

    fn on_show(&mut self) {
        if !self.loading {
            self.refresh();
        }
    }
}

// ------------------------------------------------------------ helpers

fn row(area: Rect, y: u16) -> Rect {
    if y >= area.height {
        return Rect::new(area.x, area.y, area.width, 0);
    }
    Rect::new(area.x, area.y + y, area.width, 1)
}

/// How the child ended, with the last line of its log.
fn child_outcome(code: Option<i32>, log: &Path) -> String {
    let text = std::fs::read(log)
        .map(|bytes| {
            let start = bytes.len().saturating_sub(4096);
            clean_text(&bytes[start..])
        })
        .unwrap_or_default();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    let exit = match code {
        Some(0) => "finished".to_string(),
        Some(n) => format!("exited {n}"),
        None => "killed".to_string(),
    };
    if last.is_empty() {
        exit
    } else {
        format!("{exit}: {last}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playback_follows_an_injected_clock_at_each_speed() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut p = Playback::new(60_000);
        // Opens at the end, paused; playing from the end starts over.
        assert_eq!(p.position(), 60_000);
        p.toggle(at(0));
        assert!(p.is_playing());
        assert_eq!(p.position(), 0);
        p.tick(at(1_000));
        assert_eq!(p.position(), 1_000);
        // 10×: one more second of wall time is ten of the run.
        p.cycle_speed(at(1_000));
        assert_eq!(p.speed(), 10);
        p.tick(at(2_000));
        assert_eq!(p.position(), 11_000);
        // 100×: half a second is fifty seconds, and it stops at the end.
        p.cycle_speed(at(2_000));
        assert_eq!(p.speed(), 100);
        p.tick(at(2_300));
        assert_eq!(p.position(), 41_000);
        p.tick(at(2_500));
        assert_eq!(p.position(), 60_000);
        assert!(!p.is_playing());
        // Back to 1×.
        p.cycle_speed(at(3_000));
        assert_eq!(p.speed(), 1);
    }

    #[test]
    fn pause_and_seek_hold_the_playhead() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut p = Playback::new(40_000);
        p.toggle(at(0));
        p.tick(at(2_000));
        p.toggle(at(2_000));
        assert!(!p.is_playing());
        p.tick(at(9_000));
        assert_eq!(p.position(), 2_000, "paused: time passing changes nothing");
        assert_eq!(p.step(), 1_000);
        p.seek(p.step(), at(9_000));
        assert_eq!(p.position(), 3_000);
        p.seek(-10_000, at(9_000));
        assert_eq!(p.position(), 0);
        // Seeking while playing plays on from the new place.
        p.toggle(at(10_000));
        p.seek_to(20_000, at(10_000));
        p.tick(at(10_500));
        assert_eq!(p.position(), 20_500);
        p.seek(i64::MAX, at(10_500));
        assert_eq!(p.position(), 40_000);
        assert!(p.at_end());
    }

    #[test]
    fn child_command_lines() {
        let args = child_args(
            ChildKind::Rerun,
            7,
            Path::new("/j/journal.db"),
            &[PathBuf::from("/inv")],
        );
        assert_eq!(
            args,
            [
                "-i",
                "/inv",
                "--journal",
                "/j/journal.db",
                "rerun",
                "7",
                "--failed"
            ]
        );
        let args = child_args(ChildKind::Resume, 3, Path::new("j.db"), &[]);
        assert_eq!(args, ["--journal", "j.db", "resume", "3"]);
    }
}
