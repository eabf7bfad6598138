//! The whole console drawn into ratatui's TestBackend at 80×24 and 160×48,
//! on the repository's sample inventory, compared with insta snapshots in
//! tests/snapshots/. Review changes with `cargo insta review` (or delete the
//! `.snap` file and rerun to accept the new picture).

mod console;
use console::screen;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jobdeck::inventory::Inventory;
use jobdeck::tui::action::Action;
use jobdeck::tui::app::App;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn sample_app(width: u16, height: u16) -> App {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
    let inv = Inventory::load(&[root.to_string_lossy().into_owned()]).unwrap();
    let mut app = App::new(Theme::default_theme(), Keymap::builtin());
    app.dispatch(Action::Resize(width, height));
    app.set_inventory(Arc::new(inv), PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    app
}

/// Snapshots the app at its size, with times and this checkout's path
/// replaced so the pictures are stable.
fn check(name: &str, app: &App, width: u16, height: u16) {
    let text = screen(app, width, height);
    let root = env!("CARGO_MANIFEST_DIR").to_string();
    insta::with_settings!({
        snapshot_suffix => format!("{width}x{height}"),
        filters => vec![
            (r"\b\d{2}:\d{2}:\d{2}\b", "HH:MM:SS"),
            (regex_escape(&root).as_str(), "[ROOT]"),
        ],
    }, {
        insta::assert_snapshot!(name, text);
    });
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.dispatch(Action::InsertChar(c));
    }
}

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

#[test]
fn inventory_tree() {
    for (w, h) in SIZES {
        let mut app = sample_app(w, h);
        // Open the shop_api app and put the cursor on a host.
        for _ in 0..7 {
            app.dispatch(Action::Down);
        }
        app.dispatch(Action::Expand);
        app.dispatch(Action::Down);
        app.dispatch(Action::ToggleSelect);
        check("inventory_tree", &app, w, h);
    }
}

#[test]
fn inventory_filter_active() {
    for (w, h) in SIZES {
        let mut app = sample_app(w, h);
        app.dispatch(Action::Filter);
        type_text(&mut app, "web0");
        check("inventory_filter", &app, w, h);
    }
}

#[test]
fn inventory_pattern_box_with_count() {
    for (w, h) in SIZES {
        let mut app = sample_app(w, h);
        app.dispatch(Action::Pattern);
        type_text(&mut app, "shop:&shop_c1:!shop_web");
        check("inventory_pattern", &app, w, h);
    }
}

#[test]
fn inventory_pattern_error_is_inline() {
    let mut app = sample_app(80, 24);
    app.dispatch(Action::Pattern);
    // `\p{L}` is Rust's regex syntax, not Python's: an error, shown inline.
    type_text(&mut app, r"~web\p{L}");
    check("inventory_pattern_error", &app, 80, 24);
}

#[test]
fn inventory_host_detail() {
    for (w, h) in SIZES {
        let mut app = sample_app(w, h);
        // blog-php-01: reached through a ProxyCommand, with masked secrets if any.
        app.dispatch(Action::Down);
        app.dispatch(Action::Down);
        app.dispatch(Action::Expand);
        app.dispatch(Action::Down);
        app.dispatch(Action::ToggleDetail);
        check("inventory_host_detail", &app, w, h);
    }
}

#[test]
fn help_overlay() {
    for (w, h) in SIZES {
        let mut app = sample_app(w, h);
        app.dispatch(Action::Help);
        check("help_overlay", &app, w, h);
    }
}

#[test]
fn tiny_terminal_draws_a_note_and_never_panics() {
    let mut app = sample_app(20, 5);
    check("too_small", &app, 20, 5);
    // Every size from nothing up must draw without a panic.
    for w in 0..90 {
        for h in (0..30).step_by(3) {
            app.dispatch(Action::Resize(w, h));
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            terminal.draw(|frame| app.draw(frame)).unwrap();
        }
    }
}

#[test]
fn loading_and_failed_inventory() {
    let mut app = App::new(Theme::default_theme(), Keymap::builtin());
    app.dispatch(Action::Resize(80, 24));
    app.set_loading("sample-inventory");
    assert!(screen(&app, 80, 24).contains("Loading the inventory from sample-inventory"));
    let err = Inventory::load(&["/nonexistent/inventory".to_string()]).unwrap_err();
    app.on_message(jobdeck::tui::message::AppMessage::InventoryLoaded {
        result: Err(err.to_string()),
        base: PathBuf::from("."),
    });
    let text = screen(&app, 80, 24);
    assert!(text.contains("The inventory could not be loaded"), "{text}");
    assert!(text.contains("/nonexistent/inventory"), "{text}");
}

/// The fuzzy filter ranks whole-word and prefix matches first: "web"
/// lists the web app and hosts before shop-worker-b (whose letters w, e, b
/// only match scattered).
#[test]
fn inventory_filter_ranks_words_and_prefixes_first() {
    let mut app = sample_app(160, 48);
    app.dispatch(Action::Filter);
    type_text(&mut app, "web");
    let labels = app.inventory_view().visible_labels();
    let web = labels
        .iter()
        .position(|l| l.contains("web"))
        .expect("web shown");
    if let Some(worker) = labels.iter().position(|l| l.contains("worker")) {
        assert!(web < worker, "{labels:?}");
    }
    check("inventory_filter_ranked", &app, 160, 48);
}

/// The pattern box reopens with its last text selected: typing replaces
/// it, and the box shows it selected.
#[test]
fn inventory_pattern_box_reopens_with_its_text_selected() {
    let mut app = sample_app(80, 24);
    app.dispatch(Action::Pattern);
    type_text(&mut app, "shop_web");
    app.dispatch(Action::Submit);
    app.dispatch(Action::Pattern);
    let text = screen(&app, 80, 24);
    assert!(text.contains("pattern: shop_web"), "{text}");
    type_text(&mut app, "local");
    let text = screen(&app, 80, 24);
    assert!(text.contains("pattern: local█"), "{text}");
    assert!(!text.contains("shop_weblocal"), "{text}");
}

/// Each view's help speaks of that view only: the Schedules help does not
/// borrow the Flows view's "create a new flow", "save to the file" or
/// "remove the step", and the popup takes the width its lines need.
#[test]
fn each_views_help_lists_its_own_keys() {
    let mut app = sample_app(160, 48);
    app.dispatch(Action::ShowView(jobdeck::tui::action::ViewId::Schedules));
    app.dispatch(Action::Help);
    let text = screen(&app, 160, 48);
    assert!(text.contains("Help · Schedules"), "{text}");
    for borrowed in ["flow", "save to the file", "remove the step", "atom"] {
        assert!(!text.contains(borrowed), "{borrowed}: {text}");
    }
    assert!(text.contains("add a schedule"), "{text}");
    assert!(text.contains("delete the schedule (asks first)"), "{text}");
    app.dispatch(Action::Cancel);
    app.dispatch(Action::ShowView(jobdeck::tui::action::ViewId::Flows));
    app.dispatch(Action::Help);
    let text = screen(&app, 160, 48);
    assert!(text.contains("create a new flow"), "{text}");
    assert!(text.contains("remove the step"), "{text}");
    assert!(!text.contains("schedule"), "{text}");
}

/// A status message longer than the line wraps between words over the
/// rows above it, so a long error can be read whole.
#[test]
fn a_long_status_message_wraps() {
    let mut app = sample_app(80, 24);
    let long = "cannot write /var/lib/jobdeck/output/web-01.txt: permission denied \
                (the directory belongs to another user; choose another with --output-dir \
                or fix its owner) and the host list was not saved either";
    app.set_status(jobdeck::tui::effects::StatusLevel::Error, long);
    let text = screen(&app, 80, 24);
    for word in ["permission denied", "--output-dir", "not saved", "either"] {
        assert!(text.contains(word), "{word}: {text}");
    }
    // Upwards from the status row, above the footer: the message's start
    // first, its end on the status row.
    let rows: Vec<&str> = text.lines().collect();
    assert!(rows[rows.len() - 5].contains("cannot write"), "{text}");
    assert!(rows[rows.len() - 2].contains("either"), "{text}");
    check("status_wrapped", &app, 80, 24);
}
