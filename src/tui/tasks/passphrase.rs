//! Passphrases for encrypted keys, asked in the console.
//!
//! The transport asks on a blocking thread (`PassphrasePrompt`). The
//! console's prompt sends the question to the UI task with a oneshot reply
//! channel and blocks on the answer. If the UI is gone (the message
//! channel closed, or the request dropped unanswered) the answer is `None`
//! and the key is skipped: nothing waits forever. The UI keeps the
//! questions in `app::passphrase::PassphraseQueue`.

use std::fmt;
use std::path::{Path, PathBuf};

use tokio::sync::{mpsc, oneshot};

use crate::transport::{PassphrasePrompt, Secret};

/// One question from the transport: the key file, which attempt this is,
/// and where the answer goes (`None` skips the key).
pub struct PassphraseRequest {
    pub key_file: PathBuf,
    /// Starts at 1; 2 and up follow a wrong passphrase.
    pub attempt: u32,
    reply: oneshot::Sender<Option<Secret>>,
}

impl PassphraseRequest {
    /// A request and the receiver its answer arrives on.
    pub fn new(
        key_file: PathBuf,
        attempt: u32,
    ) -> (PassphraseRequest, oneshot::Receiver<Option<Secret>>) {
        let (reply, answer) = oneshot::channel();
        let request = PassphraseRequest {
            key_file,
            attempt,
            reply,
        };
        (request, answer)
    }

    /// Sends the answer; the asker may have given up already, which is fine.
    pub fn answer(self, passphrase: Option<Secret>) {
        let _ = self.reply.send(passphrase);
    }
}

impl fmt::Debug for PassphraseRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassphraseRequest")
            .field("key_file", &self.key_file)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// The console's `PassphrasePrompt`: asks the UI and waits for its answer.
pub struct ConsolePrompt {
    /// Hands a question to the UI task; false when the UI is gone.
    ask: Box<dyn Fn(PassphraseRequest) -> bool + Send + Sync>,
}

impl ConsolePrompt {
    /// Questions go to the UI task through `sender`, wrapped by `wrap`.
    pub fn new<M: Send + 'static>(
        sender: mpsc::Sender<M>,
        wrap: fn(PassphraseRequest) -> M,
    ) -> ConsolePrompt {
        ConsolePrompt {
            ask: Box::new(move |request| sender.blocking_send(wrap(request)).is_ok()),
        }
    }
}

impl PassphrasePrompt for ConsolePrompt {
    fn passphrase(&self, key_file: &Path, attempt: u32) -> Option<Secret> {
        let (request, answer) = PassphraseRequest::new(key_file.to_path_buf(), attempt);
        // Both calls block: the transport calls us on a blocking thread.
        if !(self.ask)(request) {
            return None;
        }
        // A dropped request (the UI closed) ends the wait with an error: skip.
        answer.blocking_recv().ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt_on_thread(
        prompt: ConsolePrompt,
        key: &str,
        attempt: u32,
    ) -> std::thread::JoinHandle<Option<Secret>> {
        let key = PathBuf::from(key);
        std::thread::spawn(move || prompt.passphrase(&key, attempt))
    }

    fn next_request(rx: &mut mpsc::Receiver<PassphraseRequest>) -> PassphraseRequest {
        rx.blocking_recv().expect("a passphrase request")
    }

    fn prompt(tx: mpsc::Sender<PassphraseRequest>) -> ConsolePrompt {
        ConsolePrompt::new(tx, |request| request)
    }

    #[test]
    fn the_ui_answer_is_the_prompt_answer() {
        let (tx, mut rx) = mpsc::channel(4);
        let asker = prompt_on_thread(prompt(tx.clone()), "/k/id_ed25519", 1);
        let request = next_request(&mut rx);
        assert_eq!(request.key_file, Path::new("/k/id_ed25519"));
        assert_eq!(request.attempt, 1);
        request.answer(Some(Secret::new("open sesame")));
        let answer = asker.join().unwrap();
        assert_eq!(answer.as_ref().map(Secret::expose), Some("open sesame"));

        let asker = prompt_on_thread(prompt(tx), "/k/id_rsa", 2);
        let request = next_request(&mut rx);
        assert_eq!(request.attempt, 2);
        request.answer(None);
        assert!(asker.join().unwrap().is_none());
    }

    #[test]
    fn a_gone_ui_answers_none_instead_of_hanging() {
        // The UI's receiver is gone before the question.
        let (tx, rx) = mpsc::channel(4);
        drop(rx);
        let asker = prompt_on_thread(prompt(tx), "/k/id_ed25519", 1);
        assert!(asker.join().unwrap().is_none());

        // The UI took the question, then went away without answering.
        let (tx, mut rx) = mpsc::channel(4);
        let asker = prompt_on_thread(prompt(tx), "/k/id_ed25519", 1);
        let request = next_request(&mut rx);
        drop(request);
        assert!(asker.join().unwrap().is_none());
    }
}
