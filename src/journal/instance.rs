//! Creating job instances, and the lifecycle steps that happen outside the
//! event stream: recovering instances whose process died, and claiming an
//! interrupted instance to resume it.

use std::fmt;
use std::str::FromStr;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::{Map, Value};

use super::owner::{OwnerState, ProcessIdentity, owner_from_row, owner_state};
use super::query::ResumePoint;
use super::{Journal, JournalError};
use crate::engine::events::{InstanceId, InstanceStatus, now_millis};

/// What a secret param's value is replaced with before it is stored.
pub const SECRET_MASK: &str = "********";

/// What started an instance; stored as text (`schedule:7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trigger {
    /// Started from the TUI.
    #[default]
    Manual,
    /// `jobdeck --run`.
    Cli,
    /// Fired by the schedule with this id.
    Schedule(i64),
    /// `jobdeck rerun ID`: a new instance derived from that one.
    Rerun(InstanceId),
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Manual => f.write_str("manual"),
            Trigger::Cli => f.write_str("cli"),
            Trigger::Schedule(id) => write!(f, "schedule:{id}"),
            Trigger::Rerun(id) => write!(f, "rerun:{id}"),
        }
    }
}

impl FromStr for Trigger {
    type Err = String;

    fn from_str(text: &str) -> Result<Trigger, String> {
        let id = |s: &str| {
            s.parse::<i64>()
                .map_err(|_| format!("bad trigger {text:?}: expected a number after ':'"))
        };
        match text.split_once(':') {
            None if text == "manual" => Ok(Trigger::Manual),
            None if text == "cli" => Ok(Trigger::Cli),
            Some(("schedule", n)) => Ok(Trigger::Schedule(id(n)?)),
            Some(("rerun", n)) => Ok(Trigger::Rerun(id(n)?)),
            _ => Err(format!(
                "bad trigger {text:?}: expected manual, cli, schedule:<id> or rerun:<id>"
            )),
        }
    }
}

/// One atom script as it was when the instance started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtomSnapshot {
    pub name: String,
    /// Lowercase hex sha256 of `body`, computed by the flow loader.
    pub sha256: String,
    pub body: Vec<u8>,
}

/// Everything known about an instance before it runs.
#[derive(Debug, Clone, Default)]
pub struct NewInstance {
    pub flow: String,
    /// The flow file's text as it was read.
    pub flow_snapshot: String,
    pub atoms: Vec<AtomSnapshot>,
    /// Param values by name. Values of `secret_params` are masked on the way
    /// in even if the caller forgot to.
    pub params: Map<String, Value>,
    pub secret_params: Vec<String>,
    /// The selection as the operator gave it (pattern, limit, project, ...).
    pub target: Value,
    /// The selected hosts, in run order.
    pub hosts: Vec<String>,
    /// The rollout plan (expr, batch sizes, interval, mode, max_fail, order, forks).
    pub rollout: Value,
    pub trigger: Trigger,
    /// The instance this one reruns, if any.
    pub parent: Option<InstanceId>,
    /// The OS user; empty means "whoever runs this process".
    pub user: String,
}

/// Replaces the value of every param named in `secret_names` with
/// `SECRET_MASK`. Returns how many were masked.
pub fn mask_secrets<S: AsRef<str>>(params: &mut Map<String, Value>, secret_names: &[S]) -> usize {
    let mut masked = 0;
    for name in secret_names {
        if let Some(value) = params.get_mut(name.as_ref()) {
            *value = Value::String(SECRET_MASK.to_owned());
            masked += 1;
        }
    }
    masked
}

/// Statuses an instance has while some process is (or was) running it.
const LIVE_STATUSES: [InstanceStatus; 3] = [
    InstanceStatus::Running,
    InstanceStatus::Waiting,
    InstanceStatus::Paused,
];

impl Journal {
    /// Records a new instance (status `running`, owned by this process) and
    /// returns its id. Secret params are masked before anything is written.
    pub fn create_instance(&mut self, new: &NewInstance) -> Result<InstanceId, JournalError> {
        let mut params = new.params.clone();
        mask_secrets(&mut params, &new.secret_params);
        let atom_hashes: Map<String, Value> = new
            .atoms
            .iter()
            .map(|a| (a.name.clone(), Value::String(a.sha256.clone())))
            .collect();
        let user = if new.user.is_empty() {
            super::owner::current_user()
        } else {
            new.user.clone()
        };
        let me = ProcessIdentity::current();

        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut atom =
                tx.prepare_cached("INSERT OR IGNORE INTO atoms (sha256, body) VALUES (?1, ?2)")?;
            for a in &new.atoms {
                atom.execute(params![a.sha256, a.body])?;
            }
        }
        tx.execute(
            "INSERT INTO instances (flow, flow_snapshot, atom_hashes, params, secret_params, target,
                 resolved_hosts, rollout, trigger, parent_id, os_user, status, created_at,
                 owner_pid, owner_host, owner_start, owner_boot)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'running', ?12, ?13, ?14, ?15, ?16)",
            params![
                new.flow,
                new.flow_snapshot,
                Value::Object(atom_hashes).to_string(),
                Value::Object(params).to_string(),
                serde_json::to_string(&new.secret_params)?,
                json_or_empty(&new.target),
                serde_json::to_string(&new.hosts)?,
                json_or_empty(&new.rollout),
                new.trigger.to_string(),
                new.parent,
                user,
                now_millis(),
                me.pid,
                me.host,
                me.start,
                me.boot_id,
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Marks as `interrupted` every instance that a dead process on this host
    /// left running, waiting or paused, along with its hosts, steps and
    /// batches that were in flight. Finished results stay as they are.
    /// Instances owned by live processes or by other hosts are left alone.
    pub fn recover_interrupted(&mut self) -> Result<Vec<InstanceId>, JournalError> {
        let here = ProcessIdentity::current();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let candidates: Vec<(InstanceId, Option<ProcessIdentity>)> = {
            let mut stmt = tx.prepare(
                "SELECT id, owner_pid, owner_host, owner_start, owner_boot FROM instances
                 WHERE status IN ('running', 'waiting', 'paused') ORDER BY id",
            )?;
            stmt.query_map([], |row| Ok((row.get(0)?, owner_from_row(row, 1)?)))?
                .collect::<Result<_, _>>()?
        };
        let mut recovered = Vec::new();
        for (id, owner) in candidates {
            let gone = match &owner {
                Some(owner) => owner_state(owner, &here) == OwnerState::Gone,
                None => true, // nobody claimed it: nothing will ever finish it
            };
            if gone {
                mark_interrupted(&tx, id, owner.as_ref())?;
                recovered.push(id);
            }
        }
        tx.commit()?;
        Ok(recovered)
    }

    /// Takes over an interrupted instance (or one whose owner died) so this
    /// process can resume it: status `running`, owner = this process.
    /// Refuses instances that finished or that a live process still runs.
    pub fn claim_for_resume(&mut self, id: InstanceId) -> Result<ResumePoint, JournalError> {
        let here = ProcessIdentity::current();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = tx
            .query_row(
                "SELECT status, owner_pid, owner_host, owner_start, owner_boot FROM instances WHERE id = ?1",
                [id],
                |r| Ok((r.get::<_, String>(0)?, owner_from_row(r, 1)?)),
            )
            .optional()?;
        let Some((status, owner)) = row else {
            return Err(JournalError::NoSuchInstance(id));
        };
        let status = InstanceStatus::parse(&status).unwrap_or(InstanceStatus::Interrupted);
        let not_resumable = |why: String| JournalError::NotResumable { id, why };
        if LIVE_STATUSES.contains(&status) {
            match owner.as_ref().map(|o| owner_state(o, &here)) {
                Some(OwnerState::Alive) => {
                    let pid = owner.as_ref().map_or(0, |o| o.pid);
                    return Err(not_resumable(format!(
                        "it is still {status} in process {pid}"
                    )));
                }
                Some(OwnerState::Elsewhere) => {
                    let o = owner.as_ref().map(|o| o.host.as_str()).unwrap_or("");
                    return Err(not_resumable(format!("it is {status} on host {o}")));
                }
                Some(OwnerState::Gone) | None => mark_interrupted(&tx, id, owner.as_ref())?,
            }
        } else if status != InstanceStatus::Interrupted {
            return Err(not_resumable(format!("it finished ({status})")));
        }
        tx.execute(
            "UPDATE instances SET status = 'running', reason = NULL, finished_at = NULL,
                 owner_pid = ?2, owner_host = ?3, owner_start = ?4, owner_boot = ?5
             WHERE id = ?1",
            params![id, here.pid, here.host, here.start, here.boot_id],
        )?;
        let point = super::query::resume_point_in(&tx, id)?;
        tx.commit()?;
        Ok(point)
    }
}

fn json_or_empty(value: &Value) -> String {
    if value.is_null() {
        "{}".to_owned()
    } else {
        value.to_string()
    }
}

fn mark_interrupted(
    tx: &Transaction<'_>,
    id: InstanceId,
    owner: Option<&ProcessIdentity>,
) -> rusqlite::Result<()> {
    let reason = match owner {
        Some(o) => format!(
            "jobdeck (pid {} on {}) stopped before the instance finished",
            o.pid, o.host
        ),
        None => "no jobdeck process owned the instance".to_owned(),
    };
    // A reason already there is why the run stopped being recorded (a
    // failed journal write, see `write_failure`): it is the truer one.
    tx.execute(
        "UPDATE instances SET status = 'interrupted', interrupted_from = status, reason = COALESCE(reason, ?2)
         WHERE id = ?1",
        params![id, reason],
    )?;
    tx.execute(
        "UPDATE hosts SET status = 'interrupted' WHERE instance_id = ?1 AND status IN ('running', 'connecting')",
        [id],
    )?;
    tx.execute(
        "UPDATE step_results SET status = 'interrupted' WHERE instance_id = ?1 AND status IN ('running', 'connecting')",
        [id],
    )?;
    tx.execute(
        "UPDATE batches SET status = 'interrupted' WHERE instance_id = ?1 AND status = 'running'",
        [id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_round_trip_through_text() {
        for t in [
            Trigger::Manual,
            Trigger::Cli,
            Trigger::Schedule(7),
            Trigger::Rerun(42),
        ] {
            assert_eq!(t.to_string().parse::<Trigger>(), Ok(t));
        }
        assert_eq!(Trigger::Schedule(3).to_string(), "schedule:3");
        assert!(
            "schedule:x"
                .parse::<Trigger>()
                .unwrap_err()
                .contains("expected a number")
        );
        assert!("cron".parse::<Trigger>().is_err());
    }

    #[test]
    fn mask_secrets_replaces_only_named_values() {
        let mut params = Map::new();
        params.insert("token".into(), Value::String("hunter2".into()));
        params.insert("version".into(), Value::String("1.2".into()));
        assert_eq!(mask_secrets(&mut params, &["token", "absent"]), 1);
        assert_eq!(params["token"], SECRET_MASK);
        assert_eq!(params["version"], "1.2");
    }
}
