//! The guardrails in the console, on real runs of the sample inventory's
//! local hosts with a real journal: the guard's confirm dialog (the right
//! word lets the run go, a wrong word or Esc refuses it and nothing runs),
//! block and warn hits shown, a held run lock refusing the run by name,
//! pre-flight results in the Run view, notifications of console runs to a
//! real HTTP server on 127.0.0.1; and, from synthetic events, the Run view
//! waiting for a lock and a host waiting for its slot.

mod cli;
mod console;
mod lab;
use console::{press, pump_until, sample_app, screen, type_keys};
use lab::{Answer, HttpServer, Lab};

use std::sync::Arc;

use crossterm::event::KeyCode;
use jobdeck::engine::events::{Event, EventKind, Holder, HostStatus, InstanceStatus};
use jobdeck::flow::catalog::{Catalog, FlowEntry};
use jobdeck::tui::action::{Action, ViewId};
use jobdeck::tui::app::App;
use jobdeck::tui::message::AppMessage;
use jobdeck::tui::run_store::RunStore;
use jobdeck::tui::widgets::dialog::DialogKind;
use tokio::sync::mpsc;

/// The console on the lab's journal running `flow` on the `local` hosts,
/// started through the Planner's start dialog.
async fn started(lab: &Lab, name: &str, flow: &str) -> (App, mpsc::Receiver<AppMessage>) {
    let (mut app, mut rx) = planned(lab, name, flow);
    press(&mut app, KeyCode::Char('s'));
    // A flow with pre-flight checks its hosts first; the dialog follows.
    pump_until(&mut app, &mut rx, "the start dialog", |a| {
        a.dialog().is_some() || a.status_text().is_some_and(|s| s.contains("cannot start"))
    })
    .await;
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::StartRun),
        "{:?}",
        app.status_text()
    );
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.current_view(), ViewId::Run);
    (app, rx)
}

/// The console on the lab's journal, with `flow` (written to the lab) as
/// the planner's only flow and the `local` hosts selected, in the Planner.
fn planned(lab: &Lab, name: &str, flow: &str) -> (App, mpsc::Receiver<AppMessage>) {
    let path = lab.write(&format!("{name}.yml"), flow);
    let (tx, rx) = mpsc::channel(1024);
    let mut app = sample_app(160, 48);
    app.set_task_sender(tx);
    app.set_journal(Some(lab.journal()));
    app.planner_view_mut()
        .set_catalog(Arc::new(Catalog::of_flows(vec![FlowEntry::load(&path)])));
    select_local(&mut app);
    press(&mut app, KeyCode::Char('3'));
    (app, rx)
}

/// Selects the inventory's `local` app (local-1..4) through the tree.
fn select_local(app: &mut App) {
    app.dispatch(Action::Top);
    let labels = app.inventory_view().visible_labels();
    let row = labels.iter().position(|l| l == "local").unwrap();
    for _ in 0..row {
        app.dispatch(Action::Down);
    }
    app.dispatch(Action::ToggleSelect);
}

async fn until_ended(app: &mut App, rx: &mut mpsc::Receiver<AppMessage>) -> (i64, InstanceStatus) {
    pump_until(app, rx, "the run to start", |a| {
        a.active_run().is_some()
            || a.run_view()
                .store()
                .is_some_and(|s| RunStore::lock(s).is_finished())
    })
    .await;
    pump_until(app, rx, "the run to end", |a| a.active_run().is_none()).await;
    let store = app.run_view().store().unwrap().clone();
    let store = RunStore::lock(&store);
    (store.instance, store.status)
}

fn guard_dialog(app: &App) -> bool {
    matches!(
        app.dialog().map(|d| &d.kind),
        Some(DialogKind::GuardConfirm { .. })
    )
}

/// `userdel` is a built-in confirm rule; the user does not exist, so the
/// command is harmless when confirmed.
const CONFIRM_FLOW: &str = "name: remove-user\nsteps:\n  - name: remove\n    command: userdel jobdeck-no-such-user 2>/dev/null; echo after-the-guard\n";

fn hits(export: &serde_json::Value) -> Vec<(String, String)> {
    export["guard_hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["rule"].as_str().unwrap().to_owned(),
                h["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_word_lets_a_confirm_rule_through() {
    let lab = Lab::new();
    let (mut app, mut rx) = started(&lab, "remove-user", CONFIRM_FLOW).await;
    pump_until(&mut app, &mut rx, "the guard's dialog", guard_dialog).await;
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("rule 'userdel' at")
            && text.contains("remove-user.yml:4: `userdel`")
            && text.contains("type the rule's word: 'userdel'"),
        "{text}"
    );
    // Nothing ran while it asks.
    {
        let store = app.run_view().store().unwrap().clone();
        let store = RunStore::lock(&store);
        assert!(store.hosts.iter().all(|h| h.status == HostStatus::Pending));
    }
    type_keys(&mut app, "userdel");
    assert!(screen(&app, 160, 48).contains("> userdel▏"));
    for (w, h) in [(80, 24), (160, 48)] {
        app.dispatch(Action::Resize(w, h));
        let text = screen(&app, w, h);
        insta::with_settings!({
            snapshot_suffix => format!("{w}x{h}"),
            filters => vec![(r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]"), (r"\b\d{2}:\d{2}:\d{2}\b", "HH:MM:SS")],
        }, {
            insta::assert_snapshot!("guard_confirm_dialog", text);
        });
    }
    app.dispatch(Action::Resize(160, 48));
    press(&mut app, KeyCode::Enter);
    let (id, status) = until_ended(&mut app, &mut rx).await;
    assert_eq!(status, InstanceStatus::Ok);
    let store = app.run_view().store().unwrap().clone();
    {
        let store = RunStore::lock(&store);
        let out: Vec<&str> = store.hosts[0].lines().iter().map(|l| &*l.text).collect();
        assert!(out.contains(&"after-the-guard"), "{out:?}");
    }
    assert!(screen(&app, 160, 48).contains("guard: userdel confirmed at"));
    assert_eq!(
        hits(&lab.export(id)),
        [("userdel".to_string(), "confirmed".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_word_or_esc_refuses_the_run_and_nothing_runs() {
    for (answer, said) in [
        (
            Some("usrdel"),
            "a wrong word was typed for the guard's rule 'userdel'",
        ),
        (None, "the operator refused the guard's rule 'userdel'"),
    ] {
        let lab = Lab::new();
        let (mut app, mut rx) = started(&lab, "remove-user", CONFIRM_FLOW).await;
        pump_until(&mut app, &mut rx, "the guard's dialog", guard_dialog).await;
        match answer {
            Some(word) => {
                type_keys(&mut app, word);
                press(&mut app, KeyCode::Enter);
            }
            None => press(&mut app, KeyCode::Esc),
        }
        let (id, status) = until_ended(&mut app, &mut rx).await;
        assert_eq!(status, InstanceStatus::Aborted);
        assert!(!guard_dialog(&app));
        let text = screen(&app, 160, 48);
        assert!(
            text.contains("not started:") && text.contains(said),
            "{text}"
        );
        assert!(text.contains("guard: userdel refused at"), "{text}");
        let export = lab.export(id);
        assert_eq!(
            hits(&export),
            [("userdel".to_string(), "refused".to_string())]
        );
        // No host ran a step.
        for (host, status) in lab::host_statuses(&export) {
            assert_eq!(status, "skipped", "{host}");
        }
        let store = app.run_view().store().unwrap().clone();
        assert!(
            RunStore::lock(&store)
                .hosts
                .iter()
                .all(|h| h.lines().is_empty())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_hit_refuses_the_run_naming_the_rule_and_a_warn_hit_is_shown() {
    let lab = Lab::new();
    let (mut app, mut rx) = started(
        &lab,
        "wipe",
        "name: wipe\nsteps:\n  - name: wipe\n    command: rm -rf / --no-preserve-root\n",
    )
    .await;
    let (id, status) = until_ended(&mut app, &mut rx).await;
    assert_eq!(status, InstanceStatus::Aborted);
    assert!(!guard_dialog(&app));
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("not started:") && text.contains("rm-root"),
        "{text}"
    );
    assert!(text.contains("guard: rm-root blocked at"), "{text}");
    assert!(hits(&lab.export(id)).contains(&("rm-root".to_string(), "blocked".to_string())));

    let lab = Lab::new();
    let (mut app, mut rx) = started(&lab,
        "fetch",
        "name: fetch\nsteps:\n  - name: fetch\n    command: curl -fsS http://127.0.0.1:9/x | sh || echo fetched\n",
    ).await;
    let (_, status) = until_ended(&mut app, &mut rx).await;
    assert_eq!(status, InstanceStatus::Ok);
    let text = screen(&app, 160, 48);
    assert!(text.contains("guard: pipe-to-shell warned at"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_refuses_the_console_run_naming_the_holder() {
    let lab = Lab::new();
    jobdeck::journal::Journal::open(lab.journal()).unwrap();
    let coordinator = jobdeck::locks::JournalCoordinator::open(&lab.journal()).unwrap();
    use jobdeck::engine::Coordinator;
    assert_eq!(coordinator.try_lock("db-main", 4242).unwrap(), None);
    let (mut app, mut rx) = started(
        &lab,
        "locked",
        "name: locked\nlock: db-main\nsteps:\n  - command: echo should-not-run\n",
    )
    .await;
    let (_, status) = until_ended(&mut app, &mut rx).await;
    assert_eq!(status, InstanceStatus::Aborted);
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("not started: lock 'db-main' is held by run 4242"),
        "{text}"
    );
}

/// Each check appends its host to a file: how many times each host was
/// checked. local-3 fails its check.
fn checked_flow(lab: &Lab) -> String {
    let log = lab.path("checks.log");
    format!(
        "name: checked\npreflight: ['echo \"$JOBDECK_HOST\" >> {}; test \"$JOBDECK_HOST\" != local-3']\nsteps:\n  - command: echo ran\n",
        log.display()
    )
}

fn checks_made(lab: &Lab) -> Vec<String> {
    let mut hosts: Vec<String> = std::fs::read_to_string(lab.path("checks.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    hosts.sort();
    hosts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planner_shows_pre_flight_before_the_start_and_the_run_does_not_check_again() {
    let lab = Lab::new();
    let flow = checked_flow(&lab);
    let (mut app, mut rx) = planned(&lab, "checked", &flow);
    press(&mut app, KeyCode::Char('s'));
    pump_until(&mut app, &mut rx, "the start dialog", |a| {
        a.dialog().is_some()
    })
    .await;
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("== pre-flight (warn): 3 of 4 hosts ready")
            && text.contains("local-[1-2,4]")
            && text.contains("local-3")
            && text.contains("check `echo")
            && text.contains("no second check"),
        "{text}"
    );
    assert_eq!(
        checks_made(&lab),
        ["local-1", "local-2", "local-3", "local-4"]
    );
    press(&mut app, KeyCode::Char('y'));
    // Warn: the run goes on (local-3 is reachable, only its check failed).
    let (id, status) = until_ended(&mut app, &mut rx).await;
    assert_eq!(status, InstanceStatus::Ok);
    // The run took the Planner's results: no host was checked twice.
    assert_eq!(
        checks_made(&lab),
        ["local-1", "local-2", "local-3", "local-4"]
    );
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("pre-flight (warn): 3 of 4 ready; local-3: check"),
        "{text}"
    );
    let recorded = lab.export(id)["preflight"].as_array().unwrap().len();
    assert_eq!(recorded, 4);

    // Back to the plan instead: nothing starts; a new start checks again.
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('s'));
    pump_until(&mut app, &mut rx, "the start dialog", |a| {
        a.dialog().is_some()
    })
    .await;
    press(&mut app, KeyCode::Esc);
    assert!(app.dialog().is_none());
    assert_eq!(checks_made(&lab).len(), 8);
    assert_eq!(lab.history().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_runs_notify_as_headless_runs_do() {
    let lab = Lab::new();
    let server = HttpServer::start(Answer::Status(200));
    let flow = format!(
        "name: told\nnotify:\n  - webhook: {}\n    on: [started, finished]\nsteps:\n  - command: echo told\n",
        server.url("/hook")
    );
    let (mut app, mut rx) = started(&lab, "told", &flow).await;
    let (id, status) = until_ended(&mut app, &mut rx).await;
    assert_eq!(status, InstanceStatus::Ok);
    // Deliveries are done (and recorded) before the run is reported ended.
    let requests = server.requests();
    let events: Vec<String> = requests
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["started", "finished"]);
    let finished = requests[1].json();
    assert_eq!(finished["instance"], id);
    assert_eq!(finished["trigger"], "manual");
    assert_eq!(finished["status"], "ok");
    let export = lab.export(id);
    let recorded = export["notifications"].as_array().unwrap();
    assert_eq!(recorded.len(), 2, "{recorded:?}");

    // A target that answers 500 is retried, recorded failed, and said.
    let lab = Lab::new();
    let failing = HttpServer::start(Answer::Status(500));
    let flow = format!(
        "name: told\nnotify:\n  - webhook: {}\n    on: [finished]\n    retries: 1\n    backoff: 10ms\nsteps:\n  - command: echo told\n",
        failing.url("/hook")
    );
    let (mut app, mut rx) = started(&lab, "told", &flow).await;
    let (id, _) = until_ended(&mut app, &mut rx).await;
    assert_eq!(failing.requests().len(), 2);
    let status = app.status_text().unwrap();
    assert!(
        status.contains("notification 'finished'") && status.contains("failed after 2 attempt(s)"),
        "{status}"
    );
    assert_eq!(lab.export(id)["notifications"].as_array().unwrap().len(), 1);
}

// ---- From synthetic events: waits the console cannot cause alone ----------

fn at(kind: EventKind) -> Event {
    Event {
        instance: 7,
        at: 1_000,
        kind,
    }
}

fn holder() -> Holder {
    Holder {
        instance: Some(12),
        user: "ops".into(),
        host: "ctl1".into(),
        pid: 4242,
        since: 0,
    }
}

fn view_of(store: RunStore, width: u16, height: u16) -> App {
    let mut app = sample_app(width, height);
    app.run_view_mut().set_fixed_now(61_000);
    app.run_view_mut().set_store(store.shared());
    app.dispatch(Action::ShowView(ViewId::Run));
    app
}

#[test]
fn a_run_waiting_for_its_lock_and_a_host_for_its_slot_say_so() {
    let mut store = RunStore::default();
    store.absorb(&at(EventKind::LockWaiting {
        name: "db-main".into(),
        holder: Box::new(holder()),
        until: Some(301_000),
    }));
    let app = view_of(store.clone(), 160, 48);
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("waiting for lock 'db-main' held by run 12 (ops on ctl1, pid 4242) since")
            && text.contains("gives up in"),
        "{text}"
    );

    store.absorb(&at(EventKind::LockAcquired {
        name: "db-main".into(),
    }));
    store.absorb(&at(EventKind::InstanceStarted {
        flow: "deploy".into(),
        hosts: vec!["web1".into(), "web2".into()],
        steps: vec!["install".into()],
        batches: vec![vec![0, 1]],
    }));
    store.absorb(&at(EventKind::BatchStarted { batch: 0 }));
    store.absorb(&at(EventKind::StepStarted {
        host: 0,
        step: 0,
        attempt: 1,
    }));
    store.absorb(&at(EventKind::HostSlotWaiting {
        host: 1,
        step: 0,
        limit: 1,
        holders: vec![holder()],
    }));
    let mut app = view_of(store, 160, 48);
    let text = screen(&app, 160, 48);
    assert!(!text.contains("waiting for lock"), "{text}");
    assert!(text.contains("slot…"), "{text}");
    app.dispatch(Action::Down);
    let text = screen(&app, 160, 48);
    assert!(
        text.contains("waits for its turn: 1 jobdeck step(s) already run on this host (run 12 (ops on ctl1, pid 4242))"),
        "{text}"
    );
}
