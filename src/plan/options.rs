//! Run options as an operator gives them — text from the command line, a
//! stored schedule or a console form — checked into a rollout and the
//! connection options. Every problem names the option it belongs to
//! (`RunField`): the command line words it with the flag, a form shows it
//! at the field.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::duration::{parse_duration, parse_timeout};
use crate::flow::RolloutSpec;
use crate::rollout::{BatchExpr, BatchMode, HostOrder, MaxFail};
use crate::transport::fanout::DEFAULT_FORKS;
use crate::transport::resolve::ResolveOptions;

/// How the run is rolled out, after the options overrode the flow's own.
#[derive(Debug, Clone)]
pub struct Rollout {
    pub batches: BatchExpr,
    pub interval: Duration,
    pub mode: BatchMode,
    pub max_fail: Option<MaxFail>,
    pub forks: usize,
    pub order: HostOrder,
    /// Default command timeout for steps that set none.
    pub timeout: Option<Duration>,
}

/// One run option, to say where a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunField {
    Targets,
    Params,
    Batches,
    Interval,
    Mode,
    MaxFail,
    Forks,
    Order,
    Timeout,
    ConnectTimeout,
    /// `--yes`: batch confirmations and approvals answered in advance.
    Approve,
}

impl RunField {
    /// The command-line flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            RunField::Targets => "--limit",
            RunField::Params => "--param",
            RunField::Batches => "--batches",
            RunField::Interval => "--interval",
            RunField::Mode => "--mode",
            RunField::MaxFail => "--max-fail",
            RunField::Forks => "--forks",
            RunField::Order => "--order",
            RunField::Timeout => "--timeout",
            RunField::ConnectTimeout => "--connect-timeout",
            RunField::Approve => "--yes",
        }
    }
}

/// A problem with one run option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: RunField,
    /// What is wrong, without the option's name (a form shows it at the field).
    pub message: String,
}

impl FieldError {
    pub fn new(field: RunField, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }

    /// As the command line says it: the flag, then the problem
    /// (`--interval: invalid duration ...`, `--forks must be at least 1`).
    pub fn on_command_line(&self) -> String {
        let flag = self.field.flag();
        if self.message.starts_with("must ") {
            format!("{flag} {}", self.message)
        } else {
            format!("{flag}: {}", self.message)
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FieldError {}

/// The rollout options as given; `None` keeps the flow's own setting
/// (and, where the flow has none, jobdeck's default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolloutOptions {
    pub batches: Option<String>,
    pub interval: Option<String>,
    pub mode: Option<String>,
    pub max_fail: Option<String>,
    pub forks: Option<String>,
    pub order: Option<String>,
    pub timeout: Option<String>,
}

/// The rollout `options` give over the flow's `defaults`. Every problem is
/// reported, in the order the command line lists the options.
pub fn rollout(
    options: &RolloutOptions,
    defaults: &RolloutSpec,
) -> Result<Rollout, Vec<FieldError>> {
    let mut problems = Vec::new();
    let batches = given(&mut problems, RunField::Batches, &options.batches, |t| {
        BatchExpr::parse(t).map_err(|e| e.to_string())
    });
    let forks = given(&mut problems, RunField::Forks, &options.forks, |t| {
        parse_forks(t).and_then(|n| match n {
            0 => Err("must be at least 1".to_string()),
            n => Ok(n),
        })
    });
    let interval = given(&mut problems, RunField::Interval, &options.interval, |t| {
        parse_duration(t).map_err(|e| e.to_string())
    });
    let mode = given(&mut problems, RunField::Mode, &options.mode, |t| {
        t.parse::<BatchMode>().map_err(|e| e.to_string())
    });
    let max_fail = given(&mut problems, RunField::MaxFail, &options.max_fail, |t| {
        t.parse::<MaxFail>().map_err(|e| e.to_string())
    });
    let order = given(&mut problems, RunField::Order, &options.order, |t| {
        t.parse::<HostOrder>().map_err(|e| e.to_string())
    });
    let timeout = given(&mut problems, RunField::Timeout, &options.timeout, |t| {
        parse_timeout(t).map_err(|e| e.to_string())
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Rollout {
        batches: batches
            .flatten()
            .or_else(|| defaults.batches.clone())
            .unwrap_or_else(|| BatchExpr::parse("100%").expect("100% is a valid expression")),
        interval: interval
            .flatten()
            .or(defaults.interval)
            .unwrap_or(Duration::ZERO),
        mode: mode.flatten().or(defaults.mode).unwrap_or_default(),
        max_fail: max_fail.flatten().or(defaults.max_fail),
        forks: forks.flatten().or(defaults.forks).unwrap_or(DEFAULT_FORKS),
        order: order.flatten().or(defaults.order).unwrap_or_default(),
        timeout: timeout.flatten(),
    })
}

/// A number of hosts at once, as typed (0 parses; the rollout refuses it).
pub fn parse_forks(text: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("'{text}': expected a number of hosts at once, at least 1"))
}

/// `Some(None)`: not given; `Some(Some(value))`: given and read; `None`:
/// given and wrong (the problem is recorded).
fn given<T>(
    problems: &mut Vec<FieldError>,
    field: RunField,
    text: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<Option<T>> {
    match text {
        None => Some(None),
        Some(t) => match parse(t) {
            Ok(value) => Some(Some(value)),
            Err(message) => {
                problems.push(FieldError::new(field, message));
                None
            }
        },
    }
}

/// How the run connects, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    pub connect_timeout: Option<String>,
    pub accept_new: bool,
    pub ssh_config: Option<PathBuf>,
}

/// The transport's options for `options`.
pub fn resolve_options(options: &ConnectOptions) -> Result<ResolveOptions, FieldError> {
    Ok(ResolveOptions {
        accept_new: options.accept_new,
        connect_timeout: options
            .connect_timeout
            .as_deref()
            .map(|t| {
                parse_timeout(t)
                    .map_err(|e| FieldError::new(RunField::ConnectTimeout, e.to_string()))
            })
            .transpose()?,
        ssh_config_path: options.ssh_config.clone(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn options_override_the_flows_rollout() {
        let defaults = RolloutSpec {
            interval: Some(Duration::from_secs(7200)),
            forks: Some(8),
            ..RolloutSpec::default()
        };
        let rollout = super::rollout(&RolloutOptions::default(), &defaults).unwrap();
        assert_eq!(rollout.batches.to_string(), "100%");
        assert_eq!(rollout.interval, Duration::from_secs(7200));
        assert_eq!(rollout.forks, 8);
        let given = RolloutOptions {
            interval: text("90s"),
            forks: text("3"),
            mode: text("continue"),
            ..RolloutOptions::default()
        };
        let rollout = super::rollout(&given, &defaults).unwrap();
        assert_eq!(rollout.interval, Duration::from_secs(90));
        assert_eq!(rollout.forks, 3);
        assert_eq!(rollout.mode, BatchMode::Continue);
    }

    #[test]
    fn every_problem_is_at_its_own_option() {
        let given = RolloutOptions {
            batches: text("10% x"),
            interval: text("soon"),
            mode: text("fast"),
            max_fail: text("lots"),
            forks: text("0"),
            order: text("random"),
            timeout: text("never"),
        };
        let problems = super::rollout(&given, &RolloutSpec::default()).unwrap_err();
        let fields: Vec<RunField> = problems.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                RunField::Batches,
                RunField::Forks,
                RunField::Interval,
                RunField::Mode,
                RunField::MaxFail,
                RunField::Order,
                RunField::Timeout
            ]
        );
        assert_eq!(problems[1].to_string(), "must be at least 1");
        assert_eq!(problems[1].on_command_line(), "--forks must be at least 1");
        assert!(
            problems[2].on_command_line().starts_with("--interval: "),
            "{}",
            problems[2].on_command_line()
        );
        let bad = given_forks("many");
        assert!(bad.message.contains("'many'"), "{}", bad.message);
    }

    fn given_forks(forks: &str) -> FieldError {
        let given = RolloutOptions {
            forks: text(forks),
            ..RolloutOptions::default()
        };
        super::rollout(&given, &RolloutSpec::default())
            .unwrap_err()
            .remove(0)
    }

    #[test]
    fn a_bad_connect_timeout_is_named() {
        let options = ConnectOptions {
            connect_timeout: text("eleven"),
            ..ConnectOptions::default()
        };
        let e = resolve_options(&options).unwrap_err();
        assert_eq!(e.field, RunField::ConnectTimeout);
        assert!(e.on_command_line().starts_with("--connect-timeout: "));
    }
}
