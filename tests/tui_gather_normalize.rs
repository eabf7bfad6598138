//! `=` in the gathered view treats more as host specific, with the code
//! `--gather --normalize` uses: names only, then timestamps, then hex ids,
//! then numbers too, then names only again. 40 hosts that differ only by
//! a timestamp, a session id and a request count (and one that says it is
//! degraded) do not fold before; after the whole cycle they fold into one
//! group shown once as a template (`{time}`, `{hex}`, `{n}`), and `d` shows
//! a diff only for the degraded host. Snapshots at 80×24 and 160×48.
//! The address a run dialled a host at counts as host specific from the
//! start, as its name does.

mod console;
use console::{press, sample_app, screen};

use bytes::Bytes;
use crossterm::event::KeyCode;
use jobdeck::compare::{HostTerms, NormalizeOptions, unified_diff};
use jobdeck::engine::events::{Event, EventKind, HostStatus, StepOutcome, Stream};
use jobdeck::tui::app::App;
use jobdeck::tui::run_store::{RunStore, SharedRunStore};
use jobdeck::tui::views::run::OutputLayout;

const T0: i64 = 1_700_000_000_000;
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn at(ms: i64, kind: EventKind) -> Event {
    Event {
        instance: 9,
        at: T0 + ms,
        kind,
    }
}

/// What `app-NN` prints: its own start time; a session id of its own from
/// app-21 on; a request count of its own from app-31 on; app-13 runs
/// degraded.
fn output(h: usize, name: &str) -> String {
    let session = if h >= 20 {
        format!("{:016x}", 0x9f86_d081_884c_7d65_u64 + h as u64)
    } else {
        "9f86d081884c7d65".to_string()
    };
    let requests = if h >= 30 { 1000 + 7 * h } else { 1200 };
    let mode = if h == 12 { "degraded" } else { "normal" };
    format!(
        "{name}: up since 2026-03-01 14:00:{h:02}\nsession {session}\nserved {requests} requests\nmode: {mode}\n"
    )
}

/// A store whose one-step run `flow` ended ok on `names`, each host
/// having printed `output(host, name)`; `host_terms` as the run knew them.
fn ended_run(
    flow: &str,
    names: &[String],
    host_terms: Vec<HostTerms>,
    output: impl Fn(usize, &str) -> String,
) -> SharedRunStore {
    let mut store = RunStore::new(9, 64 * 1024);
    store.absorb(&at(
        0,
        EventKind::InstanceStarted {
            flow: flow.into(),
            hosts: names.to_vec(),
            steps: vec![flow.into()],
            batches: vec![(0..names.len()).collect()],
        },
    ));
    store.host_terms = host_terms;
    for (h, name) in names.iter().enumerate() {
        store.absorb(&at(
            1,
            EventKind::StepStarted {
                host: h,
                step: 0,
                attempt: 1,
            },
        ));
        store.absorb(&at(
            2,
            EventKind::Output {
                host: h,
                step: 0,
                stream: Stream::Stdout,
                data: Bytes::from(output(h, name).into_bytes()),
            },
        ));
        let status = HostStatus::Ok;
        store.absorb(&at(
            3,
            EventKind::StepFinished {
                host: h,
                step: 0,
                attempt: 1,
                outcome: StepOutcome {
                    status,
                    exit_code: Some(0),
                    signal: None,
                    error: None,
                },
            },
        ));
        store.absorb(&at(4, EventKind::HostFinished { host: h, status }));
    }
    store.shared()
}

fn store() -> SharedRunStore {
    let names: Vec<String> = (1..=40).map(|i| format!("app-{i:02}")).collect();
    ended_run("status", &names, Vec::new(), output)
}

fn check(name: &str, app: &App, width: u16, height: u16) {
    insta::with_settings!({
        snapshot_suffix => format!("{width}x{height}"),
        filters => vec![(r"\b\d+(\.\d)?s\b", "Ns")],
    }, {
        insta::assert_snapshot!(name, screen(app, width, height));
    });
}

fn gathered(width: u16, height: u16) -> App {
    let mut app = sample_app(width, height);
    app.show_run_store(store());
    app.run_view_mut().set_fixed_now(T0 + 5_000);
    press(&mut app, KeyCode::Char('b'));
    assert_eq!(app.run_view().layout(), OutputLayout::Gathered);
    app
}

#[test]
fn each_press_of_equals_folds_hosts_that_differ_by_more() {
    let mut app = gathered(80, 24);
    let mut seen = Vec::new();
    for _ in 0..5 {
        let compared = app.run_view().compared();
        seen.push((
            app.run_view().normalize_options().describe(),
            compared.summary.clone(),
            compared.groups.len(),
        ));
        press(&mut app, KeyCode::Char('='));
    }
    let want = [
        ("names", "all 40 differ", 40),
        ("names, timestamps", "19 of 40 alike, 21 differ", 22),
        (
            "names, timestamps, hex ids",
            "29 of 40 alike, 11 differ",
            12,
        ),
        (
            "names, timestamps, hex ids, numbers",
            "39 of 40 alike, 1 differ",
            2,
        ),
        ("names", "all 40 differ", 40),
    ];
    let want: Vec<(String, String, usize)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect();
    assert_eq!(seen, want);
}

#[test]
fn hosts_that_differ_by_numbers_and_timestamps_fold_after_equals_not_before() {
    for (w, h) in SIZES {
        let mut app = gathered(w, h);
        // Before: names only, every host differs by its start time.
        let compared = app.run_view().compared().clone();
        assert_eq!(compared.summary, "all 40 differ");
        assert!(compared.groups.iter().all(|g| g.hosts.len() == 1));
        let text = screen(&app, w, h);
        assert!(text.contains("alike after: names "), "{text}");
        assert!(
            text.contains("app-01: up since 2026-03-01 14:00:00"),
            "{text}"
        );
        check("gathered_names_only", &app, w, h);

        // `=` three times: numbers too, as `--gather --normalize`.
        for _ in 0..3 {
            press(&mut app, KeyCode::Char('='));
        }
        assert_eq!(app.run_view().normalize_options(), NormalizeOptions::all());
        let compared = app.run_view().compared().clone();
        assert_eq!(compared.summary, "39 of 40 alike, 1 differ");
        assert_eq!(compared.groups[0].hosts.len(), 39);
        assert_eq!(compared.groups[1].hosts, [12]);
        // The group's hosts printed different bytes: its template is shown
        // once, the normalised parts marked as `--gather` marks them.
        let template = "── step 1/1: status\n{host}: up since {time}\nsession {hex}\nserved {n} requests\nmode: normal\n";
        assert_eq!(compared.groups[0].template.as_deref(), Some(template));
        let text = screen(&app, w, h);
        assert!(text.contains("39 of 40 alike, 1 differ"), "{text}");
        assert!(text.contains("{host}: up since {time}"), "{text}");
        assert!(text.contains("served {n} requests"), "{text}");
        assert!(!text.contains("app-01: up since"), "{text}");
        check("gathered_numbers_too", &app, w, h);

        // `d`: only the degraded host has a diff, and it names only the
        // line that really differs.
        press(&mut app, KeyCode::Char('d'));
        assert!(app.run_view().showing_diff());
        let compared = app.run_view().compared().clone();
        assert_eq!(compared.groups[0].diff, None);
        let degraded = template.replace("normal", "degraded");
        let want = unified_diff(template, &degraded, "app-[01-12,14-40]", "app-13");
        assert_eq!(compared.groups[1].diff.as_deref(), Some(want.as_str()));
        let text = screen(&app, w, h);
        assert!(text.contains("-mode: normal"), "{text}");
        assert!(text.contains("+mode: degraded"), "{text}");
        assert!(!text.contains("+served"), "{text}");
        assert!(!text.contains("-served"), "{text}");
        check("gathered_numbers_too_diff", &app, w, h);
    }
}

#[test]
fn equals_outside_the_gathered_view_opens_it() {
    let mut app = sample_app(80, 24);
    app.show_run_store(store());
    assert_eq!(app.run_view().layout(), OutputLayout::Single);
    press(&mut app, KeyCode::Char('='));
    assert_eq!(app.run_view().layout(), OutputLayout::Gathered);
    assert_eq!(
        app.run_view().compared().summary,
        "19 of 40 alike, 21 differ"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_comparison_runs_off_the_ui_task_and_its_answer_comes_as_a_message() {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let mut app = sample_app(80, 24);
    app.set_task_sender(tx);
    app.show_run_store(store());
    press(&mut app, KeyCode::Char('b'));
    // Asked, not worked out on the UI task: nothing compared until the
    // answer is taken in.
    assert!(app.run_view().comparing());
    assert_eq!(app.run_view().compared().summary, "");
    let text = screen(&app, 80, 24);
    assert!(text.contains("comparing…"), "{text}");
    console::pump_until(&mut app, &mut rx, "the comparison", |a| {
        !a.run_view().comparing()
    })
    .await;
    assert_eq!(app.run_view().compared().summary, "all 40 differ");
    // `=` three times: each press drops the answer under way and asks
    // again; only the last one's answer is shown.
    for _ in 0..3 {
        press(&mut app, KeyCode::Char('='));
        assert!(app.run_view().comparing());
    }
    console::pump_until(&mut app, &mut rx, "the comparison with numbers", |a| {
        !a.run_view().comparing()
    })
    .await;
    assert_eq!(
        app.run_view().compared().summary,
        "39 of 40 alike, 1 differ"
    );
}

/// Three hosts that each print the address they listen on; the store knows
/// those addresses when `dialled` (a run this console started), not when
/// it is a replay's.
fn listening(dialled: bool) -> SharedRunStore {
    let names: Vec<String> = (1..=3).map(|i| format!("web-{i}")).collect();
    let address = |h: usize| format!("10.0.0.{}", h + 11);
    let host_terms = match dialled {
        true => names
            .iter()
            .enumerate()
            .map(|(h, name)| HostTerms {
                name: name.clone(),
                address: Some(address(h)),
            })
            .collect(),
        false => Vec::new(),
    };
    ended_run("ports", &names, host_terms, |h, _| {
        format!("nginx listening on {}:443\n", address(h))
    })
}

#[test]
fn the_address_a_run_dialled_folds_as_its_name_does() {
    let mut app = sample_app(80, 24);
    app.show_run_store(listening(true));
    press(&mut app, KeyCode::Char('b'));
    let compared = app.run_view().compared().clone();
    assert_eq!(compared.summary, "all 3 alike");
    assert_eq!(
        compared.groups[0].template.as_deref(),
        Some("── step 1/1: ports\nnginx listening on {addr}:443\n")
    );
    let text = screen(&app, 80, 24);
    assert!(text.contains("nginx listening on {addr}:443"), "{text}");

    // A replay knows the names alone: the addresses stay as printed.
    let mut replay = sample_app(80, 24);
    replay.show_run_store(listening(false));
    press(&mut replay, KeyCode::Char('b'));
    assert_eq!(replay.run_view().compared().summary, "all 3 differ");
}
