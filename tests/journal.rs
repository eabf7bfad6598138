//! The journal against real SQLite files in temp dirs: schema and version
//! checks, file mode, a whole synthetic run through the writer and back out
//! of the queries, output caps, secrets, crash recovery after SIGKILL and
//! two processes sharing one journal.
//!
//! Some tests re-run this test binary as a child process (see `child_main`),
//! selected by the JOBDECK_JOURNAL_CHILD environment variable.

use jobdeck::{engine, journal};

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use engine::events::{
    Event, EventKind, HostStatus, InstanceId, InstanceStatus, StepOutcome, Stream, WaitReason,
};
use journal::{
    BatchRecord, Chunk, ExportRecord, HostRecord, InstanceFilter, Journal, JournalSink,
    JournalWriter, NewInstance, SECRET_MASK, StepResultRecord, Trigger, WriterOptions,
};
use serde_json::json;

const CHILD_ENV: &str = "JOBDECK_JOURNAL_CHILD";
const PATH_ENV: &str = "JOBDECK_JOURNAL_PATH";

fn temp_journal() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("journal.db");
    (dir, path)
}

fn ev(instance: InstanceId, at: i64, kind: EventKind) -> Event {
    Event { instance, at, kind }
}

fn ok() -> StepOutcome {
    StepOutcome {
        status: HostStatus::Ok,
        exit_code: Some(0),
        signal: None,
        error: None,
    }
}

fn failed(code: i32) -> StepOutcome {
    StepOutcome {
        status: HostStatus::Failed,
        exit_code: Some(code),
        signal: None,
        error: None,
    }
}

fn out(host: usize, step: usize, stream: Stream, data: &[u8]) -> EventKind {
    EventKind::Output {
        host,
        step,
        stream,
        data: Bytes::copy_from_slice(data),
    }
}

fn new_instance(flow: &str, hosts: &[&str]) -> NewInstance {
    NewInstance {
        flow: flow.to_owned(),
        flow_snapshot: format!("name: {flow}\nsteps: []\n"),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        trigger: Trigger::Cli,
        target: json!({ "pattern": "all" }),
        rollout: json!({ "expr": "1 100%", "sizes": [1, 2], "interval_secs": 4, "mode": "pause-on-failure",
                         "max_fail": null, "order": "inventory", "forks": 10 }),
        ..NewInstance::default()
    }
}

fn send_all(sink: &JournalSink, events: Vec<Event>) {
    for e in events {
        sink.blocking_send(e).unwrap();
    }
    sink.blocking_flush().unwrap();
}

// ---------------------------------------------------------------- set-up

#[test]
fn a_new_journal_gets_the_schema_and_a_newer_one_is_refused() {
    let (_dir, path) = temp_journal();
    let journal = Journal::open(&path).unwrap();
    let version: i64 = journal
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, journal::schema::latest_version());
    let mode: String = journal
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = journal
        .connection()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    drop(journal);

    // A later jobdeck migrated the file past what this one knows.
    let newer = journal::schema::latest_version() + 1;
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.pragma_update(None, "user_version", newer).unwrap();
    drop(raw);
    let expected = format!(
        "journal {} was written by a newer jobdeck (schema {newer}, this jobdeck knows {}); upgrade jobdeck",
        path.display(),
        journal::schema::latest_version()
    );
    let err = Journal::open(&path)
        .err()
        .expect("a newer journal must be refused");
    assert_eq!(err.to_string(), expected);
    let err = JournalWriter::spawn(&path, WriterOptions::default())
        .err()
        .expect("the writer refuses too");
    assert_eq!(err.to_string(), expected);
}

#[test]
fn a_file_that_is_not_sqlite_is_reported_with_its_path() {
    let (_dir, path) = temp_journal();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        b"this is not a database, just some text that is long enough......",
    )
    .unwrap();
    let err = Journal::open(&path).err().unwrap().to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
}

#[test]
fn the_journal_and_its_wal_files_are_private() {
    let (_dir, path) = temp_journal();
    let mut journal = Journal::open(&path).unwrap();
    journal
        .create_instance(&new_instance("deploy", &["a"]))
        .unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let shm = PathBuf::from(format!("{}-shm", path.display()));
    assert_eq!(
        mode(&wal),
        0o600,
        "SQLite copies the main file's mode to -wal"
    );
    assert_eq!(mode(&shm), 0o600);
    assert_eq!(
        mode(path.parent().unwrap()),
        0o700,
        "created parent dirs are private too"
    );
}

/// The kernel's POSIX locks this process holds on `path`'s inode
/// (`/proc/locks`: "1: POSIX ADVISORY READ PID MAJ:MIN:INODE START END"),
/// the most any of a few reads saw: `/proc/locks` is read in chunks, and a
/// line can slip between two while other tests' threads take and drop
/// locks (one CI run in many saw none). A lock really dropped is never seen.
fn my_locks_on(path: &Path) -> usize {
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(path).unwrap().ino().to_string();
    let me = std::process::id().to_string();
    let count = || {
        std::fs::read_to_string("/proc/locks")
            .unwrap()
            .lines()
            .filter(|line| !line.contains("->"))
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .filter(|f| f.get(1) == Some(&"POSIX") && f.get(4) == Some(&me.as_str()))
            .filter(|f| f.get(5).and_then(|dev| dev.rsplit(':').next()) == Some(inode.as_str()))
            .count()
    };
    (0..5).map(|_| count()).max().unwrap_or(0)
}

/// This process's descriptors of the journal's files that point at deleted files.
fn deleted_journal_fds(pid: u32, path: &Path) -> Vec<String> {
    let prefix = path.display().to_string();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .map(|target| target.display().to_string())
                .filter(|t| t.starts_with(&prefix) && t.ends_with("(deleted)"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn opening_the_journal_again_keeps_the_locks_of_open_connections() {
    // POSIX locks belong to the process: a second open that closed a
    // descriptor of the file (to set its mode) dropped the first
    // connection's lock, and the next SQLite client to close deleted -wal
    // and -shm under it.
    let (_dir, path) = temp_journal();
    let mut first = Journal::open(&path).unwrap();
    first
        .create_instance(&new_instance("deploy", &["a"]))
        .unwrap();
    assert!(my_locks_on(&path) > 0, "an open connection holds a lock");
    let second = Journal::open(&path).unwrap();
    second.list_instances(&InstanceFilter::default()).unwrap();
    let third = journal::JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    assert!(
        my_locks_on(&path) > 0,
        "opening the journal again dropped this process's locks on it"
    );
    // Another client comes and goes; it must not think it is the last one.
    let out = Command::new("sqlite3")
        .arg(&path)
        .arg("SELECT count(*) FROM instances")
        .output()
        .expect("the sqlite3 command-line tool (scripts/test.sh installs it)");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    assert!(
        wal.exists(),
        "sqlite3 deleted the -wal under live connections"
    );
    assert_eq!(
        deleted_journal_fds(std::process::id(), &path),
        Vec::<String>::new()
    );
    // And what the connections write stays in the one journal everybody sees.
    first
        .create_instance(&new_instance("deploy", &["b"]))
        .unwrap();
    let out = Command::new("sqlite3")
        .arg(&path)
        .arg("SELECT count(*) FROM instances")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    drop(third);
    drop(second);
    assert_eq!(first.integrity_check().unwrap(), "ok");
}

#[test]
fn a_journal_path_through_a_file_is_one_clear_error() {
    let err = Journal::open("/dev/null/x.db").err().unwrap().to_string();
    assert_eq!(err, "journal /dev/null/x.db: /dev/null is not a directory");
    let err = Journal::open_existing("/dev/null/x.db")
        .err()
        .unwrap()
        .to_string();
    assert_eq!(err, "journal /dev/null/x.db: /dev/null is not a directory");
    let (_dir, path) = temp_journal();
    assert!(Journal::open_existing(&path).unwrap().is_none());
    assert!(!path.exists(), "looking never creates a journal");
}

#[test]
fn the_default_path_follows_xdg_data_home() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_main", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "default-path")
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = format!(
        "PATH {}",
        dir.path().join("jobdeck").join("journal.db").display()
    );
    assert!(stdout.lines().any(|l| l == expected), "{stdout}");
}

// ---------------------------------------------------------------- a whole run

#[test]
fn a_synthetic_run_round_trips_through_the_writer_and_queries() {
    let (_dir, path) = temp_journal();
    let mut journal = Journal::open(&path).unwrap();
    let mut new = new_instance("deploy", &["web1", "web2", "db1"]);
    new.atoms = vec![journal::instance::AtomSnapshot {
        name: "stop".into(),
        sha256: "ab".repeat(32),
        body: b"#!/bin/sh\nsystemctl stop app\n".to_vec(),
    }];
    new.params.insert("version".into(), json!("1.2.3"));
    let id = journal.create_instance(&new).unwrap();

    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    let bad_utf8: &[u8] = &[0xff, 0xfe, b'x', 0x80, b'\n'];
    send_all(
        &sink,
        vec![
            ev(
                id,
                1000,
                EventKind::InstanceStarted {
                    flow: "deploy".into(),
                    hosts: vec!["web1".into(), "web2".into(), "db1".into()],
                    steps: vec!["stop".into(), "start".into()],
                    batches: vec![vec![0], vec![1, 2]],
                },
            ),
            ev(id, 1001, EventKind::BatchStarted { batch: 0 }),
            ev(
                id,
                1002,
                EventKind::StepStarted {
                    host: 0,
                    step: 0,
                    attempt: 1,
                },
            ),
            ev(id, 1003, out(0, 0, Stream::Stdout, b"stopping\n")),
            ev(
                id,
                1004,
                EventKind::StepFinished {
                    host: 0,
                    step: 0,
                    attempt: 1,
                    outcome: ok(),
                },
            ),
            ev(
                id,
                1005,
                EventKind::StepStarted {
                    host: 0,
                    step: 1,
                    attempt: 1,
                },
            ),
            ev(id, 1006, out(0, 1, Stream::Stderr, b"warn\n")),
            ev(
                id,
                1007,
                EventKind::Exported {
                    host: 0,
                    step: 1,
                    name: "version".into(),
                    value: "1.2.3".into(),
                },
            ),
            ev(
                id,
                1008,
                EventKind::StepFinished {
                    host: 0,
                    step: 1,
                    attempt: 1,
                    outcome: ok(),
                },
            ),
            ev(
                id,
                1009,
                EventKind::HostFinished {
                    host: 0,
                    status: HostStatus::Ok,
                },
            ),
            ev(
                id,
                1010,
                EventKind::BatchFinished {
                    batch: 0,
                    ok: 1,
                    failed: 0,
                },
            ),
            ev(
                id,
                1011,
                EventKind::Waiting {
                    next_batch: 1,
                    reason: WaitReason::Interval,
                    until: Some(5000),
                },
            ),
        ],
    );
    // Mid-run, the journal already says where the rollout stands.
    let point = journal.resume_point(id).unwrap();
    assert_eq!(point.status, InstanceStatus::Waiting);
    assert_eq!(
        (point.next_batch, point.wait_reason, point.resume_at),
        (1, Some(WaitReason::Interval), Some(5000))
    );
    assert_eq!(point.remaining, vec![(1, vec![1, 2])]);

    send_all(
        &sink,
        vec![
            ev(id, 5000, EventKind::BatchStarted { batch: 1 }),
            ev(
                id,
                5001,
                EventKind::StepStarted {
                    host: 1,
                    step: 0,
                    attempt: 1,
                },
            ),
            ev(id, 5002, out(1, 0, Stream::Stdout, bad_utf8)),
            ev(
                id,
                5003,
                EventKind::StepFinished {
                    host: 1,
                    step: 0,
                    attempt: 1,
                    outcome: failed(1),
                },
            ),
            ev(
                id,
                5004,
                EventKind::StepStarted {
                    host: 1,
                    step: 0,
                    attempt: 2,
                },
            ),
            ev(id, 5005, out(1, 0, Stream::Stdout, b"retry ok\n")),
            ev(
                id,
                5006,
                EventKind::StepFinished {
                    host: 1,
                    step: 0,
                    attempt: 2,
                    outcome: ok(),
                },
            ),
            ev(
                id,
                5007,
                EventKind::StepStarted {
                    host: 1,
                    step: 1,
                    attempt: 1,
                },
            ),
            ev(
                id,
                5008,
                EventKind::StepFinished {
                    host: 1,
                    step: 1,
                    attempt: 1,
                    outcome: ok(),
                },
            ),
            ev(
                id,
                5009,
                EventKind::HostFinished {
                    host: 1,
                    status: HostStatus::Ok,
                },
            ),
            ev(
                id,
                5010,
                EventKind::StepStarted {
                    host: 2,
                    step: 0,
                    attempt: 1,
                },
            ),
            ev(id, 5011, out(2, 0, Stream::Stderr, b"boom\n")),
            ev(
                id,
                5012,
                EventKind::StepFinished {
                    host: 2,
                    step: 0,
                    attempt: 1,
                    outcome: StepOutcome {
                        status: HostStatus::Failed,
                        exit_code: None,
                        signal: Some("KILL".into()),
                        error: Some("killed by signal KILL".into()),
                    },
                },
            ),
            ev(
                id,
                5013,
                EventKind::HostFinished {
                    host: 2,
                    status: HostStatus::Failed,
                },
            ),
            ev(
                id,
                5014,
                EventKind::BatchFinished {
                    batch: 1,
                    ok: 1,
                    failed: 1,
                },
            ),
            ev(
                id,
                5015,
                EventKind::InstanceFinished {
                    status: InstanceStatus::Failed,
                    reason: Some("1 host failed".into()),
                },
            ),
        ],
    );
    drop(sink);
    let stats = handle.join().unwrap();
    assert_eq!(
        (stats.events_skipped, stats.errors),
        (0, 0),
        "{:?}",
        stats.last_problem
    );
    assert_eq!(stats.events_applied, 28);

    let d = journal.instance(id).unwrap().expect("the instance exists");
    let i = &d.instance;
    assert_eq!(i.flow, "deploy");
    assert_eq!(i.status, InstanceStatus::Failed);
    assert_eq!(i.reason.as_deref(), Some("1 host failed"));
    assert_eq!((i.started_at, i.finished_at), (Some(1000), Some(5015)));
    assert_eq!((i.next_batch, i.wait_reason, i.resume_at), (2, None, None));
    assert_eq!(i.trigger, "cli");
    assert_eq!(i.resolved_hosts, ["web1", "web2", "db1"]);
    assert_eq!(i.params["version"], "1.2.3");
    assert_eq!(i.atom_hashes["stop"], "ab".repeat(32));
    assert_eq!(i.rollout["sizes"], json!([1, 2]));
    assert_eq!(i.owner.as_ref().map(|o| o.pid), Some(std::process::id()));
    assert!(!i.user.is_empty());
    assert_eq!(
        journal.atom_body(&"ab".repeat(32)).unwrap().unwrap(),
        b"#!/bin/sh\nsystemctl stop app\n"
    );
    assert_eq!(d.steps, ["stop", "start"]);

    let batch = |index, size, started, finished, ok, failed, hosts: Vec<usize>| BatchRecord {
        index,
        size,
        status: "done".into(),
        started_at: Some(started),
        finished_at: Some(finished),
        ok: Some(ok),
        failed: Some(failed),
        hosts,
    };
    assert_eq!(
        d.batches,
        vec![
            batch(0, 1, 1001, 1010, 1, 0, vec![0]),
            batch(1, 2, 5000, 5014, 1, 1, vec![1, 2])
        ]
    );

    let host = |index,
                name: &str,
                batch,
                status,
                step,
                exit_code,
                started,
                finished,
                error: Option<&str>| HostRecord {
        index,
        name: name.into(),
        batch: Some(batch),
        status,
        current_step: Some(step),
        exit_code,
        started_at: Some(started),
        finished_at: Some(finished),
        error: error.map(str::to_owned),
    };
    assert_eq!(
        d.hosts,
        vec![
            host(0, "web1", 0, HostStatus::Ok, 1, Some(0), 1002, 1009, None),
            host(1, "web2", 1, HostStatus::Ok, 1, Some(0), 5001, 5009, None),
            host(
                2,
                "db1",
                1,
                HostStatus::Failed,
                0,
                None,
                5010,
                5013,
                Some("killed by signal KILL")
            ),
        ]
    );

    let step = |host, step, attempt, status, exit_code, started, finished| StepResultRecord {
        host,
        step,
        attempt,
        status,
        exit_code,
        signal: None,
        started_at: Some(started),
        finished_at: Some(finished),
        error: None,
    };
    assert_eq!(
        d.step_results,
        vec![
            step(0, 0, 1, HostStatus::Ok, Some(0), 1002, 1004),
            step(0, 1, 1, HostStatus::Ok, Some(0), 1005, 1008),
            step(1, 0, 1, HostStatus::Failed, Some(1), 5001, 5003),
            step(1, 0, 2, HostStatus::Ok, Some(0), 5004, 5006),
            step(1, 1, 1, HostStatus::Ok, Some(0), 5007, 5008),
            StepResultRecord {
                signal: Some("KILL".into()),
                error: Some("killed by signal KILL".into()),
                ..step(2, 0, 1, HostStatus::Failed, None, 5010, 5012)
            },
        ]
    );
    assert_eq!(
        d.exports,
        vec![ExportRecord {
            host: 0,
            step: 1,
            name: "version".into(),
            value: "1.2.3".into(),
            at: 1007
        }]
    );
    assert!(d.truncations.is_empty());

    // Output comes back byte for byte, in order, per host and step.
    let chunk = |host, step, attempt, at, stream, data: &[u8]| Chunk {
        host,
        step,
        attempt,
        at,
        stream,
        data: data.to_vec(),
        marker: false,
    };
    assert_eq!(
        journal.output(id, Some(1), None).unwrap(),
        vec![
            chunk(1, 0, 1, 5002, Stream::Stdout, bad_utf8),
            chunk(1, 0, 2, 5005, Stream::Stdout, b"retry ok\n")
        ]
    );
    assert_eq!(
        journal.output(id, Some(0), Some(1)).unwrap(),
        vec![chunk(0, 1, 1, 1006, Stream::Stderr, b"warn\n")]
    );
    assert_eq!(journal.output(id, None, Some(0)).unwrap().len(), 4);
    assert_eq!(journal.output(id, None, None).unwrap().len(), 5);
    assert_eq!(journal.host_index(id, "db1").unwrap(), Some(2));
    assert_eq!(journal.step_index(id, "start").unwrap(), Some(1));

    let history = journal.list_instances(&InstanceFilter::default()).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            history[0].hosts_total,
            history[0].hosts_ok,
            history[0].hosts_failed
        ),
        (3, 2, 1)
    );

    let export = journal.export_instance(id).unwrap();
    assert_eq!(export["instance"]["status"], "failed");
    assert_eq!(export["hosts"][2]["status"], "failed");
    assert_eq!(
        export["atoms"]["stop"]["body"],
        "#!/bin/sh\nsystemctl stop app\n"
    );
    assert_eq!(
        export["output"][2]["hex"], "fffe78800a",
        "invalid UTF-8 is exported as hex"
    );
    assert_eq!(export["output"][0]["text"], "stopping\n");
    assert_eq!(journal.integrity_check().unwrap(), "ok");
}

#[test]
fn history_filters_by_flow_status_time_and_limit() {
    let (_dir, path) = temp_journal();
    let mut journal = Journal::open(&path).unwrap();
    let a = journal
        .create_instance(&new_instance("deploy", &["a"]))
        .unwrap();
    let b = journal
        .create_instance(&new_instance("health", &["a"]))
        .unwrap();
    let c = journal
        .create_instance(&new_instance("deploy", &["a"]))
        .unwrap();
    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    send_all(
        &sink,
        vec![ev(
            a,
            10,
            EventKind::InstanceFinished {
                status: InstanceStatus::Ok,
                reason: None,
            },
        )],
    );
    drop(sink);
    handle.join().unwrap();
    let ids = |f: InstanceFilter| {
        journal
            .list_instances(&f)
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(InstanceFilter::default()),
        vec![c, b, a],
        "newest first"
    );
    assert_eq!(
        ids(InstanceFilter {
            flow: Some("deploy".into()),
            ..Default::default()
        }),
        vec![c, a]
    );
    assert_eq!(
        ids(InstanceFilter {
            status: Some(InstanceStatus::Ok),
            ..Default::default()
        }),
        vec![a]
    );
    assert_eq!(
        ids(InstanceFilter {
            limit: Some(1),
            ..Default::default()
        }),
        vec![c]
    );
    assert_eq!(
        ids(InstanceFilter {
            since: Some(i64::MAX),
            ..Default::default()
        }),
        Vec::<i64>::new()
    );
}

// ---------------------------------------------------------------- output

/// Runs `chunks` of one host's one step through a writer with `cap`;
/// returns the journal and the instance.
fn write_output(cap: u64, chunks: &[&[u8]]) -> (tempfile::TempDir, Journal, InstanceId) {
    let (dir, path) = temp_journal();
    let mut journal = Journal::open(&path).unwrap();
    let id = journal
        .create_instance(&new_instance("noisy", &["a", "b"]))
        .unwrap();
    let options = WriterOptions {
        output_cap_bytes: cap,
        ..WriterOptions::default()
    };
    let (sink, handle) = JournalWriter::spawn(&path, options).unwrap();
    let mut events = vec![
        ev(
            id,
            1,
            EventKind::InstanceStarted {
                flow: "noisy".into(),
                hosts: vec!["a".into(), "b".into()],
                steps: vec!["spam".into()],
                batches: vec![vec![0, 1]],
            },
        ),
        ev(
            id,
            2,
            EventKind::StepStarted {
                host: 0,
                step: 0,
                attempt: 1,
            },
        ),
    ];
    for (n, data) in chunks.iter().enumerate() {
        events.push(ev(id, 10 + n as i64, out(0, 0, Stream::Stdout, data)));
        // Several transactions: the marker is kept up to date across them.
        if n % 7 == 6 {
            send_all(&sink, std::mem::take(&mut events));
        }
    }
    events.push(ev(
        id,
        500,
        out(1, 0, Stream::Stdout, b"host b is under its cap\n"),
    ));
    send_all(&sink, events);
    drop(sink);
    let stats = handle.join().unwrap();
    assert_eq!(stats.errors, 0, "{:?}", stats.last_problem);
    (dir, journal, id)
}

fn numbered_lines(count: usize) -> Vec<u8> {
    (0..count)
        .flat_map(|n| format!("line {n:03}\n").into_bytes())
        .collect()
}

#[test]
fn long_output_keeps_its_head_and_its_tail_with_a_marker_between() {
    // 60 lines of 9 bytes, sent in chunks of 14 that split lines anywhere.
    let all = numbered_lines(60);
    let chunks: Vec<&[u8]> = all.chunks(14).collect();
    let (_dir, journal, id) = write_output(100, &chunks);

    let rows = journal.output(id, Some(0), Some(0)).unwrap();
    let at = rows.iter().position(|c| c.marker).expect("a marker chunk");
    assert_eq!(rows.iter().filter(|c| c.marker).count(), 1);
    let head: Vec<u8> = rows[..at].iter().flat_map(|c| c.data.clone()).collect();
    let tail: Vec<u8> = rows[at + 1..].iter().flat_map(|c| c.data.clone()).collect();
    // Whole lines on both sides: the first 5 (45 bytes of the 50 the head
    // may hold) and the last ones, at most the tail's 50 bytes and a chunk.
    assert_eq!(head, all[..45]);
    assert!(all.ends_with(&tail));
    let dropped = all.len() - head.len() - tail.len();
    assert_eq!(dropped % 9, 0, "whole lines are dropped");
    assert!((36..=50 + 14).contains(&tail.len()), "{}", tail.len());
    assert!(
        tail.starts_with(b"line "),
        "{}",
        String::from_utf8_lossy(&tail)
    );

    let detail = journal.instance(id).unwrap().unwrap();
    let cut = &detail.truncations[0];
    assert_eq!(detail.truncations.len(), 1);
    assert_eq!((cut.host, cut.step, cut.cap_bytes), (0, 0, 100));
    assert_eq!(cut.dropped_bytes, dropped as u64);
    assert_eq!(cut.dropped_lines, Some(dropped as u64 / 9));
    assert!(cut.first_dropped_at > 10 && cut.last_dropped_at <= 10 + chunks.len() as i64);
    assert_eq!(
        String::from_utf8(rows[at].data.clone()).unwrap(),
        format!(
            "[... {dropped} bytes, {} lines not kept here: the journal keeps the first 50 bytes and the last 50 bytes of a step's output ...]\n",
            dropped / 9
        )
    );
    // The other host's output is whole, with no marker.
    assert_eq!(
        journal.output(id, Some(1), None).unwrap()[0].data,
        b"host b is under its cap\n"
    );
    // A host's history walks the same chunks, marker included, in order.
    let mut walked = Vec::new();
    journal
        .for_each_host_item(id, 0, |item| {
            if let journal::HostItem::Chunk(c) = item {
                walked.push(c);
            }
            true
        })
        .unwrap();
    assert_eq!(walked, rows);
    assert_eq!(journal.integrity_check().unwrap(), "ok");
}

#[test]
fn a_line_longer_than_the_cap_is_cut_inside_it() {
    // No line ends at all: the head and tail are cut at the byte.
    let all: Vec<u8> = (0..300u32).map(|n| b'a' + (n % 26) as u8).collect();
    let chunks: Vec<&[u8]> = all.chunks(30).collect();
    let (_dir, journal, id) = write_output(100, &chunks);
    let rows = journal.output(id, Some(0), Some(0)).unwrap();
    let at = rows.iter().position(|c| c.marker).unwrap();
    let head: Vec<u8> = rows[..at].iter().flat_map(|c| c.data.clone()).collect();
    let tail: Vec<u8> = rows[at + 1..].iter().flat_map(|c| c.data.clone()).collect();
    assert_eq!(head, all[..50]);
    assert_eq!(
        tail,
        all[all.len() - 60..],
        "the last 50 bytes, in whole chunks"
    );
    let cut = &journal.instance(id).unwrap().unwrap().truncations[0];
    assert_eq!(cut.dropped_bytes, 300 - 50 - 60);
    assert_eq!(cut.dropped_lines, Some(0));
    // One chunk bigger than the whole cap.
    let (_dir, journal, id) = write_output(100, &[&all]);
    let kept: Vec<u8> = journal
        .output(id, Some(0), Some(0))
        .unwrap()
        .into_iter()
        .filter(|c| !c.marker)
        .flat_map(|c| c.data)
        .collect();
    assert_eq!(kept, [&all[..50], &all[250..]].concat());
}

#[test]
fn output_under_the_cap_is_kept_whole_without_a_marker() {
    let all = numbered_lines(11); // 99 bytes
    let chunks: Vec<&[u8]> = all.chunks(14).collect();
    let (_dir, journal, id) = write_output(100, &chunks);
    let rows = journal.output(id, Some(0), Some(0)).unwrap();
    assert!(rows.iter().all(|c| !c.marker));
    let kept: Vec<u8> = rows.into_iter().flat_map(|c| c.data).collect();
    assert_eq!(kept, all);
    assert!(
        journal
            .instance(id)
            .unwrap()
            .unwrap()
            .truncations
            .is_empty()
    );
}

#[test]
fn every_byte_value_is_stored_exactly() {
    let (_dir, path) = temp_journal();
    let mut journal = Journal::open(&path).unwrap();
    let id = journal
        .create_instance(&new_instance("bytes", &["a"]))
        .unwrap();
    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    send_all(
        &sink,
        vec![
            ev(
                id,
                1,
                EventKind::InstanceStarted {
                    flow: "bytes".into(),
                    hosts: vec!["a".into()],
                    steps: vec!["cat".into()],
                    batches: vec![vec![0]],
                },
            ),
            ev(id, 2, out(0, 0, Stream::Stdout, &all)),
            ev(
                id,
                3,
                out(0, 0, Stream::Stderr, b"\xc3\x28 half a char \xe2\x82"),
            ),
        ],
    );
    drop(sink);
    handle.join().unwrap();
    let chunks = journal.output(id, Some(0), Some(0)).unwrap();
    assert_eq!(chunks[0].data, all);
    assert_eq!(chunks[1].data, b"\xc3\x28 half a char \xe2\x82");
    assert_eq!(chunks[1].stream, Stream::Stderr);
}

#[test]
fn odd_event_orders_are_skipped_or_absorbed_without_panicking() {
    let (_dir, path) = temp_journal();
    let mut journal = Journal::open(&path).unwrap();
    let id = journal
        .create_instance(&new_instance("odd", &["a"]))
        .unwrap();
    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    send_all(
        &sink,
        vec![
            // Before InstanceStarted nothing is announced: skipped.
            ev(id, 1, out(0, 0, Stream::Stdout, b"too early")),
            ev(
                id,
                2,
                EventKind::InstanceStarted {
                    flow: "odd".into(),
                    hosts: vec!["a".into()],
                    steps: vec!["s".into()],
                    batches: vec![vec![0, 7]], // 7 is no host: ignored
                },
            ),
            // Output and a finish for a step whose start was never seen: kept.
            ev(id, 3, out(0, 0, Stream::Stdout, b"no start seen")),
            ev(
                id,
                4,
                EventKind::StepFinished {
                    host: 0,
                    step: 0,
                    attempt: 1,
                    outcome: ok(),
                },
            ),
            // Indexes past the announced lists, an unknown instance: skipped.
            ev(id, 5, out(3, 0, Stream::Stdout, b"no such host")),
            ev(
                id,
                6,
                EventKind::StepStarted {
                    host: 0,
                    step: 9,
                    attempt: 1,
                },
            ),
            ev(
                id,
                7,
                EventKind::BatchFinished {
                    batch: 4,
                    ok: 0,
                    failed: 0,
                },
            ),
            ev(id + 100, 8, EventKind::Paused),
            ev(
                id,
                9,
                EventKind::InstanceFinished {
                    status: InstanceStatus::Running,
                    reason: None,
                },
            ),
            ev(
                id,
                10,
                EventKind::InstanceFinished {
                    status: InstanceStatus::Ok,
                    reason: None,
                },
            ),
            // After the end: still applied without complaint.
            ev(
                id,
                11,
                EventKind::HostFinished {
                    host: 0,
                    status: HostStatus::Ok,
                },
            ),
        ],
    );
    drop(sink);
    let stats = handle.join().unwrap();
    assert_eq!(
        (stats.events_applied, stats.events_skipped, stats.errors),
        (5, 6, 0),
        "{:?}",
        stats.last_problem
    );
    let d = journal.instance(id).unwrap().unwrap();
    assert_eq!(d.instance.status, InstanceStatus::Ok);
    assert_eq!(d.step_results[0].status, HostStatus::Ok);
    assert_eq!(d.step_results[0].started_at, None);
    assert_eq!(
        journal.output(id, None, None).unwrap()[0].data,
        b"no start seen"
    );
    assert_eq!(journal.integrity_check().unwrap(), "ok");
}

#[test]
fn the_sink_reports_queue_depth_and_a_closed_writer() {
    let (_dir, path) = temp_journal();
    let options = WriterOptions {
        capacity: 8,
        ..WriterOptions::default()
    };
    let (sink, handle) = JournalWriter::spawn(&path, options).unwrap();
    assert_eq!((sink.capacity(), sink.queue_depth()), (8, 0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        sink.send(ev(1, 1, EventKind::Paused)).await.unwrap();
        sink.flush().await.unwrap();
    });
    assert_eq!(sink.stats().events_skipped, 1, "no instance 1 exists");
    let keep = sink.clone();
    drop(sink);
    drop(keep);
    handle.join().unwrap();
}

// ---------------------------------------------------------------- secrets

#[test]
fn secret_params_never_reach_the_journal_files() {
    let (_dir, path) = temp_journal();
    let mut journal = Journal::open(&path).unwrap();
    let mut new = new_instance("deploy", &["a"]);
    // One secret the caller masked already, one it forgot: both must be masked.
    new.params
        .insert("db_password".into(), json!("Pa55-very-secret-1"));
    new.params
        .insert("api_token".into(), json!("tok-very-secret-2"));
    new.params.insert("version".into(), json!("1.0"));
    journal::mask_secrets(&mut new.params, &["db_password"]);
    new.secret_params = vec!["db_password".into(), "api_token".into()];
    let id = journal.create_instance(&new).unwrap();

    let record = journal.instance(id).unwrap().unwrap().instance;
    assert_eq!(record.params["db_password"], SECRET_MASK);
    assert_eq!(record.params["api_token"], SECRET_MASK);
    assert_eq!(record.params["version"], "1.0");
    assert_eq!(record.secret_params, ["db_password", "api_token"]);

    let mut raw = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(bytes) = std::fs::read(format!("{}{suffix}", path.display())) {
            raw.extend(bytes);
        }
    }
    assert!(raw.len() > 4096, "the files were read");
    for secret in ["Pa55-very-secret-1", "tok-very-secret-2"] {
        assert!(
            !contains(&raw, secret.as_bytes()),
            "{secret} is in the journal files"
        );
    }
    assert!(contains(&raw, b"1.0"), "the check can see plain params");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------- crashes

/// A child process that is killed when the test ends, even on a panic.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts this test binary in a child mode and waits for its `READY <id>` line.
fn spawn_child(mode: &str, path: &Path) -> (ChildGuard, InstanceId) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_main", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .env(PATH_ENV, path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = ChildGuard(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("READY ") {
                let _ = tx.send(id.parse::<InstanceId>().unwrap());
            }
        }
    });
    let id = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the child reports READY <id>");
    (guard, id)
}

#[test]
fn a_run_killed_with_sigkill_is_recovered_as_interrupted() {
    let (_dir, path) = temp_journal();
    let mut journal = Journal::open(&path).unwrap();
    let (mut child, id) = spawn_child("crash", &path);

    // Alive: recovery must leave a live owner's instance alone.
    assert_eq!(
        journal.recover_interrupted().unwrap(),
        Vec::<InstanceId>::new()
    );
    assert!(
        journal
            .claim_for_resume(id)
            .unwrap_err()
            .to_string()
            .contains("still running")
    );

    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    assert_eq!(journal.integrity_check().unwrap(), "ok");
    assert_eq!(journal.recover_interrupted().unwrap(), vec![id]);
    assert_eq!(
        journal.recover_interrupted().unwrap(),
        Vec::<InstanceId>::new(),
        "only once"
    );

    let d = journal.instance(id).unwrap().unwrap();
    assert_eq!(d.instance.status, InstanceStatus::Interrupted);
    assert_eq!(d.instance.interrupted_from, Some(InstanceStatus::Running));
    assert!(
        d.instance
            .reason
            .as_deref()
            .unwrap()
            .contains("stopped before the instance finished")
    );
    let statuses: Vec<HostStatus> = d.hosts.iter().map(|h| h.status).collect();
    assert_eq!(
        statuses,
        [HostStatus::Ok, HostStatus::Interrupted, HostStatus::Pending]
    );
    // What finished before the kill is intact.
    assert_eq!(d.step_results.len(), 3);
    assert_eq!(d.step_results[0].status, HostStatus::Ok);
    assert_eq!(d.step_results[1].status, HostStatus::Ok);
    assert_eq!(d.step_results[2].status, HostStatus::Interrupted);
    assert_eq!(
        journal.output(id, Some(0), None).unwrap()[0].data,
        b"web1 stopped\n"
    );
    assert_eq!(
        journal.output(id, Some(1), None).unwrap()[0].data,
        b"web2 half way\n"
    );
    assert_eq!(d.batches[0].status, "interrupted");
    assert_eq!(journal.integrity_check().unwrap(), "ok");

    // Resume: only hosts not yet done, and earlier attempts stay on record.
    let point = journal.claim_for_resume(id).unwrap();
    assert_eq!(point.next_batch, 0);
    assert_eq!(point.remaining, vec![(0, vec![1]), (1, vec![2])]);
    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    send_all(
        &sink,
        vec![
            ev(
                id,
                20,
                EventKind::StepStarted {
                    host: 1,
                    step: 0,
                    attempt: 1,
                },
            ),
            ev(id, 21, out(1, 0, Stream::Stdout, b"web2 again\n")),
            ev(
                id,
                22,
                EventKind::StepFinished {
                    host: 1,
                    step: 0,
                    attempt: 1,
                    outcome: ok(),
                },
            ),
        ],
    );
    drop(sink);
    handle.join().unwrap();
    let d = journal.instance(id).unwrap().unwrap();
    assert_eq!(d.instance.status, InstanceStatus::Running);
    assert_eq!(
        d.instance.owner.as_ref().map(|o| o.pid),
        Some(std::process::id())
    );
    let web2: Vec<(u32, HostStatus)> = d
        .step_results
        .iter()
        .filter(|s| s.host == 1)
        .map(|s| (s.attempt, s.status))
        .collect();
    assert_eq!(web2, [(1, HostStatus::Interrupted), (2, HostStatus::Ok)]);
    let attempts: Vec<u32> = journal
        .output(id, Some(1), None)
        .unwrap()
        .iter()
        .map(|c| c.attempt)
        .collect();
    assert_eq!(attempts, [1, 2]);
}

#[test]
fn a_rollout_killed_while_waiting_is_found_for_automatic_resume() {
    let (_dir, path) = temp_journal();
    let mut journal = Journal::open(&path).unwrap();
    let (mut child, id) = spawn_child("waiting", &path);
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    assert_eq!(journal.recover_interrupted().unwrap(), vec![id]);
    let waiting = journal.interrupted_while_waiting().unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].interrupted_from, Some(InstanceStatus::Waiting));
    assert_eq!(
        (waiting[0].next_batch, waiting[0].resume_at),
        (1, Some(9_999))
    );
    assert_eq!(waiting[0].remaining, vec![(1, vec![1, 2])]);
}

#[test]
fn a_graceful_stop_while_waiting_keeps_the_wait_for_resume() {
    let (_dir, path) = temp_journal();
    let mut journal = Journal::open(&path).unwrap();
    let id = journal
        .create_instance(&new_instance("x", &["a", "b"]))
        .unwrap();
    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    send_all(
        &sink,
        vec![
            ev(
                id,
                1,
                EventKind::InstanceStarted {
                    flow: "x".into(),
                    hosts: vec!["a".into(), "b".into()],
                    steps: vec!["s".into()],
                    batches: vec![vec![0], vec![1]],
                },
            ),
            ev(
                id,
                2,
                EventKind::HostFinished {
                    host: 0,
                    status: HostStatus::Ok,
                },
            ),
            ev(
                id,
                3,
                EventKind::BatchFinished {
                    batch: 0,
                    ok: 1,
                    failed: 0,
                },
            ),
            ev(
                id,
                4,
                EventKind::Waiting {
                    next_batch: 1,
                    reason: WaitReason::Interval,
                    until: Some(777),
                },
            ),
            ev(
                id,
                5,
                EventKind::InstanceFinished {
                    status: InstanceStatus::Interrupted,
                    reason: Some("SIGTERM".into()),
                },
            ),
        ],
    );
    drop(sink);
    handle.join().unwrap();
    let waiting = journal.interrupted_while_waiting().unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (waiting[0].id, waiting[0].next_batch, waiting[0].resume_at),
        (id, 1, Some(777))
    );
    assert_eq!(waiting[0].remaining, vec![(1, vec![1])]);
    assert_eq!(
        journal.claim_for_resume(id).unwrap().remaining,
        vec![(1, vec![1])]
    );
}

#[test]
fn finished_instances_cannot_be_claimed() {
    let (_dir, path) = temp_journal();
    let mut journal = Journal::open(&path).unwrap();
    let id = journal.create_instance(&new_instance("x", &["a"])).unwrap();
    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    send_all(
        &sink,
        vec![ev(
            id,
            1,
            EventKind::InstanceFinished {
                status: InstanceStatus::Ok,
                reason: None,
            },
        )],
    );
    drop(sink);
    handle.join().unwrap();
    let err = journal.claim_for_resume(id).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("job instance {id} cannot be resumed: it finished (ok)")
    );
    assert!(journal.claim_for_resume(id + 1).is_err());
}

// ---------------------------------------------------------------- sharing

#[test]
fn two_processes_write_one_journal_without_locking_errors() {
    let (_dir, path) = temp_journal();
    Journal::open(&path).unwrap(); // create it before the race
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_main", "--nocapture", "--test-threads=1"])
                .env(CHILD_ENV, "hammer")
                .env(PATH_ENV, &path)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Meanwhile this process reads and recovers, as a TUI would.
    let mut journal = Journal::open(&path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        journal.list_instances(&InstanceFilter::default()).unwrap();
        journal.recover_interrupted().unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut total = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
        assert!(
            !stdout.contains("locked") && !stderr.contains("locked"),
            "{stdout}\n{stderr}"
        );
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("DONE "))
            .expect("a DONE line");
        total += line.parse::<usize>().unwrap();
    }
    let history = journal.list_instances(&InstanceFilter::default()).unwrap();
    assert_eq!(history.len(), total);
    assert!(
        total >= 4,
        "both children got work done ({total} instances)"
    );
    assert!(
        history
            .iter()
            .all(|s| s.status == InstanceStatus::Ok && s.hosts_ok == 20)
    );
    assert_eq!(journal.integrity_check().unwrap(), "ok");
}

// ---------------------------------------------------------------- child modes

/// Does nothing in a normal test run; in a child process started by a test
/// above, plays the part that test needs.
#[test]
fn child_main() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let path = std::env::var_os(PATH_ENV).map(PathBuf::from);
    match mode.as_str() {
        "default-path" => println!("\nPATH {}", journal::default_path().unwrap().display()),
        "crash" => child_crash(&path.unwrap(), false),
        "waiting" => child_crash(&path.unwrap(), true),
        "hammer" => child_hammer(&path.unwrap()),
        other => panic!("unknown child mode {other}"),
    }
}

/// Runs part of a rollout, reports READY and hangs until it is killed.
fn child_crash(path: &Path, wait_between_batches: bool) {
    let mut journal = Journal::open(path).unwrap();
    let id = journal
        .create_instance(&new_instance("deploy", &["web1", "web2", "db1"]))
        .unwrap();
    let (sink, _handle) = JournalWriter::spawn(path, WriterOptions::default()).unwrap();
    let mut events = vec![
        ev(
            id,
            1,
            EventKind::InstanceStarted {
                flow: "deploy".into(),
                hosts: vec!["web1".into(), "web2".into(), "db1".into()],
                steps: vec!["stop".into(), "start".into()],
                batches: vec![vec![0, 1], vec![2]],
            },
        ),
        ev(id, 2, EventKind::BatchStarted { batch: 0 }),
        ev(
            id,
            3,
            EventKind::StepStarted {
                host: 0,
                step: 0,
                attempt: 1,
            },
        ),
        ev(id, 4, out(0, 0, Stream::Stdout, b"web1 stopped\n")),
        ev(
            id,
            5,
            EventKind::StepFinished {
                host: 0,
                step: 0,
                attempt: 1,
                outcome: ok(),
            },
        ),
        ev(
            id,
            6,
            EventKind::StepStarted {
                host: 0,
                step: 1,
                attempt: 1,
            },
        ),
        ev(
            id,
            7,
            EventKind::StepFinished {
                host: 0,
                step: 1,
                attempt: 1,
                outcome: ok(),
            },
        ),
        ev(
            id,
            8,
            EventKind::HostFinished {
                host: 0,
                status: HostStatus::Ok,
            },
        ),
        ev(
            id,
            9,
            EventKind::StepStarted {
                host: 1,
                step: 0,
                attempt: 1,
            },
        ),
        ev(id, 10, out(1, 0, Stream::Stdout, b"web2 half way\n")),
    ];
    if wait_between_batches {
        events.truncate(2);
        events[0] = ev(
            id,
            1,
            EventKind::InstanceStarted {
                flow: "deploy".into(),
                hosts: vec!["web1".into(), "web2".into(), "db1".into()],
                steps: vec!["stop".into()],
                batches: vec![vec![0], vec![1, 2]],
            },
        );
        events.extend([
            ev(
                id,
                3,
                EventKind::StepStarted {
                    host: 0,
                    step: 0,
                    attempt: 1,
                },
            ),
            ev(
                id,
                4,
                EventKind::StepFinished {
                    host: 0,
                    step: 0,
                    attempt: 1,
                    outcome: ok(),
                },
            ),
            ev(
                id,
                5,
                EventKind::HostFinished {
                    host: 0,
                    status: HostStatus::Ok,
                },
            ),
            ev(
                id,
                6,
                EventKind::BatchFinished {
                    batch: 0,
                    ok: 1,
                    failed: 0,
                },
            ),
            ev(
                id,
                7,
                EventKind::Waiting {
                    next_batch: 1,
                    reason: WaitReason::Interval,
                    until: Some(9_999),
                },
            ),
        ]);
    }
    send_all(&sink, events);
    println!("\nREADY {id}");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Creates and runs small instances for two seconds; prints how many.
fn child_hammer(path: &Path) {
    let hosts: Vec<String> = (0..20).map(|i| format!("host{i}")).collect();
    let host_refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let mut journal = Journal::open(path).unwrap();
    let (sink, handle) = JournalWriter::spawn(path, WriterOptions::default()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut done = 0;
    while Instant::now() < deadline {
        let id = journal
            .create_instance(&new_instance("hammer", &host_refs))
            .unwrap();
        let mut events = vec![ev(
            id,
            1,
            EventKind::InstanceStarted {
                flow: "hammer".into(),
                hosts: hosts.clone(),
                steps: vec!["s".into()],
                batches: vec![(0..20).collect()],
            },
        )];
        for h in 0..20 {
            events.push(ev(
                id,
                2,
                EventKind::StepStarted {
                    host: h,
                    step: 0,
                    attempt: 1,
                },
            ));
            for _ in 0..5 {
                events.push(ev(id, 3, out(h, 0, Stream::Stdout, b"some output line\n")));
            }
            events.push(ev(
                id,
                4,
                EventKind::StepFinished {
                    host: h,
                    step: 0,
                    attempt: 1,
                    outcome: ok(),
                },
            ));
            events.push(ev(
                id,
                5,
                EventKind::HostFinished {
                    host: h,
                    status: HostStatus::Ok,
                },
            ));
        }
        events.push(ev(
            id,
            6,
            EventKind::InstanceFinished {
                status: InstanceStatus::Ok,
                reason: None,
            },
        ));
        send_all(&sink, events);
        journal.recover_interrupted().unwrap();
        journal
            .list_instances(&InstanceFilter {
                limit: Some(5),
                ..Default::default()
            })
            .unwrap();
        done += 1;
    }
    drop(sink);
    let stats = handle.join().unwrap();
    assert_eq!(stats.errors, 0, "{:?}", stats.last_problem);
    assert_eq!(stats.events_skipped, 0, "{:?}", stats.last_problem);
    println!("\nDONE {done}");
}

/// The writer's memory follows the hosts in flight: a host that finished
/// leaves nothing behind in it (at 10,000 hosts every step of every host
/// was held until the run ended).
#[test]
fn the_writer_forgets_the_steps_of_finished_hosts() {
    let (_dir, path) = temp_journal();
    let names: Vec<String> = (0..20).map(|h| format!("web{h}")).collect();
    let hosts: Vec<&str> = names.iter().map(String::as_str).collect();
    let id = Journal::open(&path)
        .unwrap()
        .create_instance(&new_instance("deploy", &hosts))
        .unwrap();
    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    let mut events = vec![ev(
        id,
        1000,
        EventKind::InstanceStarted {
            flow: "deploy".into(),
            hosts: names.clone(),
            steps: vec!["one".into(), "two".into()],
            batches: vec![(0..20).collect()],
        },
    )];
    for host in 0..20 {
        for step in 0..2 {
            let attempt = 1;
            events.push(ev(
                id,
                1001,
                EventKind::StepStarted {
                    host,
                    step,
                    attempt,
                },
            ));
            events.push(ev(id, 1002, out(host, step, Stream::Stdout, b"done\n")));
            let outcome = ok();
            events.push(ev(
                id,
                1003,
                EventKind::StepFinished {
                    host,
                    step,
                    attempt,
                    outcome,
                },
            ));
        }
        // Half the hosts finish; the others are still in flight.
        if host % 2 == 0 {
            let status = HostStatus::Ok;
            events.push(ev(id, 1004, EventKind::HostFinished { host, status }));
        }
    }
    send_all(&sink, events);
    assert_eq!(sink.stats().steps_held, 20, "two steps of each of 10 hosts");
    let rest: Vec<Event> = (1..20)
        .step_by(2)
        .map(|host| {
            ev(
                id,
                1005,
                EventKind::HostFinished {
                    host,
                    status: HostStatus::Ok,
                },
            )
        })
        .collect();
    send_all(&sink, rest);
    assert_eq!(sink.stats().steps_held, 0);
    drop(sink);
    handle.join().unwrap();
    let journal = Journal::open(&path).unwrap();
    let kept: i64 = journal
        .connection()
        .query_row(
            "SELECT count(*) FROM output WHERE instance_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 40);
}
