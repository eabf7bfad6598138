//! Fills a real journal with runs for the housekeeping tests: each run is
//! created with `Journal::create_instance` and written by the journal
//! writer from engine events (the path a real run takes), then its times
//! are moved back with one UPDATE to make it as old as a test needs.
//! Include with `#[path = "support/fill.rs"] mod fill;`.
#![allow(dead_code)]

use std::path::Path;

use bytes::Bytes;
use jobdeck::engine::events::{
    Event, EventKind, HostStatus, InstanceId, InstanceStatus, StepOutcome, Stream,
};
use jobdeck::journal::{Journal, JournalSink, JournalWriter, NewInstance, Trigger, WriterOptions};

pub const DAY_MS: i64 = 86_400_000;
const SAMPLE_FLOW: &str = include_str!("../../sample-inventory/flows/deploy.yml");

/// One run to write.
#[derive(Debug, Clone)]
pub struct Run {
    pub flow: String,
    pub trigger: Trigger,
    pub hosts: usize,
    pub chunks_per_host: usize,
    pub chunk_bytes: usize,
    /// The final status; a live status (running, waiting, paused) leaves the
    /// run unfinished, owned by this process.
    pub status: InstanceStatus,
    /// How long ago it was created (it ended a second later).
    pub age_ms: i64,
}

impl Run {
    pub fn new(flow: &str, status: InstanceStatus, age_days: i64) -> Run {
        Run {
            flow: flow.to_owned(),
            trigger: Trigger::Cli,
            hosts: 2,
            chunks_per_host: 3,
            chunk_bytes: 64,
            status,
            age_ms: age_days * DAY_MS,
        }
    }

    pub fn age_ms(mut self, age_ms: i64) -> Run {
        self.age_ms = age_ms;
        self
    }

    pub fn trigger(mut self, trigger: Trigger) -> Run {
        self.trigger = trigger;
        self
    }

    pub fn output(mut self, hosts: usize, chunks_per_host: usize, chunk_bytes: usize) -> Run {
        self.hosts = hosts;
        self.chunks_per_host = chunks_per_host;
        self.chunk_bytes = chunk_bytes;
        self
    }
}

fn now_ms() -> i64 {
    jobdeck::engine::events::now_millis()
}

/// A journal connection and a writer, kept open while runs are written
/// (a test opens the journal once, as a jobdeck process would).
pub struct Filler {
    pub journal: Journal,
    sink: JournalSink,
    writer: std::thread::JoinHandle<jobdeck::journal::WriterStats>,
    written: Vec<(InstanceId, i64)>,
}

impl Filler {
    pub fn open(path: &Path) -> Filler {
        let journal = Journal::open(path).unwrap();
        let (sink, writer) = JournalWriter::spawn(path, WriterOptions::default()).unwrap();
        Filler {
            journal,
            sink,
            writer,
            written: Vec::new(),
        }
    }

    pub fn write(&mut self, run: &Run) -> InstanceId {
        let id = write_run(&mut self.journal, &self.sink, run);
        self.written.push((id, run.age_ms));
        id
    }

    /// Waits for the writer, then moves each run's times back by its age.
    pub fn finish(self) -> Journal {
        self.sink.blocking_flush().unwrap();
        drop(self.sink);
        self.writer.join().unwrap();
        let now = now_ms();
        let conn = self.journal.connection();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        for (id, age_ms) in self.written {
            conn.execute(
                "UPDATE instances SET created_at = ?2, started_at = ?2,
                     finished_at = CASE WHEN finished_at IS NULL THEN NULL ELSE ?2 + 1000 END
                 WHERE id = ?1",
                (id, now - age_ms),
            )
            .unwrap();
        }
        conn.execute_batch("COMMIT").unwrap();
        self.journal
    }
}

/// Writes `runs` in order; returns their ids.
pub fn write_runs(path: &Path, runs: &[Run]) -> Vec<InstanceId> {
    let mut filler = Filler::open(path);
    let ids = runs.iter().map(|run| filler.write(run)).collect();
    filler.finish();
    ids
}

fn write_run(journal: &mut Journal, sink: &JournalSink, run: &Run) -> InstanceId {
    // As wide as real rows: a real flow's text, full host names.
    let hosts: Vec<String> = (0..run.hosts)
        .map(|h| format!("{}-{h:04}.dc1.example.net", run.flow))
        .collect();
    let id = journal
        .create_instance(&NewInstance {
            flow: run.flow.clone(),
            flow_snapshot: SAMPLE_FLOW.replacen("name: deploy", &format!("name: {}", run.flow), 1),
            hosts: hosts.clone(),
            trigger: run.trigger,
            target: serde_json::json!({ "limit": "web", "inventory": ["/srv/inventory"] }),
            rollout: serde_json::json!({ "batches": "1 30% 100%", "interval": "2h", "mode": "pause-on-failure", "forks": 64 }),
            ..NewInstance::default()
        })
        .unwrap();
    let at = now_ms();
    let send = |kind: EventKind| {
        sink.blocking_send(Event {
            instance: id,
            at,
            kind,
        })
        .unwrap()
    };
    send(EventKind::InstanceStarted {
        flow: run.flow.clone(),
        hosts,
        steps: vec!["say".into()],
        batches: vec![(0..run.hosts).collect()],
    });
    send(EventKind::BatchStarted { batch: 0 });
    let line: Vec<u8> = (0..run.chunk_bytes)
        .map(|i| {
            if i + 1 == run.chunk_bytes {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    let finished = !matches!(
        run.status,
        InstanceStatus::Running | InstanceStatus::Waiting | InstanceStatus::Paused
    );
    let host_status = match run.status {
        InstanceStatus::Ok | InstanceStatus::Running => HostStatus::Ok,
        _ => HostStatus::Failed,
    };
    for host in 0..run.hosts {
        send(EventKind::StepStarted {
            host,
            step: 0,
            attempt: 1,
        });
        for _ in 0..run.chunks_per_host {
            send(EventKind::Output {
                host,
                step: 0,
                stream: Stream::Stdout,
                data: Bytes::from(line.clone()),
            });
        }
        if finished {
            send(EventKind::StepFinished {
                host,
                step: 0,
                attempt: 1,
                outcome: StepOutcome {
                    status: host_status,
                    exit_code: Some(if host_status == HostStatus::Ok { 0 } else { 1 }),
                    signal: None,
                    error: None,
                },
            });
            send(EventKind::Exported {
                host,
                step: 0,
                name: "version".into(),
                value: "1.0".into(),
            });
            send(EventKind::HostFinished {
                host,
                status: host_status,
            });
        }
    }
    if finished {
        send(EventKind::BatchFinished {
            batch: 0,
            ok: if host_status == HostStatus::Ok {
                run.hosts
            } else {
                0
            },
            failed: if host_status == HostStatus::Ok {
                0
            } else {
                run.hosts
            },
        });
        send(EventKind::InstanceFinished {
            status: run.status,
            reason: None,
        });
    } else if run.status == InstanceStatus::Paused {
        send(EventKind::Paused);
    }
    id
}

/// Rows left in each table that hangs off an instance, for `ids`.
pub fn rows_of(journal: &Journal, ids: &[InstanceId]) -> Vec<(&'static str, i64)> {
    let list = serde_json::to_string(ids).unwrap();
    [
        ("instances", "id"),
        ("steps", "instance_id"),
        ("batches", "instance_id"),
        ("hosts", "instance_id"),
        ("step_results", "instance_id"),
        ("output", "instance_id"),
        ("exports", "instance_id"),
        ("truncations", "instance_id"),
    ]
    .into_iter()
    .map(|(table, column)| {
        let sql = format!(
            "SELECT count(*) FROM {table} WHERE {column} IN (SELECT value FROM json_each(?1))"
        );
        let n: i64 = journal
            .connection()
            .query_row(&sql, [&list], |r| r.get(0))
            .unwrap();
        (table, n)
    })
    .collect()
}
