//! `jobdeck --run` end to end: the real binary, a journal in a temp dir,
//! temp inventories of `ansible_connection=local` hosts, flows written by
//! the tests (and the samples in sample-inventory/). Every test checks
//! exact facts: exit codes, what the journal recorded, and what the hosts'
//! scripts saw and did (marker files).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use cli::{Outcome, copy_sample_inventory, host_statuses, run, statuses};
use serde_json::Value;

mod cli;

// ---------------------------------------------------------------- helpers

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("jobdeck")
}

/// A jobdeck command on `journal`, run from `dir` (so no ./inventory or
/// user config is picked up by accident).
fn jobdeck(dir: &Path, journal: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir)
        .arg("--journal")
        .arg(journal)
        .env_remove("SSH_AUTH_SOCK")
        .timeout(Duration::from_secs(120));
    cmd
}

/// A sandbox: a temp dir with a journal path and helpers to write files.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn journal(&self) -> PathBuf {
        self.path("journal.db")
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn cmd(&self) -> Command {
        jobdeck(self.dir.path(), &self.journal())
    }

    /// An INI inventory of local hosts `h1..hN` with extra `[all:vars]`.
    fn local_inventory(&self, count: usize, vars: &[(&str, &str)]) -> PathBuf {
        let mut text = String::from("[lab]\n");
        for i in 1..=count {
            writeln!(text, "h{i} ansible_connection=local").unwrap();
        }
        text.push_str("[all:vars]\n");
        for (k, v) in vars {
            writeln!(text, "{k}={v}").unwrap();
        }
        self.write("hosts.ini", &text)
    }

    /// `--run FLOW -i INV` with the given extra arguments.
    fn run_flow(&self, flow: &Path, inventory: &Path, extra: &[&str]) -> Outcome {
        run(self
            .cmd()
            .arg("--run")
            .arg(flow)
            .arg("-i")
            .arg(inventory)
            .args(extra))
    }

    fn history(&self) -> Vec<Value> {
        let out = run(self.cmd().args(["history", "--json", "--limit", "0"])).expect(0);
        serde_json::from_str::<Value>(&out.stdout)
            .expect("history --json is JSON")
            .as_array()
            .unwrap()
            .clone()
    }

    /// The newest instance's id.
    fn last_id(&self) -> i64 {
        self.history()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .max()
            .expect("an instance in history")
    }

    fn export(&self, id: i64) -> Value {
        let out = run(self.cmd().args(["export", &id.to_string(), "--json"])).expect(0);
        serde_json::from_str(&out.stdout).expect("export --json is JSON")
    }

    /// Lines in a marker file (one per run of the host), 0 if missing.
    fn count_lines(&self, name: &str) -> usize {
        std::fs::read_to_string(self.path(name))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

/// Every stdout text of one host in an export, concatenated in order.
fn host_stdout(export: &Value, host: &str) -> String {
    let index = export["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == host)
        .unwrap_or_else(|| panic!("host {host} in export"))["index"]
        .as_u64()
        .unwrap();
    export["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["host"].as_u64() == Some(index) && c["stream"] == "stdout")
        .map(|c| c["text"].as_str().unwrap_or(""))
        .collect()
}

/// How full `/` is, as the sample's disk-space atom reads it.
fn root_used_percent() -> u32 {
    let out = std::process::Command::new("df")
        .args(["-P", "/"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().nth(1).unwrap();
    line.split_whitespace()
        .nth(4)
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap()
}

// ------------------------------------------------------- 1. sample flows

/// Every sample flow runs as shipped, with only the params it requires, on
/// the local group of a fresh copy of the sample: the default inventory
/// (`./sample-inventory`), no lab directory yet.
#[test]
fn sample_flows_run_on_the_local_group() {
    let lab = Lab::new();
    let deploy_root = lab.path("jobdeck-lab");
    copy_sample_inventory(&lab.path("sample-inventory"), &deploy_root);
    assert!(!deploy_root.exists());
    let flows = lab.path("sample-inventory/flows");
    let locals = ["local-1", "local-2", "local-3", "local-4"];
    let run_sample =
        |flow: &str, extra: &[&str]| run(lab.cmd().arg("--run").arg(flows.join(flow)).args(extra));

    // deploy
    run_sample("deploy.yml", &["-p", "version=1.4.2"]).expect(0);
    let deploy_id = lab.last_id();
    for host in locals {
        let base = deploy_root.join(host).join("lab-app");
        assert_eq!(
            std::fs::read_to_string(base.join("current/VERSION")).unwrap(),
            "1.4.2\n"
        );
        assert_eq!(
            std::fs::read_to_string(base.join("state")).unwrap(),
            "running\n"
        );
    }
    let export = lab.export(deploy_id);
    assert_eq!(
        host_statuses(&export),
        locals
            .iter()
            .map(|h| (h.to_string(), "ok".into()))
            .collect()
    );
    // "1 30% 100%" over 4 hosts.
    assert_eq!(
        export["instance"]["rollout"]["sizes"],
        serde_json::json!([1, 2, 1])
    );
    assert_eq!(export["instance"]["params"]["version"], "1.4.2");
    assert_eq!(
        export["steps"],
        serde_json::json!([
            "stop",
            "fetch",
            "install",
            "start",
            "verify",
            "rollback: restore previous release"
        ])
    );
    // Every atom ran is recorded with its sha256.
    let hashes = export["instance"]["atom_hashes"].as_object().unwrap();
    assert_eq!(hashes.len(), 6, "{hashes:?}");
    let sample_stop = std::fs::read(lab.path("sample-inventory/atoms/stop-service.sh")).unwrap();
    assert_eq!(
        hashes["stop-service"],
        sha256_hex(&sample_stop),
        "the recorded hash is the file's sha256"
    );

    // config-push: its destination directory does not exist yet.
    let dest = deploy_root.join("conf/app.conf");
    run_sample("config-push.yml", &[]).expect(0);
    let push_id = lab.last_id();
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        std::fs::read(repo().join("sample-inventory/files/app.conf")).unwrap()
    );
    for host in locals {
        assert!(
            deploy_root.join(host).join("lab-app/reloaded_at").exists(),
            "{host} reloaded"
        );
    }

    // health-check: disk, load and uptime. The disk check is `keep-going`
    // (the host fails, the other checks still run); the load check is
    // advisory (`continue`), so the run is ok even when this shared machine
    // is too loaded for it; the step result still says so.
    // The disk check fails (as it should) on a machine fuller than 95%.
    let disk_ok = root_used_percent() <= 95;
    run_sample("health-check.yml", &[]).expect(if disk_ok { 0 } else { 1 });
    let health_id = lab.last_id();
    let health_export = lab.export(health_id);
    for host in locals {
        let out = host_stdout(&health_export, host);
        assert!(out.contains("/ is "), "{host} disk: {out}");
        assert!(out.contains(" load average"), "{host} uptime: {out}");
        let per_cpu: f64 = out
            .split(" per cpu")
            .next()
            .and_then(|head| head.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{host} load line: {out}"));
        let index = health_export["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == host)
            .unwrap()["index"]
            .clone();
        let step_status = |step: u64| {
            health_export["step_results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["host"] == index && r["step"] == step)
                .unwrap_or_else(|| panic!("{host} step {step}"))["status"]
                .clone()
        };
        assert_eq!(
            step_status(0),
            if disk_ok { "ok" } else { "failed" },
            "{host} #{index} disk"
        );
        let load_ok = per_cpu <= 4.0;
        assert_eq!(
            step_status(1),
            if load_ok { "ok" } else { "failed" },
            "{host} load {per_cpu}"
        );
        assert_eq!(step_status(2), "ok", "{host} uptime");
    }

    // history lists the three runs, newest first.
    let history = lab.history();
    let listed: Vec<(i64, &str, &str)> = history
        .iter()
        .map(|i| {
            (
                i["id"].as_i64().unwrap(),
                i["flow"].as_str().unwrap(),
                i["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (
                health_id,
                "health-check",
                if disk_ok { "ok" } else { "failed" }
            ),
            (push_id, "config-push", "ok"),
            (deploy_id, "deploy", "ok"),
        ]
    );
    for entry in &history {
        assert_eq!(entry["hosts_total"], 4);
    }

    // show: every host's own output.
    let show = run(lab.cmd().args(["show", &deploy_id.to_string()])).expect(0);
    for host in locals {
        assert!(show.stdout.contains(host), "{}", show.stdout);
    }
    assert_eq!(
        show.stdout.matches("verified lab-app 1.4.2").count(),
        4,
        "{}",
        show.stdout
    );
    // The header in words; the secret that was never given is not masked.
    for line in [
        "  selection: pattern 'local'\n",
        "  rollout:   batches 1 30% 100% (1+2+1 hosts), interval 0s, mode pause-on-failure, \
         max-fail 25%, forks 64, order inventory\n",
        "             registry_token=\n",
    ] {
        assert!(show.stdout.contains(line), "{line:?}:\n{}", show.stdout);
    }
    for raw in ["hosts=[]", "target:", "********"] {
        assert!(!show.stdout.contains(raw), "{raw:?}:\n{}", show.stdout);
    }
    let show = run(lab
        .cmd()
        .args(["show", &push_id.to_string(), "--host", "local-3"]))
    .expect(0);
    assert!(
        show.stdout.contains(&format!("{}: ", dest.display()))
            && show.stdout.contains("settings ok"),
        "{}",
        show.stdout
    );
    assert!(!show.stdout.contains("local-2"), "{}", show.stdout);
}

fn sha256_hex(data: &[u8]) -> String {
    jobdeck::flow::atom::sha256_hex(data)
}

// ---------------------------------------------------------- 2. batch math

#[test]
fn batches_double_end_to_end() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(7, &[]);
    let out = run(lab
        .cmd()
        .args([
            "--run",
            "-c",
            "echo $JOBDECK_HOST in batch $JOBDECK_BATCH of $JOBDECK_BATCHES",
        ])
        .arg("-i")
        .arg(&inventory)
        .args(["--batches", "1 *2"]))
    .expect(0);
    let export = lab.export(lab.last_id());
    let sizes: Vec<u64> = export["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![1, 2, 4]);
    let members: Vec<Value> = export["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["hosts"].clone())
        .collect();
    assert_eq!(
        members,
        vec![
            serde_json::json!([0]),
            serde_json::json!([1, 2]),
            serde_json::json!([3, 4, 5, 6])
        ]
    );
    assert_eq!(
        export["instance"]["rollout"]["sizes"],
        serde_json::json!([1, 2, 4])
    );
    // The scripts saw their batch.
    for (host, batch) in [("h1", 1), ("h2", 2), ("h3", 2), ("h7", 3)] {
        assert_eq!(
            host_stdout(&export, host),
            format!("{host} in batch {batch} of 3\n")
        );
        assert!(
            out.stdout
                .contains(&format!("{host} in batch {batch} of 3")),
            "{}",
            out.stdout
        );
    }
}

/// `copy:` needs the destination's directory to exist, and says how to
/// have it created; `parents: true` creates it.
#[test]
fn copy_names_a_missing_directory_and_parents_create_it() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(1, &[]);
    lab.write("files/app.conf", "a = 1\n");
    let dest = lab.path("fresh/conf/app.conf");
    let flow = |parents: &str| {
        lab.write(
            "flows/push.yml",
            &format!(
                "name: push\nsteps:\n  - copy: {{src: ../files/app.conf, dest: \"{}\"{parents}}}\n",
                dest.display()
            ),
        )
    };
    let out = lab.run_flow(&flow(""), &inventory, &[]).expect(1);
    assert!(
        out.stdout.contains(&format!(
            "{} on the host: no such directory: create it first, or set `parents: true`",
            lab.path("fresh/conf").display()
        )),
        "{}",
        out.stdout
    );
    assert!(!lab.path("fresh").exists());
    lab.run_flow(&flow(", parents: true"), &inventory, &[])
        .expect(0);
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "a = 1\n");
    let out = run(lab.cmd().arg("check").arg(flow(", parents: maybe"))).expect(2);
    assert!(
        out.stderr
            .contains("push.yml:3: parents must be true or false"),
        "{}",
        out.stderr
    );
}

#[test]
fn check_prints_tidy_paths() {
    let lab = Lab::new();
    for given in [
        "sample-inventory/flows/deploy.yml",
        "./sample-inventory/flows/../flows/deploy.yml",
    ] {
        let out = run(jobdeck(&repo(), &lab.journal()).args(["check", given])).expect(0);
        assert!(
            out.stdout
                .starts_with("ok: flow 'deploy' (sample-inventory/flows/deploy.yml): "),
            "{given}: {}",
            out.stdout
        );
        assert!(
            out.stdout
                .contains("  sample-inventory/atoms/stop-service.sh\n"),
            "{given}: {}",
            out.stdout
        );
        assert!(
            !out.stdout.contains("/../") && !out.stdout.contains("./"),
            "{given}: {}",
            out.stdout
        );
    }
}

#[test]
fn json_events_name_their_hosts_and_steps() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(2, &[]);
    let out = run(lab
        .cmd()
        .args(["--run", "-c", "echo hi", "--json"])
        .arg("-i")
        .arg(&inventory))
    .expect(0);
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let with_host: Vec<&Value> = events.iter().filter(|e| e.get("host").is_some()).collect();
    assert!(!with_host.is_empty(), "{}", out.stdout);
    for event in with_host {
        let index = event["host"].as_u64().unwrap();
        assert_eq!(
            event["host_name"],
            format!("h{}", index + 1),
            "every event with a host names it: {event}"
        );
        if event.get("step").is_some() {
            assert_eq!(event["step_name"], "command", "{event}");
        }
    }
    let finished: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "host_finished")
        .map(|e| e["host_name"].as_str().unwrap())
        .collect();
    assert_eq!(finished.len(), 2, "{}", out.stdout);
}

#[test]
fn adhoc_commands_reach_the_shell_verbatim() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(1, &[]);
    let out = run(lab
        .cmd()
        .args([
            "--run",
            "-c",
            r#"printf '%s|%s|%s\n' "${JOBDECK_HOST}" "$$" "$((1+2))""#,
        ])
        .arg("-i")
        .arg(&inventory))
    .expect(0);
    let export = lab.export(lab.last_id());
    let printed = host_stdout(&export, "h1");
    let fields: Vec<&str> = printed.trim_end().split('|').collect();
    assert_eq!(fields[0], "h1", "{printed}");
    assert!(
        fields[1].parse::<u32>().is_ok(),
        "$$ is the shell's pid: {printed}"
    );
    assert_eq!(fields[2], "3", "{printed}");
    assert!(out.stdout.contains(&printed), "{}", out.stdout);
}

// ------------------------------------------------------ 3. max-fail abort

#[test]
fn max_fail_aborts_and_skips_the_rest() {
    let lab = Lab::new();
    let marks = lab.path("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let inventory = lab.local_inventory(6, &[("marks", &marks.display().to_string())]);
    // h2, h4 and h6 fail; with one host at a time the second failure (h4)
    // exceeds --max-fail 1.
    let out = run(lab
        .cmd()
        .args([
            "--run",
            "-c",
            r#"echo ran >> "$marks/$JOBDECK_HOST"; case $JOBDECK_HOST in h2|h4|h6) exit 1;; esac"#,
        ])
        .arg("-i")
        .arg(&inventory)
        .args(["--forks", "1", "--max-fail", "1"]))
    .expect(3);
    let id = lab.last_id();
    let export = lab.export(id);
    assert_eq!(
        host_statuses(&export),
        statuses(&[
            ("h1", "ok"),
            ("h2", "failed"),
            ("h3", "ok"),
            ("h4", "failed"),
            ("h5", "skipped"),
            ("h6", "skipped"),
        ])
    );
    for (host, runs) in [
        ("h1", 1),
        ("h2", 1),
        ("h3", 1),
        ("h4", 1),
        ("h5", 0),
        ("h6", 0),
    ] {
        assert_eq!(lab.count_lines(&format!("marks/{host}")), runs, "{host}");
    }
    let entry = lab.history().into_iter().find(|i| i["id"] == id).unwrap();
    assert_eq!(entry["status"], "aborted");
    assert_eq!(entry["hosts_failed"], 2);
    assert!(
        entry["reason"].as_str().unwrap().contains("max-fail"),
        "{entry}"
    );
    assert!(out.stdout.contains("max-fail"), "{}", out.stdout);

    // `rerun --failed`: a new run, linked to this one, on h2 and h4 only,
    // with the same rollout (they fail again: aborted again).
    run(lab
        .cmd()
        .args(["rerun", &id.to_string(), "--failed"])
        .arg("-i")
        .arg(&inventory))
    .expect(3);
    let rerun = lab.last_id();
    assert_ne!(rerun, id);
    let entry = lab
        .history()
        .into_iter()
        .find(|i| i["id"] == rerun)
        .unwrap();
    assert_eq!(entry["parent"], id);
    assert_eq!(entry["trigger"], format!("rerun:{id}"));
    assert_eq!(
        host_statuses(&lab.export(rerun)),
        statuses(&[("h2", "failed"), ("h4", "failed")])
    );
    for (host, runs) in [
        ("h1", 1),
        ("h2", 2),
        ("h3", 1),
        ("h4", 2),
        ("h5", 0),
        ("h6", 0),
    ] {
        assert_eq!(lab.count_lines(&format!("marks/{host}")), runs, "{host}");
    }

    // `rerun --skipped`: the hosts max-fail never reached (h5, h6), and
    // nothing else; h6 fails like the others of its kind.
    run(lab
        .cmd()
        .args(["rerun", &id.to_string(), "--skipped"])
        .arg("-i")
        .arg(&inventory))
    .expect(1);
    assert_eq!(
        host_statuses(&lab.export(lab.last_id())),
        statuses(&[("h5", "ok"), ("h6", "failed")])
    );
    // Saying neither is a usage error, not a guess.
    let out = run(lab.cmd().args(["rerun", &id.to_string()])).expect(2);
    assert!(out.stderr.contains("--failed"), "{}", out.stderr);
}

// --------------------------------------------------- 4. pause-on-failure

#[test]
fn pause_on_failure_then_resume_runs_the_next_batches_only() {
    let lab = Lab::new();
    let marks = lab.path("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let inventory = lab.local_inventory(6, &[("marks", &marks.display().to_string())]);
    let command = r#"echo ran >> "$marks/$JOBDECK_HOST"; [ "$JOBDECK_HOST" != h2 ] || { echo h2 is broken >&2; exit 5; }"#;
    let out = run(lab
        .cmd()
        .args(["--run", "-c", command])
        .arg("-i")
        .arg(&inventory)
        .args(["--batches", "2", "--mode", "pause-on-failure"]))
    .expect(4);
    let id = lab.last_id();
    assert!(
        out.stdout.contains(&format!("jobdeck resume {id}"))
            || out.stderr.contains(&format!("jobdeck resume {id}")),
        "the run says how to resume:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    let entry = lab.history().into_iter().find(|i| i["id"] == id).unwrap();
    assert_eq!(entry["status"], "interrupted");
    let export = lab.export(id);
    assert_eq!(
        host_statuses(&export),
        statuses(&[
            ("h1", "ok"),
            ("h2", "failed"),
            ("h3", "pending"),
            ("h4", "pending"),
            ("h5", "pending"),
            ("h6", "pending"),
        ])
    );
    for (host, runs) in [
        ("h1", 1),
        ("h2", 1),
        ("h3", 0),
        ("h4", 0),
        ("h5", 0),
        ("h6", 0),
    ] {
        assert_eq!(
            lab.count_lines(&format!("marks/{host}")),
            runs,
            "{host} before resume"
        );
    }

    // Batches 2 and 3 run; batch 1 (h1 ok, h2 failed) does not run again.
    // Without -i, the run's own inventory is used (not the default one).
    let resumed = run(lab.cmd().args(["resume", &id.to_string()]));
    for host in ["h1", "h2", "h3", "h4", "h5", "h6"] {
        assert_eq!(
            lab.count_lines(&format!("marks/{host}")),
            1,
            "{host} after resume"
        );
    }
    // The run still had a failed host (h2): it ends failed, and the summary
    // counts the hosts of batch 1 by how they ended, not as "not run".
    let resumed = resumed.expect(1);
    let summary = resumed.stdout.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("6 hosts: 5 ok, 1 failed in ")
            && summary.contains("(2 finished before the resume)"),
        "{}",
        resumed.stdout
    );
    let export = lab.export(id);
    assert_eq!(
        host_statuses(&export),
        statuses(&[
            ("h1", "ok"),
            ("h2", "failed"),
            ("h3", "ok"),
            ("h4", "ok"),
            ("h5", "ok"),
            ("h6", "ok"),
        ])
    );
    assert_eq!(lab.history().len(), 1, "resume continues the same instance");
    let entry = lab.history().into_iter().find(|i| i["id"] == id).unwrap();
    assert_eq!(entry["status"], "failed");
}

// ---------------------------------------------------------- 5. rollback

#[test]
fn a_failed_step_with_rollback_runs_the_rollback_steps() {
    let lab = Lab::new();
    let marks = lab.path("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let inventory = lab.local_inventory(2, &[("marks", &marks.display().to_string())]);
    let flow = lab.write(
        "flows/rollback.yml",
        r#"name: rollback-demo
steps:
  - name: prepare
    command: echo prepared >> "$marks/$JOBDECK_HOST.prepare"
  - name: install
    script: |
      #!/bin/sh
      echo installing
      [ "$JOBDECK_HOST" = h1 ] && exit 0
      echo install broke >&2
      exit 7
    on_failure: rollback
  - name: after
    command: echo after >> "$marks/$JOBDECK_HOST.after"
rollback:
  - name: restore
    command: echo "restored by $JOBDECK_STEP" >> "$marks/$JOBDECK_HOST.rollback"
"#,
    );
    run(lab.cmd().arg("check").arg(&flow)).expect(0);
    let out = lab.run_flow(&flow, &inventory, &[]).expect(1);
    let export = lab.export(lab.last_id());
    assert_eq!(
        host_statuses(&export),
        statuses(&[("h1", "ok"), ("h2", "rolled_back")])
    );
    assert_eq!(lab.count_lines("marks/h1.prepare"), 1);
    assert_eq!(lab.count_lines("marks/h2.prepare"), 1);
    assert_eq!(lab.count_lines("marks/h1.after"), 1);
    assert_eq!(
        lab.count_lines("marks/h2.after"),
        0,
        "no step after the failure"
    );
    assert_eq!(lab.count_lines("marks/h1.rollback"), 0, "h1 did not fail");
    assert_eq!(
        std::fs::read_to_string(marks.join("h2.rollback")).unwrap(),
        "restored by restore\n"
    );
    // The install step failed with its exit code, then the rollback step ran ok.
    let results: Vec<(u64, String, Option<i64>)> = export["step_results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["host"] == 1)
        .map(|r| {
            (
                r["step"].as_u64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
                r["exit_code"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        results,
        vec![
            (0, "ok".into(), Some(0)),
            (1, "failed".into(), Some(7)),
            (3, "ok".into(), Some(0)),
        ]
    );
    assert!(
        out.stdout.contains("stderr: install broke"),
        "{}",
        out.stdout
    );
    let entry = lab.history().pop().unwrap();
    assert_eq!(entry["status"], "failed");
}

// ------------------------------------------------- 6. params and env quoting

/// Quotes of both kinds, `$`, backticks, a backslash, `=`, newlines and
/// spaces (leading, inner and trailing).
const TRICKY: &str = " a \"double\" 'single' $HOME ${x} `id` \\n back\\slash a=b\n line two \t\n";

/// A flow that writes the param (from its env var and from its argument
/// list) to files, then hands a value to the next step through `::set`.
fn quoting_flow(lab: &Lab) -> PathBuf {
    lab.write(
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
  - name: through an atom param
    atom: write-text
    with: {text: "${value}"}
"#,
    )
}

/// An atom whose param is filled from a flow param.
fn write_text_atom(lab: &Lab) {
    lab.write(
        "flows/atoms/write-text.sh",
        "#!/bin/sh\n# ---\n# params:\n#   text: {type: string, required: true}\n# ---\n\
         printf '%s' \"$text\" > \"$marks/$JOBDECK_HOST.atom\"\n",
    );
}

const HANDOFF: &str = "it's \"quoted\" $HOME  and  spaces = too";

#[test]
fn params_reach_scripts_byte_exact_and_set_values_pass_on() {
    let lab = Lab::new();
    let marks = lab.path("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let inventory = lab.local_inventory(2, &[("marks", &marks.display().to_string())]);
    write_text_atom(&lab);
    let flow = quoting_flow(&lab);
    lab.run_flow(&flow, &inventory, &["--param", &format!("value={TRICKY}")])
        .expect(0);
    for host in ["h1", "h2"] {
        let read = |ext: &str| std::fs::read(marks.join(format!("{host}.{ext}"))).unwrap();
        assert_eq!(read("env"), TRICKY.as_bytes(), "{host} env");
        assert_eq!(read("arg"), TRICKY.as_bytes(), "{host} argument");
        assert_eq!(read("argc"), b"1|", "{host} got one argument");
        assert_eq!(read("handoff"), HANDOFF.as_bytes(), "{host} ::set value");
        assert_eq!(read("atom"), TRICKY.as_bytes(), "{host} atom param");
    }
    let export = lab.export(lab.last_id());
    assert_eq!(export["instance"]["params"]["value"], TRICKY);
    let exports: Vec<(u64, &str, &str)> = export["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["host"].as_u64().unwrap(),
                e["name"].as_str().unwrap(),
                e["value"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        exports,
        vec![(0, "handoff", HANDOFF), (1, "handoff", HANDOFF)]
    );
}

// -------------------------------------------------------- 7. secret masking

const SECRET: &str = "Sup3r-S3cret-7QX";

#[test]
fn a_secret_param_never_reaches_output_or_the_journal() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(2, &[]);
    let flow = lab.write(
        "flows/secret.yml",
        r#"name: secret-demo
params:
  token: {type: string, secret: true, required: true}
  plain: {type: string, default: visible-value}
steps:
  - name: use token
    script: |
      #!/bin/sh
      echo "token is $token; plain is $plain"
      echo "to stderr: $token" >&2
      echo "::set derived=$token"
      # The secret in two writes, so in two output chunks.
      printf 'split %s' "$(printf '%s' "$token" | cut -c1-6)"
      sleep 0.2
      printf '%s end\n' "$(printf '%s' "$token" | cut -c7-)"
  - name: fail with it
    command: echo "last words $token"; exit 3
    on_failure: continue
  - name: push to a path named after it
    copy: {src: payload.txt, dest: "/proc/no-such-dir-${token}/payload.txt"}
"#,
    );
    lab.write("flows/payload.txt", "payload\n");
    let param = format!("token={SECRET}");
    let lines = lab.run_flow(&flow, &inventory, &["-p", &param]).expect(1);
    let first = lab.last_id();
    // A reader held open keeps the next runs' write-ahead log on disk (the
    // last connection to close would fold it into the database and delete
    // it), so the -wal and -shm files are checked too.
    let reader = rusqlite::Connection::open(lab.journal()).unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    let json = lab
        .run_flow(&flow, &inventory, &["-p", &param, "--json"])
        .expect(1);
    let second = lab.last_id();
    assert_ne!(first, second);
    let gather = lab
        .run_flow(&flow, &inventory, &["-p", &param, "--gather"])
        .expect(1);

    let mut seen = Vec::new();
    for (what, text) in [
        ("stdout", &lines.stdout),
        ("stderr", &lines.stderr),
        ("--json stdout", &json.stdout),
        ("--gather stdout", &gather.stdout),
    ] {
        seen.push((what.to_string(), text.clone()));
    }
    // The scripts did see the secret: its mask shows where it was.
    assert!(
        lines
            .stdout
            .contains("token is ***; plain is visible-value"),
        "{}",
        lines.stdout
    );
    assert!(
        lines.stdout.contains("stderr: to stderr: ***"),
        "{}",
        lines.stdout
    );
    assert!(lines.stdout.contains("split *** end"), "{}", lines.stdout);
    for line in json.stdout.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    for id in [first, second] {
        let id = id.to_string();
        for args in [
            vec!["show", id.as_str()],
            vec!["show", id.as_str(), "--json"],
            vec!["export", id.as_str(), "--json"],
            vec!["history", "--json"],
            vec!["history"],
        ] {
            let out = run(lab.cmd().args(&args)).expect(0);
            seen.push((args.join(" "), out.stdout));
        }
    }
    for (what, text) in &seen {
        assert!(!text.contains(SECRET), "the secret is in {what}:\n{text}");
    }
    let export = lab.export(first);
    assert_eq!(export["instance"]["params"]["plain"], "visible-value");
    assert_ne!(export["instance"]["params"]["token"], SECRET);
    assert_eq!(
        export["instance"]["secret_params"],
        serde_json::json!(["token"])
    );
    assert_eq!(export["exports"][0]["value"], "***");
    // The failed copy's error names the destination, with the secret masked.
    let copy_error = export["step_results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step"] == 2)
        .unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        copy_error.contains("/proc/no-such-dir-*** on the host: no such directory"),
        "{copy_error}"
    );

    // The raw journal files, byte for byte: with the WAL still there, then
    // after it was folded into the database.
    let names = journal_files_without(&lab, SECRET);
    assert!(
        names.iter().any(|n| n.ends_with("-wal")) && names.iter().any(|n| n.ends_with("-shm")),
        "{names:?}"
    );
    drop(reader);
    let names = journal_files_without(&lab, SECRET);
    assert!(names.contains(&"journal.db".to_string()), "{names:?}");
}

/// Names of the journal's files (database, -wal, -shm), each checked not to
/// contain `needle` anywhere in its bytes.
fn journal_files_without(lab: &Lab, needle: &str) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(lab.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("journal.db") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "the secret is in {name} ({} bytes)",
                bytes.len()
            );
            names.push(name);
        }
    }
    names.sort();
    names
}

// ------------------------------------------------- 8. kill -9, then resume

fn integrity(journal: &Path) -> String {
    let conn = rusqlite::Connection::open(journal).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn wait_for(path: &Path, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn kill_9_mid_run_then_resume_finishes_the_rest() {
    let lab = Lab::new();
    let marks = lab.path("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let inventory = lab.local_inventory(5, &[("marks", &marks.display().to_string())]);
    // h2 (batch 2) sleeps on its first run only: jobdeck is killed then.
    let flow = lab.write(
        "flows/slow.yml",
        r#"name: slow
steps:
  - name: mark
    command: echo ran >> "$marks/$JOBDECK_HOST"; echo "::set marked_by=mark on $JOBDECK_HOST"
  - name: work
    script: |
      #!/bin/sh
      if [ "$JOBDECK_HOST" = h2 ] && [ ! -e "$marks/h2.slept" ]; then
        touch "$marks/h2.slept"
        sleep 3
      fi
      printf '%s' "$marked_by" > "$marks/$JOBDECK_HOST.handoff"
      echo "$JOBDECK_HOST done"
"#,
    );
    let mut child = std::process::Command::new(bin())
        .current_dir(lab.dir.path())
        .arg("--journal")
        .arg(lab.journal())
        .arg("--run")
        .arg(&flow)
        .arg("-i")
        .arg(&inventory)
        .args(["--batches", "1 1 100%"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&marks.join("h2.slept"), Duration::from_secs(30));
    // h2 is in its second step; once the journal has its first step's
    // result (the writer commits as events come), kill -9.
    let conn = rusqlite::Connection::open(lab.journal()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let recorded: i64 = conn
            .query_row(
                "SELECT count(*) FROM step_results WHERE host_idx = 1 AND step_idx = 0 AND status = 'ok'",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        if recorded == 1 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(conn);
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(integrity(&lab.journal()), "ok");
    let id = lab.last_id();
    let entry = lab.history().into_iter().find(|i| i["id"] == id).unwrap();
    assert_eq!(entry["status"], "interrupted", "{entry}");
    let export = lab.export(id);
    let before = host_statuses(&export);
    assert_eq!(before["h1"], "ok", "h1's result survived the kill");
    assert_eq!(
        host_stdout(&export, "h1"),
        "::set marked_by=mark on h1\nh1 done\n"
    );
    for host in ["h3", "h4", "h5"] {
        assert_eq!(before[host], "pending", "{host}");
        assert_eq!(lab.count_lines(&format!("marks/{host}")), 0, "{host}");
    }
    assert_eq!(lab.count_lines("marks/h1"), 1);
    assert_eq!(lab.count_lines("marks/h2"), 1);

    let out = run(lab
        .cmd()
        .args(["resume", &id.to_string()])
        .arg("-i")
        .arg(&inventory))
    .expect(0);
    assert!(
        !out.stdout.contains("h1 done"),
        "h1 is not run again:\n{}",
        out.stdout
    );
    // h1 finished before the kill and did not run again. h2 was cut off in
    // its second step: its finished first step is not repeated either.
    for host in ["h1", "h2", "h3", "h4", "h5"] {
        assert_eq!(lab.count_lines(&format!("marks/{host}")), 1, "{host}");
    }
    let export = lab.export(id);
    assert_eq!(
        host_statuses(&export),
        statuses(&[
            ("h1", "ok"),
            ("h2", "ok"),
            ("h3", "ok"),
            ("h4", "ok"),
            ("h5", "ok")
        ])
    );
    assert_eq!(
        host_stdout(&export, "h2"),
        "::set marked_by=mark on h2\nh2 done\n"
    );
    // The value h2's first step exported before the kill still reaches its
    // second step when the resume starts there.
    for host in ["h1", "h2", "h3", "h4", "h5"] {
        assert_eq!(
            std::fs::read_to_string(marks.join(format!("{host}.handoff"))).unwrap(),
            format!("mark on {host}"),
            "{host}"
        );
    }
    let entry = lab.history().into_iter().find(|i| i["id"] == id).unwrap();
    assert_eq!(entry["status"], "ok");
    assert_eq!(entry["hosts_ok"], 5);
    assert_eq!(integrity(&lab.journal()), "ok");
}

// -------------------------------------------- 9. two processes, one journal

#[test]
fn two_runs_share_one_journal() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(40, &[]);
    let flow = lab.write(
        "flows/chatty.yml",
        r#"name: chatty
steps:
  - name: count
    command: seq 1 300
  - name: again
    command: seq 1 300 >&2
"#,
    );
    let spawn = || {
        std::process::Command::new(bin())
            .current_dir(lab.dir.path())
            .arg("--journal")
            .arg(lab.journal())
            .arg("--run")
            .arg(&flow)
            .arg("-i")
            .arg(&inventory)
            .args(["--batches", "10", "--forks", "8", "--mode", "continue"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn();
    let second = spawn();
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(!stderr.contains("locked"), "{stderr}");
        assert!(!stderr.contains("busy"), "{stderr}");
    }
    let history = lab.history();
    assert_eq!(history.len(), 2);
    for entry in &history {
        assert_eq!(entry["status"], "ok", "{entry}");
        assert_eq!(entry["hosts_ok"], 40, "{entry}");
        let export = lab.export(entry["id"].as_i64().unwrap());
        let stdout: String = export["output"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["host"] == 39 && c["stream"] == "stdout")
            .map(|c| c["text"].as_str().unwrap())
            .collect();
        let expected: String = (1..=300).map(|n| format!("{n}\n")).collect();
        assert_eq!(stdout, expected, "every chunk of the last host is there");
    }
    assert_eq!(integrity(&lab.journal()), "ok");
}

// ------------------------------------------------------- 10. 1000 hosts

#[test]
fn a_thousand_local_hosts() {
    let lab = Lab::new();
    let inventory = lab.write(
        "hosts.ini",
        "[fleet]\nh[0001:1000] ansible_connection=local\n",
    );
    let started = Instant::now();
    let out = run(lab
        .cmd()
        .args(["--run", "-c", "echo $JOBDECK_HOST"])
        .arg("-i")
        .arg(&inventory)
        .args(["--forks", "64"]))
    .expect(0);
    let took = started.elapsed();
    eprintln!("1000 local hosts, --forks 64: {took:.2?}");
    let id = lab.last_id();
    let entry = lab.history().pop().unwrap();
    assert_eq!(entry["hosts_total"], 1000);
    assert_eq!(entry["hosts_ok"], 1000);
    assert_eq!(entry["status"], "ok");
    // Straight from the tables: 1000 host rows, every one ok.
    let conn = rusqlite::Connection::open(lab.journal()).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [id], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM hosts WHERE instance_id = ?1"),
        1000
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM hosts WHERE instance_id = ?1 AND status = 'ok' AND exit_code = 0"
        ),
        1000
    );
    assert_eq!(
        count("SELECT count(DISTINCT name) FROM hosts WHERE instance_id = ?1"),
        1000
    );
    drop(conn);
    // And through export: each host's output is its own name.
    let export = lab.export(id);
    let hosts = export["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1000);
    assert!(
        hosts
            .iter()
            .all(|h| h["status"] == "ok" && h["exit_code"] == 0)
    );
    let results = export["step_results"].as_array().unwrap();
    assert_eq!(results.len(), 1000);
    assert!(results.iter().all(|r| r["status"] == "ok"));
    let mut outputs: BTreeMap<u64, String> = BTreeMap::new();
    for chunk in export["output"].as_array().unwrap() {
        outputs
            .entry(chunk["host"].as_u64().unwrap())
            .or_default()
            .push_str(chunk["text"].as_str().unwrap());
    }
    assert_eq!(outputs.len(), 1000);
    for (index, text) in &outputs {
        assert_eq!(text, &format!("h{:04}\n", index + 1));
    }
    assert!(out.stdout.contains("h0500"), "{}", out.stdout);
}

// ------------------------------------------------- 12. validation errors

#[test]
fn validation_errors_exit_2_and_write_no_instance() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(3, &[]);
    lab.write(
        "flows/atoms/needs-name.sh",
        "#!/bin/sh\n# ---\n# params:\n#   name: {type: string, required: true}\n# ---\necho \"$name\"\n",
    );
    let good = lab.write(
        "flows/good.yml",
        "name: good\nparams:\n  version: {type: string, required: true}\nsteps:\n  - command: echo ${version}\n",
    );
    let broken = lab.write(
        "flows/broken.yml",
        "name: broken\n\
         steps:\n\
         \x20 - name: ok\n\
         \x20   command: 'true'\n\
         \x20 - name: missing atom\n\
         \x20   atom: no-such-atom\n\
         \x20 - name: bad policy\n\
         \x20   command: 'true'\n\
         \x20   on_failure: explode\n\
         \x20 - name: no value\n\
         \x20   atom: needs-name\n",
    );
    let flow_path = broken.display().to_string();
    let expect_lines = |text: &str| {
        for (line, what) in [
            (6, "no-such-atom"),
            (9, "on_failure 'explode'"),
            (10, "needs a value for param 'name'"),
        ] {
            let at = format!("{flow_path}:{line}: ");
            assert!(
                text.lines().any(|l| l.contains(&at) && l.contains(what)),
                "expected {at}...{what} in:\n{text}"
            );
        }
    };
    let check = run(lab.cmd().arg("check").arg(&broken)).expect(2);
    expect_lines(&check.stderr);
    let out = lab.run_flow(&broken, &inventory, &[]).expect(2);
    expect_lines(&out.stderr);

    // A required flow param left out, and one the flow does not have.
    let out = lab.run_flow(&good, &inventory, &[]).expect(2);
    assert!(
        out.stderr
            .contains(&format!("{}: param 'version' is required", good.display())),
        "{}",
        out.stderr
    );
    let out = lab
        .run_flow(&good, &inventory, &["-p", "version=1", "-p", "verison=2"])
        .expect(2);
    assert!(
        out.stderr.contains("unknown param 'verison'"),
        "{}",
        out.stderr
    );
    let out = lab
        .run_flow(&good, &inventory, &["-p", "version"])
        .expect(2);
    assert!(out.stderr.contains("expected NAME=VALUE"), "{}", out.stderr);

    // Rollout options.
    let out = lab
        .run_flow(&good, &inventory, &["-p", "version=1", "--mode", "confirm"])
        .expect(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    for bad in ["0", "100% 1", "-1", "*2", "10 x"] {
        let out = lab
            .run_flow(
                &good,
                &inventory,
                &["-p", "version=1", &format!("--batches={bad}")],
            )
            .expect(2);
        assert!(out.stderr.contains("--batches"), "{bad}: {}", out.stderr);
    }
    let out = run(lab
        .cmd()
        .args(["--run", "-c", "true", "--max-fail", "lots"])
        .arg("-i")
        .arg(&inventory))
    .expect(2);
    assert!(out.stderr.contains("--max-fail"), "{}", out.stderr);
    let out = run(lab
        .cmd()
        .args(["--run", "-c", "true", "-p", "a=b"])
        .arg("-i")
        .arg(&inventory))
    .expect(2);
    assert_eq!(
        out.stderr,
        "jobdeck: error: -c: unknown param 'a' (this flow takes: none)\n"
    );

    // None of them ran anything or left an instance behind.
    assert_eq!(lab.history(), Vec::<Value>::new());
    // The same run with a good command line does record one.
    lab.run_flow(
        &good,
        &inventory,
        &["-p", "version=1", "--batches", "1 100%"],
    )
    .expect(0);
    assert_eq!(lab.history().len(), 1);
}
