//! The run list: one row above the Run view's header while the console
//! holds two runs or more, one tab per run (`3 deploy ▶ 2/6`), the shown
//! one highlighted; `{` and `}` switch. A row rather than a popup: at
//! 80×24 it costs one line, every run's state stays in sight while its
//! output is watched, and a run waiting for an answer (`?`) shows at once.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::RunView;
use crate::engine::events::WaitReason;
use crate::tui::run_store::{RunStore, SharedRunStore};
use crate::tui::theme::Theme;
use crate::tui::widgets::status_look::instance_look;

/// Longest flow name a tab shows.
const FLOW_CHARS: usize = 12;

/// The console's runs as the Run view lists them.
#[derive(Debug, Default, Clone)]
pub struct RunTabs {
    pub stores: Vec<SharedRunStore>,
    pub shown: usize,
}

impl RunTabs {
    /// Rows the list takes: none for a single run.
    pub fn rows(&self) -> u16 {
        u16::from(self.stores.len() >= 2)
    }
}

impl RunView {
    /// The console's runs and the one shown, for the list row.
    pub fn set_runs(&mut self, stores: Vec<SharedRunStore>, shown: usize) {
        self.runs = RunTabs { stores, shown };
    }

    pub(super) fn draw_run_list(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let tabs: Vec<(Vec<Span>, bool)> = self
            .runs
            .stores
            .iter()
            .enumerate()
            .map(|(i, store)| {
                (
                    tab(&RunStore::lock(store), theme, i == self.runs.shown),
                    i == self.runs.shown,
                )
            })
            .collect();
        let width = |spans: &[Span]| spans.iter().map(Span::width).sum::<usize>();
        let room = area.width as usize;
        // From the first tab on, unless the shown one would not fit: then
        // from as far left of it as fits, the cut side marked with `…`.
        let shown = self.runs.shown.min(tabs.len().saturating_sub(1));
        let mut first = 0;
        while first < shown
            && 1 + tabs[first..=shown]
                .iter()
                .map(|(t, _)| width(t) + 1)
                .sum::<usize>()
                > room
        {
            first += 1;
        }
        let mut spans = vec![Span::styled(
            if first > 0 { "…" } else { " " },
            theme.muted(),
        )];
        for (tab, _) in tabs.into_iter().skip(first) {
            spans.extend(tab);
            spans.push(Span::raw(" "));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }
}

/// The run waits for an answer only an operator gives: a batch to
/// confirm, a step to approve, a guard rule's word.
pub fn waits_for_operator(store: &RunStore) -> bool {
    let confirm = store
        .waiting
        .is_some_and(|w| w.reason == WaitReason::Confirm);
    !store.is_finished()
        && (confirm || store.approval.is_some() || !store.gates.confirm_waiting.is_empty())
}

/// One run's tab: its id, flow, state glyph and hosts done of all; `?`
/// while it waits for an answer, `paused` while paused.
fn tab<'a>(store: &RunStore, theme: &'a Theme, shown: bool) -> Vec<Span<'a>> {
    let counts = store.counts();
    let (glyph, color) = instance_look(theme, store.status);
    let id = if store.instance > 0 {
        store.instance.to_string()
    } else {
        "·".to_string()
    };
    // An ad-hoc run (`adhoc: CMD`) shows as the command box typed it.
    let flow = match store.flow.strip_prefix("adhoc: ") {
        Some(command) => format!(":{command}"),
        None => store.flow.clone(),
    };
    let flow: String = if flow.chars().count() > FLOW_CHARS {
        let cut: String = flow.chars().take(FLOW_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        flow
    };
    let asks = waits_for_operator(store);
    let mut note = format!(" {}/{}", counts.ended(), counts.total);
    if asks {
        note.push_str(" ?");
    } else if store.paused && !store.is_finished() {
        note.push_str(" paused");
    }
    let base = if shown {
        theme
            .fg(theme.colors.tab_active_fg)
            .bg(theme.colors.tab_active_bg)
            .add_modifier(Modifier::BOLD)
    } else {
        theme.text()
    };
    // The shown one is bracketed too: it must not depend on colour alone.
    let (open, close) = if shown { ("[", "]") } else { (" ", " ") };
    vec![
        Span::styled(format!("{open}{id} {flow} "), base),
        Span::styled(
            glyph.to_string(),
            if shown { base } else { theme.fg(color) },
        ),
        Span::styled(
            format!("{note}{close}"),
            if asks && !shown {
                theme.fg(theme.colors.warning)
            } else {
                base
            },
        ),
    ]
}
