//! The History view against a real journal in a temp dir, filled through
//! the journal writer (the engine's path), drawn into ratatui's TestBackend
//! at 80×24 and 160×48 and compared with insta snapshots. Without a tokio
//! runtime the view's journal reads run inline, so every frame is settled.

mod console;
use console::{press, screen};

use crossterm::event::KeyCode;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use jobdeck::engine::events::{
    Event, EventKind, HostStatus, InstanceId, InstanceStatus, StepOutcome, Stream, WaitReason,
};
use jobdeck::inventory::Inventory;
use jobdeck::journal::{Journal, JournalWriter, NewInstance, Trigger, WriterOptions};
use jobdeck::tui::action::{Action, ViewId};
use jobdeck::tui::app::App;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::run_store::RunStore;
use jobdeck::tui::theme::Theme;
use serde_json::json;

const T0: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;

fn outcome(status: HostStatus, code: i32) -> StepOutcome {
    StepOutcome {
        status,
        exit_code: Some(code),
        signal: None,
        error: None,
    }
}

struct Script {
    id: InstanceId,
    events: Vec<Event>,
}

impl Script {
    fn at(&mut self, at: i64, kind: EventKind) -> &mut Script {
        self.events.push(Event {
            instance: self.id,
            at: T0 + at,
            kind,
        });
        self
    }
    fn out(
        &mut self,
        at: i64,
        host: usize,
        step: usize,
        stream: Stream,
        text: &str,
    ) -> &mut Script {
        self.at(
            at,
            EventKind::Output {
                host,
                step,
                stream,
                data: Bytes::copy_from_slice(text.as_bytes()),
            },
        )
    }
    fn step(
        &mut self,
        at: i64,
        host: usize,
        step: usize,
        end: i64,
        result: StepOutcome,
    ) -> &mut Script {
        self.at(
            at,
            EventKind::StepStarted {
                host,
                step,
                attempt: 1,
            },
        );
        self.at(
            end,
            EventKind::StepFinished {
                host,
                step,
                attempt: 1,
                outcome: result,
            },
        )
    }
}

fn new_instance(flow: &str, hosts: &[&str]) -> NewInstance {
    NewInstance {
        flow: flow.into(),
        flow_snapshot: format!("name: {flow}\n"),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        trigger: Trigger::Cli,
        user: "tester".into(),
        target: json!({ "pattern": "web" }),
        rollout: json!({ "expr": "1 100%" }),
        ..NewInstance::default()
    }
}

/// Two runs: #1 `health` ok; #2 `deploy` failed on web02 (stderr), with a
/// two-hour interval between its batches.
fn journal() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let mut journal = Journal::open(&path).unwrap();
    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    let ok = || outcome(HostStatus::Ok, 0);

    let health = journal
        .create_instance(&new_instance("health", &["web01"]))
        .unwrap();
    let mut s = Script {
        id: health,
        events: Vec::new(),
    };
    s.at(
        0,
        EventKind::InstanceStarted {
            flow: "health".into(),
            hosts: vec!["web01".into()],
            steps: vec!["check".into()],
            batches: vec![vec![0]],
        },
    )
    .at(1, EventKind::BatchStarted { batch: 0 })
    .step(10, 0, 0, 300, ok())
    .out(20, 0, 0, Stream::Stdout, "healthy\n")
    .at(
        310,
        EventKind::HostFinished {
            host: 0,
            status: HostStatus::Ok,
        },
    )
    .at(
        320,
        EventKind::BatchFinished {
            batch: 0,
            ok: 1,
            failed: 0,
        },
    )
    .at(
        400,
        EventKind::InstanceFinished {
            status: InstanceStatus::Ok,
            reason: None,
        },
    );
    for e in &s.events {
        sink.blocking_send(e.clone()).unwrap();
    }

    let deploy = journal
        .create_instance(&new_instance("deploy", &["web01", "web02", "db1"]))
        .unwrap();
    let b2 = 2 * HOUR;
    let mut s = Script {
        id: deploy,
        events: Vec::new(),
    };
    s.at(
        0,
        EventKind::InstanceStarted {
            flow: "deploy".into(),
            hosts: vec!["web01".into(), "web02".into(), "db1".into()],
            steps: vec!["stop".into(), "start".into()],
            batches: vec![vec![0], vec![1, 2]],
        },
    )
    .at(0, EventKind::BatchStarted { batch: 0 })
    .step(100, 0, 0, 1_300, ok())
    .out(200, 0, 0, Stream::Stdout, "stopping app\n")
    .out(1_200, 0, 0, Stream::Stderr, "warn: slow stop\n")
    .step(1_400, 0, 1, 1_600, ok())
    .out(1_500, 0, 1, Stream::Stdout, "starting app\nready\n")
    .at(
        1_700,
        EventKind::HostFinished {
            host: 0,
            status: HostStatus::Ok,
        },
    )
    .at(
        1_800,
        EventKind::BatchFinished {
            batch: 0,
            ok: 1,
            failed: 0,
        },
    )
    .at(
        1_800,
        EventKind::Waiting {
            next_batch: 1,
            reason: WaitReason::Interval,
            until: Some(T0 + b2),
        },
    )
    .at(b2, EventKind::BatchStarted { batch: 1 })
    .step(b2 + 200, 1, 0, b2 + 400, ok())
    .step(b2 + 250, 2, 0, b2 + 450, ok())
    .out(b2 + 300, 1, 0, Stream::Stdout, "stopping app\n")
    .out(b2 + 350, 2, 0, Stream::Stdout, "stopping db\n")
    .step(b2 + 500, 1, 1, b2 + 1_600, outcome(HostStatus::Failed, 3))
    .out(b2 + 1_500, 1, 1, Stream::Stderr, "boom: port 8080 in use\n")
    .at(
        b2 + 1_700,
        EventKind::HostFinished {
            host: 1,
            status: HostStatus::Failed,
        },
    )
    .step(b2 + 550, 2, 1, b2 + 1_750, ok())
    .out(b2 + 1_700, 2, 1, Stream::Stdout, "started db\n")
    .at(
        b2 + 1_760,
        EventKind::HostFinished {
            host: 2,
            status: HostStatus::Ok,
        },
    )
    .at(
        b2 + 1_800,
        EventKind::BatchFinished {
            batch: 1,
            ok: 1,
            failed: 1,
        },
    )
    .at(
        b2 + 2_000,
        EventKind::InstanceFinished {
            status: InstanceStatus::Failed,
            reason: Some("1 of 3 hosts failed".into()),
        },
    );
    // Events go in time order, as the engine sends them.
    s.events.sort_by_key(|e| e.at);
    for e in &s.events {
        sink.blocking_send(e.clone()).unwrap();
    }
    sink.blocking_flush().unwrap();
    drop(sink);
    let stats = handle.join().unwrap();
    assert_eq!(stats.errors, 0, "{:?}", stats.last_problem);
    (dir, path)
}

fn app(width: u16, height: u16, journal: &Path) -> App {
    app_with(Keymap::builtin(), width, height, journal)
}

fn app_with(keymap: Keymap, width: u16, height: u16, journal: &Path) -> App {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
    let inv = Inventory::load(&[root.to_string_lossy().into_owned()]).unwrap();
    let mut app = App::new(Theme::default_theme(), keymap);
    app.set_fixed_clock("12:00:00");
    app.dispatch(Action::Resize(width, height));
    app.set_inventory(Arc::new(inv), PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    app.set_journal_path(journal.to_path_buf());
    app.dispatch(Action::ShowView(ViewId::History));
    app
}

fn check(name: &str, app: &App, width: u16, height: u16, dir: &Path) {
    let text = screen(app, width, height);
    let dir = dir.display().to_string();
    insta::with_settings!({
        snapshot_suffix => format!("{width}x{height}"),
        filters => vec![
            (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "YYYY-MM-DD HH:MM"),
            (r"\b\d{2}:\d{2}:\d{2}\b", "HH:MM:SS"),
            (regex::escape(&dir).as_str(), "[TMP]"),
        ],
    }, {
        insta::assert_snapshot!(name, text);
    });
}

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

#[test]
fn history_list_newest_first() {
    let (dir, path) = journal();
    for (w, h) in SIZES {
        let app = app(w, h, &path);
        let ids: Vec<i64> = app.history_view().visible().iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![2, 1]);
        check("history_list", &app, w, h, dir.path());
    }
}

#[test]
fn filters_by_status_and_flow() {
    let (_dir, path) = journal();
    let mut app = app(80, 24, &path);
    // any → running → waiting → paused → ok
    for _ in 0..4 {
        app.dispatch(Action::CycleStatus);
    }
    let flows: Vec<String> = app
        .history_view()
        .visible()
        .iter()
        .map(|s| s.flow.clone())
        .collect();
    assert_eq!(flows, vec!["health"]);
    let text = screen(&app, 80, 24);
    assert!(text.contains("status ok"));
    // The counter's total is every run in the journal, not what the
    // journal returned for the filter.
    assert!(text.contains("1 of 2 runs"), "{text}");
    app.dispatch(Action::Cancel);
    app.dispatch(Action::Filter);
    for c in "DEP".chars() {
        app.dispatch(Action::InsertChar(c));
    }
    app.dispatch(Action::Submit);
    let flows: Vec<String> = app
        .history_view()
        .visible()
        .iter()
        .map(|s| s.flow.clone())
        .collect();
    assert_eq!(flows, vec!["deploy"]);
    // The date filter asks the journal for runs created since a time:
    // these were created just now, whatever their events say.
    app.dispatch(Action::CycleDate);
    assert_eq!(app.history_view().visible().len(), 1);
    assert!(screen(&app, 80, 24).contains("date today"));
    app.dispatch(Action::Cancel);
    app.dispatch(Action::Filter);
    app.dispatch(Action::InsertChar('x'));
    assert!(app.history_view().visible().is_empty());
    assert!(screen(&app, 80, 24).contains("No runs match"));
}

/// The replay's store, locked: what its Run view shows.
fn replayed(app: &App) -> parking_lot::MutexGuard<'_, RunStore> {
    RunStore::lock(app.history_view().replay_store().expect("a run is open"))
}

fn host_lines(app: &App, host: usize) -> Vec<String> {
    replayed(app).hosts[host]
        .lines()
        .iter()
        .map(|l| l.text.to_string())
        .collect()
}

#[test]
fn opening_a_run_shows_the_run_view_on_its_final_states() {
    let (dir, path) = journal();
    for (w, h) in SIZES {
        let mut app = app(w, h, &path);
        app.dispatch(Action::Submit);
        assert_eq!(app.history_view().replay_id(), Some(2));
        // From web01's batch to web02's, two hours are five seconds.
        assert_eq!(
            app.history_view().replay_duration(),
            Some(1_800 + 5_000 + 2_000)
        );
        let statuses: Vec<HostStatus> = replayed(&app).hosts.iter().map(|h| h.status).collect();
        assert_eq!(
            statuses,
            [HostStatus::Ok, HostStatus::Failed, HostStatus::Ok]
        );
        assert_eq!(replayed(&app).status, InstanceStatus::Failed);
        app.dispatch(Action::Down); // web02, the failed host
        let text = screen(&app, w, h);
        // The Run view's panes: hosts grouped by batch, the output, the timeline.
        assert!(text.contains("Batch 1/2"), "{text}");
        assert!(text.contains("Batch 2/2"), "{text}");
        assert!(text.contains("boom: port 8080 in use"), "{text}");
        assert!(text.contains("0:08.8"), "{text}");
        assert!(text.contains("finished failed"), "{text}");
        check("history_replay", &app, w, h, dir.path());
    }
}

#[test]
fn seeking_to_the_middle_shows_the_run_as_it_stood_then() {
    let (dir, path) = journal();
    let mut app = app(80, 24, &path);
    app.dispatch(Action::Submit);
    app.dispatch(Action::Down); // web02
    // Back to the start: every host waits, nothing has been said.
    app.dispatch(Action::SeekStart);
    assert_eq!(app.history_view().playback().position(), 0);
    assert!(
        replayed(&app)
            .hosts
            .iter()
            .all(|h| h.status == HostStatus::Pending)
    );
    assert!(host_lines(&app, 1).is_empty());
    // 7.5 s in: batch 2 is 0.7 s old; web02 runs its second step and has
    // not failed yet (its stderr comes at 1.5 s).
    for _ in 0..15 {
        app.dispatch(Action::SeekForward);
    }
    assert_eq!(app.history_view().playback().position(), 7_500);
    assert_eq!(replayed(&app).hosts[1].status, HostStatus::Running);
    assert_eq!(replayed(&app).hosts[0].status, HostStatus::Ok);
    let lines = host_lines(&app, 1);
    assert!(lines.contains(&"stopping app".to_string()), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("boom")), "{lines:?}");
    let text = screen(&app, 80, 24);
    let running = &Theme::default_theme().glyphs.running;
    assert!(text.contains(&format!("{running} web02")), "{text}");
    assert!(!text.contains("boom"), "{text}");
    check("history_scrubbed", &app, 80, 24, dir.path());
    // Seeking back rebuilds from the start: web01's stderr (1.2 s) is gone again.
    app.dispatch(Action::Up); // web01
    app.dispatch(Action::SeekStart);
    for _ in 0..2 {
        app.dispatch(Action::SeekForward);
    }
    let lines = host_lines(&app, 0);
    assert!(lines.contains(&"stopping app".to_string()), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("slow stop")), "{lines:?}");
    assert_eq!(replayed(&app).hosts[1].status, HostStatus::Pending);
    // The end again: the final states.
    app.dispatch(Action::SeekEnd);
    assert_eq!(replayed(&app).hosts[1].status, HostStatus::Failed);
    assert!(host_lines(&app, 0).iter().any(|l| l.contains("slow stop")));
    // Live controls are off in a replay, and say so.
    app.dispatch(Action::AbortRun);
    assert!(
        app.status_text().unwrap().contains("cannot be controlled"),
        "{:?}",
        app.status_text()
    );
    // q (as esc, which the footer names) goes back to the list from a
    // replay, and only then quits.
    assert!(screen(&app, 80, 24).contains("esc back"));
    app.dispatch(Action::Quit);
    assert!(app.history_view().replay_id().is_none());
    assert!(!app.should_quit());
    assert!(screen(&app, 80, 24).contains("FLOW"));
    // Esc goes back too.
    app.dispatch(Action::Submit);
    assert!(app.history_view().replay_id().is_some());
    app.dispatch(Action::Cancel);
    assert!(app.history_view().replay_id().is_none());
}

#[test]
fn playing_at_100x_reaches_the_end() {
    let (_dir, path) = journal();
    let mut app = app(80, 24, &path);
    app.dispatch(Action::Submit);
    app.dispatch(Action::SeekStart);
    app.dispatch(Action::CycleSpeed);
    app.dispatch(Action::CycleSpeed);
    assert_eq!(app.history_view().playback().speed(), 100);
    app.dispatch(Action::PlayPause);
    assert!(app.history_view().playback().is_playing());
    // 8.8 s of run at 100× is 88 ms; allow a slow machine plenty.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut saw_running = false;
    while app.history_view().playback().is_playing() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
        app.tick();
        saw_running |= replayed(&app)
            .hosts
            .iter()
            .any(|h| h.status == HostStatus::Running);
    }
    assert!(!app.history_view().playback().is_playing());
    assert!(app.history_view().playback().at_end());
    assert!(saw_running, "the playback passed through running hosts");
    assert_eq!(replayed(&app).status, InstanceStatus::Failed);
    assert_eq!(replayed(&app).hosts[1].status, HostStatus::Failed);
    assert!(host_lines(&app, 1).iter().any(|l| l.contains("boom")));
    assert!(screen(&app, 80, 24).contains("▶") || screen(&app, 80, 24).contains("⏸"));
}

#[test]
fn rerun_asks_first_and_refuses_what_cannot_run() {
    let (_dir, path) = journal();
    let mut app = app(80, 24, &path);
    app.dispatch(Action::Down); // #1 health: ok, nothing failed
    app.dispatch(Action::RerunFailed);
    assert!(app.status_text().unwrap().contains("no failed hosts"));
    app.dispatch(Action::ResumeRun);
    assert!(
        app.status_text()
            .unwrap()
            .contains("only interrupted runs resume")
    );
    app.dispatch(Action::Up); // #2 deploy: failed
    app.dispatch(Action::RerunFailed);
    let text = screen(&app, 80, 24);
    assert!(
        text.contains("Rerun the failed hosts of #2 (deploy)"),
        "{text}"
    );
    app.dispatch(Action::Cancel);
    assert!(!screen(&app, 80, 24).contains("Rerun the failed hosts"));
}

/// A replay's footer offers a rerun or a resume only when it would not
/// be refused (the same rule the question uses).
#[test]
fn a_replays_footer_offers_only_what_would_not_be_refused() {
    let (_dir, path) = journal();
    let mut app = app(160, 48, &path);
    let footer = |app: &App| screen(app, 160, 48).lines().last().unwrap().to_string();
    app.dispatch(Action::Submit); // #2 deploy: failed
    let failed = footer(&app);
    assert!(failed.contains("R rerun failed"), "{failed}");
    assert!(!failed.contains("resume"), "{failed}");
    app.dispatch(Action::Cancel);
    app.dispatch(Action::Down); // #1 health: ok
    app.dispatch(Action::Submit);
    assert_eq!(app.history_view().replay_id(), Some(1));
    let ok = footer(&app);
    assert!(!ok.contains("rerun"), "{ok}");
    assert!(!ok.contains("resume"), "{ok}");
    assert!(ok.contains("esc back"), "{ok}");
}

#[test]
fn a_missing_journal_is_a_note_and_is_never_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("journal.db");
    let app = app(80, 24, &path);
    let text = screen(&app, 80, 24);
    assert!(text.contains("No journal at"), "{text}");
    assert!(!path.exists());
    assert!(!path.parent().unwrap().exists());
}

#[test]
fn a_replay_reads_output_older_than_its_buffer_back_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let mut journal = Journal::open(&path).unwrap();
    let id = journal
        .create_instance(&new_instance("chatty", &["web01"]))
        .unwrap();
    let mut s = Script {
        id,
        events: Vec::new(),
    };
    s.at(
        0,
        EventKind::InstanceStarted {
            flow: "chatty".into(),
            hosts: vec!["web01".into()],
            steps: vec!["talk".into()],
            batches: vec![vec![0]],
        },
    )
    .at(0, EventKind::BatchStarted { batch: 0 })
    .step(10, 0, 0, 5_000, outcome(HostStatus::Ok, 0));
    // About 100 KiB: three times what the store keeps per host.
    for i in 0..4_000 {
        s.out(
            20 + i,
            0,
            0,
            Stream::Stdout,
            &format!("line {i:05} of chatter\n"),
        );
    }
    s.at(
        5_010,
        EventKind::HostFinished {
            host: 0,
            status: HostStatus::Ok,
        },
    )
    .at(
        5_020,
        EventKind::InstanceFinished {
            status: InstanceStatus::Ok,
            reason: None,
        },
    );
    s.events.sort_by_key(|e| e.at);
    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    for e in &s.events {
        sink.blocking_send(e.clone()).unwrap();
    }
    sink.blocking_flush().unwrap();
    drop(sink);
    handle.join().unwrap();

    let mut app = app(80, 24, &path);
    app.dispatch(Action::Submit);
    assert_eq!(app.history_view().replay_id(), Some(id));
    let first = replayed(&app).hosts[0].first_line();
    assert!(first > 1_000, "the store dropped old lines: {first}");
    // To the top of the output: the first lines come from the journal.
    app.dispatch(Action::FocusNext);
    app.dispatch(Action::Top);
    let view = app.history_view().run_view();
    assert_eq!(view.top_line(), 0);
    assert_eq!(view.older_problem(), None);
    let rows: Vec<String> = view
        .output_lines(0, 3)
        .into_iter()
        .map(|r| r.map(|(_, text)| text).unwrap_or_default())
        .collect();
    assert_eq!(
        rows,
        [
            "── step 1/1: talk",
            "line 00000 of chatter",
            "line 00001 of chatter"
        ]
    );
    let text = screen(&app, 80, 24);
    assert!(text.contains("line 00000 of chatter"), "{text}");
}

/// The shared dialog asks before a rerun, with the keymap's keys: a
/// remapped confirm key is shown and works, the old `y` does nothing.
#[test]
fn rerun_is_asked_in_the_shared_dialog_with_the_keymaps_keys() {
    let (_dir, path) = journal();
    let (keymap, problems) = Keymap::with_overrides(
        "[dialog]\n\"o\" = \"confirm\"\n\"y\" = \"none\"\n",
        Path::new("keymap.toml"),
    );
    assert!(problems.is_empty(), "{problems:?}");
    let mut app = app_with(keymap, 80, 24, &path);
    app.dispatch(Action::RerunFailed); // #2 deploy: failed
    assert!(app.dialog().is_some(), "the shared dialog asks");
    let text = screen(&app, 80, 24);
    assert!(text.contains("Rerun the failed hosts of #2"), "{text}");
    assert!(text.contains("o start"), "{text}");
    assert!(!text.contains("y start"), "{text}");
    press(&mut app, KeyCode::Char('y'));
    assert!(app.dialog().is_some(), "y is no longer a key of the dialog");
    press(&mut app, KeyCode::Char('o'));
    assert!(app.dialog().is_none());
}

/// A run that failed on web01 and was aborted (max-fail), in a journal of
/// its own.
fn aborted_journal() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let mut journal = Journal::open(&path).unwrap();
    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    let id = journal
        .create_instance(&new_instance("cutover", &["web01", "web02"]))
        .unwrap();
    let mut s = Script {
        id,
        events: Vec::new(),
    };
    s.at(
        0,
        EventKind::InstanceStarted {
            flow: "cutover".into(),
            hosts: vec!["web01".into(), "web02".into()],
            steps: vec!["switch".into()],
            batches: vec![vec![0], vec![1]],
        },
    )
    .at(1, EventKind::BatchStarted { batch: 0 })
    .step(10, 0, 0, 300, outcome(HostStatus::Failed, 1))
    .at(
        310,
        EventKind::HostFinished {
            host: 0,
            status: HostStatus::Failed,
        },
    )
    .at(
        320,
        EventKind::HostFinished {
            host: 1,
            status: HostStatus::Skipped,
        },
    )
    .at(
        400,
        EventKind::InstanceFinished {
            status: InstanceStatus::Aborted,
            reason: Some("max-fail exceeded".into()),
        },
    );
    for e in &s.events {
        sink.blocking_send(e.clone()).unwrap();
    }
    sink.blocking_flush().unwrap();
    drop(sink);
    handle.join().unwrap();
    (dir, path)
}

/// The glyph drawn before the first ` {word}` on the screen, with its colour.
fn look_before(app: &App, width: u16, height: u16, word: &str) -> (String, ratatui::style::Color) {
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let needle: Vec<char> = format!(" {word}").chars().collect();
    for y in 0..height {
        let row: Vec<(String, ratatui::style::Color)> = (0..width)
            .map(|x| {
                let cell = &buffer[(x, y)];
                (cell.symbol().to_string(), cell.fg)
            })
            .collect();
        for x in 1..row.len().saturating_sub(needle.len()) {
            let found = needle
                .iter()
                .enumerate()
                .all(|(i, c)| row[x + i].0 == c.to_string());
            if found {
                return row[x - 1].clone();
            }
        }
    }
    panic!("'{word}' is not on the screen");
}

/// One look per status: the History list and the Run view (here in
/// replay) draw an aborted run with the same glyph in the same colour.
#[test]
fn an_aborted_run_looks_the_same_in_history_and_in_the_run_view() {
    let (_dir, path) = aborted_journal();
    let mut app = app(160, 48, &path);
    let in_history = look_before(&app, 160, 48, "aborted");
    app.dispatch(Action::Submit);
    assert!(app.history_view().replay_id().is_some());
    let in_run = look_before(&app, 160, 48, "aborted");
    assert_eq!(in_history, in_run);
}
