//! Pruning beside live writers: how long a prune holds the write lock, and
//! how long a live run's writes wait meanwhile.
//!
//! 1. Writes RUNS old runs (HOSTS hosts × CHUNKS chunks × CHUNK_BYTES
//!    bytes of output each) and 10 recent ones through the journal writer.
//! 2. Starts a live run: a journal writer fed ~2,000 output chunks a
//!    second (the path the engine takes), which flushes every 20 ms and
//!    times each flush (until its chunks are committed), and a bare probe
//!    connection that commits one row every 10 ms and times it (BEGIN
//!    IMMEDIATE to COMMIT: the wait for the lock included).
//! 3. Times both for 3 s without a prune, then during `journal prune
//!    --older-than 90d` (the default options), and prints the prune's
//!    figures (runs, MB given back, transactions, longest lock) next to the
//!    live writers' median, p99 and worst wait in both phases.
//! 4. Builds an old-format journal (no auto-vacuum) with RUNS/2 old and
//!    RUNS/2 recent runs and times the prune that converts it (the one-off
//!    VACUUM, with no run live).
//!
//! `cargo bench --bench journal_prune` (env: RUNS=2000, HOSTS=20, CHUNKS=20,
//! CHUNK_BYTES=256, PAUSE_MS, TARGET_MS to change the prune's pause and
//! batch target).

#[path = "../tests/support/fill.rs"]
mod fill;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fill::{Filler, Run};
use jobdeck::engine::events::{Event, EventKind, InstanceStatus, Stream, now_millis};
use jobdeck::journal::prune::{PruneOptions, PrunePolicy, Rule, SpaceOutcome};
use jobdeck::journal::{Journal, JournalWriter, NewInstance, WriterOptions};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// (median, p99, max) in ms.
fn spread(samples: &[Duration]) -> (f64, f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let mut s = samples.to_vec();
    s.sort();
    let at = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
    (ms(at(0.5)), ms(at(0.99)), ms(*s.last().unwrap()))
}

fn build(path: &Path, old: usize, recent: usize, hosts: usize, chunks: usize, bytes: usize) {
    let mut filler = Filler::open(path);
    for i in 0..old + recent {
        let age = if i < old { 200 } else { 1 };
        filler.write(&Run::new("bulk", InstanceStatus::Ok, age).output(hosts, chunks, bytes));
    }
    filler.finish();
}

/// Latencies collected by the live writers, each tagged with the phase.
#[derive(Default)]
struct Samples {
    flush: Vec<(bool, Duration)>,
    probe: Vec<(bool, Duration)>,
}

fn main() {
    let runs = env_or("RUNS", 2000);
    let hosts = env_or("HOSTS", 20);
    let chunks = env_or("CHUNKS", 20);
    let chunk_bytes = env_or("CHUNK_BYTES", 256);
    let mut options = PruneOptions::default();
    if let Ok(p) = std::env::var("PAUSE_MS") {
        options.pause = Duration::from_millis(p.parse().expect("PAUSE_MS"));
    }
    if let Ok(t) = std::env::var("TARGET_MS") {
        options.batch_target = Duration::from_millis(t.parse().expect("TARGET_MS"));
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("journal.db");
    let built = Instant::now();
    build(&path, runs, 10, hosts, chunks, chunk_bytes);
    let payload = (runs * hosts * chunks * chunk_bytes) as u64;
    println!(
        "journal_prune: {runs} old runs x {hosts} hosts x {chunks} chunks x {chunk_bytes} B ({:.0} MB of output), built in {:.0} s",
        mb(payload),
        built.elapsed().as_secs_f64()
    );
    println!(
        "  prune options: batch target {} ms, pause {} ms",
        options.batch_target.as_millis(),
        options.pause.as_millis()
    );

    // The live run.
    let mut journal = Journal::open(&path).expect("open");
    let live = journal
        .create_instance(&NewInstance {
            flow: "live".into(),
            flow_snapshot: "name: live\n".into(),
            hosts: (0..50).map(|h| format!("live{h:02}")).collect(),
            ..NewInstance::default()
        })
        .expect("live instance");
    let (sink, writer) = JournalWriter::spawn(&path, WriterOptions::default()).expect("writer");
    sink.blocking_send(Event::now(
        live,
        EventKind::InstanceStarted {
            flow: "live".into(),
            hosts: (0..50).map(|h| format!("live{h:02}")).collect(),
            steps: vec!["stream".into()],
            batches: vec![(0..50).collect()],
        },
    ))
    .expect("send");
    for host in 0..50 {
        sink.blocking_send(Event::now(
            live,
            EventKind::StepStarted {
                host,
                step: 0,
                attempt: 1,
            },
        ))
        .expect("send");
    }
    // Its hosts exist before the probe writes for one of them.
    sink.blocking_flush().expect("flush");
    let pruning = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Samples::default()));
    let feeder = {
        let (sink, pruning, stop, samples) =
            (sink.clone(), pruning.clone(), stop.clone(), samples.clone());
        std::thread::spawn(move || {
            let line = Bytes::from_static(b"a line of live output, as a host prints it\n");
            let mut host = 0;
            while !stop.load(Ordering::Relaxed) {
                // 40 chunks, then a flush: ~2,000 chunks/s at 20 ms a round.
                for _ in 0..40 {
                    host = (host + 1) % 50;
                    let kind = EventKind::Output {
                        host,
                        step: 0,
                        stream: Stream::Stdout,
                        data: line.clone(),
                    };
                    sink.blocking_send(Event::now(live, kind)).expect("send");
                }
                let phase = pruning.load(Ordering::Relaxed);
                let t = Instant::now();
                sink.blocking_flush().expect("flush");
                samples.lock().unwrap().flush.push((phase, t.elapsed()));
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let probe = {
        let (path, pruning, stop, samples) =
            (path.clone(), pruning.clone(), stop.clone(), samples.clone());
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(&path).expect("probe");
            conn.busy_timeout(Duration::from_secs(10)).expect("busy");
            while !stop.load(Ordering::Relaxed) {
                let phase = pruning.load(Ordering::Relaxed);
                let t = Instant::now();
                conn.execute_batch(&format!(
                    "BEGIN IMMEDIATE;
                     INSERT INTO exports (instance_id, host_idx, step_idx, name, value, at)
                         VALUES ({live}, 0, 0, 'probe', 'x', 0)
                         ON CONFLICT DO UPDATE SET at = at + 1;
                     COMMIT;"
                ))
                .expect("probe write");
                samples.lock().unwrap().probe.push((phase, t.elapsed()));
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };

    std::thread::sleep(Duration::from_secs(3));
    pruning.store(true, Ordering::Relaxed);
    let policy = PrunePolicy::everything(Rule {
        older_than: Some(Duration::from_secs(90 * 86_400)),
        keep_last: 0,
    });
    let report = journal
        .prune(&policy, &options, now_millis())
        .expect("prune");
    pruning.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    feeder.join().expect("feeder");
    probe.join().expect("probe");
    drop(sink);
    let stats = writer.join().expect("writer");
    assert_eq!(stats.errors, 0, "{:?}", stats.last_problem);
    assert_eq!(report.runs as usize, runs);

    let secs = report.elapsed.as_secs_f64();
    let freed = report.bytes_before.saturating_sub(report.bytes_after);
    let returned = match report.space {
        SpaceOutcome::Returned { pages } => pages,
        _ => 0,
    };
    println!(
        "  prune: {} runs, {} hosts, {} chunks in {:.2} s ({:.0} runs/s, {:.1} MB/s of journal given back)",
        report.runs,
        report.hosts,
        report.output_chunks,
        secs,
        report.runs as f64 / secs,
        mb(freed) / secs
    );
    println!(
        "  journal {:.1} MB -> {:.1} MB ({returned} pages given back), {} write transactions, longest lock {:.1} ms",
        mb(report.bytes_before),
        mb(report.bytes_after),
        report.transactions,
        ms(report.longest_lock)
    );
    let samples = samples.lock().unwrap();
    for (name, list) in [
        ("live run's writer, flush wait", &samples.flush),
        ("probe commit (BEGIN IMMEDIATE..COMMIT)", &samples.probe),
    ] {
        let quiet: Vec<Duration> = list.iter().filter(|s| !s.0).map(|s| s.1).collect();
        let busy: Vec<Duration> = list.iter().filter(|s| s.0).map(|s| s.1).collect();
        let (q50, q99, qmax) = spread(&quiet);
        let (b50, b99, bmax) = spread(&busy);
        println!("  {name}:");
        println!(
            "    without prune  n={:<5} median {q50:.1} ms, p99 {q99:.1} ms, max {qmax:.1} ms",
            quiet.len()
        );
        println!(
            "    during prune   n={:<5} median {b50:.1} ms, p99 {b99:.1} ms, max {bmax:.1} ms",
            busy.len()
        );
    }
    drop(journal);

    // The one-off conversion of an old journal.
    let old_path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&old_path).expect("old");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.execute_batch("CREATE TABLE t(x); DROP TABLE t;")
            .expect("old");
    }
    build(&old_path, runs / 2, runs / 2, hosts, chunks, chunk_bytes);
    let mut old = Journal::open(&old_path).expect("old journal");
    let convert = PruneOptions {
        convert: true,
        ..options
    };
    let report = old.prune(&policy, &convert, now_millis()).expect("convert");
    if let SpaceOutcome::Converted { took } = report.space {
        println!(
            "  conversion of an old journal: {:.1} MB -> {:.1} MB, VACUUM {:.2} s ({:.0} MB/s of what stays); the prune before it {:.2} s",
            mb(report.bytes_before),
            mb(report.bytes_after),
            took.as_secs_f64(),
            mb(report.bytes_after) / took.as_secs_f64(),
            report.elapsed.as_secs_f64() - took.as_secs_f64()
        );
    } else {
        println!("  conversion did not happen: {:?}", report.space);
    }
}
