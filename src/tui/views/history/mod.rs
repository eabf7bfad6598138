//! The History view: the journal's instances, newest first, filtered by
//! flow (text), status and date; opening one shows the Run view in replay
//! mode (the same panes, on the final states) with a timeline that
//! re-streams the run with its original timing at 1×, 10× or 100×.
//!
//! - `runs`: the list, its filters and cursor.
//! - `replay`: a run opened in the Run view's replay mode.
//! - `playback`: the replay's playhead.
//! - `again`: reruns and resumes asked for here (the App starts them).
//! - `search`: the search box over the whole journal (`ctrl-f`).
//! - `draw`, `draw_search`: drawing the list, the search box's matches.
//!
//! Every journal read runs off the UI task and comes back as a `Message`;
//! a missing journal is never created. The list refreshes every `REFRESH`
//! while the view is shown; an open run that is not finished is re-read as well. The timeline keeps
//! the run's own gaps up to `journal::MAX_REPLAY_GAP_MS`, as
//! `jobdeck show --replay` does.

mod again;
mod draw;
mod draw_search;
mod playback;
mod replay;
mod runs;
mod search;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::layout::Rect;

use super::run::{self, RunView};
use super::{Hint, Update, View};
use crate::engine::events::{InstanceId, InstanceStatus};
use crate::journal::InstanceSummary;
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::key_names::KeyNames;
use crate::tui::keymap::KeyContext;
use crate::tui::run_store::SharedRunStore;
use crate::tui::tasks::history::{Advance, Built, Listing};
use crate::tui::tasks::run_session::AgainKind;
use crate::tui::theme::Theme;
use crate::tui::widgets::dialog::DialogKind;
use crate::tui::widgets::load_state::LoadState;
use crate::tui::widgets::scroll_list::ScrollList;
use crate::tui::widgets::text_box::TextInput;
pub use again::EndedRun;
pub use playback::{Playback, SPEEDS};
use replay::OpenRun;
use runs::DateFilter;
use search::JournalSearch;

/// How often the list (and an unfinished open run) is re-read.
pub const REFRESH: Duration = Duration::from_secs(2);

/// What the view's journal reads report.
#[derive(Debug)]
pub enum Message {
    Listed {
        generation: u64,
        result: Result<Option<Listing>, String>,
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
    /// The replay's Run view's own work.
    Run(run::Message),
    /// The search box's answer.
    Searched {
        generation: u64,
        result: Result<crate::tui::tasks::journal_search::JournalHits, String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    List,
    FlowFilter,
    Replay,
    /// The search box over the journal and its matches.
    Search,
}

pub struct HistoryView {
    journal: Option<PathBuf>,
    mode: Mode,
    /// `None` until the first read, `Some(None)` when there is no journal.
    rows: LoadState<Vec<InstanceSummary>>,
    /// Runs in the journal, whatever the filters pass.
    total_runs: usize,
    flow_filter: TextInput,
    status_filter: Option<InstanceStatus>,
    date_filter: DateFilter,
    list: ScrollList,
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
    search: JournalSearch,
    area: Rect,
    /// The keys texts name (a replay's, then the Run view's).
    keys: KeyNames,
}

impl Default for HistoryView {
    fn default() -> Self {
        HistoryView::new()
    }
}

impl HistoryView {
    /// The keymap texts take key names from.
    pub fn set_key_names(&mut self, keys: KeyNames) {
        self.run.set_key_names(keys.clone());
        self.keys = keys;
    }

    pub fn new() -> HistoryView {
        HistoryView {
            journal: None,
            mode: Mode::List,
            rows: LoadState::Loading,
            total_runs: 0,
            flow_filter: TextInput::default(),
            status_filter: None,
            date_filter: DateFilter::Any,
            list: ScrollList::default(),
            generation: 0,
            loading: false,
            last_refresh: None,
            open_run: None,
            run: RunView::new(),
            opening: None,
            build_generation: 0,
            playback: Playback::new(0),
            search: JournalSearch::default(),
            area: Rect::default(),
            keys: KeyNames::default().with_contexts(&[KeyContext::Replay, KeyContext::Run]),
        }
    }

    pub fn set_journal_path(&mut self, path: PathBuf) {
        self.run.set_journal(path.clone());
        self.journal = Some(path);
        self.rows = LoadState::Loading;
    }

    /// The id of the run open in replay.
    pub fn replay_id(&self) -> Option<InstanceId> {
        self.open_run.as_ref().map(|r| r.id)
    }

    /// The host under the cursor of the run open in replay.
    pub fn replay_cursor_host_name(&self) -> Option<String> {
        self.open_run.as_ref()?;
        self.run.cursor_host_name()
    }

    /// In a replay, the hosts a command box runs on (the Run view's rule).
    pub fn replay_selected_host_names(&self) -> Vec<String> {
        if self.replay_id().is_none() {
            return Vec::new();
        }
        self.run.selected_host_names()
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

    /// The search box's last answer for its query.
    pub fn search_found(&self) -> Option<&crate::tui::tasks::journal_search::JournalHits> {
        self.search.found.as_ref()?.as_ref().ok()
    }

    /// The search box or its matches are shown.
    pub fn searching_journal(&self) -> bool {
        self.mode == Mode::Search
    }

    pub fn playback(&self) -> &Playback {
        &self.playback
    }

    /// Time passes: playback moves, older lines are asked for, the list and
    /// an unfinished open run are re-read. True when something changed.
    pub fn tick(&mut self, now: Instant, shown: bool, fx: &mut Effects<Message>) -> bool {
        let mut changed = self.playback.tick(now);
        if changed {
            self.sync_replay(fx);
        }
        if shown && self.mode == Mode::Replay {
            let mut run_fx = Effects::new();
            changed |= self.run.request_older(&mut run_fx);
            changed |= self.run.refresh_from_store(&mut run_fx);
            fx.absorb(run_fx, Message::Run);
        }
        let due = self
            .last_refresh
            .is_none_or(|t| now.saturating_duration_since(t) >= REFRESH);
        if shown && due && !self.loading {
            self.refresh(fx);
            self.reread_unfinished(fx);
        }
        changed
    }
}

impl Update for HistoryView {
    type Message = Message;

    fn handle(&mut self, action: &Action, fx: &mut Effects<Message>) {
        match self.mode {
            Mode::FlowFilter => self.filter_action(action),
            Mode::List => self.list_action(action, fx),
            Mode::Replay => self.replay_action(action, fx),
            Mode::Search => self.search_action(action, fx),
        }
    }

    fn on_message(&mut self, message: Message, fx: &mut Effects<Message>) {
        match message {
            Message::Listed { generation, result } => {
                if generation == self.generation {
                    self.listed(result);
                }
            }
            Message::Built {
                id,
                generation,
                result,
            } => self.built(id, generation, result, fx),
            Message::Advanced {
                id,
                generation,
                result,
            } => self.advanced(id, generation, result, fx),
            Message::Run(message) => {
                let mut run_fx = Effects::new();
                self.run.on_message(message, &mut run_fx);
                fx.absorb(run_fx, Message::Run);
            }
            Message::Searched { generation, result } => self.searched(generation, result),
        }
    }

    fn answer(&mut self, kind: &DialogKind, action: &Action, fx: &mut Effects<Message>) {
        self.answered(kind, action, fx);
    }

    fn on_show(&mut self, fx: &mut Effects<Message>) {
        if !self.loading {
            self.refresh(fx);
        }
    }
}

impl View for HistoryView {
    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        match (&self.mode, &self.open_run) {
            (Mode::Replay, Some(_)) => self.run.draw(frame, area, theme),
            (Mode::Search, _) => self.draw_search(frame, area, theme),
            _ => self.draw_list(frame, area, theme),
        }
    }

    fn set_area(&mut self, area: Rect) {
        self.area = area;
        self.run.set_area(area);
        let count = self.visible().len();
        self.list.set_height(self.list_height(), count);
        let hits = self.search.hits().len();
        self.search.list.set_height(self.search_list_height(), hits);
    }

    fn key_contexts(&self) -> Vec<KeyContext> {
        match self.mode {
            Mode::FlowFilter => vec![KeyContext::Input],
            Mode::Search if self.search.typing => vec![KeyContext::Input],
            Mode::List | Mode::Search => vec![KeyContext::History],
            // Playback keys first, then the Run view's own.
            Mode::Replay if self.run.captures_text() => self.run.key_contexts(),
            Mode::Replay => vec![KeyContext::Replay, KeyContext::Run],
        }
    }

    fn captures_text(&self) -> bool {
        self.mode == Mode::FlowFilter
            || (self.mode == Mode::Search && self.search.typing)
            || (self.mode == Mode::Replay && self.run.captures_text())
    }

    fn hints(&self) -> Vec<Hint> {
        match self.mode {
            Mode::FlowFilter => vec![
                Hint::new(Action::Submit, "done"),
                Hint::new(Action::Cancel, "clear"),
            ],
            Mode::Search if self.search.typing => vec![
                Hint::new(Action::Submit, "to the matches"),
                Hint::new(Action::Cancel, "close"),
            ],
            Mode::Search => vec![
                Hint::new(Action::Submit, "open at the line"),
                Hint::pair(Action::Down, Action::Up, "move"),
                Hint::new(Action::SearchAll, "edit the search"),
                Hint::new(Action::Cancel, "close"),
            ],
            Mode::List => vec![
                Hint::new(Action::Submit, "open"),
                Hint::new(Action::Filter, "flow"),
                Hint::new(Action::CycleStatus, "status"),
                Hint::new(Action::CycleDate, "date"),
                Hint::new(Action::RerunFailed, "rerun failed"),
                Hint::new(Action::ResumeRun, "resume"),
                Hint::new(Action::SearchAll, "grep"),
            ],
            Mode::Replay => {
                // Only what would not be refused.
                let refused = |kind| {
                    self.replayed_run()
                        .is_none_or(|r| r.refusal(kind, &self.keys).is_some())
                };
                let mut hints = self.run.hints();
                hints.retain(|hint| match hint.actions.first() {
                    Some(Action::RerunFailed) => !refused(AgainKind::Rerun),
                    Some(Action::ResumeRun) => !refused(AgainKind::Resume),
                    _ => true,
                });
                hints
            }
        }
    }

    fn help_sections(&self) -> Vec<(&'static str, KeyContext)> {
        vec![
            ("History list", KeyContext::History),
            ("Replay", KeyContext::Replay),
            ("Run view (also in replay)", KeyContext::Run),
        ]
    }
}
