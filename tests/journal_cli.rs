//! `jobdeck journal stats | prune | backup | check` and `history --since`
//! through the real binary, against journals that a headless run and the
//! daemon write to at the same time. Runs use `ansible_connection=local`
//! hosts; old runs are written by the journal writer (see support/fill.rs)
//! and moved back in time.

mod cli;
#[path = "support/fill.rs"]
mod fill;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use cli::{Sandbox, in_seconds, wait_for};
use fill::{Run, write_runs};
use jobdeck::engine::events::InstanceStatus::{self, Interrupted, Ok as Done};
use jobdeck::journal::Trigger;
use rusqlite::OptionalExtension;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jobdeck");
/// A headless run that prints 150 lines per host over about 4 seconds.
const SLOW_COMMAND: &str = "for i in $(seq 1 150); do echo line $i; sleep 0.025; done";

struct Dir {
    files: Sandbox,
}

impl Dir {
    fn new() -> Dir {
        let files = Sandbox::new();
        files.write(
            "inv.ini",
            "[local]\nl1 ansible_connection=local\nl2 ansible_connection=local\n",
        );
        files.write(
            "echo.yml",
            "name: echo\ntargets: local\nsteps:\n  - name: say\n    command: echo fired\n",
        );
        std::fs::create_dir(files.path("config")).unwrap();
        Dir { files }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.files.path(name)
    }

    fn journal(&self) -> PathBuf {
        self.path("journal.db")
    }

    /// The config file the daemon reads retention from.
    fn config(&self) -> PathBuf {
        self.path("config/jobdeck/config.toml")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .arg("--journal")
            .arg(self.journal())
            .current_dir(self.files.dir.path())
            .env("TZ", "UTC")
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("JOBDECK_LEASE_EXPIRY", "2s")
            .stdin(Stdio::null());
        command
    }

    fn jobdeck(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.jobdeck(args);
        assert!(
            out.status.success(),
            "jobdeck {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn spawn(&self, args: &[&str], log: &str) -> Child {
        let log = std::fs::File::create(self.path(log)).unwrap();
        self.command(args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn daemon(&self) -> Child {
        let log = self.path("daemon.log");
        let log = log.to_str().unwrap();
        self.spawn(&["daemon", "--log", log], "daemon.out")
    }

    /// Starts a headless run of `SLOW_COMMAND` on both hosts; returns it
    /// and its instance (newer than `after`) once it has written `rows`
    /// output chunks.
    fn slow_run(&self, after: i64, rows: i64) -> (Child, i64) {
        let args = [
            "--run",
            "-c",
            SLOW_COMMAND,
            "-i",
            "inv.ini",
            "--limit",
            "local",
        ];
        let run = self.spawn(&args, "run.out");
        let (live, _) = wait_for("the headless run to write", Duration::from_secs(10), || {
            self.latest("cli")
                .filter(|(id, _)| *id > after && self.output_rows(*id) >= rows)
        });
        (run, live)
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// A connection of the test's own (jobdeck's processes have theirs).
    fn db(&self) -> rusqlite::Connection {
        db(&self.journal())
    }

    /// The newest instance with this trigger: (id, status).
    fn latest(&self, trigger: &str) -> Option<(i64, String)> {
        self.db()
            .query_row(
                "SELECT id, status FROM instances WHERE trigger = ?1 ORDER BY id DESC LIMIT 1",
                [trigger],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .unwrap()
    }

    fn output_rows(&self, id: i64) -> i64 {
        count(
            &self.db(),
            "SELECT count(*) FROM output WHERE instance_id = ?1",
            id,
        )
    }

    fn output_lines(&self, id: i64) -> i64 {
        output_lines(&self.db(), id)
    }
}

/// Lines, not rows: on a busy machine two lines can arrive in one read and
/// be stored as one row.
fn output_lines(conn: &rusqlite::Connection, id: i64) -> i64 {
    count(
        conn,
        "SELECT coalesce(sum(length(CAST(data AS TEXT)) - length(replace(CAST(data AS TEXT), char(10), ''))), 0)
         FROM output WHERE instance_id = ?1",
        id,
    )
}

fn db(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

fn count(conn: &rusqlite::Connection, sql: &str, id: i64) -> i64 {
    conn.query_row(sql, [id], |r| r.get(0)).unwrap()
}

fn integrity(conn: &rusqlite::Connection) -> String {
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn foreign_key_problems(conn: &rusqlite::Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })
    .unwrap()
}

fn stop(mut child: Child) {
    // SAFETY: signals a child this test started and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();
}

fn finished(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    wait_for("a jobdeck process to end", limit, || {
        child.try_wait().unwrap()
    })
}

/// Old runs big enough that a prune takes many batches: 150 finished runs
/// 200 days old with 4 hosts × 40 chunks × 200 bytes each, an interrupted
/// one, and the old last run of a schedule that fires only tomorrow.
fn old_history(dir: &Dir) -> (Vec<i64>, i64, i64) {
    let out = dir.ok(&[
        "schedule",
        "add",
        "tomorrow",
        "echo.yml",
        "-i",
        "inv.ini",
        "--at",
        &in_seconds(86_400),
    ]);
    assert!(out.contains("tomorrow"), "{out}");
    let mut runs: Vec<Run> = (0..150)
        .map(|i| {
            let status = [Done, InstanceStatus::Failed, InstanceStatus::Aborted][i % 3];
            Run::new(["deploy", "health"][i % 2], status, 200).output(4, 40, 200)
        })
        .collect();
    runs.push(Run::new("deploy", Interrupted, 200));
    runs.push(Run::new("echo", Done, 200).trigger(Trigger::Schedule(1)));
    let ids = write_runs(&dir.journal(), &runs);
    let schedule_last = ids[151];
    let interrupted = ids[150];
    (ids[..150].to_vec(), interrupted, schedule_last)
}

#[test]
fn prune_while_a_headless_run_and_the_daemon_write() {
    let dir = Dir::new();
    let (old, interrupted, schedule_last) = old_history(&dir);
    let daemon = dir.daemon();
    wait_for(
        "the daemon to hold the lease",
        Duration::from_secs(10),
        || {
            dir.log("daemon.log")
                .contains("holding the scheduler lease")
                .then_some(())
        },
    );
    // A fire that lands while the prune goes on.
    dir.ok(&[
        "schedule",
        "add",
        "soon",
        "echo.yml",
        "-i",
        "inv.ini",
        "--at",
        &in_seconds(2),
    ]);
    let (mut run, live) = dir.slow_run(schedule_last, 1);

    let rows_before = dir.output_rows(live);
    let out = dir.ok(&["journal", "prune", "--older-than", "90d"]);
    let rows_after = dir.output_rows(live);
    assert!(
        out.starts_with(
            "deleted 150 finished run(s) (deploy 75, health 75): 600 host(s), 24000 output chunk(s)"
        ),
        "{out}"
    );
    let lock_ms: f64 = out
        .split("held the write lock ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no lock time in {out}"));
    assert!(lock_ms > 0.0, "{out}");
    // The live run went on writing while the prune ran.
    assert!(
        rows_after > rows_before,
        "{rows_before} -> {rows_after}: {out}"
    );

    assert!(
        finished(&mut run, Duration::from_secs(60)).success(),
        "{}",
        dir.log("run.out")
    );
    assert_eq!(
        dir.output_lines(live),
        300,
        "every line of the live run is in the journal"
    );
    let fired = wait_for(
        "the fire of 'soon' to finish",
        Duration::from_secs(30),
        || {
            dir.latest("schedule:2")
                .filter(|(_, status)| status == "ok")
        },
    );
    assert!(dir.output_rows(fired.0) > 0);
    stop(daemon);

    let conn = dir.db();
    let left: Vec<i64> = conn
        .prepare("SELECT id FROM instances ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(left, [interrupted, schedule_last, live, fired.0]);
    for table in [
        "hosts",
        "step_results",
        "output",
        "steps",
        "batches",
        "exports",
    ] {
        let sql = format!("SELECT count(*) FROM {table} WHERE instance_id <= ?1");
        assert_eq!(count(&conn, &sql, *old.last().unwrap()), 0, "{table}");
    }
    assert_eq!(integrity(&conn), "ok");
    assert_eq!(foreign_key_problems(&conn), 0);
    let log = dir.log("daemon.log");
    assert!(!log.contains("error:"), "{log}");
}

#[test]
fn a_backup_taken_mid_run_opens_and_passes_integrity_check() {
    let dir = Dir::new();
    let (_, _, schedule_last) = old_history(&dir);
    let daemon = dir.daemon();
    let (mut run, live) = dir.slow_run(schedule_last, 21);
    let copy = dir.path("backup.db");
    let out = dir.ok(&["journal", "backup", copy.to_str().unwrap()]);
    assert!(out.contains("the copy passed quick_check"), "{out}");
    let (status, lines_then) = {
        let copied = db(&copy);
        assert_eq!(integrity(&copied), "ok");
        assert_eq!(foreign_key_problems(&copied), 0);
        let status: String = copied
            .query_row("SELECT status FROM instances WHERE id = ?1", [live], |r| {
                r.get(0)
            })
            .unwrap();
        (status, output_lines(&copied, live))
    };
    assert_eq!(status, "running", "the copy holds the run mid-way");
    assert!(lines_then > 20, "{lines_then}");
    assert!(finished(&mut run, Duration::from_secs(60)).success());
    assert_eq!(dir.output_lines(live), 300);
    assert!(lines_then < 300, "the copy was taken mid-run: {lines_then}");
    stop(daemon);
    // The copy is a journal jobdeck can read and check.
    let checked = Command::new(BIN)
        .args(["journal", "check", "--journal"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let history = Command::new(BIN)
        .args(["history", "--json", "--journal"])
        .arg(&copy)
        .output()
        .unwrap();
    let rows: Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 20);
}

#[test]
fn a_pruned_journal_is_smaller_on_disk() {
    let dir = Dir::new();
    old_history(&dir);
    let stats = |dir: &Dir| -> Value {
        serde_json::from_str(&dir.ok(&["journal", "stats", "--json"])).unwrap()
    };
    let before = stats(&dir);
    assert_eq!(before["runs"], 152);
    assert_eq!(before["file"]["auto_vacuum"], "incremental");
    assert_eq!(before["by_status"]["interrupted"], 1);
    assert_eq!(before["output_bytes"], 150 * 4 * 40 * 200 + 2 * 3 * 64 * 2);
    let text = dir.ok(&["journal", "stats"]);
    assert!(text.contains("by flow:\n  deploy"), "{text}");
    assert!(text.contains("largest runs:"), "{text}");

    let dry = dir.ok(&[
        "journal",
        "prune",
        "--older-than",
        "90d",
        "--keep-last",
        "5",
        "--dry-run",
    ]);
    assert!(
        dry.starts_with("would delete 141 finished run(s) (deploy 71, health 70): 564 host(s), 22560 output chunk(s), 4.3 MiB of output"),
        "{dry}"
    );
    assert_eq!(stats(&dir)["runs"], 152);

    let json: Value = serde_json::from_str(&dir.ok(&[
        "journal",
        "prune",
        "--older-than",
        "90d",
        "--flow",
        "health",
        "--json",
    ]))
    .unwrap();
    assert_eq!(json["runs"], 75);
    assert_eq!(json["by_flow"]["health"], 75);
    assert!(json["longest_lock_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(json["space"]["kind"], "returned");

    dir.ok(&["journal", "prune", "--older-than", "90d"]);
    let after = stats(&dir);
    assert_eq!(after["runs"], 2);
    let size = |s: &Value| s["file"]["file_bytes"].as_u64().unwrap();
    assert!(
        size(&after) * 5 < size(&before),
        "{} -> {}",
        size(&before),
        size(&after)
    );
    assert_eq!(after["file"]["free_pages"], 0);
    let check = dir.ok(&["journal", "check"]);
    assert!(
        check.contains("integrity: ok\nforeign keys: ok\n"),
        "{check}"
    );
}

#[test]
fn check_exits_non_zero_with_a_readable_report_on_a_damaged_copy() {
    let dir = Dir::new();
    write_runs(
        &dir.journal(),
        &(0..20)
            .map(|_| Run::new("deploy", Done, 1).output(5, 20, 200))
            .collect::<Vec<_>>(),
    );
    let (root, page_size): (i64, i64) = {
        let conn = dir.db();
        let root = conn
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'hosts_by_status'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (
            root,
            conn.pragma_query_value(None, "page_size", |r| r.get(0))
                .unwrap(),
        )
    };
    let damaged = dir.path("damaged.db");
    std::fs::copy(dir.journal(), &damaged).unwrap();
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&damaged)
            .unwrap();
        file.seek(SeekFrom::Start(((root - 1) * page_size + 100) as u64))
            .unwrap();
        file.write_all(b"garbage written on purpose over a b-tree page")
            .unwrap();
    }
    let out = Command::new(BIN)
        .args(["journal", "check", "--journal"])
        .arg(&damaged)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("integrity: "), "{text}");
    assert!(text.contains(" problem(s)\n"), "{text}");
    assert!(text.contains("the journal is damaged"), "{text}");
    let json = Command::new(BIN)
        .args(["journal", "check", "--json", "--journal"])
        .arg(&damaged)
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(!report["integrity"].as_array().unwrap().is_empty());
    // The original is untouched and sound.
    assert!(dir.ok(&["journal", "check"]).contains("integrity: ok"));
}

#[test]
fn bad_input_names_what_was_wrong_and_exits_2() {
    let dir = Dir::new();
    let fails = |args: &[&str], expected: &str| {
        let out = dir.jobdeck(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    };
    // No journal yet: nothing is created.
    fails(&["journal", "stats"], "no journal at");
    fails(&["journal", "check"], "no journal at");
    fails(&["journal", "backup", "copy.db"], "no journal at");
    assert!(!dir.journal().exists());
    write_runs(&dir.journal(), &[Run::new("deploy", Done, 1)]);
    fails(
        &["journal", "prune", "--older-than", "90"],
        "--older-than: invalid duration `90`",
    );
    fails(&["journal", "prune"], "--older-than");
    fails(
        &["journal", "prune", "--older-than", "1d", "--keep-last", "x"],
        "invalid value 'x'",
    );
    std::fs::write(dir.path("taken.db"), "mine").unwrap();
    fails(
        &["journal", "backup", "taken.db"],
        "taken.db: already exists",
    );
    assert_eq!(std::fs::read(dir.path("taken.db")).unwrap(), b"mine");
    fails(
        &["journal", "backup", dir.journal().to_str().unwrap()],
        "is the journal itself",
    );
    fails(
        &["history", "--since", "last tuesday"],
        "--since \"last tuesday\": expected a duration",
    );
}

#[test]
fn history_since_filters_by_start_time() {
    let dir = Dir::new();
    write_runs(
        &dir.journal(),
        &[
            Run::new("deploy", Done, 40),
            Run::new("deploy", Done, 3),
            Run::new("health", Done, 1),
        ],
    );
    let ids = |args: &[&str]| -> Vec<i64> {
        let mut all = vec!["history", "--json"];
        all.extend_from_slice(args);
        let rows: Value = serde_json::from_str(&dir.ok(&all)).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&[]), [3, 2, 1]);
    assert_eq!(ids(&["--since", "7d"]), [3, 2]);
    assert_eq!(
        ids(&["--since", "2d", "--flow", "deploy"]),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&["--since", "7d", "--status", "ok", "--flow", "deploy"]),
        [2]
    );
    let day = (chrono::Utc::now() - chrono::Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(ids(&["--since", &day]), [3, 2]);
}

/// The daemon applies `[retention]` from the config file when it takes
/// the lease (and hourly after), and logs what it did.
#[test]
fn the_daemon_applies_retention_from_the_config_file() {
    let dir = Dir::new();
    old_history(&dir);
    std::fs::create_dir_all(dir.config().parent().unwrap()).unwrap();
    std::fs::write(
        dir.config(),
        "[tui]\ntheme = \"dark\"\n\n[retention]\ndays = 30\nkeep_last = 10\n\n[retention.flow.health]\nforever = true\n\n[retention.schedule.nosuch]\ndays = 1\n",
    )
    .unwrap();
    let daemon = dir.daemon();
    let line = wait_for("the retention pass", Duration::from_secs(30), || {
        dir.log("daemon.log")
            .lines()
            .find(|l| l.contains("retention: deleted"))
            .map(str::to_owned)
    });
    stop(daemon);
    // deploy: 76 runs, the newest 10 kept (one of them the interrupted
    // run); health: kept forever; echo: the schedule's last run.
    assert!(
        line.contains("info: retention: deleted 66 finished run(s) (deploy 66)"),
        "{line}"
    );
    assert!(line.contains("longest write lock"), "{line}");
    let log = dir.log("daemon.log");
    assert!(
        log.contains("warning: retention: ") && log.contains("no schedule named 'nosuch'"),
        "{log}"
    );
    let flows: Vec<(String, i64)> = dir
        .db()
        .prepare("SELECT flow, count(*) FROM instances GROUP BY flow ORDER BY flow")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        flows,
        [
            ("deploy".to_owned(), 10),
            ("echo".to_owned(), 1),
            ("health".to_owned(), 75)
        ]
    );
}
