//! Modal questions: start this run?, abort?, quit with a run active?,
//! confirm the next batch, approve a step, delete a schedule?, a key's
//! passphrase, a rerun's secret param. While one is open it has the
//! keyboard (the `dialog` keymap context; the passphrase and secret param
//! questions take text like an input box) and is drawn over the view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::engine::events::{BatchIndex, StepIndex};
use crate::tui::action::Action;
use crate::tui::key_names::KeyNames;
use crate::tui::layout;
use crate::tui::theme::Theme;

/// What the dialog is asking, so the app knows what an answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogKind {
    /// The planner's final check before a run starts.
    StartRun,
    AbortRun,
    /// Quit was asked while a run is active: abort it, or detach.
    QuitWithRun,
    ConfirmBatch {
        next_batch: BatchIndex,
    },
    Approval {
        batch: BatchIndex,
        step: StepIndex,
    },
    /// Delete this stored schedule?
    DeleteSchedule {
        id: i64,
    },
    /// Rerun the failed hosts of this run, as a new run?
    Rerun {
        id: i64,
    },
    /// Resume this interrupted run?
    Resume {
        id: i64,
    },
    /// The guard's confirm rules wait for their words (`rules`: their names).
    GuardConfirm {
        rules: Vec<String>,
    },
    /// An encrypted key's passphrase, for the transport (`key` as shown).
    Passphrase {
        key: String,
        attempt: u32,
    },
    /// A secret param (never stored) a rerun or resume of run `id` needs.
    SecretParam {
        id: i64,
        name: String,
    },
}

/// One way to answer, shown as its key and label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub action: Action,
    pub label: std::borrow::Cow<'static, str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub kind: DialogKind,
    pub title: String,
    pub lines: Vec<String>,
    pub choices: Vec<Choice>,
    /// Draw in the warning colour (destructive questions).
    pub warning: bool,
    /// A text answer shown masked: how many characters are typed. The
    /// characters themselves never reach the dialog.
    pub masked: Option<usize>,
    /// A text answer shown as typed (a guard rule's word: not a secret).
    pub typed: Option<String>,
}

/// What the start dialog's `n` goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The Planner's form.
    Plan,
    /// The command box (`:`), with the command as typed.
    Command,
}

fn choice(action: Action, label: impl Into<std::borrow::Cow<'static, str>>) -> Choice {
    Choice {
        action,
        label: label.into(),
    }
}

impl Dialog {
    pub fn start_run(lines: Vec<String>, from: StartFrom) -> Dialog {
        Dialog {
            kind: DialogKind::StartRun,
            title: "Start this run?".into(),
            lines,
            choices: vec![
                choice(Action::Confirm, "start"),
                choice(
                    Action::Cancel,
                    match from {
                        StartFrom::Plan => "back to the plan",
                        StartFrom::Command => "back to the command",
                    },
                ),
            ],
            warning: false,
            masked: None,
            typed: None,
        }
    }

    pub fn abort_run(instance: i64, active: usize) -> Dialog {
        Dialog {
            kind: DialogKind::AbortRun,
            title: format!("Abort run {instance}?"),
            lines: vec![
                format!("{active} host(s) are running: their commands are killed."),
                "Hosts that have not started are skipped. The run ends as aborted.".into(),
            ],
            choices: vec![
                choice(Action::Confirm, "abort the run"),
                choice(Action::Cancel, "keep running"),
            ],
            warning: true,
            masked: None,
            typed: None,
        }
    }

    /// Quitting with runs active: one question about all of them.
    pub fn quit_with_runs(instances: &[i64]) -> Dialog {
        let (title, lines) = match instances {
            [instance] => (
                format!("Run {instance} is still active"),
                vec![
                    "Abort: stop its commands, record it as aborted, then quit.".into(),
                    format!(
                        "Detach: stop here and record it as interrupted; `jobdeck resume {instance}` continues it later."
                    ),
                ],
            ),
            several => {
                let ids: Vec<String> = several.iter().map(i64::to_string).collect();
                (
                    format!("{} runs are still active: {}", several.len(), ids.join(", ")),
                    vec![
                        "Abort all: stop their commands, record them as aborted, then quit.".into(),
                        "Detach all: stop here and record them as interrupted; `jobdeck resume ID` continues each later.".into(),
                    ],
                )
            }
        };
        let (abort, detach) = if instances.len() > 1 {
            ("abort all and quit", "detach all and quit")
        } else {
            ("abort and quit", "detach and quit")
        };
        Dialog {
            kind: DialogKind::QuitWithRun,
            title,
            lines,
            choices: vec![
                choice(Action::AbortRun, abort),
                choice(Action::Detach, detach),
                choice(Action::Cancel, "stay"),
            ],
            warning: true,
            masked: None,
            typed: None,
        }
    }

    /// `keys` names the key that confirms later (the keymap in use).
    pub fn confirm_batch(
        next_batch: BatchIndex,
        batches: usize,
        hosts: usize,
        keys: &KeyNames,
    ) -> Dialog {
        let later = format!("not yet ({} confirms later)", keys.of(&Action::Confirm));
        Dialog {
            kind: DialogKind::ConfirmBatch { next_batch },
            title: format!("Batch {} of {batches} is ready", next_batch + 1),
            lines: vec![format!(
                "{hosts} host(s) start when you confirm. Earlier batches are done."
            )],
            choices: vec![
                choice(Action::Confirm, "start the batch"),
                choice(Action::Cancel, later),
                choice(Action::AbortRun, "abort the run"),
            ],
            warning: false,
            masked: None,
            typed: None,
        }
    }

    /// `keys` names the key that approves later (the keymap in use).
    pub fn approval(
        batch: BatchIndex,
        step: StepIndex,
        step_name: &str,
        message: &str,
        keys: &KeyNames,
    ) -> Dialog {
        let later = format!("not yet ({} approves later)", keys.of(&Action::Confirm));
        let mut lines: Vec<String> = message.lines().map(str::to_string).collect();
        lines.push(String::new());
        lines.push(format!(
            "Batch {} waits at step '{step_name}' until you approve.",
            batch + 1
        ));
        Dialog {
            kind: DialogKind::Approval { batch, step },
            title: "Approval needed".into(),
            lines,
            choices: vec![
                choice(Action::Confirm, "approve"),
                choice(Action::Cancel, later),
                choice(Action::AbortRun, "abort the run"),
            ],
            warning: false,
            masked: None,
            typed: None,
        }
    }

    /// Asks for `key`'s passphrase; `typed` characters show as bullets.
    /// `more_waiting` other keys are asked after this one.
    pub fn passphrase(key: String, attempt: u32, typed: usize, more_waiting: usize) -> Dialog {
        let mut lines = vec![if attempt > 1 {
            format!("Wrong passphrase, try again (attempt {attempt}).")
        } else {
            "The key is encrypted: its passphrase unlocks it for this run.".to_string()
        }];
        if more_waiting > 0 {
            lines.push(format!(
                "{more_waiting} more key(s) wait for a passphrase after this one."
            ));
        }
        Dialog {
            title: format!("Passphrase for key '{key}'"),
            kind: DialogKind::Passphrase { key, attempt },
            lines,
            choices: vec![
                choice(Action::Submit, "unlock"),
                choice(Action::Cancel, "skip this key"),
            ],
            warning: attempt > 1,
            masked: Some(typed),
            typed: None,
        }
    }

    /// Asks for secret param `name` of run `id`'s `again` ("rerun",
    /// "resume"); `typed` characters show as bullets. `left` more params
    /// are asked after this one.
    pub fn secret_param(again: &str, id: i64, name: &str, typed: usize, left: usize) -> Dialog {
        let mut lines = vec![
            format!("Run #{id} has a secret param '{name}', which is never stored."),
            format!("Its value for this {again} is kept in memory only, masked in the output."),
        ];
        if left > 0 {
            lines.push(format!(
                "{left} more secret param(s) are asked after this one."
            ));
        }
        Dialog {
            kind: DialogKind::SecretParam {
                id,
                name: name.to_string(),
            },
            title: format!("Secret param '{name}' for the {again} of #{id}"),
            lines,
            choices: vec![
                choice(Action::Submit, "give it"),
                choice(Action::Cancel, format!("cancel the {again}")),
            ],
            warning: false,
            masked: Some(typed),
            typed: None,
        }
    }

    /// The guard's confirm rules that wait: each rule, where it matched and
    /// what, and the word to type; `typed` so far.
    pub fn guard_confirm(hits: &[crate::guard::HitRecord], typed: &str) -> Dialog {
        let mut lines = Vec::new();
        for hit in hits {
            lines.push(format!(
                "rule '{}' at {}: `{}`",
                hit.rule,
                hit.location,
                crate::report::sanitize::one_line(&hit.matched)
            ));
            if let Some(message) = &hit.message {
                lines.push(format!("  {}", crate::report::sanitize::one_line(message)));
            }
        }
        lines.push(String::new());
        let words: Vec<String> = hits.iter().map(|h| format!("'{}'", h.word)).collect();
        let mut unique = words.clone();
        unique.dedup();
        lines.push(format!(
            "Nothing runs until you type the rule's word: {}. A wrong word or Esc refuses the run.",
            unique.join(", then ")
        ));
        Dialog {
            kind: DialogKind::GuardConfirm {
                rules: hits.iter().map(|h| h.rule.clone()).collect(),
            },
            title: "The guard asks before this run starts".into(),
            lines,
            choices: vec![
                choice(Action::Submit, "confirm the word"),
                choice(Action::Cancel, "refuse the run"),
            ],
            warning: true,
            masked: None,
            typed: Some(typed.to_string()),
        }
    }

    pub fn delete_schedule(id: i64, name: &str) -> Dialog {
        Dialog {
            kind: DialogKind::DeleteSchedule { id },
            title: format!("Delete schedule {id} '{name}'?"),
            lines: vec![
                "It stops firing and its fire log is removed.".into(),
                "The runs it started stay in History.".into(),
            ],
            choices: vec![
                choice(Action::Confirm, "delete"),
                choice(Action::Cancel, "keep it"),
            ],
            warning: true,
            masked: None,
            typed: None,
        }
    }

    /// Before a rerun started from History.
    pub fn rerun(id: i64, flow: &str) -> Dialog {
        Dialog::again_run(
            DialogKind::Rerun { id },
            "rerun",
            format!("Rerun the failed hosts of #{id} ({flow}) as a new run?"),
        )
    }

    /// Before a resume started from History.
    pub fn resume(id: i64, flow: &str) -> Dialog {
        Dialog::again_run(
            DialogKind::Resume { id },
            "resume",
            format!("Resume interrupted run #{id} ({flow})?"),
        )
    }

    fn again_run(kind: DialogKind, title: &str, question: String) -> Dialog {
        Dialog {
            kind,
            title: title.into(),
            lines: vec![
                question,
                "It joins the Run view's runs: watched, paused and answered there.".into(),
            ],
            choices: vec![
                choice(Action::Confirm, "start"),
                choice(Action::Cancel, "cancel"),
            ],
            warning: false,
            masked: None,
            typed: None,
        }
    }

    /// True if `action` is one of this dialog's answers.
    pub fn accepts(&self, action: &Action) -> bool {
        self.choices.iter().any(|c| &c.action == action)
    }

    /// Draws the dialog centred in `area`; `key_of` names an action's key.
    pub fn draw(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        key_of: &dyn Fn(&Action) -> String,
    ) {
        let width = self
            .lines
            .iter()
            .map(|l| l.chars().count())
            .chain([self.title.chars().count() + 4, 40])
            .max()
            .unwrap_or(40)
            .saturating_add(4)
            .min(100) as u16;
        let inner_width = width.saturating_sub(2).max(1) as usize;
        let wrapped: usize = self
            .lines
            .iter()
            .map(|l| l.chars().count().max(1).div_ceil(inner_width))
            .sum();
        let input_rows = if self.masked.is_some() || self.typed.is_some() {
            2
        } else {
            0
        };
        let height = (wrapped + 4 + input_rows) as u16;
        let rect = layout::centered(area, width, height);
        let color = if self.warning {
            theme.colors.warning
        } else {
            theme.colors.border_focused
        };
        let mut lines: Vec<Line> = self
            .lines
            .iter()
            .map(|l| Line::from(Span::styled(l.clone(), theme.text())))
            .collect();
        if let Some(typed) = self.masked {
            lines.push(Line::default());
            // One bullet per character, as many as fit, and the cursor.
            let bullets = typed.min(inner_width.saturating_sub(4));
            lines.push(Line::from(vec![
                Span::styled("> ", theme.accent()),
                Span::styled("•".repeat(bullets), theme.text()),
                Span::styled("▏", theme.accent()),
            ]));
        }
        if let Some(typed) = &self.typed {
            lines.push(Line::default());
            let shown: String = typed
                .chars()
                .rev()
                .take(inner_width.saturating_sub(4))
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            lines.push(Line::from(vec![
                Span::styled("> ", theme.accent()),
                Span::styled(shown, theme.text()),
                Span::styled("▏", theme.accent()),
            ]));
        }
        lines.push(Line::default());
        let mut spans = Vec::new();
        for c in &self.choices {
            spans.push(Span::styled(
                key_of(&c.action),
                theme.accent().add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(format!(" {}   ", c.label), theme.muted()));
        }
        lines.push(Line::from(spans));
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.fg(color))
            .title(Span::styled(
                format!(" {} ", self.title),
                theme.title().fg(color),
            ));
        frame.render_widget(Clear, rect);
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .style(theme.base())
                .wrap(Wrap { trim: false }),
            rect,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::Dialog;
    use crate::tui::key_names::KeyNames;
    use crate::tui::keymap::{KeyContext, Keymap};

    #[test]
    fn not_yet_names_the_confirm_key_of_the_keymap_in_use() {
        let later = |dialog: Dialog| dialog.choices[1].label.to_string();
        let builtin = KeyNames::default();
        assert_eq!(
            later(Dialog::confirm_batch(1, 2, 3, &builtin)),
            "not yet (c confirms later)"
        );
        let (keymap, errors) = Keymap::with_overrides(
            "[run]\n\"c\" = \"none\"\n\"o\" = \"confirm\"\n",
            Path::new("keymap.toml"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let keys = KeyNames::new(Arc::new(keymap), &[KeyContext::Run]);
        assert_eq!(
            later(Dialog::confirm_batch(1, 2, 3, &keys)),
            "not yet (o confirms later)"
        );
        assert_eq!(
            later(Dialog::approval(0, 0, "gate", "Go on?", &keys)),
            "not yet (o approves later)"
        );
    }
}
