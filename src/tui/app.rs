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
use super::dialog::{Dialog, DialogKind};
use super::keymap::{Key, KeyContext, Keymap};
use super::layout::{self, Screen};
use super::passphrase::{PassphraseQueue, PassphraseRequest};
use super::run_session::{self, RunHandle, RunReport};
use super::run_store::{RunStore, SharedRunStore};
use super::theme::Theme;
use super::views::inventory::InventoryView;
// tuihist views
use super::views::background::Background;
use super::views::flows::{FlowsMessage, FlowsView};
use super::views::history::{HistoryMessage, HistoryView};
use super::views::planner::{FlowChoice, PlannerView, discover_flows};
use super::views::run::RunView;
use super::views::schedules::{SchedulesMessage, SchedulesView};
use super::views::{Hint, View};
use crate::commands::run::RunSpec;
use crate::engine::Control;
use crate::engine::events::{HostStatus, WaitReason};
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
    Schedules(SchedulesMessage),
    /// The flow files the planner offers.
    FlowsFound(Vec<FlowChoice>),
    /// News about a run the console started.
    Run(RunReport),
    /// The run's transport asks for an encrypted key's passphrase.
    Passphrase(PassphraseRequest),
    /// Run view: lines read back from the journal.
    RunOlder(super::run_store::OlderLines),
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
    planner: PlannerView,
    run: RunView,
    // tuihist views
    history: HistoryView,
    flows: FlowsView,
    schedules: SchedulesView,
    /// A question that has the keyboard until answered.
    dialog: Option<Dialog>,
    /// Passphrase questions, asked one at a time in a dialog.
    passphrases: PassphraseQueue,
    /// The run the planner asked to start, while the start dialog is open.
    pending_spec: Option<RunSpec>,
    /// The run this console started and that has not ended yet.
    active_run: Option<RunHandle>,
    /// Quit once the active run has ended (after abort or detach).
    quit_after_run: bool,
    /// The last operator question a run raised, so it is asked once.
    asked: Option<DialogKind>,
    /// The run store revision last drawn.
    drawn_revision: Option<u64>,
    /// The journal runs are recorded in; `None`: the default path.
    journal: Option<PathBuf>,
    /// Where saved output and host lists go; `None`: the current directory.
    output_dir: Option<PathBuf>,
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
            planner: PlannerView::new(),
            run: RunView::new(),
            dialog: None,
            passphrases: PassphraseQueue::default(),
            pending_spec: None,
            active_run: None,
            quit_after_run: false,
            asked: None,
            drawn_revision: None,
            journal: None,
            output_dir: None,
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
        self.schedules
            .set_background(Background::new(tasks.clone()));
        self.run.set_background(Background::new(tasks.clone()));
        self.tasks = Some(tasks);
    }

    /// The journal History reads (`--journal`, else the default path).
    pub fn set_journal_path(&mut self, path: PathBuf) {
        self.schedules.set_journal_path(path.clone());
        self.run.set_journal(path.clone());
        self.history.set_journal_path(path);
    }

    /// Advances time-driven state (History's playback and refresh).
    pub fn tick(&mut self) {
        let history_shown = self.view == ViewId::History;
        if self.history.tick(std::time::Instant::now(), history_shown) {
            self.dirty = true;
        }
        self.tick_run();
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
        self.find_flows(inv.sources.clone(), base.clone());
        self.schedules.set_inventory(inv.clone(), base.clone());
        let loaded = format!("loaded {hosts} hosts in {groups} groups");
        let warnings = inv.warnings.join("; ");
        self.inventory.set_inventory(inv, base);
        // A warning already shown (a broken keymap, read before the
        // inventory) stays in front: it must not be gone before it is seen.
        let earlier = self
            .status
            .take()
            .filter(|s| s.level != StatusLevel::Info)
            .map(|s| s.text);
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

    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// The run started here that has not ended yet.
    pub fn active_run(&self) -> Option<&RunHandle> {
        self.active_run.as_ref()
    }

    /// Takes the active run out (the console is closing: detach it).
    /// Its passphrase questions are skipped: nobody will answer them.
    pub fn take_active_run(&mut self) -> Option<RunHandle> {
        self.passphrases.skip_all();
        self.raise_passphrase();
        self.active_run.take()
    }

    /// True while the passphrase dialog has the keyboard.
    fn asking_passphrase(&self) -> bool {
        matches!(
            self.dialog.as_ref().map(|d| &d.kind),
            Some(DialogKind::Passphrase { .. })
        )
    }

    /// Shows the first waiting passphrase question unless another dialog
    /// is open (it comes back when that one is answered); closes the
    /// passphrase dialog when no question is left.
    fn raise_passphrase(&mut self) {
        if self.dialog.is_none() || self.asking_passphrase() {
            self.dialog = self.passphrases.dialog();
        }
    }

    /// Where runs are recorded; `None` means the default journal.
    pub fn set_journal(&mut self, journal: Option<PathBuf>) {
        if let Some(path) = &journal {
            self.run.set_journal(path.clone());
        }
        self.journal = journal;
    }

    /// Where saved files go instead of the current directory (tests).
    pub fn set_output_dir(&mut self, dir: PathBuf) {
        self.output_dir = Some(dir);
    }

    /// Shows a run's store in the Run view (a replay, or a test's events).
    pub fn show_run_store(&mut self, store: SharedRunStore) {
        self.run.set_store(store);
        self.asked = None;
        self.show(ViewId::Run);
        self.dirty = true;
    }

    /// Called every frame tick: redraws when the run store changed (and
    /// every few ticks while a run is live, for clocks), and raises the
    /// run's questions (confirm a batch, approve a step) as dialogs.
    fn tick_run(&mut self) {
        let Some(store) = self.run.store().cloned() else {
            return;
        };
        if self.view == ViewId::Run && self.run.request_older() {
            self.dirty = true;
        }
        let (revision, question) = {
            let s = RunStore::lock(&store);
            let question = if let Some(a) = &s.approval {
                let step = s.steps.get(a.step).cloned().unwrap_or_default();
                Some(Dialog::approval(a.batch, a.step, &step, &a.message))
            } else {
                match s.waiting {
                    Some(w) if w.reason == WaitReason::Confirm && !s.is_finished() => {
                        let hosts = s.batches.get(w.next_batch).map_or(0, |b| b.hosts.len());
                        Some(Dialog::confirm_batch(w.next_batch, s.batches.len(), hosts))
                    }
                    _ => None,
                }
            };
            (s.revision, question)
        };
        if self.drawn_revision != Some(revision) {
            self.drawn_revision = Some(revision);
            self.dirty = true;
        }
        if let Some(question) = question
            && self.active_run.is_some()
            && self.asked.as_ref() != Some(&question.kind)
            && self.dialog.is_none()
        {
            self.asked = Some(question.kind.clone());
            self.dialog = Some(question);
            self.dirty = true;
        }
    }

    /// True while the shown run still changes by itself (clocks, countdowns).
    pub fn run_is_live(&self) -> bool {
        self.active_run.is_some()
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
            AppMessage::Schedules(message) => {
                if let Some((level, text)) = self.schedules.on_message(message) {
                    self.set_status(level, text);
                }
            }
            AppMessage::FlowsFound(flows) => {
                let count = flows.len();
                self.schedules.set_flows(flows.clone());
                self.planner.set_flows(flows);
                if count == 0 {
                    self.set_status(
                        StatusLevel::Warning,
                        "no flows found under <inventory>/flows/ or ./flows/",
                    );
                }
            }
            AppMessage::Run(report) => self.on_run_report(report),
            AppMessage::Passphrase(request) => {
                self.passphrases.push(request);
                self.raise_passphrase();
            }
            AppMessage::RunOlder(read) => self.run.older_read(read),
        }
        self.dirty = true;
    }

    fn on_run_report(&mut self, report: RunReport) {
        match report {
            RunReport::Started(handle) => {
                let id = handle.instance;
                match handle.warnings.as_slice() {
                    [] => self.set_status(StatusLevel::Info, format!("run {id} started")),
                    warnings => self.set_status(
                        StatusLevel::Warning,
                        format!("run {id} started; warning: {}", warnings.join("; ")),
                    ),
                }
                self.active_run = Some(handle);
            }
            RunReport::Failed(e) => {
                self.set_status(StatusLevel::Error, format!("the run did not start: {e}"));
                let mut failed = RunStore::default();
                failed.reason = Some(e);
                failed.end_stream("the run did not start");
                self.run.set_store(failed.shared());
                if self.quit_after_run {
                    self.quit = true;
                }
            }
            RunReport::Ended {
                instance,
                status,
                problem,
            } => {
                self.active_run = None;
                if self.dialog.as_ref().is_some_and(|d| {
                    matches!(
                        d.kind,
                        DialogKind::AbortRun
                            | DialogKind::QuitWithRun
                            | DialogKind::ConfirmBatch { .. }
                            | DialogKind::Approval { .. }
                            | DialogKind::Passphrase { .. }
                    )
                }) {
                    self.dialog = None;
                }
                self.passphrases.skip_all();
                let mut text = format!("run {instance} finished: {status}");
                if status == crate::engine::InstanceStatus::Interrupted {
                    text.push_str(&format!(" (jobdeck resume {instance} continues it)"));
                }
                match problem {
                    Some(p) => {
                        self.set_status(StatusLevel::Warning, format!("{text}; journal: {p}"))
                    }
                    None => self.set_status(StatusLevel::Info, text),
                }
                if self.quit_after_run {
                    self.quit = true;
                }
            }
        }
    }

    /// Looks for flow files next to the inventory and in ./flows, off the
    /// UI task when there is a runtime.
    fn find_flows(&mut self, sources: Vec<PathBuf>, cwd: PathBuf) {
        match (&self.tasks, tokio::runtime::Handle::try_current()) {
            (Some(tasks), Ok(runtime)) => {
                let tasks = tasks.clone();
                runtime.spawn_blocking(move || {
                    let flows = discover_flows(&sources, &cwd);
                    let _ = tasks.blocking_send(AppMessage::FlowsFound(flows));
                });
            }
            _ => {
                let flows = discover_flows(&sources, &cwd);
                self.schedules.set_flows(flows.clone());
                self.planner.set_flows(flows);
            }
        }
    }

    /// The planner asked to start: check the form, then ask with a summary.
    fn request_start(&mut self) {
        if let Some(handle) = &self.active_run {
            let id = handle.instance;
            self.set_status(
                StatusLevel::Warning,
                format!("run {id} is still active: one run at a time (see the Run view, 4)"),
            );
            return;
        }
        if let Some(inv) = self.inventory.inventory() {
            self.planner.set_selection(inv, &self.inventory.selection());
        }
        match self.planner.run_spec() {
            Ok(spec) => {
                let summary = self.planner.summary(&spec);
                self.pending_spec = Some(spec);
                self.dialog = Some(Dialog::start_run(summary));
            }
            Err(problems) => {
                let text = problems.join("; ");
                self.set_status(StatusLevel::Error, format!("cannot start: {text}"));
            }
        }
    }

    /// Starts the confirmed run on the runtime and shows the Run view.
    fn start_run(&mut self, spec: RunSpec) {
        let Some(inv) = self.inventory.inventory() else {
            self.set_status(StatusLevel::Error, "the inventory is not loaded yet");
            return;
        };
        let (Some(tasks), Ok(runtime)) =
            (self.tasks.clone(), tokio::runtime::Handle::try_current())
        else {
            self.set_status(StatusLevel::Error, "runs need the console's runtime");
            return;
        };
        let mut store = RunStore::default();
        store.flow = spec.flow.name.clone();
        let store = store.shared();
        self.run.set_store(store.clone());
        self.asked = None;
        self.show(ViewId::Run);
        self.set_status(StatusLevel::Info, format!("starting {}…", spec.flow.name));
        runtime.spawn(run_session::launch(
            inv,
            self.journal.clone(),
            spec,
            store,
            tasks,
        ));
    }

    /// An answer to the open dialog.
    fn dialog_action(&mut self, action: Action) {
        if self.asking_passphrase() {
            self.passphrases.apply(&action);
            self.raise_passphrase();
            return;
        }
        let Some(dialog) = self.dialog.clone() else {
            return;
        };
        if !dialog.accepts(&action) {
            return;
        }
        self.dialog = None;
        match (dialog.kind, action) {
            (DialogKind::StartRun, Action::Confirm) => {
                if let Some(spec) = self.pending_spec.take() {
                    self.start_run(spec);
                }
            }
            (DialogKind::StartRun, _) => self.pending_spec = None,
            (DialogKind::AbortRun, Action::Confirm) => self.control(
                Control::Abort {
                    reason: "from the console".into(),
                },
                "aborting: stopping commands on the hosts",
            ),
            (DialogKind::QuitWithRun, Action::AbortRun) => {
                self.quit_after_run = true;
                self.control(
                    Control::Abort {
                        reason: "the operator quit the console".into(),
                    },
                    "aborting the run; jobdeck quits when it has stopped",
                );
            }
            (DialogKind::QuitWithRun, Action::Detach) => self.detach_and_quit(),
            (DialogKind::DeleteSchedule { id }, Action::Confirm) => {
                self.schedules.delete(id);
                if let Some((level, text)) = self.schedules.take_status() {
                    self.set_status(level, text);
                }
            }
            (DialogKind::ConfirmBatch { .. } | DialogKind::Approval { .. }, Action::Confirm) => {
                self.control(Control::Confirm, "confirmed")
            }
            (DialogKind::ConfirmBatch { .. } | DialogKind::Approval { .. }, Action::AbortRun) => {
                let (id, active) = self.run_counts();
                self.dialog = Some(Dialog::abort_run(id, active));
            }
            _ => {}
        }
    }

    fn detach_and_quit(&mut self) {
        match &self.active_run {
            Some(handle) => {
                let id = handle.instance;
                handle.detach();
                self.quit_after_run = true;
                self.passphrases.skip_all();
                self.set_status(
                    StatusLevel::Info,
                    format!("detaching run {id}: recorded as interrupted (jobdeck resume {id})"),
                );
            }
            None => self.quit = true,
        }
    }

    fn run_counts(&self) -> (i64, usize) {
        self.run
            .store()
            .map(|s| {
                let s = RunStore::lock(s);
                (s.instance, s.counts().active)
            })
            .unwrap_or((0, 0))
    }

    fn control(&mut self, control: Control, said: &str) {
        // An aborted run's hosts no longer need their keys: stop asking. The
        // questions are answered when the run has ended; answering now could
        // fail a host before the engine has seen the abort.
        if matches!(control, Control::Abort { .. }) {
            self.passphrases.withdraw_all();
            self.raise_passphrase();
        }
        match &self.active_run {
            Some(handle) if handle.send(control) => {
                self.set_status(StatusLevel::Info, said.to_string())
            }
            _ => self.set_status(StatusLevel::Warning, "no active run to control"),
        }
    }

    /// Run controls from the Run view's keys.
    fn run_action(&mut self, action: &Action) {
        if self.active_run.is_none() {
            self.set_status(
                StatusLevel::Warning,
                "this run is not active: start one from the Planner (3)",
            );
            return;
        }
        let store = self.run.store().cloned();
        let (paused, waiting) = store
            .map(|s| {
                let s = RunStore::lock(&s);
                (s.paused, s.waiting.is_some() || s.approval.is_some())
            })
            .unwrap_or((false, false));
        match action {
            Action::TogglePause if paused => self.control(Control::Resume, "resumed"),
            Action::TogglePause => self.control(
                Control::Pause,
                "pausing: no new host starts; running ones finish",
            ),
            Action::Confirm if waiting => self.control(Control::Confirm, "confirmed"),
            Action::Confirm => {
                self.set_status(StatusLevel::Info, "nothing waits for a confirmation")
            }
            Action::AbortRun => {
                let (id, active) = self.run_counts();
                self.dialog = Some(Dialog::abort_run(id, active));
            }
            Action::RetryFailed => self.control(Control::RetryFailed, "retrying the failed hosts"),
            Action::SkipHost => {
                let host = self.run.cursor_host();
                let name = host.and_then(|h| {
                    self.run.store().map(|s| {
                        let s = RunStore::lock(s);
                        (s.hosts[h].name.clone(), s.hosts[h].status)
                    })
                });
                match (host, name) {
                    (Some(h), Some((name, status)))
                        if !status.is_final() || status == HostStatus::Pending =>
                    {
                        self.control(Control::SkipHost(h), &format!("skipping {name}"))
                    }
                    (_, Some((name, status))) => {
                        self.set_status(StatusLevel::Info, format!("{name} is already {status}"))
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// Writes a file the Run view asked for, off the UI task when possible.
    fn write_file(&mut self, path: PathBuf, contents: String) {
        let path = match &self.output_dir {
            Some(dir) => dir.join(path),
            None => path,
        };
        let journal = self.journal.clone();
        let write = move || -> Result<String, String> {
            let absolute = std::path::absolute(&path).unwrap_or(path.clone());
            // Writing over the journal would destroy it (and drop SQLite's locks).
            let journal = journal.or_else(|| crate::journal::default_path().ok());
            if journal.is_some_and(|j| crate::journal::is_journal_file(&absolute, &j)) {
                return Err(format!(
                    "{} is the journal: not written",
                    absolute.display()
                ));
            }
            std::fs::write(&absolute, contents)
                .map(|_| format!("saved {}", absolute.display()))
                .map_err(|e| format!("cannot write {}: {e}", absolute.display()))
        };
        match (&self.tasks, tokio::runtime::Handle::try_current()) {
            (Some(tasks), Ok(runtime)) => {
                let tasks = tasks.clone();
                runtime.spawn_blocking(move || {
                    let message = match write() {
                        Ok(text) => AppMessage::Status(StatusLevel::Info, text),
                        Err(text) => AppMessage::Status(StatusLevel::Error, text),
                    };
                    let _ = tasks.blocking_send(message);
                });
            }
            _ => match write() {
                Ok(text) => self.set_status(StatusLevel::Info, text),
                Err(text) => self.set_status(StatusLevel::Error, text),
            },
        }
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
            Event::Paste(text)
                if self.active_view().captures_text() || self.asking_passphrase() =>
            {
                for c in text.chars().filter(|c| !c.is_control()) {
                    self.dispatch(Action::InsertChar(c));
                }
            }
            Event::FocusGained => self.dirty = true,
            _ => {}
        }
    }

    fn contexts(&self) -> Vec<KeyContext> {
        // The passphrase takes text: keys edit it as in an input box.
        if self.asking_passphrase() {
            return vec![KeyContext::Input];
        }
        if self.dialog.is_some() {
            return vec![KeyContext::Dialog];
        }
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
        let plain = key.modifiers.difference(KeyModifiers::SHIFT).is_empty();
        if self.asking_passphrase() {
            return match key.code {
                crossterm::event::KeyCode::Char(c) if plain => Some(Action::InsertChar(c)),
                _ => None,
            };
        }
        if self.help.is_none() && self.active_view().raw_keys() {
            return Some(Action::Key(*key));
        }
        match key.code {
            crossterm::event::KeyCode::Char(c)
                if plain
                    && self.help.is_none()
                    && self.dialog.is_none()
                    && self.active_view().captures_text() =>
            {
                Some(Action::InsertChar(c))
            }
            _ => None,
        }
    }

    fn in_history_replay(&self) -> bool {
        self.view == ViewId::History && self.history.replay_id().is_some()
    }

    /// Applies an action and every follow-up action it leads to.
    pub fn dispatch(&mut self, action: Action) {
        let mut next = Some(action);
        // Follow-ups are few; the bound only guards against a cycle.
        for _ in 0..16 {
            let Some(action) = next.take() else { break };
            next = self.apply(action);
        }
        self.raise_passphrase();
        self.dirty = true;
    }

    fn apply(&mut self, action: Action) -> Option<Action> {
        match action {
            // In a replay, quit leaves the replay (back to the list) first.
            Action::Quit if self.dialog.is_none() && self.in_history_replay() => {
                return Some(Action::Cancel);
            }
            Action::Quit => self.ask_quit(),
            Action::Suspend => self.suspend = true,
            Action::Resize(width, height) => self.resize(Rect::new(0, 0, width, height)),
            Action::WriteFile { path, contents } => self.write_file(path, contents),
            _ if self.dialog.is_some() => self.dialog_action(action),
            Action::Help => {
                self.help = match self.help {
                    Some(_) => None,
                    None => Some(0),
                }
            }
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
            Action::StartRun if self.view == ViewId::Planner => self.request_start(),
            Action::TogglePause
            | Action::Confirm
            | Action::AbortRun
            | Action::RetryFailed
            | Action::SkipHost
                if self.view == ViewId::Run =>
            {
                self.run_action(&action)
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
        if let Some(dialog) = self.schedules.take_dialog() {
            self.dialog = Some(dialog);
        }
        answer
    }

    /// Quit, unless a run is active: then ask whether to abort or detach.
    /// Asked again while the question is open, it detaches.
    fn ask_quit(&mut self) {
        let Some(handle) = &self.active_run else {
            self.quit = true;
            return;
        };
        let id = handle.instance;
        match self.dialog.as_ref().map(|d| &d.kind) {
            Some(DialogKind::QuitWithRun) => {
                self.dialog = None;
                self.detach_and_quit();
            }
            _ => {
                self.help = None;
                self.dialog = Some(Dialog::quit_with_run(id));
            }
        }
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
        if view == ViewId::Planner
            && let Some(inv) = self.inventory.inventory()
        {
            self.planner.set_selection(inv, &self.inventory.selection());
        }
        self.active_view_mut().on_show();
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
            ViewId::Planner => &self.planner,
            ViewId::Run => &self.run,
        }
    }

    fn active_view_mut(&mut self) -> &mut dyn View {
        match self.view {
            ViewId::Inventory => &mut self.inventory,
            ViewId::History => &mut self.history,
            ViewId::Flows => &mut self.flows,
            ViewId::Schedules => &mut self.schedules,
            ViewId::Planner => &mut self.planner,
            ViewId::Run => &mut self.run,
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
        if let Some(dialog) = &self.dialog {
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
        let run_badge = self.active_run.as_ref().map(|h| {
            let status = RunStore::lock(&h.store).status;
            format!("{} run {} {status} ", theme.glyphs.running, h.instance)
        });
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
        let (hints, always) = if let Some(dialog) = &self.dialog {
            (
                dialog
                    .choices
                    .iter()
                    .map(|c| Hint::new(c.action.clone(), c.label))
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
        } else if self.active_view().captures_text() {
            (self.active_view().hints(), Vec::new())
        } else {
            (
                self.active_view().hints(),
                vec![
                    Hint::new(Action::Help, "help"),
                    Hint::new(
                        Action::Quit,
                        if self.in_history_replay() {
                            "back"
                        } else {
                            "quit"
                        },
                    ),
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
        match self.view {
            ViewId::Inventory => {
                sections.push(("Inventory".into(), KeyContext::Inventory));
                sections.push(("Filter and pattern boxes".into(), KeyContext::Input));
            }
            ViewId::Planner => {
                sections.push(("Planner".into(), KeyContext::Planner));
                sections.push(("Editing a field".into(), KeyContext::Input));
                sections.push(("Questions".into(), KeyContext::Dialog));
            }
            ViewId::Run => {
                sections.push(("Run".into(), KeyContext::Run));
                sections.push(("Search box".into(), KeyContext::Input));
                sections.push(("Questions".into(), KeyContext::Dialog));
            }
            _ => {}
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
        if !matches!(self.view, ViewId::Inventory | ViewId::Planner | ViewId::Run) && !has_view_help
        {
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
