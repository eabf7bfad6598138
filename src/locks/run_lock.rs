//! `run_locks`: one row per held lock. Taking one checks the holder and
//! writes in one `BEGIN IMMEDIATE` transaction, so two runs cannot both win.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::engine::events::{InstanceId, UnixMillis};
use crate::engine::gates::Holder;
use crate::journal::ProcessIdentity;
use crate::journal::owner::{is_stale, same_process};

/// Who is taking: this process, its user, and how long a heartbeat holds.
pub struct Owner<'a> {
    pub me: &'a ProcessIdentity,
    pub user: &'a str,
    pub expiry: Duration,
}

/// A held row: its holder as shown, and its owner and heartbeat as checked.
pub(super) struct HeldRow {
    pub holder: Holder,
    pub owner: ProcessIdentity,
    pub heartbeat_at: UnixMillis,
}

/// Reads `instance_id, os_user, owner_pid, owner_host, owner_start,
/// owner_boot, acquired_at, heartbeat_at` starting at column `first`.
pub(super) fn held_row(row: &Row<'_>, first: usize) -> rusqlite::Result<HeldRow> {
    let owner = ProcessIdentity {
        pid: row.get(first + 2)?,
        host: row.get(first + 3)?,
        start: row.get(first + 4)?,
        boot_id: row.get(first + 5)?,
    };
    Ok(HeldRow {
        holder: Holder {
            instance: row.get(first)?,
            user: row.get(first + 1)?,
            host: owner.host.clone(),
            pid: owner.pid,
            since: row.get(first + 6)?,
        },
        owner,
        heartbeat_at: row.get(first + 7)?,
    })
}

pub(super) const HELD_COLUMNS: &str = "instance_id, os_user, owner_pid, owner_host, owner_start, owner_boot, acquired_at, heartbeat_at";

fn current(conn: &Connection, name: &str) -> rusqlite::Result<Option<HeldRow>> {
    conn.query_row(
        &format!("SELECT {HELD_COLUMNS} FROM run_locks WHERE name = ?1"),
        [name],
        |r| held_row(r, 0),
    )
    .optional()
}

/// Takes `name` for `instance` (or keeps it, if this run already holds
/// it); `Some(holder)` if a live run holds it.
pub fn try_lock(
    conn: &mut Connection,
    owner: &Owner<'_>,
    name: &str,
    instance: InstanceId,
    now: UnixMillis,
) -> rusqlite::Result<Option<Holder>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(held) = current(&tx, name)? {
        let mine = same_process(&held.owner, owner.me) && held.holder.instance == Some(instance);
        if mine {
            tx.execute(
                "UPDATE run_locks SET heartbeat_at = ?2 WHERE name = ?1",
                params![name, now],
            )?;
            tx.commit()?;
            return Ok(None);
        }
        if !is_stale(&held.owner, held.heartbeat_at, now, owner.expiry) {
            return Ok(Some(held.holder));
        }
    }
    let me = owner.me;
    tx.execute(
        "INSERT OR REPLACE INTO run_locks (name, instance_id, os_user, owner_pid, owner_host, owner_start,
             owner_boot, acquired_at, heartbeat_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![name, instance, owner.user, me.pid, me.host, me.start, me.boot_id, now],
    )?;
    tx.commit()?;
    Ok(None)
}

/// Gives the lock back, if this process holds it for `instance`.
pub fn release(
    conn: &Connection,
    me: &ProcessIdentity,
    name: &str,
    instance: InstanceId,
) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM run_locks WHERE name = ?1 AND instance_id IS ?2 AND owner_pid = ?3
             AND owner_host = ?4 AND owner_start IS ?5 AND owner_boot IS ?6",
        params![name, instance, me.pid, me.host, me.start, me.boot_id],
    )?;
    Ok(())
}

/// The live holder of `name`, if any (a stale row does not count).
pub fn live_holder(
    conn: &Connection,
    name: &str,
    now: UnixMillis,
    expiry: Duration,
) -> rusqlite::Result<Option<Holder>> {
    Ok(current(conn, name)?
        .filter(|held| !is_stale(&held.owner, held.heartbeat_at, now, expiry))
        .map(|held| held.holder))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPIRY: Duration = Duration::from_secs(30);

    fn journal() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::journal::open_connection(&dir.path().join("j.db")).unwrap();
        (dir, conn)
    }

    fn elsewhere(pid: u32) -> ProcessIdentity {
        ProcessIdentity {
            pid,
            host: "other.example".into(),
            start: Some(1),
            boot_id: None,
        }
    }

    #[test]
    fn one_holder_until_it_releases_or_its_heartbeat_expires() {
        let (_dir, mut conn) = journal();
        let (a, b) = (elsewhere(1), elsewhere(2));
        let owner_a = Owner {
            me: &a,
            user: "ann",
            expiry: EXPIRY,
        };
        let owner_b = Owner {
            me: &b,
            user: "bob",
            expiry: EXPIRY,
        };
        assert_eq!(try_lock(&mut conn, &owner_a, "db", 7, 1_000).unwrap(), None);
        // Again for the same run: still its own.
        assert_eq!(try_lock(&mut conn, &owner_a, "db", 7, 2_000).unwrap(), None);
        let busy = try_lock(&mut conn, &owner_b, "db", 8, 3_000)
            .unwrap()
            .unwrap();
        assert_eq!(busy.instance, Some(7));
        assert_eq!(busy.user, "ann");
        assert_eq!(busy.host, "other.example");
        assert_eq!(busy.since, 1_000);
        // Another lock name is free.
        assert_eq!(
            try_lock(&mut conn, &owner_b, "web", 8, 3_000).unwrap(),
            None
        );
        // b cannot release a's lock; a can.
        release(&conn, &b, "db", 8).unwrap();
        assert!(live_holder(&conn, "db", 3_000, EXPIRY).unwrap().is_some());
        release(&conn, &a, "db", 7).unwrap();
        assert_eq!(live_holder(&conn, "db", 3_000, EXPIRY).unwrap(), None);
        // An expired heartbeat frees it.
        assert_eq!(
            try_lock(&mut conn, &owner_a, "db", 9, 10_000).unwrap(),
            None
        );
        assert!(
            try_lock(&mut conn, &owner_b, "db", 8, 40_000)
                .unwrap()
                .is_some()
        );
        assert_eq!(
            try_lock(&mut conn, &owner_b, "db", 8, 40_001).unwrap(),
            None
        );
    }

    #[test]
    fn a_dead_holder_on_this_machine_frees_the_lock_at_once() {
        let (_dir, mut conn) = journal();
        let me = ProcessIdentity::current();
        let dead = crate::journal::owner::exited_process();
        let now = crate::engine::events::now_millis();
        let owner_dead = Owner {
            me: &dead,
            user: "x",
            expiry: EXPIRY,
        };
        assert_eq!(
            try_lock(&mut conn, &owner_dead, "db", 1, now).unwrap(),
            None
        );
        let owner_me = Owner {
            me: &me,
            user: "y",
            expiry: EXPIRY,
        };
        assert_eq!(
            try_lock(&mut conn, &owner_me, "db", 2, now + 1).unwrap(),
            None
        );
    }
}
