//! What guarded a past run, read back for `show` and `export`: the guard's
//! hits, pre-flight results, and notification deliveries.

use rusqlite::params;
use serde::Serialize;

use super::{Journal, JournalError};
use crate::engine::events::{HostIndex, InstanceId, UnixMillis};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardHitRow {
    pub rule: String,
    pub action: String,
    pub outcome: String,
    pub location: String,
    pub step: Option<usize>,
    pub matched: String,
    pub user: String,
    pub at: UnixMillis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreflightRow {
    pub host: HostIndex,
    pub mode: String,
    pub ready: bool,
    pub reason: Option<String>,
}

/// One notification delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRow {
    pub event: String,
    pub target: String,
    /// sent | failed
    pub outcome: String,
    pub attempts: u32,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub at: UnixMillis,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Guardrails {
    pub guard_hits: Vec<GuardHitRow>,
    pub preflight: Vec<PreflightRow>,
    pub notifications: Vec<DeliveryRow>,
}

impl Journal {
    pub fn guardrails(&self, id: InstanceId) -> Result<Guardrails, JournalError> {
        let conn = &self.conn;
        let guard_hits = conn
            .prepare_cached(
                "SELECT rule, action, outcome, location, step_idx, matched, os_user, at
                 FROM guard_hits WHERE instance_id = ?1 ORDER BY id",
            )?
            .query_map(params![id], |r| {
                Ok(GuardHitRow {
                    rule: r.get(0)?,
                    action: r.get(1)?,
                    outcome: r.get(2)?,
                    location: r.get(3)?,
                    step: r.get(4)?,
                    matched: r.get(5)?,
                    user: r.get(6)?,
                    at: r.get(7)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let preflight = conn
            .prepare_cached(
                "SELECT host_idx, mode, ready, reason FROM preflight
                 WHERE instance_id = ?1 ORDER BY host_idx",
            )?
            .query_map(params![id], |r| {
                Ok(PreflightRow {
                    host: r.get(0)?,
                    mode: r.get(1)?,
                    ready: r.get(2)?,
                    reason: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let notifications = conn
            .prepare_cached(
                "SELECT event, target, outcome, attempts, http_status, error, at
                 FROM notifications WHERE instance_id = ?1 ORDER BY id",
            )?
            .query_map(params![id], |r| {
                Ok(DeliveryRow {
                    event: r.get(0)?,
                    target: r.get(1)?,
                    outcome: r.get(2)?,
                    attempts: r.get(3)?,
                    http_status: r.get(4)?,
                    error: r.get(5)?,
                    at: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Guardrails {
            guard_hits,
            preflight,
            notifications,
        })
    }
}
