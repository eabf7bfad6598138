//! Terminal events into actions: keys through the keymap in the contexts
//! that apply now (the dialog, the help, a text box, the view, then the
//! global keys), the mouse by position, a paste as typed characters.

use crossterm::event::{Event, KeyEventKind, KeyModifiers, MouseEventKind};

use super::App;
use crate::tui::action::Action;
use crate::tui::key::Key;
use crate::tui::keymap::KeyContext;

impl App {
    /// A terminal event: keys go through the keymap, the mouse is routed by
    /// position, a resize relays out.
    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => {
                if let Some(action) = self.action_for_key(&Key::from_event(&key)) {
                    self.dispatch(action);
                }
            }
            Event::Mouse(mouse) => {
                let (column, row) = (mouse.column, mouse.row);
                let action = match mouse.kind {
                    MouseEventKind::ScrollUp => Some(Action::ScrollUp { column, row }),
                    MouseEventKind::ScrollDown => Some(Action::ScrollDown { column, row }),
                    MouseEventKind::Down(_) => Some(Action::Click { column, row }),
                    _ => None,
                };
                if let Some(action) = action {
                    self.dispatch(action);
                }
            }
            Event::Resize(width, height) => self.dispatch(Action::Resize(width, height)),
            Event::Paste(text) if self.typing() || self.dialog_takes_text() => {
                for c in text.chars().filter(|c| !c.is_control()) {
                    self.dispatch(Action::InsertChar(c));
                }
            }
            Event::FocusGained => self.dirty = true,
            _ => {}
        }
    }

    /// True while the open dialog is answered by typing.
    fn dialog_takes_text(&self) -> bool {
        self.asking_passphrase() || self.asking_guard() || self.asking_secret_param()
    }

    pub(super) fn contexts(&self) -> Vec<KeyContext> {
        // The passphrase, a secret param and the guard's word take text: keys edit them
        // as in an input box.
        if self.dialog_takes_text() {
            return vec![KeyContext::Input];
        }
        if self.dialog.is_some() {
            return vec![KeyContext::Dialog];
        }
        if self.help.is_some() {
            return vec![KeyContext::Help];
        }
        if self.command.is_some() {
            return vec![KeyContext::CommandBox, KeyContext::Input];
        }
        let view = self.active_view();
        let mut contexts = view.key_contexts();
        if !view.captures_text() {
            contexts.push(KeyContext::Global);
        }
        contexts
    }

    pub fn action_for_key(&self, key: &Key) -> Option<Action> {
        if let Some(action) = self.keymap.lookup(&self.contexts(), key) {
            return Some(action);
        }
        let plain = key.modifiers.difference(KeyModifiers::SHIFT).is_empty();
        if self.dialog_takes_text() {
            return match key.code {
                crossterm::event::KeyCode::Char(c) if plain => Some(Action::InsertChar(c)),
                _ => None,
            };
        }
        if self.help.is_none() && self.command.is_none() && self.active_view().raw_keys() {
            return Some(Action::Key(*key));
        }
        match key.code {
            crossterm::event::KeyCode::Char(c)
                if plain && self.help.is_none() && self.dialog.is_none() && self.typing() =>
            {
                Some(Action::InsertChar(c))
            }
            _ => None,
        }
    }
}

impl App {
    /// True while keys type text: the command box, or a view's text box.
    fn typing(&self) -> bool {
        self.command.is_some() || self.active_view().captures_text()
    }
}
