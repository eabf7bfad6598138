//! One host's output laid out step by step for people, stdout first, then
//! stderr with every line marked.

use std::fmt::Write as _;
use std::time::Duration;

use super::capture::{HostCapture, Piece};
use super::labels::{format_bytes, format_host_time, status_label};
use super::run::RunInfo;
use super::sanitize::{clean_text, one_line};
use crate::engine::events::{HostIndex, HostStatus, StepOutcome, Stream};
use crate::journal::output_cap::{self, DEFAULT_OUTPUT_CAP};

/// Every stderr line starts with this, so `grep 'stderr: '` finds them.
pub const STDERR_MARK: &str = "stderr: ";

/// `exit 3`, `signal KILL`, `connection refused`, or a mix, `, `-joined.
pub fn outcome_detail(outcome: &StepOutcome, with_error: bool) -> String {
    let mut parts = Vec::new();
    if let Some(code) = outcome.exit_code.filter(|&c| c != 0) {
        parts.push(format!("exit {code}"));
    }
    if let Some(signal) = &outcome.signal {
        parts.push(format!("signal {}", one_line(signal)));
    }
    if with_error && let Some(error) = &outcome.error {
        parts.push(one_line(error));
    }
    parts.join(", ")
}

/// The step outcome that explains a host's end: the last step that ended
/// the way the host did, else the last failing flow step (a rolled-back
/// host failed in its flow, then ran its rollback).
pub fn deciding_section(capture: &HostCapture, status: HostStatus, run: &RunInfo) -> Option<usize> {
    if status == HostStatus::Ok {
        return None;
    }
    let sections = &capture.sections;
    let ended = |i: &usize| sections[*i].outcome.as_ref();
    (0..sections.len())
        .rev()
        .find(|i| ended(i).is_some_and(|o| o.status == status))
        .or_else(|| {
            (0..sections.len()).rev().find(|i| {
                sections[*i].step < run.main_steps
                    && ended(i).is_some_and(|o| o.status != HostStatus::Ok)
            })
        })
}

/// What follows a non-ok host's name: `exit 3 in step 2/3: install`.
pub fn host_detail(
    capture: Option<&HostCapture>,
    status: HostStatus,
    run: &RunInfo,
    with_error: bool,
) -> String {
    let Some(capture) = capture else {
        return String::new();
    };
    let Some(index) = deciding_section(capture, status, run) else {
        return String::new();
    };
    let section = &capture.sections[index];
    let mut detail = section
        .outcome
        .as_ref()
        .map(|o| outcome_detail(o, with_error))
        .unwrap_or_default();
    if run.multi_step() {
        if !detail.is_empty() {
            detail.push(' ');
        }
        detail.push_str("in ");
        detail.push_str(&run.step_label(section.step));
    }
    detail
}

/// `[2] 10:00:02 [FAILED] web02 (0.50s): exit 3`
pub fn host_header(
    order: usize,
    time: &str,
    status: HostStatus,
    name: &str,
    took: Option<Duration>,
    detail: &str,
) -> String {
    let mut line = format!("[{order}] {time} [{}] {name}", status_label(status));
    if let Some(took) = took {
        let _ = write!(line, " ({})", format_host_time(took));
    }
    if !detail.is_empty() {
        line.push_str(": ");
        line.push_str(detail);
    }
    line.push('\n');
    line
}

/// A host's kept output, section by section: step headers (when the flow
/// has several steps or a step was retried), stdout, then stderr with
/// each line marked, and a note where output was cut.
pub fn render_output(out: &mut String, capture: &HostCapture, run: &RunInfo, host: HostIndex) {
    render_output_with(out, capture, run, host, &|text| text);
}

/// [`render_output`] with each stream's text and the cut note (it names the
/// host) passed through `shown` (the gathered comparison's normalising); the
/// step headers stay as they are.
pub fn render_output_with(
    out: &mut String,
    capture: &HostCapture,
    run: &RunInfo,
    host: HostIndex,
    shown: &dyn Fn(String) -> String,
) {
    let headers = run.multi_step() || capture.sections.len() > 1;
    let cut = capture.cut_bytes();
    let cut_section = capture
        .tail
        .front()
        .map(|p| p.section)
        .or_else(|| capture.head.last().map(|p| p.section));
    // Pieces are in arrival order and sections run one after another, so
    // each section's pieces are a contiguous run of `head` and of `tail`.
    let mut head = capture.head.iter().peekable();
    let mut tail = capture.tail.iter().peekable();
    for (index, section) in capture.sections.iter().enumerate() {
        if headers {
            let _ = write!(out, "-- {}", run.step_label(section.step));
            if section.attempt > 1 {
                let _ = write!(out, " (attempt {})", section.attempt);
            }
            if let Some(outcome) = section
                .outcome
                .as_ref()
                .filter(|o| o.status != HostStatus::Ok)
            {
                let _ = write!(out, " [{}", status_label(outcome.status));
                let detail = outcome_detail(outcome, true);
                if !detail.is_empty() {
                    let _ = write!(out, ": {detail}");
                }
                out.push(']');
            }
            out.push('\n');
        }
        write_streams(out, take_section(&mut head, index), shown);
        if cut > 0 && cut_section == Some(index) {
            // Say what the journal has only as far as it has it.
            let show = format!(
                "jobdeck show {} --host {}",
                run.instance,
                run.host_name(host)
            );
            let journal = if capture.journal_failed {
                "the journal could not record this run (see the errors below)".to_owned()
            } else if capture.journal_keeps_all(DEFAULT_OUTPUT_CAP) {
                format!("the journal has it: {show}")
            } else {
                format!("{}: {show}", output_cap::what_is_kept(DEFAULT_OUTPUT_CAP))
            };
            // It names the host: compared as output is.
            out.push_str(&shown(format!(
                "[... {} of output cut here; {journal} ...]\n",
                format_bytes(cut)
            )));
        }
        write_streams(out, take_section(&mut tail, index), shown);
    }
}

fn take_section<'a>(
    pieces: &mut std::iter::Peekable<impl Iterator<Item = &'a Piece>>,
    section: usize,
) -> Vec<&'a Piece> {
    let mut taken = Vec::new();
    while let Some(piece) = pieces.next_if(|p| p.section <= section) {
        taken.push(piece);
    }
    taken
}

fn write_streams(out: &mut String, pieces: Vec<&Piece>, shown: &dyn Fn(String) -> String) {
    for stream in [Stream::Stdout, Stream::Stderr] {
        let bytes: Vec<u8> = pieces
            .iter()
            .filter(|p| p.stream == stream)
            .flat_map(|p| p.bytes().iter().copied())
            .collect();
        if bytes.is_empty() {
            continue;
        }
        let text = shown(clean_text(&bytes));
        for line in text.lines() {
            if stream == Stream::Stderr {
                out.push_str(STDERR_MARK);
            }
            out.push_str(line);
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_details() {
        let outcome = StepOutcome {
            status: HostStatus::TimedOut,
            exit_code: None,
            signal: Some("KILL".into()),
            error: Some("command timed out;\nkilled".into()),
        };
        assert_eq!(
            outcome_detail(&outcome, true),
            "signal KILL, command timed out; killed"
        );
        assert_eq!(outcome_detail(&outcome, false), "signal KILL");
    }
}
