//! A step that prints far more than the journal keeps (`seq 1 1000000`,
//! 6.9 MB, on an `ansible_connection=local` host), end to end: the headless
//! run shows whole lines around its own cut and says the journal does not
//! have everything; the journal keeps the first and last 2 MiB with a
//! marker of exactly what it dropped; `show`, the console's replay and the
//! console's read-back of older lines all show the same head, marker and
//! tail.

use std::path::Path;

use jobdeck::engine::events::InstanceId;
use jobdeck::journal::Journal;
use jobdeck::tui::run_store;
use jobdeck::tui::tasks::{older_lines, replay};

mod support;

const LAST: u64 = 1_000_000;

fn jobdeck(dir: &Path, args: &[&str]) -> (i32, String, String) {
    support::jobdeck_on(dir, &dir.join("journal.db"), args)
}

/// The numbers on either side of the one marker line in `lines`, which
/// must all be whole numbers in order: (last before, first after).
fn around_the_marker<'a>(lines: impl Iterator<Item = &'a str>, marker: &str) -> (u64, u64) {
    let (mut before, mut after, mut seen) = (Vec::new(), Vec::new(), 0);
    for line in lines {
        if line.starts_with("[... ") {
            assert_eq!(line, marker);
            seen += 1;
            continue;
        }
        let n: u64 = line
            .parse()
            .unwrap_or_else(|_| panic!("not a whole line: {line:?}"));
        if seen == 0 { &mut before } else { &mut after }.push(n);
    }
    assert_eq!(seen, 1, "one marker");
    for (part, numbers) in [("head", &before), ("tail", &after)] {
        let gap = numbers.windows(2).find(|w| w[1] != w[0] + 1);
        assert_eq!(gap, None, "the {part} is not whole");
    }
    (*before.last().unwrap(), after[0])
}

/// Bytes of `seq` output for the numbers a..=b.
fn seq_bytes(a: u64, b: u64) -> u64 {
    (a..=b).map(|n| n.to_string().len() as u64 + 1).sum()
}

#[test]
fn the_head_and_the_tail_of_a_long_output_are_kept_and_shown_alike() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("inv.ini"),
        "[local]\nl1 ansible_connection=local\n",
    )
    .unwrap();
    let (code, stdout, stderr) = jobdeck(
        dir.path(),
        &["--run", "-c", &format!("seq 1 {LAST}"), "-i", "inv.ini"],
    );
    assert_eq!(code, 0, "{stderr}");

    // The headless block: its own (smaller) cut, on line boundaries, and
    // no claim that the journal has what it cut.
    let block: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.contains("[OK] l1"))
        .skip(1)
        .take_while(|l| !l.starts_with("== batch"))
        .collect();
    let cut_note = block
        .iter()
        .find(|l| l.starts_with("[... "))
        .expect("a cut note");
    assert!(
        cut_note
            .contains("the journal keeps the first 2 MiB and the last 2 MiB of a step's output"),
        "{cut_note}"
    );
    assert!(!cut_note.contains("the journal has it"), "{cut_note}");
    let (shown_head, shown_tail) = around_the_marker(block.iter().copied(), cut_note);
    assert_eq!(block.last().copied(), Some("1000000"), "the end is shown");
    assert!(shown_head > 1000 && shown_tail < LAST - 1000);

    // The journal: the first and last 2 MiB, whole lines, the exact count.
    let journal = Journal::open(dir.path().join("journal.db")).unwrap();
    let detail = journal.instance(1).unwrap().unwrap();
    let cut = &detail.truncations[0];
    let (code, show, stderr) = jobdeck(dir.path(), &["show", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let marker = cut.marker();
    let (head_last, tail_first) = around_the_marker(
        show.lines()
            .skip_while(|l| !l.starts_with("-- step 1/1"))
            .skip(1),
        &marker,
    );
    assert!(show.trim_end().ends_with("\n1000000"), "the end is kept");
    assert_eq!(cut.dropped_lines, Some(tail_first - head_last - 1));
    assert_eq!(cut.dropped_bytes, seq_bytes(head_last + 1, tail_first - 1));
    let mib2 = 2 * 1024 * 1024;
    let head_bytes = seq_bytes(1, head_last);
    let tail_bytes = seq_bytes(tail_first, LAST);
    assert!(head_bytes <= mib2 && head_bytes > mib2 - 8, "{head_bytes}");
    assert!(
        tail_bytes <= mib2 + 64 * 1024 && tail_bytes > mib2 - 64 * 1024,
        "{tail_bytes}"
    );
    assert_eq!(
        marker,
        format!(
            "[... {} bytes, {} lines not kept here: the journal keeps the first 2 MiB and the last 2 MiB of a step's output ...]",
            cut.dropped_bytes,
            tail_first - head_last - 1
        )
    );

    // The console's replay: the same marker between the same lines.
    let plan = replay::read_plan(&journal, 1).unwrap();
    let (store, _) = replay::build(&journal, &plan, i64::MAX).unwrap();
    let host = &store.hosts[0];
    assert!(
        host.first_line() > 0,
        "the store keeps only the end in memory"
    );
    let last: Vec<&str> = host.lines().iter().map(|l| &*l.text).collect();
    assert_eq!(last.last().copied(), Some("1000000"));
    // Scrolling back reads the older lines from the journal: the head's
    // end, the marker, the tail's start, numbered as the store numbers them.
    let (first, lines) = read_back(&store, dir.path(), 1, 0..host.first_line());
    assert_eq!(first, 0);
    let texts: Vec<&str> = lines.iter().map(|l| &*l.text).collect();
    let step_header = texts
        .iter()
        .take_while(|t| t.parse::<u64>().is_err())
        .count();
    let numbers = texts[step_header..]
        .iter()
        .copied()
        .filter(|t| !t.starts_with("[... "));
    let marker_rows: Vec<usize> = texts
        .iter()
        .enumerate()
        .filter(|(_, t)| **t == marker)
        .map(|(i, _)| i)
        .collect();
    assert!(
        !marker_rows.is_empty(),
        "the marker shows where lines were dropped"
    );
    let before = &texts[step_header..marker_rows[0]];
    assert_eq!(before.last().copied(), Some(head_last.to_string().as_str()));
    let after = &texts[marker_rows.last().unwrap() + 1..];
    assert_eq!(
        after.first().copied(),
        Some(tail_first.to_string().as_str())
    );
    assert!(numbers.clone().count() > 0);
    // The read-back meets the store's first buffered line without a seam.
    let next: u64 = last[0].parse().unwrap();
    assert_eq!(after.last().unwrap().parse::<u64>().unwrap() + 1, next);
}

fn read_back(
    store: &run_store::RunStore,
    dir: &Path,
    instance: InstanceId,
    lines: std::ops::Range<u64>,
) -> (u64, Vec<run_store::OutputLine>) {
    let request = run_store::OlderRequest::new(dir.join("journal.db"), store, 0, lines, 1).unwrap();
    assert_eq!(request.instance, instance);
    older_lines::read_older(request).result.unwrap()
}

/// A live run in the console: the store numbers every line it saw, the
/// journal dropped the middle. Reading back across the cut shows the
/// journal's head with the store's numbers, the marker on every line the
/// journal does not have, and the tail numbered as the store numbered it.
#[test]
fn the_live_console_reads_back_across_the_journal_cut() {
    use bytes::Bytes;
    use jobdeck::engine::events::{
        Event, EventKind, HostStatus, InstanceStatus, StepOutcome, Stream,
    };
    use jobdeck::journal::{JournalWriter, NewInstance, WriterOptions};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let mut journal = Journal::open(&path).unwrap();
    let id = journal
        .create_instance(&NewInstance {
            flow: "noisy".into(),
            hosts: vec!["h".into()],
            ..NewInstance::default()
        })
        .unwrap();
    let text: Vec<u8> = (1..=20_000u32)
        .flat_map(|n| format!("{n}\n").into_bytes())
        .collect();
    let mut kinds = vec![
        EventKind::InstanceStarted {
            flow: "noisy".into(),
            hosts: vec!["h".into()],
            steps: vec!["count".into()],
            batches: vec![vec![0]],
        },
        EventKind::StepStarted {
            host: 0,
            step: 0,
            attempt: 1,
        },
    ];
    for piece in text.chunks(999) {
        kinds.push(EventKind::Output {
            host: 0,
            step: 0,
            stream: Stream::Stdout,
            data: Bytes::copy_from_slice(piece),
        });
    }
    let ok = StepOutcome {
        status: HostStatus::Ok,
        exit_code: Some(0),
        signal: None,
        error: None,
    };
    kinds.push(EventKind::StepFinished {
        host: 0,
        step: 0,
        attempt: 1,
        outcome: ok,
    });
    kinds.push(EventKind::HostFinished {
        host: 0,
        status: HostStatus::Ok,
    });
    kinds.push(EventKind::InstanceFinished {
        status: InstanceStatus::Ok,
        reason: None,
    });
    let events: Vec<Event> = kinds
        .into_iter()
        .enumerate()
        .map(|(n, kind)| Event {
            instance: id,
            at: 1000 + n as i64,
            kind,
        })
        .collect();

    let options = WriterOptions {
        output_cap_bytes: 32 * 1024,
        ..WriterOptions::default()
    };
    let (sink, writer) = JournalWriter::spawn(&path, options).unwrap();
    let mut live = run_store::RunStore::new(id, 8 * 1024);
    let mut whole = run_store::RunStore::new(id, usize::MAX);
    for event in &events {
        sink.blocking_send(event.clone()).unwrap();
        live.absorb(event);
        whole.absorb(event);
    }
    drop(sink);
    writer.join().unwrap();
    let cut = journal.instance(id).unwrap().unwrap().truncations[0].clone();
    let marker = cut.marker();

    let all: Vec<String> = whole.hosts[0]
        .lines()
        .iter()
        .map(|l| l.text.to_string())
        .collect();
    let first = live.hosts[0].first_line();
    let (start, lines) = read_back(&live, dir.path(), id, 0..first);
    assert_eq!(start, 0);
    assert_eq!(lines.len() as u64, first);
    let mut in_gap = 0;
    for (n, line) in lines.iter().enumerate() {
        if *line.text == *marker {
            in_gap += 1;
        } else {
            assert_eq!(*line.text, *all[n], "line {n} is the store's line {n}");
        }
    }
    // The gap is exactly the lines the journal dropped.
    assert_eq!(Some(in_gap), cut.dropped_lines);
}
