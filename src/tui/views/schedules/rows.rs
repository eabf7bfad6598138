//! The stored schedules as the list shows them: each one's timing, flow and
//! targets, next fire, state, last run, upcoming fires and recent fires
//! with the runs they started. Built from what the journal read returned.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::engine::events::{InstanceId, InstanceStatus};
use crate::schedule::store::{Overlap, Schedule};
use crate::tui::tasks::schedules::{Listed, Unreadable};

/// Fire times shown under the expression.
pub const PREVIEW: usize = 5;

/// One stored schedule as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRow {
    pub id: i64,
    pub name: String,
    /// `30 2 * * * (Europe/Berlin)` or `at 2026-12-01 02:00:00 CET`.
    pub when: String,
    pub flow: String,
    /// The host pattern (`--limit`), or the flow's own targets.
    pub target: String,
    /// `None`: nothing left to fire. In the schedule's zone.
    pub next: Option<DateTime<Tz>>,
    pub paused: bool,
    /// When the last fire was, the instance it started and how that went.
    pub last_fire: Option<DateTime<Tz>>,
    pub last_instance: Option<(InstanceId, InstanceStatus)>,
    pub last_error: Option<String>,
    pub running: usize,
    pub overlap: Overlap,
    /// The stored schedule, for the edit form; `None` when unreadable.
    pub schedule: Option<Schedule>,
    /// Why the row could not be read (the rest of the list still shows).
    pub problem: Option<String>,
    /// The next `PREVIEW` fire times (none while paused).
    pub upcoming: Vec<DateTime<Tz>>,
    /// The latest fires, newest first.
    pub fires: Vec<FireRow>,
}

/// One fire of a schedule as the detail pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FireRow {
    /// The fire time it stood for, in the schedule's zone.
    pub due: DateTime<Tz>,
    /// `started`, `skipped`, `queued`, `failed`...
    pub outcome: String,
    /// Why it was skipped or failed to launch.
    pub detail: Option<String>,
    /// The instance it started, when one was recorded.
    pub instance: Option<(InstanceId, InstanceStatus)>,
}

impl FireRow {
    /// `#7 ok`, `failed: cannot start jobdeck: …`, `skipped: …`.
    pub fn result(&self) -> String {
        match (&self.instance, &self.detail) {
            (Some((id, status)), _) => format!("#{id} {status}"),
            (None, Some(detail)) => format!("{}: {detail}", self.outcome),
            (None, None) => self.outcome.clone(),
        }
    }
}

impl ScheduleRow {
    /// The rows of a journal read: readable schedules and unreadable ones.
    pub fn all(read: Vec<Result<Listed, Unreadable>>) -> Vec<ScheduleRow> {
        read.into_iter()
            .map(|entry| match entry {
                Ok(listed) => ScheduleRow::listed(&listed),
                Err(e) => ScheduleRow::unreadable(e),
            })
            .collect()
    }

    pub fn listed(listed: &Listed) -> ScheduleRow {
        let listing = &listed.listing;
        let s = &listing.schedule;
        let in_zone = |t: DateTime<Utc>| t.with_timezone(&s.zone);
        ScheduleRow {
            id: s.id,
            name: s.name.clone(),
            when: s.describe_when(),
            flow: s.flow_name.clone(),
            target: s
                .run
                .limit
                .clone()
                .unwrap_or_else(|| "(flow targets)".into()),
            next: s.next_fire_at.map(in_zone),
            paused: s.paused,
            last_fire: s.last_fire_at.map(in_zone),
            last_instance: listing.last_instance,
            last_error: s.last_error.clone(),
            running: listing.running,
            overlap: s.overlap,
            schedule: Some(s.clone()),
            problem: None,
            upcoming: if s.paused {
                Vec::new()
            } else {
                upcoming(s.next_fire_at, |t| s.next_fire_after(t))
                    .into_iter()
                    .map(in_zone)
                    .collect()
            },
            fires: listed
                .fires
                .iter()
                .map(|(fire, instance)| FireRow {
                    due: crate::schedule::store::from_millis(fire.due_at).with_timezone(&s.zone),
                    outcome: fire.outcome.clone(),
                    detail: fire.detail.clone().filter(|d| !d.is_empty()),
                    instance: *instance,
                })
                .collect(),
        }
    }

    fn unreadable(error: Unreadable) -> ScheduleRow {
        ScheduleRow {
            id: error.id,
            name: format!("#{}", error.id),
            when: String::new(),
            flow: String::new(),
            target: String::new(),
            next: None,
            paused: false,
            last_fire: None,
            last_instance: None,
            last_error: None,
            running: 0,
            overlap: Overlap::Skip,
            schedule: None,
            problem: Some(error.problem),
            upcoming: Vec::new(),
            fires: Vec::new(),
        }
    }

    /// `paused`, `running`, `active`, or `done` when nothing is left to fire.
    pub fn state(&self) -> &'static str {
        if self.problem.is_some() {
            "unreadable"
        } else if self.paused {
            "paused"
        } else if self.running > 0 {
            "running"
        } else if self.next.is_none() {
            "done"
        } else {
            "active"
        }
    }

    /// `2026-03-02 02:00 UTC #7 ok` (times in `format`), the launch
    /// error, or `never`.
    pub fn last_run(&self, format: &str) -> String {
        let mut parts = Vec::new();
        if let Some(at) = &self.last_fire {
            parts.push(at.format(format).to_string());
        }
        if let Some((id, status)) = self.last_instance {
            parts.push(format!("#{id} {status}"));
        }
        if let Some(e) = &self.last_error {
            parts.push(format!("error: {e}"));
        }
        if parts.is_empty() {
            "never".into()
        } else {
            parts.join(" ")
        }
    }
}

/// Up to `PREVIEW` fire times: `first`, then each `next` after the last.
pub fn upcoming(
    first: Option<DateTime<Utc>>,
    next: impl Fn(DateTime<Utc>) -> Option<DateTime<Utc>>,
) -> Vec<DateTime<Utc>> {
    let mut times = Vec::new();
    let mut cursor = first;
    while let Some(t) = cursor.filter(|_| times.len() < PREVIEW) {
        times.push(t);
        cursor = next(t);
    }
    times
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    fn row(paused: bool, next: Option<&str>) -> ScheduleRow {
        let next = next.map(|_| now().with_timezone(&Tz::UTC));
        ScheduleRow {
            id: 1,
            name: "n".into(),
            when: "0 2 * * * (UTC)".into(),
            flow: "health".into(),
            target: "web".into(),
            next,
            paused,
            last_fire: None,
            last_instance: None,
            last_error: None,
            running: 0,
            overlap: Overlap::Skip,
            schedule: None,
            problem: None,
            upcoming: Vec::new(),
            fires: Vec::new(),
        }
    }

    #[test]
    fn rows_say_their_state_and_last_run() {
        assert_eq!(row(false, Some("t")).state(), "active");
        assert_eq!(row(true, Some("t")).state(), "paused");
        assert_eq!(row(false, None).state(), "done");
        let mut r = row(false, Some("t"));
        assert_eq!(r.last_run("%Y-%m-%d %H:%M"), "never");
        r.last_fire = Some(now().with_timezone(&Tz::UTC));
        r.last_instance = Some((7, InstanceStatus::Failed));
        assert_eq!(r.last_run("%m-%d %H:%M"), "03-02 08:00 #7 failed");
        r.running = 1;
        assert_eq!(r.state(), "running");
    }
}
