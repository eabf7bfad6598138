//! What the engine runs: a job instance fully resolved — hosts with their
//! connection targets and environment, batches, steps — so the engine makes
//! no decisions about files, inventories or flows.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::events::{HostIndex, InstanceId, StepIndex, UnixMillis};
use super::gates::Gates;
use crate::preflight::SessionPool;
use crate::rollout::{BatchMode, MaxFail};
use crate::transport::{Manners, Payload, Target};

#[derive(Debug, Clone)]
pub struct Plan {
    pub instance: InstanceId,
    pub flow: String,
    pub hosts: Vec<PlannedHost>,
    /// Host indexes of each batch, in run order.
    pub batches: Vec<Vec<HostIndex>>,
    pub steps: Vec<PlannedStep>,
    /// Runs on a host whose step failed with `on_failure: rollback`.
    pub rollback: Vec<PlannedStep>,
    pub policy: Policy,
    /// Where to start: the first batch, or the middle of a resumed run.
    pub start: StartPoint,
    /// Values scrubbed from output before anyone sees it (secret params, passwords).
    pub secrets: Vec<String>,
    /// What must pass before the first batch (guard, lock, pre-flight) and
    /// the per-host limit.
    pub gates: Gates,
    /// Connections opened before the run (pre-flight done by the caller):
    /// each host's first step uses its own.
    pub sessions: SessionPool,
}

#[derive(Debug, Clone)]
pub struct PlannedHost {
    pub name: String,
    pub target: Target,
    /// Built-ins and inventory variables for every step on this host.
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub name: String,
    pub action: Action,
    /// Flow params and step params; host env and exports are added per host.
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub retry_interval: Duration,
    pub on_failure: OnFailure,
    /// Run through `sudo -n -u USER` on the host (an atom's `run_as`).
    pub run_as: Option<String>,
    /// When the step names its own targets: which hosts it applies to (by index).
    pub applies_to: Option<Vec<bool>>,
    /// nice / ionice for everything the step starts.
    pub manners: Manners,
}

impl PlannedStep {
    pub fn applies_to(&self, host: HostIndex) -> bool {
        self.applies_to
            .as_ref()
            .is_none_or(|hosts| hosts.get(host).copied().unwrap_or(false))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run a command or script on the host.
    Run(Payload),
    /// Wait for an operator's approval, once per batch, before the hosts of
    /// the batch go past this step.
    Approval { message: String },
    /// Copy a local file or directory to the host, atomically per file.
    Upload {
        src: std::path::PathBuf,
        dest: String,
        mode: Option<u32>,
    },
}

/// What a failed step does to its host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The host stops here and counts as failed.
    #[default]
    Stop,
    /// The failure is recorded and the host goes on to its next step; it
    /// does not make the host fail.
    Continue,
    /// The host goes on to its next step, and counts as failed at the end
    /// (checks that should all run, and all be reported).
    KeepGoing,
    /// The flow's rollback steps run on the host, which counts as failed.
    Rollback,
}

#[derive(Debug, Clone)]
pub struct Policy {
    /// Pause between batches.
    pub interval: Duration,
    pub mode: BatchMode,
    pub max_fail: Option<MaxFail>,
    /// At most this many hosts run at once.
    pub forks: usize,
    /// An operator is watching (the TUI). Without one, `confirm` batches and
    /// approval steps go ahead only with `auto_confirm` (`--yes`), and a
    /// pause on failure ends the run as interrupted, to be resumed by hand.
    pub interactive: bool,
    pub auto_confirm: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            interval: Duration::ZERO,
            mode: BatchMode::default(),
            max_fail: None,
            forks: crate::transport::fanout::DEFAULT_FORKS,
            interactive: false,
            auto_confirm: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct StartPoint {
    pub first_batch: usize,
    /// A resumed run that was waiting out an interval waits until then.
    pub wait_until: Option<UnixMillis>,
    /// Per host: where it starts. Missing entries start at step 0.
    pub hosts: Vec<HostStart>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStart {
    FromStep(StepIndex),
    /// Finished in an earlier run (with this status); not run again, but
    /// its status still counts towards how the instance ends.
    Done(super::events::HostStatus),
}

impl StartPoint {
    pub fn host(&self, host: HostIndex) -> HostStart {
        self.hosts
            .get(host)
            .copied()
            .unwrap_or(HostStart::FromStep(0))
    }
}
