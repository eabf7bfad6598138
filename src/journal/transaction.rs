//! The writer's transactions, shared by the event writer and the account
//! of a failed write (`write_failure`): taking the write lock, and closing
//! what a finished instance left in flight.

use std::time::Duration;

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior, params};

use crate::engine::events::{HostStatus, InstanceId, InstanceStatus};

/// Takes the write lock up front. The busy handler waits up to
/// `BUSY_TIMEOUT` inside BEGIN IMMEDIATE; past that we try a few more times,
/// because giving up loses events.
pub(super) fn begin_immediate(conn: &Connection) -> rusqlite::Result<Transaction<'_>> {
    let mut tries = 0;
    loop {
        match Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
            Err(err) if is_busy(&err) && tries < 5 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// A finished instance has nothing in flight: whatever the engine did not
/// close itself is marked interrupted (jobdeck stopped) or cancelled.
pub(super) fn close_in_flight(
    tx: &Transaction<'_>,
    id: InstanceId,
    status: InstanceStatus,
) -> rusqlite::Result<()> {
    let (host_status, batch_status) = if status == InstanceStatus::Interrupted {
        (HostStatus::Interrupted.as_str(), "interrupted")
    } else {
        (HostStatus::Cancelled.as_str(), "cancelled")
    };
    tx.prepare_cached(
        "UPDATE hosts SET status = ?2 WHERE instance_id = ?1 AND status IN ('running', 'connecting')",
    )?
    .execute(params![id, host_status])?;
    tx.prepare_cached(
        "UPDATE step_results SET status = ?2 WHERE instance_id = ?1 AND status IN ('running', 'connecting')",
    )?
    .execute(params![id, host_status])?;
    tx.prepare_cached(
        "UPDATE batches SET status = ?2 WHERE instance_id = ?1 AND status = 'running'",
    )?
    .execute(params![id, batch_status])?;
    Ok(())
}
