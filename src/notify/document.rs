//! The JSON document a notification carries, built from what the run's
//! events said. The README documents every field; no param value and no
//! secret reaches it (texts from the run are masked once more here).

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use super::NotifyEvent;
use crate::engine::events::{
    Event, EventKind, HostIndex, HostStatus, InstanceId, InstanceStatus, StepIndex, Stream,
    UnixMillis, WaitReason,
};
use crate::engine::scrub::Scrubber;
use crate::report::sanitize::one_line;

/// The version of the document's layout, in its `version` field.
pub const DOCUMENT_VERSION: u32 = 1;
/// At most this many failed hosts are listed (`failed_hosts_total` counts all).
pub const FAILED_HOSTS_LISTED: usize = 50;
/// The longest error line kept per host.
const ERROR_LINE_MAX: usize = 300;

/// What stays the same for every notification of a run.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub instance: InstanceId,
    pub flow: String,
    pub trigger: String,
    pub user: String,
    /// The machine jobdeck runs on.
    pub controller: String,
    /// The command that shows the run.
    pub show: String,
}

/// A host's first failure: its step and the first line of its error.
#[derive(Debug, Clone, Default)]
struct HostTrack {
    status: Option<HostStatus>,
    /// Per step: the latest attempt's first stderr line so far.
    stderr: BTreeMap<StepIndex, String>,
    /// Per step that failed in its latest attempt: the error line.
    failed_steps: BTreeMap<StepIndex, String>,
}

/// The run as the notifier follows it.
#[derive(Debug, Clone, Default)]
pub struct RunTracker {
    hosts: Vec<String>,
    steps: Vec<String>,
    track: Vec<HostTrack>,
    pub status: Option<InstanceStatus>,
    pub reason: Option<String>,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
    /// What the run waits for (needs_approval, paused, guard).
    pub waiting: Option<String>,
    started: bool,
}

impl RunTracker {
    /// Takes an event in; returns the notification events it triggers.
    pub fn absorb(&mut self, event: &Event) -> Vec<NotifyEvent> {
        match &event.kind {
            EventKind::InstanceStarted { hosts, steps, .. } => {
                self.hosts = hosts.clone();
                self.steps = steps.clone();
                self.track = vec![HostTrack::default(); hosts.len()];
                self.status = Some(InstanceStatus::Running);
                Vec::new()
            }
            EventKind::BatchStarted { .. } if !self.started => {
                self.started = true;
                self.started_at = Some(event.at);
                vec![NotifyEvent::Started]
            }
            EventKind::StepStarted { host, step, .. } => {
                if let Some(t) = self.track.get_mut(*host) {
                    t.stderr.remove(step);
                }
                Vec::new()
            }
            EventKind::Output {
                host,
                step,
                stream: Stream::Stderr,
                data,
            } => {
                if let Some(t) = self.track.get_mut(*host) {
                    let line = t.stderr.entry(*step).or_default();
                    if !line.contains('\n') && line.len() < ERROR_LINE_MAX {
                        line.push_str(&String::from_utf8_lossy(data));
                    }
                }
                Vec::new()
            }
            EventKind::StepFinished {
                host,
                step,
                outcome,
                ..
            } => {
                let said = self
                    .track
                    .get(*host)
                    .and_then(|t| t.stderr.get(step))
                    .and_then(|s| s.lines().map(str::trim).find(|l| !l.is_empty()))
                    .map(str::to_owned);
                if let Some(t) = self.track.get_mut(*host) {
                    if outcome.status == HostStatus::Ok {
                        t.failed_steps.remove(step);
                    } else {
                        let line = outcome
                            .error
                            .as_deref()
                            .and_then(|e| e.lines().next())
                            .map(str::to_owned)
                            .or(said)
                            .unwrap_or_else(|| match (&outcome.exit_code, &outcome.signal) {
                                (Some(code), _) => format!("exit {code}"),
                                (None, Some(signal)) => format!("killed by {signal}"),
                                _ => outcome.status.as_str().replace('_', " "),
                            });
                        t.failed_steps.insert(*step, line);
                    }
                }
                Vec::new()
            }
            EventKind::HostFinished { host, status } => {
                if let Some(t) = self.track.get_mut(*host) {
                    t.status = Some(*status);
                }
                Vec::new()
            }
            EventKind::ApprovalRequested { step, message, .. } => {
                self.waiting = Some(format!(
                    "approval at {}: {message}",
                    self.steps.get(*step).map_or("a step", String::as_str)
                ));
                vec![NotifyEvent::NeedsApproval]
            }
            EventKind::Waiting {
                next_batch, reason, ..
            } => match reason {
                WaitReason::Confirm => {
                    self.waiting = Some(format!("confirm batch {}", next_batch + 1));
                    vec![NotifyEvent::NeedsApproval]
                }
                WaitReason::Failure => {
                    self.waiting = Some(format!(
                        "paused after a failure, before batch {}",
                        next_batch + 1
                    ));
                    vec![NotifyEvent::Paused]
                }
                _ => Vec::new(),
            },
            EventKind::GuardConfirmNeeded { hits } => {
                let rules: Vec<String> = hits.iter().map(|h| h.describe()).collect();
                self.waiting = Some(format!("guard: confirm {}", rules.join("; ")));
                vec![NotifyEvent::Guard]
            }
            EventKind::InstanceFinished { status, reason } => {
                self.status = Some(*status);
                self.reason = reason.clone();
                self.finished_at = Some(event.at);
                self.waiting = None;
                let mut events = vec![NotifyEvent::Finished];
                if *status != InstanceStatus::Ok {
                    events.push(NotifyEvent::Failed);
                }
                // Recovered is decided against the journal, after the run.
                events
            }
            _ => Vec::new(),
        }
    }

    /// Hosts that failed, with the first line of their first failure.
    fn failed_hosts(&self) -> Vec<(HostIndex, HostStatus, String, String)> {
        self.track
            .iter()
            .enumerate()
            .filter_map(|(h, t)| {
                let status = t.status.filter(|s| s.is_failure())?;
                let (step, error) = t
                    .failed_steps
                    .iter()
                    .next()
                    .map(|(s, e)| (self.steps.get(*s).cloned().unwrap_or_default(), e.clone()))
                    .unwrap_or_default();
                Some((h, status, step, error))
            })
            .collect()
    }

    /// The document for `event`, texts masked with `scrubber`.
    pub fn document(&self, event: NotifyEvent, facts: &RunFacts, scrubber: &Scrubber) -> Value {
        let mask = |text: &str| one_line(&scrubber.mask_text(text));
        let mut counts = BTreeMap::new();
        counts.insert("hosts", self.hosts.len());
        for key in ["ok", "failed", "skipped", "other"] {
            counts.insert(key, 0);
        }
        for t in &self.track {
            let key = match t.status {
                Some(HostStatus::Ok) => "ok",
                Some(s) if s.is_failure() => "failed",
                Some(HostStatus::Skipped) => "skipped",
                Some(_) => "other",
                None => continue,
            };
            *counts.entry(key).or_default() += 1;
        }
        let failed = self.failed_hosts();
        let listed: Vec<Value> = failed
            .iter()
            .take(FAILED_HOSTS_LISTED)
            .map(|(h, status, step, error)| {
                let mut error = mask(error);
                if error.chars().count() > ERROR_LINE_MAX {
                    error = error.chars().take(ERROR_LINE_MAX).collect::<String>() + "…";
                }
                json!({
                    "host": self.hosts[*h],
                    "status": status.as_str(),
                    "step": step,
                    "error": error,
                })
            })
            .collect();
        let time = |at: Option<UnixMillis>| {
            at.and_then(|ms| Utc.timestamp_millis_opt(ms).single())
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        };
        let duration = match (self.started_at, self.finished_at) {
            (Some(from), Some(to)) => Some((to - from).max(0)),
            _ => None,
        };
        json!({
            "version": DOCUMENT_VERSION,
            "event": event.as_str(),
            "instance": facts.instance,
            "flow": facts.flow,
            "trigger": facts.trigger,
            "user": facts.user,
            "controller": facts.controller,
            "status": self.status.map_or("running", |s| s.as_str()),
            "reason": self.reason.as_deref().map(mask),
            "waiting": self.waiting.as_deref().map(mask),
            "counts": counts,
            "failed_hosts": listed,
            "failed_hosts_total": failed.len(),
            "started_at": time(self.started_at),
            "finished_at": time(self.finished_at),
            "duration_ms": duration,
            "show": facts.show,
        })
    }
}
