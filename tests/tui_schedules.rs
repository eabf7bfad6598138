//! The Schedules view against a real journal in a temp dir: the list, the
//! add form with its live preview and the delete question drawn into
//! ratatui's TestBackend at 80×24 and 160×48 (insta snapshots), and
//! schedules added, edited, paused and deleted through the console's keys
//! and read back with the store and `jobdeck schedule list`. Without a
//! tokio runtime the view's journal work runs inline, so every frame is
//! settled.

mod console;
use console::{press, screen, type_keys};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::KeyCode;
use jobdeck::inventory::Inventory;
use jobdeck::journal::{Journal, NewInstance, Trigger};
use jobdeck::schedule::store::{CatchUp, NewSchedule, Overlap, RunOptions, ScheduleStore, When};
use jobdeck::schedule::{CronExpr, parse_zone};
use jobdeck::tui::action::{Action, ViewId};
use jobdeck::tui::app::App;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::theme::Theme;

/// Monday 2026-03-02 08:00 UTC: the console's "now" in every test.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

struct Setup {
    dir: tempfile::TempDir,
    root: PathBuf,
    journal: PathBuf,
}

/// The sample inventory in a temp dir; the journal is not created yet.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("inv");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory"),
        &root,
    );
    let journal = dir.path().join("journal.db");
    Setup { dir, root, journal }
}

/// An app on the sample inventory and the setup's journal, showing Schedules.
fn app(s: &Setup, width: u16, height: u16) -> App {
    let inv = Inventory::load(&[s.root.to_string_lossy().into_owned()]).unwrap();
    let mut app = App::new(Theme::default_theme(), Keymap::builtin());
    app.set_fixed_clock("12:00:00");
    app.dispatch(Action::Resize(width, height));
    app.set_journal_path(s.journal.clone());
    app.set_inventory(Arc::new(inv), s.dir.path().to_path_buf());
    app.schedules_view_mut().set_now(now());
    app.dispatch(Action::ShowView(ViewId::Schedules));
    app
}

fn new_schedule(s: &Setup, name: &str, when: When, zone: &str) -> NewSchedule {
    NewSchedule {
        name: name.into(),
        flow_path: s.root.join("flows/health-check.yml"),
        flow_name: "health-check".into(),
        run: RunOptions {
            inventory: vec![s.root.display().to_string()],
            limit: Some("local".into()),
            ..RunOptions::default()
        },
        when,
        zone: parse_zone(zone).unwrap(),
        until: None,
        overlap: Overlap::Skip,
        catch_up: CatchUp::Once,
    }
}

fn cron(expr: &str) -> When {
    When::Cron(CronExpr::parse(expr).unwrap())
}

/// Three schedules: `nightly` (ran once, instance ok), `weekly-push`
/// (paused, Berlin time), `release` (one-shot, queues overlaps).
fn seed(s: &Setup) {
    let mut store = ScheduleStore::open(&s.journal).unwrap();
    let nightly = store
        .add(&new_schedule(s, "nightly", cron("0 2 * * *"), "UTC"), now())
        .unwrap();
    let weekly = store
        .add(
            &new_schedule(s, "weekly-push", cron("30 4 * * sun"), "Europe/Berlin"),
            now(),
        )
        .unwrap();
    store.set_paused(weekly.id, true, now()).unwrap();
    let mut release = new_schedule(
        s,
        "release",
        When::At(Utc.with_ymd_and_hms(2026, 3, 5, 10, 0, 0).unwrap()),
        "UTC",
    );
    release.overlap = Overlap::Queue;
    store.add(&release, now()).unwrap();

    let mut journal = Journal::open(&s.journal).unwrap();
    let instance = journal
        .create_instance(&NewInstance {
            flow: "health-check".into(),
            flow_snapshot: "name: health-check\n".into(),
            hosts: vec!["localhost".into()],
            trigger: Trigger::Schedule(nightly.id),
            user: "tester".into(),
            ..NewInstance::default()
        })
        .unwrap();
    let conn = store.connection();
    let last_fire = Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap();
    let ms = last_fire.timestamp_millis();
    conn.execute(
        "UPDATE instances SET status = 'ok', created_at = ?2 WHERE id = ?1",
        [instance, ms + 2_000],
    )
    .unwrap();
    conn.execute(
        "UPDATE schedules SET last_fire_at = ?2 WHERE id = ?1",
        [nightly.id, ms],
    )
    .unwrap();
    // The fire log, oldest first: a launch that failed, a skipped fire, the
    // fire that started instance 1.
    let day = 86_400_000;
    for (due, outcome, detail) in [
        (
            ms - 2 * day,
            "failed",
            Some("cannot start jobdeck: No such file or directory"),
        ),
        (ms - day, "skipped", Some("instance still running")),
        (ms, "started", None),
    ] {
        conn.execute(
            "INSERT INTO schedule_fires (schedule_id, due_at, at, outcome, detail) VALUES (?1, ?2, ?2, ?3, ?4)",
            rusqlite::params![nightly.id, due, outcome, detail],
        )
        .unwrap();
    }
}

fn check(name: &str, app: &App, width: u16, height: u16, dir: &Path) {
    let text = screen(app, width, height);
    let dir = dir.display().to_string();
    insta::with_settings!({
        snapshot_suffix => format!("{width}x{height}"),
        filters => vec![
            (r"\b\d{2}:\d{2}:\d{2}\b", "HH:MM:SS"),
            (regex::escape(&dir).as_str(), "[TMP]"),
        ],
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// Moves the form's focus down `n` fields.
fn down(app: &mut App, n: usize) {
    for _ in 0..n {
        press(app, KeyCode::Down);
    }
}

fn stored(journal: &Path) -> Vec<jobdeck::schedule::Schedule> {
    ScheduleStore::open(journal)
        .unwrap()
        .listing()
        .unwrap()
        .into_iter()
        .map(|l| l.unwrap().schedule)
        .collect()
}

#[test]
fn the_list_shows_each_schedule_with_its_next_fire_and_last_run() {
    for (w, h) in [(80, 24), (160, 48)] {
        let s = setup();
        seed(&s);
        let app = app(&s, w, h);
        let text = screen(&app, w, h);
        assert!(text.contains("nightly"), "{text}");
        assert!(text.contains("paused"), "{text}");
        assert!(text.contains("#1 ok"), "{text}");
        assert!(text.contains("03-03 02:00"), "{text}");
        // The detail pane: the next fires and the fire log of `nightly`.
        assert!(text.contains("NEXT FIRES"), "{text}");
        assert!(text.contains("03-07 02:00"), "the fifth next fire: {text}");
        assert!(text.contains("03-02 02:00 UTC  #1 ok"), "{text}");
        assert!(text.contains("skipped: instance still running"), "{text}");
        assert!(text.contains("failed: cannot start"), "{text}");
        check("schedules_list", &app, w, h, s.dir.path());
    }
}

#[test]
fn the_add_form_previews_fire_times_as_you_type() {
    for (w, h) in [(80, 24), (160, 48)] {
        let s = setup();
        let mut app = app(&s, w, h);
        press(&mut app, KeyCode::Char('a'));
        assert!(app.schedules_view_mut().form().is_some());
        type_keys(&mut app, "sunday-push");
        down(&mut app, 2);
        press(&mut app, KeyCode::Backspace);
        app.dispatch(Action::ClearInput);
        type_keys(&mut app, "30 2 * * sun");
        down(&mut app, 1);
        type_keys(&mut app, "Europe/Berlin");
        down(&mut app, 1);
        // config-push → deploy: deploy needs a `version` the form cannot give.
        press(&mut app, KeyCode::Right);
        let text = screen(&app, w, h);
        assert!(text.contains("2026-03-08 02:30 CET"), "{text}");
        assert!(text.contains("version"), "{text}");
        check("schedules_add_form", &app, w, h, s.dir.path());

        // A bad expression: the preview says why, and the field too.
        assert!(text.contains("secret: cannot be stored"), "{text}");
        assert!(text.contains("lab-app"), "a default is shown: {text}");
        down(&mut app, 19); // from the flow, around to the cron field
        press(&mut app, KeyCode::Backspace);
        press(&mut app, KeyCode::Backspace);
        press(&mut app, KeyCode::Backspace);
        type_keys(&mut app, "funday");
        assert!(screen(&app, w, h).contains("day-of-week"));
    }
}

#[test]
fn delete_asks_first() {
    for (w, h) in [(80, 24), (160, 48)] {
        let s = setup();
        seed(&s);
        let mut app = app(&s, w, h);
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char('d'));
        assert!(app.dialog().is_some());
        check("schedules_delete_confirm", &app, w, h, s.dir.path());
        press(&mut app, KeyCode::Char('n'));
        assert!(app.dialog().is_none());
        assert_eq!(stored(&s.journal).len(), 3, "no is no");
    }
}

#[test]
fn a_schedule_added_in_the_console_is_stored_paused_and_deleted() {
    let s = setup();
    let mut app = app(&s, 80, 24);

    // Nothing is saved while the form is invalid (here: no name).
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Enter);
    assert!(!s.journal.exists(), "an invalid form writes nothing");
    assert!(app.status_text().unwrap().contains("not saved"));
    assert!(screen(&app, 80, 24).contains("a name is required"));

    type_keys(&mut app, "nightly-health");
    down(&mut app, 2);
    app.dispatch(Action::ClearInput);
    type_keys(&mut app, "15 3 * * *");
    down(&mut app, 1);
    type_keys(&mut app, "UTC");
    down(&mut app, 1);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Right); // health-check
    down(&mut app, 2); // past its max_used_percent param
    type_keys(&mut app, "local");
    down(&mut app, 1);
    type_keys(&mut app, "1 100%");
    down(&mut app, 4);
    press(&mut app, KeyCode::Right); // overlap: queue
    press(&mut app, KeyCode::Enter);
    assert!(
        app.schedules_view_mut().form().is_none(),
        "{:?}",
        app.status_text()
    );
    assert!(app.status_text().unwrap().contains("added"));

    let all = stored(&s.journal);
    assert_eq!(all.len(), 1);
    let added = &all[0];
    assert_eq!(added.name, "nightly-health");
    assert_eq!(added.flow_name, "health-check");
    assert_eq!(added.describe_when(), "15 3 * * * (UTC)");
    assert_eq!(added.overlap, Overlap::Queue);
    assert_eq!(added.run.limit.as_deref(), Some("local"));
    assert_eq!(added.run.batches.as_deref(), Some("1 100%"));
    assert_eq!(added.run.inventory, [s.root.display().to_string()]);
    assert_eq!(
        added.next_fire_at,
        Some(Utc.with_ymd_and_hms(2026, 3, 3, 3, 15, 0).unwrap())
    );
    assert!(!added.paused);

    // The CLI sees the same row.
    let out = Command::cargo_bin("jobdeck")
        .unwrap()
        .arg("--journal")
        .arg(&s.journal)
        .args(["schedule", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{listed}");
    assert!(listed.contains("nightly-health"), "{listed}");

    // The same name twice is refused at the name field.
    press(&mut app, KeyCode::Char('a'));
    type_keys(&mut app, "nightly-health");
    down(&mut app, 4);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Enter);
    assert!(app.schedules_view_mut().form().is_some());
    assert!(app.status_text().unwrap().contains("already exists"));
    press(&mut app, KeyCode::Esc);
    assert_eq!(stored(&s.journal).len(), 1);

    press(&mut app, KeyCode::Char('p'));
    assert!(stored(&s.journal)[0].paused);
    assert!(screen(&app, 80, 24).contains("paused"));
    press(&mut app, KeyCode::Char('p'));
    assert!(!stored(&s.journal)[0].paused);

    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('y'));
    assert!(stored(&s.journal).is_empty());
    assert!(screen(&app, 80, 24).contains("No schedules yet"));
}

#[test]
fn editing_keeps_the_id_and_changes_the_timing() {
    let s = setup();
    seed(&s);
    let mut app = app(&s, 80, 24);
    press(&mut app, KeyCode::Char('e'));
    let form = app.schedules_view_mut().form().expect("the edit form");
    assert_eq!(form.name.text(), "nightly");
    assert_eq!(form.when.text(), "0 2 * * *");
    down(&mut app, 2);
    app.dispatch(Action::ClearInput);
    type_keys(&mut app, "0 5 * * *");
    app.dispatch(Action::Save);
    assert!(
        app.schedules_view_mut().form().is_none(),
        "{:?}",
        app.status_text()
    );
    let nightly = stored(&s.journal)
        .into_iter()
        .find(|x| x.name == "nightly")
        .unwrap();
    assert_eq!(nightly.id, 1);
    assert_eq!(nightly.describe_when(), "0 5 * * * (UTC)");
    assert_eq!(nightly.run.limit.as_deref(), Some("local"));
    assert_eq!(
        nightly.next_fire_at,
        Some(Utc.with_ymd_and_hms(2026, 3, 3, 5, 0, 0).unwrap())
    );
}

#[test]
fn a_flow_with_a_required_param_is_scheduled_with_its_value() {
    let s = setup();
    let mut app = app(&s, 80, 24);
    press(&mut app, KeyCode::Char('a'));
    type_keys(&mut app, "deploy-nightly");
    down(&mut app, 2);
    app.dispatch(Action::ClearInput);
    type_keys(&mut app, "0 4 * * *");
    down(&mut app, 1);
    type_keys(&mut app, "UTC");
    down(&mut app, 1);
    press(&mut app, KeyCode::Right); // deploy
    // Without its version the save is refused at the field.
    press(&mut app, KeyCode::Enter);
    assert!(!s.journal.exists());
    let text = screen(&app, 80, 24);
    assert!(text.contains("required"), "{text}");
    assert!(
        app.schedules_view_mut().form().unwrap().focus
            == jobdeck::tui::views::schedules::Field::Param(0)
    );
    type_keys(&mut app, "1.4.2");
    // A mode of its own, validated like --mode: confirm needs an approval.
    down(&mut app, 6);
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Right); // continue
    down(&mut app, 1);
    type_keys(&mut app, "25%");
    press(&mut app, KeyCode::Enter);
    assert!(
        app.schedules_view_mut().form().is_none(),
        "{:?}",
        app.status_text()
    );

    let all = stored(&s.journal);
    assert_eq!(all.len(), 1);
    let run = &all[0].run;
    assert_eq!(run.params, [("version".to_string(), "1.4.2".to_string())]);
    assert_eq!(run.mode.as_deref(), Some("continue"));
    assert_eq!(run.max_fail.as_deref(), Some("25%"));

    let out = Command::cargo_bin("jobdeck")
        .unwrap()
        .arg("--journal")
        .arg(&s.journal)
        .args(["schedule", "show", "deploy-nightly"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("--param version=1.4.2"), "{shown}");

    // Editing it shows the stored value back.
    press(&mut app, KeyCode::Char('e'));
    let form = app.schedules_view_mut().form().unwrap();
    assert_eq!(form.param_value("version"), Some("1.4.2"));
    assert_eq!(form.param_value("service"), Some("lab-app"));
}

#[test]
fn the_form_with_params_fits_both_sizes() {
    for (w, h) in [(80, 24), (160, 48)] {
        let s = setup();
        seed(&s);
        let mut app = app(&s, w, h);
        press(&mut app, KeyCode::Char('a'));
        type_keys(&mut app, "deploy-weekly");
        down(&mut app, 4);
        press(&mut app, KeyCode::Right); // deploy
        down(&mut app, 2); // service
        app.dispatch(Action::ClearInput);
        press(&mut app, KeyCode::Enter); // refused: version is required
        let text = screen(&app, w, h);
        assert!(text.contains("version*"), "{text}");
        assert!(text.contains("(default: lab-app)"), "{text}");
        check("schedules_form_params", &app, w, h, s.dir.path());
    }
}

/// The form's lines from the one labelled `label` (marked ✘) down to the
/// next field: the label's row and the problem wrapped under it.
fn field_block(text: &str, label: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains(&format!("│✘{label} ")))?;
    let mut block = vec![lines[start]];
    for line in &lines[start + 1..] {
        // The next field starts with a mark column and a label.
        let form = line.split("││").next().unwrap_or(line);
        if form.starts_with("\"│ ") && !form.starts_with("\"│  ") || form.contains("│✘") {
            break;
        }
        block.push(line);
    }
    Some(block.join("\n"))
}

/// Every run option a schedule holds is checked, and its problem shows at
/// its own field (not under `batches`): forks, order, timeout and the
/// connect timeout each have a field.
#[test]
fn every_run_option_problem_lands_on_its_own_field() {
    let s = setup();
    let mut schedule = new_schedule(&s, "odd-options", cron("0 2 * * *"), "UTC");
    schedule.run.forks = Some(0);
    schedule.run.order = Some("bogus".into());
    schedule.run.timeout = Some("soon".into());
    schedule.run.connect_timeout = Some("eleven".into());
    ScheduleStore::open(&s.journal)
        .unwrap()
        .add(&schedule, now())
        .unwrap();
    let mut app = app(&s, 160, 48);
    press(&mut app, KeyCode::Char('e'));
    app.dispatch(Action::Save);
    let text = screen(&app, 160, 48);
    for (label, problem) in [
        ("forks", "at least 1"),
        ("order", "bogus"),
        ("timeout", "soon"),
        ("connect", "eleven"),
    ] {
        let block = field_block(&text, label)
            .unwrap_or_else(|| panic!("no problem at the {label} field:\n{text}"));
        assert!(block.contains(problem), "{label}: {block}\n{text}");
    }
    assert!(field_block(&text, "batches").is_none(), "{text}");
}
