//! Reruns of failed hosts and resumes of interrupted runs, started from
//! History: asked first in the shared dialog (refused with a reason when
//! there is nothing to do), then started off the UI task as child runs
//! (`tasks::children`). The view keeps the last few with how they went.

use super::{HistoryView, Message, Mode};
use crate::engine::events::{InstanceId, InstanceStatus};
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::key_names::KeyNames;
use crate::tui::tasks::children::{self, ChildEvent, ChildKind, ChildRun};
use crate::tui::widgets::dialog::{Dialog, DialogKind};

/// What a rerun or resume question needs to know of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct EndedRun {
    pub id: InstanceId,
    pub flow: String,
    pub status: InstanceStatus,
    /// Hosts that failed (or were cut off) in it.
    pub failed: usize,
}

impl EndedRun {
    /// Why a rerun or resume of this run would be refused, if it would:
    /// the question, and the footer offering the key, ask this alike.
    pub fn refusal(&self, kind: ChildKind, keys: &KeyNames) -> Option<String> {
        let (id, status) = (self.id, self.status);
        match kind {
            ChildKind::Rerun if self.failed == 0 && status == InstanceStatus::Ok => {
                Some(format!("run #{id} has no failed hosts: nothing to rerun"))
            }
            ChildKind::Rerun if !status.is_final() => Some(format!(
                "run #{id} is still {status}: rerun it when it ends"
            )),
            ChildKind::Resume if status != InstanceStatus::Interrupted => Some(format!(
                "run #{id} is {status}; only interrupted runs resume ({} reruns failed hosts)",
                keys.of(&Action::RerunFailed)
            )),
            _ => None,
        }
    }
}

/// Child runs shown at the bottom of the list.
const JOBS_KEPT: usize = 3;

/// A child run as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildJob {
    pub label: String,
    pub log: Option<std::path::PathBuf>,
    /// Its pid while it runs.
    pub running: Option<u32>,
    /// How it ended, once it has.
    pub outcome: Option<String>,
}

impl HistoryView {
    /// Asks before a rerun or resume of the run under the cursor (or open).
    pub(super) fn ask(&mut self, kind: ChildKind, fx: &mut Effects<Message>) {
        let facts = match (&self.mode, self.replayed_run()) {
            (Mode::Replay, Some(run)) => run,
            _ => match self.selected_summary() {
                Some(s) => EndedRun {
                    id: s.id,
                    flow: s.flow.clone(),
                    status: s.status,
                    failed: s.hosts_failed,
                },
                None => return,
            },
        };
        self.ask_about(kind, facts, fx);
    }

    /// Asks before a rerun or resume of `run` (one History shows, or one
    /// the Run view shows after it ended: the same question and the same
    /// child run), or says why there is nothing to do.
    pub fn ask_about(&mut self, kind: ChildKind, run: EndedRun, fx: &mut Effects<Message>) {
        match run.refusal(kind, &self.keys) {
            Some(text) => fx.warn(text),
            None => fx.dialog(match kind {
                ChildKind::Rerun => Dialog::rerun(run.id, &run.flow),
                ChildKind::Resume => Dialog::resume(run.id, &run.flow),
            }),
        }
    }

    /// The replay's run, as a rerun or resume question sees it.
    pub(super) fn replayed_run(&self) -> Option<EndedRun> {
        let r = self.open_run.as_ref()?;
        Some(EndedRun {
            id: r.id,
            flow: r.plan.flow.clone(),
            status: r.plan.status,
            failed: r.plan.failed_hosts,
        })
    }

    /// The dialog's answer: start it, or not.
    pub(super) fn answered(
        &mut self,
        kind: &DialogKind,
        action: &Action,
        fx: &mut Effects<Message>,
    ) {
        let (kind, id) = match kind {
            DialogKind::Rerun { id } => (ChildKind::Rerun, *id),
            DialogKind::Resume { id } => (ChildKind::Resume, *id),
            _ => return,
        };
        if action == &Action::Confirm {
            self.start_child(kind, id, fx);
        }
    }

    fn start_child(&mut self, kind: ChildKind, id: InstanceId, fx: &mut Effects<Message>) {
        let Some(journal) = self.journal.clone() else {
            return;
        };
        let label = format!("{} of #{id}", kind.word());
        let run = ChildRun {
            kind,
            id,
            journal,
            inventory: self.inventory.clone(),
            program: self.program.clone(),
        };
        fx.info(format!("starting {label}…"));
        self.jobs.push(ChildJob {
            label: label.clone(),
            log: None,
            running: None,
            outcome: None,
        });
        // Keep the last few.
        if self.jobs.len() > JOBS_KEPT
            && let Some(i) = self.jobs.iter().position(|j| j.outcome.is_some())
        {
            self.jobs.remove(i);
        }
        fx.stream(move |send| {
            children::run(run, &|event| {
                send(Message::Child {
                    label: label.clone(),
                    event,
                })
            })
        });
    }

    /// News of a child run.
    pub(super) fn child_event(
        &mut self,
        label: String,
        event: ChildEvent,
        fx: &mut Effects<Message>,
    ) {
        let Some(job) = self.jobs.iter_mut().rev().find(|j| j.label == label) else {
            return;
        };
        match event {
            ChildEvent::Started { pid, log } => {
                fx.info(format!(
                    "{label} started (pid {pid}); log {}",
                    log.display()
                ));
                job.running = Some(pid);
                job.log = Some(log);
                // It shows in the list as soon as it records itself.
                self.last_refresh = None;
            }
            ChildEvent::Failed { error, log } => {
                fx.error(format!("cannot start {label}: {error} ({})", log.display()));
                job.outcome = Some(format!("not started: {error}"));
                job.log = Some(log);
            }
            ChildEvent::Ended { outcome } => {
                fx.info(format!("{label}: {outcome}"));
                job.running = None;
                job.outcome = Some(outcome);
                // The finished run's final state: read it now rather than at the next refresh.
                self.last_refresh = None;
            }
        }
    }

    /// A child is running: the list keeps refreshing even when not shown.
    pub(super) fn children_busy(&self) -> bool {
        self.jobs.iter().any(|j| j.outcome.is_none())
    }
}
