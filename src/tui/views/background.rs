//! Slow work for the History, Flows and Schedules views (journal reads,
//! flow loading and validation, file writes) goes through `Background`:
//! with a runtime and a channel it runs on a blocking thread and comes
//! back as an `AppMessage`; without one (tests drawing into a
//! TestBackend) it runs inline and the caller applies the result at once.

use tokio::sync::mpsc;

use crate::tui::app::AppMessage;

#[derive(Debug, Clone, Default)]
pub struct Background {
    sender: Option<mpsc::Sender<AppMessage>>,
}

impl Background {
    pub fn new(sender: mpsc::Sender<AppMessage>) -> Background {
        Background {
            sender: Some(sender),
        }
    }

    /// Runs `work` off the UI task and sends `wrap(result)` back; returns
    /// `Some(result)` instead when it had to run inline.
    pub fn run<M, W>(&self, work: W, wrap: fn(M) -> AppMessage) -> Option<M>
    where
        M: Send + 'static,
        W: FnOnce() -> M + Send + 'static,
    {
        match (&self.sender, tokio::runtime::Handle::try_current()) {
            (Some(sender), Ok(runtime)) => {
                let sender = sender.clone();
                runtime.spawn_blocking(move || {
                    let _ = sender.blocking_send(wrap(work()));
                });
                None
            }
            _ => Some(work()),
        }
    }

    /// The channel, for threads that report more than once (a child process).
    pub fn sender(&self) -> Option<mpsc::Sender<AppMessage>> {
        self.sender.clone()
    }
}
