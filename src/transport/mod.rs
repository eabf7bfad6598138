//! Running commands on hosts: over SSH (russh) or as a local process.
//!
//! The engine sees one API whatever the connection is:
//!
//! ```text
//! let transport = Transport::new(TransportOptions::default());   // once per run
//! let (tx, mut rx) = tokio::sync::mpsc::channel(OUTPUT_CHANNEL_CAPACITY);
//! let result = transport.run(&target, &request, &tx).await;       // one host
//! // or: let session = transport.connect(&target).await?; session.exec(..).await; session.close().await
//! // or: fanout::run_all(&transport, targets, request, forks, events_tx).await
//! ```
//!
//! * [`Target`] says where and how to connect (built by the inventory layer; later
//!   ssh_config / ProxyJump / ProxyCommand fill the same struct).
//! * [`ExecRequest`] says what to run: a command string, or a script with a shebang and
//!   an argument list; env vars; a command timeout; a cancellation token.
//! * Output streams as [`OutputChunk`]s (stdout / stderr kept apart, raw bytes, a
//!   timestamp each) over a bounded `tokio::sync::mpsc` channel. When the consumer is
//!   slow the transport stops reading, SSH flow control stops the host: memory per host
//!   stays bounded and buffering policy belongs to the consumer.
//! * Every run ends in an [`ExecResult`]: a [`Status`], the exit code or signal, the
//!   duration. Connection problems are results too, never panics.
//!
//! Timeout and cancel guarantee: when the command timeout fires or the token is
//! cancelled, every process of the command is killed on the host — its process group
//! and session, and every process carrying the step's environment mark, even one that
//! called `setsid` or forked twice — TERM, then KILL after [`ExecRequest::kill_grace`];
//! the result comes back once they are gone. See `remote_command.rs`.
//!
//! Secrets guarantee: nothing of the request but a fixed bootstrap is on a command
//! line; the environment, the command and the script's arguments go over stdin.

pub mod fanout;
pub mod heard;
pub mod known_hosts;
pub mod local;
pub mod manners;
pub mod proxy;
mod redial;
pub mod remote_command;
pub mod resolve;
pub mod sftp;
pub mod shell;
pub mod ssh;
pub mod ssh_config;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::mpsc;
pub use tokio_util::sync::CancellationToken;

pub use known_hosts::KnownHosts;
pub use manners::{IoClass, Manners};
pub use resolve::{ResolveOptions, ResolvedTarget, resolve_target};
pub use sftp::{UploadError, UploadOptions, UploadReport};
pub use ssh::{NoPassphrase, PassphrasePrompt, TerminalPrompt};
pub use ssh_config::SshConfig;

/// Default per-host connect timeout (TCP connect + SSH handshake), as OpenSSH users expect.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time between TERM and KILL when a command is stopped.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);
/// A sensible capacity for one host's output channel: with chunks of at most 32 KiB
/// (the SSH packet size) this bounds buffered output to about 2 MiB per host.
pub const OUTPUT_CHANNEL_CAPACITY: usize = 64;

/// A secret string (password, passphrase). It never prints: Debug and Display show `***`.
/// Its memory is zeroed when it is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value; call only where it is handed to the protocol.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How a target is reached (`ansible_connection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connection {
    #[default]
    Ssh,
    Local,
}

/// What to do with a host key that no known_hosts file knows (StrictHostKeyChecking).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostKeyPolicy {
    /// Unknown keys are rejected with a message that says how to trust them.
    #[default]
    Strict,
    /// Unknown keys are recorded in the first user known_hosts file; changed keys are
    /// still rejected.
    AcceptNew,
}

/// How the SSH connection to a target is carried.
#[derive(Debug, Clone, Default)]
pub enum Proxy {
    /// A TCP connection to `address:port`.
    #[default]
    Direct,
    /// ProxyJump: through each hop in turn (first = the one reached directly), each a
    /// full target of its own (user, keys, known_hosts). Hop connections are shared by
    /// every target of a run that goes through them.
    Jump(Vec<Target>),
    /// ProxyCommand, already `%`-expanded: run by `/bin/sh -c`, SSH over its stdio.
    Command(String),
}

/// One host to run on, with everything needed to reach it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The inventory name, used in events and messages.
    pub name: String,
    /// What to connect to (`ansible_host`, else the name).
    pub address: String,
    pub port: u16,
    pub user: String,
    /// Explicit private keys (`ansible_ssh_private_key_file`, IdentityFile), tried after
    /// the agent and before the default keys.
    pub identity_files: Vec<PathBuf>,
    /// Like OpenSSH IdentitiesOnly: skip agent keys not named by `identity_files` and
    /// skip the default keys.
    pub identities_only: bool,
    pub password: Option<Secret>,
    /// User known_hosts files (UserKnownHostsFile). The first one receives new keys
    /// under [`HostKeyPolicy::AcceptNew`].
    pub user_known_hosts: Vec<PathBuf>,
    /// System known_hosts files (GlobalKnownHostsFile); read, never written.
    pub global_known_hosts: Vec<PathBuf>,
    pub host_key_policy: HostKeyPolicy,
    pub connect_timeout: Duration,
    pub connection: Connection,
    pub proxy: Proxy,
}

impl Target {
    /// A target with OpenSSH's defaults: port 22, the current user, ~/.ssh/known_hosts
    /// and /etc/ssh/ssh_known_hosts, strict host keys, a 10 s connect timeout.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        Target {
            address: name.clone(),
            name,
            port: 22,
            user: current_user(),
            identity_files: Vec::new(),
            identities_only: false,
            password: None,
            user_known_hosts: home_dir()
                .map(|home| vec![home.join(".ssh/known_hosts")])
                .unwrap_or_default(),
            global_known_hosts: vec![PathBuf::from("/etc/ssh/ssh_known_hosts")],
            host_key_policy: HostKeyPolicy::Strict,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            connection: Connection::Ssh,
            proxy: Proxy::Direct,
        }
    }

    /// A target run as a local process (`ansible_connection=local`).
    pub fn local(name: impl Into<String>) -> Self {
        Target {
            connection: Connection::Local,
            ..Target::new(name)
        }
    }
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A shell command line, run by `/bin/sh -c` on the host.
    Command(String),
    /// A script: its shebang line chooses the interpreter (`/bin/sh` without one). The
    /// body is sent over the channel (the interpreter reads it from its stdin), so no
    /// file is written on the host; `args` become `$1 $2 ...`, each quoted. They are
    /// the interpreter's arguments, which `ps` shows: pass secrets in `env`.
    Script { body: String, args: Vec<String> },
}

/// A request to run one payload on one host.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    pub payload: Payload,
    /// Environment for the command. Sent over the channel's stdin as `export` lines
    /// (every value quoted), because sshd's AcceptEnv refuses most `env` requests
    /// and a command line is readable by every user of the host.
    pub env: Vec<(String, String)>,
    /// The command timeout; `None` waits forever (cancel still works).
    pub timeout: Option<Duration>,
    pub cancel: CancellationToken,
    pub kill_grace: Duration,
    /// Run as this user through `sudo -n -u USER` (no password prompt: the
    /// host's sudoers must allow it). The kill on timeout goes through sudo too.
    pub run_as: Option<String>,
    /// nice / ionice for everything the command starts.
    pub manners: Manners,
}

/// A request that cannot be run as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error(
        "invalid environment variable name {0:?}: expected letters, digits and '_', not starting with a digit"
    )]
    BadEnvName(String),
    #[error("the script's shebang line {0:?} names no interpreter")]
    BadShebang(String),
    #[error("{0} contains a NUL byte, which no command or environment can hold")]
    NulByte(String),
}

impl ExecRequest {
    pub fn command(command: impl Into<String>) -> Self {
        Self::with_payload(Payload::Command(command.into()))
    }

    pub fn script(body: impl Into<String>, args: Vec<String>) -> Self {
        Self::with_payload(Payload::Script {
            body: body.into(),
            args,
        })
    }

    fn with_payload(payload: Payload) -> Self {
        ExecRequest {
            payload,
            env: Vec::new(),
            timeout: None,
            cancel: CancellationToken::new(),
            kill_grace: DEFAULT_KILL_GRACE,
            run_as: None,
            manners: Manners::default(),
        }
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn cancel_token(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// Checks what can be checked before connecting.
    pub fn validate(&self) -> Result<(), RequestError> {
        for (name, value) in &self.env {
            if !remote_command::is_valid_env_name(name) {
                return Err(RequestError::BadEnvName(name.clone()));
            }
            if value.contains('\0') {
                return Err(RequestError::NulByte(format!("the value of {name}")));
            }
        }
        match &self.payload {
            Payload::Command(command) if command.contains('\0') => {
                return Err(RequestError::NulByte("the command".into()));
            }
            Payload::Command(_) => {}
            Payload::Script { body, args } => {
                remote_command::Interpreter::from_script(body)?;
                if args.iter().any(|arg| arg.contains('\0')) {
                    return Err(RequestError::NulByte("a script argument".into()));
                }
            }
        }
        Ok(())
    }
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// A piece of output as it arrived. Bytes are exact; decode lossily only for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    pub stream: OutputStream,
    pub at: SystemTime,
    pub data: Bytes,
}

/// The sending side a run writes its output to. Use a bounded channel.
pub type OutputSender = mpsc::Sender<OutputChunk>;

/// How a command ended on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Code(u32),
    /// The signal name without `SIG` (`KILL`, `TERM`, ...).
    Signal {
        name: String,
        core_dumped: bool,
    },
}

/// Why a host could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnreachableReason {
    Refused,
    Timeout,
    Dns,
    Other,
}

/// The outcome of one run on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Exit code 0.
    Ok,
    /// A non-zero exit code, a signal, or a request that could not be run.
    Failed {
        detail: Option<String>,
    },
    TimedOut,
    Unreachable {
        reason: UnreachableReason,
        detail: String,
    },
    AuthFailed {
        detail: String,
    },
    HostKeyRejected {
        detail: String,
    },
    Cancelled,
}

impl Status {
    pub fn is_ok(&self) -> bool {
        matches!(self, Status::Ok)
    }

    /// A short lowercase label for reporters and journals.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed { .. } => "failed",
            Status::TimedOut => "timed out",
            Status::Unreachable { .. } => "unreachable",
            Status::AuthFailed { .. } => "auth failed",
            Status::HostKeyRejected { .. } => "host key rejected",
            Status::Cancelled => "cancelled",
        }
    }
}

/// The result of one run on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    pub status: Status,
    /// `None` when the command never ran or its end was not reported.
    pub exit: Option<Exit>,
    pub started_at: SystemTime,
    pub duration: Duration,
}

impl ExecResult {
    /// A result for a run that ended before the command started (unreachable, auth...).
    pub fn not_started(status: Status, started_at: SystemTime) -> Self {
        ExecResult {
            status,
            exit: None,
            started_at,
            duration: started_at.elapsed().unwrap_or_default(),
        }
    }

    /// Ok for exit 0, Failed for anything else.
    pub(crate) fn from_exit(exit: Option<Exit>, started_at: SystemTime) -> Self {
        let status = match &exit {
            Some(Exit::Code(0)) => Status::Ok,
            Some(_) => Status::Failed { detail: None },
            None => Status::Failed {
                detail: Some("the host reported no exit status".into()),
            },
        };
        ExecResult {
            status,
            exit,
            started_at,
            duration: started_at.elapsed().unwrap_or_default(),
        }
    }
}

/// Settings shared by every connection of a run.
#[derive(Clone)]
pub struct TransportOptions {
    /// Parsed known_hosts files, shared so each file is read once per run.
    pub known_hosts: Arc<KnownHosts>,
    /// Asked once per encrypted key file for its passphrase.
    pub passphrase_prompt: Arc<dyn PassphrasePrompt>,
    /// The ssh-agent socket; defaults to `SSH_AUTH_SOCK`.
    pub agent_socket: Option<PathBuf>,
    /// Keys tried after the explicit ones unless the target says IdentitiesOnly.
    pub default_identity_files: Vec<PathBuf>,
}

impl Default for TransportOptions {
    fn default() -> Self {
        let default_identity_files = home_dir()
            .map(|home| {
                ["id_ed25519", "id_ecdsa", "id_rsa"]
                    .iter()
                    .map(|name| home.join(".ssh").join(name))
                    .collect()
            })
            .unwrap_or_default();
        TransportOptions {
            known_hosts: Arc::new(KnownHosts::new()),
            passphrase_prompt: Arc::new(NoPassphrase),
            agent_socket: std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from),
            default_identity_files,
        }
    }
}

/// The entry point: connects to targets and runs requests, SSH or local alike.
/// Cheap to clone; clones share the known_hosts cache and the passphrase cache.
#[derive(Clone)]
pub struct Transport {
    ssh: Arc<ssh::SshContext>,
    jumps: Arc<proxy::JumpCache>,
}

/// An open connection to one host, able to run several requests.
pub enum HostSession {
    Ssh(ssh::SshSession),
    Local(local::LocalSession),
}

impl Transport {
    pub fn new(options: TransportOptions) -> Self {
        Transport {
            ssh: Arc::new(ssh::SshContext::new(options)),
            jumps: Arc::new(proxy::JumpCache::new()),
        }
    }

    /// How many jump-host connections this run opened (shared between targets).
    pub fn jump_connections_opened(&self) -> usize {
        self.jumps.connections_opened()
    }

    /// Opens a session; on failure the `Err` holds the finished result (Unreachable,
    /// AuthFailed, HostKeyRejected) to report as is.
    pub async fn connect(&self, target: &Target) -> Result<HostSession, ExecResult> {
        match target.connection {
            Connection::Local => Ok(HostSession::Local(local::LocalSession::new())),
            Connection::Ssh => match &target.proxy {
                Proxy::Direct => ssh::SshSession::connect(self.ssh.clone(), target).await,
                Proxy::Jump(hops) => {
                    proxy::connect_through_jumps(&self.ssh, &self.jumps, hops, target).await
                }
                Proxy::Command(command) => {
                    proxy::connect_through_command(&self.ssh, command, target).await
                }
            }
            .map(HostSession::Ssh),
        }
    }

    /// Connects, runs one request, closes. The connect time counts in the duration.
    pub async fn run(
        &self,
        target: &Target,
        request: &ExecRequest,
        output: &OutputSender,
    ) -> ExecResult {
        let started_at = SystemTime::now();
        if let Err(err) = request.validate() {
            return ExecResult::not_started(
                Status::Failed {
                    detail: Some(err.to_string()),
                },
                started_at,
            );
        }
        let session = tokio::select! {
            biased;
            _ = request.cancel.cancelled() => {
                return ExecResult::not_started(Status::Cancelled, started_at);
            }
            session = self.connect(target) => session,
        };
        let session = match session {
            Ok(session) => session,
            Err(result) => return result,
        };
        let mut result = session.exec(request, output).await;
        session.close().await;
        result.started_at = started_at;
        result.duration = started_at.elapsed().unwrap_or_default();
        result
    }
}

impl HostSession {
    pub async fn exec(&self, request: &ExecRequest, output: &OutputSender) -> ExecResult {
        if let Err(err) = request.validate() {
            return ExecResult::not_started(
                Status::Failed {
                    detail: Some(err.to_string()),
                },
                SystemTime::now(),
            );
        }
        match self {
            HostSession::Ssh(session) => session.exec(request, output).await,
            HostSession::Local(session) => session.exec(request, output).await,
        }
    }

    pub async fn close(self) {
        if let HostSession::Ssh(session) = self {
            session.close().await;
        }
    }

    /// True once an SSH connection is known to be gone (a local one never is).
    pub fn is_closed(&self) -> bool {
        match self {
            HostSession::Ssh(session) => session.is_closed(),
            HostSession::Local(_) => false,
        }
    }

    /// Uploads a file or a directory tree to `remote`, atomically per file; see
    /// [`sftp`] for the exact semantics. A bare mode (`Some(0o644)`, `None` to
    /// keep the local permission bits) is enough when parents need not be created.
    pub async fn upload(
        &self,
        local: &std::path::Path,
        remote: &str,
        options: impl Into<UploadOptions>,
    ) -> Result<UploadReport, UploadError> {
        let options = options.into();
        match self {
            HostSession::Ssh(session) => sftp::upload_ssh(session, local, remote, options).await,
            HostSession::Local(_) => sftp::upload_local(local, remote, options).await,
        }
    }
}

pub(crate) fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
}

pub(crate) fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "***");
        let mut target = Target::new("web1");
        target.password = Some(secret);
        assert!(!format!("{target:?}").contains("hunter2"));
    }

    #[test]
    fn bad_env_names_are_refused_before_running() {
        let request = ExecRequest::command("true").env("1BAD", "x");
        assert_eq!(
            request.validate(),
            Err(RequestError::BadEnvName("1BAD".into()))
        );
        assert!(
            ExecRequest::command("true")
                .env("GOOD_1", "x")
                .validate()
                .is_ok()
        );
        assert!(matches!(
            ExecRequest::command("true").env("A", "x\0y").validate(),
            Err(RequestError::NulByte(what)) if what == "the value of A"
        ));
    }
}
