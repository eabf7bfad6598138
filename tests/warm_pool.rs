//! The console's warm connections (`preflight::WarmPool`) against the sshd
//! fixture: runs lent the pool as the console lends it (`lend_to`), the
//! handshakes counted in sshd's log. Two runs over four hosts shake hands
//! four times; a connection killed between runs costs one more; an idle
//! timeout of zero and a cap keep fewer. A pre-flight check takes the warm
//! connections too (the engine's, and the console Planner's before the
//! start dialog), and gives them to the run.

mod support;

use std::sync::Arc;
use std::time::Duration;

use jobdeck::engine::events::{EventKind, HostStatus, InstanceStatus};
use jobdeck::engine::{
    Action, ControlHandle, EventSink, OnFailure, Plan, PlannedHost, PlannedStep, Policy,
    StartPoint, run,
};
use jobdeck::preflight::{PreflightMode, PreflightPlan, WarmPool};
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
    run_lent(hostname_plan(sshd), warm).await
}

/// `hostname_plan` with a pre-flight check the engine runs before batch 1.
fn checked_plan(sshd: &SshdFixture) -> Plan {
    let mut plan = hostname_plan(sshd);
    plan.gates.preflight = Some(PreflightPlan {
        mode: PreflightMode::Strict,
        checks: vec!["test -d /".into()],
        env: Vec::new(),
        timeout: Duration::from_secs(30),
        rebatch: None,
        known: None,
    });
    plan
}

async fn run_lent(mut plan: Plan, warm: &WarmPool) {
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
    kill_one_connection(&sshd);
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

fn kill_one_connection(sshd: &SshdFixture) {
    let victim = sshd.connection_processes()[0];
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &victim.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preflight_check_takes_the_warm_connections_and_redials_a_dead_one_once() {
    let sshd = SshdFixture::start();
    let before = sshd.connections_accepted();
    let warm = WarmPool::new(Duration::from_secs(600), 100);
    console_run(&sshd, &warm).await;
    assert_eq!(handshakes_since(&sshd, before), HOSTS);
    // The run's own pre-flight checks over the warm connections, and the
    // run goes on over them: no new handshake, none dropped.
    run_lent(checked_plan(&sshd), &warm).await;
    assert_eq!(handshakes_since(&sshd, before), HOSTS, "no new handshake");
    assert_eq!(warm.idle(), HOSTS);
    // A kept connection that died: the check dials it again, once.
    kill_one_connection(&sshd);
    run_lent(checked_plan(&sshd), &warm).await;
    assert_eq!(handshakes_since(&sshd, before), HOSTS + 1, "one redial");
    assert_eq!(warm.idle(), HOSTS);
    warm.close_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planners_preflight_takes_the_warm_connections_and_gives_them_back() {
    use std::fmt::Write as _;

    use jobdeck::inventory::Inventory;
    use jobdeck::plan::{RolloutOptions, RunSpec};
    use jobdeck::tui::tasks::preflight;

    let sshd = SshdFixture::start();
    let dir = tempfile::tempdir().unwrap();
    // The same hosts the warm runs reached, as an inventory names them.
    let mut ini = String::from("[fleet]\n");
    for i in 0..HOSTS {
        writeln!(ini, "{}", sshd.host_line(&format!("h{i}"), sshd.port)).unwrap();
    }
    let inventory = dir.path().join("hosts.ini");
    std::fs::write(&inventory, ini).unwrap();
    let flow = dir.path().join("checked.yml");
    std::fs::write(
        &flow,
        "name: checked\npreflight: ['test -d /']\nsteps:\n  - command: hostname\n",
    )
    .unwrap();
    let inv = Inventory::load(&[inventory.display().to_string()]).unwrap();
    let flow = jobdeck::flow::load_flow(&flow).unwrap();
    let spec = RunSpec {
        rollout: jobdeck::plan::rollout(&RolloutOptions::default(), &flow.rollout).unwrap(),
        hosts: (0..HOSTS)
            .map(|i| inv.host_id(&format!("h{i}")).unwrap())
            .collect(),
        flow,
        params: Vec::new(),
        target: serde_json::json!({}),
        yes: false,
        resolve: Default::default(),
        safety: Default::default(),
    };

    let before = sshd.connections_accepted();
    let warm = WarmPool::new(Duration::from_secs(600), 100);
    console_run(&sshd, &warm).await;
    assert_eq!(handshakes_since(&sshd, before), HOSTS);
    let outcome = preflight::check(
        Arc::new(inv),
        Some(dir.path().join("journal.db")),
        spec,
        Arc::new(transport::NoPassphrase),
        Some(warm.clone()),
    )
    .await
    .unwrap();
    let checked = outcome.result.unwrap().expect("the flow has pre-flight");
    assert!(
        checked.results.iter().all(|r| r.ready),
        "{:?}",
        checked.results
    );
    assert_eq!(handshakes_since(&sshd, before), HOSTS, "no new handshake");
    assert_eq!(warm.idle(), 0, "the check holds them for the run");
    // No run took them (the start dialog was refused): back to the pool.
    checked.close().await;
    assert_eq!(warm.idle(), HOSTS);
    warm.close_all().await;
}
