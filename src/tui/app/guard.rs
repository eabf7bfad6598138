//! The guard's question: a run whose confirm rules matched waits before
//! its first batch until the operator types each rule's word. The dialog
//! shows the rules, where they matched and what; the right word is sent to
//! the engine (`Control::ConfirmGuard`), a wrong one or Esc refuses the
//! run (nothing runs on any host).

use super::App;
use crate::engine::Control;
use crate::guard::HitRecord;
use crate::tui::action::Action;
use crate::tui::effects::StatusLevel;
use crate::tui::run_store::RunStore;
use crate::tui::widgets::dialog::{Dialog, DialogKind};

/// Longest word taken: rule words are short.
const MAX_WORD_CHARS: usize = 128;

/// The UI's side of the question: what is typed, and what was answered
/// already (the store hears of it only when the engine has taken it).
#[derive(Debug, Default)]
pub struct GuardAnswer {
    typed: String,
    /// Words sent: their hits are not asked again.
    sent: Vec<String>,
    /// The run was refused here: nothing more is asked.
    refused: bool,
}

impl GuardAnswer {
    /// The hits still to ask about, of those the engine waits for.
    fn open(&self, waiting: &[HitRecord]) -> Vec<HitRecord> {
        if self.refused {
            return Vec::new();
        }
        waiting
            .iter()
            .filter(|h| !self.sent.contains(&h.word))
            .cloned()
            .collect()
    }
}

impl App {
    /// True while the guard's dialog has the keyboard.
    pub(super) fn asking_guard(&self) -> bool {
        matches!(
            self.dialog.as_ref().map(|(d, _)| &d.kind),
            Some(DialogKind::GuardConfirm { .. })
        )
    }

    /// The confirm hits the shown run's engine waits on.
    pub(super) fn guard_waiting(&self) -> Vec<HitRecord> {
        self.run
            .store()
            .map(|s| {
                let s = RunStore::lock(s);
                if s.is_finished() {
                    Vec::new()
                } else {
                    s.gates.confirm_waiting.clone()
                }
            })
            .unwrap_or_default()
    }

    /// Opens (or refreshes) the guard's dialog for the hits the run waits
    /// on, unless another dialog is open; closes it when none is left.
    pub(super) fn raise_guard(&mut self, waiting: &[HitRecord]) {
        let open = if self.runs.shown_handle().is_some() {
            self.guard.open(waiting)
        } else {
            Vec::new()
        };
        if open.is_empty() {
            if self.asking_guard() {
                self.dialog = None;
                self.dirty = true;
            }
            return;
        }
        if self.dialog.is_none() || self.asking_guard() {
            let dialog = Dialog::guard_confirm(&open, &self.guard.typed);
            if self.dialog.as_ref().map(|(d, _)| d) != Some(&dialog) {
                self.dialog = Some((dialog, None));
                self.dirty = true;
            }
        }
    }

    /// A key while the guard's dialog is open: typing edits the word,
    /// Enter answers, Esc refuses.
    pub(super) fn guard_action(&mut self, action: &Action, waiting: &[HitRecord]) {
        match action {
            Action::InsertChar(c)
                if !c.is_control() && self.guard.typed.chars().count() < MAX_WORD_CHARS =>
            {
                self.guard.typed.push(*c)
            }
            Action::Backspace => {
                self.guard.typed.pop();
            }
            Action::ClearInput => self.guard.typed.clear(),
            Action::Submit | Action::Confirm => self.answer_guard(waiting),
            Action::Cancel => {
                let rules = rule_names(&self.guard.open(waiting));
                self.refuse_guard(format!(
                    "the operator refused the guard's rule {rules} in the console"
                ));
            }
            _ => {}
        }
        self.raise_guard(waiting);
    }

    fn answer_guard(&mut self, waiting: &[HitRecord]) {
        let open = self.guard.open(waiting);
        let word = std::mem::take(&mut self.guard.typed);
        if word.is_empty() {
            return;
        }
        let confirmed: Vec<&HitRecord> = open.iter().filter(|h| h.word == word).collect();
        if confirmed.is_empty() {
            self.refuse_guard(format!(
                "a wrong word was typed for the guard's rule {}",
                rule_names(&open)
            ));
            return;
        }
        let rules = rule_names(&confirmed.into_iter().cloned().collect::<Vec<_>>());
        self.guard.sent.push(word.clone());
        match self.runs.shown_handle() {
            Some(handle) if handle.send(Control::ConfirmGuard { word }) => {
                self.set_status(StatusLevel::Info, format!("guard: {rules} confirmed"))
            }
            _ => self.set_status(StatusLevel::Warning, "no active run to confirm"),
        }
    }

    fn refuse_guard(&mut self, reason: String) {
        self.guard.refused = true;
        self.guard.typed.clear();
        if let Some(handle) = self.runs.shown_handle() {
            handle.send(Control::Abort {
                reason: reason.clone(),
            });
        }
        self.set_status(
            StatusLevel::Warning,
            format!("refused: {reason}; nothing ran"),
        );
    }
}

/// `'mkfs'` or `'mkfs', 'dd-disk'`.
fn rule_names(hits: &[HitRecord]) -> String {
    let mut names: Vec<String> = hits.iter().map(|h| format!("'{}'", h.rule)).collect();
    names.dedup();
    names.join(", ")
}
