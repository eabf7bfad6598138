//! The Run view's lines about what a run passed before its first batch:
//! the guard's hits and pre-flight under the header, what the run waits
//! for at a gate (a confirm rule's word, another run's lock) or why it was
//! refused, and what one host waits for (its slot) or why pre-flight found
//! it not ready.

use ratatui::text::{Line, Span};

use super::RunView;
use crate::engine::events::UnixMillis;
use crate::report::sanitize::one_line;
use crate::tui::run_store::RunStore;
use crate::tui::theme::Theme;
use crate::tui::widgets::durations::countdown;

/// Most lines the gates add under the header: the guard's and pre-flight's.
pub(super) const MAX_GATE_ROWS: u16 = 2;

impl RunView {
    /// Keeps the header as tall as the shown run's gate lines; called when
    /// the store may have changed, never while it is locked.
    pub fn refresh_gate_rows(&mut self) {
        self.gate_rows = self
            .store
            .as_ref()
            .map_or(0, |s| gate_rows(&RunStore::lock(s)));
    }
}

/// How many gate lines `store` has to show.
pub(super) fn gate_rows(store: &RunStore) -> u16 {
    let guard = store.gates.guard_summary().is_some();
    let preflight = store.gates.preflight.is_some();
    (u16::from(guard) + u16::from(preflight)).min(MAX_GATE_ROWS)
}

/// The guard's hits and pre-flight's results, one line each.
pub(super) fn gate_lines(store: &RunStore, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let gates = &store.gates;
    if let Some(text) = gates.guard_summary() {
        let stopped = gates.refused.is_some() || !gates.confirm_waiting.is_empty();
        let style = if stopped {
            theme.fg(theme.colors.warning)
        } else {
            theme.muted()
        };
        lines.push(Line::from(Span::styled(format!(" {text}"), style)));
    }
    let name = |h: usize| {
        store
            .hosts
            .get(h)
            .map_or_else(|| format!("host {h}"), |x| x.name.clone())
    };
    if let Some(text) = gates.preflight_summary(name) {
        let all_ready = gates
            .preflight
            .as_ref()
            .is_some_and(|(_, hosts)| hosts.iter().all(|r| r.ready));
        let style = if all_ready {
            theme.muted()
        } else {
            theme.fg(theme.colors.warning)
        };
        lines.push(Line::from(Span::styled(format!(" {text}"), style)));
    }
    lines
}

/// What the run waits for at a gate, or why it did not start; `None`
/// when no gate holds it.
pub(super) fn gate_state(
    store: &RunStore,
    theme: &Theme,
    now: UnixMillis,
    keys: &crate::tui::key_names::KeyNames,
) -> Option<Line<'static>> {
    let warn = theme.fg(theme.colors.warning);
    let gates = &store.gates;
    if let Some(reason) = &gates.refused {
        return Some(Line::from(Span::styled(
            format!(" ✗ not started: {}", one_line(reason)),
            theme.fg(theme.colors.failed),
        )));
    }
    if store.status.is_final() {
        return None;
    }
    if !gates.confirm_waiting.is_empty() {
        let rules: Vec<String> = gates
            .confirm_waiting
            .iter()
            .map(|h| format!("'{}'", h.rule))
            .collect();
        return Some(Line::from(Span::styled(
            format!(
                " ⏸ the guard waits: type the word of rule {} in the dialog (Esc refuses: nothing runs)",
                rules.join(", ")
            ),
            warn,
        )));
    }
    if let Some(wait) = &gates.lock_wait {
        let left = wait
            .until
            .map(|u| format!(" — gives up in {}", countdown((u - now).max(0))))
            .unwrap_or_default();
        return Some(Line::from(Span::styled(
            format!(
                " ⏳ waiting for lock '{}' held by {}{left} — {} aborts",
                wait.name,
                wait.holder.describe_since(),
                keys.of(&crate::tui::action::Action::AbortRun)
            ),
            warn,
        )));
    }
    None
}

/// What one host waits for, or why pre-flight found it not ready.
pub(super) fn host_note(store: &RunStore, h: usize) -> Option<String> {
    let host = store.hosts.get(h)?;
    if let Some(wait) = &host.waits_for {
        return Some(wait.clone());
    }
    store
        .gates
        .unready_reason(h)
        .map(|why| format!("pre-flight: not ready: {}", one_line(why)))
}
