//! Schedules through the real binary: `schedule add` validation and the
//! other subcommands, two `jobdeck daemon` processes sharing one lease, and
//! a rollout killed while waiting out its interval that the daemon resumes.
//! Runs use hosts with `ansible_connection=local`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::OptionalExtension;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jobdeck");

struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("inv.ini"),
            "[local]\nl1 ansible_connection=local\nl2 ansible_connection=local\n",
        )
        .unwrap();
        // Each host appends "host batch epoch-seconds" to the file in `out`.
        std::fs::write(
            tmp.path().join("mark.yml"),
            r#"name: mark
targets: local
params:
  out:
    type: string
    required: true
  nap:
    type: int
    default: 0
  token:
    type: string
    secret: true
steps:
  - name: mark
    command: sleep "$nap"; echo "$JOBDECK_HOST $JOBDECK_BATCH $(date +%s.%N)" >> "$out"
"#,
        )
        .unwrap();
        Dir { tmp }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn journal(&self) -> PathBuf {
        self.path("journal.db")
    }

    fn jobdeck(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--journal")
            .arg(self.journal())
            .current_dir(self.tmp.path())
            .env("TZ", "UTC")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.jobdeck(args);
        assert!(
            out.status.success(),
            "jobdeck {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn add_args<'a>(&'a self, extra: &[&'a str]) -> Vec<String> {
        let mut args: Vec<String> = ["schedule", "add"].map(String::from).to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend([
            "-i".into(),
            "inv.ini".into(),
            "-p".into(),
            format!("out={}", self.path("marks").display()),
        ]);
        args
    }

    fn add(&self, extra: &[&str]) -> Output {
        let args = self.add_args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.jobdeck(&args)
    }

    fn daemon(&self, log: &str) -> Child {
        Command::new(BIN)
            .args(["daemon", "--log"])
            .arg(self.path(log))
            .arg("--journal")
            .arg(self.journal())
            .env("JOBDECK_LEASE_EXPIRY", "2s")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.journal()).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn
    }

    fn lease_pid(&self) -> Option<u32> {
        self.db()
            .query_row("SELECT owner_pid FROM scheduler_lease", [], |r| r.get(0))
            .optional()
            .unwrap_or(None)
    }

    /// (id, status) of every instance a schedule fired.
    fn instances_of(&self, schedule: i64) -> Vec<(i64, String)> {
        let conn = self.db();
        let mut stmt = conn
            .prepare("SELECT id, status FROM instances WHERE trigger = ?1 ORDER BY id")
            .unwrap();
        stmt.query_map([format!("schedule:{schedule}")], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    fn status_of(&self, instance: i64) -> Option<String> {
        self.db()
            .query_row(
                "SELECT status FROM instances WHERE id = ?1",
                [instance],
                |r| r.get(0),
            )
            .optional()
            .unwrap_or(None)
    }

    fn marks(&self) -> Vec<(String, u32, f64)> {
        std::fs::read_to_string(self.path("marks"))
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let parts: Vec<&str> = line.split(' ').collect();
                (
                    parts[0].to_owned(),
                    parts[1].parse().unwrap(),
                    parts[2].parse().unwrap(),
                )
            })
            .collect()
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn in_seconds(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: sends a signal to a child process this test started and has not reaped.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0);
}

fn schedule_ids(dir: &Dir) -> Vec<i64> {
    let list: Value = serde_json::from_str(&dir.ok(&["schedule", "list", "--json"])).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn add_refuses_bad_input_with_exit_2_and_stores_nothing() {
    let dir = Dir::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &["x", "mark.yml", "--cron", "61 * * * *"],
            "bad minute field '61'",
        ),
        (
            &["x", "mark.yml", "--cron", "0 0 * * MON-XYZ"],
            "day-of-week",
        ),
        (&["x", "mark.yml", "--cron", "0 0 * *"], "has 4 field(s)"),
        (
            &["x", "mark.yml", "--cron", "0 0 30 2 *"],
            "has no fire time within 8 years",
        ),
        (
            &["x", "mark.yml", "--cron", "@daily", "--tz", "Mars/Olympus"],
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            &["x", "mark.yml", "--at", "2020-01-01 00:00"],
            "is in the past",
        ),
        (&["x", "mark.yml", "--at", "tomorrow"], "tomorrow"),
        (&["x", "missing.yml", "--cron", "@daily"], "missing.yml"),
        (
            &["x", "mark.yml", "--cron", "@daily", "-p", "token=hunter2"],
            "never stores secrets",
        ),
        (
            &[
                "x",
                "mark.yml",
                "--cron",
                "@daily",
                "--until",
                "2020-01-01 00:00",
            ],
            "--until",
        ),
        (
            &[
                "x",
                "mark.yml",
                "--cron",
                "0 0 1 1 *",
                "--until",
                "2099-12-31 00:00",
                "--at",
                "2099-01-01 00:00",
            ],
            "cannot be used with",
        ),
        (
            &[
                "x",
                "mark.yml",
                "--cron",
                "@daily",
                "--overlap",
                "sometimes",
            ],
            "unknown --overlap 'sometimes'",
        ),
        (
            &["x", "mark.yml", "--cron", "@daily", "--catch-up", "most"],
            "unknown --catch-up 'most'",
        ),
        (
            &["x", "mark.yml", "--cron", "@daily", "--limit", "nosuchhost"],
            "matched no hosts",
        ),
        (
            &["x", "mark.yml", "--cron", "@daily", "--mode", "confirm"],
            "--mode confirm needs an operator",
        ),
        (
            &["x", "mark.yml", "--cron", "@daily", "--batches", "0"],
            "--batches",
        ),
        (
            &["x", "mark.yml", "--cron", "@reboot"],
            "@reboot is not supported",
        ),
        (&["42", "mark.yml", "--cron", "@daily"], "not a number"),
    ];
    for (args, expected) in cases {
        let out = dir.add(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr}"
        );
    }
    assert!(
        !dir.journal().exists(),
        "nothing was stored, not even a journal"
    );
    // A missing required param and the secret check use the flow itself.
    let out = dir.jobdeck(&[
        "schedule", "add", "x", "mark.yml", "--cron", "@daily", "-i", "inv.ini",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("param 'out' is required"));
    assert!(!dir.journal().exists());
    // With a journal in place, a refused add leaves it without schedules.
    assert!(
        dir.add(&["good", "mark.yml", "--cron", "@daily"])
            .status
            .success()
    );
    assert_eq!(
        dir.add(&["bad", "mark.yml", "--cron", "@dayly"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(schedule_ids(&dir), [1]);
}

#[test]
fn add_list_show_pause_resume_rm() {
    let dir = Dir::new();
    let out = dir.add(&[
        "nightly",
        "mark.yml",
        "--cron",
        "30 2 * * *",
        "--tz",
        "Europe/Berlin",
        "--overlap",
        "queue",
        "--batches",
        "1 100%",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(
            "schedule 1 'nightly' added: flow mark, 30 2 * * * (Europe/Berlin); next fire "
        ),
        "{stdout}"
    );
    let out = dir.add(&["nightly", "mark.yml", "--cron", "@daily"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("a schedule named 'nightly' already exists (id 1)")
    );
    assert!(
        dir.add(&[
            "later",
            "mark.yml",
            "--at",
            "2099-06-01 12:00",
            "--catch-up",
            "none"
        ])
        .status
        .success()
    );

    let list = dir.ok(&["schedule", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].starts_with("ID  NAME     WHEN"), "{list}");
    assert!(
        lines[1].starts_with("1   nightly  30 2 * * * (Europe/Berlin)"),
        "{list}"
    );
    assert!(
        lines[1].contains(" CET ") || lines[1].contains(" CEST "),
        "next fire in the zone: {list}"
    );
    assert!(
        lines[2].starts_with("2   later    at 2099-06-01 12:00:00 UTC  2099-06-01 12:00:00 UTC  -"),
        "{list}"
    );
    assert_eq!(
        lines[3],
        "scheduler: none running; schedules fire while `jobdeck daemon` or the console runs"
    );

    let json: Value = serde_json::from_str(&dir.ok(&["schedule", "list", "--json"])).unwrap();
    let first = &json[0];
    assert_eq!(first["overlap"], "queue");
    assert_eq!(first["catch_up"], "once");
    assert_eq!(first["zone"], "Europe/Berlin");
    assert_eq!(first["run"]["batches"], "1 100%");
    assert!(first["flow_path"].as_str().unwrap().ends_with("/mark.yml"));
    assert!(Path::new(first["flow_path"].as_str().unwrap()).is_absolute());
    assert_eq!(json[1]["catch_up"], "none");

    let show = dir.ok(&["schedule", "show", "later"]);
    assert!(
        show.contains("when:      at 2099-06-01 12:00:00 UTC\n"),
        "{show}"
    );
    assert!(
        show.contains("next:      2099-06-01 12:00:00 UTC\n"),
        "{show}"
    );

    assert_eq!(
        dir.ok(&["schedule", "pause", "nightly"]),
        "schedule 1 'nightly' paused\n"
    );
    let json: Value = serde_json::from_str(&dir.ok(&["schedule", "show", "1", "--json"])).unwrap();
    assert_eq!(json["paused"], true);
    assert!(
        dir.ok(&["schedule", "resume", "1"])
            .starts_with("schedule 1 'nightly' resumed; next fire ")
    );
    assert_eq!(
        dir.ok(&["schedule", "rm", "later"]),
        "schedule 2 'later' removed; its past runs stay in history\n"
    );
    assert_eq!(schedule_ids(&dir), [1]);
    let out = dir.jobdeck(&["schedule", "show", "later"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no schedule 'later'"));
}

/// Two daemons on one journal: one fires, the other stands by. A frozen
/// holder (SIGSTOP) loses the lease once its heartbeat expires; when it
/// wakes it finds it lost and does not fire. A killed holder (SIGKILL) is
/// replaced as soon as the survivor sees its pid is gone.
#[test]
fn two_daemons_share_one_lease() {
    let dir = Dir::new();
    let a = dir.daemon("a.log");
    let b = dir.daemon("b.log");
    let holder = wait_for("a lease holder", Duration::from_secs(10), || {
        dir.lease_pid()
    });
    let (first, mut second, first_log, second_log) = if holder == a.id() {
        (a, b, "a.log", "b.log")
    } else {
        (b, a, "b.log", "a.log")
    };

    // 1. Only one fires.
    assert!(
        dir.add(&["one", "mark.yml", "--at", &in_seconds(2)])
            .status
            .success()
    );
    let run = wait_for("schedule 1 to run", Duration::from_secs(15), || {
        dir.instances_of(1)
            .first()
            .filter(|(_, s)| s == "ok")
            .cloned()
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(dir.instances_of(1), [(run.0, "ok".to_owned())]);
    assert_eq!(dir.marks().len(), 2, "one run on two hosts");
    assert!(dir.log(first_log).contains("schedule 1 'one': fired for"));
    assert!(!dir.log(second_log).contains("fired for"));
    // The stand-by daemon says who holds the lease on its next tick; on a
    // loaded machine that tick may come after the fire.
    let standing_by = format!("schedules are run by daemon pid {holder}");
    wait_for(
        "the stand-by daemon to name the holder",
        Duration::from_secs(15),
        || dir.log(second_log).contains(&standing_by).then_some(()),
    );

    // 2. The holder freezes: the other takes over only after the expiry (2 s).
    signal(&first, libc::SIGSTOP);
    let frozen_at = Instant::now();
    wait_for("the takeover", Duration::from_secs(10), || {
        (dir.lease_pid() == Some(second.id())).then_some(())
    });
    let waited = frozen_at.elapsed();
    assert!(
        waited >= Duration::from_millis(1500),
        "took over after {waited:?}, before the lease expired"
    );
    assert!(
        dir.add(&["two", "mark.yml", "--at", &in_seconds(2)])
            .status
            .success()
    );
    wait_for("schedule 2 to run", Duration::from_secs(15), || {
        dir.instances_of(2)
            .first()
            .filter(|(_, s)| s == "ok")
            .cloned()
    });
    assert!(dir.log(second_log).contains("took over from daemon pid"));

    // 3. The frozen one wakes, learns it lost the lease, and fires nothing.
    signal(&first, libc::SIGCONT);
    wait_for("the old holder to notice", Duration::from_secs(10), || {
        dir.log(first_log)
            .contains("lost the scheduler lease")
            .then_some(())
    });
    assert!(
        dir.add(&["three", "mark.yml", "--at", &in_seconds(2)])
            .status
            .success()
    );
    wait_for("schedule 3 to run", Duration::from_secs(15), || {
        dir.instances_of(3)
            .first()
            .filter(|(_, s)| s == "ok")
            .cloned()
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(dir.instances_of(2).len(), 1);
    assert_eq!(dir.instances_of(3).len(), 1);
    assert_eq!(
        dir.log(first_log).matches("fired for").count(),
        1,
        "{}",
        dir.log(first_log)
    );

    // 4. The new holder is killed: the first takes the lease back.
    second.kill().unwrap();
    second.wait().unwrap();
    wait_for(
        "the first to take the lease back",
        Duration::from_secs(10),
        || (dir.lease_pid() == Some(first.id())).then_some(()),
    );
    assert!(
        dir.add(&["four", "mark.yml", "--at", &in_seconds(2)])
            .status
            .success()
    );
    wait_for("schedule 4 to run", Duration::from_secs(15), || {
        dir.instances_of(4)
            .first()
            .filter(|(_, s)| s == "ok")
            .cloned()
    });
    assert_eq!(dir.marks().len(), 8, "four runs on two hosts, none twice");

    // A clean stop releases the lease.
    signal(&first, libc::SIGTERM);
    let mut first = first;
    let status = first.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(dir.lease_pid(), None);
    assert!(
        dir.log(first_log)
            .contains("info: SIGTERM: stopping (no new fires)")
    );
}

/// The durable rollout: `--run` with two batches and an interval is killed
/// while waiting; a daemon started afterwards resumes it, honours what is
/// left of the interval and does not run batch 1 again. A run killed in the
/// middle of a batch stays interrupted for an operator.
#[test]
fn a_rollout_killed_during_its_interval_resumes_under_the_daemon() {
    let dir = Dir::new();
    let run = |extra: &[&str]| -> Child {
        Command::new(BIN)
            .args([
                "--run",
                "mark.yml",
                "-i",
                "inv.ini",
                "--batches",
                "1 100%",
                "--mode",
                "continue",
            ])
            .args(extra)
            .arg("--journal")
            .arg(dir.journal())
            .current_dir(dir.tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let out = format!("out={}", dir.path("marks").display());
    let mut waiting = run(&["--interval", "3s", "-p", &out]);
    let waiting_id = wait_for("batch 1 to finish", Duration::from_secs(15), || {
        (dir.status_of(1).as_deref() == Some("waiting")).then_some(1)
    });
    waiting.kill().unwrap();
    waiting.wait().unwrap();

    let busy_out = format!("out={}", dir.path("busy").display());
    let mut busy = run(&["--interval", "1s", "-p", &busy_out, "-p", "nap=3"]);
    wait_for(
        "the second run to start its batch",
        Duration::from_secs(15),
        || (dir.status_of(2).as_deref() == Some("running")).then_some(()),
    );
    std::thread::sleep(Duration::from_millis(300));
    busy.kill().unwrap();
    busy.wait().unwrap();

    assert_eq!(dir.marks().len(), 1, "batch 1 ran on l1 before the kill");
    let resume_at: i64 = dir
        .db()
        .query_row("SELECT resume_at FROM instances WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();

    let mut daemon = dir.daemon("d.log");
    wait_for("the resumed run to finish", Duration::from_secs(20), || {
        (dir.status_of(waiting_id).as_deref() == Some("ok")).then_some(())
    });
    let marks = dir.marks();
    assert_eq!(
        marks
            .iter()
            .map(|(h, b, _)| (h.as_str(), *b))
            .collect::<Vec<_>>(),
        [("l1", 1), ("l2", 2)],
        "batch 1 is not run again"
    );
    let batch_2_started = marks[1].2;
    assert!(
        batch_2_started * 1000.0 >= resume_at as f64 - 50.0,
        "batch 2 waited out the interval: started {batch_2_started}, interval ended {resume_at}"
    );
    let log = dir.log("d.log");
    assert!(
        log.contains(&format!(
            "resuming run {waiting_id} (mark), interrupted while waiting out its interval"
        )),
        "{log}"
    );
    assert!(log.contains("run 2 was interrupted in the middle of batch 1; it waits for an operator: jobdeck resume 2"), "{log}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(dir.status_of(2).as_deref(), Some("interrupted"));
    let history: Value = serde_json::from_str(&dir.ok(&["history", "--json"])).unwrap();
    let first = history
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == 1)
        .unwrap()
        .clone();
    assert_eq!(first["trigger"], "cli");
    assert_eq!(first["hosts_ok"], 2);

    signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
}

// ------------------------------------------------- sharing the journal with other clients

/// Runs `sqlite3 JOURNAL SQL`, as an operator poking at the journal would.
fn sqlite3(journal: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(journal)
        .arg(sql)
        .output()
        .expect("the sqlite3 command-line tool (scripts/test.sh installs it)");
    assert!(out.status.success(), "sqlite3 {sql}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Descriptors of `pid` that point at one of the journal's files after it
/// was deleted: the process then writes where nobody else reads.
fn deleted_journal_fds(pid: u32, journal: &Path) -> Vec<String> {
    let prefix = journal.display().to_string();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|target| target.display().to_string())
        .filter(|t| t.starts_with(&prefix) && t.ends_with("(deleted)"))
        .collect()
}

/// Daemons a test started: killed if the test fails half-way (they would
/// outlive it), a no-op for those it stopped and waited for.
struct Daemons(Vec<Child>);

impl Drop for Daemons {
    fn drop(&mut self) {
        for daemon in &mut self.0 {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }
}

/// The console in a tmux session of its own (killed on drop).
struct Console {
    socket: String,
}

impl Console {
    fn start(dir: &Dir) -> Option<Console> {
        if Command::new("tmux").arg("-V").output().is_err() {
            return None;
        }
        let console = Console {
            socket: format!("jobdeck-journal-{}", std::process::id()),
        };
        let command = format!(
            "exec env TERM=xterm-256color XDG_CONFIG_HOME=config {BIN} --journal journal.db -i inv.ini"
        );
        let cwd = dir.tmp.path().display().to_string();
        let out = console.tmux(&[
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "32",
            "-s",
            "c",
            "-c",
            &cwd,
            &command,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        console.wait_for("Inventory 2 hosts");
        Some(console)
    }

    fn wait_for(&self, text: &str) {
        wait_for(text, Duration::from_secs(20), || {
            let screen = self.tmux(&["capture-pane", "-p", "-t", "c"]);
            String::from_utf8_lossy(&screen.stdout)
                .contains(text)
                .then_some(())
        });
    }

    fn key(&self, key: &str) {
        assert!(self.tmux(&["send-keys", "-t", "c", key]).status.success());
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    fn pid(&self) -> u32 {
        let out = self.tmux(&["display-message", "-p", "-t", "c", "#{pane_pid}"]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn wait_exit(pid: u32, limit: Duration) {
    wait_for("the process to exit", limit, || {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = state.rsplit(')').next().unwrap_or("").trim_start();
        (state.is_empty() || state.starts_with('Z')).then_some(())
    });
}

/// Every SQLite client that closes while others still have the journal
/// open checks whether it is the last one (by taking a lock) and, if so,
/// deletes -wal and -shm. A jobdeck process that dropped its own locks
/// (by closing a descriptor of the journal it opened beside SQLite) then
/// goes on writing into deleted files, and the journal is later corrupt.
#[test]
fn a_daemon_a_console_sqlite3_and_a_run_share_the_journal_without_losing_locks() {
    let dir = Dir::new();
    let mut daemons = Daemons(vec![dir.daemon("d.log")]);
    let daemon_pid = daemons.0[0].id();
    wait_for("the daemon's lease", Duration::from_secs(10), || {
        (dir.lease_pid() == Some(daemon_pid)).then_some(())
    });
    let console = Console::start(&dir);
    if console.is_none() {
        eprintln!("tmux is not installed: the console's part is skipped (.ci installs it)");
    }
    let count = || sqlite3(&dir.journal(), "SELECT count(*) FROM instances");
    assert_eq!(count(), "0");
    let out = dir.jobdeck(&["--run", "-c", "echo shared", "-i", "inv.ini"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(count(), "1");
    if let Some(console) = &console {
        // History reads the journal on connections of its own.
        console.key("5");
        console.wait_for("echo shared");
        assert_eq!(count(), "1");
    }
    // The daemon and the console still write where everybody reads.
    let mut processes = vec![("daemon", daemon_pid)];
    if let Some(console) = &console {
        processes.push(("console", console.pid()));
    }
    for (what, pid) in &processes {
        assert_eq!(
            deleted_journal_fds(*pid, &dir.journal()),
            Vec::<String>::new(),
            "the {what} writes into deleted journal files"
        );
    }
    assert!(
        dir.add(&["soon", "mark.yml", "--at", &in_seconds(2)])
            .status
            .success()
    );
    wait_for("the daemon to fire", Duration::from_secs(20), || {
        dir.instances_of(1)
            .first()
            .filter(|(_, s)| s == "ok")
            .cloned()
    });
    assert_eq!(count(), "2", "sqlite3 sees the daemon's run");

    for (_, pid) in &processes {
        // SAFETY: signals processes this test started.
        assert_eq!(unsafe { libc::kill(*pid as i32, libc::SIGTERM) }, 0);
    }
    assert!(daemons.0[0].wait().unwrap().success());
    if let Some((_, pid)) = processes.get(1) {
        wait_exit(*pid, Duration::from_secs(10));
    }
    drop(console);
    assert_eq!(sqlite3(&dir.journal(), "PRAGMA integrity_check"), "ok");
    assert_eq!(count(), "2");
    let history: Value = serde_json::from_str(&dir.ok(&["history", "--json"])).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
}

/// Two daemons share the lease for a schedule that fires every minute,
/// while `sqlite3` reads the journal every second and the holder is
/// replaced after the first fire: each minute fires exactly once, and
/// every fire is in the journal everybody reads. (About three minutes.)
#[test]
fn two_daemons_and_sqlite3_readers_fire_a_cron_schedule_once_a_minute() {
    const FIRES: i64 = 3;
    let dir = Dir::new();
    let mut daemons = Daemons(vec![dir.daemon("a.log"), dir.daemon("b.log")]);
    wait_for("a lease holder", Duration::from_secs(10), || {
        dir.lease_pid()
    });
    assert!(
        dir.add(&["every", "mark.yml", "--cron", "* * * * *", "--tz", "UTC"])
            .status
            .success()
    );
    let first_due: i64 = dir
        .db()
        .query_row(
            "SELECT next_fire_at / 1000 FROM schedules WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let last_due = first_due + (FIRES - 1) * 60;
    let mut replaced = false;
    while chrono::Utc::now().timestamp() < last_due + 10 {
        assert_ne!(sqlite3(&dir.journal(), "PRAGMA quick_check"), "");
        sqlite3(&dir.journal(), "SELECT count(*) FROM schedule_fires");
        for daemon in &daemons.0 {
            assert_eq!(
                deleted_journal_fds(daemon.id(), &dir.journal()),
                Vec::<String>::new()
            );
        }
        if !replaced && !dir.instances_of(1).is_empty() {
            // The holder stops (releasing the lease); a new daemon stands by.
            let holder = dir.lease_pid().unwrap();
            let at = daemons.0.iter().position(|d| d.id() == holder).unwrap();
            let mut old = daemons.0.remove(at);
            signal(&old, libc::SIGTERM);
            assert!(old.wait().unwrap().success());
            daemons.0.push(dir.daemon("c.log"));
            replaced = true;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    for daemon in &mut daemons.0 {
        signal(daemon, libc::SIGTERM);
        assert!(daemon.wait().unwrap().success());
    }
    assert!(replaced, "the first fire never showed");

    let due: Vec<i64> = {
        let conn = dir.db();
        let mut stmt = conn
            .prepare("SELECT due_at FROM schedule_fires WHERE outcome = 'started' ORDER BY due_at")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let expected: Vec<i64> = (0..FIRES).map(|i| (first_due + i * 60) * 1000).collect();
    assert_eq!(due, expected, "one fire per minute, each once");
    let runs = dir.instances_of(1);
    assert_eq!(runs.len(), FIRES as usize, "{runs:?}");
    assert!(runs.iter().all(|(_, status)| status == "ok"), "{runs:?}");
    let marks = dir.marks();
    for host in ["l1", "l2"] {
        assert_eq!(
            marks.iter().filter(|(h, _, _)| h == host).count(),
            FIRES as usize,
            "{marks:?}"
        );
    }
    assert_eq!(sqlite3(&dir.journal(), "PRAGMA integrity_check"), "ok");
}

/// Appending log lines to the journal would corrupt it (and drop the locks
/// SQLite holds): `--log` naming the journal or its -wal is refused.
#[test]
fn the_daemon_will_not_log_into_the_journal() {
    let dir = Dir::new();
    // A run creates the journal; its -wal goes when the run exits.
    dir.ok(&["--run", "-c", "true", "-i", "inv.ini"]);
    assert!(!dir.path("journal.db-wal").exists());
    for log in ["journal.db", "./journal.db-wal"] {
        let daemon = Command::new(BIN)
            .args(["daemon", "--log", log, "--journal", "journal.db"])
            .current_dir(dir.tmp.path())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut daemons = Daemons(vec![daemon]);
        let status = wait_for("the daemon to refuse", Duration::from_secs(10), || {
            daemons.0[0].try_wait().unwrap()
        });
        assert_eq!(status.code(), Some(2));
        let mut stderr = String::new();
        std::io::Read::read_to_string(daemons.0[0].stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert_eq!(
            stderr,
            format!(
                "jobdeck: error: --log {log}: that is the journal's own file; give the log another name\n"
            )
        );
    }
    assert_eq!(sqlite3(&dir.journal(), "PRAGMA integrity_check"), "ok");
}
