//! `rerun` and `resume` take what a run takes to reach its hosts and bound
//! its steps (`--limit`, `--timeout`, `--connect-timeout`), on the real
//! binary with a journal in a temp dir: local hosts for the selection and
//! the timeouts, a loopback listener that never answers for the connect
//! timeout.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use cli::{Outcome, host_statuses, run, statuses};
use serde_json::Value;

mod cli;

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

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("jobdeck").unwrap();
        cmd.current_dir(self.dir.path())
            .arg("--journal")
            .arg(self.path("journal.db"))
            .env_remove("SSH_AUTH_SOCK")
            .env("HOME", self.path("home"))
            .timeout(Duration::from_secs(120));
        cmd
    }

    /// Local hosts `h1..hN`, each writing a line per run to `marks/HOST`.
    fn local_inventory(&self, count: usize) -> PathBuf {
        let marks = self.path("marks");
        std::fs::create_dir_all(&marks).unwrap();
        let mut text = String::from("[lab]\n");
        for i in 1..=count {
            writeln!(text, "h{i} ansible_connection=local").unwrap();
        }
        writeln!(text, "[all:vars]\nmarks={}", marks.display()).unwrap();
        let path = self.path("hosts.ini");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn runs_of(&self, host: &str) -> usize {
        std::fs::read_to_string(self.path(&format!("marks/{host}")))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    fn last_id(&self) -> i64 {
        let out = run(self.cmd().args(["history", "--json", "--limit", "1"])).expect(0);
        let history: Value = serde_json::from_str(&out.stdout).unwrap();
        history[0]["id"].as_i64().expect("a run in history")
    }

    fn export(&self, id: i64) -> Value {
        let out = run(self.cmd().args(["export", &id.to_string()])).expect(0);
        serde_json::from_str(&out.stdout).unwrap()
    }

    fn statuses(&self, id: i64) -> BTreeMap<String, String> {
        host_statuses(&self.export(id))
    }
}

/// h2, h3 and h4 fail while `fail-HOST` exists in the marks directory;
/// a host sleeps while `slow-HOST` exists.
const FLAKY: &str = r#"echo ran >> "$marks/$JOBDECK_HOST"
[ ! -e "$marks/slow-$JOBDECK_HOST" ] || sleep 30
[ ! -e "$marks/fail-$JOBDECK_HOST" ] || exit 3"#;

fn flaky_run(lab: &Lab, inventory: &Path, extra: &[&str]) -> Outcome {
    for host in ["h2", "h3", "h4"] {
        std::fs::write(lab.path(&format!("marks/fail-{host}")), "").unwrap();
    }
    let out = run(lab
        .cmd()
        .args(["--run", "-c", FLAKY, "-i"])
        .arg(inventory)
        .args(extra));
    for host in ["h2", "h3", "h4"] {
        std::fs::remove_file(lab.path(&format!("marks/fail-{host}"))).unwrap();
    }
    out
}

#[test]
fn rerun_without_failed_or_skipped_explains_both() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(2);
    run(lab
        .cmd()
        .args(["--run", "-c", "true", "-i"])
        .arg(&inventory))
    .expect(0);
    let out = run(lab.cmd().args(["rerun", "1"])).expect(2);
    out.stderr_has("--failed   the hosts that failed (timed out, unreachable, cancelled...)")
        .stderr_has("--skipped  the hosts that never ran to the end")
        .stderr_has("Usage: jobdeck rerun");
    assert_eq!(out.stdout, "");
}

#[test]
fn rerun_limit_narrows_the_failed_hosts_and_timeout_bounds_their_steps() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(4);
    flaky_run(&lab, &inventory, &[]).expect(1);
    let first = lab.last_id();
    assert_eq!(
        lab.statuses(first),
        statuses(&[
            ("h1", "ok"),
            ("h2", "failed"),
            ("h3", "failed"),
            ("h4", "failed")
        ])
    );

    // Only the failed hosts --limit matches run again (h3 is left alone).
    let out = run(lab.cmd().args([
        "rerun",
        &first.to_string(),
        "--failed",
        "--limit",
        "h2:h4:h1",
    ]))
    .expect(0);
    let rerun = lab.last_id();
    assert_ne!(rerun, first);
    assert_eq!(
        lab.statuses(rerun),
        statuses(&[("h2", "ok"), ("h4", "ok")]),
        "{}",
        out.stdout
    );
    assert_eq!(
        [lab.runs_of("h1"), lab.runs_of("h2"), lab.runs_of("h3")],
        [1, 2, 1]
    );

    // A limit no failed host matches reruns nothing, and says why.
    let out = run(lab
        .cmd()
        .args(["rerun", &first.to_string(), "--failed", "-l", "h1"]))
    .expect(0);
    assert_eq!(
        out.stdout,
        format!("run {first} has no failed hosts matching --limit 'h1'; nothing to rerun\n")
    );
    assert_eq!(lab.last_id(), rerun);
    // A pattern that matches no host at all is an error naming the flag.
    run(lab
        .cmd()
        .args(["rerun", &first.to_string(), "--failed", "-l", "nosuch"]))
    .expect(2)
    .stderr_has("--limit: pattern 'nosuch' matched no hosts");

    // --timeout bounds the rerun's steps (h3 now hangs), and is recorded.
    std::fs::write(lab.path("marks/slow-h3"), "").unwrap();
    let started = Instant::now();
    run(lab
        .cmd()
        .args(["rerun", &first.to_string(), "--failed", "--timeout", "1s"]))
    .expect(1);
    assert!(started.elapsed() < Duration::from_secs(20));
    let timed = lab.last_id();
    assert_eq!(lab.statuses(timed)["h3"], "timed_out");
    assert_eq!(lab.export(timed)["instance"]["rollout"]["timeout_ms"], 1000);
    run(lab
        .cmd()
        .args(["rerun", &first.to_string(), "--failed", "--timeout", "soon"]))
    .expect(2)
    .stderr_has("--timeout: ");
}

/// A TCP port on loopback that accepts connections and never says a word.
fn silent_port() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

#[test]
fn rerun_and_resume_take_a_connect_timeout() {
    let lab = Lab::new();
    let (_listener, port) = silent_port();
    let inventory = lab.path("silent.ini");
    std::fs::write(
        &inventory,
        format!("quiet ansible_host=127.0.0.1 ansible_port={port} ansible_user=nobody\n"),
    )
    .unwrap();
    run(lab
        .cmd()
        .args(["--run", "-c", "true", "--connect-timeout", "1s", "-i"])
        .arg(&inventory))
    .expect(1);
    let first = lab.last_id();

    // The rerun waits the new timeout, not the one the run recorded.
    let started = Instant::now();
    run(lab.cmd().args([
        "rerun",
        &first.to_string(),
        "--failed",
        "--connect-timeout",
        "3s",
    ]))
    .expect(1);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(9),
        "{waited:?}"
    );
    let rerun = lab.last_id();
    assert_eq!(
        lab.export(rerun)["instance"]["target"]["connect"]["connect_timeout_ms"],
        3000
    );
    assert_eq!(lab.statuses(rerun)["quiet"], "unreachable");

    run(lab.cmd().args([
        "rerun",
        &first.to_string(),
        "--failed",
        "--connect-timeout",
        "x",
    ]))
    .expect(2)
    .stderr_has("--connect-timeout: ");
}

#[test]
fn resume_limit_continues_the_matching_hosts_and_leaves_the_rest_skipped() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(5);
    // Batches of 2: h2 fails in batch 1, the headless run stops there.
    flaky_run(
        &lab,
        &inventory,
        &["--batches", "2", "--mode", "pause-on-failure"],
    )
    .expect(4);
    let id = lab.last_id();
    assert_eq!(lab.statuses(id)["h3"], "pending");

    // A limit that matches none of the hosts left changes nothing.
    run(lab.cmd().args(["resume", &id.to_string(), "--limit", "h1"]))
        .expect(2)
        .stderr_has("--limit 'h1' matches none of run");
    assert_eq!(lab.statuses(id)["h3"], "pending");

    std::fs::write(lab.path("marks/slow-h5"), "").unwrap();
    let started = Instant::now();
    run(lab.cmd().args([
        "resume",
        &id.to_string(),
        "--limit",
        "h3:h5",
        "--timeout",
        "1s",
    ]))
    .expect(1);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        lab.statuses(id),
        statuses(&[
            ("h1", "ok"),
            ("h2", "failed"),
            ("h3", "ok"),
            ("h4", "skipped"),
            ("h5", "timed_out"),
        ])
    );
    assert_eq!(lab.runs_of("h4"), 0);
    // What --limit left out, `rerun --skipped` reaches.
    run(lab.cmd().args(["rerun", &id.to_string(), "--skipped"])).expect(0);
    assert_eq!(lab.statuses(lab.last_id()), statuses(&[("h4", "ok")]));
}

/// Secret params are never stored: a rerun or resume without them says
/// which to pass (the first the run recorded, then the next once it is
/// given), exits 2 and records and claims nothing.
#[test]
fn rerun_and_resume_name_the_secret_params_to_give_again() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(2);
    std::fs::write(
        lab.path("keyed.yml"),
        "name: keyed\nparams:\n  alpha: {type: string, secret: true, required: true}\n  \
         beta: {type: string, secret: true, required: true}\nsteps:\n  - command: '[ \"$JOBDECK_HOST\" = h2 ]'\n",
    )
    .unwrap();
    run(lab
        .cmd()
        .args([
            "--run",
            "keyed.yml",
            "--batches",
            "1 1",
            "-p",
            "alpha=a-value",
        ])
        .args(["-p", "beta=b-value", "-i"])
        .arg(&inventory))
    .expect(4);
    for command in ["rerun", "resume"] {
        let mut args = vec![command, "1"];
        if command == "rerun" {
            args.push("--failed");
        }
        let out = run(lab.cmd().args(&args)).expect(2);
        assert_eq!(
            out.stderr,
            "jobdeck: error: run 1 has a secret param 'alpha', which is never stored: pass --param alpha=...\n"
        );
        args.extend(["-p", "alpha=a-value"]);
        let out = run(lab.cmd().args(&args)).expect(2);
        assert_eq!(
            out.stderr,
            "jobdeck: error: run 1 has a secret param 'beta', which is never stored: pass --param beta=...\n"
        );
    }
    let out = run(lab.cmd().args(["history", "--json"])).expect(0);
    let history: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 1, "nothing recorded");
    assert_eq!(history[0]["status"], "interrupted", "not claimed");
}
