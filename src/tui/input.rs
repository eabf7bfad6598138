//! A one-line text box: the filter and the pattern box. The cursor stays at
//! the end; that is all a search box needs.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    text: String,
}

/// Longest input kept: a pasted wall of text must not grow without bound.
const MAX_LEN: usize = 1024;

impl TextInput {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn push(&mut self, c: char) {
        if !c.is_control() && self.text.len() + c.len_utf8() <= MAX_LEN {
            self.text.push(c);
        }
    }

    pub fn backspace(&mut self) {
        self.text.pop();
    }

    pub fn clear(&mut self) {
        self.text.clear();
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
}
