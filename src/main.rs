//! The `jobdeck` binary: parse the command line, dispatch.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use jobdeck::cli::{Cli, Command};
use jobdeck::plan::RerunHosts;
use jobdeck::report::gather::GatherOptions;
use jobdeck::{commands, exit};

// Wide runs allocate and free a session's buffers per host in flight;
// mimalloc returns that memory where glibc's arenas keep it (peak RSS at
// 10,000 hosts, forks 1000: 208 MB against 265 MB).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Wide runs hold a socket or pipes per host; each run checks what it
    // needs against the limit before connecting (plan::check_open_files).
    let _ = jobdeck::open_files::raise_to_hard();
    let cli = Cli::parse();
    let journal = cli.journal_path();
    let inventory = cli.inventory_sources();
    let result = match (&cli.run, cli.command) {
        (Some(flow), None) => commands::run::headless(&inventory, journal, flow, &cli.run_args),
        (Some(_), Some(_)) => Err(anyhow::anyhow!(
            "--run takes a flow (or -c CMD), not a subcommand"
        )),
        (None, Some(Command::Completions { shell })) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "jobdeck",
                &mut std::io::stdout(),
            );
            Ok(exit::OK)
        }
        (None, Some(Command::Inventory(cmd))) => commands::inventory::run(&inventory, cmd),
        (None, Some(Command::Rollout(cmd))) => commands::rollout::run(cmd),
        (None, Some(Command::Schedule(cmd))) => commands::schedule::run(cmd, &inventory, journal),
        (None, Some(Command::Daemon { log, .. })) => commands::run::journal_path(journal)
            .and_then(|path| jobdeck::schedule::daemon::run(path, log)),
        (None, Some(Command::Check { flow, .. })) => commands::run::check(&flow, &inventory),
        (
            None,
            Some(Command::History {
                json,
                limit,
                flow,
                status,
                since,
                ..
            }),
        ) => commands::history::history(journal, json, limit, flow, status, since),
        (None, Some(Command::Journal(cmd))) => commands::journal::run(cmd, journal),
        (
            None,
            Some(Command::Show {
                id,
                host,
                step,
                json,
                replay,
                speed,
                gather,
                ..
            }),
        ) => commands::history::show(
            journal,
            id,
            host,
            step,
            json,
            replay.then_some(speed),
            gather.gather.then(|| {
                // The journal keeps no addresses: hosts are known by their names.
                GatherOptions::new(Vec::new(), gather.normalize, gather.diff)
            }),
        ),
        (None, Some(Command::Export { id, .. })) => commands::history::export(journal, id),
        (None, Some(Command::Grep(args))) => commands::grep::run(journal, &args),
        (None, Some(Command::Ssh(args))) => commands::ssh::run(&inventory, journal, &args),
        (
            None,
            Some(Command::Rerun {
                id,
                failed,
                skipped,
                params,
                yes,
                again,
                output,
                safety,
                ..
            }),
        ) => {
            if !failed && !skipped {
                which_hosts_to_rerun().exit();
            }
            commands::run::rerun(
                &inventory,
                journal,
                id,
                &params,
                yes,
                &safety,
                &again,
                RerunHosts { failed, skipped },
                output,
            )
        }
        (
            None,
            Some(Command::Resume {
                id,
                params,
                yes,
                again,
                output,
                safety,
                ..
            }),
        ) => commands::run::resume(
            &inventory, journal, id, &params, yes, &safety, &again, output,
        ),
        (None, None) => jobdeck::tui::run_tui_blocking(jobdeck::tui::TuiOptions {
            inventory,
            journal,
            theme: cli.theme.clone(),
            ..Default::default()
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("jobdeck: error: {err:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

/// `rerun` without --failed or --skipped: a usage error that says what each
/// one reruns (clap's own would name only one of them).
fn which_hosts_to_rerun() -> clap::Error {
    let mut command = Cli::command();
    // Built, the subcommand's usage line reads `jobdeck rerun`.
    command.build();
    let rerun = command
        .find_subcommand_mut("rerun")
        .expect("rerun is a subcommand");
    rerun.error(
        clap::error::ErrorKind::MissingRequiredArgument,
        "say which hosts to run again:\n  \
         --failed   the hosts that failed (timed out, unreachable, cancelled...)\n  \
         --skipped  the hosts that never ran to the end (skipped, or not reached after max-fail or an abort)\n  \
         or both",
    )
}
