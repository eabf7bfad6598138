//! `host_slots`: one row per jobdeck step running on a host under the
//! per-host limit. Counting, clearing stale rows and taking a slot happen
//! in one `BEGIN IMMEDIATE` transaction.

use rusqlite::{Connection, TransactionBehavior, params};

use super::run_lock::{HELD_COLUMNS, HeldRow, Owner, held_row};
use crate::engine::events::{InstanceId, UnixMillis};
use crate::engine::gates::{Holder, SlotId};
use crate::journal::owner::is_stale;

/// Takes one of `limit` slots of host `key` for `instance`, or returns the
/// holders of them all.
pub fn try_take(
    conn: &mut Connection,
    owner: &Owner<'_>,
    key: &str,
    limit: u32,
    instance: InstanceId,
    now: UnixMillis,
) -> rusqlite::Result<Result<SlotId, Vec<Holder>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows: Vec<(SlotId, HeldRow)> = tx
        .prepare_cached(&format!(
            "SELECT id, {HELD_COLUMNS} FROM host_slots WHERE host_key = ?1 ORDER BY id"
        ))?
        .query_map([key], |r| Ok((r.get(0)?, held_row(r, 1)?)))?
        .collect::<Result<_, _>>()?;
    let mut live = Vec::new();
    for (id, held) in rows {
        if is_stale(&held.owner, held.heartbeat_at, now, owner.expiry) {
            tx.execute("DELETE FROM host_slots WHERE id = ?1", [id])?;
        } else {
            live.push(held.holder);
        }
    }
    if live.len() >= limit as usize {
        tx.commit()?;
        return Ok(Err(live));
    }
    let me = owner.me;
    tx.execute(
        "INSERT INTO host_slots (host_key, instance_id, os_user, owner_pid, owner_host, owner_start,
             owner_boot, acquired_at, heartbeat_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![key, instance, owner.user, me.pid, me.host, me.start, me.boot_id, now],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(Ok(id))
}

pub fn release(conn: &Connection, slot: SlotId) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM host_slots WHERE id = ?1", [slot])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::ProcessIdentity;
    use std::time::Duration;

    #[test]
    fn at_most_limit_slots_per_host_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::journal::open_connection(&dir.path().join("j.db")).unwrap();
        let other = ProcessIdentity {
            pid: 5,
            host: "other.example".into(),
            start: Some(1),
            boot_id: None,
        };
        let owner = Owner {
            me: &other,
            user: "ann",
            expiry: Duration::from_secs(30),
        };
        let first = try_take(&mut conn, &owner, "10.0.0.1:22", 2, 1, 1_000)
            .unwrap()
            .unwrap();
        try_take(&mut conn, &owner, "10.0.0.1:22", 2, 2, 1_000)
            .unwrap()
            .unwrap();
        let full = try_take(&mut conn, &owner, "10.0.0.1:22", 2, 3, 1_000)
            .unwrap()
            .unwrap_err();
        assert_eq!(
            full.iter().map(|h| h.instance).collect::<Vec<_>>(),
            [Some(1), Some(2)]
        );
        // Another host has its own slots.
        try_take(&mut conn, &owner, "10.0.0.2:22", 2, 3, 1_000)
            .unwrap()
            .unwrap();
        release(&conn, first).unwrap();
        try_take(&mut conn, &owner, "10.0.0.1:22", 2, 3, 1_000)
            .unwrap()
            .unwrap();
        // Expired heartbeats free every slot.
        try_take(&mut conn, &owner, "10.0.0.1:22", 2, 4, 40_000)
            .unwrap()
            .unwrap();
    }
}
