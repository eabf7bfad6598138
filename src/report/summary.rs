//! How a run ended, for the closing line and the process exit code.

use std::time::Duration;

use super::labels::{format_run_time, status_label};
use crate::engine::events::{HostStatus, InstanceId, InstanceStatus};
use crate::exit;

#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub instance: InstanceId,
    pub flow: String,
    /// Hosts of the instance.
    pub hosts: usize,
    /// Final host statuses with their counts, in `HostStatus::ALL` order;
    /// only statuses some host ended in.
    pub counts: Vec<(HostStatus, usize)>,
    /// Hosts without a final status in this run (done before a resume, or
    /// the run stopped early).
    pub not_finished: usize,
    /// Hosts counted above that finished before a resume.
    pub done_before: usize,
    pub status: InstanceStatus,
    pub reason: Option<String>,
    pub elapsed: Duration,
    /// Refused before any host ran: the guard, the lock or a strict
    /// pre-flight said no. Exits 2, like bad input: nothing was run.
    pub refused: bool,
    /// Writing the report failed (say, a closed pipe); events were still
    /// consumed to the end so the engine was never held up.
    pub output_error: Option<String>,
}

impl RunSummary {
    pub fn count(&self, status: HostStatus) -> usize {
        self.counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }

    /// Hosts that count as failed (`HostStatus::is_failure`).
    pub fn failed(&self) -> usize {
        self.counts
            .iter()
            .filter(|(s, _)| s.is_failure())
            .map(|(_, n)| n)
            .sum()
    }

    /// The process exit code for `jobdeck --run` (see `jobdeck::exit`).
    pub fn exit_code(&self) -> u8 {
        if self.refused {
            return exit::USAGE;
        }
        match self.status {
            InstanceStatus::Ok if self.failed() == 0 => exit::OK,
            InstanceStatus::Ok | InstanceStatus::Failed => exit::FAILED,
            InstanceStatus::Aborted => exit::ABORTED,
            InstanceStatus::Interrupted
            | InstanceStatus::Paused
            | InstanceStatus::Waiting
            | InstanceStatus::Running => exit::INTERRUPTED,
        }
    }

    /// `3 hosts: 2 ok, 1 failed in 12.3s — instance 42 failed: 1 of 3 host(s) failed`
    pub fn line(&self) -> String {
        let mut line = format!("{} host{}", self.hosts, plural(self.hosts));
        let mut parts: Vec<String> = self
            .counts
            .iter()
            .map(|(status, n)| format!("{n} {}", status_label(*status).to_lowercase()))
            .collect();
        if self.not_finished > 0 {
            parts.push(format!("{} not run", self.not_finished));
        }
        if !parts.is_empty() {
            line.push_str(": ");
            line.push_str(&parts.join(", "));
        }
        line.push_str(&format!(
            " in {} — instance {}",
            format_run_time(self.elapsed),
            self.instance
        ));
        if self.done_before > 0 {
            line.push_str(&format!(
                " ({} finished before the resume)",
                self.done_before
            ));
        }
        if self.status != InstanceStatus::Ok {
            line.push_str(&format!(" {}", self.status.as_str().replace('_', " ")));
            if let Some(reason) = &self.reason {
                line.push_str(": ");
                line.push_str(reason);
            }
        }
        line
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(status: InstanceStatus, counts: Vec<(HostStatus, usize)>) -> RunSummary {
        RunSummary {
            instance: 42,
            flow: "deploy".into(),
            hosts: counts.iter().map(|(_, n)| n).sum(),
            counts,
            not_finished: 0,
            done_before: 0,
            status,
            reason: None,
            elapsed: Duration::from_millis(12_345),
            refused: false,
            output_error: None,
        }
    }

    #[test]
    fn exit_codes() {
        use HostStatus as H;
        use InstanceStatus as I;
        assert_eq!(summary(I::Ok, vec![(H::Ok, 3)]).exit_code(), 0);
        assert_eq!(
            summary(I::Ok, vec![(H::Ok, 2), (H::Skipped, 1)]).exit_code(),
            0
        );
        assert_eq!(
            summary(I::Failed, vec![(H::Ok, 2), (H::Failed, 1)]).exit_code(),
            1
        );
        // Never 0 while a host failed, whatever the instance says.
        assert_eq!(summary(I::Ok, vec![(H::Unreachable, 1)]).exit_code(), 1);
        assert_eq!(summary(I::Aborted, vec![(H::Failed, 3)]).exit_code(), 3);
        assert_eq!(summary(I::Interrupted, vec![(H::Ok, 1)]).exit_code(), 4);
        assert_eq!(summary(I::Paused, vec![]).exit_code(), 4);
    }

    #[test]
    fn line_lists_non_zero_counts_and_the_reason() {
        let mut s = summary(
            InstanceStatus::Failed,
            vec![(HostStatus::Ok, 2), (HostStatus::TimedOut, 1)],
        );
        s.reason = Some("1 of 3 host(s) failed".into());
        assert_eq!(
            s.line(),
            "3 hosts: 2 ok, 1 timed out in 12.3s — instance 42 failed: 1 of 3 host(s) failed"
        );
        let one = summary(InstanceStatus::Ok, vec![(HostStatus::Ok, 1)]);
        assert_eq!(one.line(), "1 host: 1 ok in 12.3s — instance 42");
    }
}
