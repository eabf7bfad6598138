//! The console's warm connections (`preflight::WarmPool`) against the sshd
//! fixture: runs lent the pool as the console lends it (`lend_to`), the
//! handshakes counted in sshd's log. Two runs over four hosts shake hands
//! four times; a connection killed between runs costs one more; an idle
//! timeout of zero and a cap keep fewer.

mod support;

use std::sync::Arc;
use std::time::Duration;

use jobdeck::engine::events::{EventKind, HostStatus, InstanceStatus};
use jobdeck::engine::{
    Action, ControlHandle, EventSink, OnFailure, Plan, PlannedHost, PlannedStep, Policy,
    StartPoint, run,
};
use jobdeck::preflight::WarmPool;
use jobdeck::transport::{self, KnownHosts, Payload, Target, Transport, TransportOptions};
use support::SshdFixture;

const HOSTS: usize = 4;

fn host(name: &str, sshd: &SshdFixture) -> PlannedHost {
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
        env: Vec::new(),
    }
}

fn hostname_plan(sshd: &SshdFixture) -> Plan {
    Plan {
        instance: 1,
        flow: "hostname".into(),
        hosts: (0..HOSTS).map(|i| host(&format!("h{i}"), sshd)).collect(),
        batches: vec![(0..HOSTS).collect()],
        steps: vec![PlannedStep {
            name: "hostname".into(),
            action: Action::Run(Payload::Command("hostname".into())),
            env: Vec::new(),
            timeout: Some(Duration::from_secs(60)),
            retries: 0,
            retry_interval: Duration::ZERO,
            on_failure: OnFailure::Stop,
            run_as: None,
            applies_to: None,
            manners: Default::default(),
        }],
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

/// One console-style run: a new transport (as each console run has), the
/// warm pool lent to the plan. Every host must end ok.
async fn console_run(sshd: &SshdFixture, warm: &WarmPool) {
    let mut plan = hostname_plan(sshd);
    warm.lend_to(&mut plan);
    let transport = Transport::new(TransportOptions {
        known_hosts: Arc::new(KnownHosts::new()),
        passphrase_prompt: Arc::new(transport::NoPassphrase),
        agent_socket: None,
        default_identity_files: Vec::new(),
    });
    let mut sink = EventSink::new();
    let mut events = sink.subscribe(1024);
    let (_controls, control_rx) = ControlHandle::channel();
    let engine = tokio::spawn(run(plan, transport, sink, control_rx));
    let mut finished = Vec::new();
    while let Some(event) = events.recv().await {
        if let EventKind::HostFinished { host, status, .. } = event.kind {
            finished.push((host, status));
        }
    }
    assert_eq!(engine.await.unwrap(), InstanceStatus::Ok, "{finished:?}");
    assert_eq!(finished.len(), HOSTS);
    assert!(
        finished.iter().all(|(_, s)| *s == HostStatus::Ok),
        "{finished:?}"
    );
}

fn handshakes_since(sshd: &SshdFixture, before: usize) -> usize {
    // sshd logs a connection as it accepts it; give the log a moment.
    std::thread::sleep(Duration::from_millis(200));
    sshd.connections_accepted() - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_reuses_the_connections_and_a_killed_one_is_redialled_once() {
    let sshd = SshdFixture::start();
    let before = sshd.connections_accepted();
    let warm = WarmPool::new(Duration::from_secs(600), 100);

    console_run(&sshd, &warm).await;
    assert_eq!(handshakes_since(&sshd, before), HOSTS);
    assert_eq!(
        warm.idle(),
        HOSTS,
        "every connection waits for the next run"
    );
    console_run(&sshd, &warm).await;
    assert_eq!(handshakes_since(&sshd, before), HOSTS, "no new handshake");

    // One connection dies between runs (its sshd process killed).
    let victim = sshd.connection_processes()[0];
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &victim.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    console_run(&sshd, &warm).await;
    assert_eq!(handshakes_since(&sshd, before), HOSTS + 1, "one redial");
    assert_eq!(warm.idle(), HOSTS);
    warm.close_all().await;
    assert_eq!(warm.idle(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_expire_and_the_cap_keeps_the_newest() {
    let sshd = SshdFixture::start();
    let before = sshd.connections_accepted();
    let expired = WarmPool::new(Duration::ZERO, 100);
    console_run(&sshd, &expired).await;
    console_run(&sshd, &expired).await;
    assert_eq!(
        handshakes_since(&sshd, before),
        2 * HOSTS,
        "nothing outlives a zero idle time"
    );

    let before = sshd.connections_accepted();
    let capped = WarmPool::new(Duration::from_secs(600), 1);
    console_run(&sshd, &capped).await;
    assert_eq!(capped.idle(), 1);
    console_run(&sshd, &capped).await;
    assert_eq!(handshakes_since(&sshd, before), 2 * HOSTS - 1);
}
