//! The part of `jobdeck show` that tells what guarded a run: guard hits,
//! the pre-flight result, the lock, and each notification delivery.

use std::fmt::Write as _;

use crate::engine::events::UnixMillis;
use crate::hostlist::fold;
use crate::journal::guardrails::Guardrails;
use crate::report::RunInfo;
use crate::report::sanitize::one_line;

/// A field of `show`'s header: a label, then its lines aligned under the
/// first.
pub(super) fn push_field(out: &mut String, label: &str, lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        let label = if i == 0 {
            format!("{label}:")
        } else {
            String::new()
        };
        let _ = writeln!(out, "  {label:<10} {line}");
    }
}

/// Lines in `show`'s `  label:     value` layout; empty when nothing
/// guarded the run.
pub fn render(
    guardrails: &Guardrails,
    lock: Option<&str>,
    run: &RunInfo,
    time: &dyn Fn(UnixMillis) -> String,
) -> String {
    let mut out = String::new();
    let mut field = |label: &str, lines: Vec<String>| push_field(&mut out, label, &lines);
    if !guardrails.guard_hits.is_empty() {
        let lines = guardrails
            .guard_hits
            .iter()
            .map(|h| {
                let step = h
                    .step
                    .map(|s| format!(" ({})", run.step_label(s)))
                    .unwrap_or_default();
                format!(
                    "{} rule '{}' ({}) at {}{step}: matched `{}` ({}, {})",
                    h.outcome,
                    one_line(&h.rule),
                    h.action,
                    one_line(&h.location),
                    one_line(&h.matched),
                    one_line(&h.user),
                    time(h.at)
                )
            })
            .collect();
        field("guard", lines);
    }
    if let Some(lock) = lock {
        field("lock", vec![one_line(lock)]);
    }
    if let Some(first) = guardrails.preflight.first() {
        let ready = guardrails.preflight.iter().filter(|p| p.ready).count();
        let mut lines = vec![format!(
            "{} ({}): {ready} of {} host(s) ready",
            "checked",
            first.mode,
            guardrails.preflight.len()
        )];
        let mut reasons: Vec<(String, Vec<String>)> = Vec::new();
        for p in guardrails.preflight.iter().filter(|p| !p.ready) {
            let reason = one_line(p.reason.as_deref().unwrap_or("not ready"));
            match reasons.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, hosts)) => hosts.push(run.host_name(p.host)),
                None => reasons.push((reason, vec![run.host_name(p.host)])),
            }
        }
        for (reason, hosts) in reasons {
            lines.push(format!(
                "not ready: {}: {reason}",
                fold(hosts.iter().map(String::as_str))
            ));
        }
        field("pre-flight", lines);
    }
    if !guardrails.notifications.is_empty() {
        let lines = guardrails
            .notifications
            .iter()
            .map(|n| {
                let mut line = format!("{} → {}: {}", n.event, one_line(&n.target), n.outcome);
                let mut parts = Vec::new();
                if let Some(status) = n.http_status {
                    parts.push(format!("HTTP {status}"));
                }
                parts.push(format!(
                    "{} attempt{}",
                    n.attempts,
                    if n.attempts == 1 { "" } else { "s" }
                ));
                if let Some(error) = n.error.as_deref().filter(|_| n.outcome != "sent") {
                    parts.push(one_line(error));
                }
                let _ = write!(line, " ({}, {})", parts.join(", "), time(n.at));
                line
            })
            .collect();
        field("notified", lines);
    }
    out
}
