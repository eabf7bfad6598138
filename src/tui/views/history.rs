//! The History view: the journal's instances, newest first, filtered by
//! flow (text), status and date; opening one shows a replay pane with the
//! hosts' final states and their output, and a timeline that re-streams
//! the output with its original timing at 1×, 10× or 100×.
//!
//! - Every journal read runs through `Background` (a blocking thread), and
//!   arrives as a `HistoryMessage`. A missing journal is never created: the
//!   list stays empty with a note.
//! - The list refreshes every `REFRESH` while the view is shown; an open
//!   run that is not finished is re-read as well, so a run in progress (or
//!   one started from here) fills in.
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
use std::time::{Duration, Instant};

use chrono::{Local, TimeZone};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::background::Background;
use super::{Hint, View};
use crate::commands::history::MAX_REPLAY_GAP_MS;
use crate::engine::events::{
    HostStatus, InstanceId, InstanceStatus, StepIndex, Stream, UnixMillis, now_millis,
};
use crate::journal::{Chunk, InstanceDetail, InstanceFilter, InstanceSummary, Journal};
use crate::report::sanitize::clean_text;
use crate::tui::action::Action;
use crate::tui::app::{AppMessage, StatusLevel};
use crate::tui::input::TextInput;
use crate::tui::keymap::KeyContext;
use crate::tui::layout::{self, WIDE};
use crate::tui::theme::Theme;

/// How often the list (and an unfinished open run) is re-read.
pub const REFRESH: Duration = Duration::from_secs(2);
/// Rows fetched from the journal; filters apply before the limit.
const LIST_LIMIT: usize = 500;
/// Output kept for one replay; past this the rest is left in the journal.
const REPLAY_OUTPUT_CAP: usize = 16 * 1024 * 1024;
/// Playback speeds, cycled with `x`.
pub const SPEEDS: [i64; 3] = [1, 10, 100];

/// What the journal reads send back.
#[derive(Debug)]
pub enum HistoryMessage {
    Listed {
        generation: u64,
        result: Result<Option<Vec<InstanceSummary>>, String>,
    },
    Opened {
        id: InstanceId,
        result: Result<Box<Replay>, String>,
    },
    ChildFinished {
        label: String,
        tail: String,
    },
}

// ------------------------------------------------------------ timeline

/// Maps the run's wall-clock times onto a replay timeline where no gap is
/// longer than `max_gap`. Times are kept sorted; a time between two known
/// ones keeps its distance to the earlier, up to the gap.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    real: Vec<UnixMillis>,
    mapped: Vec<i64>,
    max_gap: i64,
}

impl Timeline {
    pub fn new(mut times: Vec<UnixMillis>, max_gap: i64) -> Timeline {
        times.sort_unstable();
        times.dedup();
        let mut mapped = Vec::with_capacity(times.len());
        for (i, t) in times.iter().enumerate() {
            let previous = if i == 0 {
                0
            } else {
                mapped[i - 1] + (t - times[i - 1]).min(max_gap)
            };
            mapped.push(previous);
        }
        Timeline {
            real: times,
            mapped,
            max_gap,
        }
    }

    /// Milliseconds into the replay of a real time.
    pub fn map(&self, at: UnixMillis) -> i64 {
        match self.real.partition_point(|&t| t <= at) {
            0 => 0,
            n => self.mapped[n - 1] + (at - self.real[n - 1]).min(self.max_gap),
        }
    }

    pub fn duration(&self) -> i64 {
        self.mapped.last().copied().unwrap_or(0)
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Stdout,
    Stderr,
    /// `── step 2/5: start ──`, where a host moves to a step.
    Step,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayLine {
    /// Milliseconds into the timeline.
    pub at: i64,
    pub kind: LineKind,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayHost {
    pub name: String,
    pub status: HostStatus,
    pub exit_code: Option<i32>,
    pub error: Option<String>,
    pub batch: Option<usize>,
    /// Timeline positions where it started and finished.
    pub started: Option<i64>,
    pub finished: Option<i64>,
    /// Real run time, for the list.
    pub took_ms: Option<i64>,
    pub lines: Vec<ReplayLine>,
}

impl ReplayHost {
    /// Where the host stood at a point of the timeline.
    pub fn status_at(&self, position: i64, end: i64) -> HostStatus {
        if position >= end {
            return self.status;
        }
        match (self.started, self.finished) {
            (Some(start), _) if position < start => HostStatus::Pending,
            (None, _) => HostStatus::Pending,
            (Some(_), Some(done)) if position >= done => self.status,
            _ => HostStatus::Running,
        }
    }
}

/// One instance, read from the journal and laid out for replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub id: InstanceId,
    pub flow: String,
    pub status: InstanceStatus,
    pub reason: Option<String>,
    pub steps: Vec<String>,
    pub hosts: Vec<ReplayHost>,
    pub timeline: Timeline,
    /// Output past `REPLAY_OUTPUT_CAP` was left out.
    pub cut: bool,
}

impl Replay {
    pub fn failed_hosts(&self) -> usize {
        self.hosts
            .iter()
            .filter(|h| {
                h.status.is_failure()
                    || matches!(h.status, HostStatus::Cancelled | HostStatus::Interrupted)
            })
            .count()
    }

    /// Builds the replay from an instance and its output in arrival order.
    pub fn build(detail: &InstanceDetail, chunks: &[Chunk], cut: bool) -> Replay {
        let record = &detail.instance;
        let mut times: Vec<UnixMillis> = chunks.iter().map(|c| c.at).collect();
        times.extend(record.started_at.or(Some(record.created_at)));
        for h in &detail.hosts {
            times.extend(h.started_at);
            times.extend(h.finished_at);
        }
        times.extend(record.finished_at);
        let timeline = Timeline::new(times, MAX_REPLAY_GAP_MS);
        let mut hosts: Vec<ReplayHost> = detail
            .hosts
            .iter()
            .map(|h| ReplayHost {
                name: h.name.clone(),
                status: h.status,
                exit_code: h.exit_code,
                error: h.error.clone(),
                batch: h.batch,
                started: h.started_at.map(|t| timeline.map(t)),
                finished: h.finished_at.map(|t| timeline.map(t)),
                took_ms: h.started_at.zip(h.finished_at).map(|(s, f)| f - s),
                lines: Vec::new(),
            })
            .collect();
        // Per host: the step its last line belonged to, and unfinished lines per stream.
        let mut last_step: Vec<Option<StepIndex>> = vec![None; hosts.len()];
        let mut partial: Vec<[String; 2]> = vec![Default::default(); hosts.len()];
        let steps = &detail.steps;
        for chunk in chunks {
            let Some(host) = hosts.get_mut(chunk.host) else {
                continue;
            };
            let at = timeline.map(chunk.at);
            if last_step[chunk.host] != Some(chunk.step) {
                flush_partial(host, &mut partial[chunk.host], at);
                last_step[chunk.host] = Some(chunk.step);
                let name = steps.get(chunk.step).map_or("?", |s| s.as_str());
                host.lines.push(ReplayLine {
                    at,
                    kind: LineKind::Step,
                    text: format!("── step {}/{}: {name} ──", chunk.step + 1, steps.len()),
                });
            }
            let (slot, kind) = match chunk.stream {
                Stream::Stdout => (0, LineKind::Stdout),
                Stream::Stderr => (1, LineKind::Stderr),
            };
            let text = clean_text(&chunk.data);
            let pending = &mut partial[chunk.host][slot];
            pending.push_str(&text);
            while let Some(newline) = pending.find('\n') {
                let line: String = pending.drain(..=newline).collect();
                host.lines.push(ReplayLine {
                    at,
                    kind,
                    text: line.trim_end_matches(['\n', '\r']).to_string(),
                });
            }
        }
        let end = timeline.duration();
        for (host, pending) in hosts.iter_mut().zip(&mut partial) {
            flush_partial(host, pending, end);
        }
        Replay {
            id: record.id,
            flow: record.flow.clone(),
            status: record.status,
            reason: record.reason.clone(),
            steps: detail.steps.clone(),
            hosts,
            timeline,
            cut,
        }
    }
}

fn flush_partial(host: &mut ReplayHost, pending: &mut [String; 2], at: i64) {
    for (slot, kind) in [(0, LineKind::Stdout), (1, LineKind::Stderr)] {
        if !pending[slot].is_empty() {
            host.lines.push(ReplayLine {
                at,
                kind,
                text: std::mem::take(&mut pending[slot]),
            });
        }
    }
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

fn open(path: &Path, id: InstanceId) -> Result<Box<Replay>, String> {
    let journal =
        open_existing(path)?.ok_or_else(|| format!("no journal at {}", path.display()))?;
    let detail = journal
        .instance(id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no run {id} in the journal"))?;
    let mut chunks = Vec::new();
    let mut bytes = 0usize;
    let mut cut = false;
    journal
        .for_each_output(id, None, None, |chunk| {
            if bytes + chunk.data.len() > REPLAY_OUTPUT_CAP {
                cut = true;
                return;
            }
            bytes += chunk.data.len();
            chunks.push(chunk);
        })
        .map_err(|e| e.to_string())?;
    Ok(Box::new(Replay::build(&detail, &chunks, cut)))
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
    replay: Option<Box<Replay>>,
    opening: Option<InstanceId>,
    playback: Playback,
    host_cursor: usize,
    /// Lines scrolled up from the tail of the output pane.
    output_scroll: usize,
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
            replay: None,
            opening: None,
            playback: Playback::new(0),
            host_cursor: 0,
            output_scroll: 0,
            question: None,
            jobs: Vec::new(),
            status: None,
            area: Rect::default(),
        }
    }

    pub fn set_background(&mut self, background: Background) {
        self.background = background;
    }

    pub fn set_journal_path(&mut self, path: PathBuf) {
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

    pub fn replay(&self) -> Option<&Replay> {
        self.replay.as_deref()
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
        let Some(path) = self.journal.clone() else {
            return;
        };
        self.opening = Some(id);
        let done = self.background.run(
            move || HistoryMessage::Opened {
                id,
                result: open(&path, id),
            },
            AppMessage::History,
        );
        if let Some(message) = done {
            self.on_message(message);
        }
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
            HistoryMessage::Opened { id, result } => {
                if self.opening != Some(id) {
                    return None;
                }
                self.opening = None;
                match result {
                    Ok(replay) => {
                        let same = self.replay.as_ref().is_some_and(|r| r.id == id);
                        if same {
                            self.playback.set_duration(replay.timeline.duration());
                        } else {
                            self.playback = Playback::new(replay.timeline.duration());
                            self.host_cursor = 0;
                            self.output_scroll = 0;
                        }
                        self.host_cursor =
                            self.host_cursor.min(replay.hosts.len().saturating_sub(1));
                        self.replay = Some(replay);
                        self.mode = Mode::Replay;
                    }
                    Err(e) => return Some((StatusLevel::Error, e)),
                }
            }
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
        changed |= self.reap_children();
        let due = self
            .last_refresh
            .is_none_or(|t| now.saturating_duration_since(t) >= REFRESH);
        let busy = self.jobs.iter().any(|j| j.child.is_some());
        if (shown || busy) && due && !self.loading {
            self.refresh();
            if let Some(replay) = &self.replay
                && !replay.status.is_final()
                && self.opening.is_none()
            {
                let id = replay.id;
                self.open(id);
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
        let (id, flow, status, failed) = match (&self.mode, &self.replay) {
            (Mode::Replay, Some(r)) => (r.id, r.flow.clone(), r.status, r.failed_hosts()),
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
        let hosts = self.replay.as_ref().map_or(0, |r| r.hosts.len());
        match action {
            Action::Up => {
                self.host_cursor = self.host_cursor.saturating_sub(1);
                self.output_scroll = 0;
            }
            Action::Down => {
                self.host_cursor = (self.host_cursor + 1).min(hosts.saturating_sub(1));
                self.output_scroll = 0;
            }
            Action::PageUp | Action::ScrollUp { .. } => self.output_scroll += 10,
            Action::PageDown | Action::ScrollDown { .. } => {
                self.output_scroll = self.output_scroll.saturating_sub(10)
            }
            Action::PlayPause => self.playback.toggle(now),
            Action::CycleSpeed => self.playback.cycle_speed(now),
            Action::SeekBack => self.playback.seek(-self.playback.step(), now),
            Action::SeekForward => self.playback.seek(self.playback.step(), now),
            Action::Top => self.playback.seek_to(0, now),
            Action::Bottom => self.playback.seek_to(i64::MAX, now),
            Action::RerunFailed => self.ask(ChildKind::Rerun),
            Action::ResumeRun => self.ask(ChildKind::Resume),
            Action::Cancel => {
                self.mode = Mode::List;
                self.replay = None;
                self.refresh();
            }
            _ => {}
        }
        None
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
            Paragraph::new(Span::styled(fit(&header, width), theme.muted())),
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
            let (glyph, color) = instance_style(theme, summary.status);
            let hosts = if summary.hosts_failed > 0 {
                format!(
                    "{}/{} ok {}✘",
                    summary.hosts_ok, summary.hosts_total, summary.hosts_failed
                )
            } else {
                format!("{}/{} ok", summary.hosts_ok, summary.hosts_total)
            };
            let created = local_time(summary.created_at);
            let took = match (summary.started_at, summary.finished_at) {
                (Some(s), Some(f)) => format_span(f - s),
                (Some(s), None) if !summary.status.is_final() => {
                    format!("{}…", format_span(now_millis() - s))
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
                    fit(&text, area.width as usize),
                    theme.fg(color),
                )),
                row(area, y),
            );
        }
    }

    fn draw_replay(&self, frame: &mut Frame, area: Rect, theme: &Theme, replay: &Replay) {
        let (glyph, color) = instance_style(theme, replay.status);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Line::from(vec![
                Span::styled(
                    format!(" Run #{} · {} · ", replay.id, replay.flow),
                    theme.title(),
                ),
                Span::styled(
                    format!("{glyph} {} ", replay.status.as_str()),
                    theme.fg(color),
                ),
            ]));
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        if inner.height < 4 || inner.width < 20 {
            return;
        }
        // Summary line, scrubber at the bottom, hosts and output between.
        let end = replay.timeline.duration();
        let position = self.playback.position();
        let failed = replay.failed_hosts();
        let ok = replay
            .hosts
            .iter()
            .filter(|h| h.status == HostStatus::Ok)
            .count();
        let mut summary = format!(
            " {} hosts · {ok} ok · {failed} failed · {} steps",
            replay.hosts.len(),
            replay.steps.len()
        );
        if let Some(reason) = &replay.reason {
            summary.push_str(&format!(" · {reason}"));
        }
        if replay.cut {
            summary.push_str(" · output cut for replay");
        }
        frame.render_widget(
            Paragraph::new(Span::styled(
                fit(&summary, inner.width as usize),
                theme.muted(),
            )),
            row(inner, 0),
        );
        self.draw_scrubber(frame, row(inner, inner.height - 1), theme, end);
        let middle = Rect::new(inner.x, inner.y + 1, inner.width, inner.height - 2);
        let (hosts_area, output_area) = if area.width >= WIDE {
            let w = (middle.width / 3).clamp(24, 40);
            (
                Rect::new(middle.x, middle.y, w, middle.height),
                Rect::new(middle.x + w, middle.y, middle.width - w, middle.height),
            )
        } else {
            let h = (replay.hosts.len() as u16 + 2)
                .min(middle.height / 3)
                .max(3);
            (
                Rect::new(middle.x, middle.y, middle.width, h),
                Rect::new(middle.x, middle.y + h, middle.width, middle.height - h),
            )
        };
        self.draw_hosts(frame, hosts_area, theme, replay, position, end);
        self.draw_output(frame, output_area, theme, replay, position, end);
    }

    fn draw_hosts(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        replay: &Replay,
        position: i64,
        end: i64,
    ) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(false))
            .title(Span::styled(" Hosts ", theme.title()));
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        let height = inner.height as usize;
        if height == 0 {
            return;
        }
        let first = self.host_cursor.saturating_sub(height.saturating_sub(1));
        for (i, host) in replay.hosts.iter().enumerate().skip(first).take(height) {
            let status = host.status_at(position, end);
            let (glyph, color) = host_style(theme, status);
            let detail = match (status.is_final(), host.exit_code, host.took_ms) {
                (true, Some(code), Some(ms)) if code != 0 => {
                    format!("exit {code} {}", format_span(ms))
                }
                (true, _, Some(ms)) => format_span(ms),
                _ => String::new(),
            };
            let name_width = (inner.width as usize).saturating_sub(4 + detail.chars().count());
            let mut line = Line::from(vec![
                Span::styled(format!(" {glyph} "), theme.fg(color)),
                Span::styled(
                    format!("{:<name_width$}", clip(&host.name, name_width)),
                    theme.text(),
                ),
                Span::styled(detail, theme.muted()),
            ]);
            if i == self.host_cursor {
                line = line.style(theme.selection());
            }
            frame.render_widget(Paragraph::new(line), row(inner, (i - first) as u16));
        }
    }

    fn draw_output(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        replay: &Replay,
        position: i64,
        end: i64,
    ) {
        let Some(host) = replay.hosts.get(self.host_cursor) else {
            return;
        };
        let status = host.status_at(position, end);
        let (glyph, color) = host_style(theme, status);
        let mut title = vec![
            Span::styled(format!(" {} ", host.name), theme.title()),
            Span::styled(format!("{glyph} {} ", status_word(status)), theme.fg(color)),
        ];
        if status.is_final()
            && let Some(code) = host.exit_code
        {
            title.push(Span::styled(format!("exit {code} "), theme.muted()));
        }
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Line::from(title));
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        let height = inner.height as usize;
        let shown: Vec<&ReplayLine> = host.lines.iter().filter(|l| l.at <= position).collect();
        let mut lines: Vec<Line> = Vec::new();
        let last = shown
            .len()
            .saturating_sub(self.output_scroll.min(shown.len()));
        let first = last.saturating_sub(height);
        for line in &shown[first..last] {
            lines.push(match line.kind {
                LineKind::Stdout => Line::from(vec![
                    Span::styled("  ", theme.muted()),
                    Span::styled(line.text.clone(), theme.text()),
                ]),
                LineKind::Stderr => Line::from(vec![
                    Span::styled("▌ ", theme.fg(theme.colors.stderr)),
                    Span::styled(line.text.clone(), theme.fg(theme.colors.stderr)),
                ]),
                LineKind::Step => Line::from(Span::styled(line.text.clone(), theme.accent())),
            });
        }
        if shown.is_empty() {
            let note = if host.lines.is_empty() {
                match &host.error {
                    Some(e) => format!("no output · {e}"),
                    None => "no output".to_string(),
                }
            } else {
                "no output yet at this point of the timeline".to_string()
            };
            lines.push(Line::from(Span::styled(note, theme.muted())));
        } else if status.is_final()
            && let Some(e) = &host.error
            && self.output_scroll == 0
        {
            lines.push(Line::from(Span::styled(
                format!("{} {e}", theme.glyphs.error),
                theme.fg(theme.colors.error),
            )));
            if lines.len() > height {
                lines.remove(0);
            }
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn draw_scrubber(&self, frame: &mut Frame, area: Rect, theme: &Theme, end: i64) {
        let position = self.playback.position();
        let state = if self.playback.is_playing() {
            "▶"
        } else {
            "⏸"
        };
        let left = format!(
            " {state} {:>3}×  {} ",
            self.playback.speed(),
            format_clock(position)
        );
        let right = format!(" {} ", format_clock(end));
        let room =
            (area.width as usize).saturating_sub(left.chars().count() + right.chars().count());
        let filled = if end > 0 {
            ((position as f64 / end as f64) * room as f64).round() as usize
        } else {
            room
        }
        .min(room);
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
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
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
        match (&self.mode, &self.replay) {
            (Mode::Replay, Some(replay)) => self.draw_replay(frame, area, theme, replay),
            _ => self.draw_list(frame, area, theme),
        }
        if let Some(question) = &self.question {
            self.draw_question(frame, area, theme, question);
        }
    }

    fn set_area(&mut self, area: Rect) {
        self.area = area;
    }

    fn key_contexts(&self) -> Vec<KeyContext> {
        if self.question.is_some() {
            return vec![KeyContext::Dialog];
        }
        match self.mode {
            Mode::FlowFilter => vec![KeyContext::Input],
            Mode::List => vec![KeyContext::History],
            Mode::Replay => vec![KeyContext::Replay],
        }
    }

    fn captures_text(&self) -> bool {
        self.mode == Mode::FlowFilter && self.question.is_none()
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
            Mode::Replay => vec![
                Hint::new(Action::PlayPause, "play"),
                Hint::new(Action::CycleSpeed, "speed"),
                Hint::pair(Action::SeekBack, Action::SeekForward, "seek"),
                Hint::pair(Action::Down, Action::Up, "host"),
                Hint::new(Action::RerunFailed, "rerun failed"),
                Hint::new(Action::ResumeRun, "resume"),
                Hint::new(Action::Cancel, "back"),
            ],
        }
    }

    fn help_sections(&self) -> Vec<(&'static str, KeyContext)> {
        vec![
            ("History list", KeyContext::History),
            ("Replay", KeyContext::Replay),
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

/// At most `width` characters, `…` when cut.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

fn fit(text: &str, width: usize) -> String {
    clip(text, width)
}

fn local_time(at: UnixMillis) -> String {
    Local
        .timestamp_millis_opt(at)
        .single()
        .map_or_else(|| "?".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// `850ms`, `12.3s`, `4m05s`, `2h03m`.
pub fn format_span(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60)
    }
}

/// A timeline position, `m:ss.t`.
pub fn format_clock(ms: i64) -> String {
    let ms = ms.max(0);
    format!("{}:{:02}.{}", ms / 60_000, ms / 1000 % 60, ms / 100 % 10)
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

pub fn status_word(status: HostStatus) -> &'static str {
    match status {
        HostStatus::Pending => "pending",
        HostStatus::Connecting => "connecting",
        HostStatus::Running => "running",
        HostStatus::Ok => "ok",
        HostStatus::Failed => "failed",
        HostStatus::TimedOut => "timed out",
        HostStatus::Unreachable => "unreachable",
        HostStatus::AuthFailed => "auth failed",
        HostStatus::HostKeyRejected => "host key rejected",
        HostStatus::Cancelled => "cancelled",
        HostStatus::Skipped => "skipped",
        HostStatus::RolledBack => "rolled back",
        HostStatus::Interrupted => "interrupted",
    }
}

/// A host state's glyph and colour, by the theme's names.
pub fn host_style(theme: &Theme, status: HostStatus) -> (&str, Color) {
    let g = &theme.glyphs;
    let c = &theme.colors;
    match status {
        HostStatus::Pending => (&g.pending, c.pending),
        HostStatus::Connecting => (&g.connecting, c.connecting),
        HostStatus::Running => (&g.running, c.running),
        HostStatus::Ok => (&g.ok, c.ok),
        HostStatus::Failed
        | HostStatus::AuthFailed
        | HostStatus::HostKeyRejected
        | HostStatus::RolledBack => (&g.failed, c.failed),
        HostStatus::TimedOut => (&g.timed_out, c.timed_out),
        HostStatus::Unreachable => (&g.unreachable, c.unreachable),
        HostStatus::Cancelled | HostStatus::Skipped => (&g.skipped, c.skipped),
        HostStatus::Interrupted => (&g.timed_out, c.warning),
    }
}

pub fn instance_style(theme: &Theme, status: InstanceStatus) -> (&str, Color) {
    let g = &theme.glyphs;
    let c = &theme.colors;
    match status {
        InstanceStatus::Running => (&g.running, c.running),
        InstanceStatus::Waiting => (&g.connecting, c.pending),
        InstanceStatus::Paused => (&g.pending, c.warning),
        InstanceStatus::Ok => (&g.ok, c.ok),
        InstanceStatus::Failed => (&g.failed, c.failed),
        InstanceStatus::Aborted => (&g.unreachable, c.failed),
        InstanceStatus::Interrupted => (&g.timed_out, c.warning),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_shortens_long_gaps_only() {
        let t = Timeline::new(vec![1_000, 1_500, 10_000_000, 10_000_200], 5_000);
        assert_eq!(t.map(1_000), 0);
        assert_eq!(t.map(1_500), 500);
        assert_eq!(t.map(1_700), 700);
        // The two-hour gap becomes five seconds.
        assert_eq!(t.map(9_000_000), 5_500);
        assert_eq!(t.map(10_000_000), 5_500);
        assert_eq!(t.map(10_000_200), 5_700);
        assert_eq!(t.duration(), 5_700);
        assert_eq!(t.map(0), 0);
        assert_eq!(Timeline::new(Vec::new(), 5_000).duration(), 0);
    }

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
    fn hosts_show_their_state_at_the_playhead() {
        let host = ReplayHost {
            name: "web01".into(),
            status: HostStatus::Failed,
            exit_code: Some(3),
            error: None,
            batch: Some(0),
            started: Some(100),
            finished: Some(900),
            took_ms: Some(800),
            lines: Vec::new(),
        };
        assert_eq!(host.status_at(50, 1_000), HostStatus::Pending);
        assert_eq!(host.status_at(500, 1_000), HostStatus::Running);
        assert_eq!(host.status_at(950, 1_000), HostStatus::Failed);
        assert_eq!(host.status_at(1_000, 1_000), HostStatus::Failed);
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

    #[test]
    fn spans_and_clocks() {
        assert_eq!(format_span(850), "850ms");
        assert_eq!(format_span(12_340), "12.3s");
        assert_eq!(format_span(245_000), "4m05s");
        assert_eq!(format_span(7_380_000), "2h03m");
        assert_eq!(format_clock(83_450), "1:23.4");
    }
}
