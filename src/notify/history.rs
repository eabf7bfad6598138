//! What the journal says about earlier runs (was the last one a failure?
//! how many failed in a row?) and the record of each delivery.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::deliver::Delivery;
use super::target::NotifyEvent;
use crate::engine::events::{InstanceId, InstanceStatus, UnixMillis};

/// Final statuses, as stored.
const FINAL: &str = "('ok', 'failed', 'aborted', 'interrupted')";

/// How many earlier runs of a flow are compared when looking for the same
/// targets.
const SAME_FLOW_LOOKBACK: i64 = 200;

/// The selection fields that make two runs "the same flow on the same targets".
const SELECTION_KEYS: [&str; 7] = [
    "flow_path",
    "command",
    "pattern",
    "project",
    "cluster",
    "app",
    "hosts",
];

/// The status of the run this one follows: the schedule's previous run,
/// the run a rerun reran, else the last run of the same flow on the same
/// targets. `None` when there is none.
pub fn previous_status(
    conn: &Connection,
    instance: InstanceId,
) -> rusqlite::Result<Option<InstanceStatus>> {
    let Some((flow, trigger, parent, target)) = conn
        .query_row(
            "SELECT flow, trigger, parent_id, target FROM instances WHERE id = ?1",
            [instance],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )
        .optional()?
    else {
        return Ok(None);
    };
    let parse = |s: String| InstanceStatus::parse(&s);
    if trigger.starts_with("schedule:") {
        return Ok(conn
            .query_row(
                &format!(
                    "SELECT status FROM instances WHERE trigger = ?1 AND id < ?2 AND status IN {FINAL}
                     ORDER BY id DESC LIMIT 1"
                ),
                params![trigger, instance],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(parse));
    }
    if let Some(parent) = parent {
        return Ok(conn
            .query_row(
                "SELECT status FROM instances WHERE id = ?1",
                [parent],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(parse));
    }
    let mine = selection(&target);
    let mut stmt = conn.prepare(&format!(
        "SELECT status, target FROM instances WHERE flow = ?1 AND id < ?2 AND status IN {FINAL}
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![flow, instance, SAME_FLOW_LOOKBACK], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (status, target) = row?;
        if selection(&target) == mine {
            return Ok(parse(status));
        }
    }
    Ok(None)
}

fn selection(target: &str) -> Vec<Value> {
    let value: Value = serde_json::from_str(target).unwrap_or_default();
    SELECTION_KEYS.iter().map(|k| value[*k].clone()).collect()
}

/// How many runs of `trigger` before `instance` failed in a row (most
/// recent first, up to the last success).
pub fn failures_before(
    conn: &Connection,
    trigger: &str,
    instance: InstanceId,
) -> rusqlite::Result<u32> {
    let mut stmt = conn.prepare(&format!(
        "SELECT status FROM instances WHERE trigger = ?1 AND id < ?2 AND status IN {FINAL}
         ORDER BY id DESC LIMIT 1000"
    ))?;
    let mut rows = stmt.query(params![trigger, instance])?;
    let mut streak = 0;
    while let Some(row) = rows.next()? {
        if row.get::<_, String>(0)? == "ok" {
            break;
        }
        streak += 1;
    }
    Ok(streak)
}

/// Records one delivery.
pub fn record(
    conn: &Connection,
    instance: InstanceId,
    event: NotifyEvent,
    target: &str,
    delivery: &Delivery,
    at: UnixMillis,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO notifications (instance_id, event, target, outcome, attempts, http_status, error, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            instance,
            event.as_str(),
            target,
            if delivery.sent { "sent" } else { "failed" },
            delivery.attempts,
            delivery.http_status,
            delivery.error,
            at
        ],
    )?;
    Ok(())
}
