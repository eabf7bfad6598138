//! History's search box (`ctrl-f`) over a real journal holding several
//! runs: the matching lines newest run first as `run · flow · host · step:
//! line` (snapshot at 80×24), Enter opening the run's replay at the host
//! scrolled to the line (one the replay's buffer dropped, so read from the
//! journal), Esc coming back to the matches; and the Run view's search over
//! every host in that replay.

mod console;
use console::journaled::journaled_run;
use console::{press, pump_until, sample_app, screen, type_keys};

use std::path::Path;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use jobdeck::tui::action::{Action, ViewId};
use jobdeck::tui::app::App;
use jobdeck::tui::message::AppMessage;
use tokio::sync::mpsc;

const T0: i64 = 1_700_000_000_000;

fn ctrl_f(app: &mut App) {
    app.on_event(TermEvent::Key(KeyEvent::new(
        KeyCode::Char('f'),
        KeyModifiers::CONTROL,
    )));
}

/// Records one finished run of `flow` in the journal.
fn record_run(path: &Path, flow: &str, step: &str, hosts: &[(&str, Vec<String>)], at: i64) {
    journaled_run(path, flow, step, hosts, at, 32 * 1024);
}

/// Three runs: #1 deploy (web-02 refused twice with the same words, the
/// first far above what the replay's buffer keeps), #2 check (nothing
/// refused), #3 check (db-01 refused once).
fn three_runs(path: &Path) {
    let numbered = |n: usize, special: &[(usize, &str)]| -> Vec<String> {
        (1..=n)
            .map(|i| match special.iter().find(|(at, _)| *at == i) {
                Some((_, text)) => text.to_string(),
                None => format!("line {i} of the deploy output, long enough to fill a buffer"),
            })
            .collect()
    };
    let refused = "connect to 127.0.0.1 port 5432: Connection refused";
    record_run(
        path,
        "deploy",
        "migrate",
        &[
            ("web-01", numbered(20, &[])),
            ("web-02", numbered(2000, &[(10, refused), (1500, refused)])),
        ],
        T0,
    );
    record_run(
        path,
        "check",
        "ping",
        &[("db-01", vec!["pong".into()])],
        T0 + 60_000,
    );
    record_run(
        path,
        "check",
        "ping",
        &[
            ("db-01", vec!["ping: connection refused by peer".into()]),
            ("db-02", vec!["pong".into()]),
        ],
        T0 + 120_000,
    );
}

async fn history_app() -> (tempfile::TempDir, App, mpsc::Receiver<AppMessage>) {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    tokio::task::spawn_blocking({
        let journal = journal.clone();
        move || three_runs(&journal)
    })
    .await
    .unwrap();
    let (tx, rx) = mpsc::channel(256);
    let mut app = sample_app(80, 24);
    app.set_task_sender(tx);
    app.set_journal_path(journal);
    (dir, app, rx)
}

fn check(name: &str, app: &App) {
    insta::with_settings!({ snapshot_suffix => "80x24" }, {
        insta::assert_snapshot!(name, screen(app, 80, 24));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_box_lists_matches_newest_first_and_opens_the_replay_at_the_line() {
    let (_dir, mut app, mut rx) = history_app().await;
    press(&mut app, KeyCode::Char('5'));
    assert_eq!(app.current_view(), ViewId::History);
    ctrl_f(&mut app);
    assert!(app.history_view().searching_journal());
    // Typed a key at a time: each key searches, answers for older
    // queries are dropped.
    type_keys(&mut app, "refused");
    pump_until(&mut app, &mut rx, "the search", |a| {
        a.history_view()
            .search_found()
            .is_some_and(|f| f.query == "refused")
    })
    .await;
    let found = app.history_view().search_found().unwrap().clone();
    let rows: Vec<(i64, &str, &str)> = found
        .hits
        .iter()
        .map(|h| (h.instance, h.host.as_str(), h.text.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (3, "db-01", "ping: connection refused by peer"),
            (
                1,
                "web-02",
                "connect to 127.0.0.1 port 5432: Connection refused"
            ),
            (
                1,
                "web-02",
                "connect to 127.0.0.1 port 5432: Connection refused"
            ),
        ]
    );
    // Let a late answer for an older query come in: it changes nothing.
    for _ in 0..10 {
        pump_until(&mut app, &mut rx, "", |_| true).await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        while let Ok(message) = rx.try_recv() {
            app.on_message(message);
        }
    }
    assert_eq!(app.history_view().search_found().unwrap().query, "refused");
    check("history_search", &app);

    // Enter goes to the list; the third match is web-02's second line.
    type_keys(&mut app, "\n");
    app.dispatch(Action::Down);
    app.dispatch(Action::Down);
    check("history_search_picked", &app);
    type_keys(&mut app, "\n");
    pump_until(&mut app, &mut rx, "the replay at the line", |a| {
        let run = a.history_view().run_view();
        a.history_view().replay_id() == Some(1)
            && run.search_match().is_some()
            && !run.searching_journal()
            && !run.loading_older()
    })
    .await;
    let run = app.history_view().run_view();
    assert_eq!(run.cursor_host_name().as_deref(), Some("web-02"));
    // Line 0 is the step's header: output line N is line N.
    assert_eq!(run.search_match().map(|(_, l)| l), Some(1500));
    assert_eq!(run.search_term(), "refused");
    let text = screen(&app, 80, 24);
    assert!(text.contains("5432: Connection"), "{text}");
    assert!(
        text.contains("'refused' in web-02's output, line 1501"),
        "{text}"
    );

    // `n` goes on with the operator's term: round to web-02's first one,
    // which the replay's buffer dropped.
    type_keys(&mut app, "n");
    pump_until(&mut app, &mut rx, "the next match", |a| {
        !a.history_view().run_view().searching_journal()
    })
    .await;
    assert_eq!(
        app.history_view().run_view().search_match().map(|(_, l)| l),
        Some(10)
    );

    // The search over every host of the replayed run.
    ctrl_f(&mut app);
    type_keys(&mut app, "refused\n");
    pump_until(&mut app, &mut rx, "the counts", |a| {
        !a.history_view().run_view().searching_all_hosts()
    })
    .await;
    let counts: Vec<(String, usize)> = app
        .history_view()
        .run_view()
        .all_host_matches()
        .into_iter()
        .map(|m| (m.name, m.count))
        .collect();
    assert_eq!(counts, [("web-02".to_string(), 2)]);
    app.dispatch(Action::Cancel);

    // Esc leaves the replay for the matches it was opened from.
    app.dispatch(Action::Cancel);
    app.dispatch(Action::Cancel);
    assert_eq!(app.history_view().replay_id(), None);
    assert!(app.history_view().searching_journal());
    let text = screen(&app, 80, 24);
    assert!(text.contains("3 matching lines in 2 runs"), "{text}");
    // And Esc again to the list of runs, whose `/` filters flows.
    app.dispatch(Action::Cancel);
    assert!(!app.history_view().searching_journal());
}

#[test]
fn historys_help_says_what_its_keys_do_there() {
    let mut app = sample_app(100, 40);
    press(&mut app, KeyCode::Char('5'));
    press(&mut app, KeyCode::F(1));
    let text = screen(&app, 100, 40);
    assert!(text.contains("filter the runs by flow name"), "{text}");
    assert!(text.contains("search every run's output"), "{text}");
    assert!(!text.contains("fuzzy filter hosts and groups"), "{text}");
}
