//! The console's slow work, off the UI task.
//!
//! `Tasks` runs a job on a blocking thread and sends what it returns to
//! the UI task as a message; without a runtime and a channel (tests drawing
//! into a TestBackend) it runs the job at once and hands the message back,
//! so a test's frame is always settled. The App runs every view's work
//! through it, and its own (inventory loads, pattern evaluation, runs).
//!
//! The other modules here are the work itself: reading the journal,
//! checking and saving files, running a flow (new, rerun or resumed).

pub mod files;
pub mod gather;
pub mod history;
pub mod inventory;
pub mod journal_search;
pub mod older_lines;
pub mod passphrase;
pub mod preflight;
pub mod replay;
pub mod run_session;
pub mod schedules;
pub mod search_output;
pub mod shell;

use std::future::Future;

use tokio::sync::mpsc;

/// Where work runs and reports. Cheap to clone.
#[derive(Debug)]
pub struct Tasks<M> {
    sender: Option<mpsc::Sender<M>>,
}

impl<M> Clone for Tasks<M> {
    fn clone(&self) -> Self {
        Tasks {
            sender: self.sender.clone(),
        }
    }
}

impl<M> Default for Tasks<M> {
    fn default() -> Self {
        Tasks { sender: None }
    }
}

impl<M: Send + 'static> Tasks<M> {
    /// Work reports through `sender`, on the runtime the caller runs on.
    pub fn new(sender: mpsc::Sender<M>) -> Tasks<M> {
        Tasks {
            sender: Some(sender),
        }
    }

    /// Runs `work` off the UI task and sends its message; returns the
    /// message instead when it had to run inline.
    pub fn run(&self, work: impl FnOnce() -> M + Send + 'static) -> Option<M> {
        match (&self.sender, tokio::runtime::Handle::try_current()) {
            (Some(sender), Ok(runtime)) => {
                let sender = sender.clone();
                runtime.spawn_blocking(move || {
                    let _ = sender.blocking_send(work());
                });
                None
            }
            _ => Some(work()),
        }
    }

    /// Starts a task on the runtime (a run: engine, journal, store); false
    /// without one.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> bool {
        match (&self.sender, tokio::runtime::Handle::try_current()) {
            (Some(_), Ok(runtime)) => {
                runtime.spawn(task);
                true
            }
            _ => false,
        }
    }

    /// The channel, for work that reports more than once.
    pub fn sender(&self) -> Option<mpsc::Sender<M>> {
        self.sender.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_runtime_work_runs_inline() {
        let tasks: Tasks<u8> = Tasks::default();
        assert_eq!(tasks.run(|| 7), Some(7));
        assert!(!tasks.spawn(async {}));
    }

    #[tokio::test]
    async fn with_a_runtime_work_reports_on_the_channel() {
        let (tx, mut rx) = mpsc::channel(1);
        let tasks = Tasks::new(tx);
        assert_eq!(tasks.run(|| 9), None);
        assert_eq!(rx.recv().await, Some(9));
    }
}
