//! Journal ingest: 1,000 hosts printing output concurrently through one
//! `JournalSink` into a temp journal. Prints chunks/s, MB/s, the deepest the
//! bounded channel got, and the total time. With more output per host than
//! the journal keeps (CHUNKS x CHUNK_BYTES over 4 MiB), it measures keeping
//! the head and the sliding tail, and prints what was dropped. The search
//! index's time (behind the writes, on the writer's thread once the run
//! ended) is printed apart from the writer's busy time, with their sum and
//! the index's size against the rest of the journal. `INDEX=0` runs the
//! same writer without the index: compare `writer busy` of alternating runs
//! with and without.
//!
//! `cargo bench --bench journal_ingest` (env: HOSTS, CHUNKS, CHUNK_BYTES, BATCH, INDEX).

use jobdeck::{engine, journal};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use engine::events::{Event, EventKind, HostStatus, InstanceStatus, StepOutcome, Stream};
use journal::{Journal, JournalWriter, NewInstance, Trigger, WriterOptions};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let hosts = env_or("HOSTS", 1000);
    let chunks_per_host = env_or("CHUNKS", 200);
    let chunk_bytes = env_or("CHUNK_BYTES", 80);

    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("journal.db");
    let mut journal = Journal::open(&path).expect("the journal opens");
    let names: Vec<String> = (0..hosts).map(|i| format!("host{i:04}.example")).collect();
    let id = journal
        .create_instance(&NewInstance {
            flow: "bench".into(),
            flow_snapshot: "name: bench\n".into(),
            hosts: names.clone(),
            trigger: Trigger::Cli,
            ..NewInstance::default()
        })
        .expect("an instance");

    let options = WriterOptions {
        max_batch_events: env_or("BATCH", WriterOptions::default().max_batch_events),
        index_search: env_or("INDEX", 1) != 0,
        ..WriterOptions::default()
    };
    let capacity = options.capacity;
    let (sink, handle) = JournalWriter::spawn(&path, options).expect("the writer starts");

    // Sample the queue depth from outside the producers too.
    let max_depth = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (sink, max_depth, stop) = (sink.clone(), Arc::clone(&max_depth), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                max_depth.fetch_max(sink.queue_depth(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(500));
            }
        })
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let started = Instant::now();
    rt.block_on(async {
        sink.send(Event::now(
            id,
            EventKind::InstanceStarted {
                flow: "bench".into(),
                hosts: names.clone(),
                steps: vec!["spam".into()],
                batches: vec![(0..hosts).collect()],
            },
        ))
        .await
        .expect("send");
        let mut tasks = Vec::new();
        for host in 0..hosts {
            let sink = sink.clone();
            let max_depth = Arc::clone(&max_depth);
            tasks.push(tokio::spawn(async move {
                let line = format!(
                    "{:<width$}\n",
                    format!("host {host} says hello"),
                    width = chunk_bytes - 1
                );
                let data = Bytes::from(line.into_bytes());
                sink.send(Event::now(
                    id,
                    EventKind::StepStarted {
                        host,
                        step: 0,
                        attempt: 1,
                    },
                ))
                .await
                .expect("send");
                for n in 0..chunks_per_host {
                    let stream = if n % 10 == 9 {
                        Stream::Stderr
                    } else {
                        Stream::Stdout
                    };
                    let kind = EventKind::Output {
                        host,
                        step: 0,
                        stream,
                        data: data.clone(),
                    };
                    sink.send(Event::now(id, kind)).await.expect("send");
                    max_depth.fetch_max(sink.queue_depth(), Ordering::Relaxed);
                    // Interleave the hosts as real output would.
                    tokio::task::yield_now().await;
                }
                let outcome = StepOutcome {
                    status: HostStatus::Ok,
                    exit_code: Some(0),
                    signal: None,
                    error: None,
                };
                sink.send(Event::now(
                    id,
                    EventKind::StepFinished {
                        host,
                        step: 0,
                        attempt: 1,
                        outcome,
                    },
                ))
                .await
                .expect("send");
                sink.send(Event::now(
                    id,
                    EventKind::HostFinished {
                        host,
                        status: HostStatus::Ok,
                    },
                ))
                .await
                .expect("send");
            }));
        }
        for task in tasks {
            task.await.expect("a producer");
        }
        let finished = EventKind::InstanceFinished {
            status: InstanceStatus::Ok,
            reason: None,
        };
        sink.send(Event::now(id, finished)).await.expect("send");
        sink.flush().await.expect("flush");
    });
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("the sampler");
    drop(sink);
    let stats = handle.join().expect("the writer");

    let chunks = hosts * chunks_per_host;
    let stored: i64 = journal
        .connection()
        .query_row(
            "SELECT count(*) FROM output WHERE instance_id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("count");
    let cap = WriterOptions::default().output_cap_bytes as usize;
    if chunks_per_host * chunk_bytes <= cap {
        assert_eq!(stored as usize, chunks, "every chunk is in the journal");
    }
    assert_eq!(stats.errors, 0, "{:?}", stats.last_problem);
    let secs = elapsed.as_secs_f64();
    let mb = (chunks * chunk_bytes) as f64 / 1e6;
    let db_bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum();
    println!("journal_ingest: {hosts} hosts x {chunks_per_host} chunks x {chunk_bytes} B");
    println!("  total time        {:.3} s", secs);
    println!("  chunks/s          {:.0}", chunks as f64 / secs);
    println!("  MB/s (payload)    {:.2}", mb / secs);
    println!(
        "  max queue depth   {} of {capacity} ({:.1}%)",
        max_depth.load(Ordering::Relaxed),
        100.0 * max_depth.load(Ordering::Relaxed) as f64 / capacity as f64
    );
    println!(
        "  transactions      {} (largest {} events)",
        stats.transactions, stats.largest_transaction
    );
    println!("  events applied    {}", stats.events_applied);
    println!(
        "  output kept       {:.1} MB, dropped {:.1} MB",
        stats.output_bytes_stored as f64 / 1e6,
        stats.output_bytes_dropped as f64 / 1e6
    );
    println!(
        "  writer busy       {:.3} s ({:.0}% of the run): {:.0} events/s while busy",
        stats.busy.as_secs_f64(),
        100.0 * stats.busy.as_secs_f64() / secs,
        stats.events_applied as f64 / stats.busy.as_secs_f64()
    );
    // The search index follows the writer (when idle, at the run's end):
    // its cost moved out of `busy`, so it is printed on its own.
    println!(
        "  search index      {:.3} s for {} rows, after the writes (+{:.0}% of writer busy)",
        stats.index_busy.as_secs_f64(),
        stats.rows_indexed,
        100.0 * stats.index_busy.as_secs_f64() / stats.busy.as_secs_f64()
    );
    println!(
        "  busy + index      {:.3} s",
        (stats.busy + stats.index_busy).as_secs_f64()
    );
    let (index_bytes, rest_bytes) = index_and_rest(&journal);
    println!(
        "  index size        {:.1} MB = {:.1}% of the rest ({:.1} MB, dbstat)",
        index_bytes as f64 / 1e6,
        100.0 * index_bytes as f64 / rest_bytes as f64,
        rest_bytes as f64 / 1e6
    );
    println!(
        "  journal size      {:.1} MB (db + wal)",
        db_bytes as f64 / 1e6
    );
}

/// Bytes of the search index's tables and of everything else (dbstat).
fn index_and_rest(journal: &Journal) -> (i64, i64) {
    journal
        .connection()
        .prepare("SELECT name LIKE 'output_words%', sum(pgsize) FROM dbstat GROUP BY 1")
        .expect("dbstat")
        .query_map([], |r| Ok((r.get::<_, bool>(0)?, r.get::<_, i64>(1)?)))
        .expect("dbstat")
        .fold((0, 0), |(index, rest), row| match row.expect("dbstat") {
            (true, size) => (index + size, rest),
            (false, size) => (index, rest + size),
        })
}
