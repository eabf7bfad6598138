//! `jobdeck grep` as an operator uses it: runs made by the real binary on
//! local hosts (a command that prints a line in pieces, stderr, several
//! steps), then searched: the output format, context, JSON, filters, exit
//! codes, bad input; and a journal from before the index, indexed once with
//! progress, stopped by Ctrl-C (SIGINT) and picked up again.

mod cli;
mod search_support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use cli::{Outcome, Sandbox, run};

fn jobdeck(journal: &Path) -> Command {
    let mut cmd = Command::cargo_bin("jobdeck").unwrap();
    cmd.arg("--journal").arg(journal).env("TZ", "UTC");
    cmd
}

fn grep(journal: &Path, args: &[&str]) -> Outcome {
    run(jobdeck(journal).arg("grep").args(args))
}

/// Two ad-hoc runs on two local hosts, then a flow run; returns the journal.
fn fleet_with_runs(sandbox: &Sandbox) -> std::path::PathBuf {
    let inventory = sandbox.write(
        "inv.ini",
        "[app]\nweb1 ansible_connection=local\nweb2 ansible_connection=local\n",
    );
    let journal = sandbox.path("journal.db");
    // A line printed in two pieces a moment apart: two output rows.
    let command = r#"printf 'curl: (7) conn'; sleep 0.3; printf 'ection refused by %s\n' "$JOBDECK_HOST"; echo "disk ok on $JOBDECK_HOST" >&2; printf 'a\nb\nc\n'"#;
    for _ in 0..2 {
        run(jobdeck(&journal)
            .args(["--run", "-c", command, "-i"])
            .arg(&inventory))
        .expect(0);
    }
    let flow = sandbox.write(
        "flows/check.yml",
        "name: check\nsteps:\n  - name: probe\n    command: echo \"Connection REFUSED at $JOBDECK_HOST\"; exit 3\n",
    );
    run(jobdeck(&journal)
        .arg("--run")
        .arg(&flow)
        .args(["--limit", "web2", "-i"])
        .arg(&inventory))
    .expect(1);
    journal
}

#[test]
fn matching_lines_newest_runs_first_with_context_json_and_filters() {
    let sandbox = Sandbox::new();
    let journal = fleet_with_runs(&sandbox);
    let rows: i64 = rusqlite::Connection::open(&journal)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM output WHERE instance_id = 1 AND host_idx = 0 AND stream = 'stdout'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(rows >= 2, "the line came in pieces ({rows} rows)");
    // Each headless run indexed what it stored before it exited.
    let unindexed: i64 = rusqlite::Connection::open(&journal)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM output
             WHERE id > (SELECT indexed_to FROM output_words_backfill WHERE id = 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unindexed, 0);

    let out = grep(&journal, &["connection refused"]).expect(0);
    assert_eq!(
        out.stdout,
        "2 web1 command: curl: (7) connection refused by web1\n\
         2 web2 command: curl: (7) connection refused by web2\n\
         1 web1 command: curl: (7) connection refused by web1\n\
         1 web2 command: curl: (7) connection refused by web2\n"
    );
    assert!(
        !out.stderr.contains("indexing"),
        "a new journal needs no build: {}",
        out.stderr
    );

    let out = grep(&journal, &["-i", "connection refused"]).expect(0);
    assert_eq!(
        out.stdout.lines().next(),
        Some("3 web2 probe: Connection REFUSED at web2")
    );
    assert_eq!(out.stdout.lines().count(), 5);

    let out = grep(
        &journal,
        &["disk ok", "--host", "web2", "--until", "2100-01-01"],
    )
    .expect(0);
    assert_eq!(
        out.stdout,
        "2 web2 command: stderr: disk ok on web2\n1 web2 command: stderr: disk ok on web2\n"
    );

    let out = grep(
        &journal,
        &["-C", "1", "b", "--host", "web1", "--since", "1h"],
    )
    .expect(0);
    assert_eq!(
        out.stdout,
        "2 web1 command: curl: (7) connection refused by web1\n\
         2 web1 command- a\n2 web1 command: b\n2 web1 command- c\n--\n\
         1 web1 command: curl: (7) connection refused by web1\n\
         1 web1 command- a\n1 web1 command: b\n1 web1 command- c\n"
    );

    let out = grep(
        &journal,
        &["--json", "-C", "1", "-E", r"^b$", "--flow", "adhoc: *"],
    )
    .expect(1);
    assert_eq!(out.stdout, "", "--flow names a flow exactly");
    let out = grep(
        &journal,
        &["--json", "-C", "1", "-E", r"^b$", "--status", "ok"],
    )
    .expect(0);
    let first: serde_json::Value =
        serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        first,
        serde_json::json!({
            "id": 2, "flow": first["flow"], "host": "web1", "host_index": 0, "step": "command",
            "step_index": 0, "attempt": 1, "stream": "stdout", "line": "b",
            "before": ["a"], "after": ["c"]
        })
    );
    assert_eq!(out.stdout.lines().count(), 4);

    // Exit 1 when nothing matched; a word must start where PATTERN starts.
    let out = grep(&journal, &["onnection"]).expect(1);
    assert_eq!(out.stdout, "");
    grep(&journal, &["-E", "onnection"]).expect(0);
}

#[test]
fn bad_input_is_named_and_exits_2() {
    let sandbox = Sandbox::new();
    let journal = fleet_with_runs(&sandbox);
    grep(&journal, &["-E", "a(b"])
        .expect(2)
        .stderr_has("bad regex \"a(b\"");
    grep(&journal, &["x", "--since", "last tuesday"])
        .expect(2)
        .stderr_has("--since \"last tuesday\": expected a duration back from now");
    grep(&journal, &["x", "--status", "great"])
        .expect(2)
        .stderr_has("unknown status \"great\"");
    grep(&journal, &["x", "--host", "web[1"])
        .expect(2)
        .stderr_has("bad --host pattern \"web[1\"");
    grep(&journal, &[""]).expect(2).stderr_has("empty pattern");
    grep(&sandbox.path("none.db"), &["x"])
        .expect(1)
        .stderr_has("no journal at");
    assert!(!sandbox.path("none.db").exists(), "grep creates no journal");
}

#[test]
fn an_old_journal_is_indexed_once_with_progress_and_ctrl_c_keeps_what_is_done() {
    let sandbox = Sandbox::new();
    let journal = sandbox.path("old.db");
    search_support::journal_before_the_index(&journal, 200, 10, 40);

    let bin = assert_cmd::cargo::cargo_bin("jobdeck");
    let mut child = std::process::Command::new(bin)
        .arg("--journal")
        .arg(&journal)
        .args(["grep", "nearly full"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("indexing the earlier output"), "{first}");
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "grep did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "stderr: {rest}");
    assert!(rest.contains("stopped indexing at"), "{rest}");
    let (done, next): (i64, Option<i64>) = rusqlite::Connection::open(&journal)
        .unwrap()
        .query_row(
            "SELECT rows_done, next_instance FROM output_words_backfill",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(done > 0 && done < 80_000, "stopped part way: {done} rows");
    assert!(next.is_some());

    // The next grep goes on from there and answers.
    let out = grep(&journal, &["nearly full", "--host", "old3"]).expect(0);
    assert!(
        out.stderr.contains("the search index is complete"),
        "{}",
        out.stderr
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 200);
    assert_eq!(lines[0], "200 old3 check: run 200 host 3: disk nearly full");
    let out = grep(&journal, &["nearly full"]).expect(0);
    assert!(!out.stderr.contains("indexing"), "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 2000);
}
