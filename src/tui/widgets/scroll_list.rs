//! A list's cursor and the first row shown. Moving the cursor keeps it in
//! view of the height last laid out; drawing only reads, so a frame can be
//! drawn any number of times.

use crate::tui::action::Action;

/// Rows one mouse wheel notch moves.
pub const WHEEL_ROWS: usize = 3;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScrollList {
    cursor: usize,
    offset: usize,
    /// Rows the list had at its last layout (at least 1).
    height: usize,
}

impl ScrollList {
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The first row shown.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The list is laid out `height` rows high (a resize, a pane opening).
    pub fn set_height(&mut self, height: usize, len: usize) {
        self.height = height.max(1);
        self.offset = keep_in_view(self.cursor, self.offset, self.height, len);
    }

    /// Moves the cursor to `index` (kept inside `0..len`) and the window
    /// with it, as little as possible.
    pub fn select(&mut self, index: usize, len: usize) {
        self.cursor = index.min(len.saturating_sub(1));
        self.offset = keep_in_view(self.cursor, self.offset, self.height.max(1), len);
    }

    /// The list changed length: the cursor stays where it can.
    pub fn clamp(&mut self, len: usize) {
        self.select(self.cursor, len);
    }

    /// The movement keys and the wheel; false for any other action.
    pub fn handle(&mut self, action: &Action, len: usize) -> bool {
        let page = self.height.max(2) - 1;
        let to = match action {
            Action::Up => self.cursor.saturating_sub(1),
            Action::Down => self.cursor + 1,
            Action::PageUp => self.cursor.saturating_sub(page),
            Action::PageDown => self.cursor + page,
            Action::Top => 0,
            Action::Bottom => len.saturating_sub(1),
            Action::ScrollUp { .. } => self.cursor.saturating_sub(WHEEL_ROWS),
            Action::ScrollDown { .. } => self.cursor + WHEEL_ROWS,
            _ => return false,
        };
        self.select(to, len);
        true
    }

    /// The row index drawn `y` rows below the list's top.
    pub fn row_at(&self, y: usize) -> usize {
        self.offset + y
    }
}

/// The first row to show so that row `cursor` of `rows` is inside a window
/// of `height` rows that starts near `offset`, moving it as little as
/// possible.
pub fn keep_in_view(cursor: usize, offset: usize, height: usize, rows: usize) -> usize {
    if height == 0 {
        return cursor;
    }
    let mut top = offset.min(cursor);
    if cursor >= top + height {
        top = cursor + 1 - height;
    }
    top.min(rows.saturating_sub(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_cursor_as_little_as_possible() {
        let mut list = ScrollList::default();
        list.set_height(5, 20);
        list.select(7, 20);
        assert_eq!((list.cursor(), list.offset()), (7, 3));
        list.handle(&Action::Up, 20);
        assert_eq!(list.offset(), 3, "still in view: the window stays");
        list.handle(&Action::Top, 20);
        assert_eq!((list.cursor(), list.offset()), (0, 0));
        list.handle(&Action::Bottom, 20);
        assert_eq!((list.cursor(), list.offset()), (19, 15));
        list.clamp(4);
        assert_eq!((list.cursor(), list.offset()), (3, 0));
        assert!(!list.handle(&Action::Submit, 4));
    }

    #[test]
    fn keep_in_view_clamps_to_the_end() {
        assert_eq!(keep_in_view(0, 0, 5, 20), 0);
        assert_eq!(keep_in_view(12, 0, 5, 20), 8);
        assert_eq!(keep_in_view(12, 10, 5, 20), 10);
        assert_eq!(keep_in_view(3, 10, 5, 20), 3);
        assert_eq!(keep_in_view(19, 18, 5, 20), 15);
    }
}
