//! A planned run recorded in the journal as a new instance: the flow and
//! atoms as they are now, the params (secret ones masked), how the hosts
//! were selected, the rollout and the trigger. Nothing is stored when the
//! plan cannot be built.

use std::path::Path;

use anyhow::Result;
use serde_json::{Map, Value, json};

use super::build::{PreparedPlan, build_plan, set_instance};
use super::gates::{RunKind, add_gates};
use super::options::Rollout;
use super::spec::RunSpec;
use crate::engine::events::InstanceId;
use crate::flow::Flow;
use crate::inventory::Inventory;
use crate::inventory::select::Selection;
use crate::journal::{self, NewInstance, Trigger, instance::AtomSnapshot};
use crate::safety::SafetyOptions;
use crate::transport::resolve::ResolveOptions;

/// Builds the plan and records the instance in the journal; the plan comes
/// back with its instance id. A bad host or step fails before anything is
/// stored. The console uses this too, then runs the plan its own way.
pub fn prepare_instance(
    inv: &Inventory,
    journal_path: &Path,
    spec: &RunSpec,
    trigger: Trigger,
    parent: Option<InstanceId>,
) -> Result<PreparedPlan> {
    let mut journal = journal::open_recovered(journal_path)?;
    let base = std::env::current_dir()?;
    let mut prepared = build_plan(inv, spec, 0, &base)?;
    add_gates(inv, spec, &mut prepared, journal_path, RunKind::New)?;
    super::check_open_files(&prepared.plan, spec.resolve.keep_warm)?;
    let plan = &mut prepared.plan;
    let mut target = spec.target.clone();
    if let (Some(lock), Some(map)) = (&plan.gates.lock, target.as_object_mut()) {
        map.insert("lock".into(), json!(lock.name));
    }
    let sizes: Vec<usize> = plan.batches.iter().map(Vec::len).collect();
    // A secret left empty (never given) hides nothing: it is recorded as
    // empty, so `show` does not print a mask for a value that never was.
    let given = |name: &str| spec.params.iter().any(|(k, v)| k == name && !v.is_empty());
    let secret_params: Vec<String> = spec
        .flow
        .params
        .iter()
        .filter(|p| p.secret && given(&p.name))
        .map(|p| p.name.clone())
        .collect();
    let mut params_json = Map::new();
    for (k, v) in &spec.params {
        params_json.insert(k.clone(), Value::String(v.clone()));
    }
    let id = journal.create_instance(&NewInstance {
        flow: spec.flow.name.clone(),
        flow_snapshot: spec.flow.source.clone(),
        atoms: spec
            .flow
            .atoms()
            .iter()
            .map(|a| AtomSnapshot {
                name: a.name.clone(),
                sha256: a.sha256.clone(),
                body: a.body.clone().into_bytes(),
            })
            .collect(),
        params: params_json,
        secret_params,
        target,
        hosts: plan.hosts.iter().map(|h| h.name.clone()).collect(),
        rollout: rollout_json(&spec.rollout, &sizes),
        trigger,
        parent,
        user: current_user(),
    })?;
    set_instance(plan, id);
    Ok(prepared)
}

pub fn rollout_json(rollout: &Rollout, sizes: &[usize]) -> Value {
    json!({
        "batches": rollout.batches.to_string(),
        "sizes": sizes,
        "interval_ms": rollout.interval.as_millis() as u64,
        "mode": rollout.mode.to_string(),
        "max_fail": rollout.max_fail.map(|m| m.to_string()),
        "forks": rollout.forks,
        "order": rollout.order.to_string(),
        "timeout_ms": rollout.timeout.map(|t| t.as_millis() as u64),
    })
}

/// How the run connects (`-F`, `--accept-new`, `--connect-timeout`), kept
/// with the instance so `resume` and `rerun` reach the hosts the same way.
/// Only the options given are kept (null when none was).
pub fn connect_json(resolve: &ResolveOptions) -> Value {
    let mut connect = Map::new();
    if let Some(path) = &resolve.ssh_config_path {
        connect.insert("ssh_config".into(), json!(absolute(path)));
    }
    if resolve.accept_new {
        connect.insert("accept_new".into(), json!(true));
    }
    if let Some(timeout) = resolve.connect_timeout {
        connect.insert(
            "connect_timeout_ms".into(),
            json!(timeout.as_millis() as u64),
        );
    }
    if connect.is_empty() {
        Value::Null
    } else {
        Value::Object(connect)
    }
}

fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default()
}

/// A path as recorded: absolute, so a rerun from another directory finds it.
fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// How a run from the command line chose its hosts, as the journal keeps
/// it: the flow file or the ad-hoc command, the selection, the inventory
/// and how it connects (rerun and resume use it all again).
pub fn selected_target(
    flow: &Flow,
    command: Option<&str>,
    selection: &Selection,
    inv: &Inventory,
    resolve: &ResolveOptions,
    safety: &SafetyOptions,
) -> Value {
    json!({
        "flow_path": (!flow.path.as_os_str().is_empty()).then(|| absolute(&flow.path)),
        "command": command,
        "pattern": selection.pattern,
        "project": selection.project,
        "cluster": selection.cluster,
        "app": selection.app,
        "hosts": selection.hosts,
        "inventory": inv.sources,
        "connect": connect_json(resolve),
        "safety": safety.to_json(),
    })
}

/// How a run planned in the console chose its hosts: by name.
pub fn console_target(flow: &Flow, hosts: &[&str], inv: &Inventory) -> Value {
    json!({
        "flow_path": absolute(&flow.path),
        "hosts": hosts,
        "inventory": inv.sources,
        "console": true,
    })
}
