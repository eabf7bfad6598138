//! Pre-flight from the Planner: before the start dialog, the planned hosts
//! are checked as the engine would check them (the same plan, gates and
//! host list), off the UI task. The results and the connections opened
//! are kept for the run the operator then starts, which takes them instead
//! of checking again (`PreflightPlan::known`); a run not started gives
//! them back to the console's warm pool. The check itself takes the warm
//! pool's connections to these hosts before dialling new ones.

use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::opening::hosts_to_check;
use crate::inventory::Inventory;
use crate::plan::{RunKind, RunSpec, add_gates, build_plan};
use crate::preflight::{PreflightMode, Readiness, SessionPool, WarmPool, check_hosts};
use crate::transport::{CancellationToken, PassphrasePrompt, Transport, TransportOptions};

/// What was checked, for the run that may follow.
pub struct Checked {
    pub mode: PreflightMode,
    pub results: Vec<Readiness>,
    /// The planned hosts' names, by index: the run uses the results only
    /// for the same hosts in the same order.
    pub hosts: Vec<String>,
    /// Sessions the check opened, by host index.
    pub pool: SessionPool,
    /// The transport they belong to (its passphrase and host key caches).
    pub transport: Transport,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked")
            .field("mode", &self.mode)
            .field("results", &self.results)
            .finish()
    }
}

impl Checked {
    /// The table the headless run prints, line by line.
    pub fn table(&self) -> Vec<String> {
        let name = |h: usize| self.hosts.get(h).cloned().unwrap_or_default();
        crate::report::gates::preflight_table(self.mode, &self.results, &name)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Closes what the run did not take (back to the warm pool, if any).
    pub async fn close(self) {
        self.pool.close_all().await;
    }
}

/// What the check hands back: the spec, to start, and the check's result.
pub struct Outcome {
    pub spec: RunSpec,
    pub result: Result<Option<Checked>, String>,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("flow", &self.spec.flow.name)
            .field("result", &self.result)
            .finish()
    }
}

/// Plans `spec` and checks its hosts, with `warm`'s connections where it
/// has some; `Ok(None)` when the run has no pre-flight. Errors are the
/// planning's (the run would not start either).
pub async fn check(
    inv: Arc<Inventory>,
    journal: Option<PathBuf>,
    spec: RunSpec,
    prompt: Arc<dyn PassphrasePrompt>,
    warm: Option<WarmPool>,
) -> Option<Outcome> {
    let planned = tokio::task::spawn_blocking(move || {
        let plan = (|| -> anyhow::Result<_> {
            let path = match journal {
                Some(p) => p,
                None => crate::journal::default_path()?,
            };
            let base = std::env::current_dir()?;
            let mut prepared = build_plan(&inv, &spec, 0, &base)?;
            add_gates(&inv, &spec, &mut prepared, &path, RunKind::New)?;
            Ok(prepared.plan)
        })();
        (spec, plan)
    })
    .await
    .ok()?;
    let (spec, planned) = planned;
    let result = match planned {
        Ok(plan) => Ok(check_plan(plan, prompt, warm).await),
        Err(e) => Err(format!("{e:#}")),
    };
    Some(Outcome { spec, result })
}

/// Checks `planned`'s hosts; `None` when it has no pre-flight.
async fn check_plan(
    planned: crate::engine::Plan,
    prompt: Arc<dyn PassphrasePrompt>,
    warm: Option<WarmPool>,
) -> Option<Checked> {
    let preflight = planned.gates.preflight.clone()?;
    let hosts = hosts_to_check(&planned, &preflight, |_| true);
    let transport = Transport::new(TransportOptions {
        passphrase_prompt: prompt,
        ..TransportOptions::default()
    });
    let pool = match warm {
        Some(warm) => {
            let targets: Vec<_> = planned.hosts.iter().map(|h| &h.target).collect();
            warm.lend(&targets, SessionPool::default())
        }
        None => SessionPool::default(),
    };
    let results = check_hosts(
        &transport,
        hosts,
        &preflight.checks,
        preflight.timeout,
        planned.policy.forks,
        &CancellationToken::new(),
        &pool,
    )
    .await;
    Some(Checked {
        mode: preflight.mode,
        results,
        hosts: planned.hosts.iter().map(|h| h.name.clone()).collect(),
        pool,
        transport,
    })
}
