//! The console's `s`: a shell on one host, run by the same code as
//! `jobdeck ssh` (`crate::shell`) on a thread of its own while the console
//! has given the terminal back. Everything slow (ssh_config, the journal,
//! the connection) happens on that thread.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{RunConfig, config_path};
use crate::inventory::Inventory;
use crate::journal::output_cap::DEFAULT_OUTPUT_CAP;
use crate::shell::{self, SessionOutcome, TtyChoice};
use crate::transport::ResolveOptions;

/// What the App asks for: a login shell on `host`.
#[derive(Debug, Clone)]
pub struct ShellRequest {
    pub host: String,
    pub inventory: Arc<Inventory>,
    /// `None`: the default journal.
    pub journal: Option<PathBuf>,
}

/// How the session went, for the status line.
pub type ShellResult = Result<SessionOutcome, String>;

/// Runs the session to its end on a new thread; the answer comes on the
/// returned channel.
pub fn spawn(request: ShellRequest) -> tokio::sync::oneshot::Receiver<ShellResult> {
    let (answer, result) = tokio::sync::oneshot::channel();
    let run = move || {
        let _ = answer.send(run(request).map_err(|e| format!("{e:#}")));
    };
    if let Err(e) = std::thread::Builder::new()
        .name("jobdeck-shell".into())
        .spawn(run)
    {
        // The sender went with the closure: the receiver reads the error as closed.
        eprintln!("jobdeck: cannot start the session thread: {e}");
    }
    result
}

fn run(request: ShellRequest) -> anyhow::Result<SessionOutcome> {
    let journal = match request.journal {
        Some(path) => path,
        None => crate::journal::default_path()?,
    };
    let host = request
        .inventory
        .host_id(&request.host)
        .ok_or_else(|| anyhow::anyhow!("host '{}' is no longer in the inventory", request.host))?;
    let config = RunConfig::load(config_path());
    let keep = config.ssh_keep_output.then_some(DEFAULT_OUTPUT_CAP);
    let (spec, warnings) = shell::prepare(
        &request.inventory,
        host,
        &ResolveOptions::default(),
        None,
        TtyChoice::Auto,
        journal,
        keep,
    )?;
    // The terminal is the session's now: say it there, before it starts.
    for warning in config.warnings.iter().chain(&warnings) {
        eprintln!("jobdeck: warning: {warning}");
    }
    shell::run_session(spec)
}
