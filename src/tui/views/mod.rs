//! The console's views. Each one turns actions into state changes (and
//! maybe a follow-up action) in `handle`, and draws itself from `&self`:
//! drawing never changes state, so a frame can be drawn any number of times.

pub mod inventory;
// tuihist: History, Flows, Schedules and their background work.
pub mod background;
pub mod flows;
pub mod history;
pub mod param_fields;
pub mod planner;
pub mod run;
pub mod schedules;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::action::Action;
use super::keymap::KeyContext;
use super::theme::Theme;

/// One entry of the footer: the keys of `actions`, then `label`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hint {
    pub actions: Vec<Action>,
    pub label: &'static str,
}

impl Hint {
    pub fn new(action: Action, label: &'static str) -> Hint {
        Hint {
            actions: vec![action],
            label,
        }
    }

    pub fn pair(first: Action, second: Action, label: &'static str) -> Hint {
        Hint {
            actions: vec![first, second],
            label,
        }
    }
}

pub trait View {
    /// Applies an action; may answer with a follow-up action for the app.
    fn handle(&mut self, action: &Action) -> Option<Action>;

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

    /// The keys that apply now, for the footer.
    fn hints(&self) -> Vec<Hint>;

    /// True while the view edits text itself (the embedded editor): keys
    /// its contexts do not bind arrive as `Action::Key`.
    fn raw_keys(&self) -> bool {
        false
    }

    /// Sections for the help overlay: a title and the context it lists.
    fn help_sections(&self) -> Vec<(&'static str, KeyContext)> {
        Vec::new()
    }

    /// The view was just brought to the front.
    fn on_show(&mut self) {}
}
