//! Running the pre-flight checks over the transport, `forks` hosts at a
//! time, keeping every connection that opened.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

use super::{Readiness, SessionPool};
use crate::transport::remote_command::shell_quote;
use crate::transport::{
    CancellationToken, ExecRequest, Exit, HostSession, OUTPUT_CHANNEL_CAPACITY, OutputChunk,
    OutputStream, Status, Target, Transport,
};

/// One host to check.
#[derive(Debug, Clone)]
pub struct HostToCheck {
    pub index: usize,
    pub target: Target,
    /// What its steps' scripts get (inventory vars, built-ins, params).
    pub env: Vec<(String, String)>,
    /// Users its steps run as (`run_as`): `sudo -n -u USER true` must pass.
    pub sudo_users: Vec<String>,
}

/// Checks every host; sessions that opened go into `pool` (ready or not:
/// under `warn` the run still uses them). Results come back in input order.
pub async fn check_hosts(
    transport: &Transport,
    hosts: Vec<HostToCheck>,
    checks: &[String],
    timeout: Duration,
    forks: usize,
    cancel: &CancellationToken,
    pool: &SessionPool,
) -> Vec<Readiness> {
    let slots = Arc::new(Semaphore::new(forks.max(1)));
    let checks: Arc<[String]> = checks.into();
    let mut tasks = tokio::task::JoinSet::new();
    let count = hosts.len();
    for (position, host) in hosts.into_iter().enumerate() {
        let transport = transport.clone();
        let slots = slots.clone();
        let checks = checks.clone();
        let cancel = cancel.clone();
        let pool = pool.clone();
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let readiness = check_one(&transport, &host, &checks, timeout, &cancel, &pool).await;
            (position, readiness)
        });
    }
    let mut results: Vec<Option<Readiness>> = vec![None; count];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((position, readiness)) = joined {
            results[position] = Some(readiness);
        }
    }
    results.into_iter().flatten().collect()
}

async fn check_one(
    transport: &Transport,
    host: &HostToCheck,
    checks: &[String],
    timeout: Duration,
    cancel: &CancellationToken,
    pool: &SessionPool,
) -> Readiness {
    let unready = |reason: String| Readiness {
        host: host.index,
        ready: false,
        reason: Some(reason),
    };
    // A connection kept for this host (the console's warm one from an
    // earlier run) is used instead of a new handshake; it may have died
    // meanwhile, so the first command that finds it gone dials once more.
    let kept = pool.take(host.index).filter(|s| !s.is_closed());
    let mut borrowed = kept.is_some();
    let mut session = match kept {
        Some(session) => session,
        None => match dial(transport, host, cancel).await {
            Ok(session) => session,
            Err(why) => return unready(why),
        },
    };
    // The users its steps run as first, then the checks.
    let commands = host
        .sudo_users
        .iter()
        .map(|user| {
            let command = format!("sudo -n -u {} -- true", shell_quote(user));
            (format!("sudo -n -u {user}:"), command, Vec::new())
        })
        .chain(
            checks
                .iter()
                .map(|check| (format!("check `{check}`"), check.clone(), host.env.clone())),
        );
    let mut problem = None;
    for (label, command, env) in commands {
        let mut result = run(&session, command.clone(), env.clone(), timeout, cancel).await;
        if std::mem::take(&mut borrowed) && matches!(result, Err(Failed { lost: true, .. })) {
            session.close().await;
            session = match dial(transport, host, cancel).await {
                Ok(session) => session,
                Err(why) => return unready(why),
            };
            result = run(&session, command, env, timeout, cancel).await;
        }
        if let Err(failed) = result {
            problem = Some(format!("{label} {}", failed.why));
            break;
        }
    }
    pool.put(host.index, session);
    match problem {
        None => Readiness {
            host: host.index,
            ready: true,
            reason: None,
        },
        Some(reason) => unready(reason),
    }
}

/// A new connection to the host, or why there is none.
async fn dial(
    transport: &Transport,
    host: &HostToCheck,
    cancel: &CancellationToken,
) -> Result<HostSession, String> {
    let session = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err("cancelled".into()),
        session = transport.connect(&host.target) => session,
    };
    session.map_err(|result| connect_failure(&result.status))
}

/// How a command failed; `lost` when the connection itself was gone.
struct Failed {
    why: String,
    lost: bool,
}

/// Why a connection did not open, on one line.
fn connect_failure(status: &Status) -> String {
    match status {
        Status::Unreachable { detail, .. } => format!("unreachable: {detail}"),
        Status::AuthFailed { detail } => format!("authentication failed: {detail}"),
        Status::HostKeyRejected { detail } => format!("host key rejected: {detail}"),
        other => other.label().to_owned(),
    }
}

/// The most kept of a check's output, to quote its first line.
const OUTPUT_KEPT: usize = 4096;

/// Runs one command; `Err` says how it failed, with its first line of
/// output (stderr first).
async fn run(
    session: &HostSession,
    command: String,
    env: Vec<(String, String)>,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), Failed> {
    let mut request = ExecRequest::command(command)
        .timeout(timeout)
        .cancel_token(cancel.child_token());
    request.env = env;
    let (tx, mut rx) = mpsc::channel::<OutputChunk>(OUTPUT_CHANNEL_CAPACITY);
    let collect = async {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(chunk) = rx.recv().await {
            let buffer = match chunk.stream {
                OutputStream::Stdout => &mut out,
                OutputStream::Stderr => &mut err,
            };
            let room = OUTPUT_KEPT.saturating_sub(buffer.len());
            buffer.extend_from_slice(&chunk.data[..chunk.data.len().min(room)]);
        }
        (out, err)
    };
    let exec = async {
        let result = session.exec(&request, &tx).await;
        drop(tx);
        result
    };
    let (result, (out, err)) = tokio::join!(exec, collect);
    let said = first_line(&err).or_else(|| first_line(&out));
    let with_output = |what: String| match &said {
        Some(line) => format!("{what}: {line}"),
        None => what,
    };
    let failed = |why: String| Failed { why, lost: false };
    match (&result.status, &result.exit) {
        (Status::Ok, _) => Ok(()),
        (Status::TimedOut, _) => Err(failed(format!("timed out after {}s", timeout.as_secs()))),
        (Status::Failed { .. }, Some(Exit::Code(code))) => {
            Err(failed(with_output(format!("failed (exit {code})"))))
        }
        (Status::Failed { .. }, Some(Exit::Signal { name, .. })) => {
            Err(failed(with_output(format!("failed (killed by {name})"))))
        }
        (Status::Failed { detail }, None) => Err(failed(with_output(format!(
            "failed{}",
            detail
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )))),
        (Status::Unreachable { detail, .. }, _) => Err(Failed {
            why: format!("lost the connection: {detail}"),
            lost: true,
        }),
        (other, _) => Err(failed(other.label().to_owned())),
    }
}

/// The first non-empty line, cleaned for one-line display.
fn first_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(crate::report::sanitize::one_line)
}
