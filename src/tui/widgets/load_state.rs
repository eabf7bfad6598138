//! A list read off the UI task as a view keeps it (still loading, nothing
//! stored yet, the read failed, or the rows), and the note a view shows in
//! place of rows it does not have, an empty list included.

use ratatui::text::Span;
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::theme::Theme;

#[derive(Debug, Clone, Default, PartialEq)]
pub enum LoadState<T> {
    /// Asked for; the answer has not come back.
    #[default]
    Loading,
    /// Nothing to read yet: there is no journal.
    Missing,
    Failed(String),
    Ready(T),
}

impl<T> LoadState<T> {
    /// A read's answer, where `Ok(None)` says there was nothing to read.
    pub fn from_read(read: Result<Option<T>, String>) -> LoadState<T> {
        match read {
            Ok(Some(rows)) => LoadState::Ready(rows),
            Ok(None) => LoadState::Missing,
            Err(e) => LoadState::Failed(e),
        }
    }

    pub fn ready(&self) -> Option<&T> {
        match self {
            LoadState::Ready(rows) => Some(rows),
            _ => None,
        }
    }

    /// What to show instead of the rows, in a view's `words`; `empty` says
    /// the rows are there but none is shown.
    pub fn note(&self, words: Words, empty: bool) -> Option<Note> {
        match self {
            LoadState::Loading => Some(Note::muted(words.loading)),
            LoadState::Missing => Some(Note::muted(words.missing)),
            LoadState::Failed(e) => Some(Note {
                text: format!("{}: {e}", words.failed),
                failed: true,
            }),
            LoadState::Ready(_) if empty => Some(Note::muted(words.empty)),
            LoadState::Ready(_) => None,
        }
    }
}

/// A view's words for each state.
pub struct Words {
    pub loading: &'static str,
    pub missing: String,
    /// Put before the read's error.
    pub failed: &'static str,
    pub empty: &'static str,
}

/// A line or two in place of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub text: String,
    /// Drawn in the theme's error colour.
    pub failed: bool,
}

impl Note {
    pub fn muted(text: impl Into<String>) -> Note {
        Note {
            text: text.into(),
            failed: false,
        }
    }

    /// The note wrapped between words; the caller places it (and may give
    /// it a block).
    pub fn paragraph(&self, theme: &Theme) -> Paragraph<'static> {
        let color = if self.failed {
            theme.colors.error
        } else {
            theme.colors.muted
        };
        Paragraph::new(Span::styled(self.text.clone(), theme.fg(color))).wrap(Wrap { trim: true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Words {
        Words {
            loading: "Reading…",
            missing: "No journal yet.".into(),
            failed: "Could not read",
            empty: "Nothing.",
        }
    }

    #[test]
    fn each_state_has_its_note() {
        let note = |state: LoadState<Vec<u8>>, empty| state.note(words(), empty);
        assert_eq!(
            note(LoadState::Loading, false),
            Some(Note::muted("Reading…"))
        );
        assert_eq!(
            note(LoadState::from_read(Ok(None)), false),
            Some(Note::muted("No journal yet."))
        );
        let failed = note(LoadState::from_read(Err("locked".into())), false).unwrap();
        assert_eq!(failed.text, "Could not read: locked");
        assert!(failed.failed);
        assert_eq!(
            note(LoadState::Ready(vec![]), true),
            Some(Note::muted("Nothing."))
        );
        assert_eq!(note(LoadState::from_read(Ok(Some(vec![1]))), false), None);
    }
}
