//! One host's walk through the steps of a flow: connect once (or take the
//! connection pre-flight opened), run each step (with retries), pass `::set`
//! exports on, and run the rollback steps when a step fails with
//! `on_failure: rollback`. Under a per-host limit each attempt first waits
//! for a slot on its host.
//!
//! A host whose connection cannot be opened (refused, silent, failed
//! authentication or host key) fails once: no retry, no later step and no
//! rollback tries again, since each would only wait out the same connect
//! timeout. A connection that dies mid-run is opened again by the next attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc};

use super::Event;
use super::events::{
    BatchIndex, EventKind, HostIndex, HostStatus, InstanceId, StepIndex, StepOutcome, Stream,
};
use super::exports::ExportScanner;
use super::gates::{SLOT_POLL_FIRST, SLOT_POLL_MAX, SlotId, blocking, host_key};
use super::plan::{Action, OnFailure, Plan, PlannedStep};
use super::scrub::Scrubber;
use super::sink::EventSink;
use crate::transport::{
    CancellationToken, ExecRequest, ExecResult, Exit, HostSession, OUTPUT_CHANNEL_CAPACITY,
    OutputChunk, OutputStream, Status, Transport, UploadOptions,
};

/// What every host task of an instance shares.
pub struct Shared {
    pub plan: Arc<Plan>,
    pub transport: Transport,
    pub sink: EventSink,
    pub approvals: Approvals,
}

impl Shared {
    pub fn instance(&self) -> InstanceId {
        self.plan.instance
    }

    pub async fn emit(&self, mut kind: EventKind) {
        // Error texts can quote a secret (a copy destination built from a
        // secret param, say); output is scrubbed as it streams.
        if !self.plan.secrets.is_empty() {
            let scrubber = Scrubber::new(&self.plan.secrets);
            let mask = |text: &mut String| *text = scrubber.mask_text(text);
            match &mut kind {
                EventKind::StepFinished { outcome, .. } => outcome.error.iter_mut().for_each(mask),
                EventKind::InstanceFinished { reason, .. } => reason.iter_mut().for_each(mask),
                EventKind::RunRefused { reason } => mask(reason),
                EventKind::PreflightChecked { hosts, .. } => hosts
                    .iter_mut()
                    .flat_map(|h| h.reason.iter_mut())
                    .for_each(mask),
                _ => {}
            }
        }
        self.sink.emit(Event::now(self.plan.instance, kind)).await;
    }
}

/// How a host task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostEnd {
    pub status: HostStatus,
    /// The step to start from if the host is run again (retry failed).
    pub resume_step: StepIndex,
}

/// A host's `::set` values, kept across runs of the host (retry failed).
pub type HostExports = Arc<Mutex<Vec<(String, String)>>>;

/// Where the host starts and how many attempts each step has had already.
pub struct HostRun {
    pub host: HostIndex,
    pub batch: BatchIndex,
    /// How many batches the run has (`JOBDECK_BATCHES`).
    pub batches: usize,
    pub start_step: StepIndex,
    pub cancel: CancellationToken,
    /// Attempts so far per step, so retried hosts keep counting up.
    pub attempts: Arc<Mutex<HashMap<StepIndex, u32>>>,
    /// `::set` values so far, so a retried host still has those of the
    /// steps it does not run again.
    pub exports: HostExports,
}

/// A host's connection: the one pre-flight opened, until the run has used
/// it once, may have gone stale while the run waited, so a first exec that
/// finds it dead connects again instead of failing the step. `refused`
/// once opening it failed.
#[derive(Default)]
pub struct Connection {
    session: Option<HostSession>,
    from_preflight: bool,
    refused: bool,
}

impl Connection {
    pub async fn close(&mut self) {
        if let Some(session) = self.session.take() {
            session.close().await;
        }
    }
}

pub async fn run_host(shared: Arc<Shared>, run: HostRun) -> HostEnd {
    let plan = shared.plan.clone();
    let steps = &plan.steps;
    let kept = plan.sessions.take(run.host);
    let mut session = Connection {
        from_preflight: kept.is_some(),
        session: kept,
        refused: false,
    };
    let mut exports = run.exports.lock().expect("exports lock").clone();
    let mut end = HostEnd {
        status: HostStatus::Ok,
        resume_step: run.start_step,
    };
    for (index, step) in steps.iter().enumerate().skip(run.start_step) {
        if !step.applies_to(run.host) {
            continue;
        }
        let outcome = run_step(&shared, &run, index, step, &mut session, &mut exports).await;
        if outcome.status == HostStatus::Ok {
            continue;
        }
        // A resume starts at the host's first failure (an earlier keep-going one).
        if end.status == HostStatus::Ok {
            end.resume_step = index;
        }
        match (outcome.status, step.on_failure) {
            (status, _) if session.refused => {
                if end.status == HostStatus::Ok {
                    end.status = status;
                }
                break;
            }
            (HostStatus::Cancelled, _) => {
                end.status = HostStatus::Cancelled;
                break;
            }
            (_, OnFailure::Continue) => continue,
            (status, OnFailure::KeepGoing) => {
                // The first failure is the one the host reports.
                if end.status == HostStatus::Ok {
                    end.status = status;
                }
                continue;
            }
            (status, OnFailure::Stop) => {
                if end.status == HostStatus::Ok {
                    end.status = status;
                }
                break;
            }
            (_, OnFailure::Rollback) => {
                run_rollback(&shared, &run, &mut session, &mut exports).await;
                end.status = HostStatus::RolledBack;
                break;
            }
        }
    }
    // Kept for the next run in the console; closed otherwise.
    if let Some(open) = session.session.take() {
        plan.sessions.release(run.host, open).await;
    }
    *run.exports.lock().expect("exports lock") = exports;
    end
}

/// Rollback steps run one after another; a failing one does not stop the
/// others, since a half rollback is worse than a full attempt.
async fn run_rollback(
    shared: &Arc<Shared>,
    run: &HostRun,
    session: &mut Connection,
    exports: &mut Vec<(String, String)>,
) {
    let first = shared.plan.steps.len();
    for (offset, step) in shared.plan.rollback.iter().enumerate() {
        if run.cancel.is_cancelled() || session.refused {
            return;
        }
        if step.applies_to(run.host) {
            run_step(shared, run, first + offset, step, session, exports).await;
        }
    }
}

/// Runs one step with its retries; returns the last attempt's outcome.
async fn run_step(
    shared: &Arc<Shared>,
    run: &HostRun,
    index: StepIndex,
    step: &PlannedStep,
    session: &mut Connection,
    exports: &mut Vec<(String, String)>,
) -> StepOutcome {
    let mut tries_left = step.retries;
    loop {
        let attempt = {
            let mut attempts = run.attempts.lock().expect("attempt counter lock");
            let n = attempts.entry(index).or_insert(0);
            *n += 1;
            *n
        };
        let slot = match wait_for_slot(shared, run, index, step).await {
            Ok(slot) => slot,
            Err(cancelled) => return cancelled,
        };
        let outcome = run_attempt(shared, run, index, step, attempt, session, exports).await;
        release_slot(shared, slot).await;
        let status = outcome.status;
        shared
            .emit(EventKind::StepFinished {
                host: run.host,
                step: index,
                attempt,
                outcome: outcome.clone(),
            })
            .await;
        if status == HostStatus::Ok
            || status == HostStatus::Cancelled
            || session.refused
            || tries_left == 0
        {
            return outcome;
        }
        tries_left -= 1;
        tokio::select! {
            _ = tokio::time::sleep(step.retry_interval) => {}
            _ = run.cancel.cancelled() => return StepOutcome { status: HostStatus::Cancelled, exit_code: None, signal: None, error: None },
        }
    }
}

/// One attempt of a step: connect if needed, then run it.
async fn run_attempt(
    shared: &Arc<Shared>,
    run: &HostRun,
    index: StepIndex,
    step: &PlannedStep,
    attempt: u32,
    conn: &mut Connection,
    exports: &mut Vec<(String, String)>,
) -> StepOutcome {
    let started = EventKind::StepStarted {
        host: run.host,
        step: index,
        attempt,
    };
    match &step.action {
        Action::Approval { message } => {
            shared.emit(started).await;
            approve(shared, run, index, message).await
        }
        Action::Run(_) | Action::Upload { .. } => {
            if conn.session.is_none() {
                match connect(shared, run).await {
                    Ok(new) => conn.session = Some(new),
                    Err(result) => {
                        conn.refused = !matches!(result.status, Status::Cancelled);
                        shared.emit(started).await;
                        return outcome_of(&result);
                    }
                }
            }
            shared.emit(started).await;
            let open = conn.session.as_ref().expect("connected above");
            if let Action::Upload {
                src,
                dest,
                mode,
                parents,
            } = &step.action
            {
                conn.from_preflight = false;
                let options = UploadOptions {
                    mode: *mode,
                    parents: *parents,
                };
                return upload(shared, run, index, open, src, dest, options).await;
            }
            let mut result = exec(shared, run, index, step, open, exports).await;
            if std::mem::take(&mut conn.from_preflight)
                && matches!(result.status, Status::Unreachable { .. })
            {
                // The kept connection died while the run waited: one new one.
                conn.close().await;
                if let Ok(new) = connect(shared, run).await {
                    result = exec(shared, run, index, step, &new, exports).await;
                    conn.session = Some(new);
                }
            }
            if matches!(result.status, Status::Unreachable { .. }) {
                // The connection died; the next attempt reconnects.
                conn.close().await;
            }
            outcome_of(&result)
        }
    }
}

/// Under a per-host limit: waits until this host has a free slot
/// (`Ok(None)` without a limit). `Err` carries the outcome of a step
/// cancelled while it waited.
async fn wait_for_slot(
    shared: &Arc<Shared>,
    run: &HostRun,
    index: StepIndex,
    step: &PlannedStep,
) -> Result<Option<SlotId>, StepOutcome> {
    let gates = &shared.plan.gates;
    let (Some(limit), Some(coordinator)) = (gates.host_limit, &gates.coordinator) else {
        return Ok(None);
    };
    // An approval runs nothing on the host.
    if matches!(step.action, Action::Approval { .. }) {
        return Ok(None);
    }
    let key = host_key(&shared.plan.hosts[run.host].target);
    let instance = shared.plan.instance;
    let mut pause = SLOT_POLL_FIRST;
    let mut announced = false;
    loop {
        let k = key.clone();
        match blocking(coordinator, move |c| c.try_slot(&k, limit, instance)).await {
            Ok(Ok(slot)) => return Ok(Some(slot)),
            Ok(Err(holders)) if !announced => {
                announced = true;
                shared
                    .emit(EventKind::HostSlotWaiting {
                        host: run.host,
                        step: index,
                        limit,
                        holders,
                    })
                    .await;
            }
            // Busy, or the journal briefly unavailable: ask again.
            Ok(Err(_)) | Err(_) => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = run.cancel.cancelled() => return Err(failed(HostStatus::Cancelled, None)),
        }
        pause = (pause * 2).min(SLOT_POLL_MAX);
    }
}

async fn release_slot(shared: &Arc<Shared>, slot: Option<SlotId>) {
    if let (Some(slot), Some(coordinator)) = (slot, &shared.plan.gates.coordinator) {
        blocking(coordinator, move |c| c.release_slot(slot)).await;
    }
}

async fn connect(shared: &Arc<Shared>, run: &HostRun) -> Result<HostSession, ExecResult> {
    let target = &shared.plan.hosts[run.host].target;
    shared
        .emit(EventKind::HostConnecting { host: run.host })
        .await;
    tokio::select! {
        biased;
        _ = run.cancel.cancelled() => Err(ExecResult::not_started(Status::Cancelled, std::time::SystemTime::now())),
        session = shared.transport.connect(target) => session,
    }
}

/// Waits at an approval step until the batch's gate opens.
async fn approve(
    shared: &Arc<Shared>,
    run: &HostRun,
    index: StepIndex,
    message: &str,
) -> StepOutcome {
    let policy = &shared.plan.policy;
    let ok = StepOutcome {
        status: HostStatus::Ok,
        exit_code: None,
        signal: None,
        error: None,
    };
    if !policy.interactive {
        return if policy.auto_confirm {
            ok
        } else {
            StepOutcome {
                status: HostStatus::Failed,
                exit_code: None,
                signal: None,
                error: Some(format!(
                    "approval needed ({message}); run with --yes to approve"
                )),
            }
        };
    }
    let (gate, first) = shared.approvals.gate(run.batch, index);
    if first {
        shared
            .emit(EventKind::ApprovalRequested {
                batch: run.batch,
                step: index,
                message: message.to_string(),
            })
            .await;
    }
    tokio::select! {
        _ = gate.wait() => ok,
        _ = run.cancel.cancelled() => StepOutcome { status: HostStatus::Cancelled, exit_code: None, signal: None, error: None },
    }
}

/// Copies files to the host; the report becomes the step's output.
async fn upload(
    shared: &Arc<Shared>,
    run: &HostRun,
    index: StepIndex,
    session: &HostSession,
    src: &std::path::Path,
    dest: &str,
    options: UploadOptions,
) -> StepOutcome {
    let copy = session.upload(src, dest, options);
    let result = tokio::select! {
        result = copy => result,
        _ = run.cancel.cancelled() => return failed(HostStatus::Cancelled, None),
    };
    match result {
        Ok(report) => {
            let line = format!(
                "copied {} bytes ({} files, {} directories) to {dest} in {:.2}s\n",
                report.bytes,
                report.files,
                report.directories,
                report.elapsed.as_secs_f64()
            );
            emit_output(
                shared,
                run.host,
                index,
                Stream::Stdout,
                bytes::Bytes::from(line),
            )
            .await;
            failed(HostStatus::Ok, None)
        }
        Err(err) => failed(HostStatus::Failed, Some(err.to_string())),
    }
}

fn failed(status: HostStatus, error: Option<String>) -> StepOutcome {
    StepOutcome {
        status,
        exit_code: None,
        signal: None,
        error,
    }
}

/// Runs the step's payload on an open session, streaming scrubbed output.
async fn exec(
    shared: &Arc<Shared>,
    run: &HostRun,
    index: StepIndex,
    step: &PlannedStep,
    session: &HostSession,
    exports: &mut Vec<(String, String)>,
) -> ExecResult {
    let Action::Run(payload) = &step.action else {
        unreachable!("exec is only called for Run steps");
    };
    let host = &shared.plan.hosts[run.host];
    let mut request = ExecRequest::command(String::new()).cancel_token(run.cancel.child_token());
    request.payload = payload.clone();
    request.timeout = step.timeout;
    request.run_as = step.run_as.clone();
    request.manners = step.manners;
    let batch = [
        ("JOBDECK_BATCH".to_owned(), (run.batch + 1).to_string()),
        ("JOBDECK_BATCHES".to_owned(), run.batches.to_string()),
    ];
    request.env = host
        .env
        .iter()
        .chain(&batch)
        .chain(&step.env)
        .chain(exports.iter())
        .cloned()
        .collect();

    let (tx, mut rx) = mpsc::channel::<OutputChunk>(OUTPUT_CHANNEL_CAPACITY);
    let forward = async {
        let mut stdout = Scrubber::new(&shared.plan.secrets);
        let mut stderr = stdout.clone();
        let mut scanner = ExportScanner::default();
        let mut found = Vec::new();
        while let Some(chunk) = rx.recv().await {
            let (stream, scrubber) = match chunk.stream {
                OutputStream::Stdout => (Stream::Stdout, &mut stdout),
                OutputStream::Stderr => (Stream::Stderr, &mut stderr),
            };
            // Exports are read from scrubbed output, so `::set` cannot leak a secret.
            let data = scrubber.push(&chunk.data);
            if stream == Stream::Stdout {
                found.extend(scanner.push(&data));
            }
            emit_output(shared, run.host, index, stream, data).await;
        }
        let tail = stdout.finish();
        found.extend(scanner.push(&tail));
        emit_output(shared, run.host, index, Stream::Stdout, tail).await;
        emit_output(shared, run.host, index, Stream::Stderr, stderr.finish()).await;
        found.extend(scanner.finish());
        found
    };
    let execute = async {
        let result = session.exec(&request, &tx).await;
        drop(tx);
        result
    };
    let (result, found) = tokio::join!(execute, forward);
    for (name, value) in found {
        shared
            .emit(EventKind::Exported {
                host: run.host,
                step: index,
                name: name.clone(),
                value: value.clone(),
            })
            .await;
        exports.retain(|(n, _)| *n != name);
        exports.push((name, value));
    }
    result
}

async fn emit_output(
    shared: &Shared,
    host: HostIndex,
    step: StepIndex,
    stream: Stream,
    data: bytes::Bytes,
) {
    if data.is_empty() {
        return;
    }
    shared
        .emit(EventKind::Output {
            host,
            step,
            stream,
            data,
        })
        .await;
}

/// The transport's result in the engine's terms.
pub fn outcome_of(result: &ExecResult) -> StepOutcome {
    let (exit_code, signal) = match &result.exit {
        Some(Exit::Code(code)) => (Some(*code as i32), None),
        Some(Exit::Signal { name, .. }) => (None, Some(name.clone())),
        None => (None, None),
    };
    let (status, error) = match &result.status {
        Status::Ok => (HostStatus::Ok, None),
        Status::Failed { detail } => (HostStatus::Failed, detail.clone()),
        Status::TimedOut => (
            HostStatus::TimedOut,
            Some("command timed out; killed on the host".into()),
        ),
        Status::Unreachable { detail, .. } => (HostStatus::Unreachable, Some(detail.clone())),
        Status::AuthFailed { detail } => (HostStatus::AuthFailed, Some(detail.clone())),
        Status::HostKeyRejected { detail } => (HostStatus::HostKeyRejected, Some(detail.clone())),
        Status::Cancelled => (HostStatus::Cancelled, None),
    };
    StepOutcome {
        status,
        exit_code,
        signal,
        error,
    }
}

/// Approval gates: one per (batch, step), opened by the operator's confirm.
#[derive(Default)]
pub struct Approvals {
    gates: Mutex<HashMap<(BatchIndex, StepIndex), Arc<Gate>>>,
}

#[derive(Default)]
pub struct Gate {
    open: std::sync::atomic::AtomicBool,
    notify: Notify,
}

impl Gate {
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.open.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    fn open(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

impl Approvals {
    /// The gate for a step in a batch, and whether this call created it.
    fn gate(&self, batch: BatchIndex, step: StepIndex) -> (Arc<Gate>, bool) {
        let mut gates = self.gates.lock().expect("approval gates lock");
        let mut first = false;
        let gate = gates
            .entry((batch, step))
            .or_insert_with(|| {
                first = true;
                Arc::new(Gate::default())
            })
            .clone();
        (gate, first)
    }

    /// Opens every requested gate that is still closed; returns them.
    pub fn approve_all(&self) -> Vec<(BatchIndex, StepIndex)> {
        let gates = self.gates.lock().expect("approval gates lock");
        let mut opened = Vec::new();
        for (key, gate) in gates.iter() {
            if !gate.open.load(std::sync::atomic::Ordering::SeqCst) {
                gate.open();
                opened.push(*key);
            }
        }
        opened
    }

    pub fn pending(&self) -> bool {
        let gates = self.gates.lock().expect("approval gates lock");
        gates
            .values()
            .any(|g| !g.open.load(std::sync::atomic::Ordering::SeqCst))
    }
}
