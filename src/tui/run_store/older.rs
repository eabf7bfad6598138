//! Lines the store dropped, read back from the journal: a request for a
//! window of one host's lines, the answer, and `LineReplay`, which feeds
//! the journal's items through the same `LineMaker` the store used so the
//! lines come out numbered alike (and checked against the store's first
//! buffered ones). The read itself is `tasks::older_lines`.

use super::RunStore;
use super::host::{LineKind, LineMaker, OutputLine};
use super::needle::Needle;
use crate::engine::events::{HostIndex, InstanceId, StepOutcome};

/// Most lines read back from the journal and kept at once (for the host in
/// focus): older output costs memory only while the operator reads it.
pub const OLDER_WINDOW_LINES: u64 = 2000;

/// Asks for absolute lines `lines` of one host, which the store dropped.
/// `check` holds the store's lines from `check_from` on (the first buffered
/// ones): the lines read must lead up to exactly these, or the journal and
/// the store disagree about the numbering and nothing is shown.
#[derive(Debug, Clone)]
pub struct OlderRequest {
    pub journal: std::path::PathBuf,
    pub instance: InstanceId,
    pub host: HostIndex,
    pub lines: std::ops::Range<u64>,
    pub check_from: u64,
    pub check: Vec<OutputLine>,
    /// Tells a late answer from the current one.
    pub generation: u64,
}

impl OlderRequest {
    /// A request for the dropped lines in `lines` (clamped to what was
    /// dropped), checked against the store's first buffered lines.
    pub fn new(
        journal: std::path::PathBuf,
        store: &RunStore,
        host: HostIndex,
        lines: std::ops::Range<u64>,
        generation: u64,
    ) -> Option<OlderRequest> {
        let record = store.hosts.get(host)?;
        let first = record.first_line();
        let lines = lines.start.min(first)..lines.end.min(first);
        if lines.is_empty() || store.instance <= 0 {
            return None;
        }
        Some(OlderRequest {
            journal,
            instance: store.instance,
            host,
            lines,
            check_from: first,
            check: record.lines().iter().take(3).cloned().collect(),
            generation,
        })
    }
}

/// The answer to an `OlderRequest`.
#[derive(Debug, Clone)]
pub struct OlderLines {
    pub instance: InstanceId,
    pub host: HostIndex,
    pub generation: u64,
    /// The first line's absolute number and the lines.
    pub result: Result<(u64, Vec<OutputLine>), String>,
}

/// Numbers lines as the store did, keeping those in two ranges.
#[derive(Debug, Default)]
struct NumberedLines {
    keep: std::ops::Range<u64>,
    check: std::ops::Range<u64>,
    made: u64,
    kept: Vec<OutputLine>,
    checked: Vec<OutputLine>,
    /// Past the journal's cut marker the store's numbers are unknown: the
    /// lines are kept unnumbered, to be placed by the store's own lines.
    after_cut: Option<Vec<OutputLine>>,
    /// A search: the numbers of the lines before `check` that match.
    find: Option<(Needle, Vec<u64>)>,
}

/// Most matches one search of a host's output keeps.
pub const MAX_MATCHES: usize = 100_000;

impl NumberedLines {
    fn push(&mut self, kind: LineKind, text: String) {
        if let Some(after) = &mut self.after_cut {
            after.push(OutputLine {
                kind,
                text: text.into_boxed_str(),
            });
            return;
        }
        let n = self.made;
        self.made += 1;
        if let Some((needle, found)) = &mut self.find
            && n < self.check.start
            && found.len() < MAX_MATCHES
            && needle.is_in(&text)
        {
            found.push(n);
        }
        let to = if self.keep.contains(&n) {
            &mut self.kept
        } else if self.check.contains(&n) {
            &mut self.checked
        } else {
            return;
        };
        to.push(OutputLine {
            kind,
            text: text.into_boxed_str(),
        });
    }
}

/// Replays one host's journal items through a `LineMaker`, numbering the
/// lines as the store did: keeps the lines in `keep` and those in `check`
/// (to compare with the store's own).
#[derive(Debug)]
pub struct LineReplay {
    lines: NumberedLines,
    maker: LineMaker,
    steps: Vec<String>,
    host_done: bool,
    /// The attempt whose output comes now, with its outcome once finished.
    current: Option<Option<StepOutcome>>,
    /// The journal's cut marker among the wanted lines: its line number
    /// and text.
    cut: Option<(u64, String)>,
}

impl LineReplay {
    pub fn new(keep: std::ops::Range<u64>, check: std::ops::Range<u64>) -> LineReplay {
        LineReplay {
            lines: NumberedLines {
                keep,
                check,
                ..NumberedLines::default()
            },
            maker: LineMaker::default(),
            steps: Vec::new(),
            host_done: false,
            current: None,
            cut: None,
        }
    }

    /// Finds the lines before `check` (the store's first buffered ones)
    /// that hold `needle`, numbered as the store did.
    pub fn searching(needle: Needle, check: std::ops::Range<u64>) -> LineReplay {
        let mut replay = LineReplay::new(0..0, check);
        replay.lines.find = Some((needle, Vec::new()));
        replay
    }

    /// Takes one item; false once every line wanted is made.
    pub fn item(&mut self, item: crate::journal::HostItem) -> bool {
        use crate::journal::HostItem;
        let lines = &mut self.lines;
        let emit = &mut |kind, text| lines.push(kind, text);
        match item {
            HostItem::Start { steps, status } => {
                self.steps = steps;
                self.host_done = status.is_some_and(|s| s.is_final());
            }
            HostItem::Attempt(attempt) => {
                if let Some(Some(outcome)) = self.current.take() {
                    self.maker.step_finished(&outcome, emit);
                }
                self.maker
                    .step_started(attempt.step, &self.steps, attempt.attempt, emit);
                self.current = Some(attempt.finished_at.map(|_| StepOutcome {
                    status: attempt.status,
                    exit_code: attempt.exit_code,
                    signal: attempt.signal,
                    error: attempt.error,
                }));
            }
            HostItem::Chunk(chunk) if chunk.marker => {
                // Past the store's first lines the numbers are known already.
                if self.cut.is_none() && self.made() < self.lines.check.start {
                    let text = String::from_utf8_lossy(&chunk.data).trim_end().to_owned();
                    self.cut = Some((self.made(), text));
                    self.lines.after_cut = Some(Vec::new());
                }
            }
            HostItem::Chunk(chunk) => self.maker.output(chunk.stream, &chunk.data, emit),
        }
        // Past a cut, the rest is needed to find where the store's lines are.
        self.cut.is_some() || self.made() < self.wanted_end()
    }

    /// With a cut among the wanted lines: the lines `keep` asked for, the
    /// numbers after the cut found by where the store's first lines
    /// (`check`, from line `check_from`) are in the journal's tail, the
    /// cut's own numbers showing its marker. `None` without a cut;
    /// `Some(None)` when the store's lines are not (yet) in the journal.
    pub fn across_cut(
        &self,
        check_from: u64,
        check: &[OutputLine],
    ) -> Option<Option<Vec<OutputLine>>> {
        let (cut_at, marker) = self.cut.as_ref()?;
        let after = self.lines.after_cut.as_deref().unwrap_or_default();
        let Some(tail_start) = self.tail_start(check_from, check)? else {
            return Some(None);
        };
        let keep = self.lines.keep.clone();
        let lines = keep
            .map(|n| {
                if n < *cut_at {
                    self.lines.kept[(n - self.lines.keep.start) as usize].clone()
                } else if n < tail_start {
                    OutputLine {
                        kind: LineKind::Note,
                        text: marker.clone().into_boxed_str(),
                    }
                } else {
                    after[(n - tail_start) as usize].clone()
                }
            })
            .collect();
        Some(Some(lines))
    }

    /// The store's number of the first line after the cut: where the
    /// store's first lines (`check`, from `check_from`) are in the
    /// journal's tail. `None` without a cut; `Some(None)` when the store's
    /// lines are not (yet) in the journal.
    fn tail_start(&self, check_from: u64, check: &[OutputLine]) -> Option<Option<u64>> {
        let (cut_at, _) = self.cut.as_ref()?;
        let after = self.lines.after_cut.as_deref().unwrap_or_default();
        let found = (0..=after.len().saturating_sub(check.len()))
            .rev()
            .find(|&j| !check.is_empty() && after[j..].starts_with(check));
        // The store's line `check_from` is the journal's `after[j]`.
        Some(found.and_then(|j| check_from.checked_sub(j as u64).filter(|t| t >= cut_at)))
    }

    /// A search's answer: the numbers of the matching lines before the
    /// store's first buffered one (`check_from`, whose lines are `check`).
    /// `None` while the journal has not reached the store's lines. The cut
    /// marker is a line of its own, so no match spans it.
    pub fn matches(&self, check_from: u64, check: &[OutputLine]) -> Option<Vec<u64>> {
        let (needle, found) = self.lines.find.as_ref()?;
        let mut found = found.clone();
        match self.tail_start(check_from, check) {
            Some(Some(tail_start)) => {
                let after = self.lines.after_cut.as_deref().unwrap_or_default();
                found.extend(
                    after
                        .iter()
                        .enumerate()
                        .map(|(j, line)| (tail_start + j as u64, line))
                        .take_while(|(n, _)| *n < check_from)
                        .filter(|(_, line)| needle.is_in(&line.text))
                        .map(|(n, _)| n)
                        .take(MAX_MATCHES.saturating_sub(found.len())),
                );
                Some(found)
            }
            Some(None) => None,
            None if self.complete() && self.lines.checked == check => Some(found),
            None => None,
        }
    }

    /// No more items: the last attempt's end, and the host's (it flushes
    /// what is left when it finished).
    pub fn end(&mut self) {
        let lines = &mut self.lines;
        let emit = &mut |kind, text| lines.push(kind, text);
        if let Some(Some(outcome)) = self.current.take() {
            self.maker.step_finished(&outcome, emit);
        }
        if self.host_done {
            self.maker.flush(emit);
        }
    }

    fn wanted_end(&self) -> u64 {
        self.lines.keep.end.max(self.lines.check.end)
    }

    /// Lines made so far.
    pub fn made(&self) -> u64 {
        self.lines.made
    }

    /// Every wanted line is made.
    pub fn complete(&self) -> bool {
        self.made() >= self.wanted_end()
    }

    /// The lines kept and the lines to check.
    pub fn into_lines(self) -> (Vec<OutputLine>, Vec<OutputLine>) {
        (self.lines.kept, self.lines.checked)
    }
}
