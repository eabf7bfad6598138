//! The UI's side of key passphrases: the questions in arrival order, the
//! first one asked in the dialog, and what has been typed for it. What is
//! typed lives only here, is shown masked, and is wiped or handed over
//! when the question is answered.

use std::collections::VecDeque;
use std::fmt;
use std::path::Path;

use crate::transport::Secret;
use crate::tui::action::Action;
use crate::tui::tasks::passphrase::PassphraseRequest;
use crate::tui::widgets::dialog::Dialog;

/// Longest passphrase taken, in bytes. The buffer is allocated at this
/// size once, so typing never reallocates and leaves no stray copies.
const MAX_PASSPHRASE_BYTES: usize = 1024;

/// The UI's side: questions in arrival order, the first one asked, and what
/// has been typed for it.
pub struct PassphraseQueue {
    waiting: VecDeque<PassphraseRequest>,
    typed: String,
    /// Questions of a run being aborted: no longer shown, answered (`None`)
    /// only once the run has ended, so the skipped key cannot fail a host
    /// before the engine has taken the abort.
    withdrawn: Vec<PassphraseRequest>,
    /// New questions go straight to `withdrawn` (the run is being aborted).
    withdrawing: bool,
}

impl Default for PassphraseQueue {
    fn default() -> Self {
        PassphraseQueue {
            waiting: VecDeque::new(),
            typed: String::with_capacity(MAX_PASSPHRASE_BYTES),
            withdrawn: Vec::new(),
            withdrawing: false,
        }
    }
}

impl fmt::Debug for PassphraseQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassphraseQueue")
            .field("waiting", &self.waiting)
            .field("typed", &self.typed_len())
            .finish()
    }
}

impl PassphraseQueue {
    pub fn push(&mut self, request: PassphraseRequest) {
        if self.withdrawing {
            self.withdrawn.push(request);
        } else {
            self.waiting.push_back(request);
        }
    }

    /// The run is being aborted: stop asking, and hold every question
    /// (those waiting and those still to come) until `skip_all`.
    pub fn withdraw_all(&mut self) {
        self.clear_typed();
        self.withdrawing = true;
        self.withdrawn.extend(self.waiting.drain(..));
    }

    /// Another run started while one is being aborted: its questions are
    /// asked again; those held stay held until `skip_all`.
    pub fn stop_withdrawing(&mut self) {
        self.withdrawing = false;
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// The question being asked.
    pub fn current(&self) -> Option<&PassphraseRequest> {
        self.waiting.front()
    }

    /// How many characters are typed: all the dialog shows of them.
    pub fn typed_len(&self) -> usize {
        self.typed.chars().count()
    }

    /// The dialog for the current question, or `None` if nothing is asked.
    pub fn dialog(&self) -> Option<Dialog> {
        let request = self.current()?;
        let home = crate::transport::home_dir();
        Some(Dialog::passphrase(
            key_label(&request.key_file, home.as_deref()),
            request.attempt,
            self.typed_len(),
            self.waiting.len() - 1,
        ))
    }

    pub fn type_char(&mut self, c: char) {
        if self.current().is_some()
            && !c.is_control()
            && self.typed.len() + c.len_utf8() <= MAX_PASSPHRASE_BYTES
        {
            self.typed.push(c);
        }
    }

    pub fn backspace(&mut self) {
        let mut shorter = String::with_capacity(MAX_PASSPHRASE_BYTES);
        let mut chars = self.typed.chars();
        chars.next_back();
        shorter.push_str(chars.as_str());
        wipe(std::mem::replace(&mut self.typed, shorter));
    }

    pub fn clear_typed(&mut self) {
        let empty = String::with_capacity(MAX_PASSPHRASE_BYTES);
        wipe(std::mem::replace(&mut self.typed, empty));
    }

    /// Sends what was typed for the current question. Nothing typed skips
    /// the key, as the terminal prompt does.
    pub fn submit(&mut self) {
        let Some(request) = self.waiting.pop_front() else {
            return;
        };
        let typed = std::mem::replace(&mut self.typed, String::with_capacity(MAX_PASSPHRASE_BYTES));
        if typed.is_empty() {
            request.answer(None);
        } else {
            // The buffer itself moves into the secret: no copy stays here.
            request.answer(Some(Secret::new(typed)));
        }
    }

    /// Skips the current key.
    pub fn skip(&mut self) {
        self.clear_typed();
        if let Some(request) = self.waiting.pop_front() {
            request.answer(None);
        }
    }

    /// A key or paste while the question is open: Enter sends, Esc skips,
    /// everything else edits the masked text.
    pub fn apply(&mut self, action: &Action) {
        match action {
            Action::InsertChar(c) => self.type_char(*c),
            Action::Backspace => self.backspace(),
            Action::ClearInput => self.clear_typed(),
            Action::Submit | Action::Confirm => self.submit(),
            Action::Cancel => self.skip(),
            _ => {}
        }
    }

    /// Drops every question (their run ended): each asker gets `None`.
    pub fn skip_all(&mut self) {
        self.clear_typed();
        self.withdrawing = false;
        while let Some(request) = self.waiting.pop_front() {
            request.answer(None);
        }
        for request in self.withdrawn.drain(..) {
            request.answer(None);
        }
    }
}

impl Drop for PassphraseQueue {
    fn drop(&mut self) {
        self.clear_typed();
    }
}

/// Overwrites a buffer's whole allocation with zeros before freeing it.
fn wipe(mut buffer: String) {
    zeroize::Zeroize::zeroize(&mut buffer);
}

/// The key's path as the operator knows it: the home directory as `~`.
pub fn key_label(key_file: &Path, home: Option<&Path>) -> String {
    match home.and_then(|home| key_file.strip_prefix(home).ok()) {
        Some(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
        _ => key_file.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Secret;
    use crate::tui::tasks::passphrase::PassphraseRequest;
    use crate::tui::widgets::dialog::DialogKind;
    use std::path::Path;

    #[test]
    fn two_questions_are_asked_one_after_the_other() {
        let (first, first_answer) = PassphraseRequest::new("/k/a".into(), 1);
        let (second, second_answer) = PassphraseRequest::new("/k/b".into(), 1);
        let mut queue = PassphraseQueue::default();
        queue.push(first);
        queue.push(second);
        let dialog = queue.dialog().unwrap();
        assert!(matches!(&dialog.kind, DialogKind::Passphrase { key, .. } if key == "/k/a"));
        assert!(dialog.lines.iter().any(|l| l.contains("1 more key")));
        for c in "pw1".chars() {
            queue.type_char(c);
        }
        queue.submit();
        assert_eq!(
            first_answer
                .blocking_recv()
                .unwrap()
                .as_ref()
                .map(Secret::expose),
            Some("pw1")
        );
        // The second question starts with nothing typed.
        assert_eq!(queue.typed_len(), 0);
        let dialog = queue.dialog().unwrap();
        assert!(matches!(&dialog.kind, DialogKind::Passphrase { key, .. } if key == "/k/b"));
        queue.skip();
        assert_eq!(second_answer.blocking_recv().unwrap(), None);
        assert!(queue.dialog().is_none());
    }

    #[test]
    fn typing_is_masked_edited_and_empty_skips() {
        let (request, answer) = PassphraseRequest::new("/k/a".into(), 2);
        let mut queue = PassphraseQueue::default();
        queue.type_char('z'); // nothing asked: ignored
        queue.push(request);
        for c in "sëcret\u{7}".chars() {
            queue.type_char(c);
        }
        assert_eq!(queue.typed_len(), 6);
        let dialog = queue.dialog().unwrap();
        assert_eq!(dialog.masked, Some(6));
        assert!(
            dialog.lines[0].starts_with("Wrong passphrase, try again"),
            "{:?}",
            dialog.lines
        );
        let text = format!("{dialog:?} {queue:?}");
        assert!(!text.contains("cret"), "{text}");
        queue.backspace();
        queue.backspace();
        assert_eq!(queue.typed_len(), 4);
        queue.clear_typed();
        queue.submit();
        assert_eq!(answer.blocking_recv().unwrap(), None);
    }

    #[test]
    fn skip_all_answers_everyone() {
        let (a, a_answer) = PassphraseRequest::new("/k/a".into(), 1);
        let (b, b_answer) = PassphraseRequest::new("/k/b".into(), 3);
        let mut queue = PassphraseQueue::default();
        queue.push(a);
        queue.push(b);
        queue.skip_all();
        assert!(queue.is_empty());
        assert_eq!(a_answer.blocking_recv().unwrap(), None);
        assert_eq!(b_answer.blocking_recv().unwrap(), None);
    }

    #[test]
    fn withdrawn_questions_wait_unanswered_until_the_run_ends() {
        let (a, mut a_answer) = PassphraseRequest::new("/k/a".into(), 1);
        let (late, mut late_answer) = PassphraseRequest::new("/k/late".into(), 1);
        let mut queue = PassphraseQueue::default();
        queue.push(a);
        queue.type_char('x');
        queue.withdraw_all();
        // Nothing is shown, nothing typed is kept, and a question that comes
        // in after the abort is held the same way.
        assert!(queue.dialog().is_none());
        assert_eq!(queue.typed_len(), 0);
        queue.push(late);
        assert!(queue.dialog().is_none());
        assert!(a_answer.try_recv().is_err(), "not answered yet");
        assert!(late_answer.try_recv().is_err(), "not answered yet");
        queue.skip_all();
        assert_eq!(a_answer.blocking_recv().unwrap(), None);
        assert_eq!(late_answer.blocking_recv().unwrap(), None);
        // The next run asks again.
        let (next, _next_answer) = PassphraseRequest::new("/k/next".into(), 1);
        queue.push(next);
        assert!(queue.dialog().is_some());
    }

    #[test]
    fn key_paths_under_home_start_with_a_tilde() {
        let home = Path::new("/home/ops");
        assert_eq!(
            key_label(Path::new("/home/ops/.ssh/id_ed25519"), Some(home)),
            "~/.ssh/id_ed25519"
        );
        assert_eq!(
            key_label(Path::new("/etc/keys/deploy"), Some(home)),
            "/etc/keys/deploy"
        );
        assert_eq!(key_label(Path::new("/home/ops"), Some(home)), "/home/ops");
        assert_eq!(key_label(Path::new("/k"), None), "/k");
    }
}
