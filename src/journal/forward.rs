//! The engine's events into the journal writer: one place for the headless
//! run and the console. Once a write fails, the engine is told to start
//! nothing more (`Control::Stop`): a run the journal cannot record must not
//! go on as if it could.

use tokio::sync::mpsc;

use super::writer::JournalSink;
use crate::engine::events::{Event, EventKind, InstanceId, InstanceStatus};
use crate::engine::{Control, ControlHandle};

/// Copies `events` to `journal` until they end, stopping the engine through
/// `controls` if the journal fails. When the stream ends without an
/// `InstanceFinished` (the engine was stopped from outside: the console
/// detached), `cut_off` records the instance as interrupted with its
/// reason, so `jobdeck resume` can pick it up. Returns once the journal
/// has everything.
pub async fn forward_to_journal(
    mut events: mpsc::Receiver<Event>,
    journal: JournalSink,
    controls: ControlHandle,
    cut_off: Option<(InstanceId, String)>,
) {
    let mut finished = false;
    let mut stopped = false;
    loop {
        tokio::select! {
            biased;
            _ = journal.failed(), if !stopped => {
                stopped = true;
                let reason = journal
                    .failure()
                    .map(|f| f.stop_reason())
                    .unwrap_or_else(|| "the journal could not record the run".to_owned());
                controls.send(Control::Stop { reason });
            }
            event = events.recv() => {
                let Some(event) = event else { break };
                finished |= matches!(event.kind, EventKind::InstanceFinished { .. });
                if journal.send(event).await.is_err() {
                    return;
                }
            }
        }
    }
    if !finished && let Some((instance, reason)) = cut_off {
        let _ = journal
            .send(Event::now(
                instance,
                EventKind::InstanceFinished {
                    status: InstanceStatus::Interrupted,
                    reason: Some(reason),
                },
            ))
            .await;
    }
    let _ = journal.flush().await;
}
