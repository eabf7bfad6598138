//! A run the journal recorded, turned back into a run spec: `rerun` runs
//! some of its hosts again as a new instance, `resume` continues it. The
//! flow and atoms are the recorded ones (not the files as they are now);
//! secret params, never stored, must be given again.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use serde_json::Value;

use super::options::{ConnectOptions, FieldError, Rollout, RunField, resolve_options};
use super::record::connect_json;
use super::spec::{RunSpec, adhoc_flow};
use crate::duration::parse_timeout;
use crate::engine::events::{HostStatus, InstanceId, StepIndex, WaitReason};
use crate::engine::{HostStart, Plan, StartPoint};
use crate::flow::params;
use crate::inventory::select::Selection;
use crate::inventory::{HostId, Inventory};
use crate::journal::{self, Journal};
use crate::rollout::BatchExpr;
use crate::safety::SafetyOptions;
use crate::transport::resolve::ResolveOptions;

/// The inventory a rerun or resume runs against: `-i` when given, else the
/// sources the run itself used (not the default inventory, whose hosts of
/// the same names may be other machines).
pub fn past_inventory(given: &[String], journal: &Journal, id: InstanceId) -> Result<Inventory> {
    let load = |sources: &[String]| -> Result<Inventory> {
        Ok(Inventory::load(&crate::inventory::default_sources(
            sources,
        ))?)
    };
    if !given.is_empty() {
        return load(given);
    }
    let recorded: Vec<String> = journal
        .instance(id)?
        .and_then(|detail| {
            detail.instance.target["inventory"]
                .as_array()
                .map(|sources| {
                    sources
                        .iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
        })
        .unwrap_or_default();
    load(&recorded).with_context(|| format!("run {id}'s inventory (pass -i to use another)"))
}

/// What the journal knows about a past run, turned back into a run spec.
pub struct Past {
    pub spec: RunSpec,
    pub record: journal::InstanceRecord,
    pub detail: journal::InstanceDetail,
    /// `--limit`: only these hosts of the run are run again.
    pub limit: Option<Limit>,
}

/// A past run's required secret params that were not given again: never
/// stored, they must be (`--param`, or the console's dialog). Nothing was
/// recorded or claimed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "run {id} has a secret param '{first}', which is never stored: pass --param {first}=...",
    first = names[0]
)]
pub struct MissingSecrets {
    pub id: InstanceId,
    /// Every missing one, in the order the run recorded them (never empty).
    pub names: Vec<String>,
}

/// What a rerun or resume may change of the run it repeats, as a run
/// takes it: a pattern narrowing its hosts (`--limit`), the command
/// timeout (`--timeout`) and how hosts are reached (`--connect-timeout`,
/// `--accept-new`, `-F`). What is not given is what the run recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgainOptions {
    pub limit: Option<String>,
    pub timeout: Option<String>,
    pub connect: ConnectOptions,
}

/// The hosts a `--limit` pattern matched in the inventory.
#[derive(Debug, Clone)]
pub struct Limit {
    pub pattern: String,
    pub hosts: Vec<HostId>,
}

impl Limit {
    pub fn admits(&self, host: HostId) -> bool {
        self.hosts.contains(&host)
    }
}

impl AgainOptions {
    /// The limit's hosts (a pattern that matches no host is an error, as
    /// for a run), and the timeouts and connection options over `spec`'s.
    fn apply(&self, inv: &Inventory, spec: &mut RunSpec) -> anyhow::Result<Option<Limit>> {
        let field = |field: RunField, message: String| {
            anyhow!("{}", FieldError::new(field, message).on_command_line())
        };
        if let Some(text) = &self.timeout {
            let timeout =
                parse_timeout(text).map_err(|e| field(RunField::Timeout, e.to_string()))?;
            spec.rollout.timeout = Some(timeout);
        }
        let given = resolve_options(&self.connect).map_err(|e| anyhow!(e.on_command_line()))?;
        let resolve = &mut spec.resolve;
        resolve.accept_new |= given.accept_new;
        if given.connect_timeout.is_some() {
            resolve.connect_timeout = given.connect_timeout;
        }
        if given.ssh_config_path.is_some() {
            resolve.ssh_config_path = given.ssh_config_path;
        }
        if let Some(target) = spec.target.as_object_mut() {
            target.insert("connect".into(), connect_json(resolve));
        }
        let Some(pattern) = &self.limit else {
            return Ok(None);
        };
        let selection = Selection {
            pattern: Some(pattern.clone()),
            ..Selection::default()
        };
        let base = std::env::current_dir()?;
        let hosts = selection
            .resolve(inv, &base)
            .map_err(|e| field(RunField::Targets, e.to_string()))?;
        Ok(Some(Limit {
            pattern: pattern.clone(),
            hosts,
        }))
    }
}

/// Rebuilds a past instance's flow from its journal snapshot (the flow file
/// and atoms exactly as they ran), its params (secret ones from `--param`)
/// and its rollout. `given` are the params given now (`--param`): secret
/// ones, never stored, and any to change; `safety` the safety options given
/// now, over the recorded ones.
pub fn past_run(
    inv: &Inventory,
    journal: &Journal,
    id: InstanceId,
    given: &[(String, String)],
    yes: bool,
    safety: SafetyOptions,
    again: &AgainOptions,
) -> Result<Past> {
    let detail = journal
        .instance(id)?
        .ok_or_else(|| anyhow!("no run {id} in the journal {}", journal.path().display()))?;
    let record = detail.instance.clone();
    let target = &record.target;
    let command = target.get("command").and_then(Value::as_str);
    let flow = match command {
        Some(command) => adhoc_flow(command),
        None => {
            let path = target
                .get("flow_path")
                .and_then(Value::as_str)
                .map(PathBuf::from)
                .ok_or_else(|| anyhow!("run {id} did not record its flow file"))?;
            let mut atoms = Vec::new();
            for (name, sha) in &record.atom_hashes {
                let sha = sha.as_str().unwrap_or_default();
                let body = journal.atom_body(sha)?.ok_or_else(|| {
                    anyhow!("run {id}: atom '{name}' ({sha}) is missing from the journal")
                })?;
                atoms.push((name.clone(), String::from_utf8_lossy(&body).into_owned()));
            }
            crate::flow::load::load_flow_snapshot(&path, record.flow_snapshot.clone(), &atoms)
                .map_err(|e| anyhow!("run {id}'s flow no longer loads: {e}"))?
        }
    };
    let mut values: Vec<(String, String)> = record
        .params
        .iter()
        .filter(|(k, _)| !record.secret_params.contains(k))
        .map(|(k, v)| (k.clone(), params::scalar_text(v).unwrap_or_default()))
        .collect();
    values.extend(given.iter().cloned());
    let missing: Vec<String> = record
        .secret_params
        .iter()
        .filter(|name| {
            let required = flow.params.iter().any(|p| &p.name == *name && p.required);
            required && !values.iter().any(|(k, _)| k == *name)
        })
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(MissingSecrets { id, names: missing }.into());
    }
    let params = params::resolve(&flow.params, &values).map_err(|e| anyhow!("run {id}: {e}"))?;
    let mut hosts = Vec::new();
    for name in &record.resolved_hosts {
        hosts.push(inv.host_id(name).ok_or_else(|| {
            anyhow!("run {id} ran on '{name}', which is no longer in the inventory")
        })?);
    }
    let mut spec = RunSpec {
        flow,
        params,
        hosts,
        rollout: rollout_from_json(&record.rollout)?,
        target: record.target.clone(),
        yes,
        resolve: connect_from_json(&record.target),
        safety: safety.or(SafetyOptions::from_json(&record.target["safety"])),
    };
    let limit = again.apply(inv, &mut spec)?;
    Ok(Past {
        spec,
        record,
        detail,
        limit,
    })
}

fn connect_from_json(target: &Value) -> ResolveOptions {
    let connect = &target["connect"];
    ResolveOptions {
        accept_new: connect["accept_new"].as_bool().unwrap_or(false),
        connect_timeout: connect["connect_timeout_ms"]
            .as_u64()
            .map(Duration::from_millis),
        ssh_config_path: connect["ssh_config"].as_str().map(PathBuf::from),
        ..Default::default()
    }
}

fn rollout_from_json(value: &Value) -> Result<Rollout> {
    let text = |k: &str| value.get(k).and_then(Value::as_str);
    let millis = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_u64)
            .map(Duration::from_millis)
    };
    Ok(Rollout {
        batches: BatchExpr::parse(text("batches").unwrap_or("100%"))?,
        interval: millis("interval_ms").unwrap_or(Duration::ZERO),
        mode: text("mode")
            .unwrap_or("pause-on-failure")
            .parse()
            .map_err(|e| anyhow!("{e}"))?,
        max_fail: text("max_fail")
            .map(str::parse)
            .transpose()
            .map_err(|e| anyhow!("{e}"))?,
        forks: value.get("forks").and_then(Value::as_u64).unwrap_or(64) as usize,
        order: text("order")
            .unwrap_or("inventory")
            .parse()
            .map_err(|e| anyhow!("{e}"))?,
        timeout: millis("timeout_ms"),
    })
}

/// Which hosts of a past run `rerun` runs again.
#[derive(Debug, Clone, Copy)]
pub struct RerunHosts {
    /// Hosts that ended failed, timed out, unreachable, cancelled or interrupted.
    pub failed: bool,
    /// Hosts that were skipped or never reached.
    pub skipped: bool,
}

impl RerunHosts {
    pub fn includes(self, status: HostStatus) -> bool {
        let failed = status.is_failure()
            || status == HostStatus::Cancelled
            || status == HostStatus::Interrupted;
        (self.failed && failed) || (self.skipped && status == HostStatus::Skipped)
    }
}

/// A host resumed part-way through its steps skips the steps that already
/// succeeded, so the `::set` values they exported come from the journal: they
/// join the host's env, in the order the steps ran, as the engine would have
/// passed them on.
fn carry_exports(plan: &mut Plan, recorded: &[journal::ExportRecord]) {
    for (h, host) in plan.hosts.iter_mut().enumerate() {
        let HostStart::FromStep(first) = plan.start.host(h) else {
            continue;
        };
        let mut earlier: Vec<&journal::ExportRecord> = recorded
            .iter()
            .filter(|e| e.host == h && e.step < first)
            .collect();
        earlier.sort_by_key(|e| (e.step, e.at));
        host.env
            .extend(earlier.iter().map(|e| (e.name.clone(), e.value.clone())));
    }
}

/// A rerun of `which` hosts of a past run, as a new run linked to it; `None`
/// when the run has no such hosts.
pub fn rerun_spec(
    inv: &Inventory,
    past: Past,
    id: InstanceId,
    which: RerunHosts,
) -> Option<RunSpec> {
    let Past {
        mut spec,
        detail,
        limit,
        ..
    } = past;
    let limited = |name: &str| {
        limit
            .as_ref()
            .is_none_or(|limit| inv.host_id(name).is_some_and(|host| limit.admits(host)))
    };
    let chosen: Vec<String> = detail
        .hosts
        .iter()
        .filter(|h| which.includes(h.status) && limited(&h.name))
        .map(|h| h.name.clone())
        .collect();
    if chosen.is_empty() {
        return None;
    }
    spec.hosts
        .retain(|&h| chosen.iter().any(|n| n == inv.host_name(h)));
    if let Some(target) = spec.target.as_object_mut() {
        target.insert("rerun_of".into(), serde_json::json!(id));
        target.insert("hosts".into(), serde_json::json!(chosen));
        target.insert("safety".into(), spec.safety.to_json());
    }
    Some(spec)
}

/// The hosts of `point` a resume runs: the run's hosts not yet done, those
/// `--limit` admits when it was given.
pub fn resumed_hosts(past: &Past, point: &journal::ResumePoint) -> Vec<usize> {
    point
        .remaining
        .iter()
        .flat_map(|(_, hosts)| hosts.iter().copied())
        .filter(|&h| {
            past.limit.as_ref().is_none_or(|limit| {
                past.spec
                    .hosts
                    .get(h)
                    .is_some_and(|&host| limit.admits(host))
            })
        })
        .collect()
}

/// Turns `plan`, built (and gated) for interrupted run `past`, into the
/// plan that continues it from `point`: hosts that finished keep their
/// result, a host cut off mid-flow starts at its first step without an ok
/// result (with the values its earlier steps exported), the recorded
/// batches stand, and an interval being waited out goes on. Hosts not yet
/// done that `--limit` leaves out are taken out of their batches, so they
/// end skipped (`rerun --skipped` reaches them later).
pub fn resume_plan(plan: &mut Plan, past: &Past, point: &journal::ResumePoint) {
    let detail = &past.detail;
    let stored_batches: Vec<Vec<usize>> = detail.batches.iter().map(|b| b.hosts.clone()).collect();
    if !stored_batches.is_empty() {
        plan.batches = stored_batches;
    }
    let resumed = resumed_hosts(past, point);
    let left_out: Vec<usize> = point
        .remaining
        .iter()
        .flat_map(|(_, hosts)| hosts.iter().copied())
        .filter(|h| !resumed.contains(h))
        .collect();
    for batch in &mut plan.batches {
        batch.retain(|h| !left_out.contains(h));
    }
    let remaining: Vec<usize> = point
        .remaining
        .iter()
        .flat_map(|(_, hosts)| hosts.iter().copied())
        .collect();
    let steps = plan.steps.len();
    let start_of = |h: usize| -> HostStart {
        if !remaining.contains(&h) {
            let status = detail
                .hosts
                .iter()
                .find(|r| r.index == h)
                .map_or(HostStatus::Ok, |r| r.status);
            return HostStart::Done(status);
        }
        // Start at the first step without an ok result: finished steps are not repeated.
        let first_open = (0..steps).find(|&s: &StepIndex| {
            !detail
                .step_results
                .iter()
                .any(|r| r.host == h && r.step == s && r.status == HostStatus::Ok)
        });
        HostStart::FromStep(first_open.unwrap_or(0))
    };
    plan.start = StartPoint {
        first_batch: point.next_batch,
        wait_until: point
            .resume_at
            .filter(|_| point.wait_reason == Some(WaitReason::Interval)),
        hosts: (0..plan.hosts.len()).map(start_of).collect(),
    };
    carry_exports(plan, &detail.exports);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::record::connect_json;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn connection_options_survive_the_journal() {
        assert_eq!(connect_json(&ResolveOptions::default()), Value::Null);
        let defaults = connect_from_json(&json!({ "connect": null }));
        assert!(!defaults.accept_new);
        assert_eq!(defaults.ssh_config_path, None);
        assert_eq!(defaults.connect_timeout, None);

        let given = ResolveOptions {
            accept_new: true,
            connect_timeout: Some(Duration::from_millis(2500)),
            ssh_config_path: Some(PathBuf::from("/etc/jobdeck/ssh_config")),
            ..Default::default()
        };
        let target = json!({ "connect": connect_json(&given) });
        let back = connect_from_json(&target);
        assert!(back.accept_new);
        assert_eq!(back.connect_timeout, Some(Duration::from_millis(2500)));
        assert_eq!(
            back.ssh_config_path.as_deref(),
            Some(Path::new("/etc/jobdeck/ssh_config"))
        );
    }
}
