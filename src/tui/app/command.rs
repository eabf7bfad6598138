//! `:`: the command box. It opens on the hosts the view has selected (the
//! Inventory's selection, else the host or group under the cursor; in a run, the
//! pinned hosts, else the host under the cursor), takes one command, and
//! Enter plans it with the Planner's rollout through the same code as
//! `jobdeck --run -c` (`plan::adhoc_flow`, the CLI's target record), asks
//! with the start dialog like any run (`n` there opens the box again, the
//! command as typed), and starts it as one more run of the Run view's list. The guard reads it when it starts, as for any run.

use super::App;
use crate::tui::action::{Action, ViewId};
use crate::tui::effects::StatusLevel;
use crate::tui::widgets::command_box::CommandBox;

impl App {
    pub(super) fn open_command_box(&mut self) {
        let hosts = match self.view {
            ViewId::Inventory => {
                let selected = self.inventory.selection();
                if selected.is_empty() {
                    self.inventory.cursor_host_names()
                } else {
                    selected
                }
            }
            ViewId::Run => self.run.selected_host_names(),
            ViewId::History => self.history.replay_selected_host_names(),
            _ => Vec::new(),
        };
        if hosts.is_empty() {
            return self.set_status(
                StatusLevel::Warning,
                ": runs a command on selected hosts: select hosts in the Inventory, or open a run",
            );
        }
        self.help = None;
        self.command = Some(CommandBox::new(hosts));
    }

    /// True while the command box has the keyboard.
    pub fn command_box(&self) -> Option<&CommandBox> {
        self.command.as_ref()
    }

    /// A key while the box is open: Enter plans the command, Esc closes
    /// the box, up/down recall earlier commands, other keys edit.
    pub(super) fn command_key(&mut self, action: Action) {
        match action {
            Action::Submit => self.submit_command(),
            Action::Cancel => self.command = None,
            other => {
                if let Some(open) = &mut self.command {
                    open.key(&other, &self.command_history);
                }
            }
        }
    }

    fn submit_command(&mut self) {
        let Some(open) = self.command.take() else {
            return;
        };
        let command = open.text().trim().to_string();
        if command.is_empty() {
            return;
        }
        self.command_history.push(&command);
        // The Planner reads the inventory it plans with from the selection.
        self.selection_to_planner();
        match self.planner.command_spec(&command, &open.hosts) {
            Ok((spec, summary)) => self.ask_start_with(spec, summary, None, Some(open)),
            Err(problems) => self.set_status(
                StatusLevel::Error,
                format!("cannot run '{command}': {}", problems.join("; ")),
            ),
        }
    }
}
