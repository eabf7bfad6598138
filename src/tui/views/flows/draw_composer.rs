//! Drawing the composer (the flow as a form, steps that fail marked, the
//! check's problems under it), the atom picker and the one-line prompt.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::FlowsView;
use super::compose::{PICK_EXTRAS, Picker, Prompt};
use super::composer::{
    ACTIONS, Composer, ComposerRow, MASK, StepField, composer_param_spec, row_label, shown_value,
    step_field_key, step_title, with_spec,
};
use super::editing::file_name;
use crate::flow::ParamKind;
use crate::flow::catalog::Catalog;
use crate::flow::document::Section;
use crate::flow::params::scalar_text;
use crate::tui::layout;
use crate::tui::theme::Theme;
use crate::tui::widgets::clip::clip;
use crate::tui::widgets::editor::problem_line;
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::scroll_list::keep_in_view;
use crate::tui::widgets::text_box::TextInput;

impl FlowsView {
    pub(super) fn draw_composer(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        composer: &Composer,
    ) {
        let empty = Catalog::default();
        let library = self.catalog.as_deref().unwrap_or(&empty);
        let rows = composer.rows(library);
        let mut title = vec![Span::styled(
            format!(" Compose · {} ", file_name(&composer.path)),
            theme.title(),
        )];
        if composer.dirty {
            title.push(Span::styled("● modified ", theme.fg(theme.colors.warning)));
        }
        if composer.checked && composer.errors.is_empty() {
            title.push(Span::styled(
                format!("{} valid ", theme.glyphs.ok),
                theme.fg(theme.colors.ok),
            ));
        }
        let block = panel("", true, theme).title(Line::from(title));
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        let error_rows = composer.errors.len().min(3) as u16;
        let list = Rect::new(
            inner.x,
            inner.y,
            inner.width,
            inner.height.saturating_sub(error_rows),
        );
        let height = list.height as usize;
        let scroll = keep_in_view(composer.cursor, composer.offset, height, rows.len());
        let failing: Vec<(Section, usize)> = composer
            .errors
            .iter()
            .filter_map(|(line, _)| composer.step_at_line(*line))
            .collect();
        let mut lines = Vec::new();
        for (i, row) in rows.iter().enumerate().skip(scroll).take(height) {
            let mut line = composer_line(composer, library, row, &failing, theme);
            if i == composer.cursor {
                line = line.style(theme.selection());
            }
            lines.push(line);
        }
        frame.render_widget(Paragraph::new(lines), list);
        for (k, (line, message)) in composer.errors.iter().take(3).enumerate() {
            frame.render_widget(
                Paragraph::new(problem_line(*line, message, theme)),
                Rect::new(inner.x, list.bottom() + k as u16, inner.width, 1),
            );
        }
    }

    pub(super) fn draw_picker(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        picker: &Picker,
    ) {
        let Some(lib) = &self.catalog else { return };
        let mut names: Vec<(String, String)> = lib
            .atoms
            .iter()
            .map(|a| {
                let about = a
                    .loaded
                    .as_ref()
                    .ok()
                    .and_then(|a| a.description.clone())
                    .unwrap_or_default();
                (a.name(), about)
            })
            .collect();
        if picker.for_step.is_none() {
            names.extend(
                PICK_EXTRAS
                    .iter()
                    .map(|e| (format!("({e})"), String::new())),
            );
        }
        let dialog = picker.dialog(lib, area);
        let height = layout::inner(dialog).height as usize;
        let first = picker.list.offset();
        let lines: Vec<Line> = names
            .iter()
            .enumerate()
            .skip(first)
            .take(height)
            .map(|(i, (name, about))| {
                let line = Line::from(vec![
                    Span::styled(format!(" {name:<20} "), theme.text()),
                    Span::styled(about.clone(), theme.muted()),
                ]);
                if i == picker.list.cursor() {
                    line.style(theme.selection())
                } else {
                    line
                }
            })
            .collect();
        frame.render_widget(Clear, dialog);
        frame.render_widget(
            Paragraph::new(lines)
                .style(theme.base())
                .block(panel(" Choose an atom ", true, theme)),
            dialog,
        );
    }

    pub(super) fn draw_prompt(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        prompt: &Prompt,
        input: &TextInput,
    ) {
        let (label, secret) = match prompt {
            Prompt::NewFlow => ("new flow name".to_string(), false),
            Prompt::Field { row, secret } => (row_label(row), *secret),
        };
        let dialog = layout::centered(area, 64, 3);
        let inner_width = layout::inner(dialog).width as usize;
        let text = if secret {
            "•".repeat(
                input
                    .text()
                    .chars()
                    .count()
                    .min(inner_width.saturating_sub(1)),
            )
        } else {
            input.visible_tail(inner_width).to_string()
        };
        frame.render_widget(Clear, dialog);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(text, theme.text()),
                Span::styled("▏", theme.accent()),
            ]))
            .style(theme.base())
            .block(panel(&format!(" {label} "), true, theme)),
            dialog,
        );
    }
}

fn composer_line(
    composer: &Composer,
    library: &Catalog,
    row: &ComposerRow,
    failing: &[(Section, usize)],
    theme: &Theme,
) -> Line<'static> {
    let label = |text: String| Span::styled(format!("{:<26} ", clip(&text, 26)), theme.muted());
    match row {
        ComposerRow::Field(key) => Line::from(vec![
            label(format!(" {key}")),
            Span::styled(
                shown_value(composer.doc.fields.get(*key), false),
                theme.text(),
            ),
        ]),
        ComposerRow::ParamsHeader => Line::from(Span::styled(" Params", theme.title())),
        ComposerRow::Param(name) => {
            let spec = composer_param_spec(composer, name);
            let (kind, default, flags) = match &spec {
                Some(s) => {
                    let kind = match &s.kind {
                        ParamKind::Choice(c) => format!("choice({})", c.join("|")),
                        other => other.name().to_string(),
                    };
                    let default = if s.secret {
                        MASK.to_string()
                    } else {
                        s.default.clone().unwrap_or_else(|| "—".into())
                    };
                    let mut flags = Vec::new();
                    if s.required {
                        flags.push("required");
                    }
                    if s.secret {
                        flags.push("secret");
                    }
                    (kind, default, flags.join(" "))
                }
                None => ("?".into(), "—".into(), String::new()),
            };
            Line::from(vec![
                label(format!("   {name}")),
                Span::styled(format!("{kind:<16} "), theme.accent()),
                Span::styled(format!("{default:<16} "), theme.text()),
                Span::styled(flags, theme.muted()),
            ])
        }
        ComposerRow::RolloutHeader => Line::from(Span::styled(" Rollout", theme.title())),
        ComposerRow::Rollout(key) => Line::from(vec![
            label(format!("   {key}")),
            Span::styled(
                shown_value(
                    composer
                        .doc
                        .fields
                        .get("rollout")
                        .and_then(|r| r.get(key.as_str())),
                    false,
                ),
                theme.text(),
            ),
        ]),
        ComposerRow::SectionHeader(section) => {
            let title = match section {
                Section::Steps => format!(" Steps ({})", composer.doc.steps.len()),
                Section::Rollback => format!(" Rollback ({})", composer.doc.rollback.len()),
            };
            Line::from(Span::styled(title, theme.title()))
        }
        ComposerRow::Step(section, i) => {
            let step = &composer.doc.section(*section)[*i];
            let action = ACTIONS
                .iter()
                .find(|a| step.contains_key(**a))
                .copied()
                .unwrap_or("?");
            let mark = if failing.contains(&(*section, *i)) {
                Span::styled(
                    format!(" {} ", theme.glyphs.error),
                    theme.fg(theme.colors.error),
                )
            } else {
                Span::raw("   ")
            };
            Line::from(vec![
                mark,
                Span::styled(
                    format!("{}. {}", i + 1, step_title(step)),
                    theme.text().add_modifier(Modifier::BOLD),
                ),
                Span::styled(format!("  [{action}]"), theme.muted()),
            ])
        }
        ComposerRow::StepField(section, i, field) => {
            let step = &composer.doc.section(*section)[*i];
            let (name, value) = match field {
                StepField::With(key) => {
                    let spec = with_spec(library, step, key);
                    let secret = spec.is_some_and(|s| s.secret);
                    let value =
                        shown_value(step.get("with").and_then(|w| w.get(key.as_str())), secret);
                    let kind = spec
                        .map(|s| format!("  ({})", s.kind.name()))
                        .unwrap_or_default();
                    (format!("with.{key}"), format!("{value}{kind}"))
                }
                StepField::OnFailure => (
                    "on_failure".into(),
                    step.get("on_failure")
                        .and_then(scalar_text)
                        .unwrap_or_else(|| "stop (default)".into()),
                ),
                StepField::Action("script") => (
                    "script".into(),
                    format!("{}  (e edits)", shown_value(step.get("script"), false)),
                ),
                other => {
                    let key = step_field_key(other);
                    (key.to_string(), shown_value(step.get(key), false))
                }
            };
            Line::from(vec![
                label(format!("      {name}")),
                Span::styled(value, theme.text()),
            ])
        }
    }
}
