//! The console's state: which view is shown, the views themselves, the
//! shared dialog, the help overlay and the status line. Terminal events
//! become `Action`s through the keymap (`keys`); background work reports
//! `AppMessage`s; every view answers through `Effects`, which the App
//! carries out in one place (`carry_out`). `draw` takes `&self`, so drawing
//! can never change what is shown next.
//!
//! - `keys`: terminal events to actions.
//! - `run_control`: the runs this console starts: starting one, its
//!   controls and questions, its end, quitting with runs active.
//! - `runs`: the list of runs the Run view switches between.
//! - `passphrase`: encrypted keys' passphrases, asked one at a time.
//! - `secret_params`: the secret params a rerun or resume needs, asked
//!   before it is launched again with them.
//! - `guard`: the word a guard confirm rule waits for.
//! - `command`: the `:` box, one command on the selection as a run.
//! - `chrome`: the title bar, status line, footer and help overlay.

mod chrome;
mod command;
mod guard;
mod keys;
pub mod passphrase;
mod run_control;
mod runs;
pub mod secret_params;
mod shell;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use ratatui::layout::Rect;
use tokio::sync::mpsc;

use super::action::{Action, ViewId};
use super::effects::{AppRequest, Effect, Effects, StatusLevel};
use super::key_names::KeyNames;
use super::keymap::{KeyContext, Keymap};
use super::layout::Screen;
use super::message::AppMessage;
use super::run_store::SharedRunStore;
use super::tasks::Tasks;
use super::tasks::run_session::AgainKind;
use super::theme::Theme;
use super::views::flows::FlowsView;
use super::views::history::{EndedRun, HistoryView};
use super::views::inventory::InventoryView;
use super::views::planner::PlannerView;
use super::views::run::RunView;
use super::views::schedules::SchedulesView;
use super::views::{Update, View};
use super::widgets::dialog::{Dialog, DialogKind};
use crate::flow::catalog::Catalog;
use crate::inventory::Inventory;
use crate::plan::RunSpec;
use passphrase::PassphraseQueue;
use secret_params::SecretParamsQueue;

#[derive(Debug, Clone, PartialEq)]
struct Status {
    level: StatusLevel,
    text: String,
    /// Wall-clock time the message arrived, HH:MM:SS.
    at: String,
}

/// Follow-up actions carried out in one go, at most: the bound only
/// guards against a cycle.
const FOLLOW_UPS: usize = 16;

pub struct App {
    theme: Theme,
    keymap: Keymap,
    view: ViewId,
    inventory: InventoryView,
    planner: PlannerView,
    run: RunView,
    history: HistoryView,
    flows: FlowsView,
    schedules: SchedulesView,
    /// The shared dialog: a question that has the keyboard until answered,
    /// and the view that asked it (`None`: the App).
    dialog: Option<(Dialog, Option<ViewId>)>,
    /// Passphrase questions, asked one at a time in the dialog.
    passphrases: PassphraseQueue,
    /// Reruns and resumes waiting for their secret params, asked one at a
    /// time in the dialog.
    secret_params: SecretParamsQueue,
    /// What is typed for the guard's confirm rules, and what was answered.
    guard: guard::GuardAnswer,
    /// The run the planner asked to start, while the start dialog is open.
    pending_spec: Option<RunSpec>,
    /// The command box the start dialog came from (`:`): `n` goes back to it.
    pending_command: Option<crate::tui::widgets::command_box::CommandBox>,
    /// Its hosts' pre-flight (results and connections) for the run to take.
    pending_preflight: Option<crate::tui::tasks::preflight::Checked>,
    /// The Planner's pre-flight is running: the start dialog follows it.
    checking_preflight: bool,
    /// The runs this console shows: live ones and ended ones still listed.
    runs: runs::RunList,
    /// Quit once every live run has ended (after abort or detach).
    quit_after_run: bool,
    /// Quit was asked while a run was still starting: ask again once it
    /// has started (or quit if it never does).
    quit_when_started: bool,
    /// The last operator question the shown run raised, so it is asked once.
    asked: Option<DialogKind>,
    /// The run store revision last drawn.
    drawn_revision: Option<u64>,
    /// The journal runs are recorded in; `None`: the default path.
    journal: Option<PathBuf>,
    /// Where the catalog is read: the inventory's sources and the
    /// directory the console runs in.
    catalog_places: Option<(Vec<PathBuf>, PathBuf)>,
    /// The help overlay's scroll position, while it is open.
    help: Option<usize>,
    status: Option<Status>,
    size: Rect,
    quit: bool,
    suspend: bool,
    /// Connections kept between this console's runs.
    warm: Option<crate::preflight::WarmPool>,
    /// The command box (`:`) while it is open, and the commands typed in
    /// this session.
    command: Option<crate::tui::widgets::command_box::CommandBox>,
    command_history: crate::tui::widgets::command_box::CommandHistory,
    /// Output bytes a run started here keeps in memory (`[tui] output_mib`).
    output_budget: usize,
    /// A shell the user asked for (`s`), for the event loop to run.
    shell: Option<crate::tui::tasks::shell::ShellRequest>,
    dirty: bool,
    /// Actions views asked for, to apply after the current one.
    follow_ups: VecDeque<Action>,
    /// Where work runs; without a channel it runs inline (tests).
    tasks: Tasks<AppMessage>,
    /// Replaces the wall clock in the status line (tests).
    fixed_clock: Option<String>,
}

/// Runs `$body` on the view `$id` with a fresh `Effects` named `$fx`, then
/// carries its effects out, its messages wrapped as that view's.
macro_rules! with_view {
    ($app:expr, $id:expr, |$v:ident, $fx:ident| $body:expr) => {
        match $id {
            ViewId::Inventory => {
                let mut $fx = Effects::new();
                let $v = &mut $app.inventory;
                $body;
                $app.carry_out($fx, AppMessage::Inventory, Some(ViewId::Inventory));
            }
            ViewId::Flows => {
                let mut $fx = Effects::new();
                let $v = &mut $app.flows;
                $body;
                $app.carry_out($fx, AppMessage::Flows, Some(ViewId::Flows));
            }
            ViewId::Planner => {
                let mut $fx = Effects::new();
                let $v = &mut $app.planner;
                $body;
                $app.carry_out($fx, AppMessage::Planner, Some(ViewId::Planner));
            }
            ViewId::Run => {
                let mut $fx = Effects::new();
                let $v = &mut $app.run;
                $body;
                $app.carry_out($fx, AppMessage::Run, Some(ViewId::Run));
            }
            ViewId::History => {
                let mut $fx = Effects::new();
                let $v = &mut $app.history;
                $body;
                $app.carry_out($fx, AppMessage::History, Some(ViewId::History));
            }
            ViewId::Schedules => {
                let mut $fx = Effects::new();
                let $v = &mut $app.schedules;
                $body;
                $app.carry_out($fx, AppMessage::Schedules, Some(ViewId::Schedules));
            }
        }
    };
}

impl App {
    pub fn new(theme: Theme, keymap: Keymap) -> App {
        // Texts that name keys take them from the keymap in use.
        let keys = KeyNames::new(std::sync::Arc::new(keymap.clone()), &[KeyContext::Run]);
        let mut run = RunView::new();
        run.set_key_names(keys.clone());
        let mut history = HistoryView::new();
        history.set_key_names(keys.with_contexts(&[KeyContext::Replay, KeyContext::Run]));
        let mut flows = FlowsView::new();
        flows.set_key_names(keys.clone());
        App {
            theme,
            keymap,
            view: ViewId::Inventory,
            inventory: InventoryView::new(),
            planner: PlannerView::new(),
            run,
            history,
            flows,
            schedules: SchedulesView::new(),
            dialog: None,
            passphrases: PassphraseQueue::default(),
            secret_params: SecretParamsQueue::default(),
            guard: guard::GuardAnswer::default(),
            pending_spec: None,
            pending_command: None,
            pending_preflight: None,
            checking_preflight: false,
            runs: runs::RunList::default(),
            quit_after_run: false,
            quit_when_started: false,
            asked: None,
            drawn_revision: None,
            journal: None,
            catalog_places: None,
            help: None,
            status: None,
            size: Rect::default(),
            quit: false,
            suspend: false,
            shell: None,
            command: None,
            command_history: Default::default(),
            warm: None,
            output_budget: crate::tui::run_store::OUTPUT_BUDGET_BYTES,
            dirty: true,
            follow_ups: VecDeque::new(),
            tasks: Tasks::default(),
            fixed_clock: None,
        }
    }

    /// Work runs off the UI task and reports through `tasks`.
    pub fn set_task_sender(&mut self, tasks: mpsc::Sender<AppMessage>) {
        self.tasks = Tasks::new(tasks);
    }

    /// The journal History and Schedules read (`--journal`, else the default path).
    pub fn set_journal_path(&mut self, path: PathBuf) {
        self.schedules.set_journal_path(path.clone());
        self.run.set_journal(path.clone());
        self.history.set_journal_path(path);
    }

    /// Where runs are recorded; `None` means the default journal.
    pub fn set_journal(&mut self, journal: Option<PathBuf>) {
        if let Some(path) = &journal {
            self.run.set_journal(path.clone());
        }
        self.journal = journal;
    }

    /// Runs keep their connections here for the next run on the same hosts.
    pub fn set_warm_pool(&mut self, warm: crate::preflight::WarmPool) {
        self.warm = Some(warm);
    }

    /// Output bytes a run started here keeps in memory, over all its hosts.
    pub fn set_output_budget(&mut self, bytes: usize) {
        self.output_budget = bytes;
    }

    /// Where saved files go instead of the current directory (tests).
    pub fn set_output_dir(&mut self, dir: PathBuf) {
        self.run.set_output_dir(dir);
    }

    /// Shows this time in the status line instead of the clock.
    pub fn set_fixed_clock(&mut self, at: &str) {
        self.fixed_clock = Some(at.to_string());
    }

    pub fn set_loading(&mut self, sources: &str) {
        self.inventory.set_loading(sources);
        self.dirty = true;
    }

    /// The inventory is loaded: every view that uses it gets it, and the
    /// flow catalog beside it is read.
    pub fn set_inventory(&mut self, inv: Arc<Inventory>, base: PathBuf) {
        let hosts = inv.data.hosts.len();
        let groups = inv.data.groups.len();
        let loaded = format!("loaded {hosts} hosts in {groups} groups");
        let warnings = inv.warnings.join("; ");
        // A warning already shown (a broken keymap, read before the
        // inventory) stays in front: it must not be gone before it is seen.
        let earlier = self
            .status
            .take()
            .filter(|s| s.level != StatusLevel::Info)
            .map(|s| s.text);
        self.schedules.set_inventory(inv.clone(), base.clone());
        self.catalog_places = Some((inv.sources.clone(), base.clone()));
        self.inventory.set_inventory(inv, base);
        self.reload_catalog();
        let text: Vec<String> = earlier
            .into_iter()
            .chain((!warnings.is_empty()).then_some(warnings))
            .collect();
        if text.is_empty() {
            self.set_status(StatusLevel::Info, loaded);
        } else {
            self.set_status(
                StatusLevel::Warning,
                format!("{}; {loaded}", text.join("; ")),
            );
        }
    }

    /// Reads the flow catalog again, off the UI task.
    fn reload_catalog(&mut self) {
        let Some((sources, cwd)) = self.catalog_places.clone() else {
            return;
        };
        let read = self.tasks.run(move || {
            AppMessage::CatalogLoaded(Arc::new(Catalog::scan(&Catalog::roots(&sources), &cwd)))
        });
        if let Some(message) = read {
            self.on_message(message);
        }
    }

    /// The selected hosts' names, in inventory order, for the planner.
    pub fn selection(&self) -> Vec<String> {
        self.inventory.selection()
    }

    pub fn inventory_view(&self) -> &InventoryView {
        &self.inventory
    }

    pub fn planner_view(&self) -> &PlannerView {
        &self.planner
    }

    pub fn planner_view_mut(&mut self) -> &mut PlannerView {
        &mut self.planner
    }

    pub fn run_view(&self) -> &RunView {
        &self.run
    }

    pub fn run_view_mut(&mut self) -> &mut RunView {
        &mut self.run
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

    /// The question the shared dialog asks, if one is open.
    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref().map(|(dialog, _)| dialog)
    }

    /// Adds a run's store to the Run view's list and shows it (a test's
    /// events).
    pub fn show_run_store(&mut self, store: SharedRunStore) {
        self.add_run(store, false);
        self.show(ViewId::Run);
        self.dirty = true;
    }

    /// Advances time-driven state: History's playback and refresh, the
    /// live run's clocks and questions.
    pub fn tick(&mut self) {
        let history_shown = self.view == ViewId::History;
        let mut fx = Effects::new();
        if self
            .history
            .tick(std::time::Instant::now(), history_shown, &mut fx)
        {
            self.dirty = true;
        }
        self.carry_out(fx, AppMessage::History, Some(ViewId::History));
        self.tick_run();
        self.run_follow_ups();
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
            AppMessage::CatalogLoaded(catalog) => {
                if catalog.flows.is_empty() {
                    self.set_status(
                        StatusLevel::Warning,
                        "no flows found under <inventory>/flows/ or ./flows/",
                    );
                }
                self.schedules.set_catalog(catalog.clone());
                self.planner.set_catalog(catalog.clone());
                self.flows.set_catalog(catalog);
                if self.view == ViewId::Planner {
                    // The flow shown may have changed: its targets may stand in.
                    with_view!(self, ViewId::Planner, |v, fx| v.on_show(&mut fx));
                }
            }
            AppMessage::Inventory(m) => {
                let mut fx = Effects::new();
                self.inventory.on_message(m, &mut fx);
                self.carry_out(fx, AppMessage::Inventory, Some(ViewId::Inventory));
            }
            AppMessage::Planner(m) => {
                let mut fx = Effects::new();
                self.planner.on_message(m, &mut fx);
                self.carry_out(fx, AppMessage::Planner, Some(ViewId::Planner));
            }
            AppMessage::Run(m) => {
                let mut fx = Effects::new();
                self.run.on_message(m, &mut fx);
                self.carry_out(fx, AppMessage::Run, Some(ViewId::Run));
            }
            AppMessage::History(m) => {
                let mut fx = Effects::new();
                self.history.on_message(m, &mut fx);
                self.carry_out(fx, AppMessage::History, Some(ViewId::History));
            }
            AppMessage::Flows(m) => {
                let mut fx = Effects::new();
                self.flows.on_message(m, &mut fx);
                self.carry_out(fx, AppMessage::Flows, Some(ViewId::Flows));
            }
            AppMessage::Schedules(m) => {
                let mut fx = Effects::new();
                self.schedules.on_message(m, &mut fx);
                self.carry_out(fx, AppMessage::Schedules, Some(ViewId::Schedules));
            }
            AppMessage::RunSession(report) => self.on_run_report(report),
            AppMessage::Preflight(outcome) => self.on_preflight(outcome.map(|o| *o)),
            AppMessage::Passphrase(request) => {
                self.passphrases.push(request);
                self.raise_passphrase();
            }
        }
        self.run_follow_ups();
        self.dirty = true;
    }

    /// Carries out what a view (`owner`) asked for: its statuses, its
    /// question, its follow-up actions, its work (whose messages come back
    /// wrapped by `wrap`), and what only the App can do.
    fn carry_out<M: 'static>(
        &mut self,
        fx: Effects<M>,
        wrap: fn(M) -> AppMessage,
        owner: Option<ViewId>,
    ) {
        for effect in fx.map(wrap) {
            match effect {
                Effect::Status(level, text) => self.set_status(level, text),
                Effect::Dialog(dialog) => {
                    self.help = None;
                    self.dialog = Some((dialog, owner));
                }
                Effect::Then(action) => self.follow_ups.push_back(action),
                Effect::Work(work) => {
                    if let Some(message) = self.tasks.run(work) {
                        self.on_message(message);
                    }
                }
                Effect::App(AppRequest::ReloadCatalog) => self.reload_catalog(),
                Effect::App(AppRequest::RunAgain { kind, id }) => {
                    self.start_again(kind, id, Default::default())
                }
            }
        }
    }

    /// Applies the follow-up actions views asked for.
    fn run_follow_ups(&mut self) {
        for _ in 0..FOLLOW_UPS {
            let Some(action) = self.follow_ups.pop_front() else {
                break;
            };
            self.apply(action);
        }
        self.follow_ups.clear();
    }

    /// Applies an action and every follow-up action it leads to.
    pub fn dispatch(&mut self, action: Action) {
        self.apply(action);
        self.run_follow_ups();
        self.raise_passphrase();
        self.raise_secret_params();
        self.dirty = true;
    }

    fn apply(&mut self, action: Action) {
        match action {
            // In a replay, quit leaves the replay (back to the list) first.
            Action::Quit if self.dialog.is_none() && self.in_history_replay() => {
                self.apply(Action::Cancel)
            }
            Action::Quit => self.ask_quit(),
            Action::Suspend => self.suspend = true,
            Action::Resize(width, height) => self.resize(Rect::new(0, 0, width, height)),
            _ if self.dialog.is_some() => self.dialog_action(action),
            _ if self.command.is_some() => self.command_key(action),
            Action::Help => {
                self.help = match self.help {
                    Some(_) => None,
                    None => Some(0),
                }
            }
            _ if self.help.is_some() => self.help_action(&action),
            Action::ShowView(view) => self.show(view),
            Action::NextView => self.show(self.view.next()),
            Action::PrevView => self.show(self.view.prev()),
            Action::Click { column, row } if self.size.height > 0 && row == self.size.y => {
                if let Some(view) = chrome::tab_at(column) {
                    self.show(view);
                }
            }
            Action::StartRun if self.view == ViewId::Planner => self.request_start(),
            Action::Shell => self.request_shell(),
            Action::CommandBox => self.open_command_box(),
            Action::NextRun if self.view == ViewId::Run => self.switch_run(1),
            Action::PrevRun if self.view == ViewId::Run => self.switch_run(-1),
            Action::TogglePause
            | Action::Confirm
            | Action::AbortRun
            | Action::RetryFailed
            | Action::RerunFailed
            | Action::SkipHost
                if self.view == ViewId::Run =>
            {
                self.run_action(&action)
            }
            other => with_view!(self, self.view, |v, fx| v.handle(&other, &mut fx)),
        }
    }

    /// An answer to the shared dialog: the passphrase's, the run's (the
    /// App asked), or the view's that asked.
    fn dialog_action(&mut self, action: Action) {
        if self.asking_passphrase() {
            self.passphrases.apply(&action);
            self.raise_passphrase();
            return;
        }
        if self.asking_secret_param() {
            return self.secret_param_action(&action);
        }
        if self.asking_guard() {
            let waiting = self.guard_waiting();
            self.guard_action(&action, &waiting);
            return;
        }
        let Some((dialog, owner)) = self.dialog.clone() else {
            return;
        };
        if !dialog.accepts(&action) {
            return;
        }
        self.dialog = None;
        match owner {
            Some(view) => {
                with_view!(self, view, |v, fx| v.answer(&dialog.kind, &action, &mut fx))
            }
            None => self.run_dialog_answer(dialog.kind, action),
        }
    }

    /// A rerun or resume asked of History for a run another view shows:
    /// History asks the question (and its refusals), the App starts it.
    fn ask_history(&mut self, kind: AgainKind, run: EndedRun) {
        let mut fx = Effects::new();
        self.history.ask_about(kind, run, &mut fx);
        self.carry_out(fx, AppMessage::History, Some(ViewId::History));
    }

    fn show(&mut self, view: ViewId) {
        self.view = view;
        if view == ViewId::Planner {
            self.selection_to_planner();
        }
        with_view!(self, view, |v, fx| v.on_show(&mut fx));
    }

    /// The Inventory's selection (and where its patterns read files) to
    /// the Planner.
    fn selection_to_planner(&mut self) {
        if let Some(inv) = self.inventory.inventory() {
            let base = self
                .catalog_places
                .as_ref()
                .map(|(_, base)| base.clone())
                .unwrap_or_else(|| PathBuf::from("."));
            self.planner
                .set_selection(inv, &self.inventory.selection(), base);
        }
    }

    fn resize(&mut self, size: Rect) {
        self.size = size;
        let body = Screen::of(size).map(|s| s.body).unwrap_or_default();
        self.inventory.set_area(body);
        self.planner.set_area(body);
        self.run.set_area(body);
        self.history.set_area(body);
        self.flows.set_area(body);
        self.schedules.set_area(body);
    }

    fn active_view(&self) -> &dyn View {
        match self.view {
            ViewId::Inventory => &self.inventory,
            ViewId::History => &self.history,
            ViewId::Flows => &self.flows,
            ViewId::Schedules => &self.schedules,
            ViewId::Planner => &self.planner,
            ViewId::Run => &self.run,
        }
    }

    fn in_history_replay(&self) -> bool {
        self.view == ViewId::History && self.history.replay_id().is_some()
    }
}
