//! The rollout planner: pick a flow, fill in its typed params, shape the
//! rollout (batches, interval, mode, max-fail, forks) for the hosts selected
//! in the Inventory view, see live which host lands in which batch, and
//! start the run after a final confirmation.
//!
//! The form is a list of rows. `enter` edits a text row (the `input`
//! keymap context takes over), `←`/`→` cycle a choice, and `s` (or `enter`
//! on the last row) asks to start. Everything shown is recomputed when a
//! value changes, not per frame.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use serde_json::json;

use super::param_fields::{self, ParamField, text_input};
use super::{Hint, View};
use crate::commands::run::{Rollout, RunSpec};
use crate::duration::{format_duration, parse_duration};
use crate::flow::params::{self, ParamKind};
use crate::flow::{Flow, StepKind, load_flow};
use crate::hostlist;
use crate::inventory::{HostId, Inventory};
use crate::rollout::{BatchExpr, BatchMode, HostOrder, MaxFail, assign, order_hosts};
use crate::transport::fanout::DEFAULT_FORKS;
use crate::transport::resolve::ResolveOptions;
use crate::tui::action::Action;
use crate::tui::input::TextInput;
use crate::tui::keymap::KeyContext;
use crate::tui::layout::{self, WIDE};
use crate::tui::theme::Theme;

/// A flow file found next to the inventory or in `./flows/`.
#[derive(Debug, Clone)]
pub struct FlowChoice {
    pub path: PathBuf,
    /// The loaded flow, or why it does not load (first problem).
    pub flow: Result<Flow, String>,
}

impl FlowChoice {
    pub fn label(&self) -> String {
        match &self.flow {
            Ok(flow) => flow.name.clone(),
            Err(_) => self
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }
}

/// Flow files under `<source dir>/flows/` for every inventory source, then
/// under `<cwd>/flows/`, each directory once, files sorted by name.
/// Reads files: call it off the UI task.
pub fn discover_flows(sources: &[PathBuf], cwd: &Path) -> Vec<FlowChoice> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for source in sources {
        let dir = if source.is_dir() {
            source.clone()
        } else {
            source.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        dirs.push(dir.join("flows"));
    }
    dirs.push(cwd.join("flows"));
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut found = Vec::new();
    for dir in dirs {
        let canonical = dir.canonicalize().unwrap_or(dir.clone());
        if seen.contains(&canonical) {
            continue;
        }
        seen.push(canonical);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("yml") | Some("yaml")
                    )
            })
            .collect();
        files.sort();
        for path in files {
            let flow = load_flow(&path).map_err(|errors| {
                errors
                    .0
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "does not load".into())
            });
            found.push(FlowChoice { path, flow });
        }
    }
    found
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Flow,
    Param(usize),
    Batches,
    Interval,
    Mode,
    MaxFail,
    Forks,
    Start,
}

const MODES: [BatchMode; 3] = [
    BatchMode::PauseOnFailure,
    BatchMode::Continue,
    BatchMode::Confirm,
];

pub struct PlannerView {
    flows: Option<Vec<FlowChoice>>,
    flow_index: usize,
    /// The flow picker's cursor while it is open.
    picker: Option<usize>,
    params: Vec<ParamField>,
    batches: TextInput,
    interval: TextInput,
    mode: BatchMode,
    max_fail: TextInput,
    forks: TextInput,
    row: usize,
    editing: bool,
    inv: Option<Arc<Inventory>>,
    /// The selected hosts in run order.
    hosts: Vec<HostId>,
    hosts_folded: String,
    /// Batch sizes for the selection, or why the expression is wrong.
    plan: Result<Vec<usize>, String>,
    /// Folded host names per batch.
    preview: Vec<String>,
    area: Rect,
}

impl Default for PlannerView {
    fn default() -> Self {
        PlannerView::new()
    }
}

/// Batches previewed by name; the rest are summarised.
const PREVIEW_BATCHES: usize = 200;

impl PlannerView {
    pub fn new() -> PlannerView {
        let mut view = PlannerView {
            flows: None,
            flow_index: 0,
            picker: None,
            params: Vec::new(),
            batches: TextInput::default(),
            interval: TextInput::default(),
            mode: BatchMode::default(),
            max_fail: TextInput::default(),
            forks: TextInput::default(),
            row: 0,
            editing: false,
            inv: None,
            hosts: Vec::new(),
            hosts_folded: String::new(),
            plan: Ok(Vec::new()),
            preview: Vec::new(),
            area: Rect::default(),
        };
        view.apply_flow_defaults();
        view
    }

    pub fn set_flows(&mut self, flows: Vec<FlowChoice>) {
        // Prefer the first flow that loads.
        self.flow_index = flows.iter().position(|f| f.flow.is_ok()).unwrap_or(0);
        self.flows = Some(flows);
        self.apply_flow_defaults();
    }

    pub fn flows_loaded(&self) -> bool {
        self.flows.is_some()
    }

    pub fn flow_labels(&self) -> Vec<String> {
        self.flows.iter().flatten().map(FlowChoice::label).collect()
    }

    /// Chooses a flow by its name (tests, and a flow opened elsewhere).
    pub fn choose_flow(&mut self, name: &str) -> bool {
        let Some(i) = self.flows.iter().flatten().position(|f| f.label() == name) else {
            return false;
        };
        self.flow_index = i;
        self.apply_flow_defaults();
        true
    }

    /// The hosts selected in the Inventory view, by name, in inventory order.
    pub fn set_selection(&mut self, inv: Arc<Inventory>, names: &[String]) {
        let ids: Vec<HostId> = names.iter().filter_map(|n| inv.host_id(n)).collect();
        let changed = self.inv.as_ref().is_none_or(|old| !Arc::ptr_eq(old, &inv)) || {
            let mut before = self.hosts.clone();
            let mut after = ids.clone();
            before.sort_unstable();
            after.sort_unstable();
            before != after
        };
        self.inv = Some(inv);
        if changed {
            self.hosts = ids;
            self.reorder_hosts();
        }
    }

    fn flow(&self) -> Option<&Flow> {
        self.flows
            .as_ref()?
            .get(self.flow_index)?
            .flow
            .as_ref()
            .ok()
    }

    fn reorder_hosts(&mut self) {
        let order = self
            .flow()
            .and_then(|f| f.rollout.order)
            .unwrap_or(HostOrder::Inventory);
        if let Some(inv) = &self.inv {
            let named: Vec<(HostId, &str)> =
                self.hosts.iter().map(|&h| (h, inv.host_name(h))).collect();
            self.hosts = order_hosts(named, order, |(_, name)| name)
                .into_iter()
                .map(|(h, _)| h)
                .collect();
            self.hosts_folded = hostlist::fold(self.hosts.iter().map(|&h| inv.host_name(h)));
        }
        self.replan();
    }

    /// The form takes the chosen flow's params and rollout defaults.
    fn apply_flow_defaults(&mut self) {
        let flow = self.flow().cloned();
        let rollout = flow.as_ref().map(|f| f.rollout.clone()).unwrap_or_default();
        self.params = flow
            .as_ref()
            .map(|f| param_fields::fields_for(&f.params, &[]))
            .unwrap_or_default();
        self.batches = text_input(
            &rollout
                .batches
                .map(|b| b.to_string())
                .unwrap_or_else(|| "100%".into()),
        );
        self.interval = text_input(&format_duration(rollout.interval.unwrap_or_default()));
        self.mode = rollout.mode.unwrap_or_default();
        self.max_fail = text_input(&rollout.max_fail.map(|m| m.to_string()).unwrap_or_default());
        self.forks = text_input(&rollout.forks.unwrap_or(DEFAULT_FORKS).to_string());
        self.row = self.row.min(self.rows().len().saturating_sub(1));
        self.reorder_hosts();
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = vec![Row::Flow];
        rows.extend((0..self.params.len()).map(Row::Param));
        rows.extend([
            Row::Batches,
            Row::Interval,
            Row::Mode,
            Row::MaxFail,
            Row::Forks,
            Row::Start,
        ]);
        rows
    }

    fn current_row(&self) -> Row {
        self.rows().get(self.row).copied().unwrap_or(Row::Flow)
    }

    fn input_mut(&mut self, row: Row) -> Option<&mut TextInput> {
        match row {
            Row::Param(i) => self.params.get_mut(i).and_then(ParamField::input_mut),
            Row::Batches => Some(&mut self.batches),
            Row::Interval => Some(&mut self.interval),
            Row::MaxFail => Some(&mut self.max_fail),
            Row::Forks => Some(&mut self.forks),
            _ => None,
        }
    }

    fn replan(&mut self) {
        let count = self.hosts.len();
        self.plan = BatchExpr::parse(self.batches.text())
            .and_then(|e| e.plan(count))
            .map_err(|e| e.to_string());
        self.preview = match (&self.plan, &self.inv) {
            (Ok(sizes), Some(inv)) => {
                let shown: usize = sizes.iter().take(PREVIEW_BATCHES).sum();
                let batches = assign(
                    self.hosts[..shown].to_vec(),
                    &sizes[..sizes.len().min(PREVIEW_BATCHES)],
                );
                batches
                    .iter()
                    .map(|b| hostlist::fold(b.iter().map(|&h| inv.host_name(h))))
                    .collect()
            }
            _ => Vec::new(),
        };
    }

    /// A choice row moves one way or the other.
    fn cycle(&mut self, forward: bool) {
        let step = |i: usize, n: usize| {
            if n == 0 {
                0
            } else if forward {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            }
        };
        match self.current_row() {
            Row::Flow => {
                let n = self.flows.as_ref().map_or(0, Vec::len);
                self.flow_index = step(self.flow_index, n);
                self.apply_flow_defaults();
            }
            Row::Mode => {
                let i = MODES.iter().position(|&m| m == self.mode).unwrap_or(0);
                self.mode = MODES[step(i, MODES.len())];
            }
            Row::Param(i) => {
                if let Some(field) = self.params.get_mut(i) {
                    field.cycle(forward);
                }
            }
            _ => {}
        }
    }

    /// Problems that would stop the run, by row, for inline display.
    fn problem(&self, row: Row) -> Option<String> {
        match row {
            Row::Flow => match self.flows.as_ref()?.get(self.flow_index) {
                Some(FlowChoice { flow: Err(e), .. }) => Some(e.clone()),
                _ => None,
            },
            Row::Param(i) => self.params.get(i)?.problem(),
            Row::Batches => self.plan.as_ref().err().cloned(),
            Row::Interval => {
                let text = self.interval.text().trim();
                (!text.is_empty())
                    .then(|| parse_duration(text).err().map(|e| e.to_string()))
                    .flatten()
            }
            Row::MaxFail => {
                let text = self.max_fail.text().trim();
                (!text.is_empty())
                    .then(|| text.parse::<MaxFail>().err().map(|e| e.to_string()))
                    .flatten()
            }
            Row::Forks => match self.forks.text().trim().parse::<usize>() {
                Ok(n) if n >= 1 => None,
                _ => Some("a number of hosts at once, at least 1".into()),
            },
            Row::Mode | Row::Start => None,
        }
    }

    /// The run the form describes, or every reason it cannot start.
    pub fn run_spec(&self) -> Result<RunSpec, Vec<String>> {
        let mut problems: Vec<String> = self
            .rows()
            .into_iter()
            .filter_map(|row| {
                self.problem(row)
                    .map(|p| format!("{}: {p}", self.row_label(row)))
            })
            .collect();
        let Some(flow) = self.flow() else {
            problems.insert(0, "no flow to run: add one under flows/".into());
            return Err(problems);
        };
        if self.hosts.is_empty() {
            problems.insert(
                0,
                "no hosts selected: select hosts or groups in the Inventory view".into(),
            );
        }
        let given = param_fields::given(&self.params);
        let params = match params::resolve(&flow.params, &given) {
            Ok(values) => values,
            Err(e) => {
                if problems.is_empty() {
                    problems.push(e);
                }
                Vec::new()
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let inv = self
            .inv
            .as_ref()
            .ok_or_else(|| vec!["the inventory is still loading".to_string()])?;
        let names: Vec<&str> = self.hosts.iter().map(|&h| inv.host_name(h)).collect();
        let rollout = Rollout {
            batches: BatchExpr::parse(self.batches.text()).map_err(|e| vec![e.to_string()])?,
            interval: match self.interval.text().trim() {
                "" => Duration::ZERO,
                t => parse_duration(t).map_err(|e| vec![e.to_string()])?,
            },
            mode: self.mode,
            max_fail: match self.max_fail.text().trim() {
                "" => None,
                t => Some(
                    t.parse()
                        .map_err(|e: crate::rollout::RolloutError| vec![e.to_string()])?,
                ),
            },
            forks: self.forks.text().trim().parse().unwrap_or(DEFAULT_FORKS),
            order: flow.rollout.order.unwrap_or_default(),
            timeout: None,
        };
        let flow_path = std::path::absolute(&flow.path).unwrap_or_else(|_| flow.path.clone());
        Ok(RunSpec {
            flow: flow.clone(),
            params,
            hosts: self.hosts.clone(),
            rollout,
            target: json!({
                "flow_path": flow_path.display().to_string(),
                "hosts": names,
                "inventory": inv.sources,
                "console": true,
            }),
            yes: false,
            resolve: ResolveOptions::default(),
            safety: Default::default(),
        })
    }

    /// The final dialog's summary of a run.
    pub fn summary(&self, spec: &RunSpec) -> Vec<String> {
        let steps: Vec<&str> = spec.flow.steps.iter().map(|s| s.name.as_str()).collect();
        let sizes = self.plan.clone().unwrap_or_default();
        let secret = |name: &str| spec.flow.params.iter().any(|p| p.name == name && p.secret);
        let params: Vec<String> = spec
            .params
            .iter()
            .map(|(k, v)| {
                if secret(k) {
                    format!("{k}=•••")
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        let mut lines = vec![
            format!("Flow     {}", spec.flow.name),
            format!("Steps    {}: {}", steps.len(), steps.join(", ")),
            format!(
                "Hosts    {}: {}",
                spec.hosts.len(),
                ellipsis(&self.hosts_folded, 70)
            ),
            format!(
                "Batches  {} ({} batch{})",
                sizes_text(&sizes),
                sizes.len(),
                if sizes.len() == 1 { "" } else { "es" }
            ),
            format!(
                "Rollout  mode {} · interval {} · max-fail {} · forks {}",
                spec.rollout.mode,
                format_duration(spec.rollout.interval),
                spec.rollout
                    .max_fail
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "none".into()),
                spec.rollout.forks
            ),
        ];
        if !params.is_empty() {
            lines.push(format!("Params   {}", params.join(", ")));
        }
        if !spec.flow.rollback.is_empty() {
            lines.push(format!(
                "Rollback {} step(s) on hosts that fail with on_failure: rollback",
                spec.flow.rollback.len()
            ));
        }
        lines
    }

    /// Live batch sizes for the selection (tests and the dialog).
    pub fn batch_sizes(&self) -> Result<Vec<usize>, String> {
        self.plan.clone()
    }

    pub fn preview(&self) -> &[String] {
        &self.preview
    }

    pub fn is_editing(&self) -> bool {
        self.editing
    }

    fn row_label(&self, row: Row) -> String {
        match row {
            Row::Flow => "Flow".into(),
            Row::Param(i) => self
                .params
                .get(i)
                .map(|p| p.spec.name.clone())
                .unwrap_or_default(),
            Row::Batches => "Batches".into(),
            Row::Interval => "Interval".into(),
            Row::Mode => "Mode".into(),
            Row::MaxFail => "Max fail".into(),
            Row::Forks => "Forks".into(),
            Row::Start => "Start".into(),
        }
    }

    /// Focuses a row by its label (tests drive the form this way).
    pub fn focus_row(&mut self, label: &str) -> bool {
        let rows = self.rows();
        match rows.iter().position(|&r| self.row_label(r) == label) {
            Some(i) => {
                self.row = i;
                self.editing = false;
                true
            }
            None => false,
        }
    }

    fn handle_picker(&mut self, action: &Action, cursor: usize) -> Option<Action> {
        let n = self.flows.as_ref().map_or(0, Vec::len);
        match action {
            Action::Down => self.picker = Some((cursor + 1).min(n.saturating_sub(1))),
            Action::Up => self.picker = Some(cursor.saturating_sub(1)),
            Action::Top => self.picker = Some(0),
            Action::Bottom => self.picker = Some(n.saturating_sub(1)),
            Action::Submit => {
                self.picker = None;
                if cursor < n && cursor != self.flow_index {
                    self.flow_index = cursor;
                    self.apply_flow_defaults();
                }
            }
            Action::Cancel => self.picker = None,
            _ => {}
        }
        None
    }

    fn handle_edit(&mut self, action: &Action) -> Option<Action> {
        let row = self.current_row();
        match action {
            Action::Submit | Action::Cancel => self.editing = false,
            Action::InsertChar(c) => {
                if let Some(input) = self.input_mut(row) {
                    input.push(*c);
                }
            }
            Action::Backspace => {
                if let Some(input) = self.input_mut(row) {
                    input.backspace();
                }
            }
            Action::ClearInput => {
                if let Some(input) = self.input_mut(row) {
                    input.clear();
                }
            }
            _ => {}
        }
        if row == Row::Batches {
            self.replan();
        }
        None
    }

    fn draw_form(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let rows = self.rows();
        let label_width = self
            .params
            .iter()
            .map(|p| p.spec.name.chars().count() + p.spec.kind.name().len() + 6)
            .chain([14])
            .max()
            .unwrap_or(14)
            .min(32);
        let mut lines: Vec<Line> = Vec::new();
        let hosts = if self.hosts.is_empty() {
            Span::styled(
                "none selected: select hosts in the Inventory view (1)",
                theme.fg(theme.colors.warning),
            )
        } else {
            Span::styled(
                format!("{}: {}", self.hosts.len(), ellipsis(&self.hosts_folded, 60)),
                theme.fg(theme.colors.selected),
            )
        };
        for (i, &row) in rows.iter().enumerate() {
            match row {
                Row::Param(0) => lines.push(section("Params", theme)),
                Row::Batches => lines.push(section("Rollout", theme)),
                _ => {}
            }
            let focused = i == self.row;
            let label = match row {
                Row::Param(p) => {
                    let spec = &self.params[p].spec;
                    let mark = if spec.required { "*" } else { "" };
                    format!(" {}{mark} ({})", spec.name, spec.kind.name())
                }
                Row::Start => String::new(),
                other => format!(" {}", self.row_label(other)),
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
                Row::Flow => {
                    let (name, of) = match &self.flows {
                        None => ("looking for flows…".to_string(), String::new()),
                        Some(flows) if flows.is_empty() => (
                            "no flows found (add one under <inventory>/flows/)".to_string(),
                            String::new(),
                        ),
                        Some(flows) => (
                            flows[self.flow_index].label(),
                            format!("  {} of {}", self.flow_index + 1, flows.len()),
                        ),
                    };
                    spans.push(Span::styled(format!("◂ {name} ▸"), value_style));
                    spans.push(Span::styled(of, theme.muted()));
                    if let Some(flow) = self.flow() {
                        spans.push(Span::styled(
                            format!("  {} step(s)", flow.steps.len()),
                            theme.muted(),
                        ));
                    }
                }
                Row::Param(p) => {
                    let field = &self.params[p];
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
                Row::Batches | Row::Interval | Row::MaxFail | Row::Forks => {
                    let input = match row {
                        Row::Batches => &self.batches,
                        Row::Interval => &self.interval,
                        Row::MaxFail => &self.max_fail,
                        _ => &self.forks,
                    };
                    let text = if input.is_empty() && row == Row::MaxFail && !focused {
                        "none".to_string()
                    } else {
                        input.text().to_string()
                    };
                    spans.push(Span::styled(text, value_style));
                    if focused && self.editing {
                        spans.push(Span::styled("▏", theme.accent()));
                    }
                    if row == Row::Batches
                        && let Ok(sizes) = &self.plan
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
                Row::Mode => spans.push(Span::styled(format!("◂ {} ▸", self.mode), value_style)),
                Row::Start => {
                    spans.pop();
                    let style = if focused {
                        theme.selection()
                    } else {
                        theme.accent()
                    };
                    spans.push(Span::styled(" ▶ Start run… ", style));
                }
            }
            if let Some(problem) = self.problem(row) {
                spans.push(Span::styled(
                    format!("  {} {problem}", theme.glyphs.error),
                    theme.fg(theme.colors.error),
                ));
            }
            lines.push(Line::from(spans));
            if row == Row::Flow {
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
        let title = match self.flow() {
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

    fn draw_preview(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let mut lines: Vec<Line> = Vec::new();
        match &self.plan {
            Err(e) => lines.push(Line::from(Span::styled(
                format!("{} {e}", theme.glyphs.error),
                theme.fg(theme.colors.error),
            ))),
            Ok(sizes) if sizes.is_empty() => lines.push(Line::from(Span::styled(
                "No hosts selected yet.",
                theme.muted(),
            ))),
            Ok(sizes) => {
                for (b, names) in self.preview.iter().enumerate() {
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
                if sizes.len() > self.preview.len() {
                    lines.push(Line::from(Span::styled(
                        format!(" … {} more batches", sizes.len() - self.preview.len()),
                        theme.muted(),
                    )));
                }
            }
        }
        if let Some(flow) = self.flow() {
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

    fn draw_picker(&self, frame: &mut Frame, area: Rect, theme: &Theme, cursor: usize) {
        let flows = self.flows.as_deref().unwrap_or_default();
        let rect = layout::centered(area, 72, flows.len() as u16 + 2);
        let lines: Vec<Line> = flows
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let (detail, style) = match &f.flow {
                    Ok(flow) => (flow.description.clone().unwrap_or_default(), theme.muted()),
                    Err(e) => (e.clone(), theme.fg(theme.colors.error)),
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

fn panel<'a>(title: &str, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(title.to_string(), theme.title()))
}

fn step_kind(kind: &StepKind) -> String {
    match kind {
        StepKind::Atom { atom, .. } => format!("atom {}", atom.name),
        StepKind::Script { .. } => "script".into(),
        StepKind::Command { command } => format!("$ {}", ellipsis(command, 40)),
        StepKind::Copy { dest, .. } => format!("copy → {dest}"),
        StepKind::Approval { .. } => "approval".into(),
    }
}

/// `1 + 3 + 3`, shortened for long plans.
pub fn sizes_text(sizes: &[usize]) -> String {
    if sizes.is_empty() {
        return "no hosts".into();
    }
    let mut parts: Vec<String> = sizes.iter().take(8).map(ToString::to_string).collect();
    if sizes.len() > 8 {
        parts.push("…".into());
    }
    parts.join(" + ")
}

fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

impl View for PlannerView {
    fn handle(&mut self, action: &Action) -> Option<Action> {
        if let Some(cursor) = self.picker {
            return self.handle_picker(action, cursor);
        }
        if self.editing {
            return self.handle_edit(action);
        }
        let last = self.rows().len().saturating_sub(1);
        match action {
            Action::Down => self.row = (self.row + 1).min(last),
            Action::Up => self.row = self.row.saturating_sub(1),
            Action::Top => self.row = 0,
            Action::Bottom => self.row = last,
            Action::PrevChoice => self.cycle(false),
            Action::NextChoice => self.cycle(true),
            Action::ScrollDown { .. } => self.row = (self.row + 1).min(last),
            Action::ScrollUp { .. } => self.row = self.row.saturating_sub(1),
            Action::Submit => match self.current_row() {
                Row::Flow if self.flows.as_ref().is_some_and(|f| !f.is_empty()) => {
                    self.picker = Some(self.flow_index)
                }
                Row::Start => return Some(Action::StartRun),
                row if self.input_mut(row).is_some() => self.editing = true,
                Row::Mode | Row::Param(_) => self.cycle(true),
                _ => {}
            },
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let form_height = (self.rows().len() as u16 + 5).min(area.height.saturating_sub(5).max(3));
        let (form, preview) = if area.width >= WIDE {
            let form_width = (area.width * 3 / 5).max(60).min(area.width);
            (
                Rect::new(area.x, area.y, form_width, area.height),
                Rect::new(
                    area.x + form_width,
                    area.y,
                    area.width - form_width,
                    area.height,
                ),
            )
        } else {
            (
                Rect::new(area.x, area.y, area.width, form_height),
                Rect::new(
                    area.x,
                    area.y + form_height,
                    area.width,
                    area.height.saturating_sub(form_height),
                ),
            )
        };
        self.draw_form(frame, form, theme);
        if preview.height > 2 {
            self.draw_preview(frame, preview, theme);
        }
        if let Some(cursor) = self.picker {
            self.draw_picker(frame, area, theme, cursor);
        }
    }

    fn set_area(&mut self, area: Rect) {
        self.area = area;
    }

    fn key_contexts(&self) -> Vec<KeyContext> {
        if self.editing {
            vec![KeyContext::Input]
        } else {
            vec![KeyContext::Planner]
        }
    }

    fn captures_text(&self) -> bool {
        self.editing
    }

    fn hints(&self) -> Vec<Hint> {
        if self.picker.is_some() {
            return vec![
                Hint::pair(Action::Down, Action::Up, "move"),
                Hint::new(Action::Submit, "choose"),
                Hint::new(Action::Cancel, "close"),
            ];
        }
        if self.editing {
            return vec![
                Hint::new(Action::Submit, "done"),
                Hint::new(Action::ClearInput, "clear"),
            ];
        }
        let mut hints = vec![Hint::pair(Action::Down, Action::Up, "move")];
        match self.current_row() {
            Row::Flow => {
                hints.push(Hint::new(Action::Submit, "pick flow"));
                hints.push(Hint::pair(Action::PrevChoice, Action::NextChoice, "cycle"));
            }
            Row::Mode => hints.push(Hint::pair(Action::PrevChoice, Action::NextChoice, "cycle")),
            Row::Param(i)
                if matches!(
                    self.params.get(i).map(|p| &p.spec.kind),
                    Some(ParamKind::Bool) | Some(ParamKind::Choice(_))
                ) =>
            {
                hints.push(Hint::pair(Action::PrevChoice, Action::NextChoice, "cycle"))
            }
            Row::Start => {}
            _ => hints.push(Hint::new(Action::Submit, "edit")),
        }
        hints.push(Hint::new(Action::StartRun, "start run"));
        hints
    }
}
