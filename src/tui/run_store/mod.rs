//! The console's picture of one run, built only from the engine's events.
//!
//! A task absorbs events into a `RunStore` behind a mutex; the UI locks it
//! to draw. Memory stays bounded: the run's output has a total budget
//! (`OUTPUT_BUDGET_BYTES` unless the config says otherwise), shared out
//! equally over the hosts when the run starts, each share between a floor
//! and a per-host cap; each host keeps the last lines that fit in its share
//! (older lines are counted and dropped; the journal has them, but for the
//! middle of a step's output past its cap, which a marker stands for). Every complete line also goes into
//! a running digest of the host's output, so hosts that printed the same
//! thing and ended the same way can be gathered into one block without
//! keeping their output.

//!
//! - `host`: one host's lines, digest and line making.
//! - `older`: asking the journal for lines the store dropped.
//! - `dropped_matches`, `needle`: searching those lines, and the rule a
//!   line matches a search by.
//! - `shared`: the lock between the absorbing task and the readers.
//! - `gates`: the guard's hits, the run lock, pre-flight, a refusal.

mod dropped_matches;
mod gates;
mod host;
mod needle;
mod older;
pub mod screen_line;
mod shared;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::MutexGuard;

use crate::compare::HostTerms;
use crate::engine::events::{
    BatchIndex, Event, EventKind, HostIndex, HostStatus, InstanceId, InstanceStatus, StepIndex,
    UnixMillis, WaitReason,
};
pub use dropped_matches::{DroppedMatches, MatchRequest};
pub use gates::{Gates, LockWait};
pub use host::{HostRecord, LineKind, LineMaker, OutputLine};
pub use needle::Needle;
pub use older::{LineReplay, MAX_MATCHES, OLDER_WINDOW_LINES, OlderLines, OlderRequest};
pub use shared::StoreCell;

/// A store shared by the absorbing task and the UI.
pub type SharedRunStore = Arc<StoreCell>;

/// Output bytes kept in memory per host at most (a small run keeps this much).
pub const HOST_BUFFER_BYTES: usize = 32 * 1024;

/// Output bytes a run keeps in memory over all its hosts, by default: at
/// 10,000 hosts each keeps about 13 KiB (some 130 lines of 60 bytes).
pub const OUTPUT_BUDGET_BYTES: usize = 128 * 1024 * 1024;

/// Output bytes every host keeps whatever the budget: a pane's worth of
/// lines (the budget is exceeded rather than a host shown nearly empty).
pub const HOST_BUFFER_FLOOR: usize = 4 * 1024;

/// One host's share of `budget` among `hosts`, between the floor and `cap`.
pub fn host_share(budget: usize, hosts: usize, cap: usize) -> usize {
    (budget / hosts.max(1)).clamp(HOST_BUFFER_FLOOR.min(cap), cap)
}

#[derive(Debug, Clone, Default)]
pub struct BatchRecord {
    pub hosts: Vec<HostIndex>,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
}

/// The engine is between batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub next_batch: BatchIndex,
    pub reason: WaitReason,
    pub until: Option<UnixMillis>,
    /// The interval's time left when the run was paused: its clock stands
    /// still until the run resumes (the engine then sends a new `until`).
    pub held_left: Option<i64>,
}

/// An approval step holds a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub batch: BatchIndex,
    pub step: StepIndex,
    pub message: String,
}

/// How many hosts stand where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub pending: usize,
    pub active: usize,
    pub ok: usize,
    pub failed: usize,
    /// Skipped by an operator, or never started (the run ended first).
    pub skipped: usize,
    /// Stopped part way by an abort, or by jobdeck stopping.
    pub cancelled: usize,
}

impl Counts {
    /// Hosts that went through the flow, ok or failed. Skipped and
    /// cancelled hosts are counted apart, never as done.
    pub fn done(&self) -> usize {
        self.ok + self.failed
    }

    /// Hosts that will not change any more.
    pub fn ended(&self) -> usize {
        self.done() + self.skipped + self.cancelled
    }

    fn add(&mut self, status: HostStatus) {
        self.total += 1;
        match status {
            HostStatus::Pending => self.pending += 1,
            HostStatus::Connecting | HostStatus::Running => self.active += 1,
            HostStatus::Ok => self.ok += 1,
            s if s.is_failure() => self.failed += 1,
            HostStatus::Cancelled | HostStatus::Interrupted => self.cancelled += 1,
            _ => self.skipped += 1,
        }
    }
}

/// Hosts whose output and outcome are the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatherBlock {
    /// In host-list order; the first one's buffer is shown for all.
    pub hosts: Vec<HostIndex>,
    pub status: HostStatus,
    pub exit_code: Option<i32>,
}

impl GatherBlock {
    /// How many hosts and how they ended: `(3) failed exit 2`.
    pub fn outcome(&self) -> String {
        let exit = self
            .exit_code
            .map(|c| format!(" exit {c}"))
            .unwrap_or_default();
        format!("({}) {}{exit}", self.hosts.len(), self.status)
    }
}

#[derive(Debug, Clone)]
pub struct RunStore {
    pub instance: InstanceId,
    pub flow: String,
    pub steps: Vec<String>,
    pub hosts: Vec<HostRecord>,
    /// Each host's names and address, by host index, for the gathered
    /// comparison: a run this console started knows them; a replay has
    /// the names alone.
    pub host_terms: Vec<HostTerms>,
    pub batches: Vec<BatchRecord>,
    /// `host_order`, computed when the hosts are announced.
    order: Vec<HostIndex>,
    pub status: InstanceStatus,
    pub current_batch: Option<BatchIndex>,
    pub waiting: Option<Waiting>,
    pub approval: Option<Approval>,
    /// Before the first batch: guard, lock, pre-flight.
    pub gates: Gates,
    pub paused: bool,
    /// Why the run ended the way it did (failures, abort, detach).
    pub reason: Option<String>,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
    /// Bumped by every event, so the UI knows when to draw again.
    pub revision: u64,
    /// The event stream has ended (the run finished, or stopped being watched).
    pub stream_ended: bool,
    /// Output bytes a host keeps at most.
    buffer_limit: usize,
    /// Output bytes the whole run keeps (see `host_share`).
    budget: usize,
    /// Output bytes each host keeps in this run: its share of the budget.
    host_limit: usize,
}

impl Default for RunStore {
    fn default() -> Self {
        RunStore::new(0, HOST_BUFFER_BYTES)
    }
}

impl RunStore {
    pub fn new(instance: InstanceId, buffer_limit: usize) -> RunStore {
        RunStore {
            instance,
            flow: String::new(),
            steps: Vec::new(),
            hosts: Vec::new(),
            host_terms: Vec::new(),
            batches: Vec::new(),
            order: Vec::new(),
            status: InstanceStatus::Running,
            current_batch: None,
            waiting: None,
            approval: None,
            gates: Gates::default(),
            paused: false,
            reason: None,
            started_at: None,
            finished_at: None,
            revision: 0,
            stream_ended: false,
            buffer_limit: buffer_limit.max(256),
            budget: OUTPUT_BUDGET_BYTES,
            host_limit: buffer_limit.max(256),
        }
    }

    /// The same store with another total budget for the run's output.
    pub fn with_budget(mut self, budget: usize) -> RunStore {
        self.budget = budget;
        self
    }

    /// Output bytes each host of this run keeps at most.
    pub fn host_limit(&self) -> usize {
        self.host_limit
    }

    pub fn shared(self) -> SharedRunStore {
        Arc::new(StoreCell::new(self))
    }

    /// Locks a shared store for reading (see `StoreCell::read`).
    pub fn lock(store: &SharedRunStore) -> MutexGuard<'_, RunStore> {
        store.read()
    }

    pub fn is_finished(&self) -> bool {
        self.status.is_final()
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for host in &self.hosts {
            counts.add(host.status);
        }
        counts
    }

    pub fn batch_counts(&self, batch: BatchIndex) -> Counts {
        let mut counts = Counts::default();
        if let Some(b) = self.batches.get(batch) {
            for &h in &b.hosts {
                if let Some(host) = self.hosts.get(h) {
                    counts.add(host.status);
                }
            }
        }
        counts
    }

    /// Hosts in list order: batch by batch, then any in no batch.
    pub fn host_order(&self) -> &[HostIndex] {
        &self.order
    }

    fn compute_order(&mut self) {
        let mut seen = vec![false; self.hosts.len()];
        let mut order = Vec::with_capacity(self.hosts.len());
        for &h in self.batches.iter().flat_map(|b| b.hosts.iter()) {
            if let Some(s) = seen.get_mut(h)
                && !*s
            {
                *s = true;
                order.push(h);
            }
        }
        order.extend((0..self.hosts.len()).filter(|&h| !seen[h]));
        self.order = order;
    }

    /// Hosts with the same output and outcome, folded into blocks, in the
    /// order of their first host.
    pub fn gathered(&self) -> Vec<GatherBlock> {
        let mut blocks: Vec<GatherBlock> = Vec::new();
        let mut by_key: HashMap<(u64, HostStatus, Option<i32>), usize> = HashMap::new();
        for &h in self.host_order() {
            let host = &self.hosts[h];
            let key = host.gather_key();
            match by_key.get(&key) {
                Some(&i) => blocks[i].hosts.push(h),
                None => {
                    by_key.insert(key, blocks.len());
                    blocks.push(GatherBlock {
                        hosts: vec![h],
                        status: host.status,
                        exit_code: host.exit_code,
                    });
                }
            }
        }
        blocks
    }

    /// Estimated milliseconds left, from the pace of the hosts done so far
    /// (intervals between batches are added as planned when known).
    pub fn eta_ms(&self, now: UnixMillis) -> Option<i64> {
        if self.is_finished() {
            return None;
        }
        let counts = self.counts();
        let start = self.started_at?;
        let done = counts.done();
        if done == 0 || counts.total == 0 {
            return None;
        }
        let spent = (now - start).max(0);
        let left = counts.total - counts.ended();
        Some(spent * left as i64 / done as i64)
    }

    /// The event stream ended. Without an `InstanceFinished` the run was cut
    /// off (detached, or the engine stopped): it reads as interrupted, as
    /// the journal records it.
    pub fn end_stream(&mut self, reason: &str) {
        self.stream_ended = true;
        if !self.status.is_final() {
            self.status = InstanceStatus::Interrupted;
            self.reason = Some(reason.to_string());
            self.waiting = None;
            self.approval = None;
            self.gates.end();
            for host in &mut self.hosts {
                host.waits_for = None;
                if matches!(host.status, HostStatus::Running | HostStatus::Connecting) {
                    host.status = HostStatus::Interrupted;
                }
            }
        }
        self.revision += 1;
    }

    pub fn absorb(&mut self, event: &Event) {
        self.revision += 1;
        let at = event.at;
        let limit = self.host_limit;
        match &event.kind {
            EventKind::InstanceStarted {
                flow,
                hosts,
                steps,
                batches,
            } => {
                self.instance = event.instance;
                self.flow = flow.clone();
                self.steps = steps.clone();
                self.hosts = hosts.iter().cloned().map(HostRecord::new).collect();
                self.host_limit = host_share(self.budget, hosts.len(), self.buffer_limit);
                self.batches = batches
                    .iter()
                    .map(|members| BatchRecord {
                        hosts: members.clone(),
                        ..BatchRecord::default()
                    })
                    .collect();
                for (b, members) in batches.iter().enumerate() {
                    for &h in members {
                        if let Some(host) = self.hosts.get_mut(h) {
                            host.batch = Some(b);
                        }
                    }
                }
                self.compute_order();
                self.started_at.get_or_insert(at);
                self.status = InstanceStatus::Running;
            }
            EventKind::BatchStarted { batch } => {
                self.current_batch = Some(*batch);
                self.waiting = None;
                if let Some(b) = self.batches.get_mut(*batch) {
                    b.started_at.get_or_insert(at);
                    b.finished_at = None;
                }
                if !self.paused {
                    self.status = InstanceStatus::Running;
                }
            }
            EventKind::HostConnecting { host } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.status = HostStatus::Connecting;
                    h.started_at.get_or_insert(at);
                    h.finished_at = None;
                }
            }
            EventKind::StepStarted {
                host,
                step,
                attempt,
            } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.status = HostStatus::Running;
                    h.waits_for = None;
                    h.started_at.get_or_insert(at);
                    h.finished_at = None;
                    h.step = Some(*step);
                    h.attempt = *attempt;
                    h.exit_code = None;
                    h.error = None;
                    let steps = &self.steps;
                    h.make_lines(limit, |maker, emit| {
                        maker.step_started(*step, steps, *attempt, emit)
                    });
                }
            }
            EventKind::Output {
                host, stream, data, ..
            } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.make_lines(limit, |maker, emit| maker.output(*stream, data, emit));
                }
            }
            EventKind::StepFinished { host, outcome, .. } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.exit_code = outcome.exit_code;
                    h.error = outcome.error.clone();
                    h.make_lines(limit, |maker, emit| maker.step_finished(outcome, emit));
                }
            }
            EventKind::HostFinished { host, status } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    h.make_lines(limit, |maker, emit| maker.flush(emit));
                    h.waits_for = None;
                    h.status = *status;
                    h.finished_at = Some(at);
                }
            }
            EventKind::BatchFinished { batch, .. } => {
                if let Some(b) = self.batches.get_mut(*batch) {
                    b.finished_at = Some(at);
                }
            }
            EventKind::Waiting {
                next_batch,
                reason,
                until,
            } => {
                self.waiting = Some(Waiting {
                    next_batch: *next_batch,
                    reason: *reason,
                    until: *until,
                    held_left: None,
                });
                if !self.paused {
                    self.status = InstanceStatus::Waiting;
                }
            }
            EventKind::ApprovalRequested {
                batch,
                step,
                message,
            } => {
                self.approval = Some(Approval {
                    batch: *batch,
                    step: *step,
                    message: message.clone(),
                });
            }
            EventKind::Approved { .. } => self.approval = None,
            EventKind::Paused => {
                self.paused = true;
                self.status = InstanceStatus::Paused;
                if let Some(wait) = &mut self.waiting
                    && let Some(until) = wait.until
                {
                    wait.held_left = Some((until - at).max(0));
                }
            }
            EventKind::Resumed => {
                self.paused = false;
                if let Some(wait) = &mut self.waiting {
                    wait.held_left = None;
                }
                self.status = if self.waiting.is_some() {
                    InstanceStatus::Waiting
                } else {
                    InstanceStatus::Running
                };
            }
            EventKind::Exported { .. } => {}
            EventKind::HostSlotWaiting {
                host,
                limit,
                holders,
                ..
            } => {
                if let Some(h) = self.hosts.get_mut(*host) {
                    let runs: Vec<String> = holders.iter().map(|x| x.describe()).collect();
                    h.waits_for = Some(format!(
                        "waits for its turn: {limit} jobdeck step(s) already run on this host ({})",
                        runs.join(", ")
                    ));
                }
            }
            kind @ (EventKind::GuardHit { .. }
            | EventKind::GuardConfirmNeeded { .. }
            | EventKind::LockWaiting { .. }
            | EventKind::LockAcquired { .. }
            | EventKind::PreflightChecked { .. }
            | EventKind::RunRefused { .. }) => {
                self.gates.absorb(kind);
                // Before the first batch: the run waits at a gate.
                if matches!(
                    kind,
                    EventKind::GuardConfirmNeeded { .. } | EventKind::LockWaiting { .. }
                ) {
                    self.status = InstanceStatus::Waiting;
                }
            }
            EventKind::InstanceFinished { status, reason } => {
                self.status = *status;
                self.reason = reason.clone();
                self.finished_at = Some(at);
                self.waiting = None;
                self.approval = None;
                self.gates.end();
                self.paused = false;
                for h in &mut self.hosts {
                    h.make_lines(limit, |maker, emit| maker.flush(emit));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
