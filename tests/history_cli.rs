//! `jobdeck history`, `show` and `export` against a real journal in a temp
//! dir, filled with synthetic runs through the journal writer (the same
//! path the engine's events take), then read back by the real binary.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use bytes::Bytes;
use jobdeck::engine::events::{
    Event, EventKind, HostStatus, InstanceId, InstanceStatus, StepOutcome, Stream, WaitReason,
};
use jobdeck::journal::instance::AtomSnapshot;
use jobdeck::journal::{
    Journal, JournalSink, JournalWriter, NewInstance, SECRET_MASK, Trigger, WriterOptions,
};
use serde_json::{Value, json};

/// 2023-11-14 22:13:20 UTC.
const T0: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;
const SECRET: &str = "hunter2-s3cret";
/// Small, so db1's first step is cut.
const CAP: u64 = 1024;
/// What `show` prints where db1's first step was cut.
const MARKER: &str = "[... 1000 bytes, 10 lines not kept here: the journal keeps the first 512 bytes and the last 512 bytes of a step's output ...]";
/// One of db1's 100-byte lines.
const X: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
const ABORT_REASON: &str =
    "max-fail exceeded: 1 of 1 hosts failed (limit 0); no new hosts were started";
const LATIN1: &[u8] = b"caf\xe9 latin1\n";

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

/// Events of one instance, with times relative to a base.
struct Script {
    id: InstanceId,
    base: i64,
    events: Vec<Event>,
}

impl Script {
    fn new(id: InstanceId, base: i64) -> Script {
        Script {
            id,
            base,
            events: Vec::new(),
        }
    }

    fn at(&mut self, offset: i64, kind: EventKind) -> &mut Script {
        self.events.push(Event {
            instance: self.id,
            at: self.base + offset,
            kind,
        });
        self
    }

    fn start(&mut self, offset: i64, host: usize, step: usize, attempt: u32) -> &mut Script {
        self.at(
            offset,
            EventKind::StepStarted {
                host,
                step,
                attempt,
            },
        )
    }

    fn out(
        &mut self,
        offset: i64,
        host: usize,
        step: usize,
        stream: Stream,
        data: &[u8],
    ) -> &mut Script {
        self.at(
            offset,
            EventKind::Output {
                host,
                step,
                stream,
                data: Bytes::copy_from_slice(data),
            },
        )
    }

    fn end(
        &mut self,
        offset: i64,
        host: usize,
        step: usize,
        attempt: u32,
        outcome: StepOutcome,
    ) -> &mut Script {
        self.at(
            offset,
            EventKind::StepFinished {
                host,
                step,
                attempt,
                outcome,
            },
        )
    }

    fn send(&self, sink: &JournalSink) {
        for event in &self.events {
            sink.blocking_send(event.clone()).unwrap();
        }
    }
}

fn new_instance(flow: &str, hosts: &[&str], trigger: Trigger) -> NewInstance {
    NewInstance {
        flow: flow.to_owned(),
        flow_snapshot: format!("name: {flow}\n"),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        trigger,
        user: "tester".into(),
        target: json!({ "pattern": "web:db" }),
        rollout: json!({ "expr": "1 100%", "sizes": [1, 2], "interval": "1h", "mode": "continue" }),
        ..NewInstance::default()
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// Three instances: 1 `health` (ok, from a schedule), 2 `deploy` (failed:
/// 2 batches an hour apart, 3 hosts, 2 steps, a retry, output cut at the
/// cap, invalid UTF-8, a secret param), 3 a rerun of 2 that was aborted.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let mut journal = Journal::open(&path).unwrap();
    let options = WriterOptions {
        output_cap_bytes: CAP,
        ..WriterOptions::default()
    };
    let (sink, handle) = JournalWriter::spawn(&path, options).unwrap();

    let health = journal
        .create_instance(&new_instance("health", &["web01"], Trigger::Schedule(3)))
        .unwrap();
    assert_eq!(health, 1);
    Script::new(health, T0 - 600_000)
        .at(
            0,
            EventKind::InstanceStarted {
                flow: "health".into(),
                hosts: vec!["web01".into()],
                steps: vec!["check".into()],
                batches: vec![vec![0]],
            },
        )
        .at(1, EventKind::BatchStarted { batch: 0 })
        .start(10, 0, 0, 1)
        .out(20, 0, 0, Stream::Stdout, b"healthy\n")
        .end(30, 0, 0, 1, ok())
        .at(
            40,
            EventKind::HostFinished {
                host: 0,
                status: HostStatus::Ok,
            },
        )
        .at(
            50,
            EventKind::BatchFinished {
                batch: 0,
                ok: 1,
                failed: 0,
            },
        )
        .at(
            1000,
            EventKind::InstanceFinished {
                status: InstanceStatus::Ok,
                reason: None,
            },
        )
        .send(&sink);

    let mut new = new_instance("deploy", &["web01", "web02", "db1"], Trigger::Cli);
    new.params.insert("version".into(), json!("1.2.3"));
    new.params.insert("token".into(), json!(SECRET));
    new.secret_params = vec!["token".into()];
    new.atoms = vec![
        AtomSnapshot {
            name: "stop-service".into(),
            sha256: "ab".repeat(32),
            body: b"#!/bin/sh\nsystemctl stop app\n".to_vec(),
        },
        AtomSnapshot {
            name: "start-service".into(),
            sha256: "cd".repeat(32),
            body: b"#!/bin/sh\nsystemctl start app\n".to_vec(),
        },
    ];
    let deploy = journal.create_instance(&new).unwrap();
    let big: Vec<u8> = format!("{}\n", "x".repeat(99)).repeat(20).into_bytes();
    let second = HOUR + 1_800; // the second batch, after an hour's interval
    Script::new(deploy, T0)
        .at(
            0,
            EventKind::InstanceStarted {
                flow: "deploy".into(),
                hosts: vec!["web01".into(), "web02".into(), "db1".into()],
                steps: vec!["stop".into(), "start".into()],
                batches: vec![vec![0], vec![1, 2]],
            },
        )
        .at(0, EventKind::BatchStarted { batch: 0 })
        .at(10, EventKind::HostConnecting { host: 0 })
        .start(100, 0, 0, 1)
        .out(200, 0, 0, Stream::Stdout, b"stopping app\n")
        .out(
            1_200,
            0,
            0,
            Stream::Stderr,
            b"\x1b[31mwarn: slow stop\x1b[0m\n",
        )
        .end(1_300, 0, 0, 1, ok())
        .at(
            1_350,
            EventKind::Exported {
                host: 0,
                step: 0,
                name: "build_id".into(),
                value: "b-42".into(),
            },
        )
        .start(1_400, 0, 1, 1)
        .out(1_500, 0, 1, Stream::Stdout, b"starting app\nready\n")
        .end(1_600, 0, 1, 1, ok())
        .at(
            1_700,
            EventKind::HostFinished {
                host: 0,
                status: HostStatus::Ok,
            },
        )
        .at(
            1_800,
            EventKind::BatchFinished {
                batch: 0,
                ok: 1,
                failed: 0,
            },
        )
        .at(
            1_800,
            EventKind::Waiting {
                next_batch: 1,
                reason: WaitReason::Interval,
                until: Some(T0 + second),
            },
        )
        .at(second, EventKind::BatchStarted { batch: 1 })
        .start(second + 200, 1, 0, 1)
        .start(second + 250, 2, 0, 1)
        .out(second + 300, 1, 0, Stream::Stdout, b"stopping app\n")
        .out(second + 350, 2, 0, Stream::Stdout, LATIN1)
        .out(second + 360, 2, 0, Stream::Stdout, &big)
        .end(second + 400, 1, 0, 1, ok())
        .end(second + 450, 2, 0, 1, ok())
        .start(second + 500, 1, 1, 1)
        .start(second + 550, 2, 1, 1)
        .out(second + 1_500, 1, 1, Stream::Stderr, b"boom: port in use\n")
        .end(second + 1_600, 1, 1, 1, failed(3))
        .out(second + 1_700, 2, 1, Stream::Stdout, b"started db\n")
        .end(second + 1_750, 2, 1, 1, ok())
        .at(
            second + 1_760,
            EventKind::HostFinished {
                host: 2,
                status: HostStatus::Ok,
            },
        )
        .start(second + 2_600, 1, 1, 2)
        .out(second + 2_700, 1, 1, Stream::Stderr, b"boom again\n")
        .end(second + 2_800, 1, 1, 2, failed(3))
        .at(
            second + 2_900,
            EventKind::HostFinished {
                host: 1,
                status: HostStatus::Failed,
            },
        )
        .at(
            second + 3_000,
            EventKind::BatchFinished {
                batch: 1,
                ok: 1,
                failed: 1,
            },
        )
        .at(
            second + 3_200,
            EventKind::InstanceFinished {
                status: InstanceStatus::Failed,
                reason: Some("1 of 3 hosts failed".into()),
            },
        )
        .send(&sink);

    let mut rerun = new_instance("deploy", &["web02"], Trigger::Rerun(deploy));
    rerun.parent = Some(deploy);
    let rerun = journal.create_instance(&rerun).unwrap();
    Script::new(rerun, T0 + 2 * HOUR)
        .at(
            0,
            EventKind::InstanceStarted {
                flow: "deploy".into(),
                hosts: vec!["web02".into()],
                steps: vec!["stop".into(), "start".into()],
                batches: vec![vec![0]],
            },
        )
        .at(0, EventKind::BatchStarted { batch: 0 })
        .start(10, 0, 0, 1)
        .end(20, 0, 0, 1, failed(1))
        .at(
            30,
            EventKind::HostFinished {
                host: 0,
                status: HostStatus::Failed,
            },
        )
        .at(
            500,
            EventKind::InstanceFinished {
                status: InstanceStatus::Aborted,
                reason: Some(ABORT_REASON.into()),
            },
        )
        .send(&sink);

    sink.blocking_flush().unwrap();
    drop(sink);
    let stats = handle.join().unwrap();
    assert_eq!(stats.events_skipped, 0, "{:?}", stats.last_problem);
    assert_eq!(stats.errors, 0, "{:?}", stats.last_problem);
    Fixture { _dir: dir, path }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn jobdeck(journal: &Path, args: &[&str]) -> Run {
    jobdeck_env(journal, args, &[])
}

fn jobdeck_env(journal: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::cargo_bin("jobdeck").unwrap();
    cmd.arg("--journal").arg(journal).args(args);
    cmd.env("TZ", "UTC").env_remove("COLUMNS");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd.output().unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "the secret leaked from jobdeck {args:?}:\n{}{}",
        run.stdout,
        run.stderr
    );
    run
}

fn ok_run(journal: &Path, args: &[&str]) -> String {
    let run = jobdeck(journal, args);
    assert_eq!(run.code, 0, "jobdeck {args:?}: {}", run.stderr);
    run.stdout
}

fn json_of(journal: &Path, args: &[&str]) -> Value {
    let stdout = ok_run(journal, args);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{stdout}"))
}

fn ids(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|row| row["id"].as_i64().unwrap())
        .collect()
}

/// Where each needle first appears, asserting they come in this order.
fn assert_in_order(text: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        match text[from..].find(needle) {
            Some(at) => from += at + needle.len(),
            None => panic!("{needle:?} missing, or out of order, in:\n{text}"),
        }
    }
}

// ---------------------------------------------------------------- history

#[test]
fn history_lists_runs_newest_first_in_a_table() {
    let fx = fixture();
    let table = ok_run(&fx.path, &["history"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "ID", "FLOW", "STATUS", "TRIGGER", "USER", "STARTED", "DURATION", "OK", "FAILED",
            "HOSTS", "REASON"
        ]
    );
    let row = |i: usize| lines[i].split_whitespace().collect::<Vec<_>>();
    assert_eq!(
        row(1)[..11],
        [
            "3",
            "deploy",
            "aborted",
            "rerun:2",
            "tester",
            "2023-11-15",
            "00:13:20",
            "0.5s",
            "0",
            "1",
            "1"
        ]
    );
    assert!(
        lines[1].ends_with(ABORT_REASON),
        "piped: nothing is cut\n{table}"
    );
    assert_eq!(
        row(2),
        [
            "2",
            "deploy",
            "failed",
            "cli",
            "tester",
            "2023-11-14",
            "22:13:20",
            "1h5s",
            "2",
            "1",
            "3",
            "1",
            "of",
            "3",
            "hosts",
            "failed"
        ]
    );
    assert_eq!(
        row(3),
        [
            "1",
            "health",
            "ok",
            "schedule:3",
            "tester",
            "2023-11-14",
            "22:03:20",
            "1.0s",
            "1",
            "0",
            "1"
        ]
    );
    // Columns line up: every row's STARTED starts under the header's.
    let started = lines[0].find("STARTED").unwrap();
    for line in &lines[1..] {
        assert_eq!(&line[started..started + 4], "2023", "{table}");
    }
}

#[test]
fn history_cuts_the_reason_to_the_width() {
    let fx = fixture();
    let run = jobdeck_env(&fx.path, &["history"], &[("COLUMNS", "110")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let aborted = run.stdout.lines().nth(1).unwrap();
    assert_eq!(aborted.chars().count(), 110, "{aborted}");
    assert!(aborted.ends_with('…'), "{aborted}");
    assert!(aborted.contains("max-fail exceeded"), "{aborted}");
    for line in run.stdout.lines() {
        assert!(line.chars().count() <= 110, "{line}");
    }
}

#[test]
fn history_json_and_filters() {
    let fx = fixture();
    let all = json_of(&fx.path, &["history", "--json"]);
    assert_eq!(ids(&all), [3, 2, 1]);
    let deploy = &all[1];
    assert_eq!(deploy["flow"], "deploy");
    assert_eq!(deploy["status"], "failed");
    assert_eq!(deploy["trigger"], "cli");
    assert_eq!(deploy["user"], "tester");
    assert_eq!(deploy["started_at"], T0);
    assert_eq!(deploy["finished_at"], T0 + HOUR + 1_800 + 3_200);
    assert_eq!(deploy["reason"], "1 of 3 hosts failed");
    assert_eq!(
        (
            &deploy["hosts_ok"],
            &deploy["hosts_failed"],
            &deploy["hosts_total"]
        ),
        (&json!(2), &json!(1), &json!(3))
    );
    assert_eq!(all[0]["parent"], 2);

    assert_eq!(
        ids(&json_of(&fx.path, &["history", "--json", "--limit", "1"])),
        [3]
    );
    assert_eq!(
        ids(&json_of(&fx.path, &["history", "--json", "--limit", "0"])),
        [3, 2, 1]
    );
    assert_eq!(
        ids(&json_of(
            &fx.path,
            &["history", "--json", "--flow", "deploy"]
        )),
        [3, 2]
    );
    assert_eq!(
        ids(&json_of(&fx.path, &["history", "--json", "--status", "ok"])),
        [1]
    );
    assert_eq!(
        ids(&json_of(
            &fx.path,
            &[
                "history", "--json", "--status", "aborted", "--flow", "deploy"
            ]
        )),
        [3]
    );
    assert!(
        ids(&json_of(
            &fx.path,
            &[
                "history", "--json", "--status", "failed", "--flow", "health"
            ]
        ))
        .is_empty()
    );
    // Text with no match: nothing on stdout, a note on stderr.
    let none = jobdeck(&fx.path, &["history", "--flow", "nope"]);
    assert_eq!((none.code, none.stdout.as_str()), (0, ""));
    assert!(none.stderr.contains("no runs match"), "{}", none.stderr);
}

#[test]
fn a_bad_status_is_a_usage_error_naming_it() {
    let fx = fixture();
    let run = jobdeck(&fx.path, &["history", "--status", "bogus"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("\"bogus\""), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("running, waiting, paused, ok, failed, aborted, interrupted"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_journal_is_not_created_by_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("journal.db");
    let run = jobdeck(&path, &["history"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
    assert!(run.stderr.contains("no journal at"), "{}", run.stderr);
    assert_eq!(ok_run(&path, &["history", "--json"]).trim(), "[]");
    for args in [&["show", "1"][..], &["export", "1", "--json"]] {
        let run = jobdeck(&path, args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stderr.contains("no job instance 1"), "{}", run.stderr);
    }
    assert!(!path.exists() && !path.parent().unwrap().exists());
}

// ---------------------------------------------------------------- show

#[test]
fn show_prints_the_header_then_each_host_in_run_order() {
    let fx = fixture();
    let text = ok_run(&fx.path, &["show", "2"]);
    assert!(
        !text.contains('\u{1b}'),
        "escape sequences are removed:\n{text}"
    );
    assert!(
        !text.contains("b-42"),
        "exported values stay out of text:\n{text}"
    );
    assert_in_order(
        &text,
        &[
            "instance 2: deploy [FAILED]\n",
            "  reason:    1 of 3 hosts failed\n",
            "  trigger:   cli\n",
            "  user:      tester\n",
            "  started:   2023-11-14 22:13:20\n",
            "  finished:  2023-11-14 23:13:25 (1h5s)\n",
            &format!("  params:    version=1.2.3\n             token={SECRET_MASK}\n"),
            &format!("  atoms:     stop-service   sha256:{}\n", "ab".repeat(32)),
            &format!("             start-service  sha256:{}\n", "cd".repeat(32)),
            "  target:    pattern=web:db\n",
            "  hosts:     3: web[01-02],db1\n",
            "  rollout:   expr=1 100%, sizes=[1,2], interval=1h, mode=continue\n",
            "  batches:   batch 1/2: 1 host, done (1 ok, 0 failed) in 1.8s: web01\n",
            "             batch 2/2: 2 hosts, done (1 ok, 1 failed) in 3.0s: web02,db1\n",
            "  steps:     step 1/2: stop\n             step 2/2: start\n",
            "  exports:   build_id (from web01, step 1/2: stop)\n             (values are shown by --json)\n",
            "\n== web01 [OK] batch 1/2, exit 0, 1.69s\n",
            "-- step 1/2: stop [OK] exit 0, 1.20s\nstopping app\nstderr: warn: slow stop\n",
            "-- step 2/2: start [OK] exit 0, 0.20s\nstarting app\nready\n",
            "\n== web02 [FAILED] batch 2/2, exit 3, 2.70s\n",
            "-- step 1/2: stop [OK] exit 0, 0.20s\nstopping app\n",
            "-- step 2/2: start (attempt 1/2) [FAILED] exit 3, 1.10s\nstderr: boom: port in use\n",
            "-- step 2/2: start (attempt 2/2) [FAILED] exit 3, 0.20s\nstderr: boom again\n",
            "\n== db1 [OK] batch 2/2, exit 0, 1.51s\n",
            "-- step 1/2: stop [OK] exit 0, 0.20s\ncaf\u{fffd} latin1\n",
            // The marker stands where the bytes were: whole lines around it.
            &format!("{X}\n{X}\n{X}\n{X}\n{X}\n{MARKER}\n{X}\n{X}\n{X}\n{X}\n{X}\n"),
            "-- step 2/2: start [OK] exit 0, 1.20s\nstarted db\n",
        ],
    );
    // What was kept of the big chunk: its first and last 5 lines.
    let xs = text.lines().filter(|l| l.starts_with("xxx")).count();
    assert_eq!(xs, 10, "{text}");
}

#[test]
fn show_narrows_to_a_host_and_a_step() {
    let fx = fixture();
    let web02 = ok_run(&fx.path, &["show", "2", "--host", "web02"]);
    assert!(web02.contains("== web02 [FAILED]"), "{web02}");
    assert!(
        web02.contains("  hosts:     3: web[01-02],db1"),
        "the header stays whole"
    );
    assert!(
        !web02.contains("== web01") && !web02.contains("== db1"),
        "{web02}"
    );

    let by_name = ok_run(
        &fx.path,
        &["show", "2", "--host", "web02", "--step", "start"],
    );
    let by_number = ok_run(&fx.path, &["show", "2", "--host", "web02", "--step", "2"]);
    assert_eq!(by_name, by_number);
    assert!(!by_name.contains("-- step 1/2"), "{by_name}");
    assert_in_order(
        &by_name,
        &[
            "(attempt 1/2)",
            "boom: port in use",
            "(attempt 2/2)",
            "boom again",
        ],
    );

    let stops = ok_run(&fx.path, &["show", "2", "--step", "stop"]);
    assert_eq!(stops.matches("-- step 1/2: stop").count(), 3, "{stops}");
    assert!(!stops.contains("-- step 2/2"), "{stops}");
    assert!(stops.contains(MARKER), "{stops}");
}

#[test]
fn show_names_what_it_cannot_find() {
    let fx = fixture();
    let run = jobdeck(&fx.path, &["show", "99"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no job instance 99"), "{}", run.stderr);

    let run = jobdeck(&fx.path, &["show", "2", "--host", "web9"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("instance 2 has no host \"web9\"; its hosts: web[01-02],db1"),
        "{}",
        run.stderr
    );

    let run = jobdeck(&fx.path, &["show", "2", "--step", "3"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("no step \"3\"; its steps: 1 stop, 2 start"),
        "{}",
        run.stderr
    );

    let run = jobdeck(&fx.path, &["export", "42", "--json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no job instance 42"), "{}", run.stderr);
}

#[test]
fn show_json_has_the_same_data_with_raw_output() {
    let fx = fixture();
    let all = json_of(&fx.path, &["show", "2", "--json"]);
    assert_eq!(all["instance"]["params"]["token"], SECRET_MASK);
    assert_eq!(all["instance"]["status"], "failed");
    assert_eq!(all["hosts"].as_array().unwrap().len(), 3);
    assert_eq!(all["exports"][0]["value"], "b-42");
    assert_eq!(all["truncations"][0]["dropped_bytes"], 1000);
    assert_eq!(all["truncations"][0]["dropped_lines"], 10);
    let output = all["output"].as_array().unwrap();
    // db1's big chunk is kept as its head and its tail, the marker between.
    assert_eq!(output.len(), 11);
    let marker = output.iter().position(|c| c["marker"] == true).unwrap();
    assert_eq!(output[marker]["text"], format!("{MARKER}\n"));
    assert_eq!(output[marker - 1]["host"], 2);
    assert_eq!(output[marker + 1]["host"], 2);
    assert_eq!(output[1]["text"], "\u{1b}[31mwarn: slow stop\u{1b}[0m\n");
    assert_eq!(output[1]["stream"], "stderr");
    let latin1 = output.iter().find(|c| c.get("hex").is_some()).unwrap();
    assert_eq!(latin1["hex"], "636166e9206c6174696e310a");
    assert_eq!((&latin1["host"], &latin1["step"]), (&json!(2), &json!(0)));

    let narrow = json_of(
        &fx.path,
        &["show", "2", "--json", "--host", "web02", "--step", "start"],
    );
    let hosts = narrow["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0]["name"], "web02");
    let results = narrow["step_results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "two attempts");
    assert!(results.iter().all(|r| r["host"] == 1 && r["step"] == 1));
    let output = narrow["output"].as_array().unwrap();
    let texts: Vec<&str> = output.iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["boom: port in use\n", "boom again\n"]);
    assert_eq!(output[1]["attempt"], 2);
    assert_eq!(
        narrow["steps"],
        json!(["stop", "start"]),
        "the step list stays whole"
    );
}

#[test]
fn replay_plays_the_output_in_order_with_scaled_timing() {
    let fx = fixture();
    let started = Instant::now();
    let text = ok_run(&fx.path, &["show", "2", "--replay", "--speed", "10"]);
    let took = started.elapsed();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("== replay of instance 2: deploy, 10 chunks"),
        "{text}"
    );
    let body: Vec<&str> = lines[1..]
        .iter()
        .copied()
        .filter(|l| !l.starts_with("db1   | xxx"))
        .collect();
    assert_eq!(
        body,
        [
            "web01 | stopping app",
            "web01 | stderr: warn: slow stop",
            "web01 | starting app",
            "web01 | ready",
            "-- 1h1s later --",
            "web02 | stopping app",
            "db1   | caf\u{fffd} latin1",
            &format!("db1   | {MARKER}"),
            "web02 | stderr: boom: port in use",
            "db1   | started db",
            "web02 | stderr: boom again",
        ],
        "{text}"
    );
    // The first and last 5 lines of the cut chunk.
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("db1   | xxx"))
            .count(),
        10
    );
    // Kept gaps: 1 s + 0.3 s, the hour shortened to 5 s, then 2.4 s of the
    // second batch: 8.7 s of run time, 0.87 s at 10x. The upper bound only
    // proves the hour was not waited for.
    assert!(took >= Duration::from_millis(870), "{took:?}");
    assert!(took < Duration::from_secs(60), "{took:?}");
}

#[test]
fn replay_of_one_host_and_bad_speeds() {
    let fx = fixture();
    let text = ok_run(
        &fx.path,
        &[
            "show", "2", "--replay", "--speed", "1000", "--host", "web02",
        ],
    );
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "web02 | stopping app",
            "web02 | stderr: boom: port in use",
            "web02 | stderr: boom again"
        ]
    );
    let none = ok_run(&fx.path, &["show", "3", "--replay", "--speed", "1000"]);
    assert_eq!(none, "== instance 3: no output recorded\n");
    for speed in ["0", "NaN", "inf"] {
        let run = jobdeck(&fx.path, &["show", "2", "--replay", "--speed", speed]);
        assert_eq!(run.code, 2, "--speed {speed}");
        assert!(
            run.stderr.contains("--speed must be a number above 0"),
            "{}",
            run.stderr
        );
    }
}

// ---------------------------------------------------------------- export

#[test]
fn export_prints_the_whole_instance() {
    let fx = fixture();
    let exported = json_of(&fx.path, &["export", "2", "--json"]);
    let expected = Journal::open(&fx.path).unwrap().export_instance(2).unwrap();
    assert_eq!(exported, expected);
    assert_eq!(exported["instance"]["params"]["token"], SECRET_MASK);
    assert_eq!(
        exported["atoms"]["stop-service"]["body"],
        "#!/bin/sh\nsystemctl stop app\n"
    );
    assert_eq!(exported["output"].as_array().unwrap().len(), 11);
    // Pretty-printed, for reading and diffing.
    let text = ok_run(&fx.path, &["export", "2", "--json"]);
    assert!(text.starts_with("{\n  \""), "{}", &text[..40]);
}

#[test]
fn the_secret_is_nowhere_in_the_journal() {
    let fx = fixture();
    let mut bytes = std::fs::read(&fx.path).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", fx.path.display())) {
        bytes.extend(wal);
    }
    let needle = SECRET.as_bytes();
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
    // And every command checked its own output for it (see `jobdeck_env`).
    jobdeck(&fx.path, &["show", "2", "--replay", "--speed", "1000"]);
}

#[test]
fn a_run_whose_jobdeck_died_shows_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let mut journal = Journal::open(&path).unwrap();
    let id = journal
        .create_instance(&new_instance("deploy", &["web01", "web02"], Trigger::Cli))
        .unwrap();
    let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    Script::new(id, T0)
        .at(
            0,
            EventKind::InstanceStarted {
                flow: "deploy".into(),
                hosts: vec!["web01".into(), "web02".into()],
                steps: vec!["stop".into()],
                batches: vec![vec![0], vec![1]],
            },
        )
        .at(0, EventKind::BatchStarted { batch: 0 })
        .start(10, 0, 0, 1)
        .out(20, 0, 0, Stream::Stdout, b"half way\n")
        .send(&sink);
    sink.blocking_flush().unwrap();
    drop(sink);
    handle.join().unwrap();
    // The run's owner is a process that has exited.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    journal
        .connection()
        .execute(
            "UPDATE instances SET owner_pid = ?1 WHERE id = ?2",
            (dead_pid, id),
        )
        .unwrap();

    let rows = json_of(&path, &["history", "--json"]);
    assert_eq!(rows[0]["status"], "interrupted", "{rows}");
    let text = ok_run(&path, &["show", &id.to_string()]);
    assert_in_order(
        &text,
        &[
            &format!("instance {id}: deploy [INTERRUPTED]\n"),
            &format!("  resume:    jobdeck resume {id} (it was running); next: batch 1/2\n"),
            "== web01 [INTERRUPTED] batch 1/2\n",
            "-- step 1/1: stop [INTERRUPTED]\nhalf way\n",
            "== web02 [PENDING] batch 2/2\n",
        ],
    );
}
