//! `ansible_connection=local`: the same request as a local process, same result model.
//!
//! The command runs under `/bin/sh -c` (a script under its interpreter, reading the
//! body from stdin, exactly as on a remote host) in a process group of its own, so a
//! timeout or cancel kills the whole tree: TERM to the group, KILL after the grace. Its
//! manners (nice, ionice) are set in the child before it runs.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::time::Instant;

use super::remote_command::{self, Interpreter};
use super::{
    ExecRequest, ExecResult, Exit, OutputChunk, OutputSender, OutputStream, Payload, Status,
};

/// How long to wait for the pipes to close after the group was killed.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(5);

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
        let stdin_body = match &request.payload {
            Payload::Script { body, .. } => Some(body.clone().into_bytes()),
            Payload::Command(_) => None,
        };
        let mut command = match &request.run_as {
            // sudo resets the environment: the exports go inside its shell.
            Some(user) => {
                let lines =
                    match remote_command::payload_lines(&request.payload, &request.env, true) {
                        Ok(lines) => lines,
                        Err(err) => return failed(err.to_string()),
                    };
                let mut command = Command::new("sudo");
                command.args(["-n", "-u", user, "--", "/bin/sh", "-c", &lines]);
                command
            }
            None => match &request.payload {
                Payload::Command(line) => {
                    let mut command = Command::new("/bin/sh");
                    command.arg("-c").arg(line);
                    command
                }
                Payload::Script { body, args } => {
                    let interpreter = match Interpreter::from_script(body) {
                        Ok(interpreter) => interpreter,
                        Err(err) => return failed(err.to_string()),
                    };
                    let mut command = Command::new(&interpreter.program);
                    command.args(interpreter.argument.iter());
                    command.arg("/dev/stdin").args(args);
                    command
                }
            },
        };
        if request.run_as.is_none() {
            command.envs(request.env.iter().map(|(k, v)| (k, v)));
        }
        if !request.manners.is_default() {
            let manners = request.manners;
            // SAFETY: the closure only makes two system calls on the child
            // itself (setpriority, ioprio_set): async-signal-safe.
            unsafe {
                command.pre_exec(move || {
                    // Lowering one's own priority does not fail in practice;
                    // a step must not fail for its manners either way.
                    let _ = manners.apply_to_this_process();
                    Ok(())
                });
            }
        }
        command
            .stdin(if stdin_body.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => return failed(format!("cannot start the local command: {err}")),
        };
        let pgid = child.id();

        if let (Some(body), Some(mut stdin)) = (stdin_body, child.stdin.take()) {
            tokio::spawn(async move {
                let _ = stdin.write_all(&body).await;
            });
        }
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let pumps = async {
            tokio::join!(
                pump(stdout, OutputStream::Stdout, output),
                pump(stderr, OutputStream::Stderr, output)
            )
        };
        let finished = async {
            pumps.await;
            child.wait().await
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

        let run_as = request.run_as.as_deref();
        signal_group(pgid, libc::SIGTERM, run_as).await;
        let exit = match tokio::time::timeout(request.kill_grace, &mut finished).await {
            Ok(status) => status.ok().map(exit_of),
            Err(_) => {
                signal_group(pgid, libc::SIGKILL, run_as).await;
                match tokio::time::timeout(DRAIN_AFTER_KILL, &mut finished).await {
                    Ok(status) => status.ok().map(exit_of),
                    Err(_) => None,
                }
            }
        };
        ExecResult {
            status: stopped,
            exit,
            started_at,
            duration: started_at.elapsed().unwrap_or_default(),
        }
    }
}

async fn signal_group(pgid: Option<u32>, signal: i32, run_as: Option<&str>) {
    let Some(pgid) = pgid
        .and_then(|pid| i32::try_from(pid).ok())
        .filter(|&p| p > 1)
    else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals our own child's process group only.
    unsafe {
        libc::kill(-pgid, signal);
    }
    if let Some(user) = run_as {
        // The command's processes belong to that user; signal them as it.
        let name = if signal == libc::SIGKILL {
            "KILL"
        } else {
            "TERM"
        };
        // Through the shell's builtin kill, as on SSH hosts: procps' kill binary
        // reads `-TERM -19946` as `-TERM -1` and would signal every process of
        // the user (seen: it killed another run's command).
        let _ = Command::new("sudo")
            .args([
                "-n",
                "-u",
                user,
                "--",
                "/bin/sh",
                "-c",
                &format!("kill -{name} -{pgid}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
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
        // procps' kill binary read `-TERM -1000000000` as "every process" (-1).
        signal_group(Some(1_000_000_000), libc::SIGTERM, Some("nobody")).await;
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
    async fn timeout_kills_the_whole_group() {
        let marker = format!("jobdeck-local-{}", std::process::id());
        // A child in the background and a grandchild: both must die.
        let command = format!("sleep 300 & sh -c 'sleep 301; : {marker}' & wait");
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
