//! A one-line text box: the filters, the pattern box, the search box and
//! every typed field of a form. The cursor stays at the end; that is all
//! these need. `edit` is the one place the editing keys are handled.

use crate::tui::action::Action;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    text: String,
    /// The whole text is selected (a box reopened on it): typing replaces
    /// it, backspace removes it.
    selected: bool,
}

/// Longest input kept: a pasted wall of text must not grow without bound.
const MAX_LEN: usize = 1024;

impl TextInput {
    /// A box holding `text` (control characters dropped, as when typed).
    pub fn with_text(text: &str) -> TextInput {
        let mut input = TextInput::default();
        for c in text.chars() {
            input.push(c);
        }
        input
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Selects the whole text, so what is typed next replaces it.
    pub fn select_all(&mut self) {
        self.selected = !self.text.is_empty();
    }

    pub fn is_selected(&self) -> bool {
        self.selected
    }

    pub fn push(&mut self, c: char) {
        if std::mem::take(&mut self.selected) && !c.is_control() {
            self.text.clear();
        }
        if !c.is_control() && self.text.len() + c.len_utf8() <= MAX_LEN {
            self.text.push(c);
        }
    }

    pub fn backspace(&mut self) {
        if std::mem::take(&mut self.selected) {
            self.text.clear();
        }
        self.text.pop();
    }

    pub fn clear(&mut self) {
        self.selected = false;
        self.text.clear();
    }

    /// Applies an editing action (a typed character, backspace, clear);
    /// true if it was one, whether or not the text changed.
    pub fn edit(&mut self, action: &Action) -> bool {
        match action {
            Action::InsertChar(c) => self.push(*c),
            Action::Backspace => self.backspace(),
            Action::ClearInput => self.clear(),
            _ => return false,
        }
        true
    }

    /// The tail of the text that fits in `width` cells, leaving one for the cursor.
    pub fn visible_tail(&self, width: usize) -> &str {
        let room = width.saturating_sub(1);
        let count = self.text.chars().count();
        if count <= room {
            return &self.text;
        }
        let skip = count - room;
        let start = self
            .text
            .char_indices()
            .nth(skip)
            .map(|(i, _)| i)
            .unwrap_or(self.text.len());
        &self.text[start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_and_tails() {
        let mut input = TextInput::default();
        for c in "shöp\u{7}x".chars() {
            input.push(c);
        }
        assert_eq!(input.text(), "shöpx");
        input.backspace();
        assert_eq!(input.visible_tail(3), "öp");
        assert_eq!(input.visible_tail(10), "shöp");
        input.clear();
        assert!(input.is_empty());
        for _ in 0..2000 {
            input.push('a');
        }
        assert_eq!(input.text().len(), MAX_LEN);
    }

    #[test]
    fn typing_replaces_a_selected_text() {
        let mut input = TextInput::with_text("web*");
        input.select_all();
        assert!(input.is_selected());
        input.push('d');
        assert_eq!(input.text(), "d");
        assert!(!input.is_selected());
        let mut input = TextInput::with_text("web*");
        input.select_all();
        input.backspace();
        assert!(input.is_empty());
        let mut empty = TextInput::default();
        empty.select_all();
        assert!(!empty.is_selected());
    }

    #[test]
    fn editing_actions() {
        let mut input = TextInput::with_text("ab\tc");
        assert_eq!(input.text(), "abc");
        assert!(input.edit(&Action::Backspace));
        assert!(input.edit(&Action::InsertChar('d')));
        assert_eq!(input.text(), "abd");
        assert!(!input.edit(&Action::Submit));
        assert!(input.edit(&Action::ClearInput));
        assert!(input.is_empty());
    }
}
