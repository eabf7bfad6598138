//! jobdeck: a terminal operations console.

mod cli;
mod commands;
// The engine and journal are built ahead of the commands that drive them.
#[allow(dead_code)]
mod engine;
mod hostlist;
mod inventory;
#[allow(dead_code)]
mod journal;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};

/// Exit codes, documented in the README.
pub mod exit {
    /// Everything asked for was done.
    pub const OK: u8 = 0;
    /// A run finished with failures, or an internal error.
    pub const FAILED: u8 = 1;
    /// Bad usage or bad input (inventory, pattern, flow); nothing was run.
    pub const USAGE: u8 = 2;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "jobdeck", &mut std::io::stdout());
            Ok(exit::OK)
        }
        Some(Command::Inventory(cmd)) => commands::inventory::run(&cli.inventory, cmd),
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
