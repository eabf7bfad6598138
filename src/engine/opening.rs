//! Before the first batch: the guard's verdict, the run lock, pre-flight.
//! Each gate either lets the run go on or says why it may not start; a
//! refused run records its hosts as skipped and ends aborted.

use std::collections::HashSet;
use std::time::Duration;

use super::control::Control;
use super::events::{EventKind, HostIndex, now_millis};
use super::gates::{Holder, LOCK_POLL, blocking};
use super::plan::HostStart;
use super::runner::{Runner, recv};
use crate::guard::{HitRecord, Outcome, needs_allow};
use crate::preflight::{HostToCheck, PreflightMode, check_hosts};
use crate::transport::CancellationToken;

impl Runner {
    /// Passes every gate in turn; `Some(reason)` if the run may not start.
    pub(super) async fn open_gates(&mut self) -> Option<String> {
        if let Some(reason) = self.guard_gate().await {
            return Some(reason);
        }
        if let Some(reason) = self.lock_gate().await {
            return Some(reason);
        }
        self.preflight_gate().await
    }

    /// Gives back what the gates took: the lock, unused connections.
    pub(super) async fn close_gates(&mut self) {
        let plan = self.shared.plan.clone();
        if let (Some(name), Some(coordinator)) = (self.lock_held.take(), &plan.gates.coordinator) {
            let instance = plan.instance;
            blocking(coordinator, move |c| c.release_lock(&name, instance)).await;
        }
        plan.sessions.close_all().await;
    }

    /// Records every decided hit; waits for an operator to confirm the
    /// others (refused without one).
    async fn guard_gate(&mut self) -> Option<String> {
        let plan = self.shared.plan.clone();
        let verdict = &plan.gates.guard;
        for hit in verdict.hits.iter().filter(|h| h.outcome.is_some()) {
            self.emit(EventKind::GuardHit {
                hit: Box::new(hit.clone()),
            })
            .await;
        }
        if let Some(blocked) = &verdict.blocked {
            return Some(blocked.clone());
        }
        let mut waiting: Vec<HitRecord> = verdict.pending().cloned().collect();
        if waiting.is_empty() {
            return None;
        }
        self.emit(EventKind::GuardConfirmNeeded {
            hits: waiting.clone(),
        })
        .await;
        if !plan.policy.interactive || self.controls.is_none() {
            let reason = needs_allow(&waiting.iter().collect::<Vec<_>>());
            self.refuse_hits(&waiting).await;
            return Some(reason);
        }
        while !waiting.is_empty() {
            match recv(&mut self.controls).await {
                Some(Control::ConfirmGuard { word }) => {
                    let (confirmed, rest): (Vec<HitRecord>, Vec<HitRecord>) =
                        waiting.into_iter().partition(|h| h.word == word);
                    for hit in confirmed {
                        self.emit(EventKind::GuardHit {
                            hit: Box::new(hit.decided(Outcome::Confirmed)),
                        })
                        .await;
                    }
                    waiting = rest;
                }
                Some(Control::Abort { reason }) => {
                    self.refuse_hits(&waiting).await;
                    return Some(format!("aborted by operator: {reason}"));
                }
                // Nothing else applies before the run starts.
                Some(_) => {}
                None => {
                    self.refuse_hits(&waiting).await;
                    return Some("no operator left to confirm the guard's rules".into());
                }
            }
        }
        None
    }

    async fn refuse_hits(&self, hits: &[HitRecord]) {
        for hit in hits {
            self.emit(EventKind::GuardHit {
                hit: Box::new(hit.decided(Outcome::Refused)),
            })
            .await;
        }
    }

    /// Takes the run lock, waiting up to the request's wait for its holder.
    async fn lock_gate(&mut self) -> Option<String> {
        let plan = self.shared.plan.clone();
        let request = plan.gates.lock.clone()?;
        let Some(coordinator) = plan.gates.coordinator.clone() else {
            return Some(format!(
                "lock '{}': this run has no journal to keep locks in",
                request.name
            ));
        };
        let instance = plan.instance;
        let deadline = now_millis() + request.wait.as_millis() as i64;
        let mut announced: Option<Holder> = None;
        loop {
            let name = request.name.clone();
            match blocking(&coordinator, move |c| c.try_lock(&name, instance)).await {
                Ok(None) => {
                    self.lock_held = Some(request.name.clone());
                    if announced.is_some() {
                        self.emit(EventKind::LockAcquired {
                            name: request.name.clone(),
                        })
                        .await;
                    }
                    return None;
                }
                Ok(Some(holder)) => {
                    let left = deadline - now_millis();
                    if left <= 0 {
                        let waited = if request.wait.is_zero() {
                            String::new()
                        } else {
                            format!(
                                " (waited {})",
                                crate::duration::format_duration(request.wait)
                            )
                        };
                        return Some(format!(
                            "lock '{}' is held by {}{waited}",
                            request.name,
                            holder.describe_since()
                        ));
                    }
                    if announced.as_ref() != Some(&holder) {
                        self.emit(EventKind::LockWaiting {
                            name: request.name.clone(),
                            holder: Box::new(holder.clone()),
                            until: Some(deadline),
                        })
                        .await;
                        announced = Some(holder);
                    }
                    let pause = LOCK_POLL.min(Duration::from_millis(left as u64));
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        Some(control) = recv(&mut self.controls) => {
                            if let Control::Abort { reason } = control {
                                return Some(format!(
                                    "aborted by operator while waiting for lock '{}': {reason}",
                                    request.name
                                ));
                            }
                        }
                    }
                }
                Err(e) => return Some(format!("lock '{}': {e}", request.name)),
            }
        }
    }

    /// Checks the hosts about to run and applies the mode.
    async fn preflight_gate(&mut self) -> Option<String> {
        let plan = self.shared.plan.clone();
        let preflight = plan.gates.preflight.clone()?;
        let batched: HashSet<HostIndex> = self.batches.iter().flatten().copied().collect();
        let hosts: Vec<HostToCheck> = (0..plan.hosts.len())
            .filter(|&h| {
                batched.contains(&h) && matches!(plan.start.host(h), HostStart::FromStep(_))
            })
            .map(|h| {
                let mut sudo_users: Vec<String> = plan
                    .steps
                    .iter()
                    .chain(&plan.rollback)
                    .filter(|s| s.applies_to(h))
                    .filter_map(|s| s.run_as.clone())
                    .collect();
                sudo_users.sort();
                sudo_users.dedup();
                let mut env = plan.hosts[h].env.clone();
                env.extend(preflight.env.iter().cloned());
                HostToCheck {
                    index: h,
                    target: plan.hosts[h].target.clone(),
                    env,
                    sudo_users,
                }
            })
            .collect();
        let total = hosts.len();
        let cancel = CancellationToken::new();
        let check = check_hosts(
            &self.shared.transport,
            hosts,
            &preflight.checks,
            preflight.timeout,
            plan.policy.forks,
            &cancel,
            &plan.sessions,
        );
        tokio::pin!(check);
        let results = loop {
            tokio::select! {
                results = &mut check => break results,
                Some(control) = recv(&mut self.controls) => {
                    if let Control::Abort { reason } = control {
                        cancel.cancel();
                        let _ = (&mut check).await;
                        return Some(format!("aborted by operator during pre-flight: {reason}"));
                    }
                }
            }
        };
        let unready: Vec<(HostIndex, String)> = results
            .iter()
            .filter(|r| !r.ready)
            .map(|r| (r.host, r.reason.clone().unwrap_or_default()))
            .collect();
        self.preflight = Some((preflight.mode, results));
        let (first, why) = unready.first()?;
        let summary = format!(
            "{} of {total} host(s) not ready ({}: {why})",
            unready.len(),
            plan.hosts[*first].name
        );
        match preflight.mode {
            PreflightMode::Warn => None,
            PreflightMode::Strict => Some(format!("pre-flight (strict): {summary}")),
            PreflightMode::SkipUnready => {
                let left_out: HashSet<HostIndex> = unready.iter().map(|(h, _)| *h).collect();
                let ready: Vec<HostIndex> = self
                    .batches
                    .iter()
                    .flatten()
                    .copied()
                    .filter(|h| !left_out.contains(h))
                    .collect();
                if ready.is_empty() {
                    return Some(format!("pre-flight: no host is ready; {summary}"));
                }
                match &preflight.rebatch {
                    Some(expr) => match expr.plan(ready.len()) {
                        Ok(sizes) => self.batches = crate::rollout::assign(ready, &sizes),
                        Err(e) => return Some(format!("pre-flight: {e}")),
                    },
                    None => {
                        for batch in &mut self.batches {
                            batch.retain(|h| !left_out.contains(h));
                        }
                    }
                }
                None
            }
        }
    }
}
