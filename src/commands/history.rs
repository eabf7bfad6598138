//! `jobdeck history`, `show` and `export`: reading the journal.
//!
//! - Read commands never create a journal: a missing file means nothing has
//!   run yet (`history` prints nothing, `show` / `export` say the id is
//!   unknown). Opening an existing journal does what every jobdeck start
//!   does: instances whose jobdeck died are marked `interrupted`, so history
//!   never shows a dead run as running.
//! - Text output shows host output the way the live reporter does: cleaned
//!   of terminal control sequences, stdout then stderr per step, every stderr
//!   line marked `stderr: `. Params are shown as stored (secrets masked);
//!   exported values are left to `--json`, as the reporter leaves them out.
//! - `show --replay` plays the output back in its original order and timing,
//!   divided by `--speed`. A gap longer than `MAX_REPLAY_GAP_MS` in the run
//!   (an interval between batches, a slow step) is shortened to that and
//!   announced with a `-- ... later --` line, so a replay never sits silent
//!   for hours. Lines are prefixed with their host; a line still unfinished
//!   when its host moves to another step (or the replay ends) is shown then.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use chrono::{Local, TimeZone};
use serde_json::{Value, json};

use super::show_guardrails::push_field;
use super::stdout;
use crate::engine::events::{HostIndex, HostStatus, InstanceStatus, StepIndex, Stream, UnixMillis};
use crate::exit;
use crate::hostlist::fold;
use crate::journal::{self, Chunk, InstanceDetail, InstanceFilter, InstanceSummary, Journal};
use crate::report::gather::GatherOptions;
use crate::report::sanitize::{clean_text, one_line};
use crate::report::{
    RunInfo, STDERR_MARK, format_host_time, format_run_time, format_wait, recorded, status_label,
};

use crate::journal::MAX_REPLAY_GAP_MS;

/// What a user can pass to `--status`.
pub(crate) fn parse_status(text: &str) -> Result<InstanceStatus> {
    InstanceStatus::parse(&text.to_ascii_lowercase()).ok_or_else(|| {
        let names: Vec<&str> = InstanceStatus::ALL.iter().map(|s| s.as_str()).collect();
        anyhow!(
            "unknown status {text:?} for --status: expected one of {}",
            names.join(", ")
        )
    })
}

/// What a user can pass to `--since`: a duration back from `now` (`7d`,
/// `12h`), or a local date or time (`2026-03-01`, `2026-03-01 14:00`,
/// RFC 3339).
fn parse_since(text: &str, now: UnixMillis) -> Result<UnixMillis> {
    crate::when::parse_when(text, now, "--since").map_err(|e| anyhow!(e))
}

pub fn history(
    journal: Option<PathBuf>,
    json: bool,
    limit: usize,
    flow: Option<String>,
    status: Option<String>,
    since: Option<String>,
) -> Result<u8> {
    let status = status.as_deref().map(parse_status).transpose()?;
    let since = since
        .as_deref()
        .map(|text| parse_since(text, crate::engine::events::now_millis()))
        .transpose()?;
    let path = journal_path(journal)?;
    let Some(journal) = open_existing(&path)? else {
        eprintln!(
            "jobdeck: no journal at {} yet: nothing has run",
            path.display()
        );
        return stdout::write(if json { "[]\n" } else { "" });
    };
    let filter = InstanceFilter {
        flow,
        status,
        since,
        // `--limit 0`: everything.
        limit: (limit > 0).then_some(limit),
    };
    let rows = journal.list_instances(&filter)?;
    if json {
        return stdout::write(serde_json::to_string_pretty(&rows)? + "\n");
    }
    if rows.is_empty() {
        eprintln!("jobdeck: no runs match");
        return Ok(exit::OK);
    }
    stdout::write(history_table(&rows, output_width(), &local_time))
}

pub fn show(
    journal: Option<PathBuf>,
    id: i64,
    host: Option<String>,
    step: Option<String>,
    json: bool,
    replay_speed: Option<f64>,
    gather: Option<GatherOptions>,
) -> Result<u8> {
    if let Some(speed) = replay_speed
        && !(speed.is_finite() && speed > 0.0)
    {
        bail!(
            "--speed must be a number above 0 (1 is real time, 10 ten times faster); got {speed}"
        );
    }
    let path = journal_path(journal)?;
    let journal = open_for_instance(&path, id)?;
    let detail = journal
        .instance(id)?
        .ok_or_else(|| no_such_instance(id, &path))?;
    let selection = Selection {
        host: host.map(|name| select_host(&detail, &name)).transpose()?,
        step: step
            .map(|wanted| select_step(&detail.steps, &wanted))
            .transpose()
            .map_err(|why| anyhow!("instance {id}: {why}"))?,
    };
    if let Some(speed) = replay_speed {
        return replay(&journal, &detail, selection, speed);
    }
    if json {
        let value = show_json(&journal, &detail, selection)?;
        return stdout::write(serde_json::to_string_pretty(&value)? + "\n");
    }
    stdout::finish(write_show(
        &mut io::BufWriter::new(io::stdout().lock()),
        &journal,
        &detail,
        selection,
        gather,
    ))
}

pub fn export(journal: Option<PathBuf>, id: i64) -> Result<u8> {
    let path = journal_path(journal)?;
    let journal = open_for_instance(&path, id)?;
    let value = match journal.export_instance(id) {
        Err(journal::JournalError::NoSuchInstance(_)) => return Err(no_such_instance(id, &path)),
        other => other?,
    };
    stdout::write(serde_json::to_string_pretty(&value)? + "\n")
}

// ------------------------------------------------------------ the journal

pub(crate) fn journal_path(journal: Option<PathBuf>) -> Result<PathBuf> {
    match journal {
        Some(path) => Ok(path),
        None => Ok(journal::default_path()?),
    }
}

/// Opens the journal if the file exists; `None` if it does not.
pub(crate) fn open_existing(path: &Path) -> Result<Option<Journal>> {
    let Some(mut journal) = journal::open_existing(path)? else {
        return Ok(None);
    };
    // Reading goes on even if this fails (another process holding the
    // write lock past the busy timeout, say).
    if let Err(err) = journal.recover_interrupted() {
        eprintln!("jobdeck: warning: could not check for interrupted runs: {err}");
    }
    Ok(Some(journal))
}

fn open_for_instance(path: &Path, id: i64) -> Result<Journal> {
    open_existing(path)?.ok_or_else(|| {
        anyhow!(
            "no job instance {id}: there is no journal at {} yet",
            path.display()
        )
    })
}

fn no_such_instance(id: i64, path: &Path) -> anyhow::Error {
    anyhow!(
        "no job instance {id} in the journal {} (`jobdeck history` lists them)",
        path.display()
    )
}

// ------------------------------------------------------------ writing

/// `2026-03-01 14:05:09` in the local time zone (TZ is honoured).
fn local_time(at: UnixMillis) -> String {
    Local
        .timestamp_millis_opt(at)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| format!("@{at}ms"))
}

fn span(from: Option<UnixMillis>, to: Option<UnixMillis>) -> Option<Duration> {
    Some(Duration::from_millis((to? - from?).max(0) as u64))
}

/// How wide the table may be: `COLUMNS` if set, else the terminal's width;
/// piped without `COLUMNS`, nothing is cut.
fn output_width() -> Option<usize> {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    if from_env.is_some() {
        return from_env;
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ only writes a winsize into the struct we pass.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

// ------------------------------------------------------------ history

const HISTORY_HEADERS: [&str; 11] = [
    "ID", "FLOW", "STATUS", "TRIGGER", "USER", "STARTED", "DURATION", "OK", "FAILED", "HOSTS",
    "REASON",
];
/// Columns aligned to the right (numbers).
const RIGHT_ALIGNED: [bool; 11] = [
    true, false, false, false, false, false, true, true, true, true, false,
];
/// The reason column never gets narrower than this, even if lines wrap.
const MIN_REASON_WIDTH: usize = 12;

/// The history table, newest first as given. The last column (reason) is
/// cut to fit `width` when there is one.
fn history_table(
    rows: &[InstanceSummary],
    width: Option<usize>,
    time: &dyn Fn(UnixMillis) -> String,
) -> String {
    let cells: Vec<[String; 11]> = rows
        .iter()
        .map(|r| {
            let started = r.started_at.unwrap_or(r.created_at);
            [
                r.id.to_string(),
                one_line(&r.flow),
                r.status.to_string(),
                one_line(&r.trigger),
                one_line(&r.user),
                time(started),
                span(Some(started), r.finished_at).map_or_else(|| "-".to_owned(), format_run_time),
                r.hosts_ok.to_string(),
                r.hosts_failed.to_string(),
                r.hosts_total.to_string(),
                r.reason.as_deref().map(one_line).unwrap_or_default(),
            ]
        })
        .collect();
    let last = HISTORY_HEADERS.len() - 1;
    let mut widths: Vec<usize> = HISTORY_HEADERS.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row.iter()).take(last) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let before_reason: usize = widths[..last].iter().map(|w| w + 2).sum();
    let reason_width = width.map(|w| w.saturating_sub(before_reason).max(MIN_REASON_WIDTH));
    let mut out = String::new();
    let header = HISTORY_HEADERS.map(str::to_owned);
    for row in std::iter::once(&header).chain(cells.iter()) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i == last {
                match reason_width {
                    Some(max) => line.push_str(&truncate(cell, max)),
                    None => line.push_str(cell),
                }
            } else if RIGHT_ALIGNED[i] {
                let _ = write!(line, "{cell:>w$}  ", w = widths[i]);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

// ------------------------------------------------------------ selection

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Selection {
    pub(super) host: Option<HostIndex>,
    pub(super) step: Option<StepIndex>,
}

impl Selection {
    pub(super) fn wants_host(&self, host: HostIndex) -> bool {
        self.host.is_none_or(|h| h == host)
    }

    pub(super) fn wants_step(&self, step: StepIndex) -> bool {
        self.step.is_none_or(|s| s == step)
    }
}

fn select_host(detail: &InstanceDetail, name: &str) -> Result<HostIndex> {
    if let Some(host) = detail.hosts.iter().find(|h| h.name == name) {
        return Ok(host.index);
    }
    let known = if detail.hosts.is_empty() {
        "it has none".to_owned()
    } else {
        format!(
            "its hosts: {}",
            fold(detail.hosts.iter().map(|h| h.name.as_str()))
        )
    };
    bail!(
        "instance {} has no host {:?}; {known}",
        detail.instance.id,
        one_line(name)
    )
}

/// The engine names rollback steps `rollback: NAME` after the flow's steps.
const ROLLBACK_PREFIX: &str = "rollback: ";

/// `--step`: a step's name, a rollback step's name without its prefix, or
/// its 1-based number in the instance's list (rollback steps after the
/// flow's own). A name two steps share must be given by number.
fn select_step(steps: &[String], wanted: &str) -> Result<StepIndex, String> {
    let by_name = |name: &str| -> Vec<StepIndex> {
        steps
            .iter()
            .enumerate()
            .filter(|(_, s)| *s == name)
            .map(|(i, _)| i)
            .collect()
    };
    let mut matches = by_name(wanted);
    if matches.is_empty() {
        matches = by_name(&format!("{ROLLBACK_PREFIX}{wanted}"));
    }
    match matches.as_slice() {
        [one] => return Ok(*one),
        [] => {}
        several => {
            let numbers: Vec<String> = several.iter().map(|i| (i + 1).to_string()).collect();
            return Err(format!(
                "step name {:?} is shared by steps {}; give the number",
                one_line(wanted),
                numbers.join(", ")
            ));
        }
    }
    if let Ok(number) = wanted.trim().parse::<usize>()
        && (1..=steps.len()).contains(&number)
    {
        return Ok(number - 1);
    }
    let listed: Vec<String> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{} {}", i + 1, one_line(s)))
        .collect();
    let known = if listed.is_empty() {
        "it has none".to_owned()
    } else {
        format!("its steps: {}", listed.join(", "))
    };
    Err(format!("no step {:?}; {known}", one_line(wanted)))
}

// ------------------------------------------------------------ show (text)

/// What the reporter needs to label steps and batches, from the journal.
fn run_info(detail: &InstanceDetail) -> RunInfo {
    let inst = &detail.instance;
    let hosts: Vec<String> = detail.hosts.iter().map(|h| h.name.clone()).collect();
    let batches: Vec<Vec<HostIndex>> = detail.batches.iter().map(|b| b.hosts.clone()).collect();
    let mut run = RunInfo::default();
    run.start(
        inst.id,
        inst.started_at.unwrap_or(inst.created_at),
        &inst.flow,
        &hosts,
        &detail.steps,
        &batches,
    );
    run
}

/// Hosts in the order they ran: batch by batch, then any never placed.
fn run_order(detail: &InstanceDetail) -> Vec<HostIndex> {
    let mut order: Vec<HostIndex> = Vec::with_capacity(detail.hosts.len());
    let mut placed = std::collections::HashSet::new();
    let batched = detail.batches.iter().flat_map(|b| b.hosts.iter().copied());
    for host in batched.chain(detail.hosts.iter().map(|h| h.index)) {
        if placed.insert(host) {
            order.push(host);
        }
    }
    order
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => one_line(s),
        other => one_line(&other.to_string()),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The part of `show` above the hosts.
fn render_header(
    detail: &InstanceDetail,
    run: &RunInfo,
    time: &dyn Fn(UnixMillis) -> String,
) -> String {
    let inst = &detail.instance;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "instance {}: {} [{}]",
        inst.id,
        one_line(&inst.flow),
        inst.status.as_str().to_uppercase()
    );
    let mut field = |label: &str, mut lines: Vec<String>| {
        if lines.is_empty() {
            lines.push("-".to_owned());
        }
        push_field(&mut out, label, &lines);
    };
    if let Some(reason) = &inst.reason {
        field("reason", vec![one_line(reason)]);
    }
    let mut trigger = one_line(&inst.trigger);
    if let Some(parent) = inst.parent {
        let _ = write!(trigger, " (of instance {parent})");
    }
    field("trigger", vec![trigger]);
    field("user", vec![one_line(&inst.user)]);
    field("created", vec![time(inst.created_at)]);
    if let Some(started) = inst.started_at {
        field("started", vec![time(started)]);
    }
    if let Some(finished) = inst.finished_at {
        let took = span(
            Some(inst.started_at.unwrap_or(inst.created_at)),
            Some(finished),
        )
        .map(|d| format!(" ({})", format_run_time(d)))
        .unwrap_or_default();
        field("finished", vec![format!("{}{took}", time(finished))]);
    }
    if inst.status == InstanceStatus::Interrupted {
        let mut line = format!("jobdeck resume {}", inst.id);
        if let Some(from) = inst.interrupted_from {
            let _ = write!(line, " (it was {from}");
            if let Some(reason) = inst.wait_reason {
                let _ = write!(line, " for {reason}");
            }
            if let Some(at) = inst.resume_at {
                let _ = write!(line, " until {}", time(at));
            }
            line.push(')');
        }
        if inst.next_batch < run.batches.len() {
            let _ = write!(line, "; next: {}", run.batch_label(inst.next_batch));
        }
        field("resume", vec![line]);
    }
    let params: Vec<String> = inst
        .params
        .iter()
        .map(|(k, v)| format!("{}={}", one_line(k), value_text(v)))
        .collect();
    field("params", params);
    let name_width = inst
        .atom_hashes
        .keys()
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0);
    let atoms: Vec<String> = inst
        .atom_hashes
        .iter()
        .map(|(name, hash)| {
            format!(
                "{:<name_width$}  sha256:{}",
                one_line(name),
                value_text(hash)
            )
        })
        .collect();
    field("atoms", atoms);
    for (label, line) in recorded::target_lines(&inst.target) {
        field(label, vec![line]);
    }
    let hosts = if inst.resolved_hosts.is_empty() {
        "-".to_owned()
    } else {
        format!(
            "{}: {}",
            inst.resolved_hosts.len(),
            one_line(&fold(inst.resolved_hosts.iter().map(String::as_str)))
        )
    };
    field("hosts", vec![hosts]);
    field("rollout", vec![recorded::rollout_line(&inst.rollout)]);
    let batches: Vec<String> = detail
        .batches
        .iter()
        .map(|b| {
            let members: Vec<String> = b.hosts.iter().map(|&h| run.host_name(h)).collect();
            let mut line = format!(
                "{}: {}, {}",
                run.batch_label(b.index),
                plural(b.size, "host", "hosts"),
                b.status
            );
            if let (Some(ok), Some(failed)) = (b.ok, b.failed) {
                let _ = write!(line, " ({ok} ok, {failed} failed)");
            }
            if let Some(took) = span(b.started_at, b.finished_at) {
                let _ = write!(line, " in {}", format_run_time(took));
            }
            if !members.is_empty() {
                let _ = write!(line, ": {}", fold(members.iter().map(String::as_str)));
            }
            line
        })
        .collect();
    if !batches.is_empty() {
        field("batches", batches);
    }
    let steps: Vec<String> = (0..run.steps.len()).map(|s| run.step_label(s)).collect();
    field("steps", steps);
    // Exported values may be sensitive: the reporter never prints them, so
    // neither does this; `--json` has them.
    let exports: Vec<String> = detail
        .exports
        .iter()
        .map(|e| {
            format!(
                "{} (from {}, {})",
                one_line(&e.name),
                run.host_name(e.host),
                run.step_label(e.step)
            )
        })
        .collect();
    if !exports.is_empty() {
        let mut lines = exports;
        lines.push("(values are shown by --json)".into());
        field("exports", lines);
    }
    out
}

/// One attempt of one step on one host: its result and what it printed.
#[derive(Default)]
struct Section<'a> {
    result: Option<&'a journal::StepResultRecord>,
    /// Output before and after the journal's cut marker (if any).
    pieces: Vec<Piece>,
}

/// A run of output between cut markers.
#[derive(Default)]
struct Piece {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// The marker that ends this piece.
    marker: Option<String>,
}

/// The header, then each host (or, with `gather`, the hosts folded).
fn write_show(
    out: &mut impl Write,
    journal: &Journal,
    detail: &InstanceDetail,
    selection: Selection,
    gather: Option<GatherOptions>,
) -> io::Result<()> {
    let run = run_info(detail);
    out.write_all(render_header(detail, &run, &local_time).as_bytes())?;
    let guardrails = journal
        .guardrails(detail.instance.id)
        .map_err(io::Error::other)?;
    let lock = detail.instance.target["lock"].as_str();
    let guarded = super::show_guardrails::render(&guardrails, lock, &run, &local_time);
    out.write_all(guarded.as_bytes())?;
    if let Some(options) = gather {
        let blocks = super::show_gather::render(journal, detail, &run, selection, options)
            .map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        out.write_all(blocks.as_bytes())?;
        return out.flush();
    }
    for host in run_order(detail)
        .into_iter()
        .filter(|&h| selection.wants_host(h))
    {
        let mut sections: BTreeMap<(StepIndex, u32), Section> = BTreeMap::new();
        for result in detail
            .step_results
            .iter()
            .filter(|r| r.host == host && selection.wants_step(r.step))
        {
            sections
                .entry((result.step, result.attempt))
                .or_default()
                .result = Some(result);
        }
        journal
            .for_each_output(detail.instance.id, Some(host), selection.step, |chunk| {
                let section = sections.entry((chunk.step, chunk.attempt)).or_default();
                if section.pieces.last().is_none_or(|p| p.marker.is_some()) {
                    section.pieces.push(Piece::default());
                }
                let piece = section.pieces.last_mut().expect("a piece");
                match (chunk.marker, chunk.stream) {
                    (true, _) => {
                        piece.marker = Some(String::from_utf8_lossy(&chunk.data).trim_end().into())
                    }
                    (false, Stream::Stdout) => piece.stdout.extend_from_slice(&chunk.data),
                    (false, Stream::Stderr) => piece.stderr.extend_from_slice(&chunk.data),
                }
            })
            .map_err(io::Error::other)?;
        let text = render_host(detail, &run, host, &sections, selection);
        out.write_all(text.as_bytes())?;
    }
    out.flush()
}

fn render_host(
    detail: &InstanceDetail,
    run: &RunInfo,
    host: HostIndex,
    sections: &BTreeMap<(StepIndex, u32), Section>,
    selection: Selection,
) -> String {
    let mut out = String::from("\n");
    let Some(record) = detail.hosts.iter().find(|h| h.index == host) else {
        return out;
    };
    let mut parts = Vec::new();
    if let Some(batch) = record.batch {
        parts.push(run.batch_label(batch));
    }
    if let Some(code) = record.exit_code {
        parts.push(format!("exit {code}"));
    }
    if let Some(took) = span(record.started_at, record.finished_at) {
        parts.push(format_host_time(took));
    }
    if let Some(error) = &record.error {
        parts.push(one_line(error));
    }
    let _ = write!(
        out,
        "== {} [{}]",
        run.host_name(host),
        status_label(record.status)
    );
    if !parts.is_empty() {
        let _ = write!(out, " {}", parts.join(", "));
    }
    out.push('\n');
    let attempts = |step: StepIndex| {
        sections
            .keys()
            .filter(|(s, _)| *s == step)
            .map(|(_, a)| *a)
            .max()
            .unwrap_or(1)
    };
    for (&(step, attempt), section) in sections {
        let _ = write!(out, "-- {}", run.step_label(step));
        let of = attempts(step);
        if of > 1 {
            let _ = write!(out, " (attempt {attempt}/{of})");
        }
        match section.result {
            Some(result) => {
                let _ = write!(out, " [{}]", status_label(result.status));
                let mut parts = Vec::new();
                if let Some(code) = result.exit_code {
                    parts.push(format!("exit {code}"));
                }
                if let Some(signal) = &result.signal {
                    parts.push(format!("signal {}", one_line(signal)));
                }
                if let Some(took) = span(result.started_at, result.finished_at) {
                    parts.push(format_host_time(took));
                }
                if let Some(error) = &result.error {
                    parts.push(one_line(error));
                }
                if !parts.is_empty() {
                    let _ = write!(out, " {}", parts.join(", "));
                }
            }
            None => out.push_str(" [no result recorded]"),
        }
        out.push('\n');
        // The journal's cut marker stands where the dropped bytes were.
        for piece in &section.pieces {
            write_stream(&mut out, &piece.stdout, "");
            write_stream(&mut out, &piece.stderr, STDERR_MARK);
            if let Some(marker) = &piece.marker {
                out.push_str(marker);
                out.push('\n');
            }
        }
    }
    if sections.is_empty() && record.status != HostStatus::Pending {
        match selection.step {
            Some(step) => {
                let _ = writeln!(out, "-- {}: did not run", run.step_label(step));
            }
            None => out.push_str("-- no step ran\n"),
        }
    }
    out
}

/// Cleaned text, line by line; every line of stderr marked.
fn write_stream(out: &mut String, bytes: &[u8], mark: &str) {
    if bytes.is_empty() {
        return;
    }
    for line in clean_text(bytes).lines() {
        out.push_str(mark);
        out.push_str(line);
        out.push('\n');
    }
}

// ------------------------------------------------------------ show --json

/// Output as `export_instance` gives it: text when UTF-8, else hex.
fn chunk_json(chunk: &Chunk) -> Value {
    let mut value = json!({
        "host": chunk.host, "step": chunk.step, "attempt": chunk.attempt,
        "at": chunk.at, "stream": chunk.stream,
    });
    if chunk.marker {
        value["marker"] = Value::Bool(true);
    }
    match std::str::from_utf8(&chunk.data) {
        Ok(text) => value["text"] = Value::String(text.to_owned()),
        Err(_) => value["hex"] = Value::String(data_encoding::HEXLOWER.encode(&chunk.data)),
    }
    value
}

/// The instance as `show` prints it: everything but atom bodies, with
/// hosts, results, exports, truncations and output narrowed to the
/// selection (steps and batches stay whole, for their indexes).
fn show_json(journal: &Journal, detail: &InstanceDetail, selection: Selection) -> Result<Value> {
    let mut detail = detail.clone();
    let wanted =
        |host: HostIndex, step: StepIndex| selection.wants_host(host) && selection.wants_step(step);
    detail.hosts.retain(|h| selection.wants_host(h.index));
    detail.step_results.retain(|r| wanted(r.host, r.step));
    detail.exports.retain(|e| wanted(e.host, e.step));
    detail.truncations.retain(|t| wanted(t.host, t.step));
    let mut output = Vec::new();
    journal.for_each_output(
        detail.instance.id,
        selection.host,
        selection.step,
        |chunk| output.push(chunk_json(&chunk)),
    )?;
    let mut value = serde_json::to_value(&detail)?;
    value["output"] = Value::Array(output);
    let guardrails = journal.guardrails(detail.instance.id)?;
    value["guard_hits"] = serde_json::to_value(&guardrails.guard_hits)?;
    value["preflight"] = serde_json::to_value(&guardrails.preflight)?;
    value["notifications"] = serde_json::to_value(&guardrails.notifications)?;
    Ok(value)
}

// ------------------------------------------------------------ replay

/// Turns chunk timestamps into when each chunk is due in the replay.
#[derive(Debug)]
struct Pacer {
    speed: f64,
    /// The latest timestamp seen (chunks from several hosts can arrive a
    /// little out of timestamp order; those are not waited for).
    latest: Option<UnixMillis>,
    /// Run time replayed so far, with long gaps shortened.
    kept_ms: i64,
}

#[derive(Debug, PartialEq)]
struct Pace {
    /// From the start of the replay.
    due: Duration,
    /// The real gap before this chunk, when it was shortened.
    shortened_from: Option<i64>,
}

impl Pacer {
    fn new(speed: f64) -> Pacer {
        Pacer {
            speed,
            latest: None,
            kept_ms: 0,
        }
    }

    fn advance(&mut self, at: UnixMillis) -> Pace {
        let gap = self.latest.map_or(0, |latest| (at - latest).max(0));
        self.latest = Some(self.latest.map_or(at, |latest| latest.max(at)));
        let kept = gap.min(MAX_REPLAY_GAP_MS);
        self.kept_ms += kept;
        let seconds = self.kept_ms as f64 / 1000.0 / self.speed;
        Pace {
            due: Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX),
            shortened_from: (gap > kept).then_some(gap),
        }
    }
}

/// One replayed line, cleaned for display.
#[derive(Debug, PartialEq)]
struct ReplayLine {
    host: HostIndex,
    stream: Stream,
    text: String,
}

/// A line a host has started but not finished.
#[derive(Debug)]
struct Partial {
    section: (StepIndex, u32),
    bytes: Vec<u8>,
}

/// Splits each host's streams into whole lines across chunk boundaries
/// (a line, or a UTF-8 character, may span chunks).
#[derive(Debug, Default)]
struct LineSplitter {
    /// By host, then stderr-ness.
    open: BTreeMap<(HostIndex, bool), Partial>,
}

impl LineSplitter {
    fn push(&mut self, chunk: &Chunk) -> Vec<ReplayLine> {
        let section = (chunk.step, chunk.attempt);
        // A host that moved on ends its unfinished lines first.
        let mut lines = Vec::new();
        let stale: Vec<(HostIndex, bool)> = self
            .open
            .iter()
            .filter(|((host, _), p)| *host == chunk.host && p.section != section)
            .map(|(key, _)| *key)
            .collect();
        for key in stale {
            if let Some(partial) = self.open.remove(&key) {
                lines.push(finished_line(key, &partial.bytes));
            }
        }
        let key = (chunk.host, chunk.stream == Stream::Stderr);
        let partial = self.open.entry(key).or_insert_with(|| Partial {
            section,
            bytes: Vec::new(),
        });
        partial.bytes.extend_from_slice(&chunk.data);
        if let Some(end) = partial.bytes.iter().rposition(|&b| b == b'\n') {
            let rest = partial.bytes.split_off(end + 1);
            let complete = std::mem::replace(&mut partial.bytes, rest);
            for line in complete[..end].split(|&b| b == b'\n') {
                lines.push(finished_line(key, line));
            }
        }
        if partial.bytes.is_empty() {
            self.open.remove(&key);
        }
        lines
    }

    /// Whatever is left unfinished, at the end.
    fn finish(self) -> Vec<ReplayLine> {
        self.open
            .into_iter()
            .map(|(key, partial)| finished_line(key, &partial.bytes))
            .collect()
    }
}

fn finished_line((host, stderr): (HostIndex, bool), bytes: &[u8]) -> ReplayLine {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    ReplayLine {
        host,
        stream: if stderr {
            Stream::Stderr
        } else {
            Stream::Stdout
        },
        text: clean_text(bytes),
    }
}

fn replay(
    journal: &Journal,
    detail: &InstanceDetail,
    selection: Selection,
    speed: f64,
) -> Result<u8> {
    let run = run_info(detail);
    let chunks = journal.output(detail.instance.id, selection.host, selection.step)?;
    let mut out = io::stdout().lock();
    stdout::finish(play(&mut out, &run, &chunks, speed, &mut |d| {
        std::thread::sleep(d)
    }))
}

/// Writes `chunks` as prefixed lines, calling `sleep` so that each chunk
/// shows when the pacer says it is due.
fn play(
    out: &mut impl Write,
    run: &RunInfo,
    chunks: &[Chunk],
    speed: f64,
    sleep: &mut dyn FnMut(Duration),
) -> io::Result<()> {
    let (Some(first), Some(last)) = (chunks.first(), chunks.last()) else {
        writeln!(out, "== instance {}: no output recorded", run.instance)?;
        return out.flush();
    };
    let mut names: BTreeMap<HostIndex, String> = BTreeMap::new();
    for chunk in chunks {
        names
            .entry(chunk.host)
            .or_insert_with(|| run.host_name(chunk.host));
    }
    let width = names.values().map(|n| n.chars().count()).max().unwrap_or(0);
    let over = span(
        Some(first.at),
        Some(chunks.iter().map(|c| c.at).max().unwrap_or(last.at)),
    )
    .unwrap_or_default();
    writeln!(
        out,
        "== replay of instance {}: {}, {} over {} at {speed}x; silences over {} are shortened",
        run.instance,
        run.flow,
        plural(
            chunks.iter().filter(|c| !c.marker).count(),
            "chunk",
            "chunks"
        ),
        format_run_time(over),
        format_wait(MAX_REPLAY_GAP_MS)
    )?;
    let write_line = |out: &mut dyn Write, line: &ReplayLine| {
        let mark = if line.stream == Stream::Stderr {
            STDERR_MARK
        } else {
            ""
        };
        let text = format!("{:<width$} | {mark}{}", names[&line.host], line.text);
        writeln!(out, "{}", text.trim_end())
    };
    let mut pacer = Pacer::new(speed);
    let mut splitter = LineSplitter::default();
    let started = Instant::now();
    for chunk in chunks {
        let pace = pacer.advance(chunk.at);
        if let Some(gap) = pace.shortened_from {
            writeln!(out, "-- {} later --", format_wait(gap))?;
        }
        out.flush()?;
        sleep(pace.due.saturating_sub(started.elapsed()));
        for line in splitter.push(chunk) {
            write_line(out, &line)?;
        }
    }
    for line in splitter.finish() {
        write_line(out, &line)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(host: HostIndex, step: StepIndex, stream: Stream, at: i64, data: &[u8]) -> Chunk {
        Chunk {
            host,
            step,
            attempt: 1,
            at,
            stream,
            data: data.to_vec(),
            marker: false,
        }
    }

    #[test]
    fn statuses_parse_and_a_bad_one_lists_the_good_ones() {
        assert_eq!(parse_status("failed").unwrap(), InstanceStatus::Failed);
        assert_eq!(parse_status("OK").unwrap(), InstanceStatus::Ok);
        let err = parse_status("done").unwrap_err().to_string();
        assert!(err.contains("\"done\""), "{err}");
        assert!(
            err.contains("running, waiting, paused, ok, failed, aborted, interrupted"),
            "{err}"
        );
    }

    #[test]
    fn steps_are_chosen_by_name_rollback_name_or_number() {
        let steps: Vec<String> = ["stop", "start", "stop", "rollback: restore", "7"]
            .map(String::from)
            .to_vec();
        assert_eq!(select_step(&steps, "start"), Ok(1));
        assert_eq!(select_step(&steps, "restore"), Ok(3));
        assert_eq!(select_step(&steps, "rollback: restore"), Ok(3));
        assert_eq!(select_step(&steps, "2"), Ok(1));
        // A name wins over a number.
        assert_eq!(select_step(&steps, "7"), Ok(4));
        let shared = select_step(&steps, "stop").unwrap_err();
        assert!(shared.contains("steps 1, 3"), "{shared}");
        let unknown = select_step(&steps, "6").unwrap_err();
        assert!(unknown.contains("no step \"6\""), "{unknown}");
        assert!(unknown.contains("1 stop, 2 start"), "{unknown}");
        assert!(select_step(&steps, "0").is_err());
        assert!(select_step(&[], "1").unwrap_err().contains("it has none"));
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
    }

    fn summary(id: i64, reason: Option<&str>) -> InstanceSummary {
        InstanceSummary {
            id,
            flow: "deploy".into(),
            status: InstanceStatus::Failed,
            trigger: "schedule:3".into(),
            parent: None,
            user: "ops".into(),
            created_at: 1_000,
            started_at: Some(2_000),
            finished_at: Some(14_300),
            reason: reason.map(String::from),
            hosts_total: 120,
            hosts_ok: 119,
            hosts_failed: 1,
        }
    }

    #[test]
    fn the_history_table_aligns_columns_and_cuts_the_reason_to_fit() {
        let rows = [
            summary(
                10,
                Some("max-fail exceeded: 3 of 120 hosts failed, limit 2"),
            ),
            summary(9, None),
        ];
        let time = |at: UnixMillis| format!("t{at}");
        let table = history_table(&rows, None, &time);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "ID  FLOW    STATUS  TRIGGER     USER  STARTED  DURATION   OK  FAILED  HOSTS  REASON"
        );
        assert_eq!(
            lines[1],
            "10  deploy  failed  schedule:3  ops   t2000       12.3s  119       1    120  max-fail exceeded: 3 of 120 hosts failed, limit 2"
        );
        assert_eq!(
            lines[2],
            " 9  deploy  failed  schedule:3  ops   t2000       12.3s  119       1    120"
        );
        let narrow = history_table(&rows, Some(100), &time);
        let line = narrow.lines().nth(1).unwrap();
        assert_eq!(line.chars().count(), 100, "{line}");
        assert!(line.ends_with("3 o…"), "{line}");
        // Too narrow: the reason keeps a minimum width and the line wraps.
        let tiny = history_table(&rows, Some(20), &time);
        assert!(tiny.lines().nth(1).unwrap().ends_with("max-fail ex…"));
    }

    #[test]
    fn the_pacer_divides_gaps_by_speed_and_shortens_long_ones() {
        let mut pacer = Pacer::new(10.0);
        let due = |p: &mut Pacer, at| p.advance(at);
        assert_eq!(due(&mut pacer, 100_000).due, Duration::ZERO);
        assert_eq!(due(&mut pacer, 101_000).due, Duration::from_millis(100));
        // Out of order by a little: not waited for, and not counted twice.
        assert_eq!(due(&mut pacer, 100_900).due, Duration::from_millis(100));
        assert_eq!(due(&mut pacer, 102_000).due, Duration::from_millis(200));
        // Two hours between batches: kept as 5 s of run time.
        let pace = due(&mut pacer, 102_000 + 7_200_000);
        assert_eq!(pace.due, Duration::from_millis(700));
        assert_eq!(pace.shortened_from, Some(7_200_000));
        assert_eq!(due(&mut pacer, 102_000 + 7_200_500).shortened_from, None);
        // A slow speed far beyond Duration's range does not panic.
        let mut crawl = Pacer::new(f64::MIN_POSITIVE);
        crawl.advance(0);
        assert_eq!(crawl.advance(1_000).due, Duration::MAX);
    }

    #[test]
    fn lines_are_joined_across_chunks_and_flushed_when_a_host_moves_on() {
        let mut split = LineSplitter::default();
        let text = |lines: Vec<ReplayLine>| -> Vec<String> {
            lines
                .into_iter()
                .map(|l| format!("{}/{}:{}", l.host, l.stream, l.text))
                .collect()
        };
        assert!(
            split
                .push(&chunk(0, 0, Stream::Stdout, 0, b"hel"))
                .is_empty()
        );
        // "é" split across two chunks, then a CRLF line end.
        assert!(
            split
                .push(&chunk(1, 0, Stream::Stdout, 0, b"caf\xc3"))
                .is_empty()
        );
        assert_eq!(
            text(split.push(&chunk(0, 0, Stream::Stdout, 1, b"lo\nwor"))),
            ["0/stdout:hello"]
        );
        assert_eq!(
            text(split.push(&chunk(
                1,
                0,
                Stream::Stdout,
                1,
                b"\xa9\r\n\x1b[31mred\x1b[0m\n"
            ))),
            ["1/stdout:café", "1/stdout:red"]
        );
        assert!(
            split
                .push(&chunk(0, 0, Stream::Stderr, 2, b"oops"))
                .is_empty()
        );
        // Host 0 starts its next step: its unfinished lines come out first.
        assert_eq!(
            text(split.push(&chunk(0, 1, Stream::Stdout, 3, b"step 2\n"))),
            ["0/stdout:wor", "0/stderr:oops", "0/stdout:step 2"]
        );
        assert!(
            split
                .push(&chunk(1, 0, Stream::Stderr, 4, b"tail"))
                .is_empty()
        );
        assert_eq!(text(split.finish()), ["1/stderr:tail"]);
    }

    #[test]
    fn play_prefixes_hosts_marks_stderr_and_sleeps_the_scaled_gaps() {
        let mut run = RunInfo::default();
        let hosts = ["web01", "db1"].map(String::from);
        let steps = ["build".to_owned()];
        run.start(7, 0, "deploy", &hosts, &steps, &[vec![0, 1]]);
        let chunks = [
            chunk(0, 0, Stream::Stdout, 1_000, b"one\n"),
            chunk(1, 0, Stream::Stderr, 3_000, b"two\n"),
            chunk(0, 0, Stream::Stdout, 3_600_000, b"three\n"),
        ];
        let mut out = Vec::new();
        let mut slept = Vec::new();
        play(&mut out, &run, &chunks, 2.0, &mut |d| slept.push(d)).unwrap();
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("== replay of instance 7: deploy, 3 chunks over 59m59s at 2x"),
            "{out}"
        );
        assert_eq!(
            lines[1..],
            [
                "web01 | one",
                "db1   | stderr: two",
                "-- 59m57s later --",
                "web01 | three"
            ]
        );
        // Sleeps are what is left until each chunk is due: 0, 1 s, 3.5 s.
        assert_eq!(slept.len(), 3);
        assert!(slept[1] <= Duration::from_secs(1) && slept[1] > Duration::from_millis(900));
        assert!(
            slept[2] <= Duration::from_millis(3_500) && slept[2] > Duration::from_millis(3_400)
        );
    }

    #[test]
    fn play_says_when_there_is_nothing() {
        let mut run = RunInfo::default();
        run.start(3, 0, "x", &[], &[], &[]);
        let mut out = Vec::new();
        play(&mut out, &run, &[], 1.0, &mut |_| panic!("no sleeping")).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "== instance 3: no output recorded\n"
        );
    }
}
