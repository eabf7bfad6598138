//! `jobdeck history`, `show` and `export`: reading the journal.

use std::path::PathBuf;

use anyhow::{Result, bail};

pub fn history(
    journal: Option<PathBuf>,
    json: bool,
    limit: usize,
    flow: Option<String>,
    status: Option<String>,
) -> Result<u8> {
    let _ = (journal, json, limit, flow, status);
    bail!("history is being written")
}

pub fn show(
    journal: Option<PathBuf>,
    id: i64,
    host: Option<String>,
    step: Option<String>,
    json: bool,
    replay_speed: Option<f64>,
) -> Result<u8> {
    let _ = (journal, id, host, step, json, replay_speed);
    bail!("show is being written")
}

pub fn export(journal: Option<PathBuf>, id: i64) -> Result<u8> {
    let _ = (journal, id);
    bail!("export is being written")
}
