//! Drawing the gathered view: "38 of 40 alike, 2 differ" in its title, the
//! groups of alike output (majority first) each shown once (the template,
//! `{host}` and the like, when its hosts printed different bytes), or with
//! `d` each minority group as a diff against the majority; the hosts still
//! under way after them, folded by their output as it stands. The bottom
//! border says what outputs are alike after (`=` changes it).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::output_line::output_line;
use super::{Pane, RunView};
use crate::engine::events::{HostIndex, HostStatus};
use crate::hostlist;
use crate::tui::action::Action;
use crate::tui::run_store::{LineKind, RunStore};
use crate::tui::theme::Theme;
use crate::tui::widgets::clip::clip;
use crate::tui::widgets::panel::panel;
use crate::tui::widgets::status_look::host_look;

/// What a section of the view shows under its header.
enum Body<'a> {
    /// The first host's buffered output.
    Output(HostIndex),
    /// The group's normalised output; the first host's lines give each
    /// line's kind.
    Template(&'a str, HostIndex),
    /// A diff against the majority.
    Diff(&'a str),
}

impl RunView {
    pub(super) fn draw_gathered(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        store: &RunStore,
    ) {
        let height = area.height.saturating_sub(2) as usize;
        let width = area.width.saturating_sub(2) as usize;
        let compared = &self.gathering.compared;
        let diff = self.gathering.diff;
        let under_way = store.gathered();
        let under_way: Vec<_> = under_way.iter().filter(|b| !b.status.is_final()).collect();
        let mut sections: Vec<(Vec<HostIndex>, HostStatus, Option<i32>, Body)> = Vec::new();
        for group in &compared.groups {
            let body = match (&group.diff, diff, &group.template) {
                (Some(text), true, _) => Body::Diff(text),
                (_, _, Some(template)) => Body::Template(template, group.hosts[0]),
                _ => Body::Output(group.hosts[0]),
            };
            sections.push((group.hosts.clone(), group.status, group.exit_code, body));
        }
        for block in &under_way {
            sections.push((
                block.hosts.clone(),
                block.status,
                block.exit_code,
                Body::Output(block.hosts[0]),
            ));
        }
        let mut lines: Vec<Line> = Vec::with_capacity(height);
        let mut row = 0usize;
        let skip = self.gather_scroll;
        for (hosts, status, exit_code, body) in &sections {
            let size = 2 + match body {
                Body::Output(h) => {
                    let host = &store.hosts[*h];
                    usize::from(host.first_line() > 0) + host.lines().len()
                }
                Body::Template(text, _) => text.lines().count(),
                Body::Diff(text) => text.lines().count().max(1),
            };
            if row + size <= skip {
                row += size;
                continue;
            }
            let (glyph, color) = host_look(theme, *status);
            let names = hostlist::fold(hosts.iter().map(|&h| store.hosts[h].name.as_str()));
            let exit = exit_code.map(|c| format!(" exit {c}")).unwrap_or_default();
            let mut section = vec![Line::from(vec![
                Span::styled(
                    format!("{glyph} {} ", clip(&names, width.saturating_sub(24))),
                    theme.fg(color).add_modifier(Modifier::BOLD),
                ),
                Span::styled(format!("({}) {status}{exit}", hosts.len()), theme.muted()),
            ])];
            match body {
                Body::Output(h) => {
                    let host = &store.hosts[*h];
                    if host.first_line() > 0 {
                        section.push(Line::from(Span::styled(
                            format!("  … {} earlier lines", host.first_line()),
                            theme.muted(),
                        )));
                    }
                    section.extend(host.lines().iter().map(|line| {
                        output_line(
                            line.kind,
                            &line.text,
                            &self.search.term,
                            width,
                            self.column,
                            theme,
                        )
                    }));
                }
                Body::Template(text, h) => {
                    let kinds = store.hosts[*h].lines();
                    section.extend(text.lines().enumerate().map(|(i, line)| {
                        let kind = kinds.get(i).map_or(LineKind::Stdout, |l| l.kind);
                        output_line(kind, line, &self.search.term, width, self.column, theme)
                    }));
                }
                Body::Diff("") => section.push(Line::from(Span::styled(
                    "(same output as the majority)",
                    theme.muted(),
                ))),
                Body::Diff(text) => {
                    section.extend(text.lines().map(|l| diff_line(l, width, theme)));
                }
            }
            section.push(Line::default());
            let from = skip.saturating_sub(row);
            lines.extend(section.into_iter().skip(from));
            row += size;
            if lines.len() >= height {
                break;
            }
        }
        lines.truncate(height);
        let under_way_hosts: usize = under_way.iter().map(|b| b.hosts.len()).sum();
        let mut title = String::from(" Gathered: ");
        let mut parts: Vec<String> = Vec::new();
        if self.gathering.compared.summary.is_empty() && self.comparing() {
            parts.push("comparing…".into());
        }
        if !compared.summary.is_empty() {
            parts.push(compared.summary.clone());
        }
        if under_way_hosts > 0 {
            parts.push(format!("{under_way_hosts} not ended"));
        }
        title.push_str(&parts.join(" · "));
        title.push(' ');
        if title.chars().count() > width {
            // The counts matter more than the layout's name.
            title = title.replacen(" Gathered: ", " ", 1);
        }
        let mut block = panel(&clip(&title, width), self.focus == Pane::Output, theme);
        let (alike_after, diff_hint) = self.gathered_footer(compared.groups.len() > 1, width);
        block = block.title_bottom(Line::from(Span::styled(alike_after, theme.muted())));
        if let Some(hint) = diff_hint {
            block =
                block.title_bottom(Line::from(Span::styled(hint, theme.accent())).right_aligned());
        }
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}

impl RunView {
    /// The bottom border: what outputs are alike after and the key that
    /// changes it (left), and `d`'s hint when groups differ (right), in
    /// `width` columns; the hint gives way first, then the long words.
    fn gathered_footer(&self, differ: bool, width: usize) -> (String, Option<String>) {
        let key = |action| self.keys.of(&action);
        let normalize = self.gathering.normalize;
        let hint = differ.then(|| {
            let d = key(Action::GatherDiff);
            if self.gathering.diff {
                [format!(" {d} shows the outputs "), format!(" {d} outputs ")]
            } else {
                [
                    format!(" {d} diffs against the majority "),
                    format!(" {d} diffs "),
                ]
            }
        });
        let eq = key(Action::GatherNormalize);
        let long = format!(" {eq} alike after: {} ", normalize.describe());
        let short = format!(" {eq} alike after: {} ", normalize.describe_short());
        let fits = |left: &str, right: &str| left.chars().count() + right.chars().count() < width;
        for left in [&long, &short] {
            let Some(hints) = &hint else {
                if fits(left, "") {
                    return (left.clone(), None);
                }
                continue;
            };
            for right in hints {
                if fits(left, right) {
                    return (left.clone(), Some(right.clone()));
                }
            }
        }
        (clip(&short, width), None)
    }
}

/// A line of a unified diff: removed lines in the failed colour, added
/// ones in the ok colour, hunk headers as accents.
fn diff_line(text: &str, width: usize, theme: &Theme) -> Line<'static> {
    let style: Style = if text.starts_with("+++") || text.starts_with("---") {
        theme.muted()
    } else if text.starts_with('+') {
        theme.fg(theme.colors.ok)
    } else if text.starts_with('-') {
        theme.fg(theme.colors.failed)
    } else if text.starts_with("@@") {
        theme.accent()
    } else {
        theme.text()
    };
    Line::from(Span::styled(clip(text, width), style))
}
