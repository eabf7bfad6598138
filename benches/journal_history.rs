//! History on a journal of 100,000 runs: how long the first page takes,
//! unfiltered and under every filter shape (flow, status, date, and their
//! combinations, common and rare), through `Journal::list_instances` (the
//! query `jobdeck history` and the console's History view share) and
//! through the real `jobdeck history` process (start, open, recovery,
//! query, print). The goal is 100 ms for the first page either way.
//!
//! The journal is written the way runs write it (`create_instance` and the
//! journal writer, see tests/support/fill.rs): a year of runs, oldest
//! first, 30 flows of very different frequency, 1 to 1,000 hosts each (most
//! small), one output chunk per host, ~93% ok, ~5% failed, ~1% aborted,
//! ~1% interrupted. For comparison it also times the query as it was before
//! issue 15 (filters checked against the rows).
//!
//! `cargo bench --bench journal_history` (env: RUNS=100000, REPEAT=15,
//! JOURNAL=PATH to keep the journal and reuse it on the next run). The
//! figures are taken with the journal in the page cache (a second run).

#[path = "../tests/support/fill.rs"]
mod fill;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fill::{DAY_MS, Filler, Run};
use jobdeck::engine::events::{InstanceStatus, now_millis};
use jobdeck::journal::{InstanceFilter, Journal, Trigger};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift), so every build of the
/// journal is the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// 0..n
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const FLOWS: usize = 30;

fn flow_name(i: usize) -> String {
    format!("flow-{i:02}")
}

/// Flow `i` is picked with weight 1/(i+1): flow-00 is common (~25% of
/// runs), flow-29 rare (~0.8%).
fn pick_flow(rng: &mut Rng) -> usize {
    let weights: Vec<f64> = (0..FLOWS).map(|i| 1.0 / (i + 1) as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut x = (rng.below(1_000_000) as f64 / 1_000_000.0) * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    FLOWS - 1
}

fn build(path: &Path, runs: usize) {
    let started = Instant::now();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut filler = Filler::open(path);
    let year = 365 * DAY_MS;
    for i in 0..runs {
        let flow = pick_flow(&mut rng);
        let status = match rng.below(1000) {
            0..=929 => InstanceStatus::Ok,
            930..=979 => InstanceStatus::Failed,
            980..=989 => InstanceStatus::Aborted,
            _ => InstanceStatus::Interrupted,
        };
        let hosts = match rng.below(100) {
            0..=84 => 1 + rng.below(10),
            85..=98 => 10 + rng.below(90),
            _ => 500 + rng.below(501),
        } as usize;
        let trigger = match rng.below(10) {
            0..=6 => Trigger::Schedule(1 + flow as i64),
            7..=8 => Trigger::Cli,
            _ => Trigger::Manual,
        };
        // Oldest first, spread evenly over a year.
        let age = year - (i as i64) * year / runs as i64;
        let run = Run::new(&flow_name(flow), status, 0)
            .trigger(trigger)
            .output(hosts, 1, 60)
            .age_ms(age);
        filler.write(&run);
        if i % 10_000 == 9_999 {
            eprintln!(
                "  {} runs written ({:.0} s)",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    filler.finish();
    eprintln!(
        "built {runs} runs in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// The history query before issue 15: every filter checked on the rows.
const OLD_QUERY: &str =
    "SELECT i.id, i.flow, i.status, i.trigger, i.parent_id, i.os_user, i.created_at,
        i.started_at, i.finished_at, i.reason,
        (SELECT count(*) FROM hosts h WHERE h.instance_id = i.id),
        (SELECT count(*) FROM hosts h WHERE h.instance_id = i.id AND h.status = 'ok'),
        (SELECT count(*) FROM hosts h WHERE h.instance_id = i.id
             AND h.status IN (SELECT value FROM json_each(?5)))
 FROM instances i
 WHERE (?1 IS NULL OR i.flow = ?1)
   AND (?2 IS NULL OR i.status = ?2)
   AND (?3 IS NULL OR i.created_at >= ?3)
 ORDER BY i.id DESC
 LIMIT ?4";

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Case {
    name: &'static str,
    flow: Option<String>,
    status: Option<InstanceStatus>,
    /// Days back from now.
    since_days: Option<i64>,
}

fn main() {
    let runs = env_or("RUNS", 100_000);
    let repeat = env_or("REPEAT", 15);
    let keep = std::env::var_os("JOURNAL").map(PathBuf::from);
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = keep
        .clone()
        .unwrap_or_else(|| dir.path().join("journal.db"));
    if !path.exists() {
        eprintln!("building a journal of {runs} runs at {}", path.display());
        build(&path, runs);
    }
    let journal = Journal::open(&path).expect("the journal");
    let count: i64 = journal
        .connection()
        .query_row("SELECT count(*) FROM instances", [], |r| r.get(0))
        .expect("count");
    let hosts: i64 = journal
        .connection()
        .query_row("SELECT count(*) FROM hosts", [], |r| r.get(0))
        .expect("count");
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!(
        "journal_history: {count} runs, {hosts} hosts, {:.0} MB; first page = 20 runs; median of {repeat}, warm page cache",
        size as f64 / 1e6
    );

    let common = flow_name(0);
    let rare = flow_name(FLOWS - 1);
    let cases = [
        Case {
            name: "no filter",
            flow: None,
            status: None,
            since_days: None,
        },
        Case {
            name: "flow (common)",
            flow: Some(common.clone()),
            status: None,
            since_days: None,
        },
        Case {
            name: "flow (rare)",
            flow: Some(rare.clone()),
            status: None,
            since_days: None,
        },
        Case {
            name: "flow (no such)",
            flow: Some("no-such-flow".into()),
            status: None,
            since_days: None,
        },
        Case {
            name: "status failed",
            flow: None,
            status: Some(InstanceStatus::Failed),
            since_days: None,
        },
        Case {
            name: "status interrupted",
            flow: None,
            status: Some(InstanceStatus::Interrupted),
            since_days: None,
        },
        Case {
            name: "status running (none)",
            flow: None,
            status: Some(InstanceStatus::Running),
            since_days: None,
        },
        Case {
            name: "since 1 day",
            flow: None,
            status: None,
            since_days: Some(1),
        },
        Case {
            name: "since 30 days",
            flow: None,
            status: None,
            since_days: Some(30),
        },
        Case {
            name: "since 400 days",
            flow: None,
            status: None,
            since_days: Some(400),
        },
        Case {
            name: "since tomorrow (none)",
            flow: None,
            status: None,
            since_days: Some(-1),
        },
        Case {
            name: "flow + status",
            flow: Some(common.clone()),
            status: Some(InstanceStatus::Failed),
            since_days: None,
        },
        Case {
            name: "rare flow + aborted",
            flow: Some(rare.clone()),
            status: Some(InstanceStatus::Aborted),
            since_days: None,
        },
        Case {
            name: "flow + since 7 days",
            flow: Some(rare.clone()),
            status: None,
            since_days: Some(7),
        },
        Case {
            name: "status + since 30 days",
            flow: None,
            status: Some(InstanceStatus::Aborted),
            since_days: Some(30),
        },
        Case {
            name: "flow + status + since",
            flow: Some(common.clone()),
            status: Some(InstanceStatus::Failed),
            since_days: Some(30),
        },
    ];

    let open_times: Vec<Duration> = (0..repeat)
        .map(|_| {
            let t = Instant::now();
            let mut j = Journal::open(&path).expect("open");
            j.recover_interrupted().expect("recover");
            t.elapsed()
        })
        .collect();
    println!(
        "  open + recover_interrupted: {:.2} ms",
        ms(median(open_times))
    );
    println!(
        "  {:<24} {:>6} {:>10} {:>10} {:>12} {:>10}",
        "case", "rows", "query ms", "max ms", "CLI ms", "before ms"
    );
    let now = now_millis();
    let failures: Vec<&str> = jobdeck::engine::events::HostStatus::ALL
        .iter()
        .filter(|s| s.is_failure())
        .map(|s| s.as_str())
        .collect();
    let failures = serde_json::to_string(&failures).expect("json");
    let mut worst_query = Duration::ZERO;
    let mut worst_cli = Duration::ZERO;
    for case in &cases {
        let filter = InstanceFilter {
            flow: case.flow.clone(),
            status: case.status,
            since: case.since_days.map(|d| now - d * DAY_MS),
            limit: Some(20),
        };
        let mut rows = 0;
        let times: Vec<Duration> = (0..repeat)
            .map(|_| {
                let t = Instant::now();
                rows = journal.list_instances(&filter).expect("list").len();
                t.elapsed()
            })
            .collect();
        let max = *times.iter().max().unwrap();
        let query = median(times);
        worst_query = worst_query.max(query);

        let mut args = vec![
            "history".to_owned(),
            "--json".to_owned(),
            "--journal".to_owned(),
            path.display().to_string(),
        ];
        if let Some(flow) = &case.flow {
            args.extend(["--flow".to_owned(), flow.clone()]);
        }
        if let Some(status) = case.status {
            args.extend(["--status".to_owned(), status.as_str().to_owned()]);
        }
        if let Some(days) = case.since_days {
            let since = if days >= 0 {
                format!("{days}d")
            } else {
                "2999-01-01".to_owned()
            };
            args.extend(["--since".to_owned(), since]);
        }
        let cli = median(
            (0..repeat.min(7))
                .map(|_| {
                    let t = Instant::now();
                    let out = Command::new(env!("CARGO_BIN_EXE_jobdeck"))
                        .args(&args)
                        .output()
                        .expect("jobdeck history");
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    t.elapsed()
                })
                .collect(),
        );
        worst_cli = worst_cli.max(cli);

        // The old query, fewer times: it can take seconds.
        let old = median(
            (0..3)
                .map(|_| {
                    let t = Instant::now();
                    let mut stmt = journal.connection().prepare_cached(OLD_QUERY).expect("old");
                    let n = stmt
                        .query_map(
                            rusqlite::params![
                                filter.flow,
                                filter.status.map(|s| s.as_str()),
                                filter.since,
                                20,
                                failures
                            ],
                            |_| Ok(()),
                        )
                        .expect("old query")
                        .count();
                    assert_eq!(n, rows, "the old and new queries agree");
                    t.elapsed()
                })
                .collect(),
        );
        println!(
            "  {:<24} {:>6} {:>10.2} {:>10.2} {:>12.1} {:>10.1}",
            case.name,
            rows,
            ms(query),
            ms(max),
            ms(cli),
            ms(old)
        );
    }
    println!(
        "  worst median: query {:.2} ms, `jobdeck history` {:.1} ms (goal: 100 ms)",
        ms(worst_query),
        ms(worst_cli)
    );
}
