//! Pre-flight: before batch 1, every planned host is checked — connect,
//! authenticate, host key, `sudo -n true` for each user a step runs as,
//! and the flow's own `preflight:` commands — and the connections opened
//! are kept for the run, so no host is handshaken twice.
//!
//! The mode says what an unready host means: `warn` reports and goes on
//! (the host then fails at its first step as it would have), `strict`
//! starts nothing, `skip-unready` takes those hosts out before the batches
//! are computed (they end skipped, so `rerun --skipped` reaches them).

mod check;
mod pool;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use check::{HostToCheck, check_hosts};
pub use pool::{DEFAULT_WARM_CAP, DEFAULT_WARM_IDLE, PoolKey, SessionPool, WarmPool};

use crate::rollout::BatchExpr;

/// How long one pre-flight command may take on a host.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PreflightMode {
    /// Report unready hosts and run anyway.
    Warn,
    /// Start nothing if any host is not ready.
    Strict,
    /// Leave unready hosts out of the run (recorded as skipped).
    SkipUnready,
}

impl PreflightMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PreflightMode::Warn => "warn",
            PreflightMode::Strict => "strict",
            PreflightMode::SkipUnready => "skip-unready",
        }
    }
}

impl fmt::Display for PreflightMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PreflightMode {
    type Err = String;

    fn from_str(text: &str) -> Result<PreflightMode, String> {
        match text.trim() {
            "warn" => Ok(PreflightMode::Warn),
            "strict" => Ok(PreflightMode::Strict),
            "skip-unready" => Ok(PreflightMode::SkipUnready),
            other => Err(format!(
                "unknown pre-flight mode '{other}': expected warn, strict or skip-unready"
            )),
        }
    }
}

/// What the engine checks before batch 1.
#[derive(Debug, Clone)]
pub struct PreflightPlan {
    pub mode: PreflightMode,
    /// The flow's own checks, params substituted; each must exit 0.
    pub checks: Vec<String>,
    /// What the checks see besides the host's own env: the run's params.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// For a new run: the batch expression, to split the ready hosts
    /// (`skip-unready`). `None` keeps the planned batches (a resume) and
    /// only drops unready hosts from them.
    pub rebatch: Option<BatchExpr>,
    /// Results already checked for this plan's hosts (the console's
    /// Planner, just before the start), with their sessions in the plan's
    /// pool: the run takes them instead of checking again.
    pub known: Option<Vec<Readiness>>,
}

/// One host's pre-flight result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    pub host: usize,
    pub ready: bool,
    /// Why not, on one line (`unreachable: connection refused`).
    pub reason: Option<String>,
}
