//! Running a plan from the console: the same engine and journal as the
//! headless run, with the console's store as one more consumer.
//!
//! Nothing here runs on the UI task. `launch` prepares the instance (SQLite,
//! ssh_config) on a blocking thread — a new run, a rerun of a past run's
//! failed hosts or a resume of an interrupted one, as `crate::plan` prepares
//! them for the command line — starts the journal writer, the engine
//! and the two event consumers on the runtime, hands the UI a `RunHandle`,
//! and reports when everything — the journal and the notifications
//! included — is done.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use crate::engine::events::{Event, InstanceId, InstanceStatus};
use crate::engine::{self, Control, ControlHandle, EventSink};
use crate::inventory::Inventory;
use crate::journal::{JournalWriter, Trigger, WriterOptions};
use crate::notify::{Notifier, NotifyContext, Sent};
use crate::plan::{
    AgainOptions, AgainRequest, MissingSecrets, PreparedPlan, Rerun, RerunHosts, Resume, RunSpec,
    prepare_instance,
};
use crate::preflight::WarmPool;
use crate::safety::SafetyOptions;
use crate::transport::{PassphrasePrompt, Transport, TransportOptions};
use crate::tui::run_store::{RunStore, SharedRunStore, StoreCell};
use crate::tui::tasks::preflight::Checked;

/// Events absorbed under one lock: bounds how long the UI may wait to draw
/// (64 chunks of output take well under a millisecond).
const ABSORB_BATCH: usize = 64;

/// Why a run that stopped without finishing is interrupted.
pub fn detach_reason(id: InstanceId) -> String {
    format!("detached from the console; `jobdeck resume {id}` continues it")
}

/// The UI's end of a live run. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RunHandle {
    pub instance: InstanceId,
    pub store: SharedRunStore,
    /// What building the plan warned about (ssh_config, host keys), for
    /// the status line: the console must not print them over its screen.
    pub warnings: Vec<String>,
    /// What else the status line says at the start (a resumed run's interval).
    pub note: Option<String>,
    controls: ControlHandle,
    engine: AbortHandle,
    /// Cancelled once the engine has stopped and the journal has everything.
    ended: CancellationToken,
}

impl RunHandle {
    pub fn send(&self, control: Control) -> bool {
        self.controls.send(control)
    }

    /// Stops the engine where it stands. The journal records the instance
    /// as interrupted (resumable); running commands are stopped as their
    /// connections close.
    pub fn detach(&self) {
        self.engine.abort();
    }

    pub fn has_ended(&self) -> bool {
        self.ended.is_cancelled()
    }

    /// Waits until the engine has stopped and the journal is written.
    pub async fn wait_ended(&self) {
        self.ended.cancelled().await;
    }
}

/// What the UI hears about a run it asked for.
#[derive(Debug)]
pub enum RunReport {
    Started(RunHandle),
    /// Preparing failed: nothing ran (a bad host, step or journal).
    /// `store` is the one the run was given.
    Failed {
        store: SharedRunStore,
        error: String,
    },
    /// A rerun or resume with nothing to do, or refused before anything
    /// was recorded or claimed: nothing ran, and the run's entry goes.
    NothingRan {
        store: SharedRunStore,
        reason: String,
    },
    /// A rerun or resume that needs secret params (`names`, never stored)
    /// given before anything is recorded or claimed: the run's entry goes,
    /// the console asks for them and launches it again with them.
    NeedsSecrets {
        store: SharedRunStore,
        kind: AgainKind,
        id: InstanceId,
        names: Vec<String>,
    },
    Ended {
        instance: InstanceId,
        status: InstanceStatus,
        /// A journal problem or an undelivered notification worth showing.
        problem: Option<String>,
    },
}

/// What a console run prepares.
pub enum Launch {
    /// A new run of a spec (the Planner, the command box).
    Fresh(Box<RunSpec>),
    /// A past run run again (History's and the Run view's `R`, `u`), with
    /// the secret params given for it (none at first).
    Again(AgainKind, InstanceId, SecretValues),
}

/// Secret param values given for a rerun or resume, as `--param` gives
/// them: held in memory only, never printed, wiped when dropped.
#[derive(Default)]
pub struct SecretValues(Vec<(String, String)>);

impl SecretValues {
    /// Takes `value` for param `name` (the string itself moves in: no copy).
    pub fn push(&mut self, name: String, value: String) {
        self.0.push((name, value));
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|(name, _)| name.as_str()).collect();
        write!(f, "SecretValues({names:?})")
    }
}

impl Drop for SecretValues {
    fn drop(&mut self) {
        for (_, value) in &mut self.0 {
            zeroize::Zeroize::zeroize(value);
        }
    }
}

/// Which way a past run runs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgainKind {
    /// Its failed hosts, as a new run linked to it (`jobdeck rerun ID --failed`).
    Rerun,
    /// An interrupted run continued under its own id (`jobdeck resume ID`).
    Resume,
}

impl AgainKind {
    pub fn word(self) -> &'static str {
        match self {
            AgainKind::Rerun => "rerun",
            AgainKind::Resume => "resume",
        }
    }
}

/// Why a launch did not start a run.
enum NotStarted {
    /// Something failed once the run was prepared (shown as a failed run).
    Failed(String),
    /// Nothing was recorded or claimed (the entry leaves the list).
    NothingRan(String),
    /// Nothing was recorded or claimed: secret params to ask for first.
    NeedsSecrets(AgainKind, MissingSecrets),
}

/// The connections a console run starts with: the Planner's pre-flight
/// (results and sessions), and the warm pool of earlier runs.
#[derive(Default)]
pub struct Connections {
    pub checked: Option<Checked>,
    pub warm: Option<WarmPool>,
}

/// Where a run reports: the console's channel, and how a report becomes
/// the console's message.
pub struct Reports<M> {
    pub sender: mpsc::Sender<M>,
    pub wrap: fn(RunReport) -> M,
}

/// Prepares and starts a run; reports through `reports`. `store` is the
/// one the Run view already shows; `prompt` asks for key passphrases (the
/// console's dialog: never the terminal under the console's screen).
pub async fn launch<M: Send + 'static>(
    inv: Arc<Inventory>,
    journal: Option<PathBuf>,
    what: Launch,
    store: SharedRunStore,
    reports: Reports<M>,
    prompt: Arc<dyn PassphrasePrompt>,
    connections: Connections,
) {
    let Connections { checked, warm } = connections;
    let report = |r: RunReport| {
        let sender = reports.sender.clone();
        let message = (reports.wrap)(r);
        async move {
            let _ = sender.send(message).await;
        }
    };
    // Finished hosts' connections stay open for the next run: the
    // open-file check counts them.
    let keep_warm = warm.as_ref().map_or(0, |w| w.cap());
    let prepared = tokio::task::spawn_blocking(move || -> Result<_, NotStarted> {
        let failed = |e: anyhow::Error| NotStarted::Failed(format!("{e:#}"));
        let path = match journal {
            Some(p) => p,
            None => crate::journal::default_path().map_err(|e| failed(e.into()))?,
        };
        let (mut prepared, note) = prepare(&inv, &path, what, keep_warm)?;
        // The operator answers confirmations and approvals in the console.
        prepared.plan.policy.interactive = true;
        // Word of the run goes where the CLI's would: the same targets
        // (config, flow, options) and the same notifier.
        let notify = NotifyContext::for_run(&path, &prepared.plan, prepared.notify.clone());
        let (journal_sink, writer) =
            JournalWriter::spawn(&path, WriterOptions::default()).map_err(|e| failed(e.into()))?;
        Ok((prepared, note, notify, journal_sink, writer))
    })
    .await;
    let (prepared, note, notify, journal_sink, writer) = match prepared {
        Ok(Ok(parts)) => parts,
        Ok(Err(NotStarted::Failed(error))) => {
            return report(RunReport::Failed { store, error }).await;
        }
        Ok(Err(NotStarted::NothingRan(reason))) => {
            return report(RunReport::NothingRan { store, reason }).await;
        }
        Ok(Err(NotStarted::NeedsSecrets(kind, missing))) => {
            let MissingSecrets { id, names } = missing;
            let needs = RunReport::NeedsSecrets {
                store,
                kind,
                id,
                names,
            };
            return report(needs).await;
        }
        Err(e) => {
            let error = format!("preparing the run: {e}");
            return report(RunReport::Failed { store, error }).await;
        }
    };
    let (mut plan, warnings) = (prepared.plan, prepared.warnings);
    let transport = match checked {
        Some(checked) => adopt_preflight(&mut plan, checked).await,
        None => None,
    }
    .unwrap_or_else(|| {
        Transport::new(TransportOptions {
            passphrase_prompt: prompt,
            ..TransportOptions::default()
        })
    });
    if let Some(warm) = &warm {
        warm.lend_to(&mut plan);
    }
    let instance = plan.instance;
    {
        let mut shown = RunStore::lock(&store);
        shown.instance = instance;
        shown.host_terms = crate::report::gather::host_terms(&plan);
    }

    let mut sink = EventSink::new();
    let to_journal = sink.subscribe(4096);
    let to_store = sink.subscribe(4096);
    let reason = detach_reason(instance);
    let (controls, control_rx) = ControlHandle::channel();
    let forward = tokio::spawn(crate::journal::forward::forward_to_journal(
        to_journal,
        journal_sink,
        controls.clone(),
        Some((instance, reason.clone())),
    ));
    let absorb = tokio::spawn(absorb_into_store(to_store, store.clone(), reason));
    let notifier = notify.and_then(|context| Notifier::start(context, sink.subscribe(1024)));
    let engine = tokio::spawn(engine::run(plan, transport, sink, control_rx));
    let ended = CancellationToken::new();
    let handle = RunHandle {
        instance,
        store: store.clone(),
        warnings,
        note,
        controls,
        engine: engine.abort_handle(),
        ended: ended.clone(),
    };
    report(RunReport::Started(handle)).await;

    let status = engine.await.unwrap_or(InstanceStatus::Interrupted);
    let _ = absorb.await;
    let _ = forward.await;
    let problem = tokio::task::spawn_blocking(move || writer.join())
        .await
        .ok()
        .and_then(Result::ok)
        .map(|stats| match stats.failure {
            Some(failure) => Some(journal_failure_problem(&failure)),
            None => stats.last_problem,
        })
        .unwrap_or_else(|| Some("the journal writer stopped unexpectedly".into()));
    // Deliveries in flight finish (each bounded by its timeout and
    // retries) before the run is reported ended, as headless runs wait.
    let undelivered = match notifier {
        Some(notifier) => undelivered(notifier.finish().await),
        None => None,
    };
    let problem = match (problem.map(|p| format!("journal: {p}")), undelivered) {
        (Some(p), Some(u)) => Some(format!("{p}; {u}")),
        (p, u) => p.or(u),
    };
    // The store saw the end (or the cut-off) as the journal did.
    let seen = RunStore::lock(&store).status;
    let status = if seen.is_final() { seen } else { status };
    ended.cancel();
    report(RunReport::Ended {
        instance,
        status,
        problem,
    })
    .await;
}

/// The plan of `what`, recorded (a new run, a rerun) or claimed (a
/// resume) in the journal at `path`, with what the status line adds;
/// `keep_warm` connections stay open after it (the open-file check counts them).
/// A rerun or resume asks as the CLI's does with no option but `--param`
/// for its secret params: the failed hosts, the recorded params and safety
/// options, the operator here.
fn prepare(
    inv: &Inventory,
    path: &std::path::Path,
    what: Launch,
    keep_warm: usize,
) -> Result<(PreparedPlan, Option<String>), NotStarted> {
    let (kind, id, secrets) = match what {
        Launch::Fresh(mut spec) => {
            spec.resolve.keep_warm = keep_warm;
            return prepare_instance(inv, path, &spec, Trigger::Manual, None)
                .map(|prepared| (prepared, None))
                .map_err(|e| NotStarted::Failed(format!("{e:#}")));
        }
        Launch::Again(kind, id, secrets) => (kind, id, secrets),
    };
    let again = AgainOptions::default();
    let request = AgainRequest {
        id,
        params: secrets.pairs(),
        yes: false,
        safety: SafetyOptions::default(),
        again: &again,
        operator: true,
        keep_warm,
    };
    let nothing = |e: anyhow::Error| NotStarted::NothingRan(format!("{e:#}"));
    match kind {
        AgainKind::Rerun => {
            let which = RerunHosts {
                failed: true,
                skipped: false,
            };
            match crate::plan::again::rerun(inv, path, request, which).map_err(nothing)? {
                Rerun::Ready(prepared) => Ok((*prepared, None)),
                Rerun::Nothing(why) => Err(NotStarted::NothingRan(why)),
                Rerun::NeedsSecrets(missing) => Err(NotStarted::NeedsSecrets(kind, missing)),
            }
        }
        AgainKind::Resume => {
            match crate::plan::again::resume(inv, path, request).map_err(nothing)? {
                Resume::Ready(resumed) => Ok((resumed.prepared, resumed.waiting)),
                Resume::NeedsSecrets(missing) => Err(NotStarted::NeedsSecrets(kind, missing)),
            }
        }
    }
}

/// Hands the Planner's pre-flight to the run: its results (no second
/// check) and its connections, with the transport they belong to. Results
/// for other hosts (the plan changed) are dropped and the run checks again.
async fn adopt_preflight(plan: &mut crate::engine::Plan, checked: Checked) -> Option<Transport> {
    let same_hosts = plan.hosts.len() == checked.hosts.len()
        && plan
            .hosts
            .iter()
            .zip(&checked.hosts)
            .all(|(h, n)| &h.name == n);
    match &mut plan.gates.preflight {
        Some(preflight) if same_hosts && preflight.mode == checked.mode => {
            preflight.known = Some(checked.results);
            plan.sessions = checked.pool;
            Some(checked.transport)
        }
        _ => {
            checked.close().await;
            None
        }
    }
}

/// Notifications that could not be delivered, in one line (`show` lists
/// every delivery).
fn undelivered(sent: Vec<Sent>) -> Option<String> {
    let failed: Vec<String> = sent
        .into_iter()
        .filter(|s| !s.delivery.sent)
        .map(|s| {
            format!(
                "notification '{}' to {} failed after {} attempt(s): {}",
                s.event,
                s.target,
                s.delivery.attempts,
                s.delivery.error.unwrap_or_default()
            )
        })
        .collect();
    (!failed.is_empty()).then(|| failed.join("; "))
}

/// What the console says when the journal could not record the run.
fn journal_failure_problem(failure: &crate::journal::WriteFailure) -> String {
    let hosts: Vec<String> = failure.runs.iter().flat_map(|r| r.hosts.clone()).collect();
    let mut text = format!("{}; no host started after that", failure.stop_reason());
    if !hosts.is_empty() {
        text.push_str(&format!(
            "; results NOT recorded for: {}",
            crate::hostlist::fold(hosts.iter().map(String::as_str))
        ));
    }
    text
}

/// Takes events into the store in bounded batches: one lock per batch, so
/// a flood of output costs few locks and the UI never waits long to draw.
pub async fn absorb_into_store(
    mut events: mpsc::Receiver<Event>,
    store: SharedRunStore,
    cut_off_reason: String,
) {
    let mut batch = Vec::with_capacity(ABSORB_BATCH);
    loop {
        if events.recv_many(&mut batch, ABSORB_BATCH).await == 0 {
            break;
        }
        // A frame or a key waiting for the store goes first.
        let mut guard = store.absorb_turn().await;
        for event in batch.drain(..) {
            guard.absorb(&event);
        }
        StoreCell::end_turn(guard);
    }
    RunStore::lock(&store).end_stream(&cut_off_reason);
}

/// How long quitting waits for a detached or aborted run's journal.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::{EventKind, Stream};

    /// Under a flood the absorbing task would otherwise take the lock back
    /// before a waiting reader woke, batch after batch: a reader waits for
    /// at most the batch in hand (counted in events, not timed).
    #[test]
    fn a_flood_of_events_hands_the_store_to_a_waiting_reader() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let store = RunStore::default().shared();
        let (tx, rx) = mpsc::channel(4096);
        runtime.spawn(absorb_into_store(rx, store.clone(), "cut off".into()));
        runtime.spawn(async move {
            let hosts = 100;
            let started = EventKind::InstanceStarted {
                flow: "flood".into(),
                hosts: (0..hosts).map(|h| format!("node{h}")).collect(),
                steps: vec!["stream".into()],
                batches: vec![(0..hosts).collect()],
            };
            let _ = tx.send(Event::now(1, started)).await;
            let chunk = bytes::Bytes::from("a line of output\n".repeat(8));
            for n in 0.. {
                let output = EventKind::Output {
                    host: n % hosts,
                    step: 0,
                    stream: Stream::Stdout,
                    data: chunk.clone(),
                };
                if tx.send(Event::now(1, output)).await.is_err() {
                    return;
                }
            }
        });
        while RunStore::lock(&store).revision < 10_000 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut worst = 0;
        for _ in 0..100 {
            // Hold the store, have a reader ask for it, let go: the reader
            // gets it after at most the batch the absorbing task then takes.
            let held = RunStore::lock(&store);
            let reader = {
                let store = store.clone();
                std::thread::spawn(move || RunStore::lock(&store).revision)
            };
            while store.readers_waiting() == 0 {
                std::thread::yield_now();
            }
            let before = held.revision;
            drop(held);
            let after = reader.join().unwrap();
            worst = worst.max(after - before);
        }
        runtime.shutdown_background();
        assert!(
            worst <= ABSORB_BATCH as u64,
            "a reader waited while {worst} events were absorbed"
        );
    }
}
