//! The headless reporter against synthetic event sequences: exact plain
//! output, gather grouping at 1,000 hosts, JSON lines, control-sequence
//! stripping, the per-host cap and the summary line.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use jobdeck::engine::events::{
    Event, EventKind, HostStatus, InstanceStatus, StepOutcome, Stream, UnixMillis, WaitReason,
};
use jobdeck::report::{Clock, OutputMode, ReportOptions, Reporter, RunSummary};
use tokio::sync::mpsc;

/// A writer the test keeps a handle on.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("reporter writes UTF-8")
    }
}

/// 2024-01-01 10:00:00 UTC.
const T0: UnixMillis = 1_704_103_200_000;
const INSTANCE: i64 = 42;

/// Builds an event sequence with explicit times.
struct Script {
    events: Vec<Event>,
}

impl Script {
    fn new() -> Script {
        Script { events: Vec::new() }
    }

    fn at(&mut self, offset_ms: i64, kind: EventKind) -> &mut Self {
        self.events.push(Event {
            instance: INSTANCE,
            at: T0 + offset_ms,
            kind,
        });
        self
    }

    fn out(&mut self, ms: i64, host: usize, step: usize, stream: Stream, text: &[u8]) -> &mut Self {
        self.at(
            ms,
            EventKind::Output {
                host,
                step,
                stream,
                data: Bytes::copy_from_slice(text),
            },
        )
    }

    fn step(&mut self, ms: i64, host: usize, step: usize, outcome: StepOutcome) -> &mut Self {
        self.at(
            ms,
            EventKind::StepStarted {
                host,
                step,
                attempt: 1,
            },
        );
        self.at(
            ms + 1,
            EventKind::StepFinished {
                host,
                step,
                attempt: 1,
                outcome,
            },
        )
    }

    fn start(&mut self, ms: i64, host: usize, step: usize) -> &mut Self {
        self.at(
            ms,
            EventKind::StepStarted {
                host,
                step,
                attempt: 1,
            },
        )
    }

    fn end(&mut self, ms: i64, host: usize, step: usize, outcome: StepOutcome) -> &mut Self {
        self.at(
            ms,
            EventKind::StepFinished {
                host,
                step,
                attempt: 1,
                outcome,
            },
        )
    }

    fn host_done(&mut self, ms: i64, host: usize, status: HostStatus) -> &mut Self {
        self.at(ms, EventKind::HostFinished { host, status })
    }
}

fn ok() -> StepOutcome {
    StepOutcome {
        status: HostStatus::Ok,
        exit_code: Some(0),
        signal: None,
        error: None,
    }
}

fn failed(code: i32) -> StepOutcome {
    StepOutcome {
        status: HostStatus::Failed,
        exit_code: Some(code),
        signal: None,
        error: None,
    }
}

fn started(hosts: &[&str], steps: &[&str], batches: Vec<Vec<usize>>) -> EventKind {
    EventKind::InstanceStarted {
        flow: "deploy".into(),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        steps: steps.iter().map(|s| s.to_string()).collect(),
        batches,
    }
}

fn options(mode: OutputMode) -> ReportOptions {
    let mut options = ReportOptions::new(mode);
    options.clock = Clock::utc(|| T0);
    options
}

/// Runs the events through a reporter as the CLI would: over a channel.
fn report(events: Vec<Event>, options: ReportOptions) -> (String, RunSummary) {
    let buffer = Buffer::default();
    let reporter = Reporter::new(Box::new(buffer.clone()), options);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let summary = runtime.block_on(async move {
        let (tx, rx) = mpsc::channel(16);
        let feeder = tokio::spawn(async move {
            for event in events {
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        });
        let summary = reporter.consume(rx).await;
        feeder.await.unwrap();
        summary
    });
    (buffer.text(), summary)
}

/// Three hosts, two batches with a 2h interval between them, two steps;
/// one host fails with stderr, one is unreachable.
fn three_host_run() -> Vec<Event> {
    let mut s = Script::new();
    s.at(
        0,
        started(
            &["web01", "web02", "db01"],
            &["stop", "install"],
            vec![vec![0], vec![1, 2]],
        ),
    )
    .at(0, EventKind::BatchStarted { batch: 0 })
    .at(10, EventKind::HostConnecting { host: 0 })
    .start(20, 0, 0)
    .out(100, 0, 0, Stream::Stdout, b"stopping app\n")
    .end(200, 0, 0, ok())
    .start(210, 0, 1)
    .out(300, 0, 1, Stream::Stdout, b"installed 1.2.3\n")
    .out(310, 0, 1, Stream::Stderr, b"warning: cache cold\n")
    .end(1240, 0, 1, ok())
    .host_done(1250, 0, HostStatus::Ok)
    .at(
        1260,
        EventKind::BatchFinished {
            batch: 0,
            ok: 1,
            failed: 0,
        },
    )
    .at(
        1270,
        EventKind::Waiting {
            next_batch: 1,
            reason: WaitReason::Interval,
            until: Some(1270 + 7_200_000 + T0),
        },
    );
    let b = 7_201_270;
    s.at(b, EventKind::BatchStarted { batch: 1 })
        .at(b + 5, EventKind::HostConnecting { host: 1 })
        .at(b + 6, EventKind::HostConnecting { host: 2 })
        .step(b + 20, 1, 0, ok())
        .start(b + 30, 1, 1)
        .out(b + 40, 1, 1, Stream::Stdout, b"fetching")
        .out(
            b + 41,
            1,
            1,
            Stream::Stderr,
            b"E: package not found\nE: giving up\n",
        )
        .end(b + 500, 1, 1, failed(3))
        .host_done(b + 505, 1, HostStatus::Failed)
        .step(
            b + 3006,
            2,
            0,
            StepOutcome {
                status: HostStatus::Unreachable,
                exit_code: None,
                signal: None,
                error: Some("connection refused (127.0.0.9:22)".into()),
            },
        )
        .host_done(b + 3010, 2, HostStatus::Unreachable)
        .at(
            b + 3020,
            EventKind::BatchFinished {
                batch: 1,
                ok: 0,
                failed: 2,
            },
        )
        .at(
            b + 3030,
            EventKind::InstanceFinished {
                status: InstanceStatus::Failed,
                reason: Some("2 of 3 host(s) failed".into()),
            },
        );
    s.events.clone()
}

#[test]
fn plain_lines_for_a_two_batch_run() {
    let (text, summary) = report(three_host_run(), options(OutputMode::Lines));
    let expected = "\
== instance 42: deploy on 3 hosts, 2 batches, 2 steps
== batch 1/2: 1 host
[1] 10:00:01 [OK] web01 (1.24s)
-- step 1/2: stop
stopping app
-- step 2/2: install
installed 1.2.3
stderr: warning: cache cold
== batch 1/2 done: 1 ok, 0 failed in 1.3s
== waiting 2h until 12:00:01 before batch 2/2
== batch 2/2: 2 hosts
[2] 12:00:01 [FAILED] web02 (0.50s): exit 3 in step 2/2: install
-- step 1/2: stop
-- step 2/2: install [FAILED: exit 3]
fetching
stderr: E: package not found
stderr: E: giving up
[3] 12:00:04 [UNREACHABLE] db01 (3.00s): connection refused (127.0.0.9:22) in step 1/2: stop
-- step 1/2: stop [UNREACHABLE: connection refused (127.0.0.9:22)]
== batch 2/2 done: 0 ok, 2 failed in 3.0s
3 hosts: 1 ok, 1 failed, 1 unreachable in 2h4s — instance 42 failed: 2 of 3 host(s) failed
";
    assert_eq!(text, expected, "actual:\n{text}");
    assert_eq!(summary.count(HostStatus::Ok), 1);
    assert_eq!(summary.count(HostStatus::Failed), 1);
    assert_eq!(summary.count(HostStatus::Unreachable), 1);
    assert_eq!(summary.failed(), 2);
    assert_eq!(summary.status, InstanceStatus::Failed);
    assert_eq!(summary.exit_code(), jobdeck::exit::FAILED);
}

#[test]
fn gather_groups_a_thousand_hosts_into_three_blocks() {
    let names: Vec<String> = (1..=1000).map(|i| format!("web{i:04}")).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut s = Script::new();
    s.at(
        0,
        started(&name_refs, &["check"], vec![(0..1000).collect()]),
    )
    .at(0, EventKind::BatchStarted { batch: 0 });
    // Hosts finish in an interleaved order; three distinct results:
    // 1..=980 print "ok", 981..=995 print "disk full" and fail, 996..=1000
    // print "ok" but with a different exit code (so they differ too).
    for i in (0..1000).rev() {
        let ms = 10 + i as i64;
        s.start(ms, i, 0);
        let (text, outcome, status): (&[u8], StepOutcome, HostStatus) = if i < 980 {
            (b"ok\n", ok(), HostStatus::Ok)
        } else if i < 995 {
            (b"disk full\n", failed(1), HostStatus::Failed)
        } else {
            (b"ok\n", failed(2), HostStatus::Failed)
        };
        s.out(ms, i, 0, Stream::Stdout, text)
            .end(ms, i, 0, outcome)
            .host_done(ms, i, status);
    }
    s.at(
        2000,
        EventKind::BatchFinished {
            batch: 0,
            ok: 980,
            failed: 20,
        },
    )
    .at(
        2001,
        EventKind::InstanceFinished {
            status: InstanceStatus::Failed,
            reason: Some("20 of 1000 host(s) failed".into()),
        },
    );
    let (text, summary) = report(s.events.clone(), options(OutputMode::Gather));
    let expected = "\
== instance 42: deploy on 1000 hosts, 1 batch, 1 step
== batch 1/1: 1000 hosts
== batch 1/1 done: 980 ok, 20 failed in 2.0s
------------------------
web[0001-0980] (980): OK
------------------------
ok
-----------------------------------
web[0981-0995] (15): FAILED, exit 1
-----------------------------------
disk full
----------------------------------
web[0996-1000] (5): FAILED, exit 2
----------------------------------
ok
1000 hosts: 980 ok, 20 failed in 2.0s — instance 42 failed: 20 of 1000 host(s) failed
";
    assert_eq!(text, expected, "actual:\n{text}");
    assert_eq!(summary.count(HostStatus::Ok), 980);
    assert_eq!(summary.failed(), 20);
}

#[test]
fn gather_groups_by_complete_output_not_just_the_kept_part() {
    // Two hosts share head and tail of a large output but differ in the
    // middle, which the cap drops: they must still be two groups.
    let mut s = Script::new();
    s.at(
        0,
        started(&["a1", "a2", "a3"], &["run"], vec![vec![0, 1, 2]]),
    );
    for host in 0..3 {
        s.start(1, host, 0);
        let middle: &[u8] = if host == 2 {
            b"DIFFERENT"
        } else {
            b"same-same"
        };
        s.out(2, host, 0, Stream::Stdout, &[b'h'; 100])
            .out(3, host, 0, Stream::Stdout, middle)
            .out(4, host, 0, Stream::Stdout, &[b't'; 100])
            .end(5, host, 0, ok())
            .host_done(6, host, HostStatus::Ok);
    }
    s.at(
        7,
        EventKind::InstanceFinished {
            status: InstanceStatus::Ok,
            reason: None,
        },
    );
    let mut opts = options(OutputMode::Gather);
    opts.output_cap = 64;
    let (text, _) = report(s.events.clone(), opts);
    assert!(text.contains("a[1-2] (2): OK\n"), "{text}");
    assert!(text.contains("a3 (1): OK\n"), "{text}");
    assert!(
        !text.contains("same-same") && !text.contains("DIFFERENT"),
        "{text}"
    );
    assert_eq!(text.matches("cut here").count(), 2, "{text}");
}

#[test]
fn json_lines_parse_back_to_the_same_events() {
    let events = three_host_run();
    let (text, summary) = report(events.clone(), options(OutputMode::Json));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        events.len(),
        "one line per event, nothing else"
    );
    for (line, event) in lines.iter().zip(&events) {
        let back: Event = serde_json::from_str(line).expect("each line is one JSON event");
        assert_eq!(&back, event);
    }
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["event"], "instance_started");
    assert_eq!(first["instance"], 42);
    assert_eq!(summary.status, InstanceStatus::Failed);
    assert_eq!(summary.count(HostStatus::Unreachable), 1);
}

#[test]
fn json_output_of_invalid_utf8_is_lossy_text_and_exports_are_masked() {
    let mut s = Script::new();
    s.at(0, started(&["h1"], &["run"], vec![vec![0]]))
        .start(1, 0, 0)
        .out(2, 0, 0, Stream::Stdout, b"caf\xe9\n")
        .at(
            3,
            EventKind::Exported {
                host: 0,
                step: 0,
                name: "token".into(),
                value: "abc-hunter2-xyz".into(),
            },
        )
        .end(4, 0, 0, ok())
        .host_done(5, 0, HostStatus::Ok)
        .at(
            6,
            EventKind::InstanceFinished {
                status: InstanceStatus::Ok,
                reason: None,
            },
        );
    let mut opts = options(OutputMode::Json);
    opts.secrets = vec!["hunter2".into()];
    let (text, _) = report(s.events.clone(), opts);
    assert!(
        text.contains(r#""data":"caf\ufffd\n""#) || text.contains("\"data\":\"caf\u{fffd}\\n\""),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains(r#""value":"abc-***-xyz""#), "{text}");
}

#[test]
fn hostile_output_cannot_drive_the_terminal() {
    let mut s = Script::new();
    s.at(0, started(&["evil\x1b[2J"], &["run"], vec![vec![0]]))
        .start(1, 0, 0)
        .out(
            2,
            0,
            0,
            Stream::Stdout,
            b"\x1b]0;owned\x07\x1b[31mred\x1b[0m\x1b[2J\x1b[H bell\x07 \xff\n",
        )
        .out(3, 0, 0, Stream::Stderr, b"\x1b[1A\x1b[2Kfake\r\n\x1bc")
        .end(
            4,
            0,
            0,
            StepOutcome {
                status: HostStatus::Failed,
                exit_code: Some(1),
                signal: None,
                error: Some("bad\x1b[8m\nthing".into()),
            },
        )
        .host_done(5, 0, HostStatus::Failed)
        .at(
            6,
            EventKind::InstanceFinished {
                status: InstanceStatus::Failed,
                reason: None,
            },
        );
    let (text, _) = report(s.events.clone(), options(OutputMode::Lines));
    assert!(
        !text.contains('\x1b') && !text.contains('\x07') && !text.contains('\r'),
        "{text:?}"
    );
    assert!(
        text.contains("[1] 10:00:00 [FAILED] evil (0.00s): exit 1, bad thing\n"),
        "{text}"
    );
    assert!(
        text.contains("red bell^G \u{fffd}\nstderr: fake\n"),
        "{text:?}"
    );
}

#[test]
fn a_host_over_the_cap_keeps_head_and_tail() {
    let mut s = Script::new();
    s.at(0, started(&["big1"], &["dump"], vec![vec![0]]))
        .start(1, 0, 0);
    // 10,000 numbered lines of 10 bytes: "line 0000\n" ...
    for chunk in 0..100 {
        let text: String = (chunk * 100..chunk * 100 + 100)
            .map(|n| format!("line {n:04}\n"))
            .collect();
        s.out(2, 0, 0, Stream::Stdout, text.as_bytes());
    }
    s.end(3, 0, 0, ok()).host_done(4, 0, HostStatus::Ok).at(
        5,
        EventKind::InstanceFinished {
            status: InstanceStatus::Ok,
            reason: None,
        },
    );
    let mut opts = options(OutputMode::Lines);
    opts.output_cap = 1000; // 50 lines of head, 50 of tail
    let (text, _) = report(s.events.clone(), opts);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[2], "line 0000");
    assert_eq!(lines[51], "line 0049");
    assert_eq!(
        lines[52],
        "[... 96.7 KiB of output cut here; the journal has it: jobdeck show 42 --host big1 ...]"
    );
    assert_eq!(lines[53], "line 9950");
    assert_eq!(lines[102], "line 9999");
    assert_eq!(lines.len(), 104, "{text}");
}

#[test]
fn hosts_skipped_before_starting_are_listed_once_and_abort_exits_3() {
    let names: Vec<String> = (1..=6).map(|i| format!("app{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut s = Script::new();
    s.at(
        0,
        started(&refs, &["run"], vec![vec![0, 1], vec![2, 3, 4, 5]]),
    )
    .at(0, EventKind::BatchStarted { batch: 0 });
    for host in 0..2 {
        s.start(10, host, 0)
            .out(11, host, 0, Stream::Stderr, b"boom")
            .end(20, host, 0, failed(1))
            .host_done(30, host, HostStatus::Failed);
    }
    s.at(
        31,
        EventKind::BatchFinished {
            batch: 0,
            ok: 0,
            failed: 2,
        },
    );
    for host in 2..6 {
        s.host_done(40, host, HostStatus::Skipped);
    }
    let reason = "aborted: 2 of 6 host(s) failed, more than --max-fail 1 allows";
    s.at(
        50,
        EventKind::InstanceFinished {
            status: InstanceStatus::Aborted,
            reason: Some(reason.into()),
        },
    );
    let (text, summary) = report(s.events.clone(), options(OutputMode::Lines));
    assert!(
        text.contains("[2] 10:00:00 [FAILED] app2 (0.02s): exit 1\nstderr: boom\n"),
        "{text}"
    );
    assert!(
        text.contains("== not started (skipped): 4 hosts: app[3-6]\n"),
        "{text}"
    );
    assert!(!text.contains("[3]"), "skipped hosts get no block: {text}");
    assert!(text.ends_with(&format!(
        "6 hosts: 2 failed, 4 skipped in 0.1s — instance 42 aborted: {reason}\n"
    )));
    assert_eq!(summary.exit_code(), jobdeck::exit::ABORTED);
}

#[test]
fn a_stream_that_ends_early_is_an_interrupted_run() {
    let mut s = Script::new();
    s.at(0, started(&["h1", "h2"], &["run"], vec![vec![0, 1]]))
        .at(0, EventKind::BatchStarted { batch: 0 })
        .start(10, 0, 0)
        .out(20, 0, 0, Stream::Stdout, b"half way\n");
    let (text, summary) = report(s.events.clone(), options(OutputMode::Lines));
    assert!(
        text.contains("[1] 10:00:00 [INTERRUPTED] h1 (0.01s)\nhalf way\n"),
        "{text}"
    );
    assert!(text.ends_with(
        "2 hosts: 1 interrupted, 1 not run in 0.0s — instance 42 interrupted: \
         the event stream ended before the instance finished\n"
    ));
    assert_eq!(summary.exit_code(), jobdeck::exit::INTERRUPTED);
    assert_eq!(summary.not_finished, 1);
}

#[test]
fn a_clean_run_exits_0_and_a_closed_output_does_not_stop_consuming() {
    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut s = Script::new();
    s.at(0, started(&["h1"], &["run"], vec![vec![0]]))
        .step(1, 0, 0, ok())
        .host_done(2, 0, HostStatus::Ok)
        .at(
            3,
            EventKind::InstanceFinished {
                status: InstanceStatus::Ok,
                reason: None,
            },
        );
    let (_, summary) = report(s.events.clone(), options(OutputMode::Lines));
    assert_eq!(summary.exit_code(), jobdeck::exit::OK);

    let reporter = Reporter::new(Box::new(Closed), options(OutputMode::Lines));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let summary = runtime.block_on(async {
        // A channel smaller than the event count: the sender would hang if
        // the reporter stopped reading after the write error.
        let (tx, rx) = mpsc::channel(1);
        let events = s.events.clone();
        let feeder = tokio::spawn(async move {
            for event in events {
                tx.send(event).await.unwrap();
            }
        });
        let summary = reporter.consume(rx).await;
        feeder.await.unwrap();
        summary
    });
    assert!(summary.output_error.is_some());
    assert_eq!(summary.count(HostStatus::Ok), 1);
}

/// A live look at terminal mode (progress bars drawn on stdout), for a
/// person: `cargo test --test report live_terminal_demo -- --ignored --nocapture`
/// in a terminal. Takes about 8 seconds.
#[test]
#[ignore]
fn live_terminal_demo() {
    use jobdeck::engine::events::now_millis;
    use jobdeck::report::Progressbars;
    use std::time::Duration;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut options = ReportOptions::new(OutputMode::Lines);
        options.progress = Progressbars::Terminal;
        let reporter = Reporter::new(Box::new(std::io::stdout()), options);
        let (tx, rx) = mpsc::channel(16);
        let consumer = tokio::spawn(reporter.consume(rx));
        let send = |kind| {
            let tx = tx.clone();
            async move {
                tx.send(Event {
                    instance: 1,
                    at: now_millis(),
                    kind,
                })
                .await
                .unwrap()
            }
        };
        let names: Vec<String> = (1..=12).map(|i| format!("web{i:02}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        send(started(
            &refs,
            &["run"],
            vec![(0..6).collect(), (6..12).collect()],
        ))
        .await;
        for batch in 0..2 {
            if batch == 1 {
                let until = now_millis() + 3000;
                send(EventKind::Waiting {
                    next_batch: 1,
                    reason: WaitReason::Interval,
                    until: Some(until),
                })
                .await;
                tokio::time::sleep(Duration::from_millis(3000)).await;
            }
            send(EventKind::BatchStarted { batch }).await;
            for (host, name) in names.iter().enumerate().skip(batch * 6).take(6) {
                send(EventKind::StepStarted {
                    host,
                    step: 0,
                    attempt: 1,
                })
                .await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                let text = format!("hello from {name}\n");
                send(EventKind::Output {
                    host,
                    step: 0,
                    stream: Stream::Stdout,
                    data: Bytes::from(text),
                })
                .await;
                let outcome = if host == 4 { failed(2) } else { ok() };
                let status = outcome.status;
                send(EventKind::StepFinished {
                    host,
                    step: 0,
                    attempt: 1,
                    outcome,
                })
                .await;
                send(EventKind::HostFinished { host, status }).await;
            }
            send(EventKind::BatchFinished {
                batch,
                ok: 6,
                failed: 0,
            })
            .await;
        }
        send(EventKind::InstanceFinished {
            status: InstanceStatus::Failed,
            reason: Some("1 of 12 host(s) failed".into()),
        })
        .await;
        drop(tx);
        consumer.await.unwrap();
    });
}
