//! Reruns and resumes an operator starts from the console's History: the
//! real binary as a child process (`jobdeck rerun ID --failed`, `jobdeck
//! resume ID`, with the console's `--journal` and `-i`), started through
//! the scheduler's launcher (its own process group, a log under
//! `tui-logs/` next to the journal that only its user can read), then
//! waited for on the same blocking thread. The run itself is then an
//! ordinary headless one; History sees it appear in the journal.

use std::path::{Path, PathBuf};

use chrono::Local;

use crate::engine::events::InstanceId;
use crate::report::sanitize::clean_text;
use crate::schedule::launcher::{LaunchKind, LaunchRequest, Launcher, ProcessLauncher};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    Rerun,
    Resume,
}

impl ChildKind {
    pub fn word(self) -> &'static str {
        match self {
            ChildKind::Rerun => "rerun",
            ChildKind::Resume => "resume",
        }
    }
}

/// The command line a rerun or resume runs: global options, then the
/// subcommand.
pub fn child_args(
    kind: ChildKind,
    id: InstanceId,
    journal: &Path,
    inventory: &[PathBuf],
) -> Vec<String> {
    let mut args = Vec::new();
    for source in inventory {
        args.push("-i".to_string());
        args.push(source.display().to_string());
    }
    args.push("--journal".into());
    args.push(journal.display().to_string());
    args.push(kind.word().into());
    args.push(id.to_string());
    if kind == ChildKind::Rerun {
        args.push("--failed".into());
    }
    args
}

/// What a child run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildEvent {
    Started {
        pid: u32,
        log: PathBuf,
    },
    /// It could not be started (the log says no more).
    Failed {
        error: String,
        log: PathBuf,
    },
    /// It ended: how, with the last line of its log.
    Ended {
        outcome: String,
    },
}

/// Everything a child run needs.
#[derive(Debug, Clone)]
pub struct ChildRun {
    pub kind: ChildKind,
    pub id: InstanceId,
    pub journal: PathBuf,
    pub inventory: Vec<PathBuf>,
    /// The binary; `None` is this jobdeck.
    pub program: Option<PathBuf>,
}

/// Starts the child, reports it, waits for it and reports how it ended.
/// Blocks until then: run it off the UI task.
pub fn run(child: ChildRun, report: &dyn Fn(ChildEvent)) {
    let dir = child
        .journal
        .parent()
        .unwrap_or(Path::new("."))
        .join("tui-logs");
    let stamp = Local::now().format("%Y%m%d-%H%M%S");
    let log = dir.join(format!("{}-{}-{stamp}.log", child.kind.word(), child.id));
    // Old logs go first, as the scheduler prunes its own.
    let _ = crate::schedule::logs::prune(&dir, std::time::SystemTime::now());
    let mut launcher = match child.program {
        Some(program) => ProcessLauncher { program },
        None => match ProcessLauncher::current_exe() {
            Ok(launcher) => launcher,
            Err(e) => {
                return report(ChildEvent::Failed {
                    error: format!("cannot find jobdeck: {e}"),
                    log,
                });
            }
        },
    };
    let request = LaunchRequest {
        kind: match child.kind {
            ChildKind::Rerun => LaunchKind::Rerun { instance: child.id },
            ChildKind::Resume => LaunchKind::ResumeByOperator { instance: child.id },
        },
        args: child_args(child.kind, child.id, &child.journal, &child.inventory),
        workdir: None,
        log: log.clone(),
    };
    let launched = match launcher.launch(&request) {
        Ok(launched) => launched,
        Err(e) => {
            return report(ChildEvent::Failed {
                error: e.to_string(),
                log,
            });
        }
    };
    report(ChildEvent::Started {
        pid: launched.pid,
        log: log.clone(),
    });
    let code = launched
        .child
        .and_then(|mut process| process.wait().ok())
        .and_then(|status| status.code());
    report(ChildEvent::Ended {
        outcome: child_outcome(code, &log),
    });
}

/// How the child ended, with the last line of its log.
fn child_outcome(code: Option<i32>, log: &Path) -> String {
    let text = std::fs::read(log)
        .map(|bytes| {
            let start = bytes.len().saturating_sub(4096);
            clean_text(&bytes[start..])
        })
        .unwrap_or_default();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with("# "))
        .unwrap_or("")
        .trim()
        .to_string();
    let exit = match code {
        Some(0) => "finished".to_string(),
        Some(n) => format!("exited {n}"),
        None => "killed".to_string(),
    };
    if last.is_empty() {
        exit
    } else {
        format!("{exit}: {last}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_command_lines() {
        let args = child_args(
            ChildKind::Rerun,
            7,
            Path::new("/j/journal.db"),
            &[PathBuf::from("/inv")],
        );
        assert_eq!(
            args,
            [
                "-i",
                "/inv",
                "--journal",
                "/j/journal.db",
                "rerun",
                "7",
                "--failed"
            ]
        );
        let args = child_args(ChildKind::Resume, 3, Path::new("j.db"), &[]);
        assert_eq!(args, ["--journal", "j.db", "resume", "3"]);
    }

    #[test]
    fn a_child_is_started_waited_for_and_described() {
        let dir = tempfile::tempdir().unwrap();
        let events = std::sync::Mutex::new(Vec::new());
        run(
            ChildRun {
                kind: ChildKind::Rerun,
                id: 4,
                journal: dir.path().join("journal.db"),
                inventory: Vec::new(),
                program: Some(PathBuf::from("/bin/echo")),
            },
            &|e| events.lock().unwrap().push(e),
        );
        let events = events.into_inner().unwrap();
        assert!(
            matches!(events[0], ChildEvent::Started { .. }),
            "{events:?}"
        );
        assert_eq!(
            events[1],
            ChildEvent::Ended {
                outcome: format!(
                    "finished: --journal {} rerun 4 --failed",
                    dir.path().join("journal.db").display()
                )
            }
        );
    }
}
