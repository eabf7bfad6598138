//! The batch loop: waits between batches (interval, confirmation), starts
//! hosts up to `forks` at a time, obeys operator commands, enforces
//! `--max-fail`, and decides how the instance ends.
//!
//! Within a batch every host walks its steps on its own: a host moves to its
//! next step as soon as its previous one succeeds, without waiting for the
//! other hosts (Ansible's `strategy: free`). Steps that need every host at
//! the same point use an approval step, which gates the whole batch.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::control::Control;
use super::events::{
    BatchIndex, EventKind, HostIndex, HostStatus, InstanceStatus, StepIndex, UnixMillis,
    WaitReason, now_millis,
};
use super::host::{Approvals, HostEnd, HostExports, HostRun, Shared, run_host};
use super::plan::{HostStart, Plan};
use super::sink::EventSink;
use crate::rollout::BatchMode;
use crate::transport::{CancellationToken, Transport};

/// Runs an instance to its end and returns how it ended. Every step of the
/// way is reported to `sink`; `controls` carries the operator's commands.
pub async fn run(
    plan: Plan,
    transport: Transport,
    sink: EventSink,
    controls: mpsc::UnboundedReceiver<Control>,
) -> InstanceStatus {
    let plan = Arc::new(plan);
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        transport,
        sink,
        approvals: Approvals::default(),
    });
    let hosts = (0..plan.hosts.len())
        .map(|h| match plan.start.host(h) {
            HostStart::Done(status) => HostState::done(status),
            HostStart::FromStep(step) => HostState::pending(step),
        })
        .collect();
    let mut runner = Runner {
        batches: plan.batches.clone(),
        shared,
        controls: Some(controls),
        hosts,
        lock_held: None,
        preflight: None,
        paused: false,
        abort: None,
        stop: None,
        attempts: HashMap::new(),
        exports: HashMap::new(),
        retrying_in_wait: false,
        deferred: VecDeque::new(),
    };
    runner.run().await
}

pub(super) struct HostState {
    pub(super) status: HostStatus,
    /// The step the host starts from when it (re)runs.
    next_step: StepIndex,
    skip: bool,
    cancel: CancellationToken,
    /// Excluded from this run (finished before a resume).
    pub(super) done_before: bool,
}

impl HostState {
    fn pending(step: StepIndex) -> Self {
        HostState {
            status: HostStatus::Pending,
            next_step: step,
            skip: false,
            cancel: CancellationToken::new(),
            done_before: false,
        }
    }

    fn done(status: HostStatus) -> Self {
        HostState {
            done_before: true,
            status,
            ..HostState::pending(0)
        }
    }
}

pub(super) struct Runner {
    pub(super) shared: Arc<Shared>,
    /// `None` once every control handle is gone.
    pub(super) controls: Option<mpsc::UnboundedReceiver<Control>>,
    pub(super) hosts: Vec<HostState>,
    /// Host indexes of each batch: the plan's, or those pre-flight left.
    pub(super) batches: Vec<Vec<HostIndex>>,
    /// The run lock this run took (released when it ends).
    pub(super) lock_held: Option<String>,
    /// Pre-flight results, announced after `InstanceStarted`.
    pub(super) preflight: Option<(
        crate::preflight::PreflightMode,
        Vec<crate::preflight::Readiness>,
    )>,
    paused: bool,
    /// Set when the run must stop: operator abort or max-fail.
    abort: Option<String>,
    /// Set when nothing more may start (`Control::Stop`): the run ends
    /// interrupted once the running hosts are done.
    stop: Option<String>,
    attempts: HashMap<HostIndex, Arc<Mutex<HashMap<StepIndex, u32>>>>,
    exports: HashMap<HostIndex, HostExports>,
    /// Running hosts retried while waiting between batches: they start even
    /// when the run is paused, and the wait's own commands are kept for it.
    retrying_in_wait: bool,
    /// Commands that arrived during such a retry and belong to the wait.
    deferred: VecDeque<Control>,
}

const CONFIRM_NEEDS_OPERATOR: &str =
    "mode confirm needs an operator to confirm each batch: run with --yes to go ahead";

const NO_OPERATOR_TO_RESUME: &str = "paused, and no operator left to resume the run";

/// What a wait ended with.
enum WaitEnd {
    Go,
    Abort,
}

impl Runner {
    fn plan(&self) -> &Plan {
        &self.shared.plan
    }

    pub(super) async fn emit(&self, kind: EventKind) {
        self.shared.emit(kind).await;
    }

    /// The gates (guard, lock, pre-flight), then the batches; the lock and
    /// the connections pre-flight kept are given back however it ends.
    async fn run(&mut self) -> InstanceStatus {
        let refusal = self.open_gates().await;
        let plan = self.shared.plan.clone();
        let mut steps: Vec<String> = plan.steps.iter().map(|s| s.name.clone()).collect();
        steps.extend(
            plan.rollback
                .iter()
                .map(|s| format!("rollback: {}", s.name)),
        );
        self.emit(EventKind::InstanceStarted {
            flow: plan.flow.clone(),
            hosts: plan.hosts.iter().map(|h| h.name.clone()).collect(),
            steps,
            batches: self.batches.clone(),
        })
        .await;
        if let Some((mode, hosts)) = self.preflight.take() {
            self.emit(EventKind::PreflightChecked { mode, hosts }).await;
        }
        self.skip_unbatched().await;
        let status = match refusal {
            Some(reason) => {
                self.emit(EventKind::RunRefused {
                    reason: reason.clone(),
                })
                .await;
                self.skip_remaining().await;
                self.finish(InstanceStatus::Aborted, Some(reason)).await
            }
            None => self.run_batches().await,
        };
        self.close_gates().await;
        status
    }

    async fn run_batches(&mut self) -> InstanceStatus {
        let plan = self.shared.plan.clone();
        let first = plan.start.first_batch;
        // Headless, a confirm-mode rollout that would need a confirmation
        // fails before touching any host rather than after its first batch.
        let policy = &plan.policy;
        let will_wait =
            self.batches.len().saturating_sub(first) > 1 || plan.start.wait_until.is_some();
        if policy.mode == BatchMode::Confirm
            && !policy.auto_confirm
            && !policy.interactive
            && will_wait
        {
            self.abort = Some(CONFIRM_NEEDS_OPERATOR.into());
        }
        for batch in first..self.batches.len() {
            let resumed_wait = batch == first && plan.start.wait_until.is_some();
            if (batch > first || resumed_wait)
                && let WaitEnd::Abort = self.wait_before(batch, resumed_wait).await
            {
                break;
            }
            if self.halted() {
                break;
            }
            self.emit(EventKind::BatchStarted { batch }).await;
            let members: Vec<HostIndex> = self.batches[batch]
                .iter()
                .copied()
                .filter(|&h| !self.hosts[h].done_before)
                .collect();
            self.run_hosts(batch, members).await;
            if self.stop.is_some() {
                break; // the batch did not finish: its hosts not started stay pending
            }
            let (ok, failed) = self.batch_counts(batch);
            self.emit(EventKind::BatchFinished { batch, ok, failed })
                .await;
            if self.abort.is_some() {
                break;
            }
            let last = batch + 1 == self.batches.len();
            if failed > 0 && !last && plan.policy.mode == BatchMode::PauseOnFailure {
                if !plan.policy.interactive {
                    // The hosts of later batches stay pending: `resume` runs them.
                    return self
                        .finish(
                            InstanceStatus::Interrupted,
                            Some(format!(
                                "paused after batch {} of {}: {failed} host(s) failed; \
                                 `jobdeck resume {}` continues with batch {}",
                                batch + 1,
                                self.batches.len(),
                                plan.instance,
                                batch + 2
                            )),
                        )
                        .await;
                }
                if let WaitEnd::Abort = self.pause_on_failure(batch).await {
                    break;
                }
            }
        }
        if let Some(reason) = self.stop.clone() {
            // Hosts not started stay pending: `resume` runs them.
            return self.finish(InstanceStatus::Interrupted, Some(reason)).await;
        }
        self.skip_remaining().await;
        let status = if self.abort.is_some() {
            InstanceStatus::Aborted
        } else if self.hosts.iter().any(|h| h.status.is_failure()) {
            InstanceStatus::Failed
        } else {
            InstanceStatus::Ok
        };
        let reason = self.abort.clone().or_else(|| {
            let failed = self.hosts.iter().filter(|h| h.status.is_failure()).count();
            (failed > 0).then(|| format!("{failed} of {} host(s) failed", self.hosts.len()))
        });
        self.finish(status, reason).await
    }

    async fn finish(&self, status: InstanceStatus, reason: Option<String>) -> InstanceStatus {
        self.emit(EventKind::InstanceFinished { status, reason })
            .await;
        status
    }

    fn batch_counts(&self, batch: BatchIndex) -> (usize, usize) {
        let members = &self.batches[batch];
        let ok = members
            .iter()
            .filter(|&&h| self.hosts[h].status == HostStatus::Ok)
            .count();
        let failed = members
            .iter()
            .filter(|&&h| self.hosts[h].status.is_failure())
            .count();
        (ok, failed)
    }

    /// Hosts in no batch (pre-flight left them out) end as skipped at once.
    async fn skip_unbatched(&mut self) {
        let mut batched = vec![false; self.hosts.len()];
        for &h in self.batches.iter().flatten() {
            if let Some(slot) = batched.get_mut(h) {
                *slot = true;
            }
        }
        for (h, in_batch) in batched.into_iter().enumerate() {
            let state = &self.hosts[h];
            if !in_batch && !state.done_before && state.status == HostStatus::Pending {
                self.set_final(h, HostStatus::Skipped).await;
            }
        }
    }

    /// Hosts that never started end as skipped, so every host has a final state.
    async fn skip_remaining(&mut self) {
        for h in 0..self.hosts.len() {
            if self.hosts[h].status == HostStatus::Pending && !self.hosts[h].done_before {
                self.hosts[h].status = HostStatus::Skipped;
                self.emit(EventKind::HostFinished {
                    host: h,
                    status: HostStatus::Skipped,
                })
                .await;
            }
        }
    }

    /// Nothing more may start: aborted, or stopped.
    fn halted(&self) -> bool {
        self.abort.is_some() || self.stop.is_some()
    }

    fn failures(&self) -> usize {
        self.hosts.iter().filter(|h| h.status.is_failure()).count()
    }

    fn check_max_fail(&mut self) {
        if self.abort.is_some() {
            return;
        }
        let Some(limit) = &self.plan().policy.max_fail else {
            return;
        };
        let failed = self.failures();
        let total = self.hosts.len();
        if limit.exceeded(failed, total) {
            self.abort = Some(format!(
                "aborted: {failed} of {total} host(s) failed, more than --max-fail {limit} allows"
            ));
        }
    }

    /// Runs hosts of one batch, at most `forks` at once, obeying controls.
    async fn run_hosts(&mut self, batch: BatchIndex, members: Vec<HostIndex>) {
        let forks = self.plan().policy.forks.max(1);
        let mut queue: VecDeque<HostIndex> = members.into();
        let mut running: JoinSet<(HostIndex, HostEnd)> = JoinSet::new();
        loop {
            if !self.retrying_in_wait {
                self.check_stranded();
            }
            let held = self.paused && !self.retrying_in_wait;
            while running.len() < forks && !held && !self.halted() {
                let Some(h) = queue.pop_front() else { break };
                if self.hosts[h].skip {
                    self.set_final(h, HostStatus::Skipped).await;
                    continue;
                }
                self.start_host(&mut running, batch, h);
            }
            if running.is_empty() && (queue.is_empty() || self.halted()) {
                return;
            }
            tokio::select! {
                Some(joined) = running.join_next(), if !running.is_empty() => {
                    let (h, end) = joined.expect("host tasks do not panic");
                    let status = if self.hosts[h].skip && end.status == HostStatus::Cancelled {
                        HostStatus::Skipped
                    } else {
                        end.status
                    };
                    self.hosts[h].next_step = end.resume_step;
                    self.set_final(h, status).await;
                    self.check_max_fail();
                }
                Some(control) = recv(&mut self.controls) => {
                    if self.retrying_in_wait && self.belongs_to_wait(&control) {
                        self.deferred.push_back(control);
                    } else if let Some(again) = self.handle(control, Some(batch)).await {
                        queue.extend(again);
                    }
                }
                // The operator left while nothing runs: the checks above decide.
                else => {}
            }
        }
    }

    /// Paused with nobody left to resume: the run ends rather than hangs.
    fn check_stranded(&mut self) {
        if self.paused && self.controls.is_none() && self.deferred.is_empty() {
            self.abort
                .get_or_insert_with(|| NO_OPERATOR_TO_RESUME.into());
        }
    }

    /// Commands a wait between batches answers (go on, pause, resume), as
    /// opposed to those for the hosts being retried meanwhile.
    fn belongs_to_wait(&self, control: &Control) -> bool {
        match control {
            Control::Pause | Control::Resume => true,
            Control::Confirm => !self.shared.approvals.pending(),
            _ => false,
        }
    }

    /// The next command for a wait: one kept during a retry, else a new one.
    async fn next_control(&mut self) -> Option<Control> {
        match self.deferred.pop_front() {
            Some(control) => Some(control),
            None => recv(&mut self.controls).await,
        }
    }

    fn start_host(
        &mut self,
        running: &mut JoinSet<(HostIndex, HostEnd)>,
        batch: BatchIndex,
        h: HostIndex,
    ) {
        let state = &mut self.hosts[h];
        state.status = HostStatus::Running;
        state.cancel = CancellationToken::new();
        let run = HostRun {
            host: h,
            batch,
            batches: self.batches.len(),
            start_step: state.next_step,
            cancel: state.cancel.clone(),
            attempts: self.attempts.entry(h).or_default().clone(),
            exports: self.exports.entry(h).or_default().clone(),
        };
        running.spawn(host_task(self.shared.clone(), run));
    }

    async fn set_final(&mut self, h: HostIndex, status: HostStatus) {
        self.hosts[h].status = status;
        self.emit(EventKind::HostFinished { host: h, status }).await;
    }

    /// Applies one operator command. Returns hosts to (re)queue in the
    /// current batch (retry failed).
    async fn handle(
        &mut self,
        control: Control,
        batch: Option<BatchIndex>,
    ) -> Option<Vec<HostIndex>> {
        match control {
            Control::Pause if !self.paused => {
                self.paused = true;
                self.emit(EventKind::Paused).await;
            }
            Control::Resume if self.paused => {
                self.paused = false;
                self.emit(EventKind::Resumed).await;
            }
            Control::Pause | Control::Resume => {}
            Control::Confirm => {
                for (batch, step) in self.shared.approvals.approve_all() {
                    self.emit(EventKind::Approved { batch, step }).await;
                }
            }
            Control::Abort { reason } => {
                self.abort
                    .get_or_insert(format!("aborted by operator: {reason}"));
                for host in &self.hosts {
                    host.cancel.cancel();
                }
            }
            Control::Stop { reason } => {
                self.stop.get_or_insert(reason);
            }
            Control::SkipHost(h) if h < self.hosts.len() => {
                self.hosts[h].skip = true;
                if self.hosts[h].status == HostStatus::Running {
                    self.hosts[h].cancel.cancel();
                }
            }
            Control::SkipHost(_) => {}
            // The guard is answered before the run starts.
            Control::ConfirmGuard { .. } => {}
            Control::RetryFailed => {
                let limit = batch.unwrap_or(self.batches.len());
                let failed: Vec<HostIndex> = self.batches
                    [..=limit.min(self.batches.len().saturating_sub(1))]
                    .iter()
                    .flatten()
                    .copied()
                    .filter(|&h| {
                        self.hosts[h].status.is_failure()
                            || self.hosts[h].status == HostStatus::Cancelled
                    })
                    .collect();
                for &h in &failed {
                    self.hosts[h].status = HostStatus::Pending;
                }
                return Some(failed);
            }
        }
        None
    }

    /// Between batches: the interval, then (mode confirm) the operator's go.
    async fn wait_before(&mut self, batch: BatchIndex, resumed: bool) -> WaitEnd {
        let policy = self.plan().policy.clone();
        let until: Option<UnixMillis> = if resumed {
            self.plan().start.wait_until
        } else if !policy.interval.is_zero() {
            Some(now_millis() + policy.interval.as_millis() as i64)
        } else {
            None
        };
        if let Some(until) = until.filter(|&u| u > now_millis()) {
            self.emit(EventKind::Waiting {
                next_batch: batch,
                reason: WaitReason::Interval,
                until: Some(until),
            })
            .await;
            if let WaitEnd::Abort = self.wait_until(batch, until).await {
                return WaitEnd::Abort;
            }
        }
        if policy.mode == BatchMode::Confirm && !policy.auto_confirm {
            if !policy.interactive {
                self.abort = Some(CONFIRM_NEEDS_OPERATOR.into());
                return WaitEnd::Abort;
            }
            self.emit(EventKind::Waiting {
                next_batch: batch,
                reason: WaitReason::Confirm,
                until: None,
            })
            .await;
            return self.wait_for_go(batch).await;
        }
        WaitEnd::Go
    }

    /// Sleeps until `until` (Unix ms); Confirm cuts it short, Abort ends it.
    /// A pause stops the clock: on Resume the interval goes on with what
    /// was left, announced by a new `Waiting` with its new end.
    async fn wait_until(&mut self, batch: BatchIndex, mut until: UnixMillis) -> WaitEnd {
        // Milliseconds the interval had left when it was paused.
        let mut held: Option<i64> = None;
        loop {
            self.check_stranded();
            if self.halted() {
                return WaitEnd::Abort;
            }
            match (self.paused, held) {
                (true, None) => held = Some((until - now_millis()).max(0)),
                (false, Some(left)) => {
                    held = None;
                    until = now_millis() + left;
                    self.emit(EventKind::Waiting {
                        next_batch: batch,
                        reason: WaitReason::Interval,
                        until: Some(until),
                    })
                    .await;
                }
                _ => {}
            }
            let left = (until - now_millis()).max(0) as u64;
            if left == 0 && !self.paused {
                return WaitEnd::Go;
            }
            let control = match self.deferred.pop_front() {
                Some(control) => control,
                None => {
                    let sleep = tokio::time::sleep(std::time::Duration::from_millis(left));
                    tokio::select! {
                        _ = sleep, if left > 0 && !self.paused => continue,
                        Some(control) = recv(&mut self.controls) => control,
                        // The operator left: the checks above decide.
                        else => continue,
                    }
                }
            };
            match control {
                Control::Confirm if !self.paused => return WaitEnd::Go,
                control => {
                    let previous = batch.saturating_sub(1);
                    if let Some(again) = self.handle(control, Some(previous)).await {
                        self.retry_hosts(previous, again).await;
                    }
                }
            }
        }
    }

    /// Waits for Confirm (or Resume) from the operator.
    async fn wait_for_go(&mut self, batch: BatchIndex) -> WaitEnd {
        loop {
            let control = if self.deferred.is_empty() && self.controls.is_none() {
                None
            } else {
                self.next_control().await
            };
            match control {
                Some(Control::Confirm) | Some(Control::Resume) => {
                    if self.paused {
                        self.paused = false;
                        self.emit(EventKind::Resumed).await;
                    }
                    return WaitEnd::Go;
                }
                Some(control) => {
                    let previous = batch.saturating_sub(1);
                    if let Some(again) = self.handle(control, Some(previous)).await {
                        self.retry_hosts(previous, again).await;
                    }
                    if self.halted() {
                        return WaitEnd::Abort;
                    }
                }
                // Nobody can confirm any more.
                None => {
                    self.abort = Some("no operator left to confirm the next batch".into());
                    return WaitEnd::Abort;
                }
            }
        }
    }

    /// Runs hosts the operator asked to retry while the run waits between
    /// batches. The retry is an explicit order, so it goes ahead even while
    /// the run is paused (as it is after a failure); the wait goes on after it.
    async fn retry_hosts(&mut self, batch: BatchIndex, hosts: Vec<HostIndex>) {
        let batches: Vec<BatchIndex> = (0..=batch)
            .filter(|&b| self.batches[b].iter().any(|h| hosts.contains(h)))
            .collect();
        self.retrying_in_wait = true;
        self.run_hosts(batch, hosts).await;
        self.retrying_in_wait = false;
        // The batches the retried hosts belong to end anew: their counts changed.
        for batch in batches {
            let (ok, failed) = self.batch_counts(batch);
            self.emit(EventKind::BatchFinished { batch, ok, failed })
                .await;
        }
    }

    /// Mode pause-on-failure with an operator: hold until resumed, retried
    /// (then decide again) or aborted.
    async fn pause_on_failure(&mut self, batch: BatchIndex) -> WaitEnd {
        self.paused = true;
        self.emit(EventKind::Waiting {
            next_batch: batch + 1,
            reason: WaitReason::Failure,
            until: None,
        })
        .await;
        self.emit(EventKind::Paused).await;
        self.wait_for_go(batch + 1).await
    }
}

/// A host's task as the runner spawns it. The host's own future is about
/// 12 KB (an SSH handshake's state lives in it) and tokio moves a task's
/// future by value as it spawns, polls and finishes it (~120 KB copied per
/// host): boxed, those moves copy a pointer.
fn host_task(
    shared: Arc<Shared>,
    run: HostRun,
) -> impl std::future::Future<Output = (HostIndex, HostEnd)> + Send + 'static {
    let h = run.host;
    let host = Box::pin(run_host(shared, run));
    async move { (h, host.await) }
}

/// Receives the next control, or waits forever once every handle is gone.
pub(super) async fn recv(
    controls: &mut Option<mpsc::UnboundedReceiver<Control>>,
) -> Option<Control> {
    match controls {
        Some(rx) => {
            let control = rx.recv().await;
            if control.is_none() {
                *controls = None;
            }
            control
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of what `f` returns, without calling it.
    fn returned_size<F, A, B, R>(_: F) -> usize
    where
        F: FnOnce(A, B) -> R,
    {
        std::mem::size_of::<R>()
    }

    #[test]
    fn a_host_task_moves_a_pointer_not_the_hosts_future() {
        let host = returned_size(run_host);
        let task = returned_size(host_task);
        assert!(
            task <= 64,
            "the spawned task is {task} bytes (the host's future is {host}): it should box it"
        );
    }
}
