//! Reaching a host through another: ProxyJump and ProxyCommand.
//!
//! * ProxyJump: connect to the first hop (a full target: its own user, keys and
//!   known_hosts check), open a `direct-tcpip` channel from it to the next hop or the
//!   target, and run that host's SSH handshake inside the channel. Hop connections live
//!   in a per-run [`JumpCache`]: targets behind the same hops share one connection, and
//!   concurrent targets wait for the one connect in progress instead of opening their
//!   own. A hop that cannot be reached makes every target behind it Unreachable, with a
//!   reason that names the hop.
//! * ProxyCommand: `/bin/sh -c 'exec COMMAND'` with piped stdin/stdout; SSH runs over
//!   the child's stdio. The child is killed when the session ends; its stderr is kept
//!   (the last few KiB) to explain a failed connect.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use russh::ChannelOpenFailure;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use super::ssh::{SshContext, SshSession};
use super::{ExecResult, Status, Target, UnreachableReason};

/// How much of a ProxyCommand's stderr is kept for messages.
const PROXY_STDERR_LIMIT: usize = 4096;

/// One hop of a ProxyJump list as written: `[ssh://][user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpSpec {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// Parses a ProxyJump value (`a,user@b:2222,[::1]:22`).
pub fn parse_jump_list(value: &str) -> Result<Vec<JumpSpec>, String> {
    let hops: Vec<&str> = value.split(',').map(str::trim).collect();
    if hops.iter().any(|hop| hop.is_empty()) {
        return Err(format!("ProxyJump '{value}' has an empty hop"));
    }
    hops.into_iter().map(parse_jump_hop).collect()
}

fn parse_jump_hop(hop: &str) -> Result<JumpSpec, String> {
    let text = hop.strip_prefix("ssh://").unwrap_or(hop);
    let (user, rest) = match text.rsplit_once('@') {
        Some((user, rest)) if !user.is_empty() => (Some(user.to_string()), rest),
        Some(_) => return Err(format!("ProxyJump hop '{hop}' has an empty user")),
        None => (None, text),
    };
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| format!("ProxyJump hop '{hop}': missing ']'"))?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(format!("ProxyJump hop '{hop}': unexpected '{after}'")),
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(format!("ProxyJump hop '{hop}' has no host"));
    }
    let port = match port {
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("ProxyJump hop '{hop}': '{port}' is not a port number"))?,
        ),
        None => None,
    };
    Ok(JumpSpec {
        user,
        host: host.to_string(),
        port,
    })
}

enum HopState {
    Empty,
    Connected(Arc<SshSession>),
    /// The hop's own failure result; kept for the run so dependents fail fast alike.
    Failed(ExecResult),
}

type HopSlot = Arc<tokio::sync::Mutex<HopState>>;

/// The jump connections of one run, keyed by the chain of hops that leads to them.
#[derive(Default)]
pub struct JumpCache {
    slots: Mutex<HashMap<String, HopSlot>>,
    opened: AtomicUsize,
}

impl JumpCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many hop connections this run opened (each shared by its targets).
    pub fn connections_opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    fn slot(&self, key: &str) -> HopSlot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .entry(key.to_string())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(HopState::Empty)))
            .clone()
    }
}

fn hop_key(hop: &Target) -> String {
    format!("{}@{}:{}", hop.user, hop.address, hop.port)
}

fn hop_label(hop: &Target) -> String {
    if hop.name == hop.address {
        format!("{}@{}:{}", hop.user, hop.address, hop.port)
    } else {
        format!("{} ({}@{}:{})", hop.name, hop.user, hop.address, hop.port)
    }
}

/// Connects to `target` through `hops`, reusing the run's hop connections.
pub async fn connect_through_jumps(
    ctx: &Arc<SshContext>,
    cache: &JumpCache,
    hops: &[Target],
    target: &Target,
) -> Result<SshSession, ExecResult> {
    let started_at = SystemTime::now();
    let mut via: Option<(Arc<SshSession>, &Target)> = None;
    let mut chain = String::new();
    for hop in hops {
        if !chain.is_empty() {
            chain.push_str(" > ");
        }
        chain.push_str(&hop_key(hop));
        let slot = cache.slot(&chain);
        // Held while connecting, so concurrent targets wait for this one connect.
        let mut state = slot.lock().await;
        let reusable = match &*state {
            HopState::Connected(session) if !session.is_closed() => Some(session.clone()),
            HopState::Failed(result) => return Err(jump_failure(hop, result, started_at)),
            _ => None,
        };
        let session = match reusable {
            Some(session) => session,
            None => match connect_hop(ctx, via.as_ref(), hop).await {
                Ok(session) => {
                    cache.opened.fetch_add(1, Ordering::Relaxed);
                    let session = Arc::new(session);
                    *state = HopState::Connected(session.clone());
                    session
                }
                Err(result) => {
                    let failure = jump_failure(hop, &result, started_at);
                    *state = HopState::Failed(result);
                    return Err(failure);
                }
            },
        };
        via = Some((session, hop));
    }
    match via {
        Some((jump, last_hop)) => connect_via(ctx, &jump, target, last_hop).await,
        None => SshSession::connect(ctx.clone(), target).await,
    }
}

async fn connect_hop(
    ctx: &Arc<SshContext>,
    via: Option<&(Arc<SshSession>, &Target)>,
    hop: &Target,
) -> Result<SshSession, ExecResult> {
    match via {
        None => SshSession::connect(ctx.clone(), hop).await,
        Some((previous, previous_hop)) => connect_via(ctx, previous, hop, previous_hop).await,
    }
}

/// A direct-tcpip channel from `jump` to `target`, then `target`'s handshake in it.
async fn connect_via(
    ctx: &Arc<SshContext>,
    jump: &Arc<SshSession>,
    target: &Target,
    jump_host: &Target,
) -> Result<SshSession, ExecResult> {
    let started_at = SystemTime::now();
    let deadline = Instant::now() + target.connect_timeout;
    let through = format!(" through jump host {}", hop_label(jump_host));
    let open = jump.handle().channel_open_direct_tcpip(
        target.address.clone(),
        u32::from(target.port),
        "127.0.0.1",
        0,
    );
    let channel = match tokio::time::timeout_at(deadline, open).await {
        Err(_) => {
            return Err(unreachable(
                UnreachableReason::Timeout,
                format!(
                    "no connection to {}:{}{through} within {:?}",
                    target.address, target.port, target.connect_timeout
                ),
                started_at,
            ));
        }
        Ok(Err(russh::Error::ChannelOpenFailure(failure))) => {
            let why = match failure {
                ChannelOpenFailure::AdministrativelyProhibited => {
                    "the jump host does not allow TCP forwarding (AllowTcpForwarding)".to_string()
                }
                ChannelOpenFailure::ConnectFailed => {
                    "the jump host could not connect (refused, unreachable or unknown name from there)"
                        .to_string()
                }
                other => format!("{other:?}"),
            };
            return Err(unreachable(
                UnreachableReason::Other,
                format!(
                    "cannot open a channel to {}:{}{through}: {why}",
                    target.address, target.port
                ),
                started_at,
            ));
        }
        Ok(Err(err)) => {
            return Err(unreachable(
                UnreachableReason::Other,
                format!(
                    "cannot open a channel to {}:{}{through}: {err}",
                    target.address, target.port
                ),
                started_at,
            ));
        }
        Ok(Ok(channel)) => channel,
    };
    let session = SshSession::connect_over(
        ctx.clone(),
        target,
        channel.into_stream(),
        deadline,
        started_at,
    )
    .await?;
    // The channel lives in the jump connection: keep that alive as long as this session.
    Ok(session.with_carrier(Box::new(jump.clone())))
}

/// A dependent target's result when a hop failed: Unreachable, naming the hop.
fn jump_failure(hop: &Target, hop_result: &ExecResult, started_at: SystemTime) -> ExecResult {
    let (reason, what) = match &hop_result.status {
        Status::Unreachable { reason, detail } => (*reason, detail.clone()),
        Status::AuthFailed { detail } => (
            UnreachableReason::Other,
            format!("authentication failed: {detail}"),
        ),
        Status::HostKeyRejected { detail } => (
            UnreachableReason::Other,
            format!("host key rejected: {detail}"),
        ),
        other => (UnreachableReason::Other, other.label().to_string()),
    };
    unreachable(
        reason,
        format!("jump host {} failed: {what}", hop_label(hop)),
        started_at,
    )
}

fn unreachable(reason: UnreachableReason, detail: String, started_at: SystemTime) -> ExecResult {
    ExecResult::not_started(Status::Unreachable { reason, detail }, started_at)
}

/// Kills the ProxyCommand when the session that uses it goes away.
struct ProxyChild {
    child: tokio::process::Child,
}

impl Drop for ProxyChild {
    fn drop(&mut self) {
        // kill_on_drop would do it too; being explicit keeps the intent visible.
        let _ = self.child.start_kill();
    }
}

/// Runs `command` (already `%`-expanded) and connects to `target` over its stdio.
pub async fn connect_through_command(
    ctx: &Arc<SshContext>,
    command: &str,
    target: &Target,
) -> Result<SshSession, ExecResult> {
    let started_at = SystemTime::now();
    let deadline = Instant::now() + target.connect_timeout;
    // `exec` as ssh does: the shell is replaced, so killing the child kills the command.
    let spawned = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("exec {command}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => {
            return Err(unreachable(
                UnreachableReason::Other,
                format!("cannot start ProxyCommand `{command}`: {err}"),
                started_at,
            ));
        }
    };
    let (Some(stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(unreachable(
            UnreachableReason::Other,
            format!("ProxyCommand `{command}` started without pipes"),
            started_at,
        ));
    };
    let said: Arc<Mutex<Vec<u8>>> = Arc::default();
    let said_writer = said.clone();
    let stderr_task = tokio::spawn(async move {
        let mut buffer = [0u8; 1024];
        while let Ok(n) = stderr.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            let mut kept = said_writer.lock().unwrap_or_else(|e| e.into_inner());
            kept.extend_from_slice(&buffer[..n]);
            let excess = kept.len().saturating_sub(PROXY_STDERR_LIMIT);
            kept.drain(..excess);
        }
    });
    let stream = tokio::io::join(stdout, stdin);
    match SshSession::connect_over(ctx.clone(), target, stream, deadline, started_at).await {
        Ok(session) => Ok(session.with_carrier(Box::new(ProxyChild { child }))),
        Err(mut result) => {
            // Give the command a moment to finish saying why it failed.
            let _ = child.start_kill();
            let _ = tokio::time::timeout(std::time::Duration::from_millis(300), stderr_task).await;
            let said = said.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let said = String::from_utf8_lossy(&said).trim().to_string();
            if let Status::Unreachable { detail, .. } = &mut result.status {
                detail.push_str(&format!(" (via ProxyCommand `{command}`"));
                if !said.is_empty() {
                    detail.push_str(&format!("; it said: {said}"));
                }
                detail.push(')');
            }
            Err(result)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(user: Option<&str>, host: &str, port: Option<u16>) -> JumpSpec {
        JumpSpec {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
        }
    }

    #[test]
    fn jump_lists() {
        assert_eq!(
            parse_jump_list("bastion").unwrap(),
            vec![hop(None, "bastion", None)]
        );
        assert_eq!(
            parse_jump_list("ops@a:2222, ssh://b ,[::1]:22,me@[fe80::1]").unwrap(),
            vec![
                hop(Some("ops"), "a", Some(2222)),
                hop(None, "b", None),
                hop(None, "::1", Some(22)),
                hop(Some("me"), "fe80::1", None),
            ]
        );
        assert_eq!(
            parse_jump_list("a@b@host").unwrap(),
            vec![hop(Some("a@b"), "host", None)]
        );
        for bad in ["", "a,,b", "host:http", "@host", "host:0", "[::1", "user@"] {
            assert!(parse_jump_list(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
