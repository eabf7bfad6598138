//! Drawing the schedule form: its fields as label / value / problem rows,
//! and beside them the next fire times the timing gives, as it is typed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::SchedulesView;
use super::form::{Field, Preview, ScheduleForm};
use crate::plan::schedule::{Kind, SECRET_NOTE};
use crate::tui::layout;
use crate::tui::theme::Theme;
use crate::tui::widgets::form::{FormRow, ValueLook, draw_scrolled, form_lines};
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::param_fields::ParamField;

impl SchedulesView {
    pub(super) fn draw_form(
        &self,
        form: &ScheduleForm,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
    ) {
        let title = match form.editing {
            Some(id) => format!(" Edit schedule {id} "),
            None => " New schedule ".to_string(),
        };
        let preview_width = 34.min(area.width / 2);
        let form_area = Rect::new(area.x, area.y, area.width - preview_width, area.height);
        let preview_area = Rect::new(area.x + form_area.width, area.y, preview_width, area.height);
        let inner = layout::inner(form_area);
        frame.render_widget(panel(&title, true, theme), form_area);
        let now = self.now();
        let problems = form.shown_problems(&self.catalog, now);
        // Labels are as wide as the longest param name, within reason.
        let label_width = form
            .params
            .iter()
            .map(|p| p.spec.name.chars().count() + 1)
            .chain([10])
            .max()
            .unwrap_or(10)
            .min(18);
        let value_width = (inner.width as usize)
            .saturating_sub(label_width + 2)
            .max(4);
        let rows: Vec<FormRow> = form
            .fields()
            .into_iter()
            .map(|field| {
                let focused = form.focus == field;
                let problem = problems.iter().find(|(f, _)| *f == field);
                let (value, look) = self.field_value(form, field, value_width);
                FormRow {
                    label: field_label(form, field),
                    value,
                    look,
                    focused,
                    problem: problem.map(|(_, p)| p.clone()),
                    show_problem: focused || form.show_all,
                }
            })
            .collect();
        let (mut lines, focus) = form_lines(&rows, label_width, inner.width as usize, theme);
        if form.saving {
            lines.push(Line::from(Span::styled(" saving…", theme.muted())));
        }
        draw_scrolled(frame, inner, lines, focus);

        let inner = layout::inner(preview_area);
        frame.render_widget(panel(" Next fires ", false, theme), preview_area);
        let mut lines = Vec::new();
        match form.preview(now) {
            Preview::Times(times) => {
                for t in times {
                    lines.push(Line::from(vec![
                        Span::styled(format!("{} ", theme.glyphs.pending), theme.accent()),
                        Span::styled(t.format("%Y-%m-%d %H:%M %Z (%a)").to_string(), theme.text()),
                    ]));
                }
            }
            Preview::Error(e) => lines.push(Line::from(vec![
                Span::styled(
                    format!("{} ", theme.glyphs.error),
                    theme.fg(theme.colors.error),
                ),
                Span::styled(e, theme.fg(theme.colors.error)),
            ])),
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }

    /// A field's value as shown, and how it reads.
    fn field_value(&self, form: &ScheduleForm, field: Field, width: usize) -> (String, ValueLook) {
        let focused = form.focus == field;
        let param = match field {
            Field::Param(i) => form.params.get(i),
            _ => None,
        };
        match (form.text(field), param) {
            (Some(input), _) if focused => (
                format!("{}▏", input.visible_tail(width)),
                ValueLook::Focused,
            ),
            (Some(input), Some(p)) if input.is_empty() => (param_placeholder(p), ValueLook::Empty),
            (Some(input), None) if input.is_empty() => {
                (placeholder(field, form.kind).to_string(), ValueLook::Empty)
            }
            (Some(input), _) => (input.text().to_string(), ValueLook::Plain),
            (None, Some(p)) if p.spec.secret => (SECRET_NOTE.to_string(), ValueLook::Empty),
            (None, _) => {
                let value = match (field, param) {
                    (Field::Kind, _) => match form.kind {
                        Kind::Cron => "cron (repeats)".to_string(),
                        Kind::At => "one-shot at a time".to_string(),
                    },
                    (Field::Flow, _) => form.flow_label(&self.catalog),
                    (Field::Mode, _) => match form.mode {
                        Some(mode) => mode.to_string(),
                        None => match form.chosen_flow(&self.catalog) {
                            Ok((_, Some(flow))) => {
                                format!("(flow's: {})", flow.rollout.mode.unwrap_or_default())
                            }
                            _ => "(the flow's)".to_string(),
                        },
                    },
                    (Field::Overlap, _) => form.overlap.to_string(),
                    (Field::CatchUp, _) => form.catch_up.to_string(),
                    (_, Some(p)) if p.value.is_empty() => "(not set)".to_string(),
                    (_, Some(p)) => p.value.text().to_string(),
                    _ => if form.yes {
                        "yes: batches and approval steps"
                    } else {
                        "no"
                    }
                    .to_string(),
                };
                if focused {
                    (format!("‹ {value} ›"), ValueLook::Focused)
                } else {
                    (value, ValueLook::Plain)
                }
            }
        }
    }
}

/// A field's label; a param's is its name, starred when it must be given.
fn field_label(form: &ScheduleForm, field: Field) -> String {
    match field {
        Field::Param(i) => form.params.get(i).map_or_else(String::new, |p| {
            let required = if p.spec.required && p.spec.default.is_none() {
                "*"
            } else {
                ""
            };
            format!("{}{required}", p.spec.name)
        }),
        other => other.label(form.kind).to_string(),
    }
}

/// An empty param field: what the param is for, or its type.
fn param_placeholder(param: &ParamField) -> String {
    match (&param.spec.default, &param.spec.description) {
        (Some(default), _) => format!("(default: {default})"),
        (None, Some(description)) => format!("({description})"),
        (None, None) => format!("({})", param.spec.kind.name()),
    }
}

fn placeholder(field: Field, kind: Kind) -> &'static str {
    match field {
        Field::Name => "(required)",
        Field::When if kind == Kind::At => "YYYY-MM-DD HH:MM",
        Field::When => "(crontab: m h dom mon dow)",
        Field::Zone => "(local)",
        Field::Limit => "(the flow's targets)",
        Field::Batches => "(the flow's, else 100%)",
        Field::Interval => "(the flow's, else none)",
        Field::Until => "(no end)",
        Field::Forks => "(the flow's, else 64)",
        Field::Order => "(the flow's, else inventory)",
        Field::Timeout => "(each step's own)",
        Field::Connect => "(10s)",
        _ => "",
    }
}
