//! The planner and the Run view: snapshots at 80×24 and 160×48 driven by
//! synthetic engine events (no SSH), the view's keys, and real runs started
//! through the app's actions on the sample inventory's local hosts, seen
//! both in the console's store and in the journal. Detach leaves a run the
//! `resume` command continues.

mod console;
use console::{press, pump_until, root, sample_app, sample_app_with_keys, screen, type_keys};

use std::path::Path;

use bytes::Bytes;
use crossterm::event::KeyCode;
use jobdeck::engine::events::{
    Event, EventKind, HostStatus, InstanceStatus, StepOutcome, Stream, WaitReason,
};
use jobdeck::flow::catalog::{Catalog, FlowEntry};
use jobdeck::journal::Journal;
use jobdeck::tui::action::{Action, ViewId};
use jobdeck::tui::app::App;
use jobdeck::tui::message::AppMessage;
use jobdeck::tui::run_store::{RunStore, SharedRunStore};
use jobdeck::tui::views::run::{OutputLayout, Pane};
use jobdeck::tui::widgets::dialog::DialogKind;
use tokio::sync::mpsc;

fn check(name: &str, app: &App, width: u16, height: u16) {
    let text = screen(app, width, height);
    insta::with_settings!({
        snapshot_suffix => format!("{width}x{height}"),
        filters => vec![
            (r"\b\d{2}:\d{2}:\d{2}\b", "HH:MM:SS"),
            (r"\b\d+(\.\d)?s\b", "Ns"),
            (r"\b\d+m\d{2}s\b", "Ns"),
        ],
    }, {
        insta::assert_snapshot!(name, text);
    });
}

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// Selects the inventory's `local` app (local-1..4) through the tree.
fn select_local(app: &mut App) {
    app.dispatch(Action::Top);
    let labels = app.inventory_view().visible_labels();
    let row = labels
        .iter()
        .position(|l| l == "local")
        .expect("local shown");
    for _ in 0..row {
        app.dispatch(Action::Down);
    }
    app.dispatch(Action::ToggleSelect);
    assert_eq!(
        app.selection(),
        ["local-1", "local-2", "local-3", "local-4"]
    );
}

/// Replaces a text field's value through the keys an operator uses.
fn set_field(app: &mut App, label: &str, value: &str) {
    assert!(app.planner_view_mut().focus_row(label), "no row {label}");
    press(app, KeyCode::Enter);
    assert!(app.planner_view().is_editing());
    app.dispatch(Action::ClearInput);
    type_keys(app, value);
    press(app, KeyCode::Enter);
    assert!(!app.planner_view().is_editing());
}

fn planned_app(width: u16, height: u16) -> App {
    let mut app = sample_app(width, height);
    select_local(&mut app);
    press(&mut app, KeyCode::Char('3'));
    assert_eq!(app.current_view(), ViewId::Planner);
    assert!(
        app.planner_view()
            .flow_labels()
            .contains(&"health-check".to_string())
    );
    assert!(app.planner_view_mut().choose_flow("health-check"));
    set_field(&mut app, "Batches", "1 100%");
    app
}

#[test]
fn planner_form_and_preview() {
    for (w, h) in SIZES {
        let app = planned_app(w, h);
        assert_eq!(app.planner_view().batch_sizes(), Ok(vec![1, 3]));
        assert_eq!(app.planner_view().preview(), ["local-1", "local-[2-4]"]);
        check("planner", &app, w, h);
    }
}

#[test]
fn planner_batches_are_live_and_errors_inline() {
    let mut app = planned_app(160, 48);
    assert!(app.planner_view_mut().focus_row("Batches"));
    press(&mut app, KeyCode::Enter);
    app.dispatch(Action::ClearInput);
    type_keys(&mut app, "25%");
    assert_eq!(app.planner_view().batch_sizes(), Ok(vec![1, 1, 1, 1]));
    type_keys(&mut app, " +x");
    let err = app.planner_view().batch_sizes().unwrap_err();
    assert!(err.contains("+x"), "{err}");
    assert!(screen(&app, 160, 48).contains("+x"));
    // Typing "q" edits the field, it does not quit.
    type_keys(&mut app, "q");
    assert!(!app.should_quit());
    app.dispatch(Action::ClearInput);
    type_keys(&mut app, "2");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.planner_view().batch_sizes(), Ok(vec![2, 2]));
    // A bad interval blocks the start, with the reason in the status line.
    set_field(&mut app, "Interval", "soon");
    app.dispatch(Action::StartRun);
    assert!(app.dialog().is_none());
    assert!(
        app.status_text().unwrap().contains("Interval"),
        "{:?}",
        app.status_text()
    );
    set_field(&mut app, "Interval", "2m");
    // Mode cycles with ←/→.
    assert!(app.planner_view_mut().focus_row("Mode"));
    press(&mut app, KeyCode::Right);
    app.dispatch(Action::StartRun);
    let dialog = app.dialog().expect("start dialog");
    assert_eq!(dialog.kind, DialogKind::StartRun);
    let summary = dialog.lines.join("\n");
    assert!(summary.contains("Hosts    4: local-[1-4]"), "{summary}");
    assert!(summary.contains("Batches  2 + 2 (2 batches)"), "{summary}");
    assert!(summary.contains("interval 2m"), "{summary}");
    assert!(
        summary.contains("Steps    3: disk, load, uptime"),
        "{summary}"
    );
    // Esc goes back to the plan.
    press(&mut app, KeyCode::Esc);
    assert!(app.dialog().is_none());
}

#[test]
fn planner_needs_hosts_and_masks_secrets() {
    let mut app = sample_app(160, 48);
    press(&mut app, KeyCode::Char('3'));
    assert!(app.planner_view_mut().choose_flow("deploy"));
    app.dispatch(Action::StartRun);
    let status = app.status_text().unwrap().to_string();
    assert!(status.contains("no hosts selected"), "{status}");
    assert!(status.contains("version: required"), "{status}");
    press(&mut app, KeyCode::Char('1'));
    select_local(&mut app);
    press(&mut app, KeyCode::Char('3'));
    set_field(&mut app, "version", "1.4.2");
    set_field(&mut app, "registry_token", "hunter2");
    let shown = screen(&app, 160, 48);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("•••"));
    app.dispatch(Action::StartRun);
    let summary = app.dialog().expect("start dialog").lines.join("\n");
    assert!(summary.contains("registry_token=•••"), "{summary}");
    assert!(!summary.contains("hunter2"));
    assert!(
        summary.contains("Batches  1 + 2 + 1 (3 batches)"),
        "{summary}"
    );
    check("planner_start_dialog", &app, 160, 48);
}

/// With nothing selected in the Inventory, the Planner takes the flow's
/// `targets:` (as a headless run does) and says so; a selection replaces
/// them.
#[test]
fn planner_uses_the_flows_targets_when_nothing_is_selected() {
    let mut app = sample_app(160, 48);
    press(&mut app, KeyCode::Char('3'));
    assert!(app.planner_view_mut().focus_row("Flow"));
    // Cycle to health-check (a flow with `targets: local`).
    for _ in 0..3 {
        let spec = app.planner_view().run_spec();
        if spec.as_ref().is_ok_and(|s| s.flow.name == "health-check") {
            break;
        }
        press(&mut app, KeyCode::Right);
    }
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("4: local-[1-4] (the flow's targets 'local': nothing selected)"),
        "{text}"
    );
    let spec = app.planner_view().run_spec().expect("runs on the targets");
    assert_eq!(spec.hosts.len(), 4);
    // A selection in the Inventory replaces the targets.
    press(&mut app, KeyCode::Char('1'));
    app.dispatch(Action::Top);
    let labels = app.inventory_view().visible_labels();
    let row = labels.iter().position(|l| l == "local").unwrap();
    for _ in 0..row {
        app.dispatch(Action::Down);
    }
    app.dispatch(Action::Expand);
    app.dispatch(Action::Down);
    app.dispatch(Action::ToggleSelect);
    assert_eq!(app.selection().len(), 1, "{:?}", app.selection());
    press(&mut app, KeyCode::Char('3'));
    let text = screen(&app, 160, 48);
    assert!(!text.contains("the flow's targets"), "{text}");
    assert_eq!(app.planner_view().run_spec().unwrap().hosts.len(), 1);
}

/// Switching flows keeps what was typed into the rollout rows and the
/// params the new flow shares; what was still a default follows the flow.
#[test]
fn switching_flows_keeps_what_was_typed() {
    let mut app = sample_app(160, 48);
    select_local(&mut app);
    press(&mut app, KeyCode::Char('3'));
    assert!(app.planner_view_mut().choose_flow("deploy"));
    set_field(&mut app, "Batches", "1 50%");
    set_field(&mut app, "Interval", "3m");
    set_field(&mut app, "service", "billing");
    set_field(&mut app, "version", "1.4.2");
    assert!(app.planner_view_mut().focus_row("Mode"));
    press(&mut app, KeyCode::Right);
    let mode_before = app.planner_view().run_spec().unwrap().rollout.mode;
    // To config-push (shares `service`, has no `version`) by the Flow row.
    assert!(app.planner_view_mut().focus_row("Flow"));
    press(&mut app, KeyCode::Left);
    let spec = app.planner_view().run_spec().expect("a plan");
    assert_eq!(spec.flow.name, "config-push");
    assert!(
        spec.params
            .contains(&("service".to_string(), "billing".to_string())),
        "{:?}",
        spec.params
    );
    assert_eq!(spec.rollout.mode, mode_before);
    let text = screen(&app, 160, 48);
    assert!(text.contains("1 50%"), "{text}");
    assert!(text.contains("3m"), "{text}");
}

// ---- Run view from synthetic events -------------------------------------

const T0: i64 = 1_700_000_000_000;

fn at(ms: i64, kind: EventKind) -> Event {
    Event {
        instance: 42,
        at: T0 + ms,
        kind,
    }
}

fn output(host: usize, stream: Stream, text: &str) -> EventKind {
    EventKind::Output {
        host,
        step: 0,
        stream,
        data: Bytes::copy_from_slice(text.as_bytes()),
    }
}

fn finished(host: usize, code: i32) -> Vec<EventKind> {
    let status = if code == 0 {
        HostStatus::Ok
    } else {
        HostStatus::Failed
    };
    vec![
        EventKind::StepFinished {
            host,
            step: 0,
            attempt: 1,
            outcome: StepOutcome {
                status,
                exit_code: Some(code),
                signal: None,
                error: None,
            },
        },
        EventKind::HostFinished { host, status },
    ]
}

/// Six web hosts in batches of 2 and 4: batch 1 done (one failed), the
/// engine waits out an interval before batch 2.
fn synthetic_store() -> SharedRunStore {
    let mut store = RunStore::default();
    let mut events = vec![
        EventKind::InstanceStarted {
            flow: "deploy".into(),
            hosts: (1..=6).map(|i| format!("web-{i:02}")).collect(),
            steps: vec!["install".into(), "verify".into()],
            batches: vec![vec![0, 1], vec![2, 3, 4, 5]],
        },
        EventKind::BatchStarted { batch: 0 },
    ];
    for h in 0..2 {
        events.push(EventKind::StepStarted {
            host: h,
            step: 0,
            attempt: 1,
        });
        events.push(output(h, Stream::Stdout, "unpacking release 1.4.2\n"));
        events.push(output(h, Stream::Stdout, "linking current -> 1.4.2\n"));
    }
    events.push(output(1, Stream::Stderr, "error: disk full\n"));
    events.extend(finished(0, 0));
    events.extend(finished(1, 1));
    events.push(EventKind::BatchFinished {
        batch: 0,
        ok: 1,
        failed: 1,
    });
    events.push(EventKind::Waiting {
        next_batch: 1,
        reason: WaitReason::Interval,
        until: Some(T0 + 125_000),
    });
    for (i, kind) in events.into_iter().enumerate() {
        store.absorb(&at(i as i64 * 100, kind));
    }
    store.shared()
}

fn run_app(width: u16, height: u16, store: SharedRunStore) -> App {
    let mut app = sample_app(width, height);
    app.show_run_store(store);
    app.run_view_mut().set_fixed_now(T0 + 5_000);
    app
}

#[test]
fn run_view_snapshots() {
    for (w, h) in SIZES {
        let mut app = run_app(w, h, synthetic_store());
        press(&mut app, KeyCode::Char('j'));
        let text = screen(&app, w, h);
        assert!(text.contains("batch 2 starts in 2:00"), "{text}");
        assert!(text.contains("error: disk full"));
        // Even at 80 columns the footer keeps the run's controls and `b`.
        let footer = text.lines().last().unwrap();
        for hint in ["c confirm", "p pause", "a abort", "S skip", "b gather"] {
            assert!(footer.contains(hint), "{footer}");
        }
        check("run_single", &app, w, h);
        press(&mut app, KeyCode::Char('v'));
        assert_eq!(app.run_view().layout(), OutputLayout::Split(2));
        check("run_split", &app, w, h);
        press(&mut app, KeyCode::Char('b'));
        assert_eq!(app.run_view().layout(), OutputLayout::Gathered);
        check("run_gathered", &app, w, h);
    }
}

#[test]
fn gathered_view_folds_a_thousand_hosts_into_few_blocks() {
    let mut store = RunStore::default();
    store.absorb(&at(
        0,
        EventKind::InstanceStarted {
            flow: "check".into(),
            hosts: (0..1000).map(|i| format!("node{i:04}")).collect(),
            steps: vec!["check".into()],
            batches: vec![(0..1000).collect()],
        },
    ));
    for h in 0..1000 {
        store.absorb(&at(
            1,
            EventKind::StepStarted {
                host: h,
                step: 0,
                attempt: 1,
            },
        ));
        let (text, code) = match h % 250 {
            0 => ("disk 97% full\n", 1),
            1 => ("load 12.0\n", 0),
            _ => ("all good\n", 0),
        };
        store.absorb(&at(2, output(h, Stream::Stdout, text)));
        for kind in finished(h, code) {
            store.absorb(&at(3, kind));
        }
    }
    assert_eq!(store.gathered().len(), 3);
    let mut app = run_app(160, 48, store.shared());
    press(&mut app, KeyCode::Char('b'));
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("Gathered: 992 of 1000 alike, 8 differ"),
        "{text}"
    );
    assert!(
        text.contains("node[0002-0249,0252-0499,0502-0749,0752-0999] (992)"),
        "{text}"
    );
    assert!(
        text.contains("node[0000,0250,0500,0750] (4) failed exit 1"),
        "{text}"
    );
}

#[test]
fn output_scrolls_searches_and_saves() {
    let mut store = RunStore::new(0, 64 * 1024);
    store.absorb(&at(
        0,
        EventKind::InstanceStarted {
            flow: "logs".into(),
            hosts: vec!["web-01".into(), "web-02".into()],
            steps: vec!["tail".into()],
            batches: vec![vec![0, 1]],
        },
    ));
    store.absorb(&at(
        1,
        EventKind::StepStarted {
            host: 0,
            step: 0,
            attempt: 1,
        },
    ));
    for i in 0..500 {
        store.absorb(&at(2, output(0, Stream::Stdout, &format!("line {i}\n"))));
    }
    store.absorb(&at(3, output(0, Stream::Stdout, "needle in the middle\n")));
    for i in 500..1000 {
        store.absorb(&at(4, output(0, Stream::Stdout, &format!("line {i}\n"))));
    }
    let store = store.shared();
    let mut app = run_app(160, 48, store.clone());
    assert!(screen(&app, 160, 48).contains("line 999"));
    // Tab to the output; scrolling up leaves follow mode.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.run_view().focus(), Pane::Output);
    press(&mut app, KeyCode::PageUp);
    assert!(!app.run_view().following());
    assert!(!screen(&app, 160, 48).contains("line 999"));
    // New output does not move what the operator reads.
    let before = screen(&app, 160, 48);
    let top = before.lines().nth(5).unwrap().to_string();
    assert!(top.contains("line 921"), "{before}");
    RunStore::lock(&store).absorb(&at(5, output(0, Stream::Stdout, "line 1000\n")));
    let after = screen(&app, 160, 48);
    assert_eq!(after.lines().nth(5).unwrap(), top);
    assert!(!after.contains("line 1000"));
    // Search from the end: `/`, type, enter jumps to the match above.
    press(&mut app, KeyCode::End);
    assert!(app.run_view().following());
    press(&mut app, KeyCode::Char('/'));
    type_keys(&mut app, "needle");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.run_view().search_term(), "needle");
    let text = screen(&app, 160, 48);
    assert!(text.contains("needle in the middle"), "{text}");
    assert!(!app.run_view().following());
    // The only match: `n` goes round the end back to it, and says so.
    let found = app.run_view().search_match();
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.run_view().search_match(), found);
    assert_eq!(
        app.status_text(),
        Some("search hit BOTTOM, continuing at TOP")
    );
    // `f` follows the tail again.
    press(&mut app, KeyCode::Char('f'));
    assert!(app.run_view().following());
    // `w` saves the host's buffered output; `W` the host list.
    let dir = tempfile::tempdir().unwrap();
    app.set_output_dir(dir.path().to_path_buf());
    press(&mut app, KeyCode::Char('w'));
    let saved = dir.path().join("jobdeck-run-42-web-01.log");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("needle in the middle\nline 500\n"));
    assert!(
        app.status_text()
            .unwrap()
            .contains(&saved.display().to_string())
    );
    press(&mut app, KeyCode::Char('W'));
    let hosts = std::fs::read_to_string(dir.path().join("jobdeck-run-42-hosts.txt")).unwrap();
    assert!(hosts.starts_with("web-01\trunning\t1\t"), "{hosts}");
    assert!(hosts.contains("web-02\tpending\t1\t"), "{hosts}");
}

#[test]
fn controls_need_an_active_run_and_quit_is_plain_without_one() {
    let mut app = run_app(80, 24, synthetic_store());
    press(&mut app, KeyCode::Char('p'));
    assert!(app.status_text().unwrap().contains("not active"));
    // space pauses too, as it plays and pauses a replay (pin is m).
    app.set_status(jobdeck::tui::effects::StatusLevel::Info, "");
    press(&mut app, KeyCode::Char(' '));
    assert!(app.status_text().unwrap().contains("not active"));
    press(&mut app, KeyCode::Char('m'));
    assert_eq!(app.run_view().layout(), OutputLayout::Split(2), "m pins");
    press(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit());
}

/// web-01 alone running `steps` (batch 1 started, step `step` started),
/// then `then`.
fn one_host(steps: &[&str], step: usize, then: Vec<EventKind>) -> SharedRunStore {
    let mut store = RunStore::default();
    let mut events = vec![
        EventKind::InstanceStarted {
            flow: "deploy".into(),
            hosts: vec!["web-01".into()],
            steps: steps.iter().map(|s| s.to_string()).collect(),
            batches: vec![vec![0]],
        },
        EventKind::BatchStarted { batch: 0 },
        EventKind::StepStarted {
            host: 0,
            step,
            attempt: 1,
        },
    ];
    events.extend(then);
    for (i, kind) in events.into_iter().enumerate() {
        store.absorb(&at(i as i64 * 100, kind));
    }
    store.shared()
}

/// The synthetic run, ended: aborted while batch 2 ran (web-03 cancelled
/// part way, the rest never started).
fn aborted_store() -> SharedRunStore {
    let store = synthetic_store();
    {
        let mut s = RunStore::lock(&store);
        let mut events = vec![
            EventKind::BatchStarted { batch: 1 },
            EventKind::StepStarted {
                host: 2,
                step: 0,
                attempt: 1,
            },
            EventKind::HostFinished {
                host: 2,
                status: HostStatus::Cancelled,
            },
        ];
        for host in 3..6 {
            events.push(EventKind::HostFinished {
                host,
                status: HostStatus::Skipped,
            });
        }
        events.push(EventKind::InstanceFinished {
            status: InstanceStatus::Aborted,
            reason: Some("aborted by the operator".into()),
        });
        for (i, kind) in events.into_iter().enumerate() {
            s.absorb(&at(3_000 + i as i64 * 100, kind));
        }
    }
    store
}

/// After the run ended the footer offers only keys that still do
/// something (no pause, abort, skip), and R starts a rerun of its failed
/// hosts through History's question instead of saying "not active".
#[test]
fn an_ended_run_offers_only_working_keys_and_r_reruns_its_failed_hosts() {
    let app = run_app(160, 48, synthetic_store());
    let live = screen(&app, 160, 48);
    assert!(live.contains("pause"), "{live}");
    assert!(live.contains("R retry  "), "{live}");

    let mut app = run_app(160, 48, aborted_store());
    let text = screen(&app, 160, 48);
    let footer = text.lines().last().unwrap();
    assert!(footer.contains("R rerun failed"), "{footer}");
    for gone in ["pause", "abort", "skip", "confirm"] {
        assert!(
            !footer.contains(gone),
            "{gone} offered after the end: {footer}"
        );
    }
    press(&mut app, KeyCode::Char('R'));
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::Rerun { id: 42 }),
        "{:?}",
        app.status_text()
    );
    // The same question History asks for its R, on the same run.
    press(&mut app, KeyCode::Char('n'));
    assert!(app.dialog().is_none());
}

/// An aborted run's counters and gauges show its cancelled and skipped
/// hosts apart, not as done.
#[test]
fn an_aborted_run_counts_cancelled_hosts_as_cancelled() {
    for (w, h) in SIZES {
        let app = run_app(w, h, aborted_store());
        let text = screen(&app, w, h);
        assert!(text.contains(" 2/6 · 1 cancelled · 3 skipped"), "{text}");
        assert!(!text.contains(" 6/6"), "{text}");
        check("run_aborted", &app, w, h);
    }
}

/// Pausing during an interval stops its countdown and says so; the
/// countdown goes on from the new end the engine gives on resume.
#[test]
fn a_paused_interval_countdown_stands_still_and_says_so() {
    let store = synthetic_store();
    let mut app = run_app(80, 24, store.clone());
    assert!(screen(&app, 80, 24).contains("batch 2 starts in 2:00"));
    RunStore::lock(&store).absorb(&at(3_000, EventKind::Paused));
    for now in [5_000, 65_000] {
        app.run_view_mut().set_fixed_now(T0 + now);
        let text = screen(&app, 80, 24);
        assert!(
            text.contains("paused: the countdown to batch 2 stopped at 2:02"),
            "{text}"
        );
    }
    {
        let mut s = RunStore::lock(&store);
        s.absorb(&at(65_000, EventKind::Resumed));
        s.absorb(&at(
            65_000,
            EventKind::Waiting {
                next_batch: 1,
                reason: WaitReason::Interval,
                until: Some(T0 + 65_000 + 122_000),
            },
        ));
    }
    app.run_view_mut().set_fixed_now(T0 + 66_000);
    let text = screen(&app, 80, 24);
    assert!(text.contains("batch 2 starts in 2:01"), "{text}");
}

/// Texts that say which key to press name the keymap's key: a remapped
/// one shows its new letter.
#[test]
fn state_lines_name_the_keys_of_the_keymap_in_use() {
    let builtin = run_app(160, 48, synthetic_store());
    let text = screen(&builtin, 160, 48);
    assert!(
        text.contains("— c starts it now, p pauses the countdown"),
        "{text}"
    );
    let (keymap, errors) = jobdeck::tui::keymap::Keymap::with_overrides(
        "[run]\n\"c\" = \"none\"\n\"o\" = \"confirm\"\n\"p\" = \"none\"\n\"space\" = \"none\"\n\"P\" = \"pause\"\n",
        Path::new("keymap.toml"),
    );
    assert!(errors.is_empty(), "{errors:?}");
    let mut app = sample_app_with_keys(160, 48, keymap);
    app.show_run_store(synthetic_store());
    app.run_view_mut().set_fixed_now(T0 + 5_000);
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("— o starts it now, P pauses the countdown"),
        "{text}"
    );
    let running = one_host(&["install"], 0, Vec::new());
    app.show_run_store(running);
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("running — P pause · a abort · R retry failed · S skip host"),
        "{text}"
    );
}

/// A pane title cut by the border ends with `…`.
#[test]
fn a_cut_pane_title_ends_with_an_ellipsis() {
    let store = one_host(
        &["stop", "install", "restart-the-application"],
        2,
        Vec::new(),
    );
    let app = run_app(80, 24, store);
    let text = screen(&app, 80, 24);
    let title = text
        .lines()
        .find(|l| l.contains("web-01 ▶"))
        .unwrap_or_default();
    assert!(title.contains("· step 3/3: restar…┐"), "{text}");
}

/// Steps are numbered as the headless output and `show` number them: the
/// flow's steps and the rollback steps apart.
#[test]
fn step_numbers_count_the_rollback_section_apart() {
    let store = one_host(
        &["stop", "install", "start", "rollback: restore"],
        1,
        vec![EventKind::StepStarted {
            host: 0,
            step: 3,
            attempt: 1,
        }],
    );
    let app = run_app(160, 48, store);
    let text = screen(&app, 160, 48);
    assert!(text.contains("── step 2/3: install"), "{text}");
    assert!(text.contains("── rollback 1/1: restore"), "{text}");
    assert!(
        text.contains("· rollback 1/1: restore"),
        "the pane title: {text}"
    );
    assert!(!text.contains("4/4"), "{text}");
}

/// Output shows as a terminal would leave it: tabs expanded, a progress
/// bar redrawn with CR shows its last state, colours stripped, and other
/// control characters as dim control pictures.
#[test]
fn output_shows_as_a_terminal_would() {
    let store = one_host(
        &["install"],
        0,
        vec![
            output(0, Stream::Stdout, "name\tsize\n"),
            output(0, Stream::Stdout, "[##  ] 50%\r"),
            output(0, Stream::Stdout, "[####] 100%\r\n"),
            output(0, Stream::Stdout, "\x1b[32mgreen\x1b[0m bell\x07\n"),
        ],
    );
    let app = run_app(160, 48, store);
    let text = screen(&app, 160, 48);
    assert!(text.contains("name    size"), "{text}");
    assert!(text.contains("[####] 100%"), "{text}");
    assert!(!text.contains("50%"), "{text}");
    assert!(!text.contains("^M"), "{text}");
    assert!(text.contains("green bell\u{2407}"), "{text}");
    // The control picture is dim.
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    let buffer = terminal.backend().buffer();
    let bell = buffer
        .content()
        .iter()
        .find(|cell| cell.symbol() == "\u{2407}")
        .expect("the bell is shown");
    assert!(bell.modifier.contains(ratatui::style::Modifier::DIM));
}

/// A line longer than the pane is cut with `…`; `>` and `<` scroll the
/// pane sideways, with `…` on the side that is cut.
#[test]
fn long_lines_are_cut_with_a_mark_and_scroll_sideways() {
    let long: String = (0..40).map(|i| format!("w{i:02} ")).collect();
    let store = one_host(
        &["install"],
        0,
        vec![output(0, Stream::Stdout, &format!("{long}\n"))],
    );
    let mut app = run_app(80, 24, store);
    let row = |app: &App| {
        screen(app, 80, 24)
            .lines()
            .find(|l| l.contains("w03"))
            .map(String::from)
            .unwrap_or_default()
    };
    let first = row(&app);
    assert!(first.contains("│w00 w01"), "{}", screen(&app, 80, 24));
    assert!(first.contains("…│"), "cut with a mark: {first}");
    press(&mut app, KeyCode::Char('>'));
    let moved = row(&app);
    assert!(moved.contains("│…02 w03"), "{moved}");
    assert!(!moved.contains("w00"), "{moved}");
    press(&mut app, KeyCode::Char('<'));
    assert_eq!(row(&app), first);
}

#[test]
fn z_switches_between_wrapping_long_lines_and_scrolling_sideways() {
    let long: String = (0..40).map(|i| format!("w{i:02} ")).collect();
    let mut then = vec![output(0, Stream::Stdout, &format!("{long}\n"))];
    then.push(output(0, Stream::Stderr, &format!("E {long}\n")));
    then.extend((1..=30).map(|n| output(0, Stream::Stdout, &format!("short {n}\n"))));
    then.push(output(0, Stream::Stdout, &format!("tail {long}\n")));
    let store = one_host(&["install"], 0, then);
    for (width, height) in [(80, 24), (160, 48)] {
        let mut app = run_app(width, height, store.clone());
        let text = screen(&app, width, height);
        assert!(text.contains("follow · no wrap"), "{text}");
        check("run_long_lines_cut", &app, width, height);
        press(&mut app, KeyCode::Char('z'));
        assert!(app.run_view().wrapping());
        let text = screen(&app, width, height);
        // Following, the last line shows whole, on as many rows as it needs.
        assert!(text.contains("follow · wrap"), "{text}");
        assert!(text.contains("w39"), "{text}");
        check("run_long_lines_wrapped", &app, width, height);
        // From the top, the first long line and stderr's, each whole.
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('g'));
        let text = screen(&app, width, height);
        assert!(text.matches("w39").count() >= 2, "{text}");
        assert!(text.contains("│▌E w00"), "{text}");
        press(&mut app, KeyCode::Char('z'));
        assert!(!app.run_view().wrapping());
        assert!(!screen(&app, width, height).contains("w39"));
    }
}

// ---- Real runs on local hosts ----------------------------------------------

/// An app wired to a task channel on the test's runtime, with its journal
/// in `journal`.
fn live_app(journal: &Path) -> (App, mpsc::Receiver<AppMessage>) {
    let (tx, rx) = mpsc::channel(1024);
    let mut app = sample_app(160, 48);
    app.set_task_sender(tx);
    app.set_journal(Some(journal.to_path_buf()));
    (app, rx)
}

fn start_planned(app: &mut App) {
    select_local(app);
    press(app, KeyCode::Char('3'));
    press(app, KeyCode::Char('s'));
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::StartRun)
    );
    press(app, KeyCode::Char('y'));
    assert_eq!(app.current_view(), ViewId::Run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_run_finishes_in_the_store_and_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let (mut app, mut rx) = live_app(&journal);
    select_local(&mut app);
    press(&mut app, KeyCode::Char('3'));
    assert!(app.planner_view_mut().choose_flow("health-check"));
    set_field(&mut app, "Batches", "1 100%");
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Enter);
    pump_until(&mut app, &mut rx, "the run to start", |a| {
        a.active_run().is_some()
    })
    .await;
    let id = app.active_run().unwrap().instance;
    pump_until(&mut app, &mut rx, "the run to end", |a| {
        a.active_run().is_none()
    })
    .await;
    let store = app.run_view().store().unwrap().clone();
    {
        let store = RunStore::lock(&store);
        assert_eq!(store.instance, id);
        assert_eq!(store.status, InstanceStatus::Ok, "{:?}", store.reason);
        assert_eq!(store.batches.len(), 2);
        assert!(store.hosts.iter().all(|h| h.status == HostStatus::Ok));
        let out: Vec<&str> = store.hosts[0].lines().iter().map(|l| &*l.text).collect();
        assert!(out.iter().any(|l| l.contains("% full")), "{out:?}");
        assert!(out.iter().any(|l| l.contains("load average")), "{out:?}");
    }
    assert!(
        app.status_text()
            .unwrap()
            .contains(&format!("run {id} finished: ok"))
    );
    let text = screen(&app, 160, 48);
    assert!(text.contains("finished ok"), "{text}");
    let journal = Journal::open(&journal).unwrap();
    let detail = journal.instance(id).unwrap().unwrap();
    assert_eq!(detail.instance.status, InstanceStatus::Ok);
    assert_eq!(detail.hosts.len(), 4);
    assert_eq!(detail.instance.trigger.to_string(), "manual");
}

/// A flow whose one step takes a few seconds, on the local hosts.
fn slow_flow(dir: &Path) -> FlowEntry {
    let path = dir.join("slow.yml");
    std::fs::write(
        &path,
        "name: slow\nsteps:\n  - name: wait\n    command: sleep 2; echo done\n",
    )
    .unwrap();
    FlowEntry::load(&path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_asks_then_detach_leaves_a_resumable_run() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let (mut app, mut rx) = live_app(&journal);
    app.planner_view_mut()
        .set_catalog(std::sync::Arc::new(Catalog::of_flows(vec![slow_flow(
            dir.path(),
        )])));
    start_planned(&mut app);
    pump_until(&mut app, &mut rx, "a host to run", |a| {
        a.run_view().store().is_some_and(|s| {
            RunStore::lock(s)
                .hosts
                .iter()
                .any(|h| h.status == HostStatus::Running)
        })
    })
    .await;
    let id = app.active_run().unwrap().instance;
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.should_quit());
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::QuitWithRun)
    );
    press(&mut app, KeyCode::Char('d'));
    pump_until(&mut app, &mut rx, "the detached run to end", |a| {
        a.should_quit()
    })
    .await;
    {
        let store = app.run_view().store().unwrap().clone();
        assert_eq!(RunStore::lock(&store).status, InstanceStatus::Interrupted);
    }
    let record = Journal::open(&journal)
        .unwrap()
        .instance(id)
        .unwrap()
        .unwrap();
    assert_eq!(record.instance.status, InstanceStatus::Interrupted);
    // `jobdeck resume` continues it to the end.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_jobdeck"))
        .arg("--journal")
        .arg(&journal)
        .arg("-i")
        .arg(root().join("sample-inventory"))
        .args(["resume", &id.to_string()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "resume failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let record = Journal::open(&journal)
        .unwrap()
        .instance(id)
        .unwrap()
        .unwrap();
    assert_eq!(record.instance.status, InstanceStatus::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_asks_first_then_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let (mut app, mut rx) = live_app(&journal);
    app.planner_view_mut()
        .set_catalog(std::sync::Arc::new(Catalog::of_flows(vec![slow_flow(
            dir.path(),
        )])));
    start_planned(&mut app);
    pump_until(&mut app, &mut rx, "the run to start", |a| {
        a.active_run().is_some()
    })
    .await;
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::AbortRun)
    );
    press(&mut app, KeyCode::Char('n'));
    assert!(app.dialog().is_none());
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Char('y'));
    pump_until(&mut app, &mut rx, "the aborted run to end", |a| {
        a.active_run().is_none()
    })
    .await;
    let store = app.run_view().store().unwrap().clone();
    let id = {
        let store = RunStore::lock(&store);
        assert_eq!(store.status, InstanceStatus::Aborted);
        store.instance
    };
    let record = Journal::open(&journal)
        .unwrap()
        .instance(id)
        .unwrap()
        .unwrap();
    assert_eq!(record.instance.status, InstanceStatus::Aborted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_waits_and_approvals_are_dialogs() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let path = dir.path().join("gated.yml");
    std::fs::write(
        &path,
        "name: gated\nrollout:\n  batches: 1 100%\n  mode: confirm\nsteps:\n  - name: hello\n    command: echo hello\n  - name: gate\n    approval: Go on with the change?\n  - name: after\n    command: echo after\n",
    )
    .unwrap();
    let (mut app, mut rx) = live_app(&journal);
    app.planner_view_mut()
        .set_catalog(std::sync::Arc::new(Catalog::of_flows(vec![
            FlowEntry::load(&path),
        ])));
    start_planned(&mut app);
    let kind = |a: &App| a.dialog().map(|d| d.kind.clone());
    // Batch 1 (one host) stops at the approval step.
    pump_until(&mut app, &mut rx, "the approval", |a| {
        matches!(kind(a), Some(DialogKind::Approval { batch: 0, .. }))
    })
    .await;
    assert!(screen(&app, 160, 48).contains("Go on with the change?"));
    // "Not yet" closes the dialog; the run keeps waiting; `c` approves.
    press(&mut app, KeyCode::Char('n'));
    assert!(app.dialog().is_none());
    assert!(screen(&app, 160, 48).contains("waits for approval"));
    press(&mut app, KeyCode::Char('c'));
    // Then the confirm wait before batch 2.
    pump_until(&mut app, &mut rx, "the batch confirmation", |a| {
        matches!(kind(a), Some(DialogKind::ConfirmBatch { next_batch: 1 }))
    })
    .await;
    press(&mut app, KeyCode::Char('y'));
    pump_until(&mut app, &mut rx, "batch 2's approval", |a| {
        matches!(kind(a), Some(DialogKind::Approval { batch: 1, .. }))
    })
    .await;
    press(&mut app, KeyCode::Enter);
    pump_until(&mut app, &mut rx, "the run to end", |a| {
        a.active_run().is_none()
    })
    .await;
    let store = app.run_view().store().unwrap().clone();
    let store = RunStore::lock(&store);
    assert_eq!(store.status, InstanceStatus::Ok, "{:?}", store.reason);
    let out: Vec<&str> = store.hosts[3].lines().iter().map(|l| &*l.text).collect();
    assert!(out.contains(&"after"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quit_with_abort_waits_for_the_run_to_stop() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let (mut app, mut rx) = live_app(&journal);
    app.planner_view_mut()
        .set_catalog(std::sync::Arc::new(Catalog::of_flows(vec![slow_flow(
            dir.path(),
        )])));
    start_planned(&mut app);
    pump_until(&mut app, &mut rx, "the run to start", |a| {
        a.active_run().is_some()
    })
    .await;
    app.dispatch(Action::Quit);
    press(&mut app, KeyCode::Char('a'));
    assert!(!app.should_quit(), "quits only once the run has stopped");
    pump_until(&mut app, &mut rx, "quit", |a| a.should_quit()).await;
    let store = app.run_view().store().unwrap().clone();
    assert_eq!(RunStore::lock(&store).status, InstanceStatus::Aborted);
}
