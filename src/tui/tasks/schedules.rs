//! The Schedules view's journal work: the stored schedules with their
//! recent fires, saving one (checked again against the flow on disk and the
//! inventory, as `jobdeck schedule add` checks), pausing, deleting. A
//! missing journal is never created by a read; saving creates it, as
//! `schedule add` does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::flow::load_flow;
use crate::inventory::Inventory;
use crate::plan::schedule::{Problem, check_run, check_targets};
use crate::schedule::ScheduleStore;
use crate::schedule::store::{FireRun, NewSchedule, Schedule, ScheduleListing, StoreError};

/// How many recent fires a listing reads per schedule.
pub const RECENT_FIRES: usize = 10;

/// A stored schedule and its latest fires (newest first), each with the
/// instance it started.
#[derive(Debug, Clone)]
pub struct Listed {
    pub listing: ScheduleListing,
    pub fires: Vec<FireRun>,
}

/// A schedule that could not be read: its id (0 if unknown) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub id: i64,
    pub problem: String,
}

/// Every schedule with its recent fires; `Ok(None)` when there is no
/// journal yet.
pub fn list(journal: &Path) -> Result<Option<Vec<Result<Listed, Unreadable>>>, String> {
    if !crate::journal::exists(journal).map_err(|e| e.to_string())? {
        return Ok(None);
    }
    let store = ScheduleStore::open(journal).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for entry in store.listing().map_err(|e| e.to_string())? {
        rows.push(match entry {
            Ok(listing) => Ok(Listed {
                fires: store
                    .fires_with_runs(listing.schedule.id, RECENT_FIRES)
                    .map_err(|e| e.to_string())?,
                listing,
            }),
            Err(e) => Err(Unreadable {
                id: match &e {
                    StoreError::Corrupt { id, .. } => *id,
                    _ => 0,
                },
                problem: e.to_string(),
            }),
        });
    }
    Ok(Some(rows))
}

/// Stores a schedule the form checked: the flow is loaded again from disk
/// and the run checked against it, the targets against the inventory (from
/// the schedule's working directory), then it is added or updated.
pub fn save(
    journal: &Path,
    mut new: NewSchedule,
    editing: Option<i64>,
    inventory: Option<(Arc<Inventory>, PathBuf)>,
    now: DateTime<Utc>,
) -> Result<Schedule, Vec<Problem>> {
    let flow = load_flow(&new.flow_path).map_err(|e| vec![Problem::Flow(e.to_string())])?;
    let problems = check_run(&flow, &new.run);
    if !problems.is_empty() {
        return Err(problems);
    }
    new.flow_name = flow.name.clone();
    if let Some((inv, base)) = inventory {
        let workdir = new.run.workdir.as_ref().map(PathBuf::from).unwrap_or(base);
        check_targets(&flow, &new.run, &inv, &workdir).map_err(|p| vec![p])?;
    }
    let not_stored = |e: StoreError| {
        vec![Problem::NotStored(match e {
            StoreError::NameTaken { .. } => e.to_string(),
            other => format!("not saved: {other}"),
        })]
    };
    let mut store = ScheduleStore::open(journal).map_err(not_stored)?;
    match editing {
        Some(id) => store.update(id, &new, now),
        None => store.add(&new, now),
    }
    .map_err(not_stored)
}

/// Pauses or resumes a schedule; says so, or why not.
pub fn set_paused(
    journal: &Path,
    id: i64,
    name: &str,
    paused: bool,
    now: DateTime<Utc>,
) -> Result<String, String> {
    ScheduleStore::open(journal)
        .and_then(|mut store| store.set_paused(id, paused, now))
        .map(|_| {
            let word = if paused { "paused" } else { "resumed" };
            format!("schedule {id} '{name}' {word}")
        })
        .map_err(|e| e.to_string())
}

/// Deletes a schedule; its runs stay in the journal.
pub fn remove(journal: &Path, id: i64) -> Result<String, String> {
    ScheduleStore::open(journal)
        .and_then(|mut store| store.remove(id))
        .map(|_| format!("schedule {id} removed; its past runs stay in history"))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_journal_lists_nothing_and_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        assert!(matches!(list(&path), Ok(None)));
        assert!(!path.exists());
    }
}
