//! What guards a run, gathered in one place for every way a run starts
//! (`--run`, `rerun`, `resume`, schedule fires, the console): the guard's
//! verdict, the run lock, pre-flight, the per-host limit, nice/ionice and
//! the notification targets — from the command line, the flow and the
//! config file.
//!
//! The options an operator gave are kept with the instance (and in a
//! schedule), so a rerun or resume is guarded the same way.

pub mod subjects;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow};
use serde::{Deserialize, Serialize};

use crate::cli::SafetyArgs;
use crate::config::RunConfig;
use crate::engine::scrub::Scrubber;
use crate::engine::{Gates, LockRequest, Plan};
use crate::flow::{Flow, params};
use crate::guard::{RuleSources, Verdict};
use crate::notify::target::{Target, parse_events};
use crate::preflight::{CHECK_TIMEOUT, PreflightMode, PreflightPlan};
use crate::rollout::BatchExpr;
use crate::transport::{IoClass, Manners};

/// What an operator asked for around a run, as given (validated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SafetyOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preflight: Option<PreflightMode>,
    /// Confirm rules of the guard let through (`--allow RULE`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_wait_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nice: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ionice: Option<String>,
    /// `--notify` targets as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_after: Option<u32>,
}

impl SafetyOptions {
    /// Checks the flags; an error names the flag and the value.
    pub fn from_args(args: &SafetyArgs) -> Result<SafetyOptions> {
        let options = SafetyOptions {
            preflight: args
                .preflight
                .as_deref()
                .map(|m| m.parse().map_err(|e| anyhow!("--preflight: {e}")))
                .transpose()?,
            allow: args.allow.clone(),
            lock: args.lock.clone(),
            lock_wait_ms: args
                .lock_wait
                .as_deref()
                .map(|t| {
                    crate::duration::parse_duration(t)
                        .map(|d| d.as_millis() as u64)
                        .map_err(|e| anyhow!("--lock-wait: {e}"))
                })
                .transpose()?,
            nice: args
                .nice
                .as_deref()
                .map(|t| crate::transport::manners::parse_nice(t).map_err(|e| anyhow!("--{e}")))
                .transpose()?,
            ionice: args.ionice.clone(),
            notify: args.notify.clone(),
            notify_on: args.notify_on.clone(),
            notify_after: args.notify_after,
        };
        if let Some(name) = &options.lock
            && name.trim().is_empty()
        {
            return Err(anyhow!("--lock: the lock name is empty"));
        }
        if options.notify_after == Some(0) {
            return Err(anyhow!("--notify-after must be at least 1"));
        }
        if options.lock_wait_ms.is_some() && options.lock.is_none() {
            // A flow's own lock may still make it useful; nothing to check here.
        }
        options.manners()?;
        options.cli_targets()?;
        Ok(options)
    }

    /// `--nice` / `--ionice`.
    pub fn manners(&self) -> Result<Manners> {
        Ok(Manners {
            nice: self.nice,
            ionice: self
                .ionice
                .as_deref()
                .map(|t| t.parse::<IoClass>().map_err(|e| anyhow!("--{e}")))
                .transpose()?,
        })
    }

    /// The `--notify` targets, with `--notify-on` and `--notify-after`.
    pub fn cli_targets(&self) -> Result<Vec<Target>> {
        let events = match &self.notify_on {
            Some(text) => parse_events(text).map_err(|e| anyhow!("--notify-on: {e}"))?,
            None => Vec::new(),
        };
        self.notify
            .iter()
            .map(|text| {
                let mut target = Target::parse_cli(text).map_err(|e| anyhow!(e))?;
                target.events = events.clone();
                target.after = self.notify_after;
                Ok(target)
            })
            .collect()
    }

    /// For a rerun or resume: what the operator gave now, else what the run
    /// recorded (a new `--notify` replaces the recorded targets).
    pub fn or(self, recorded: SafetyOptions) -> SafetyOptions {
        let mut allow = recorded.allow;
        for rule in self.allow {
            if !allow.contains(&rule) {
                allow.push(rule);
            }
        }
        let notify_given = !self.notify.is_empty();
        SafetyOptions {
            preflight: self.preflight.or(recorded.preflight),
            allow,
            lock: self.lock.or(recorded.lock),
            lock_wait_ms: self.lock_wait_ms.or(recorded.lock_wait_ms),
            nice: self.nice.or(recorded.nice),
            ionice: self.ionice.or(recorded.ionice),
            notify: if notify_given {
                self.notify
            } else {
                recorded.notify
            },
            notify_on: if notify_given {
                self.notify_on
            } else {
                recorded.notify_on
            },
            notify_after: self.notify_after.or(recorded.notify_after),
        }
    }

    /// The flags that give a headless run these options (for schedule fires).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut flag = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                args.push(name.to_owned());
                args.push(v);
            }
        };
        flag("--preflight", self.preflight.map(|m| m.to_string()));
        flag("--lock", self.lock.clone());
        flag(
            "--lock-wait",
            self.lock_wait_ms
                .map(|ms| crate::duration::format_duration(Duration::from_millis(ms))),
        );
        flag("--nice", self.nice.map(|n| n.to_string()));
        flag("--ionice", self.ionice.clone());
        flag("--notify-on", self.notify_on.clone());
        flag("--notify-after", self.notify_after.map(|n| n.to_string()));
        for rule in &self.allow {
            args.extend(["--allow".to_owned(), rule.clone()]);
        }
        for target in &self.notify {
            args.extend(["--notify".to_owned(), target.clone()]);
        }
        args
    }

    /// Kept in the instance's `target` JSON (null when nothing was given).
    pub fn to_json(&self) -> serde_json::Value {
        if *self == SafetyOptions::default() {
            return serde_json::Value::Null;
        }
        serde_json::to_value(self).unwrap_or_default()
    }

    pub fn from_json(value: &serde_json::Value) -> SafetyOptions {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }
}

/// A run's gates and notification targets, and what was wrong with the
/// files they came from.
pub struct Guarded {
    pub gates: Gates,
    pub notify: Vec<Target>,
    /// One line each (guard rule files, the config file, `--allow`).
    pub warnings: Vec<String>,
}

/// What gates `plan` (built from `flow` and `params`): the guard over what
/// it sends, its lock, pre-flight, the per-host limit.
pub struct GuardInput<'a> {
    pub flow: &'a Flow,
    pub params: &'a [(String, String)],
    pub options: &'a SafetyOptions,
    pub plan: &'a Plan,
    /// Batches of a new run (pre-flight's `skip-unready` splits the ready
    /// hosts with it); `None` for a resume, which keeps its batches.
    pub batches: Option<&'a BatchExpr>,
    /// The inventory sources: a `guard.toml` beside them adds rules.
    pub inventory: &'a [std::path::PathBuf],
    pub journal: &'a Path,
    /// An ad-hoc `-c` run: its command comes from the command line.
    pub adhoc: bool,
}

pub fn guard(input: GuardInput<'_>) -> Result<Guarded> {
    let GuardInput {
        flow,
        params,
        options,
        plan,
        batches,
        inventory,
        journal,
        adhoc,
    } = input;
    let config = RunConfig::load(crate::config::config_path());
    let mut warnings = config.warnings.clone();
    let substitute = |what: &str, text: &str| {
        params::substitute(text, params)
            .map_err(|e| anyhow!("{}: {what}: {e}", flow.path.display()))
    };

    let mode = options
        .preflight
        .or(flow.preflight.as_ref().and_then(|p| p.mode))
        .or(flow
            .preflight
            .as_ref()
            .filter(|p| !p.checks.is_empty())
            .map(|_| PreflightMode::Warn));
    let checks = match &flow.preflight {
        Some(p) => p
            .checks
            .iter()
            .map(|c| substitute("preflight", c))
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let preflight = mode.map(|mode| PreflightPlan {
        mode,
        checks: checks.clone(),
        env: params.to_vec(),
        timeout: CHECK_TIMEOUT,
        rebatch: batches.cloned(),
    });

    let sources = RuleSources::for_inventory(config.path.clone(), inventory);
    let rules = sources.load();
    warnings.extend(rules.warnings.iter().map(|w| format!("guard: {w}")));
    for rule in &options.allow {
        if rules.rules.get(rule).is_none() {
            warnings.push(format!("--allow {rule}: no guard rule has that name"));
        }
    }
    let mut steps = plan.steps.clone();
    steps.extend(plan.rollback.iter().cloned());
    let hits = crate::guard::check(
        &rules.rules,
        &subjects::of_run(flow, &steps, &checks, adhoc),
    );
    let scrubber = Scrubber::new(&plan.secrets);
    let verdict: Verdict = crate::guard::judge(&hits, &options.allow, &|text: &str| {
        scrubber.mask_text(text)
    });

    let lock_name = match (&options.lock, &flow.lock) {
        (Some(name), _) => Some(substitute("--lock", name)?),
        (None, Some(name)) => Some(substitute("lock", name)?),
        (None, None) => None,
    };
    let lock = lock_name.map(|name| LockRequest {
        name,
        wait: Duration::from_millis(options.lock_wait_ms.unwrap_or(0)),
    });
    let coordinator: Option<Arc<dyn crate::engine::Coordinator>> =
        if lock.is_some() || config.per_host.is_some() {
            Some(crate::locks::JournalCoordinator::open(journal)?)
        } else {
            None
        };

    let mut notify = config.notify.clone();
    notify.extend(flow.notify.iter().cloned());
    notify.extend(options.cli_targets()?);
    notify.dedup();

    Ok(Guarded {
        gates: Gates {
            guard: verdict,
            lock,
            preflight,
            host_limit: config.per_host,
            coordinator,
        },
        notify,
        warnings,
    })
}
