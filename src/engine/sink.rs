//! Delivers every event to every consumer, in order.

use tokio::sync::mpsc;

use super::events::Event;

/// The consumers of one instance's events. Each gets its own bounded
/// channel; a consumer that falls behind slows the engine down rather than
/// growing memory, so consumers absorb events quickly and do slow work
/// (SQLite, drawing) on their own schedule.
#[derive(Debug, Clone, Default)]
pub struct EventSink {
    consumers: Vec<mpsc::Sender<Event>>,
}

impl EventSink {
    pub fn new() -> Self {
        EventSink::default()
    }

    /// Adds a consumer and returns its receiving end.
    pub fn subscribe(&mut self, capacity: usize) -> mpsc::Receiver<Event> {
        let (tx, rx) = mpsc::channel(capacity);
        self.consumers.push(tx);
        rx
    }

    pub fn add(&mut self, consumer: mpsc::Sender<Event>) {
        self.consumers.push(consumer);
    }

    /// Sends to every consumer still listening.
    pub async fn emit(&self, event: Event) {
        let Some((last, rest)) = self.consumers.split_last() else {
            return;
        };
        for consumer in rest {
            let _ = consumer.send(event.clone()).await;
        }
        let _ = last.send(event).await;
    }
}
