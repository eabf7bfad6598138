//! Journal search at scale: writes at least 1 GB of log-like output through
//! the journal writer (which indexes it at each run's end), then times word queries
//! against the file, and weighs the index against the rest of the journal.
//! Prints ingest speed, sizes (from SQLite's dbstat) and the median, min and
//! max of each query over repeated runs.
//!
//! `cargo bench --bench journal_search` (env: TARGET_MB, RUNS, HOSTS,
//! CHUNK_BYTES, REPEAT, BENCH_DIR: where the journal goes, default a temp dir).

use jobdeck::{engine, journal};

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use bytes::Bytes;
use engine::events::{Event, EventKind, HostStatus, InstanceStatus, Stream};
use journal::search::{Pattern, SearchQuery};
use journal::{Journal, JournalWriter, NewInstance, Trigger, WriterOptions};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: fast, deterministic, good enough for fake logs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const COMPONENTS: &[&str] = &[
    "nginx",
    "app",
    "worker",
    "db",
    "cache",
    "scheduler",
    "auth",
    "billing",
];
const USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

/// One log line. Rare lines: 1 in 2,000 says "connection refused", 1 in
/// 50,000 has the word "oomkiller".
fn log_line(rng: &mut Rng, seq: u64, out: &mut String) {
    use std::fmt::Write;
    let ms = 1_777_600_000_000u64 + seq * 37;
    let (s, frac) = (ms / 1000, ms % 1000);
    let _ = write!(
        out,
        "2026-05-01T{:02}:{:02}:{:02}.{frac:03}Z ",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60
    );
    let level = match rng.below(100) {
        0..=79 => "INFO ",
        80..=91 => "WARN ",
        92..=96 => "ERROR",
        _ => "DEBUG",
    };
    let _ = write!(out, "{level} [{}-{}] ", rng.pick(COMPONENTS), rng.below(16));
    match rng.below(50_000) {
        0 => {
            let _ = write!(
                out,
                "kernel: oomkiller invoked for pid {}",
                rng.below(65_536)
            );
        }
        1..=25 => {
            let _ = write!(
                out,
                "upstream error: connection refused by 127.0.{}.{}:5432",
                rng.below(256),
                rng.below(256)
            );
        }
        _ => match rng.below(6) {
            0 => {
                let _ = write!(
                    out,
                    "GET /api/v1/orders/{} 200 {}ms req={:08x} user={}",
                    rng.below(1_000_000),
                    rng.below(900),
                    rng.next() as u32,
                    rng.pick(USERS)
                );
            }
            1 => {
                let _ = write!(
                    out,
                    "connected to 127.0.{}.{}:{} in {}ms",
                    rng.below(256),
                    rng.below(256),
                    1024 + rng.below(60_000),
                    rng.below(300)
                );
            }
            2 => {
                let _ = write!(
                    out,
                    "cache miss key=user:{} ttl={}s",
                    rng.below(100_000),
                    rng.below(3600)
                );
            }
            3 => {
                let n = rng.below(500);
                let _ = write!(
                    out,
                    "processed batch {n} of 500 ({} items)",
                    rng.below(10_000)
                );
            }
            4 => {
                let _ = write!(
                    out,
                    "retrying upstream 127.0.{}.{} after {}ms (attempt {})",
                    rng.below(256),
                    rng.below(256),
                    rng.below(5000),
                    1 + rng.below(5)
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "checksum {:016x}{:016x} verified for /var/lib/app/data/{:08x}.bin",
                    rng.next(),
                    rng.next(),
                    rng.next() as u32
                );
            }
        },
    }
    out.push('\n');
}

fn main() {
    let target_mb = env_or("TARGET_MB", 1100);
    let runs = env_or("RUNS", 20);
    let hosts = env_or("HOSTS", 100);
    let chunk_bytes = env_or("CHUNK_BYTES", 4096);
    let repeat = env_or("REPEAT", 15);
    let per_host = target_mb * 1_000_000 / (runs * hosts);

    let dir = match std::env::var_os("BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .expect("a temp dir");
    let path = dir.path().join("journal.db");
    let mut journal = Journal::open(&path).expect("the journal opens");
    let names: Vec<String> = (0..hosts).map(|i| format!("host{i:04}.example")).collect();

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut seq = 0u64;
    let mut payload = 0u64;
    let mut writer_busy = Duration::ZERO;
    let mut index_busy = Duration::ZERO;
    let started = Instant::now();
    for run in 0..runs {
        let id = journal
            .create_instance(&NewInstance {
                flow: format!("service-{}", run % 4),
                flow_snapshot: "name: bench\n".into(),
                hosts: names.clone(),
                trigger: Trigger::Cli,
                ..NewInstance::default()
            })
            .expect("an instance");
        let (sink, handle) = JournalWriter::spawn(&path, WriterOptions::default()).expect("writer");
        let send = |kind| sink.blocking_send(Event::now(id, kind)).expect("send");
        send(EventKind::InstanceStarted {
            flow: "bench".into(),
            hosts: names.clone(),
            steps: vec!["serve".into()],
            batches: vec![(0..hosts).collect()],
        });
        // Hosts print at once, as in a real run: chunks go round the hosts.
        let mut written = vec![0usize; hosts];
        let mut lines = vec![String::new(); hosts];
        for host in 0..hosts {
            send(EventKind::StepStarted {
                host,
                step: 0,
                attempt: 1,
            });
        }
        let mut active = hosts;
        while active > 0 {
            active = 0;
            for host in 0..hosts {
                if written[host] >= per_host {
                    continue;
                }
                active += 1;
                let chunk = &mut lines[host];
                chunk.clear();
                while chunk.len() < chunk_bytes {
                    log_line(&mut rng, seq, chunk);
                    seq += 1;
                }
                written[host] += chunk.len();
                payload += chunk.len() as u64;
                let stream = if rng.below(10) == 0 {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                };
                send(EventKind::Output {
                    host,
                    step: 0,
                    stream,
                    data: Bytes::copy_from_slice(chunk.as_bytes()),
                });
            }
        }
        for host in 0..hosts {
            send(EventKind::HostFinished {
                host,
                status: HostStatus::Ok,
            });
        }
        send(EventKind::InstanceFinished {
            status: InstanceStatus::Ok,
            reason: None,
        });
        sink.blocking_flush().expect("flush");
        drop(sink);
        let stats = handle.join().expect("the writer");
        assert_eq!(stats.errors, 0, "{:?}", stats.last_problem);
        writer_busy += stats.busy;
        index_busy += stats.index_busy;
        eprint!("\r  wrote run {}/{runs}", run + 1);
    }
    eprintln!();
    let elapsed = started.elapsed().as_secs_f64();
    journal
        .connection()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .expect("checkpoint");

    let sizes: Vec<(String, i64)> = journal
        .connection()
        .prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
        .expect("dbstat")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("dbstat")
        .collect::<Result<_, _>>()
        .expect("dbstat");
    let index: i64 = sizes
        .iter()
        .filter(|(n, _)| n.starts_with("output_words"))
        .map(|(_, s)| s)
        .sum();
    let rest: i64 = sizes
        .iter()
        .filter(|(n, _)| !n.starts_with("output_words"))
        .map(|(_, s)| s)
        .sum();
    let file = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    println!(
        "journal_search: {runs} runs x {hosts} hosts, {:.0} MB of output in {chunk_bytes} B chunks, {seq} lines",
        payload as f64 / 1e6
    );
    println!(
        "  ingest            {elapsed:.1} s, {:.1} MB/s ({:.1} s writer busy, then {:.1} s indexing)",
        payload as f64 / 1e6 / elapsed,
        writer_busy.as_secs_f64(),
        index_busy.as_secs_f64()
    );
    println!("  journal file      {:.1} MB", file as f64 / 1e6);
    println!(
        "  index             {:.1} MB = {:.1}% of the rest of the journal ({:.1} MB)",
        index as f64 / 1e6,
        100.0 * index as f64 / rest as f64,
        rest as f64 / 1e6
    );
    for (name, size) in sizes.iter().take(8) {
        println!("    {name:<24} {:.1} MB", *size as f64 / 1e6);
    }

    drop(journal);
    let journal = Journal::open(&path).expect("the journal opens");
    let queries: &[(&str, bool, usize)] = &[
        ("oomkiller", false, 0),
        ("connection refused", false, 0),
        ("Connection Refused", false, 2),
        (r"\boomkiller invoked for pid \d+", true, 0),
    ];
    for &(text, regex, context) in queries {
        let query = SearchQuery {
            pattern: Pattern::new(text, regex, text.chars().any(char::is_uppercase))
                .expect("a pattern"),
            context,
            flow: None,
            host: None,
            status: None,
            since: None,
            until: None,
        };
        let mut times = Vec::new();
        let mut matches = 0;
        for _ in 0..repeat {
            let t = Instant::now();
            matches = journal
                .search(&query, |_| ControlFlow::Continue(()))
                .expect("search")
                .matches;
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "  query {:<42} {matches:>6} matches: median {:>7.1} ms (min {:.1}, max {:.1}; {repeat} runs)",
            format!(
                "{text:?}{}{}",
                if regex { " -E" } else { "" },
                if context > 0 {
                    format!(" -C {context}")
                } else {
                    String::new()
                }
            ),
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
    }
    // The first page of a common word, as the console asks for it.
    let query = SearchQuery {
        pattern: Pattern::new("checksum", false, false).expect("a pattern"),
        context: 0,
        flow: None,
        host: None,
        status: None,
        since: None,
        until: None,
    };
    let mut times = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        let mut lines = 0;
        journal
            .search(&query, |block| {
                lines += block.lines.len();
                if lines >= 100 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .expect("search");
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "  query \"checksum\", first 100 lines           median {:>7.1} ms (min {:.1}, max {:.1})",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
