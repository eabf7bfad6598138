//! What a run must pass before its first batch, and what its steps share
//! with other runs: the guard's verdict, the run lock, pre-flight, and the
//! per-host limit.
//!
//! Locks and host slots live outside the engine (in the journal, shared by
//! every jobdeck process on it): the engine asks a [`Coordinator`] and
//! polls while it waits. The coordinator's calls block (SQLite), so the
//! engine makes them on the blocking pool.

use std::sync::Arc;
use std::time::Duration;

pub use super::events::Holder;
use super::events::InstanceId;
use crate::guard::Verdict;
use crate::preflight::PreflightPlan;

/// How often a run waiting for its lock asks again.
pub const LOCK_POLL: Duration = Duration::from_millis(500);
/// How often a step waiting for its host slot asks again (first, and at most).
pub const SLOT_POLL_FIRST: Duration = Duration::from_millis(100);
pub const SLOT_POLL_MAX: Duration = Duration::from_secs(1);

/// A held host slot, to give back.
pub type SlotId = i64;

/// Locks and per-host slots shared by every run on one journal.
pub trait Coordinator: Send + Sync + std::fmt::Debug {
    /// Takes `name` for `instance` (again, if it already holds it), or says
    /// who holds it.
    fn try_lock(&self, name: &str, instance: InstanceId) -> Result<Option<Holder>, String>;
    fn release_lock(&self, name: &str, instance: InstanceId);
    /// Takes one of the `limit` slots of host `key`, or says who holds them all.
    fn try_slot(
        &self,
        key: &str,
        limit: u32,
        instance: InstanceId,
    ) -> Result<Result<SlotId, Vec<Holder>>, String>;
    fn release_slot(&self, slot: SlotId);
}

/// A lock the run asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRequest {
    pub name: String,
    /// How long to wait for a held lock; zero fails at once.
    pub wait: Duration,
}

/// What must pass before the first batch, and the limits steps obey.
#[derive(Debug, Clone, Default)]
pub struct Gates {
    /// The guard's verdict on what the run sends.
    pub guard: Verdict,
    pub lock: Option<LockRequest>,
    pub preflight: Option<PreflightPlan>,
    /// At most this many jobdeck steps at once on one host, over every run
    /// on the journal (`None`: no limit).
    pub host_limit: Option<u32>,
    /// Needed by `lock` and `host_limit`.
    pub coordinator: Option<Arc<dyn Coordinator>>,
}

/// The key a host's slots are counted under: the machine reached, so two
/// inventory names for one address share them.
pub fn host_key(target: &crate::transport::Target) -> String {
    match target.connection {
        crate::transport::Connection::Local => {
            format!("local:{}", crate::journal::owner::hostname())
        }
        crate::transport::Connection::Ssh => {
            format!("{}:{}", target.address.to_ascii_lowercase(), target.port)
        }
    }
}

/// Runs a blocking coordinator call off the async workers.
pub async fn blocking<T: Send + 'static>(
    coordinator: &Arc<dyn Coordinator>,
    call: impl FnOnce(&dyn Coordinator) -> T + Send + 'static,
) -> T {
    let c = coordinator.clone();
    match tokio::task::spawn_blocking(move || call(c.as_ref())).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
