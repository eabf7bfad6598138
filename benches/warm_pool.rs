//! Warm connections against the loopback fleet (`../shared/bench`, started
//! by `bench/warm_pool.sh`): two consecutive `hostname` runs over N hosts as
//! the console makes them (engine + a new transport each run), first cold
//! (each run dials every host and closes it), then through one warm pool
//! (the second run takes the first one's connections). Prints each run's
//! wall time, how many hosts started on a kept connection, and the
//! warm/cold ratio of the second runs. The journal is left out of both arms
//! alike (it costs the same with or without the pool).
//!
//! Env: N (hosts, default 1000), F (forks, default 64), BENCH_DIR (/tmp/bench).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jobdeck::engine::events::{EventKind, HostStatus};
use jobdeck::engine::{
    Action, ControlHandle, EventSink, OnFailure, Plan, PlannedHost, PlannedStep, Policy,
    StartPoint, run,
};
use jobdeck::preflight::WarmPool;
use jobdeck::transport::{self, KnownHosts, Payload, Target, Transport, TransportOptions};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn plan(addresses: &[String], dir: &std::path::Path, forks: usize) -> Plan {
    let hosts = addresses
        .iter()
        .map(|address| {
            let mut target = Target::new(address.as_str());
            target.port = 2222;
            target.user = "bench".into();
            target.identity_files = vec![dir.join("sshd/client_ed25519")];
            target.identities_only = true;
            target.user_known_hosts = vec![dir.join("known_hosts")];
            target.global_known_hosts = Vec::new();
            target.connect_timeout = Duration::from_secs(60);
            PlannedHost {
                name: address.clone(),
                target,
                env: Vec::new(),
            }
        })
        .collect();
    Plan {
        instance: 1,
        flow: "hostname".into(),
        hosts,
        batches: vec![(0..addresses.len()).collect()],
        steps: vec![PlannedStep {
            name: "hostname".into(),
            action: Action::Run(Payload::Command("hostname".into())),
            env: Vec::new(),
            timeout: Some(Duration::from_secs(120)),
            retries: 0,
            retry_interval: Duration::ZERO,
            on_failure: OnFailure::Stop,
            run_as: None,
            applies_to: None,
            manners: Default::default(),
        }],
        rollback: Vec::new(),
        policy: Policy {
            forks,
            ..Policy::default()
        },
        start: StartPoint::default(),
        secrets: Vec::new(),
        gates: Default::default(),
        sessions: Default::default(),
    }
}

/// One run: wall seconds, hosts ok, hosts that started on a kept connection.
async fn one_run(mut plan: Plan, warm: Option<&WarmPool>) -> (f64, usize, usize) {
    if let Some(warm) = warm {
        warm.lend_to(&mut plan);
    }
    let lent = plan.sessions.open();
    let transport = Transport::new(TransportOptions {
        known_hosts: Arc::new(KnownHosts::new()),
        passphrase_prompt: Arc::new(transport::NoPassphrase),
        agent_socket: None,
        default_identity_files: Vec::new(),
    });
    let started = Instant::now();
    let mut sink = EventSink::new();
    let mut events = sink.subscribe(8192);
    let (_controls, control_rx) = ControlHandle::channel();
    let engine = tokio::spawn(run(plan, transport, sink, control_rx));
    let mut ok = 0;
    while let Some(event) = events.recv().await {
        if let EventKind::HostFinished {
            status: HostStatus::Ok,
            ..
        } = event.kind
        {
            ok += 1;
        }
    }
    let _ = engine.await;
    (started.elapsed().as_secs_f64(), ok, lent)
}

fn main() {
    let n = env_or("N", 1000);
    let forks = env_or("F", 64);
    let dir = PathBuf::from(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/tmp/bench".into()));
    let hosts_file = dir.join(format!("hosts{n}.txt"));
    let addresses: Vec<String> = std::fs::read_to_string(&hosts_file)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run ../shared/bench/sshd-fleet.sh {n} first)",
                hosts_file.display()
            )
        })
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(n)
        .map(String::from)
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let report = |label: &str, (wall, ok, lent): (f64, usize, usize)| {
            println!(
                "{label}: {wall:.2}s  {ok}/{} ok  {lent} started on a kept connection",
                addresses.len(),
            );
            wall
        };
        report(
            "cold run 1",
            one_run(plan(&addresses, &dir, forks), None).await,
        );
        let cold = report(
            "cold run 2",
            one_run(plan(&addresses, &dir, forks), None).await,
        );
        let warm = WarmPool::new(Duration::from_secs(600), 2 * addresses.len());
        report(
            "warm run 1",
            one_run(plan(&addresses, &dir, forks), Some(&warm)).await,
        );
        let warm_second = report(
            "warm run 2",
            one_run(plan(&addresses, &dir, forks), Some(&warm)).await,
        );
        warm.close_all().await;
        println!(
            "warm run 2 / cold run 2: {:.3} (goal <= 0.15)",
            warm_second / cold
        );
        println!("WARM2={warm_second:.3} COLD2={cold:.3}");
    });
}
