//! When a journal write fails (a full disk, an I/O error, a lock held past
//! every retry), the run must never look recorded when it is not:
//!
//! - the batch that failed is rolled back whole, and from then on the
//!   writer records nothing of the run but its end; later events only tell
//!   which hosts ran without their results being recorded;
//! - at once, the instance's `reason` says why (a small write, which fits
//!   where the failed one did not: SQLite reuses the space of the rolled-back
//!   frames); if nothing else gets written, the next jobdeck to open the
//!   journal marks the run interrupted with that reason;
//! - the sink tells its forwarder (`JournalSink::failed`), which stops the
//!   engine: no new host starts;
//! - when the instance ends it is marked interrupted, naming the hosts whose
//!   results are not in the journal, and those hosts are interrupted, so
//!   `resume` runs them again; hosts whose result was recorded are done.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::engine::events::{Event, EventKind, HostIndex, HostStatus, InstanceId, now_millis};

/// What a failed journal could not record, for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteFailure {
    /// The SQLite error that stopped the recording.
    pub error: String,
    pub runs: Vec<UnrecordedRun>,
}

/// One instance the failed writer was recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnrecordedRun {
    pub instance: InstanceId,
    /// Hosts that ran, but whose results are not (all) in the journal.
    pub hosts: Vec<String>,
    /// The journal says why the run stopped (its reason was written).
    pub reason_recorded: bool,
    /// The journal has the run's end: interrupted, with these hosts named.
    pub end_recorded: bool,
}

impl WriteFailure {
    /// The one-line reason the engine stops with.
    pub fn stop_reason(&self) -> String {
        format!("the journal could not record the run: {}", self.error)
    }
}

/// The failed writer's account of each instance it was recording.
#[derive(Debug)]
pub(super) struct FailureLog {
    error: String,
    runs: BTreeMap<InstanceId, RunLog>,
}

#[derive(Debug, Default)]
struct RunLog {
    names: Vec<String>,
    ran: BTreeSet<HostIndex>,
    reason_recorded: bool,
    end_recorded: bool,
}

/// An error about one event (it is skipped), rather than the journal.
pub(super) fn is_event_error(err: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(
        err.sqlite_error_code(),
        Some(
            ErrorCode::ConstraintViolation
                | ErrorCode::TypeMismatch
                | ErrorCode::ParameterOutOfRange
        )
    )
}

impl FailureLog {
    pub fn new(error: &rusqlite::Error) -> FailureLog {
        FailureLog {
            error: error.to_string(),
            runs: BTreeMap::new(),
        }
    }

    /// An instance being recorded, with its hosts' names (as far as known).
    pub fn track(&mut self, instance: InstanceId, names: &[String]) {
        let run = self.runs.entry(instance).or_default();
        if run.names.len() < names.len() {
            run.names = names.to_vec();
        }
    }

    /// An event that will not be recorded: which host it says ran.
    pub fn note(&mut self, event: &Event) {
        let run = self.runs.entry(event.instance).or_default();
        if let EventKind::InstanceStarted { hosts, .. } = &event.kind
            && run.names.len() < hosts.len()
        {
            run.names = hosts.clone();
        }
        let host = match &event.kind {
            EventKind::HostConnecting { host }
            | EventKind::StepStarted { host, .. }
            | EventKind::Output { host, .. }
            | EventKind::StepFinished { host, .. }
            | EventKind::Exported { host, .. } => Some(*host),
            // A host skipped before it started did not run.
            EventKind::HostFinished { host, status } if *status != HostStatus::Skipped => {
                Some(*host)
            }
            _ => None,
        };
        run.ran.extend(host);
    }

    fn reason(&self, run: &RunLog) -> String {
        let mut reason = format!(
            "the journal could not record the run ({}); jobdeck started no host after that",
            self.error
        );
        if !run.ran.is_empty() {
            reason.push_str("; results not recorded for: ");
            reason.push_str(&crate::hostlist::fold(
                self.names_of(run).iter().map(String::as_str),
            ));
        }
        reason
    }

    fn names_of(&self, run: &RunLog) -> Vec<String> {
        run.ran
            .iter()
            .map(|&h| {
                run.names
                    .get(h)
                    .cloned()
                    .unwrap_or_else(|| format!("host #{}", h + 1))
            })
            .collect()
    }

    /// Right after the failure: each live instance says why, so that even
    /// if nothing more can be written, the next open gives that reason.
    pub fn write_reasons(&mut self, conn: &Connection) {
        let reasons: Vec<(InstanceId, String)> = self
            .runs
            .iter()
            .map(|(&id, run)| (id, self.reason(run)))
            .collect();
        for (id, reason) in reasons {
            let written = conn
                .execute(
                    "UPDATE instances SET reason = ?2 WHERE id = ?1 AND status IN ('running', 'waiting', 'paused')",
                    params![id, reason],
                )
                .is_ok();
            if let Some(run) = self.runs.get_mut(&id) {
                run.reason_recorded = written;
            }
        }
    }

    /// The instance ended: it is interrupted, with the hosts whose results
    /// are missing interrupted too. Best effort: the journal may still be
    /// full; then `write_reasons` left what the next open needs.
    pub fn write_end(&mut self, conn: &Connection, id: InstanceId) {
        let Some(run) = self.runs.get(&id) else {
            return;
        };
        let reason = self.reason(run);
        let ran: Vec<HostIndex> = run.ran.iter().copied().collect();
        let written = (|| -> rusqlite::Result<()> {
            let tx = super::transaction::begin_immediate(conn)?;
            tx.execute(
                "UPDATE instances SET status = 'interrupted', interrupted_from = status, reason = ?2, finished_at = ?3
                 WHERE id = ?1 AND status IN ('running', 'waiting', 'paused')",
                params![id, reason, now_millis()],
            )?;
            super::transaction::close_in_flight(&tx, id, crate::engine::InstanceStatus::Interrupted)?;
            let mut host = tx.prepare_cached(
                "UPDATE hosts SET status = 'interrupted', error = ?3
                 WHERE instance_id = ?1 AND host_idx = ?2 AND status IN ('pending', 'connecting', 'running', 'interrupted')",
            )?;
            for h in ran {
                host.execute(params![
                    id,
                    h,
                    "it ran, but its result could not be recorded: the journal failed"
                ])?;
            }
            drop(host);
            tx.commit()
        })()
        .is_ok();
        if let Some(run) = self.runs.get_mut(&id) {
            run.end_recorded = written;
            run.reason_recorded |= written;
        }
    }

    pub fn report(&self) -> WriteFailure {
        WriteFailure {
            error: self.error.clone(),
            runs: self
                .runs
                .iter()
                .map(|(&instance, run)| UnrecordedRun {
                    instance,
                    hosts: self.names_of(run),
                    reason_recorded: run.reason_recorded,
                    end_recorded: run.end_recorded,
                })
                .collect(),
        }
    }
}
