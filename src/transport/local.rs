//! `ansible_connection=local`: the same request as a local process, same result model.
//!
//! The same bootstrap as on an SSH host (`remote_command`): `/bin/sh -c` with
//! nothing secret on its command line, the exports and the command (or the
//! script's interpreter line and body) on its stdin, in a process group of its
//! own, every process marked. A timeout or cancel runs the same kill script:
//! TERM to the group and the marked processes, KILL after the grace period.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::time::Instant;

use super::remote_command;
use super::{ExecRequest, ExecResult, Exit, OutputChunk, OutputSender, OutputStream, Status};

/// How long the last output may take once every marked process was killed.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(1);
/// How long the kill script may take beyond the grace period.
const KILL_SCRIPT_TIMEOUT: Duration = Duration::from_secs(5);

/// A "connection" to the local machine.
#[derive(Debug, Default)]
pub struct LocalSession;

impl LocalSession {
    pub fn new() -> Self {
        LocalSession
    }

    pub async fn exec(&self, request: &ExecRequest, output: &OutputSender) -> ExecResult {
        let started_at = SystemTime::now();
        let failed = |detail: String| {
            ExecResult::not_started(
                Status::Failed {
                    detail: Some(detail),
                },
                started_at,
            )
        };
        let mark = super::ssh::random_nonce();
        let run_as = request.run_as.as_deref();
        let launch = match remote_command::launch(
            &request.payload,
            &request.env,
            run_as,
            &request.manners,
            &mark,
            None,
        ) {
            Ok(launch) => launch,
            Err(err) => return failed(err.to_string()),
        };
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(&launch.bootstrap)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => return failed(format!("cannot start the local command: {err}")),
        };
        let pgid = child.id();

        if let Some(mut stdin) = child.stdin.take() {
            let bytes = launch.stdin;
            // Closed when written: a command reads EOF after its settings.
            tokio::spawn(async move {
                let _ = stdin.write_all(&bytes).await;
            });
        }
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        // The child is reaped as soon as it exits, even while something it left
        // behind still holds the pipes.
        let finished = async {
            let (_, status) = tokio::join!(
                async {
                    tokio::join!(
                        pump(stdout, OutputStream::Stdout, output),
                        pump(stderr, OutputStream::Stderr, output)
                    )
                },
                child.wait()
            );
            status
        };
        tokio::pin!(finished);

        let deadline = request.timeout.map(|timeout| Instant::now() + timeout);
        let stopped = tokio::select! {
            status = &mut finished => {
                return ExecResult::from_exit(status.ok().map(exit_of), started_at);
            }
            _ = sleep_until(deadline) => Status::TimedOut,
            _ = request.cancel.cancelled() => Status::Cancelled,
        };

        let script = remote_command::kill_command(pgid, &mark, request.kill_grace, run_as);
        let (ended, script_ended) = tokio::sync::oneshot::channel::<()>();
        let kill = async {
            run_script(&script, request.kill_grace + KILL_SCRIPT_TIMEOUT).await;
            let _ = ended.send(());
        };
        let wait = async {
            tokio::select! {
                status = &mut finished => status.ok().map(exit_of),
                _ = async {
                    let _ = script_ended.await;
                    tokio::time::sleep(DRAIN_AFTER_KILL).await;
                } => None,
            }
        };
        // The script runs to its end even when the command ended first: a
        // process that left the pipes behind may still be alive.
        let ((), exit) = tokio::join!(kill, wait);
        ExecResult {
            status: stopped,
            exit,
            started_at,
            duration: started_at.elapsed().unwrap_or_default(),
        }
    }
}

/// Runs the kill script (as jobdeck's user; it goes through sudo itself) and
/// waits for it, up to `limit`.
async fn run_script(script: &str, limit: Duration) {
    let run = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = tokio::time::timeout(limit, run).await;
}

fn exit_of(status: ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code as u32),
        (None, Some(signal)) => Exit::Signal {
            name: signal_name(signal),
            core_dumped: status.core_dumped(),
        },
        (None, None) => Exit::Code(u32::MAX),
    }
}

fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGABRT => "ABRT".into(),
        libc::SIGALRM => "ALRM".into(),
        libc::SIGFPE => "FPE".into(),
        libc::SIGHUP => "HUP".into(),
        libc::SIGILL => "ILL".into(),
        libc::SIGINT => "INT".into(),
        libc::SIGKILL => "KILL".into(),
        libc::SIGPIPE => "PIPE".into(),
        libc::SIGQUIT => "QUIT".into(),
        libc::SIGSEGV => "SEGV".into(),
        libc::SIGTERM => "TERM".into(),
        libc::SIGUSR1 => "USR1".into(),
        libc::SIGUSR2 => "USR2".into(),
        other => other.to_string(),
    }
}

async fn pump<R: AsyncRead + Unpin>(
    reader: Option<R>,
    stream: OutputStream,
    output: &OutputSender,
) {
    let Some(mut reader) = reader else {
        return;
    };
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let chunk = OutputChunk {
                    stream,
                    at: SystemTime::now(),
                    data: Bytes::copy_from_slice(&buffer[..n]),
                };
                // Keep reading when the consumer left, or the child would block.
                let _ = output.send(chunk).await;
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ExecRequest, OutputChunk};
    use super::*;
    use tokio::sync::mpsc;

    async fn run(request: ExecRequest) -> (ExecResult, Vec<OutputChunk>) {
        let (tx, mut rx) = mpsc::channel(4);
        let collector = tokio::spawn(async move {
            let mut chunks = Vec::new();
            while let Some(chunk) = rx.recv().await {
                chunks.push(chunk);
            }
            chunks
        });
        let result = LocalSession::new().exec(&request, &tx).await;
        drop(tx);
        (result, collector.await.unwrap())
    }

    fn text(chunks: &[OutputChunk], stream: OutputStream) -> String {
        let bytes: Vec<u8> = chunks
            .iter()
            .filter(|c| c.stream == stream)
            .flat_map(|c| c.data.to_vec())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn a_run_as_kill_signals_its_group_and_nothing_else() {
        // Needs root and sudo, as run_as does.
        // SAFETY: geteuid has no preconditions.
        if !std::path::Path::new("/usr/bin/sudo").exists() || unsafe { libc::geteuid() } != 0 {
            eprintln!("needs root and sudo: skipped");
            return;
        }
        // Another process of the same user, not ours to stop.
        let mut bystander = std::process::Command::new("sudo")
            .args(["-n", "-u", "nobody", "--", "sleep", "30"])
            .spawn()
            .expect("sudo starts");
        tokio::time::sleep(Duration::from_millis(300)).await;
        // A group that cannot exist (past any pid_max), whose id starts with 1:
        // procps' kill binary read `-TERM -1000000000` as "every process" (-1);
        // and a mark no process has.
        let script = remote_command::kill_command(
            Some(1_000_000_000),
            "nomark",
            Duration::from_millis(100),
            Some("nobody"),
        );
        run_script(&script, Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let survived = bystander.try_wait().expect("try_wait").is_none();
        // TERM to sudo, which passes it on to its sleep.
        // SAFETY: kill(2) on the pid of our own child.
        unsafe {
            libc::kill(bystander.id() as i32, libc::SIGTERM);
        }
        let _ = bystander.wait();
        assert!(survived, "the kill reached another process of the user");
    }

    #[tokio::test]
    async fn output_streams_exit_codes_and_env() {
        let request = ExecRequest::command("echo out; echo err >&2; printf '%s' \"$V\"; exit 3")
            .env("V", "a 'b' $c\n");
        let (result, chunks) = run(request).await;
        assert_eq!(result.exit, Some(Exit::Code(3)));
        assert!(matches!(result.status, Status::Failed { .. }));
        assert_eq!(text(&chunks, OutputStream::Stdout), "out\na 'b' $c\n");
        assert_eq!(text(&chunks, OutputStream::Stderr), "err\n");
    }

    #[tokio::test]
    async fn signals_are_reported() {
        let (result, _) = run(ExecRequest::command("kill -9 $$")).await;
        assert_eq!(
            result.exit,
            Some(Exit::Signal {
                name: "KILL".into(),
                core_dumped: false
            })
        );
    }

    #[tokio::test]
    async fn scripts_run_under_their_shebang_with_quoted_args() {
        let script = "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>' \"$a\"; done\n";
        let request = ExecRequest::script(script, vec!["a b".into(), "it's".into(), "$x".into()]);
        let (result, chunks) = run(request).await;
        assert_eq!(result.status, Status::Ok);
        assert_eq!(text(&chunks, OutputStream::Stdout), "<a b><it's><$x>");
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group_and_what_left_it() {
        let marker = format!("jobdeck-local-{}", std::process::id());
        // A child in the background, a grandchild, a new session ignoring TERM
        // and a double fork: all must die.
        let command = format!(
            "sleep 300 & sh -c 'sleep 301; : {marker}' & \
             setsid sh -c 'trap \"\" TERM; sleep 302; : {marker}' >/dev/null 2>&1 & \
             sh -c \"sh -c 'sleep 303; : {marker}' >/dev/null 2>&1 &\" & wait"
        );
        let request = ExecRequest::command(command).timeout(Duration::from_millis(500));
        let (result, _) = run(request).await;
        assert_eq!(result.status, Status::TimedOut);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let ps = std::process::Command::new("ps")
            .args(["-eo", "args"])
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&ps.stdout);
        assert!(!listing.contains(&marker), "left behind:\n{listing}");
    }
}
