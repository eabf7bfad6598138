//! The texts of a planned run the guard reads, each with where it came
//! from: command and script steps at their line in the flow, atoms in their
//! own file, rollback steps like the others, pre-flight checks, and an
//! ad-hoc `-c` command as the command line.

use crate::engine::{Action, PlannedStep};
use crate::flow::{Flow, Step, StepKind, params};
use crate::guard::{Origin, Subject};
use crate::transport::Payload;

/// Every text `steps` (the flow's, then its rollback steps, as planned:
/// params substituted) and `checks` (pre-flight) will send.
pub fn of_run(flow: &Flow, steps: &[PlannedStep], checks: &[String], adhoc: bool) -> Vec<Subject> {
    let written = flow.steps.iter().chain(&flow.rollback);
    let mut subjects = Vec::new();
    for (index, (step, planned)) in written.zip(steps).enumerate() {
        let Action::Run(payload) = &planned.action else {
            continue;
        };
        let mut vars = planned.env.clone();
        let (text, is_script) = match payload {
            Payload::Command(command) => (command.clone(), false),
            Payload::Script { body, args } => {
                vars.extend(
                    args.iter()
                        .enumerate()
                        .map(|(i, a)| ((i + 1).to_string(), a.clone())),
                );
                (body.clone(), true)
            }
        };
        subjects.push(Subject {
            origin: origin_of(flow, step, adhoc),
            step: Some(index),
            step_name: planned.name.clone(),
            text,
            is_script,
            vars,
        });
    }
    let first_params = steps.first().map(|s| s.env.clone()).unwrap_or_default();
    let preflight_line = flow.preflight.as_ref().map_or(1, |p| p.line);
    for check in checks {
        subjects.push(Subject {
            origin: Origin::File {
                path: flow.path.clone(),
                line: locate(&flow.source, preflight_line, check),
            },
            step: None,
            step_name: "pre-flight".into(),
            text: check.clone(),
            is_script: false,
            vars: first_params.clone(),
        });
    }
    subjects
}

/// The texts of `flow` before a run is planned (`jobdeck check`, `schedule
/// add`): params `given` or with a default are substituted, the others
/// stay as `${name}`.
pub fn of_flow(flow: &Flow, given: &[(String, String)]) -> Vec<Subject> {
    let mut defaults: Vec<(String, String)> = given.to_vec();
    defaults.extend(
        flow.params
            .iter()
            .filter(|p| !given.iter().any(|(n, _)| n == &p.name))
            .filter_map(|p| p.default.clone().map(|d| (p.name.clone(), d))),
    );
    let fill = |text: &str| params::substitute(text, &defaults).unwrap_or_else(|_| text.to_owned());
    let mut subjects = Vec::new();
    for (index, step) in flow.steps.iter().chain(&flow.rollback).enumerate() {
        let mut vars = defaults.clone();
        let (text, is_script) = match &step.kind {
            StepKind::Command { command } => (fill(command), false),
            StepKind::Script { body, args } => {
                vars.extend(
                    args.iter()
                        .enumerate()
                        .map(|(i, a)| ((i + 1).to_string(), fill(a))),
                );
                (body.clone(), true)
            }
            StepKind::Atom { atom, with, args } => {
                for p in &atom.params {
                    let given = with
                        .iter()
                        .find(|(k, _)| k == &p.name)
                        .map(|(_, v)| fill(v));
                    if let Some(value) = given.or_else(|| p.default.clone()) {
                        vars.push((p.name.clone(), value));
                    }
                }
                vars.extend(
                    args.iter()
                        .enumerate()
                        .map(|(i, a)| ((i + 1).to_string(), fill(a))),
                );
                (atom.body.clone(), true)
            }
            StepKind::Copy { .. } | StepKind::Approval { .. } => continue,
        };
        subjects.push(Subject {
            origin: origin_of(flow, step, false),
            step: Some(index),
            step_name: step.name.clone(),
            text,
            is_script,
            vars,
        });
    }
    if let Some(preflight) = &flow.preflight {
        for check in &preflight.checks {
            subjects.push(Subject {
                origin: Origin::File {
                    path: flow.path.clone(),
                    line: locate(&flow.source, preflight.line, check),
                },
                step: None,
                step_name: "pre-flight".into(),
                text: fill(check),
                is_script: false,
                vars: defaults.clone(),
            });
        }
    }
    subjects
}

fn origin_of(flow: &Flow, step: &Step, adhoc: bool) -> Origin {
    if adhoc {
        return Origin::CommandLine;
    }
    match &step.kind {
        StepKind::Atom { atom, .. } => Origin::File {
            path: atom.path.clone(),
            line: 1,
        },
        StepKind::Script { body, .. } => Origin::File {
            path: flow.path.clone(),
            line: locate(&flow.source, step.line, body),
        },
        StepKind::Command { command } => Origin::File {
            path: flow.path.clone(),
            line: locate(&flow.source, step.line, command),
        },
        _ => Origin::File {
            path: flow.path.clone(),
            line: step.line,
        },
    }
}

/// The line (1-based) at or after `from` where `text`'s first line is
/// written in the flow file; `from` if it cannot be found.
fn locate(source: &str, from: usize, text: &str) -> usize {
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return from;
    };
    source
        .lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, line)| line.contains(first))
        .map_or(from, |(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_found_at_their_line() {
        let source = "name: x\nsteps:\n  - name: a\n    script: |\n      #!/bin/sh\n      echo hi\n  - command: reboot now\n";
        assert_eq!(locate(source, 3, "#!/bin/sh\necho hi\n"), 5);
        assert_eq!(locate(source, 7, "reboot now"), 7);
        assert_eq!(locate(source, 3, "not there"), 3);
    }
}
