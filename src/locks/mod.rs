//! Run locks and per-host slots, kept in the journal so every jobdeck
//! process on it (headless runs, the console, schedule fires) sees them.
//!
//! Each row names its owner process the way the scheduler lease does
//! (pid, host, start time, boot id) and carries a heartbeat that a thread
//! of the owner renews every few seconds. A row whose owner died on this
//! machine, or whose heartbeat is older than the lease expiry (another
//! machine's owner), no longer holds: the next taker removes it. So a
//! crashed run never keeps a lock.
//!
//! - `run_lock`: `lock: NAME` / `--lock NAME`, one holder at a time.
//! - `host_slot`: at most N jobdeck steps at once on one host.

mod heartbeat;
pub mod host_slot;
pub mod run_lock;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::engine::events::{InstanceId, now_millis};
use crate::engine::gates::{Coordinator, Holder, SlotId};
use crate::journal::{JournalError, ProcessIdentity};
use crate::schedule::lease::LeaseTimes;
use heartbeat::Heartbeat;

/// The journal-backed [`Coordinator`] of one process.
pub struct JournalCoordinator {
    conn: Mutex<Connection>,
    path: PathBuf,
    me: ProcessIdentity,
    user: String,
    times: LeaseTimes,
    heartbeat: Mutex<Option<Heartbeat>>,
}

impl std::fmt::Debug for JournalCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalCoordinator")
            .field("path", &self.path)
            .finish()
    }
}

impl JournalCoordinator {
    /// Opens its own connection to the journal. Lease times (expiry,
    /// renewal) are the scheduler's, `JOBDECK_LEASE_EXPIRY` included.
    pub fn open(journal: &Path) -> Result<Arc<JournalCoordinator>, JournalError> {
        Ok(Arc::new(JournalCoordinator {
            conn: Mutex::new(crate::journal::open_connection(journal)?),
            path: journal.to_path_buf(),
            me: ProcessIdentity::current(),
            user: crate::journal::owner::current_user(),
            times: LeaseTimes::from_env(),
            heartbeat: Mutex::new(None),
        }))
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn owner(&self) -> run_lock::Owner<'_> {
        run_lock::Owner {
            me: &self.me,
            user: &self.user,
            expiry: self.times.expiry,
        }
    }

    /// Starts renewing this process's rows, once.
    fn keep_alive(&self) {
        let mut heartbeat = self.heartbeat.lock().unwrap_or_else(|e| e.into_inner());
        if heartbeat.is_none() {
            *heartbeat = Heartbeat::start(&self.path, self.me.clone(), self.times.renew);
        }
    }
}

impl Coordinator for JournalCoordinator {
    fn try_lock(&self, name: &str, instance: InstanceId) -> Result<Option<Holder>, String> {
        let result = run_lock::try_lock(
            &mut self.conn(),
            &self.owner(),
            name,
            instance,
            now_millis(),
        )
        .map_err(|e| format!("journal {}: {e}", self.path.display()))?;
        if result.is_none() {
            self.keep_alive();
        }
        Ok(result)
    }

    fn release_lock(&self, name: &str, instance: InstanceId) {
        // A failed release is freed by the owner check once this process ends.
        let _ = run_lock::release(&self.conn(), &self.me, name, instance);
    }

    fn try_slot(
        &self,
        key: &str,
        limit: u32,
        instance: InstanceId,
    ) -> Result<Result<SlotId, Vec<Holder>>, String> {
        let result = host_slot::try_take(
            &mut self.conn(),
            &self.owner(),
            key,
            limit,
            instance,
            now_millis(),
        )
        .map_err(|e| format!("journal {}: {e}", self.path.display()))?;
        if result.is_ok() {
            self.keep_alive();
        }
        Ok(result)
    }

    fn release_slot(&self, slot: SlotId) {
        let _ = host_slot::release(&self.conn(), slot);
    }
}

/// Who holds `name` now, if a live run does (for the scheduler's overlap
/// policy and for messages).
pub fn lock_holder(conn: &Connection, name: &str) -> rusqlite::Result<Option<Holder>> {
    run_lock::live_holder(conn, name, now_millis(), LeaseTimes::from_env().expiry)
}
