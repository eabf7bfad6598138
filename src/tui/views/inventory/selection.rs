//! Choosing hosts: selecting a host or a whole group, every host shown, or
//! none; and the pattern box, whose text is evaluated off the UI task (an
//! `@file` pattern reads a file) with a live count, Enter making its
//! matches the selection.

use super::tree::Level;
use super::{InputMode, InventoryView, Load, Message, Model, PatternState};
use crate::inventory::HostId;
use crate::tui::effects::Effects;
use crate::tui::tasks;

impl InventoryView {
    /// Takes a pattern evaluation's answer, unless the text has changed
    /// since it was asked for.
    pub(super) fn pattern_evaluated(
        &mut self,
        generation: u64,
        result: Result<Vec<HostId>, String>,
    ) {
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        if generation != m.pattern_generation || self.input != Some(InputMode::Pattern) {
            return;
        }
        m.pattern_hits.iter_mut().for_each(|hit| *hit = false);
        m.pattern_state = match result {
            Ok(hosts) => {
                for &h in &hosts {
                    if let Some(hit) = m.pattern_hits.get_mut(h) {
                        *hit = true;
                    }
                }
                PatternState::Matched(hosts)
            }
            Err(e) => PatternState::Failed(e),
        };
        self.fit_list();
    }

    /// Selects a host, or every host of a group; unselects them if all
    /// already were.
    pub(super) fn toggle_select(&mut self) {
        let Some(node) = self.cursor_node() else {
            return;
        };
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        let hosts = m.nodes[node].hosts.clone();
        let all_selected = hosts.iter().all(|&h| m.selected[h]);
        set_selected(m, &hosts, !all_selected);
    }

    /// Selects every host shown (all of them without a filter).
    pub(super) fn select_shown(&mut self, fx: &mut Effects<Message>) {
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        let mut shown: Vec<HostId> = Vec::new();
        if self.filter.text().trim().is_empty() {
            shown = m.inv.all_hosts();
        } else {
            for row in &m.rows {
                if let Level::Host(h) = m.nodes[row.node].level {
                    shown.push(h);
                }
            }
        }
        set_selected(m, &shown, true);
        fx.info(format!(
            "{} of {} hosts selected",
            m.selected_count,
            m.inv.data.hosts.len()
        ));
    }

    pub(super) fn clear_selection(&mut self, fx: &mut Effects<Message>) {
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        m.selected.iter_mut().for_each(|s| *s = false);
        m.selected_count = 0;
        fx.info("selection cleared");
    }

    /// Asks for the pattern box's text to be evaluated off the UI task.
    pub(super) fn pattern_changed(&mut self, fx: &mut Effects<Message>) {
        let text = self.pattern.text().trim().to_string();
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        m.pattern_generation += 1;
        m.pattern_hits.iter_mut().for_each(|hit| *hit = false);
        if text.is_empty() {
            m.pattern_state = PatternState::Empty;
        } else {
            m.pattern_state = PatternState::Evaluating;
            let (inv, base, generation) = (m.inv.clone(), m.base.clone(), m.pattern_generation);
            fx.work(move || Message::PatternEvaluated {
                generation,
                result: tasks::inventory::evaluate_pattern(&inv, &text, &base),
            });
        }
        self.fit_list();
    }

    /// Enter in the pattern box: the matched hosts become the selection.
    pub(super) fn apply_pattern(&mut self, fx: &mut Effects<Message>) {
        let pattern = self.pattern.text().trim().to_string();
        let Load::Ready(m) = &mut self.load else {
            return;
        };
        match &m.pattern_state {
            PatternState::Matched(hosts) if !hosts.is_empty() => {
                let hosts = hosts.clone();
                m.selected.iter_mut().for_each(|s| *s = false);
                m.selected_count = 0;
                set_selected(m, &hosts, true);
                m.pattern_hits.iter_mut().for_each(|hit| *hit = false);
                fx.info(format!(
                    "selected {} hosts matching '{pattern}'",
                    hosts.len()
                ));
                self.input = None;
                self.fit_list();
            }
            PatternState::Matched(_) => fx.info(format!(
                "pattern '{pattern}' matches no hosts; nothing selected"
            )),
            PatternState::Failed(e) => fx.info(format!("pattern error: {e}")),
            PatternState::Evaluating => fx.info("still evaluating the pattern"),
            PatternState::Empty => {
                self.input = None;
                self.fit_list();
            }
        }
    }

    pub(super) fn close_pattern(&mut self) {
        self.input = None;
        if let Load::Ready(m) = &mut self.load {
            m.pattern_hits.iter_mut().for_each(|hit| *hit = false);
        }
        self.fit_list();
    }
}

fn set_selected(m: &mut Model, hosts: &[HostId], on: bool) {
    for &h in hosts {
        if m.selected[h] != on {
            m.selected[h] = on;
            if on {
                m.selected_count += 1;
            } else {
                m.selected_count -= 1;
            }
        }
    }
}
