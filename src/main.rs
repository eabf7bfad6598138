//! The `jobdeck` binary: parse the command line, dispatch.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use jobdeck::cli::{Cli, Command};
use jobdeck::{commands, exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let journal = cli.journal.clone();
    let result = match (&cli.run, cli.command) {
        (Some(flow), None) => commands::run::headless(&cli.inventory, journal, flow, &cli.run_args),
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
        (None, Some(Command::Inventory(cmd))) => commands::inventory::run(&cli.inventory, cmd),
        (None, Some(Command::Rollout(cmd))) => commands::rollout::run(cmd),
        (None, Some(Command::Schedule(cmd))) => {
            commands::schedule::run(cmd, &cli.inventory, journal)
        }
        (None, Some(Command::Daemon { log })) => commands::run::journal_path(journal)
            .and_then(|path| jobdeck::schedule::daemon::run(path, log)),
        (None, Some(Command::Check { flow })) => commands::run::check(&flow, &cli.inventory),
        (
            None,
            Some(Command::History {
                json,
                limit,
                flow,
                status,
                since,
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
            }),
        ) => commands::history::show(journal, id, host, step, json, replay.then_some(speed)),
        (None, Some(Command::Export { id, .. })) => commands::history::export(journal, id),
        (None, Some(Command::Grep(args))) => commands::grep::run(journal, &args),
        (
            None,
            Some(Command::Rerun {
                id,
                failed,
                skipped,
                params,
                yes,
                json,
                gather,
                safety,
            }),
        ) => commands::run::rerun(
            &cli.inventory,
            journal,
            id,
            &params,
            yes,
            &safety,
            jobdeck::plan::RerunHosts { failed, skipped },
            commands::run::Output {
                json,
                gather,
                normalize: false,
                diff: false,
            },
        ),
        (
            None,
            Some(Command::Resume {
                id,
                params,
                yes,
                json,
                gather,
                safety,
            }),
        ) => commands::run::resume(
            &cli.inventory,
            journal,
            id,
            &params,
            yes,
            &safety,
            commands::run::Output {
                json,
                gather,
                normalize: false,
                diff: false,
            },
        ),
        (None, None) => jobdeck::tui::run_tui_blocking(jobdeck::tui::TuiOptions {
            inventory: cli.inventory.clone(),
            journal: cli.journal.clone(),
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
