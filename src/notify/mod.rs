//! Notifications: word of a run to a person, as a JSON document POSTed to
//! a webhook or given to a local command on its stdin.
//!
//! The notifier is one more consumer of the run's events, on a task of its
//! own; it only builds documents and hands them to a delivery thread, so
//! sending never holds the run up. Each delivery (sent or failed, attempts,
//! HTTP status) is recorded in the journal; `show` lists them. A run's end
//! waits for deliveries in flight before the process exits.
//!
//! - `target`: where to send and which events each target wants.
//! - `document`: the JSON document (see the README).
//! - `deliver`: webhook POSTs and commands, timeouts, retries, back-off.
//! - `history`: `recovered` and `after: N` from earlier runs; the records.

pub mod deliver;
pub mod document;
pub mod history;
pub mod target;

use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

pub use deliver::Delivery;
pub use document::RunFacts;
pub use target::{Channel, NotifyEvent, Target};

use crate::engine::events::{Event, EventKind, InstanceStatus, now_millis};
use crate::engine::scrub::Scrubber;
use document::RunTracker;

/// Everything the notifier of one run needs.
pub struct NotifyContext {
    pub facts: RunFacts,
    pub targets: Vec<Target>,
    /// Masked in every text of a document.
    pub secrets: Vec<String>,
    /// Where deliveries are recorded.
    pub journal: PathBuf,
}

impl NotifyContext {
    /// The context of `plan`'s run, its trigger and user read from the
    /// journal; `None` without targets.
    pub fn for_run(
        journal: &std::path::Path,
        plan: &crate::engine::Plan,
        targets: Vec<Target>,
    ) -> Option<NotifyContext> {
        if targets.is_empty() {
            return None;
        }
        let (trigger, user) = crate::journal::Journal::open(journal)
            .ok()
            .and_then(|j| j.instance(plan.instance).ok().flatten())
            .map(|d| (d.instance.trigger, d.instance.user))
            .unwrap_or_default();
        let default_journal = crate::journal::default_path().ok();
        let show = if default_journal.as_deref() == Some(journal) {
            format!("jobdeck show {}", plan.instance)
        } else {
            format!(
                "jobdeck show {} --journal {}",
                plan.instance,
                crate::transport::remote_command::shell_quote(&journal.display().to_string())
            )
        };
        Some(NotifyContext {
            facts: RunFacts {
                instance: plan.instance,
                flow: plan.flow.clone(),
                trigger,
                user,
                controller: crate::journal::owner::hostname(),
                show,
            },
            targets,
            secrets: plan.secrets.clone(),
            journal: journal.to_path_buf(),
        })
    }
}

/// What the delivery thread is asked to send.
struct Job {
    event: NotifyEvent,
    body: String,
    /// For `finished`: the run's end and the `recovered` document, decided
    /// against the journal by the delivery thread.
    end: Option<(InstanceStatus, String)>,
}

/// One delivery made.
#[derive(Debug, Clone)]
pub struct Sent {
    pub event: NotifyEvent,
    pub target: String,
    pub delivery: Delivery,
}

pub struct Notifier {
    consumer: tokio::task::JoinHandle<()>,
    worker: JoinHandle<Vec<Sent>>,
}

impl Notifier {
    /// Follows `events` (subscribe it to the run's sink) and delivers what
    /// the targets want. `None` when there is no target.
    pub fn start(context: NotifyContext, mut events: mpsc::Receiver<Event>) -> Option<Notifier> {
        if context.targets.is_empty() {
            return None;
        }
        let (jobs, queue) = std_mpsc::channel::<Job>();
        let facts = context.facts.clone();
        let scrubber = Scrubber::new(&context.secrets);
        let consumer = tokio::spawn(async move {
            let mut tracker = RunTracker::default();
            while let Some(event) = events.recv().await {
                let last = matches!(event.kind, EventKind::InstanceFinished { .. });
                for notify in tracker.absorb(&event) {
                    let body = tracker.document(notify, &facts, &scrubber).to_string();
                    let end = (notify == NotifyEvent::Finished).then(|| {
                        let recovered = tracker.document(NotifyEvent::Recovered, &facts, &scrubber);
                        (
                            tracker.status.unwrap_or(InstanceStatus::Interrupted),
                            recovered.to_string(),
                        )
                    });
                    // The delivery thread lives until this sender is dropped.
                    let _ = jobs.send(Job {
                        event: notify,
                        body,
                        end,
                    });
                }
                if last {
                    break;
                }
            }
        });
        let worker = std::thread::Builder::new()
            .name("jobdeck-notify".into())
            .spawn(move || deliver_all(context, queue))
            .ok()?;
        Some(Notifier { consumer, worker })
    }

    /// Waits until the run's events are read and every delivery is done
    /// (each bounded by its target's timeout and retries).
    pub async fn finish(self) -> Vec<Sent> {
        let _ = self.consumer.await;
        tokio::task::spawn_blocking(move || self.worker.join().unwrap_or_default())
            .await
            .unwrap_or_default()
    }
}

/// The delivery thread: sends each job to the targets that want it, all
/// targets of a job at once, and records every delivery.
fn deliver_all(context: NotifyContext, queue: std_mpsc::Receiver<Job>) -> Vec<Sent> {
    let journal = crate::journal::open_connection(&context.journal).ok();
    let instance = context.facts.instance;
    let scheduled = context.facts.trigger.starts_with("schedule:");
    let mut sent = Vec::new();
    for job in queue {
        let mut wanted: Vec<(NotifyEvent, &Target, String)> = Vec::new();
        let mut add = |event: NotifyEvent, body: &str, streak: Option<u32>| {
            for target in context.targets.iter().filter(|t| t.wants(event)) {
                // `after: N`: a schedule's failure is told once, when N in a row failed.
                let held_back = event == NotifyEvent::Failed
                    && matches!((target.after, streak), (Some(n), Some(s)) if s != n);
                if !held_back {
                    wanted.push((event, target, body.to_owned()));
                }
            }
        };
        let streak = if job.event == NotifyEvent::Failed && scheduled {
            journal.as_ref().and_then(|c| {
                history::failures_before(c, &context.facts.trigger, instance)
                    .ok()
                    .map(|n| n + 1)
            })
        } else {
            None
        };
        add(job.event, &job.body, streak);
        if let Some((status, recovered)) = &job.end {
            let previous = journal
                .as_ref()
                .and_then(|c| history::previous_status(c, instance).ok().flatten());
            if *status == InstanceStatus::Ok && previous.is_some_and(|p| p != InstanceStatus::Ok) {
                add(NotifyEvent::Recovered, recovered, None);
            }
        }
        let results: Vec<Sent> = std::thread::scope(|scope| {
            let handles: Vec<_> = wanted
                .iter()
                .map(|(event, target, body)| {
                    scope.spawn(move || Sent {
                        event: *event,
                        target: target.describe(),
                        delivery: deliver::deliver(target, body),
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for result in results {
            if let Some(conn) = &journal {
                let _ = history::record(
                    conn,
                    instance,
                    result.event,
                    &result.target,
                    &result.delivery,
                    now_millis(),
                );
            }
            sent.push(result);
        }
    }
    sent
}
