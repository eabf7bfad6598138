//! The scheduler lease: one row in the journal naming the only process
//! allowed to fire schedules, so a console and a daemon on one journal
//! never both fire a job.
//!
//! Rules:
//! - A process takes the lease when there is none, when it already holds
//!   it, when the holder's heartbeat is older than the expiry (30 s), or
//!   when the holder ran on this host and is provably dead (its pid is gone
//!   or belongs to a newer process; see `journal::owner`). The check and
//!   the write happen in one `BEGIN IMMEDIATE` transaction, so two
//!   processes cannot both win.
//! - The holder renews the heartbeat every few seconds (5 s). A renewal
//!   that finds the row gone or taken over means the lease was lost: the
//!   holder stops firing at once.
//! - A clean exit deletes the row, so the next process need not wait.
//! - A heartbeat far in the future (the clock went back) counts as expired.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use crate::engine::events::UnixMillis;
use crate::journal::ProcessIdentity;
use crate::journal::owner::{is_stale as owner_is_stale, same_process};

/// How long a heartbeat keeps the lease, and how often the holder renews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimes {
    pub expiry: Duration,
    pub renew: Duration,
}

impl Default for LeaseTimes {
    fn default() -> LeaseTimes {
        LeaseTimes {
            expiry: Duration::from_secs(30),
            renew: Duration::from_secs(5),
        }
    }
}

/// Tests shorten the lease with this variable (a duration such as `2s`);
/// the renewal interval is a sixth of it.
pub const EXPIRY_ENV: &str = "JOBDECK_LEASE_EXPIRY";

impl LeaseTimes {
    /// The defaults, or the expiry from `JOBDECK_LEASE_EXPIRY` when set.
    pub fn from_env() -> LeaseTimes {
        let Some(expiry) = std::env::var(EXPIRY_ENV)
            .ok()
            .and_then(|text| crate::duration::parse_duration(&text).ok())
            .filter(|d| !d.is_zero())
        else {
            return LeaseTimes::default();
        };
        LeaseTimes {
            expiry,
            renew: (expiry / 6).max(Duration::from_millis(50)),
        }
    }
}

/// Who holds the lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseHolder {
    pub owner: ProcessIdentity,
    /// daemon | console | test
    pub kind: String,
    pub acquired_at: UnixMillis,
    pub heartbeat_at: UnixMillis,
}

impl LeaseHolder {
    /// `daemon pid 4242 on web1`
    pub fn describe(&self) -> String {
        format!(
            "{} pid {} on {}",
            self.kind, self.owner.pid, self.owner.host
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquire {
    /// This process holds the lease (newly or still). `replaced` is the
    /// expired or dead holder it took over from, if any.
    Held { replaced: Option<LeaseHolder> },
    /// Another live process holds it.
    Busy(LeaseHolder),
}

pub fn holder(conn: &Connection) -> rusqlite::Result<Option<LeaseHolder>> {
    conn.query_row(
        "SELECT owner_pid, owner_host, owner_start, owner_boot, owner_kind, acquired_at, heartbeat_at
         FROM scheduler_lease WHERE id = 1",
        [],
        |r| {
            Ok(LeaseHolder {
                owner: ProcessIdentity {
                    pid: r.get(0)?,
                    host: r.get(1)?,
                    start: r.get(2)?,
                    boot_id: r.get(3)?,
                },
                kind: r.get(4)?,
                acquired_at: r.get(5)?,
                heartbeat_at: r.get(6)?,
            })
        },
    )
    .optional()
}

/// Whether `current` no longer keeps the lease at `now`: its heartbeat
/// expired, or this machine can tell its process is gone.
pub fn is_stale(current: &LeaseHolder, now: UnixMillis, times: LeaseTimes) -> bool {
    owner_is_stale(&current.owner, current.heartbeat_at, now, times.expiry)
}

/// Takes or keeps the lease for `me` (see the module rules).
pub fn acquire(
    conn: &mut Connection,
    me: &ProcessIdentity,
    kind: &str,
    now: UnixMillis,
    times: LeaseTimes,
) -> rusqlite::Result<Acquire> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = holder(&tx)?;
    let replaced = match current {
        Some(h) if same_process(&h.owner, me) => {
            tx.execute(
                "UPDATE scheduler_lease SET heartbeat_at = ?1 WHERE id = 1",
                [now],
            )?;
            tx.commit()?;
            return Ok(Acquire::Held { replaced: None });
        }
        Some(h) if !is_stale(&h, now, times) => return Ok(Acquire::Busy(h)),
        other => other,
    };
    tx.execute(
        "INSERT OR REPLACE INTO scheduler_lease
             (id, owner_pid, owner_host, owner_start, owner_boot, owner_kind, acquired_at, heartbeat_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![me.pid, me.host, me.start, me.boot_id, kind, now],
    )?;
    tx.commit()?;
    Ok(Acquire::Held { replaced })
}

/// Refreshes the heartbeat; false when `me` no longer holds the lease.
pub fn renew(conn: &Connection, me: &ProcessIdentity, now: UnixMillis) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE scheduler_lease SET heartbeat_at = ?5
         WHERE id = 1 AND owner_pid = ?1 AND owner_host = ?2
           AND owner_start IS ?3 AND owner_boot IS ?4",
        params![me.pid, me.host, me.start, me.boot_id, now],
    )?;
    Ok(n == 1)
}

/// Whether `me` holds the lease, read inside a transaction that is about
/// to fire: the last line of defence against a lease lost mid-tick.
pub fn holds(conn: &Connection, me: &ProcessIdentity) -> rusqlite::Result<bool> {
    Ok(holder(conn)?.is_some_and(|h| same_process(&h.owner, me)))
}

/// Gives the lease up (a clean exit). Does nothing if another holds it.
pub fn release(conn: &Connection, me: &ProcessIdentity) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM scheduler_lease
         WHERE id = 1 AND owner_pid = ?1 AND owner_host = ?2
           AND owner_start IS ?3 AND owner_boot IS ?4",
        params![me.pid, me.host, me.start, me.boot_id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::journal::open_connection(&dir.path().join("j.db")).unwrap();
        (dir, conn)
    }

    /// A process on another host: its liveness cannot be checked from here,
    /// so only the heartbeat decides.
    fn remote(pid: u32) -> ProcessIdentity {
        ProcessIdentity {
            pid,
            host: "elsewhere.example".into(),
            start: Some(1),
            boot_id: None,
        }
    }

    const TIMES: LeaseTimes = LeaseTimes {
        expiry: Duration::from_secs(30),
        renew: Duration::from_secs(5),
    };

    #[test]
    fn one_holder_at_a_time_until_the_heartbeat_expires() {
        let (_dir, mut conn) = journal();
        let (a, b) = (remote(10), remote(11));
        assert_eq!(
            acquire(&mut conn, &a, "daemon", 1_000, TIMES).unwrap(),
            Acquire::Held { replaced: None }
        );
        let busy = acquire(&mut conn, &b, "console", 2_000, TIMES).unwrap();
        assert!(
            matches!(busy, Acquire::Busy(ref h) if h.owner == a && h.kind == "daemon"),
            "{busy:?}"
        );
        // a renews; b still cannot take it 30 s after the first heartbeat.
        assert!(renew(&conn, &a, 20_000).unwrap());
        assert!(matches!(
            acquire(&mut conn, &b, "console", 49_000, TIMES).unwrap(),
            Acquire::Busy(_)
        ));
        // 30 s without a heartbeat: b takes over, and a learns it lost.
        let took = acquire(&mut conn, &b, "console", 50_001, TIMES).unwrap();
        assert!(matches!(took, Acquire::Held { replaced: Some(ref h) } if h.owner == a));
        assert!(!renew(&conn, &a, 50_002).unwrap());
        assert!(holds(&conn, &b).unwrap());
        assert!(!holds(&conn, &a).unwrap());
    }

    #[test]
    fn release_frees_the_lease_and_only_for_its_holder() {
        let (_dir, mut conn) = journal();
        let (a, b) = (remote(10), remote(11));
        acquire(&mut conn, &a, "daemon", 0, TIMES).unwrap();
        release(&conn, &b).unwrap();
        assert!(holds(&conn, &a).unwrap());
        release(&conn, &a).unwrap();
        assert_eq!(holder(&conn).unwrap(), None);
        assert_eq!(
            acquire(&mut conn, &b, "daemon", 1, TIMES).unwrap(),
            Acquire::Held { replaced: None }
        );
    }

    #[test]
    fn a_dead_holder_on_this_host_is_replaced_at_once() {
        let (_dir, mut conn) = journal();
        let me = ProcessIdentity::current();
        let dead = crate::journal::owner::exited_process();
        acquire(&mut conn, &dead, "daemon", 1_000, TIMES).unwrap();
        let took = acquire(&mut conn, &me, "console", 1_001, TIMES).unwrap();
        assert!(matches!(took, Acquire::Held { replaced: Some(ref h) } if h.owner == dead));
    }

    #[test]
    fn a_heartbeat_from_the_future_counts_as_expired() {
        let (_dir, mut conn) = journal();
        acquire(&mut conn, &remote(1), "daemon", 10_000_000, TIMES).unwrap();
        assert!(matches!(
            acquire(&mut conn, &remote(2), "daemon", 1_000, TIMES).unwrap(),
            Acquire::Held { replaced: Some(_) }
        ));
    }
}
