//! What a run passed (or waits at) before its first batch, as the console
//! sees it: the guard's hits and the confirm rules still waiting for their
//! word, the run lock, the pre-flight results and a refusal. Built from the
//! same events the journal records.

use crate::engine::events::{EventKind, Holder, UnixMillis};
use crate::guard::{Action, HitRecord, Outcome};
use crate::preflight::{PreflightMode, Readiness};

/// The run waits for a lock another run holds.
#[derive(Debug, Clone, PartialEq)]
pub struct LockWait {
    pub name: String,
    pub holder: Holder,
    /// When the run gives up waiting.
    pub until: Option<UnixMillis>,
}

#[derive(Debug, Clone, Default)]
pub struct Gates {
    /// Every decided hit (blocked, confirmed, refused, warned), in order.
    pub hits: Vec<HitRecord>,
    /// Confirm hits waiting for an operator to type their rule's word.
    pub confirm_waiting: Vec<HitRecord>,
    pub lock_wait: Option<LockWait>,
    /// The lock the run took after waiting for it.
    pub lock_taken: Option<String>,
    pub preflight: Option<(PreflightMode, Vec<Readiness>)>,
    /// Why the run did not start.
    pub refused: Option<String>,
}

/// The same hit, whatever its outcome.
fn same_hit(a: &HitRecord, b: &HitRecord) -> bool {
    a.rule == b.rule && a.location == b.location && a.matched == b.matched
}

impl Gates {
    /// Takes a gate event; false for any other event.
    pub fn absorb(&mut self, kind: &EventKind) -> bool {
        match kind {
            EventKind::GuardHit { hit } => {
                self.confirm_waiting.retain(|h| !same_hit(h, hit));
                self.hits.push((**hit).clone());
            }
            EventKind::GuardConfirmNeeded { hits } => self.confirm_waiting = hits.clone(),
            EventKind::LockWaiting {
                name,
                holder,
                until,
            } => {
                self.lock_wait = Some(LockWait {
                    name: name.clone(),
                    holder: (**holder).clone(),
                    until: *until,
                })
            }
            EventKind::LockAcquired { name } => {
                self.lock_wait = None;
                self.lock_taken = Some(name.clone());
            }
            EventKind::PreflightChecked { mode, hosts } => {
                self.preflight = Some((*mode, hosts.clone()))
            }
            EventKind::RunRefused { reason } => {
                self.refused = Some(reason.clone());
                self.confirm_waiting.clear();
                self.lock_wait = None;
            }
            _ => return false,
        }
        true
    }

    /// The run has ended: nothing waits any more.
    pub fn end(&mut self) {
        self.confirm_waiting.clear();
        self.lock_wait = None;
    }

    /// Hits by outcome, for one summary line: `rm-root blocked at
    /// cmd:1 `rm -rf /``, then the others by rule.
    pub fn guard_summary(&self) -> Option<String> {
        if self.hits.is_empty() && self.confirm_waiting.is_empty() {
            return None;
        }
        let mut parts: Vec<String> = Vec::new();
        for hit in self.hits.iter().chain(&self.confirm_waiting) {
            let what = match hit.outcome {
                Some(Outcome::Blocked) => "blocked",
                Some(Outcome::Confirmed) => "confirmed",
                Some(Outcome::Refused) => "refused",
                Some(Outcome::Warned) => "warned",
                None => "waits for its word",
            };
            let part = format!(
                "{} {what} at {}: `{}`",
                hit.rule,
                hit.location,
                crate::report::sanitize::one_line(&hit.matched)
            );
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
        Some(format!("guard: {}", parts.join(" · ")))
    }

    /// `pre-flight (warn): 3 of 4 ready; local-4: unreachable: ...`
    pub fn preflight_summary(&self, host_name: impl Fn(usize) -> String) -> Option<String> {
        let (mode, hosts) = self.preflight.as_ref()?;
        let ready = hosts.iter().filter(|r| r.ready).count();
        let mut text = format!("pre-flight ({mode}): {ready} of {} ready", hosts.len());
        let unready: Vec<String> = hosts
            .iter()
            .filter(|r| !r.ready)
            .map(|r| {
                format!(
                    "{}: {}",
                    host_name(r.host),
                    r.reason.as_deref().unwrap_or("not ready")
                )
            })
            .collect();
        if !unready.is_empty() {
            text.push_str("; ");
            text.push_str(&unready.join(" · "));
        }
        Some(text)
    }

    /// Why a host was not ready, if pre-flight said so.
    pub fn unready_reason(&self, host: usize) -> Option<&str> {
        let (_, hosts) = self.preflight.as_ref()?;
        hosts
            .iter()
            .find(|r| r.host == host && !r.ready)
            .map(|r| r.reason.as_deref().unwrap_or("not ready"))
    }

    /// True while a block rule stopped the run.
    pub fn blocked(&self) -> bool {
        self.hits.iter().any(|h| h.action == Action::Block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(rule: &str, action: Action, outcome: Option<Outcome>) -> HitRecord {
        HitRecord {
            rule: rule.into(),
            action,
            word: rule.into(),
            location: "command line".into(),
            step: None,
            matched: "mkfs /dev/sdz".into(),
            message: None,
            outcome,
        }
    }

    #[test]
    fn a_confirmed_hit_stops_waiting_and_is_summed_up() {
        let mut gates = Gates::default();
        let waiting = hit("mkfs", Action::Confirm, None);
        gates.absorb(&EventKind::GuardConfirmNeeded {
            hits: vec![waiting.clone()],
        });
        assert_eq!(gates.confirm_waiting.len(), 1);
        gates.absorb(&EventKind::GuardHit {
            hit: Box::new(waiting.decided(Outcome::Confirmed)),
        });
        assert!(gates.confirm_waiting.is_empty());
        assert_eq!(
            gates.guard_summary().unwrap(),
            "guard: mkfs confirmed at command line: `mkfs /dev/sdz`"
        );
    }

    #[test]
    fn pre_flight_names_the_unready_hosts() {
        let mut gates = Gates::default();
        gates.absorb(&EventKind::PreflightChecked {
            mode: PreflightMode::Warn,
            hosts: vec![
                Readiness {
                    host: 0,
                    ready: true,
                    reason: None,
                },
                Readiness {
                    host: 1,
                    ready: false,
                    reason: Some("unreachable: connection refused".into()),
                },
            ],
        });
        assert_eq!(
            gates.preflight_summary(|h| format!("web{h}")).unwrap(),
            "pre-flight (warn): 1 of 2 ready; web1: unreachable: connection refused"
        );
        assert_eq!(
            gates.unready_reason(1),
            Some("unreachable: connection refused")
        );
        assert_eq!(gates.unready_reason(0), None);
    }
}
