//! Reruns of failed hosts and resumes of interrupted runs, started from
//! History: asked first in the shared dialog (refused with a reason when
//! there is nothing to do), then handed to the App, which starts them as
//! console runs (`tasks::run_session`): they join the Run view's list.

use super::{HistoryView, Message, Mode};
use crate::engine::events::{InstanceId, InstanceStatus};
use crate::tui::action::Action;
use crate::tui::effects::{AppRequest, Effects};
use crate::tui::key_names::KeyNames;
use crate::tui::tasks::run_session::AgainKind;
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
    pub fn refusal(&self, kind: AgainKind, keys: &KeyNames) -> Option<String> {
        let (id, status) = (self.id, self.status);
        match kind {
            AgainKind::Rerun if self.failed == 0 && status == InstanceStatus::Ok => {
                Some(format!("run #{id} has no failed hosts: nothing to rerun"))
            }
            AgainKind::Rerun if !status.is_final() => Some(format!(
                "run #{id} is still {status}: rerun it when it ends"
            )),
            AgainKind::Resume if status != InstanceStatus::Interrupted => Some(format!(
                "run #{id} is {status}; only interrupted runs resume ({} reruns failed hosts)",
                keys.of(&Action::RerunFailed)
            )),
            _ => None,
        }
    }
}

impl HistoryView {
    /// Asks before a rerun or resume of the run under the cursor (or open).
    pub(super) fn ask(&mut self, kind: AgainKind, fx: &mut Effects<Message>) {
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
    /// run), or says why there is nothing to do.
    pub fn ask_about(&mut self, kind: AgainKind, run: EndedRun, fx: &mut Effects<Message>) {
        match run.refusal(kind, &self.keys) {
            Some(text) => fx.warn(text),
            None => fx.dialog(match kind {
                AgainKind::Rerun => Dialog::rerun(run.id, &run.flow),
                AgainKind::Resume => Dialog::resume(run.id, &run.flow),
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
            DialogKind::Rerun { id } => (AgainKind::Rerun, *id),
            DialogKind::Resume { id } => (AgainKind::Resume, *id),
            _ => return,
        };
        if action == &Action::Confirm {
            fx.ask_app(AppRequest::RunAgain { kind, id });
        }
    }
}
