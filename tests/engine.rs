//! The rollout engine through its public API: hand-built plans over local
//! hosts (and a real sshd for the SSH cases), every event collected and
//! checked, operator commands sent through the control channel.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jobdeck::engine::events::{
    Event, EventKind, HostIndex, HostStatus, InstanceStatus, StepIndex, Stream, WaitReason,
    now_millis,
};
use jobdeck::engine::{
    Action, Control, ControlHandle, EventSink, HostStart, OnFailure, Plan, PlannedHost,
    PlannedStep, Policy, StartPoint, run,
};
use jobdeck::rollout::{BatchMode, MaxFail};
use jobdeck::transport::{self, KnownHosts, Payload, Target, Transport, TransportOptions};
use support::{SshdFixture, processes_matching};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long any single wait for an event may take before the test fails.
const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// Building plans

/// Options that never touch the real ~/.ssh or agent of the machine.
fn isolated_options() -> TransportOptions {
    TransportOptions {
        known_hosts: Arc::new(KnownHosts::new()),
        passphrase_prompt: Arc::new(transport::NoPassphrase),
        agent_socket: None,
        default_identity_files: Vec::new(),
    }
}

fn local_host(name: &str) -> PlannedHost {
    PlannedHost {
        name: name.to_string(),
        target: Target::local(name),
        env: vec![("JOBDECK_HOST".into(), name.into())],
    }
}

fn local_hosts(n: usize) -> Vec<PlannedHost> {
    (0..n).map(|i| local_host(&format!("h{i}"))).collect()
}

fn ssh_host(name: &str, sshd: &SshdFixture) -> PlannedHost {
    let mut target = Target::new(name);
    target.address = "127.0.0.1".into();
    target.port = sshd.port;
    target.user = sshd.user.clone();
    target.identity_files = vec![sshd.client_key.clone()];
    target.identities_only = true;
    target.user_known_hosts = vec![sshd.known_hosts.clone()];
    target.global_known_hosts = Vec::new();
    PlannedHost {
        name: name.to_string(),
        target,
        env: vec![("JOBDECK_HOST".into(), name.into())],
    }
}

fn with_env(mut host: PlannedHost, name: &str, value: &str) -> PlannedHost {
    host.env.push((name.into(), value.into()));
    host
}

fn step(name: &str, command: &str) -> PlannedStep {
    PlannedStep {
        name: name.to_string(),
        action: Action::Run(Payload::Command(command.to_string())),
        env: Vec::new(),
        timeout: Some(Duration::from_secs(60)),
        retries: 0,
        retry_interval: Duration::ZERO,
        on_failure: OnFailure::Stop,
        run_as: None,
        applies_to: None,
        manners: Default::default(),
    }
}

fn approval(name: &str, message: &str) -> PlannedStep {
    PlannedStep {
        action: Action::Approval {
            message: message.into(),
        },
        ..step(name, "")
    }
}

/// A step that fails until it has run `$NEED` times on the host, counting
/// in the file `$COUNTER` (set both in the host env).
fn counting_step(name: &str) -> PlannedStep {
    step(
        name,
        r#"n=$(( $(cat "$COUNTER" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$COUNTER"; echo "try $n"; [ "$n" -ge "$NEED" ]"#,
    )
}

fn counting_host(name: &str, dir: &Path, need: u32) -> PlannedHost {
    let counter = dir.join(format!("{name}.count"));
    with_env(
        with_env(local_host(name), "COUNTER", counter.to_str().unwrap()),
        "NEED",
        &need.to_string(),
    )
}

fn plan(hosts: Vec<PlannedHost>, batches: Vec<Vec<HostIndex>>, steps: Vec<PlannedStep>) -> Plan {
    Plan {
        instance: 42,
        flow: "test-flow".into(),
        hosts,
        batches,
        steps,
        rollback: Vec::new(),
        policy: Policy {
            forks: 8,
            ..Policy::default()
        },
        start: StartPoint::default(),
        secrets: Vec::new(),
        gates: Default::default(),
        sessions: Default::default(),
    }
}

fn one_batch(n: usize) -> Vec<Vec<HostIndex>> {
    vec![(0..n).collect()]
}

// ---------------------------------------------------------------------------
// Running plans and collecting events

/// A running instance: its events as they come, and its control handle.
struct Live {
    controls: ControlHandle,
    events: mpsc::UnboundedReceiver<Event>,
    seen: Vec<Event>,
    done_hosts: Vec<HostIndex>,
    task: JoinHandle<InstanceStatus>,
}

impl Live {
    fn start(plan: Plan) -> Live {
        Self::start_with(plan, Transport::new(isolated_options()))
    }

    fn start_with(plan: Plan, transport: Transport) -> Live {
        let done_hosts = (0..plan.hosts.len())
            .filter(|&h| matches!(plan.start.host(h), HostStart::Done(_)))
            .collect();
        let mut sink = EventSink::new();
        let mut rx = sink.subscribe(256);
        // Forward into an unbounded channel so a test that sleeps never
        // slows the engine down.
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let _ = tx.send(event);
            }
        });
        let (controls, control_rx) = ControlHandle::channel();
        let task = tokio::spawn(run(plan, transport, sink, control_rx));
        Live {
            controls,
            events,
            seen: Vec::new(),
            done_hosts,
            task,
        }
    }

    fn send(&self, control: Control) {
        assert!(
            self.controls.send(control.clone()),
            "instance ended before {control:?}"
        );
    }

    /// The next event (not seen before) that `pred` accepts.
    async fn wait_for(&mut self, what: &str, pred: impl Fn(&EventKind) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.events.recv()).await;
            match next {
                Ok(Some(event)) => {
                    self.seen.push(event.clone());
                    if pred(&event.kind) {
                        return event;
                    }
                }
                Ok(None) => panic!(
                    "instance ended before {what}; events:\n{}",
                    dump(&self.seen)
                ),
                Err(_) => panic!(
                    "timed out waiting for {what}; events:\n{}",
                    dump(&self.seen)
                ),
            }
        }
    }

    /// The operator goes away: every control handle is dropped.
    fn drop_controls(&mut self) {
        self.controls = ControlHandle::channel().0;
    }

    /// Like `wait_for`, but an event already taken in counts too.
    async fn seen_or_wait(&mut self, what: &str, pred: impl Fn(&EventKind) -> bool) -> Event {
        if let Some(event) = self.seen.iter().find(|e| pred(&e.kind)) {
            return event.clone();
        }
        self.wait_for(what, pred).await
    }

    /// Takes in whatever has arrived so far without waiting.
    fn drain(&mut self) -> &[Event] {
        while let Ok(event) = self.events.try_recv() {
            self.seen.push(event);
        }
        &self.seen
    }

    /// Waits for the end, checks the invariants, and returns every event.
    async fn finish(mut self) -> Finished {
        let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT * 3;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => self.seen.push(event),
                Ok(None) => break,
                Err(_) => panic!("the instance did not finish; events:\n{}", dump(&self.seen)),
            }
        }
        let status = self.task.await.expect("engine task panicked");
        let done = Finished {
            status,
            events: self.seen,
        };
        check_invariants(&done.events, &self.done_hosts);
        assert_eq!(
            done.finished_status(),
            status,
            "InstanceFinished disagrees with run()'s result"
        );
        done
    }
}

async fn run_to_end(plan: Plan) -> Finished {
    Live::start(plan).finish().await
}

fn dump(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| format!("  {:?}", e.kind))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every event of a finished instance, with questions about them.
struct Finished {
    status: InstanceStatus,
    events: Vec<Event>,
}

impl Finished {
    fn kinds(&self) -> impl Iterator<Item = &EventKind> {
        self.events.iter().map(|e| &e.kind)
    }

    fn dump(&self) -> String {
        dump(&self.events)
    }

    fn finished_status(&self) -> InstanceStatus {
        match self.kinds().last() {
            Some(EventKind::InstanceFinished { status, .. }) => *status,
            other => panic!("last event is {other:?}"),
        }
    }

    fn reason(&self) -> String {
        match self.kinds().last() {
            Some(EventKind::InstanceFinished { reason, .. }) => reason.clone().unwrap_or_default(),
            other => panic!("last event is {other:?}"),
        }
    }

    /// The host's last reported status.
    fn host_status(&self, host: HostIndex) -> Option<HostStatus> {
        self.kinds()
            .filter_map(|k| match k {
                EventKind::HostFinished { host: h, status } if *h == host => Some(*status),
                _ => None,
            })
            .last()
    }

    fn host_statuses(&self, n: usize) -> Vec<Option<HostStatus>> {
        (0..n).map(|h| self.host_status(h)).collect()
    }

    /// (step, attempt) of every StepStarted of a host, in order.
    fn started(&self, host: HostIndex) -> Vec<(StepIndex, u32)> {
        self.kinds()
            .filter_map(|k| match k {
                EventKind::StepStarted {
                    host: h,
                    step,
                    attempt,
                } if *h == host => Some((*step, *attempt)),
                _ => None,
            })
            .collect()
    }

    /// (step, attempt, status, error) of every StepFinished of a host.
    fn step_results(&self, host: HostIndex) -> Vec<(StepIndex, u32, HostStatus, Option<String>)> {
        self.kinds()
            .filter_map(|k| match k {
                EventKind::StepFinished {
                    host: h,
                    step,
                    attempt,
                    outcome,
                } if *h == host => Some((*step, *attempt, outcome.status, outcome.error.clone())),
                _ => None,
            })
            .collect()
    }

    fn output_bytes(&self, host: HostIndex, step: StepIndex, stream: Stream) -> Vec<u8> {
        self.kinds()
            .filter_map(|k| match k {
                EventKind::Output {
                    host: h,
                    step: s,
                    stream: st,
                    data,
                } if *h == host && *s == step && *st == stream => Some(data.to_vec()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn stdout(&self, host: HostIndex, step: StepIndex) -> String {
        String::from_utf8(self.output_bytes(host, step, Stream::Stdout)).unwrap()
    }

    fn stderr(&self, host: HostIndex, step: StepIndex) -> String {
        String::from_utf8(self.output_bytes(host, step, Stream::Stderr)).unwrap()
    }

    fn count(&self, pred: impl Fn(&EventKind) -> bool) -> usize {
        self.kinds().filter(|k| pred(k)).count()
    }

    fn position(&self, what: &str, pred: impl Fn(&EventKind) -> bool) -> usize {
        self.kinds()
            .position(pred)
            .unwrap_or_else(|| panic!("no {what} in:\n{}", self.dump()))
    }

    fn find(&self, what: &str, pred: impl Fn(&EventKind) -> bool) -> &Event {
        &self.events[self.position(what, pred)]
    }
}

/// What must hold for every instance's event stream.
fn check_invariants(events: &[Event], done_hosts: &[HostIndex]) {
    let fail = |why: String| -> ! { panic!("{why}; events:\n{}", dump(events)) };
    let Some(first) = events.first() else {
        fail("no events at all".into())
    };
    let EventKind::InstanceStarted {
        hosts,
        steps,
        batches,
        ..
    } = &first.kind
    else {
        fail(format!("first event is {:?}", first.kind))
    };
    if !matches!(
        events.last().unwrap().kind,
        EventKind::InstanceFinished { .. }
    ) {
        fail("last event is not InstanceFinished".into());
    }
    let started = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::InstanceStarted { .. }))
        .count();
    let finished = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::InstanceFinished { .. }))
        .count();
    if started != 1 || finished != 1 {
        fail(format!(
            "{started} InstanceStarted and {finished} InstanceFinished"
        ));
    }
    let (n_hosts, n_steps) = (hosts.len(), steps.len());
    // Per host: the step (and attempt) it is running now.
    let mut running: HashMap<HostIndex, (StepIndex, u32)> = HashMap::new();
    // Hosts whose last word was HostFinished (until a retry restarts them).
    let mut ended: HashSet<HostIndex> = HashSet::new();
    let mut ever_ended: HashSet<HostIndex> = HashSet::new();
    let mut touched: HashSet<HostIndex> = HashSet::new();
    let mut attempts: HashMap<(HostIndex, StepIndex), u32> = HashMap::new();
    let mut batch_open: Option<usize> = None;
    let mut batches_done: HashSet<usize> = HashSet::new();
    for (i, event) in events.iter().enumerate() {
        if event.instance != first.instance {
            fail(format!("event {i} belongs to instance {}", event.instance));
        }
        let host_ok = |h: HostIndex| {
            if h >= n_hosts {
                fail(format!("event {i} names host {h} of {n_hosts}"));
            }
        };
        let step_ok = |s: StepIndex| {
            if s >= n_steps {
                fail(format!("event {i} names step {s} of {n_steps}"));
            }
        };
        match &event.kind {
            // Gates before the first batch; these plans have none.
            EventKind::GuardHit { .. }
            | EventKind::GuardConfirmNeeded { .. }
            | EventKind::LockWaiting { .. }
            | EventKind::LockAcquired { .. }
            | EventKind::PreflightChecked { .. }
            | EventKind::HostSlotWaiting { .. }
            | EventKind::RunRefused { .. } => fail(format!("gate event at {i}")),
            EventKind::InstanceStarted { .. } | EventKind::InstanceFinished { .. } => {
                if i != 0 && i != events.len() - 1 {
                    fail(format!("instance boundary at {i}"));
                }
                if matches!(event.kind, EventKind::InstanceFinished { .. }) && !running.is_empty() {
                    fail(format!("instance finished with steps running: {running:?}"));
                }
            }
            EventKind::BatchStarted { batch } => {
                if batch_open.is_some() || *batch >= batches.len() {
                    fail(format!(
                        "BatchStarted {batch} at {i} while {batch_open:?} open"
                    ));
                }
                batch_open = Some(*batch);
            }
            // A finished batch may finish again (new counts after a retry
            // between batches), but only a batch that started and ended.
            EventKind::BatchFinished { batch, .. }
                if batch_open.is_none() && batches_done.contains(batch) => {}
            EventKind::BatchFinished { batch, .. } => {
                if batch_open != Some(*batch) {
                    fail(format!(
                        "BatchFinished {batch} at {i} while {batch_open:?} open"
                    ));
                }
                batch_open = None;
                batches_done.insert(*batch);
            }
            EventKind::HostConnecting { host } => {
                host_ok(*host);
                ended.remove(host);
                touched.insert(*host);
            }
            EventKind::StepStarted {
                host,
                step,
                attempt,
            } => {
                host_ok(*host);
                step_ok(*step);
                if let Some(other) = running.get(host) {
                    fail(format!("host {host} starts step {step} while in {other:?}"));
                }
                let last = attempts.entry((*host, *step)).or_insert(0);
                if *attempt != *last + 1 {
                    fail(format!(
                        "host {host} step {step}: attempt {attempt} after {last}"
                    ));
                }
                *last = *attempt;
                running.insert(*host, (*step, *attempt));
                ended.remove(host);
                touched.insert(*host);
            }
            EventKind::Output { host, step, .. } | EventKind::Exported { host, step, .. } => {
                host_ok(*host);
                if ended.contains(host) {
                    fail(format!(
                        "output of host {host} at {i} after its HostFinished"
                    ));
                }
                if running.get(host).map(|r| r.0) != Some(*step) {
                    fail(format!(
                        "output of host {host} step {step} at {i} outside that step"
                    ));
                }
            }
            EventKind::StepFinished {
                host,
                step,
                attempt,
                outcome,
            } => {
                if running.remove(host) != Some((*step, *attempt)) {
                    fail(format!(
                        "StepFinished host {host} step {step} attempt {attempt} at {i} without its StepStarted"
                    ));
                }
                if !outcome.status.is_final() {
                    fail(format!("step outcome {:?} is not final", outcome.status));
                }
            }
            EventKind::HostFinished { host, status } => {
                host_ok(*host);
                if !status.is_final() {
                    fail(format!("HostFinished {host} with {status:?}"));
                }
                if running.contains_key(host) {
                    fail(format!("HostFinished {host} at {i} while a step runs"));
                }
                if ended.contains(host) {
                    fail(format!("second HostFinished for host {host} at {i}"));
                }
                ended.insert(*host);
                ever_ended.insert(*host);
            }
            EventKind::Waiting { next_batch, .. } => {
                if *next_batch >= batches.len() {
                    fail(format!("Waiting for batch {next_batch}"));
                }
            }
            EventKind::ApprovalRequested { step, .. } | EventKind::Approved { step, .. } => {
                step_ok(*step);
            }
            EventKind::Paused | EventKind::Resumed => {}
        }
    }
    let interrupted = matches!(
        events.last().map(|e| &e.kind),
        Some(EventKind::InstanceFinished {
            status: InstanceStatus::Interrupted,
            ..
        })
    );
    for h in 0..n_hosts {
        if done_hosts.contains(&h) {
            if touched.contains(&h) || ever_ended.contains(&h) {
                fail(format!("host {h} was done before, yet has events"));
            }
        } else if !ended.contains(&h) && !interrupted {
            // An interrupted run leaves its later hosts pending, for resume.
            fail(format!("host {h} has no final HostFinished"));
        }
    }
}

/// How many processes run exactly `command` (not a shell that runs it).
fn sleeps(command: &str) -> usize {
    processes_matching(command)
        .iter()
        .filter(|line| line.trim_start().split_once(' ').map(|(_, args)| args) == Some(command))
        .count()
}

/// Max number of [start, end) intervals open at once.
fn max_overlap(intervals: &[(u128, u128)]) -> usize {
    let mut edges: Vec<(u128, i32)> = intervals
        .iter()
        .flat_map(|&(s, e)| [(s, 1), (e, -1)])
        .collect();
    // Ends before starts at the same instant.
    edges.sort();
    let (mut open, mut max) = (0i32, 0i32);
    for (_, delta) in edges {
        open += delta;
        max = max.max(open);
    }
    max as usize
}

fn is_step_started(host: HostIndex, step: StepIndex) -> impl Fn(&EventKind) -> bool {
    move |k| matches!(k, EventKind::StepStarted { host: h, step: s, .. } if *h == host && *s == step)
}

fn is_host_finished(host: HostIndex) -> impl Fn(&EventKind) -> bool {
    move |k| matches!(k, EventKind::HostFinished { host: h, .. } if *h == host)
}

fn is_waiting(reason: WaitReason) -> impl Fn(&EventKind) -> bool {
    move |k| matches!(k, EventKind::Waiting { reason: r, .. } if *r == reason)
}

fn is_batch_started(batch: usize) -> impl Fn(&EventKind) -> bool {
    move |k| matches!(k, EventKind::BatchStarted { batch: b } if *b == batch)
}

// ---------------------------------------------------------------------------
// 1. Batches, step order, forks

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_run_in_order_with_every_step_on_every_host() {
    let steps = vec![
        step("one", "echo one-$JOBDECK_HOST"),
        step("two", "echo two-$JOBDECK_HOST >&2"),
        step("three", "echo three-$JOBDECK_HOST"),
    ];
    let batches = vec![vec![0], vec![1, 2], vec![3, 4]];
    let done = run_to_end(plan(local_hosts(5), batches.clone(), steps)).await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert_eq!(done.reason(), "");

    match &done.events[0].kind {
        EventKind::InstanceStarted {
            flow,
            hosts,
            steps,
            batches: announced,
        } => {
            assert_eq!(flow, "test-flow");
            assert_eq!(hosts, &["h0", "h1", "h2", "h3", "h4"]);
            assert_eq!(steps, &["one", "two", "three"]);
            assert_eq!(announced, &batches);
        }
        other => panic!("{other:?}"),
    }
    // Batch boundaries in order, each with its counts.
    let boundaries: Vec<&EventKind> = done
        .kinds()
        .filter(|k| {
            matches!(
                k,
                EventKind::BatchStarted { .. } | EventKind::BatchFinished { .. }
            )
        })
        .collect();
    assert_eq!(
        boundaries,
        vec![
            &EventKind::BatchStarted { batch: 0 },
            &EventKind::BatchFinished {
                batch: 0,
                ok: 1,
                failed: 0
            },
            &EventKind::BatchStarted { batch: 1 },
            &EventKind::BatchFinished {
                batch: 1,
                ok: 2,
                failed: 0
            },
            &EventKind::BatchStarted { batch: 2 },
            &EventKind::BatchFinished {
                batch: 2,
                ok: 2,
                failed: 0
            },
        ]
    );
    for (b, members) in batches.iter().enumerate() {
        let start = done.position("batch start", is_batch_started(b));
        let end = done.position(
            "batch end",
            |k| matches!(k, EventKind::BatchFinished { batch, .. } if *batch == b),
        );
        for &h in members {
            let name = format!("h{h}");
            assert_eq!(done.started(h), vec![(0, 1), (1, 1), (2, 1)]);
            assert_eq!(done.stdout(h, 0), format!("one-{name}\n"));
            assert_eq!(done.stderr(h, 1), format!("two-{name}\n"));
            assert_eq!(done.stdout(h, 1), "");
            assert_eq!(done.stdout(h, 2), format!("three-{name}\n"));
            assert_eq!(done.host_status(h), Some(HostStatus::Ok));
            for (step, attempt, status, error) in done.step_results(h) {
                assert_eq!(
                    (status, error),
                    (HostStatus::Ok, None),
                    "h{h} step {step}/{attempt}"
                );
            }
            // Every event of the host lies inside its batch.
            for (i, event) in done.events.iter().enumerate() {
                let host = match &event.kind {
                    EventKind::HostConnecting { host }
                    | EventKind::StepStarted { host, .. }
                    | EventKind::StepFinished { host, .. }
                    | EventKind::Output { host, .. }
                    | EventKind::HostFinished { host, .. } => *host,
                    _ => continue,
                };
                if host == h {
                    assert!(start < i && i < end, "h{h}'s event {i} outside batch {b}");
                }
            }
        }
    }
    // Step outcomes carry the exit code.
    let finished = done.find("StepFinished", |k| {
        matches!(
            k,
            EventKind::StepFinished {
                host: 0,
                step: 0,
                ..
            }
        )
    });
    match &finished.kind {
        EventKind::StepFinished { outcome, .. } => assert_eq!(outcome.exit_code, Some(0)),
        _ => unreachable!(),
    }
    assert_eq!(
        done.count(|k| matches!(k, EventKind::HostConnecting { .. })),
        5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_counts_and_instance_status_report_failures() {
    // Mode continue so the failure does not pause the run.
    let hosts = failing_hosts(4, &[3]);
    // Host 3 fails its second step.
    let steps = vec![
        step("ok", "true"),
        step("maybe", r#"[ -z "$FAIL" ] || exit 7"#),
        step("after", "echo after"),
    ];
    let mut p = plan(hosts, vec![vec![0, 1], vec![2, 3]], steps);
    p.policy.mode = BatchMode::Continue;
    let done = run_to_end(p).await;
    assert_eq!(done.status, InstanceStatus::Failed);
    assert_eq!(done.reason(), "1 of 4 host(s) failed");
    assert!(done.kinds().any(|k| *k
        == EventKind::BatchFinished {
            batch: 1,
            ok: 1,
            failed: 1
        }));
    assert_eq!(
        done.started(3),
        vec![(0, 1), (1, 1)],
        "no step after the failed one"
    );
    let results = done.step_results(3);
    assert_eq!(results[1].2, HostStatus::Failed);
    let outcome = done.find("failed step", |k| {
        matches!(
            k,
            EventKind::StepFinished {
                host: 3,
                step: 1,
                ..
            }
        )
    });
    match &outcome.kind {
        EventKind::StepFinished { outcome, .. } => assert_eq!(outcome.exit_code, Some(7)),
        _ => unreachable!(),
    }
    assert_eq!(done.host_status(3), Some(HostStatus::Failed));
    assert_eq!(done.host_status(2), Some(HostStatus::Ok));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forks_caps_how_many_hosts_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let hosts: Vec<PlannedHost> = local_hosts(4)
        .into_iter()
        .map(|h| with_env(h, "LOG", log.to_str().unwrap()))
        .collect();
    let steps = vec![step(
        "sleepy",
        r#"echo "start $(date +%s%N)" >> "$LOG"; sleep 0.3; echo "end $(date +%s%N)" >> "$LOG""#,
    )];
    let mut p = plan(hosts, one_batch(4), steps);
    p.policy.forks = 2;
    let t0 = Instant::now();
    let done = run_to_end(p).await;
    let elapsed = t0.elapsed();
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());

    // From the hosts' own clock: each line pair is one host's run.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for line in text.lines() {
        let (kind, nanos) = line.split_once(' ').unwrap();
        let nanos: u128 = nanos.parse().unwrap();
        if kind == "start" {
            starts.push(nanos)
        } else {
            ends.push(nanos)
        }
    }
    starts.sort();
    ends.sort();
    assert_eq!((starts.len(), ends.len()), (4, 4), "{text}");
    let intervals: Vec<(u128, u128)> = starts.iter().copied().zip(ends.iter().copied()).collect();
    // Pairing sorted starts with sorted ends preserves the max overlap.
    assert_eq!(max_overlap(&intervals), 2, "{text}");
    // Same from the engine's events.
    let mut spans = Vec::new();
    for h in 0..4 {
        let s = done.find("start", is_step_started(h, 0)).at as u128;
        let e = done
            .find(
                "end",
                |k| matches!(k, EventKind::StepFinished { host, .. } if *host == h),
            )
            .at as u128;
        spans.push((s, e));
    }
    assert!(max_overlap(&spans) <= 2, "{spans:?}");
    assert!(
        elapsed >= Duration::from_millis(550),
        "two waves of 0.3 s took {elapsed:?}"
    );
}

// ---------------------------------------------------------------------------
// 2. max-fail

fn failing_hosts(n: usize, failing: &[usize]) -> Vec<PlannedHost> {
    local_hosts(n)
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            if failing.contains(&i) {
                with_env(h, "FAIL", "1")
            } else {
                h
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn max_fail_stops_new_hosts_and_aborts() {
    let steps = vec![step("work", r#"[ -z "$FAIL" ]"#)];
    let mut p = plan(failing_hosts(6, &[0, 1, 2]), one_batch(6), steps);
    p.policy.forks = 1;
    p.policy.max_fail = Some(MaxFail::Count(1));
    let done = run_to_end(p).await;
    assert_eq!(done.status, InstanceStatus::Aborted, "{}", done.dump());
    assert!(done.reason().contains("max-fail"), "{}", done.reason());
    assert!(done.reason().contains("2 of 6"), "{}", done.reason());
    use HostStatus::*;
    assert_eq!(
        done.host_statuses(6),
        vec![
            Some(Failed),
            Some(Failed),
            Some(Skipped),
            Some(Skipped),
            Some(Skipped),
            Some(Skipped)
        ]
    );
    for h in 2..6 {
        assert!(done.started(h).is_empty(), "h{h} started after max-fail");
    }
    assert!(done.kinds().any(|k| *k
        == EventKind::BatchFinished {
            batch: 0,
            ok: 0,
            failed: 2
        }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn max_fail_lets_running_hosts_finish() {
    // Host 0 fails at once; hosts 1 and 2 are still running and must finish.
    let steps = vec![step("work", r#"[ -z "$FAIL" ] || exit 1; sleep 0.5"#)];
    let mut p = plan(failing_hosts(6, &[0]), one_batch(6), steps);
    p.policy.forks = 3;
    p.policy.max_fail = Some(MaxFail::Percent(10));
    let done = run_to_end(p).await;
    assert_eq!(done.status, InstanceStatus::Aborted, "{}", done.dump());
    assert!(done.reason().contains("max-fail"), "{}", done.reason());
    use HostStatus::*;
    assert_eq!(
        done.host_statuses(6),
        vec![
            Some(Failed),
            Some(Ok),
            Some(Ok),
            Some(Skipped),
            Some(Skipped),
            Some(Skipped)
        ]
    );
    for h in 1..3 {
        assert_eq!(done.step_results(h)[0].2, Ok, "h{h} was not cut short");
    }
}

// ---------------------------------------------------------------------------
// 3. pause-on-failure

fn three_batches_first_fails() -> Plan {
    let steps = vec![step("work", r#"[ -z "$FAIL" ]"#)];
    plan(
        failing_hosts(3, &[0]),
        vec![vec![0], vec![1], vec![2]],
        steps,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_on_failure_headless_interrupts_for_resume() {
    let done = run_to_end(three_batches_first_fails()).await;
    assert_eq!(done.status, InstanceStatus::Interrupted, "{}", done.dump());
    assert!(done.reason().contains("resume"), "{}", done.reason());
    assert!(
        done.reason().contains("42"),
        "names the instance: {}",
        done.reason()
    );
    use HostStatus::*;
    // The later batches stay pending, so `jobdeck resume` runs them.
    assert_eq!(done.host_statuses(3), vec![Some(Failed), None, None]);
    assert_eq!(
        done.count(|k| matches!(k, EventKind::BatchStarted { .. })),
        1
    );
    assert_eq!(done.count(|k| matches!(k, EventKind::Waiting { .. })), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_on_failure_interactive_waits_then_resumes() {
    let mut p = three_batches_first_fails();
    p.policy.interactive = true;
    let mut live = Live::start(p);
    let waiting = live
        .wait_for("waiting", is_waiting(WaitReason::Failure))
        .await;
    assert_eq!(
        waiting.kind,
        EventKind::Waiting {
            next_batch: 1,
            reason: WaitReason::Failure,
            until: None
        }
    );
    live.wait_for("paused", |k| *k == EventKind::Paused).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !live.drain().iter().any(|e| is_batch_started(1)(&e.kind)),
        "batch 1 started while paused"
    );
    live.send(Control::Resume);
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Failed, "{}", done.dump());
    let resumed = done.position("Resumed", |k| *k == EventKind::Resumed);
    assert!(resumed < done.position("batch 1", is_batch_started(1)));
    use HostStatus::*;
    assert_eq!(
        done.host_statuses(3),
        vec![Some(Failed), Some(Ok), Some(Ok)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_on_failure_interactive_abort() {
    let mut p = three_batches_first_fails();
    p.policy.interactive = true;
    let mut live = Live::start(p);
    live.wait_for("paused", |k| *k == EventKind::Paused).await;
    live.send(Control::Abort {
        reason: "operator said so".into(),
    });
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Aborted);
    assert!(
        done.reason().contains("operator said so"),
        "{}",
        done.reason()
    );
    use HostStatus::*;
    assert_eq!(
        done.host_statuses(3),
        vec![Some(Failed), Some(Skipped), Some(Skipped)]
    );
    assert_eq!(
        done.count(|k| matches!(k, EventKind::BatchStarted { .. })),
        1
    );
}

// ---------------------------------------------------------------------------
// 4. mode confirm

fn two_batches(mode: BatchMode) -> Plan {
    let mut p = plan(
        local_hosts(3),
        vec![vec![0], vec![1, 2]],
        vec![step("hi", "echo hi")],
    );
    p.policy.mode = mode;
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn confirm_mode_waits_for_the_operator() {
    let mut p = two_batches(BatchMode::Confirm);
    p.policy.interactive = true;
    let mut live = Live::start(p);
    let waiting = live
        .wait_for("confirm", is_waiting(WaitReason::Confirm))
        .await;
    assert_eq!(
        waiting.kind,
        EventKind::Waiting {
            next_batch: 1,
            reason: WaitReason::Confirm,
            until: None
        }
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!live.drain().iter().any(|e| is_batch_started(1)(&e.kind)));
    live.send(Control::Confirm);
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert!(
        done.position("waiting", is_waiting(WaitReason::Confirm))
            < done.position("batch 1", is_batch_started(1))
    );
    assert_eq!(done.started(2), vec![(0, 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn confirm_mode_headless_needs_yes() {
    let done = run_to_end(two_batches(BatchMode::Confirm)).await;
    assert_eq!(done.status, InstanceStatus::Aborted, "{}", done.dump());
    assert!(done.reason().contains("--yes"), "{}", done.reason());
    // Nothing is changed on any host when the rollout cannot go through.
    for h in 0..3 {
        assert!(done.started(h).is_empty(), "h{h} ran:\n{}", done.dump());
        assert_eq!(done.host_status(h), Some(HostStatus::Skipped));
    }

    let mut p = two_batches(BatchMode::Confirm);
    p.policy.auto_confirm = true;
    let done = run_to_end(p).await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert_eq!(done.count(|k| matches!(k, EventKind::Waiting { .. })), 0);
    assert_eq!(
        done.count(|k| matches!(k, EventKind::BatchStarted { .. })),
        2
    );
}

// ---------------------------------------------------------------------------
// 5. interval and resume

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interval_waits_between_batches() {
    let mut p = two_batches(BatchMode::PauseOnFailure);
    p.policy.interval = Duration::from_secs(1);
    let done = run_to_end(p).await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    let waiting = done.find("interval", is_waiting(WaitReason::Interval));
    let EventKind::Waiting {
        next_batch, until, ..
    } = waiting.kind
    else {
        unreachable!()
    };
    assert_eq!(next_batch, 1);
    let until = until.expect("an interval has an end");
    assert!(
        (until - waiting.at - 1000).abs() <= 100,
        "until {until} vs emitted {}",
        waiting.at
    );
    let batch1 = done.find("batch 1", is_batch_started(1));
    assert!(
        batch1.at >= until - 5,
        "batch 1 at {} before {until}",
        batch1.at
    );
    assert!(
        batch1.at <= until + 1000,
        "batch 1 late: {} vs {until}",
        batch1.at
    );
    let finished0 = done.position("batch 0 end", |k| {
        matches!(k, EventKind::BatchFinished { batch: 0, .. })
    });
    let waiting_pos = done.position("interval", is_waiting(WaitReason::Interval));
    assert!(finished0 < waiting_pos);
}

/// A pause during an interval stops its clock: on resume the engine
/// announces the interval's new end, later by the time spent paused, and
/// the next batch does not start before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pause_stops_the_interval_clock() {
    let mut p = two_batches(BatchMode::PauseOnFailure);
    p.policy.interval = Duration::from_secs(3);
    let mut live = Live::start(p);
    let first = live
        .wait_for("interval", is_waiting(WaitReason::Interval))
        .await;
    let EventKind::Waiting {
        until: Some(first_until),
        ..
    } = first.kind
    else {
        unreachable!()
    };
    live.send(Control::Pause);
    let paused = live
        .wait_for("paused", |k| matches!(k, EventKind::Paused))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    live.send(Control::Resume);
    let resumed = live
        .wait_for("resumed", |k| matches!(k, EventKind::Resumed))
        .await;
    let again = live
        .wait_for("the interval again", is_waiting(WaitReason::Interval))
        .await;
    let EventKind::Waiting {
        until: Some(new_until),
        next_batch,
        ..
    } = again.kind
    else {
        unreachable!()
    };
    assert_eq!(next_batch, 1);
    let held = resumed.at - paused.at;
    assert!(held >= 1400, "paused for {held} ms");
    // What was left at the pause is left after the resume.
    let left_at_pause = first_until - paused.at;
    let left_after = new_until - again.at;
    assert!(
        (left_after - left_at_pause).abs() <= 300,
        "left {left_at_pause} ms at the pause, {left_after} ms after it"
    );
    let batch1 = live.wait_for("batch 1", is_batch_started(1)).await;
    assert!(
        batch1.at >= new_until - 5,
        "batch 1 at {} before {new_until}",
        batch1.at
    );
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn confirm_cuts_an_interval_short() {
    let mut p = two_batches(BatchMode::PauseOnFailure);
    p.policy.interval = Duration::from_secs(30);
    let t0 = Instant::now();
    let mut live = Live::start(p);
    live.wait_for("interval", is_waiting(WaitReason::Interval))
        .await;
    live.send(Control::Confirm);
    live.wait_for("batch 1", is_batch_started(1)).await;
    assert!(t0.elapsed() < Duration::from_secs(10));
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resume_starts_where_the_run_left_off() {
    let steps = vec![
        step("s0", "echo s0"),
        step("s1", "echo s1"),
        step("s2", "echo s2"),
    ];
    let mut p = plan(local_hosts(4), vec![vec![0], vec![1, 2, 3]], steps);
    p.policy.interval = Duration::from_secs(3600);
    p.start = StartPoint {
        first_batch: 1,
        wait_until: Some(now_millis() - 10_000),
        hosts: vec![
            HostStart::Done(HostStatus::Ok),
            HostStart::FromStep(1),
            HostStart::FromStep(0),
            HostStart::Done(HostStatus::Ok),
        ],
    };
    let t0 = Instant::now();
    let done = run_to_end(p).await;
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "waited for a past interval"
    );
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert_eq!(done.count(|k| matches!(k, EventKind::Waiting { .. })), 0);
    assert_eq!(
        done.kinds()
            .filter(|k| matches!(k, EventKind::BatchStarted { .. }))
            .collect::<Vec<_>>(),
        vec![&EventKind::BatchStarted { batch: 1 }]
    );
    assert!(done.started(0).is_empty());
    assert!(done.started(3).is_empty());
    assert_eq!(done.started(1), vec![(1, 1), (2, 1)]);
    assert_eq!(done.started(2), vec![(0, 1), (1, 1), (2, 1)]);
    assert_eq!(done.stdout(1, 1), "s1\n");
    assert_eq!(done.host_status(0), None);
    assert_eq!(done.host_status(3), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resume_waits_out_the_rest_of_an_interval() {
    let mut p = plan(
        local_hosts(2),
        vec![vec![0], vec![1]],
        vec![step("s0", "true")],
    );
    let until = now_millis() + 600;
    p.start = StartPoint {
        first_batch: 1,
        wait_until: Some(until),
        hosts: vec![HostStart::Done(HostStatus::Ok)],
    };
    let done = run_to_end(p).await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert_eq!(
        done.find("wait", is_waiting(WaitReason::Interval)).kind,
        EventKind::Waiting {
            next_batch: 1,
            reason: WaitReason::Interval,
            until: Some(until)
        }
    );
    assert!(done.find("batch 1", is_batch_started(1)).at >= until - 5);
}

// ---------------------------------------------------------------------------
// 6. retries

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retries_count_attempts_and_wait_between_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut flaky = counting_step("flaky");
    flaky.retries = 2;
    flaky.retry_interval = Duration::from_millis(250);
    let mut hopeless = step("hopeless", "exit 4");
    hopeless.retries = 1;
    let hosts = vec![
        counting_host("h0", dir.path(), 3),
        counting_host("h1", dir.path(), 99),
    ];
    let mut p = plan(hosts, one_batch(2), vec![flaky, hopeless]);
    p.policy.mode = BatchMode::Continue;
    let done = run_to_end(p).await;

    assert_eq!(
        done.started(0),
        vec![(0, 1), (0, 2), (0, 3), (1, 1), (1, 2)]
    );
    let statuses: Vec<(StepIndex, u32, HostStatus)> = done
        .step_results(0)
        .into_iter()
        .map(|(s, a, st, _)| (s, a, st))
        .collect();
    use HostStatus::*;
    assert_eq!(
        statuses,
        vec![
            (0, 1, Failed),
            (0, 2, Failed),
            (0, 3, Ok),
            (1, 1, Failed),
            (1, 2, Failed)
        ]
    );
    assert_eq!(done.stdout(0, 0), "try 1\ntry 2\ntry 3\n");
    // Retries used up on h1: three tries of the flaky step, then it stops.
    assert_eq!(done.started(1), vec![(0, 1), (0, 2), (0, 3)]);
    assert_eq!(done.host_status(0), Some(Failed));
    assert_eq!(done.host_status(1), Some(Failed));

    // The retry interval is honoured.
    for attempt in 1..=2u32 {
        let ended = done.find("end", |k| {
            matches!(k, EventKind::StepFinished { host: 0, step: 0, attempt: a, .. } if *a == attempt)
        });
        let again = done.find("again", |k| {
            matches!(k, EventKind::StepStarted { host: 0, step: 0, attempt: a } if *a == attempt + 1)
        });
        let gap = again.at - ended.at;
        assert!((240..2000).contains(&gap), "retry {attempt} after {gap} ms");
    }
}

// ---------------------------------------------------------------------------
// 7. on_failure

fn on_failure_plan(on_failure: OnFailure) -> Plan {
    let mut failing = step("fails", "echo failing; exit 3");
    failing.on_failure = on_failure;
    let steps = vec![
        step("first", "echo first"),
        failing,
        step("later", "echo later"),
    ];
    let mut p = plan(local_hosts(1), one_batch(1), steps);
    p.rollback = vec![
        step("undo", "echo undo-$JOBDECK_HOST; exit 1"),
        step("undo2", "echo undo2"),
    ];
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_failure_stop_continue_and_rollback() {
    // stop
    let done = run_to_end(on_failure_plan(OnFailure::Stop)).await;
    assert_eq!(done.started(0), vec![(0, 1), (1, 1)]);
    assert_eq!(done.host_status(0), Some(HostStatus::Failed));
    assert_eq!(done.status, InstanceStatus::Failed);

    // continue: the failure is recorded, the host goes on and ends ok
    let done = run_to_end(on_failure_plan(OnFailure::Continue)).await;
    assert_eq!(done.started(0), vec![(0, 1), (1, 1), (2, 1)]);
    assert_eq!(done.step_results(0)[1].2, HostStatus::Failed);
    assert_eq!(done.stdout(0, 2), "later\n");
    assert_eq!(done.host_status(0), Some(HostStatus::Ok));
    assert_eq!(done.status, InstanceStatus::Ok);

    // keep-going: the host runs its later steps, then counts as failed
    let done = run_to_end(on_failure_plan(OnFailure::KeepGoing)).await;
    assert_eq!(done.started(0), vec![(0, 1), (1, 1), (2, 1)]);
    assert_eq!(done.stdout(0, 2), "later\n");
    assert_eq!(done.host_status(0), Some(HostStatus::Failed));
    assert_eq!(done.status, InstanceStatus::Failed);

    // rollback: both rollback steps run (even after the first fails), as 3 and 4
    let done = run_to_end(on_failure_plan(OnFailure::Rollback)).await;
    match &done.events[0].kind {
        EventKind::InstanceStarted { steps, .. } => assert_eq!(
            steps,
            &[
                "first",
                "fails",
                "later",
                "rollback: undo",
                "rollback: undo2"
            ]
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(done.started(0), vec![(0, 1), (1, 1), (3, 1), (4, 1)]);
    assert_eq!(done.stdout(0, 3), "undo-h0\n");
    assert_eq!(done.stdout(0, 4), "undo2\n");
    assert_eq!(done.host_status(0), Some(HostStatus::RolledBack));
    assert_eq!(done.status, InstanceStatus::Failed);
    assert!(done.kinds().any(|k| *k
        == EventKind::BatchFinished {
            batch: 0,
            ok: 0,
            failed: 1
        }));
}

// ---------------------------------------------------------------------------
// 8. exports and secrets

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exports_reach_later_steps() {
    let steps = vec![
        step(
            "set",
            "echo hello; echo '::set VERSION=1.2.3'; printf '::set LAST=x=y'",
        ),
        step("use", r#"printf '%s|%s' "$VERSION" "$LAST""#),
    ];
    let done = run_to_end(plan(local_hosts(2), one_batch(2), steps)).await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    for h in 0..2 {
        assert_eq!(
            done.stdout(h, 0),
            "hello\n::set VERSION=1.2.3\n::set LAST=x=y"
        );
        assert_eq!(done.stdout(h, 1), "1.2.3|x=y");
        let exported = done.find("export", |k| {
            matches!(k, EventKind::Exported { host, name, .. } if *host == h && name == "VERSION")
        });
        assert_eq!(
            exported.kind,
            EventKind::Exported {
                host: h,
                step: 0,
                name: "VERSION".into(),
                value: "1.2.3".into()
            }
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secrets_never_reach_any_output() {
    let secret = "hunter2";
    let mut s0 = step(
        "leaky",
        "echo pw=hunter2; printf 'hun'; sleep 0.2; printf 'ter2\\n'; echo \"$PASSWORD\" >&2; \
         printf 'h'; sleep 0.1; printf 'u'; sleep 0.1; printf 'nter2 end'",
    );
    s0.env = vec![("PASSWORD".into(), secret.into())];
    let s1 = step(
        "export",
        "echo \"::set TOKEN=$PASSWORD\"; echo '::set KEPT=hunt'",
    );
    let mut s1 = s1;
    s1.env = vec![("PASSWORD".into(), secret.into())];
    let s2 = step("see", r#"printf '%s|%s' "$TOKEN" "$KEPT""#);
    let mut p = plan(local_hosts(1), one_batch(1), vec![s0, s1, s2]);
    p.secrets = vec![secret.into()];
    let done = run_to_end(p).await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());

    let everything: Vec<u8> = done
        .kinds()
        .filter_map(|k| match k {
            EventKind::Output { data, .. } => Some(data.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    let text = String::from_utf8_lossy(&everything);
    assert!(!text.contains(secret), "{text}");
    assert_eq!(done.stdout(0, 0), "pw=***\n***\n*** end");
    assert_eq!(done.stderr(0, 0), "***\n");
    // Nothing in any event (exports included) carries the secret.
    let json = serde_json::to_string(&done.events).unwrap();
    assert!(!json.contains(secret));
    assert_eq!(done.stdout(0, 2), "***|hunt");
}

// ---------------------------------------------------------------------------
// 9. env quoting, local and SSH

const NASTY: &str = "it's \"quoted\" $HOME `id` \\ back\nsecond line  two  spaces\t*";

fn env_plan(hosts: Vec<PlannedHost>) -> Plan {
    let hosts = hosts
        .into_iter()
        .map(|h| with_env(with_env(h, "HOST_VAR", NASTY), "SHADOWED", "host"))
        .collect::<Vec<_>>();
    let n = hosts.len();
    let mut s = step(
        "env",
        r#"printf '[%s][%s][%s][%s]' "$HOST_VAR" "$STEP_VAR" "$SHADOWED" "$JOBDECK_HOST""#,
    );
    s.env = vec![
        ("STEP_VAR".into(), format!("step {NASTY}")),
        ("SHADOWED".into(), "step".into()),
    ];
    let script = PlannedStep {
        action: Action::Run(Payload::Script {
            body: "#!/bin/sh\nprintf '<%s>' \"$HOST_VAR\" \"$@\"\n".into(),
            args: vec!["a b".into(), "$x'y".into()],
        }),
        ..step("script", "")
    };
    plan(hosts, one_batch(n), vec![s, script])
}

fn check_env(done: &Finished, host: HostIndex, name: &str) {
    assert_eq!(
        done.stdout(host, 0),
        format!("[{NASTY}][step {NASTY}][step][{name}]")
    );
    assert_eq!(done.stdout(host, 1), format!("<{NASTY}><a b><$x'y>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn env_values_arrive_intact_locally() {
    let done = run_to_end(env_plan(local_hosts(1))).await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    check_env(&done, 0, "h0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn env_values_arrive_intact_over_ssh() {
    let sshd = SshdFixture::start();
    let hosts = vec![ssh_host("ssh0", &sshd), local_host("h1")];
    let done = run_to_end(env_plan(hosts)).await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    check_env(&done, 0, "ssh0");
    check_env(&done, 1, "h1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ssh_steps_share_exports_and_report_unreachable_hosts() {
    let sshd = SshdFixture::start();
    let mut dead = ssh_host("dead", &sshd);
    dead.target.port = support::free_port();
    dead.target.connect_timeout = Duration::from_secs(3);
    let steps = vec![
        step("set", "echo '::set WHO=remote'; exit 0"),
        step("use", r#"echo "$WHO-$JOBDECK_HOST""#),
    ];
    let mut p = plan(vec![ssh_host("ssh0", &sshd), dead], one_batch(2), steps);
    p.policy.mode = BatchMode::Continue;
    let done = run_to_end(p).await;
    assert_eq!(done.stdout(0, 1), "remote-ssh0\n");
    assert_eq!(done.host_status(0), Some(HostStatus::Ok));
    assert_eq!(done.host_status(1), Some(HostStatus::Unreachable));
    let results = done.step_results(1);
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(results[0].3.is_some(), "unreachable carries a reason");
    assert_eq!(done.status, InstanceStatus::Failed);
    // One connection for both steps of the live host.
    assert_eq!(
        done.count(|k| *k == EventKind::HostConnecting { host: 0 }),
        1
    );
}

/// An SSH target on loopback that nothing else configures: no keys, no
/// agent, a short connect timeout.
fn bare_ssh_host(name: &str, port: u16) -> PlannedHost {
    let mut target = Target::new(name);
    target.address = "127.0.0.1".into();
    target.port = port;
    target.connect_timeout = Duration::from_secs(2);
    target.global_known_hosts = Vec::new();
    PlannedHost {
        name: name.to_string(),
        target,
        env: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_host_whose_handshake_fails_fails_once_for_the_run() {
    // A listener that never accepts: the kernel completes the TCP handshake,
    // the SSH banner never comes, so the connect times out (a silent host).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    // A port nothing listens on: the connection is refused.
    let refused_port = support::free_port();
    let flow = |on_failure| {
        let mut steps = vec![
            step("one", "true"),
            step("two", "true"),
            step("three", "true"),
        ];
        for s in &mut steps {
            s.on_failure = on_failure;
            s.retries = 2;
        }
        steps
    };
    for (name, port, on_failure) in [
        ("silent", silent_port, OnFailure::Continue),
        ("silent", silent_port, OnFailure::KeepGoing),
        ("refused", refused_port, OnFailure::Rollback),
        ("refused", refused_port, OnFailure::Continue),
    ] {
        let mut p = plan(
            vec![bare_ssh_host(name, port)],
            one_batch(1),
            flow(on_failure),
        );
        p.rollback = vec![step("undo", "true"), step("undo again", "true")];
        p.policy.mode = BatchMode::Continue;
        let done = run_to_end(p).await;
        let context = format!("{name} with {on_failure:?}:\n{}", done.dump());
        assert_eq!(
            done.count(|k| matches!(k, EventKind::HostConnecting { .. })),
            1,
            "one connect for the whole run: {context}"
        );
        let results = done.step_results(0);
        assert_eq!(results.len(), 1, "only the first step ran: {context}");
        assert_eq!(results[0].2, HostStatus::Unreachable, "{context}");
        assert!(results[0].3.is_some(), "the reason is kept: {context}");
        assert_eq!(
            done.host_status(0),
            Some(HostStatus::Unreachable),
            "{context}"
        );
        assert_eq!(done.status, InstanceStatus::Failed, "{context}");
    }
    drop(silent);
}

// ---------------------------------------------------------------------------
// 10. abort and skip

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abort_kills_running_commands_everywhere() {
    let sshd = SshdFixture::start();
    let marker = format!("sleep 300.{}", std::process::id());
    let hosts = vec![ssh_host("ssh0", &sshd), local_host("h1"), local_host("h2")];
    let mut p = plan(
        hosts,
        one_batch(3),
        vec![step("long", &marker), step("never", "echo never")],
    );
    p.policy.forks = 2;
    let mut live = Live::start(p);
    live.wait_for("ssh step", is_step_started(0, 0)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while sleeps(&marker) < 2 {
        assert!(Instant::now() < deadline, "both sleeps never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    live.send(Control::Abort {
        reason: "enough".into(),
    });
    let t0 = Instant::now();
    let done = live.finish().await;
    assert!(
        t0.elapsed() < Duration::from_secs(8),
        "abort took {:?}",
        t0.elapsed()
    );
    assert_eq!(done.status, InstanceStatus::Aborted);
    assert!(done.reason().contains("enough"), "{}", done.reason());
    use HostStatus::*;
    assert_eq!(
        done.host_statuses(3),
        vec![Some(Cancelled), Some(Cancelled), Some(Skipped)]
    );
    for h in 0..2 {
        assert_eq!(done.started(h), vec![(0, 1)], "no step after the abort");
        assert_eq!(done.step_results(h)[0].2, Cancelled);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_matching(&marker);
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "left behind: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn skip_host_cancels_a_running_host_and_drops_a_pending_one() {
    let marker = format!("sleep 301.{}", std::process::id());
    let steps = vec![step(
        "work",
        &format!(r#"if [ "$JOBDECK_HOST" = h0 ]; then {marker}; else sleep 0.3; fi"#),
    )];
    let mut p = plan(local_hosts(3), vec![vec![0, 1], vec![2]], steps);
    p.policy.interactive = true;
    let mut live = Live::start(p);
    live.wait_for("h0 running", is_step_started(0, 0)).await;
    live.send(Control::SkipHost(2));
    live.send(Control::SkipHost(0));
    live.send(Control::SkipHost(99)); // out of range: ignored
    let done = live.finish().await;
    use HostStatus::*;
    assert_eq!(
        done.host_statuses(3),
        vec![Some(Skipped), Some(Ok), Some(Skipped)]
    );
    assert!(done.started(2).is_empty());
    assert_eq!(done.step_results(0)[0].2, Cancelled);
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert!(processes_matching(&marker).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_holds_new_hosts_until_resume() {
    let mut p = plan(local_hosts(3), one_batch(3), vec![step("s", "sleep 0.2")]);
    p.policy.forks = 1;
    p.policy.interactive = true;
    let mut live = Live::start(p);
    live.wait_for("h0 running", is_step_started(0, 0)).await;
    live.send(Control::Pause);
    live.wait_for("paused", |k| *k == EventKind::Paused).await;
    live.seen_or_wait("h0 done", is_host_finished(0)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !live.drain().iter().any(|e| is_step_started(1, 0)(&e.kind)),
        "h1 started while paused"
    );
    live.send(Control::Resume);
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Ok);
    assert!(
        done.position("resumed", |k| *k == EventKind::Resumed)
            < done.position("h1", is_step_started(1, 0))
    );
}

/// What the journal's forwarder sends when a write failed: no new host,
/// the running one finishes, and the run ends interrupted (resumable) with
/// the pending hosts left pending, not skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stop_starts_no_new_host_and_ends_interrupted() {
    let mut p = plan(
        local_hosts(3),
        vec![vec![0, 1], vec![2]],
        vec![step("s", "sleep 0.3")],
    );
    p.policy.forks = 1;
    let mut live = Live::start(p);
    live.wait_for("h0 running", is_step_started(0, 0)).await;
    live.send(Control::Stop {
        reason: "the journal could not record the run: disk full".into(),
    });
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Interrupted);
    let ended = |h| {
        done.events.iter().find_map(|e| match e.kind {
            EventKind::HostFinished { host, status } if host == h => Some(status),
            _ => None,
        })
    };
    assert_eq!(ended(0), Some(HostStatus::Ok), "the running host finished");
    assert_eq!(ended(1), None, "h1 never started, and stays pending");
    assert_eq!(ended(2), None);
    assert!(!done.events.iter().any(|e| is_step_started(1, 0)(&e.kind)));
    assert!(!done.events.iter().any(|e| is_batch_started(1)(&e.kind)));
    match &done.events.last().unwrap().kind {
        EventKind::InstanceFinished { reason, .. } => assert_eq!(
            reason.as_deref(),
            Some("the journal could not record the run: disk full")
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paused_run_whose_operator_left_ends() {
    // Paused inside a batch.
    let mut p = plan(local_hosts(2), one_batch(2), vec![step("s", "sleep 0.2")]);
    p.policy.forks = 1;
    p.policy.interactive = true;
    let mut live = Live::start(p);
    live.wait_for("h0 running", is_step_started(0, 0)).await;
    live.send(Control::Pause);
    live.wait_for("paused", |k| *k == EventKind::Paused).await;
    // The operator goes away: nobody can ever resume.
    live.drop_controls();
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Aborted, "{}", done.dump());
    assert!(done.reason().contains("no operator"), "{}", done.reason());
    assert_eq!(done.host_status(1), Some(HostStatus::Skipped));

    // Paused on a failure between batches, and paused during an interval.
    for interval in [false, true] {
        let mut p = three_batches_first_fails();
        p.policy.interactive = true;
        if interval {
            p.policy.mode = BatchMode::Continue;
            p.policy.interval = Duration::from_millis(200);
        }
        let mut live = Live::start(p);
        if interval {
            live.wait_for("interval", is_waiting(WaitReason::Interval))
                .await;
            live.send(Control::Pause);
        }
        live.wait_for("paused", |k| *k == EventKind::Paused).await;
        live.drop_controls();
        let done = live.finish().await;
        assert_eq!(done.status, InstanceStatus::Aborted, "{}", done.dump());
        assert!(done.reason().contains("no operator"), "{}", done.reason());
        assert_eq!(done.host_status(2), Some(HostStatus::Skipped));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn step_timeout_kills_and_fails_the_host() {
    let mut s = step("slow", "sleep 5");
    s.timeout = Some(Duration::from_millis(300));
    let t0 = Instant::now();
    let done = run_to_end(plan(
        local_hosts(1),
        one_batch(1),
        vec![s, step("x", "true")],
    ))
    .await;
    assert!(t0.elapsed() < Duration::from_secs(4));
    assert_eq!(done.host_status(0), Some(HostStatus::TimedOut));
    assert_eq!(done.started(0), vec![(0, 1)]);
    assert_eq!(done.status, InstanceStatus::Failed);
}

// ---------------------------------------------------------------------------
// 11. approval steps

fn approval_plan(batches: Vec<Vec<HostIndex>>, n: usize) -> Plan {
    let steps = vec![
        step("before", "echo before"),
        approval("gate", "ship it?"),
        step("after", "echo after"),
    ];
    let mut p = plan(local_hosts(n), batches, steps);
    p.policy.mode = BatchMode::Continue;
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_gates_the_batch_once() {
    let mut p = approval_plan(vec![vec![0, 1], vec![2]], 3);
    p.policy.interactive = true;
    let mut live = Live::start(p);
    let requested = live
        .wait_for("approval", |k| {
            matches!(k, EventKind::ApprovalRequested { .. })
        })
        .await;
    assert_eq!(
        requested.kind,
        EventKind::ApprovalRequested {
            batch: 0,
            step: 1,
            message: "ship it?".into()
        }
    );
    // Both hosts reach the gate and wait there.
    live.seen_or_wait("h0 at gate", is_step_started(0, 1)).await;
    live.seen_or_wait("h1 at gate", is_step_started(1, 1)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!live.drain().iter().any(|e| is_step_started(0, 2)(&e.kind)));
    live.send(Control::Confirm);
    live.wait_for("approved", |k| {
        *k == EventKind::Approved { batch: 0, step: 1 }
    })
    .await;
    // The next batch has its own gate.
    live.wait_for("approval 2", |k| {
        matches!(k, EventKind::ApprovalRequested { batch: 1, .. })
    })
    .await;
    live.send(Control::Confirm);
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert_eq!(
        done.count(|k| matches!(k, EventKind::ApprovalRequested { batch: 0, .. })),
        1
    );
    for h in 0..3 {
        assert_eq!(done.started(h), vec![(0, 1), (1, 1), (2, 1)]);
        assert_eq!(done.stdout(h, 2), "after\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_headless_needs_yes() {
    let mut p = approval_plan(one_batch(2), 2);
    p.policy.auto_confirm = true;
    let done = run_to_end(p).await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert_eq!(
        done.count(|k| matches!(k, EventKind::ApprovalRequested { .. })),
        0
    );
    assert_eq!(done.started(1), vec![(0, 1), (1, 1), (2, 1)]);

    let done = run_to_end(approval_plan(one_batch(2), 2)).await;
    assert_eq!(done.status, InstanceStatus::Failed);
    for h in 0..2 {
        let results = done.step_results(h);
        assert_eq!(results.len(), 2, "{results:?}");
        assert_eq!(results[1].2, HostStatus::Failed);
        let error = results[1].3.clone().unwrap_or_default();
        assert!(error.contains("--yes"), "{error}");
        assert_eq!(done.host_status(h), Some(HostStatus::Failed));
    }
}

// ---------------------------------------------------------------------------
// 12. retry failed hosts

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retry_failed_during_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = vec![
        counting_host("h0", dir.path(), 2),
        with_env(counting_host("h1", dir.path(), 1), "SLOW", "1"),
    ];
    let steps = vec![
        step("first", "echo first"),
        counting_step("count"),
        step("slow", r#"[ -z "$SLOW" ] || sleep 1"#),
    ];
    let mut p = plan(hosts, one_batch(2), steps);
    p.policy.mode = BatchMode::Continue;
    p.policy.interactive = true;
    let mut live = Live::start(p);
    let failed = live.wait_for("h0 fails", is_host_finished(0)).await;
    assert_eq!(
        failed.kind,
        EventKind::HostFinished {
            host: 0,
            status: HostStatus::Failed
        }
    );
    live.send(Control::RetryFailed);
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert_eq!(done.started(0), vec![(0, 1), (1, 1), (1, 2), (2, 1)]);
    assert_eq!(done.host_status(0), Some(HostStatus::Ok));
    assert!(done.kinds().any(|k| *k
        == EventKind::BatchFinished {
            batch: 0,
            ok: 2,
            failed: 0
        }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retry_failed_during_an_interval() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = vec![
        counting_host("h0", dir.path(), 1),
        counting_host("h1", dir.path(), 2),
        counting_host("h2", dir.path(), 1),
    ];
    let steps = vec![step("first", "echo first"), counting_step("count")];
    let mut p = plan(hosts, vec![vec![0, 1], vec![2]], steps);
    p.policy.mode = BatchMode::Continue;
    p.policy.interval = Duration::from_secs(30);
    p.policy.interactive = true;
    let mut live = Live::start(p);
    live.wait_for("interval", is_waiting(WaitReason::Interval))
        .await;
    live.send(Control::RetryFailed);
    live.wait_for("h1 retried", |k| {
        matches!(
            k,
            EventKind::StepFinished {
                host: 1,
                step: 1,
                attempt: 2,
                ..
            }
        )
    })
    .await;
    live.send(Control::Confirm);
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert_eq!(done.started(1), vec![(0, 1), (1, 1), (1, 2)]);
    assert_eq!(done.host_status(1), Some(HostStatus::Ok));
    assert_eq!(done.started(2), vec![(0, 1), (1, 1)]);
    // Batch 1 ends twice: with h1 failed, then, after the retry, all ok.
    let batch_one: Vec<&EventKind> = done
        .kinds()
        .filter(|k| matches!(k, EventKind::BatchFinished { batch: 0, .. }))
        .collect();
    assert_eq!(
        batch_one,
        [
            &EventKind::BatchFinished {
                batch: 0,
                ok: 1,
                failed: 1
            },
            &EventKind::BatchFinished {
                batch: 0,
                ok: 2,
                failed: 0
            }
        ],
        "{}",
        done.dump()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retry_failed_while_paused_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = vec![
        counting_host("h0", dir.path(), 2),
        counting_host("h1", dir.path(), 1),
    ];
    let steps = vec![step("first", "echo first"), counting_step("count")];
    let mut p = plan(hosts, vec![vec![0], vec![1]], steps);
    p.policy.interactive = true;
    let mut live = Live::start(p);
    live.wait_for("paused", |k| *k == EventKind::Paused).await;
    live.send(Control::RetryFailed);
    live.wait_for("h0 retried ok", |k| {
        *k == EventKind::HostFinished {
            host: 0,
            status: HostStatus::Ok,
        }
    })
    .await;
    // Still the operator's call to go on.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!live.drain().iter().any(|e| is_batch_started(1)(&e.kind)));
    live.send(Control::Resume);
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert_eq!(done.started(0), vec![(0, 1), (1, 1), (1, 2)]);
    assert_eq!(done.started(1), vec![(0, 1), (1, 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_host_keeps_its_exports() {
    let dir = tempfile::tempdir().unwrap();
    let steps = vec![
        step("set", "echo '::set VERSION=1.2.3'"),
        step(
            "use",
            r#"echo "v=$VERSION"; n=$(( $(cat "$COUNTER" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$COUNTER"; [ "$n" -ge "$NEED" ]"#,
        ),
    ];
    let mut p = plan(
        vec![
            counting_host("h0", dir.path(), 2),
            counting_host("h1", dir.path(), 1),
        ],
        vec![vec![0], vec![1]],
        steps,
    );
    p.policy.interactive = true;
    let mut live = Live::start(p);
    live.wait_for("paused", |k| *k == EventKind::Paused).await;
    live.send(Control::RetryFailed);
    live.wait_for("h0 ok", |k| {
        *k == EventKind::HostFinished {
            host: 0,
            status: HostStatus::Ok,
        }
    })
    .await;
    live.send(Control::Resume);
    let done = live.finish().await;
    assert_eq!(done.started(0), vec![(0, 1), (1, 1), (1, 2)]);
    assert_eq!(done.stdout(0, 1), "v=1.2.3\nv=1.2.3\n");
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
}

/// A wait's own commands sent while a retry runs inside the wait are not lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn go_ahead_sent_during_a_retry_still_ends_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    // The second try of h1 takes a while, so the go-ahead arrives during it.
    let slow_retry = step(
        "count",
        r#"n=$(( $(cat "$COUNTER" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$COUNTER"; [ "$n" -ge "$NEED" ] && sleep 0.5; [ "$n" -ge "$NEED" ]"#,
    );
    for interval in [true, false] {
        let hosts = vec![
            counting_host("h0", dir.path(), 1),
            counting_host(&format!("h1-{interval}"), dir.path(), 2),
            counting_host("h2", dir.path(), 1),
        ];
        let mut p = plan(hosts, vec![vec![0, 1], vec![2]], vec![slow_retry.clone()]);
        p.policy.interactive = true;
        if interval {
            p.policy.mode = BatchMode::Continue;
            p.policy.interval = Duration::from_secs(60);
        }
        let mut live = Live::start(p);
        if interval {
            live.wait_for("interval", is_waiting(WaitReason::Interval))
                .await;
        } else {
            live.wait_for("paused", |k| *k == EventKind::Paused).await;
        }
        live.send(Control::RetryFailed);
        live.wait_for("h1 retry", |k| {
            matches!(
                k,
                EventKind::StepStarted {
                    host: 1,
                    step: 0,
                    attempt: 2
                }
            )
        })
        .await;
        let t0 = Instant::now();
        live.send(if interval {
            Control::Confirm
        } else {
            Control::Resume
        });
        live.wait_for("batch 1", is_batch_started(1)).await;
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        let done = live.finish().await;
        assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
        let retried_ok = done.position("h1 ok", |k| {
            *k == EventKind::HostFinished {
                host: 1,
                status: HostStatus::Ok,
            }
        });
        assert!(retried_ok < done.position("batch 1", is_batch_started(1)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_as_goes_through_sudo_with_env_and_kill() {
    if !Path::new("/usr/bin/sudo").exists() {
        eprintln!("sudo is not installed: skipped");
        return;
    }
    let sshd = SshdFixture::start();
    let marker = format!("sleep 302.{}", std::process::id());
    let mut who = step("who", r#"printf '%s|%s' "$(id -un)" "$HOST_VAR""#);
    who.run_as = Some("nobody".into());
    let mut slow = step("slow", &marker);
    slow.run_as = Some("nobody".into());
    slow.timeout = Some(Duration::from_millis(500));
    let hosts = vec![
        with_env(local_host("h0"), "HOST_VAR", NASTY),
        with_env(ssh_host("ssh1", &sshd), "HOST_VAR", NASTY),
    ];
    let mut p = plan(hosts, one_batch(2), vec![who, slow]);
    p.policy.mode = BatchMode::Continue;
    let done = run_to_end(p).await;
    for h in 0..2 {
        assert_eq!(done.stdout(h, 0), format!("nobody|{NASTY}"), "host {h}");
    }
    assert_eq!(
        done.host_status(0),
        Some(HostStatus::TimedOut),
        "local host"
    );
    // Both hosts run as `nobody`: the local host's kill must not reach the
    // SSH host's command (procps' kill binary once turned `-TERM -1xxxx`
    // into "every process of the user").
    assert_eq!(
        done.host_status(1),
        Some(HostStatus::TimedOut),
        "ssh host: {}",
        done.dump()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_matching(&marker).is_empty() {
        assert!(
            Instant::now() < deadline,
            "left behind: {:?}",
            processes_matching(&marker)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------
// Upload steps

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upload_copies_then_later_steps_see_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("app.conf");
    std::fs::write(&src, "port = 8080\n").unwrap();
    let dest = dir.path().join("deployed.conf");
    let upload = PlannedStep {
        action: Action::Upload {
            src: src.clone(),
            dest: dest.to_str().unwrap().into(),
            mode: Some(0o640),
            parents: false,
        },
        ..step("copy", "")
    };
    let check = step("check", &format!("cat '{}'", dest.display()));
    let done = run_to_end(plan(local_hosts(1), one_batch(1), vec![upload, check])).await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert!(
        done.stdout(0, 0).starts_with("copied 12 bytes (1 files"),
        "{}",
        done.stdout(0, 0)
    );
    assert_eq!(done.stdout(0, 1), "port = 8080\n");
}

// ---------------------------------------------------------------------------
// 13. a thousand hosts

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_local_hosts() {
    const N: usize = 1000;
    let mut p = plan(
        local_hosts(N),
        one_batch(N),
        vec![step("echo", "echo $JOBDECK_HOST")],
    );
    p.policy.forks = 64;
    let t0 = Instant::now();
    let done = run_to_end(p).await;
    let elapsed = t0.elapsed();
    println!("1000 local hosts, forks 64: {elapsed:?}");
    assert_eq!(done.status, InstanceStatus::Ok);
    let ok = done.count(|k| {
        matches!(
            k,
            EventKind::HostFinished {
                status: HostStatus::Ok,
                ..
            }
        )
    });
    assert_eq!(ok, N);
    let mut outputs: HashMap<HostIndex, Vec<u8>> = HashMap::new();
    for kind in done.kinds() {
        if let EventKind::Output { host, data, .. } = kind {
            outputs.entry(*host).or_default().extend_from_slice(data);
        }
    }
    for h in 0..N {
        assert_eq!(
            outputs.get(&h).map(|o| o.as_slice()),
            Some(format!("h{h}\n").as_bytes()),
            "h{h}"
        );
    }
}

// ---------------------------------------------------------------------------
// Odds and ends

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn steps_with_their_own_targets_skip_other_hosts() {
    let mut only_h1 = step("only-h1", "echo mine");
    only_h1.applies_to = Some(vec![false, true]);
    let steps = vec![step("all", "true"), only_h1, step("all-again", "true")];
    let done = run_to_end(plan(local_hosts(3), one_batch(3), steps)).await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert_eq!(done.started(0), vec![(0, 1), (2, 1)]);
    assert_eq!(done.started(1), vec![(0, 1), (1, 1), (2, 1)]);
    // A host beyond the list is not targeted either.
    assert_eq!(done.started(2), vec![(0, 1), (2, 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exports_override_host_and_step_env() {
    let mut set = step("set", "echo \"was $VERSION\"; echo '::set VERSION=new'");
    set.env = vec![("VERSION".into(), "step".into())];
    let steps = vec![set, step("use", r#"echo "$VERSION""#)];
    let host = with_env(local_host("h0"), "VERSION", "host");
    let done = run_to_end(plan(vec![host], one_batch(1), steps)).await;
    assert_eq!(done.stdout(0, 0), "was step\n::set VERSION=new\n");
    assert_eq!(done.stdout(0, 1), "new\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_during_an_interval_holds_the_next_batch() {
    let mut p = two_batches(BatchMode::Continue);
    p.policy.interval = Duration::from_millis(300);
    p.policy.interactive = true;
    let mut live = Live::start(p);
    live.wait_for("interval", is_waiting(WaitReason::Interval))
        .await;
    live.send(Control::Pause);
    live.wait_for("paused", |k| *k == EventKind::Paused).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Confirm does not override a pause; Resume does.
    live.send(Control::Confirm);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!live.drain().iter().any(|e| is_batch_started(1)(&e.kind)));
    live.send(Control::Resume);
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Ok, "{}", done.dump());
    assert!(
        done.position("resumed", |k| *k == EventKind::Resumed)
            < done.position("batch 1", is_batch_started(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abort_during_an_interval_skips_the_rest() {
    let mut p = two_batches(BatchMode::Continue);
    p.policy.interval = Duration::from_secs(30);
    let mut live = Live::start(p);
    live.wait_for("interval", is_waiting(WaitReason::Interval))
        .await;
    live.send(Control::Abort {
        reason: "stop now".into(),
    });
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Aborted);
    assert!(done.reason().contains("stop now"));
    use HostStatus::*;
    assert_eq!(
        done.host_statuses(3),
        vec![Some(Ok), Some(Skipped), Some(Skipped)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abort_at_an_approval_gate_cancels_the_waiting_hosts() {
    let mut p = approval_plan(one_batch(2), 2);
    p.policy.interactive = true;
    let mut live = Live::start(p);
    live.wait_for("approval", |k| {
        matches!(k, EventKind::ApprovalRequested { .. })
    })
    .await;
    live.seen_or_wait("h0 at gate", is_step_started(0, 1)).await;
    live.seen_or_wait("h1 at gate", is_step_started(1, 1)).await;
    live.send(Control::Abort {
        reason: "no".into(),
    });
    let done = live.finish().await;
    assert_eq!(done.status, InstanceStatus::Aborted);
    use HostStatus::*;
    assert_eq!(
        done.host_statuses(2),
        vec![Some(Cancelled), Some(Cancelled)]
    );
    assert_eq!(done.count(|k| matches!(k, EventKind::Approved { .. })), 0);
}
