//! `jobdeck --run`, `check`, `rerun` and `resume`: building a plan from an
//! inventory, a flow and the command line, and running it headless.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::cli::RunArgs;

pub fn headless(
    inventory: &[String],
    journal: Option<PathBuf>,
    flow: &str,
    args: &RunArgs,
) -> Result<u8> {
    let _ = (inventory, journal, flow, args);
    bail!("--run is being written")
}

pub fn check(flow: &Path) -> Result<u8> {
    let _ = flow;
    bail!("check is being written")
}

pub fn rerun(
    inventory: &[String],
    journal: Option<PathBuf>,
    id: i64,
    params: &[String],
    yes: bool,
    json: bool,
    gather: bool,
) -> Result<u8> {
    let _ = (inventory, journal, id, params, yes, json, gather);
    bail!("rerun is being written")
}

pub fn resume(
    inventory: &[String],
    journal: Option<PathBuf>,
    id: i64,
    params: &[String],
    yes: bool,
    json: bool,
    gather: bool,
) -> Result<u8> {
    let _ = (inventory, journal, id, params, yes, json, gather);
    bail!("resume is being written")
}
