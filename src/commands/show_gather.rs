//! `jobdeck show ID --gather`: a past run's hosts folded as `--run ...
//! --gather` folds them at the end of a run. Each host's capture is rebuilt
//! from the journal (its step results and output, in the order the host
//! ran them) and fed to the reporter's own `Gather`, so the blocks, the
//! templates and `--diff` read the same.
//!
//! The journal keeps no host addresses: hosts are normalised by their names
//! (the short name too). Where the journal cut a step's output, the bytes it
//! did not keep are counted as cut (`HostCapture::push_unknown`); the host's
//! complete output is then unknown, so it is alike to no other.

use std::collections::BTreeMap;

use crate::engine::events::{HostIndex, HostStatus, StepIndex, StepOutcome, UnixMillis};
use crate::journal::{Chunk, InstanceDetail, Journal, StepResultRecord};
use crate::report::capture::HostCapture;
use crate::report::gather::{Gather, GatherOptions};
use crate::report::{DEFAULT_OUTPUT_CAP, RunInfo};

use super::history::Selection;

/// The gathered blocks of the selected hosts, as the live run printed them.
pub(super) fn render(
    journal: &Journal,
    detail: &InstanceDetail,
    run: &RunInfo,
    selection: Selection,
    options: GatherOptions,
) -> anyhow::Result<String> {
    // Hosts are added as they ended, as the live run added them.
    let mut ended: Vec<(UnixMillis, HostIndex, HostStatus)> = detail
        .hosts
        .iter()
        .filter(|h| selection.wants_host(h.index))
        .filter_map(|h| match h.status {
            // Never started: the live run never gathered it.
            HostStatus::Pending => None,
            // Its jobdeck stopped while it ran: as the live run ends it.
            HostStatus::Connecting | HostStatus::Running => {
                Some((h.finished_at, h.index, HostStatus::Interrupted))
            }
            status => Some((h.finished_at, h.index, status)),
        })
        .map(|(at, host, status)| (at.unwrap_or(UnixMillis::MAX), host, status))
        .collect();
    ended.sort_unstable_by_key(|&(at, host, _)| (at, host));
    let mut gather = Gather::new(options);
    for (_, host, status) in ended {
        let capture = capture(journal, detail, host, selection)?;
        gather.add(run, host, status, capture);
    }
    Ok(gather.render(run))
}

/// One step attempt of a host as the journal has it.
#[derive(Default)]
struct Attempt<'a> {
    result: Option<&'a StepResultRecord>,
    output: Vec<Chunk>,
}

/// What the live reporter held of `host` when it ended; `None` when no
/// step of it was recorded and it never started.
fn capture(
    journal: &Journal,
    detail: &InstanceDetail,
    host: HostIndex,
    selection: Selection,
) -> anyhow::Result<Option<HostCapture>> {
    // Steps run one after another (rollback steps after the flow's), each
    // attempt after the one before: their order is the order they ran.
    let mut attempts: BTreeMap<(StepIndex, u32), Attempt> = BTreeMap::new();
    for result in detail
        .step_results
        .iter()
        .filter(|r| r.host == host && selection.wants_step(r.step))
    {
        attempts
            .entry((result.step, result.attempt))
            .or_default()
            .result = Some(result);
    }
    journal.for_each_output(detail.instance.id, Some(host), selection.step, |chunk| {
        attempts
            .entry((chunk.step, chunk.attempt))
            .or_default()
            .output
            .push(chunk);
    })?;
    let started = detail
        .hosts
        .iter()
        .any(|h| h.index == host && h.started_at.is_some());
    if attempts.is_empty() && !started {
        return Ok(None);
    }
    let mut capture = HostCapture::new(DEFAULT_OUTPUT_CAP, true);
    for (&(step, attempt), recorded) in &attempts {
        capture.start_step(step, attempt);
        for chunk in &recorded.output {
            if chunk.marker {
                let dropped = detail
                    .truncations
                    .iter()
                    .filter(|t| t.host == host && t.step == step)
                    .map(|t| t.dropped_bytes)
                    .sum();
                capture.push_unknown(step, dropped);
            } else {
                capture.push(step, chunk.stream, &chunk.data);
            }
        }
        if let Some(result) = recorded.result.filter(|r| r.status.is_final()) {
            capture.finish_step(
                step,
                attempt,
                StepOutcome {
                    status: result.status,
                    exit_code: result.exit_code,
                    signal: result.signal.clone(),
                    error: result.error.clone(),
                },
            );
        }
    }
    capture.align_cut();
    Ok(Some(capture))
}
