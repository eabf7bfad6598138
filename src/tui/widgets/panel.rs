//! A bordered panel with a title, its border brighter while it has the focus.

use ratatui::text::Span;
use ratatui::widgets::{Block, Borders};

use crate::tui::theme::Theme;

pub fn panel<'a>(title: &str, focused: bool, theme: &Theme) -> Block<'a> {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused));
    if title.is_empty() {
        block
    } else {
        block.title(Span::styled(title.to_string(), theme.title()))
    }
}
