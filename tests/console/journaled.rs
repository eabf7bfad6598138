//! A finished run recorded through the journal's real writer, from
//! synthetic events: each host prints its lines in one step and ends ok.
#![allow(dead_code)]

use std::path::Path;

use bytes::Bytes;
use jobdeck::engine::events::{Event, EventKind, HostStatus, InstanceStatus, StepOutcome, Stream};
use jobdeck::journal::{Journal, JournalWriter, NewInstance, Trigger, WriterOptions};
use jobdeck::tui::run_store::RunStore;

/// Records the run in the journal at `path` (its events 10 ms apart from
/// `at`) and returns the store that took the same events, keeping
/// `buffer` bytes of each host's output.
pub fn journaled_run(
    path: &Path,
    flow: &str,
    step: &str,
    hosts: &[(&str, Vec<String>)],
    at: i64,
    buffer: usize,
) -> RunStore {
    let names: Vec<String> = hosts.iter().map(|(h, _)| h.to_string()).collect();
    let id = Journal::open(path)
        .unwrap()
        .create_instance(&NewInstance {
            flow: flow.into(),
            flow_snapshot: format!("name: {flow}\n"),
            hosts: names.clone(),
            trigger: Trigger::Cli,
            ..NewInstance::default()
        })
        .unwrap();
    let mut kinds = vec![
        EventKind::InstanceStarted {
            flow: flow.into(),
            hosts: names,
            steps: vec![step.into()],
            batches: vec![(0..hosts.len()).collect()],
        },
        EventKind::BatchStarted { batch: 0 },
    ];
    for (host, (_, lines)) in hosts.iter().enumerate() {
        kinds.push(EventKind::StepStarted {
            host,
            step: 0,
            attempt: 1,
        });
        kinds.extend(lines.iter().map(|line| EventKind::Output {
            host,
            step: 0,
            stream: Stream::Stdout,
            data: Bytes::from(format!("{line}\n").into_bytes()),
        }));
        kinds.push(EventKind::StepFinished {
            host,
            step: 0,
            attempt: 1,
            outcome: StepOutcome {
                status: HostStatus::Ok,
                exit_code: Some(0),
                signal: None,
                error: None,
            },
        });
        kinds.push(EventKind::HostFinished {
            host,
            status: HostStatus::Ok,
        });
    }
    kinds.push(EventKind::BatchFinished {
        batch: 0,
        ok: hosts.len(),
        failed: 0,
    });
    kinds.push(EventKind::InstanceFinished {
        status: InstanceStatus::Ok,
        reason: None,
    });
    let (sink, writer) = JournalWriter::spawn(path, WriterOptions::default()).unwrap();
    let mut store = RunStore::new(id, buffer);
    for (i, kind) in kinds.into_iter().enumerate() {
        let event = Event {
            instance: id,
            at: at + i as i64 * 10,
            kind,
        };
        store.absorb(&event);
        sink.blocking_send(event).unwrap();
    }
    drop(sink);
    writer.join().unwrap();
    store
}
