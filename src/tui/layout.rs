//! Where things go on the screen, as pure functions of the terminal size.
//! Drawing, paging and mouse hit-testing all ask these, so they agree.

use ratatui::layout::Rect;

/// Below this the console draws only a "terminal too small" note.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

/// From this width on, detail panes sit beside their list instead of
/// replacing it.
pub const WIDE: u16 = 110;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    pub title: Rect,
    pub body: Rect,
    pub status: Rect,
    pub footer: Rect,
}

impl Screen {
    /// `None` when the terminal is too small to lay out.
    pub fn of(area: Rect) -> Option<Screen> {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            return None;
        }
        let row = |y: u16| Rect::new(area.x, y, area.width, 1);
        Some(Screen {
            title: row(area.y),
            body: Rect::new(area.x, area.y + 1, area.width, area.height - 3),
            status: row(area.bottom() - 2),
            footer: row(area.bottom() - 1),
        })
    }
}

/// A rectangle of at most `width` × `height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// The area inside a one-cell border.
pub fn inner(area: Rect) -> Rect {
    Rect::new(
        area.x.saturating_add(1),
        area.y.saturating_add(1),
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    )
}

pub fn contains(area: Rect, column: u16, row: u16) -> bool {
    column >= area.x && column < area.right() && row >= area.y && row < area.bottom()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_rows_add_up_and_tiny_terminals_get_none() {
        let s = Screen::of(Rect::new(0, 0, 80, 24)).unwrap();
        assert_eq!(s.title.y, 0);
        assert_eq!(s.body, Rect::new(0, 1, 80, 21));
        assert_eq!(s.status.y, 22);
        assert_eq!(s.footer.y, 23);
        assert!(Screen::of(Rect::new(0, 0, 20, 5)).is_none());
        assert!(Screen::of(Rect::new(0, 0, 0, 0)).is_none());
    }

    #[test]
    fn centered_never_exceeds_the_area() {
        let area = Rect::new(2, 3, 10, 4);
        assert_eq!(centered(area, 100, 100), area);
        assert_eq!(centered(area, 4, 2), Rect::new(5, 4, 4, 2));
        assert_eq!(inner(Rect::new(0, 0, 1, 1)).width, 0);
    }
}
