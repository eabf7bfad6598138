//! `jobdeck --run`, `check`, `rerun` and `resume`: building a plan from an
//! inventory, a flow and the command line, recording it in the journal and
//! running it headless with the reporter watching.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value, json};

use super::inventory::default_sources;
use crate::cli::{RunArgs, RunPlanArgs, SafetyArgs};
use crate::duration::{DurationError, format_duration, parse_duration, parse_timeout};
use crate::engine::events::{HostStatus, InstanceId, InstanceStatus, StepIndex, WaitReason};
use crate::engine::{
    self, Action, Control, ControlHandle, EventSink, HostStart, OnFailure, Plan, PlannedHost,
    PlannedStep, Policy, StartPoint,
};
use crate::exit;
use crate::flow::params::{self, is_env_name};
use crate::flow::{Flow, Step, StepKind, load_flow};
use crate::inventory::connection::is_secret_var;
use crate::inventory::select::Selection;
use crate::inventory::{HostId, Inventory, pattern};
use crate::journal::{
    self, Journal, JournalWriter, NewInstance, Trigger, WriterOptions, instance::AtomSnapshot,
};
use crate::notify::Notifier;
use crate::report::{ReportOptions, Reporter};
use crate::rollout::{BatchExpr, BatchMode, HostOrder, MaxFail, order_hosts};
use crate::safety::{self, GuardInput, SafetyOptions};
use crate::transport::known_hosts::{self, KnownHosts};
use crate::transport::resolve::{ResolveOptions, resolve_target};
use crate::transport::{
    Connection, NoPassphrase, Payload, TerminalPrompt, Transport, TransportOptions,
};

/// How the run is rolled out, after the command line overrode the flow.
#[derive(Debug, Clone)]
pub struct Rollout {
    pub batches: BatchExpr,
    pub interval: Duration,
    pub mode: BatchMode,
    pub max_fail: Option<MaxFail>,
    pub forks: usize,
    pub order: HostOrder,
    /// Default command timeout for steps that set none.
    pub timeout: Option<Duration>,
}

/// Everything a run needs before it gets an instance id.
pub struct RunSpec {
    pub flow: Flow,
    /// The flow's param values (secret ones included; never stored).
    pub params: Vec<(String, String)>,
    /// Selected hosts in run order.
    pub hosts: Vec<HostId>,
    pub rollout: Rollout,
    /// How the operator selected hosts, as recorded in the journal.
    pub target: Value,
    pub yes: bool,
    pub resolve: ResolveOptions,
    /// Pre-flight, --allow, the lock, nice/ionice, notifications.
    pub safety: SafetyOptions,
}

/// What the reporter prints.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub gather: bool,
}

pub fn headless(
    inventory: &[String],
    journal: Option<PathBuf>,
    flow: &str,
    args: &RunArgs,
) -> Result<u8> {
    let flow = match (flow, &args.command_line) {
        ("", None) => bail!("--run needs a flow file, or -c 'COMMAND' for one command"),
        (path, Some(_)) if !path.is_empty() => {
            bail!("give either a flow file or -c 'COMMAND' to --run, not both")
        }
        (_, Some(command)) => adhoc_flow(command),
        (path, None) => load_flow(Path::new(path)).map_err(|errors| anyhow!("{errors}"))?,
    };
    let inv = load_inventory(inventory)?;
    let given = parse_param_args(&args.plan.params)?;
    let params = params::resolve(&flow.params, &given).map_err(|e| {
        // An ad-hoc command has no file to point at.
        if flow.path.as_os_str().is_empty() {
            anyhow!("-c: {e}")
        } else {
            anyhow!("{}: {e}", flow.path.display())
        }
    })?;
    let selection = Selection {
        pattern: args.plan.limit.clone().or_else(|| flow.targets.clone()),
        project: args.plan.filter.project.clone(),
        cluster: args.plan.filter.cluster.clone(),
        app: args.plan.filter.app.clone(),
        hosts: args.plan.filter.hosts.clone(),
    };
    let base = std::env::current_dir()?;
    let selected = selection.resolve(&inv, &base)?;
    let rollout = rollout_from(&args.plan, &flow)?;
    let named: Vec<(HostId, &str)> = selected.iter().map(|&h| (h, inv.host_name(h))).collect();
    let hosts = order_hosts(named, rollout.order, |(_, name)| name)
        .into_iter()
        .map(|(h, _)| h)
        .collect();
    let resolve = resolve_options(&args.plan)?;
    let safety = SafetyOptions::from_args(&args.plan.safety)?;
    let target = json!({
        "flow_path": (!flow.path.as_os_str().is_empty()).then(|| absolute(&flow.path)),
        "command": args.command_line,
        "pattern": selection.pattern,
        "project": selection.project,
        "cluster": selection.cluster,
        "app": selection.app,
        "hosts": selection.hosts,
        "inventory": inv.sources,
        "connect": connect_json(&resolve),
        "safety": safety.to_json(),
    });
    let spec = RunSpec {
        flow,
        params,
        hosts,
        rollout,
        target,
        yes: args.plan.yes,
        resolve,
        safety,
    };
    let output = Output {
        json: args.json,
        gather: args.gather,
    };
    // Only the scheduler passes --trigger (hidden): its runs say which schedule fired them.
    let trigger = match &args.trigger {
        None => Trigger::Cli,
        Some(text) => match text.parse::<Trigger>() {
            Ok(trigger @ Trigger::Schedule(_)) => trigger,
            _ => bail!("--trigger '{text}': expected schedule:<id>"),
        },
    };
    start_and_run(&inv, journal, spec, trigger, None, output)
}

/// `-c CMD` is a flow of one command step. The command reaches the shell
/// exactly as typed: its `$` are escaped from flow substitution (`${x}` in
/// it is the shell's, and it has no params anyway), which turns `$$` back
/// into `$`.
pub fn adhoc_flow(command: &str) -> Flow {
    Flow {
        name: format!("adhoc: {command}"),
        description: None,
        path: PathBuf::new(),
        source: command.to_string(),
        targets: None,
        params: Vec::new(),
        rollout: Default::default(),
        steps: vec![Step {
            name: "command".into(),
            line: 1,
            kind: StepKind::Command {
                command: command.replace('$', "$$"),
            },
            timeout: None,
            retries: 0,
            retry_interval: Duration::from_secs(5),
            on_failure: OnFailure::Stop,
            targets: None,
            manners: Default::default(),
        }],
        rollback: Vec::new(),
        preflight: None,
        lock: None,
        manners: Default::default(),
        notify: Vec::new(),
    }
}

fn load_inventory(sources: &[String]) -> Result<Inventory> {
    super::inventory::load(sources)
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// `--param name=value`, repeatable.
pub fn parse_param_args(args: &[String]) -> Result<Vec<(String, String)>> {
    args.iter()
        .map(|arg| {
            arg.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| anyhow!("--param '{arg}': expected NAME=VALUE"))
        })
        .collect()
}

pub fn rollout_from(args: &RunPlanArgs, flow: &Flow) -> Result<Rollout> {
    let spec = &flow.rollout;
    let batches = match &args.batches {
        Some(text) => BatchExpr::parse(text).map_err(|e| anyhow!("--batches: {e}"))?,
        None => match &spec.batches {
            Some(b) => b.clone(),
            None => BatchExpr::parse("100%").expect("100% is a valid expression"),
        },
    };
    type Parse = fn(&str) -> Result<Duration, DurationError>;
    let duration = |flag: &str, text: &Option<String>, parse: Parse| -> Result<Option<Duration>> {
        text.as_deref()
            .map(|t| parse(t).map_err(|e| anyhow!("{flag}: {e}")))
            .transpose()
    };
    let forks = args
        .forks
        .or(spec.forks)
        .unwrap_or(crate::transport::fanout::DEFAULT_FORKS);
    if forks == 0 {
        bail!("--forks must be at least 1");
    }
    Ok(Rollout {
        batches,
        interval: duration("--interval", &args.interval, parse_duration)?
            .or(spec.interval)
            .unwrap_or(Duration::ZERO),
        mode: match &args.mode {
            Some(m) => m.parse().map_err(|e| anyhow!("--mode: {e}"))?,
            None => spec.mode.unwrap_or_default(),
        },
        max_fail: match &args.max_fail {
            Some(m) => Some(m.parse().map_err(|e| anyhow!("--max-fail: {e}"))?),
            None => spec.max_fail,
        },
        forks,
        order: match &args.order {
            Some(o) => o.parse().map_err(|e| anyhow!("--order: {e}"))?,
            None => spec.order.unwrap_or_default(),
        },
        timeout: duration("--timeout", &args.timeout, parse_timeout)?,
    })
}

pub fn resolve_options(args: &RunPlanArgs) -> Result<ResolveOptions> {
    Ok(ResolveOptions {
        accept_new: args.accept_new,
        connect_timeout: args
            .connect_timeout
            .as_deref()
            .map(|t| parse_timeout(t).map_err(|e| anyhow!("--connect-timeout: {e}")))
            .transpose()?,
        ssh_config_path: args.ssh_config.clone(),
        ..Default::default()
    })
}

/// How the run connects (`-F`, `--accept-new`, `--connect-timeout`), kept
/// with the instance so `resume` and `rerun` reach the hosts the same way.
/// Only the options given are kept (null when none was).
fn connect_json(resolve: &ResolveOptions) -> Value {
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

fn rollout_json(rollout: &Rollout, sizes: &[usize]) -> Value {
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

/// A plan and the warnings building it raised (ssh_config, host key
/// policy), one line each. The caller shows them: the headless run on
/// stderr, the console in its status line (printing would smear its screen).
pub struct PreparedPlan {
    pub plan: Plan,
    pub warnings: Vec<String>,
    /// Where word of the run goes (config, flow, command line).
    pub notify: Vec<crate::notify::Target>,
}

/// Prints plan warnings as the headless commands show them.
pub fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("jobdeck: warning: {w}");
    }
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

pub fn journal_path(given: Option<PathBuf>) -> Result<PathBuf> {
    match given {
        Some(p) => Ok(p),
        None => Ok(journal::default_path()?),
    }
}

fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default()
}

/// Records a new instance and runs it headless.
pub fn start_and_run(
    inv: &Inventory,
    journal: Option<PathBuf>,
    spec: RunSpec,
    trigger: Trigger,
    parent: Option<InstanceId>,
    output: Output,
) -> Result<u8> {
    if spec.rollout.mode == BatchMode::Confirm && !spec.yes {
        bail!(
            "--mode confirm needs an operator: run it in the console, or pass --yes to confirm every batch"
        );
    }
    let needs_approval = spec
        .flow
        .steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::Approval { .. }));
    if needs_approval && !spec.yes {
        bail!(
            "flow '{}' has approval steps: run it in the console, or pass --yes to approve them",
            spec.flow.name
        );
    }
    let path = journal_path(journal)?;
    let prepared = prepare_instance(inv, &path, &spec, trigger, parent)?;
    print_warnings(&prepared.warnings);
    execute(&path, prepared.plan, prepared.notify, output)
}

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
    let mut journal = Journal::open(journal_path)?;
    journal.recover_interrupted()?;
    let base = std::env::current_dir()?;
    let PreparedPlan {
        mut plan,
        mut warnings,
        ..
    } = build_plan(inv, spec, 0, &base)?;
    let guarded = safety::guard(GuardInput {
        flow: &spec.flow,
        params: &spec.params,
        options: &spec.safety,
        plan: &plan,
        batches: Some(&spec.rollout.batches),
        inventory: &inv.sources,
        journal: journal_path,
        adhoc: spec.flow.path.as_os_str().is_empty(),
    })?;
    plan.gates = guarded.gates;
    warnings.extend(guarded.warnings);
    let mut target = spec.target.clone();
    if let (Some(lock), Some(map)) = (&plan.gates.lock, target.as_object_mut()) {
        map.insert("lock".into(), json!(lock.name));
    }
    let sizes: Vec<usize> = plan.batches.iter().map(Vec::len).collect();
    let secret_params: Vec<String> = spec
        .flow
        .params
        .iter()
        .filter(|p| p.secret)
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
    set_instance(&mut plan, id);
    Ok(PreparedPlan {
        plan,
        warnings,
        notify: guarded.notify,
    })
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

/// Runs a plan with the journal writer and the reporter as consumers.
pub fn execute(
    journal_path: &Path,
    plan: Plan,
    notify: Vec<crate::notify::Target>,
    output: Output,
) -> Result<u8> {
    let notify_context = crate::notify::NotifyContext::for_run(journal_path, &plan, notify);
    // One async worker: a host costs the controller about a millisecond of CPU (the
    // SSH handshake, mostly), so fan-out is bound by the hosts and the network, not
    // by this thread. A second worker only added cross-thread wake-ups and task
    // stealing: 25-30% more CPU for 1000 hosts (bench/README.md). Blocking work
    // (passphrase prompts, key decryption, the journal writer) has its own threads.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut options = ReportOptions::for_stdout(output.json, output.gather);
    options.secrets = plan.secrets.clone();
    options.done_before = (0..plan.hosts.len())
        .filter_map(|h| match plan.start.host(h) {
            HostStart::Done(status) => Some((h, status)),
            HostStart::FromStep(_) => None,
        })
        .collect();
    let interactive_terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let summary = runtime.block_on(async move {
        let (journal_sink, writer) = JournalWriter::spawn(journal_path, WriterOptions::default())?;
        options.journal_failed = Some(journal_sink.failed_token());
        let mut sink = EventSink::new();
        let (controls, control_rx) = ControlHandle::channel();
        let forward = tokio::spawn(journal::forward::forward_to_journal(
            sink.subscribe(4096),
            journal_sink,
            controls.clone(),
            None,
        ));
        let reporter = Reporter::new(Box::new(std::io::stdout()), options);
        let report = tokio::spawn(reporter.consume(sink.subscribe(1024)));
        let notifier =
            notify_context.and_then(|context| Notifier::start(context, sink.subscribe(1024)));

        tokio::spawn(abort_on_signals(controls));
        let transport = Transport::new(TransportOptions {
            passphrase_prompt: if interactive_terminal {
                Arc::new(TerminalPrompt::default())
            } else {
                Arc::new(NoPassphrase)
            },
            ..TransportOptions::default()
        });
        engine::run(plan, transport, sink, control_rx).await;
        let summary = report.await.context("the reporter stopped")?;
        let _ = forward.await;
        let stats = tokio::task::spawn_blocking(move || writer.join())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| anyhow!("the journal writer stopped unexpectedly"))?;
        if let Some(notifier) = notifier {
            for sent in notifier.finish().await {
                if let Some(error) = sent.delivery.error.filter(|_| !sent.delivery.sent) {
                    eprintln!(
                        "jobdeck: warning: notification '{}' to {} failed after {} attempt(s): {error}",
                        sent.event, sent.target, sent.delivery.attempts
                    );
                }
            }
        }
        anyhow::Ok((summary, stats))
    })?;
    let (summary, stats) = summary;
    if let Some(failure) = &stats.failure {
        report_journal_failure(journal_path, failure);
        return Ok(exit::JOURNAL);
    }
    if let Some(problem) = stats.last_problem {
        eprintln!("jobdeck: warning: journal: {problem}");
    }
    if summary.refused {
        // As bad input is: on stderr too, for logs that keep it apart.
        eprintln!(
            "jobdeck: not started: {}",
            summary.reason.as_deref().unwrap_or("refused")
        );
    }
    Ok(summary.exit_code())
}

/// A run the journal could not record ends loudly: what failed, that
/// nothing started after it, which hosts ran without their results being
/// recorded, and what the journal will say about the run.
fn report_journal_failure(journal_path: &Path, failure: &journal::WriteFailure) {
    let say = |line: String| eprintln!("jobdeck: error: {line}");
    say(format!(
        "the journal {} could not record this run: {}",
        journal_path.display(),
        failure.error
    ));
    for run in &failure.runs {
        say(format!(
            "run {}: no host was started after the failure; the run ends interrupted",
            run.instance
        ));
        if run.hosts.is_empty() {
            say(format!(
                "run {}: every result up to the failure is recorded",
                run.instance
            ));
        } else {
            say(format!(
                "run {}: these hosts ran, but their results are NOT in the journal: {}",
                run.instance,
                crate::hostlist::fold(run.hosts.iter().map(String::as_str))
            ));
        }
        if run.end_recorded {
            say(format!(
                "run {}: the journal marks it interrupted; once it can be written again, `jobdeck resume {}` runs the hosts not recorded and those not started",
                run.instance, run.instance
            ));
        } else if run.reason_recorded {
            say(format!(
                "run {}: the journal could not record the run's end; the next jobdeck to open it marks the run interrupted with this reason",
                run.instance
            ));
        } else {
            say(format!(
                "run {}: the journal could not record even why it stopped; the next jobdeck to open it marks the run interrupted",
                run.instance
            ));
        }
    }
}

/// Ctrl-C or SIGTERM aborts the run: commands are killed on their hosts and
/// the instance ends as aborted. A second one exits at once.
async fn abort_on_signals(controls: ControlHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    for round in 0.. {
        let name = tokio::select! {
            _ = int.recv() => "interrupt",
            _ = term.recv() => "terminate",
        };
        if round > 0 {
            eprintln!("jobdeck: second {name}: exiting now; the journal marks the run interrupted");
            std::process::exit(exit::INTERRUPTED as i32);
        }
        eprintln!(
            "jobdeck: {name}: aborting, stopping commands on the hosts (again to quit at once)"
        );
        controls.send(Control::Abort {
            reason: format!("{name} signal"),
        });
    }
}

/// `jobdeck check FLOW`: the flow, its atoms and params, and what the
/// guard says about its commands and scripts (the rules of the config file
/// and of the guard file beside the inventory).
pub fn check(flow: &Path, inventory: &[String]) -> Result<u8> {
    let flow = match load_flow(flow) {
        Ok(flow) => flow,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!(
                "jobdeck: {} problem(s) in {}",
                errors.0.len(),
                flow.display()
            );
            return Ok(exit::USAGE);
        }
    };
    let atoms = flow.atoms();
    println!(
        "ok: flow '{}' ({}): {} step(s), {} rollback step(s), {} atom(s), {} param(s)",
        flow.name,
        flow.path.display(),
        flow.steps.len(),
        flow.rollback.len(),
        atoms.len(),
        flow.params.len()
    );
    for atom in atoms {
        println!(
            "  atom {:<20} sha256 {}  {}",
            atom.name,
            atom.sha256,
            atom.path.display()
        );
    }
    let sources: Vec<PathBuf> = default_sources(inventory)
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect();
    let rules =
        crate::guard::RuleSources::for_inventory(crate::config::config_path(), &sources).load();
    let hits = crate::guard::check(&rules.rules, &safety::subjects::of_flow(&flow, &[]));
    let mut problems = rules.warnings.len();
    for warning in &rules.warnings {
        eprintln!("guard: {warning}");
    }
    for hit in &hits {
        let line = format!("guard: {hit}");
        if hit.action == crate::guard::Action::Block {
            problems += 1;
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    println!(
        "guard: {} rule(s) in force, {} hit(s)",
        rules.rules.rules.len(),
        hits.len()
    );
    if problems > 0 {
        eprintln!(
            "jobdeck: {problems} problem(s): a blocked command stops every run of this flow; fix the rule files named above"
        );
        return Ok(exit::USAGE);
    }
    Ok(exit::OK)
}

/// The inventory a rerun or resume runs against: `-i` when given, else the
/// sources the run itself used (not the default inventory, whose hosts of
/// the same names may be other machines).
fn past_inventory(given: &[String], journal: &Journal, id: InstanceId) -> Result<Inventory> {
    if !given.is_empty() {
        return load_inventory(given);
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
    load_inventory(&recorded)
        .with_context(|| format!("run {id}'s inventory (pass -i to use another)"))
}

/// What the journal knows about a past run, turned back into a run spec.
struct Past {
    spec: RunSpec,
    record: journal::InstanceRecord,
    detail: journal::InstanceDetail,
}

/// Rebuilds a past instance's flow from its journal snapshot (the flow file
/// and atoms exactly as they ran), its params (secret ones from `--param`)
/// and its rollout.
fn past_run(
    inv: &Inventory,
    journal: &Journal,
    id: InstanceId,
    given: &[String],
    yes: bool,
    safety: &SafetyArgs,
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
    values.extend(parse_param_args(given)?);
    for name in &record.secret_params {
        let required = flow.params.iter().any(|p| &p.name == name && p.required);
        if required && !values.iter().any(|(k, _)| k == name) {
            bail!(
                "run {id} has a secret param '{name}', which is never stored: pass --param {name}=..."
            );
        }
    }
    let params = params::resolve(&flow.params, &values).map_err(|e| anyhow!("run {id}: {e}"))?;
    let mut hosts = Vec::new();
    for name in &record.resolved_hosts {
        hosts.push(inv.host_id(name).ok_or_else(|| {
            anyhow!("run {id} ran on '{name}', which is no longer in the inventory")
        })?);
    }
    let spec = RunSpec {
        flow,
        params,
        hosts,
        rollout: rollout_from_json(&record.rollout)?,
        target: record.target.clone(),
        yes,
        resolve: connect_from_json(&record.target),
        safety: SafetyOptions::from_args(safety)?
            .or(SafetyOptions::from_json(&record.target["safety"])),
    };
    Ok(Past {
        spec,
        record,
        detail,
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
    fn includes(self, status: HostStatus) -> bool {
        let failed = status.is_failure()
            || status == HostStatus::Cancelled
            || status == HostStatus::Interrupted;
        (self.failed && failed) || (self.skipped && status == HostStatus::Skipped)
    }
}

#[allow(clippy::too_many_arguments)]
pub fn rerun(
    inventory: &[String],
    journal: Option<PathBuf>,
    id: i64,
    params: &[String],
    yes: bool,
    safety: &SafetyArgs,
    which: RerunHosts,
    output: Output,
) -> Result<u8> {
    let path = journal_path(journal)?;
    let (inv, past) = {
        let journal = Journal::open(&path)?;
        let inv = past_inventory(inventory, &journal, id)?;
        let past = past_run(&inv, &journal, id, params, yes, safety)?;
        (inv, past)
    };
    let Past {
        mut spec, detail, ..
    } = past;
    let failed: Vec<String> = detail
        .hosts
        .iter()
        .filter(|h| which.includes(h.status))
        .map(|h| h.name.clone())
        .collect();
    if failed.is_empty() {
        let what = match (which.failed, which.skipped) {
            (true, true) => "failed or skipped",
            (false, true) => "skipped",
            _ => "failed",
        };
        println!("run {id} has no {what} hosts; nothing to rerun");
        return Ok(exit::OK);
    }
    spec.hosts
        .retain(|&h| failed.iter().any(|n| n == inv.host_name(h)));
    if let Some(target) = spec.target.as_object_mut() {
        target.insert("rerun_of".into(), json!(id));
        target.insert("hosts".into(), json!(failed));
        target.insert("safety".into(), spec.safety.to_json());
    }
    start_and_run(&inv, Some(path), spec, Trigger::Rerun(id), Some(id), output)
}

pub fn resume(
    inventory: &[String],
    journal: Option<PathBuf>,
    id: i64,
    params: &[String],
    yes: bool,
    safety: &SafetyArgs,
    output: Output,
) -> Result<u8> {
    let path = journal_path(journal)?;
    let mut journal = Journal::open(&path)?;
    journal.recover_interrupted()?;
    let inv = past_inventory(inventory, &journal, id)?;
    let Past {
        spec,
        record,
        detail,
    } = past_run(&inv, &journal, id, params, yes, safety)?;
    if record.status != InstanceStatus::Interrupted {
        bail!(
            "run {id} is {}; only interrupted runs can be resumed (rerun --failed starts a new run)",
            record.status
        );
    }
    let base = std::env::current_dir()?;
    let PreparedPlan {
        mut plan,
        mut warnings,
        ..
    } = build_plan(&inv, &spec, id, &base)?;
    // A resume keeps its batches: pre-flight only leaves unready hosts out.
    let guarded = safety::guard(GuardInput {
        flow: &spec.flow,
        params: &spec.params,
        options: &spec.safety,
        plan: &plan,
        batches: None,
        inventory: &inv.sources,
        journal: &path,
        adhoc: spec.flow.path.as_os_str().is_empty(),
    })?;
    plan.gates = guarded.gates;
    warnings.extend(guarded.warnings);
    let point = journal.claim_for_resume(id)?;
    drop(journal);
    print_warnings(&warnings);
    let stored_batches: Vec<Vec<usize>> = detail.batches.iter().map(|b| b.hosts.clone()).collect();
    if !stored_batches.is_empty() {
        plan.batches = stored_batches;
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
    carry_exports(&mut plan, &detail.exports);
    if plan
        .start
        .wait_until
        .is_some_and(|until| until > crate::engine::events::now_millis())
    {
        let left = plan.start.wait_until.unwrap_or(0) - crate::engine::events::now_millis();
        eprintln!(
            "jobdeck: run {id} resumes its interval: batch {} starts in {}",
            point.next_batch + 1,
            format_duration(Duration::from_millis(left.max(0) as u64))
        );
    }
    execute(&path, plan, guarded.notify, output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adhoc_commands_are_not_substituted() {
        let typed = r#"echo ${HOME} $$ "$1" $((1+2)) $"#;
        let flow = adhoc_flow(typed);
        let StepKind::Command { command } = &flow.steps[0].kind else {
            panic!("a command step");
        };
        assert_eq!(params::substitute(command, &[]).unwrap(), typed);
        assert_eq!(flow.source, typed);
    }

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
