//! Job flows and the script atoms they are built from — files an engineer
//! keeps in git.
//!
//! - An **atom** is a script with a shebang. Its metadata (name,
//!   description, typed params, timeout, run-as user) is a YAML block in a
//!   comment header between two `# ---` lines, so an atom is one file.
//! - A **flow** is YAML: params, default targets, a rollout, ordered steps
//!   (an atom, an inline script, a command, a file copy, or an approval) and
//!   rollback steps; and what guards the run: pre-flight checks, a run
//!   lock, nice/ionice, notification targets.
//!
//! Loading checks everything it can and reports every problem with its
//! file and line.

pub mod atom;
mod atom_library;
pub mod catalog;
pub mod check;
pub mod document;
pub mod load;
pub mod params;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use atom::Atom;
pub use load::load_flow;
pub use params::{ParamKind, ParamSpec};

use crate::engine::OnFailure;
use crate::preflight::PreflightMode;
use crate::rollout::{BatchExpr, BatchMode, HostOrder, MaxFail};
use crate::transport::Manners;

/// A problem in a flow or atom file, at a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct FlowError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

impl FlowError {
    pub fn new(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        FlowError {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}

/// A file that cannot be read is a problem at its first line; text that is
/// not UTF-8, at the line of the first bad byte.
impl From<crate::input_file::InputError> for FlowError {
    fn from(e: crate::input_file::InputError) -> Self {
        FlowError::new(e.path, e.line.unwrap_or(1), e.problem)
    }
}

/// Every problem found in one flow, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowErrors(pub Vec<FlowError>);

impl std::fmt::Display for FlowErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FlowErrors {}

#[derive(Debug, Clone)]
pub struct Flow {
    pub name: String,
    pub description: Option<String>,
    pub path: PathBuf,
    /// The file as written, kept with every run.
    pub source: String,
    /// The default host pattern when the run names none.
    pub targets: Option<String>,
    pub params: Vec<ParamSpec>,
    pub rollout: RolloutSpec,
    pub steps: Vec<Step>,
    pub rollback: Vec<Step>,
    /// `preflight:`: checks every host must pass before batch 1.
    pub preflight: Option<FlowPreflight>,
    /// `lock:`: a run lock (`${param}` allowed), held while the run goes.
    pub lock: Option<String>,
    /// `nice:` / `ionice:` for every step (a step's own settings win).
    pub manners: Manners,
    /// `notify:`: where to send word of the run.
    pub notify: Vec<crate::notify::Target>,
}

/// A flow's `preflight:` — a list of commands, or `{mode, checks}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowPreflight {
    pub mode: Option<PreflightMode>,
    /// Short commands (`${param}` allowed); each must exit 0 on the host.
    pub checks: Vec<String>,
    /// The line of `preflight:` in the flow file.
    pub line: usize,
}

impl Flow {
    /// Every atom the flow uses, once each, in first-use order.
    pub fn atoms(&self) -> Vec<Arc<Atom>> {
        let mut atoms: Vec<Arc<Atom>> = Vec::new();
        for step in self.steps.iter().chain(&self.rollback) {
            if let StepKind::Atom { atom, .. } = &step.kind
                && !atoms.iter().any(|a| Arc::ptr_eq(a, atom))
            {
                atoms.push(atom.clone());
            }
        }
        atoms
    }
}

/// The flow's own rollout defaults; the command line overrides each one.
#[derive(Debug, Clone, Default)]
pub struct RolloutSpec {
    pub batches: Option<BatchExpr>,
    pub interval: Option<Duration>,
    pub mode: Option<BatchMode>,
    pub max_fail: Option<MaxFail>,
    pub forks: Option<usize>,
    pub order: Option<HostOrder>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub line: usize,
    pub kind: StepKind,
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub retry_interval: Duration,
    pub on_failure: OnFailure,
    /// A host pattern; the step runs only on the run's hosts it matches.
    pub targets: Option<String>,
    /// `nice:` / `ionice:` for everything the step starts.
    pub manners: Manners,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    /// An atom with values for its params (`${param}` refers to flow params).
    Atom {
        atom: Arc<Atom>,
        with: Vec<(String, String)>,
        args: Vec<String>,
    },
    /// An inline script; a shebang picks the interpreter (`/bin/sh` without one).
    Script { body: String, args: Vec<String> },
    /// One shell command line.
    Command { command: String },
    /// Copy a local file or directory to the host, atomically.
    Copy {
        src: PathBuf,
        dest: String,
        mode: Option<u32>,
    },
    /// Wait for an operator's approval once per batch.
    Approval { message: String },
}
