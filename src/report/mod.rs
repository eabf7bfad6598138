//! The headless reporter: the third consumer of the engine's events (after
//! the journal writer and the TUI), used by `jobdeck --run`. It turns the
//! event stream into output for a person or a program:
//!
//! - **lines** (default when stdout is not a terminal): each host's result
//!   as it finishes, pssh `-i` style — a header, then its output (stdout,
//!   then stderr with each line marked `stderr: `), step by step. Batches
//!   and waits are announced on `== ` lines.
//! - **gather** (`--gather`): nothing per host; at the end, hosts with
//!   identical output and outcome are shown once under their folded host
//!   list (clush -b style).
//! - **json** (`--json`): every event as one JSON object per line, hosts
//!   and steps named next to their index (`json_lines.rs`).
//! - **progress** (stdout is a terminal, not `--json`): lines or gather,
//!   plus live progress bars below them.
//!
//! Lines and gather end with a summary line; `RunSummary::exit_code` maps
//! the end of the run to the documented exit codes (`jobdeck::exit`).
//!
//! Output is buffered per host until the host finishes, bounded by a cap
//! (head and tail kept, the middle counted), shown lossily decoded and with
//! terminal control sequences removed. Writing never holds the engine up
//! for long, and a failed write (closed pipe) stops the writing, not the
//! consuming.
//!
//! Secrets: the engine scrubs output before it is sent. The reporter never
//! prints params, and masks the secrets it is given in every other text it
//! prints (exported values, reasons, error details).

pub mod capture;
pub mod gates;
pub mod gather;
mod json_lines;
mod labels;
mod progress;
pub mod recorded;
mod render;
mod run;
pub use run::step_label;
pub mod sanitize;
mod summary;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

use chrono::{FixedOffset, Local, TimeZone};
use tokio::sync::mpsc;

pub use render::STDERR_MARK;
// For `jobdeck show`, which lays out a past run the way a live one looks.
pub use labels::{format_bytes, format_host_time, format_run_time, format_wait, status_label};
pub use run::RunInfo;
pub use summary::RunSummary;

use crate::engine::events::{
    Event, EventKind, HostIndex, HostStatus, UnixMillis, WaitReason, now_millis,
};
use crate::engine::scrub::Scrubber;
use capture::HostCapture;
use gather::Gather;
use progress::Progress;
use render::{host_detail, host_header, render_output};

/// The default bound on one host's buffered output.
pub const DEFAULT_OUTPUT_CAP: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Each host's result as it finishes.
    Lines,
    /// Identical results grouped, at the end.
    Gather,
    /// One JSON object per event.
    Json,
}

/// Whether live progress bars are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progressbars {
    Off,
    /// On stdout (a terminal).
    Terminal,
    /// Fully run but never drawn: for tests.
    Hidden,
}

/// Where times come from and how they show. Times printed for events are
/// the events' own timestamps; `now` only drives the live countdown.
#[derive(Clone)]
pub struct Clock {
    now: Arc<dyn Fn() -> UnixMillis + Send + Sync>,
    /// `None` shows times in the local time zone.
    offset: Option<FixedOffset>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("offset", &self.offset)
            .finish()
    }
}

impl Clock {
    /// The system clock, local time.
    pub fn system() -> Clock {
        Clock {
            now: Arc::new(now_millis),
            offset: None,
        }
    }

    /// A clock for tests: `now` as given, times shown in UTC.
    pub fn utc(now: impl Fn() -> UnixMillis + Send + Sync + 'static) -> Clock {
        Clock {
            now: Arc::new(now),
            offset: FixedOffset::east_opt(0),
        }
    }

    pub fn now(&self) -> UnixMillis {
        (self.now)()
    }

    /// `HH:MM:SS` of a Unix-ms time.
    pub fn time_of_day(&self, at: UnixMillis) -> String {
        let format = "%H:%M:%S";
        match self.offset {
            Some(offset) => offset
                .timestamp_millis_opt(at)
                .single()
                .map(|t| t.format(format).to_string()),
            None => Local
                .timestamp_millis_opt(at)
                .single()
                .map(|t| t.format(format).to_string()),
        }
        .unwrap_or_else(|| "??:??:??".into())
    }
}

#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub mode: OutputMode,
    pub progress: Progressbars,
    /// Bytes of output kept per host (head and tail halves).
    pub output_cap: usize,
    pub clock: Clock,
    /// Values to mask in the texts the reporter prints besides output
    /// (the engine has already scrubbed output).
    pub secrets: Vec<String>,
    /// Hosts that finished before a resume (the engine does not run them
    /// again), with how they ended: the summary counts them.
    pub done_before: Vec<(HostIndex, HostStatus)>,
    /// Cancelled once the journal could not record the run: a cut note then
    /// no longer points at the journal for what it cut.
    pub journal_failed: Option<tokio_util::sync::CancellationToken>,
    /// How `--gather` compares hosts.
    pub gather: gather::GatherOptions,
}

impl ReportOptions {
    pub fn new(mode: OutputMode) -> ReportOptions {
        ReportOptions {
            mode,
            progress: Progressbars::Off,
            output_cap: DEFAULT_OUTPUT_CAP,
            clock: Clock::system(),
            secrets: Vec::new(),
            done_before: Vec::new(),
            journal_failed: None,
            gather: gather::GatherOptions::default(),
        }
    }

    /// What `jobdeck --run` shows on stdout: JSON lines with `--json`;
    /// otherwise lines (or gather), with progress bars when stdout is a
    /// terminal.
    pub fn for_stdout(json: bool, gather: bool) -> ReportOptions {
        let mode = match (json, gather) {
            (true, _) => OutputMode::Json,
            (false, true) => OutputMode::Gather,
            (false, false) => OutputMode::Lines,
        };
        let mut options = ReportOptions::new(mode);
        if !json && std::io::stdout().is_terminal() {
            options.progress = Progressbars::Terminal;
        }
        options
    }
}

pub struct Reporter {
    out: Box<dyn Write + Send>,
    options: ReportOptions,
    run: RunInfo,
    captures: HashMap<HostIndex, HostCapture>,
    /// Finished hosts printed so far (the `[n]` of the headers).
    printed: usize,
    /// Hosts skipped before they started: listed once, at the end.
    never_started: Vec<HostIndex>,
    gather: Gather,
    progress: Option<Progress>,
    current_batch: Option<usize>,
    scrubber: Scrubber,
    json: json_lines::JsonLines,
    output_error: Option<String>,
}

impl Reporter {
    pub fn new(out: Box<dyn Write + Send>, options: ReportOptions) -> Reporter {
        let progress = match (options.mode, options.progress) {
            (OutputMode::Json, _) | (_, Progressbars::Off) => None,
            (_, Progressbars::Terminal) => Some(Progress::new(false)),
            (_, Progressbars::Hidden) => Some(Progress::new(true)),
        };
        let gather = Gather::new(options.gather.clone());
        Reporter {
            out,
            scrubber: Scrubber::new(&options.secrets),
            json: json_lines::JsonLines::default(),
            options,
            run: RunInfo::default(),
            captures: HashMap::new(),
            printed: 0,
            never_started: Vec::new(),
            gather,
            progress,
            current_batch: None,
            output_error: None,
        }
    }

    /// Reads events until the instance finishes (or the stream ends),
    /// writing as it goes; then prints the closing lines.
    pub async fn consume(mut self, mut events: mpsc::Receiver<Event>) -> RunSummary {
        let mut tick = tokio::time::interval(progress::TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => {
                        let last = matches!(event.kind, EventKind::InstanceFinished { .. });
                        self.handle(&event);
                        if last {
                            break;
                        }
                    }
                    None => break,
                },
                _ = tick.tick(), if self.progress.is_some() => {
                    let now = self.options.clock.now();
                    if let Some(progress) = &mut self.progress {
                        progress.tick(now);
                    }
                }
            }
        }
        self.finish()
    }

    /// Takes one event into account, writing what it calls for.
    pub fn handle(&mut self, event: &Event) {
        self.run.last_at = self.run.last_at.max(event.at);
        if self.options.mode == OutputMode::Json {
            self.write_json(event);
        }
        let lines = self.options.mode != OutputMode::Json;
        match &event.kind {
            EventKind::InstanceStarted {
                flow,
                hosts,
                steps,
                batches,
            } => {
                self.run
                    .start(event.instance, event.at, flow, hosts, steps, batches);
                for &(host, status) in &self.options.done_before {
                    self.run.finished_before(host, status);
                }
                if let Some(progress) = &mut self.progress {
                    progress.start(self.run.hosts_in_batches());
                }
                if lines {
                    let text = format!(
                        "== instance {}: {} on {} host{}, {} batch{}, {} step{}\n",
                        self.run.instance,
                        self.run.flow,
                        hosts.len(),
                        if hosts.len() == 1 { "" } else { "s" },
                        batches.len(),
                        if batches.len() == 1 { "" } else { "es" },
                        self.run.main_steps,
                        if self.run.main_steps == 1 { "" } else { "s" },
                    );
                    self.write(&text);
                }
            }
            EventKind::BatchStarted { batch } => {
                self.current_batch = Some(*batch);
                if let Some(slot) = self.run.batch_started.get_mut(*batch) {
                    *slot = Some(event.at);
                }
                let label = self.run.batch_label(*batch);
                let size = self.run.batch_size(*batch);
                if let Some(progress) = &mut self.progress {
                    progress.batch_started(label.clone(), size);
                }
                if lines {
                    self.write(&format!("== {label}: {size} host{}\n", plural(size)));
                }
            }
            EventKind::HostConnecting { host } => {
                self.run.mark_host_started(*host, event.at);
                self.capture(*host);
            }
            EventKind::StepStarted {
                host,
                step,
                attempt,
            } => {
                self.run.mark_host_started(*host, event.at);
                if let Some(capture) = self.capture(*host) {
                    capture.start_step(*step, *attempt);
                }
            }
            EventKind::Output {
                host,
                step,
                stream,
                data,
            } => {
                if let Some(capture) = self.capture(*host) {
                    capture.push(*step, *stream, data);
                }
            }
            EventKind::StepFinished {
                host,
                step,
                attempt,
                outcome,
            } => {
                let mut outcome = outcome.clone();
                outcome.error = outcome.error.map(|e| self.mask(&e));
                if let Some(capture) = self.capture(*host) {
                    capture.finish_step(*step, *attempt, outcome);
                }
            }
            EventKind::HostFinished { host, status } => {
                self.host_finished(*host, *status, event.at)
            }
            EventKind::BatchFinished { batch, ok, failed } => {
                if let Some(progress) = &mut self.progress {
                    progress.batch_finished();
                }
                if lines {
                    let took = self
                        .run
                        .batch_started
                        .get(*batch)
                        .copied()
                        .flatten()
                        .map(|from| {
                            format!(
                                " in {}",
                                format_run_time(std::time::Duration::from_millis(
                                    (event.at - from).max(0) as u64
                                ))
                            )
                        })
                        .unwrap_or_default();
                    let text = format!(
                        "== {} done: {ok} ok, {failed} failed{took}\n",
                        self.run.batch_label(*batch)
                    );
                    self.write(&text);
                }
            }
            EventKind::Waiting {
                next_batch,
                reason,
                until,
            } => {
                let next = self.run.batch_label(*next_batch);
                let text = match (reason, until) {
                    (WaitReason::Interval, Some(until)) => format!(
                        "waiting {} until {} before {next}",
                        format_wait(until - event.at),
                        self.options.clock.time_of_day(*until)
                    ),
                    (WaitReason::Interval, None) => format!("waiting before {next}"),
                    (WaitReason::Confirm, _) => {
                        format!("waiting for an operator to confirm {next}")
                    }
                    (WaitReason::Failure, _) => {
                        format!("paused: hosts failed; waiting for an operator before {next}")
                    }
                    (WaitReason::Lock, _) => format!("waiting for the run's lock before {next}"),
                };
                if let Some(progress) = &mut self.progress {
                    progress.wait(text.clone(), event.at, *until);
                }
                if lines {
                    self.write(&format!("== {text}\n"));
                }
            }
            EventKind::ApprovalRequested {
                batch,
                step,
                message,
            } => {
                if lines {
                    let text = format!(
                        "== approval needed in {} at {}: {}\n",
                        self.run.batch_label(*batch),
                        self.run.step_label(*step),
                        self.mask(message)
                    );
                    self.write(&text);
                }
            }
            EventKind::Approved { batch, step } => {
                if lines {
                    let text = format!(
                        "== approved: {} at {}\n",
                        self.run.batch_label(*batch),
                        self.run.step_label(*step)
                    );
                    self.write(&text);
                }
            }
            EventKind::Paused => {
                if lines {
                    self.write("== paused\n");
                }
            }
            EventKind::Resumed => {
                if let Some(progress) = &mut self.progress {
                    progress.end_wait();
                }
                if lines {
                    self.write("== resumed\n");
                }
            }
            // Values handed between steps are for the journal and JSON
            // consumers; they may be sensitive, so lines never show them.
            EventKind::Exported { .. } => {}
            EventKind::InstanceFinished { status, reason } => {
                self.run.finished = Some((*status, reason.as_ref().map(|r| self.mask(r))));
            }
            EventKind::GuardHit { hit } => {
                if lines {
                    let text = self.mask(&gates::guard_hit(hit));
                    self.write(&text);
                }
            }
            EventKind::GuardConfirmNeeded { hits } => {
                if lines {
                    let text = self.mask(&gates::guard_confirm(hits));
                    self.write(&text);
                }
            }
            EventKind::LockWaiting {
                name,
                holder,
                until,
            } => {
                let until_text = until.map(|u| self.options.clock.time_of_day(u));
                let text = gates::lock_waiting(name, holder, until_text.as_deref());
                if let Some(progress) = &mut self.progress {
                    progress.wait(text.clone(), event.at, *until);
                }
                if lines {
                    self.write(&format!("== {text}\n"));
                }
            }
            EventKind::LockAcquired { name } => {
                if let Some(progress) = &mut self.progress {
                    progress.end_wait();
                }
                if lines {
                    self.write(&format!("== lock '{}' taken\n", sanitize::one_line(name)));
                }
            }
            EventKind::PreflightChecked { mode, hosts } => {
                if lines {
                    let run = &self.run;
                    let text = gates::preflight_table(*mode, hosts, &|h| run.host_name(h));
                    let text = self.mask(&text);
                    self.write(&text);
                }
            }
            EventKind::HostSlotWaiting {
                host,
                step,
                limit,
                holders,
            } => {
                if lines {
                    let text = gates::slot_waiting(
                        &self.run.host_name(*host),
                        &self.run.step_label(*step),
                        *limit,
                        holders,
                    );
                    self.write(&text);
                }
            }
            EventKind::RunRefused { reason } => {
                self.run.refused = true;
                if lines {
                    let text = format!("== not started: {}\n", self.mask(reason));
                    self.write(&text);
                }
            }
        }
    }

    /// Prints what waits for the end (gather blocks, hosts never started,
    /// the summary line) and returns the summary.
    pub fn finish(mut self) -> RunSummary {
        if let Some(progress) = &mut self.progress {
            progress.finish();
        }
        // Hosts still running when the stream ended count as interrupted
        // (and show what they printed).
        let unfinished: Vec<HostIndex> = (0..self.run.hosts.len())
            .filter(|&h| self.run.host_started[h].is_some())
            .collect();
        for host in unfinished {
            self.host_finished(host, HostStatus::Interrupted, self.run.last_at);
        }
        if self.options.mode != OutputMode::Json {
            if self.options.mode == OutputMode::Gather {
                let blocks = self.gather.render(&self.run);
                self.write(&blocks);
            }
            if !self.never_started.is_empty() {
                let names: Vec<String> = self
                    .never_started
                    .iter()
                    .map(|&h| self.run.host_name(h))
                    .collect();
                let text = format!(
                    "== not started (skipped): {} host{}: {}\n",
                    names.len(),
                    plural(names.len()),
                    crate::hostlist::fold(names.iter().map(String::as_str))
                );
                self.write(&text);
            }
            let line = format!("{}\n", self.run.summary().line());
            self.write(&line);
        }
        let mut summary = self.run.summary();
        summary.output_error = self.output_error.take();
        summary
    }

    /// A host's capture, made on its first event; `None` for an index past
    /// the announced hosts.
    fn capture(&mut self, host: HostIndex) -> Option<&mut HostCapture> {
        if self.options.mode == OutputMode::Json || host >= self.run.hosts.len() {
            return None;
        }
        let cap = self.options.output_cap;
        let hashing = self.options.mode == OutputMode::Gather;
        Some(
            self.captures
                .entry(host)
                .or_insert_with(|| HostCapture::new(cap, hashing)),
        )
    }

    fn host_finished(&mut self, host: HostIndex, status: HostStatus, at: UnixMillis) {
        if host >= self.run.hosts.len() {
            return;
        }
        let took = self.run.mark_host_finished(host, status, at);
        if let Some(progress) = &mut self.progress {
            let current =
                self.run.batch_of[host].is_some() && self.run.batch_of[host] == self.current_batch;
            progress.host_finished(status.is_failure(), current);
        }
        let mut capture = self.captures.remove(&host);
        if let Some(capture) = &mut capture {
            capture.align_cut();
            capture.journal_failed =
                (self.options.journal_failed.as_ref()).is_some_and(|failed| failed.is_cancelled());
        }
        match self.options.mode {
            OutputMode::Json => {}
            OutputMode::Gather => self.gather.add(&self.run, host, status, capture),
            OutputMode::Lines => {
                if status == HostStatus::Skipped && capture.is_none() {
                    self.never_started.push(host);
                    return;
                }
                self.printed += 1;
                let detail = host_detail(capture.as_ref(), status, &self.run, true);
                let mut text = host_header(
                    self.printed,
                    &self.options.clock.time_of_day(at),
                    status,
                    &self.run.host_name(host),
                    took,
                    &detail,
                );
                if let Some(capture) = &capture {
                    render_output(&mut text, capture, &self.run, host);
                }
                self.write(&text);
            }
        }
    }

    fn write_json(&mut self, event: &Event) {
        let line = match &event.kind {
            EventKind::Exported { value, .. } if !self.scrubber.is_empty() => {
                let mut masked = event.clone();
                if let EventKind::Exported { value: slot, .. } = &mut masked.kind {
                    *slot = self.mask(value);
                }
                self.json.line(&masked)
            }
            EventKind::InstanceFinished {
                reason: Some(reason),
                ..
            } if !self.scrubber.is_empty() => {
                let mut masked = event.clone();
                if let EventKind::InstanceFinished { reason: slot, .. } = &mut masked.kind {
                    *slot = Some(self.mask(reason));
                }
                self.json.line(&masked)
            }
            _ => self.json.line(event),
        };
        // An event always serialises (its map keys are strings).
        if let Some(line) = line {
            self.write(&line);
        }
    }

    /// Masks the given secrets in a text.
    fn mask(&self, text: &str) -> String {
        if self.scrubber.is_empty() {
            return text.to_string();
        }
        let mut scrubber = self.scrubber.clone();
        let mut masked = scrubber.push(text.as_bytes()).to_vec();
        masked.extend_from_slice(&scrubber.finish());
        String::from_utf8_lossy(&masked).into_owned()
    }

    /// Writes and flushes, above the progress bars when they are drawn.
    /// After the first failure, output is dropped.
    fn write(&mut self, text: &str) {
        if self.output_error.is_some() || text.is_empty() {
            return;
        }
        let out = &mut self.out;
        let mut put = || out.write_all(text.as_bytes()).and_then(|()| out.flush());
        let result = match &self.progress {
            Some(progress) => progress.suspend(put),
            None => put(),
        };
        if let Err(err) = result {
            self.output_error = Some(err.to_string());
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bytes::Bytes;

    use super::*;
    use crate::engine::events::{InstanceStatus, StepOutcome, Stream};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    const T0: UnixMillis = 1_704_103_200_000; // 2024-01-01 10:00:00 UTC

    fn ev(offset: i64, kind: EventKind) -> Event {
        Event {
            instance: 7,
            at: T0 + offset,
            kind,
        }
    }

    fn outcome(status: HostStatus, code: i32) -> StepOutcome {
        StepOutcome {
            status,
            exit_code: Some(code),
            signal: None,
            error: None,
        }
    }

    fn host_run(host: usize, at: i64, text: &str, status: HostStatus, code: i32) -> Vec<Event> {
        vec![
            ev(
                at,
                EventKind::StepStarted {
                    host,
                    step: 0,
                    attempt: 1,
                },
            ),
            ev(
                at,
                EventKind::Output {
                    host,
                    step: 0,
                    stream: Stream::Stdout,
                    data: Bytes::copy_from_slice(text.as_bytes()),
                },
            ),
            ev(
                at + 100,
                EventKind::StepFinished {
                    host,
                    step: 0,
                    attempt: 1,
                    outcome: outcome(status, code),
                },
            ),
            ev(at + 100, EventKind::HostFinished { host, status }),
        ]
    }

    /// Two batches of two hosts, a 90 s interval between them.
    fn two_batches() -> Vec<Event> {
        let mut events = vec![
            ev(
                0,
                EventKind::InstanceStarted {
                    flow: "f".into(),
                    hosts: ["n1", "n2", "n3", "n4"].map(String::from).to_vec(),
                    steps: vec!["run".into()],
                    batches: vec![vec![0, 1], vec![2, 3]],
                },
            ),
            ev(0, EventKind::BatchStarted { batch: 0 }),
        ];
        events.extend(host_run(0, 10, "a\n", HostStatus::Ok, 0));
        events.extend(host_run(1, 20, "b\n", HostStatus::Failed, 1));
        events.push(ev(
            200,
            EventKind::BatchFinished {
                batch: 0,
                ok: 1,
                failed: 1,
            },
        ));
        events.push(ev(
            200,
            EventKind::Waiting {
                next_batch: 1,
                reason: WaitReason::Interval,
                until: Some(T0 + 90_200),
            },
        ));
        events.push(ev(90_200, EventKind::BatchStarted { batch: 1 }));
        events.extend(host_run(2, 90_300, "a\n", HostStatus::Ok, 0));
        events.extend(host_run(3, 90_400, "a\n", HostStatus::Ok, 0));
        events.push(ev(
            90_600,
            EventKind::BatchFinished {
                batch: 1,
                ok: 2,
                failed: 0,
            },
        ));
        events.push(ev(
            90_600,
            EventKind::InstanceFinished {
                status: InstanceStatus::Failed,
                reason: Some("1 of 4 host(s) failed".into()),
            },
        ));
        events
    }

    fn options(mode: OutputMode, progress: Progressbars) -> ReportOptions {
        let mut options = ReportOptions::new(mode);
        options.progress = progress;
        options.clock = Clock::utc(|| T0);
        options
    }

    #[test]
    fn terminal_mode_runs_a_whole_sequence_and_prints_like_lines() {
        let plain = Buffer::default();
        let mut reporter = Reporter::new(
            Box::new(plain.clone()),
            options(OutputMode::Lines, Progressbars::Off),
        );
        for event in two_batches() {
            reporter.handle(&event);
        }
        reporter.finish();

        let live = Buffer::default();
        let mut reporter = Reporter::new(
            Box::new(live.clone()),
            options(OutputMode::Lines, Progressbars::Hidden),
        );
        for event in two_batches() {
            reporter.handle(&event);
            if let EventKind::Waiting { .. } = event.kind {
                // Half-way through the 90 s interval.
                reporter.progress.as_mut().unwrap().tick(T0 + 45_200);
                assert_eq!(
                    reporter.progress.as_ref().unwrap().wait_message().unwrap(),
                    "45s left, waiting 1m30s until 10:01:30 before batch 2/2"
                );
            }
        }
        assert_eq!(reporter.progress.as_ref().unwrap().positions(), (4, 1));
        let summary = reporter.finish();
        assert_eq!(live.text(), plain.text());
        assert!(
            live.text()
                .contains("[2] 10:00:00 [FAILED] n2 (0.10s): exit 1\nb\n")
        );
        assert_eq!(summary.exit_code(), crate::exit::FAILED);
    }

    #[tokio::test]
    async fn terminal_gather_mode_consumes_over_a_channel() {
        let out = Buffer::default();
        let reporter = Reporter::new(
            Box::new(out.clone()),
            options(OutputMode::Gather, Progressbars::Hidden),
        );
        let (tx, rx) = mpsc::channel(4);
        let feeder = tokio::spawn(async move {
            for event in two_batches() {
                tx.send(event).await.unwrap();
            }
        });
        let summary = reporter.consume(rx).await;
        feeder.await.unwrap();
        let text = out.text();
        assert!(
            text.contains("n[1,3-4] (3): OK\n----------------\na\n"),
            "{text}"
        );
        assert!(text.contains("n2 (1): FAILED, exit 1\n"), "{text}");
        assert_eq!(summary.count(HostStatus::Ok), 3);
    }

    #[test]
    fn gather_moves_a_retried_host_to_its_new_group() {
        let out = Buffer::default();
        let mut reporter = Reporter::new(
            Box::new(out.clone()),
            options(OutputMode::Gather, Progressbars::Off),
        );
        let mut events = two_batches();
        // n2 is retried after the run went on and now succeeds like the others.
        let end = events.pop().unwrap();
        events.extend(host_run(1, 91_000, "a\n", HostStatus::Ok, 0));
        events.push(end);
        for event in &events {
            reporter.handle(event);
        }
        let summary = reporter.finish();
        let text = out.text();
        assert!(text.contains("n[1-4] (4): OK\n"), "{text}");
        assert!(!text.contains("FAILED"), "{text}");
        assert_eq!(summary.count(HostStatus::Ok), 4);
        assert_eq!(summary.count(HostStatus::Failed), 0);
    }

    #[test]
    fn operator_events_are_announced() {
        let out = Buffer::default();
        let mut reporter = Reporter::new(
            Box::new(out.clone()),
            options(OutputMode::Lines, Progressbars::Off),
        );
        let mut events = two_batches();
        events.truncate(11); // through the first batch's end
        events.extend([
            ev(
                200,
                EventKind::Waiting {
                    next_batch: 1,
                    reason: WaitReason::Failure,
                    until: None,
                },
            ),
            ev(200, EventKind::Paused),
            ev(300, EventKind::Resumed),
            ev(
                400,
                EventKind::ApprovalRequested {
                    batch: 1,
                    step: 0,
                    message: "go?".into(),
                },
            ),
            ev(500, EventKind::Approved { batch: 1, step: 0 }),
        ]);
        for event in &events {
            reporter.handle(event);
        }
        let summary = reporter.finish();
        let text = out.text();
        assert!(
            text.contains(
                "== paused: hosts failed; waiting for an operator before batch 2/2\n\
             == paused\n== resumed\n\
             == approval needed in batch 2/2 at step 1/1: run: go?\n\
             == approved: batch 2/2 at step 1/1: run\n"
            ),
            "{text}"
        );
        assert_eq!(summary.status, InstanceStatus::Interrupted);
        assert_eq!(summary.not_finished, 2);
    }

    #[test]
    fn json_is_never_mixed_with_progress() {
        let options = ReportOptions::for_stdout(true, true);
        assert_eq!(options.mode, OutputMode::Json);
        assert_eq!(options.progress, Progressbars::Off);
        let reporter = Reporter::new(Box::new(Buffer::default()), {
            let mut o = options;
            o.progress = Progressbars::Hidden;
            o
        });
        assert!(reporter.progress.is_none());
    }

    #[test]
    fn reasons_and_errors_are_masked() {
        let out = Buffer::default();
        let mut opts = options(OutputMode::Lines, Progressbars::Off);
        opts.secrets = vec!["s3cret".into()];
        let mut reporter = Reporter::new(Box::new(out.clone()), opts);
        let mut events = two_batches();
        if let EventKind::StepFinished { outcome, .. } = &mut events[8].kind {
            outcome.error = Some("login with s3cret refused".into());
        }
        if let EventKind::InstanceFinished { reason, .. } = &mut events.last_mut().unwrap().kind {
            *reason = Some("why: s3cret".into());
        }
        for event in &events {
            reporter.handle(event);
        }
        reporter.finish();
        let text = out.text();
        assert!(text.contains("login with *** refused"), "{text}");
        assert!(text.contains("why: ***"), "{text}");
        assert!(!text.contains("s3cret"));
    }
}
