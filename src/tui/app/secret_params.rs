//! The UI's side of a rerun's or resume's secret params, which the journal
//! never stores: the runs that need them in arrival order, the first one's
//! params asked one at a time in the dialog, and what has been typed. What
//! is typed lives only here, is shown masked, and is wiped or handed over
//! to the launch when the question is answered.

use std::collections::VecDeque;
use std::fmt;

use crate::engine::events::InstanceId;
use crate::tui::action::Action;
use crate::tui::tasks::run_session::{AgainKind, SecretValues};
use crate::tui::widgets::dialog::Dialog;

/// Longest value taken, in bytes. The buffer is allocated at this size
/// once, so typing never reallocates and leaves no stray copies.
const MAX_VALUE_BYTES: usize = 4096;

/// A rerun or resume waiting for its secret params.
struct Question {
    kind: AgainKind,
    id: InstanceId,
    /// Still to ask, the first one now.
    names: VecDeque<String>,
    given: SecretValues,
}

/// What an answer led to.
#[derive(Debug)]
pub enum Answered {
    /// Still asking (a key typed, or the next param).
    Asking,
    /// Enter with nothing typed: the param needs a value.
    Empty(String),
    /// Every param given: launch it again with them.
    Ready(AgainKind, InstanceId, SecretValues),
    /// Esc: the rerun or resume is not started.
    Cancelled(AgainKind, InstanceId),
}

pub struct SecretParamsQueue {
    waiting: VecDeque<Question>,
    typed: String,
}

impl Default for SecretParamsQueue {
    fn default() -> Self {
        SecretParamsQueue {
            waiting: VecDeque::new(),
            typed: String::with_capacity(MAX_VALUE_BYTES),
        }
    }
}

impl fmt::Debug for SecretParamsQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretParamsQueue")
            .field("waiting", &self.waiting.len())
            .field("typed", &self.typed_len())
            .finish()
    }
}

impl SecretParamsQueue {
    /// Run `id`'s `kind` needs `names` (never empty) before it can start.
    pub fn push(&mut self, kind: AgainKind, id: InstanceId, names: Vec<String>) {
        if names.is_empty() {
            return;
        }
        self.waiting.push_back(Question {
            kind,
            id,
            names: names.into(),
            given: SecretValues::default(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// How many characters are typed: all the dialog shows of them.
    pub fn typed_len(&self) -> usize {
        self.typed.chars().count()
    }

    /// The dialog for the param being asked, or `None` if nothing is asked.
    pub fn dialog(&self) -> Option<Dialog> {
        let question = self.waiting.front()?;
        let name = question.names.front()?;
        Some(Dialog::secret_param(
            question.kind.word(),
            question.id,
            name,
            self.typed_len(),
            question.names.len() - 1,
        ))
    }

    /// A key or paste while the question is open: Enter takes the value,
    /// Esc cancels the rerun or resume, everything else edits the masked
    /// text.
    pub fn apply(&mut self, action: &Action) -> Answered {
        match action {
            Action::InsertChar(c) => self.type_char(*c),
            Action::Backspace => self.backspace(),
            Action::ClearInput => self.clear_typed(),
            Action::Submit | Action::Confirm => return self.submit(),
            Action::Cancel => return self.cancel(),
            _ => {}
        }
        Answered::Asking
    }

    fn type_char(&mut self, c: char) {
        if !self.waiting.is_empty()
            && !c.is_control()
            && self.typed.len() + c.len_utf8() <= MAX_VALUE_BYTES
        {
            self.typed.push(c);
        }
    }

    fn backspace(&mut self) {
        let mut shorter = String::with_capacity(MAX_VALUE_BYTES);
        let mut chars = self.typed.chars();
        chars.next_back();
        shorter.push_str(chars.as_str());
        wipe(std::mem::replace(&mut self.typed, shorter));
    }

    fn clear_typed(&mut self) {
        let empty = String::with_capacity(MAX_VALUE_BYTES);
        wipe(std::mem::replace(&mut self.typed, empty));
    }

    fn submit(&mut self) -> Answered {
        let Some(question) = self.waiting.front_mut() else {
            return Answered::Asking;
        };
        let Some(name) = question.names.front().cloned() else {
            return Answered::Asking;
        };
        if self.typed.is_empty() {
            return Answered::Empty(name);
        }
        // The buffer itself moves into the values: no copy stays here.
        let value = std::mem::replace(&mut self.typed, String::with_capacity(MAX_VALUE_BYTES));
        question.names.pop_front();
        question.given.push(name, value);
        if !question.names.is_empty() {
            return Answered::Asking;
        }
        let Some(done) = self.waiting.pop_front() else {
            return Answered::Asking;
        };
        Answered::Ready(done.kind, done.id, done.given)
    }

    fn cancel(&mut self) -> Answered {
        self.clear_typed();
        match self.waiting.pop_front() {
            // Values given for its earlier params are wiped as they drop.
            Some(question) => Answered::Cancelled(question.kind, question.id),
            None => Answered::Asking,
        }
    }
}

impl Drop for SecretParamsQueue {
    fn drop(&mut self) {
        self.clear_typed();
    }
}

/// Overwrites a buffer's whole allocation with zeros before freeing it.
fn wipe(mut buffer: String) {
    zeroize::Zeroize::zeroize(&mut buffer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::widgets::dialog::DialogKind;

    fn type_text(queue: &mut SecretParamsQueue, text: &str) {
        for c in text.chars() {
            queue.apply(&Action::InsertChar(c));
        }
    }

    #[test]
    fn each_param_is_asked_masked_then_all_are_handed_over() {
        let mut queue = SecretParamsQueue::default();
        queue.push(AgainKind::Rerun, 4, vec!["token".into(), "key".into()]);
        type_text(&mut queue, "s3cr3t");
        let dialog = queue.dialog().unwrap();
        assert_eq!(
            dialog.kind,
            DialogKind::SecretParam {
                id: 4,
                name: "token".into()
            }
        );
        assert_eq!(dialog.masked, Some(6));
        assert!(dialog.lines.iter().any(|l| l.contains("1 more")));
        let shown = format!("{dialog:?} {queue:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(matches!(queue.apply(&Action::Submit), Answered::Asking));
        assert_eq!(queue.typed_len(), 0, "the next param starts empty");
        // Enter with nothing typed asks again.
        assert!(matches!(queue.apply(&Action::Submit), Answered::Empty(n) if n == "key"));
        type_text(&mut queue, "k2");
        queue.apply(&Action::Backspace);
        type_text(&mut queue, "ey");
        match queue.apply(&Action::Submit) {
            Answered::Ready(AgainKind::Rerun, 4, given) => {
                let pairs: Vec<(&str, &str)> = given
                    .pairs()
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                assert_eq!(pairs, [("token", "s3cr3t"), ("key", "key")]);
                assert!(!format!("{given:?}").contains("s3cr3t"));
            }
            other => panic!("{other:?}"),
        }
        assert!(queue.is_empty());
        assert!(queue.dialog().is_none());
    }

    #[test]
    fn esc_cancels_the_run_and_forgets_what_was_typed() {
        let mut queue = SecretParamsQueue::default();
        queue.push(AgainKind::Resume, 7, vec!["token".into()]);
        queue.push(AgainKind::Rerun, 8, vec!["other".into()]);
        type_text(&mut queue, "half");
        assert!(matches!(
            queue.apply(&Action::Cancel),
            Answered::Cancelled(AgainKind::Resume, 7)
        ));
        assert_eq!(queue.typed_len(), 0);
        // The next run's question follows.
        let dialog = queue.dialog().unwrap();
        assert!(matches!(dialog.kind, DialogKind::SecretParam { id: 8, .. }));
    }
}
