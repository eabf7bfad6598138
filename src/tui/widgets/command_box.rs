//! The command box (`:`): one line where an ad-hoc command is typed for
//! the hosts selected when it opened, with the commands typed earlier in
//! this session one up/down away (as a shell's history).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::clip::clip;
use super::panel::panel;
use super::text_box::TextInput;
use crate::hostlist;
use crate::tui::action::Action;
use crate::tui::theme::Theme;

/// Commands kept for up/down within a session.
const HISTORY_KEPT: usize = 100;

/// The commands typed in this session, oldest first.
#[derive(Debug, Default, Clone)]
pub struct CommandHistory {
    commands: Vec<String>,
}

impl CommandHistory {
    /// Remembers a command (again at the end if it was typed before).
    pub fn push(&mut self, command: &str) {
        self.commands.retain(|c| c != command);
        self.commands.push(command.to_string());
        if self.commands.len() > HISTORY_KEPT {
            self.commands.remove(0);
        }
    }

    pub fn commands(&self) -> &[String] {
        &self.commands
    }
}

/// The open box: what is typed, for which hosts, and where in the
/// history up/down stand (`None`: at the line being typed).
#[derive(Debug, Clone)]
pub struct CommandBox {
    pub input: TextInput,
    pub hosts: Vec<String>,
    browsing: Option<usize>,
    /// The line being typed, kept while the history is browsed.
    typed: String,
}

impl CommandBox {
    pub fn new(hosts: Vec<String>) -> CommandBox {
        CommandBox {
            input: TextInput::default(),
            hosts,
            browsing: None,
            typed: String::new(),
        }
    }

    pub fn text(&self) -> &str {
        self.input.text()
    }

    /// An editing key, or up/down through `history`; true if it was one.
    pub fn key(&mut self, action: &Action, history: &CommandHistory) -> bool {
        let commands = history.commands();
        let to = match (action, self.browsing) {
            (Action::Up, None) if !commands.is_empty() => {
                self.typed = self.input.text().to_string();
                Some(commands.len() - 1)
            }
            (Action::Up, Some(i)) => Some(i.saturating_sub(1)),
            (Action::Down, Some(i)) if i + 1 < commands.len() => Some(i + 1),
            (Action::Down, Some(_)) => {
                self.browsing = None;
                self.input = TextInput::with_text(&self.typed);
                return true;
            }
            (Action::Up | Action::Down, _) => return true,
            _ => {
                self.browsing = None;
                return self.input.edit(action);
            }
        };
        if let Some(i) = to {
            self.browsing = Some(i);
            self.input = TextInput::with_text(&commands[i]);
        }
        true
    }

    /// Three rows at the foot of `body`: the hosts in the title, the line
    /// with its cursor.
    pub fn draw(&self, frame: &mut Frame, body: Rect, theme: &Theme) {
        let height = 3.min(body.height);
        let area = Rect::new(body.x, body.y + body.height - height, body.width, height);
        let hosts = hostlist::fold(self.hosts.iter().map(String::as_str));
        let room = (area.width as usize).saturating_sub(24);
        let title = format!(
            " : command on {} host{}: {} ",
            self.hosts.len(),
            if self.hosts.len() == 1 { "" } else { "s" },
            clip(&hosts, room.max(8))
        );
        let width = area.width.saturating_sub(4) as usize;
        let line = Line::from(vec![
            Span::styled(": ", theme.accent()),
            Span::styled(self.input.visible_tail(width), theme.text()),
            Span::styled("▏", theme.accent()),
        ]);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(line)
                .block(panel(&title, true, theme))
                .style(theme.base()),
            area,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(b: &mut CommandBox, text: &str, history: &CommandHistory) {
        for c in text.chars() {
            b.key(&Action::InsertChar(c), history);
        }
    }

    #[test]
    fn up_and_down_walk_the_sessions_commands_and_come_back_to_the_typed_line() {
        let mut history = CommandHistory::default();
        for c in ["uptime", "df -h", "uptime"] {
            history.push(c);
        }
        assert_eq!(history.commands(), ["df -h", "uptime"]);
        let mut b = CommandBox::new(vec!["web1".into()]);
        typed(&mut b, "hostn", &history);
        b.key(&Action::Up, &history);
        assert_eq!(b.text(), "uptime");
        b.key(&Action::Up, &history);
        assert_eq!(b.text(), "df -h");
        b.key(&Action::Up, &history);
        assert_eq!(b.text(), "df -h", "stays at the oldest");
        b.key(&Action::Down, &history);
        assert_eq!(b.text(), "uptime");
        b.key(&Action::Down, &history);
        assert_eq!(b.text(), "hostn", "back to what was being typed");
        b.key(&Action::Up, &history);
        b.key(&Action::Backspace, &history);
        assert_eq!(b.text(), "uptim", "a recalled command can be edited");
    }
}
