//! A run spec and the inventory into the engine's plan: targets resolved
//! (inventory vars, ssh_config), each host's environment, steps turned into
//! actions with their params substituted, hosts split into batches.

use std::path::Path;

use anyhow::{Result, anyhow};
use serde_json::Value;

use super::spec::RunSpec;
use crate::engine::events::InstanceId;
use crate::engine::{Action, Plan, PlannedHost, PlannedStep, Policy, StartPoint};
use crate::flow::params::{self, is_env_name};
use crate::flow::{Step, StepKind};
use crate::inventory::connection::is_secret_var;
use crate::inventory::{Inventory, pattern};
use crate::transport::known_hosts::{self, KnownHosts};
use crate::transport::resolve::resolve_target;
use crate::transport::{Connection, Payload};

/// A plan and the warnings building it raised (ssh_config, host key
/// policy), one line each. The caller shows them: the headless run on
/// stderr, the console in its status line (printing would smear its screen).
pub struct PreparedPlan {
    pub plan: Plan,
    pub warnings: Vec<String>,
    /// Where word of the run goes (config, flow, command line).
    pub notify: Vec<crate::notify::Target>,
}

/// The engine's plan for `spec`: targets resolved, env built, steps turned
/// into actions, batches split.
pub fn build_plan(
    inv: &Inventory,
    spec: &RunSpec,
    instance: InstanceId,
    base: &Path,
) -> Result<PreparedPlan> {
    let sizes = spec.rollout.batches.plan(spec.hosts.len())?;
    let batches = crate::rollout::assign((0..spec.hosts.len()).collect(), &sizes);
    let ssh_config = spec
        .resolve
        .load_ssh_config()
        .map_err(|e| anyhow!("ssh_config: {e}"))?;
    let mut warnings = Vec::new();
    let mut hosts = Vec::with_capacity(spec.hosts.len());
    for &h in &spec.hosts {
        let name = inv.host_name(h);
        let resolved = resolve_target(name, &inv.hostvars[h], &ssh_config, &spec.resolve)
            .map_err(|e| anyhow!(e))?;
        warnings.extend(resolved.warnings);
        let place = &inv.placement[h];
        let mut env = inventory_env(&inv.hostvars[h]);
        env.extend([
            ("JOBDECK_JOB_ID".to_string(), instance.to_string()),
            ("JOBDECK_FLOW".into(), spec.flow.name.clone()),
            ("JOBDECK_HOST".into(), name.to_string()),
            (
                "JOBDECK_PROJECT".into(),
                place.project.clone().unwrap_or_default(),
            ),
            (
                "JOBDECK_CLUSTER".into(),
                place.cluster.clone().unwrap_or_default(),
            ),
            ("JOBDECK_APP".into(), place.app.clone().unwrap_or_default()),
        ]);
        hosts.push(PlannedHost {
            name: name.to_string(),
            target: resolved.target,
            env,
        });
    }
    warnings.sort();
    warnings.dedup();
    // Bad known_hosts lines are named (file:line) before anything connects.
    let ssh_targets = hosts
        .iter()
        .map(|host| &host.target)
        .filter(|target| target.connection == Connection::Ssh);
    warnings.extend(KnownHosts::new().warnings(&known_hosts::files_of(ssh_targets)));
    let plan_step = |index: usize, step: &Step| planned_step(inv, spec, base, index, step);
    let steps = spec
        .flow
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| plan_step(i, s))
        .collect::<Result<Vec<_>>>()?;
    let rollback = spec
        .flow
        .rollback
        .iter()
        .enumerate()
        .map(|(i, s)| plan_step(spec.flow.steps.len() + i, s))
        .collect::<Result<Vec<_>>>()?;
    let plan = Plan {
        instance,
        flow: spec.flow.name.clone(),
        hosts,
        batches,
        steps,
        rollback,
        policy: Policy {
            interval: spec.rollout.interval,
            mode: spec.rollout.mode,
            max_fail: spec.rollout.max_fail,
            forks: spec.rollout.forks,
            interactive: false,
            auto_confirm: spec.yes,
        },
        start: StartPoint::default(),
        secrets: secrets_of(inv, spec),
        gates: Default::default(),
        sessions: Default::default(),
    };
    Ok(PreparedPlan {
        plan,
        warnings,
        notify: Vec::new(),
    })
}

fn planned_step(
    inv: &Inventory,
    spec: &RunSpec,
    base: &Path,
    index: usize,
    step: &Step,
) -> Result<PlannedStep> {
    let at = |e: String| {
        anyhow!(
            "{}:{}: step '{}': {e}",
            spec.flow.path.display(),
            step.line,
            step.name
        )
    };
    let mut env = spec.params.clone();
    env.push(("JOBDECK_STEP".into(), step.name.clone()));
    env.push(("JOBDECK_STEP_INDEX".into(), (index + 1).to_string()));
    let substitute = |text: &str| params::substitute(text, &spec.params).map_err(at);
    let mut run_as = None;
    let action = match &step.kind {
        StepKind::Atom { atom, with, args } => {
            for p in &atom.params {
                let given = with.iter().find(|(k, _)| k == &p.name).map(|(_, v)| v);
                let value = match given {
                    Some(v) => Some(p.check(&substitute(v)?).map_err(at)?),
                    None => p.default.clone(),
                };
                match value {
                    Some(v) => env.push((p.name.clone(), v)),
                    None if p.required => {
                        return Err(at(format!("atom param '{}' needs a value", p.name)));
                    }
                    None => env.push((p.name.clone(), String::new())),
                }
            }
            run_as = atom.run_as.clone();
            Action::Run(Payload::Script {
                body: atom.body.clone(),
                args: args.iter().map(|a| substitute(a)).collect::<Result<_>>()?,
            })
        }
        StepKind::Script { body, args } => Action::Run(Payload::Script {
            body: body.clone(),
            args: args.iter().map(|a| substitute(a)).collect::<Result<_>>()?,
        }),
        StepKind::Command { command } => Action::Run(Payload::Command(substitute(command)?)),
        StepKind::Copy { src, dest, mode } => Action::Upload {
            src: src.clone(),
            dest: substitute(dest)?,
            mode: *mode,
        },
        StepKind::Approval { message } => Action::Approval {
            message: message.clone(),
        },
    };
    let applies_to = match &step.targets {
        None => None,
        Some(pattern) => {
            let matched =
                pattern::select(&inv.data, pattern, base).map_err(|e| at(e.to_string()))?;
            let mut member = vec![false; inv.data.hosts.len()];
            for h in matched {
                member[h] = true;
            }
            Some(spec.hosts.iter().map(|&h| member[h]).collect())
        }
    };
    Ok(PlannedStep {
        name: step.name.clone(),
        action,
        env,
        timeout: step.timeout.or(spec.rollout.timeout),
        retries: step.retries,
        retry_interval: step.retry_interval,
        on_failure: step.on_failure,
        run_as,
        applies_to,
        manners: step
            .manners
            .or(spec.safety.manners()?)
            .or(spec.flow.manners),
    })
}

/// A variable the scripts get from the inventory: scalars as text, lists
/// and maps as JSON. `ansible_*` (connection settings) and `JOBDECK_*`
/// (built-ins) are left out, as are names that cannot be env vars.
fn inventory_env(vars: &crate::inventory::VarMap) -> Vec<(String, String)> {
    vars.iter()
        .filter(|(k, _)| is_env_name(k) && !k.starts_with("ansible_") && !k.starts_with("JOBDECK_"))
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                other => serde_json::to_string(other).unwrap_or_default(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// Values scrubbed from output: secret params and the hosts' secret variables.
fn secrets_of(inv: &Inventory, spec: &RunSpec) -> Vec<String> {
    let mut secrets: Vec<String> = spec
        .flow
        .params
        .iter()
        .filter(|p| p.secret)
        .filter_map(|p| {
            spec.params
                .iter()
                .find(|(n, _)| n == &p.name)
                .map(|(_, v)| v.clone())
        })
        .collect();
    for &h in &spec.hosts {
        for (k, v) in &inv.hostvars[h] {
            if is_secret_var(k)
                && let Value::String(s) = v
            {
                secrets.push(s.clone());
            }
        }
    }
    secrets.retain(|s| s.len() >= 2);
    secrets.sort();
    secrets.dedup();
    secrets
}

/// The id appears in the plan and in every host's `JOBDECK_JOB_ID`.
pub fn set_instance(plan: &mut Plan, id: InstanceId) {
    plan.instance = id;
    for host in &mut plan.hosts {
        for (k, v) in &mut host.env {
            if k == "JOBDECK_JOB_ID" {
                *v = id.to_string();
            }
        }
    }
}
