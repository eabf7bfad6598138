//! One request over many targets, at most `forks` at a time.
//!
//! Every host runs in its own task; a slow or dead host holds one fork slot and
//! nothing else, so the others' results arrive as soon as they are ready. Events from
//! all hosts share one bounded channel: a slow consumer slows the hosts down instead
//! of growing memory.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

use super::{ExecRequest, ExecResult, OutputChunk, Target, Transport};

/// Default concurrency, as `--forks` documents.
pub const DEFAULT_FORKS: usize = 64;

/// What the fan-out reports, tagged with the target's index in the input list.
#[derive(Debug, Clone)]
pub enum HostEvent {
    Started { host: usize },
    Output { host: usize, chunk: OutputChunk },
    Finished { host: usize, result: ExecResult },
}

/// Runs `request` on every target and sends [`HostEvent`]s to `events`; returns when
/// every host has finished. Each host gets its own per-host output channel of
/// `per_host_buffer` chunks, forwarded into `events`.
pub async fn run_all(
    transport: &Transport,
    targets: Vec<Target>,
    request: ExecRequest,
    forks: usize,
    events: mpsc::Sender<HostEvent>,
) {
    let forks = Arc::new(Semaphore::new(forks.max(1)));
    let request = Arc::new(request);
    let mut tasks = tokio::task::JoinSet::new();
    for (host, target) in targets.into_iter().enumerate() {
        let transport = transport.clone();
        let request = request.clone();
        let events = events.clone();
        let forks = forks.clone();
        tasks.spawn(async move {
            let Ok(_slot) = forks.acquire_owned().await else {
                return;
            };
            let _ = events.send(HostEvent::Started { host }).await;
            let (output_tx, mut output_rx) = mpsc::channel::<OutputChunk>(16);
            let forward_events = events.clone();
            let forwarder = async move {
                while let Some(chunk) = output_rx.recv().await {
                    let _ = forward_events.send(HostEvent::Output { host, chunk }).await;
                }
            };
            let run = async move {
                let result = transport.run(&target, &request, &output_tx).await;
                drop(output_tx);
                result
            };
            let (result, ()) = tokio::join!(run, forwarder);
            let _ = events.send(HostEvent::Finished { host, result }).await;
        });
    }
    drop(events);
    while tasks.join_next().await.is_some() {}
}
