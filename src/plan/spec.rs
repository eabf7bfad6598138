//! A run before it has an id: the flow, its param values, the hosts in run
//! order and the rollout — whoever asked for it (the command line, the
//! console's Planner, a rerun).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::options::Rollout;
use crate::engine::OnFailure;
use crate::flow::{Flow, Step, StepKind};
use crate::inventory::select::Selection;
use crate::inventory::{HostId, Inventory};
use crate::rollout::{BatchMode, HostOrder, order_hosts};
use crate::safety::SafetyOptions;
use crate::transport::resolve::ResolveOptions;

/// Everything a run needs before it gets an instance id.
pub struct RunSpec {
    pub flow: Flow,
    /// The flow's param values (secret ones included; never stored).
    pub params: Vec<(String, String)>,
    /// Selected hosts in run order.
    pub hosts: Vec<HostId>,
    pub rollout: Rollout,
    /// How the operator selected hosts, as recorded in the journal.
    pub target: Value,
    /// Batch confirmations and approvals are answered in advance.
    pub yes: bool,
    pub resolve: ResolveOptions,
    /// Pre-flight, --allow, the lock, nice/ionice, notifications.
    pub safety: SafetyOptions,
}

/// The hosts a selection names, with the flow's `targets:` standing in for
/// a missing pattern.
pub fn selection_for(flow: &Flow, mut selection: Selection) -> Selection {
    if selection.pattern.is_none() {
        selection.pattern = flow.targets.clone();
    }
    selection
}

/// `hosts` in rollout order.
pub fn in_run_order(inv: &Inventory, hosts: &[HostId], order: HostOrder) -> Vec<HostId> {
    let named: Vec<(HostId, &str)> = hosts.iter().map(|&h| (h, inv.host_name(h))).collect();
    order_hosts(named, order, |(_, name)| name)
        .into_iter()
        .map(|(h, _)| h)
        .collect()
}

/// `-c CMD` is a flow of one command step. The command reaches the shell
/// exactly as typed: its `$` are escaped from flow substitution (`${x}` in
/// it is the shell's, and it has no params anyway), which turns `$$` back
/// into `$`.
pub fn adhoc_flow(command: &str) -> Flow {
    Flow {
        name: format!("adhoc: {command}"),
        description: None,
        path: PathBuf::new(),
        source: command.to_string(),
        targets: None,
        params: Vec::new(),
        rollout: Default::default(),
        steps: vec![Step {
            name: "command".into(),
            line: 1,
            kind: StepKind::Command {
                command: command.replace('$', "$$"),
            },
            timeout: None,
            retries: 0,
            retry_interval: Duration::from_secs(5),
            on_failure: OnFailure::Stop,
            targets: None,
            manners: Default::default(),
        }],
        rollback: Vec::new(),
        preflight: None,
        lock: None,
        manners: Default::default(),
        notify: Vec::new(),
    }
}

/// What a run of `flow` in `mode` asks an operator: batches to confirm,
/// steps to approve. Without an operator (headless, a schedule) each needs
/// `--yes`.
pub fn operator_questions(flow: &Flow, mode: BatchMode) -> Vec<OperatorQuestion> {
    let mut questions = Vec::new();
    if mode == BatchMode::Confirm {
        questions.push(OperatorQuestion::ConfirmBatches);
    }
    if flow
        .steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::Approval { .. }))
    {
        questions.push(OperatorQuestion::ApprovalSteps);
    }
    questions
}

/// What a run would ask its operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorQuestion {
    /// `--mode confirm`: every batch.
    ConfirmBatches,
    /// The flow has `approval:` steps.
    ApprovalSteps,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::params;

    #[test]
    fn adhoc_commands_are_not_substituted() {
        let typed = r#"echo ${HOME} $$ "$1" $((1+2)) $"#;
        let flow = adhoc_flow(typed);
        let StepKind::Command { command } = &flow.steps[0].kind else {
            panic!("a command step");
        };
        assert_eq!(params::substitute(command, &[]).unwrap(), typed);
        assert_eq!(flow.source, typed);
    }
}
