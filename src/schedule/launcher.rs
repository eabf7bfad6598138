//! Starting a run as a child process: the scheduler's fires and resumes.
//! The child is this jobdeck binary with a command line; it runs in its own
//! process group (a Ctrl-C meant for the parent does not reach it) with
//! stdin closed and its output appended to a log only its user can read.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::{DateTime, Utc};

use crate::engine::events::InstanceId;

/// What a child process is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchKind {
    /// A schedule's fire at its due time.
    Fire { schedule: i64, due: DateTime<Utc> },
    /// `jobdeck resume` of a rollout interrupted while waiting.
    Resume { instance: InstanceId },
}

impl LaunchKind {
    /// What it is, for logs: `resume of run 7`.
    pub fn describe(&self) -> String {
        match self {
            LaunchKind::Fire { schedule, due } => {
                format!("schedule {schedule}, fire time {}", due.to_rfc3339())
            }
            LaunchKind::Resume { instance } => format!("resume of run {instance}"),
        }
    }
}

/// One child process to start: `program args...` in `workdir`, its output
/// appended to `log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchRequest {
    pub kind: LaunchKind,
    pub args: Vec<String>,
    pub workdir: Option<PathBuf>,
    pub log: PathBuf,
}

/// A started child; `child` is None for launchers that start nothing real.
pub struct Launched {
    pub pid: u32,
    pub child: Option<Child>,
}

/// Starts runs. The real one spawns jobdeck; tests record requests.
pub trait Launcher: Send {
    fn launch(&mut self, request: &LaunchRequest) -> std::io::Result<Launched>;
}

/// Spawns `program` (normally this jobdeck binary) for each run.
pub struct ProcessLauncher {
    pub program: PathBuf,
}

impl ProcessLauncher {
    /// This binary. The console and the daemon both use it.
    pub fn current_exe() -> std::io::Result<ProcessLauncher> {
        Ok(ProcessLauncher {
            program: std::env::current_exe()?,
        })
    }
}

impl Launcher for ProcessLauncher {
    fn launch(&mut self, request: &LaunchRequest) -> std::io::Result<Launched> {
        let mut log = open_log(&request.log)?;
        let when = Utc::now().to_rfc3339();
        writeln!(
            log,
            "# jobdeck scheduler, {when}: {}",
            request.kind.describe()
        )?;
        writeln!(
            log,
            "# {} {}",
            self.program.display(),
            request.args.join(" ")
        )?;
        let mut command = Command::new(&self.program);
        command
            .args(&request.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C meant for the daemon's
            // terminal does not abort the runs it started.
            .process_group(0);
        if let Some(dir) = request.workdir.as_deref().filter(|d| d.is_dir()) {
            command.current_dir(dir);
        }
        let child = command.spawn()?;
        Ok(Launched {
            pid: child.id(),
            child: Some(child),
        })
    }
}

fn open_log(path: &Path) -> std::io::Result<File> {
    if let Some(parent) = path.parent() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}
