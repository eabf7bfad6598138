//! What a schedule may hold, checked in one place for `jobdeck schedule
//! add` and the console's schedule form: a name that is not an id, timing
//! that fires in the future, and a run that needs nobody — no batch to
//! confirm or step to approve unless approved in advance, no secret param
//! stored or required, options and params that parse, targets that match.
//!
//! Each problem knows its field (`ScheduleField`) and has two wordings:
//! the form's (`Display`: at the field, naming nothing) and the command
//! line's (`on_command_line`: naming the flag to change).

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::options::{self, FieldError, RunField};
use super::spec::{OperatorQuestion, operator_questions, selection_for};
use crate::flow::Flow;
use crate::inventory::Inventory;
use crate::inventory::select::Selection;
use crate::schedule::crontab::SEARCH_YEARS;
use crate::schedule::store::{RunOptions, When, next_fire};
use crate::schedule::{CronExpr, local_zone, parse_local_time, parse_zone};

/// What the form's timing lines are: a crontab, or one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Cron,
    /// One-shot: once, at a time.
    At,
}

/// Where a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleField {
    Name,
    /// The crontab or the one-shot time.
    When,
    Zone,
    Until,
    Flow,
    /// The flow's n-th declared param.
    Param(usize),
    Run(RunField),
}

/// Wall-clock times in the form's words, in the schedule's zone.
pub const FORM_TIME: &str = "%Y-%m-%d %H:%M";

/// Wall-clock times in the command line's words.
fn cli_time(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

fn form_time(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format(FORM_TIME).to_string()
}

/// One thing a schedule may not hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    NameMissing {
        given: String,
    },
    NameIsNumber {
        given: String,
    },
    /// A zone, crontab or time that does not parse (the parser's words).
    Unreadable {
        field: ScheduleField,
        message: String,
    },
    TimeMissing,
    AtInPast {
        text: String,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
        zone: Tz,
    },
    UntilInPast {
        text: String,
        end: DateTime<Utc>,
        zone: Tz,
    },
    NeverFires {
        when: When,
        until: Option<DateTime<Utc>>,
        zone: Tz,
    },
    Flow(String),
    /// A value stored for a secret param.
    SecretGiven {
        index: usize,
        param: String,
        flow: String,
    },
    /// A secret the flow requires, with no default: only a person can give it.
    SecretRequired {
        index: usize,
        param: String,
        flow: String,
    },
    UnknownParam {
        name: String,
        known: Vec<String>,
    },
    /// A param value that its type refuses, or a required one missing.
    Param {
        index: usize,
        param: String,
        message: String,
    },
    /// A run option that does not parse, or targets that match nothing.
    Option(FieldError),
    /// A run that asks an operator, who a scheduled run does not have.
    NeedsOperator {
        question: OperatorQuestion,
        flow: String,
    },
    /// The store refused it (a name taken, the journal unwritable).
    NotStored(String),
}

/// What a secret param field says: a schedule never stores a secret.
pub const SECRET_NOTE: &str = "secret: cannot be stored; the flow must not require it";

impl Problem {
    pub fn field(&self) -> ScheduleField {
        match self {
            Problem::NameMissing { .. } | Problem::NameIsNumber { .. } => ScheduleField::Name,
            Problem::Unreadable { field, .. } => *field,
            Problem::TimeMissing | Problem::AtInPast { .. } => ScheduleField::When,
            Problem::UntilInPast { .. } => ScheduleField::Until,
            Problem::NeverFires { until: Some(_), .. } => ScheduleField::Until,
            Problem::NeverFires { .. } => ScheduleField::When,
            Problem::Flow(_) | Problem::UnknownParam { .. } => ScheduleField::Flow,
            Problem::SecretGiven { index, .. }
            | Problem::SecretRequired { index, .. }
            | Problem::Param { index, .. } => ScheduleField::Param(*index),
            Problem::Option(e) => ScheduleField::Run(e.field),
            Problem::NotStored(_) => ScheduleField::Name,
            Problem::NeedsOperator { .. } => ScheduleField::Run(RunField::Approve),
        }
    }

    /// True for the problems of param values (the command line words them
    /// all at once, as `--param` parsing does).
    pub fn is_param_value(&self) -> bool {
        matches!(self, Problem::UnknownParam { .. } | Problem::Param { .. })
    }

    /// As `jobdeck schedule add` says it: naming the flag to change.
    pub fn on_command_line(&self) -> String {
        match self {
            Problem::NameMissing { given } | Problem::NameIsNumber { given } => format!(
                "schedule name '{given}': expected a non-empty name that is not a number (numbers are ids)"
            ),
            Problem::TimeMissing => "--at: a time is required: YYYY-MM-DD HH:MM".into(),
            Problem::AtInPast {
                text,
                at,
                now,
                zone,
            } => format!(
                "--at '{text}' is in the past ({}; now is {}): expected a future time",
                cli_time(*at, *zone),
                cli_time(*now, *zone)
            ),
            Problem::UntilInPast { text, end, zone } => format!(
                "--until '{text}' is in the past ({}): expected a future end date",
                cli_time(*end, *zone)
            ),
            Problem::NeverFires {
                until: Some(end),
                zone,
                ..
            } => format!(
                "the schedule never fires before its end date {}: check the expression and --until",
                cli_time(*end, *zone)
            ),
            Problem::NeverFires { when, zone, .. } => format!(
                "'{}' has no fire time within {SEARCH_YEARS} years in {}: check the day and month fields",
                when_text(when),
                zone.name()
            ),
            Problem::SecretGiven { param, flow, .. } => format!(
                "--param {param}: '{param}' is a secret param of flow '{flow}', and a schedule never stores secrets: leave it out (the flow's default applies) or run the flow by hand"
            ),
            Problem::SecretRequired { param, flow, .. } => format!(
                "flow '{flow}' requires the secret param '{param}', which a schedule cannot store: it can only be run by hand"
            ),
            Problem::Param { param, message, .. } => format!("--param {param}: {message}"),
            Problem::Option(e) if e.field == RunField::Targets => e.message.clone(),
            Problem::Option(e) => e.on_command_line(),
            Problem::NeedsOperator {
                question: OperatorQuestion::ConfirmBatches,
                ..
            } => "--mode confirm needs an operator, and a scheduled run has none: pass --yes to confirm every batch".into(),
            Problem::NeedsOperator { flow, .. } => format!(
                "flow '{flow}' has approval steps, and a scheduled run has no operator: pass --yes to approve them"
            ),
            Problem::Unreadable { message, .. }
            | Problem::Flow(message)
            | Problem::NotStored(message) => message.clone(),
            Problem::UnknownParam { .. } => self.to_string(),
        }
    }
}

/// The form's words: at the field, so they need not name it.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NameMissing { .. } => f.write_str("a name is required"),
            Problem::NameIsNumber { .. } => {
                f.write_str("a name that is not a number (numbers are ids)")
            }
            Problem::Unreadable { message, .. }
            | Problem::Flow(message)
            | Problem::NotStored(message) => f.write_str(message),
            Problem::TimeMissing => f.write_str("a time is required: YYYY-MM-DD HH:MM"),
            Problem::AtInPast {
                text, now, zone, ..
            } => write!(
                f,
                "'{text}' is in the past (now is {}): expected a future time",
                form_time(*now, *zone)
            ),
            Problem::UntilInPast { text, .. } => {
                write!(f, "'{text}' is in the past: expected a future end date")
            }
            Problem::NeverFires {
                until: Some(end),
                zone,
                ..
            } => write!(
                f,
                "never fires before the end date {}",
                form_time(*end, *zone)
            ),
            Problem::NeverFires {
                when: When::Cron(expr),
                ..
            } => write!(
                f,
                "'{}' has no fire time in the next years: check the day and month fields",
                expr.as_str()
            ),
            Problem::NeverFires { .. } => f.write_str("the time has passed"),
            Problem::SecretGiven { .. } | Problem::SecretRequired { .. } => {
                f.write_str(SECRET_NOTE)
            }
            Problem::UnknownParam { name, known } => write!(
                f,
                "stored param '{name}' is not a param of this flow (it takes: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
            Problem::Param { message, .. } => f.write_str(message),
            Problem::Option(e) => f.write_str(&e.message),
            Problem::NeedsOperator {
                question: OperatorQuestion::ConfirmBatches,
                ..
            } => f.write_str(
                "the rollout confirms each batch and a scheduled run has no operator: approve them",
            ),
            Problem::NeedsOperator { flow, .. } => write!(
                f,
                "flow '{flow}' has approval steps and a scheduled run has no operator: approve them"
            ),
        }
    }
}

fn when_text(when: &When) -> String {
    match when {
        When::Cron(expr) => expr.as_str().to_owned(),
        When::At(at) => at.to_rfc3339(),
    }
}

/// A schedule's name: trimmed, not empty, not a number (numbers are ids).
pub fn check_name(text: &str) -> Result<String, Problem> {
    let name = text.trim().to_owned();
    if name.is_empty() {
        Err(Problem::NameMissing {
            given: text.to_owned(),
        })
    } else if name.parse::<i64>().is_ok() {
        Err(Problem::NameIsNumber {
            given: text.to_owned(),
        })
    } else {
        Ok(name)
    }
}

/// A zone by name; empty is the local one, as `schedule add` without `--tz`.
pub fn check_zone(text: &str) -> Result<Tz, Problem> {
    if text.trim().is_empty() {
        return Ok(local_zone());
    }
    parse_zone(text.trim()).map_err(|e| Problem::Unreadable {
        field: ScheduleField::Zone,
        message: e.to_string(),
    })
}

/// The crontab or the one-shot time. A one-shot time must be in the
/// future, unless `past_allowed` (a stored schedule being edited).
pub fn check_when(
    kind: Kind,
    text: &str,
    zone: Tz,
    now: DateTime<Utc>,
    past_allowed: bool,
) -> Result<When, Problem> {
    let text = text.trim();
    let unreadable = |message: String| Problem::Unreadable {
        field: ScheduleField::When,
        message,
    };
    match kind {
        Kind::Cron => CronExpr::parse(text)
            .map(When::Cron)
            .map_err(|e| unreadable(e.to_string())),
        Kind::At => {
            if text.is_empty() {
                return Err(Problem::TimeMissing);
            }
            let at = parse_local_time(text, zone)
                .map_err(|e| unreadable(e.to_string()))?
                .with_timezone(&Utc);
            if at <= now && !past_allowed {
                return Err(Problem::AtInPast {
                    text: text.to_owned(),
                    at,
                    now,
                    zone,
                });
            }
            Ok(When::At(at))
        }
    }
}

/// The end date, if any (empty: none); it must be in the future.
pub fn check_until(
    text: &str,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let end = parse_local_time(text, zone)
        .map_err(|e| Problem::Unreadable {
            field: ScheduleField::Until,
            message: e.to_string(),
        })?
        .with_timezone(&Utc);
    if end <= now {
        return Err(Problem::UntilInPast {
            text: text.to_owned(),
            end,
            zone,
        });
    }
    Ok(Some(end))
}

/// The first fire time after `now`; a schedule that never fires is refused.
pub fn check_fires(
    when: &When,
    zone: Tz,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Problem> {
    next_fire(when, zone, until, now).ok_or_else(|| Problem::NeverFires {
        when: when.clone(),
        until,
        zone,
    })
}

/// The rollout options a schedule stores, as the planning layer takes them.
pub fn rollout_options(run: &RunOptions) -> options::RolloutOptions {
    options::RolloutOptions {
        batches: run.batches.clone(),
        interval: run.interval.clone(),
        mode: run.mode.clone(),
        max_fail: run.max_fail.clone(),
        forks: run.forks.map(|n| n.to_string()),
        order: run.order.clone(),
        timeout: run.timeout.clone(),
    }
}

/// The connection options a schedule stores.
pub fn connect_options(run: &RunOptions) -> options::ConnectOptions {
    options::ConnectOptions {
        connect_timeout: run.connect_timeout.clone(),
        accept_new: run.accept_new,
        ssh_config: run.ssh_config.as_ref().map(PathBuf::from),
    }
}

/// Everything wrong with running `flow` with `run`'s options and nobody
/// there: secret params, param values, run options, operator questions, in
/// the order `schedule add` reports them.
pub fn check_run(flow: &Flow, run: &RunOptions) -> Vec<Problem> {
    let mut problems = param_problems(flow, &run.params);
    match options::rollout(&rollout_options(run), &flow.rollout) {
        Ok(rollout) if !run.yes => {
            problems.extend(
                operator_questions(flow, rollout.mode)
                    .into_iter()
                    .map(|question| Problem::NeedsOperator {
                        question,
                        flow: flow.name.clone(),
                    }),
            );
        }
        Ok(_) => {}
        Err(errors) => problems.extend(errors.into_iter().map(Problem::Option)),
    }
    if let Err(e) = options::resolve_options(&connect_options(run)) {
        // After the rollout's, as the command line reads them.
        let at = problems
            .iter()
            .position(|p| matches!(p, Problem::NeedsOperator { .. }))
            .unwrap_or(problems.len());
        problems.insert(at, Problem::Option(e));
    }
    problems
}

/// The stored param values against the flow's params: secrets never stored
/// (nor required), no unknown names, every value of its type.
fn param_problems(flow: &Flow, given: &[(String, String)]) -> Vec<Problem> {
    let specs = &flow.params;
    let index_of = |name: &str| specs.iter().position(|s| s.name == name);
    let mut problems = Vec::new();
    for (name, _) in given {
        if let Some(i) = index_of(name).filter(|&i| specs[i].secret) {
            problems.push(Problem::SecretGiven {
                index: i,
                param: name.clone(),
                flow: flow.name.clone(),
            });
        }
    }
    for (i, spec) in specs.iter().enumerate() {
        let given_here = given.iter().any(|(n, _)| *n == spec.name);
        if spec.secret && spec.required && spec.default.is_none() && !given_here {
            problems.push(Problem::SecretRequired {
                index: i,
                param: spec.name.clone(),
                flow: flow.name.clone(),
            });
        }
    }
    for (name, _) in given {
        if index_of(name).is_none() {
            problems.push(Problem::UnknownParam {
                name: name.clone(),
                known: specs.iter().map(|s| s.name.clone()).collect(),
            });
        }
    }
    for (i, spec) in specs.iter().enumerate().filter(|(_, s)| !s.secret) {
        let value = given
            .iter()
            .rev()
            .find(|(n, _)| *n == spec.name)
            .map(|(_, v)| v.as_str());
        if let Some(message) = spec.value_problem(value.or(spec.default.as_deref()).unwrap_or("")) {
            problems.push(Problem::Param {
                index: i,
                param: spec.name.clone(),
                message,
            });
        }
    }
    problems
}

/// The hosts the schedule would run on, resolved now against `inv` from
/// `workdir` (where relative `@file` patterns are): matching nothing is
/// refused.
pub fn check_targets(
    flow: &Flow,
    run: &RunOptions,
    inv: &Inventory,
    workdir: &Path,
) -> Result<(), Problem> {
    let selection = selection_for(
        flow,
        Selection {
            pattern: run.limit.clone(),
            project: run.project.clone(),
            cluster: run.cluster.clone(),
            app: run.app.clone(),
            hosts: run.hosts.clone(),
        },
    );
    selection
        .resolve(inv, workdir)
        .map(|_| ())
        .map_err(|e| Problem::Option(FieldError::new(RunField::Targets, e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    fn flow(yaml: &str) -> Flow {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.yml");
        std::fs::write(&path, yaml).unwrap();
        crate::flow::load_flow(&path).unwrap()
    }

    #[test]
    fn names_and_timing() {
        assert_eq!(check_name(" nightly ").unwrap(), "nightly");
        assert_eq!(check_name("").unwrap_err().field(), ScheduleField::Name);
        assert!(
            check_name("42")
                .unwrap_err()
                .on_command_line()
                .contains("numbers are ids")
        );
        let utc = check_zone("UTC").unwrap();
        assert_eq!(
            check_zone("Mars/Base").unwrap_err().field(),
            ScheduleField::Zone
        );
        let past = check_when(Kind::At, "2026-03-01 10:00", utc, now(), false).unwrap_err();
        assert_eq!(past.field(), ScheduleField::When);
        assert!(
            past.on_command_line()
                .starts_with("--at '2026-03-01 10:00' is in the past")
        );
        assert!(
            past.to_string()
                .starts_with("'2026-03-01 10:00' is in the past (now is")
        );
        assert!(check_when(Kind::At, "2026-03-01 10:00", utc, now(), true).is_ok());
        let until = check_until("2026-04-01 00:00", utc, now()).unwrap();
        let when = check_when(Kind::Cron, "0 3 1 1 *", utc, now(), false).unwrap();
        let never = check_fires(&when, utc, until, now()).unwrap_err();
        assert_eq!(never.field(), ScheduleField::Until);
    }

    #[test]
    fn a_scheduled_run_needs_nobody_and_stores_no_secret() {
        let f = flow(
            "name: f\nparams:\n  token: {type: string, secret: true, required: true}\n  n: {type: int}\nsteps:\n  - approval: ok?\n",
        );
        let run = RunOptions {
            params: vec![("n".into(), "x".into()), ("token".into(), "s3".into())],
            mode: Some("confirm".into()),
            forks: Some(0),
            connect_timeout: Some("eleven".into()),
            ..RunOptions::default()
        };
        let problems = check_run(&f, &run);
        let fields: Vec<ScheduleField> = problems.iter().map(Problem::field).collect();
        assert_eq!(
            fields,
            [
                ScheduleField::Param(0),
                ScheduleField::Param(1),
                ScheduleField::Run(RunField::Forks),
                ScheduleField::Run(RunField::ConnectTimeout),
            ]
        );
        assert!(
            problems[0]
                .on_command_line()
                .starts_with("--param token: 'token' is a secret")
        );
        assert_eq!(problems[0].to_string(), SECRET_NOTE);
        let run = RunOptions {
            mode: Some("confirm".into()),
            ..RunOptions::default()
        };
        let problems = check_run(&f, &run);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(matches!(problems[0], Problem::SecretRequired { .. }));
        assert_eq!(problems[1].field(), ScheduleField::Run(RunField::Approve));
        assert!(
            problems[1]
                .on_command_line()
                .starts_with("--mode confirm needs an operator")
        );
        assert!(problems[2].on_command_line().contains("has approval steps"));
        let approved = RunOptions {
            yes: true,
            params: vec![("n".into(), "3".into())],
            ..RunOptions::default()
        };
        assert_eq!(
            check_run(&f, &approved).len(),
            1,
            "the required secret stays"
        );
    }

    #[test]
    fn an_empty_value_is_stored_only_where_the_flow_allows_it() {
        let f = flow(
            "name: f\nparams:\n  version: {type: string, required: true}\n  note: {type: string, required: true, allow_empty: true}\nsteps:\n  - command: 'true'\n",
        );
        let run = RunOptions {
            params: vec![
                ("version".into(), String::new()),
                ("note".into(), String::new()),
            ],
            ..RunOptions::default()
        };
        let problems = check_run(&f, &run);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].field(), ScheduleField::Param(0));
    }
}
