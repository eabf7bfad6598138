//! What the reporter knows about the run so far: the hosts, steps and
//! batches announced at the start, and where each host stands. Every text
//! taken from the run is made display-safe once, here.

use std::time::Duration;

use super::sanitize::one_line;
use super::summary::RunSummary;
use crate::engine::events::{
    BatchIndex, HostIndex, HostStatus, InstanceId, InstanceStatus, StepIndex, UnixMillis,
};

/// The engine names rollback steps `rollback: NAME` after the flow's steps.
const ROLLBACK_PREFIX: &str = "rollback: ";

/// A step of a run's step list as every output numbers it, the flow's
/// steps and the rollback steps apart: `step 2/3: install` or
/// `rollback 1/2: restore`. The headless report, `show` and the console
/// all call this.
pub fn step_label(steps: &[String], step: StepIndex) -> String {
    let Some(name) = steps.get(step) else {
        return format!("step #{}", step + 1);
    };
    let main_steps = steps
        .iter()
        .take_while(|s| !s.starts_with(ROLLBACK_PREFIX))
        .count();
    if step < main_steps {
        format!("step {}/{main_steps}: {name}", step + 1)
    } else {
        let rollbacks = steps.len() - main_steps;
        let name = name.strip_prefix(ROLLBACK_PREFIX).unwrap_or(name);
        format!("rollback {}/{rollbacks}: {name}", step + 1 - main_steps)
    }
}

#[derive(Debug, Default)]
pub struct RunInfo {
    pub instance: InstanceId,
    pub flow: String,
    pub hosts: Vec<String>,
    pub steps: Vec<String>,
    /// The flow's own steps; the rest of `steps` are rollback steps.
    pub main_steps: usize,
    pub batches: Vec<Vec<HostIndex>>,
    pub batch_of: Vec<Option<BatchIndex>>,
    pub started_at: Option<UnixMillis>,
    pub last_at: UnixMillis,
    pub finished: Option<(InstanceStatus, Option<String>)>,
    /// The run was refused before any host ran (guard, lock, pre-flight).
    pub refused: bool,
    pub final_status: Vec<Option<HostStatus>>,
    /// How many of `final_status` came from before a resume.
    pub done_before: usize,
    /// When the host's current run began (connect or first step).
    pub host_started: Vec<Option<UnixMillis>>,
    pub batch_started: Vec<Option<UnixMillis>>,
}

impl RunInfo {
    pub fn start(
        &mut self,
        instance: InstanceId,
        at: UnixMillis,
        flow: &str,
        hosts: &[String],
        steps: &[String],
        batches: &[Vec<HostIndex>],
    ) {
        self.instance = instance;
        self.flow = one_line(flow);
        self.hosts = hosts.iter().map(|h| one_line(h)).collect();
        self.steps = steps.iter().map(|s| one_line(s)).collect();
        self.main_steps = steps
            .iter()
            .take_while(|s| !s.starts_with(ROLLBACK_PREFIX))
            .count();
        self.batches = batches.to_vec();
        self.batch_of = vec![None; hosts.len()];
        for (batch, members) in batches.iter().enumerate() {
            for &h in members {
                if let Some(slot) = self.batch_of.get_mut(h) {
                    *slot = Some(batch);
                }
            }
        }
        self.started_at = Some(at);
        self.final_status = vec![None; hosts.len()];
        self.done_before = 0;
        self.host_started = vec![None; hosts.len()];
        self.batch_started = vec![None; batches.len()];
    }

    pub fn host_name(&self, host: HostIndex) -> String {
        self.hosts
            .get(host)
            .cloned()
            .unwrap_or_else(|| format!("host #{host}"))
    }

    /// `step 2/3: install` or `rollback 1/2: restore`.
    pub fn step_label(&self, step: StepIndex) -> String {
        step_label(&self.steps, step)
    }

    pub fn multi_step(&self) -> bool {
        self.steps.len() > 1
    }

    /// `batch 2/4`.
    pub fn batch_label(&self, batch: BatchIndex) -> String {
        format!("batch {}/{}", batch + 1, self.batches.len())
    }

    pub fn batch_size(&self, batch: BatchIndex) -> usize {
        self.batches.get(batch).map_or(0, Vec::len)
    }

    pub fn mark_host_started(&mut self, host: HostIndex, at: UnixMillis) {
        if let Some(slot) = self.host_started.get_mut(host) {
            slot.get_or_insert(at);
        }
    }

    /// Records a host's end; returns how long its run took, if it ran.
    pub fn mark_host_finished(
        &mut self,
        host: HostIndex,
        status: HostStatus,
        at: UnixMillis,
    ) -> Option<Duration> {
        if let Some(slot) = self.final_status.get_mut(host) {
            *slot = Some(status);
        }
        let started = self.host_started.get_mut(host).and_then(Option::take)?;
        Some(Duration::from_millis((at - started).max(0) as u64))
    }

    /// A host done in an earlier run of this instance (before a resume).
    pub fn finished_before(&mut self, host: HostIndex, status: HostStatus) {
        if let Some(slot) = self.final_status.get_mut(host) {
            *slot = Some(status);
            self.done_before += 1;
        }
    }

    pub fn finished_hosts(&self) -> usize {
        self.final_status.iter().flatten().count()
    }

    /// Hosts this run will run: those of the batches (some may have been
    /// done before a resume; the engine does not run them again).
    pub fn hosts_in_batches(&self) -> usize {
        self.batches.iter().map(Vec::len).sum()
    }

    pub fn elapsed(&self) -> Duration {
        let started = self.started_at.unwrap_or(self.last_at);
        Duration::from_millis((self.last_at - started).max(0) as u64)
    }

    pub fn summary(&self) -> RunSummary {
        let (status, reason) = self.finished.clone().unwrap_or((
            InstanceStatus::Interrupted,
            Some("the event stream ended before the instance finished".into()),
        ));
        let mut counts = Vec::new();
        for &wanted in HostStatus::ALL {
            let n = self
                .final_status
                .iter()
                .filter(|s| **s == Some(wanted))
                .count();
            if n > 0 {
                counts.push((wanted, n));
            }
        }
        RunSummary {
            instance: self.instance,
            flow: self.flow.clone(),
            hosts: self.hosts.len(),
            counts,
            not_finished: self.hosts.len() - self.finished_hosts(),
            done_before: self.done_before,
            status,
            reason,
            elapsed: self.elapsed(),
            refused: self.refused,
            output_error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_labels_number_flow_and_rollback_steps_apart() {
        let mut run = RunInfo::default();
        let steps = ["stop", "install", "rollback: restore", "rollback: start"].map(String::from);
        run.start(1, 0, "deploy", &["a".into()], &steps, &[vec![0]]);
        assert_eq!(run.step_label(1), "step 2/2: install");
        assert_eq!(run.step_label(3), "rollback 2/2: start");
        assert_eq!(run.step_label(9), "step #10");
    }
}
