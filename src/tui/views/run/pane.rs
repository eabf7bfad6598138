//! The output pane's state: which absolute line is at the top, and the
//! window of older lines read back from the journal for the host in focus. Everything here reads the run store; the journal read itself
//! runs off the UI task (`tasks::older_lines`) and comes back as a
//! `Message::Older`.

use super::{Message, OutputLayout, RunView};
use crate::engine::events::{HostIndex, Stream};
use crate::tui::effects::Effects;
use crate::tui::run_store::{
    HostRecord, LineKind, OLDER_WINDOW_LINES, OlderLines, OlderRequest, OutputLine, RunStore,
};
use crate::tui::tasks::older_lines::read_older;

/// Lines read back from the journal for the host in focus: one window at a
/// time, dropped when the cursor or the position moves away.
#[derive(Debug, Default)]
pub(super) struct Older {
    /// The window: the host, its first absolute line, the lines.
    pub(super) window: Option<(HostIndex, u64, Vec<OutputLine>)>,
    /// The read in flight: its generation, host and lines.
    pub(super) pending: Option<(u64, HostIndex, std::ops::Range<u64>)>,
    /// Why the last read for a host failed; not asked again until the
    /// cursor moves.
    pub(super) problem: Option<(HostIndex, String)>,
    pub(super) generation: u64,
}

impl Older {
    pub(super) fn clear(&mut self) {
        self.window = None;
        self.pending = None;
        self.problem = None;
        self.generation += 1;
    }

    /// A line of the window, if it holds it.
    pub(super) fn line(&self, host: HostIndex, line: u64) -> Option<&OutputLine> {
        let (h, first, lines) = self.window.as_ref()?;
        if *h != host || line < *first {
            return None;
        }
        lines.get((line - first) as usize)
    }
}

/// What the output pane shows in one row.
pub(super) enum PaneLine<'a> {
    Line(LineKind, std::borrow::Cow<'a, str>),
    /// Above the first line, once the output is read back from the journal.
    StartOfOutput,
    Loading,
    Unavailable(&'a str),
    Blank,
}

impl RunView {
    /// Lines `from..to` of the host under the cursor as the output pane
    /// shows them: read back from the journal below the buffer, then the
    /// buffer. `None` where a line is not at hand (not read yet).
    pub fn output_lines(&self, from: u64, to: u64) -> Vec<Option<(LineKind, String)>> {
        let Some(h) = self.cursor_host() else {
            return Vec::new();
        };
        let Some(store) = &self.store else {
            return Vec::new();
        };
        let store = RunStore::lock(store);
        let host = &store.hosts[h];
        let (_, end) = line_span(host);
        (from..to.min(end))
            .map(|i| match self.row(host, h, i) {
                PaneLine::Line(kind, text) => Some((kind, text.into_owned())),
                _ => None,
            })
            .collect()
    }

    /// Older lines can be read back for this host: the store dropped some
    /// and the run's journal is known.
    pub(super) fn reads_older(&self, store: &RunStore, host: &HostRecord) -> bool {
        self.journal.is_some() && store.instance > 0 && host.first_line() > 0
    }

    /// The lowest line the pane may scroll to.
    pub(super) fn lowest_line(&self, store: &RunStore, host: &HostRecord) -> u64 {
        if self.reads_older(store, host) {
            0
        } else {
            host.first_line()
        }
    }

    /// One absolute line of a host: from the buffer, the window read back
    /// from the journal, or a note saying why it is not there.
    pub(super) fn row<'a>(&'a self, host: &'a HostRecord, h: HostIndex, i: u64) -> PaneLine<'a> {
        let first = host.first_line();
        if i < first {
            return match self.older.line(h, i) {
                Some(line) => PaneLine::Line(line.kind, std::borrow::Cow::Borrowed(&line.text)),
                None => match &self.older.problem {
                    Some((ph, problem)) if *ph == h => PaneLine::Unavailable(problem),
                    _ => PaneLine::Loading,
                },
            };
        }
        let index = i - first;
        let buffered = host.lines().len() as u64;
        if index < buffered {
            let line = &host.lines()[index as usize];
            return PaneLine::Line(line.kind, std::borrow::Cow::Borrowed(&line.text));
        }
        // The unfinished lines (no newline yet) come last.
        let stream = if index == buffered && !host.partial(Stream::Stdout).is_empty() {
            Stream::Stdout
        } else {
            Stream::Stderr
        };
        let kind = if stream == Stream::Stdout {
            LineKind::Stdout
        } else {
            LineKind::Stderr
        };
        PaneLine::Line(
            kind,
            std::borrow::Cow::Owned(crate::tui::run_store::screen_line::screen_line(
                host.partial(stream),
            )),
        )
    }

    /// Asks the journal for the lines the pane shows that the store
    /// dropped, unless the window has them or a read for them is under way.
    /// The app calls it every tick too: a live run keeps dropping lines
    /// under a pane that stays put.
    pub fn request_older(&mut self, fx: &mut Effects<Message>) -> bool {
        if self.follow || self.layout == OutputLayout::Gathered {
            return false;
        }
        let (Some(h), Some(journal)) = (self.cursor_host(), self.journal.clone()) else {
            return false;
        };
        let Some(store) = self.store.clone() else {
            return false;
        };
        let request = {
            let store = RunStore::lock(&store);
            let host = &store.hosts[h];
            if !self.reads_older(&store, host)
                || self.older.problem.as_ref().is_some_and(|(ph, _)| *ph == h)
            {
                return false;
            }
            let first = host.first_line();
            let height = self.output_height();
            let top = self.top_line;
            let shown = top..(top + height).min(first);
            if shown.is_empty() || shown.clone().all(|i| self.older.line(h, i).is_some()) {
                return false;
            }
            if let Some((_, ph, lines)) = &self.older.pending
                && *ph == h
                && lines.start <= shown.start
                && shown.end <= lines.end
            {
                return false;
            }
            // A window around the pane, as far as the dropped lines go.
            let end = (top + height / 2 + OLDER_WINDOW_LINES / 2)
                .max(top + height)
                .min(first);
            let start = end.saturating_sub(OLDER_WINDOW_LINES).min(top);
            self.older.generation += 1;
            OlderRequest::new(journal, &store, h, start..end, self.older.generation)
        };
        let Some(request) = request else {
            return false;
        };
        self.older.pending = Some((request.generation, h, request.lines.clone()));
        fx.work(move || Message::Older(read_older(request)));
        true
    }

    /// A journal read came back.
    pub(super) fn older_read(&mut self, read: OlderLines) {
        let current = self
            .older
            .pending
            .as_ref()
            .is_some_and(|(generation, _, _)| *generation == read.generation);
        let same_run = self
            .store
            .as_ref()
            .is_some_and(|s| RunStore::lock(s).instance == read.instance);
        if !current || !same_run {
            return;
        }
        self.older.pending = None;
        match read.result {
            Ok((first, lines)) => self.older.window = Some((read.host, first, lines)),
            Err(problem) => self.older.problem = Some((read.host, problem)),
        }
    }

    /// Scrolls the output of the host under the cursor by `delta` lines.
    pub(super) fn scroll_output(&mut self, delta: i64, fx: &mut Effects<Message>) {
        if self.layout == OutputLayout::Gathered {
            self.gather_scroll = (self.gather_scroll as i64 + delta).max(0) as usize;
            return;
        }
        let Some(h) = self.cursor_host() else { return };
        let Some(store) = self.store.clone() else {
            return;
        };
        {
            let store = RunStore::lock(&store);
            let host = &store.hosts[h];
            let height = self.output_height();
            let (first, end) = line_span(host);
            let lowest = self.lowest_line(&store, host);
            let bottom_top = end.saturating_sub(height).max(first);
            let top = if self.follow {
                bottom_top
            } else {
                self.top_line
            };
            let top = (top as i64)
                .saturating_add(delta)
                .clamp(lowest as i64, bottom_top as i64) as u64;
            self.follow = top >= bottom_top;
            self.top_line = top;
        }
        if self.follow {
            // Back at the tail: the lines read back are not needed now.
            self.older.clear();
        } else {
            self.request_older(fx);
        }
    }
}

/// First and one-past-last absolute line of a host, unfinished lines included.
pub(super) fn line_span(host: &HostRecord) -> (u64, u64) {
    let partial = u64::from(!host.partial(Stream::Stdout).is_empty())
        + u64::from(!host.partial(Stream::Stderr).is_empty());
    (host.first_line(), host.total_lines() + partial)
}
