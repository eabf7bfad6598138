//! Scrolling and searching the Run view past the store's bounded buffer:
//! the older lines (and a search's matches among them) come back from the
//! journal, meeting the buffer without a seam. A real
//! run on the sample inventory's local hosts (`seq 1 20000`), and a run
//! written to a journal from synthetic events with a 1 KiB buffer, whose
//! loading and start-of-output markers are snapshots at 80×24.

mod console;
use console::{press, pump_until, sample_app, screen, type_keys};

use std::path::Path;

use bytes::Bytes;
use crossterm::event::KeyCode;
use jobdeck::engine::events::{Event, EventKind, HostStatus, InstanceStatus, StepOutcome, Stream};
use jobdeck::flow::catalog::{Catalog, FlowEntry};
use jobdeck::journal::{Journal, JournalWriter, NewInstance, Trigger, WriterOptions};
use jobdeck::tui::action::{Action, ViewId};
use jobdeck::tui::app::App;
use jobdeck::tui::message::AppMessage;
use jobdeck::tui::run_store::{LineKind, RunStore};
use jobdeck::tui::views::run::Pane;
use tokio::sync::mpsc;

async fn wait_loaded(app: &mut App, rx: &mut mpsc::Receiver<AppMessage>) {
    pump_until(app, rx, "older lines", |a| !a.run_view().loading_older()).await;
    assert_eq!(app.run_view().older_problem(), None);
}

/// The lines the output pane shows now, by absolute number.
fn shown(app: &App) -> (u64, Vec<Option<(LineKind, String)>>) {
    let view = app.run_view();
    let top = view.top_line();
    (top, view.output_lines(top, top + view.output_height()))
}

/// Pages through the whole output of the host under the cursor from the
/// top, reading older lines as they are needed; every line by number.
async fn page_through(app: &mut App, rx: &mut mpsc::Receiver<AppMessage>) -> Vec<String> {
    app.dispatch(Action::Top);
    wait_loaded(app, rx).await;
    let mut all: Vec<String> = Vec::new();
    loop {
        let (top, rows) = shown(app);
        for (i, row) in rows.into_iter().enumerate() {
            let n = top as usize + i;
            let (_, text) = row.unwrap_or_else(|| panic!("line {n} missing at top {top}"));
            if n == all.len() {
                all.push(text);
            } else {
                assert_eq!(all[n], text, "line {n} read twice differently");
            }
        }
        if app.run_view().following() {
            return all;
        }
        app.dispatch(Action::PageDown);
        wait_loaded(app, rx).await;
    }
}

fn live_app(journal: &Path) -> (App, mpsc::Receiver<AppMessage>) {
    let (tx, rx) = mpsc::channel(1024);
    let mut app = sample_app(160, 48);
    app.set_task_sender(tx);
    app.set_journal(Some(journal.to_path_buf()));
    (app, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_runs_output_scrolls_back_to_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let (mut app, mut rx) = live_app(&journal);
    let flow = dir.path().join("count.yml");
    std::fs::write(
        &flow,
        "name: count\nsteps:\n  - name: count\n    command: seq 1 20000; sleep 3\n",
    )
    .unwrap();
    app.planner_view_mut()
        .set_catalog(std::sync::Arc::new(Catalog::of_flows(vec![
            FlowEntry::load(&flow),
        ])));
    // The inventory's `local` app: local-1..4, ansible_connection=local.
    app.dispatch(Action::Top);
    let labels = app.inventory_view().visible_labels();
    let row = labels.iter().position(|l| l == "local").unwrap();
    for _ in 0..row {
        app.dispatch(Action::Down);
    }
    app.dispatch(Action::ToggleSelect);
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.current_view(), ViewId::Run);
    pump_until(&mut app, &mut rx, "the run to start", |a| {
        a.active_run().is_some()
    })
    .await;
    // While the run is live (its hosts sleep after printing), the top
    // comes back from the journal the writer is still filling.
    pump_until(&mut app, &mut rx, "the output to be printed", |a| {
        let store = RunStore::lock(a.run_view().store().unwrap());
        !store.hosts.is_empty() && store.hosts.iter().all(|h| h.total_lines() == 20_001)
    })
    .await;
    app.dispatch(Action::FocusNext);
    app.dispatch(Action::Top);
    wait_loaded(&mut app, &mut rx).await;
    let live = app.active_run().is_some();
    let (_, rows) = shown(&app);
    let texts: Vec<String> = rows.into_iter().map(|r| r.unwrap().1).collect();
    assert_eq!(texts[..3], ["── step 1/1: count", "1", "2"]);
    app.dispatch(Action::Bottom);
    assert!(app.run_view().following());
    // A search from the tail goes round to the first match, in the lines
    // the store dropped: found in the journal while the run is live.
    type_keys(&mut app, "/777\n");
    pump_until(&mut app, &mut rx, "the search", |a| {
        !a.run_view().searching_journal()
    })
    .await;
    assert_eq!(app.run_view().search_match(), Some((0, 777)));
    wait_loaded(&mut app, &mut rx).await;
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("search hit BOTTOM, continuing at TOP"),
        "{text}"
    );
    let (top, rows) = shown(&app);
    let at = (777 - top) as usize;
    assert_eq!(rows[at].as_ref().unwrap().1, "777");
    type_keys(&mut app, "n");
    pump_until(&mut app, &mut rx, "the next match", |a| {
        !a.run_view().searching_journal()
    })
    .await;
    assert_eq!(app.run_view().search_match(), Some((0, 1777)));
    app.dispatch(Action::Bottom);
    app.dispatch(Action::FocusNext);
    assert!(live, "the run ended before its older lines were read");
    pump_until(&mut app, &mut rx, "the run to end", |a| {
        a.active_run().is_none()
    })
    .await;
    let store = app.run_view().store().unwrap().clone();
    let first = {
        let store = RunStore::lock(&store);
        assert_eq!(store.status, InstanceStatus::Ok, "{:?}", store.reason);
        let host = &store.hosts[store.host_order()[0]];
        assert_eq!(host.total_lines(), 20_001);
        host.first_line()
    };
    assert!(first > 10_000, "the buffer dropped most lines: {first}");

    app.dispatch(Action::FocusNext);
    assert_eq!(app.run_view().focus(), Pane::Output);
    app.dispatch(Action::Top);
    assert!(app.run_view().loading_older());
    wait_loaded(&mut app, &mut rx).await;
    let text = screen(&app, 160, 48);
    assert!(text.contains("── start of output ──"), "{text}");
    assert!(text.contains("── step 1/1: count"), "{text}");
    let (top, rows) = shown(&app);
    assert_eq!(top, 0);
    let texts: Vec<String> = rows.into_iter().map(|r| r.unwrap().1).collect();
    assert_eq!(texts[0], "── step 1/1: count");
    assert_eq!(texts[1], "1");
    assert_eq!(texts[2], "2");

    // Every line, paged through from the top across the seam: each once, in order.
    let all = page_through(&mut app, &mut rx).await;
    let mut expected = vec!["── step 1/1: count".to_string()];
    expected.extend((1..=20_000).map(|n| n.to_string()));
    assert_eq!(all.len(), expected.len());
    assert!(all == expected, "the lines differ from seq's");

    // Around the seam, from the view's line API directly.
    let around = app.run_view().output_lines(first - 5, first + 5);
    // (following now: the window was let go, so only the buffer answers)
    assert!(around[..5].iter().all(Option::is_none));
    let height = app.run_view().output_height();
    for _ in 0..(20_001 - height) - (first - 10) {
        app.dispatch(Action::Up);
    }
    assert_eq!(app.run_view().top_line(), first - 10);
    wait_loaded(&mut app, &mut rx).await;
    let around: Vec<String> = app
        .run_view()
        .output_lines(first - 5, first + 5)
        .into_iter()
        .map(|r| r.expect("a line around the seam").1)
        .collect();
    let want: Vec<String> = (first - 5..first + 5).map(|n| n.to_string()).collect();
    assert_eq!(around, want);
}

const T0: i64 = 1_700_000_000_000;

/// A run of one host printing 300 numbered lines (every tenth also on
/// stderr), journaled through the real writer and absorbed by a store that
/// keeps 1 KiB.
fn synthetic_run(path: &Path) -> RunStore {
    let mut journal = Journal::open(path).unwrap();
    let id = journal
        .create_instance(&NewInstance {
            flow: "count".into(),
            flow_snapshot: "name: count\n".into(),
            hosts: vec!["web-01".into()],
            trigger: Trigger::Cli,
            ..NewInstance::default()
        })
        .unwrap();
    let mut kinds = vec![
        EventKind::InstanceStarted {
            flow: "count".into(),
            hosts: vec!["web-01".into()],
            steps: vec!["count".into()],
            batches: vec![vec![0]],
        },
        EventKind::BatchStarted { batch: 0 },
        EventKind::StepStarted {
            host: 0,
            step: 0,
            attempt: 1,
        },
    ];
    for n in 1..=300 {
        let (stream, text) = if n % 10 == 0 {
            (Stream::Stderr, format!("warning {n}\n"))
        } else {
            (Stream::Stdout, format!("line {n}\n"))
        };
        kinds.push(EventKind::Output {
            host: 0,
            step: 0,
            stream,
            data: Bytes::from(text.into_bytes()),
        });
    }
    kinds.push(EventKind::StepFinished {
        host: 0,
        step: 0,
        attempt: 1,
        outcome: StepOutcome {
            status: HostStatus::Failed,
            exit_code: Some(1),
            signal: None,
            error: None,
        },
    });
    kinds.push(EventKind::HostFinished {
        host: 0,
        status: HostStatus::Failed,
    });
    kinds.push(EventKind::BatchFinished {
        batch: 0,
        ok: 0,
        failed: 1,
    });
    kinds.push(EventKind::InstanceFinished {
        status: InstanceStatus::Failed,
        reason: Some("1 host failed".into()),
    });
    let (sink, writer) = JournalWriter::spawn(path, WriterOptions::default()).unwrap();
    let mut store = RunStore::new(id, 1024);
    for (i, kind) in kinds.into_iter().enumerate() {
        let event = Event {
            instance: id,
            at: T0 + i as i64 * 10,
            kind,
        };
        store.absorb(&event);
        sink.blocking_send(event).unwrap();
    }
    drop(sink);
    writer.join().unwrap();
    store
}

/// The console at 80×24 showing `synthetic_run`, its journal in a
/// temporary directory (kept alive by the first value).
async fn synthetic_app() -> (tempfile::TempDir, App, mpsc::Receiver<AppMessage>) {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let store = tokio::task::spawn_blocking({
        let journal = journal.clone();
        move || synthetic_run(&journal)
    })
    .await
    .unwrap();
    let first = store.hosts[0].first_line();
    assert!(first > 200, "{first}");
    let (tx, rx) = mpsc::channel(64);
    let mut app = sample_app(80, 24);
    app.set_task_sender(tx);
    app.set_journal(Some(journal));
    app.show_run_store(store.shared());
    app.run_view_mut().set_fixed_now(T0 + 60_000);
    (dir, app, rx)
}

fn check(name: &str, app: &App) {
    insta::with_settings!({ snapshot_suffix => "80x24" }, {
        insta::assert_snapshot!(name, screen(app, 80, 24));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_and_start_markers_at_80x24() {
    let (_dir, mut app, mut rx) = synthetic_app().await;
    app.dispatch(Action::FocusNext);
    app.dispatch(Action::Top);
    // The read is in flight until its message is taken in.
    assert!(app.run_view().loading_older());
    check("run_loading_older", &app);
    let message = rx.recv().await.unwrap();
    app.on_message(message);
    assert!(!app.run_view().loading_older());
    check("run_start_of_output", &app);
    let rows = app.run_view().output_lines(0, 4);
    assert_eq!(
        rows,
        [
            Some((LineKind::Step, "── step 1/1: count".into())),
            Some((LineKind::Stdout, "line 1".into())),
            Some((LineKind::Stdout, "line 2".into())),
            Some((LineKind::Stdout, "line 3".into())),
        ]
    );
    // Across the seam: stderr kept as stderr, the failure note at the end.
    let all = page_through(&mut app, &mut rx).await;
    assert_eq!(all.len(), 302);
    assert_eq!(all[10], "warning 10");
    assert_eq!(all[300], "warning 300");
    assert_eq!(all[301], "✘ failed, exit 1");
}

#[test]
fn without_a_runtime_the_read_is_inline_and_a_mismatch_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let store = synthetic_run(&journal);
    let first = store.hosts[0].first_line();
    let mut app = sample_app(80, 24);
    app.set_journal(Some(journal.clone()));
    app.show_run_store(store.clone().shared());
    app.dispatch(Action::FocusNext);
    app.dispatch(Action::Top);
    assert!(!app.run_view().loading_older());
    assert_eq!(app.run_view().older_problem(), None);
    let rows = app.run_view().output_lines(first - 2, first + 1);
    assert!(rows.iter().all(Option::is_some), "{rows:?}");

    // A store that does not match the journal (here: another instance's
    // numbering) shows why instead of lines that would not line up.
    let mut other = store;
    other.absorb(&Event {
        instance: other.instance,
        at: T0,
        kind: EventKind::StepStarted {
            host: 0,
            step: 0,
            attempt: 2,
        },
    });
    for n in 0..100 {
        other.absorb(&Event {
            instance: other.instance,
            at: T0,
            kind: EventKind::Output {
                host: 0,
                step: 0,
                stream: Stream::Stdout,
                data: Bytes::from(format!("extra {n}\n").into_bytes()),
            },
        });
    }
    app.show_run_store(other.shared());
    assert_eq!(app.run_view().focus(), Pane::Output);
    app.dispatch(Action::Top);
    let problem = app
        .run_view()
        .older_problem()
        .expect("a problem")
        .to_string();
    assert!(problem.contains("journal has"), "{problem}");
    let text = screen(&app, 80, 24);
    assert!(text.contains("older output unavailable"), "{text}");
}

/// The match last jumped to, once any journal search behind it is done.
async fn match_after(
    app: &mut App,
    rx: &mut mpsc::Receiver<AppMessage>,
    keys: &str,
) -> Option<u64> {
    type_keys(app, keys);
    pump_until(app, rx, "the search", |a| !a.run_view().searching_journal()).await;
    wait_loaded(app, rx).await;
    app.run_view().search_match().map(|(_, line)| line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_goes_both_ways_over_the_whole_output_and_wraps_like_vim() {
    let (_dir, mut app, mut rx) = synthetic_app().await;
    // "line 12" is on lines 12 and 121..=129 (120 is "warning 120"): all
    // dropped by the store, so only the journal can find them.
    assert_eq!(match_after(&mut app, &mut rx, "/line 12\n").await, Some(12));
    assert_eq!(
        app.status_text(),
        Some("search hit BOTTOM, continuing at TOP")
    );
    assert!(!app.run_view().following());
    check("run_search_match", &app);
    assert_eq!(match_after(&mut app, &mut rx, "n").await, Some(121));
    assert_eq!(match_after(&mut app, &mut rx, "n").await, Some(122));
    assert_eq!(match_after(&mut app, &mut rx, "N").await, Some(121));
    assert_eq!(match_after(&mut app, &mut rx, "NN").await, Some(129));
    assert_eq!(
        app.status_text(),
        Some("search hit TOP, continuing at BOTTOM")
    );
    // `?` searches backward and `n` goes on backward; the buffer's
    // "warning 300" and the journal's "warning 30" are one search.
    let last = match_after(&mut app, &mut rx, "f?warning 30\n").await;
    assert_eq!(last, Some(300));
    assert!(screen(&app, 80, 24).contains("warning 300"));
    assert_eq!(match_after(&mut app, &mut rx, "n").await, Some(30));
    assert_eq!(match_after(&mut app, &mut rx, "n").await, Some(300));
    // Nothing anywhere: said, and the pane stays.
    let top = app.run_view().top_line();
    type_keys(&mut app, "/no such text\n");
    pump_until(&mut app, &mut rx, "the search", |a| {
        !a.run_view().searching_journal()
    })
    .await;
    assert_eq!(
        app.status_text(),
        Some("'no such text' not found in web-01's output")
    );
    assert_eq!(app.run_view().top_line(), top);
}
