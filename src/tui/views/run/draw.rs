//! Drawing the Run view: the header (run, gauges, what it waits for, the
//! replay timeline), the hosts by batch, and the output pane in its three
//! layouts (one host, hosts side by side, gathered blocks).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::gates::{gate_lines, gate_state, host_note};
use super::output_line::{marker_line, output_line, wrapped_line};
use super::pane::{PaneLine, line_span};
use super::{MAX_SPLIT, OutputLayout, Pane, ReplayBar, RunView};
use crate::engine::events::{HostIndex, HostStatus, UnixMillis, WaitReason};
use crate::tui::action::Action;
use crate::tui::run_store::{Counts, HostRecord, RunStore};
use crate::tui::theme::Theme;
use crate::tui::widgets::clip::{clip, clip_spans};
use crate::tui::widgets::durations::{countdown, elapsed, timeline};
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::scroll_list::keep_in_view;
use crate::tui::widgets::status_look::{host_look, instance_look};

impl RunView {
    /// Hosts shown side by side: pinned ones, then from the cursor on.
    fn split_hosts(&self, store: &RunStore, count: usize) -> Vec<HostIndex> {
        let order = store.host_order();
        let mut hosts: Vec<HostIndex> = self
            .pinned
            .iter()
            .copied()
            .filter(|&h| h < store.hosts.len())
            .take(count)
            .collect();
        for &h in order.iter().skip(self.cursor) {
            if hosts.len() >= count {
                break;
            }
            if !hosts.contains(&h) {
                hosts.push(h);
            }
        }
        hosts
    }

    pub(super) fn draw_header(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        store: &RunStore,
    ) {
        let now = self.now();
        let counts = store.counts();
        let (glyph, color) = instance_look(theme, store.status);
        let batch = match store.current_batch {
            Some(b) => format!(" · batch {}/{}", b + 1, store.batches.len()),
            None if store.batches.is_empty() => String::new(),
            None if store.batches.len() == 1 => " · 1 batch".to_string(),
            None => format!(" · {} batches", store.batches.len()),
        };
        let took = store
            .started_at
            .map(|s| elapsed((store.finished_at.unwrap_or(now) - s).max(0)))
            .unwrap_or_default();
        let id = if store.instance > 0 {
            format!(" Run {}", store.instance)
        } else {
            " Run".to_string()
        };
        let title = Line::from(vec![
            Span::styled(id, theme.title()),
            Span::styled(format!(" · {}", store.flow), theme.text()),
            Span::styled(format!(" · {glyph} {}", store.status), theme.fg(color)),
            Span::styled(format!("{batch} · {took}"), theme.muted()),
            Span::styled(
                format!(
                    "   {} {}  {} {}  {} {}  {} {}",
                    theme.glyphs.ok,
                    counts.ok,
                    theme.glyphs.failed,
                    counts.failed,
                    theme.glyphs.running,
                    counts.active,
                    theme.glyphs.pending,
                    counts.pending
                ),
                theme.muted(),
            ),
            Span::styled(
                [
                    (counts.skipped, &theme.glyphs.skipped),
                    (counts.cancelled, &theme.glyphs.cancelled),
                ]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, glyph)| format!("  {glyph} {n}"))
                .collect::<String>(),
                theme.fg(theme.colors.skipped),
            ),
        ]);
        let bar_width = (area.width as usize / 3).clamp(10, 50);
        let mut gauge = vec![Span::styled(" Overall ", theme.muted())];
        gauge.extend(bar(&counts, bar_width, theme));
        gauge.push(Span::styled(tally(&counts), theme.text()));
        if let Some(eta) = store.eta_ms(now).filter(|_| counts.ended() < counts.total) {
            gauge.push(Span::styled(
                format!(" · ETA {}", elapsed(eta)),
                theme.muted(),
            ));
        }
        if let Some(b) = store.current_batch
            && area.width >= 100
        {
            let bc = store.batch_counts(b);
            gauge.push(Span::styled(format!("   Batch {} ", b + 1), theme.muted()));
            gauge.extend(bar(&bc, bar_width / 2, theme));
            gauge.push(Span::styled(tally(&bc), theme.text()));
        }
        let state = self.state_line(store, theme, now);
        let mut lines = vec![title, Line::from(gauge), state];
        if let Some(bar) = self.replay {
            lines.push(replay_line(&bar, area.width as usize, theme));
        }
        lines.extend(
            gate_lines(store, theme)
                .into_iter()
                .take(self.gate_rows as usize),
        );
        frame.render_widget(Paragraph::new(lines), area);
    }

    /// What the run waits for, or how it ended.
    fn state_line(&self, store: &RunStore, theme: &Theme, now: UnixMillis) -> Line<'static> {
        let warn = theme.fg(theme.colors.warning);
        let key = |action: Action| self.keys.of(&action);
        if self.replay.is_some() && !store.status.is_final() {
            return Line::from(Span::styled(
                format!(
                    " replay: live controls are off — {} reruns failed hosts, {} resumes",
                    key(Action::RerunFailed),
                    key(Action::ResumeRun)
                ),
                theme.muted(),
            ));
        }
        if let Some(line) = gate_state(store, theme, now, &self.keys) {
            return line;
        }
        if let Some(approval) = &store.approval {
            return Line::from(Span::styled(
                format!(
                    " ⏸ batch {} waits for approval: {} — {} approves",
                    approval.batch + 1,
                    crate::report::sanitize::one_line(&approval.message),
                    key(Action::Confirm)
                ),
                warn,
            ));
        }
        if let Some(wait) = store.waiting {
            let text = match wait.reason {
                WaitReason::Interval if store.paused => format!(
                    " ⏸ paused: the countdown to batch {} stopped at {} — {} resumes it",
                    wait.next_batch + 1,
                    countdown(wait.held_left.unwrap_or(0)),
                    key(Action::TogglePause)
                ),
                WaitReason::Interval => {
                    let left = wait.until.map(|u| (u - now).max(0)).unwrap_or(0);
                    format!(
                        " ⏳ batch {} starts in {} — {} starts it now, {} pauses the countdown",
                        wait.next_batch + 1,
                        countdown(left),
                        key(Action::Confirm),
                        key(Action::TogglePause)
                    )
                }
                WaitReason::Confirm => {
                    format!(
                        " ⏸ batch {} is ready — {} confirms it",
                        wait.next_batch + 1,
                        key(Action::Confirm)
                    )
                }
                WaitReason::Failure => format!(
                    " ⏸ paused: hosts failed — {} goes on with batch {}, {} retries failed, {} aborts",
                    key(Action::Confirm),
                    wait.next_batch + 1,
                    key(Action::RerunFailed),
                    key(Action::AbortRun)
                ),
                WaitReason::Lock => " ⏳ waiting for the run's lock".to_owned(),
            };
            return Line::from(Span::styled(text, warn));
        }
        if store.paused {
            return Line::from(Span::styled(
                format!(
                    " ⏸ paused: no new host starts (running ones finish) — {} resumes",
                    key(Action::TogglePause)
                ),
                warn,
            ));
        }
        if store.status.is_final() {
            let (_, color) = instance_look(theme, store.status);
            let reason = store
                .reason
                .clone()
                .unwrap_or_else(|| "every host ok".into());
            return Line::from(Span::styled(
                format!(
                    " finished {}: {}",
                    store.status,
                    crate::report::sanitize::one_line(&reason)
                ),
                theme.fg(color),
            ));
        }
        if store.hosts.is_empty() {
            return Line::from(Span::styled(" preparing the run…", theme.muted()));
        }
        Line::from(Span::styled(
            format!(
                " running — {} pause · {} abort · {} retry failed · {} skip host",
                key(Action::TogglePause),
                key(Action::AbortRun),
                key(Action::RerunFailed),
                key(Action::SkipHost)
            ),
            theme.muted(),
        ))
    }

    pub(super) fn draw_hosts(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        store: &RunStore,
    ) {
        let now = self.now();
        let height = area.height.saturating_sub(2) as usize;
        // Rows: a header per batch, then its hosts.
        let mut rows: Vec<(Option<usize>, Option<HostIndex>)> = Vec::new();
        let mut cursor_row = 0;
        let mut position = 0;
        let order = store.host_order();
        let mut in_batches = 0;
        for (b, batch) in store.batches.iter().enumerate() {
            rows.push((Some(b), None));
            for &h in &batch.hosts {
                if position == self.cursor {
                    cursor_row = rows.len();
                }
                rows.push((None, Some(h)));
                position += 1;
            }
            in_batches += batch.hosts.len();
        }
        for &h in order.iter().skip(in_batches) {
            if position == self.cursor {
                cursor_row = rows.len();
            }
            rows.push((None, Some(h)));
            position += 1;
        }
        let scroll = keep_in_view(cursor_row, 0, height, rows.len());
        let width = area.width.saturating_sub(2) as usize;
        let lines: Vec<Line> = rows
            .iter()
            .skip(scroll)
            .take(height)
            .map(|row| match *row {
                (Some(b), _) => batch_row(store, b, width, theme),
                (_, Some(h)) => {
                    let is_cursor = cursor_row < rows.len() && rows[cursor_row].1 == Some(h);
                    host_row(
                        &store.hosts[h],
                        self.pinned.contains(&h),
                        is_cursor,
                        self.focus == Pane::Hosts,
                        now,
                        width,
                        theme,
                    )
                }
                _ => Line::default(),
            })
            .collect();
        let title = format!(" Hosts {} ", store.hosts.len());
        frame.render_widget(
            Paragraph::new(lines).block(panel(&title, self.focus == Pane::Hosts, theme)),
            area,
        );
    }

    pub(super) fn draw_output(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        store: &RunStore,
    ) {
        if self.all.listing {
            return self.draw_all_hosts(frame, area, theme, store);
        }
        match self.layout {
            OutputLayout::Gathered => self.draw_gathered(frame, area, theme, store),
            OutputLayout::Single => {
                if let Some(&h) = store.host_order().get(self.cursor) {
                    self.draw_host_output(frame, area, theme, store, h, true);
                } else {
                    frame.render_widget(
                        Paragraph::new(Span::styled(" no hosts yet", theme.muted()))
                            .block(panel(" Output ", false, theme)),
                        area,
                    );
                }
            }
            OutputLayout::Split(n) => {
                let hosts = self.split_hosts(store, n.clamp(2, MAX_SPLIT));
                let count = hosts.len().max(1) as u16;
                let width = area.width / count;
                for (i, &h) in hosts.iter().enumerate() {
                    let x = area.x + width * i as u16;
                    let w = if i + 1 == hosts.len() {
                        area.right() - x
                    } else {
                        width
                    };
                    let primary = store.host_order().get(self.cursor) == Some(&h);
                    self.draw_host_output(
                        frame,
                        Rect::new(x, area.y, w, area.height),
                        theme,
                        store,
                        h,
                        primary,
                    );
                }
            }
        }
    }

    fn draw_host_output(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        store: &RunStore,
        h: HostIndex,
        primary: bool,
    ) {
        let now = self.now();
        let host = &store.hosts[h];
        let height = area.height.saturating_sub(2) as u64;
        let width = area.width.saturating_sub(2) as usize;
        let (first, end) = line_span(host);
        let bottom_top = end.saturating_sub(height).max(first);
        let top = if self.follow || !primary {
            bottom_top
        } else {
            self.top_line
                .clamp(self.lowest_line(store, host), bottom_top)
        };
        let mut lines: Vec<Line> = Vec::with_capacity(height as usize);
        let mut rows = top..(top + height).min(end);
        if top == 0 && first > 0 && primary && self.reads_older(store, host) {
            // The real start, so it is plain that nothing is above.
            rows.end = rows.end.min(top + height.saturating_sub(1));
            lines.push(marker_line(&PaneLine::StartOfOutput, theme));
        }
        let following = self.follow || !primary;
        if self.wrap && following {
            // The tail's rows, from the last line up until the pane is full.
            let mut tail: Vec<Line> = Vec::new();
            for i in (first..end).rev() {
                if let PaneLine::Line(kind, text) = self.row(host, h, i) {
                    let mut rows = wrapped_line(kind, &text, &self.search.term, width, theme);
                    rows.append(&mut tail);
                    tail = rows;
                }
                if tail.len() as u64 >= height {
                    break;
                }
            }
            let skip = tail.len().saturating_sub(height as usize);
            lines.extend(tail.into_iter().skip(skip));
        } else {
            let mut in_gap = false;
            for i in rows {
                let row = self.row(host, h, i);
                match row {
                    PaneLine::Line(kind, text) if self.wrap => {
                        in_gap = false;
                        lines.extend(wrapped_line(kind, &text, &self.search.term, width, theme));
                    }
                    PaneLine::Line(kind, text) => {
                        in_gap = false;
                        lines.push(output_line(
                            kind,
                            &text,
                            &self.search.term,
                            width,
                            self.column,
                            theme,
                        ));
                    }
                    // One note per run of missing lines; the rest stay blank.
                    _ if in_gap => lines.push(marker_line(&PaneLine::Blank, theme)),
                    other => {
                        in_gap = true;
                        lines.push(marker_line(&other, theme));
                    }
                }
                if lines.len() as u64 >= height {
                    break;
                }
            }
            lines.truncate(height as usize);
        }
        let (glyph, color) = host_look(theme, host.status);
        let mut title = vec![
            Span::styled(format!(" {} ", host.name), theme.title()),
            Span::styled(format!("{glyph} {}", host.status), theme.fg(color)),
        ];
        if let Some(code) = host.exit_code {
            title.push(Span::styled(format!(" · exit {code}"), theme.muted()));
        }
        if let Some(ms) = host.elapsed_ms(now) {
            title.push(Span::styled(format!(" · {}", elapsed(ms)), theme.muted()));
        }
        if let Some(step) = host.step {
            title.push(Span::styled(
                format!(" · {}", crate::report::step_label(&store.steps, step)),
                theme.muted(),
            ));
        }
        title.push(Span::raw(" "));
        let position = if self.follow || !primary {
            "follow".to_string()
        } else {
            format!("line {}/{}", top + 1, end)
        };
        // Which way long lines go: wrapped, or cut (scrolled sideways).
        let long_lines = match (self.wrap, self.column) {
            (true, _) => "wrap".to_string(),
            (false, 0) => "no wrap".to_string(),
            (false, column) => format!("no wrap · col {}", column + 1),
        };
        let mut bottom = vec![Span::styled(
            format!(" {position} · {long_lines} "),
            theme.accent(),
        )];
        // Where the rest is, unless scrolling up reads it back here.
        if host.first_line() > 0 && !(primary && self.reads_older(store, host)) {
            bottom.push(Span::styled(
                format!(
                    "{} earlier lines: jobdeck show {} --host {} ",
                    host.first_line(),
                    store.instance,
                    host.name
                ),
                theme.muted(),
            ));
        }
        let mut block = panel("", primary && self.focus == Pane::Output, theme)
            .title(Line::from(clip_spans(title, width)))
            .title_bottom(Line::from(bottom).right_aligned());
        if let Some(note) = host_note(store, h) {
            block = block.title_bottom(Line::from(Span::styled(
                format!(" {} ", clip(&note, width.saturating_sub(20))),
                theme.fg(theme.colors.warning),
            )));
        }
        if let Some((search, _)) = &self.search.input
            && primary
        {
            block = block.title_bottom(Line::from(vec![
                Span::styled(
                    format!(" {} ", self.search.direction.prompt()),
                    theme.accent().add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!("{}▏ ", search.visible_tail(width / 2)),
                    theme.text(),
                ),
            ]));
        }
        if lines.is_empty() {
            let note = match host.status {
                HostStatus::Pending => " waiting for its batch",
                HostStatus::Connecting => " connecting…",
                _ => " no output",
            };
            lines.push(Line::from(Span::styled(note, theme.muted())));
        }
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}

/// `▶ 10×  0:08.5 ━━━━●──── 0:42.0`: the replay's state, playhead and length.
fn replay_line(bar: &ReplayBar, width: usize, theme: &Theme) -> Line<'static> {
    let state = if bar.playing { "▶" } else { "⏸" };
    let left = format!(" {state} {:>3}×  {} ", bar.speed, timeline(bar.position));
    let right = format!(" {} ", timeline(bar.duration));
    let room = width.saturating_sub(left.chars().count() + right.chars().count());
    let filled = if bar.duration > 0 {
        ((bar.position as f64 / bar.duration as f64) * room as f64).round() as usize
    } else {
        room
    };
    let knob = filled.min(room.saturating_sub(1));
    let mut spans = vec![Span::styled(
        left,
        theme.accent().add_modifier(Modifier::BOLD),
    )];
    if room > 0 {
        spans.push(Span::styled("━".repeat(knob), theme.accent()));
        spans.push(Span::styled("●", theme.fg(theme.colors.selected)));
        spans.push(Span::styled(
            "─".repeat(room.saturating_sub(knob + 1)),
            theme.muted(),
        ));
    }
    spans.push(Span::styled(right, theme.muted()));
    Line::from(spans)
}

fn batch_row(store: &RunStore, b: usize, width: usize, theme: &Theme) -> Line<'static> {
    let counts = store.batch_counts(b);
    let current = store.current_batch == Some(b);
    let label_style = if current {
        theme.accent().add_modifier(Modifier::BOLD)
    } else {
        theme.muted()
    };
    let label = format!("Batch {}/{} ", b + 1, store.batches.len());
    // The host list is narrow: hosts that did not go through the flow
    // (skipped, cancelled) are one figure here; the header names them.
    let tail = match counts.cancelled + counts.skipped {
        0 => format!(" {}/{}", counts.done(), counts.total),
        n => format!(" {}/{} +{n}", counts.done(), counts.total),
    };
    let bar_width = width
        .saturating_sub(label.chars().count() + tail.chars().count() + 1)
        .min(16);
    let mut spans = vec![Span::styled(label, label_style)];
    spans.extend(bar(&counts, bar_width, theme));
    spans.push(Span::styled(tail, theme.muted()));
    Line::from(spans)
}

fn host_row(
    host: &HostRecord,
    pinned: bool,
    cursor: bool,
    focused: bool,
    now: UnixMillis,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let (glyph, color) = host_look(theme, host.status);
    // A host waiting for its slot says so where its time would be.
    let elapsed = match &host.waits_for {
        Some(_) => "slot…".to_string(),
        None => host.elapsed_ms(now).map(elapsed).unwrap_or_default(),
    };
    let pin = if pinned { "◆" } else { " " };
    // pin (2) + glyph (2) + name + elapsed (7)
    let name_width = width.saturating_sub(11);
    let name = clip(&host.name, name_width);
    let text_style = if cursor && focused {
        theme.selection()
    } else if cursor {
        theme.text().add_modifier(Modifier::REVERSED)
    } else {
        theme.text()
    };
    Line::from(vec![
        Span::styled(format!(" {pin}"), theme.fg(theme.colors.selected)),
        Span::styled(format!("{glyph} "), theme.fg(color)),
        Span::styled(format!("{name:<name_width$}"), text_style),
        Span::styled(format!(" {elapsed:>6}"), theme.muted()),
    ])
}

/// `done/total`, and the hosts that did not go through the flow apart:
/// ` 2/6 · 1 cancelled · 3 skipped`.
fn tally(counts: &Counts) -> String {
    let mut text = format!(" {}/{}", counts.done(), counts.total);
    for (n, word) in [(counts.cancelled, "cancelled"), (counts.skipped, "skipped")] {
        if n > 0 {
            text.push_str(&format!(" · {n} {word}"));
        }
    }
    text
}

/// A bar of `width` cells: ok, failed, skipped, cancelled, running, then
/// pending.
fn bar(counts: &Counts, width: usize, theme: &Theme) -> Vec<Span<'static>> {
    if width == 0 {
        return Vec::new();
    }
    let total = counts.total.max(1);
    let cells = |n: usize| n * width / total;
    let ok = cells(counts.ok);
    let failed = if counts.failed > 0 {
        cells(counts.failed).max(1)
    } else {
        0
    };
    let skipped = cells(counts.skipped);
    let cancelled = if counts.cancelled > 0 {
        cells(counts.cancelled).max(1)
    } else {
        0
    };
    let active = cells(counts.active);
    let used = (ok + failed + skipped + cancelled + active).min(width);
    let rest = width - used;
    let part = |n: usize, c: &str, color: Color| Span::styled(c.repeat(n), Style::new().fg(color));
    vec![
        part(ok, "█", theme.colors.ok),
        part(failed, "█", theme.colors.failed),
        part(skipped, "█", theme.colors.skipped),
        part(cancelled, &theme.glyphs.cancelled, theme.colors.skipped),
        part(active, "▒", theme.colors.running),
        part(rest, "░", theme.colors.muted),
    ]
}
