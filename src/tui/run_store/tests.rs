//! The store's tests: events in, what the console shows out.

use super::*;
use crate::engine::events::{StepOutcome, Stream};
use bytes::Bytes;
use host::MAX_LINE_BYTES;

fn ev(kind: EventKind) -> Event {
    Event {
        instance: 7,
        at: 1_000,
        kind,
    }
}

fn started(hosts: usize) -> Event {
    ev(EventKind::InstanceStarted {
        flow: "f".into(),
        hosts: (0..hosts).map(|h| format!("web{h:02}")).collect(),
        steps: vec!["one".into()],
        batches: vec![(0..hosts).collect()],
    })
}

fn out(host: usize, stream: Stream, text: &str) -> Event {
    ev(EventKind::Output {
        host,
        step: 0,
        stream,
        data: Bytes::copy_from_slice(text.as_bytes()),
    })
}

fn texts(store: &RunStore, host: usize) -> Vec<String> {
    store.hosts[host]
        .lines()
        .iter()
        .map(|l| l.text.to_string())
        .collect()
}

#[test]
fn chunks_become_lines_whatever_the_split() {
    let mut a = RunStore::default();
    a.absorb(&started(2));
    a.absorb(&out(0, Stream::Stdout, "hel"));
    a.absorb(&out(0, Stream::Stdout, "lo\nwor"));
    a.absorb(&out(0, Stream::Stderr, "oops\n"));
    a.absorb(&out(0, Stream::Stdout, "ld\n"));
    a.absorb(&out(1, Stream::Stdout, "hello\nworld\n"));
    a.absorb(&out(1, Stream::Stderr, "oops\n"));
    assert_eq!(texts(&a, 0), ["hello", "oops", "world"]);
    assert_eq!(a.hosts[0].lines()[1].kind, LineKind::Stderr);
    // Same lines in a different order are different output.
    assert_ne!(a.hosts[0].gather_key(), a.hosts[1].gather_key());
    let mut b = RunStore::default();
    b.absorb(&started(2));
    b.absorb(&out(0, Stream::Stdout, "hello\n"));
    b.absorb(&out(1, Stream::Stdout, "he"));
    b.absorb(&out(1, Stream::Stdout, "llo\n"));
    assert_eq!(b.hosts[0].gather_key(), b.hosts[1].gather_key());
}

#[test]
fn buffers_stay_bounded_and_count_what_they_drop() {
    let mut store = RunStore::new(1, 1024);
    store.absorb(&started(1));
    for i in 0..10_000 {
        store.absorb(&out(0, Stream::Stdout, &format!("line {i}\n")));
    }
    let host = &store.hosts[0];
    assert_eq!(host.total_lines(), 10_000);
    assert!(host.lines().len() < 100, "{}", host.lines().len());
    assert_eq!(host.lines().back().unwrap().text.as_ref(), "line 9999");
    assert_eq!(
        host.first_line() + host.lines().len() as u64,
        host.total_lines()
    );
    // An endless line is cut into pieces, not kept whole.
    store.absorb(&out(0, Stream::Stdout, &"x".repeat(10_000)));
    assert!(store.hosts[0].partial(Stream::Stdout).len() <= MAX_LINE_BYTES);
}

#[test]
fn gathering_folds_equal_hosts() {
    let mut store = RunStore::default();
    store.absorb(&started(1000));
    for h in 0..1000 {
        let text = if h % 100 == 7 { "disk full\n" } else { "ok\n" };
        store.absorb(&out(h, Stream::Stdout, text));
        let status = if h % 100 == 7 {
            HostStatus::Failed
        } else {
            HostStatus::Ok
        };
        store.absorb(&ev(EventKind::HostFinished { host: h, status }));
    }
    let blocks = store.gathered();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].hosts.len(), 990);
    assert_eq!(blocks[1].hosts.len(), 10);
    assert_eq!(blocks[1].status, HostStatus::Failed);
}

#[test]
fn control_sequences_are_cleaned() {
    let mut store = RunStore::default();
    store.absorb(&started(1));
    store.absorb(&out(0, Stream::Stdout, "\x1b[2Jred\x1b[31m!\x07\n"));
    // BEL shows as its control picture, which the view draws dim.
    assert_eq!(texts(&store, 0), ["red!\u{2407}"]);
}

#[test]
fn a_cut_off_stream_reads_as_interrupted() {
    let mut store = RunStore::default();
    store.absorb(&started(2));
    store.absorb(&ev(EventKind::StepStarted {
        host: 0,
        step: 0,
        attempt: 1,
    }));
    store.end_stream("detached");
    assert_eq!(store.status, InstanceStatus::Interrupted);
    assert_eq!(store.hosts[0].status, HostStatus::Interrupted);
    assert_eq!(store.hosts[1].status, HostStatus::Pending);
    // A finished run stays as it finished.
    let mut done = RunStore::default();
    done.absorb(&started(1));
    done.absorb(&ev(EventKind::InstanceFinished {
        status: InstanceStatus::Ok,
        reason: None,
    }));
    done.end_stream("gone");
    assert_eq!(done.status, InstanceStatus::Ok);
}

/// A host's events as the store sees them and as the journal gives
/// them back (attempts before their output, chunks in order).
fn host_history() -> (Vec<EventKind>, Vec<crate::journal::HostItem>) {
    use crate::journal::{Chunk, HostItem, StepResultRecord};
    let steps: Vec<String> = vec!["fetch".into(), "count".into()];
    let mut events = Vec::new();
    let mut items = vec![HostItem::Start {
        steps: steps.clone(),
        status: Some(HostStatus::Failed),
    }];
    let attempt = |events: &mut Vec<EventKind>,
                   items: &mut Vec<HostItem>,
                   step: usize,
                   n: u32,
                   chunks: Vec<(Stream, String)>,
                   outcome: StepOutcome| {
        events.push(EventKind::StepStarted {
            host: 0,
            step,
            attempt: n,
        });
        items.push(HostItem::Attempt(StepResultRecord {
            host: 0,
            step,
            attempt: n,
            status: outcome.status,
            exit_code: outcome.exit_code,
            signal: outcome.signal.clone(),
            started_at: Some(1),
            finished_at: Some(2),
            error: outcome.error.clone(),
        }));
        for (stream, text) in chunks {
            events.push(EventKind::Output {
                host: 0,
                step,
                stream,
                data: Bytes::from(text.clone().into_bytes()),
            });
            items.push(HostItem::Chunk(Chunk {
                host: 0,
                step,
                attempt: n,
                at: 1,
                stream,
                data: text.into_bytes(),
                marker: false,
            }));
        }
        events.push(EventKind::StepFinished {
            host: 0,
            step,
            attempt: n,
            outcome,
        });
    };
    let ok = StepOutcome {
        status: HostStatus::Ok,
        exit_code: Some(0),
        signal: None,
        error: None,
    };
    let failed = StepOutcome {
        status: HostStatus::Failed,
        exit_code: Some(3),
        signal: None,
        error: Some("exit\nstatus 3".into()),
    };
    // Lines split across chunks, stderr between, an unfinished last line.
    let mut chunks = Vec::new();
    for i in 0..300 {
        chunks.push((Stream::Stdout, format!("line {i}\nli")));
        chunks.push((Stream::Stdout, "ne-tail ".to_string()));
        if i % 7 == 0 {
            chunks.push((Stream::Stderr, format!("warn \x1b[31m{i}\n")));
        }
    }
    chunks.push((Stream::Stdout, "no newline".into()));
    attempt(
        &mut events,
        &mut items,
        0,
        1,
        chunks.clone(),
        failed.clone(),
    );
    attempt(&mut events, &mut items, 0, 2, vec![], failed.clone());
    chunks.push((Stream::Stdout, "x".repeat(9000)));
    attempt(&mut events, &mut items, 0, 3, chunks, ok);
    attempt(
        &mut events,
        &mut items,
        1,
        1,
        vec![(Stream::Stdout, "12\n".into())],
        failed,
    );
    events.push(EventKind::HostFinished {
        host: 0,
        status: HostStatus::Failed,
    });
    (events, items)
}

fn store_of(events: &[EventKind], limit: usize) -> RunStore {
    let mut store = RunStore::new(7, limit);
    store.absorb(&ev(EventKind::InstanceStarted {
        flow: "f".into(),
        hosts: vec!["web00".into()],
        steps: vec!["fetch".into(), "count".into()],
        batches: vec![vec![0]],
    }));
    for e in events {
        store.absorb(&ev(e.clone()));
    }
    store
}

fn replay(
    items: &[crate::journal::HostItem],
    keep: std::ops::Range<u64>,
    check: std::ops::Range<u64>,
) -> (Vec<OutputLine>, Vec<OutputLine>, u64) {
    let mut replay = LineReplay::new(keep, check);
    let mut stopped = false;
    for item in items {
        if !replay.item(item.clone()) {
            stopped = true;
            break;
        }
    }
    if !stopped {
        replay.end();
    }
    let made = replay.made();
    let (kept, checked) = replay.into_lines();
    (kept, checked, made)
}

#[test]
fn journal_lines_meet_the_buffer_without_a_seam() {
    let (events, items) = host_history();
    let whole = store_of(&events, usize::MAX);
    let all: Vec<OutputLine> = whole.hosts[0].lines().iter().cloned().collect();
    assert_eq!(whole.hosts[0].first_line(), 0);
    let small = store_of(&events, 1024);
    let host = &small.hosts[0];
    let first = host.first_line();
    assert!(first > 500, "the small buffer drops lines: {first}");
    // The replay makes exactly the lines the unbounded store kept.
    let (every, _, made) = replay(&items, 0..u64::MAX, 0..0);
    assert_eq!(made, all.len() as u64);
    assert_eq!(every, all);
    // A window just below the buffer, then the buffer: every line once.
    let check = first..first + 3;
    let (window, checked, _) = replay(&items, first - 50..first, check);
    assert_eq!(
        checked,
        host.lines().iter().take(3).cloned().collect::<Vec<_>>()
    );
    let mut joined = window;
    joined.extend(host.lines().iter().cloned());
    assert_eq!(joined, all[(first - 50) as usize..]);
    // The kinds and the cleaning are the store's.
    assert!(
        all.iter()
            .any(|l| l.kind == LineKind::Stderr && &*l.text == "warn 0")
    );
    assert!(
        all.iter()
            .any(|l| &*l.text == "── step 1/2: fetch (attempt 2)")
    );
    assert!(
        all.iter()
            .any(|l| &*l.text == "✘ failed, exit 3: exit status 3")
    );
    assert!(all.iter().any(|l| &*l.text == "line 0"));
    assert!(all.iter().any(|l| &*l.text == "line-tail line 1"));
}

#[test]
fn a_replay_stops_once_it_has_the_lines_asked_for() {
    let (_, items) = host_history();
    let (kept, checked, made) = replay(&items, 10..20, 30..31);
    assert_eq!(kept.len(), 10);
    assert_eq!(checked.len(), 1);
    assert_eq!(made, 31);
    // The first line of all is the first step's header.
    let (kept, _, _) = replay(&items, 0..1, 0..0);
    assert_eq!(&*kept[0].text, "── step 1/2: fetch");
}

#[test]
fn a_request_asks_only_for_dropped_lines() {
    let (events, _) = host_history();
    let store = store_of(&events, 1024);
    let first = store.hosts[0].first_line();
    let path = std::path::PathBuf::from("/nonexistent/journal.db");
    let request = OlderRequest::new(path.clone(), &store, 0, first - 10..first + 50, 1).unwrap();
    assert_eq!(request.lines, first - 10..first);
    assert_eq!(request.check_from, first);
    assert_eq!(request.check.len(), 3);
    assert!(OlderRequest::new(path.clone(), &store, 0, first..first + 5, 1).is_none());
    // A missing journal is reported, never created.
    let read = crate::tui::tasks::older_lines::read_older(request);
    assert!(read.result.unwrap_err().contains("no journal"));
    assert!(!path.exists());
}

#[test]
fn ten_thousand_hosts_stay_within_the_runs_output_budget() {
    let hosts = 10_000;
    let budget = OUTPUT_BUDGET_BYTES;
    let mut store = RunStore::default();
    store.absorb(&started(hosts));
    assert_eq!(store.host_limit(), budget / hosts);
    // 200 lines of 60 bytes each: more than a host's share (about 13 KiB).
    let pad = "x".repeat(45);
    for block in 0..20 {
        for h in 0..hosts {
            let chunk: String = (0..10)
                .map(|i| format!("line {:05} {pad}\n", block * 10 + i))
                .collect();
            store.absorb(&out(h, Stream::Stdout, &chunk));
        }
    }
    let charged: usize = store.hosts.iter().map(|h| h.buffered_bytes()).sum();
    assert!(charged <= budget, "{charged} bytes kept, budget {budget}");
    for host in &store.hosts {
        // Every host keeps its newest lines and counts the rest as dropped
        // (the journal gives them back).
        assert_eq!(host.total_lines(), 200);
        assert!(host.first_line() > 0, "{}", host.first_line());
        assert!(host.lines().len() > 100, "{}", host.lines().len());
        assert!(host.lines().back().unwrap().text.starts_with("line 00199"));
    }
}

#[test]
fn a_hosts_share_lies_between_the_floor_and_the_cap() {
    let cap = HOST_BUFFER_BYTES;
    assert_eq!(host_share(OUTPUT_BUDGET_BYTES, 10, cap), cap);
    assert_eq!(host_share(OUTPUT_BUDGET_BYTES, 0, cap), cap);
    assert_eq!(
        host_share(OUTPUT_BUDGET_BYTES, 10_000, cap),
        OUTPUT_BUDGET_BYTES / 10_000
    );
    assert_eq!(
        host_share(OUTPUT_BUDGET_BYTES, 1_000_000, cap),
        HOST_BUFFER_FLOOR
    );
    // A cap below the floor wins.
    assert_eq!(host_share(OUTPUT_BUDGET_BYTES, 1_000_000, 1024), 1024);
    // A smaller budget from the config file.
    let mut store = RunStore::default().with_budget(8 << 20);
    store.absorb(&started(1000));
    assert_eq!(store.host_limit(), (8 << 20) / 1000);
}
