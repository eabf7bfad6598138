//! What the console's tests share: the app on the sample inventory, the
//! screen as text, and keys pressed as the terminal would send them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
pub mod journaled;

use jobdeck::inventory::Inventory;
use jobdeck::tui::action::Action;
use jobdeck::tui::app::App;
use jobdeck::tui::keymap::Keymap;
use jobdeck::tui::message::AppMessage;
use jobdeck::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

/// The repository's root (the sample inventory lives there).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The console at `width`×`height` on the sample inventory, its clock fixed.
pub fn sample_app(width: u16, height: u16) -> App {
    sample_app_with_keys(width, height, Keymap::builtin())
}

/// `sample_app` with another keymap.
pub fn sample_app_with_keys(width: u16, height: u16, keymap: Keymap) -> App {
    let inventory = Inventory::load(&[root()
        .join("sample-inventory")
        .to_string_lossy()
        .into_owned()])
    .unwrap();
    let mut app = App::new(Theme::default_theme(), keymap);
    app.set_fixed_clock("12:00:00");
    app.dispatch(Action::Resize(width, height));
    app.set_inventory(Arc::new(inventory), root());
    app
}

/// The screen as text, drawn into a `width`×`height` test terminal.
pub fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    terminal.backend().to_string()
}

/// One key, through the keymap, as the terminal sends it.
pub fn press(app: &mut App, code: KeyCode) {
    app.on_event(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// Each character of `text` as a key press (`\n` is Enter).
pub fn type_keys(app: &mut App, text: &str) {
    for c in text.chars() {
        match c {
            '\n' => press(app, KeyCode::Enter),
            c => press(app, KeyCode::Char(c)),
        }
    }
}

/// Feeds the app its background messages (and ticks) until `done`, as the
/// console's loop does; fails after two minutes, naming `what`.
pub async fn pump_until(
    app: &mut App,
    rx: &mut mpsc::Receiver<AppMessage>,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done(app) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; status: {:?}",
            app.status_text()
        );
        tokio::select! {
            Some(message) = rx.recv() => app.on_message(message),
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        app.tick();
    }
}
