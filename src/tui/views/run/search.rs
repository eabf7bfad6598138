//! Searching the output as vim and less do: `/` forward, `?` backward,
//! `n` again the same way, `N` the other way, wrapping at either end with
//! a word in the status line. A search covers the whole output of the host
//! under the cursor: the store's buffer, and the lines it dropped, whose
//! matches come from the journal (`tasks::search_output`, off the UI
//! task). Matches are kept per host: the search over every host
//! (`all_hosts`) fills them too, and when it is the search shown, `n`/`N`
//! go on to the next host that matches instead of going round one host.

use std::collections::HashMap;

use super::pane::{PaneLine, line_span};
use super::{Message, RunView};
use crate::engine::events::HostIndex;
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::run_store::{DroppedMatches, MatchRequest, Needle, RunStore};
use crate::tui::tasks::search_output::search_dropped;
use crate::tui::widgets::text_box::TextInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

impl Direction {
    fn reversed(self) -> Direction {
        match self {
            Direction::Forward => Direction::Backward,
            Direction::Backward => Direction::Forward,
        }
    }

    /// The prompt the box shows, as in vim.
    pub fn prompt(self) -> &'static str {
        match self {
            Direction::Forward => "/",
            Direction::Backward => "?",
        }
    }
}

#[derive(Debug)]
pub(super) struct Search {
    /// The box while it has the keyboard, with the term before it opened
    /// (Esc puts it back).
    pub(super) input: Option<(TextInput, String)>,
    /// What is searched for (and highlighted); empty: no search.
    pub(super) term: String,
    /// The way the last `/` or `?` went: `n` goes on that way.
    pub(super) direction: Direction,
    /// The match last jumped to: host and line.
    pub(super) current: Option<(HostIndex, u64)>,
    /// Per host, the matches among the lines its store dropped.
    pub(super) dropped: HashMap<HostIndex, DroppedMatches>,
    /// A journal search in flight: its generation, and the jump waiting
    /// for it.
    pending: Option<(u64, Direction, Start)>,
    generation: u64,
    /// Going to one line found elsewhere (History's search): the term is
    /// that line's text while the matches before it are passed; then the
    /// operator's term comes back.
    reveal: Option<Reveal>,
}

#[derive(Debug)]
struct Reveal {
    /// Matches of the line's text still to pass.
    skip: usize,
    /// The term highlighted once there.
    term: String,
}

impl Default for Search {
    fn default() -> Self {
        Search {
            input: None,
            term: String::new(),
            direction: Direction::Forward,
            current: None,
            dropped: HashMap::new(),
            pending: None,
            generation: 0,
            reveal: None,
        }
    }
}

impl Search {
    /// Forgets what was read back (another run, or the store rebuilt).
    pub(super) fn forget_read(&mut self) {
        self.dropped.clear();
        self.pending = None;
        self.reveal = None;
        self.current = None;
        self.generation += 1;
    }

    pub(super) fn searching_journal(&self) -> bool {
        self.pending.is_some()
    }
}

/// Where a search starts in the host under the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// From the match shown, or from the pane's edge.
    Pane,
    /// From the host's first line (forward) or its last (backward): the
    /// search came over from another host.
    Edge,
}

/// Where the next match was found.
enum Found {
    At(u64),
    /// After going round the end (or the start).
    Wrapped(u64),
    Nowhere,
}

impl RunView {
    /// Opens the search box: `/` searches forward, `?` backward.
    pub(super) fn open_search(&mut self, direction: Direction) {
        self.search.input = Some((TextInput::default(), self.search.term.clone()));
        self.search.direction = direction;
    }

    /// A key while the search box is open. The term is highlighted as it
    /// is typed; Enter searches (an empty box searches the last term
    /// again), Esc puts the last term back.
    pub(super) fn search_box_key(&mut self, action: &Action, fx: &mut Effects<Message>) {
        let Some((input, before)) = &mut self.search.input else {
            return;
        };
        match action {
            Action::Submit => {
                if input.text().is_empty() {
                    self.search.term = before.clone();
                }
                self.search.input = None;
                self.search.current = None;
                self.find(self.search.direction, fx, true, Start::Pane);
            }
            Action::Cancel => {
                self.search.term = before.clone();
                self.search.input = None;
            }
            edit => {
                if input.edit(edit) {
                    self.search.term = input.text().to_string();
                }
            }
        }
    }

    /// `n` (the way the last search went) or `N` (the other way).
    pub(super) fn search_again(&mut self, same_way: bool, fx: &mut Effects<Message>) {
        let direction = if same_way {
            self.search.direction
        } else {
            self.search.direction.reversed()
        };
        self.find(direction, fx, true, Start::Pane);
    }

    /// A journal search came back: the jump that waited for it goes on.
    pub(super) fn dropped_matches_read(&mut self, read: DroppedMatches, fx: &mut Effects<Message>) {
        let Some((generation, direction, start)) = self.search.pending else {
            return;
        };
        let same_run = self
            .store
            .as_ref()
            .is_some_and(|s| RunStore::lock(s).instance == read.instance);
        if generation != read.generation || !same_run {
            return;
        }
        self.search.pending = None;
        self.search.dropped.insert(read.host, read);
        self.find(direction, fx, false, start);
        self.go_on_revealing(fx);
    }

    /// Shows `host`'s line `text` (a match of `term` found in the journal
    /// by History's search), passing the `before` earlier lines of its
    /// output that hold the same text; `term` is then the search shown.
    pub fn reveal(
        &mut self,
        host: &str,
        text: &str,
        before: usize,
        term: &str,
        fx: &mut Effects<Message>,
    ) {
        if !self.select_host(host) {
            return fx.warn(format!("{host} is not in this run"));
        }
        self.search.term = text.to_string();
        self.search.direction = Direction::Forward;
        self.search.current = None;
        self.search.reveal = Some(Reveal {
            skip: before,
            term: term.to_string(),
        });
        self.find(Direction::Forward, fx, true, Start::Edge);
        self.go_on_revealing(fx);
    }

    /// Passes the matches left before the line to reveal (each found
    /// without another read: the first one read the journal), then puts
    /// the operator's term back; a line not found leads to the term's
    /// first match.
    fn go_on_revealing(&mut self, fx: &mut Effects<Message>) {
        while self.search.pending.is_none() {
            let Some(reveal) = &mut self.search.reveal else {
                return;
            };
            if reveal.skip == 0 || self.search.current.is_none() {
                let term = std::mem::take(&mut reveal.term);
                let found = self.search.current.is_some();
                self.search.reveal = None;
                if let Some((h, line)) = self.search.current {
                    let name = self.host_name(h);
                    fx.info(format!("'{term}' in {name}'s output, line {}", line + 1));
                }
                self.search.term = term;
                if !found {
                    self.find(Direction::Forward, fx, true, Start::Edge);
                }
                return;
            }
            reveal.skip -= 1;
            self.find(Direction::Forward, fx, false, Start::Pane);
        }
    }

    /// Moves to the next match `direction`-wards in the host under the
    /// cursor. Without the matches among its dropped lines (or with some
    /// older than what it dropped since), asks the journal first when
    /// `may_read`, and goes on when the answer comes. While the search over
    /// every host is the one shown, the end of a host's matches leads to
    /// the next host that has some.
    pub(super) fn find(
        &mut self,
        direction: Direction,
        fx: &mut Effects<Message>,
        may_read: bool,
        start: Start,
    ) {
        if self.search.term.is_empty() {
            return;
        }
        let (Some(h), Some(store)) = (self.cursor_host(), self.store.clone()) else {
            return;
        };
        let store = RunStore::lock(&store);
        let host = &store.hosts[h];
        let needle = Needle::new(&self.search.term);
        let first = host.first_line();
        let reads = self.reads_older(&store, host);
        let known = self
            .search
            .dropped
            .get(&h)
            .filter(|d| reads && d.term == self.search.term);
        if reads && may_read && known.is_none_or(|d| d.below < first) {
            let Some(journal) = self.journal.clone() else {
                return;
            };
            self.search.generation += 1;
            let Some(request) = MatchRequest::new(
                journal,
                &store,
                h,
                &self.search.term,
                self.search.generation,
            ) else {
                return;
            };
            self.search.pending = Some((self.search.generation, direction, start));
            fx.info(format!("searching {}'s earlier output…", host.name));
            fx.work(move || Message::Matches(search_dropped(request)));
            return;
        }
        let (dropped, problem): (&[u64], Option<&str>) = match known.map(|d| &d.result) {
            Some(Ok(lines)) => (lines, None),
            Some(Err(problem)) => (&[], Some(problem)),
            None => (&[], None),
        };
        let (_, end) = line_span(host);
        let height = self.output_height();
        let bottom_top = end.saturating_sub(height).max(first);
        let top = if self.follow {
            bottom_top
        } else {
            self.top_line
        };
        // From the match shown, or from the pane's edge.
        let from: i64 = match (start, self.search.current) {
            (Start::Edge, _) if direction == Direction::Forward => -1,
            (Start::Edge, _) => end as i64,
            (_, Some((ch, line))) if ch == h && (top..top + height).contains(&line) => line as i64,
            _ if direction == Direction::Forward => top as i64 - 1,
            _ => (top + height) as i64,
        };
        let in_buffer = |i: u64| match self.row(host, h, i) {
            PaneLine::Line(_, text) => needle.is_in(&text),
            _ => false,
        };
        let found = next_match(direction, from, dropped, first..end, in_buffer);
        let name = host.name.clone();
        let lowest = self.lowest_line(&store, host);
        drop(store);
        let across = start == Start::Pane && self.all.covers(&self.search.term);
        if across
            && !matches!(found, Found::At(_))
            && let Some((next, wrapped)) = self.next_matching_host(h, direction)
        {
            let went = if wrapped {
                match direction {
                    Direction::Forward => "search hit the last host, continuing at the first: ",
                    Direction::Backward => "search hit the first host, continuing at the last: ",
                }
            } else {
                "search went on to "
            };
            let next_name = self.host_name(next);
            fx.info(format!("{went}{next_name}"));
            return self.jump_to_host(next, direction, fx);
        }
        let line = match found {
            Found::At(line) => line,
            Found::Wrapped(line) => {
                fx.info(match direction {
                    Direction::Forward => "search hit BOTTOM, continuing at TOP",
                    Direction::Backward => "search hit TOP, continuing at BOTTOM",
                });
                line
            }
            Found::Nowhere => {
                let mut said = format!("'{}' not found in {name}'s output", self.search.term);
                if let Some(problem) = problem {
                    said.push_str(&format!(" (earlier lines not searched: {problem})"));
                }
                fx.info(said);
                return;
            }
        };
        self.search.current = Some((h, line));
        self.top_line = line.saturating_sub(height / 2).clamp(lowest, bottom_top);
        self.follow = false;
        self.request_older(fx);
    }
}

/// The next match after (forward) or before (backward) line `from`: among
/// the dropped lines' matches (all below `buffer`), then the buffer's
/// lines; round the other end when there is none that way.
fn next_match(
    direction: Direction,
    from: i64,
    dropped: &[u64],
    buffer: std::ops::Range<u64>,
    in_buffer: impl Fn(u64) -> bool,
) -> Found {
    let after = |from: i64| -> Option<u64> {
        let start = u64::try_from(from + 1).unwrap_or(0);
        let i = dropped.partition_point(|&l| l < start);
        dropped
            .get(i)
            .copied()
            .or_else(|| (start.max(buffer.start)..buffer.end).find(|&l| in_buffer(l)))
    };
    let before = |from: i64| -> Option<u64> {
        let Ok(end) = u64::try_from(from) else {
            return None;
        };
        (buffer.start..end.min(buffer.end))
            .rev()
            .find(|&l| in_buffer(l))
            .or_else(|| {
                let i = dropped.partition_point(|&l| l < end);
                i.checked_sub(1).map(|i| dropped[i])
            })
    };
    let (ahead, round) = match direction {
        Direction::Forward => (after(from), after(-1)),
        Direction::Backward => (before(from), before(i64::MAX)),
    };
    match (ahead, round) {
        (Some(line), _) => Found::At(line),
        (None, Some(line)) => Found::Wrapped(line),
        (None, None) => Found::Nowhere,
    }
}

#[cfg(test)]
mod tests {
    use super::{Direction, Found, next_match};

    fn at(found: Found) -> (char, u64) {
        match found {
            Found::At(l) => ('=', l),
            Found::Wrapped(l) => ('w', l),
            Found::Nowhere => ('-', 0),
        }
    }

    #[test]
    fn matches_come_from_the_dropped_lines_then_the_buffer_and_wrap_round() {
        let dropped = [3, 7];
        let buffer = 100..110;
        let hit = |l: u64| l == 104;
        let next = |d, from| at(next_match(d, from, &dropped, buffer.clone(), hit));
        assert_eq!(next(Direction::Forward, -1), ('=', 3));
        assert_eq!(next(Direction::Forward, 3), ('=', 7));
        assert_eq!(next(Direction::Forward, 7), ('=', 104));
        assert_eq!(next(Direction::Forward, 104), ('w', 3));
        assert_eq!(next(Direction::Backward, 104), ('=', 7));
        assert_eq!(next(Direction::Backward, 3), ('w', 104));
        assert_eq!(next(Direction::Backward, 200), ('=', 104));
        let none = at(next_match(Direction::Forward, 5, &[], 0..10, |_| false));
        assert_eq!(none, ('-', 0));
    }
}
