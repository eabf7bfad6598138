//! Commands an operator sends to a running instance.

use tokio::sync::mpsc;

use super::events::HostIndex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Start no new host (running hosts finish) until `Resume`.
    Pause,
    Resume,
    /// Go ahead with the next batch (mode `confirm`), cut an interval short,
    /// or approve an approval step.
    Confirm,
    /// Stop: running commands are killed on their hosts, pending hosts are skipped.
    Abort {
        reason: String,
    },
    /// Start nothing more: running hosts finish, pending ones stay pending,
    /// and the instance ends interrupted (resumable) with this reason. Sent
    /// when the journal cannot record the run any more.
    Stop {
        reason: String,
    },
    /// Run the failed hosts again from the step that failed.
    RetryFailed,
    /// Skip a host: pending, it never starts; running, it is cancelled.
    SkipHost(HostIndex),
    /// Confirms the guard's confirm rules whose word this is (before the
    /// run starts, while it waits after `GuardConfirmNeeded`).
    ConfirmGuard {
        word: String,
    },
}

/// The operator's end of an instance: cheap to clone.
#[derive(Debug, Clone)]
pub struct ControlHandle(pub(crate) mpsc::UnboundedSender<Control>);

impl ControlHandle {
    pub fn channel() -> (ControlHandle, mpsc::UnboundedReceiver<Control>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ControlHandle(tx), rx)
    }

    /// Sends a command; false if the instance has already finished.
    pub fn send(&self, control: Control) -> bool {
        self.0.send(control).is_ok()
    }
}
