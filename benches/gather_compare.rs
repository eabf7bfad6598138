//! The gathered view's comparison at fleet size: HOSTS hosts (10,000 by
//! default) that ended, each with LINES lines of output (20) naming
//! itself, its start time, a session id and a pid, so every host printed
//! different bytes and each one's output is normalised. Prints, as the
//! median of ROUNDS (5), how long:
//!
//! - the comparison takes (`tasks::gather::compare`, on a blocking
//!   thread) with each step of `=`'s cycle, every output normalised
//!   afresh (names; timestamps; hex ids; numbers),
//! - it takes again after one more host ended (the other templates kept),
//!   and with `d`'s diffs,
//! - the UI task spends to ask for one, and to draw a gathered frame at
//!   160×48.
//!
//! A frame is 33 ms. Run: `cargo bench --bench gather_compare`
//! (`HOSTS=1000 cargo bench --bench gather_compare` for a smaller fleet).

use std::time::{Duration, Instant};

use bytes::Bytes;
use jobdeck::compare::NormalizeOptions;
use jobdeck::engine::events::{Event, EventKind, HostStatus, StepOutcome, Stream};
use jobdeck::tui::action::Action;
use jobdeck::tui::app::App;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::run_store::{RunStore, SharedRunStore};
use jobdeck::tui::tasks::gather::{GatherRequest, Templates, compare};
use jobdeck::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn event(kind: EventKind) -> Event {
    Event {
        instance: 1,
        at: 1_700_000_000_000,
        kind,
    }
}

/// One host's output: what a status script prints, host specific in its
/// name, times, ids and counts.
fn output(h: usize, name: &str, lines: usize) -> String {
    let mut text = format!(
        "{name}: up since 2026-03-01 14:{:02}:{:02}\nsession {:016x}\n",
        h / 60 % 60,
        h % 60,
        0x9f86_d081_884c_7d65_u64 + h as u64
    );
    for i in 2..lines {
        text.push_str(&format!(
            "worker {i}: pid {} served {} requests, queue empty\n",
            4000 + h * 31 + i,
            h * 7 + i
        ));
    }
    text
}

fn store(hosts: usize, lines: usize) -> SharedRunStore {
    let names: Vec<String> = (0..hosts).map(|h| format!("node{h:05}")).collect();
    let mut store = RunStore::new(1, 32 * 1024);
    store.absorb(&event(EventKind::InstanceStarted {
        flow: "status".into(),
        hosts: names.clone(),
        steps: vec!["status".into()],
        batches: vec![(0..hosts).collect()],
    }));
    for (h, name) in names.iter().enumerate() {
        store.absorb(&event(EventKind::StepStarted {
            host: h,
            step: 0,
            attempt: 1,
        }));
        store.absorb(&event(EventKind::Output {
            host: h,
            step: 0,
            stream: Stream::Stdout,
            data: Bytes::from(output(h, name, lines)),
        }));
        // The last host is still running: it prints once more later.
        if h + 1 == hosts {
            continue;
        }
        finish(&mut store, h);
    }
    store.shared()
}

fn finish(store: &mut RunStore, host: usize) {
    let status = HostStatus::Ok;
    store.absorb(&event(EventKind::StepFinished {
        host,
        step: 0,
        attempt: 1,
        outcome: StepOutcome {
            status,
            exit_code: Some(0),
            signal: None,
            error: None,
        },
    }));
    store.absorb(&event(EventKind::HostFinished { host, status }));
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let started = Instant::now();
    let out = f();
    (started.elapsed(), out)
}

fn median(mut times: Vec<Duration>) -> String {
    times.sort();
    format!("{:.1} ms", times[times.len() / 2].as_secs_f64() * 1000.0)
}

fn request(
    store: &SharedRunStore,
    options: NormalizeOptions,
    templates: Templates,
) -> GatherRequest {
    GatherRequest {
        store: store.clone(),
        options,
        templates,
        diffs: false,
        generation: 0,
    }
}

fn main() {
    let hosts = env_or("HOSTS", 10_000).max(2);
    let lines = env_or("LINES", 20).max(2);
    let rounds = env_or("ROUNDS", 5).max(1);
    let steps = ["names", "timestamps", "hex ids", "numbers"];
    let mut fresh: Vec<Vec<Duration>> = vec![Vec::new(); steps.len()];
    let mut summaries = vec![String::new(); steps.len()];
    let mut again = Vec::new();
    let mut diffs = Vec::new();
    let mut asks = Vec::new();
    let mut frames = Vec::new();
    for _ in 0..rounds {
        let shared = store(hosts, lines);
        // Each step of `=`'s cycle: every output normalised afresh.
        let mut options = NormalizeOptions::default();
        let mut kept = Templates::new();
        for (i, times) in fresh.iter_mut().enumerate() {
            let (took, answer) = timed(|| compare(request(&shared, options, Templates::new())));
            times.push(took);
            summaries[i] = answer.compared.summary;
            kept = answer.templates;
            options = options.next();
        }
        let options = NormalizeOptions::all();
        // The last host ends: one more output to normalise, the rest kept.
        {
            let mut store = RunStore::lock(&shared);
            let last = hosts - 1;
            store.absorb(&event(EventKind::Output {
                host: last,
                step: 0,
                stream: Stream::Stdout,
                data: Bytes::from_static(b"done\n"),
            }));
            finish(&mut store, last);
        }
        let (took, answer) = timed(|| compare(request(&shared, options, kept)));
        again.push(took);
        drop(answer);
        // `d` with names only: every host a minority of one, each with its
        // diff against the first.
        let names = NormalizeOptions::default();
        let kept = compare(request(&shared, names, Templates::new())).templates;
        let mut with_diffs = request(&shared, names, kept);
        with_diffs.diffs = true;
        diffs.push(timed(|| compare(with_diffs)).0);
        // The console: `b` and `=` only ask (here, without a runtime, the
        // comparison runs at once: the ask alone is the lock and a swap);
        // then one frame of the gathered view.
        let mut app = App::new(Theme::default_theme(), Keymap::builtin());
        app.dispatch(Action::Resize(160, 48));
        app.show_run_store(shared.clone());
        app.dispatch(Action::ToggleGather);
        for _ in 0..3 {
            app.dispatch(Action::GatherNormalize);
        }
        asks.push(timed(|| RunStore::lock(&shared).revision).0);
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("a test terminal");
        frames.push(
            timed(|| {
                terminal.draw(|frame| app.draw(frame)).expect("a frame");
            })
            .0,
        );
    }
    println!(
        "gather_compare: {hosts} hosts × {lines} lines, every host's output different; median of {rounds}"
    );
    println!("  the comparison (tasks::gather::compare, off the UI task):");
    for ((step, times), summary) in steps.iter().zip(fresh).zip(&summaries) {
        println!(
            "    alike after {step:<11} afresh:       {}   {summary}",
            median(times)
        );
    }
    println!("    again after one host ended (kept):   {}", median(again));
    println!(
        "    names, kept, with d's diffs (all differ): {}",
        median(diffs)
    );
    println!(
        "  the UI task's ask (lock, read revision): {}",
        median(asks)
    );
    println!(
        "  the UI task: one gathered frame, 160×48: {}",
        median(frames)
    );
    println!("  (a frame is 33 ms)");
}
