//! Drives the console through actions and key events (not a terminal):
//! multi-select, the pattern box's live count, typing in text boxes, the
//! mouse, secret masking, and the background pattern path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use jobdeck::inventory::Inventory;
use jobdeck::tui::action::{Action, ViewId};
use jobdeck::tui::app::App;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::message::AppMessage;
use jobdeck::tui::theme::Theme;
use jobdeck::tui::views::inventory::{Focus, InputMode};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn load(sources: &[&Path]) -> Arc<Inventory> {
    let sources: Vec<String> = sources
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    Arc::new(Inventory::load(&sources).unwrap())
}

fn sample_app() -> App {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
    let mut app = App::new(Theme::default_theme(), Keymap::builtin());
    app.dispatch(Action::Resize(80, 24));
    app.set_inventory(load(&[&root]), PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    app
}

fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    terminal.backend().to_string()
}

fn press(app: &mut App, code: KeyCode) {
    app.on_event(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn type_keys(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// Moves the cursor to the row labelled `label`.
fn go_to(app: &mut App, label: &str) {
    app.dispatch(Action::Top);
    let labels = app.inventory_view().visible_labels();
    let row = labels
        .iter()
        .position(|l| l == label)
        .unwrap_or_else(|| panic!("{label} not shown: {labels:?}"));
    for _ in 0..row {
        app.dispatch(Action::Down);
    }
}

#[test]
fn selecting_groups_and_hosts() {
    let mut app = sample_app();
    go_to(&mut app, "shop_api");
    app.dispatch(Action::ToggleSelect);
    assert_eq!(
        app.selection(),
        ["shop-api-01", "shop-api-02", "shop-api-03"]
    );
    // Open the group and unselect one host: the group is partly selected.
    app.dispatch(Action::Expand);
    go_to(&mut app, "shop-api-02");
    app.dispatch(Action::ToggleSelect);
    assert_eq!(app.selection(), ["shop-api-01", "shop-api-03"]);
    // Toggling a partly selected group selects all of it; again clears it.
    go_to(&mut app, "shop_c1");
    app.dispatch(Action::ToggleSelect);
    assert_eq!(app.selection().len(), 7);
    app.dispatch(Action::ToggleSelect);
    assert!(app.selection().is_empty());
    // Selection is in inventory order, whatever order it was made in.
    go_to(&mut app, "local");
    app.dispatch(Action::ToggleSelect);
    go_to(&mut app, "blog_php");
    app.dispatch(Action::ToggleSelect);
    assert_eq!(
        app.selection(),
        [
            "blog-php-01",
            "blog-php-02",
            "local-1",
            "local-2",
            "local-3",
            "local-4"
        ]
    );
    assert!(screen(&app).contains("Inventory 18 hosts · 6 selected"));
    app.dispatch(Action::ClearSelection);
    assert!(app.selection().is_empty());
}

#[test]
fn select_all_takes_only_what_the_filter_shows() {
    let mut app = sample_app();
    app.dispatch(Action::Filter);
    type_keys(&mut app, "nginx");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.inventory_view().input_mode(), None);
    app.dispatch(Action::SelectAll);
    assert_eq!(app.selection(), ["blog-nginx-01", "blog-nginx-02"]);
    // Esc clears the kept filter; select all then takes everything.
    press(&mut app, KeyCode::Esc);
    app.dispatch(Action::SelectAll);
    assert_eq!(app.selection().len(), 18);
    assert_eq!(app.status_text(), Some("18 of 18 hosts selected"));
}

#[test]
fn pattern_box_counts_live_and_enter_selects() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Char('p'));
    assert_eq!(app.inventory_view().input_mode(), Some(InputMode::Pattern));
    let count = |app: &App| app.inventory_view().pattern_count();
    assert_eq!(count(&app), None);
    type_keys(&mut app, "shop");
    assert_eq!(count(&app), Some(Ok(10)));
    type_keys(&mut app, ":&shop_c1");
    assert_eq!(count(&app), Some(Ok(7)));
    type_keys(&mut app, ":!shop_web");
    assert_eq!(count(&app), Some(Ok(3)));
    press(&mut app, KeyCode::Backspace);
    assert_eq!(count(&app), Some(Ok(7)), "shop:&shop_c1:!shop_we");
    app.dispatch(Action::ClearInput);
    type_keys(&mut app, "nomatch*");
    assert_eq!(count(&app), Some(Ok(0)));
    // Enter on no match keeps the box open and selects nothing.
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.inventory_view().input_mode(), Some(InputMode::Pattern));
    assert!(app.selection().is_empty());
    app.dispatch(Action::ClearInput);
    type_keys(&mut app, "~(?=x)");
    let err = count(&app).unwrap().unwrap_err();
    assert!(err.contains("not a valid regex"), "{err}");
    app.dispatch(Action::ClearInput);
    // Colons combine: a union, then intersections, then exclusions.
    type_keys(&mut app, "shop_web:local[0]:&all:!shop-web-02");
    assert_eq!(count(&app), Some(Ok(4)));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.inventory_view().input_mode(), None);
    assert_eq!(
        app.selection(),
        ["shop-web-01", "shop-web-03", "shop-web-04", "local-1"]
    );
    assert_eq!(
        app.status_text(),
        Some("selected 4 hosts matching 'shop_web:local[0]:&all:!shop-web-02'")
    );
}

#[test]
fn text_boxes_take_keys_that_are_otherwise_bound() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Char('/'));
    // q, j, 2 and ? are typed, not quit / move / switch view / help.
    type_keys(&mut app, "qj2?");
    assert!(!app.should_quit());
    assert!(!app.help_open());
    assert_eq!(app.current_view(), ViewId::Inventory);
    assert!(screen(&app).contains("/ qj2?█"));
    press(&mut app, KeyCode::Esc);
    assert!(!screen(&app).contains("qj2?"));
    // Outside the box the same keys act.
    press(&mut app, KeyCode::Char('2'));
    assert_eq!(app.current_view(), ViewId::Flows);
    press(&mut app, KeyCode::Char('?'));
    assert!(app.help_open());
    assert!(screen(&app).contains("Help · Flows"));
    press(&mut app, KeyCode::Esc);
    assert!(!app.help_open());
    press(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit());
}

#[test]
fn ctrl_z_asks_to_suspend_once() {
    let mut app = sample_app();
    app.on_event(Event::Key(KeyEvent::new(
        KeyCode::Char('z'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.take_suspend());
    assert!(!app.take_suspend());
}

#[test]
fn a_user_keymap_changes_what_keys_do() {
    let (keymap, problems) = Keymap::with_overrides(
        "[inventory]\n\"n\" = \"down\"\n\"j\" = \"none\"\n",
        Path::new("keymap.toml"),
    );
    assert!(problems.is_empty(), "{problems:?}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
    let mut app = App::new(Theme::default_theme(), keymap);
    app.dispatch(Action::Resize(80, 24));
    app.set_inventory(load(&[&root]), PathBuf::from("."));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.selection().len(), 4, "still on blog: j is unbound");
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.selection().len(), 4, "n moved to blog_c1");
    // The footer shows the new key.
    assert!(screen(&app).contains("n/k move"), "{}", screen(&app));
}

#[test]
fn mouse_clicks_tabs_and_rows_and_scrolls() {
    let mut app = sample_app();
    let click = |app: &mut App, column: u16, row: u16| {
        app.on_event(Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }))
    };
    // Row 2 of the screen is the first tree row; row 6 is "shop".
    click(&mut app, 10, 6);
    app.dispatch(Action::ToggleSelect);
    assert_eq!(app.selection().len(), 10);
    app.on_event(Event::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 10,
        row: 6,
        modifiers: KeyModifiers::NONE,
    }));
    app.dispatch(Action::ToggleSelect);
    // Three rows below shop is shop_api.
    assert_eq!(app.selection().len(), 7);
    click(&mut app, 24, 0);
    assert_eq!(app.current_view(), ViewId::Flows);
    click(&mut app, 12, 0);
    assert_eq!(app.current_view(), ViewId::Inventory);
}

#[test]
fn tab_and_d_move_focus_to_the_detail_pane() {
    let mut app = sample_app();
    assert_eq!(app.inventory_view().focus(), Focus::Tree);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.inventory_view().focus(), Focus::Detail);
    assert!(screen(&app).contains("blog · project"));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.inventory_view().focus(), Focus::Tree);
}

#[test]
fn host_detail_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts.ini");
    std::fs::write(
        &hosts,
        "[db]\ndb-1 ansible_host=10.0.0.5 ansible_password=hunter2 api_token=abc123 \
         ansible_ssh_common_args='-o ProxyJump=jump@bastion'\n",
    )
    .unwrap();
    let mut app = App::new(Theme::default_theme(), Keymap::builtin());
    app.dispatch(Action::Resize(80, 24));
    app.set_inventory(load(&[&hosts]), dir.path().to_path_buf());
    go_to(&mut app, "db");
    app.dispatch(Action::Expand);
    app.dispatch(Action::Down);
    app.dispatch(Action::ToggleDetail);
    let text = screen(&app);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("abc123"), "{text}");
    assert!(text.contains("password"), "{text}");
    assert!(text.contains("set (***)"), "{text}");
    assert!(text.contains("api_token"), "{text}");
    assert!(text.contains("proxy jump"), "{text}");
    assert!(text.contains("jump@bastion"), "{text}");
}

#[test]
fn a_theme_colours_the_cursor_row() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
    let theme = Theme::builtin("high-contrast").unwrap();
    let selection_bg = theme.colors.selection_bg;
    let mut app = App::new(theme, Keymap::builtin());
    app.dispatch(Action::Resize(80, 24));
    app.set_inventory(load(&[&root]), PathBuf::from("."));
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    let buffer = terminal.backend().buffer();
    assert_eq!(buffer[(3, 2)].bg, selection_bg);
    assert_ne!(buffer[(3, 3)].bg, selection_bg);
    // The high-contrast theme's own glyphs are used.
    assert_eq!(buffer[(3, 2)].symbol(), "□");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_run_off_the_ui_task_and_stale_answers_are_dropped() {
    let (tasks, mut messages) = tokio::sync::mpsc::channel(16);
    let mut app = sample_app();
    app.set_task_sender(tasks);
    app.dispatch(Action::Pattern);
    type_keys(&mut app, "shop");
    // Nothing is answered inline when a runtime and a channel exist.
    assert_eq!(app.inventory_view().pattern_count(), None);
    // Four keystrokes, four evaluations; only the last one's answer counts.
    for _ in 0..4 {
        let message = messages.recv().await.unwrap();
        assert!(matches!(message, AppMessage::Inventory(_)));
        app.on_message(message);
    }
    assert_eq!(app.inventory_view().pattern_count(), Some(Ok(10)));
}

/// A 10,000-host inventory stays quick to load into the view, filter and
/// draw (generous bounds: this is a debug build on a shared machine).
#[test]
fn ten_thousand_hosts_stay_responsive() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for project in 0..5 {
        for cluster in 0..4 {
            for app in 0..5 {
                text.push_str(&format!(
                    "[p{project}c{cluster}a{app}]\nh-p{project}-c{cluster}-a{app}-[0000:0099]\n"
                ));
            }
            text.push_str(&format!("[p{project}c{cluster}:children]\n"));
            for app in 0..5 {
                text.push_str(&format!("p{project}c{cluster}a{app}\n"));
            }
        }
        text.push_str(&format!("[p{project}:children]\n"));
        for cluster in 0..4 {
            text.push_str(&format!("p{project}c{cluster}\n"));
        }
    }
    let hosts = dir.path().join("hosts.ini");
    std::fs::write(&hosts, text).unwrap();
    let inv = load(&[&hosts]);
    assert_eq!(inv.data.hosts.len(), 10_000);
    let mut app = App::new(Theme::default_theme(), Keymap::builtin());
    app.dispatch(Action::Resize(160, 48));
    let start = std::time::Instant::now();
    app.set_inventory(inv, dir.path().to_path_buf());
    app.dispatch(Action::ExpandAll);
    app.dispatch(Action::SelectAll);
    let setup = start.elapsed();
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..10 {
        app.dispatch(Action::PageDown);
        terminal.draw(|frame| app.draw(frame)).unwrap();
    }
    let per_frame = start.elapsed() / 10;
    let start = std::time::Instant::now();
    app.dispatch(Action::Filter);
    type_keys(&mut app, "c3-a4-009");
    let filter = start.elapsed();
    assert_eq!(app.selection().len(), 10_000);
    assert!(app.inventory_view().visible_labels().len() > 10);
    eprintln!("10k hosts: setup {setup:?}, frame {per_frame:?}, 9 filter keystrokes {filter:?}");
    assert!(per_frame.as_millis() < 250, "frame took {per_frame:?}");
    assert!(filter.as_secs() < 5, "filtering took {filter:?}");
}
