//! The gathered view's comparison at fleet size: HOSTS hosts (10,000 by
//! default) that ended, each with LINES lines of output (20) naming
//! itself, its start time, a session id and a pid, so every host printed
//! different bytes and each one's output is normalised. Prints, as the
//! median of ROUNDS (5), how long the UI task spends to:
//!
//! - open the gathered view (`b`, names only),
//! - each press of `=` (timestamps, hex ids, numbers, names again): every
//!   output normalised again,
//! - compare again after one more host's output arrived (the templates
//!   of the others are kept),
//! - draw one frame of the gathered view at 160×48.
//!
//! A frame is 33 ms. Run: `cargo bench --bench gather_compare`
//! (`HOSTS=1000 cargo bench --bench gather_compare` for a smaller fleet).

use std::time::{Duration, Instant};

use bytes::Bytes;
use jobdeck::engine::events::{Event, EventKind, HostStatus, StepOutcome, Stream};
use jobdeck::tui::action::Action;
use jobdeck::tui::app::App;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::run_store::{RunStore, SharedRunStore};
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

fn timed(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}

fn median(mut times: Vec<Duration>) -> String {
    times.sort();
    format!("{:.1} ms", times[times.len() / 2].as_secs_f64() * 1000.0)
}

fn main() {
    let hosts = env_or("HOSTS", 10_000).max(2);
    let lines = env_or("LINES", 20).max(2);
    let rounds = env_or("ROUNDS", 5).max(1);
    let mut open = Vec::new();
    let mut presses: Vec<Vec<Duration>> = vec![Vec::new(); 4];
    let mut again = Vec::new();
    let mut frames = Vec::new();
    let mut summaries = Vec::new();
    for _ in 0..rounds {
        let shared = store(hosts, lines);
        let mut app = App::new(Theme::default_theme(), Keymap::builtin());
        app.dispatch(Action::Resize(160, 48));
        app.show_run_store(shared.clone());
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("a test terminal");
        open.push(timed(|| app.dispatch(Action::ToggleGather)));
        let mut seen = vec![app.run_view().compared().summary.clone()];
        for press in &mut presses {
            press.push(timed(|| app.dispatch(Action::GatherNormalize)));
            seen.push(app.run_view().compared().summary.clone());
        }
        summaries = seen;
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
        again.push(timed(|| {
            app.run_view_mut().refresh_gathering();
        }));
        frames.push(timed(|| {
            terminal.draw(|frame| app.draw(frame)).expect("a frame");
        }));
    }
    println!(
        "gather_compare: {hosts} hosts × {lines} lines, every host's output different; median of {rounds}"
    );
    println!(
        "  open the gathered view (names):        {}   {}",
        median(open),
        summaries[0]
    );
    let steps = ["timestamps", "hex ids", "numbers", "names again"];
    for (i, (step, times)) in steps.iter().zip(presses).enumerate() {
        println!(
            "  = ({step:<11}):                     {}   {}",
            median(times),
            summaries[i + 1]
        );
    }
    println!("  compare again after one host ended:    {}", median(again));
    println!(
        "  draw one gathered frame at 160×48:     {}",
        median(frames)
    );
    println!("  (a frame is 33 ms)");
}
