//! The plan as the operator fills it in: the chosen flow, its typed params,
//! the rollout options as text, the selected hosts in run order and the
//! batches they fall into. Every check is the planning layer's
//! (`crate::plan`), so the Planner refuses what `jobdeck --run` refuses,
//! each problem at its row.

use std::sync::Arc;

use crate::duration::format_duration;
use crate::flow::catalog::Catalog;
use crate::flow::{Flow, RolloutSpec, params};
use crate::hostlist;
use crate::inventory::{HostId, Inventory};
use crate::plan::{self, RolloutOptions, RunField, RunSpec};
use crate::rollout::{BatchExpr, BatchMode, assign};
use crate::transport::fanout::DEFAULT_FORKS;
use crate::transport::resolve::ResolveOptions;
use crate::tui::widgets::clip::clip;
use crate::tui::widgets::param_fields::{self, ParamField};
use crate::tui::widgets::text_box::TextInput;

/// The form's rows, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanRow {
    Flow,
    Param(usize),
    Batches,
    Interval,
    Mode,
    MaxFail,
    Forks,
    Start,
}

pub const MODES: [BatchMode; 3] = [
    BatchMode::PauseOnFailure,
    BatchMode::Continue,
    BatchMode::Confirm,
];

/// A flow's rollout defaults as the form's rows show them.
struct RolloutTexts {
    batches: String,
    interval: String,
    mode: BatchMode,
    max_fail: String,
    forks: String,
}

impl RolloutTexts {
    fn of(flow: Option<&Flow>) -> RolloutTexts {
        let rollout = flow.map(|f| f.rollout.clone()).unwrap_or_default();
        RolloutTexts {
            batches: rollout
                .batches
                .map(|b| b.to_string())
                .unwrap_or_else(|| "100%".into()),
            interval: format_duration(rollout.interval.unwrap_or_default()),
            mode: rollout.mode.unwrap_or_default(),
            max_fail: rollout.max_fail.map(|m| m.to_string()).unwrap_or_default(),
            forks: rollout.forks.unwrap_or(DEFAULT_FORKS).to_string(),
        }
    }
}

/// Batches previewed by name; the rest are summarised.
const PREVIEW_BATCHES: usize = 200;

pub struct PlanForm {
    /// `None` until the catalog is read.
    pub catalog: Option<Arc<Catalog>>,
    pub flow_index: usize,
    pub params: Vec<ParamField>,
    pub batches: TextInput,
    pub interval: TextInput,
    pub mode: BatchMode,
    pub max_fail: TextInput,
    pub forks: TextInput,
    pub inv: Option<Arc<Inventory>>,
    /// The selected hosts in run order.
    pub hosts: Vec<HostId>,
    pub hosts_folded: String,
    /// Batch sizes for the selection, or why the expression is wrong.
    pub plan: Result<Vec<usize>, String>,
    /// Folded host names per batch.
    pub preview: Vec<String>,
    /// Nothing is selected: the hosts are (to be) the flow's targets.
    targets: Option<TargetsState>,
}

/// The flow's `targets:` standing in for an empty selection.
#[derive(Debug, Clone, PartialEq)]
enum TargetsState {
    /// To be found for the chosen flow.
    Wanted,
    /// Found for `pattern` (or why it selects none).
    Found {
        pattern: String,
        problem: Option<String>,
    },
}

impl PlanForm {
    pub fn new() -> PlanForm {
        let mut form = PlanForm {
            catalog: None,
            flow_index: 0,
            params: Vec::new(),
            batches: TextInput::default(),
            interval: TextInput::default(),
            mode: BatchMode::default(),
            max_fail: TextInput::default(),
            forks: TextInput::default(),
            inv: None,
            hosts: Vec::new(),
            hosts_folded: String::new(),
            plan: Ok(Vec::new()),
            preview: Vec::new(),
            targets: None,
        };
        form.apply_flow_defaults();
        form
    }

    /// A new catalog: the chosen flow stays chosen if it is still there
    /// (its param values typed so far too), else the first that loads.
    pub fn set_catalog(&mut self, catalog: Arc<Catalog>) {
        let chosen = self.flow_entry_path();
        let kept = chosen.as_deref().and_then(|p| catalog.position(p));
        self.catalog = Some(catalog);
        match kept {
            Some(i) => {
                self.flow_index = i;
                let typed = param_fields::given(&self.params);
                self.params = self
                    .flow()
                    .map(|f| param_fields::fields_for(&f.params, &typed))
                    .unwrap_or_default();
            }
            None => {
                self.flow_index = self
                    .entries()
                    .iter()
                    .position(|f| f.loaded.is_ok())
                    .unwrap_or(0);
                self.apply_flow_defaults();
            }
        }
    }

    fn flow_entry_path(&self) -> Option<std::path::PathBuf> {
        self.entries().get(self.flow_index).map(|f| f.path.clone())
    }

    pub fn entries(&self) -> &[crate::flow::catalog::FlowEntry] {
        self.catalog.as_deref().map_or(&[], |c| &c.flows)
    }

    pub fn flow(&self) -> Option<&Flow> {
        self.entries().get(self.flow_index)?.flow()
    }

    pub fn choose(&mut self, index: usize) {
        if index < self.entries().len() && index != self.flow_index {
            self.switch_flow(index);
        }
    }

    /// The hosts selected in the Inventory view, by name. With none, the
    /// hosts come from the flow's `targets:` (`set_targets`), as in a
    /// headless run.
    pub fn set_selection(&mut self, inv: Arc<Inventory>, names: &[String]) {
        let ids: Vec<HostId> = names.iter().filter_map(|n| inv.host_id(n)).collect();
        if ids.is_empty() {
            let same_inv = self.inv.as_ref().is_some_and(|old| Arc::ptr_eq(old, &inv));
            self.inv = Some(inv);
            if !same_inv || self.targets.is_none() {
                self.targets = Some(TargetsState::Wanted);
                self.hosts.clear();
                self.reorder_hosts();
            }
            return;
        }
        let from_targets = self.targets.take().is_some();
        let changed =
            from_targets || self.inv.as_ref().is_none_or(|old| !Arc::ptr_eq(old, &inv)) || {
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

    /// The flow's `targets:` pattern, when nothing is selected and the
    /// hosts still have to be found for it.
    pub fn targets_wanted(&self) -> Option<String> {
        let pattern = self.flow()?.targets.clone()?;
        match &self.targets {
            Some(TargetsState::Wanted) => Some(pattern),
            Some(TargetsState::Found { pattern: p, .. }) if *p != pattern => Some(pattern),
            _ => None,
        }
    }

    /// The hosts the flow's `targets:` pattern selects (found off the UI
    /// task), unless a selection came in meanwhile.
    pub fn set_targets(&mut self, pattern: String, found: Result<Vec<HostId>, String>) {
        if self.targets.is_none() {
            return;
        }
        self.hosts = found.as_ref().cloned().unwrap_or_default();
        self.targets = Some(TargetsState::Found {
            pattern,
            problem: found.err(),
        });
        self.reorder_hosts();
    }

    /// Where the hosts come from when nothing is selected: the flow's
    /// targets pattern, and why it selects none if it does not.
    pub fn hosts_from_targets(&self) -> Option<(&str, Option<&str>)> {
        match &self.targets {
            Some(TargetsState::Found { pattern, problem }) => {
                Some((pattern.as_str(), problem.as_deref()))
            }
            _ => None,
        }
    }

    fn reorder_hosts(&mut self) {
        let order = self
            .flow()
            .and_then(|f| f.rollout.order)
            .unwrap_or_default();
        if let Some(inv) = &self.inv {
            self.hosts = plan::in_run_order(inv, &self.hosts, order);
            self.hosts_folded = hostlist::fold(self.hosts.iter().map(|&h| inv.host_name(h)));
        }
        self.replan();
    }

    /// The form takes the chosen flow's params and rollout defaults.
    pub fn apply_flow_defaults(&mut self) {
        let flow = self.flow().cloned();
        self.params = flow
            .as_ref()
            .map(|f| param_fields::fields_for(&f.params, &[]))
            .unwrap_or_default();
        let defaults = RolloutTexts::of(flow.as_ref());
        self.batches = TextInput::with_text(&defaults.batches);
        self.interval = TextInput::with_text(&defaults.interval);
        self.mode = defaults.mode;
        self.max_fail = TextInput::with_text(&defaults.max_fail);
        self.forks = TextInput::with_text(&defaults.forks);
        self.reorder_hosts();
    }

    /// Another flow is chosen: what the operator typed stays (batches,
    /// interval, mode, max-fail, forks, and the params the new flow
    /// shares); what still is the old flow's default becomes the new one's.
    pub fn switch_flow(&mut self, index: usize) {
        let old = RolloutTexts::of(self.flow());
        let typed = RolloutTexts {
            batches: self.batches.text().to_string(),
            interval: self.interval.text().to_string(),
            mode: self.mode,
            max_fail: self.max_fail.text().to_string(),
            forks: self.forks.text().to_string(),
        };
        let typed_params: Vec<(String, String)> = param_fields::given(&self.params)
            .into_iter()
            .filter(|(name, value)| {
                let old_default = self
                    .params
                    .iter()
                    .find(|f| f.spec.name == *name)
                    .and_then(|f| f.spec.default.as_deref());
                old_default != Some(value.as_str())
            })
            .collect();
        self.flow_index = index;
        if self.targets.is_some() {
            // The hosts were the old flow's targets: the new flow's stand in.
            self.targets = Some(TargetsState::Wanted);
            self.hosts.clear();
        }
        self.apply_flow_defaults();
        if let Some(flow) = self.flow() {
            self.params = param_fields::fields_for(&flow.params, &typed_params);
        }
        let keep = |typed: &String, old: &String, field: &mut TextInput| {
            if typed != old {
                *field = TextInput::with_text(typed);
            }
        };
        keep(&typed.batches, &old.batches, &mut self.batches);
        keep(&typed.interval, &old.interval, &mut self.interval);
        keep(&typed.max_fail, &old.max_fail, &mut self.max_fail);
        keep(&typed.forks, &old.forks, &mut self.forks);
        if typed.mode != old.mode {
            self.mode = typed.mode;
        }
        self.replan();
    }

    pub fn rows(&self) -> Vec<PlanRow> {
        let mut rows = vec![PlanRow::Flow];
        rows.extend((0..self.params.len()).map(PlanRow::Param));
        rows.extend([
            PlanRow::Batches,
            PlanRow::Interval,
            PlanRow::Mode,
            PlanRow::MaxFail,
            PlanRow::Forks,
            PlanRow::Start,
        ]);
        rows
    }

    pub fn input_mut(&mut self, row: PlanRow) -> Option<&mut TextInput> {
        match row {
            PlanRow::Param(i) => self.params.get_mut(i).and_then(ParamField::input_mut),
            PlanRow::Batches => Some(&mut self.batches),
            PlanRow::Interval => Some(&mut self.interval),
            PlanRow::MaxFail => Some(&mut self.max_fail),
            PlanRow::Forks => Some(&mut self.forks),
            _ => None,
        }
    }

    /// The batch sizes and their hosts for the current expression.
    pub fn replan(&mut self) {
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
    pub fn cycle(&mut self, row: PlanRow, forward: bool) {
        let step = |i: usize, n: usize| {
            if n == 0 {
                0
            } else if forward {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            }
        };
        match row {
            PlanRow::Flow => {
                let n = self.entries().len();
                let next = step(self.flow_index, n);
                if next != self.flow_index {
                    self.switch_flow(next);
                }
            }
            PlanRow::Mode => {
                let i = MODES.iter().position(|&m| m == self.mode).unwrap_or(0);
                self.mode = MODES[step(i, MODES.len())];
            }
            PlanRow::Param(i) => {
                if let Some(field) = self.params.get_mut(i) {
                    field.cycle(forward);
                }
            }
            _ => {}
        }
    }

    /// The rollout options as the form holds them: every one given (the
    /// form starts from the flow's), an empty interval or max-fail being
    /// none.
    fn rollout_options(&self) -> RolloutOptions {
        let optional = |t: &TextInput| {
            let text = t.text().trim();
            (!text.is_empty()).then(|| text.to_string())
        };
        RolloutOptions {
            batches: Some(self.batches.text().to_string()),
            interval: optional(&self.interval),
            mode: Some(self.mode.to_string()),
            max_fail: optional(&self.max_fail),
            forks: Some(self.forks.text().to_string()),
            order: None,
            timeout: None,
        }
    }

    /// The flow's own settings the form does not show (the host order).
    fn rollout_base(&self) -> RolloutSpec {
        RolloutSpec {
            order: self.flow().and_then(|f| f.rollout.order),
            ..RolloutSpec::default()
        }
    }

    /// Problems that would stop the run, by row, for inline display.
    pub fn problem(&self, row: PlanRow) -> Option<String> {
        let option = |field: RunField| {
            plan::rollout(&self.rollout_options(), &self.rollout_base())
                .err()?
                .into_iter()
                .find(|e| e.field == field)
                .map(|e| e.message)
        };
        match row {
            PlanRow::Flow => self.entries().get(self.flow_index)?.problem(),
            PlanRow::Param(i) => self.params.get(i)?.problem(),
            PlanRow::Batches => self.plan.as_ref().err().cloned(),
            PlanRow::Interval => option(RunField::Interval),
            PlanRow::MaxFail => option(RunField::MaxFail),
            PlanRow::Forks => option(RunField::Forks),
            PlanRow::Mode => option(RunField::Mode),
            PlanRow::Start => None,
        }
    }

    pub fn row_label(&self, row: PlanRow) -> String {
        match row {
            PlanRow::Flow => "Flow".into(),
            PlanRow::Param(i) => self
                .params
                .get(i)
                .map(|p| p.spec.name.clone())
                .unwrap_or_default(),
            PlanRow::Batches => "Batches".into(),
            PlanRow::Interval => "Interval".into(),
            PlanRow::Mode => "Mode".into(),
            PlanRow::MaxFail => "Max fail".into(),
            PlanRow::Forks => "Forks".into(),
            PlanRow::Start => "Start".into(),
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
            let why = match self.hosts_from_targets() {
                Some((pattern, Some(problem))) => {
                    format!(
                        "no hosts: nothing is selected and the flow's targets '{pattern}' select none ({problem})"
                    )
                }
                _ => "no hosts selected: select hosts or groups in the Inventory view".into(),
            };
            problems.insert(0, why);
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
        let rollout = plan::rollout(&self.rollout_options(), &self.rollout_base());
        if !problems.is_empty() {
            return Err(problems);
        }
        let rollout =
            rollout.map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
        let inv = self
            .inv
            .as_ref()
            .ok_or_else(|| vec!["the inventory is still loading".to_string()])?;
        let names: Vec<&str> = self.hosts.iter().map(|&h| inv.host_name(h)).collect();
        Ok(RunSpec {
            target: plan::record::console_target(flow, &names, inv),
            flow: flow.clone(),
            params,
            hosts: self.hosts.clone(),
            rollout,
            yes: false,
            resolve: ResolveOptions::default(),
            safety: Default::default(),
        })
    }

    /// One command on `hosts` (the command box), with this form's rollout
    /// (batches, interval, mode, max-fail, forks): the CLI's `--run -c`
    /// flow and target, so the journal, a rerun and the guard see the
    /// same run as `jobdeck --run -c` would make. Also the start dialog's
    /// summary (its batch sizes are the command's, not the form's hosts').
    pub fn command_spec(
        &self,
        command: &str,
        hosts: &[String],
    ) -> Result<(RunSpec, Vec<String>), Vec<String>> {
        let command = command.trim();
        if command.is_empty() {
            return Err(vec!["type a command to run".into()]);
        }
        let inv = self
            .inv
            .as_ref()
            .ok_or_else(|| vec!["the inventory is still loading".to_string()])?;
        if hosts.is_empty() {
            return Err(vec!["no hosts: select hosts first".into()]);
        }
        let flow = plan::adhoc_flow(command);
        let selection = crate::inventory::select::Selection {
            hosts: hosts.to_vec(),
            ..Default::default()
        };
        let selected = selection
            .resolve(inv, std::path::Path::new("."))
            .map_err(|e| vec![e.to_string()])?;
        let rollout = plan::rollout(&self.rollout_options(), &RolloutSpec::default())
            .map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
        let sizes = rollout.batches.plan(selected.len()).unwrap_or_default();
        let resolve = ResolveOptions::default();
        let safety = Default::default();
        let target =
            plan::record::selected_target(&flow, Some(command), &selection, inv, &resolve, &safety);
        let names: Vec<&str> = selected.iter().map(|&h| inv.host_name(h)).collect();
        let mut summary = vec![
            format!("Command  {}", clip(command, 70)),
            format!(
                "Hosts    {}: {}",
                names.len(),
                clip(&hostlist::fold(names.iter().copied()), 70)
            ),
        ];
        summary.extend(rollout_lines(&sizes, &rollout));
        let spec = RunSpec {
            hosts: plan::in_run_order(inv, &selected, rollout.order),
            flow,
            params: Vec::new(),
            rollout,
            target,
            yes: false,
            resolve,
            safety,
        };
        Ok((spec, summary))
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
                clip(&self.hosts_folded, 70)
            ),
        ];
        lines.extend(rollout_lines(&sizes, &spec.rollout));
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
}

/// The start dialog's `Batches` and `Rollout` lines.
fn rollout_lines(sizes: &[usize], rollout: &plan::Rollout) -> [String; 2] {
    [
        format!(
            "Batches  {} ({} batch{})",
            sizes_text(sizes),
            sizes.len(),
            if sizes.len() == 1 { "" } else { "es" }
        ),
        format!(
            "Rollout  mode {} · interval {} · max-fail {} · forks {}",
            rollout.mode,
            format_duration(rollout.interval),
            rollout
                .max_fail
                .map(|m| m.to_string())
                .unwrap_or_else(|| "none".into()),
            rollout.forks
        ),
    ]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::catalog::FlowEntry;
    use std::path::Path;

    fn form_on_sample() -> PlanForm {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
        let inv = Inventory::load(&[sample.to_string_lossy().into_owned()]).unwrap();
        let mut form = PlanForm::new();
        form.set_catalog(Arc::new(Catalog::of_flows(vec![FlowEntry::load(
            &sample.join("flows/health-check.yml"),
        )])));
        form.set_selection(Arc::new(inv), &["local-1".into(), "local-2".into()]);
        form
    }

    #[test]
    fn problems_are_the_planning_layers_at_their_rows() {
        let mut form = form_on_sample();
        assert!(form.run_spec().is_ok());
        form.forks = TextInput::with_text("0");
        form.interval = TextInput::with_text("soon");
        assert_eq!(
            form.problem(PlanRow::Forks).as_deref(),
            Some("must be at least 1")
        );
        assert!(form.problem(PlanRow::Interval).unwrap().contains("soon"));
        assert_eq!(form.problem(PlanRow::Batches), None);
        let Err(problems) = form.run_spec() else {
            panic!("forks 0 and a bad interval cannot run");
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn an_empty_interval_is_none_not_the_flows() {
        let mut form = form_on_sample();
        form.interval = TextInput::default();
        let spec = form.run_spec().unwrap();
        assert_eq!(spec.rollout.interval, std::time::Duration::ZERO);
    }
}
