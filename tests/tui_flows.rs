//! The Flows view (library, detail, composer, editor), on a copy of the
//! sample inventory in a temp dir, drawn into ratatui's TestBackend at 80×24 and 160×48 and compared with insta
//! snapshots. Without a runtime, loading and checking run inline.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyModifiers};
use jobdeck::flow::{StepKind, load_flow};
use jobdeck::inventory::Inventory;
use jobdeck::tui::action::{Action, ViewId};
use jobdeck::tui::app::App;
use jobdeck::tui::key::Key;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

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

/// The sample inventory copied to a temp dir, and an app on it.
fn app(width: u16, height: u16) -> (tempfile::TempDir, PathBuf, App) {
    app_with_keys(width, height, Keymap::builtin())
}

/// `app` with another keymap.
fn app_with_keys(width: u16, height: u16, keymap: Keymap) -> (tempfile::TempDir, PathBuf, App) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("inv");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory"),
        &root,
    );
    let inv = Inventory::load(&[root.to_string_lossy().into_owned()]).unwrap();
    let mut app = App::new(Theme::default_theme(), keymap);
    app.set_fixed_clock("12:00:00");
    app.dispatch(Action::Resize(width, height));
    app.set_inventory(Arc::new(inv), dir.path().to_path_buf());
    app.dispatch(Action::ShowView(ViewId::Flows));
    (dir, root, app)
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    terminal.backend().to_string()
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

fn key(app: &mut App, code: KeyCode) {
    app.dispatch(Action::Key(Key {
        code,
        modifiers: KeyModifiers::NONE,
    }));
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.dispatch(Action::InsertChar(c));
    }
}

#[test]
fn library_lists_flows_and_atoms_with_a_flow_detail() {
    for (w, h) in [(80, 24), (160, 48)] {
        let (dir, _root, mut app) = app(w, h);
        let lib = app.flows_view().library().expect("the library loaded");
        assert_eq!(lib.flows.len(), 3);
        assert_eq!(lib.atoms.len(), 10);
        app.dispatch(Action::Down); // deploy
        let text = screen(&app, w, h);
        assert!(text.contains("registry_token"), "{text}");
        assert!(text.contains("•••"), "secrets are masked: {text}");
        check("flows_library", &app, w, h, dir.path());
    }
}

#[test]
fn atom_detail_shows_header_sha_and_highlighted_body() {
    for (w, h) in [(80, 24), (160, 48)] {
        let (dir, _root, mut app) = app(w, h);
        for _ in 0..3 {
            app.dispatch(Action::Down);
        } // the first atom: check-config
        let text = screen(&app, w, h);
        assert!(text.contains("sha256"), "{text}");
        check("flows_atom", &app, w, h, dir.path());
    }
}

#[test]
fn editor_shows_a_validation_error_at_its_line() {
    for (w, h) in [(80, 24), (160, 48)] {
        let (dir, root, mut app) = app(w, h);
        app.dispatch(Action::Down); // deploy
        app.dispatch(Action::EditText);
        assert!(app.flows_view().editor().is_some());
        // Under "- name: fetch" (line 28), a bad timeout on a new line 29.
        for _ in 0..28 {
            key(&mut app, KeyCode::Down);
        }
        key(&mut app, KeyCode::Home);
        type_text(&mut app, "    timeout: soon");
        key(&mut app, KeyCode::Enter);
        app.dispatch(Action::Validate);
        let errors = &app.flows_view().editor().unwrap().errors;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, 29, "{errors:?}");
        // Saving an invalid flow writes nothing.
        app.dispatch(Action::Save);
        let on_disk = std::fs::read_to_string(root.join("flows/deploy.yml")).unwrap();
        assert!(!on_disk.contains("soon"));
        assert!(app.status_text().unwrap().contains("not saved"));
        check("flows_editor_error", &app, w, h, dir.path());
    }
}

#[test]
fn composer_adds_and_reorders_a_step_and_saves_valid_yaml() {
    let (dir, root, mut app) = app(160, 48);
    for _ in 0..2 {
        app.dispatch(Action::Down);
    } // health-check
    app.dispatch(Action::Edit);
    let composer = app.flows_view().composer().expect("the composer opened");
    assert_eq!(composer.doc.steps.len(), 3);
    // Go to the last step's rows (above the empty rollback section), add
    // a command step after it.
    app.dispatch(Action::Bottom);
    app.dispatch(Action::Up);
    app.dispatch(Action::AddStep);
    for _ in 0..11 {
        app.dispatch(Action::Down); // past the 10 atoms, to "(command)"
    }
    app.dispatch(Action::Submit);
    let composer = app.flows_view().composer().unwrap();
    assert_eq!(composer.doc.steps.len(), 4);
    // Give the command, then move the new step up one place.
    for _ in 0..2 {
        app.dispatch(Action::Down); // name, then command
    }
    app.dispatch(Action::Submit);
    app.dispatch(Action::ClearInput);
    type_text(&mut app, "df -h /tmp");
    app.dispatch(Action::Submit);
    app.dispatch(Action::MoveUp);
    check("flows_composer", &app, 160, 48, dir.path());
    app.dispatch(Action::Save);
    assert!(
        app.status_text().unwrap().starts_with("saved"),
        "{:?}",
        app.status_text()
    );
    let path = root.join("flows/health-check.yml");
    let flow = load_flow(&path).expect("the saved flow passes jobdeck check");
    let names: Vec<&str> = flow.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["disk", "load", "command", "uptime"]);
    match &flow.steps[2].kind {
        StepKind::Command { command } => assert_eq!(command, "df -h /tmp"),
        other => panic!("{other:?}"),
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# A read-only health check"), "{text}");
    assert!(
        text.contains("with: {path: /, max_used_percent: \"${max_used_percent}\"}"),
        "{text}"
    );
    // Removing it again and saving gives back the original steps.
    app.dispatch(Action::DeleteItem);
    app.dispatch(Action::Save);
    let flow = load_flow(&path).unwrap();
    assert_eq!(flow.steps.len(), 3);
}

#[test]
fn a_new_flow_is_created_in_the_flows_directory() {
    let (_dir, root, mut app) = app(80, 24);
    app.dispatch(Action::NewItem);
    type_text(&mut app, "hello");
    app.dispatch(Action::Submit);
    app.dispatch(Action::Save);
    let flow = load_flow(&root.join("flows/hello.yml")).expect("a valid new flow");
    assert_eq!(flow.name, "hello");
    assert_eq!(app.flows_view().library().unwrap().flows.len(), 4);
}

/// One catalog: a flow saved in the Flows view, or added on disk and picked
/// up by the view's reload, is offered at once by the Planner and by the
/// schedule form, without a restart.
#[test]
fn flows_saved_or_added_on_disk_reach_the_planner_and_the_schedule_form() {
    let (_dir, root, mut app) = app(160, 48);
    app.dispatch(Action::NewItem);
    type_text(&mut app, "hello");
    app.dispatch(Action::Submit);
    app.dispatch(Action::Save);
    let labels = app.planner_view().flow_labels();
    assert!(labels.contains(&"hello".to_string()), "{labels:?}");

    std::fs::write(
        root.join("flows/zz-added.yml"),
        "name: added\nsteps:\n  - name: hi\n    command: echo hi\n",
    )
    .unwrap();
    app.dispatch(Action::Cancel); // the composer closes: saved, nothing to lose
    app.dispatch(Action::Refresh);
    assert_eq!(app.flows_view().library().unwrap().flows.len(), 5);
    let labels = app.planner_view().flow_labels();
    assert!(labels.contains(&"added".to_string()), "{labels:?}");

    app.dispatch(Action::ShowView(ViewId::Schedules));
    app.dispatch(Action::NewItem);
    for _ in 0..4 {
        app.dispatch(Action::Down); // name, kind, cron, zone, then flow
    }
    let mut offered = Vec::new();
    for _ in 0..6 {
        let text = screen(&app, 160, 48);
        let shown = text
            .split('‹')
            .nth(1)
            .and_then(|rest| rest.split('›').next())
            .unwrap_or_default()
            .trim()
            .to_string();
        offered.push(shown);
        app.dispatch(Action::NextChoice);
    }
    assert!(offered.contains(&"added".to_string()), "{offered:?}");
    assert!(offered.contains(&"hello".to_string()), "{offered:?}");
}

/// Esc in the editor with unsaved edits warns first and only a second Esc
/// throws them away; the title carries a "modified" mark while the text
/// differs from the file (typing it back as it was clears the mark).
#[test]
fn editor_asks_before_throwing_away_unsaved_edits() {
    let (dir, root, mut app) = app(80, 24);
    let before = std::fs::read_to_string(root.join("flows/deploy.yml")).unwrap();
    app.dispatch(Action::Down); // deploy
    app.dispatch(Action::EditText);
    assert!(!screen(&app, 80, 24).contains("● modified"));
    type_text(&mut app, "x");
    assert!(screen(&app, 80, 24).contains("deploy.yml ● modified"));
    key(&mut app, KeyCode::Backspace);
    assert!(
        !screen(&app, 80, 24).contains("● modified"),
        "back as on disk"
    );
    type_text(&mut app, "# draft note");
    check("flows_editor_modified", &app, 80, 24, dir.path());

    app.dispatch(Action::Cancel);
    assert!(
        app.flows_view().editor().is_some(),
        "the first Esc only warns"
    );
    let status = app.status_text().unwrap();
    assert!(status.contains("esc again throws them away"), "{status}");
    // Another key in between: the next Esc warns again.
    key(&mut app, KeyCode::Right);
    app.dispatch(Action::Cancel);
    assert!(app.flows_view().editor().is_some());
    app.dispatch(Action::Cancel);
    assert!(
        screen(&app, 80, 24).contains("compose/open"),
        "back in the library"
    );
    let after = std::fs::read_to_string(root.join("flows/deploy.yml")).unwrap();
    assert_eq!(before, after, "nothing was written");

    // No edits: Esc leaves at once.
    app.dispatch(Action::EditText);
    assert!(app.flows_view().editor().is_some());
    app.dispatch(Action::Cancel);
    assert!(screen(&app, 80, 24).contains("compose/open"));
}

/// Ctrl-S on text that does not pass refuses first and says how to keep
/// it anyway; Ctrl-S again writes it as a draft, with a warning naming the
/// problem, and the "modified" mark goes.
#[test]
fn editor_saves_a_draft_that_does_not_validate_after_a_warning() {
    let (_dir, root, mut app) = app(80, 24);
    app.dispatch(Action::Down); // deploy
    app.dispatch(Action::EditText);
    for _ in 0..28 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Home);
    type_text(&mut app, "    timeout: soon");
    key(&mut app, KeyCode::Enter);
    app.dispatch(Action::Save);
    let path = root.join("flows/deploy.yml");
    assert!(!std::fs::read_to_string(&path).unwrap().contains("soon"));
    let status = app.status_text().unwrap();
    assert!(
        status.contains("ctrl-s again saves it as a draft"),
        "{status}"
    );

    app.dispatch(Action::Save);
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("timeout: soon")
    );
    let status = app.status_text().unwrap();
    assert!(status.contains("as a draft with 1 problem(s)"), "{status}");
    assert!(status.contains("line 29"), "{status}");
    assert!(!app.flows_view().editor().unwrap().is_modified());
    // The draft is saved; leaving needs no second Esc.
    app.dispatch(Action::Cancel);
    assert!(app.flows_view().editor().is_none() || screen(&app, 80, 24).contains("compose/open"));
}

/// Texts that name a key take it from the keymap in use: the editor's
/// save key in its warnings.
#[test]
fn the_editors_warnings_name_the_save_key_in_use() {
    let (keymap, errors) = Keymap::with_overrides(
        "[editor]\n\"ctrl-s\" = \"none\"\n\"ctrl-w\" = \"save\"\n",
        Path::new("keymap.toml"),
    );
    assert!(errors.is_empty(), "{errors:?}");
    let (_dir, _root, mut app) = app_with_keys(100, 30, keymap);
    app.dispatch(Action::Down);
    app.dispatch(Action::EditText);
    assert!(app.flows_view().editor().is_some(), "the editor is open");
    app.dispatch(Action::InsertChar('x'));
    app.dispatch(Action::Cancel);
    let status = app.status_text().unwrap().to_string();
    assert_eq!(
        status,
        "unsaved edits: ctrl-w saves them, esc again throws them away"
    );
    // The key in use saves, and a text that does not pass says so with it.
    app.dispatch(Action::Key(Key {
        code: KeyCode::Home,
        modifiers: KeyModifiers::CONTROL,
    }));
    for c in "::: not yaml\n".chars() {
        app.dispatch(Action::InsertChar(c));
    }
    app.dispatch(Action::Save);
    let status = app.status_text().unwrap().to_string();
    assert!(
        status.contains("(ctrl-w again saves it as a draft)"),
        "{status}"
    );
}
