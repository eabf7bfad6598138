//! The SSH transport against a real OpenSSH sshd on a loopback port.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use jobdeck::transport::{
    self,
    fanout::{self, HostEvent},
};
use jobdeck::transport::{
    ExecRequest, ExecResult, Exit, HostKeyPolicy, KnownHosts, OutputChunk, OutputStream,
    PassphrasePrompt, Secret, Status, Target, Transport, TransportOptions, UnreachableReason,
};
use support::{PASSWORD_USER, SshdFixture, hostile_known_hosts_lines, processes_matching};
use tokio::sync::mpsc;

/// Options that never touch the real ~/.ssh or agent of the machine.
fn isolated_options() -> TransportOptions {
    TransportOptions {
        known_hosts: Arc::new(KnownHosts::new()),
        passphrase_prompt: Arc::new(transport::NoPassphrase),
        agent_socket: None,
        default_identity_files: Vec::new(),
    }
}

fn target_for(sshd: &SshdFixture) -> Target {
    let mut target = Target::new("test-host");
    target.address = "127.0.0.1".into();
    target.port = sshd.port;
    target.user = sshd.user.clone();
    target.identity_files = vec![sshd.client_key.clone()];
    target.user_known_hosts = vec![sshd.known_hosts.clone()];
    target.global_known_hosts = Vec::new();
    target
}

struct Collected {
    result: ExecResult,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Collected {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

async fn run_with(transport: &Transport, target: &Target, request: ExecRequest) -> Collected {
    let (tx, mut rx) = mpsc::channel::<OutputChunk>(8);
    let collector = tokio::spawn(async move {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        while let Some(chunk) = rx.recv().await {
            match chunk.stream {
                OutputStream::Stdout => stdout.extend_from_slice(&chunk.data),
                OutputStream::Stderr => stderr.extend_from_slice(&chunk.data),
            }
        }
        (stdout, stderr)
    });
    let result = transport.run(target, &request, &tx).await;
    drop(tx);
    let (stdout, stderr) = collector.await.unwrap();
    Collected {
        result,
        stdout,
        stderr,
    }
}

async fn run(target: &Target, request: ExecRequest) -> Collected {
    run_with(&Transport::new(isolated_options()), target, request).await
}

fn assert_status(collected: &Collected, expected: &Status) {
    assert_eq!(
        &collected.result.status,
        expected,
        "stdout: {}\nstderr: {}",
        collected.stdout(),
        collected.stderr()
    );
}

#[tokio::test]
async fn key_auth_exit_codes_and_separate_stderr() {
    let sshd = SshdFixture::start();
    let target = target_for(&sshd);
    let out = run(
        &target,
        ExecRequest::command("echo out; echo err >&2; echo more; exit 3"),
    )
    .await;
    assert!(
        matches!(out.result.status, Status::Failed { .. }),
        "{:?}",
        out.result
    );
    assert_eq!(out.result.exit, Some(Exit::Code(3)));
    assert_eq!(out.stdout(), "out\nmore\n");
    assert_eq!(out.stderr(), "err\n");

    let ok = run(&target, ExecRequest::command("printf 'ok'")).await;
    assert_status(&ok, &Status::Ok);
    assert_eq!(ok.result.exit, Some(Exit::Code(0)));
    assert_eq!(ok.stdout(), "ok");
}

#[tokio::test]
async fn signals_are_reported() {
    let sshd = SshdFixture::start();
    let out = run(&target_for(&sshd), ExecRequest::command("kill -9 $$")).await;
    assert!(matches!(out.result.status, Status::Failed { .. }));
    assert_eq!(
        out.result.exit,
        Some(Exit::Signal {
            name: "KILL".into(),
            core_dumped: false
        })
    );
}

#[tokio::test]
async fn several_commands_share_one_session() {
    let sshd = SshdFixture::start();
    let transport = Transport::new(isolated_options());
    let session = transport.connect(&target_for(&sshd)).await.ok().unwrap();
    for round in 0..3 {
        let (tx, mut rx) = mpsc::channel(4);
        let result = session
            .exec(&ExecRequest::command(format!("echo {round}")), &tx)
            .await;
        drop(tx);
        assert_eq!(result.status, Status::Ok);
        let chunk = rx.recv().await.unwrap();
        assert_eq!(&chunk.data[..], format!("{round}\n").as_bytes());
    }
    session.close().await;
}

#[tokio::test]
async fn agent_auth() {
    let sshd = SshdFixture::start();
    let agent_key = sshd.add_client_key("agent_key", "");
    let agent = sshd.start_agent(&[&agent_key]);
    let mut target = target_for(&sshd);
    target.identity_files.clear();

    let without_agent = run(&target, ExecRequest::command("true")).await;
    assert!(
        matches!(without_agent.result.status, Status::AuthFailed { .. }),
        "{:?}",
        without_agent.result
    );

    let options = TransportOptions {
        agent_socket: Some(agent.socket.clone()),
        ..isolated_options()
    };
    let out = run_with(
        &Transport::new(options),
        &target,
        ExecRequest::command("echo agent"),
    )
    .await;
    assert_status(&out, &Status::Ok);
    assert_eq!(out.stdout(), "agent\n");
}

#[tokio::test]
async fn password_auth_and_wrong_password() {
    let sshd = SshdFixture::start();
    let password = SshdFixture::password_user();
    let mut target = target_for(&sshd);
    target.user = PASSWORD_USER.into();
    target.identity_files.clear();
    target.password = Some(Secret::new(password));
    let out = run(&target, ExecRequest::command("id -un")).await;
    assert_status(&out, &Status::Ok);
    assert_eq!(out.stdout(), format!("{PASSWORD_USER}\n"));

    target.password = Some(Secret::new("not-the-password"));
    let out = run(&target, ExecRequest::command("id -un")).await;
    let Status::AuthFailed { detail } = &out.result.status else {
        panic!("expected auth failure, got {:?}", out.result);
    };
    assert!(detail.contains("password"), "{detail}");
    assert!(
        !detail.contains("not-the-password"),
        "a password leaked: {detail}"
    );
}

/// Answers with the queued passphrases and counts the questions.
struct ScriptedPrompt {
    answers: Vec<&'static str>,
    asked: AtomicU32,
}

impl PassphrasePrompt for ScriptedPrompt {
    fn passphrase(&self, _key_file: &Path, _attempt: u32) -> Option<Secret> {
        let index = self.asked.fetch_add(1, Ordering::SeqCst) as usize;
        // A slow human: concurrent connections must still ask only once.
        std::thread::sleep(Duration::from_millis(200));
        self.answers.get(index).map(|answer| Secret::new(*answer))
    }
}

#[tokio::test]
async fn encrypted_key_asks_its_passphrase_once_per_run() {
    let sshd = SshdFixture::start();
    let key = sshd.add_client_key("encrypted_key", "open sesame");
    let prompt = Arc::new(ScriptedPrompt {
        answers: vec!["wrong guess", "open sesame"],
        asked: AtomicU32::new(0),
    });
    let options = TransportOptions {
        passphrase_prompt: prompt.clone(),
        ..isolated_options()
    };
    let transport = Transport::new(options);
    let mut target = target_for(&sshd);
    target.identity_files = vec![key];

    let runs = (0..4).map(|i| {
        let transport = transport.clone();
        let target = target.clone();
        async move {
            run_with(
                &transport,
                &target,
                ExecRequest::command(format!("echo {i}")),
            )
            .await
        }
    });
    for out in futures_join_all(runs).await {
        assert_status(&out, &Status::Ok);
    }
    // One wrong answer, one right one; the other connections reuse the decrypted key.
    assert_eq!(prompt.asked.load(Ordering::SeqCst), 2);
}

async fn futures_join_all<F: std::future::Future<Output = Collected> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<Collected> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

#[tokio::test]
async fn unknown_host_is_rejected_with_advice_and_accept_new_records_it() {
    let sshd = SshdFixture::start();
    let mut target = target_for(&sshd);
    let user_file = sshd.path("fresh_known_hosts");
    target.user_known_hosts = vec![user_file.clone()];

    let out = run(&target, ExecRequest::command("true")).await;
    let Status::HostKeyRejected { detail } = &out.result.status else {
        panic!("expected a rejected host key, got {:?}", out.result);
    };
    assert!(
        detail.contains(&format!("ssh-keyscan -p {} 127.0.0.1", sshd.port)),
        "{detail}"
    );
    assert!(detail.contains("--accept-new"), "{detail}");
    assert!(!user_file.exists(), "strict mode must write nothing");

    target.host_key_policy = HostKeyPolicy::AcceptNew;
    let out = run(&target, ExecRequest::command("echo trusted")).await;
    assert_status(&out, &Status::Ok);

    // Recorded in a form OpenSSH itself finds, and trusted from now on in strict mode.
    let found = std::process::Command::new("ssh-keygen")
        .args(["-F", &format!("[127.0.0.1]:{}", sshd.port), "-f"])
        .arg(&user_file)
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "ssh-keygen -F does not find the new line"
    );
    target.host_key_policy = HostKeyPolicy::Strict;
    let out = run(&target, ExecRequest::command("true")).await;
    assert_status(&out, &Status::Ok);
}

#[tokio::test]
async fn changed_host_key_is_a_loud_failure_even_with_accept_new() {
    let sshd = SshdFixture::start();
    let mut target = target_for(&sshd);
    let file = sshd.path("changed_known_hosts");
    let impostor = sshd.unrelated_public_key("impostor_key");
    std::fs::write(
        &file,
        format!("# first line\n[127.0.0.1]:{} {impostor}", sshd.port),
    )
    .unwrap();
    target.user_known_hosts = vec![file.clone()];
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        target.host_key_policy = policy;
        let out = run(&target, ExecRequest::command("true")).await;
        let Status::HostKeyRejected { detail } = &out.result.status else {
            panic!("expected a rejected host key, got {:?}", out.result);
        };
        assert!(detail.contains("HOST KEY CHANGED"), "{detail}");
        assert!(
            detail.contains(&format!("{}:2", file.display())),
            "{detail}"
        );
    }
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        written.lines().count(),
        2,
        "accept-new must not add a line for a changed key"
    );
}

#[tokio::test]
async fn revoked_host_key_is_rejected() {
    let sshd = SshdFixture::start();
    let mut target = target_for(&sshd);
    let file = sshd.path("revoked_known_hosts");
    std::fs::write(
        &file,
        format!(
            "[127.0.0.1]:{port} {key}@revoked * {key}",
            port = sshd.port,
            key = sshd.host_public_key
        ),
    )
    .unwrap();
    target.user_known_hosts = vec![file];
    let out = run(&target, ExecRequest::command("true")).await;
    let Status::HostKeyRejected { detail } = &out.result.status else {
        panic!("expected a rejected host key, got {:?}", out.result);
    };
    assert!(detail.contains("@revoked"), "{detail}");
}

#[tokio::test]
async fn a_hostile_known_hosts_never_lets_a_changed_or_revoked_key_through() {
    let sshd = SshdFixture::start();
    let port = sshd.port;
    let impostor = sshd.unrelated_public_key("impostor_key");
    let host_key = sshd.host_public_key.trim_end();
    let cases = [
        (
            "changed",
            format!("[127.0.0.1]:{port} {}\r\n", impostor.trim_end()),
            "HOST KEY CHANGED",
        ),
        (
            "revoked",
            format!("[127.0.0.1]:{port} {host_key}\r\n@revoked * {host_key} caf\u{e9}\r\n"),
            "@revoked",
        ),
    ];
    for (name, last_lines, expected) in cases {
        let file = sshd.path(&format!("{name}_known_hosts"));
        let mut bytes = hostile_known_hosts_lines(port);
        bytes.extend_from_slice(last_lines.as_bytes());
        std::fs::write(&file, &bytes).unwrap();
        for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
            let mut target = target_for(&sshd);
            target.user_known_hosts = vec![file.clone()];
            target.host_key_policy = policy;
            let out = run(&target, ExecRequest::command("echo connected")).await;
            let Status::HostKeyRejected { detail } = &out.result.status else {
                panic!(
                    "{name}, {policy:?}: expected a refusal, got {:?}",
                    out.result
                );
            };
            assert!(detail.contains(expected), "{name}, {policy:?}: {detail}");
            assert!(out.stdout.is_empty());
            assert_eq!(std::fs::read(&file).unwrap(), bytes, "{name}: file changed");
        }
        let warnings = KnownHosts::new().warnings(std::slice::from_ref(&file));
        let lines: Vec<String> = warnings
            .iter()
            .map(|w| w.split(": ").next().unwrap().to_string())
            .collect();
        let at = |line: usize| format!("{}:{line}", file.display());
        assert_eq!(lines, [at(2), at(3)], "{warnings:?}");
    }

    // The same hostile lines before the right key: trusted.
    let file = sshd.path("good_known_hosts");
    let mut bytes = hostile_known_hosts_lines(port);
    bytes.extend_from_slice(format!("[127.0.0.1]:{port} {host_key}\r\n").as_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let mut target = target_for(&sshd);
    target.user_known_hosts = vec![file];
    let out = run(&target, ExecRequest::command("echo connected")).await;
    assert_status(&out, &Status::Ok);
    assert_eq!(out.stdout(), "connected\n");

    // A line that names the host but whose key is cut off: refused even with
    // accept-new, since it may be the host's real key.
    let file = sshd.path("truncated_known_hosts");
    std::fs::write(&file, hostile_known_hosts_lines(port)).unwrap();
    let mut target = target_for(&sshd);
    target.user_known_hosts = vec![file.clone()];
    target.host_key_policy = HostKeyPolicy::AcceptNew;
    let out = run(&target, ExecRequest::command("true")).await;
    let Status::HostKeyRejected { detail } = &out.result.status else {
        panic!("expected a refusal, got {:?}", out.result);
    };
    assert!(
        detail.contains(&format!("{}:3", file.display())) && detail.contains("cannot verify"),
        "{detail}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        hostile_known_hosts_lines(port)
    );
}

#[tokio::test]
async fn an_unreadable_known_hosts_fails_closed_in_every_mode() {
    let sshd = SshdFixture::start();
    let unreadable = sshd.path("known_hosts_dir");
    std::fs::create_dir(&unreadable).unwrap();
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        let mut target = target_for(&sshd);
        // The file that trusts the server comes first; the unreadable one may hold a
        // revocation, so it still refuses.
        target.user_known_hosts = vec![sshd.known_hosts.clone(), unreadable.clone()];
        target.host_key_policy = policy;
        let out = run(&target, ExecRequest::command("true")).await;
        let Status::HostKeyRejected { detail } = &out.result.status else {
            panic!("{policy:?}: expected a refusal, got {:?}", out.result);
        };
        assert!(detail.contains("not a regular file"), "{detail}");
    }
}

#[tokio::test]
async fn timeout_leaves_no_process_on_the_host() {
    let sshd = SshdFixture::start();
    // A grandchild in a subshell and a foreground sleep: the whole group must go.
    let command = "sh -c 'sleep 3018' & sleep 3017";
    let started = Instant::now();
    let out = run(
        &target_for(&sshd),
        ExecRequest::command(command).timeout(Duration::from_secs(2)),
    )
    .await;
    assert_status(&out, &Status::TimedOut);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    for needle in ["sleep 3017", "sleep 3018"] {
        let left = processes_matching(needle);
        assert!(left.is_empty(), "left running after the timeout: {left:?}");
    }
}

#[tokio::test]
async fn cancel_kills_even_a_process_that_ignores_term() {
    let sshd = SshdFixture::start();
    let request = ExecRequest::command("trap '' TERM; sleep 3019");
    let cancel = request.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cancel.cancel();
    });
    let mut request = request;
    request.kill_grace = Duration::from_millis(500);
    let out = run(&target_for(&sshd), request).await;
    assert_status(&out, &Status::Cancelled);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left = processes_matching("sleep 3019");
    assert!(left.is_empty(), "left running after cancel: {left:?}");
}

#[tokio::test]
async fn env_values_arrive_exactly() {
    let sshd = SshdFixture::start();
    let values = [
        ("QUOTES", "it's \"quoted\""),
        ("DOLLAR", "$HOME ${PATH} $(id) `id`"),
        ("NEWLINES", "line one\nline two\n"),
        ("SPACES", "  leading and trailing  "),
        ("EMPTY", ""),
    ];
    let mut request = ExecRequest::command(
        "printf '%s\\0' \"$QUOTES\" \"$DOLLAR\" \"$NEWLINES\" \"$SPACES\" \"$EMPTY\"",
    );
    for (name, value) in values {
        request = request.env(name, value);
    }
    let out = run(&target_for(&sshd), request).await;
    assert_status(&out, &Status::Ok);
    let expected: Vec<u8> = values
        .iter()
        .flat_map(|(_, value)| value.bytes().chain([0]))
        .collect();
    assert_eq!(out.stdout, expected, "got {:?}", out.stdout());
}

#[tokio::test]
async fn a_command_reads_an_empty_stdin_after_its_settings() {
    let sshd = SshdFixture::start();
    // The settings arrive on the same stdin: the command must not see them.
    let request = ExecRequest::command("wc -c; read line || echo eof").env("SECRET", "hunter2");
    let out = run(&target_for(&sshd), request).await;
    assert_status(&out, &Status::Ok);
    assert_eq!(
        out.stdout().split_whitespace().collect::<Vec<_>>(),
        ["0", "eof"]
    );
}

#[tokio::test]
async fn scripts_run_under_their_interpreter_with_quoted_args() {
    let sshd = SshdFixture::start();
    let script = "#!/bin/sh\n\
                  # a multi-line script\n\
                  echo \"argc=$#\"\n\
                  for arg in \"$@\"; do\n  printf '[%s]\\n' \"$arg\"\ndone\n\
                  echo \"greeting=$GREETING\"\n";
    let args = vec![
        "two words".to_string(),
        "it's".into(),
        "$HOME".into(),
        "".into(),
    ];
    let request = ExecRequest::script(script, args).env("GREETING", "hi there");
    let out = run(&target_for(&sshd), request).await;
    assert_status(&out, &Status::Ok);
    assert_eq!(
        out.stdout(),
        "argc=4\n[two words]\n[it's]\n[$HOME]\n[]\ngreeting=hi there\n"
    );

    if Path::new("/usr/bin/python3").exists() {
        let script = "#!/usr/bin/env python3\nimport sys\nprint('|'.join(sys.argv[1:]))\n";
        let out = run(
            &target_for(&sshd),
            ExecRequest::script(script, vec!["a b".into(), "c".into()]),
        )
        .await;
        assert_status(&out, &Status::Ok);
        assert_eq!(out.stdout(), "a b|c\n");
    }
}

#[tokio::test]
async fn ten_megabytes_stream_through_a_small_channel() {
    let sshd = SshdFixture::start();
    const TOTAL: usize = 10 * 1024 * 1024;
    let transport = Transport::new(isolated_options());
    // Two chunks of buffer: the transport must wait for this slow consumer.
    let (tx, mut rx) = mpsc::channel::<OutputChunk>(2);
    let consumer = tokio::spawn(async move {
        let (mut bytes, mut chunks, mut largest) = (0usize, 0usize, 0usize);
        let mut checksum = 0u64;
        while let Some(chunk) = rx.recv().await {
            if chunks < 50 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            bytes += chunk.data.len();
            chunks += 1;
            largest = largest.max(chunk.data.len());
            checksum = chunk.data.iter().fold(checksum, |sum, &b| {
                sum.wrapping_mul(31).wrapping_add(b as u64)
            });
        }
        (bytes, largest, checksum)
    });
    let request = ExecRequest::command(format!("yes 0123456789abcdef | head -c {TOTAL}"));
    let result = transport.run(&target_for(&sshd), &request, &tx).await;
    drop(tx);
    let (bytes, largest, checksum) = consumer.await.unwrap();
    assert_eq!(result.status, Status::Ok);
    assert_eq!(bytes, TOTAL);
    assert!(largest <= 64 * 1024, "a chunk of {largest} bytes");
    let expected = b"0123456789abcdef\n"
        .iter()
        .cycle()
        .take(TOTAL)
        .fold(0u64, |sum, &b| sum.wrapping_mul(31).wrapping_add(b as u64));
    assert_eq!(checksum, expected, "bytes changed on the way");
}

/// A port whose SYNs go unanswered, like a firewalled (DROP) address: a listener with a
/// zero backlog that never accepts, whose only queue slot is taken.
async fn syn_dropping_port() -> (tokio::net::TcpListener, std::net::TcpStream, u16) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let port = listener.local_addr().unwrap().port();
    let filler = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    (listener, filler, port)
}

#[tokio::test]
async fn refused_and_blackholed_hosts_fail_fast_without_delaying_others() {
    let sshd = SshdFixture::start();
    // Refused: a port nobody listens on.
    let refused_port = support::free_port();
    // Silent: accepts TCP, never speaks SSH.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    // Blackholed: the TCP handshake itself never completes.
    let (_dropping, _filler, dropping_port) = syn_dropping_port().await;

    let with_port = |name: &str, port: u16| {
        let mut target = target_for(&sshd);
        target.name = name.into();
        target.port = port;
        target.connect_timeout = Duration::from_secs(2);
        target
    };
    let targets = vec![
        with_port("silent", silent_port),
        with_port("blackholed", dropping_port),
        with_port("refused", refused_port),
        target_for(&sshd),
    ];

    let transport = Transport::new(isolated_options());
    let (tx, mut rx) = mpsc::channel(16);
    let started = Instant::now();
    let fan = tokio::spawn({
        let transport = transport.clone();
        async move { fanout::run_all(&transport, targets, ExecRequest::command("echo hi"), 3, tx).await }
    });
    let mut finished: Vec<(usize, ExecResult, Duration)> = Vec::new();
    while let Some(event) = rx.recv().await {
        if let HostEvent::Finished { host, result } = event {
            finished.push((host, result, started.elapsed()));
        }
    }
    fan.await.unwrap();
    assert_eq!(finished.len(), 4);
    let by_host = |index: usize| finished.iter().find(|(host, ..)| *host == index).unwrap();

    for (index, phase) in [(0, "SSH handshake"), (1, "no connection")] {
        let (_, result, at) = by_host(index);
        let Status::Unreachable {
            reason: UnreachableReason::Timeout,
            detail,
        } = &result.status
        else {
            panic!("host {index}: expected a timeout, got {result:?}");
        };
        assert!(detail.contains(phase), "{detail}");
        assert!(
            *at < Duration::from_secs(5),
            "connect timeout not kept: {at:?}"
        );
    }
    let (_, refused_result, _) = by_host(2);
    assert!(
        matches!(
            refused_result.status,
            Status::Unreachable {
                reason: UnreachableReason::Refused,
                ..
            }
        ),
        "{refused_result:?}"
    );
    let (_, good_result, good_at) = by_host(3);
    assert_eq!(good_result.status, Status::Ok);
    assert!(
        *good_at < Duration::from_secs(2),
        "a dead host delayed a good one: {good_at:?}"
    );
    drop(silent);
}

/// A loopback relay to `port` that holds every reply of the server for
/// `delay` before passing it on: a server slowed down by many handshakes
/// at once. Returns the relay's port.
async fn slow_relay(port: u16, delay: Duration) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                let _ = server_write.shutdown().await;
            });
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = server_read.read(&mut buffer).await {
                    tokio::time::sleep(delay).await;
                    if client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = client_write.shutdown().await;
            });
        }
    });
    relay_port
}

#[tokio::test]
async fn a_slow_but_answering_server_is_not_timed_out() {
    let sshd = SshdFixture::start();
    // Every reply takes 1 s: the handshake's several round trips take
    // longer than the 2 s connect timeout, but the server is never silent
    // that long.
    let port = slow_relay(sshd.port, Duration::from_secs(1)).await;
    let mut target = target_through_relay(&sshd, port);
    target.connect_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let out = run(&target, ExecRequest::command("echo slow")).await;
    assert_status(&out, &Status::Ok);
    assert_eq!(out.stdout(), "slow\n");
    assert!(
        started.elapsed() > Duration::from_secs(3),
        "the relay did not slow the handshake: {:?}",
        started.elapsed()
    );
}

/// A target that reaches `sshd` through a relay listening on `port`, with the
/// relay's address in its own known_hosts file.
fn target_through_relay(sshd: &SshdFixture, port: u16) -> Target {
    let mut target = target_for(sshd);
    target.port = port;
    let known = sshd.path(&format!("known_hosts_relay_{port}"));
    std::fs::write(
        &known,
        format!("[127.0.0.1]:{port} {}\n", sshd.host_public_key),
    )
    .unwrap();
    target.user_known_hosts = vec![known];
    target
}

/// A loopback relay to `port` that resets the first `resets` connections once
/// the client has spoken (the way a server whose listen backlog overflowed
/// does) and passes the later ones through. Returns the relay's port and how
/// many connections it accepted.
async fn resetting_relay(port: u16, resets: u32) -> (u16, Arc<AtomicU32>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicU32::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let number = counter.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                if number <= resets {
                    let mut banner = [0u8; 64];
                    let _ = client.read(&mut banner).await;
                    // Closing with a zero linger sends a reset instead of a FIN.
                    client.set_zero_linger().unwrap();
                    drop(client);
                    return;
                }
                let mut server = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (relay_port, accepted)
}

#[tokio::test]
async fn connections_reset_before_login_are_dialled_again() {
    let sshd = SshdFixture::start();
    let (port, accepted) = resetting_relay(sshd.port, 3).await;
    let out = run(
        &target_through_relay(&sshd, port),
        ExecRequest::command("echo through"),
    )
    .await;
    assert_status(&out, &Status::Ok);
    assert_eq!(out.stdout(), "through\n");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        4,
        "three resets, one login"
    );

    // A host that resets every connection is tried a bounded number of times and
    // says so.
    let (port, accepted) = resetting_relay(sshd.port, u32::MAX).await;
    let started = Instant::now();
    let out = run(
        &target_through_relay(&sshd, port),
        ExecRequest::command("echo never"),
    )
    .await;
    let Status::Unreachable { detail, .. } = &out.result.status else {
        panic!("expected unreachable, got {:?}", out.result);
    };
    assert!(detail.contains("reset"), "{detail}");
    assert!(detail.contains("after 5 attempts"), "{detail}");
    assert_eq!(accepted.load(Ordering::SeqCst), 5);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the waits between attempts are short: {:?}",
        started.elapsed()
    );
}

/// A loopback relay to `port` that holds the first `stalls` connections open
/// and, after `first_words` (nothing at all, or a server's banner), never says
/// anything (the way a connection lost in sshd's overflowing accept queue
/// looks from the client), and passes the later ones through. Returns the
/// relay's port and how many connections it accepted.
async fn stalling_relay(
    port: u16,
    stalls: u32,
    first_words: &'static [u8],
) -> (u16, Arc<AtomicU32>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicU32::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let number = counter.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                if number <= stalls {
                    let _ = client.write_all(first_words).await;
                    tokio::time::sleep(Duration::from_secs(600)).await;
                    return;
                }
                let mut server = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (relay_port, accepted)
}

#[tokio::test]
async fn a_connection_the_server_never_spoke_on_is_dialled_once_more() {
    let sshd = SshdFixture::start();
    let stalling = |port| {
        let mut target = target_through_relay(&sshd, port);
        target.connect_timeout = Duration::from_secs(1);
        target
    };
    let (port, accepted) = stalling_relay(sshd.port, 1, b"").await;
    let out = run(&stalling(port), ExecRequest::command("echo through")).await;
    assert_status(&out, &Status::Ok);
    assert_eq!(out.stdout(), "through\n");
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "one silent, one login");

    // A host that never speaks costs two connect timeouts, not five.
    let (port, accepted) = stalling_relay(sshd.port, u32::MAX, b"").await;
    let out = run(&stalling(port), ExecRequest::command("echo never")).await;
    let Status::Unreachable { detail, .. } = &out.result.status else {
        panic!("expected unreachable, got {:?}", out.result);
    };
    assert!(detail.contains("silent for 1s"), "{detail}");
    assert!(detail.contains("after 2 attempts"), "{detail}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);

    // A server that said its first words and then stalled is a slow server, not
    // a lost connection: one timeout, no second dial.
    let (port, accepted) = stalling_relay(sshd.port, u32::MAX, b"SSH-2.0-stalled\r\n").await;
    let out = run(&stalling(port), ExecRequest::command("echo never")).await;
    let Status::Unreachable { detail, .. } = &out.result.status else {
        panic!("expected unreachable, got {:?}", out.result);
    };
    assert!(!detail.contains("attempts"), "{detail}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

/// A loopback relay to `port` that resets every connection it carries as soon
/// as the file `signal` exists. Returns the relay's port and how many
/// connections it accepted.
async fn relay_reset_on(port: u16, signal: std::path::PathBuf) -> (u16, Arc<AtomicU32>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicU32::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let signal = signal.clone();
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap();
                let signalled = async {
                    while !signal.exists() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    () = signalled => {}
                }
                client.set_zero_linger().unwrap();
            });
        }
    });
    (relay_port, accepted)
}

#[tokio::test]
async fn a_connection_reset_after_the_command_started_is_not_dialled_again() {
    let sshd = SshdFixture::start();
    let ran = sshd.path("ran");
    let signal = sshd.path("started");
    let (port, accepted) = relay_reset_on(sshd.port, signal.clone()).await;
    let out = run(
        &target_through_relay(&sshd, port),
        ExecRequest::command(format!(
            "echo ran >> {}; touch {}; sleep 3",
            ran.display(),
            signal.display()
        )),
    )
    .await;
    assert!(!out.result.status.is_ok(), "{:?}", out.result);
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "ran\n", "ran once");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "no second connection");
}

#[tokio::test]
async fn local_connection_has_the_same_model() {
    let target = Target::local("localhost");
    let out = run(
        &target,
        ExecRequest::command("echo local; exit 4").env("X", "y"),
    )
    .await;
    assert_eq!(out.result.exit, Some(Exit::Code(4)));
    assert_eq!(out.stdout(), "local\n");
}
