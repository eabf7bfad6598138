//! A shell on one inventory host, for `jobdeck ssh` and the console's `s`
//! alike: the host picked from a pattern, its target resolved as runs
//! resolve it (`transport::resolve`), the audit row written before
//! connecting and completed at the end, the session carried by
//! `transport::shell` over the run transport's own dialer.
//!
//! [`run_session`] blocks its thread for the whole session (it builds a
//! runtime of its own): the CLI calls it on its main thread, the console
//! on a thread it starts while its screen is suspended.

mod keep;
pub mod local_tty;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::engine::scrub::Scrubber;
use crate::inventory::connection::is_secret_var;
use crate::inventory::select::Selection;
use crate::inventory::{HostId, Inventory};
use crate::journal::Journal;
use crate::journal::shell_sessions::{SessionEnd, SessionStart};
use crate::transport::shell::{PtySize, ShellEnd, ShellInput, ShellRequest};
use crate::transport::{
    Connection, Exit, HostSession, OutputStream, ResolveOptions, Target, TerminalPrompt, Transport,
    TransportOptions, resolve_target,
};

pub use keep::KeptOutput;

/// The exit status when the host could not be reached or the session broke
/// off without one, as ssh gives.
pub const CONNECTION_FAILED: u8 = 255;

/// Whether to ask the host for a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TtyChoice {
    /// A login shell gets one when stdin is a terminal; a command when both
    /// stdin and stdout are (so `jobdeck ssh h -- cmd | less` stays clean).
    #[default]
    Auto,
    /// `-t`: always (when stdin is a terminal, raw mode too).
    Force,
    /// `-T`: never.
    Never,
}

/// Everything one session needs, resolved before the screen is given up.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// The inventory name.
    pub host: String,
    pub target: Target,
    /// The host's secret variables: masked in the audit row and kept output.
    pub secrets: Vec<String>,
    pub command: Option<String>,
    pub tty: TtyChoice,
    pub journal: PathBuf,
    /// `[ssh] keep_output`: the cap in bytes of what is kept, `None`: nothing.
    pub keep_output: Option<u64>,
}

/// The one host `pattern` names. No match, or more than one, is an error
/// that says so (listing the matches).
pub fn pick_host(inv: &Inventory, pattern: &str, base: &Path) -> Result<HostId> {
    let selection = Selection {
        pattern: Some(pattern.to_string()),
        ..Default::default()
    };
    let hosts = selection
        .resolve(inv, base)
        .map_err(|e| anyhow!("no host to open a session on: {e}"))?;
    match hosts.as_slice() {
        [one] => Ok(*one),
        many => {
            const SHOWN: usize = 20;
            let mut names: Vec<&str> = many.iter().take(SHOWN).map(|&h| inv.host_name(h)).collect();
            if many.len() > SHOWN {
                names.push("...");
            }
            bail!(
                "pattern '{pattern}' matches {} hosts ({}); a session opens on one host: name it",
                many.len(),
                names.join(", ")
            )
        }
    }
}

/// The session for inventory host `host`: its target resolved as a run
/// resolves it, and its secrets. The warnings go to the caller.
pub fn prepare(
    inv: &Inventory,
    host: HostId,
    resolve: &ResolveOptions,
    command: Option<String>,
    tty: TtyChoice,
    journal: PathBuf,
    keep_output: Option<u64>,
) -> Result<(SessionSpec, Vec<String>)> {
    let name = inv.host_name(host);
    let ssh_config = resolve
        .load_ssh_config()
        .map_err(|e| anyhow!("ssh_config: {e}"))?;
    let resolved =
        resolve_target(name, &inv.hostvars[host], &ssh_config, resolve).map_err(|e| anyhow!(e))?;
    if resolved.target.connection == Connection::Local {
        bail!(
            "host '{name}' is reached with ansible_connection=local: there is no SSH session to open"
        );
    }
    let secrets = inv.hostvars[host]
        .iter()
        .filter(|(key, _)| is_secret_var(key))
        .filter_map(|(_, value)| match value {
            Value::String(text) => Some(text.clone()),
            _ => None,
        })
        .collect();
    Ok((
        SessionSpec {
            host: name.to_string(),
            target: resolved.target,
            secrets,
            command,
            tty,
            journal,
            keep_output,
        },
        resolved.warnings,
    ))
}

/// How a session went, for the caller's exit status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOutcome {
    /// The remote exit status (0-255), or 255 without one.
    pub status: u8,
    /// Why there was no exit status (unreachable, lost, a signal).
    pub problem: Option<String>,
    /// The audit row's id.
    pub audit_id: i64,
}

/// Opens the session and runs it to its end on this thread, the terminal
/// given to the host meanwhile. The audit row is written first: if the
/// journal cannot take it, nothing connects.
pub fn run_session(spec: SessionSpec) -> Result<SessionOutcome> {
    let journal = Journal::open(&spec.journal)?;
    let scrubber = Scrubber::new(&spec.secrets);
    let target = &spec.target;
    let audit_id = journal
        .start_shell_session(&SessionStart {
            os_user: crate::transport::current_user(),
            host: spec.host.clone(),
            remote_user: target.user.clone(),
            address: target.address.clone(),
            port: target.port,
            command: spec.command.as_deref().map(|c| scrubber.mask_text(c)),
        })
        .context("recording the session in the journal")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the session's runtime")?;
    let mut kept = spec
        .keep_output
        .map(|cap| KeptOutput::new(&spec.secrets, cap));
    let (end, output_bytes) = runtime.block_on(connect_and_interact(&spec, kept.as_mut()));
    let mut record = SessionEnd {
        output: kept.map(KeptOutput::finish),
        output_bytes,
        ..Default::default()
    };
    let outcome = match end {
        ShellEnd::Exited(Exit::Code(code)) => {
            record.exit_code = Some(code);
            SessionOutcome {
                status: (code & 0xff) as u8,
                problem: None,
                audit_id,
            }
        }
        ShellEnd::Exited(Exit::Signal { name, .. }) => {
            let problem = format!("the remote command was killed by signal {name}");
            record.exit_signal = Some(name);
            SessionOutcome {
                status: CONNECTION_FAILED,
                problem: Some(problem),
                audit_id,
            }
        }
        ShellEnd::Closed(why) => {
            let why = scrubber.mask_text(&why);
            record.error = Some(why.clone());
            SessionOutcome {
                status: CONNECTION_FAILED,
                problem: Some(why),
                audit_id,
            }
        }
    };
    journal
        .end_shell_session(audit_id, &record)
        .context("recording the session's end in the journal")?;
    Ok(outcome)
}

/// Connects with the run transport, then carries the session; the bytes
/// the host printed in all.
async fn connect_and_interact(
    spec: &SessionSpec,
    mut kept: Option<&mut KeptOutput>,
) -> (ShellEnd, u64) {
    let transport = Transport::new(TransportOptions {
        passphrase_prompt: Arc::new(TerminalPrompt::default()),
        ..TransportOptions::default()
    });
    let session = match transport.connect(&spec.target).await {
        Ok(HostSession::Ssh(session)) => session,
        Ok(other) => {
            other.close().await;
            return (ShellEnd::Closed("not an SSH host".into()), 0);
        }
        Err(result) => {
            let why = match result.status {
                crate::transport::Status::Unreachable { detail, .. }
                | crate::transport::Status::AuthFailed { detail }
                | crate::transport::Status::HostKeyRejected { detail } => detail,
                other => other.label().to_string(),
            };
            return (ShellEnd::Closed(why), 0);
        }
    };
    let stdin_tty = local_tty::stdin_is_tty();
    let wants_pty = match spec.tty {
        TtyChoice::Never => false,
        TtyChoice::Force => true,
        TtyChoice::Auto if spec.command.is_none() => stdin_tty,
        TtyChoice::Auto => stdin_tty && local_tty::stdout_is_tty(),
    };
    let pty = wants_pty.then(|| {
        let (cols, rows) = local_tty::window_size();
        PtySize {
            term: std::env::var("TERM")
                .ok()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "xterm".into()),
            cols,
            rows,
        }
    });
    let request = ShellRequest {
        command: spec.command.clone(),
        pty,
    };
    let (input_tx, input_rx) = mpsc::channel::<ShellInput>(64);
    // Raw mode only where a pty echoes and edits for us.
    let raw = if wants_pty && stdin_tty {
        local_tty::RawMode::enter().ok()
    } else {
        None
    };
    let keyboard = local_tty::KeyboardPump::start(input_tx.clone());
    let signals = tokio::spawn(local_tty::forward_signals(input_tx));
    let mut printed = 0u64;
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut show = |stream: OutputStream, data: &[u8]| {
        printed += data.len() as u64;
        // A closed stdout (the reader went away) does not end the session.
        let _ = match stream {
            OutputStream::Stdout => stdout.write_all(data).and_then(|()| stdout.flush()),
            OutputStream::Stderr => stderr.write_all(data).and_then(|()| stderr.flush()),
        };
        if let Some(kept) = kept.as_deref_mut() {
            kept.push(data);
        }
    };
    let end = session.interact(&request, input_rx, &mut show).await;
    signals.abort();
    drop(keyboard);
    drop(raw);
    session.close().await;
    (end, printed)
}
