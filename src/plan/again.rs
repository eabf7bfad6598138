//! A past run run again, prepared in one place for `jobdeck rerun`,
//! `jobdeck resume` and the console: `rerun` records some of its hosts as
//! a new run linked to it, `resume` claims an interrupted run and plans
//! what is left of it. Nothing is recorded or claimed when there is
//! nothing to do, the run is refused, or secret params it needs were not
//! given (`MissingSecrets`: the CLI says which to pass, the console asks).

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};

use super::build::{PreparedPlan, build_plan};
use super::gates::{RunKind, add_gates};
use super::past::{
    AgainOptions, MissingSecrets, Past, RerunHosts, past_run, rerun_spec, resume_plan,
    resumed_hosts,
};
use super::record::prepare_instance;
use super::spec::{OperatorQuestion, RunSpec, operator_questions};
use crate::duration::format_duration;
use crate::engine::events::{InstanceId, InstanceStatus, now_millis};
use crate::inventory::Inventory;
use crate::journal::{self, Journal, Trigger};
use crate::safety::SafetyOptions;

/// What a rerun or resume is asked with, besides the inventory and journal.
pub struct AgainRequest<'a> {
    pub id: InstanceId,
    /// Params given now (`--param`): secret ones, never stored, and changes.
    pub params: &'a [(String, String)],
    /// Batch confirmations and approvals are answered in advance.
    pub yes: bool,
    /// Safety options given now, over the recorded ones.
    pub safety: SafetyOptions,
    pub again: &'a AgainOptions,
    /// An operator is there to answer the run's questions (the console).
    pub operator: bool,
    /// Connections kept open between runs, which the open-file check counts.
    pub keep_warm: usize,
}

/// A rerun prepared: recorded as a new instance, or nothing to rerun.
pub enum Rerun {
    Ready(Box<PreparedPlan>),
    /// Nothing was recorded; the sentence says why.
    Nothing(String),
    /// Nothing was recorded: these secret params must be given first.
    NeedsSecrets(MissingSecrets),
}

/// A resume prepared: claimed, or not yet (secret params to give first).
pub enum Resume {
    Ready(Box<Resumed>),
    /// Nothing was claimed: these secret params must be given first.
    NeedsSecrets(MissingSecrets),
}

/// A resume prepared: the run claimed and its plan, and when it still
/// waits out an interval, the sentence saying so.
pub struct Resumed {
    pub prepared: PreparedPlan,
    pub waiting: Option<String>,
}

/// Without an operator, a run that asks questions needs them answered in
/// advance (`--yes`).
pub fn require_answers(spec: &RunSpec) -> Result<()> {
    if spec.yes {
        return Ok(());
    }
    match operator_questions(&spec.flow, spec.rollout.mode).first() {
        Some(OperatorQuestion::ConfirmBatches) => bail!(
            "--mode confirm needs an operator: run it in the console, or pass --yes to confirm every batch"
        ),
        Some(OperatorQuestion::ApprovalSteps) => bail!(
            "flow '{}' has approval steps: run it in the console, or pass --yes to approve them",
            spec.flow.name
        ),
        None => Ok(()),
    }
}

/// The `which` hosts of run `request.id` as a new run (trigger
/// `rerun:ID`, linked to it), recorded in the journal at `path`.
pub fn rerun(
    inv: &Inventory,
    path: &Path,
    request: AgainRequest,
    which: RerunHosts,
) -> Result<Rerun> {
    let id = request.id;
    let past = {
        let journal = Journal::open(path)?;
        match past_or_missing(inv, &journal, &request)? {
            Ok(past) => past,
            Err(missing) => return Ok(Rerun::NeedsSecrets(missing)),
        }
    };
    let limit = past.limit.as_ref().map(|l| l.pattern.clone());
    let Some(mut spec) = rerun_spec(inv, past, id, which) else {
        let what = match (which.failed, which.skipped) {
            (true, true) => "failed or skipped",
            (false, true) => "skipped",
            _ => "failed",
        };
        let matching = limit
            .map(|pattern| format!(" matching --limit '{pattern}'"))
            .unwrap_or_default();
        return Ok(Rerun::Nothing(format!(
            "run {id} has no {what} hosts{matching}; nothing to rerun"
        )));
    };
    if !request.operator {
        require_answers(&spec)?;
    }
    spec.resolve.keep_warm = request.keep_warm;
    let prepared = prepare_instance(inv, path, &spec, Trigger::Rerun(id), Some(id))?;
    Ok(Rerun::Ready(Box::new(prepared)))
}

/// Interrupted run `request.id` claimed and planned from where it stopped
/// (the same instance). Refused, it stays interrupted and unclaimed.
pub fn resume(inv: &Inventory, path: &Path, request: AgainRequest) -> Result<Resume> {
    let id = request.id;
    let mut journal = journal::open_recovered(path)?;
    let mut past = match past_or_missing(inv, &journal, &request)? {
        Ok(past) => past,
        Err(missing) => return Ok(Resume::NeedsSecrets(missing)),
    };
    if past.record.status != InstanceStatus::Interrupted {
        bail!(
            "run {id} is {}; only interrupted runs can be resumed (rerun --failed starts a new run)",
            past.record.status
        );
    }
    if let Some(limit) = &past.limit
        && resumed_hosts(&past, &journal.resume_point(id)?).is_empty()
    {
        // Checked before the run is claimed: a typo leaves it as it was.
        bail!(
            "--limit '{}' matches none of run {id}'s hosts not yet done; nothing was resumed",
            limit.pattern
        );
    }
    past.spec.resolve.keep_warm = request.keep_warm;
    let base = std::env::current_dir()?;
    let mut prepared = build_plan(inv, &past.spec, id, &base)?;
    // Refused by the guard: the run stays interrupted, unclaimed.
    add_gates(inv, &past.spec, &mut prepared, path, RunKind::Resume)?;
    super::check_open_files(&prepared.plan, past.spec.resolve.keep_warm)?;
    let point = journal.claim_for_resume(id)?;
    drop(journal);
    resume_plan(&mut prepared.plan, &past, &point);
    let now = now_millis();
    let waiting = prepared
        .plan
        .start
        .wait_until
        .filter(|&until| until > now)
        .map(|until| {
            format!(
                "run {id} resumes its interval: batch {} starts in {}",
                point.next_batch + 1,
                format_duration(Duration::from_millis((until - now).max(0) as u64))
            )
        });
    Ok(Resume::Ready(Box::new(Resumed { prepared, waiting })))
}

/// The past run of `request`, or the secret params it still needs.
fn past_or_missing(
    inv: &Inventory,
    journal: &Journal,
    request: &AgainRequest,
) -> Result<std::result::Result<Past, MissingSecrets>> {
    let past = past_run(
        inv,
        journal,
        request.id,
        request.params,
        request.yes,
        request.safety.clone(),
        request.again,
    );
    match past {
        Ok(past) => Ok(Ok(past)),
        Err(e) => match e.downcast::<MissingSecrets>() {
            Ok(missing) => Ok(Err(missing)),
            Err(e) => Err(e),
        },
    }
}
