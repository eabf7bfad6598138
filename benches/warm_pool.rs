//! Warm connections against the loopback fleet (`../shared/bench`, started
//! by `bench/warm_pool.sh`): two consecutive `hostname` runs over N hosts as
//! the console makes them (engine + a new transport each run), first cold
//! (each run dials every host and closes it), then through one warm pool
//! (the second run takes the first one's connections). Prints each run's
//! wall time, how many hosts started on a kept connection, and the
//! warm/cold ratio of the second runs. The journal is left out of both arms
//! alike (it costs the same with or without the pool). Each run also gets
//! the floor the server side sets, as `bench/fanout.sh` computes it: the
//! machine's busy CPU during the run minus this process's, over the cores
//! (one sshd serves every host here, so its per-command cost bounds a warm
//! run, where a real fleet spreads it over a server per host).
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

/// CPU time in seconds: the whole machine's busy time (`/proc/stat`), and
/// this process's user + system time (`/proc/self/stat`).
fn cpu_seconds() -> (f64, f64) {
    // SAFETY: sysconf only reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let busy: u64 = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .enumerate()
        // user, nice, system, irq, softirq, steal: all but idle and iowait.
        .filter(|(i, _)| matches!(i, 0 | 1 | 2 | 5 | 6 | 7))
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .sum();
    let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let own: u64 = own
        .rsplit_once(") ")
        .map(|(_, fields)| {
            fields
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or_default();
    (busy as f64 / hz, own as f64 / hz)
}

struct RunFigures {
    wall: f64,
    ok: usize,
    lent: usize,
    /// (machine busy CPU - own CPU) / cores.
    floor: f64,
    own_cpu: f64,
}

/// One run: wall seconds, hosts ok, hosts that started on a kept
/// connection, the server's floor and this process's CPU.
async fn one_run(plan: Plan, warm: Option<&WarmPool>) -> RunFigures {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let (busy_before, own_before) = cpu_seconds();
    let (wall, ok, lent) = timed_run(plan, warm).await;
    let (busy_after, own_after) = cpu_seconds();
    let own_cpu = own_after - own_before;
    RunFigures {
        wall,
        ok,
        lent,
        floor: ((busy_after - busy_before) - own_cpu).max(0.0) / cores,
        own_cpu,
    }
}

async fn timed_run(mut plan: Plan, warm: Option<&WarmPool>) -> (f64, usize, usize) {
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
        let report = |label: &str, run: RunFigures| {
            println!(
                "{label}: {:.2}s  {}/{} ok  {} started on a kept connection  \
                 server floor {:.2}s  jobdeck CPU {:.2}s",
                run.wall,
                run.ok,
                addresses.len(),
                run.lent,
                run.floor,
                run.own_cpu,
            );
            if run.ok < addresses.len() {
                // A run that failed hosts times something else: no figures from it.
                eprintln!(
                    "warm_pool: {label} had {} of {} hosts ok: the numbers are meaningless \
                     (is the fleet running? bench/warm_pool.sh starts it)",
                    run.ok,
                    addresses.len()
                );
                std::process::exit(2);
            }
            run
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
            "warm run 2 / cold run 2: {:.3} (goal <= 0.15); their floors: {:.3}",
            warm_second.wall / cold.wall,
            warm_second.floor / cold.floor,
        );
        println!(
            "warm run 2 / its floor: {:.3}",
            warm_second.wall / warm_second.floor
        );
        println!("WARM2={:.3} COLD2={:.3}", warm_second.wall, cold.wall);
    });
}
