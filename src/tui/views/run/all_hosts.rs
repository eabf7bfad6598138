//! Searching every host of the run at once (`ctrl-f`): a box for the term,
//! then the list of the hosts whose output holds it, with a count each.
//! Enter jumps to the picked host's first match; `n`/`N` then go on across
//! hosts (`search::find`). A count covers the host's whole output: the
//! matches among the lines the store dropped come from the journal (one
//! task for all the hosts, `tasks::search_output`), the buffer is counted
//! as it grows, so a live run's new matches show while the list is open.
//! The matching rule is the single-host search's (`Needle`).

use std::collections::HashMap;

use super::search::{Direction, Start};
use super::{Message, RunView};
use crate::engine::events::{HostIndex, InstanceId};
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::run_store::{DroppedMatches, MatchRequest, Needle, RunStore};
use crate::tui::tasks::search_output::search_dropped;
use crate::tui::widgets::text_box::TextInput;

#[derive(Debug, Default)]
pub(super) struct AllHosts {
    /// The box while it has the keyboard.
    pub(super) input: Option<TextInput>,
    /// The list of matching hosts is shown (over the output pane).
    pub(super) listing: bool,
    /// The term counted; empty: none yet.
    pub(super) term: String,
    /// The row picked in the list.
    pub(super) selected: usize,
    tallies: HashMap<HostIndex, Tally>,
    /// The run the tallies are of.
    instance: InstanceId,
    /// Tells the answers for the current term (and store) from late ones.
    generation: u64,
}

/// One host's matches so far.
#[derive(Debug, Default)]
struct Tally {
    /// Lines before this one are the journal's to count.
    below: u64,
    /// The journal's count of them: `None` while it is being read (or
    /// when nothing was dropped).
    journal: Option<Result<usize, String>>,
    reading: bool,
    /// Buffered lines `below..counted` are counted, `buffer` of them match.
    counted: u64,
    buffer: usize,
}

impl Tally {
    fn total(&self) -> usize {
        self.buffer
            + self
                .journal
                .as_ref()
                .map_or(0, |r| *r.as_ref().unwrap_or(&0))
    }
}

/// A row of the list: a host that matches and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMatches {
    pub host: HostIndex,
    pub name: String,
    pub count: usize,
    /// The count may grow: the journal is still being searched.
    pub reading: bool,
    /// Why the lines the store dropped were not searched, if they were not.
    pub problem: Option<String>,
}

impl AllHosts {
    /// Forgets the counts (another run, the store rebuilt, a new term).
    pub(super) fn forget(&mut self) {
        self.tallies.clear();
        self.generation += 1;
        self.selected = 0;
    }

    /// `n`/`N` go across hosts: a search over every host is the one shown.
    pub(super) fn covers(&self, term: &str) -> bool {
        !self.term.is_empty() && self.term == term
    }

    /// A journal search is under way for some host.
    pub(super) fn reading(&self) -> bool {
        self.tallies.values().any(|t| t.reading)
    }

    fn count_of(&self, h: HostIndex) -> usize {
        self.tallies.get(&h).map_or(0, Tally::total)
    }
}

impl RunView {
    /// `ctrl-f`: opens the box (the list shows what the last term found).
    pub(super) fn open_all_hosts(&mut self) {
        self.all.input = Some(TextInput::default());
        self.all.listing = true;
    }

    /// A key while the box is open: Enter counts the term over every host.
    pub(super) fn all_hosts_box_key(&mut self, action: &Action, fx: &mut Effects<Message>) {
        let Some(input) = &mut self.all.input else {
            return;
        };
        match action {
            Action::Submit => {
                let term = input.text().to_string();
                self.all.input = None;
                if term.is_empty() {
                    self.all.listing = !self.all.term.is_empty();
                    return;
                }
                self.all.term = term.clone();
                self.all.forget();
                // The same term is highlighted, and `n`/`N` search it.
                self.search.term = term;
                self.search.direction = Direction::Forward;
                self.search.current = None;
                self.refresh_all_hosts(fx);
            }
            Action::Cancel => {
                self.all.input = None;
                self.all.listing = false;
            }
            edit => {
                input.edit(edit);
            }
        }
    }

    /// A key while the list is shown; false when the list does not take
    /// it (it closes then, so what the key does shows).
    pub(super) fn all_hosts_list_key(
        &mut self,
        action: &Action,
        fx: &mut Effects<Message>,
    ) -> bool {
        let rows = self.all_host_matches().len();
        let last = rows.saturating_sub(1);
        let selected = self.all.selected.min(last);
        self.all.selected = match action {
            Action::Down => (selected + 1).min(last),
            Action::Up => selected.saturating_sub(1),
            Action::PageDown => (selected + self.list_page()).min(last),
            Action::PageUp => selected.saturating_sub(self.list_page()),
            Action::Top => 0,
            Action::Bottom => last,
            Action::Submit => {
                if let Some(row) = self.all_host_matches().get(selected) {
                    self.all.listing = false;
                    self.jump_to_host(row.host, Direction::Forward, fx);
                }
                return true;
            }
            Action::Cancel => {
                self.all.listing = false;
                return true;
            }
            // Any other key closes the list and does what it does.
            _ => {
                self.all.listing = false;
                return false;
            }
        };
        true
    }

    fn list_page(&self) -> usize {
        (self.output_height() as usize).max(2) - 1
    }

    /// Counts what is new since the last call: buffered lines not counted
    /// yet, and (asking the journal, off the UI task) lines a host dropped
    /// before they were counted. True when a count changed.
    pub fn refresh_all_hosts(&mut self, fx: &mut Effects<Message>) -> bool {
        if self.all.term.is_empty() {
            return false;
        }
        let Some(store) = self.store.clone() else {
            return false;
        };
        let store = RunStore::lock(&store);
        if self.all.instance != store.instance {
            self.all.instance = store.instance;
            self.all.forget();
        }
        let needle = Needle::new(&self.all.term);
        let mut requests = Vec::new();
        let mut changed = false;
        for (h, host) in store.hosts.iter().enumerate() {
            let first = host.first_line();
            let reads = self.reads_older(&store, host);
            let tally = self.all.tallies.entry(h).or_default();
            if tally.counted < first {
                // Dropped before it was counted: the journal counts below
                // the buffer, the buffer is counted again from its start.
                *tally = Tally {
                    below: first,
                    counted: first,
                    reading: reads,
                    ..Tally::default()
                };
                changed = true;
                if reads
                    && let Some(journal) = self.journal.clone()
                    && let Some(request) =
                        MatchRequest::new(journal, &store, h, &self.all.term, self.all.generation)
                {
                    requests.push(request);
                } else {
                    tally.reading = false;
                }
            }
            let end = host.total_lines();
            if tally.counted < end {
                let skip = (tally.counted - first) as usize;
                let found = host
                    .lines()
                    .iter()
                    .skip(skip)
                    .filter(|line| needle.is_in(&line.text))
                    .count();
                tally.buffer += found;
                tally.counted = end;
                changed |= found > 0;
            }
        }
        drop(store);
        if !requests.is_empty() {
            fx.work(move || {
                Message::AllMatches(requests.into_iter().map(search_dropped).collect())
            });
        }
        changed
    }

    /// The journal's answers: each host's count of its dropped lines, kept
    /// for `n`/`N` too so jumping there needs no second read.
    pub(super) fn all_matches_read(&mut self, reads: Vec<DroppedMatches>) {
        for read in reads {
            if read.generation != self.all.generation
                || read.instance != self.all.instance
                || read.term != self.all.term
            {
                continue;
            }
            let Some(tally) = self.all.tallies.get_mut(&read.host) else {
                continue;
            };
            if tally.below != read.below {
                continue;
            }
            tally.reading = false;
            tally.journal = Some(read.result.as_ref().map(Vec::len).map_err(Clone::clone));
            if self.search.term == read.term {
                self.search.dropped.insert(read.host, read);
            }
        }
    }

    /// The hosts whose output holds the term, in the host list's order.
    pub fn all_host_matches(&self) -> Vec<HostMatches> {
        match &self.store {
            Some(store) => self.all_host_matches_in(&RunStore::lock(store)),
            None => Vec::new(),
        }
    }

    pub(super) fn all_host_matches_in(&self, store: &RunStore) -> Vec<HostMatches> {
        store
            .host_order()
            .iter()
            .filter_map(|&h| {
                let tally = self.all.tallies.get(&h)?;
                let problem = match &tally.journal {
                    Some(Err(problem)) => Some(problem.clone()),
                    _ => None,
                };
                (tally.total() > 0 || problem.is_some()).then(|| HostMatches {
                    host: h,
                    name: store.hosts[h].name.clone(),
                    count: tally.total(),
                    reading: tally.reading,
                    problem,
                })
            })
            .collect()
    }

    /// The list of matching hosts is shown.
    pub fn listing_all_hosts(&self) -> bool {
        self.all.listing
    }

    /// Some host's dropped lines are still being searched in the journal.
    pub fn searching_all_hosts(&self) -> bool {
        self.all.reading()
    }

    /// The next host after `from` (or before it, going backward) with a
    /// match, and whether the search went round the end of the list to
    /// find it. `None` when no other host matches.
    pub(super) fn next_matching_host(
        &self,
        from: HostIndex,
        direction: Direction,
    ) -> Option<(HostIndex, bool)> {
        let store = RunStore::lock(self.store.as_ref()?);
        let order = store.host_order();
        let at = order.iter().position(|&h| h == from)?;
        let count = order.len();
        (1..count).find_map(|step| {
            let i = match direction {
                Direction::Forward => (at + step) % count,
                Direction::Backward => (at + count - step) % count,
            };
            let wrapped = match direction {
                Direction::Forward => i < at,
                Direction::Backward => i > at,
            };
            (self.all.count_of(order[i]) > 0).then_some((order[i], wrapped))
        })
    }

    pub(super) fn host_name(&self, host: HostIndex) -> String {
        self.store
            .as_ref()
            .and_then(|s| RunStore::lock(s).hosts.get(host).map(|h| h.name.clone()))
            .unwrap_or_default()
    }

    /// Moves the cursor to `host` and to its first match (its last one,
    /// going backward).
    pub(super) fn jump_to_host(
        &mut self,
        host: HostIndex,
        direction: Direction,
        fx: &mut Effects<Message>,
    ) {
        let position = self.store.as_ref().and_then(|s| {
            RunStore::lock(s)
                .host_order()
                .iter()
                .position(|&h| h == host)
        });
        if let Some(position) = position {
            self.move_cursor(position);
            self.search.current = None;
            self.find(direction, fx, true, Start::Edge);
        }
    }
}
