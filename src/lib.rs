//! jobdeck: a terminal operations console. The binary (`src/main.rs`) only
//! parses the command line; everything else lives here so integration tests
//! and benchmarks can use it directly.

pub mod cli;
pub mod commands;
pub mod duration;
pub mod engine;
pub mod hostlist;
pub mod inventory;
pub mod journal;
pub mod rollout;
pub mod schedule;
pub mod transport;
pub mod tui;

/// Exit codes, documented in the README.
pub mod exit {
    /// Everything asked for was done.
    pub const OK: u8 = 0;
    /// A run finished with failures, or an internal error.
    pub const FAILED: u8 = 1;
    /// Bad usage or bad input (inventory, pattern, flow); nothing was run.
    pub const USAGE: u8 = 2;
}
