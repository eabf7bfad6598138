//! Run locks and the per-host limit through the real binary: several
//! jobdeck processes on one journal, local hosts, timestamps the steps
//! write themselves.

mod cli;
mod lab;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use lab::{Lab, run, s};

/// Starts jobdeck in the background (its output to `name.out`).
fn spawn(lab: &Lab, args: &[&str], name: &str) -> Child {
    let out = std::fs::File::create(lab.path(&format!("{name}.out"))).unwrap();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("jobdeck"));
    cmd.current_dir(lab.dir.path())
        .arg("--journal")
        .arg(lab.journal())
        .env("XDG_CONFIG_HOME", lab.path("config"))
        .env("HOME", lab.dir.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    cmd.spawn().unwrap()
}

#[track_caller]
fn wait_for_file(lab: &Lab, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !lab.exists(name) {
        assert!(Instant::now() < deadline, "{name} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn finished_at(lab: &Lab, id: i64) -> i64 {
    lab.export(id)["instance"]["finished_at"].as_i64().unwrap()
}

fn first_step_started(lab: &Lab, id: i64) -> i64 {
    lab.export(id)["step_results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["started_at"].as_i64())
        .min()
        .unwrap()
}

#[test]
fn a_held_lock_fails_a_run_at_once_or_makes_it_wait() {
    let lab = Lab::new();
    let inv = lab.local_inventory(&["h1"], &[]);
    let inv = s(&inv);
    let mut holder = spawn(
        &lab,
        &[
            "-i",
            &inv,
            "--lock",
            "db-main",
            "--run",
            "-c",
            // Holds the lock until the test lets it go, however slow the machine.
            "touch a-started; for i in $(seq 1 1200); do [ -e release ] && break; sleep 0.05; done",
        ],
        "a",
    );
    wait_for_file(&lab, "a-started");
    let holder_id = lab.last_id();

    let refused = run(lab.cmd().args([
        "-i",
        &inv,
        "--lock",
        "db-main",
        "--run",
        "-c",
        "touch b-ran",
    ]))
    .expect(2);
    assert!(!lab.exists("b-ran"));
    let user = lab.export(holder_id)["instance"]["user"]
        .as_str()
        .unwrap()
        .to_owned();
    let expected = format!(
        "lock 'db-main' is held by run {holder_id} ({user} on {}, pid {}) since ",
        hostname(),
        holder.id()
    );
    assert!(
        refused.stdout.contains(&expected),
        "{expected}\n{}",
        refused.stdout
    );

    let mut waiter = spawn(
        &lab,
        &[
            "-i",
            &inv,
            "--lock",
            "db-main",
            "--lock-wait",
            "60s",
            "--run",
            "-c",
            "touch c-ran",
        ],
        "c",
    );
    let waiting = format!("== waiting for lock 'db-main', held by run {holder_id}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(lab.path("c.out"))
        .unwrap_or_default()
        .contains(&waiting)
    {
        assert!(Instant::now() < deadline, "the second run never waited");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!lab.exists("c-ran"));
    std::fs::write(lab.path("release"), "").unwrap();
    assert!(waiter.wait().unwrap().success());
    let waited = std::fs::read_to_string(lab.path("c.out")).unwrap();
    assert!(waited.contains("== lock 'db-main' taken"), "{waited}");
    assert!(holder.wait().unwrap().success());
    // It ran only once the holder had finished.
    let waiter = lab.last_id();
    assert!(first_step_started(&lab, waiter) >= finished_at(&lab, holder_id));
    assert!(lab.show(waiter).contains("lock:      db-main"));
}

#[test]
fn a_flow_lock_takes_its_params() {
    let lab = Lab::new();
    let inv = s(&lab.local_inventory(&["h1"], &[]));
    let flow = s(&lab.write(
        "inventory/flows/migrate.yml",
        "name: migrate\nlock: \"db-${cluster}\"\nparams:\n  cluster: {type: string, required: true}\n  nap: {type: int, default: 0}\nsteps:\n  - command: touch started-${cluster}; sleep ${nap}\n",
    ));
    let mut a = spawn(
        &lab,
        &["-i", &inv, "--run", &flow, "-p", "cluster=a", "-p", "nap=5"],
        "a",
    );
    wait_for_file(&lab, "started-a");
    let same = run(lab
        .cmd()
        .args(["-i", &inv, "--run", &flow, "-p", "cluster=a"]))
    .expect(2);
    assert!(
        same.stdout.contains("lock 'db-a' is held by run"),
        "{}",
        same.stdout
    );
    // Another cluster, another lock: it runs while `db-a` is held.
    run(lab
        .cmd()
        .args(["-i", &inv, "--run", &flow, "-p", "cluster=b"]))
    .expect(0);
    assert!(
        a.try_wait().unwrap().is_none(),
        "the first run ended too soon"
    );
    assert!(a.wait().unwrap().success());
}

#[test]
fn a_crashed_holder_frees_its_lock() {
    let lab = Lab::new();
    let inv = s(&lab.local_inventory(&["h1"], &[]));
    let mut holder = spawn(
        &lab,
        &[
            "-i",
            &inv,
            "--lock",
            "deploy",
            "--run",
            "-c",
            "echo $$ > group; sleep 60",
        ],
        "a",
    );
    wait_for_file(&lab, "group");
    std::thread::sleep(Duration::from_millis(200));
    holder.kill().unwrap();
    holder.wait().unwrap();
    // The step's own process group outlived the killed jobdeck: end it.
    let group: i32 = std::fs::read_to_string(lab.path("group"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(group > 1);
    // SAFETY: signals the process group our own step started, nothing else.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    // The lock row is still there, but its owner is dead: taken at once.
    run(lab
        .cmd()
        .args(["-i", &inv, "--lock", "deploy", "--run", "-c", "touch ran"]))
    .expect(0);
    assert!(lab.exists("ran"));
}

/// `(start, end)` of each line `start end` in a file.
fn intervals(lab: &Lab, name: &str) -> Vec<(f64, f64)> {
    std::fs::read_to_string(lab.path(name))
        .unwrap()
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace().map(|p| p.parse::<f64>().unwrap());
            (parts.next().unwrap(), parts.next().unwrap())
        })
        .collect()
}

#[test]
fn the_per_host_limit_holds_across_runs() {
    let lab = Lab::new();
    lab.config("[limits]\nper_host = 1\n");
    let inv = s(&lab.local_inventory(&["h1", "h2"], &[]));
    // Local hosts are one machine: its slot is shared by both hosts and
    // by both runs.
    let step = "s=$(date +%s.%N); touch started-$JOBDECK_HOST; sleep 1; echo \"$s $(date +%s.%N)\" >> steps";
    let mut first = spawn(
        &lab,
        &["-i", &inv, "--limit", "h1", "--run", "-c", step],
        "first",
    );
    wait_for_file(&lab, "started-h1");
    let second = run(lab.cmd().args(["-i", &inv, "--run", "-c", step])).expect(0);
    assert!(first.wait().unwrap().success());
    assert!(
        second
            .stdout
            .contains("waits for its turn: 1 jobdeck step already run on this host"),
        "{}",
        second.stdout
    );
    let mut spans = intervals(&lab, "steps");
    assert_eq!(spans.len(), 3);
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in spans.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "steps overlapped on one host: {spans:?}"
        );
    }
}

#[test]
fn without_a_limit_steps_on_one_host_overlap() {
    // The control for the test above: the same runs, no [limits].
    let lab = Lab::new();
    let inv = s(&lab.local_inventory(&["h1", "h2"], &[]));
    let step = "s=$(date +%s.%N); sleep 1; echo \"$s $(date +%s.%N)\" >> steps";
    run(lab.cmd().args(["-i", &inv, "--run", "-c", step])).expect(0);
    let mut spans = intervals(&lab, "steps");
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(spans[1].0 < spans[0].1, "{spans:?}");
}

fn hostname() -> String {
    jobdeck::journal::owner::hostname()
}
