//! Searching the journal's output (the library API `jobdeck grep` and the
//! console use), against real journal files written by the real writer:
//! lines that reached the journal in pieces, context, filters and order;
//! that the index never finds less than reading every line (a property
//! test over random output and patterns); and a journal from before the
//! index: searchable at once, indexed once, stoppable and resumable.

mod search_support;

use jobdeck::{engine, journal};

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

use engine::events::{InstanceStatus, Stream};
use journal::search::{Pattern, SearchBlock, SearchQuery, SearchSummary};
use journal::{Journal, WriterOptions};
use proptest::prelude::*;
use search_support::{HostOutput, RunSpec, journal_before_the_index, write_run, write_run_with};

fn query(pattern: &str) -> SearchQuery {
    SearchQuery {
        pattern: Pattern::new(pattern, false, false).unwrap(),
        context: 0,
        flow: None,
        host: None,
        status: None,
        since: None,
        until: None,
    }
}

fn search(journal: &Journal, query: &SearchQuery) -> (Vec<SearchBlock>, SearchSummary) {
    let mut blocks = Vec::new();
    let summary = journal
        .search(query, |block| {
            blocks.push(block);
            ControlFlow::Continue(())
        })
        .unwrap();
    (blocks, summary)
}

/// `ID host step: line` for every match, as grep prints them.
fn matches(journal: &Journal, query: &SearchQuery) -> Vec<String> {
    search(journal, query)
        .0
        .iter()
        .flat_map(|b| {
            b.lines
                .iter()
                .filter(|l| l.is_match)
                .map(move |l| format!("{} {} {}: {}", b.instance, b.host_name, b.step_name, l.text))
        })
        .collect()
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    (dir, path)
}

fn out(step: usize, data: &str) -> (usize, Stream, Vec<u8>) {
    (step, Stream::Stdout, data.as_bytes().to_vec())
}

fn err(step: usize, data: &str) -> (usize, Stream, Vec<u8>) {
    (step, Stream::Stderr, data.as_bytes().to_vec())
}

#[test]
fn lines_that_arrived_in_pieces_are_found_whole() {
    let (_dir, path) = temp();
    write_run(
        &path,
        &RunSpec {
            flow: "deploy",
            status: InstanceStatus::Ok,
            steps: &["fetch"],
            hosts: vec![(
                "web1",
                vec![
                    out(0, "starting\ncurl: (7) conn"),
                    err(0, "warning: slow\n"),
                    out(0, "ection ref"),
                    out(0, "used by 127.0.0.1\nretrying\x1b[31m ERR"),
                    out(0, "OR\x1b[0m\r\ndone"),
                ],
            )],
        },
    );
    let journal = Journal::open(&path).unwrap();
    let rows: i64 = journal
        .connection()
        .query_row("SELECT count(*) FROM output", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 5, "each piece is a row of its own");
    assert_eq!(
        matches(&journal, &query("connection refused by")),
        ["1 web1 fetch: curl: (7) connection refused by 127.0.0.1"]
    );
    // Escape sequences are not part of the text; the last line has no newline.
    assert_eq!(
        matches(&journal, &query("ERROR")),
        ["1 web1 fetch: retrying ERROR"]
    );
    assert_eq!(matches(&journal, &query("done")), ["1 web1 fetch: done"]);
    let (blocks, summary) = search(&journal, &query("slow"));
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].stream, Stream::Stderr);
    assert!(
        summary.used_index && summary.candidate_rows == 1,
        "{summary:?}"
    );
}

#[test]
fn context_filters_and_order() {
    let (_dir, path) = temp();
    let lines = |host: &str| {
        vec![out(
            0,
            &format!("one\ntwo\nthree {host} failed\nfour\nfive\nsix\nseven failed\neight\n"),
        )]
    };
    let first = write_run(
        &path,
        &RunSpec {
            flow: "deploy",
            status: InstanceStatus::Failed,
            steps: &["install"],
            hosts: vec![("web1", lines("web1")), ("db1", lines("db1"))],
        },
    );
    let second = write_run(
        &path,
        &RunSpec {
            flow: "backup",
            status: InstanceStatus::Ok,
            steps: &["dump", "upload"],
            hosts: vec![("web1", vec![out(1, "upload failed once\n")])],
        },
    );
    let journal = Journal::open(&path).unwrap();
    // Newest run first; then host order, as the run had them.
    assert_eq!(
        matches(&journal, &query("failed")),
        [
            format!("{second} web1 upload: upload failed once"),
            format!("{first} web1 install: three web1 failed"),
            format!("{first} web1 install: seven failed"),
            format!("{first} db1 install: three db1 failed"),
            format!("{first} db1 install: seven failed"),
        ]
    );
    let mut q = query("failed");
    q.flow = Some("deploy".into());
    q.host = Some("d*".into());
    q.context = 2;
    let (blocks, _) = search(&journal, &q);
    let texts: Vec<Vec<(&str, bool)>> = blocks
        .iter()
        .map(|b| {
            b.lines
                .iter()
                .map(|l| (l.text.as_str(), l.is_match))
                .collect()
        })
        .collect();
    // Two lines of context each side; the groups touch, so they are one.
    assert_eq!(
        texts,
        [vec![
            ("one", false),
            ("two", false),
            ("three db1 failed", true),
            ("four", false),
            ("five", false),
            ("six", false),
            ("seven failed", true),
            ("eight", false),
        ]]
    );
    q.context = 1;
    assert_eq!(
        search(&journal, &q).0.len(),
        2,
        "apart with one line of context"
    );
    let mut q = query("failed");
    q.status = Some(InstanceStatus::Ok);
    assert_eq!(matches(&journal, &q).len(), 1);
    q.status = None;
    q.until = Some(0);
    assert!(
        matches(&journal, &q).is_empty(),
        "no run was created before 1970"
    );
    q.until = None;
    q.host = Some("nosuch".into());
    assert!(matches(&journal, &q).is_empty());
}

#[test]
fn a_caller_can_stop_early() {
    let (_dir, path) = temp();
    let many: HostOutput = (0..50)
        .map(|i| out(0, &format!("hit {i}\nmiss\n")))
        .collect();
    write_run(
        &path,
        &RunSpec {
            flow: "f",
            status: InstanceStatus::Ok,
            steps: &["s"],
            hosts: vec![("h1", many.clone()), ("h2", many)],
        },
    );
    let journal = Journal::open(&path).unwrap();
    let mut seen = 0;
    let summary = journal
        .search(&query("hit"), |_| {
            seen += 1;
            ControlFlow::Break(())
        })
        .unwrap();
    assert_eq!(seen, 1);
    assert!(summary.stopped);
}

/// Past the cap the journal keeps a head and a tail (`journal::output_cap`):
/// what was dropped is not found, what was kept is, and a line cut by the
/// drop is never joined to the tail's first into a line nobody printed.
#[test]
fn long_output_is_searched_as_kept_with_a_line_break_at_the_cut() {
    let options = WriterOptions {
        output_cap_bytes: 64,
        ..WriterOptions::default()
    };
    let hosts = vec![(
        "web1",
        vec![
            // Longer than the head (32 bytes): its start is kept.
            out(0, "alpha begins a line that goes on and on"),
            out(0, &format!("{}\n", "dropped ".repeat(20))),
            out(0, &"x".repeat(100)),
            out(0, " omega\n"),
        ],
    )];
    for flush_each in [false, true] {
        let (_dir, path) = temp();
        let run = RunSpec {
            flow: "long",
            status: InstanceStatus::Ok,
            steps: &["s"],
            hosts: hosts.clone(),
        };
        let id = write_run_with(&path, &run, options.clone(), flush_each);
        let journal = Journal::open(&path).unwrap();
        let dropped: i64 = journal
            .connection()
            .query_row(
                "SELECT dropped_bytes FROM truncations WHERE instance_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert!(dropped > 0, "the cap dropped the middle");
        assert_eq!(matches(&journal, &query("dropped")), Vec::<String>::new());
        let alpha = matches(&journal, &query("alpha"));
        let omega = matches(&journal, &query("omega"));
        assert_eq!(alpha.len(), 1, "{alpha:?}");
        assert_eq!(omega.len(), 1, "{omega:?}");
        assert!(
            !alpha[0].contains("omega") && !omega[0].contains("alpha"),
            "one line across the cut: {alpha:?} {omega:?}"
        );
        assert!(omega[0].ends_with("xxxx omega"), "{omega:?}");
    }
}

// ------------------------------------------------ index and full read agree

/// Forgets the index's progress so the next search reads every line.
fn read_everything(journal: &Journal) {
    journal
        .connection()
        .execute(
            "UPDATE output_words_backfill SET next_instance = (SELECT max(instance_id) FROM output), next_host = 0",
            [],
        )
        .unwrap();
}

fn index_done(journal: &Journal) {
    journal
        .connection()
        .execute("UPDATE output_words_backfill SET next_instance = NULL", [])
        .unwrap();
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "connection", "refused", "Error", "ERROR", "db", "timeout", "café", "Café", "x1", "42",
        ])
        .prop_map(str::to_owned),
        3 => prop::sample::select(vec![" ", " ", "_", "-", ":", "\n", "\r\n", "\t"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["\x1b[31m", "\x1b[0m", "\x1b]0;t\x07", "数据", "库", "\u{212A}"])
            .prop_map(str::to_owned),
    ]
}

/// A stream's tokens, its bytes, and where it is cut into rows.
fn stream_bytes() -> impl Strategy<Value = (Vec<String>, Vec<u8>, Vec<usize>)> {
    (
        prop::collection::vec(token(), 1..60),
        prop::collection::vec(0usize..400, 0..12),
    )
        .prop_map(|(tokens, cuts)| {
            let mut bytes: Vec<u8> = tokens.concat().into_bytes();
            // An invalid byte now and then.
            if bytes.len() > 7 && bytes.len().is_multiple_of(7) {
                bytes.insert(3, 0xff);
            }
            (tokens, bytes, cuts)
        })
}

/// A plain pattern cut from a stream's own text: `len` tokens from `start`,
/// if they hold no line end or escape sequence.
fn cut_from(tokens: &[String], start: usize, len: usize) -> Option<String> {
    let start = start % tokens.len();
    let text: String = tokens[start..(start + len).min(tokens.len())].concat();
    let clean = !text.is_empty()
        && !text.contains(['\n', '\r', '\x1b', '\u{7}'])
        && !text.trim().is_empty();
    clean.then_some(text)
}

fn pattern() -> impl Strategy<Value = (String, bool, bool)> {
    prop_oneof![
        (
            prop::sample::select(vec![
                "connection",
                "conn",
                "refused",
                "connection refused",
                "error",
                "Err",
                "db_e",
                "db",
                "café",
                "caf",
                "数据",
                "据库",
                "42",
                "x",
                "timeout:",
                "k",
            ]),
            any::<bool>()
        )
            .prop_map(|(p, i)| (p.to_owned(), false, i)),
        (
            prop::sample::select(vec![
                r"\berror\b",
                r"\bconn\w*",
                r"(refused|timeout)\b",
                r"^db",
                r"\d+$",
                r"café|x1",
                r"\bconnection refused\b",
            ]),
            any::<bool>()
        )
            .prop_map(|(p, i)| (p.to_owned(), true, i)),
    ]
}

fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        if p > start {
            pieces.push(bytes[start..p].to_vec());
            start = p;
        }
    }
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_index_never_finds_less_than_reading_every_line(
        streams in prop::collection::vec((stream_bytes(), any::<bool>()), 1..5),
        mut patterns in prop::collection::vec(pattern(), 1..4),
        cuts in prop::collection::vec((0usize..60, 1usize..8, any::<bool>()), 1..5),
        context in 0usize..3,
        cap in prop_oneof![3 => Just(None), 1 => (8u64..160).prop_map(Some)],
        flush_each in any::<bool>(),
    ) {
        for (start, len, ignore_case) in cuts {
            if let Some(text) = cut_from(&streams[0].0.0, start, len) {
                patterns.push((text, false, ignore_case));
            }
        }
        let (_dir, path) = temp();
        let hosts: Vec<(&str, HostOutput)> = streams
            .iter()
            .enumerate()
            .map(|(i, ((_, bytes, cuts), stderr))| {
                let stream = if *stderr { Stream::Stderr } else { Stream::Stdout };
                let name = ["h0", "h1", "h2", "h3", "h4"][i];
                (name, split(bytes, cuts).into_iter().map(|p| (0, stream, p)).collect())
            })
            .collect();
        // With a small cap the journal keeps a head and a sliding tail.
        let options = WriterOptions {
            output_cap_bytes: cap.unwrap_or(WriterOptions::default().output_cap_bytes),
            ..WriterOptions::default()
        };
        let run = RunSpec { flow: "f", status: InstanceStatus::Ok, steps: &["s"], hosts };
        write_run_with(&path, &run, options, flush_each);
        let journal = Journal::open(&path).unwrap();
        for (text, regex, ignore_case) in &patterns {
            let q = SearchQuery {
                pattern: Pattern::new(text, *regex, *ignore_case).unwrap(),
                context,
                ..query("x")
            };
            let (indexed, _) = search(&journal, &q);
            read_everything(&journal);
            let (read, summary) = search(&journal, &q);
            index_done(&journal);
            prop_assert!(summary.hosts_read_in_full > 0 || read.is_empty());
            prop_assert_eq!(indexed, read, "pattern {:?} regex {} -i {}", text, regex, ignore_case);
        }
    }
}

// ------------------------------------------------ journals from before the index

#[test]
fn earlier_output_is_searchable_at_once_and_indexed_once_stoppable_and_resumable() {
    let (_dir, path) = temp();
    journal_before_the_index(&path, 3, 4, 20);
    let journal = Journal::open(&path).unwrap();
    let progress = journal.search_index_progress().unwrap();
    assert_eq!(
        (
            progress.rows_total,
            progress.rows_done,
            progress.next_instance
        ),
        (240, 0, Some(3))
    );
    let expected: Vec<String> = (1..=3)
        .rev()
        .flat_map(|run| {
            (0..4).map(move |h| format!("{run} old{h} check: run {run} host {h}: disk nearly full"))
        })
        .collect();
    // Before the build: every line is read.
    let (_, summary) = search(&journal, &query("nearly full"));
    assert_eq!(summary.hosts_read_in_full, 12);
    assert_eq!(matches(&journal, &query("nearly full")), expected);

    // Stopped after the first commit: it says how far it got, and that stays.
    let mut calls = 0;
    let stopped = journal
        .build_search_index_in_steps(30, |_| {
            calls += 1;
            ControlFlow::Break(())
        })
        .unwrap();
    assert_eq!(calls, 1);
    assert!(!stopped.is_done());
    assert_eq!(
        stopped.next_instance,
        Some(3),
        "newest run first, a host at a time"
    );
    assert_eq!((stopped.rows_done, stopped.next_host), (40, 2));
    drop(journal);
    let journal = Journal::open(&path).unwrap();
    assert_eq!(journal.search_index_progress().unwrap(), stopped);
    let (_, summary) = search(&journal, &query("nearly full"));
    assert_eq!(
        summary.hosts_read_in_full, 10,
        "the two hosts indexed are no longer read whole"
    );
    assert_eq!(matches(&journal, &query("nearly full")), expected);

    // Picked up where it stopped, to the end.
    let done = journal
        .build_search_index_in_steps(30, |_| ControlFlow::Continue(()))
        .unwrap();
    assert!(done.is_done());
    assert_eq!(done.rows_done, 240);
    let (_, summary) = search(&journal, &query("nearly full"));
    assert_eq!(
        (summary.hosts_read_in_full, summary.candidate_rows),
        (0, 12)
    );
    assert_eq!(matches(&journal, &query("nearly full")), expected);
    let indexed: i64 = journal
        .connection()
        .query_row(
            "SELECT count(*) FROM output_words WHERE output_words MATCH 'good'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexed, 12, "a host's rows are indexed as one group");
}

#[test]
fn output_written_after_the_upgrade_is_indexed_by_the_writer() {
    let (_dir, path) = temp();
    journal_before_the_index(&path, 1, 1, 3);
    let new = write_run(
        &path,
        &RunSpec {
            flow: "new",
            status: InstanceStatus::Ok,
            steps: &["s"],
            hosts: vec![("web1", vec![out(0, "disk nearly full too\n")])],
        },
    );
    let journal = Journal::open(&path).unwrap();
    let progress = journal.search_index_progress().unwrap();
    assert_eq!(progress.next_instance, Some(1), "only the old run waits");
    let (_, summary) = search(&journal, &query("nearly"));
    assert_eq!((summary.hosts_read_in_full, summary.candidate_rows), (1, 1));
    assert_eq!(
        matches(&journal, &query("nearly")),
        [
            format!("{new} web1 s: disk nearly full too"),
            "1 old0 check: run 1 host 0: disk nearly full".to_owned()
        ]
    );
}

// ------------------------------------------------ the index follows the writer

/// A writer on a fresh journal with one run of one host and step started,
/// which indexes only at the end of the run (never on an idle pause), and
/// keeps `cap` bytes of output per step.
fn live_run(
    path: &std::path::Path,
    cap: u64,
) -> (journal::JournalSink, LiveWriter, engine::events::InstanceId) {
    use engine::events::EventKind;
    let mut journal = Journal::open(path).unwrap();
    let id = journal
        .create_instance(&journal::NewInstance {
            flow: "f".into(),
            flow_snapshot: "name: f\n".into(),
            hosts: vec!["h0".into()],
            trigger: journal::Trigger::Cli,
            ..journal::NewInstance::default()
        })
        .unwrap();
    let options = WriterOptions {
        index_when_idle: Duration::from_secs(3600),
        output_cap_bytes: cap,
        ..WriterOptions::default()
    };
    let (sink, handle) = journal::JournalWriter::spawn(path, options).unwrap();
    for kind in [
        EventKind::InstanceStarted {
            flow: "f".into(),
            hosts: vec!["h0".into()],
            steps: vec!["s".into()],
            batches: vec![vec![0]],
        },
        EventKind::StepStarted {
            host: 0,
            step: 0,
            attempt: 1,
        },
    ] {
        sink.blocking_send(engine::events::Event::now(id, kind))
            .unwrap();
    }
    (sink, handle, id)
}

type LiveWriter = std::thread::JoinHandle<journal::WriterStats>;

fn send_output(sink: &journal::JournalSink, id: engine::events::InstanceId, data: &str) {
    sink.blocking_send(engine::events::Event::now(
        id,
        engine::events::EventKind::Output {
            host: 0,
            step: 0,
            stream: Stream::Stdout,
            data: bytes::Bytes::copy_from_slice(data.as_bytes()),
        },
    ))
    .unwrap();
    sink.blocking_flush().unwrap();
}

fn finish_run(sink: journal::JournalSink, id: engine::events::InstanceId) {
    use engine::events::{EventKind, HostStatus};
    for kind in [
        EventKind::HostFinished {
            host: 0,
            status: HostStatus::Ok,
        },
        EventKind::InstanceFinished {
            status: InstanceStatus::Ok,
            reason: None,
        },
    ] {
        sink.blocking_send(engine::events::Event::now(id, kind))
            .unwrap();
    }
    sink.blocking_flush().unwrap();
}

fn index_hits(journal: &Journal, word: &str) -> i64 {
    journal
        .connection()
        .query_row(
            "SELECT count(*) FROM output_words WHERE output_words MATCH ?1",
            [word],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_search_while_a_run_is_live_finds_a_line_just_written_and_the_index_catches_up_after_it() {
    let (_dir, path) = temp();
    let (sink, writer, id) = live_run(&path, WriterOptions::default().output_cap_bytes);
    send_output(&sink, id, "deploy: needle7 written just now\n");
    let journal = Journal::open(&path).unwrap();
    // Stored, not indexed: the search reads the host's rows line by line.
    assert_eq!(journal.unindexed_output_rows().unwrap(), 1);
    assert_eq!(index_hits(&journal, "needle7"), 0);
    let (_, summary) = search(&journal, &query("needle7"));
    assert_eq!(summary.hosts_read_in_full, 1);
    let line = format!("{id} h0 s: deploy: needle7 written just now");
    assert_eq!(
        matches(&journal, &query("needle7")),
        std::slice::from_ref(&line)
    );

    // The run ends: the writer, still running, indexes what it stored.
    finish_run(sink.clone(), id);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while journal.unindexed_output_rows().unwrap() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the index never caught up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(index_hits(&journal, "needle7"), 1);
    let (_, summary) = search(&journal, &query("needle7"));
    assert_eq!((summary.hosts_read_in_full, summary.candidate_rows), (0, 1));
    assert_eq!(matches(&journal, &query("needle7")), [line]);
    drop(sink);
    let stats = writer.join().unwrap();
    assert_eq!(stats.rows_indexed, 1);
    assert!(stats.index_busy > Duration::ZERO);
}

#[test]
fn a_stream_whose_indexed_row_slid_away_is_indexed_from_the_line_it_is_in() {
    use journal::search::follow::{Follower, StepSize};
    let (_dir, path) = temp();
    // A cap of 40 bytes: a head of 20, and a tail of 20 that slides.
    let (sink, writer, id) = live_run(&path, 40);
    let journal = Journal::open(&path).unwrap();
    // The index follows from another connection, a step after each write.
    let mut follower = Follower::new();
    let mut follow = || {
        follower
            .step(
                journal.connection(),
                StepSize {
                    rows: 100,
                    time: Duration::from_secs(1),
                },
            )
            .unwrap();
    };
    send_output(&sink, id, "0123456789abcdefghi\n"); // the head
    send_output(&sink, id, "tail one refus"); // indexed mid-word...
    follow();
    // ...then slides away, and the rest of its line is dropped too.
    send_output(&sink, id, "ed\nconnection lost!!\n");
    follow();
    assert_eq!(journal.unindexed_output_rows().unwrap(), 0);
    let (_, summary) = search(&journal, &query("connection"));
    assert_eq!(summary.hosts_read_in_full, 0);
    assert_eq!(
        matches(&journal, &query("connection")),
        [format!("{id} h0 s: connection lost!!")]
    );
    finish_run(sink, id);
    writer.join().unwrap();
}

#[test]
fn after_a_run_each_streams_rows_are_one_entry_written_as_one_segment() {
    use engine::events::{Event, EventKind, HostStatus};
    let (_dir, path) = temp();
    let (hosts, lines) = (300, 20);
    let names: Vec<String> = (0..hosts).map(|h| format!("h{h}")).collect();
    let id = Journal::open(&path)
        .unwrap()
        .create_instance(&journal::NewInstance {
            flow: "f".into(),
            flow_snapshot: "name: f\n".into(),
            hosts: names.clone(),
            trigger: journal::Trigger::Cli,
            ..journal::NewInstance::default()
        })
        .unwrap();
    // Indexing only at the run's end, when no run is live.
    let options = WriterOptions {
        index_when_idle: Duration::from_secs(3600),
        ..WriterOptions::default()
    };
    let (sink, writer) = journal::JournalWriter::spawn(&path, options).unwrap();
    let send = |kind| sink.blocking_send(Event::now(id, kind)).unwrap();
    send(EventKind::InstanceStarted {
        flow: "f".into(),
        hosts: names,
        steps: vec!["s".into()],
        batches: vec![(0..hosts).collect()],
    });
    for host in 0..hosts {
        send(EventKind::StepStarted {
            host,
            step: 0,
            attempt: 1,
        });
    }
    // The hosts' lines interleave, as output of a live run does.
    for line in 0..lines {
        for host in 0..hosts {
            send(EventKind::Output {
                host,
                step: 0,
                stream: Stream::Stdout,
                data: bytes::Bytes::from(format!("host {host} line{line}\n")),
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
    drop(sink);
    let stats = writer.join().unwrap();
    assert_eq!(stats.rows_indexed, (hosts * lines) as u64);

    let journal = Journal::open(&path).unwrap();
    let count = |sql: &str| -> i64 {
        journal
            .connection()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    // One entry per stream (its 20 rows), not one per step of catching up.
    assert_eq!(
        count("SELECT count(*) FROM output_words_groups"),
        hosts as i64
    );
    // Entries written in row id order: FTS5 wrote one segment, not one
    // for each entry out of order.
    assert_eq!(
        count("SELECT count(DISTINCT segid) FROM output_words_idx"),
        1
    );
    assert_eq!(index_hits(&journal, "line7"), hosts as i64);
    assert_eq!(
        matches(&journal, &query("host 299 line19")),
        [format!("{id} h299 s: host 299 line19")]
    );
}
