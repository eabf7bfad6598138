//! The Run view's search over every host (`ctrl-f`): the list of hosts
//! whose output matches with a count each, Enter jumping to a host's first
//! match, `n`/`N` going on across hosts. A run written to a journal from
//! synthetic events with a 1 KiB buffer (so some matches are only in the
//! journal), snapshots at 80×24; and a live run through the sshd fixture
//! whose new matches show while the list is open.

mod console;
mod support;
use console::journaled::journaled_run;
use console::{pump_until, sample_app, screen, type_keys};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use jobdeck::engine::events::InstanceStatus;
use jobdeck::engine::{
    Action as StepAction, ControlHandle, EventSink, OnFailure, Plan, PlannedHost, PlannedStep,
    Policy, StartPoint,
};
use jobdeck::journal::{Journal, JournalWriter, NewInstance, Trigger, WriterOptions};
use jobdeck::transport::{self, KnownHosts, Payload, Transport, TransportOptions};
use jobdeck::tui::action::Action;
use jobdeck::tui::app::App;
use jobdeck::tui::message::AppMessage;
use jobdeck::tui::run_store::RunStore;
use jobdeck::tui::views::run::HostMatches;
use support::SshdFixture;
use tokio::sync::mpsc;

const T0: i64 = 1_700_000_000_000;
const HOSTS: [&str; 3] = ["web-01", "web-02", "web-03"];

fn ctrl_f(app: &mut App) {
    app.on_event(TermEvent::Key(KeyEvent::new(
        KeyCode::Char('f'),
        KeyModifiers::CONTROL,
    )));
}

/// Each host prints 200 numbered lines; web-01 has "error" on lines 5 and
/// 150 (the first long dropped by the 1 KiB buffer), web-02 none, web-03
/// on lines 20, 60 and 199.
fn errors_of(host: usize) -> &'static [u64] {
    match host {
        0 => &[5, 150],
        1 => &[],
        _ => &[20, 60, 199],
    }
}

fn synthetic_run(path: &Path) -> RunStore {
    let hosts: Vec<(&str, Vec<String>)> = HOSTS
        .iter()
        .enumerate()
        .map(|(host, &name)| {
            let lines = (1..=200u64)
                .map(|n| match errors_of(host).contains(&n) {
                    true => format!("line {n}: ERROR disk"),
                    false => format!("line {n}"),
                })
                .collect();
            (name, lines)
        })
        .collect();
    journaled_run(path, "count", "count", &hosts, T0, 1024)
}

async fn synthetic_app() -> (tempfile::TempDir, App, mpsc::Receiver<AppMessage>) {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let store = tokio::task::spawn_blocking({
        let journal = journal.clone();
        move || synthetic_run(&journal)
    })
    .await
    .unwrap();
    // The buffer dropped web-01's line 5 and web-03's line 20.
    assert!(store.hosts[0].first_line() > 100);
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

fn counts(app: &App) -> Vec<(String, usize)> {
    app.run_view()
        .all_host_matches()
        .into_iter()
        .map(|HostMatches { name, count, .. }| (name, count))
        .collect()
}

/// Until the journal searches and the older lines they lead to are in.
async fn settle(app: &mut App, rx: &mut mpsc::Receiver<AppMessage>) {
    app.tick();
    pump_until(app, rx, "the journal search", |a| {
        let view = a.run_view();
        !view.searching_all_hosts() && !view.searching_journal() && !view.loading_older()
    })
    .await;
}

fn cursor_and_match(app: &App) -> (String, Option<u64>) {
    let view = app.run_view();
    (
        view.cursor_host_name().unwrap(),
        view.search_match().map(|(_, line)| line),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_over_every_host_lists_counts_and_n_goes_on_across_hosts() {
    let (_dir, mut app, mut rx) = synthetic_app().await;
    ctrl_f(&mut app);
    type_keys(&mut app, "error");
    check("run_all_hosts_box", &app);
    type_keys(&mut app, "\n");
    settle(&mut app, &mut rx).await;
    // Counts cover the lines only the journal holds.
    assert_eq!(
        counts(&app),
        [("web-01".to_string(), 2), ("web-03".to_string(), 3)]
    );
    assert!(app.run_view().listing_all_hosts());
    check("run_all_hosts_list", &app);

    // Enter on web-03 (second row): its first match, read from the journal.
    app.dispatch(Action::Down);
    app.dispatch(Action::Submit);
    settle(&mut app, &mut rx).await;
    assert!(!app.run_view().listing_all_hosts());
    // Line 0 is the step header: "line N" is line N.
    assert_eq!(cursor_and_match(&app), ("web-03".into(), Some(20)));
    check("run_all_hosts_jumped", &app);
    let mut seen = Vec::new();
    for _ in 0..5 {
        type_keys(&mut app, "n");
        settle(&mut app, &mut rx).await;
        seen.push(cursor_and_match(&app));
    }
    let at = |h: &str, l: u64| (h.to_string(), Some(l));
    assert_eq!(
        seen,
        [
            at("web-03", 60),
            at("web-03", 199),
            // After web-03's last match: round the host list to web-01.
            at("web-01", 5),
            at("web-01", 150),
            at("web-03", 20),
        ]
    );
    let text = screen(&app, 80, 24);
    assert!(text.contains("search went on to web-03"), "{text}");
    // N goes back the other way: web-01's last match.
    type_keys(&mut app, "N");
    settle(&mut app, &mut rx).await;
    assert_eq!(cursor_and_match(&app), at("web-01", 150));
    // The list comes back with ctrl-f and Esc closes it; another key
    // (here `n`) closes it and does what it does.
    ctrl_f(&mut app);
    type_keys(&mut app, "\n");
    assert!(app.run_view().listing_all_hosts());
    app.dispatch(Action::Cancel);
    assert!(!app.run_view().listing_all_hosts());
    ctrl_f(&mut app);
    type_keys(&mut app, "\n");
    type_keys(&mut app, "n");
    settle(&mut app, &mut rx).await;
    assert!(!app.run_view().listing_all_hosts());
    assert_eq!(cursor_and_match(&app), at("web-03", 20));
    // A term found nowhere says so.
    ctrl_f(&mut app);
    type_keys(&mut app, "nothing-like-this\n");
    settle(&mut app, &mut rx).await;
    assert!(counts(&app).is_empty());
    let text = screen(&app, 80, 24);
    assert!(text.contains("no host's output holds it"), "{text}");
}

fn host(name: &str, errors: usize, sshd: &SshdFixture) -> PlannedHost {
    PlannedHost {
        name: name.to_string(),
        target: sshd.target(name),
        env: vec![("ERRORS".into(), errors.to_string())],
    }
}

/// Each host prints ERRORS "needle early" lines, 3000 numbers (the store's
/// 4 KiB buffer drops the early ones), waits for the file `go` to appear,
/// then prints ERRORS "needle late" lines.
fn plan(id: i64, sshd: &SshdFixture, go: &Path) -> Plan {
    let command = format!(
        "for i in $(seq 1 $ERRORS); do echo needle early; done; seq 1 3000; \
         while [ ! -e {go} ]; do sleep 0.1; done; \
         for i in $(seq 1 $ERRORS); do echo needle late; done",
        go = go.display()
    );
    Plan {
        instance: id,
        flow: "needles".into(),
        hosts: vec![
            host("ssh-01", 1, sshd),
            host("ssh-02", 0, sshd),
            host("ssh-03", 2, sshd),
        ],
        batches: vec![vec![0, 1, 2]],
        steps: vec![PlannedStep {
            name: "print".into(),
            action: StepAction::Run(Payload::Command(command)),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_run_through_sshd_shows_new_matches_while_the_list_is_open() {
    let sshd = SshdFixture::start();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let go = dir.path().join("go");
    let id = Journal::open(&journal)
        .unwrap()
        .create_instance(&NewInstance {
            flow: "needles".into(),
            flow_snapshot: "name: needles\n".into(),
            hosts: vec!["ssh-01".into(), "ssh-02".into(), "ssh-03".into()],
            trigger: Trigger::Cli,
            ..NewInstance::default()
        })
        .unwrap();
    let store = RunStore::new(id, 4096).shared();
    let (tx, mut rx) = mpsc::channel(256);
    let mut app = sample_app(80, 24);
    app.set_task_sender(tx);
    app.set_journal(Some(journal.clone()));
    app.show_run_store(store.clone());

    // The engine's events go to the journal's writer and into the store,
    // as the console's run task sends them.
    let (journal_sink, writer) = JournalWriter::spawn(&journal, WriterOptions::default()).unwrap();
    let mut sink = EventSink::new();
    let to_journal = sink.subscribe(4096);
    let mut to_store = sink.subscribe(4096);
    let (controls, control_rx) = ControlHandle::channel();
    let forward = tokio::spawn(jobdeck::journal::forward::forward_to_journal(
        to_journal,
        journal_sink,
        controls,
        None,
    ));
    let absorb = tokio::spawn({
        let store = store.clone();
        async move {
            while let Some(event) = to_store.recv().await {
                RunStore::lock(&store).absorb(&event);
            }
        }
    });
    let transport = Transport::new(TransportOptions {
        known_hosts: Arc::new(KnownHosts::new()),
        passphrase_prompt: Arc::new(transport::NoPassphrase),
        agent_socket: None,
        default_identity_files: Vec::new(),
    });
    let engine = tokio::spawn(jobdeck::engine::run(
        plan(id, &sshd, &go),
        transport,
        sink,
        control_rx,
    ));

    pump_until(&mut app, &mut rx, "the numbers to be printed", |a| {
        let store = RunStore::lock(a.run_view().store().unwrap());
        store.hosts.len() == 3 && store.hosts.iter().all(|h| h.total_lines() >= 3001)
    })
    .await;
    assert!(RunStore::lock(&store).hosts[0].first_line() > 0);
    ctrl_f(&mut app);
    type_keys(&mut app, "NEEDLE\n");
    settle(&mut app, &mut rx).await;
    // The early needles were dropped by the buffer: the journal has them.
    assert_eq!(
        counts(&app),
        [("ssh-01".to_string(), 1), ("ssh-03".to_string(), 2)]
    );
    assert!(!engine.is_finished(), "the run is still live");

    // The hosts print their late needles while the list is open.
    std::fs::write(&go, "").unwrap();
    pump_until(&mut app, &mut rx, "the late matches", |a| {
        a.run_view()
            .all_host_matches()
            .iter()
            .map(|m| m.count)
            .sum::<usize>()
            == 6
    })
    .await;
    assert_eq!(
        counts(&app),
        [("ssh-01".to_string(), 2), ("ssh-03".to_string(), 4)]
    );
    let text = screen(&app, 80, 24);
    assert!(text.contains("'NEEDLE' in 2 of 3 hosts"), "{text}");
    assert!(text.contains("4 matches"), "{text}");

    // Enter: ssh-01's first match is its early needle, from the journal.
    app.dispatch(Action::Submit);
    settle(&mut app, &mut rx).await;
    let view = app.run_view();
    assert_eq!(view.cursor_host_name().as_deref(), Some("ssh-01"));
    assert_eq!(view.search_match().map(|(_, l)| l), Some(1));
    type_keys(&mut app, "n");
    settle(&mut app, &mut rx).await;
    assert_eq!(app.run_view().search_match().map(|(_, l)| l), Some(3002));
    type_keys(&mut app, "n");
    settle(&mut app, &mut rx).await;
    assert_eq!(app.run_view().cursor_host_name().as_deref(), Some("ssh-03"));
    assert_eq!(app.run_view().search_match().map(|(_, l)| l), Some(1));

    assert_eq!(engine.await.unwrap(), InstanceStatus::Ok);
    absorb.await.unwrap();
    forward.await.unwrap();
    tokio::task::spawn_blocking(move || writer.join().unwrap())
        .await
        .unwrap();
}
