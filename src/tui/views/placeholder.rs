//! The views that arrive in later milestones: a panel that says what will
//! be there, so the layout and keys can be tried already.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{Hint, View};
use crate::tui::action::{Action, ViewId};
use crate::tui::keymap::KeyContext;
use crate::tui::theme::Theme;

pub struct PlaceholderView {
    pub id: ViewId,
    /// Hosts selected in the inventory, to show where the selection goes.
    pub selected_hosts: usize,
}

impl PlaceholderView {
    pub fn new(id: ViewId) -> PlaceholderView {
        PlaceholderView {
            id,
            selected_hosts: 0,
        }
    }

    fn plan(&self) -> (&'static str, &'static [&'static str]) {
        match self.id {
            ViewId::Inventory => ("", &[]),
            ViewId::Flows => (
                "The atom library and the flows.",
                &[
                    "compose or edit a flow: add, remove and reorder steps",
                    "choose atoms; set args, timeout and on_failure",
                    "edit inline scripts and atoms in an embedded editor",
                    "validate as `jobdeck check` does, errors at the line",
                    "typed parameter forms; secrets shown as •••",
                    "save back to YAML",
                ],
            ),
            ViewId::Planner => (
                "The rollout planner, before a run.",
                &[
                    "type a batch expression (10% 30% 100%), see batch sizes live",
                    "interval, mode (pause-on-failure, continue, confirm), max-fail",
                    "dry-run preview: which host lands in which batch",
                    "a final confirmation: hosts, steps and batches",
                ],
            ),
            ViewId::Run => (
                "The live run.",
                &[
                    "hosts grouped by batch: status glyph, colour, elapsed time",
                    "per-host output streaming live, stderr marked",
                    "2-4 hosts side by side; a gathered view folding equal output",
                    "progress per batch and overall, ETA, interval countdown",
                    "pause, resume, confirm next batch, abort, retry failed, skip",
                    "follow-tail, scrollback, search (/), save hosts or output",
                ],
            ),
            ViewId::History => (
                "The journal's past runs.",
                &[
                    "instances filtered by flow, status and date",
                    "replay a run in the Run view with its final states",
                    "timeline playback at 1x, 10x or 100x with a scrubber",
                    "rerun failed hosts; resume an interrupted run",
                ],
            ),
            ViewId::Schedules => (
                "Cron and one-shot schedules.",
                &[
                    "list, add and edit; the next 5 fire times as you type",
                    "pause, resume and delete",
                    "each schedule's last run and its status",
                ],
            ),
        }
    }
}

impl View for PlaceholderView {
    fn handle(&mut self, _action: &Action) -> Option<Action> {
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let (summary, items) = self.plan();
        let mut lines = vec![
            Line::from(Span::styled(summary, theme.title())),
            Line::default(),
            Line::from(Span::styled("Coming in a later milestone:", theme.muted())),
        ];
        for item in items {
            lines.push(Line::from(vec![
                Span::styled("  • ", theme.accent()),
                Span::styled(*item, theme.text()),
            ]));
        }
        if self.id == ViewId::Planner || self.id == ViewId::Run {
            lines.push(Line::default());
            let note = match self.selected_hosts {
                0 => "No hosts selected yet: pick them in the Inventory view (1).".to_string(),
                1 => "1 host is selected in the Inventory view.".to_string(),
                n => format!("{n} hosts are selected in the Inventory view."),
            };
            lines.push(Line::from(Span::styled(note, theme.accent())));
        }
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Span::styled(
                format!(" {} ", self.id.title()),
                theme.title(),
            ));
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false })
                .style(theme.base()),
            area,
        );
    }

    fn set_area(&mut self, _area: Rect) {}

    fn key_contexts(&self) -> Vec<KeyContext> {
        Vec::new()
    }

    fn hints(&self) -> Vec<Hint> {
        vec![Hint::new(Action::ShowView(ViewId::Inventory), "inventory")]
    }
}
