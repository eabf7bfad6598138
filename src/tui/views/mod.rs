//! The console's views. Each is a folder: `mod.rs` holds the view and
//! routes actions and messages to small state modules that know nothing of
//! the terminal; drawing lives apart and takes `&self`, so a frame can be
//! drawn any number of times and never changes what is shown next.
//!
//! A view touches no file, database or process: slow work goes out as an
//! effect (`Effects::work`) and its result comes back as the view's
//! message.

pub mod flows;
pub mod history;
pub mod inventory;

pub mod planner;
pub mod run;
pub mod schedules;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::action::Action;
use super::effects::Effects;
use super::keymap::KeyContext;
use super::theme::Theme;
use super::widgets::dialog::DialogKind;

/// One entry of the footer: the keys of `actions`, then `label`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hint {
    pub actions: Vec<Action>,
    pub label: std::borrow::Cow<'static, str>,
}

impl Hint {
    pub fn new(action: Action, label: impl Into<std::borrow::Cow<'static, str>>) -> Hint {
        Hint {
            actions: vec![action],
            label: label.into(),
        }
    }

    pub fn pair(first: Action, second: Action, label: &'static str) -> Hint {
        Hint {
            actions: vec![first, second],
            label: label.into(),
        }
    }
}

/// How the App draws a view and finds its keys.
pub trait View {
    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme);

    /// Tells the view the area it will be drawn in, so paging and mouse
    /// hits agree with the last frame.
    fn set_area(&mut self, area: Rect);

    /// Where the view's keys are looked up, innermost first.
    fn key_contexts(&self) -> Vec<KeyContext>;

    /// True while a text box has the keyboard: characters are typed, not
    /// looked up, and global keys are off.
    fn captures_text(&self) -> bool {
        false
    }

    /// True while the view edits text itself (the embedded editor): keys
    /// its contexts do not bind arrive as `Action::Key`.
    fn raw_keys(&self) -> bool {
        false
    }

    /// The keys that apply now, for the footer.
    fn hints(&self) -> Vec<Hint>;

    /// Sections for the help overlay: a title and the context it lists.
    fn help_sections(&self) -> Vec<(&'static str, KeyContext)>;
}

/// How a view changes: by the operator's actions, by the results of the
/// work it asked for, and by the answers to its questions. Everything it
/// wants besides its own state goes into `fx`.
pub trait Update {
    /// What the view's work reports back.
    type Message;

    fn handle(&mut self, action: &Action, fx: &mut Effects<Self::Message>);

    fn on_message(&mut self, message: Self::Message, fx: &mut Effects<Self::Message>);

    /// The operator answered a question this view asked in the dialog.
    fn answer(&mut self, _kind: &DialogKind, _action: &Action, _fx: &mut Effects<Self::Message>) {}

    /// The view was just brought to the front.
    fn on_show(&mut self, _fx: &mut Effects<Self::Message>) {}
}
