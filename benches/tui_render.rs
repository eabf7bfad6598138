//! The Run view under a flood: 1,000 hosts × 10,000 output lines streamed
//! through the console's real absorbing task, while the UI loop draws at 30 fps into a 160×48 TestBackend
//! and keys are injected at random moments.
//!
//! Prints frame draw time (median, p99, max; and the part of it spent
//! waiting for the store), key-to-screen latency (from
//! dispatching a key's action to the end of the first frame drawn after it),
//! absorb throughput, and peak RSS (VmHWM).
//!
//! Before it, the Inventory view on an inventory of INVENTORY_HOSTS hosts
//! (default 10,000, in racks of 100 under four data centres): each filter
//! keystroke, typed and erased, to its frame drawn (INVENTORY_HOSTS=0 skips it).
//!
//! Every host prints RATE lines a second (default 40, in chunks of
//! CHUNK_LINES: a busy fleet, 400,000 lines a second at 10,000 hosts);
//! RATE=0 floods as fast as the producer can, which on two cores mostly
//! measures the producer taking the CPU from the drawing thread.
//!
//! `cargo bench --bench tui_render` (env: HOSTS, LINES, RATE, CHUNK_LINES,
//! LINE_BYTES, INVENTORY_HOSTS; SAME_PRIORITY=1 runs the background threads at
//! the drawing thread's priority). At 10,000 hosts: `HOSTS=10000 LINES=1000`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use jobdeck::engine::events::{Event, EventKind, HostStatus, InstanceStatus, Stream};
use jobdeck::tui::action::Action;
use jobdeck::tui::app::App;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::run_store::RunStore;
use jobdeck::tui::tasks::run_session::absorb_into_store;
use jobdeck::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time this thread has used: a frame's cost without the time the
/// scheduler gave to other processes (the machine may be shared).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// "median …, p99 …, max …" of sorted durations.
fn spread(sorted: &[Duration]) -> String {
    format!(
        "median {}, p99 {}, max {}",
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.99)),
        ms(sorted.last().copied().unwrap_or_default())
    )
}

/// A small deterministic generator, so runs compare.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// An INI inventory of `hosts` hosts: racks of 100 in groups `dc1`..`dc4`.
fn write_inventory(dir: &std::path::Path, hosts: usize) -> std::path::PathBuf {
    use std::fmt::Write;
    let racks = hosts.div_ceil(100);
    let mut ini = String::new();
    for rack in 0..racks {
        let _ = writeln!(ini, "[rack{rack:03}]");
        for host in rack * 100..hosts.min((rack + 1) * 100) {
            let _ = writeln!(
                ini,
                "node{host:05} ansible_host=127.{}.{}.{}",
                1 + host / 65536,
                host / 256 % 256,
                host % 256
            );
        }
    }
    for dc in 0..4 {
        let _ = writeln!(ini, "[dc{}:children]", dc + 1);
        for rack in (dc..racks).step_by(4) {
            let _ = writeln!(ini, "rack{rack:03}");
        }
    }
    let path = dir.join("hosts.ini");
    std::fs::write(&path, ini).expect("write the inventory");
    path
}

/// The Inventory view on a big inventory: each filter keystroke (typed, then
/// erased) to the end of its frame, as the console answers a key at once.
fn inventory_case(hosts: usize) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = write_inventory(dir.path(), hosts);
    let loading = Instant::now();
    let inventory = jobdeck::inventory::Inventory::load(&[path.to_string_lossy().into_owned()])
        .expect("the generated inventory loads");
    let load_time = loading.elapsed();
    let mut app = App::new(Theme::default_theme(), Keymap::builtin());
    app.dispatch(Action::Resize(160, 48));
    let shown = Instant::now();
    app.set_inventory(Arc::new(inventory), dir.path().to_path_buf());
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("a test terminal");
    terminal.draw(|f| app.draw(f)).expect("draw");
    let first_frame = shown.elapsed();

    // Filters an operator types: a host, a rack, a data centre, scattered letters.
    let filters = ["node04711", "rack042", "dc3", "n7x", "127.2.1"];
    let mut latencies: Vec<Duration> = Vec::new();
    let mut key = |app: &mut App, action: Action| {
        let pressed = Instant::now();
        app.dispatch(action);
        terminal.draw(|f| app.draw(f)).expect("draw");
        latencies.push(pressed.elapsed());
    };
    for _ in 0..3 {
        for filter in filters {
            app.dispatch(Action::Filter);
            for c in filter.chars() {
                key(&mut app, Action::InsertChar(c));
            }
            for _ in filter.chars() {
                key(&mut app, Action::Backspace);
            }
            app.dispatch(Action::Cancel);
        }
    }
    latencies.sort();
    println!(
        "tui_render inventory: {hosts} hosts in {} racks at 160×48",
        hosts.div_ceil(100)
    );
    println!(
        "  load {} (off the UI task in the console), set and first frame {}",
        ms(load_time),
        ms(first_frame)
    );
    println!(
        "  filter key to screen: {} keys, {}  (target ≤ 50 ms)",
        latencies.len(),
        spread(&latencies)
    );
    println!(
        "  peak RSS so far (VmHWM): {:.1} MB",
        vm_hwm_kib() as f64 / 1024.0
    );
}

fn main() {
    let inventory_hosts = env_or("INVENTORY_HOSTS", 10_000);
    if inventory_hosts > 0 {
        inventory_case(inventory_hosts);
    }
    let hosts = env_or("HOSTS", 1000);
    let lines = env_or("LINES", 10_000);
    let chunk_lines = env_or("CHUNK_LINES", 8).max(1);
    // Lines a second each host prints (0: as fast as the producer can).
    let rate = env_or("RATE", 40);
    let line_bytes = env_or("LINE_BYTES", 60).max(8);
    let frame = Duration::from_millis(33);

    // The console's own runtime: its threads run below the drawing thread.
    // SAME_PRIORITY=1 gives them the drawing thread's priority, to compare.
    let same_priority = std::env::var("SAME_PRIORITY").is_ok_and(|v| v == "1");
    let runtime = if same_priority {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        jobdeck::tui::background_runtime()
    }
    .expect("a runtime");
    let store = RunStore::default().shared();
    let (tx, rx) = mpsc::channel::<Event>(4096);
    let absorb = runtime.spawn(absorb_into_store(rx, store.clone(), "cut off".into()));

    let mut app = App::new(Theme::default_theme(), Keymap::builtin());
    app.dispatch(Action::Resize(160, 48));
    app.show_run_store(store.clone());
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("a test terminal");

    let done = Arc::new(AtomicBool::new(false));
    let producer_done = done.clone();
    // Set when the measuring stops (after 55 s): the producer ends the run.
    let stop = Arc::new(AtomicBool::new(false));
    let producer_stop = stop.clone();
    let started = Instant::now();
    let producer = runtime.spawn(async move {
        let event = |kind| Event::now(1, kind);
        let _ = tx
            .send(event(EventKind::InstanceStarted {
                flow: "flood".into(),
                hosts: (0..hosts).map(|h| format!("node{h:04}")).collect(),
                steps: vec!["stream".into()],
                batches: vec![(0..hosts).collect()],
            }))
            .await;
        let _ = tx.send(event(EventKind::BatchStarted { batch: 0 })).await;
        for host in 0..hosts {
            let _ = tx
                .send(event(EventKind::StepStarted {
                    host,
                    step: 0,
                    attempt: 1,
                }))
                .await;
        }
        let pad = "x".repeat(line_bytes.saturating_sub(24));
        let paced_from = tokio::time::Instant::now();
        let mut sent = 0;
        while sent < lines && !producer_stop.load(Ordering::SeqCst) {
            if rate > 0 {
                let due = Duration::from_secs_f64(sent as f64 / rate as f64);
                tokio::time::sleep_until(paced_from + due).await;
            }
            let n = chunk_lines.min(lines - sent);
            for host in 0..hosts {
                let mut chunk = String::with_capacity(n * line_bytes);
                for i in sent..sent + n {
                    // Most hosts print the same; every 100th differs, so gathering has work.
                    let variant = if host % 100 == 0 { host } else { 0 };
                    chunk.push_str(&format!("line {i:05} v{variant} {pad}\n"));
                }
                let stream = if sent % 1000 == 0 {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                };
                if tx
                    .send(event(EventKind::Output {
                        host,
                        step: 0,
                        stream,
                        data: Bytes::from(chunk),
                    }))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            sent += n;
        }
        for host in 0..hosts {
            let _ = tx
                .send(event(EventKind::HostFinished {
                    host,
                    status: HostStatus::Ok,
                }))
                .await;
        }
        let _ = tx
            .send(event(EventKind::InstanceFinished {
                status: InstanceStatus::Ok,
                reason: None,
            }))
            .await;
        producer_done.store(true, Ordering::SeqCst);
    });

    // The UI loop: a frame every 33 ms; keys at random moments between
    // frames, answered at once when the last frame is old enough, as the
    // console's event loop does.
    let keys = [
        Action::Down,
        Action::Down,
        Action::Up,
        Action::ToggleGather,
        Action::ToggleGather,
        Action::CycleSplit,
        Action::FocusNext,
        Action::PageUp,
        Action::FocusNext,
        Action::CycleSplit,
        Action::CycleSplit,
        Action::CycleSplit,
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut draws: Vec<Duration> = Vec::new();
    let mut cpu: Vec<Duration> = Vec::new();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut pending_key: Option<Instant>;
    let mut last_draw = Instant::now() - frame;
    let mut next_tick = Instant::now();
    let mut key_index = 0;
    let mut gathered_draws: Vec<Duration> = Vec::new();
    // How long a frame waited for the store the absorbing task fills.
    let mut lock_waits: Vec<Duration> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(55);
    loop {
        let streaming = !done.load(Ordering::SeqCst);
        if !streaming || Instant::now() > deadline {
            break;
        }
        // A key lands somewhere inside this frame.
        let key_at = next_tick + Duration::from_millis(rng.below(33));
        std::thread::sleep(key_at.saturating_duration_since(Instant::now()));
        let action = keys[key_index % keys.len()].clone();
        key_index += 1;
        let gathered = action == Action::ToggleGather && key_index % 2 == 0;
        let pressed = Instant::now();
        app.dispatch(action);
        pending_key = Some(pressed);
        if last_draw.elapsed() >= frame {
            let t = Instant::now();
            let c = thread_cpu();
            app.tick();
            terminal.draw(|f| app.draw(f)).expect("draw");
            app.mark_drawn();
            let took = t.elapsed();
            cpu.push(thread_cpu() - c);
            draws.push(took);
            if gathered {
                gathered_draws.push(took);
            }
            last_draw = Instant::now();
            latencies.push(last_draw - pressed);
            pending_key = None;
        }
        next_tick += frame;
        std::thread::sleep(next_tick.saturating_duration_since(Instant::now()));
        let t = Instant::now();
        let c = thread_cpu();
        drop(RunStore::lock(&store));
        lock_waits.push(t.elapsed());
        app.tick();
        terminal.draw(|f| app.draw(f)).expect("draw");
        app.mark_drawn();
        draws.push(t.elapsed());
        cpu.push(thread_cpu() - c);
        last_draw = Instant::now();
        if let Some(pressed) = pending_key.take() {
            latencies.push(last_draw - pressed);
        }
    }
    let stream_time = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    runtime.block_on(async {
        let _ = producer.await;
        let _ = absorb.await;
    });
    let total_time = started.elapsed();
    // One last frame of the finished run, gathered.
    app.dispatch(Action::ToggleGather);
    let t = Instant::now();
    terminal.draw(|f| app.draw(f)).expect("draw");
    let final_gathered = t.elapsed();
    let blocks = RunStore::lock(&store).gathered().len();

    draws.sort();
    cpu.sort();
    latencies.sort();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let total_lines = RunStore::lock(&store)
        .hosts
        .iter()
        .map(|h| h.total_lines() as usize)
        .sum::<usize>();
    println!(
        "tui_render: {hosts} hosts × {lines} lines ({}, {chunk_lines} lines/chunk, ~{line_bytes} B/line) at 160×48, background threads {}",
        if rate > 0 {
            format!("{rate} lines/s per host")
        } else {
            "flooded".to_string()
        },
        if same_priority {
            "at the same priority"
        } else {
            "niced"
        }
    );
    println!(
        "  stream: {:.2} s for {total_lines} lines ({:.1} M lines/s), all absorbed after {:.2} s",
        stream_time.as_secs_f64(),
        total_lines as f64 / total_time.as_secs_f64() / 1e6,
        total_time.as_secs_f64()
    );
    println!(
        "  frame draw while streaming: {} frames, {}  (target p99 ≤ 16 ms)",
        draws.len(),
        spread(&draws)
    );
    println!("  frame draw CPU time (this thread only): {}", spread(&cpu));
    lock_waits.sort();
    println!(
        "  of which waiting for the store (the absorbing task's batch): {}",
        spread(&lock_waits)
    );
    println!(
        "  key-to-screen latency: {} keys, {}  (target ≤ 50 ms)",
        latencies.len(),
        spread(&latencies)
    );
    println!(
        "  gathered view: {blocks} blocks for {hosts} hosts; final gathered frame {}",
        ms(final_gathered)
    );
    println!(
        "  machine load average while measuring: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  peak RSS (VmHWM): {:.1} MB  (target ≤ 200 MB at 1,000 hosts, ≤ 400 MB at 10,000)",
        vm_hwm_kib() as f64 / 1024.0
    );
}
