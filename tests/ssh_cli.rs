//! `jobdeck ssh HOST -- CMD` against the sshd fixture (tests/support): exit
//! statuses passed through, 255 when the host cannot be reached, an unknown
//! or ambiguous host refused, and every session an audit row in a real
//! journal (`--list`), its output kept masked and capped when the config
//! says so (`--output`). The interactive shell is tests/ssh_tmux.rs.

mod cli;
mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use cli::Outcome;
use serde_json::Value;
use std::process::Command;
use support::SshdFixture;

struct Lab {
    dir: tempfile::TempDir,
    sshd: SshdFixture,
}

impl Lab {
    fn new() -> Lab {
        let lab = Lab {
            dir: tempfile::tempdir().unwrap(),
            sshd: SshdFixture::start(),
        };
        std::fs::create_dir_all(lab.path("config/jobdeck")).unwrap();
        let closed = support::free_port();
        let text = format!(
            "[web]\n{}\n{}\n[db]\n{} db_password=hunter22\n[gone]\n{}\n",
            lab.sshd.host_line("web1", lab.sshd.port),
            lab.sshd.host_line("web2", lab.sshd.port),
            lab.sshd.host_line("db1", lab.sshd.port),
            lab.sshd.host_line("gone1", closed),
        );
        std::fs::write(lab.path("hosts.ini"), text).unwrap();
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn keep_output(&self) {
        std::fs::write(
            self.path("config/jobdeck/config.toml"),
            "[ssh]\nkeep_output = true\n",
        )
        .unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jobdeck"));
        cmd.current_dir(self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("HOME", self.dir.path())
            .env_remove("SSH_AUTH_SOCK")
            .arg("--journal")
            .arg(self.path("journal.db"))
            .args(["ssh", "-i"])
            .arg(self.path("hosts.ini"))
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    fn ssh(&self, args: &[&str]) -> Outcome {
        let out = self.command(args).output().unwrap();
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn sessions(&self) -> Vec<Value> {
        let out = self.ssh(&["--list", "--json"]).expect(0);
        serde_json::from_str::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

#[test]
fn a_command_exits_with_the_remote_status_and_is_recorded() {
    let lab = Lab::new();
    let out = lab
        .ssh(&["web1", "--", "echo", "hello from; exit 7"])
        .expect(7);
    assert_eq!(out.stdout, "hello from\n");
    let out = lab.ssh(&["web1", "--", "echo err >&2"]).expect(0);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", "err\n"));

    let sessions = lab.sessions();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    // Newest first.
    assert_eq!(sessions[0]["exit_code"], 0);
    assert_eq!(sessions[1]["exit_code"], 7);
    assert_eq!(sessions[1]["host"], "web1");
    assert_eq!(sessions[1]["address"], "127.0.0.1");
    assert_eq!(sessions[1]["port"], lab.sshd.port);
    assert_eq!(sessions[1]["command"], "echo hello from; exit 7");
    assert!(sessions[1]["ended_at"].is_i64());
    assert_eq!(
        sessions[1]["output_kept"], false,
        "output is kept only when the config says so"
    );
    let table = lab.ssh(&["--list"]).expect(0).stdout;
    assert!(table.contains("echo hello from; exit 7"), "{table}");
}

#[test]
fn an_unreachable_host_exits_255_and_its_row_says_why() {
    let lab = Lab::new();
    let out = lab.ssh(&["gone1", "--", "true"]).expect(255);
    out.stderr_has("gone1").stderr_has("refused");
    let sessions = lab.sessions();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0]["exit_code"].is_null());
    assert!(
        sessions[0]["error"].as_str().unwrap().contains("refused"),
        "{sessions:?}"
    );
}

#[test]
fn an_unknown_host_or_a_pattern_of_several_is_refused_before_connecting() {
    let lab = Lab::new();
    // The fixture's own check that sshd answers is one.
    let before = lab.sshd.connections_accepted();
    lab.ssh(&["nosuch", "--", "true"])
        .expect(2)
        .stderr_has("'nosuch' matched no hosts");
    let out = lab.ssh(&["web", "--", "true"]).expect(2);
    out.stderr_has("pattern 'web' matches 2 hosts (web1, web2)");
    lab.ssh(&["web*", "--", "true"])
        .expect(2)
        .stderr_has("matches 2 hosts");
    assert!(
        !lab.path("journal.db").exists() || lab.sessions().is_empty(),
        "nothing is recorded for a session never opened"
    );
    assert_eq!(lab.sshd.connections_accepted(), before);
}

#[test]
fn kept_output_is_masked_and_capped_like_run_output() {
    let lab = Lab::new();
    lab.keep_output();
    // 6.9 MB of numbered lines, past the 4 MiB cap; the secret in the head.
    lab.ssh(&["db1", "--", "echo pw=hunter22; seq 1 1000000"])
        .expect(0);
    let sessions = lab.sessions();
    assert_eq!(sessions[0]["output_kept"], true);
    assert_eq!(sessions[0]["output_bytes"], 6_888_896 + 12);
    let id = sessions[0]["id"].as_i64().unwrap().to_string();
    let kept = lab.ssh(&["--output", &id]).expect(0).stdout;
    assert!(kept.starts_with("pw=***\n1\n2\n"), "{}", &kept[..40]);
    assert!(!kept.contains("hunter22"));
    assert!(kept.ends_with("999999\n1000000\n"));
    assert!(
        kept.contains("not kept here"),
        "the marker says what was dropped"
    );
    assert!(
        kept.len() < 4 * 1024 * 1024 + 200,
        "{} bytes kept",
        kept.len()
    );

    // Without the option nothing is kept.
    std::fs::remove_file(lab.path("config/jobdeck/config.toml")).unwrap();
    lab.ssh(&["db1", "--", "echo again"]).expect(0);
    let id = lab.sessions()[0]["id"].as_i64().unwrap().to_string();
    lab.ssh(&["--output", &id])
        .expect(2)
        .stderr_has("kept no output");
}

#[test]
fn a_session_is_recorded_before_it_ends_so_a_killed_one_still_shows() {
    let lab = Lab::new();
    let mut child = lab
        .command(&["web1", "--", "sleep 20"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let open = loop {
        let sessions = if lab.path("journal.db").exists() {
            lab.sessions()
        } else {
            Vec::new()
        };
        if let Some(row) = sessions.first() {
            break row.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no audit row while the session runs"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(open["ended_at"].is_null(), "{open}");
    child.kill().unwrap();
    child.wait().unwrap();
    let after = &lab.sessions()[0];
    assert!(after["ended_at"].is_null() && after["exit_code"].is_null());
    let table = lab.ssh(&["--list"]).expect(0).stdout;
    assert!(table.contains("open"), "{table}");
}
