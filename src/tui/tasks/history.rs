//! The History view's journal reads: the list of runs, a run rebuilt up to
//! a point for its replay, and the next stretch of a playing replay. A
//! missing journal is never created.

use std::path::Path;
use std::sync::Arc;

use super::replay::{self, ReplayCursor, ReplayPlan};
use crate::engine::events::{Event, InstanceId};
use crate::journal::{self, InstanceFilter, InstanceSummary, Journal};
use crate::tui::run_store::RunStore;

/// Output bytes one playback read streams; more waits for the next read.
/// The UI task absorbs them, so this keeps one read to a frame or so.
const PLAY_BUDGET: usize = 1024 * 1024;

/// A run read from the journal up to a point, ready to show.
#[derive(Debug)]
pub struct Built {
    /// Read afresh (opening, or a run still in progress re-read).
    pub plan: Option<Arc<ReplayPlan>>,
    pub store: RunStore,
    pub cursor: ReplayCursor,
}

/// Events of a playing replay, for the store to absorb.
#[derive(Debug)]
pub struct Advance {
    pub events: Vec<Event>,
    pub cursor: ReplayCursor,
    /// The read reached the time asked for (else it stopped at its budget).
    pub complete: bool,
}

/// The journal if the file exists, with runs whose jobdeck died marked
/// interrupted, as every jobdeck start does (if another process holds the
/// write lock, reading goes on without).
fn open_existing(path: &Path) -> Result<Option<Journal>, String> {
    let Some(mut journal) = journal::open_existing(path).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let _ = journal.recover_interrupted();
    Ok(Some(journal))
}

/// The runs a filter passed, and how many the journal holds in all.
#[derive(Debug)]
pub struct Listing {
    pub rows: Vec<InstanceSummary>,
    pub total: usize,
}

/// The runs the filter passes, newest first, with the journal's total;
/// `None` without a journal.
pub fn list(path: &Path, filter: &InstanceFilter) -> Result<Option<Listing>, String> {
    let Some(journal) = open_existing(path)? else {
        return Ok(None);
    };
    let rows = journal.list_instances(filter).map_err(|e| e.to_string())?;
    let total = journal.count_instances().map_err(|e| e.to_string())?;
    Ok(Some(Listing { rows, total }))
}

/// Reads a run's plan (unless given) and builds its store up to real
/// time `until`; `None` is the end.
pub fn build(
    path: &Path,
    id: InstanceId,
    plan: Option<Arc<ReplayPlan>>,
    until: Option<i64>,
) -> Result<Box<Built>, String> {
    let journal =
        open_existing(path)?.ok_or_else(|| format!("no journal at {}", path.display()))?;
    let (plan, fresh) = match plan {
        Some(plan) => (plan, false),
        None => (Arc::new(replay::read_plan(&journal, id)?), true),
    };
    let (store, cursor) = replay::build(&journal, &plan, until.unwrap_or(i64::MAX))?;
    Ok(Box::new(Built {
        plan: fresh.then_some(plan),
        store,
        cursor,
    }))
}

/// The events after `cursor` up to real time `until`, at most a budget.
pub fn advance(
    path: &Path,
    plan: &ReplayPlan,
    cursor: ReplayCursor,
    until: i64,
) -> Result<Advance, String> {
    let journal = replay::open_journal(path)?;
    let mut events = Vec::new();
    let (cursor, complete) =
        replay::stream(&journal, plan, cursor, until, Some(PLAY_BUDGET), &mut |e| {
            events.push(e)
        })?;
    Ok(Advance {
        events,
        cursor,
        complete,
    })
}
