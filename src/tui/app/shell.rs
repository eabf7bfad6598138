//! `s`: a shell on the host under the cursor (Inventory, Run, a run opened
//! from History). The App only names the host; the event loop gives the
//! terminal to `tasks::shell` and hands the outcome back here.

use super::App;
use crate::tui::action::ViewId;
use crate::tui::effects::StatusLevel;
use crate::tui::tasks::shell::{ShellRequest, ShellResult};

impl App {
    pub(super) fn request_shell(&mut self) {
        let host = match self.view {
            ViewId::Inventory => self.inventory.cursor_host_name(),
            ViewId::Run => self.run.cursor_host_name(),
            ViewId::History => self.history.replay_cursor_host_name(),
            _ => None,
        };
        let Some(host) = host else {
            self.set_status(
                StatusLevel::Warning,
                "s opens a shell on the host under the cursor: move to a host first",
            );
            return;
        };
        let Some(inventory) = self.inventory.inventory() else {
            self.set_status(StatusLevel::Warning, "the inventory is still loading");
            return;
        };
        if inventory.host_id(&host).is_none() {
            self.set_status(
                StatusLevel::Error,
                format!("host '{host}' is not in the inventory loaded now: no session"),
            );
            return;
        }
        self.shell = Some(ShellRequest {
            host,
            inventory,
            journal: self.journal.clone(),
        });
    }

    /// The session the user asked for, once: the event loop runs it.
    pub fn take_shell(&mut self) -> Option<ShellRequest> {
        self.shell.take()
    }

    /// The session on `host` ended: how, in the status line.
    pub fn shell_ended(&mut self, host: &str, result: ShellResult) {
        match result {
            Ok(outcome) => match outcome.problem {
                None => self.set_status(
                    StatusLevel::Info,
                    format!(
                        "ssh {host}: exit {} (session {} in jobdeck ssh --list)",
                        outcome.status, outcome.audit_id
                    ),
                ),
                Some(problem) => self.set_status(
                    StatusLevel::Error,
                    format!("ssh {host}: {problem} (session {})", outcome.audit_id),
                ),
            },
            Err(e) => self.set_status(StatusLevel::Error, format!("ssh {host}: {e}")),
        }
    }
}
