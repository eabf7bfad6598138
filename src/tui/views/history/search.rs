//! History's search box (`ctrl-f`): the whole journal searched as it is
//! typed, with `jobdeck grep`'s code (`tasks::journal_search`, off the UI
//! task; an answer for an older query is dropped), the matching lines
//! newest run first as `run · flow · host · step: line`. Enter on one
//! opens that run's replay at that host, scrolled to the line.

use super::{HistoryView, Message, Mode};
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::tasks::journal_search::{JournalHit, JournalHits, search_journal};
use crate::tui::widgets::scroll_list::ScrollList;
use crate::tui::widgets::text_box::TextInput;

#[derive(Debug, Default)]
pub(super) struct JournalSearch {
    pub(super) input: TextInput,
    /// The box has the keyboard (else the list of matches).
    pub(super) typing: bool,
    /// The last answer for the query in the box, or why there is none.
    pub(super) found: Option<Result<JournalHits, String>>,
    /// A search for the box's query is under way.
    pub(super) searching: bool,
    pub(super) list: ScrollList,
    /// Tells the answer for the latest query from older ones.
    generation: u64,
    /// The match opened: its run's replay shows it once read.
    pub(super) opening: Option<JournalHit>,
    /// The replay was opened from here: leaving it comes back here.
    pub(super) came_from: bool,
}

impl JournalSearch {
    pub(super) fn hits(&self) -> &[JournalHit] {
        match &self.found {
            Some(Ok(found)) => &found.hits,
            _ => &[],
        }
    }
}

impl HistoryView {
    /// `ctrl-f`: the box, with the last query.
    pub(super) fn open_search(&mut self) {
        self.mode = Mode::Search;
        self.search.typing = true;
    }

    pub(super) fn search_action(&mut self, action: &Action, fx: &mut Effects<Message>) {
        if self.search.typing {
            match action {
                Action::Submit => self.search.typing = self.search.hits().is_empty(),
                Action::Cancel => self.mode = Mode::List,
                edit => {
                    if self.search.input.edit(edit) {
                        self.run_search(fx);
                    }
                }
            }
            return;
        }
        let count = self.search.hits().len();
        if self.search.list.handle(action, count) {
            return;
        }
        match action {
            Action::Submit => {
                if let Some(hit) = self.search.hits().get(self.search.list.cursor()).cloned() {
                    self.open(hit.instance, fx);
                    self.search.opening = Some(hit);
                }
            }
            Action::SearchAll | Action::Filter => self.search.typing = true,
            Action::Cancel => self.mode = Mode::List,
            _ => {}
        }
    }

    /// Searches the journal for the box's query (an empty box: nothing).
    fn run_search(&mut self, fx: &mut Effects<Message>) {
        self.search.generation += 1;
        self.search.list.select(0, 0);
        let query = self.search.input.text().to_string();
        let Some(path) = self.journal.clone().filter(|_| !query.is_empty()) else {
            self.search.found = None;
            self.search.searching = false;
            return;
        };
        self.search.searching = true;
        let generation = self.search.generation;
        fx.work(move || Message::Searched {
            generation,
            result: search_journal(&path, &query),
        });
    }

    /// A search's answer: kept if it is for the query in the box.
    pub(super) fn searched(&mut self, generation: u64, result: Result<JournalHits, String>) {
        if generation != self.search.generation {
            return;
        }
        self.search.searching = false;
        let count = result.as_ref().map_or(0, |f| f.hits.len());
        self.search.found = Some(result);
        self.search.list.select(0, count);
    }

    /// The replay of a match opened from here is read: its host and line.
    pub(super) fn reveal_opened(&mut self, fx: &mut Effects<Message>) {
        let Some(hit) = self.search.opening.take() else {
            return;
        };
        if self.replay_id() != Some(hit.instance) {
            return;
        }
        self.search.came_from = true;
        let term = self.search.input.text().to_string();
        let mut run_fx = Effects::new();
        self.run
            .reveal(&hit.host, &hit.text, hit.before, &term, &mut run_fx);
        fx.absorb(run_fx, Message::Run);
    }
}
