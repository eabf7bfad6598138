//! Journals for the search tests: runs written through the real writer,
//! and a journal as jobdeck wrote it before the search index existed.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use jobdeck::engine::events::{Event, EventKind, HostStatus, InstanceId, InstanceStatus, Stream};
use jobdeck::journal::search::follow::{Follower, StepSize};
use jobdeck::journal::{self, Journal, JournalWriter, NewInstance, Trigger, WriterOptions};

/// One host's output: (step, stream, chunk) in arrival order.
pub type HostOutput = Vec<(usize, Stream, Vec<u8>)>;

pub struct RunSpec<'a> {
    pub flow: &'a str,
    pub status: InstanceStatus,
    pub steps: &'a [&'a str],
    pub hosts: Vec<(&'a str, HostOutput)>,
}

/// Writes a run through the journal writer, as the engine would; returns its id.
pub fn write_run(path: &Path, run: &RunSpec<'_>) -> InstanceId {
    write_run_with(path, run, WriterOptions::default(), false)
}

/// `write_run` with the writer's options (the output cap), and with every
/// chunk in a transaction of its own if `flush_each` (the index then
/// follows the writes a row at a time).
pub fn write_run_with(
    path: &Path,
    run: &RunSpec<'_>,
    options: WriterOptions,
    flush_each: bool,
) -> InstanceId {
    let mut journal = Journal::open(path).unwrap();
    let names: Vec<String> = run.hosts.iter().map(|(n, _)| n.to_string()).collect();
    let id = journal
        .create_instance(&NewInstance {
            flow: run.flow.to_owned(),
            flow_snapshot: format!("name: {}\n", run.flow),
            hosts: names.clone(),
            trigger: Trigger::Cli,
            ..NewInstance::default()
        })
        .unwrap();
    let (sink, handle) = JournalWriter::spawn(path, options).unwrap();
    let reader = Journal::open(path).unwrap();
    let (mut follower, mut index_steps) = (Follower::new(), 0);
    let send = |kind: EventKind| {
        sink.blocking_send(Event {
            instance: id,
            at: 1,
            kind,
        })
        .unwrap()
    };
    send(EventKind::InstanceStarted {
        flow: run.flow.to_owned(),
        hosts: names.clone(),
        steps: run.steps.iter().map(|s| s.to_string()).collect(),
        batches: vec![(0..names.len()).collect()],
    });
    for (host, (_, output)) in run.hosts.iter().enumerate() {
        let mut started = vec![false; run.steps.len()];
        for (step, stream, data) in output {
            if !started[*step] {
                send(EventKind::StepStarted {
                    host,
                    step: *step,
                    attempt: 1,
                });
                started[*step] = true;
            }
            send(EventKind::Output {
                host,
                step: *step,
                stream: *stream,
                data: Bytes::copy_from_slice(data),
            });
            if flush_each {
                sink.blocking_flush().unwrap();
                // The index follows the writes a row at a time, from another
                // connection, sometimes with its memory of the streams lost.
                if index_steps % 2 == 0 {
                    follower = Follower::new();
                }
                index_steps += 1;
                follower
                    .step(
                        reader.connection(),
                        StepSize {
                            rows: 1,
                            time: Duration::from_secs(1),
                        },
                    )
                    .unwrap();
            }
        }
        send(EventKind::HostFinished {
            host,
            status: HostStatus::Ok,
        });
    }
    send(EventKind::InstanceFinished {
        status: run.status,
        reason: None,
    });
    sink.blocking_flush().unwrap();
    drop(sink);
    let stats = handle.join().unwrap();
    assert_eq!(stats.errors, 0, "{:?}", stats.last_problem);
    id
}

/// A journal as jobdeck wrote it before the index: schema 2, with output.
pub fn journal_before_the_index(path: &Path, runs: usize, hosts: usize, lines_per_host: usize) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    for migration in &journal::schema::MIGRATIONS[..2] {
        conn.execute_batch(migration.sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 2).unwrap();
    let tx = rusqlite::Transaction::new_unchecked(&conn, rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    for run in 1..=runs {
        tx.execute(
            "INSERT INTO instances (id, flow, flow_snapshot, trigger, os_user, status, created_at)
             VALUES (?1, 'old', '', 'cli', 'ops', 'ok', ?1)",
            [run],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO steps (instance_id, step_idx, name) VALUES (?1, 0, 'check')",
            [run],
        )
        .unwrap();
        for host in 0..hosts {
            tx.execute(
                "INSERT INTO hosts (instance_id, host_idx, name) VALUES (?1, ?2, ?3)",
                rusqlite::params![run, host, format!("old{host}")],
            )
            .unwrap();
            for line in 0..lines_per_host {
                let text = if line == lines_per_host / 2 {
                    format!("run {run} host {host}: disk nearly full\n")
                } else {
                    format!("run {run} host {host} line {line}: all good\n")
                };
                tx.execute(
                    "INSERT INTO output (instance_id, host_idx, step_idx, attempt, stream, at, data)
                     VALUES (?1, ?2, 0, 1, 'stdout', 0, ?3)",
                    rusqlite::params![run, host, text.into_bytes()],
                )
                .unwrap();
            }
        }
    }
    tx.commit().unwrap();
}
