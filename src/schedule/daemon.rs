//! `jobdeck daemon`: the scheduler without a terminal.
//!
//! One line per event, `level: message`, with no colours: to stderr (where
//! journald adds its own timestamps) or, with `--log FILE`, appended to a
//! file with an RFC 3339 timestamp first. SIGTERM or SIGINT stops firing,
//! releases the lease and exits 0. Runs already started are separate
//! processes in their own process groups: they keep running and record
//! themselves in the journal. Under systemd use `KillMode=process` so that
//! stopping the daemon does not stop them (see the README).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use super::scheduler::{Scheduler, SchedulerEvent, SchedulerOptions, SystemClock};
use crate::exit;

/// Where event lines go.
enum LogTarget {
    Stderr,
    File(std::fs::File),
}

impl LogTarget {
    fn write(&mut self, event: &SchedulerEvent) {
        let message = event.message.replace('\n', " ");
        let _ = match self {
            LogTarget::Stderr => writeln!(std::io::stderr().lock(), "{}: {message}", event.level),
            LogTarget::File(file) => writeln!(
                file,
                "{} {}: {message}",
                event.at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                event.level
            ),
        };
    }
}

fn open_log_file(path: &Path) -> Result<LogTarget> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("--log {}", path.display()))?;
    Ok(LogTarget::File(file))
}

pub fn run(journal: PathBuf, log: Option<PathBuf>) -> Result<u8> {
    let target = match &log {
        // Appending to the journal would corrupt it (and drop SQLite's locks).
        Some(path) if crate::journal::is_journal_file(path, &journal) => anyhow::bail!(
            "--log {}: that is the journal's own file; give the log another name",
            path.display()
        ),
        Some(path) => open_log_file(path)?,
        None => LogTarget::Stderr,
    };
    let journal = std::path::absolute(&journal).unwrap_or(journal);
    let target = Arc::new(Mutex::new(target));
    let say = {
        let target = target.clone();
        move |event: SchedulerEvent| {
            target
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .write(&event)
        }
    };
    say(SchedulerEvent {
        at: chrono::Utc::now(),
        level: super::scheduler::Level::Info,
        message: format!(
            "jobdeck daemon {} started (pid {}), journal {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            journal.display()
        ),
    });
    let options = SchedulerOptions::for_this_binary("daemon")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Signal handlers first, so a SIGTERM right after start is not lost.
    let signal_name = runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let handle = Scheduler::spawn_with(&journal, Arc::new(SystemClock), options, say.clone())?;
        let name = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
        say(SchedulerEvent {
            at: chrono::Utc::now(),
            level: super::scheduler::Level::Info,
            message: format!("{name}: stopping (no new fires)"),
        });
        // Joining the thread blocks; nothing else runs on this runtime.
        handle.stop();
        anyhow::Ok(name)
    })?;
    say(SchedulerEvent {
        at: chrono::Utc::now(),
        level: super::scheduler::Level::Info,
        message: format!("jobdeck daemon exits after {signal_name}"),
    });
    Ok(exit::OK)
}
