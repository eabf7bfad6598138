//! Retention applied by the scheduler: every [`RETENTION_EVERY`], the
//! process that holds the scheduler lease reads the `[retention]` section
//! of the config file (see `journal::retention`) and prunes the journal
//! with it, on a thread of its own so that firing schedules and renewing
//! the lease never wait for it. Each pass is logged, and so is a config
//! mistake (the pass is then skipped).
//!
//! The pass never converts an old journal to incremental auto-vacuum (that
//! `VACUUM` would hold the journal for as long as it takes); it says so,
//! and `jobdeck journal prune` does it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::event::Level;
use super::store::ScheduleStore;
use crate::journal::Journal;
use crate::journal::prune::{PruneOptions, PruneReport, SpaceOutcome};
use crate::journal::retention::Retention;
use crate::report::format_bytes;

/// How often the lease holder applies retention.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// One log line.
pub type Line = (Level, String);

/// The hourly pass and the thread it runs on.
#[derive(Default)]
pub struct RetentionJob {
    running: Option<(JoinHandle<Vec<Line>>, Arc<AtomicBool>)>,
    last_start: Option<DateTime<Utc>>,
}

impl RetentionJob {
    /// Called on every tick of the lease holder: collects a finished pass
    /// and starts the next one when it is due. Returns lines to log.
    pub fn poll(&mut self, now: DateTime<Utc>, journal: &Path, config: Option<&Path>) -> Vec<Line> {
        let mut lines = Vec::new();
        if let Some((thread, _)) = &self.running {
            if !thread.is_finished() {
                return lines;
            }
            if let Some((thread, _)) = self.running.take() {
                lines.extend(thread.join().unwrap_or_else(|_| {
                    vec![(Level::Error, "retention: the pass panicked".to_owned())]
                }));
            }
        }
        let due = self.last_start.is_none_or(|at| {
            now - at >= chrono::Duration::from_std(RETENTION_EVERY).unwrap_or_default() || now < at
        });
        let Some(config) = config.filter(|_| due) else {
            return lines;
        };
        self.last_start = Some(now);
        let cancel = Arc::new(AtomicBool::new(false));
        let (journal, config, stop) = (journal.to_path_buf(), config.to_path_buf(), cancel.clone());
        let now_ms = now.timestamp_millis();
        match std::thread::Builder::new()
            .name("jobdeck-retention".into())
            .spawn(move || apply(&journal, &config, now_ms, stop))
        {
            Ok(thread) => self.running = Some((thread, cancel)),
            Err(e) => lines.push((
                Level::Error,
                format!("retention: cannot start a thread: {e}"),
            )),
        }
        lines
    }

    /// Stops a pass between two batches and waits for it.
    pub fn stop(&mut self) -> Vec<Line> {
        match self.running.take() {
            Some((thread, cancel)) => {
                cancel.store(true, Ordering::Relaxed);
                thread.join().unwrap_or_default()
            }
            None => Vec::new(),
        }
    }
}

/// One pass: read the config, resolve schedule names, prune, describe.
fn apply(journal: &Path, config: &Path, now_ms: i64, cancel: Arc<AtomicBool>) -> Vec<Line> {
    let retention = match Retention::load(config) {
        Ok(Some(retention)) => retention,
        Ok(None) => return Vec::new(),
        Err(e) => return vec![(Level::Warn, format!("retention: {e}; nothing pruned"))],
    };
    let mut lines = Vec::new();
    let run = || -> anyhow::Result<PruneReport> {
        let store = ScheduleStore::open(journal)?;
        let (policy, unknown) = retention.policy(|name| store.find(name).ok().map(|s| s.id));
        drop(store);
        for name in unknown {
            lines.push((
                Level::Warn,
                format!(
                    "retention: {}: no schedule named '{name}'; its rule is skipped",
                    config.display()
                ),
            ));
        }
        let mut journal = Journal::open(journal)?;
        let options = PruneOptions {
            cancel: Some(cancel),
            ..PruneOptions::default()
        };
        Ok(journal.prune(&policy, &options, now_ms)?)
    };
    match run() {
        Ok(report) => lines.push((Level::Info, describe(&report))),
        Err(e) => lines.push((Level::Error, format!("retention: {e:#}"))),
    }
    lines
}

/// `retention: deleted 12 finished run(s) (deploy 10, health 2), ...`.
pub fn describe(report: &PruneReport) -> String {
    if report.runs == 0 && report.shell_sessions == 0 && !report.stopped_early {
        return "retention: no finished run is due for deletion".to_owned();
    }
    let mut text = format!(
        "retention: deleted {} finished run(s) ({}) with {} host(s) and {} output chunk(s); journal {} -> {}; longest write lock {} ms",
        report.runs,
        report.flows_text(),
        report.hosts,
        report.output_chunks,
        format_bytes(report.bytes_before),
        format_bytes(report.bytes_after),
        report.longest_lock.as_millis()
    );
    if report.shell_sessions > 0 {
        text.push_str(&format!("; {} shell session row(s)", report.shell_sessions));
    }
    if report.stopped_early {
        text.push_str("; stopped early (the scheduler is stopping), the next pass goes on");
    }
    if let SpaceOutcome::Kept { why, .. } = &report.space {
        text.push_str(&format!("; space kept in the file: {why}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls until the running pass has finished and been collected.
    fn collect(job: &mut RetentionJob, now: DateTime<Utc>, journal: &Path) -> Vec<Line> {
        for _ in 0..500 {
            let lines = job.poll(now, journal, None);
            if job.running.is_none() {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the retention pass did not finish");
    }

    #[test]
    fn a_pass_runs_at_once_then_hourly_and_config_mistakes_are_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("journal.db");
        drop(Journal::open(&journal).unwrap());
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "[retention]\ndays = 30\n").unwrap();
        let mut job = RetentionJob::default();
        let t0 = Utc::now();
        assert!(job.poll(t0, &journal, Some(&config)).is_empty());
        assert!(job.running.is_some(), "the first pass starts at once");
        let lines = collect(&mut job, t0, &journal);
        assert_eq!(
            lines,
            [(
                Level::Info,
                "retention: no finished run is due for deletion".to_owned()
            )]
        );
        let minutes = |m: i64| t0 + chrono::Duration::minutes(m);
        assert!(job.poll(minutes(59), &journal, Some(&config)).is_empty());
        assert!(job.running.is_none(), "not again within the hour");

        std::fs::write(&config, "[retention]\ndays = \"ninety\"\n").unwrap();
        job.poll(minutes(60), &journal, Some(&config));
        assert!(job.running.is_some(), "due again after an hour");
        let lines = collect(&mut job, minutes(60), &journal);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0].0, Level::Warn);
        assert!(
            lines[0].1.contains("config.toml:2: ") && lines[0].1.ends_with("; nothing pruned"),
            "{lines:?}"
        );
        assert!(job.stop().is_empty());
    }
}
