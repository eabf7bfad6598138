//! Several runs in one console and the `:` command box.
//!
//! The run list from synthetic engine events (snapshots at 80×24 with two
//! and three runs, `{` `}` switching); two real runs through the sshd
//! fixture (tests/support) where pausing and aborting one leaves the other
//! to run to its end, and quitting with both live asks once about both;
//! the command box (snapshot, history, a real run through sshd started
//! from it, in the Run view's list and in the journal); a guarded command
//! refused as `jobdeck --run -c` refuses it.

mod cli;
mod console;
mod lab;
mod support;

use console::{press, pump_until, sample_app, screen, type_keys};

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use crossterm::event::KeyCode;
use jobdeck::engine::events::{
    Event, EventKind, HostStatus, InstanceStatus, StepOutcome, Stream, WaitReason,
};
use jobdeck::inventory::Inventory;
use jobdeck::journal::Journal;
use jobdeck::tui::action::{Action, ViewId};
use jobdeck::tui::app::App;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::message::AppMessage;
use jobdeck::tui::run_store::{RunStore, SharedRunStore};
use jobdeck::tui::theme::Theme;
use jobdeck::tui::widgets::dialog::DialogKind;
use support::SshdFixture;
use tokio::sync::mpsc;

fn check(name: &str, text: String) {
    insta::with_settings!({
        snapshot_suffix => "80x24",
        filters => vec![
            (r"\b\d{2}:\d{2}:\d{2}\b", "HH:MM:SS"),
            (r"\b\d+(\.\d)?s\b", "Ns"),
            (r"\b\d+m\d{2}s\b", "Ns"),
        ],
    }, {
        insta::assert_snapshot!(name, text);
    });
}

// ---- The run list, from synthetic events ------------------------------------

const T0: i64 = 1_700_000_000_000;

/// A run of `flow` on `hosts` hosts, as the engine reported it: the first
/// `done` hosts ended ok, then `then`.
fn synthetic(
    instance: i64,
    flow: &str,
    hosts: usize,
    done: usize,
    then: Vec<EventKind>,
) -> SharedRunStore {
    let mut store = RunStore::default();
    let mut events = vec![
        EventKind::InstanceStarted {
            flow: flow.into(),
            hosts: (1..=hosts).map(|i| format!("web-{i:02}")).collect(),
            steps: vec!["step".into()],
            batches: vec![(0..hosts).collect()],
        },
        EventKind::BatchStarted { batch: 0 },
    ];
    for host in 0..done {
        events.push(EventKind::StepStarted {
            host,
            step: 0,
            attempt: 1,
        });
        events.push(EventKind::Output {
            host,
            step: 0,
            stream: Stream::Stdout,
            data: Bytes::from(format!("{flow} on web-{:02}\n", host + 1)),
        });
        events.push(EventKind::StepFinished {
            host,
            step: 0,
            attempt: 1,
            outcome: StepOutcome {
                status: HostStatus::Ok,
                exit_code: Some(0),
                signal: None,
                error: None,
            },
        });
        events.push(EventKind::HostFinished {
            host,
            status: HostStatus::Ok,
        });
    }
    events.extend(then);
    for (i, kind) in events.into_iter().enumerate() {
        store.absorb(&Event {
            instance,
            at: T0 + i as i64 * 100,
            kind,
        });
    }
    store.shared()
}

/// Three runs: one waiting for its next batch to be confirmed, one ended,
/// one running.
fn three_runs() -> Vec<SharedRunStore> {
    vec![
        synthetic(
            7,
            "deploy",
            6,
            2,
            vec![EventKind::Waiting {
                next_batch: 1,
                reason: WaitReason::Confirm,
                until: None,
            }],
        ),
        synthetic(
            8,
            "adhoc: uptime",
            3,
            3,
            vec![
                EventKind::BatchFinished {
                    batch: 0,
                    ok: 3,
                    failed: 0,
                },
                EventKind::InstanceFinished {
                    status: InstanceStatus::Ok,
                    reason: None,
                },
            ],
        ),
        synthetic(9, "health-check", 4, 1, Vec::new()),
    ]
}

#[test]
fn the_run_list_shows_each_run_and_switches_with_braces() {
    let mut app = sample_app(80, 24);
    let runs = three_runs();
    app.show_run_store(runs[0].clone());
    app.run_view_mut().set_fixed_now(T0 + 5_000);
    // One run: no list row, the view is as it always was.
    assert!(!screen(&app, 80, 24).contains(" 7 deploy"));
    app.show_run_store(runs[1].clone());
    check("run_list_two_runs", screen(&app, 80, 24));
    app.show_run_store(runs[2].clone());
    assert_eq!(app.run_list(), (3, 2));
    check("run_list_three_runs", screen(&app, 80, 24));
    // `}` goes round to the first, `{` back to the last.
    press(&mut app, KeyCode::Char('}'));
    assert_eq!(app.run_list(), (3, 0));
    let shown = app.run_view().store().unwrap().clone();
    assert!(Arc::ptr_eq(&shown, &runs[0]));
    let text = screen(&app, 80, 24);
    assert!(text.contains("Run 7 · deploy"), "{text}");
    check("run_list_first_shown", text);
    // Each run keeps where its cursor stood.
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.run_view().cursor_host_name().as_deref(), Some("web-02"));
    press(&mut app, KeyCode::Char('{'));
    assert_eq!(app.run_list(), (3, 2));
    assert_eq!(app.run_view().cursor_host_name().as_deref(), Some("web-01"));
    press(&mut app, KeyCode::Char('}'));
    assert_eq!(app.run_view().cursor_host_name().as_deref(), Some("web-02"));
    press(&mut app, KeyCode::Char('{'));
    // `[` and `]` still switch views.
    press(&mut app, KeyCode::Char(']'));
    assert_eq!(app.current_view(), ViewId::History);
}

#[test]
fn a_long_list_keeps_the_shown_run_in_sight() {
    let mut app = sample_app(80, 24);
    for id in 1..=7 {
        app.show_run_store(synthetic(id, "a-long-flow-name", 2, 1, Vec::new()));
    }
    let text = screen(&app, 80, 24);
    let row = text.lines().nth(1).unwrap();
    assert!(row.starts_with("\"…"), "{row}");
    assert!(row.contains("[7 a-long-flow… ▶ 1/2]"), "{row}");
    assert!(!row.contains(" 1 a-long-flow"), "{row}");
}

// ---- Real runs through sshd ------------------------------------------------

struct SshLab {
    dir: tempfile::TempDir,
    sshd: SshdFixture,
}

impl SshLab {
    /// Two inventory hosts on the fixture's sshd, and flows beside them:
    /// `slow` (a few seconds per host), `quick`.
    fn new() -> SshLab {
        let lab = SshLab {
            dir: tempfile::tempdir().unwrap(),
            sshd: SshdFixture::start(),
        };
        let mut text = String::from("[fleet]\n");
        for name in ["web1", "web2"] {
            // Only the fixture's key: a key of the machine's with a
            // passphrase would ask in a dialog nobody answers here.
            let line = lab.sshd.host_line(name, lab.sshd.port);
            let line = line.replace(
                "-o UserKnownHostsFile",
                "-o IdentitiesOnly=yes -o UserKnownHostsFile",
            );
            writeln!(text, "{line}").unwrap();
        }
        std::fs::write(lab.dir.path().join("hosts.ini"), text).unwrap();
        let flows = lab.dir.path().join("flows");
        std::fs::create_dir_all(&flows).unwrap();
        std::fs::write(
            flows.join("slow.yml"),
            "name: slow\nsteps:\n  - name: wait\n    command: sleep 3; echo slow-done\n",
        )
        .unwrap();
        std::fs::write(
            flows.join("gated.yml"),
            "name: gated\nrollout:\n  mode: confirm\nsteps:\n  - name: hello\n    command: echo gated-hello\n",
        )
        .unwrap();
        std::fs::write(
            flows.join("quick.yml"),
            "name: quick\nsteps:\n  - name: greet\n    command: sleep 1; echo quick-done\n",
        )
        .unwrap();
        lab
    }

    fn journal(&self) -> PathBuf {
        self.dir.path().join("journal.db")
    }

    /// The console on this lab's inventory and journal, both hosts
    /// selected, in the Inventory.
    async fn app(&self) -> (App, mpsc::Receiver<AppMessage>) {
        let (tx, mut rx) = mpsc::channel(1024);
        let mut app = App::new(Theme::default_theme(), Keymap::builtin());
        app.set_fixed_clock("12:00:00");
        app.dispatch(Action::Resize(160, 48));
        app.set_task_sender(tx);
        app.set_journal(Some(self.journal()));
        let inventory = self.dir.path().join("hosts.ini");
        let inv = Inventory::load(&[inventory.to_string_lossy().into_owned()]).unwrap();
        app.set_inventory(Arc::new(inv), self.dir.path().to_path_buf());
        pump_until(&mut app, &mut rx, "the flows", |a| {
            a.planner_view().flow_labels().contains(&"slow".to_string())
        })
        .await;
        app.dispatch(Action::SelectAll);
        assert_eq!(app.selection(), ["web1", "web2"]);
        (app, rx)
    }
}

/// Replaces a Planner text field's value through the keys an operator uses.
fn set_field(app: &mut App, label: &str, value: &str) {
    assert!(app.planner_view_mut().focus_row(label), "no row {label}");
    press(app, KeyCode::Enter);
    app.dispatch(Action::ClearInput);
    type_keys(app, value);
    press(app, KeyCode::Enter);
}

/// Starts `flow` from the Planner, one host per batch; returns its store
/// once it has started.
async fn start_flow(
    app: &mut App,
    rx: &mut mpsc::Receiver<AppMessage>,
    flow: &str,
) -> SharedRunStore {
    press(app, KeyCode::Char('3'));
    assert!(app.planner_view_mut().choose_flow(flow));
    set_field(app, "Batches", "1 1");
    set_field(app, "Forks", "1");
    press(app, KeyCode::Char('s'));
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::StartRun),
        "{:?}",
        app.status_text()
    );
    press(app, KeyCode::Char('y'));
    assert_eq!(app.current_view(), ViewId::Run);
    let store = app.run_view().store().unwrap().clone();
    pump_until(app, rx, &format!("{flow} to start"), |a| {
        a.live_runs().iter().any(|h| Arc::ptr_eq(&h.store, &store))
    })
    .await;
    store
}

fn host_running(store: &SharedRunStore, host: usize) -> bool {
    RunStore::lock(store)
        .hosts
        .get(host)
        .is_some_and(|h| h.status == HostStatus::Running)
}

fn instance_of(store: &SharedRunStore) -> i64 {
    RunStore::lock(store).instance
}

fn lines_of(store: &SharedRunStore, host: usize) -> Vec<String> {
    RunStore::lock(store).hosts[host]
        .lines()
        .iter()
        .map(|l| l.text.to_string())
        .collect()
}

fn journal_status(journal: &Path, id: i64) -> InstanceStatus {
    Journal::open(journal)
        .unwrap()
        .instance(id)
        .unwrap()
        .unwrap()
        .instance
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_and_aborting_one_run_leaves_the_other_to_run_to_its_end() {
    let lab = SshLab::new();
    let (mut app, mut rx) = lab.app().await;
    let slow = start_flow(&mut app, &mut rx, "slow").await;
    pump_until(&mut app, &mut rx, "slow's first host to run", |_| {
        host_running(&slow, 0)
    })
    .await;
    // Pause the slow run: its second host must not start.
    press(&mut app, KeyCode::Char('p'));
    pump_until(&mut app, &mut rx, "the slow run to pause", |_| {
        RunStore::lock(&slow).paused
    })
    .await;
    // A second run while the first is live: added, not refused.
    let quick = start_flow(&mut app, &mut rx, "quick").await;
    assert_eq!(app.run_list(), (2, 1));
    assert!(!Arc::ptr_eq(&slow, &quick));
    pump_until(&mut app, &mut rx, "the quick run to end", |_| {
        RunStore::lock(&quick).is_finished()
    })
    .await;
    {
        let q = RunStore::lock(&quick);
        assert_eq!(q.status, InstanceStatus::Ok, "{:?}", q.reason);
        assert!(q.hosts.iter().all(|h| h.status == HostStatus::Ok));
    }
    assert!(lines_of(&quick, 1).contains(&"quick-done".to_string()));
    // The paused run stood still meanwhile: its first host ended, the
    // second never started, and it is still live.
    pump_until(&mut app, &mut rx, "slow's first host to end", |_| {
        RunStore::lock(&slow).hosts[0].status == HostStatus::Ok
    })
    .await;
    {
        let s = RunStore::lock(&slow);
        assert!(s.paused && !s.is_finished());
        assert_eq!(s.hosts[1].status, HostStatus::Pending);
    }
    let slow_id = instance_of(&slow);
    assert_eq!(app.live_runs().len(), 1);
    assert_eq!(app.live_runs()[0].instance, slow_id);
    // The shown run (quick) has ended: controls do not reach the other one.
    press(&mut app, KeyCode::Char('a'));
    assert!(app.dialog().is_none(), "abort asked about an ended run");
    // `{` shows the slow run; abort acts on it alone.
    press(&mut app, KeyCode::Char('{'));
    assert!(Arc::ptr_eq(app.run_view().store().unwrap(), &slow));
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::AbortRun)
    );
    press(&mut app, KeyCode::Char('y'));
    pump_until(&mut app, &mut rx, "the slow run to end", |a| {
        a.live_runs().is_empty()
    })
    .await;
    assert_eq!(RunStore::lock(&slow).status, InstanceStatus::Aborted);
    assert_eq!(
        journal_status(&lab.journal(), slow_id),
        InstanceStatus::Aborted
    );
    assert_eq!(
        journal_status(&lab.journal(), instance_of(&quick)),
        InstanceStatus::Ok
    );
    // Both stay listed.
    assert_eq!(app.run_list().0, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_not_shown_waits_for_its_confirmation_until_it_is_shown() {
    let lab = SshLab::new();
    let (mut app, mut rx) = lab.app().await;
    let gated = start_flow(&mut app, &mut rx, "gated").await;
    let gated_id = instance_of(&gated);
    let slow = start_flow(&mut app, &mut rx, "slow").await;
    // The gated run reaches its confirmation while the slow one is shown:
    // no dialog over the slow run, the status line says which run waits.
    pump_until(&mut app, &mut rx, "the gated run to wait", |a| {
        a.status_text()
            .is_some_and(|s| s.contains(&format!("run {gated_id} waits for an answer: {{/}}")))
    })
    .await;
    assert!(app.dialog().is_none(), "{:?}", app.dialog());
    let strip = screen(&app, 80, 24);
    assert!(
        strip.contains(&format!(" {gated_id} gated ⏸ 1/2 ?")),
        "{strip}"
    );
    // `c` confirms only the shown run's wait: the slow run waits for nothing.
    press(&mut app, KeyCode::Char('c'));
    assert_eq!(app.status_text(), Some("nothing waits for a confirmation"));
    assert!(RunStore::lock(&gated).waiting.is_some());
    // Shown, its question is asked; confirmed, it runs to its end while
    // the slow run goes on.
    press(&mut app, KeyCode::Char('{'));
    pump_until(&mut app, &mut rx, "the confirmation dialog", |a| {
        matches!(
            a.dialog().map(|d| d.kind.clone()),
            Some(DialogKind::ConfirmBatch { next_batch: 1 })
        )
    })
    .await;
    press(&mut app, KeyCode::Char('y'));
    pump_until(&mut app, &mut rx, "the gated run to end", |_| {
        RunStore::lock(&gated).is_finished()
    })
    .await;
    assert_eq!(RunStore::lock(&gated).status, InstanceStatus::Ok);
    assert!(lines_of(&gated, 1).contains(&"gated-hello".to_string()));
    pump_until(&mut app, &mut rx, "the slow run to end", |_| {
        RunStore::lock(&slow).is_finished()
    })
    .await;
    assert_eq!(RunStore::lock(&slow).status, InstanceStatus::Ok);
}

/// Asks to start `flow` and confirms; returns its store, not yet started
/// (its launch's report is still in `rx`).
fn ask_to_start(app: &mut App, flow: &str) -> SharedRunStore {
    press(app, KeyCode::Char('3'));
    assert!(app.planner_view_mut().choose_flow(flow));
    set_field(app, "Batches", "1 1");
    press(app, KeyCode::Char('s'));
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::StartRun)
    );
    press(app, KeyCode::Char('y'));
    app.run_view().store().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_while_a_run_starts_asks_about_it_once_it_has_started() {
    let lab = SshLab::new();
    let (mut app, mut rx) = lab.app().await;
    let store = ask_to_start(&mut app, "slow");
    // Quitting now would leave it recorded and never run.
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.should_quit());
    let status = app.status_text().unwrap_or_default().to_string();
    assert!(status.contains("a run is starting"), "{status}");
    pump_until(&mut app, &mut rx, "the quit question", |a| {
        a.dialog().map(|d| d.kind.clone()) == Some(DialogKind::QuitWithRun)
    })
    .await;
    let id = instance_of(&store);
    assert_eq!(
        app.dialog().map(|d| d.title.clone()),
        Some(format!("Run {id} is still active"))
    );
    press(&mut app, KeyCode::Char('d'));
    pump_until(&mut app, &mut rx, "quit after detaching", |a| {
        a.should_quit()
    })
    .await;
    assert_eq!(
        journal_status(&lab.journal(), id),
        InstanceStatus::Interrupted
    );

    // One live, one starting, detach all: the one that comes up after
    // is detached too, and jobdeck quits once both have stopped.
    let (mut app, mut rx) = lab.app().await;
    let live = start_flow(&mut app, &mut rx, "slow").await;
    let late = ask_to_start(&mut app, "slow");
    press(&mut app, KeyCode::Char('q'));
    press(&mut app, KeyCode::Char('d'));
    pump_until(&mut app, &mut rx, "quit after detaching both", |a| {
        a.should_quit()
    })
    .await;
    for store in [&live, &late] {
        let id = instance_of(store);
        assert_eq!(
            journal_status(&lab.journal(), id),
            InstanceStatus::Interrupted
        );
    }

    // `q` again while it starts: quit at once.
    let (mut app, _rx) = lab.app().await;
    ask_to_start(&mut app, "slow");
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.should_quit());
    press(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_with_two_live_runs_asks_once_about_both() {
    let lab = SshLab::new();
    let (mut app, mut rx) = lab.app().await;
    let first = start_flow(&mut app, &mut rx, "slow").await;
    let second = start_flow(&mut app, &mut rx, "slow").await;
    let ids = [instance_of(&first), instance_of(&second)];
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.should_quit());
    assert_eq!(
        app.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::QuitWithRun)
    );
    let text = screen(&app, 80, 24);
    assert!(
        text.contains(&format!("2 runs are still active: {}, {}", ids[0], ids[1])),
        "{text}"
    );
    assert!(text.contains("abort all and quit"), "{text}");
    // Stay: nothing happens to either.
    press(&mut app, KeyCode::Char('n'));
    assert!(app.dialog().is_none());
    assert_eq!(app.live_runs().len(), 2);
    // Abort all: both stop, and the console quits once both have ended.
    press(&mut app, KeyCode::Char('q'));
    press(&mut app, KeyCode::Char('a'));
    assert!(!app.should_quit(), "quits only once both have stopped");
    pump_until(&mut app, &mut rx, "quit", |a| a.should_quit()).await;
    assert!(app.live_runs().is_empty());
    for (store, id) in [&first, &second].into_iter().zip(ids) {
        assert_eq!(RunStore::lock(store).status, InstanceStatus::Aborted);
        assert_eq!(journal_status(&lab.journal(), id), InstanceStatus::Aborted);
    }

    // A run that ends while the question is open leaves it, naming the
    // one still live; detach records that one interrupted (resumable).
    let (mut app, mut rx) = lab.app().await;
    let slow = start_flow(&mut app, &mut rx, "slow").await;
    let quick = start_flow(&mut app, &mut rx, "quick").await;
    press(&mut app, KeyCode::Char('q'));
    assert!(
        app.dialog()
            .unwrap()
            .title
            .starts_with("2 runs are still active")
    );
    pump_until(&mut app, &mut rx, "the quick run to end", |a| {
        a.live_runs().len() == 1
    })
    .await;
    let slow_id = instance_of(&slow);
    assert_eq!(
        app.dialog().map(|d| d.title.clone()),
        Some(format!("Run {slow_id} is still active"))
    );
    press(&mut app, KeyCode::Char('d'));
    pump_until(&mut app, &mut rx, "quit after detaching", |a| {
        a.should_quit()
    })
    .await;
    assert_eq!(
        journal_status(&lab.journal(), slow_id),
        InstanceStatus::Interrupted
    );
    assert_eq!(
        journal_status(&lab.journal(), instance_of(&quick)),
        InstanceStatus::Ok
    );
}

// ---- The command box ---------------------------------------------------------

#[test]
fn the_command_box_opens_on_the_selection_and_recalls_earlier_commands() {
    let mut app = sample_app(80, 24);
    // Nothing selected: the row under the cursor, here the first group
    // (4 blog hosts), gives the hosts.
    press(&mut app, KeyCode::Char(':'));
    let hosts = &app
        .command_box()
        .expect("the box on the group's hosts")
        .hosts;
    assert_eq!(hosts.len(), 4, "{hosts:?}");
    assert!(hosts.iter().all(|h| h.starts_with("blog-")), "{hosts:?}");
    press(&mut app, KeyCode::Esc);
    app.dispatch(Action::SelectAll);
    let selected = app.selection();
    press(&mut app, KeyCode::Char(':'));
    assert_eq!(app.command_box().unwrap().hosts, selected);
    // Keys that mean something elsewhere type here.
    type_keys(&mut app, "uptime; q");
    assert!(!app.should_quit());
    assert_eq!(app.command_box().unwrap().text(), "uptime; q");
    check("command_box", screen(&app, 80, 24));
    press(&mut app, KeyCode::Esc);
    assert!(app.command_box().is_none());
}

#[test]
fn the_start_dialog_of_a_command_goes_back_to_the_command_not_the_plan() {
    let mut app = sample_app(80, 24);
    app.dispatch(Action::SelectAll);
    press(&mut app, KeyCode::Char(':'));
    type_keys(&mut app, "uptime\n");
    let dialog = app.dialog().cloned().expect("the start dialog");
    assert_eq!(dialog.kind, DialogKind::StartRun, "{:?}", app.status_text());
    let labels: Vec<&str> = dialog.choices.iter().map(|c| c.label.as_ref()).collect();
    assert_eq!(labels, ["start", "back to the command"]);
    let text = screen(&app, 80, 24);
    assert!(text.contains("n back to the command"), "{text}");
    assert!(!text.contains("back to the plan"), "{text}");
    check("command_start_dialog", text);
    // `n`: the box again, the command as typed, for the same hosts.
    let hosts = app.selection();
    press(&mut app, KeyCode::Char('n'));
    assert!(app.dialog().is_none());
    let open = app.command_box().expect("the command box again");
    assert_eq!(open.text(), "uptime");
    assert_eq!(open.hosts, hosts);
    // Esc there closes it; the Planner's start dialog still goes back to
    // the plan, and its `n` opens no box.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('3'));
    assert!(app.planner_view_mut().choose_flow("health-check"));
    press(&mut app, KeyCode::Char('s'));
    let dialog = app.dialog().cloned().expect("the planner's start dialog");
    assert_eq!(dialog.choices[1].label, "back to the plan");
    press(&mut app, KeyCode::Char('n'));
    assert!(app.dialog().is_none());
    assert!(app.command_box().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_from_the_box_runs_through_sshd_and_lands_in_the_journal() {
    let lab = SshLab::new();
    let (mut app, mut rx) = lab.app().await;
    // The Planner's rollout applies (a flow without confirmations shown),
    // one host per batch.
    press(&mut app, KeyCode::Char('3'));
    assert!(app.planner_view_mut().choose_flow("quick"));
    set_field(&mut app, "Batches", "1 100%");
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Char(':'));
    type_keys(&mut app, "echo from-the-box $((6*7))\n");
    let dialog = app.dialog().cloned().expect("the start dialog");
    assert_eq!(dialog.kind, DialogKind::StartRun, "{:?}", app.status_text());
    let summary = dialog.lines.join("\n");
    assert!(
        summary.contains("Command  echo from-the-box $((6*7))"),
        "{summary}"
    );
    assert!(summary.contains("Hosts    2: web[1-2]"), "{summary}");
    assert!(summary.contains("Batches  1 + 1 (2 batches)"), "{summary}");
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.current_view(), ViewId::Run);
    let store = app.run_view().store().unwrap().clone();
    pump_until(&mut app, &mut rx, "the command's run to end", |a| {
        a.live_runs().is_empty() && RunStore::lock(&store).is_finished()
    })
    .await;
    {
        let s = RunStore::lock(&store);
        assert_eq!(s.status, InstanceStatus::Ok, "{:?}", s.reason);
        assert_eq!(s.batches.len(), 2);
        assert_eq!(s.flow, "adhoc: echo from-the-box $((6*7))");
        // The gathered view compares without the address each host was
        // dialled at, as `--gather` does.
        let addresses: Vec<_> = s.host_terms.iter().map(|t| t.address.clone()).collect();
        let dialled = Some("127.0.0.1".to_string());
        assert_eq!(addresses, [dialled.clone(), dialled]);
    }
    for host in 0..2 {
        assert!(lines_of(&store, host).contains(&"from-the-box 42".to_string()));
    }
    let id = instance_of(&store);
    let journal = Journal::open(lab.journal()).unwrap();
    let detail = journal.instance(id).unwrap().unwrap();
    assert_eq!(detail.instance.status, InstanceStatus::Ok);
    assert_eq!(detail.hosts.len(), 2);
    assert_eq!(detail.instance.trigger.to_string(), "manual");
    // A second command: the first is one `up` away, and both runs are listed.
    press(&mut app, KeyCode::Char(':'));
    press(&mut app, KeyCode::Up);
    assert_eq!(
        app.command_box().unwrap().text(),
        "echo from-the-box $((6*7))"
    );
    // In the Run view the box runs on the host under the cursor.
    assert_eq!(app.command_box().unwrap().hosts, ["web1"]);
    app.dispatch(Action::ClearInput);
    type_keys(&mut app, "echo second\n");
    press(&mut app, KeyCode::Char('y'));
    pump_until(&mut app, &mut rx, "the second command to end", |a| {
        a.live_runs().is_empty() && a.run_list().0 == 2
    })
    .await;
    let second = app.run_view().store().unwrap().clone();
    pump_until(&mut app, &mut rx, "the second store to end", |_| {
        RunStore::lock(&second).is_finished()
    })
    .await;
    assert!(lines_of(&second, 0).contains(&"second".to_string()));
    assert_eq!(RunStore::lock(&second).hosts.len(), 1);
}

/// Shell functions standing in for the real commands, in case the guard
/// let one through: a regression shows as a marker, never as damage.
const SHIMS: &str = r#"rm() { echo "would-rm $*"; }; "#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guarded_command_from_the_box_is_refused_as_the_cli_refuses_it() {
    let lab = lab::Lab::new();
    let inventory = lab.local_inventory(&["h1", "h2"], &[]);
    let marker = lab.path("ran");
    let command = format!("{SHIMS}touch {} && rm -rf / tmp/x", marker.display());
    // The CLI first.
    let out = lab::run(
        lab.cmd()
            .args(["-i", &lab::s(&inventory), "--run", "-c", &command]),
    )
    .expect(2);
    let refusal = out
        .stdout
        .lines()
        .find(|l| l.contains("not started: blocked by the guard"))
        .expect("the CLI's refusal")
        .trim()
        .to_string();
    assert!(
        refusal.contains("rule 'rm-root' (block) at the command line (-c)"),
        "{refusal}"
    );
    let cli_id = lab.last_id();

    // The console on the same journal and inventory.
    let (tx, mut rx) = mpsc::channel(1024);
    let mut app = App::new(Theme::default_theme(), Keymap::builtin());
    app.dispatch(Action::Resize(160, 48));
    app.set_task_sender(tx);
    app.set_journal(Some(lab.journal()));
    let inv = Inventory::load(&[lab::s(&inventory)]).unwrap();
    app.set_inventory(Arc::new(inv), lab.dir.path().to_path_buf());
    app.dispatch(Action::SelectAll);
    press(&mut app, KeyCode::Char(':'));
    app.on_event(crossterm::event::Event::Paste(command.clone()));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('y'));
    let store = app.run_view().store().unwrap().clone();
    pump_until(&mut app, &mut rx, "the refused run to end", |a| {
        a.live_runs().is_empty() && RunStore::lock(&store).is_finished()
    })
    .await;
    assert!(!marker.exists(), "a host ran the guarded command");
    let (id, status, reason) = {
        let s = RunStore::lock(&store);
        (s.instance, s.status, s.reason.clone().unwrap_or_default())
    };
    assert_eq!(status, InstanceStatus::Aborted);
    assert!(id > cli_id);
    // The same words as the CLI's (`== not started: REASON`), and the
    // Run view says it.
    assert_eq!(refusal, format!("== not started: {reason}"));
    let text = screen(&app, 160, 48);
    assert!(text.contains(&format!("not started: {reason}")), "{text}");
    let hits = lab.export(id)["guard_hits"].as_array().unwrap().clone();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["rule"], "rm-root");
    assert_eq!(hits[0]["outcome"], "blocked");
    assert_eq!(lab.export(id)["instance"]["status"], "aborted");
}

// ---- The scheduler while runs are open (the real console in tmux) -------------

/// `jobdeck` on `journal` with `args`, from the repository; its stdout.
fn jobdeck(journal: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jobdeck"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--journal")
        .arg(journal)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "jobdeck {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_schedule_due_while_two_runs_are_live_fires_and_is_recorded() {
    use std::time::{Duration, Instant};
    use support::tmux::{self, shell_quote};

    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let command = format!(
        "XDG_CONFIG_HOME={} TERM=xterm-256color {} --journal {} -i sample-inventory; echo JOBDECK-EXITED-$?; sleep 60",
        shell_quote(&dir.path().join("config")),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_jobdeck"))),
        shell_quote(&journal),
    );
    let Some(tmux) = tmux::start(
        "runs-scheduler",
        Path::new(env!("CARGO_MANIFEST_DIR")),
        100,
        30,
        &command,
    ) else {
        return;
    };
    tmux.wait_for("loaded 18 hosts", Duration::from_secs(20));
    tmux.select_pattern("local", 4);
    // Two long runs from the command box.
    for word in ["first", "second"] {
        tmux.keys(&["1", ":"]);
        tmux.wait_for(": command on 4 hosts", Duration::from_secs(5));
        tmux.line(&format!("sleep 60; echo {word}"));
        tmux.wait_for("Start this run?", Duration::from_secs(5));
        tmux.keys(&["y"]);
        tmux.wait_for(&format!("echo {word} · ▶ running"), Duration::from_secs(20));
    }
    tmux.wait_for("{/} runs", Duration::from_secs(5));
    // A schedule due in a few seconds, on the console's journal.
    jobdeck(
        &journal,
        &[
            "-i",
            "sample-inventory",
            "schedule",
            "add",
            "soon",
            "sample-inventory/flows/health-check.yml",
            "--at",
            "+3s",
            "-l",
            "local-1",
            "-y",
        ],
    );
    // The console's scheduler fires it while both runs are live.
    let deadline = Instant::now() + Duration::from_secs(90);
    let fired = loop {
        let history: serde_json::Value =
            serde_json::from_str(&jobdeck(&journal, &["history", "--json"])).unwrap();
        let fired = history.as_array().unwrap().iter().find(|r| {
            r["trigger"]
                .as_str()
                .is_some_and(|t| t.starts_with("schedule:"))
                && r["status"] == "ok"
        });
        if let Some(run) = fired {
            break run.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the schedule did not fire: {history:#}\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(fired["flow"], "health-check", "{fired:#}");
    // Both runs are still live; quitting asks about both, abort all.
    let screen = tmux.screen();
    assert!(
        screen.contains(" 1 :sleep 60; … ▶ 0/4  [2 :sleep 60; … ▶ 0/4]"),
        "{screen}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("2 runs are still active", Duration::from_secs(5));
    tmux.keys(&["a"]);
    tmux.wait_for("JOBDECK-EXITED-0", Duration::from_secs(30));
    let history: serde_json::Value =
        serde_json::from_str(&jobdeck(&journal, &["history", "--json"])).unwrap();
    let aborted = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["status"] == "aborted" && r["flow"].as_str().unwrap().starts_with("adhoc: sleep 60")
        })
        .count();
    assert_eq!(aborted, 2, "{history:#}");
}

#[test]
fn in_a_replay_the_command_box_takes_the_pinned_hosts_else_the_cursors() {
    let lab = lab::Lab::new();
    let inventory = lab.local_inventory(&["h1", "h2", "h3"], &[]);
    lab::run(
        lab.cmd()
            .args(["-i", &lab::s(&inventory), "--run", "-c", "echo recorded"]),
    )
    .expect(0);
    let mut app = App::new(Theme::default_theme(), Keymap::builtin());
    app.dispatch(Action::Resize(80, 24));
    let inv = Inventory::load(&[lab::s(&inventory)]).unwrap();
    app.set_inventory(Arc::new(inv), lab.dir.path().to_path_buf());
    app.set_journal_path(lab.journal());
    // The History list has no hosts to run on: `:` means nothing there.
    app.dispatch(Action::ShowView(ViewId::History));
    press(&mut app, KeyCode::Char(':'));
    assert!(app.command_box().is_none());
    // The run opened in replay: the host under the cursor, then the pinned ones.
    app.dispatch(Action::Submit);
    assert!(app.history_view().replay_id().is_some());
    press(&mut app, KeyCode::Char(':'));
    assert_eq!(app.command_box().unwrap().hosts, ["h1"]);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('m'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('m'));
    press(&mut app, KeyCode::Char(':'));
    assert_eq!(app.command_box().unwrap().hosts, ["h1", "h3"]);
    type_keys(&mut app, "uptime\n");
    let dialog = app.dialog().cloned().expect("the start dialog");
    assert_eq!(dialog.kind, DialogKind::StartRun, "{:?}", app.status_text());
    assert!(
        dialog.lines.iter().any(|l| l == "Hosts    2: h[1,3]"),
        "{:?}",
        dialog.lines
    );
    press(&mut app, KeyCode::Char('n'));
    assert!(app.live_runs().is_empty());
}
