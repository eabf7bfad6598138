//! The `jobdeck` binary: parse the command line, dispatch.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use jobdeck::cli::{self, Cli, Command};
use jobdeck::{commands, exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "jobdeck",
                &mut std::io::stdout(),
            );
            Ok(exit::OK)
        }
        Some(Command::Inventory(cmd)) => commands::inventory::run(&cli.inventory, cmd),
        Some(Command::Rollout(cmd)) => commands::rollout::run(cmd),
        Some(Command::Schedule(cmd)) => commands::schedule::run(cmd),
        // The console arrives with the TUI; until then the main job is the inventory tree.
        None => commands::inventory::run(
            &cli.inventory,
            cli::InventoryCommand::List {
                json: false,
                export: false,
            },
        ),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("jobdeck: error: {err:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}
