//! `jobdeck grep`: matching output lines of past runs, newest runs first,
//! as `ID host step: line` (context lines `ID host step- line`, groups
//! apart by `--`), or one JSON object per match. Builds the search index
//! of earlier output first if a journal from before the index has some.

use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, anyhow};
use serde_json::json;

use super::history::{journal_path, open_existing, parse_status};
use super::stdout;
use crate::cli::GrepArgs;
use crate::engine::events::{Stream, now_millis};
use crate::exit;
use crate::journal::Journal;
use crate::journal::search::index::IndexProgress;
use crate::journal::search::{Pattern, SearchBlock, SearchQuery};
use crate::report::STDERR_MARK;
use crate::when::parse_when;

/// The exit code when nothing matched, as grep has it.
pub const NO_MATCH: u8 = 1;
/// The exit code after Ctrl-C stopped the index build.
pub const INTERRUPTED_BY_USER: u8 = 130;

pub fn run(journal: Option<PathBuf>, args: &GrepArgs) -> Result<u8> {
    let query = query(args)?;
    let path = journal_path(journal)?;
    let Some(journal) = open_existing(&path)? else {
        eprintln!(
            "jobdeck: no journal at {} yet: nothing to search",
            path.display()
        );
        return Ok(NO_MATCH);
    };
    let Some(journal) = build_index(journal, &path)? else {
        return Ok(INTERRUPTED_BY_USER);
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut written = Ok(());
    let mut first = true;
    let summary = journal
        .search(&query, |block| {
            written = if args.json {
                write_json(&mut out, &block, args.context)
            } else {
                write_block(&mut out, &block, args.context > 0 && !first)
            };
            first = false;
            match written {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            }
        })
        .map_err(|e| anyhow!("{e}"))?;
    let code = stdout::finish(written.and_then(|()| out.flush()))?;
    if code != exit::OK {
        return Ok(code);
    }
    Ok(if summary.matches > 0 {
        exit::OK
    } else {
        NO_MATCH
    })
}

fn query(args: &GrepArgs) -> Result<SearchQuery> {
    let pattern =
        Pattern::new(&args.pattern, args.regex, args.ignore_case).map_err(|e| anyhow!("{e}"))?;
    let now = now_millis();
    let when = |text: &Option<String>, flag: &str| {
        text.as_deref()
            .map(|t| parse_when(t, now, flag).map_err(|e| anyhow!(e)))
            .transpose()
    };
    Ok(SearchQuery {
        pattern,
        context: args.context,
        flow: args.flow.clone(),
        host: args.host.clone(),
        status: args.status.as_deref().map(parse_status).transpose()?,
        since: when(&args.since, "--since")?,
        until: when(&args.until, "--until")?,
    })
}

/// Indexes earlier output once, with progress on stderr; Ctrl-C stops it
/// (what is indexed stays). `None` if it was stopped.
fn build_index(journal: Journal, path: &Path) -> Result<Option<Journal>> {
    let progress = journal.search_index_progress()?;
    if progress.is_done() {
        return Ok(Some(journal));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let terminal = io::stderr().is_terminal();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (journal, result) = runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        // Ctrl-C is caught before the operator is told it stops the build.
        let mut interrupt = signal(SignalKind::interrupt())?;
        eprintln!(
            "jobdeck: indexing the earlier output of {} for search (once; Ctrl-C stops, the next grep goes on)",
            path.display()
        );
        let flag = stop.clone();
        let mut build = tokio::task::spawn_blocking(move || {
            let result = journal.build_search_index(|p| {
                if terminal {
                    eprint!("\r  {}", describe(p));
                }
                if flag.load(Ordering::Relaxed) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            (journal, result)
        });
        tokio::select! {
            done = &mut build => done.map_err(|e| anyhow!("the index build failed: {e}")),
            _ = interrupt.recv() => {
                stop.store(true, Ordering::Relaxed);
                build.await.map_err(|e| anyhow!("the index build failed: {e}"))
            }
        }
    })?;
    if terminal {
        eprintln!();
    }
    let progress = result?;
    if progress.is_done() {
        eprintln!("jobdeck: the search index is complete");
        Ok(Some(journal))
    } else {
        eprintln!(
            "jobdeck: stopped indexing at {}; what is indexed stays, the next grep goes on from there",
            describe(&progress)
        );
        Ok(None)
    }
}

fn describe(progress: &IndexProgress) -> String {
    let total = progress.rows_total.max(1);
    format!(
        "{} of {} output rows ({}%)",
        progress.rows_done,
        progress.rows_total,
        progress.rows_done.min(total) * 100 / total
    )
}

fn place(block: &SearchBlock) -> String {
    let attempt = if block.attempt > 1 {
        format!(" (attempt {})", block.attempt)
    } else {
        String::new()
    };
    format!(
        "{} {} {}{attempt}",
        block.instance, block.host_name, block.step_name
    )
}

fn write_block(out: &mut impl Write, block: &SearchBlock, separate: bool) -> io::Result<()> {
    if separate {
        writeln!(out, "--")?;
    }
    let place = place(block);
    let mark = if block.stream == Stream::Stderr {
        STDERR_MARK
    } else {
        ""
    };
    for line in &block.lines {
        let sep = if line.is_match { ':' } else { '-' };
        writeln!(out, "{place}{sep} {mark}{}", line.text)?;
    }
    Ok(())
}

fn write_json(out: &mut impl Write, block: &SearchBlock, context: usize) -> io::Result<()> {
    for (i, line) in block.lines.iter().enumerate().filter(|(_, l)| l.is_match) {
        let before: Vec<&str> = block.lines[i.saturating_sub(context)..i]
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        let after: Vec<&str> = block.lines[i + 1..(i + 1 + context).min(block.lines.len())]
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        let value = json!({
            "id": block.instance,
            "flow": block.flow,
            "host": block.host_name,
            "host_index": block.host,
            "step": block.step_name,
            "step_index": block.step,
            "attempt": block.attempt,
            "stream": block.stream.as_str(),
            "line": line.text,
            "before": before,
            "after": after,
        });
        writeln!(out, "{value}")?;
    }
    Ok(())
}
