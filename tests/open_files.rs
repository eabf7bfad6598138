//! The open-file limit: jobdeck raises its soft limit to the hard one at
//! start, and a run whose connections cannot fit says so before anything
//! connects or is recorded. The binary runs under a lowered RLIMIT_NOFILE
//! against the sshd fixture (tests/support).

mod cli;
mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use cli::Outcome;
use support::SshdFixture;

struct Lab {
    dir: tempfile::TempDir,
    sshd: SshdFixture,
}

impl Lab {
    fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().unwrap(),
            sshd: SshdFixture::start(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `count` hosts, every one the fixture's sshd.
    fn inventory(&self, count: usize) -> PathBuf {
        let mut text = String::from("[fleet]\n");
        for i in 1..=count {
            writeln!(text, "h{i:03}").unwrap();
        }
        writeln!(
            text,
            "[fleet:vars]\nansible_host=127.0.0.1\nansible_port={port}\nansible_user={user}\n\
             ansible_ssh_private_key_file={key}\n\
             ansible_ssh_common_args='-o UserKnownHostsFile={known}'",
            port = self.sshd.port,
            user = self.sshd.user,
            key = self.sshd.client_key.display(),
            known = self.sshd.known_hosts.display(),
        )
        .unwrap();
        let path = self.path("hosts.ini");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `jobdeck ARGS` started with the open-file limits `soft:hard`.
    fn run_limited(&self, soft: u64, hard: u64, inventory: &Path, args: &[&str]) -> Outcome {
        let mut std_cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("jobdeck"));
        // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut std_cmd, move || {
                let limit = libc::rlimit {
                    rlim_cur: soft,
                    rlim_max: hard,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut cmd = Command::from_std(std_cmd);
        cmd.current_dir(self.dir.path())
            .arg("--journal")
            .arg(self.path("journal.db"))
            .arg("-i")
            .arg(inventory)
            .args(args)
            .env_remove("SSH_AUTH_SOCK")
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .timeout(Duration::from_secs(120));
        cli::run(&mut cmd)
    }

    /// The runs the journal holds (`jobdeck history --json`).
    fn runs_recorded(&self) -> usize {
        let out = self.run_limited(1024, 1024, &self.path("hosts.ini"), &["history", "--json"]);
        assert_eq!(out.code, 0, "history: {}", out.stderr);
        let runs: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        runs.as_array().unwrap().len()
    }
}

#[test]
fn a_run_wider_than_the_limit_is_refused_before_connecting() {
    let lab = Lab::new();
    let inventory = lab.inventory(200);
    // The fixture's own probe for the banner is one.
    let accepted = lab.sshd.connections_accepted();
    let out = lab
        .run_limited(
            64,
            64,
            &inventory,
            &["--run", "-c", "true", "--forks", "1000"],
        )
        .expect(2);
    out.stderr_has("too many open files for this run: forks 1000 runs 200 host(s) at once")
        .stderr_has("the open-file limit (ulimit -n) is 64")
        .stderr_has("the hard limit is 64, so raise it first (`ulimit -Hn ")
        .stderr_has("or lower the forks to ")
        .stderr_has("Nothing was run.");
    assert_eq!(
        out.stdout, "",
        "nothing is reported for a run that never started"
    );
    assert_eq!(
        lab.sshd.connections_accepted(),
        accepted,
        "no host was contacted"
    );
    assert_eq!(lab.runs_recorded(), 0, "no run was recorded");
}

#[test]
fn pre_flight_counts_every_host_it_keeps_connected() {
    let lab = Lab::new();
    let inventory = lab.inventory(200);
    // The fixture's own probe for the banner is one.
    let accepted = lab.sshd.connections_accepted();
    let out = lab
        .run_limited(
            256,
            256,
            &inventory,
            &[
                "--run",
                "-c",
                "true",
                "--forks",
                "10",
                "--preflight",
                "warn",
            ],
        )
        .expect(2);
    out.stderr_has("pre-flight keeps every host's connection open until its turn: 200 host(s)")
        .stderr_has("run without pre-flight");
    assert_eq!(lab.sshd.connections_accepted(), accepted);
}

#[test]
fn the_soft_limit_is_raised_to_the_hard_one_so_a_wide_run_fits() {
    let lab = Lab::new();
    let inventory = lab.inventory(60);
    // 60 hosts at once need more than a soft limit of 64 but fit in 4096.
    let out = lab
        .run_limited(
            64,
            4096,
            &inventory,
            &["--run", "-c", "echo hi", "--forks", "60"],
        )
        .expect(0);
    assert!(
        out.stdout.contains("60 hosts: 60 ok"),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(lab.runs_recorded(), 1);
}
