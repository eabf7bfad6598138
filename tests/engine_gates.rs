//! The engine's gates and waits as the console will drive them: an
//! interactive run waiting for the guard's word, for its lock, for a host
//! slot; and the notifications a waiting run sends (needs_approval, paused,
//! guard) to an HTTP server on 127.0.0.1. Real journal, local hosts.

mod cli;
mod lab;

use std::sync::Arc;
use std::time::Duration;

use jobdeck::engine::events::{Event, EventKind, HostStatus, InstanceStatus};
use jobdeck::engine::gates::host_key;
use jobdeck::engine::{
    Action, Control, ControlHandle, Coordinator, EventSink, Gates, LockRequest, OnFailure, Plan,
    PlannedHost, PlannedStep, Policy, StartPoint, run,
};
use jobdeck::guard::{Action as RuleAction, HitRecord, Verdict};
use jobdeck::journal::{Journal, NewInstance};
use jobdeck::locks::JournalCoordinator;
use jobdeck::notify::{Notifier, NotifyContext, RunFacts, Target};
use jobdeck::rollout::BatchMode;
use jobdeck::transport::{Payload, Target as HostTarget, Transport, TransportOptions};
use lab::{Answer, HttpServer};
use tokio::sync::mpsc;

struct World {
    _dir: tempfile::TempDir,
    journal: std::path::PathBuf,
    instance: i64,
}

/// A real journal with one instance for the plan to be.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let instance = Journal::open(&journal)
        .unwrap()
        .create_instance(&NewInstance {
            flow: "gates".into(),
            flow_snapshot: "name: gates".into(),
            hosts: vec!["h0".into(), "h1".into()],
            ..Default::default()
        })
        .unwrap();
    World {
        _dir: dir,
        journal,
        instance,
    }
}

fn step(name: &str, command: &str) -> PlannedStep {
    PlannedStep {
        name: name.into(),
        action: Action::Run(Payload::Command(command.into())),
        env: Vec::new(),
        timeout: Some(Duration::from_secs(30)),
        retries: 0,
        retry_interval: Duration::ZERO,
        on_failure: OnFailure::Stop,
        run_as: None,
        applies_to: None,
        manners: Default::default(),
    }
}

fn plan(world: &World, batches: Vec<Vec<usize>>, steps: Vec<PlannedStep>, gates: Gates) -> Plan {
    let hosts = (0..2)
        .map(|i| PlannedHost {
            name: format!("h{i}"),
            target: HostTarget::local(format!("h{i}")),
            env: vec![("JOBDECK_HOST".into(), format!("h{i}"))],
        })
        .collect();
    Plan {
        instance: world.instance,
        flow: "gates".into(),
        hosts,
        batches,
        steps,
        rollback: Vec::new(),
        policy: Policy {
            interactive: true,
            ..Policy::default()
        },
        start: StartPoint::default(),
        secrets: Vec::new(),
        gates,
        sessions: Default::default(),
    }
}

/// A running instance: its events, its controls, an optional notifier.
struct Live {
    events: mpsc::UnboundedReceiver<Event>,
    controls: ControlHandle,
    task: tokio::task::JoinHandle<InstanceStatus>,
    notifier: Option<Notifier>,
}

impl Live {
    fn start(plan: Plan, notify: Option<(&World, Target)>) -> Live {
        Live::start_with(plan, notify, None)
    }

    /// Also records the run in the world's journal (a writer thread).
    fn start_journaled(plan: Plan, world: &World) -> Live {
        Live::start_with(plan, None, Some(&world.journal))
    }

    fn start_with(
        plan: Plan,
        notify: Option<(&World, Target)>,
        journal: Option<&std::path::Path>,
    ) -> Live {
        let mut sink = EventSink::new();
        let mut rx = sink.subscribe(256);
        if let Some(path) = journal {
            let (writer, _thread) = jobdeck::journal::JournalWriter::spawn(
                path,
                jobdeck::journal::WriterOptions::default(),
            )
            .unwrap();
            let mut to_journal = sink.subscribe(256);
            tokio::spawn(async move {
                while let Some(event) = to_journal.recv().await {
                    let _ = writer.send(event).await;
                    let _ = writer.flush().await;
                }
            });
        }
        let notifier = notify.and_then(|(world, target)| {
            let context = NotifyContext {
                facts: RunFacts {
                    instance: world.instance,
                    flow: "gates".into(),
                    trigger: "manual".into(),
                    user: "tester".into(),
                    controller: "ctl".into(),
                    show: format!("jobdeck show {}", world.instance),
                },
                targets: vec![target],
                secrets: Vec::new(),
                journal: world.journal.clone(),
            };
            Notifier::start(context, sink.subscribe(256))
        });
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let _ = tx.send(event);
            }
        });
        let (controls, control_rx) = ControlHandle::channel();
        let transport = Transport::new(TransportOptions {
            agent_socket: None,
            default_identity_files: Vec::new(),
            ..TransportOptions::default()
        });
        let task = tokio::spawn(run(plan, transport, sink, control_rx));
        Live {
            events,
            controls,
            task,
            notifier,
        }
    }

    async fn wait_for(&mut self, what: &str, pred: impl Fn(&EventKind) -> bool) -> EventKind {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(20), self.events.recv()).await;
            match next {
                Ok(Some(event)) if pred(&event.kind) => return event.kind,
                Ok(Some(_)) => {}
                other => panic!("no {what}: {other:?}"),
            }
        }
    }

    async fn end(self) -> InstanceStatus {
        let status = self.task.await.unwrap();
        if let Some(notifier) = self.notifier {
            notifier.finish().await;
        }
        status
    }
}

fn confirm_hit() -> HitRecord {
    HitRecord {
        rule: "shutdown".into(),
        action: RuleAction::Confirm,
        word: "shutdown".into(),
        location: "flows/x.yml:4".into(),
        step: Some(0),
        matched: "reboot".into(),
        message: None,
        outcome: None,
    }
}

fn webhook(server: &HttpServer, on: &str) -> Target {
    let mut target = Target::parse_cli(&format!("webhook={}", server.url("/hook"))).unwrap();
    target.events = jobdeck::notify::target::parse_events(on).unwrap();
    target
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interactive_run_waits_for_the_guard_word_and_tells_someone() {
    let world = world();
    let server = HttpServer::start(Answer::Status(200));
    let gates = Gates {
        guard: Verdict {
            hits: vec![confirm_hit()],
            blocked: None,
        },
        ..Gates::default()
    };
    let plan = plan(&world, vec![vec![0, 1]], vec![step("s", "true")], gates);
    let mut live = Live::start(plan, Some((&world, webhook(&server, "guard"))));
    let asked = live
        .wait_for("confirm needed", |k| {
            matches!(k, EventKind::GuardConfirmNeeded { .. })
        })
        .await;
    let EventKind::GuardConfirmNeeded { hits } = asked else {
        unreachable!()
    };
    assert_eq!(hits[0].word, "shutdown");
    // Someone is told while the run waits.
    let told = tokio::task::spawn_blocking(move || {
        let doc = server.wait_for(1)[0].json();
        (doc, server)
    })
    .await
    .unwrap();
    assert_eq!(told.0["event"], "guard");
    assert!(
        told.0["waiting"]
            .as_str()
            .unwrap()
            .contains("rule 'shutdown' (confirm)")
    );
    // A wrong word confirms nothing; the rule's word does.
    live.controls.send(Control::ConfirmGuard {
        word: "reboot".into(),
    });
    live.controls.send(Control::ConfirmGuard {
        word: "shutdown".into(),
    });
    let confirmed = live
        .wait_for("confirmed hit", |k| matches!(k, EventKind::GuardHit { .. }))
        .await;
    let EventKind::GuardHit { hit } = confirmed else {
        unreachable!()
    };
    assert_eq!(hit.outcome, Some(jobdeck::guard::Outcome::Confirmed));
    live.wait_for("start", |k| matches!(k, EventKind::InstanceStarted { .. }))
        .await;
    assert_eq!(live.end().await, InstanceStatus::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_an_approval_and_after_a_failure_notify() {
    let world = world();
    let server = HttpServer::start(Answer::Status(200));
    let approval = PlannedStep {
        action: Action::Approval {
            message: "check the dashboards".into(),
        },
        ..step("gate", "")
    };
    let fail_h0 = step("work", "[ \"$JOBDECK_HOST\" != h0 ]");
    let mut plan = plan(
        &world,
        vec![vec![0], vec![1]],
        vec![approval, fail_h0],
        Gates::default(),
    );
    plan.policy.mode = BatchMode::PauseOnFailure;
    let mut live = Live::start(
        plan,
        Some((&world, webhook(&server, "needs_approval,paused"))),
    );
    live.wait_for("approval", |k| {
        matches!(k, EventKind::ApprovalRequested { .. })
    })
    .await;
    live.controls.send(Control::Confirm);
    live.wait_for("pause", |k| matches!(k, EventKind::Paused))
        .await;
    live.controls.send(Control::Abort {
        reason: "test".into(),
    });
    assert_eq!(live.end().await, InstanceStatus::Aborted);
    let events: Vec<(String, String)> = server
        .wait_for(2)
        .iter()
        .map(|r| {
            let doc = r.json();
            (
                doc["event"].as_str().unwrap().to_owned(),
                doc["waiting"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            (
                "needs_approval".to_owned(),
                "approval at gate: check the dashboards".to_owned()
            ),
            (
                "paused".to_owned(),
                "paused after a failure, before batch 2".to_owned()
            )
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_waits_for_its_lock_then_takes_it_and_gives_it_back() {
    let world = world();
    let coordinator = JournalCoordinator::open(&world.journal).unwrap();
    assert_eq!(coordinator.try_lock("db", 999).unwrap(), None);
    let gates = Gates {
        lock: Some(LockRequest {
            name: "db".into(),
            wait: Duration::from_secs(30),
        }),
        coordinator: Some(coordinator.clone()),
        ..Gates::default()
    };
    let plan = plan(&world, vec![vec![0, 1]], vec![step("s", "true")], gates);
    let mut live = Live::start_journaled(plan, &world);
    let waiting = live
        .wait_for("lock wait", |k| matches!(k, EventKind::LockWaiting { .. }))
        .await;
    let EventKind::LockWaiting {
        name,
        holder,
        until,
    } = waiting
    else {
        unreachable!()
    };
    assert_eq!(name, "db");
    assert_eq!(holder.instance, Some(999));
    assert!(until.is_some());
    // The journal shows the run waiting for its lock (once the writer
    // has it).
    let mut status = None;
    for _ in 0..200 {
        let detail = Journal::open(&world.journal)
            .unwrap()
            .instance(world.instance)
            .unwrap()
            .unwrap();
        status = Some((detail.instance.status, detail.instance.wait_reason));
        if status.is_some_and(|(s, _)| s == InstanceStatus::Waiting) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        status,
        Some((
            InstanceStatus::Waiting,
            Some(jobdeck::engine::events::WaitReason::Lock)
        ))
    );
    coordinator.release_lock("db", 999);
    live.wait_for("lock taken", |k| {
        matches!(k, EventKind::LockAcquired { .. })
    })
    .await;
    assert_eq!(live.end().await, InstanceStatus::Ok);
    let conn = rusqlite::Connection::open(&world.journal).unwrap();
    assert_eq!(jobdeck::locks::lock_holder(&conn, "db").unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_waits_for_a_free_slot_on_its_host() {
    let world = world();
    let coordinator = JournalCoordinator::open(&world.journal).unwrap();
    let key = host_key(&HostTarget::local("h0"));
    let taken = coordinator.try_slot(&key, 1, 999).unwrap().unwrap();
    let gates = Gates {
        host_limit: Some(1),
        coordinator: Some(coordinator.clone() as Arc<dyn Coordinator>),
        ..Gates::default()
    };
    let plan = plan(&world, vec![vec![0]], vec![step("s", "true")], gates);
    let mut live = Live::start(plan, None);
    let waiting = live
        .wait_for("slot wait", |k| {
            matches!(k, EventKind::HostSlotWaiting { .. })
        })
        .await;
    let EventKind::HostSlotWaiting {
        host,
        step,
        limit,
        holders,
    } = waiting
    else {
        unreachable!()
    };
    assert_eq!((host, step, limit), (0, 0, 1));
    assert_eq!(holders[0].instance, Some(999));
    coordinator.release_slot(taken);
    let finished = live
        .wait_for("host done", |k| {
            matches!(k, EventKind::HostFinished { host: 0, .. })
        })
        .await;
    assert!(matches!(
        finished,
        EventKind::HostFinished {
            status: HostStatus::Ok,
            ..
        }
    ));
    assert_eq!(live.end().await, InstanceStatus::Ok);
}
