//! `jobdeck --run`, `check`, `rerun` and `resume`: the command line turned
//! into run options for the planning layer (`crate::plan`), the plan
//! recorded in the journal and run headless with the reporter watching.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};

use crate::cli::{AgainArgs, RunArgs, RunPlanArgs, SafetyArgs};
use crate::engine::events::InstanceId;
use crate::engine::{self, Control, ControlHandle, EventSink, HostStart, Plan};
use crate::exit;
use crate::flow::{Flow, load_flow, params};
use crate::inventory::select::Selection;
use crate::inventory::{Inventory, default_sources};
use crate::journal::{self, JournalWriter, Trigger, WriterOptions};
use crate::notify::Notifier;
use crate::plan::{
    self, AgainOptions, AgainRequest, ConnectOptions, Rerun, RerunHosts, Resume, Resumed, Rollout,
    RolloutOptions, RunSpec,
};
use crate::report::gather::GatherOptions;
use crate::report::{ReportOptions, Reporter};
use crate::safety::{self, SafetyOptions};
use crate::transport::resolve::ResolveOptions;
use crate::transport::{NoPassphrase, TerminalPrompt, Transport, TransportOptions};

/// What the reporter prints (`--json`, `--gather`).
pub use crate::cli::OutputArgs as Output;

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
        (_, Some(command)) => plan::adhoc_flow(command),
        (path, None) => load_flow(Path::new(path)).map_err(|errors| anyhow!("{errors}"))?,
    };
    let inv = super::inventory::load(inventory)?;
    let given = parse_param_args(&args.plan.params)?;
    let params = params::resolve(&flow.params, &given).map_err(|e| {
        // An ad-hoc command has no file to point at.
        if flow.path.as_os_str().is_empty() {
            anyhow!("-c: {e}")
        } else {
            anyhow!("{}: {e}", flow.path.display())
        }
    })?;
    let selection = plan::selection_for(&flow, selection_of(&args.plan));
    let base = std::env::current_dir()?;
    let selected = selection.resolve(&inv, &base)?;
    let rollout = rollout_from(&args.plan, &flow)?;
    let hosts = plan::in_run_order(&inv, &selected, rollout.order);
    let resolve = resolve_options(&args.plan)?;
    let safety = SafetyOptions::from_args(&args.plan.safety)?;
    let target = plan::record::selected_target(
        &flow,
        args.command_line.as_deref(),
        &selection,
        &inv,
        &resolve,
        &safety,
    );
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
    let output = args.output;
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

/// `--limit`, `--project`, `--cluster`, `--app`, `--hosts`.
pub fn selection_of(args: &RunPlanArgs) -> Selection {
    Selection {
        pattern: args.limit.clone(),
        project: args.filter.project.clone(),
        cluster: args.filter.cluster.clone(),
        app: args.filter.app.clone(),
        hosts: args.filter.hosts.clone(),
    }
}

/// The rollout flags as the planning layer takes them.
pub fn rollout_options(args: &RunPlanArgs) -> RolloutOptions {
    RolloutOptions {
        batches: args.batches.clone(),
        interval: args.interval.clone(),
        mode: args.mode.clone(),
        max_fail: args.max_fail.clone(),
        forks: args.forks.map(|n| n.to_string()),
        order: args.order.clone(),
        timeout: args.timeout.clone(),
    }
}

/// The flags' rollout over the flow's; the first problem, named by its flag.
pub fn rollout_from(args: &RunPlanArgs, flow: &Flow) -> Result<Rollout> {
    plan::rollout(&rollout_options(args), &flow.rollout)
        .map_err(|problems| anyhow!("{}", problems[0].on_command_line()))
}

/// `--connect-timeout`, `--accept-new`, `-F`.
pub fn connect_options(args: &RunPlanArgs) -> ConnectOptions {
    ConnectOptions {
        connect_timeout: args.connect_timeout.clone(),
        accept_new: args.accept_new,
        ssh_config: args.ssh_config.clone(),
    }
}

/// What `rerun` and `resume` change of the run they repeat: `--limit`,
/// `--timeout` and the connection flags.
pub fn again_options(args: &AgainArgs) -> AgainOptions {
    AgainOptions {
        limit: args.limit.clone(),
        timeout: args.timeout.clone(),
        connect: ConnectOptions {
            connect_timeout: args.connect_timeout.clone(),
            accept_new: args.accept_new,
            ssh_config: args.ssh_config.clone(),
        },
    }
}

pub fn resolve_options(args: &RunPlanArgs) -> Result<ResolveOptions> {
    plan::resolve_options(&connect_options(args)).map_err(|e| anyhow!("{}", e.on_command_line()))
}

/// Prints plan warnings as the headless commands show them.
pub fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("jobdeck: warning: {w}");
    }
}

pub fn journal_path(given: Option<PathBuf>) -> Result<PathBuf> {
    match given {
        Some(p) => Ok(p),
        None => Ok(journal::default_path()?),
    }
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
    plan::require_answers(&spec)?;
    let path = journal_path(journal)?;
    let prepared = plan::prepare_instance(inv, &path, &spec, trigger, parent)?;
    print_warnings(&prepared.warnings);
    execute(&path, prepared.plan, prepared.notify, output)
}

/// Runs a plan with the journal writer and the reporter as consumers, and
/// the notifier when the run has targets to tell.
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
    let mut options = ReportOptions::for_stdout(output.json, output.gather.gather);
    options.gather = GatherOptions::new(
        crate::report::gather::host_terms(&plan),
        output.gather.normalize,
        output.gather.diff,
    );
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
    let mut out = String::new();
    writeln!(
        out,
        "ok: flow '{}' ({}): {} step(s), {} rollback step(s), {} atom(s), {} param(s)",
        flow.name,
        flow.path.display(),
        flow.steps.len(),
        flow.rollback.len(),
        atoms.len(),
        flow.params.len()
    )?;
    for atom in atoms {
        writeln!(
            out,
            "  atom {:<20} sha256 {}  {}",
            atom.name,
            atom.sha256,
            atom.path.display()
        )?;
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
            writeln!(out, "{line}")?;
        }
    }
    writeln!(
        out,
        "guard: {} rule(s) in force, {} hit(s)",
        rules.rules.rules.len(),
        hits.len()
    )?;
    let code = super::stdout::write(out)?;
    if problems > 0 {
        eprintln!(
            "jobdeck: {problems} problem(s): a blocked command stops every run of this flow; fix the rule files named above"
        );
        return Ok(exit::USAGE);
    }
    Ok(code)
}

#[allow(clippy::too_many_arguments)]
pub fn rerun(
    inventory: &[String],
    journal: Option<PathBuf>,
    id: i64,
    params: &[String],
    yes: bool,
    safety: &SafetyArgs,
    again: &AgainArgs,
    which: RerunHosts,
    output: Output,
) -> Result<u8> {
    let path = journal_path(journal)?;
    let given = parse_param_args(params)?;
    let inv = {
        let journal = journal::Journal::open(&path)?;
        super::inventory::warned(plan::past_inventory(inventory, &journal, id)?)
    };
    let request = AgainRequest {
        id,
        params: &given,
        yes,
        safety: SafetyOptions::from_args(safety)?,
        again: &again_options(again),
        operator: false,
        keep_warm: 0,
    };
    match plan::again::rerun(&inv, &path, request, which)? {
        Rerun::Nothing(why) => super::stdout::write(format!("{why}\n")),
        Rerun::NeedsSecrets(missing) => Err(missing.into()),
        Rerun::Ready(prepared) => {
            print_warnings(&prepared.warnings);
            execute(&path, prepared.plan, prepared.notify, output)
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn resume(
    inventory: &[String],
    journal: Option<PathBuf>,
    id: i64,
    params: &[String],
    yes: bool,
    safety: &SafetyArgs,
    again: &AgainArgs,
    output: Output,
) -> Result<u8> {
    let path = journal_path(journal)?;
    let given = parse_param_args(params)?;
    let inv = {
        let journal = journal::open_recovered(&path)?;
        super::inventory::warned(plan::past_inventory(inventory, &journal, id)?)
    };
    let request = AgainRequest {
        id,
        params: &given,
        yes,
        safety: SafetyOptions::from_args(safety)?,
        again: &again_options(again),
        operator: false,
        keep_warm: 0,
    };
    let Resumed { prepared, waiting } = match plan::again::resume(&inv, &path, request)? {
        Resume::Ready(resumed) => *resumed,
        Resume::NeedsSecrets(missing) => return Err(missing.into()),
    };
    print_warnings(&prepared.warnings);
    if let Some(waiting) = waiting {
        eprintln!("jobdeck: {waiting}");
    }
    execute(&path, prepared.plan, prepared.notify, output)
}
