//! jobdeck: a terminal operations console. The binary (`src/main.rs`) only
//! parses the command line; everything else lives here so integration tests
//! and benchmarks can use it directly.

pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod duration;
pub mod engine;
pub mod escapes;
pub mod flow;
pub mod guard;
pub mod hostlist;
pub mod input_file;
pub mod inventory;
pub mod journal;
pub mod locks;
pub mod notify;
pub mod open_files;
pub mod paths;
pub mod plan;
pub mod preflight;
pub mod report;
pub mod rollout;
pub mod safety;
pub mod schedule;
pub mod shell;
pub mod transport;
pub mod tui;
pub mod when;

/// Exit codes, documented in the README.
pub mod exit {
    /// Everything asked for was done.
    pub const OK: u8 = 0;
    /// A run finished with failures, or an internal error.
    pub const FAILED: u8 = 1;
    /// Bad usage or bad input (inventory, pattern, flow); nothing was run.
    pub const USAGE: u8 = 2;
    /// A run was aborted: `--max-fail` exceeded, or an operator aborted it.
    pub const ABORTED: u8 = 3;
    /// A run stopped before its end and can be resumed (`jobdeck resume ID`):
    /// paused after a failure in a headless run, or interrupted.
    pub const INTERRUPTED: u8 = 4;
    /// The journal could not record the run: no host started after the
    /// failure, and those named on stderr ran without their results being
    /// recorded.
    pub const JOURNAL: u8 = 5;
}
