//! One look per state: the glyph and colour of a run's status and of a
//! host's, from the theme. The Run view, History and Schedules all draw
//! states through these, so a state looks the same wherever it is shown.

use ratatui::style::Color;

use crate::engine::events::{HostStatus, InstanceStatus};
use crate::tui::theme::Theme;

/// A run's status: its glyph and colour.
pub fn instance_look(theme: &Theme, status: InstanceStatus) -> (&str, Color) {
    let g = &theme.glyphs;
    let c = &theme.colors;
    match status {
        InstanceStatus::Running => (&g.running, c.running),
        InstanceStatus::Waiting | InstanceStatus::Paused => (&g.paused, c.warning),
        InstanceStatus::Ok => (&g.ok, c.ok),
        InstanceStatus::Failed => (&g.failed, c.failed),
        InstanceStatus::Aborted => (&g.unreachable, c.failed),
        InstanceStatus::Interrupted => (&g.skipped, c.warning),
    }
}

/// A host's status: its glyph and colour.
pub fn host_look(theme: &Theme, status: HostStatus) -> (&str, Color) {
    let g = &theme.glyphs;
    let c = &theme.colors;
    match status {
        HostStatus::Pending => (&g.pending, c.pending),
        HostStatus::Connecting => (&g.connecting, c.connecting),
        HostStatus::Running => (&g.running, c.running),
        HostStatus::Ok => (&g.ok, c.ok),
        HostStatus::Failed => (&g.failed, c.failed),
        HostStatus::TimedOut => (&g.timed_out, c.timed_out),
        HostStatus::Unreachable | HostStatus::AuthFailed | HostStatus::HostKeyRejected => {
            (&g.unreachable, c.unreachable)
        }
        HostStatus::RolledBack => (&g.rolled_back, c.rolled_back),
        HostStatus::Skipped => (&g.skipped, c.skipped),
        HostStatus::Cancelled | HostStatus::Interrupted => (&g.cancelled, c.skipped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// States are told apart by shape as well as colour (the theme's rule).
    #[test]
    fn every_run_status_has_its_own_glyph_but_waiting_and_paused() {
        let theme = Theme::default_theme();
        let mut seen: Vec<&str> = Vec::new();
        for &status in InstanceStatus::ALL {
            let (glyph, _) = instance_look(&theme, status);
            if status != InstanceStatus::Paused {
                assert!(!seen.contains(&glyph), "{status}: {glyph}");
                seen.push(glyph);
            }
        }
    }
}
