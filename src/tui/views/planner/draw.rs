//! Drawing the Planner: the form (flow, params, rollout, start), the
//! preview of hosts per batch with the flow's steps, and the flow picker.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::PlannerView;
use super::form::{PlanRow, sizes_text};
use crate::flow::{ParamKind, StepKind};
use crate::tui::layout;
use crate::tui::theme::Theme;
use crate::tui::widgets::clip::clip;
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::scroll_list::ScrollList;

impl PlannerView {
    pub(super) fn draw_form(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let rows = self.form.rows();
        let label_width = self
            .form
            .params
            .iter()
            .map(|p| p.spec.name.chars().count() + p.spec.kind.name().len() + 6)
            .chain([14])
            .max()
            .unwrap_or(14)
            .min(32);
        let mut lines: Vec<Line> = Vec::new();
        let hosts = if let Some((pattern, problem)) = self.form.hosts_from_targets() {
            // Nothing selected: the flow's targets stand in, as in a headless run.
            let text = match problem {
                Some(problem) => format!("none: the flow's targets '{pattern}': {problem}"),
                None => format!(
                    "{}: {} (the flow's targets '{pattern}': nothing selected)",
                    self.form.hosts.len(),
                    clip(&self.form.hosts_folded, 40)
                ),
            };
            let color = if problem.is_some() {
                theme.colors.warning
            } else {
                theme.colors.selected
            };
            Span::styled(text, theme.fg(color))
        } else if self.form.hosts.is_empty() {
            Span::styled(
                "none selected: select hosts in the Inventory view (1)",
                theme.fg(theme.colors.warning),
            )
        } else {
            Span::styled(
                format!(
                    "{}: {}",
                    self.form.hosts.len(),
                    clip(&self.form.hosts_folded, 60)
                ),
                theme.fg(theme.colors.selected),
            )
        };
        for (i, &row) in rows.iter().enumerate() {
            match row {
                PlanRow::Param(0) => lines.push(section("Params", theme)),
                PlanRow::Batches => lines.push(section("Rollout", theme)),
                _ => {}
            }
            let focused = i == self.row;
            let label = match row {
                PlanRow::Param(p) => {
                    let spec = &self.form.params[p].spec;
                    let mark = if spec.required { "*" } else { "" };
                    format!(" {}{mark} ({})", spec.name, spec.kind.name())
                }
                PlanRow::Start => String::new(),
                other => format!(" {}", self.form.row_label(other)),
            };
            let mut spans = vec![Span::styled(
                format!("{label:<label_width$}"),
                if focused {
                    theme.selection()
                } else {
                    theme.muted()
                },
            )];
            let value_style = if focused && !self.editing {
                theme.accent()
            } else {
                theme.text()
            };
            match row {
                PlanRow::Flow => {
                    let flows = self.form.entries();
                    let (name, of) = match &self.form.catalog {
                        None => ("looking for flows…".to_string(), String::new()),
                        Some(_) if flows.is_empty() => (
                            "no flows found (add one under <inventory>/flows/)".to_string(),
                            String::new(),
                        ),
                        Some(_) => (
                            flows[self.form.flow_index].label(),
                            format!("  {} of {}", self.form.flow_index + 1, flows.len()),
                        ),
                    };
                    spans.push(Span::styled(format!("◂ {name} ▸"), value_style));
                    spans.push(Span::styled(of, theme.muted()));
                    if let Some(flow) = self.form.flow() {
                        spans.push(Span::styled(
                            format!("  {} step(s)", flow.steps.len()),
                            theme.muted(),
                        ));
                    }
                }
                PlanRow::Param(p) => {
                    let field = &self.form.params[p];
                    let text = field.shown();
                    let shown = match &field.spec.kind {
                        ParamKind::Bool | ParamKind::Choice(_) => format!("◂ {text} ▸"),
                        _ => text,
                    };
                    spans.push(Span::styled(shown, value_style));
                    if focused && self.editing {
                        spans.push(Span::styled("▏", theme.accent()));
                    }
                    if let Some(d) = &field.spec.description
                        && !(focused && self.editing)
                    {
                        spans.push(Span::styled(format!("  {d}"), theme.muted()));
                    }
                }
                PlanRow::Batches | PlanRow::Interval | PlanRow::MaxFail | PlanRow::Forks => {
                    let input = match row {
                        PlanRow::Batches => &self.form.batches,
                        PlanRow::Interval => &self.form.interval,
                        PlanRow::MaxFail => &self.form.max_fail,
                        _ => &self.form.forks,
                    };
                    let text = if input.is_empty() && row == PlanRow::MaxFail && !focused {
                        "none".to_string()
                    } else {
                        input.text().to_string()
                    };
                    spans.push(Span::styled(text, value_style));
                    if focused && self.editing {
                        spans.push(Span::styled("▏", theme.accent()));
                    }
                    if row == PlanRow::Batches
                        && let Ok(sizes) = &self.form.plan
                    {
                        spans.push(Span::styled(
                            format!(
                                "  → {}  ({} batch{})",
                                sizes_text(sizes),
                                sizes.len(),
                                if sizes.len() == 1 { "" } else { "es" }
                            ),
                            theme.fg(theme.colors.ok),
                        ));
                    }
                }
                PlanRow::Mode => {
                    spans.push(Span::styled(format!("◂ {} ▸", self.form.mode), value_style))
                }
                PlanRow::Start => {
                    spans.pop();
                    let style = if focused {
                        theme.selection()
                    } else {
                        theme.accent()
                    };
                    spans.push(Span::styled(" ▶ Start run… ", style));
                }
            }
            if let Some(problem) = self.form.problem(row) {
                spans.push(Span::styled(
                    format!("  {} {problem}", theme.glyphs.error),
                    theme.fg(theme.colors.error),
                ));
            }
            lines.push(Line::from(spans));
            if row == PlanRow::Flow {
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<label_width$}", " Hosts"), theme.muted()),
                    hosts.clone(),
                ]));
            }
        }
        // Keep the focused row visible in a short terminal.
        let inner_height = area.height.saturating_sub(2) as usize;
        let focus_line = lines
            .iter()
            .position(|l| {
                l.spans
                    .first()
                    .is_some_and(|s| s.style == theme.selection())
            })
            .unwrap_or(0);
        let scroll = focus_line.saturating_sub(inner_height.saturating_sub(1));
        let title = match self.form.flow() {
            Some(flow) => format!(" Plan · {} ", flow.name),
            None => " Plan ".to_string(),
        };
        frame.render_widget(
            Paragraph::new(lines)
                .block(panel(&title, true, theme))
                .scroll((scroll as u16, 0)),
            area,
        );
    }

    pub(super) fn draw_preview(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let mut lines: Vec<Line> = Vec::new();
        match &self.form.plan {
            Err(e) => lines.push(Line::from(Span::styled(
                format!("{} {e}", theme.glyphs.error),
                theme.fg(theme.colors.error),
            ))),
            Ok(sizes) if sizes.is_empty() => lines.push(Line::from(Span::styled(
                "No hosts selected yet.",
                theme.muted(),
            ))),
            Ok(sizes) => {
                for (b, names) in self.form.preview.iter().enumerate() {
                    let size = sizes[b];
                    lines.push(Line::from(vec![
                        Span::styled(format!(" batch {:<3}", b + 1), theme.accent()),
                        Span::styled(
                            format!("{size:>5} host{} ", if size == 1 { " " } else { "s" }),
                            theme.muted(),
                        ),
                        Span::styled(names.clone(), theme.text()),
                    ]));
                }
                if sizes.len() > self.form.preview.len() {
                    lines.push(Line::from(Span::styled(
                        format!(" … {} more batches", sizes.len() - self.form.preview.len()),
                        theme.muted(),
                    )));
                }
            }
        }
        if let Some(flow) = self.form.flow() {
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(" Steps", theme.title())));
            for (i, step) in flow.steps.iter().enumerate() {
                lines.push(Line::from(vec![
                    Span::styled(format!(" {:>2}. ", i + 1), theme.muted()),
                    Span::styled(step.name.clone(), theme.text()),
                    Span::styled(format!("  {}", step_kind(&step.kind)), theme.muted()),
                ]));
            }
            if !flow.rollback.is_empty() {
                lines.push(Line::from(Span::styled(
                    format!("  + {} rollback step(s)", flow.rollback.len()),
                    theme.muted(),
                )));
            }
        }
        frame.render_widget(
            Paragraph::new(lines).block(panel(" Preview: hosts per batch ", false, theme)),
            area,
        );
    }

    /// The flow picker in its box `rect`.
    pub(super) fn draw_picker(
        &self,
        frame: &mut Frame,
        rect: Rect,
        theme: &Theme,
        list: &ScrollList,
    ) {
        let flows = self.form.entries();
        let cursor = list.cursor();
        let lines: Vec<Line> = flows
            .iter()
            .enumerate()
            .skip(list.offset())
            .take(layout::inner(rect).height as usize)
            .map(|(i, f)| {
                let (detail, style) = match (f.flow(), f.problem()) {
                    (Some(flow), _) => {
                        (flow.description.clone().unwrap_or_default(), theme.muted())
                    }
                    (None, problem) => (problem.unwrap_or_default(), theme.fg(theme.colors.error)),
                };
                let name_style = if i == cursor {
                    theme.selection()
                } else {
                    theme.text()
                };
                Line::from(vec![
                    Span::styled(format!(" {:<20}", f.label()), name_style),
                    Span::styled(format!(" {detail}"), style),
                ])
            })
            .collect();
        frame.render_widget(Clear, rect);
        frame.render_widget(
            Paragraph::new(lines)
                .block(panel(" Choose a flow ", true, theme))
                .style(theme.base()),
            rect,
        );
    }
}

fn section(title: &str, theme: &Theme) -> Line<'static> {
    Line::from(Span::styled(format!(" {title}"), theme.title()))
}

fn step_kind(kind: &StepKind) -> String {
    match kind {
        StepKind::Atom { atom, .. } => format!("atom {}", atom.name),
        StepKind::Script { .. } => "script".into(),
        StepKind::Command { command } => format!("$ {}", clip(command, 40)),
        StepKind::Copy { dest, .. } => format!("copy → {dest}"),
        StepKind::Approval { .. } => "approval".into(),
    }
}
