//! `jobdeck journal stats | prune | backup | check`: housekeeping of the
//! journal while runs and the daemon keep using it. The work itself lives
//! in `journal::{stats, prune, backup, check}`; this module prints it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use chrono::{Local, TimeZone};

use super::history::{journal_path, open_existing};
use super::stdout;
use crate::cli::JournalCommand;
use crate::engine::events::{UnixMillis, now_millis};
use crate::exit;
use crate::journal::Journal;
use crate::journal::backup::BackupError;
use crate::journal::check::{CheckReport, check};
use crate::journal::prune::{PruneOptions, PrunePolicy, PruneReport, Rule, SpaceOutcome};
use crate::journal::stats::{JournalStats, LargeRun};
use crate::report::sanitize::one_line;
use crate::report::{format_bytes, format_run_time};

pub fn run(command: JournalCommand, journal: Option<PathBuf>) -> Result<u8> {
    let path = journal_path(journal)?;
    match command {
        JournalCommand::Stats { json, .. } => {
            let stats = open(&path)?.stats()?;
            if json {
                stdout::write(serde_json::to_string_pretty(&stats)? + "\n")
            } else {
                stdout::write(stats_text(&stats))
            }
        }
        JournalCommand::Prune {
            older_than,
            keep_last,
            flow,
            dry_run,
            json,
            ..
        } => {
            let age = crate::duration::parse_duration(&older_than)
                .map_err(|e| anyhow!("--older-than: {e}"))?;
            let rule = Rule {
                older_than: Some(age),
                keep_last: keep_last.unwrap_or(0),
            };
            let policy = match &flow {
                Some(flow) => PrunePolicy::flow(flow, rule),
                None => PrunePolicy::everything(rule),
            };
            let options = PruneOptions {
                dry_run,
                convert: true,
                ..PruneOptions::default()
            };
            let report = open(&path)?.prune(&policy, &options, now_millis())?;
            if json {
                stdout::write(serde_json::to_string_pretty(&report)? + "\n")
            } else {
                stdout::write(prune_text(&report))
            }
        }
        JournalCommand::Backup { path: dest, .. } => {
            let report = match open(&path)?.backup_to(&dest) {
                Err(BackupError::Journal(e)) => return Err(e.into()),
                other => other?,
            };
            stdout::write(format!(
                "backed up {} to {}: {} ({} pages) in {}; the copy passed quick_check\n",
                path.display(),
                report.path.display(),
                format_bytes(report.bytes),
                report.pages,
                format_run_time(report.elapsed)
            ))
        }
        JournalCommand::Check { quick, json, .. } => {
            require_file(&path)?;
            let report =
                check(&path, quick).with_context(|| format!("journal {}", path.display()))?;
            if json {
                stdout::write(serde_json::to_string_pretty(&report)? + "\n")?;
            } else {
                stdout::write(check_text(&report))?;
            }
            Ok(if report.is_ok() {
                exit::OK
            } else {
                exit::FAILED
            })
        }
    }
}

/// Housekeeping needs a journal that exists: it never creates one.
fn require_file(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(anyhow!(
            "no journal at {} (nothing has run yet, or pass --journal PATH)",
            path.display()
        )),
        Err(e) => Err(anyhow!("journal {}: {e}", path.display())),
    }
}

fn open(path: &Path) -> Result<Journal> {
    require_file(path)?;
    open_existing(path)?.ok_or_else(|| anyhow!("no journal at {}", path.display()))
}

/// `2026-03-01` in the local zone.
fn day(at: UnixMillis) -> String {
    Local
        .timestamp_millis_opt(at)
        .earliest()
        .map_or_else(|| format!("@{at}ms"), |t| t.format("%Y-%m-%d").to_string())
}

fn stats_text(s: &JournalStats) -> String {
    let mut out = String::new();
    let f = &s.file;
    let _ = writeln!(
        out,
        "journal {} (schema {})",
        s.path.display(),
        s.schema_version
    );
    let _ = writeln!(
        out,
        "  file      {} on disk, write-ahead log {}",
        format_bytes(f.file_bytes),
        format_bytes(f.wal_bytes)
    );
    let _ = writeln!(
        out,
        "  pages     {} of {} bytes ({}), {} free ({}); auto-vacuum {}",
        f.page_count,
        f.page_size,
        format_bytes(f.logical_bytes()),
        f.free_pages,
        format_bytes(f.free_bytes()),
        f.auto_vacuum
    );
    let span = match (s.oldest_run, s.newest_run) {
        (Some(old), Some(new)) => format!(", {} to {}", day(old), day(new)),
        _ => String::new(),
    };
    let _ = writeln!(out, "runs: {}{span}", s.runs);
    let statuses: Vec<String> = s
        .by_status
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if !statuses.is_empty() {
        let _ = writeln!(out, "  {}", statuses.join(", "));
    }
    let _ = writeln!(
        out,
        "output: {} in {} chunks",
        format_bytes(s.output_bytes),
        s.output_chunks
    );
    for (title, usage) in [("by flow:", &s.by_flow), ("by month:", &s.by_month)] {
        if usage.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}");
        let width = usage
            .iter()
            .map(|u| u.name.chars().count())
            .max()
            .unwrap_or(0);
        for u in usage {
            let _ = writeln!(
                out,
                "  {:<width$}  {:>7} runs  {:>10}",
                u.name,
                u.runs,
                format_bytes(u.output_bytes)
            );
        }
    }
    if !s.largest_runs.is_empty() {
        let _ = writeln!(out, "largest runs:");
        out.push_str(&largest_runs_text(&s.largest_runs));
    }
    out
}

/// The largest runs as columns, each as wide as its widest value.
fn largest_runs_text(runs: &[LargeRun]) -> String {
    let flows: Vec<String> = runs.iter().map(|r| one_line(&r.flow)).collect();
    let width = |values: &mut dyn Iterator<Item = usize>| values.max().unwrap_or(0);
    let flow_w = width(&mut flows.iter().map(|f| f.chars().count()));
    let status_w = width(&mut runs.iter().map(|r| r.status.chars().count()));
    let hosts_w = width(&mut runs.iter().map(|r| r.hosts.to_string().len()));
    let mut out = String::new();
    for (r, flow) in runs.iter().zip(&flows) {
        let _ = writeln!(
            out,
            "  {:>7}  {flow:<flow_w$}  {:<status_w$}  {}  {:>hosts_w$} hosts  {:>10}",
            r.id,
            r.status,
            day(r.created_at),
            r.hosts,
            format_bytes(r.output_bytes)
        );
    }
    out
}

fn prune_text(r: &PruneReport) -> String {
    let mut out = String::new();
    let flows = if r.by_flow.is_empty() {
        String::new()
    } else {
        format!(" ({})", r.flows_text())
    };
    let sessions = match r.shell_sessions {
        0 => String::new(),
        n => format!("; {n} shell session row(s)"),
    };
    if r.dry_run {
        let _ = writeln!(
            out,
            "would delete {} finished run(s){flows}: {} host(s), {} output chunk(s), {} of output{sessions}",
            r.runs,
            r.hosts,
            r.output_chunks,
            format_bytes(r.output_bytes.unwrap_or(0))
        );
        if let SpaceOutcome::Kept { why, .. } = &r.space {
            let _ = writeln!(out, "note: {why}");
        }
        let _ = writeln!(out, "dry run: nothing was changed");
        return out;
    }
    let _ = writeln!(
        out,
        "deleted {} finished run(s){flows}: {} host(s), {} output chunk(s){sessions}",
        r.runs, r.hosts, r.output_chunks
    );
    if r.stopped_early {
        let _ = writeln!(out, "stopped early; prune again to finish");
    }
    let space = match &r.space {
        SpaceOutcome::Unchanged => String::new(),
        SpaceOutcome::Returned { pages } => format!(" ({pages} free pages given back)"),
        SpaceOutcome::Converted { took } => format!(
            " (converted to incremental auto-vacuum by a VACUUM that took {})",
            format_run_time(*took)
        ),
        SpaceOutcome::Kept { pages, why } => format!(" ({pages} free pages kept: {why})"),
    };
    let _ = writeln!(
        out,
        "journal {} -> {}{space}",
        format_bytes(r.bytes_before),
        format_bytes(r.bytes_after)
    );
    let _ = writeln!(
        out,
        "{} write transaction(s), the longest held the write lock {:.1} ms; took {}",
        r.transactions,
        r.longest_lock.as_secs_f64() * 1000.0,
        format_run_time(r.elapsed)
    );
    out
}

fn check_text(r: &CheckReport) -> String {
    let mut out = String::new();
    let schema = r
        .schema_version
        .map(|v| format!(" (schema {v})"))
        .unwrap_or_default();
    let _ = writeln!(out, "journal {}{schema}", r.path.display());
    let kind = if r.quick { "quick check" } else { "integrity" };
    if r.integrity.is_empty() {
        let _ = writeln!(out, "{kind}: ok");
    } else {
        let _ = writeln!(out, "{kind}: {} problem(s)", r.integrity.len());
        for line in &r.integrity {
            let _ = writeln!(out, "  {line}");
        }
    }
    if r.foreign_keys.is_empty() {
        let _ = writeln!(out, "foreign keys: ok");
    } else {
        let _ = writeln!(
            out,
            "foreign keys: {} broken reference(s)",
            r.foreign_keys.len()
        );
        for b in &r.foreign_keys {
            let rows = if b.sample_rowids.is_empty() {
                String::new()
            } else {
                let ids: Vec<String> = b.sample_rowids.iter().map(i64::to_string).collect();
                let more = if (b.rows as usize) > ids.len() {
                    ", ..."
                } else {
                    ""
                };
                format!(" (rowids {}{more})", ids.join(", "))
            };
            let _ = writeln!(
                out,
                "  {}: {} row(s) point at missing {} rows{rows}",
                b.table, b.rows, b.parent
            );
        }
    }
    if !r.is_ok() {
        let _ = writeln!(
            out,
            "the journal is damaged: keep this file for inspection and restore a backup (`jobdeck journal backup` makes one)"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: i64, flow: &str, status: &str, hosts: u64, output_bytes: u64) -> LargeRun {
        LargeRun {
            id,
            flow: flow.into(),
            status: status.into(),
            created_at: 0,
            hosts,
            output_chunks: 1,
            output_bytes,
        }
    }

    #[test]
    fn the_largest_runs_line_up_in_columns() {
        let text = largest_runs_text(&[
            run(1, "deploy", "ok", 4, 1_300),
            run(12, "adhoc: uname -a", "interrupted", 1000, 116),
            run(3, "health", "failed", 40, 2 << 20),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let starts = |needle: &[&str]| -> Vec<usize> {
            lines
                .iter()
                .zip(needle)
                .map(|(l, n)| l.find(n).expect(n))
                .collect()
        };
        let statuses = starts(&["ok", "interrupted", "failed"]);
        assert!(statuses.iter().all(|&c| c == statuses[0]), "{text}");
        let hosts = starts(&[" hosts", " hosts", " hosts"]);
        assert!(hosts.iter().all(|&c| c == hosts[0]), "{text}");
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{text}");
    }
}
