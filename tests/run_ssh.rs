//! `jobdeck --run` over real SSH: the binary against the sshd fixture
//! (tests/support), with an inventory whose hosts all point at it.

mod cli;
mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use cli::Outcome;
use serde_json::Value;
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

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// An INI inventory: every host is the fixture's sshd, logged into as
    /// root with the fixture's key and known_hosts.
    fn inventory(&self, hosts: &[&str], vars: &[(&str, &str)]) -> PathBuf {
        let mut text = String::from("[fleet]\n");
        for host in hosts {
            writeln!(
                text,
                "{host} ansible_host=127.0.0.1 ansible_port={port} ansible_user={user} \
                 ansible_ssh_private_key_file={key} \
                 ansible_ssh_common_args='-o UserKnownHostsFile={known}'",
                port = self.sshd.port,
                user = self.sshd.user,
                key = self.sshd.client_key.display(),
                known = self.sshd.known_hosts.display(),
            )
            .unwrap();
        }
        text.push_str("[fleet:vars]\n");
        for (k, v) in vars {
            writeln!(text, "{k}={v}").unwrap();
        }
        self.write("hosts.ini", &text)
    }

    fn cmd(&self, inventory: &Path) -> Command {
        let mut cmd = Command::cargo_bin("jobdeck").unwrap();
        cmd.current_dir(self.dir.path())
            .arg("--journal")
            .arg(self.path("journal.db"))
            .arg("-i")
            .arg(inventory)
            // Only the inventory's key: no agent, no ~/.ssh defaults.
            .env_remove("SSH_AUTH_SOCK")
            .env("HOME", self.dir.path())
            .timeout(Duration::from_secs(60));
        cmd
    }

    fn run(&self, cmd: &mut Command) -> Outcome {
        cli::run(cmd)
    }

    fn last_export(&self, inventory: &Path) -> Value {
        let history = self
            .run(self.cmd(inventory).args(["history", "--json"]))
            .expect(0);
        let history: Value = serde_json::from_str(&history.stdout).unwrap();
        let id = history[0]["id"].as_i64().unwrap();
        let out = self
            .run(
                self.cmd(inventory)
                    .args(["export", &id.to_string(), "--json"]),
            )
            .expect(0);
        serde_json::from_str(&out.stdout).unwrap()
    }
}

const COMMAND: &str = "echo hi; echo err >&2; exit 3";

// ------------------------------------------------------ 11. ad-hoc over SSH

#[test]
fn adhoc_over_ssh_reports_blocks_gathers_and_json() {
    let lab = Lab::new();
    let inventory = lab.inventory(&["web1", "web2", "web3"], &[]);

    let lines = lab
        .run(lab.cmd(&inventory).args(["--run", "-c", COMMAND]))
        .expect(1);
    // One block per host: its header with the exit code, stdout, then
    // stderr with every line marked.
    let out_lines: Vec<&str> = lines.stdout.lines().collect();
    for host in ["web1", "web2", "web3"] {
        let at = out_lines
            .iter()
            .position(|l| l.contains(&format!("[FAILED] {host} (")))
            .unwrap_or_else(|| panic!("no block for {host}:\n{}", lines.stdout));
        assert!(out_lines[at].ends_with("): exit 3"), "{}", out_lines[at]);
        assert_eq!(out_lines[at + 1..at + 3], ["hi", "stderr: err"], "{host}");
    }
    let summary = lines.stdout.lines().last().unwrap();
    assert!(summary.starts_with("3 hosts: 3 failed in "), "{summary}");
    let export = lab.last_export(&inventory);
    for host in export["hosts"].as_array().unwrap() {
        assert_eq!(host["status"], "failed", "{host}");
        assert_eq!(host["exit_code"], 3, "{host}");
    }
    let streams: Vec<(&str, &str)> = export["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["host"] == 0)
        .map(|c| (c["stream"].as_str().unwrap(), c["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        streams
            .iter()
            .filter(|(s, _)| *s == "stdout")
            .map(|(_, t)| *t)
            .collect::<String>(),
        "hi\n"
    );
    assert_eq!(
        streams
            .iter()
            .filter(|(s, _)| *s == "stderr")
            .map(|(_, t)| *t)
            .collect::<String>(),
        "err\n"
    );

    // --gather: one block for the three identical hosts, their names folded.
    let gather = lab
        .run(
            lab.cmd(&inventory)
                .args(["--run", "-c", COMMAND, "--gather"]),
        )
        .expect(1);
    let folded = "web[1-3] (3): FAILED, exit 3\n";
    let at = gather
        .stdout
        .find(folded)
        .unwrap_or_else(|| panic!("{}", gather.stdout));
    let block: Vec<&str> = gather.stdout[at..].lines().take(4).collect();
    assert!(block[1].starts_with("---"), "{block:?}");
    assert_eq!(block[2..], ["hi", "stderr: err"], "{}", gather.stdout);
    assert_eq!(
        gather.stdout.matches("hi\n").count(),
        1,
        "{}",
        gather.stdout
    );

    // --json: one object per line.
    let json = lab
        .run(lab.cmd(&inventory).args(["--run", "-c", COMMAND, "--json"]))
        .expect(1);
    let events: Vec<Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let kinds =
        |kind: &str| -> Vec<&Value> { events.iter().filter(|e| e["event"] == kind).collect() };
    assert_eq!(kinds("instance_started").len(), 1);
    assert_eq!(
        kinds("instance_started")[0]["hosts"],
        serde_json::json!(["web1", "web2", "web3"])
    );
    let finished = kinds("step_finished");
    assert_eq!(finished.len(), 3);
    for event in finished {
        assert_eq!(event["outcome"]["status"], "failed", "{event}");
        assert_eq!(event["outcome"]["exit_code"], 3, "{event}");
    }
    let output = kinds("output");
    for host in 0..3 {
        let of = |stream: &str| -> String {
            output
                .iter()
                .filter(|e| e["host"] == host && e["stream"] == stream)
                .map(|e| e["data"].as_str().unwrap())
                .collect()
        };
        assert_eq!(of("stdout"), "hi\n", "host {host}");
        assert_eq!(of("stderr"), "err\n", "host {host}");
    }
    let end = kinds("instance_finished");
    assert_eq!(end.len(), 1);
    assert_eq!(end[0]["status"], "failed");
}

// --------------------------------------------- 6. params quoting over SSH

const TRICKY: &str = " a \"double\" 'single' $HOME ${x} `id` \\n back\\slash a=b\n line two \t\n";
const HANDOFF: &str = "it's \"quoted\" $HOME  and  spaces = too";

#[test]
fn params_reach_ssh_scripts_byte_exact() {
    let lab = Lab::new();
    let marks = lab.path("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let inventory = lab.inventory(
        &["web1", "web2"],
        &[("marks", &marks.display().to_string())],
    );
    let flow = lab.write(
        "flows/quoting.yml",
        r#"name: quoting
params:
  value: {type: string, required: true}
steps:
  - name: write
    script: |
      #!/bin/sh
      printf '%s' "$value" > "$marks/$JOBDECK_HOST.env"
      printf '%s' "$1" > "$marks/$JOBDECK_HOST.arg"
      printf '%s|' "$#" > "$marks/$JOBDECK_HOST.argc"
      echo "::set handoff=it's \"quoted\" \$HOME  and  spaces = too"
    args: ["${value}"]
  - name: read
    command: printf '%s' "$handoff" > "$marks/$JOBDECK_HOST.handoff"
"#,
    );
    lab.run(
        lab.cmd(&inventory)
            .arg("--run")
            .arg(&flow)
            .arg("--param")
            .arg(format!("value={TRICKY}")),
    )
    .expect(0);
    for host in ["web1", "web2"] {
        let read = |ext: &str| std::fs::read(marks.join(format!("{host}.{ext}"))).unwrap();
        assert_eq!(read("env"), TRICKY.as_bytes(), "{host} env");
        assert_eq!(read("arg"), TRICKY.as_bytes(), "{host} argument");
        assert_eq!(read("argc"), b"1|", "{host} got one argument");
        assert_eq!(read("handoff"), HANDOFF.as_bytes(), "{host} ::set value");
    }
}

// ------------------------------- resume keeps the run's ssh_config (-F)

#[test]
fn resume_connects_the_way_the_run_did() {
    let lab = Lab::new();
    let marks = lab.path("marks");
    std::fs::create_dir_all(&marks).unwrap();
    // The inventory names hosts only; -F says how to reach them.
    let inventory = lab.write(
        "hosts.ini",
        &format!(
            "[fleet]\nweb1\nweb2\nweb3\n[fleet:vars]\nmarks={}\n",
            marks.display()
        ),
    );
    let config = lab.write(
        "ssh_config",
        &format!(
            "Host web*\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  \
             IdentitiesOnly yes\n  UserKnownHostsFile {}\n",
            lab.sshd.port,
            lab.sshd.user,
            lab.sshd.client_key.display(),
            lab.sshd.known_hosts.display()
        ),
    );
    let command = r#"echo ran >> "$marks/$JOBDECK_HOST"; [ "$JOBDECK_HOST" != web1 ]"#;
    let out = lab
        .run(
            lab.cmd(&inventory)
                .args(["--run", "-c", command, "--batches", "1 100%", "-F"])
                .arg(&config),
        )
        .expect(4);
    assert!(out.stdout.contains("resume 1"), "{}", out.stdout);
    let resumed = lab.run(lab.cmd(&inventory).args(["resume", "1"])).expect(1);
    let export = lab.last_export(&inventory);
    let statuses: Vec<(&str, &str)> = export["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["name"].as_str().unwrap(), h["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        vec![("web1", "failed"), ("web2", "ok"), ("web3", "ok")],
        "{}\n{}",
        resumed.stdout,
        resumed.stderr
    );
    for host in ["web1", "web2", "web3"] {
        let runs = std::fs::read_to_string(marks.join(host)).unwrap_or_default();
        assert_eq!(runs, "ran\n", "{host}");
    }
}
