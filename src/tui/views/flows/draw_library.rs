//! Drawing the library: flows, then atoms, each marked when it does not
//! load; beside (or under) them the detail of the one under the cursor: a
//! flow's params, rollout and steps, or an atom's header and body.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::composer::MASK;
use super::{FlowsView, Item};
use crate::duration::format_duration;
use crate::flow::StepKind;
use crate::flow::catalog::{AtomEntry, FlowEntry};
use crate::tui::layout::{self, WIDE};
use crate::tui::theme::Theme;
use crate::tui::widgets::clip::clip;
use crate::tui::widgets::highlight::{Syntax, highlighted};
use crate::tui::widgets::load_state::Note;
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::scroll_list::keep_in_view;

impl FlowsView {
    pub(super) fn draw_library(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let Some(lib) = &self.catalog else {
            let text = if self.loading {
                "Reading flows and atoms…"
            } else {
                "Waiting for the inventory, to find its flows/ and atoms/."
            };
            frame.render_widget(
                Note::muted(text)
                    .paragraph(theme)
                    .block(panel(" Flows ", true, theme)),
                area,
            );
            return;
        };
        let wide = area.width >= WIDE;
        let (list_area, detail_area) = if wide {
            let w = (area.width / 3).clamp(30, 48);
            (
                Rect::new(area.x, area.y, w, area.height),
                Rect::new(area.x + w, area.y, area.width - w, area.height),
            )
        } else {
            let h = ((lib.flows.len() + lib.atoms.len() + 4) as u16)
                .min(area.height / 2)
                .max(5);
            (
                Rect::new(area.x, area.y, area.width, h),
                Rect::new(area.x, area.y + h, area.width, area.height - h),
            )
        };
        // The list: flows, then atoms, with section titles.
        let mut lines: Vec<Line> = Vec::new();
        let mut cursor_line = 0;
        let items = self.items();
        let mut last_kind = None;
        for (i, item) in items.iter().enumerate() {
            let kind = matches!(item, Item::Flow(_));
            if last_kind != Some(kind) {
                let title = if kind {
                    format!("Flows ({})", lib.flows.len())
                } else {
                    format!("Atoms ({})", lib.atoms.len())
                };
                lines.push(Line::from(Span::styled(title, theme.title())));
                last_kind = Some(kind);
            }
            let (name, ok, extra) = match item {
                Item::Flow(f) => {
                    let e = &lib.flows[*f];
                    match &e.loaded {
                        Ok(flow) => (
                            flow.name.clone(),
                            true,
                            format!("{} steps", flow.steps.len()),
                        ),
                        Err(errors) => (e.label(), false, format!("{} problem(s)", errors.0.len())),
                    }
                }
                Item::Atom(a) => {
                    let e = &lib.atoms[*a];
                    let ext = e
                        .path
                        .extension()
                        .map(|x| x.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    (e.name(), e.loaded.is_ok(), ext)
                }
            };
            let glyph = if ok {
                Span::styled("  ", theme.text())
            } else {
                Span::styled(
                    format!("{} ", theme.glyphs.error),
                    theme.fg(theme.colors.error),
                )
            };
            let width = (list_area.width as usize).saturating_sub(6 + extra.chars().count());
            let mut line = Line::from(vec![
                glyph,
                Span::styled(format!("{:<width$} ", clip(&name, width)), theme.text()),
                Span::styled(extra, theme.muted()),
            ]);
            if i == self.list.cursor() {
                line = line.style(theme.selection());
                cursor_line = lines.len();
            }
            lines.push(line);
        }
        if items.is_empty() {
            lines.push(Line::from(Span::styled(
                "No flows or atoms found in:",
                theme.muted(),
            )));
            for dir in &lib.searched {
                lines.push(Line::from(Span::styled(
                    format!("  {}", dir.display()),
                    theme.muted(),
                )));
            }
            lines.push(Line::from(Span::styled("n creates a flow.", theme.muted())));
        }
        let height = layout::inner(list_area).height as usize;
        let scroll = match keep_in_view(cursor_line, self.list.offset(), height, lines.len()) {
            // Scrolled up to the cursor: the line above it (a section title) shows too.
            top if top == cursor_line => cursor_line.saturating_sub(1),
            top => top,
        };
        frame.render_widget(
            Paragraph::new(lines)
                .scroll((scroll as u16, 0))
                .block(panel(" Library ", true, theme)),
            list_area,
        );
        let (title, detail) = match self.selected() {
            Some(Item::Flow(i)) => (" Flow ", flow_detail(&lib.flows[i], theme)),
            Some(Item::Atom(i)) => (" Atom ", atom_detail(&lib.atoms[i], theme)),
            None => (" Detail ", Vec::new()),
        };
        frame.render_widget(
            Paragraph::new(detail).block(panel(title, false, theme)),
            detail_area,
        );
    }
}

fn flow_detail(entry: &FlowEntry, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!(" {k:<12}"), theme.muted()),
            Span::styled(v, theme.text()),
        ])
    };
    let flow = match &entry.loaded {
        Ok(flow) => flow,
        Err(errors) => {
            lines.push(kv("file", entry.path.display().to_string()));
            lines.push(Line::from(Span::styled(
                format!(
                    " {} problem(s), as jobdeck check reports them:",
                    errors.0.len()
                ),
                theme.fg(theme.colors.error),
            )));
            for e in &errors.0 {
                lines.push(Line::from(Span::styled(
                    format!("  line {}: {}", e.line, e.message),
                    theme.fg(theme.colors.error),
                )));
            }
            return lines;
        }
    };
    lines.push(Line::from(Span::styled(
        format!(" {}", flow.name),
        theme.title(),
    )));
    if let Some(d) = &flow.description {
        lines.push(Line::from(Span::styled(format!(" {d}"), theme.text())));
    }
    lines.push(kv("file", entry.path.display().to_string()));
    if let Some(t) = &flow.targets {
        lines.push(kv("targets", t.clone()));
    }
    let r = &flow.rollout;
    let mut rollout = Vec::new();
    if let Some(b) = &r.batches {
        rollout.push(format!("batches {b}"));
    }
    if let Some(i) = r.interval {
        rollout.push(format!("interval {}", format_duration(i)));
    }
    if let Some(m) = r.mode {
        rollout.push(format!("mode {m}"));
    }
    if let Some(m) = &r.max_fail {
        rollout.push(format!("max-fail {m}"));
    }
    if !rollout.is_empty() {
        lines.push(kv("rollout", rollout.join(" · ")));
    }
    if !flow.params.is_empty() {
        lines.push(Line::from(Span::styled(" Params", theme.title())));
        for p in &flow.params {
            let default = if p.secret {
                MASK.to_string()
            } else {
                p.default.clone().map_or("—".into(), |d| format!("= {d}"))
            };
            let mut flags = Vec::new();
            if p.required {
                flags.push("required");
            }
            if p.secret {
                flags.push("secret");
            }
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<18}", p.name), theme.text()),
                Span::styled(format!("{:<8} ", p.kind.name()), theme.accent()),
                Span::styled(format!("{default:<12} "), theme.text()),
                Span::styled(flags.join(" "), theme.muted()),
            ]));
        }
    }
    for (title, steps) in [(" Steps", &flow.steps), (" Rollback", &flow.rollback)] {
        if steps.is_empty() {
            continue;
        }
        lines.push(Line::from(Span::styled(title, theme.title())));
        for (i, s) in steps.iter().enumerate() {
            let what = match &s.kind {
                StepKind::Atom { atom, with, .. } => {
                    let with: Vec<String> = with
                        .iter()
                        .map(|(k, v)| {
                            let secret = atom.params.iter().any(|p| &p.name == k && p.secret);
                            format!("{k}={}", if secret { MASK } else { v })
                        })
                        .collect();
                    format!("atom {} {}", atom.name, with.join(" "))
                }
                StepKind::Script { body, .. } => format!("script ({} lines)", body.lines().count()),
                StepKind::Command { command } => {
                    format!("command {}", command.lines().next().unwrap_or(""))
                }
                StepKind::Copy { dest, .. } => format!("copy to {dest}"),
                StepKind::Approval { message } => format!("approval: {message}"),
            };
            let mut extra = Vec::new();
            if let Some(t) = s.timeout {
                extra.push(format!("timeout {}", format_duration(t)));
            }
            if s.on_failure != crate::engine::OnFailure::Stop {
                extra.push(format!("on_failure {:?}", s.on_failure).to_lowercase());
            }
            if s.retries > 0 {
                extra.push(format!("retries {}", s.retries));
            }
            lines.push(Line::from(vec![
                Span::styled(format!("  {}. {:<16}", i + 1, s.name), theme.text()),
                Span::styled(what, theme.accent()),
                Span::styled(format!("  {}", extra.join(" ")), theme.muted()),
            ]));
        }
    }
    lines
}

fn atom_detail(entry: &AtomEntry, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!(" {k:<12}"), theme.muted()),
            Span::styled(v, theme.text()),
        ])
    };
    match &entry.loaded {
        Ok(atom) => {
            lines.push(Line::from(Span::styled(
                format!(" {}", atom.name),
                theme.title(),
            )));
            if let Some(d) = &atom.description {
                lines.push(Line::from(Span::styled(format!(" {d}"), theme.text())));
            }
            lines.push(kv("file", entry.path.display().to_string()));
            lines.push(kv("sha256", atom.sha256.clone()));
            if let Some(t) = atom.timeout {
                lines.push(kv("timeout", format_duration(t)));
            }
            if let Some(u) = &atom.run_as {
                lines.push(kv("run_as", u.clone()));
            }
            for p in &atom.params {
                let default = if p.secret {
                    MASK.to_string()
                } else {
                    p.default.clone().map_or("—".into(), |d| format!("= {d}"))
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<16}", p.name), theme.text()),
                    Span::styled(format!("{:<8} ", p.kind.name()), theme.accent()),
                    Span::styled(format!("{default:<10} "), theme.text()),
                    Span::styled(if p.required { "required" } else { "" }, theme.muted()),
                ]));
            }
        }
        Err(errors) => {
            lines.push(kv("file", entry.path.display().to_string()));
            for e in &errors.0 {
                lines.push(Line::from(Span::styled(
                    format!(" line {}: {}", e.line, e.message),
                    theme.fg(theme.colors.error),
                )));
            }
        }
    }
    lines.push(Line::default());
    let body: Vec<String> = entry.body.lines().map(String::from).collect();
    let width = format!("{}", body.len()).len().max(2);
    for (i, spans) in highlighted(&body, Syntax::Shell, theme)
        .into_iter()
        .enumerate()
    {
        let mut line = vec![Span::styled(format!(" {:>width$} ", i + 1), theme.muted())];
        line.extend(spans);
        lines.push(Line::from(line));
    }
    lines
}
