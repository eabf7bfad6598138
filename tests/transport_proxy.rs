//! ProxyJump and ProxyCommand against two real sshds: a jump host and a target.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jobdeck::inventory::VarMap;
use jobdeck::transport::fanout::{self, HostEvent};
use jobdeck::transport::{
    self, ExecRequest, ExecResult, KnownHosts, OutputChunk, OutputStream, Proxy, ResolveOptions,
    SshConfig, Status, Target, Transport, TransportOptions, resolve_target,
};
use serde_json::Value;
use support::{SshdFixture, free_port, processes_matching};
use tokio::sync::mpsc;

fn isolated_options() -> TransportOptions {
    TransportOptions {
        known_hosts: Arc::new(KnownHosts::new()),
        passphrase_prompt: Arc::new(transport::NoPassphrase),
        agent_socket: None,
        default_identity_files: Vec::new(),
    }
}

fn vars(pairs: &[(&str, String)]) -> VarMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect()
}

/// An ssh_config that describes the jump sshd as host `jumpbox`.
fn jump_config(dir: &Path, jump: &SshdFixture) -> SshConfig {
    let file = dir.join("ssh_config");
    std::fs::write(
        &file,
        format!(
            "Host jumpbox\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  \
             IdentitiesOnly yes\n  UserKnownHostsFile {}\n",
            jump.port,
            jump.user,
            jump.client_key.display(),
            jump.known_hosts.display()
        ),
    )
    .unwrap();
    SshConfig::load(Some(&file)).unwrap()
}

/// Inventory variables for a target behind the jump host, the way a user writes them.
fn target_vars(target: &SshdFixture, extra_args: &str) -> VarMap {
    vars(&[
        ("ansible_host", "127.0.0.1".into()),
        ("ansible_port", target.port.to_string()),
        ("ansible_user", target.user.clone()),
        (
            "ansible_ssh_private_key_file",
            target.client_key.display().to_string(),
        ),
        (
            "ansible_ssh_common_args",
            format!(
                "{extra_args} -o UserKnownHostsFile={} -o IdentitiesOnly=yes",
                target.known_hosts.display()
            ),
        ),
    ])
}

fn resolve(name: &str, vars: &VarMap, config: &SshConfig) -> Target {
    let options = ResolveOptions {
        home: Some("/nonexistent-home".into()),
        ..ResolveOptions::default()
    };
    resolve_target(name, vars, config, &options).unwrap().target
}

async fn run_all(
    transport: &Transport,
    targets: Vec<Target>,
    command: &str,
) -> Vec<(ExecResult, String)> {
    let count = targets.len();
    let (tx, mut rx) = mpsc::channel(64);
    let transport = transport.clone();
    let request = ExecRequest::command(command).timeout(Duration::from_secs(20));
    let runner =
        tokio::spawn(async move { fanout::run_all(&transport, targets, request, 8, tx).await });
    let mut results: Vec<Option<ExecResult>> = vec![None; count];
    let mut outputs = vec![String::new(); count];
    while let Some(event) = rx.recv().await {
        match event {
            HostEvent::Output { host, chunk } if chunk.stream == OutputStream::Stdout => {
                outputs[host].push_str(&String::from_utf8_lossy(&chunk.data))
            }
            HostEvent::Finished { host, result } => results[host] = Some(result),
            _ => {}
        }
    }
    runner.await.unwrap();
    results
        .into_iter()
        .map(Option::unwrap)
        .zip(outputs)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_jump_through_a_second_sshd_shares_one_jump_connection() {
    let jump = SshdFixture::start();
    let target = SshdFixture::start();
    let config = jump_config(jump.dir.path(), &jump);
    let targets: Vec<Target> = (1..=4)
        .map(|i| {
            resolve(
                &format!("app{i}"),
                &target_vars(&target, "-J jumpbox"),
                &config,
            )
        })
        .collect();
    assert!(matches!(&targets[0].proxy, Proxy::Jump(hops) if hops[0].port == jump.port));
    let before_jump = jump.connections_accepted();
    let before_target = target.connections_accepted();

    let transport = Transport::new(isolated_options());
    let results = run_all(&transport, targets.clone(), "echo via-jump $SSH_CONNECTION").await;
    for (result, stdout) in &results {
        assert_eq!(result.status, Status::Ok, "{result:?}");
        assert!(stdout.starts_with("via-jump 127.0.0.1"), "{stdout}");
    }
    assert_eq!(transport.jump_connections_opened(), 1);
    // A second round reuses the same jump connection.
    let again = run_all(&transport, targets, "true").await;
    assert!(again.iter().all(|(r, _)| r.status == Status::Ok));
    assert_eq!(transport.jump_connections_opened(), 1);
    // sshd's own log agrees: one connection to the jump host, eight to the target.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(jump.connections_accepted() - before_jump, 1);
    assert_eq!(target.connections_accepted() - before_target, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_jump_host_makes_every_dependent_target_unreachable_naming_it() {
    let target = SshdFixture::start();
    let dir = tempfile::tempdir().unwrap();
    let dead_port = free_port();
    let file = dir.path().join("ssh_config");
    std::fs::write(
        &file,
        format!("Host deadjump\n  HostName 127.0.0.1\n  Port {dead_port}\n  ConnectTimeout 3\n"),
    )
    .unwrap();
    let config = SshConfig::load(Some(&file)).unwrap();
    let targets: Vec<Target> = (1..=3)
        .map(|i| {
            resolve(
                &format!("app{i}"),
                &target_vars(&target, "-J deadjump"),
                &config,
            )
        })
        .collect();
    let transport = Transport::new(isolated_options());
    let results = run_all(&transport, targets, "true").await;
    for (result, _) in &results {
        match &result.status {
            Status::Unreachable { detail, .. } => {
                assert!(detail.contains("jump host deadjump"), "{detail}");
                assert!(detail.contains(&dead_port.to_string()), "{detail}");
            }
            other => panic!("expected unreachable, got {other:?}"),
        }
    }
    assert_eq!(transport.jump_connections_opened(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_jump_host_key_is_refused_and_named() {
    let jump = SshdFixture::start();
    let target = SshdFixture::start();
    let config = jump_config(jump.dir.path(), &jump);
    std::fs::write(&jump.known_hosts, "").unwrap();
    let app = resolve("app", &target_vars(&target, "-J jumpbox"), &config);
    let result = Transport::new(isolated_options())
        .run(&app, &ExecRequest::command("true"), &mpsc::channel(8).0)
        .await;
    match &result.status {
        Status::Unreachable { detail, .. } => {
            assert!(detail.contains("jump host jumpbox"), "{detail}");
            assert!(detail.contains("host key rejected"), "{detail}");
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jump_host_refusing_forwarding_is_explained() {
    let jump = SshdFixture::start_with("AllowTcpForwarding no\n");
    let target = SshdFixture::start();
    let config = jump_config(jump.dir.path(), &jump);
    let app = resolve("app", &target_vars(&target, "-J jumpbox"), &config);
    let result = Transport::new(isolated_options())
        .run(&app, &ExecRequest::command("true"), &mpsc::channel(8).0)
        .await;
    match &result.status {
        Status::Unreachable { detail, .. } => {
            assert!(detail.contains("AllowTcpForwarding"), "{detail}");
            assert!(detail.contains("jumpbox"), "{detail}");
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
}

/// Seed 000's form: `-o 'ProxyCommand ssh -W %h:%p user@jump -p PORT'`, with the
/// OpenSSH client confined to throwaway keys and known_hosts.
fn seed_style_proxy_command(jump: &SshdFixture) -> String {
    format!(
        "-o 'ProxyCommand ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes \
         -o UserKnownHostsFile={} -i {} -W %h:%p {}@127.0.0.1 -p {}'",
        jump.known_hosts.display(),
        jump.client_key.display(),
        jump.user,
        jump.port
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_command_carries_the_session_and_is_killed_afterwards() {
    let jump = SshdFixture::start();
    let target = SshdFixture::start();
    let args = seed_style_proxy_command(&jump);
    let app = resolve("app", &target_vars(&target, &args), &SshConfig::empty());
    let Proxy::Command(command) = &app.proxy else {
        panic!("expected a ProxyCommand, got {:?}", app.proxy);
    };
    let marker = format!("-W 127.0.0.1:{}", target.port);
    assert!(command.contains(&marker), "{command}");

    let transport = Transport::new(isolated_options());
    let session = transport
        .connect(&app)
        .await
        .unwrap_or_else(|r| panic!("{r:?}"));
    assert_eq!(processes_matching(&marker).len(), 1, "the proxy runs");
    let (tx, mut rx) = mpsc::channel::<OutputChunk>(8);
    let result = session
        .exec(&ExecRequest::command("echo through-proxy-command"), &tx)
        .await;
    drop(tx);
    assert_eq!(result.status, Status::Ok, "{result:?}");
    let mut stdout = Vec::new();
    while let Some(chunk) = rx.recv().await {
        stdout.extend_from_slice(&chunk.data);
    }
    assert_eq!(String::from_utf8_lossy(&stdout), "through-proxy-command\n");
    session.close().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !processes_matching(&marker).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the ProxyCommand outlived its session: {:?}",
            processes_matching(&marker)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_proxy_command_reports_what_it_said() {
    let target = SshdFixture::start();
    let app = resolve(
        "app",
        &target_vars(
            &target,
            "-o 'ProxyCommand sh -c \"echo no route to %h >&2; exit 3\"'",
        ),
        &SshConfig::empty(),
    );
    let result = Transport::new(isolated_options())
        .run(&app, &ExecRequest::command("true"), &mpsc::channel(8).0)
        .await;
    match &result.status {
        Status::Unreachable { detail, .. } => {
            assert!(detail.contains("ProxyCommand"), "{detail}");
            assert!(detail.contains("no route to 127.0.0.1"), "{detail}");
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
}
