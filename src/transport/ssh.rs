//! The SSH side of the transport, on russh.
//!
//! Connect = resolve + TCP connect + SSH handshake under the target's connect
//! timeout: the connect and the server's first word within it, then no
//! silence as long as it during the handshake (`heard.rs`); the host key is checked against the run's [`KnownHosts`] during the
//! handshake. A direct connection broken off (reset, closed) before login is dialled
//! again a few times (`redial.rs`). Authentication tries the agent, the explicit keys, the default keys and
//! the password, in that order. Each exec opens a channel, runs the wrapper from
//! `remote_command.rs`, and streams output until the channel closes.
//!
//! Extension point for ProxyCommand / ProxyJump: [`SshSession::connect_over`] takes any
//! byte stream, so a jump channel (`channel_open_direct_tcpip(..).into_stream()`) or a
//! child process's stdio can carry the connection.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use ring::signature::Ed25519KeyPair;
use russh::client::{self, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, ChannelReadHalf, Disconnect, Sig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::heard;
use super::known_hosts::{HostKeyCheck, KnownHosts, lookup_name};
use super::redial;
use super::remote_command::{self, MarkerScanner};
use super::{
    ExecRequest, ExecResult, Exit, HostKeyPolicy, OutputChunk, OutputSender, OutputStream, Secret,
    Status, Target, TransportOptions, UnreachableReason,
};

/// Asks for the passphrase of an encrypted private key. Called at most three times per
/// key file per run (more only after wrong answers), never concurrently for one file.
/// It may block (it runs on a blocking thread): a terminal prompt is fine.
pub trait PassphrasePrompt: Send + Sync {
    /// `attempt` starts at 1. `None` skips the key.
    fn passphrase(&self, key_file: &Path, attempt: u32) -> Option<Secret>;
}

/// For runs that must not ask: encrypted keys are skipped.
pub struct NoPassphrase;

impl PassphrasePrompt for NoPassphrase {
    fn passphrase(&self, _key_file: &Path, _attempt: u32) -> Option<Secret> {
        None
    }
}

/// Asks on the controlling terminal (`/dev/tty`) with echo off, for headless runs.
/// Without a terminal (CI, cron) it answers `None` and the key is skipped.
#[derive(Default)]
pub struct TerminalPrompt {
    /// Two keys asked at once would garble the terminal.
    asking: Mutex<()>,
}

impl PassphrasePrompt for TerminalPrompt {
    fn passphrase(&self, key_file: &Path, attempt: u32) -> Option<Secret> {
        use std::io::{BufRead, Write};
        use std::os::fd::AsRawFd;
        let _turn = self.asking.lock().unwrap_or_else(|e| e.into_inner());
        let mut tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let prompt = if attempt == 1 {
            format!("Enter passphrase for key '{}': ", key_file.display())
        } else {
            format!("Wrong passphrase; again for key '{}': ", key_file.display())
        };
        tty.write_all(prompt.as_bytes()).ok()?;
        let fd = tty.as_raw_fd();
        // SAFETY: termios is plain data; tcgetattr fills it for an fd we own.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return None;
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: sets attributes on our own tty fd from a value tcgetattr produced.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
        let mut line = String::new();
        let read = std::io::BufReader::new(&tty).read_line(&mut line);
        // SAFETY: restores the attributes saved above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
        let _ = tty.write_all(b"\n");
        read.ok()?;
        let passphrase = line.trim_end_matches(['\n', '\r']);
        (!passphrase.is_empty()).then(|| Secret::new(passphrase))
    }
}

const PASSPHRASE_ATTEMPTS: u32 = 3;
/// How long a kill channel may take before we give up waiting for it.
const KILL_CHANNEL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the last output may take to arrive once every marked process was
/// killed: the channel closes as soon as they are gone.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(1);

type KeySlot = Arc<OnceCell<Option<LoadedKey>>>;

/// A decrypted private key, with what signing with it needs prepared once per run.
#[derive(Clone)]
struct LoadedKey {
    key: Arc<PrivateKey>,
    /// For Ed25519 keys: ring's key pair. ssh-key's signer re-derives the public
    /// point from the seed for every signature (a scalar multiplication per host);
    /// ring's pair keeps it, and its arithmetic is faster.
    ed25519: Option<Arc<Ed25519KeyPair>>,
}

impl LoadedKey {
    fn new(key: PrivateKey) -> Self {
        let ed25519 = key.key_data().ed25519().and_then(|pair| {
            Ed25519KeyPair::from_seed_and_public_key(&pair.private.to_bytes(), &pair.public.0)
                .ok()
                .map(Arc::new)
        });
        LoadedKey {
            key: Arc::new(key),
            ed25519,
        }
    }
}

/// Signs the user authentication request with a prepared Ed25519 key pair.
struct Ed25519Signer(Arc<Ed25519KeyPair>);

/// russh asks the signer's error type to absorb its channel errors.
#[derive(Debug)]
struct SignError;

impl From<russh::SendError> for SignError {
    fn from(_: russh::SendError) -> Self {
        SignError
    }
}

impl russh::Signer for Ed25519Signer {
    type Error = SignError;

    fn auth_sign(
        &mut self,
        _key: &AgentIdentity,
        _hash_alg: Option<HashAlg>,
        to_sign: Vec<u8>,
    ) -> impl Future<Output = Result<Vec<u8>, Self::Error>> + Send {
        let signed = ed25519_append_signature(&self.0, to_sign);
        std::future::ready(Ok(signed))
    }
}

const ED25519_NAME: &[u8] = b"ssh-ed25519";

/// Signs all of `data` and appends the SSH signature blob (RFC 8709):
/// string(string("ssh-ed25519") || string(64-byte signature)).
fn ed25519_append_signature(pair: &Ed25519KeyPair, mut data: Vec<u8>) -> Vec<u8> {
    let signature = pair.sign(&data);
    let signature = signature.as_ref();
    let blob_len = 4 + ED25519_NAME.len() + 4 + signature.len();
    data.reserve(4 + blob_len);
    data.extend_from_slice(&(blob_len as u32).to_be_bytes());
    data.extend_from_slice(&(ED25519_NAME.len() as u32).to_be_bytes());
    data.extend_from_slice(ED25519_NAME);
    data.extend_from_slice(&(signature.len() as u32).to_be_bytes());
    data.extend_from_slice(signature);
    data
}

/// What all SSH connections of a run share.
pub struct SshContext {
    options: TransportOptions,
    config: Arc<client::Config>,
    /// Decrypted keys by file, loaded (and prompted for) once per run.
    keys: Mutex<HashMap<PathBuf, KeySlot>>,
}

impl SshContext {
    pub fn new(options: TransportOptions) -> Self {
        let config = client::Config {
            // Commands may be silent for hours; keepalives find dead peers instead.
            inactivity_timeout: None,
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 4,
            nodelay: true,
            ..Default::default()
        };
        SshContext {
            options,
            config: Arc::new(config),
            keys: Mutex::new(HashMap::new()),
        }
    }

    pub fn known_hosts(&self) -> &Arc<KnownHosts> {
        &self.options.known_hosts
    }

    /// The decrypted key in `path`, or `None` if it is missing, unreadable, or its
    /// passphrase was not given.
    async fn load_key(&self, path: &Path) -> Option<LoadedKey> {
        let slot = {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.entry(path.to_path_buf()).or_default().clone()
        };
        slot.get_or_init(|| self.read_key(path.to_path_buf()))
            .await
            .clone()
    }

    async fn read_key(&self, path: PathBuf) -> Option<LoadedKey> {
        let text = tokio::fs::read_to_string(&path).await.ok()?;
        match russh::keys::decode_secret_key(&text, None) {
            Ok(key) => return Some(LoadedKey::new(key)),
            Err(russh::keys::Error::KeyIsEncrypted) => {}
            Err(_) => return None,
        }
        for attempt in 1..=PASSPHRASE_ATTEMPTS {
            let prompt = self.options.passphrase_prompt.clone();
            let prompt_path = path.clone();
            let passphrase =
                tokio::task::spawn_blocking(move || prompt.passphrase(&prompt_path, attempt))
                    .await
                    .ok()??;
            let text = text.clone();
            // Decryption runs bcrypt rounds: keep it off the async workers.
            let decoded = tokio::task::spawn_blocking(move || {
                russh::keys::decode_secret_key(&text, Some(passphrase.expose()))
            })
            .await
            .ok()?;
            if let Ok(key) = decoded {
                return Some(LoadedKey::new(key));
            }
        }
        None
    }
}

/// Checks the server's key in the handshake and remembers why it refused one.
struct HostKeyVerifier {
    known_hosts: Arc<KnownHosts>,
    host: String,
    port: u16,
    policy: HostKeyPolicy,
    user_files: Vec<PathBuf>,
    files: Vec<PathBuf>,
    rejection: Arc<Mutex<Option<String>>>,
}

impl HostKeyVerifier {
    fn verdict(&self, key: &PublicKey) -> Result<(), String> {
        let name = lookup_name(&self.host, self.port);
        let fingerprint = format!("{} {}", key.algorithm(), key.fingerprint(HashAlg::Sha256));
        match self
            .known_hosts
            .check(&self.files, &self.host, self.port, key)
        {
            HostKeyCheck::Trusted { .. } => Ok(()),
            HostKeyCheck::Revoked { file, line } => Err(format!(
                "the host key of {name} ({fingerprint}) is marked @revoked in {}:{line}; refusing to connect",
                file.display()
            )),
            HostKeyCheck::Changed {
                file,
                line,
                known_algorithm,
            } => Err(format!(
                "HOST KEY CHANGED for {name}: it now offers {fingerprint}, but {}:{line} holds a different \
                 {known_algorithm} key. Someone may be intercepting the connection, or the host was \
                 reinstalled. If the change is expected, remove the old key with \
                 `ssh-keygen -R '{name}' -f {}` and connect again",
                file.display(),
                file.display()
            )),
            HostKeyCheck::Unverifiable { file, line, reason } => {
                let place = match line {
                    Some(line) => format!("{}:{line}", file.display()),
                    None => file.display().to_string(),
                };
                Err(format!(
                    "cannot verify the host key of {name} ({fingerprint}): {place}: {reason}. \
                     Refusing to connect whatever the host key policy: fix or remove it first"
                ))
            }
            HostKeyCheck::Unknown => match (self.policy, self.user_files.first()) {
                (HostKeyPolicy::AcceptNew, Some(file)) => self
                    .known_hosts
                    .append(file, &self.host, self.port, key)
                    .map_err(|err| {
                        format!(
                            "cannot record the new host key of {name} in {}: {err}",
                            file.display()
                        )
                    }),
                // UserKnownHostsFile=/dev/null (or none) with accept-new: as with ssh, the
                // new key is accepted and remembered nowhere. Keys that a global file
                // knows are still checked above.
                (HostKeyPolicy::AcceptNew, None) => Ok(()),
                _ => {
                    let searched = self
                        .files
                        .iter()
                        .map(|file| file.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    let keyscan_port = if self.port == 22 {
                        String::new()
                    } else {
                        format!("-p {} ", self.port)
                    };
                    Err(format!(
                        "the host key of {name} ({fingerprint}) is not in any known_hosts file ({searched}). \
                         To trust it, check the fingerprint, then run \
                         `ssh-keyscan {keyscan_port}{} >> ~/.ssh/known_hosts`, or run again with --accept-new",
                        self.host
                    ))
                }
            },
        }
    }
}

impl client::Handler for HostKeyVerifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // Host certificates are not verified against @cert-authority yet: the key inside
        // the certificate must be known like a plain key.
        let key = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(cert) => PublicKey::from(cert.public_key().clone()),
        };
        match self.verdict(&key) {
            Ok(()) => Ok(true),
            Err(reason) => {
                *self.rejection.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
                Ok(false)
            }
        }
    }
}

/// Whatever carries a session's bytes and must live exactly as long as it: the jump
/// session a direct-tcpip channel runs in, or a ProxyCommand child (killed on drop).
pub type Carrier = Box<dyn std::any::Any + Send + Sync>;

/// An authenticated SSH connection to one host.
pub struct SshSession {
    handle: Handle<HostKeyVerifier>,
    /// Dropped after `handle` (fields drop in order), so the carrier outlives the session.
    carrier: Option<Carrier>,
}

fn unreachable(reason: UnreachableReason, detail: String, started_at: SystemTime) -> ExecResult {
    ExecResult::not_started(Status::Unreachable { reason, detail }, started_at)
}

impl SshSession {
    /// Resolves, connects over TCP and authenticates, each attempt within the connect
    /// timeout. A connection broken off (reset, closed) before login is dialled again
    /// (`redial.rs`); the last attempt's failure is the result.
    pub async fn connect(ctx: Arc<SshContext>, target: &Target) -> Result<SshSession, ExecResult> {
        let started_at = SystemTime::now();
        let (mut retry, mut silent_redialled) = (0, false);
        loop {
            let failure = match Self::dial(ctx.clone(), target, started_at).await {
                Ok(session) => return Ok(session),
                Err(failure) => failure,
            };
            let again = match failure.redial {
                Redial::No => false,
                Redial::BrokenOff => retry < redial::RETRIES,
                Redial::NeverSpoke => !std::mem::replace(&mut silent_redialled, true),
            };
            if !again {
                return Err(failure.result.after_attempts(retry + 1));
            }
            retry += 1;
            tokio::time::sleep(redial::wait_before(retry)).await;
        }
    }

    /// One attempt of [`SshSession::connect`].
    async fn dial(
        ctx: Arc<SshContext>,
        target: &Target,
        started_at: SystemTime,
    ) -> Result<SshSession, DialFailure> {
        let deadline = Instant::now() + target.connect_timeout;
        let stream = open_tcp(target, deadline, started_at).await?;
        Self::handshake(ctx, target, stream, deadline, started_at).await
    }

    /// The SSH handshake and authentication over an already open byte stream.
    pub async fn connect_over<S>(
        ctx: Arc<SshContext>,
        target: &Target,
        stream: S,
        deadline: Instant,
        started_at: SystemTime,
    ) -> Result<SshSession, ExecResult>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        Self::handshake(ctx, target, stream, deadline, started_at)
            .await
            .map_err(|failure| failure.result)
    }

    async fn handshake<S>(
        ctx: Arc<SshContext>,
        target: &Target,
        stream: S,
        deadline: Instant,
        started_at: SystemTime,
    ) -> Result<SshSession, DialFailure>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let rejection = Arc::new(Mutex::new(None));
        let mut files = target.user_known_hosts.clone();
        files.extend(target.global_known_hosts.iter().cloned());
        let verifier = HostKeyVerifier {
            known_hosts: ctx.known_hosts().clone(),
            host: target.address.clone(),
            port: target.port,
            policy: target.host_key_policy,
            user_files: target.user_known_hosts.clone(),
            files,
            rejection: rejection.clone(),
        };
        let (stream, heard) = heard::watch(stream);
        let handshake = client::connect_stream(ctx.config.clone(), stream, verifier);
        let mut handle = match until_silent(handshake, &heard, deadline, target.connect_timeout)
            .await
        {
            Err(Silent) => {
                return Err(DialFailure {
                    // Not a byte from the server: the connection may never have left
                    // an overflowing accept queue (redial.rs).
                    redial: if heard.at().is_none() {
                        Redial::NeverSpoke
                    } else {
                        Redial::No
                    },
                    result: unreachable(
                        UnreachableReason::Timeout,
                        format!(
                            "{}:{} accepted the connection but did not complete the SSH handshake: silent for {:?}",
                            target.address, target.port, target.connect_timeout
                        ),
                        started_at,
                    ),
                });
            }
            Ok(Err(err)) => {
                let rejected = rejection.lock().unwrap_or_else(|e| e.into_inner()).take();
                return Err(match rejected {
                    Some(detail) => DialFailure::last(ExecResult::not_started(
                        Status::HostKeyRejected { detail },
                        started_at,
                    )),
                    None => DialFailure {
                        redial: if redial::handshake_broken_off(&err) {
                            Redial::BrokenOff
                        } else {
                            Redial::No
                        },
                        result: unreachable(
                            UnreachableReason::Other,
                            format!(
                                "SSH handshake with {}:{} failed: {err}",
                                target.address, target.port
                            ),
                            started_at,
                        ),
                    },
                });
            }
            Ok(Ok(handle)) => handle,
        };
        match authenticate(&ctx, &mut handle, target, &heard).await {
            Ok(()) => Ok(SshSession {
                handle,
                carrier: None,
            }),
            Err(AuthError::Rejected(detail)) => Err(DialFailure::last(ExecResult::not_started(
                Status::AuthFailed { detail },
                started_at,
            ))),
            Err(AuthError::Stalled) => Err(DialFailure::last(unreachable(
                UnreachableReason::Timeout,
                format!(
                    "{}:{} stopped answering during authentication (no reply within {:?})",
                    target.address, target.port, target.connect_timeout
                ),
                started_at,
            ))),
        }
    }

    /// Runs one request; see the module docs of `remote_command` for the bootstrap,
    /// what goes over stdin, and how the step's processes are marked.
    pub async fn exec(&self, request: &ExecRequest, output: &OutputSender) -> ExecResult {
        let started_at = SystemTime::now();
        let nonce = random_nonce();
        let mark = random_nonce();
        let launch = match remote_command::launch(
            &request.payload,
            &request.env,
            request.run_as.as_deref(),
            &request.manners,
            &mark,
            Some(&nonce),
        ) {
            Ok(launch) => launch,
            Err(err) => {
                return ExecResult::not_started(
                    Status::Failed {
                        detail: Some(err.to_string()),
                    },
                    started_at,
                );
            }
        };
        let lost = |err: russh::Error| {
            unreachable(
                UnreachableReason::Other,
                format!("the connection failed while starting the command: {err}"),
                started_at,
            )
        };
        let channel = match self.handle.channel_open_session().await {
            Ok(channel) => channel,
            Err(err) => return lost(err),
        };
        if let Err(err) = channel
            .exec(true, remote_command::ssh_exec_line(&launch.bootstrap))
            .await
        {
            return lost(err);
        }
        let (mut reader, writer) = channel.split();
        // stdin runs beside the reader so a big script never deadlocks against output.
        let writer = Arc::new(writer);
        let stdin_writer = writer.clone();
        let stdin = Bytes::from(launch.stdin);
        let stdin_task = tokio::spawn(async move {
            let _ = stdin_writer.data_bytes(stdin).await;
            let _ = stdin_writer.eof().await;
        });

        let mut state = DriveState::new(&nonce);
        let deadline = request.timeout.map(|timeout| Instant::now() + timeout);
        let stopped = tokio::select! {
            _ = drive(&mut reader, &mut state, output) => None,
            _ = sleep_until(deadline) => Some(Status::TimedOut),
            _ = request.cancel.cancelled() => Some(Status::Cancelled),
        };
        // A command that ended in the same instant its deadline passed (both branches
        // ready) still counts as timed out: the operator asked for that limit.
        let past_deadline = deadline.is_some_and(|deadline| Instant::now() >= deadline);
        let result = match stopped {
            None if past_deadline => ExecResult {
                status: Status::TimedOut,
                exit: state.exit.clone(),
                started_at,
                duration: started_at.elapsed().unwrap_or_default(),
            },
            None => {
                if state.exit.is_none() && self.handle.is_closed() {
                    unreachable(
                        UnreachableReason::Other,
                        "the connection was lost while the command ran".into(),
                        started_at,
                    )
                } else {
                    ExecResult::from_exit(state.exit.clone(), started_at)
                }
            }
            Some(status) => {
                self.stop(&mut reader, &mut state, output, request, &mark)
                    .await;
                let _ = writer.close().await;
                ExecResult {
                    status,
                    exit: state.exit.clone(),
                    started_at,
                    duration: started_at.elapsed().unwrap_or_default(),
                }
            }
        };
        stdin_task.abort();
        result
    }

    /// Stops the step's processes (see `remote_command::kill_command`): one script on
    /// a second channel sends TERM, gives them the grace period, then KILLs what is
    /// left; meanwhile their last output is still forwarded. The step thus ends at
    /// its deadline plus the grace period, plus the KILL rounds if any were needed.
    async fn stop(
        &self,
        reader: &mut ChannelReadHalf,
        state: &mut DriveState,
        output: &OutputSender,
        request: &ExecRequest,
        mark: &str,
    ) {
        let script = remote_command::kill_command(
            state.scanner.pgid(),
            mark,
            request.kill_grace,
            request.run_as.as_deref(),
        );
        let limit = request.kill_grace + KILL_CHANNEL_TIMEOUT;
        let (ended, script_ended) = tokio::sync::oneshot::channel::<()>();
        let kill = async {
            self.run_quietly(&script, limit).await;
            let _ = ended.send(());
        };
        let read = async {
            tokio::select! {
                _ = drive(reader, state, output) => {}
                // Every marked process is gone: the channel closes at once, unless
                // something unmarked still holds its output.
                _ = async {
                    let _ = script_ended.await;
                    tokio::time::sleep(DRAIN_AFTER_KILL).await;
                } => {}
            }
        };
        // The script runs to its end even when the channel closes first: a
        // process that left the output behind may still be alive.
        tokio::join!(kill, read);
    }

    /// Runs a helper command on a second channel and waits (up to `limit`) for it to end.
    async fn run_quietly(&self, command: &str, limit: Duration) {
        let run = async {
            let mut channel = self.handle.channel_open_session().await.ok()?;
            // Under /bin/sh whatever the login shell is (csh's kill differs).
            channel
                .exec(true, remote_command::ssh_exec_line(command))
                .await
                .ok()?;
            while channel.wait().await.is_some() {}
            Some(())
        };
        let _ = tokio::time::timeout(limit, run).await;
    }

    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
    }

    /// The russh handle, for channels of other kinds (SFTP, direct-tcpip for jumps).
    pub fn handle(&self) -> &Handle<impl client::Handler> {
        &self.handle
    }

    /// Ties `carrier` to this session's lifetime (see [`Carrier`]).
    pub fn with_carrier(mut self, carrier: Carrier) -> Self {
        self.carrier = Some(carrier);
        self
    }

    /// True once the connection is gone (disconnect, keepalive failure, EOF).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }
}

/// What one exec has seen so far; survives a drive being interrupted.
struct DriveState {
    scanner: MarkerScanner,
    exit: Option<Exit>,
    finished: bool,
}

impl DriveState {
    fn new(nonce: &str) -> Self {
        DriveState {
            scanner: MarkerScanner::new(nonce),
            exit: None,
            finished: false,
        }
    }

    async fn step(&mut self, reader: &mut ChannelReadHalf, output: &OutputSender) {
        match reader.wait().await {
            None | Some(ChannelMsg::Close) => {
                self.finished = true;
                let rest = self.scanner.finish();
                send(output, OutputStream::Stdout, rest).await;
            }
            Some(ChannelMsg::Data { data }) => {
                let passed = self.scanner.feed(&data);
                send(output, OutputStream::Stdout, passed).await;
            }
            Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                send(output, OutputStream::Stderr, data.to_vec()).await;
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                self.exit = Some(Exit::Code(exit_status));
            }
            Some(ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                ..
            }) => {
                self.exit = Some(Exit::Signal {
                    name: signal_label(&signal_name),
                    core_dumped,
                });
            }
            Some(_) => {}
        }
    }
}

/// Reads the channel to its end: data can follow the exit status.
async fn drive(reader: &mut ChannelReadHalf, state: &mut DriveState, output: &OutputSender) {
    while !state.finished {
        state.step(reader, output).await;
    }
}

async fn send(output: &OutputSender, stream: OutputStream, data: Vec<u8>) {
    if data.is_empty() {
        return;
    }
    let chunk = OutputChunk {
        stream,
        at: SystemTime::now(),
        data: Bytes::from(data),
    };
    // A consumer that went away no longer wants output; the command still runs to its end.
    let _ = output.send(chunk).await;
}

pub(crate) fn signal_label(signal: &Sig) -> String {
    match signal {
        Sig::Custom(name) => name.trim_start_matches("SIG").to_string(),
        other => format!("{other:?}"),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

pub(crate) fn random_nonce() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 12];
    // Uniqueness matters, not secrecy: fall back to the clock if randomness fails.
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes.copy_from_slice(&nanos.to_le_bytes()[..12]);
    }
    data_encoding::HEXLOWER.encode(&bytes)
}

/// The handshake went silent: nothing by the first deadline, or nothing
/// for `quiet` since the server last spoke.
struct Silent;

/// Awaits `work` while the server keeps talking. Until its first bytes the
/// connect deadline holds; after them, only a silence of `quiet` ends the
/// wait: a server slowed by many handshakes at once still answers.
async fn until_silent<F: std::future::Future>(
    work: F,
    heard: &heard::LastHeard,
    deadline: Instant,
    quiet: Duration,
) -> Result<F::Output, Silent> {
    tokio::pin!(work);
    loop {
        let give_up = heard.at().map_or(deadline, |at| (at + quiet).max(deadline));
        tokio::select! {
            done = &mut work => return Ok(done),
            _ = tokio::time::sleep_until(give_up) => {
                let now_give_up = heard.at().map_or(deadline, |at| (at + quiet).max(deadline));
                if now_give_up <= Instant::now() {
                    return Err(Silent);
                }
            }
        }
    }
}

/// Resolves and connects; every failure is an Unreachable result with its reason.
async fn open_tcp(
    target: &Target,
    deadline: Instant,
    started_at: SystemTime,
) -> Result<TcpStream, DialFailure> {
    let endpoint = format!("{}:{}", target.address, target.port);
    let timed_out = || {
        DialFailure::last(unreachable(
            UnreachableReason::Timeout,
            format!(
                "no connection to {endpoint} within {:?}",
                target.connect_timeout
            ),
            started_at,
        ))
    };
    let addresses: Vec<SocketAddr> = match resolve(target, deadline).await {
        Err(_) => return Err(timed_out()),
        Ok(Err(err)) => {
            return Err(DialFailure::last(unreachable(
                UnreachableReason::Dns,
                format!("cannot resolve {}: {err}", target.address),
                started_at,
            )));
        }
        Ok(Ok(addresses)) => addresses,
    };
    if addresses.is_empty() {
        return Err(DialFailure::last(unreachable(
            UnreachableReason::Dns,
            format!("{} resolves to no address", target.address),
            started_at,
        )));
    }
    let mut last_error: Option<io::Error> = None;
    for address in addresses {
        match tokio::time::timeout_at(deadline, TcpStream::connect(address)).await {
            Err(_) => return Err(timed_out()),
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(err)) => last_error = Some(err),
        }
    }
    let err = last_error.unwrap_or_else(|| io::Error::other("no address to try"));
    let reason = match err.kind() {
        io::ErrorKind::ConnectionRefused => UnreachableReason::Refused,
        io::ErrorKind::TimedOut => UnreachableReason::Timeout,
        _ => UnreachableReason::Other,
    };
    Err(DialFailure {
        redial: if redial::is_broken_off(&err) {
            Redial::BrokenOff
        } else {
            Redial::No
        },
        result: unreachable(
            reason,
            format!("cannot connect to {endpoint}: {err}"),
            started_at,
        ),
    })
}

/// The target's addresses. An address that is already an IP is used as it is:
/// the resolver runs on tokio's blocking pool, and a thousand connections at
/// once would start hundreds of threads (each with its stack and malloc arena)
/// only to be told the same address back.
async fn resolve(
    target: &Target,
    deadline: Instant,
) -> Result<io::Result<Vec<SocketAddr>>, tokio::time::error::Elapsed> {
    if let Ok(ip) = target.address.parse::<std::net::IpAddr>() {
        return Ok(Ok(vec![SocketAddr::new(ip, target.port)]));
    }
    let lookup = tokio::net::lookup_host((target.address.as_str(), target.port));
    tokio::time::timeout_at(deadline, lookup)
        .await
        .map(|found| found.map(Iterator::collect))
}

/// A connection attempt that failed, and whether it may be dialled again.
struct DialFailure {
    result: ExecResult,
    redial: Redial,
}

/// Whether a failed attempt is dialled again (`redial.rs`); nothing ran on the host
/// in either case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redial {
    No,
    /// Reset or closed before login: up to `redial::RETRIES` times.
    BrokenOff,
    /// Accepted, then not a byte for the connect timeout: once.
    NeverSpoke,
}

impl DialFailure {
    /// A failure dialling again would not mend (a timeout, a key, a credential).
    fn last(result: ExecResult) -> Self {
        DialFailure {
            result,
            redial: Redial::No,
        }
    }
}

impl ExecResult {
    /// Says in an unreachable host's detail how many attempts were made, if several.
    fn after_attempts(mut self, attempts: u32) -> Self {
        if attempts > 1
            && let Status::Unreachable { detail, .. } = &mut self.status
        {
            detail.push_str(&format!(" (after {attempts} attempts)"));
        }
        self.duration = self.started_at.elapsed().unwrap_or_default();
        self
    }
}

enum AuthError {
    /// The server refused every credential, or the exchange broke off.
    Rejected(String),
    /// The server was silent for the connect timeout during one authentication request.
    Stalled,
}

/// How long the server may stay silent while authenticating.
struct Patience {
    heard: heard::LastHeard,
    quiet: Duration,
}

/// Bounds one authentication request (a round trip or a few) by the
/// server's silence; prompting for passphrases stays outside.
async fn answer<T>(limit: &Patience, call: impl Future<Output = T>) -> Result<T, AuthError> {
    until_silent(
        call,
        &limit.heard,
        Instant::now() + limit.quiet,
        limit.quiet,
    )
    .await
    .map_err(|Silent| AuthError::Stalled)
}

/// Agent, explicit keys, default keys, password — the first success wins.
async fn authenticate(
    ctx: &SshContext,
    handle: &mut Handle<HostKeyVerifier>,
    target: &Target,
    heard: &heard::LastHeard,
) -> Result<(), AuthError> {
    let user = target.user.as_str();
    let limit = &Patience {
        heard: heard.clone(),
        quiet: target.connect_timeout,
    };
    let mut tried: Vec<String> = Vec::new();
    // Asked only when an RSA key is offered: the answer may mean waiting (up to 1 s)
    // for the server's extension info, which no other key type needs.
    let mut rsa_hash: Option<Option<HashAlg>> = None;

    if let Some(socket) = &ctx.options.agent_socket {
        match AgentClient::connect_uds(socket).await {
            Ok(mut agent) => {
                let identities = agent.request_identities().await.unwrap_or_default();
                let wanted = identities_only_keys(target);
                let mut offered = 0;
                for identity in identities {
                    let AgentIdentity::PublicKey { key, .. } = identity else {
                        continue;
                    };
                    if let Some(wanted) = &wanted
                        && !wanted.iter().any(|w| w.key_data() == key.key_data())
                    {
                        continue;
                    }
                    offered += 1;
                    let hash = rsa_hash_for(handle, &key, &mut rsa_hash, limit).await?;
                    let result = answer(
                        limit,
                        handle.authenticate_publickey_with(user, key, hash, &mut agent),
                    )
                    .await?;
                    if matches!(result, Ok(ref r) if r.success()) {
                        return Ok(());
                    }
                }
                tried.push(format!("{offered} agent key(s)"));
            }
            Err(err) => tried.push(format!("agent at {} unusable ({err})", socket.display())),
        }
    }

    let mut key_files: Vec<&PathBuf> = target.identity_files.iter().collect();
    if !target.identities_only {
        key_files.extend(ctx.options.default_identity_files.iter());
    }
    for path in key_files {
        let Some(loaded) = ctx.load_key(path).await else {
            continue;
        };
        tried.push(format!("key {}", path.display()));
        let outcome = match &loaded.ed25519 {
            Some(pair) => {
                let public = loaded.key.public_key().clone();
                let mut signer = Ed25519Signer(pair.clone());
                answer(
                    limit,
                    handle.authenticate_publickey_with(user, public, None, &mut signer),
                )
                .await?
                .map_err(|SignError| "the connection closed while signing".to_string())
            }
            None => {
                let hash =
                    rsa_hash_for(handle, loaded.key.public_key(), &mut rsa_hash, limit).await?;
                let attempt = PrivateKeyWithHashAlg::new(loaded.key.clone(), hash);
                answer(limit, handle.authenticate_publickey(user, attempt))
                    .await?
                    .map_err(|err| err.to_string())
            }
        };
        match outcome {
            Ok(result) if result.success() => return Ok(()),
            Ok(_) => {}
            Err(err) => {
                return Err(AuthError::Rejected(format!(
                    "authentication as {user} broke off: {err}"
                )));
            }
        }
    }

    if let Some(password) = &target.password {
        tried.push("password".into());
        match answer(limit, handle.authenticate_password(user, password.expose())).await? {
            Ok(result) if result.success() => return Ok(()),
            Ok(_) => {}
            Err(err) => {
                return Err(AuthError::Rejected(format!(
                    "authentication as {user} broke off: {err}"
                )));
            }
        }
    }
    if tried.is_empty() {
        tried.push("nothing (no agent, no readable key, no password)".into());
    }
    Err(AuthError::Rejected(format!(
        "{}@{} refused every credential; tried: {}",
        user,
        target.address,
        tried.join(", ")
    )))
}

/// The signature hash for `key`: for RSA keys, the best one the server announced
/// (asked once per connection); `None` for every other key type.
async fn rsa_hash_for(
    handle: &Handle<HostKeyVerifier>,
    key: &PublicKey,
    known: &mut Option<Option<HashAlg>>,
    limit: &Patience,
) -> Result<Option<HashAlg>, AuthError> {
    if !matches!(key.algorithm(), russh::keys::Algorithm::Rsa { .. }) {
        return Ok(None);
    }
    if known.is_none() {
        let best = answer(limit, handle.best_supported_rsa_hash())
            .await?
            .ok()
            .flatten()
            .flatten();
        *known = Some(best);
    }
    Ok(known.flatten())
}

/// With IdentitiesOnly, the agent may only offer the keys named by identity files,
/// recognised by their `.pub` files.
fn identities_only_keys(target: &Target) -> Option<Vec<PublicKey>> {
    target.identities_only.then(|| {
        target
            .identity_files
            .iter()
            .filter_map(|path| {
                let mut public = path.clone().into_os_string();
                public.push(".pub");
                russh::keys::load_public_key(PathBuf::from(public)).ok()
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::signature::Verifier;
    use russh::keys::ssh_encoding::Decode;
    use russh::keys::ssh_key::Signature;

    /// A fixed Ed25519 key, so the test needs no randomness.
    fn fixed_ed25519_key() -> PrivateKey {
        let pair = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&[7u8; 32]);
        PrivateKey::new(pair.into(), "test").expect("a valid key")
    }

    #[test]
    fn ring_signature_blob_verifies_with_the_ssh_public_key() {
        let key = fixed_ed25519_key();
        let loaded = LoadedKey::new(key.clone());
        let pair = loaded.ed25519.expect("an Ed25519 key gets a ring key pair");
        let to_sign = b"session id and userauth request".to_vec();
        let signed = ed25519_append_signature(&pair, to_sign.clone());
        assert_eq!(&signed[..to_sign.len()], &to_sign[..], "the data is kept");

        // What follows is one SSH string holding the signature blob.
        let mut rest = &signed[to_sign.len()..];
        let blob = Vec::<u8>::decode(&mut rest).expect("a length-prefixed blob");
        assert!(rest.is_empty(), "nothing after the blob");
        let signature = Signature::decode(&mut blob.as_slice()).expect("an SSH signature");
        assert_eq!(signature.algorithm(), russh::keys::Algorithm::Ed25519);
        key.public_key()
            .key_data()
            .verify(&to_sign, &signature)
            .expect("the signature verifies with the key's public half");
        // And it is bound to the data: other data fails.
        assert!(
            key.public_key()
                .key_data()
                .verify(b"other data", &signature)
                .is_err()
        );
    }
}
