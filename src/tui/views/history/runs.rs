//! The list of past runs: the filters (flow text, status, date), the rows
//! read from the journal and the cursor over the rows the filters pass.

use chrono::{Local, TimeZone};

use super::{HistoryView, Message, Mode};
use crate::engine::events::{InstanceStatus, UnixMillis, now_millis};
use crate::journal::{InstanceFilter, InstanceSummary};
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::tasks;
use crate::tui::tasks::history::Listing;
use crate::tui::widgets::load_state::LoadState;

/// Rows fetched from the journal; filters apply before the limit.
const LIST_LIMIT: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFilter {
    Any,
    Today,
    Day,
    Week,
    Month,
}

impl DateFilter {
    const ALL: [DateFilter; 5] = [
        DateFilter::Any,
        DateFilter::Today,
        DateFilter::Day,
        DateFilter::Week,
        DateFilter::Month,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DateFilter::Any => "any time",
            DateFilter::Today => "today",
            DateFilter::Day => "last 24h",
            DateFilter::Week => "last 7 days",
            DateFilter::Month => "last 30 days",
        }
    }

    /// The earliest creation time that passes, relative to `now`.
    fn since(self, now: UnixMillis) -> Option<UnixMillis> {
        const DAY: i64 = 86_400_000;
        match self {
            DateFilter::Any => None,
            DateFilter::Today => {
                let local = Local.timestamp_millis_opt(now).single()?;
                let midnight = local.date_naive().and_hms_opt(0, 0, 0)?;
                Local
                    .from_local_datetime(&midnight)
                    .earliest()
                    .map(|t| t.timestamp_millis())
            }
            DateFilter::Day => Some(now - DAY),
            DateFilter::Week => Some(now - 7 * DAY),
            DateFilter::Month => Some(now - 30 * DAY),
        }
    }

    fn next(self) -> DateFilter {
        let i = DateFilter::ALL.iter().position(|&d| d == self).unwrap_or(0);
        DateFilter::ALL[(i + 1) % DateFilter::ALL.len()]
    }
}

/// `None` (any), then every status in turn.
fn next_status(current: Option<InstanceStatus>) -> Option<InstanceStatus> {
    let all = InstanceStatus::ALL;
    match current {
        None => all.first().copied(),
        Some(s) => {
            let i = all.iter().position(|&x| x == s).unwrap_or(0);
            all.get(i + 1).copied()
        }
    }
}

impl HistoryView {
    /// The instances shown now, after every filter.
    pub fn visible(&self) -> Vec<&InstanceSummary> {
        let needle = self.flow_filter.text().to_lowercase();
        match self.rows.ready() {
            Some(rows) => rows
                .iter()
                .filter(|r| needle.is_empty() || r.flow.to_lowercase().contains(&needle))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub(super) fn selected_summary(&self) -> Option<&InstanceSummary> {
        self.visible().get(self.list.cursor()).copied()
    }

    fn filter(&self) -> InstanceFilter {
        InstanceFilter {
            flow: None,
            status: self.status_filter,
            since: self.date_filter.since(now_millis()),
            limit: Some(LIST_LIMIT),
        }
    }

    /// Re-reads the list off the UI task.
    pub(super) fn refresh(&mut self, fx: &mut Effects<Message>) {
        let Some(path) = self.journal.clone() else {
            return;
        };
        self.generation += 1;
        self.loading = true;
        self.last_refresh = Some(std::time::Instant::now());
        let generation = self.generation;
        let filter = self.filter();
        fx.work(move || Message::Listed {
            generation,
            result: tasks::history::list(&path, &filter),
        });
    }

    /// The list as read.
    pub(super) fn listed(&mut self, result: Result<Option<Listing>, String>) {
        self.loading = false;
        let result = result.map(|listing| {
            listing.map(|Listing { rows, total }| {
                self.total_runs = total;
                rows
            })
        });
        self.rows = LoadState::from_read(result);
        let count = self.visible().len();
        self.list.clamp(count);
    }

    /// The flow filter box has the keyboard.
    pub(super) fn filter_action(&mut self, action: &Action) {
        match action {
            Action::Submit => self.mode = Mode::List,
            Action::Cancel => {
                self.flow_filter.clear();
                self.mode = Mode::List;
            }
            edit => {
                self.flow_filter.edit(edit);
            }
        }
        let count = self.visible().len();
        self.list.clamp(count);
    }

    pub(super) fn list_action(&mut self, action: &Action, fx: &mut Effects<Message>) {
        let count = self.visible().len();
        if self.list.handle(action, count) {
            return;
        }
        match action {
            Action::Submit => {
                if let Some(id) = self.selected_summary().map(|s| s.id) {
                    self.open(id, fx);
                }
            }
            Action::Filter => self.mode = Mode::FlowFilter,
            Action::SearchAll => self.open_search(),
            Action::CycleStatus => {
                self.status_filter = next_status(self.status_filter);
                self.list.select(0, count);
                self.refresh(fx);
            }
            Action::CycleDate => {
                self.date_filter = self.date_filter.next();
                self.list.select(0, count);
                self.refresh(fx);
            }
            Action::Refresh => self.refresh(fx),
            Action::Cancel => {
                self.flow_filter.clear();
                self.status_filter = None;
                self.date_filter = DateFilter::Any;
                self.refresh(fx);
            }
            Action::RerunFailed => self.ask(tasks::run_session::AgainKind::Rerun, fx),
            Action::ResumeRun => self.ask(tasks::run_session::AgainKind::Resume, fx),
            Action::Click { row, .. } => {
                let first = self.area.y + 3;
                if *row >= first {
                    let index = self.list.row_at((*row - first) as usize);
                    if index < count {
                        self.list.select(index, count);
                    }
                }
            }
            _ => {}
        }
    }

    /// Rows the list shows: border, filter bar, header row, border, jobs line.
    pub(super) fn list_height(&self) -> usize {
        (self.area.height as usize).saturating_sub(5)
    }
}
