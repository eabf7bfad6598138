//! A built plan's gates, decided by `crate::safety`: the guard over what
//! the run sends, its run lock, pre-flight and the per-host limit, and
//! where word of the run goes. A new run and a resume get them here alike,
//! before anything is recorded or claimed.

use std::path::Path;

use anyhow::Result;

use super::build::PreparedPlan;
use super::spec::RunSpec;
use crate::inventory::Inventory;
use crate::safety::{self, GuardInput};

/// Whose batches pre-flight may split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// A new run: pre-flight's `skip-unready` splits the ready hosts with
    /// the rollout's batches.
    New,
    /// A resume keeps its recorded batches: pre-flight only leaves unready
    /// hosts out.
    Resume,
}

/// Sets `prepared`'s gates and notification targets, adding the guard's
/// warnings; an error when the guard refuses the run.
pub fn add_gates(
    inv: &Inventory,
    spec: &RunSpec,
    prepared: &mut PreparedPlan,
    journal: &Path,
    kind: RunKind,
) -> Result<()> {
    let guarded = safety::guard(GuardInput {
        flow: &spec.flow,
        params: &spec.params,
        options: &spec.safety,
        plan: &prepared.plan,
        batches: (kind == RunKind::New).then_some(&spec.rollout.batches),
        inventory: &inv.sources,
        journal,
        adhoc: spec.flow.path.as_os_str().is_empty(),
    })?;
    prepared.plan.gates = guarded.gates;
    prepared.warnings.extend(guarded.warnings);
    prepared.notify = guarded.notify;
    Ok(())
}
