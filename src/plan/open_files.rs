//! Whether a run's connections fit in the process's open-file limit,
//! checked before anything connects: a run that would hit the limit halfway
//! fails its last hosts with "too many open files" (EMFILE) instead.
//!
//! What one host holds while it runs:
//! - over SSH: its socket, and for a moment one more (the agent's socket
//!   while authenticating, a name lookup, a file read for a `copy:` step);
//! - through a ProxyCommand, and on the local connection: the child's
//!   three pipes and tokio's pidfd for it, and that moment's one more;
//! - through a ProxyJump: a channel of the hop's connection, and that
//!   moment's one more; each hop's own connection is counted once.
//!
//! In the console a finished host's connection stays open for the next
//! run (the warm pool, up to its cap): those count too, for as many hosts
//! as the run has, up to the cap.

use std::collections::HashSet;

use anyhow::{Result, bail};

use crate::engine::{HostStart, Plan};
use crate::open_files::{self, Limits};
use crate::transport::{Connection, Proxy, Target};

/// Descriptors opened after the check besides the hosts': the journal
/// writer's connection (database, WAL, shared memory), the async runtime,
/// notifications, known_hosts and key files being read.
const RESERVE: u64 = 32;

/// What a plan will hold open at its widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// Hosts connected at once: the forks (or the widest batch, if
    /// smaller); every host to run when pre-flight keeps their
    /// connections until their turn.
    pub at_once: u64,
    /// The most one of those hosts holds.
    pub per_host: u64,
    /// ProxyJump hops' own connections.
    pub hops: u64,
    pub forks: u64,
    pub preflight: bool,
    /// Descriptors of connections finished hosts leave open for later runs.
    pub kept: u64,
}

impl Need {
    /// What `plan` needs when finished hosts leave up to `keep_warm`
    /// connections open (see `ResolveOptions::keep_warm`).
    pub fn of(plan: &Plan, keep_warm: usize) -> Need {
        let to_run: Vec<usize> = plan
            .batches
            .iter()
            .flatten()
            .copied()
            .filter(|&h| matches!(plan.start.host(h), HostStart::FromStep(_)))
            .collect();
        let widest = plan
            .batches
            .iter()
            .map(|batch| {
                batch
                    .iter()
                    .filter(|&&h| matches!(plan.start.host(h), HostStart::FromStep(_)))
                    .count()
            })
            .max()
            .unwrap_or(0);
        let forks = plan.policy.forks.max(1) as u64;
        let preflight = plan.gates.preflight.is_some();
        let at_once = if preflight {
            to_run.len() as u64
        } else {
            forks.min(widest as u64)
        };
        let per_host = to_run
            .iter()
            .map(|&h| held_by(&plan.hosts[h].target))
            .max()
            .unwrap_or(0);
        let mut chains = HashSet::new();
        for &h in &to_run {
            if let Proxy::Jump(hops) = &plan.hosts[h].target.proxy {
                for depth in 1..=hops.len() {
                    let chain: Vec<(&str, u16, &str)> = hops[..depth]
                        .iter()
                        .map(|hop| (hop.address.as_str(), hop.port, hop.user.as_str()))
                        .collect();
                    chains.insert(chain);
                }
            }
        }
        // A kept connection holds what its host held, but the moment's one more.
        let kept = to_run
            .iter()
            .map(|&h| held_by(&plan.hosts[h].target) - 1)
            .filter(|&held| held > 0)
            .take(keep_warm)
            .sum();
        Need {
            at_once,
            per_host,
            hops: chains.len() as u64 * 2,
            forks,
            preflight,
            kept,
        }
    }

    /// Descriptors for the hosts and hops, without jobdeck's own.
    pub fn for_hosts(&self) -> u64 {
        self.at_once * self.per_host + self.hops + self.kept
    }
}

/// What one host holds while it runs (see the module's notes).
fn held_by(target: &Target) -> u64 {
    let moment = 1;
    match (target.connection, &target.proxy) {
        (Connection::Local, _) | (Connection::Ssh, Proxy::Command(_)) => 4 + moment,
        (Connection::Ssh, Proxy::Jump(_)) => moment,
        (Connection::Ssh, Proxy::Direct) => 1 + moment,
    }
}

/// Fails, saying what to do, when the plan cannot fit in the open-file
/// limit as it is now (after `open_files::raise_to_hard` at start);
/// `keep_warm` as in `Need::of`.
pub fn check_open_files(plan: &Plan, keep_warm: usize) -> Result<()> {
    let Ok(limits) = open_files::limits() else {
        return Ok(());
    };
    let in_use = open_files::in_use().unwrap_or(0);
    if let Some(problem) = problem(&Need::of(plan, keep_warm), limits, in_use) {
        bail!("{problem}");
    }
    Ok(())
}

/// The sentence the operator sees when `need` does not fit, else `None`.
pub fn problem(need: &Need, limits: Limits, in_use: u64) -> Option<String> {
    let own = in_use + RESERVE;
    let total = need.for_hosts() + own;
    if total <= limits.soft {
        return None;
    }
    let wide = if need.preflight {
        format!(
            "pre-flight keeps every host's connection open until its turn: {} host(s) at once",
            need.at_once
        )
    } else if need.at_once < need.forks {
        format!(
            "forks {} runs {} host(s) at once (the widest batch)",
            need.forks, need.at_once
        )
    } else {
        format!("forks {} runs {} host(s) at once", need.forks, need.at_once)
    };
    let wide = match need.kept {
        0 => wide,
        kept => format!(
            "{wide}, and {kept} descriptor(s) of finished hosts' connections kept for the next run (the console's [tui] pool_max)"
        ),
    };
    let fits = limits.soft.saturating_sub(own + need.hops + need.kept) / need.per_host.max(1);
    let lower = if need.preflight {
        "run without pre-flight".to_string()
    } else if fits == 0 {
        "free some descriptors".to_string()
    } else {
        format!("lower the forks to {fits} or fewer")
    };
    let raise = if limits.hard < total {
        format!(
            "the hard limit is {}, so raise it first (`ulimit -Hn {total}` as root, `LimitNOFILE={total}` in a systemd unit, `nofile` in /etc/security/limits.conf)",
            limits.hard
        )
    } else {
        format!(
            "the hard limit {} would allow it, but the soft limit could not be raised",
            limits.hard
        )
    };
    Some(format!(
        "too many open files for this run: {wide}, up to {} file descriptor(s) each, plus {own} for jobdeck itself: {total} in all, but the open-file limit (ulimit -n) is {}; {raise}, or {lower}. Nothing was run.",
        need.per_host, limits.soft
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(at_once: u64, forks: u64) -> Need {
        Need {
            at_once,
            per_host: 2,
            hops: 0,
            forks,
            preflight: false,
            kept: 0,
        }
    }

    #[test]
    fn connections_kept_for_the_next_run_count_too() {
        let limits = Limits {
            soft: 3000,
            hard: 3000,
        };
        assert_eq!(problem(&need(1000, 1000), limits, 10), None);
        let mut kept = need(1000, 1000);
        kept.kept = 2048;
        let said = problem(&kept, limits, 10).unwrap();
        assert!(
            said.contains("2048 descriptor(s) of finished hosts' connections kept"),
            "{said}"
        );
        assert!(said.contains("4090 in all"), "{said}");
        // (3000 - 42 - 2048) / 2 = 455 hosts fit beside them.
        assert!(said.contains("lower the forks to 455 or fewer"), "{said}");
    }

    #[test]
    fn a_run_that_fits_passes() {
        let limits = Limits {
            soft: 4096,
            hard: 4096,
        };
        assert_eq!(problem(&need(1000, 1000), limits, 10), None);
    }

    #[test]
    fn a_run_too_wide_names_the_limit_the_forks_and_what_to_do() {
        let limits = Limits { soft: 64, hard: 64 };
        let said = problem(&need(1000, 1000), limits, 10).unwrap();
        assert!(
            said.contains("forks 1000 runs 1000 host(s) at once"),
            "{said}"
        );
        assert!(said.contains("limit (ulimit -n) is 64"), "{said}");
        assert!(said.contains("2042 in all"), "{said}");
        assert!(said.contains("the hard limit is 64"), "{said}");
        assert!(said.contains("ulimit -Hn 2042"), "{said}");
        // (64 - 42) / 2 = 11 hosts fit.
        assert!(said.contains("lower the forks to 11 or fewer"), "{said}");
    }

    #[test]
    fn pre_flight_counts_every_host() {
        let limits = Limits {
            soft: 1024,
            hard: 1 << 20,
        };
        let mut wide = need(5000, 64);
        wide.preflight = true;
        let said = problem(&wide, limits, 10).unwrap();
        assert!(said.contains("5000 host(s) at once"), "{said}");
        assert!(said.contains("run without pre-flight"), "{said}");
    }

    #[test]
    fn each_connection_kind_holds_its_descriptors() {
        let mut target = Target::new("web1");
        assert_eq!(held_by(&target), 2);
        target.proxy = Proxy::Command("nc %h %p".into());
        assert_eq!(held_by(&target), 5);
        target.proxy = Proxy::Jump(vec![Target::new("bastion")]);
        assert_eq!(held_by(&target), 1);
        target.proxy = Proxy::Direct;
        target.connection = Connection::Local;
        assert_eq!(held_by(&target), 5);
    }
}
