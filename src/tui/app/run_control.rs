//! The runs this console starts: asking to start one (the planner's plan,
//! summed up in the dialog), starting it off the UI task (it joins the
//! run list, others live or not) — a new one, or a rerun or resume
//! History asked for — the shown run's controls (pause,
//! confirm, abort, retry, skip) and questions (a batch to confirm, a step
//! to approve, a key's passphrase, a rerun's secret params), quitting with runs active (abort all,
//! detach all, stay), and each run's end.

use std::sync::Arc;

use super::App;
use super::secret_params::Answered;
use crate::engine::Control;
use crate::engine::events::{HostStatus, InstanceId, WaitReason};
use crate::plan::RunSpec;
use crate::tui::action::{Action, ViewId};
use crate::tui::effects::{Effects, StatusLevel};
use crate::tui::message::AppMessage;
use crate::tui::run_store::RunStore;
use crate::tui::tasks::passphrase::ConsolePrompt;
use crate::tui::tasks::preflight::{self, Checked};
use crate::tui::tasks::run_session::{
    self, AgainKind, Launch, Reports, RunHandle, RunReport, SecretValues,
};
use crate::tui::views::history::EndedRun;
use crate::tui::widgets::command_box::CommandBox;
use crate::tui::widgets::dialog::{Dialog, DialogKind, StartFrom};

/// Rows of pre-flight's table the start dialog shows (hosts are folded by
/// result, so this many results).
const PREFLIGHT_ROWS: usize = 12;

impl App {
    /// The shown run, while it is live.
    pub fn active_run(&self) -> Option<&RunHandle> {
        self.runs.shown_handle()
    }

    /// Every live run, in the list's order.
    pub fn live_runs(&self) -> Vec<&RunHandle> {
        self.runs.live().collect()
    }

    /// How many runs the Run view lists, and which one it shows.
    pub fn run_list(&self) -> (usize, usize) {
        (self.runs.count(), self.runs.shown_index())
    }

    /// The stores of the runs the Run view lists, in its order.
    pub fn listed_runs(&self) -> Vec<crate::tui::run_store::SharedRunStore> {
        self.runs.stores()
    }

    /// Takes the live runs out (the console is closing: detach them).
    /// Their passphrase questions are skipped: nobody will answer them.
    pub fn take_live_runs(&mut self) -> Vec<RunHandle> {
        self.passphrases.skip_all();
        self.raise_passphrase();
        self.runs.take_live()
    }

    /// True while the App's dialog asks `kind`.
    fn asking(&self, kind: &DialogKind) -> bool {
        self.dialog.as_ref().is_some_and(|(d, _)| &d.kind == kind)
    }

    /// True while the passphrase dialog has the keyboard.
    pub(super) fn asking_passphrase(&self) -> bool {
        matches!(
            self.dialog.as_ref().map(|(d, _)| &d.kind),
            Some(DialogKind::Passphrase { .. })
        )
    }

    /// Shows the first waiting passphrase question unless another dialog
    /// is open (it comes back when that one is answered); closes the
    /// passphrase dialog when no question is left.
    pub(super) fn raise_passphrase(&mut self) {
        if self.dialog.is_none() || self.asking_passphrase() {
            self.dialog = self.passphrases.dialog().map(|d| (d, None));
        }
    }

    /// True while the secret param dialog has the keyboard.
    pub(super) fn asking_secret_param(&self) -> bool {
        matches!(
            self.dialog.as_ref().map(|(d, _)| &d.kind),
            Some(DialogKind::SecretParam { .. })
        )
    }

    /// Shows the secret param being asked unless another dialog is open
    /// (it comes back when that one is answered); closes the dialog when
    /// nothing is left to ask.
    pub(super) fn raise_secret_params(&mut self) {
        if self.dialog.is_none() || self.asking_secret_param() {
            self.dialog = self.secret_params.dialog().map(|d| (d, None));
        }
    }

    /// A key while a secret param is asked: Enter takes it (the last one
    /// launches the rerun or resume again with them), Esc cancels it.
    pub(super) fn secret_param_action(&mut self, action: &Action) {
        match self.secret_params.apply(action) {
            Answered::Asking => {}
            Answered::Empty(name) => self.set_status(
                StatusLevel::Warning,
                format!("secret param '{name}' needs a value (Esc cancels)"),
            ),
            Answered::Ready(kind, id, given) => {
                self.dialog = None;
                self.start_again(kind, id, given);
            }
            Answered::Cancelled(kind, id) => {
                self.dialog = None;
                self.set_status(
                    StatusLevel::Info,
                    format!(
                        "{} of #{id} cancelled: its secret params were not given; nothing was recorded",
                        kind.word()
                    ),
                );
            }
        }
        self.raise_secret_params();
    }

    /// Called every frame tick: redraws when the run store changed (and
    /// every few ticks while a run is live, for clocks), and raises the
    /// run's questions (confirm a batch, approve a step) as dialogs.
    pub(super) fn tick_run(&mut self) {
        self.tell_waiting_runs();
        let Some(store) = self.run.store().cloned() else {
            return;
        };
        if self.view == ViewId::Run {
            let mut fx = Effects::new();
            if self.run.request_older(&mut fx) | self.run.refresh_from_store(&mut fx) {
                self.dirty = true;
            }
            self.carry_out(fx, AppMessage::Run, Some(ViewId::Run));
        }
        let (revision, question, guard_waiting) = {
            let s = RunStore::lock(&store);
            let guard_waiting = if s.is_finished() {
                Vec::new()
            } else {
                s.gates.confirm_waiting.clone()
            };
            let question = if let Some(a) = &s.approval {
                let step = s.steps.get(a.step).cloned().unwrap_or_default();
                Some(Dialog::approval(
                    a.batch,
                    a.step,
                    &step,
                    &a.message,
                    self.run.key_names(),
                ))
            } else {
                match s.waiting {
                    Some(w) if w.reason == WaitReason::Confirm && !s.is_finished() => {
                        let hosts = s.batches.get(w.next_batch).map_or(0, |b| b.hosts.len());
                        Some(Dialog::confirm_batch(
                            w.next_batch,
                            s.batches.len(),
                            hosts,
                            self.run.key_names(),
                        ))
                    }
                    _ => None,
                }
            };
            (s.revision, question, guard_waiting)
        };
        if self.drawn_revision != Some(revision) {
            self.drawn_revision = Some(revision);
            self.run.refresh_gate_rows();
            self.dirty = true;
        }
        // The guard's question comes first: nothing runs until it is answered.
        self.raise_guard(&guard_waiting);
        if let Some(question) = question
            && self.runs.shown_handle().is_some()
            && self.asked.as_ref() != Some(&question.kind)
            && self.dialog.is_none()
        {
            self.asked = Some(question.kind.clone());
            self.dialog = Some((question, None));
            self.dirty = true;
        }
    }

    /// True while a run still changes by itself (clocks, countdowns).
    pub fn run_is_live(&self) -> bool {
        self.runs.any_live()
    }

    pub(super) fn on_run_report(&mut self, report: RunReport) {
        match report {
            RunReport::Started(handle) => {
                let id = handle.instance;
                let note = handle
                    .note
                    .as_ref()
                    .map(|n| format!("; {n}"))
                    .unwrap_or_default();
                match handle.warnings.as_slice() {
                    [] => self.set_status(StatusLevel::Info, format!("run {id} started{note}")),
                    warnings => self.set_status(
                        StatusLevel::Warning,
                        format!("run {id} started{note}; warning: {}", warnings.join("; ")),
                    ),
                }
                if self.quit_after_run {
                    // It came up after the operator chose to quit: it
                    // stops where it stands, resumable.
                    handle.detach();
                }
                self.runs.started(handle);
                self.run_list_to_view();
                if self.quit_when_started && !self.runs.any_starting() {
                    self.quit_when_started = false;
                    self.ask_quit();
                }
            }
            RunReport::Failed { store, error } => {
                self.runs.failed(&store);
                self.set_status(
                    StatusLevel::Error,
                    format!("the run did not start: {error}"),
                );
                {
                    let mut failed = RunStore::lock(&store);
                    failed.reason = Some(error);
                    failed.end_stream("the run did not start");
                }
                self.quit_if_nothing_left();
            }
            RunReport::NothingRan { store, reason } => {
                if let Some(back) = self.runs.remove(&store) {
                    self.after_removal(back);
                }
                self.set_status(StatusLevel::Warning, reason);
                self.quit_if_nothing_left();
            }
            RunReport::NeedsSecrets {
                store,
                kind,
                id,
                names,
            } => {
                // Nothing was recorded or claimed: the entry goes until
                // the params are given and it is launched again.
                if let Some(back) = self.runs.remove(&store) {
                    self.after_removal(back);
                }
                let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                self.set_status(
                    StatusLevel::Info,
                    format!(
                        "the {} of #{id} needs its secret params, never stored: {}",
                        kind.word(),
                        quoted.join(", ")
                    ),
                );
                self.secret_params.push(kind, id, names);
                self.raise_secret_params();
                self.quit_if_nothing_left();
            }
            RunReport::Ended {
                instance,
                status,
                problem,
            } => {
                let shown = self.runs.ended(instance);
                self.run_list_to_view();
                // Questions about the run that ended go; the quit question
                // and passphrases only when no run is left to ask about.
                let none_live = !self.runs.any_live();
                if self.dialog.as_ref().is_some_and(|(d, _)| match d.kind {
                    DialogKind::AbortRun
                    | DialogKind::ConfirmBatch { .. }
                    | DialogKind::Approval { .. }
                    | DialogKind::GuardConfirm { .. } => shown,
                    DialogKind::QuitWithRun | DialogKind::Passphrase { .. } => none_live,
                    _ => false,
                }) {
                    self.dialog = None;
                }
                // The quit question names the runs still live.
                if !none_live && self.asking(&DialogKind::QuitWithRun) {
                    let ids: Vec<i64> = self.runs.live().map(|h| h.instance).collect();
                    self.dialog = Some((Dialog::quit_with_runs(&ids), None));
                }
                if none_live {
                    self.passphrases.skip_all();
                }
                let mut text = format!("run {instance} finished: {status}");
                if status == crate::engine::InstanceStatus::Interrupted {
                    text.push_str(&format!(" (jobdeck resume {instance} continues it)"));
                }
                match problem {
                    Some(p) => self.set_status(StatusLevel::Warning, format!("{text}; {p}")),
                    None => self.set_status(StatusLevel::Info, text),
                }
                self.quit_if_nothing_left();
            }
        }
    }

    /// The planner asked to start: check the form, then ask with a summary.
    pub(super) fn request_start(&mut self) {
        self.selection_to_planner();
        if self.checking_preflight {
            self.set_status(StatusLevel::Info, "pre-flight is still checking the hosts…");
            return;
        }
        match self.planner.run_spec() {
            Ok(spec) if crate::safety::preflight_mode(&spec.flow, &spec.safety).is_some() => {
                self.check_preflight(spec)
            }
            Ok(spec) => self.ask_start(spec, None),
            Err(problems) => {
                let text = problems.join("; ");
                self.set_status(StatusLevel::Error, format!("cannot start: {text}"));
            }
        }
    }

    /// The start dialog: the plan summed up, then pre-flight's table.
    fn ask_start(&mut self, spec: RunSpec, checked: Option<Checked>) {
        let summary = self.planner.summary(&spec);
        self.ask_start_with(spec, summary, checked, None);
    }

    /// The start dialog with `summary` (the Planner's, or the command
    /// box's), then pre-flight's table. `command`: the box the run was
    /// typed in, which `n` opens again.
    pub(super) fn ask_start_with(
        &mut self,
        spec: RunSpec,
        mut summary: Vec<String>,
        checked: Option<Checked>,
        command: Option<CommandBox>,
    ) {
        if let Some(checked) = &checked {
            summary.push(String::new());
            summary.extend(checked.table().into_iter().take(PREFLIGHT_ROWS));
            summary
                .push("The run takes these results and connections: no second check.".to_string());
        }
        self.pending_spec = Some(spec);
        self.close_preflight();
        self.pending_preflight = checked;
        let back = if command.is_some() {
            StartFrom::Command
        } else {
            StartFrom::Plan
        };
        self.pending_command = command;
        self.dialog = Some((Dialog::start_run(summary, back), None));
    }

    /// Checks the planned hosts off the UI task; the start dialog follows.
    fn check_preflight(&mut self, spec: RunSpec) {
        let (Some(inv), Some(sender)) = (self.inventory.inventory(), self.tasks.sender()) else {
            // No runtime (tests without one): the run checks for itself.
            return self.ask_start(spec, None);
        };
        let prompt = Arc::new(ConsolePrompt::new(sender.clone(), AppMessage::Passphrase));
        let journal = self.journal.clone();
        let hosts = spec.hosts.len();
        let warm = self.warm.clone();
        let check = async move {
            let outcome = preflight::check(inv, journal, spec, prompt, warm).await;
            let _ = sender
                .send(AppMessage::Preflight(outcome.map(Box::new)))
                .await;
        };
        if self.tasks.spawn(check) {
            self.checking_preflight = true;
            self.set_status(
                StatusLevel::Info,
                format!("pre-flight: checking {hosts} host(s)…"),
            );
        }
    }

    pub(super) fn on_preflight(&mut self, outcome: Option<preflight::Outcome>) {
        self.checking_preflight = false;
        match outcome {
            None => self.set_status(StatusLevel::Error, "pre-flight stopped unexpectedly"),
            Some(preflight::Outcome { result: Err(e), .. }) => {
                self.set_status(StatusLevel::Error, format!("cannot start: {e}"))
            }
            Some(preflight::Outcome {
                spec,
                result: Ok(checked),
            }) => {
                if let Some(c) = &checked {
                    let ready = c.results.iter().filter(|r| r.ready).count();
                    self.set_status(
                        StatusLevel::Info,
                        format!("pre-flight: {ready} of {} host(s) ready", c.results.len()),
                    );
                }
                self.ask_start(spec, checked);
            }
        }
    }

    /// Closes the connections of a pre-flight no run took.
    fn close_preflight(&mut self) {
        if let Some(checked) = self.pending_preflight.take() {
            self.tasks.spawn(checked.close());
        }
    }

    /// Starts the confirmed run on the runtime and shows the Run view.
    fn start_run(&mut self, spec: RunSpec, checked: Option<Checked>) {
        let name = spec.flow.name.clone();
        if self.launch(Launch::Fresh(Box::new(spec)), name.clone(), checked) {
            self.set_status(StatusLevel::Info, format!("starting {name}…"));
        }
    }

    /// Starts a rerun or resume History asked for (its question answered)
    /// as a console run, with the secret params `given` for it: it joins
    /// the list and the Run view shows it.
    pub(super) fn start_again(&mut self, kind: AgainKind, id: InstanceId, given: SecretValues) {
        if self.launch(Launch::Again(kind, id, given), String::new(), None) {
            self.set_status(
                StatusLevel::Info,
                format!("starting {} of #{id}…", kind.word()),
            );
        }
    }

    /// Prepares and starts `what` on the runtime, its store added to the
    /// run list and shown; `flow` names it until its first event does.
    /// False when it could not be started (the status line says why).
    fn launch(&mut self, what: Launch, flow: String, checked: Option<Checked>) -> bool {
        let Some(inv) = self.inventory.inventory() else {
            self.set_status(StatusLevel::Error, "the inventory is not loaded yet");
            return false;
        };
        let Some(sender) = self.tasks.sender() else {
            self.set_status(StatusLevel::Error, "runs need the console's runtime");
            return false;
        };
        let mut store = RunStore::default().with_budget(self.output_budget);
        store.flow = flow;
        let store = store.shared();
        // Passphrases are asked in the console's dialog, never on the terminal.
        let prompt = Arc::new(ConsolePrompt::new(sender.clone(), AppMessage::Passphrase));
        let launch = run_session::launch(
            inv,
            self.journal.clone(),
            what,
            store.clone(),
            Reports {
                sender,
                wrap: AppMessage::RunSession,
            },
            prompt,
            run_session::Connections {
                checked,
                warm: self.warm.clone(),
            },
        );
        if !self.tasks.spawn(launch) {
            self.set_status(StatusLevel::Error, "runs need the console's runtime");
            return false;
        }
        let from = self.view;
        self.add_run(store.clone(), true);
        self.runs.set_origin(&store, from);
        self.show(ViewId::Run);
        true
    }

    /// The answer to a question the App asked about its run.
    pub(super) fn run_dialog_answer(&mut self, kind: DialogKind, action: Action) {
        match (kind, action) {
            (DialogKind::StartRun, Action::Confirm) => {
                self.pending_command = None;
                if let Some(spec) = self.pending_spec.take() {
                    let checked = self.pending_preflight.take();
                    self.start_run(spec, checked);
                }
            }
            (DialogKind::StartRun, _) => {
                self.pending_spec = None;
                self.close_preflight();
                // Back to the command as it was typed, to change it.
                self.command = self.pending_command.take();
            }
            (DialogKind::AbortRun, Action::Confirm) => self.control(
                Control::Abort {
                    reason: "from the console".into(),
                },
                "aborting: stopping commands on the hosts",
            ),
            (DialogKind::QuitWithRun, Action::AbortRun) => self.abort_all_and_quit(),
            (DialogKind::QuitWithRun, Action::Detach) => self.detach_and_quit(),
            (DialogKind::ConfirmBatch { .. } | DialogKind::Approval { .. }, Action::Confirm) => {
                self.control(Control::Confirm, "confirmed")
            }
            (DialogKind::ConfirmBatch { .. } | DialogKind::Approval { .. }, Action::AbortRun) => {
                let (id, active) = self.run_counts();
                self.dialog = Some((Dialog::abort_run(id, active), None));
            }
            _ => {}
        }
    }

    /// Detaches every live run (each recorded interrupted, resumable),
    /// then quits when they have all ended.
    fn detach_and_quit(&mut self) {
        let ids: Vec<i64> = self.runs.live().map(|h| h.instance).collect();
        if ids.is_empty() {
            self.quit = true;
            return;
        }
        for handle in self.runs.live() {
            handle.detach();
        }
        self.quit_after_run = true;
        self.passphrases.skip_all();
        let resume: Vec<String> = ids
            .iter()
            .map(|id| format!("jobdeck resume {id}"))
            .collect();
        self.set_status(
            StatusLevel::Info,
            format!(
                "detaching {}: recorded as interrupted ({})",
                run_names(&ids),
                resume.join(", ")
            ),
        );
    }

    /// Aborts every live run, then quits when they have all ended.
    fn abort_all_and_quit(&mut self) {
        let ids: Vec<i64> = self.runs.live().map(|h| h.instance).collect();
        if ids.is_empty() {
            self.quit = true;
            return;
        }
        self.passphrases.withdraw_all();
        self.raise_passphrase();
        for handle in self.runs.live() {
            handle.send(Control::Abort {
                reason: "the operator quit the console".into(),
            });
        }
        self.quit_after_run = true;
        self.set_status(
            StatusLevel::Info,
            format!(
                "aborting {}; jobdeck quits when they have stopped",
                run_names(&ids)
            ),
        );
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
        // fail a host before the engine has seen the abort. With other runs
        // live the questions are not told apart: they stay asked.
        if matches!(control, Control::Abort { .. }) && self.runs.live().count() == 1 {
            self.passphrases.withdraw_all();
            self.raise_passphrase();
        }
        match self.runs.shown_handle() {
            Some(handle) if handle.send(control) => {
                self.set_status(StatusLevel::Info, said.to_string())
            }
            _ => self.set_status(StatusLevel::Warning, "no active run to control"),
        }
    }

    /// Run controls from the Run view's keys.
    pub(super) fn run_action(&mut self, action: &Action) {
        let again = matches!(action, Action::RetryFailed | Action::RerunFailed);
        if self.runs.shown_handle().is_none() && again {
            return self.rerun_shown_run();
        }
        if self.runs.shown_handle().is_none() {
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
                self.dialog = Some((Dialog::abort_run(id, active), None));
            }
            Action::RetryFailed | Action::RerunFailed => {
                self.control(Control::RetryFailed, "retrying the failed hosts")
            }
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

    /// `R` on a run that has ended: its failed hosts run again as a new
    /// run, asked and started by History as its own `R` does.
    fn rerun_shown_run(&mut self) {
        let Some(store) = self.run.store().cloned() else {
            return self.set_status(
                StatusLevel::Warning,
                "no run shown: start one from the Planner (3)",
            );
        };
        let run = {
            let s = RunStore::lock(&store);
            EndedRun {
                id: s.instance,
                flow: s.flow.clone(),
                status: s.status,
                failed: s.counts().failed,
            }
        };
        if run.id <= 0 {
            return self.set_status(StatusLevel::Warning, "this run was never recorded");
        }
        self.ask_history(AgainKind::Rerun, run);
    }

    /// Quit, unless runs are active: then ask once about all of them
    /// (abort all, detach all, stay). Asked again while the question is
    /// open, it detaches them.
    pub(super) fn ask_quit(&mut self) {
        let ids: Vec<i64> = self.runs.live().map(|h| h.instance).collect();
        if ids.is_empty() && self.runs.any_starting() && !self.quit_when_started {
            // Quitting now would leave it recorded and never run: ask
            // once it has started.
            self.quit_when_started = true;
            self.set_status(
                StatusLevel::Info,
                "a run is starting: jobdeck asks about it once it has (q again quits now)",
            );
            return;
        }
        if ids.is_empty() {
            self.quit = true;
            return;
        }
        match self.dialog.as_ref().map(|(d, _)| &d.kind) {
            Some(DialogKind::QuitWithRun) => {
                self.dialog = None;
                self.detach_and_quit();
            }
            _ => {
                self.help = None;
                self.dialog = Some((Dialog::quit_with_runs(&ids), None));
            }
        }
    }

    /// After the operator chose to quit: quit once no run is live or
    /// still starting.
    fn quit_if_nothing_left(&mut self) {
        let waiting = self.quit_after_run || self.quit_when_started;
        if waiting && !self.runs.any_live() && !self.runs.any_starting() {
            self.quit = true;
        }
    }
}

/// `run 4` or `runs 4, 5 and 7`.
fn run_names(ids: &[i64]) -> String {
    match ids {
        [id] => format!("run {id}"),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(i64::to_string).collect();
            format!("runs {} and {last}", rest.join(", "))
        }
        [] => "no run".to_string(),
    }
}
