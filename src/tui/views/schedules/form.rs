//! The add/edit schedule form. Text fields are kept as typed; `validate`
//! turns them into a schedule, or into problems at their fields. Every rule
//! is `plan::schedule`'s, the one `jobdeck schedule add` applies, so each
//! run option's problem lands on that option's own field.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::rows::{PREVIEW, upcoming};
use crate::flow::Flow;
use crate::flow::catalog::{Catalog, FlowEntry};
use crate::plan::RunField;
use crate::plan::options::parse_forks;
use crate::plan::schedule::{self as rules, Kind, Problem, ScheduleField};
use crate::rollout::BatchMode;
use crate::schedule::store::{
    CatchUp, NewSchedule, Overlap, RunOptions, Schedule, When, next_fire,
};
use crate::tui::widgets::param_fields::{self, ParamField};
use crate::tui::widgets::text_box::TextInput;

/// The form's fields, top to bottom (the chosen flow's params follow the
/// flow; the run options an operator rarely changes come last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Kind,
    When,
    Zone,
    Flow,
    /// The flow's n-th declared param.
    Param(usize),
    Limit,
    Batches,
    Interval,
    Mode,
    MaxFail,
    Overlap,
    CatchUp,
    Until,
    Yes,
    Forks,
    Order,
    Timeout,
    Connect,
}

/// `--mode` choices; `None` keeps the flow's own.
const MODES: [Option<BatchMode>; 4] = [
    None,
    Some(BatchMode::PauseOnFailure),
    Some(BatchMode::Continue),
    Some(BatchMode::Confirm),
];

impl Field {
    pub fn label(self, kind: Kind) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Kind => "kind",
            Field::When if kind == Kind::Cron => "cron",
            Field::When => "at",
            Field::Zone => "zone",
            Field::Flow => "flow",
            Field::Limit => "targets",
            Field::Batches => "batches",
            Field::Interval => "interval",
            Field::Param(_) => "param",
            Field::Mode => "mode",
            Field::MaxFail => "max-fail",
            Field::Overlap => "overlap",
            Field::CatchUp => "catch-up",
            Field::Until => "until",
            Field::Yes => "approve",
            Field::Forks => "forks",
            Field::Order => "order",
            Field::Timeout => "timeout",
            Field::Connect => "connect",
        }
    }

    /// Chosen with ←/→ instead of typed (params: see `ScheduleForm::is_choice`).
    fn is_choice(self) -> bool {
        matches!(
            self,
            Field::Kind | Field::Flow | Field::Mode | Field::Overlap | Field::CatchUp | Field::Yes
        )
    }

    /// Where the form shows a problem of the schedule rules.
    fn of(field: ScheduleField) -> Field {
        match field {
            ScheduleField::Name => Field::Name,
            ScheduleField::When => Field::When,
            ScheduleField::Zone => Field::Zone,
            ScheduleField::Until => Field::Until,
            ScheduleField::Flow => Field::Flow,
            ScheduleField::Param(i) => Field::Param(i),
            ScheduleField::Run(run) => match run {
                RunField::Targets => Field::Limit,
                RunField::Params => Field::Flow,
                RunField::Batches => Field::Batches,
                RunField::Interval => Field::Interval,
                RunField::Mode => Field::Mode,
                RunField::MaxFail => Field::MaxFail,
                RunField::Forks => Field::Forks,
                RunField::Order => Field::Order,
                RunField::Timeout => Field::Timeout,
                RunField::ConnectTimeout => Field::Connect,
                RunField::Approve => Field::Yes,
            },
        }
    }
}

/// A problem as the form shows it: at its field, in the form's words.
pub fn at_field(problem: &Problem) -> (Field, String) {
    (Field::of(problem.field()), problem.to_string())
}

/// Which flow the form runs: one in the catalog, or (when editing) the
/// stored one if the catalog does not have it.
#[derive(Debug, Clone, PartialEq)]
enum FlowPick {
    None,
    Found(PathBuf),
    Stored { path: PathBuf, name: String },
}

/// The form's preview for the current text.
#[derive(Debug, Clone, PartialEq)]
pub enum Preview {
    Times(Vec<DateTime<chrono_tz::Tz>>),
    Error(String),
}

#[derive(Debug, Clone)]
pub struct ScheduleForm {
    /// The schedule being edited; `None` adds a new one.
    pub editing: Option<i64>,
    pub name: TextInput,
    pub kind: Kind,
    pub when: TextInput,
    pub zone: TextInput,
    flow: FlowPick,
    /// The chosen flow's params (none when the flow is not at hand).
    pub params: Vec<ParamField>,
    pub limit: TextInput,
    pub batches: TextInput,
    pub interval: TextInput,
    /// `None`: the flow's own mode.
    pub mode: Option<BatchMode>,
    pub max_fail: TextInput,
    pub overlap: Overlap,
    pub catch_up: CatchUp,
    pub until: TextInput,
    pub yes: bool,
    pub forks: TextInput,
    pub order: TextInput,
    pub timeout: TextInput,
    pub connect: TextInput,
    /// Options the form does not show (inventory, selection filters...):
    /// kept from the edited schedule, else the console's inventory and
    /// directory.
    base_run: RunOptions,
    pub focus: Field,
    /// Fields typed in; their problems show. All show after a save attempt.
    touched: Vec<Field>,
    pub show_all: bool,
    /// Problems the save found (name taken, pattern matches nothing).
    pub save_errors: Vec<(Field, String)>,
    pub saving: bool,
}

/// A form's checked content, ready for the store.
#[derive(Debug, Clone)]
pub struct ValidForm {
    pub editing: Option<i64>,
    pub schedule: NewSchedule,
}

fn optional(input: &TextInput) -> Option<String> {
    let text = input.text().trim();
    (!text.is_empty()).then(|| text.to_owned())
}

impl ScheduleForm {
    pub fn new(catalog: &Catalog, base_run: RunOptions) -> ScheduleForm {
        let first = catalog.flows.first();
        ScheduleForm {
            editing: None,
            name: TextInput::default(),
            kind: Kind::Cron,
            when: TextInput::with_text("0 3 * * *"),
            zone: TextInput::default(),
            flow: match first {
                Some(entry) => FlowPick::Found(entry.path.clone()),
                None => FlowPick::None,
            },
            params: match first.and_then(FlowEntry::flow) {
                Some(flow) => param_fields::fields_for(&flow.params, &[]),
                None => Vec::new(),
            },
            limit: TextInput::default(),
            batches: TextInput::default(),
            interval: TextInput::default(),
            mode: None,
            max_fail: TextInput::default(),
            overlap: Overlap::default(),
            catch_up: CatchUp::default(),
            until: TextInput::default(),
            yes: false,
            forks: TextInput::default(),
            order: TextInput::default(),
            timeout: TextInput::default(),
            connect: TextInput::default(),
            base_run,
            focus: Field::Name,
            touched: Vec::new(),
            show_all: false,
            save_errors: Vec::new(),
            saving: false,
        }
    }

    /// A form holding a stored schedule, to edit it.
    pub fn edit(schedule: &Schedule, catalog: &Catalog) -> ScheduleForm {
        let zone = schedule.zone;
        let local = |t: DateTime<Utc>| {
            t.with_timezone(&zone)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        let (kind, when) = match &schedule.when {
            When::Cron(expr) => (Kind::Cron, expr.as_str().to_owned()),
            When::At(at) => (Kind::At, local(*at)),
        };
        let found = catalog
            .position(&schedule.flow_path)
            .map(|i| &catalog.flows[i]);
        let run = &schedule.run;
        // The stored values go back into the flow's fields; values of
        // params the flow no longer declares are dropped on save.
        let params = match found.and_then(FlowEntry::flow) {
            Some(f) => param_fields::fields_for(&f.params, &run.params),
            None => Vec::new(),
        };
        let text =
            |value: &Option<String>| TextInput::with_text(value.as_deref().unwrap_or_default());
        ScheduleForm {
            editing: Some(schedule.id),
            name: TextInput::with_text(&schedule.name),
            kind,
            when: TextInput::with_text(&when),
            zone: TextInput::with_text(zone.name()),
            flow: match found {
                Some(entry) => FlowPick::Found(entry.path.clone()),
                None => FlowPick::Stored {
                    path: schedule.flow_path.clone(),
                    name: schedule.flow_name.clone(),
                },
            },
            params,
            limit: text(&run.limit),
            batches: text(&run.batches),
            interval: text(&run.interval),
            mode: run.mode.as_deref().and_then(|m| m.parse().ok()),
            max_fail: text(&run.max_fail),
            overlap: schedule.overlap,
            catch_up: schedule.catch_up,
            until: TextInput::with_text(&schedule.until.map(local).unwrap_or_default()),
            yes: run.yes,
            forks: text(&run.forks.map(|n| n.to_string())),
            order: text(&run.order),
            timeout: text(&run.timeout),
            connect: text(&run.connect_timeout),
            base_run: run.clone(),
            focus: Field::Name,
            touched: Vec::new(),
            show_all: false,
            save_errors: Vec::new(),
            saving: false,
        }
    }

    /// Every field, top to bottom.
    pub fn fields(&self) -> Vec<Field> {
        let mut fields = vec![
            Field::Name,
            Field::Kind,
            Field::When,
            Field::Zone,
            Field::Flow,
        ];
        fields.extend((0..self.params.len()).map(Field::Param));
        fields.extend([
            Field::Limit,
            Field::Batches,
            Field::Interval,
            Field::Mode,
            Field::MaxFail,
            Field::Overlap,
            Field::CatchUp,
            Field::Until,
            Field::Yes,
            Field::Forks,
            Field::Order,
            Field::Timeout,
            Field::Connect,
        ]);
        fields
    }

    /// Chosen with ←/→: the fixed choices, and bool and choice params.
    pub fn is_choice(&self, field: Field) -> bool {
        match field {
            Field::Param(i) => self.params.get(i).is_some_and(ParamField::is_choice),
            other => other.is_choice(),
        }
    }

    pub fn is_secret(&self, field: Field) -> bool {
        matches!(field, Field::Param(i) if self.params.get(i).is_some_and(|p| p.spec.secret))
    }

    /// Focuses a param field by the param's name (tests).
    pub fn focus_param(&mut self, name: &str) -> bool {
        match self.params.iter().position(|p| p.spec.name == name) {
            Some(i) => {
                self.focus = Field::Param(i);
                true
            }
            None => false,
        }
    }

    /// The value of a param field by the param's name.
    pub fn param_value(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.spec.name == name)
            .map(|p| p.value.text())
    }

    fn text_mut(&mut self, field: Field) -> Option<&mut TextInput> {
        match field {
            Field::Param(i) => self
                .params
                .get_mut(i)
                .filter(|p| !p.spec.secret)
                .and_then(ParamField::input_mut),
            other => match other {
                Field::MaxFail => Some(&mut self.max_fail),
                Field::Name => Some(&mut self.name),
                Field::When => Some(&mut self.when),
                Field::Zone => Some(&mut self.zone),
                Field::Limit => Some(&mut self.limit),
                Field::Batches => Some(&mut self.batches),
                Field::Interval => Some(&mut self.interval),
                Field::Until => Some(&mut self.until),
                Field::Forks => Some(&mut self.forks),
                Field::Order => Some(&mut self.order),
                Field::Timeout => Some(&mut self.timeout),
                Field::Connect => Some(&mut self.connect),
                _ => None,
            },
        }
    }

    /// The text box of a typed field (none for choices and secrets).
    pub fn text(&self, field: Field) -> Option<&TextInput> {
        match field {
            Field::Param(i) => self
                .params
                .get(i)
                .filter(|p| !p.spec.secret && !p.is_choice())
                .map(|p| &p.value),
            Field::MaxFail => Some(&self.max_fail),
            Field::Name => Some(&self.name),
            Field::When => Some(&self.when),
            Field::Zone => Some(&self.zone),
            Field::Limit => Some(&self.limit),
            Field::Batches => Some(&self.batches),
            Field::Interval => Some(&self.interval),
            Field::Until => Some(&self.until),
            Field::Forks => Some(&self.forks),
            Field::Order => Some(&self.order),
            Field::Timeout => Some(&self.timeout),
            Field::Connect => Some(&self.connect),
            _ => None,
        }
    }

    /// Types into the focused text field.
    pub fn edit_text(&mut self, edit: impl FnOnce(&mut TextInput)) {
        let field = self.focus;
        if let Some(text) = self.text_mut(field) {
            edit(text);
            if !self.touched.contains(&field) {
                self.touched.push(field);
            }
            self.save_errors.retain(|(f, _)| *f != field);
        }
    }

    pub fn move_focus(&mut self, down: bool) {
        let fields = self.fields();
        let i = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = fields.len();
        self.focus = fields[if down { (i + 1) % n } else { (i + n - 1) % n }];
    }

    /// ←/→ on a choice field.
    pub fn cycle(&mut self, catalog: &Catalog, forward: bool) {
        let step = |i: usize, n: usize| {
            if forward {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            }
        };
        match self.focus {
            Field::Kind => {
                self.kind = match self.kind {
                    Kind::Cron => Kind::At,
                    Kind::At => Kind::Cron,
                };
                self.touched.retain(|f| *f != Field::When);
            }
            Field::Flow if !catalog.flows.is_empty() => {
                let i = match &self.flow {
                    FlowPick::Found(path) => catalog
                        .position(path)
                        .map_or(0, |i| step(i, catalog.flows.len())),
                    _ => 0,
                };
                let entry = &catalog.flows[i];
                self.flow = FlowPick::Found(entry.path.clone());
                // The new flow's params; values typed for a param of the
                // same name stay.
                let typed = param_fields::given(&self.params);
                self.params = match entry.flow() {
                    Some(flow) => param_fields::fields_for(&flow.params, &typed),
                    None => Vec::new(),
                };
                self.touched.retain(|f| !matches!(f, Field::Param(_)));
                self.save_errors
                    .retain(|(f, _)| !matches!(f, Field::Param(_)));
            }
            Field::Param(i) => match self.params.get_mut(i) {
                Some(param) if param.is_choice() => param.cycle(forward),
                _ => return,
            },
            Field::Mode => {
                let i = MODES.iter().position(|m| *m == self.mode).unwrap_or(0);
                self.mode = MODES[step(i, MODES.len())];
            }
            Field::Overlap => {
                let all = [Overlap::Skip, Overlap::Queue, Overlap::Allow];
                let i = all.iter().position(|o| *o == self.overlap).unwrap_or(0);
                self.overlap = all[step(i, all.len())];
            }
            Field::CatchUp => {
                let all = [CatchUp::Once, CatchUp::All, CatchUp::None];
                let i = all.iter().position(|c| *c == self.catch_up).unwrap_or(0);
                self.catch_up = all[step(i, all.len())];
            }
            Field::Yes => self.yes = !self.yes,
            _ => return,
        }
        self.save_errors.retain(|(f, _)| *f != self.focus);
    }

    pub fn flow_label(&self, catalog: &Catalog) -> String {
        match &self.flow {
            FlowPick::None => "(no flows found)".into(),
            FlowPick::Found(path) => catalog
                .position(path)
                .map(|i| catalog.flows[i].label())
                .unwrap_or_default(),
            FlowPick::Stored { name, .. } => format!("{name} (as stored)"),
        }
    }

    /// The chosen flow's path and, when the catalog has it, the flow.
    pub fn chosen_flow<'a>(
        &self,
        catalog: &'a Catalog,
    ) -> Result<(PathBuf, Option<&'a Flow>), String> {
        match &self.flow {
            FlowPick::None => {
                Err("no flow to run: put flow files in <inventory>/flows/ or ./flows/".into())
            }
            FlowPick::Found(path) => match catalog.position(path).map(|i| &catalog.flows[i]) {
                Some(entry) => match (entry.flow(), entry.problem()) {
                    (Some(flow), _) => Ok((entry.path.clone(), Some(flow))),
                    (None, problem) => Err(format!(
                        "{} does not load: {}",
                        entry.path.display(),
                        problem.unwrap_or_default()
                    )),
                },
                None => Err("choose a flow".into()),
            },
            FlowPick::Stored { path, .. } => Ok((path.clone(), None)),
        }
    }

    /// The run options the form stands for, and a forks value that is not
    /// a number.
    fn run_options(&self) -> (RunOptions, Option<String>) {
        let params = match &self.flow {
            // The flow is not at hand: its stored values stay as they are.
            FlowPick::Stored { .. } => self.base_run.params.clone(),
            _ => stored_params(&self.params),
        };
        let (forks, forks_problem) = match optional(&self.forks).map(|t| parse_forks(&t)) {
            None => (None, None),
            Some(Ok(n)) => (Some(n), None),
            Some(Err(e)) => (None, Some(e)),
        };
        let run = RunOptions {
            params,
            limit: optional(&self.limit),
            batches: optional(&self.batches),
            interval: optional(&self.interval),
            mode: self.mode.map(|m| m.to_string()),
            max_fail: optional(&self.max_fail),
            forks,
            order: optional(&self.order),
            timeout: optional(&self.timeout),
            connect_timeout: optional(&self.connect),
            yes: self.yes,
            ..self.base_run.clone()
        };
        (run, forks_problem)
    }

    /// The fire times the form's timing gives (the live preview).
    pub fn preview(&self, now: DateTime<Utc>) -> Preview {
        let error = |p: Problem| Preview::Error(p.to_string());
        let zone = match rules::check_zone(self.zone.text()) {
            Ok(z) => z,
            Err(e) => return error(e),
        };
        let when = match rules::check_when(
            self.kind,
            self.when.text(),
            zone,
            now,
            self.editing.is_some(),
        ) {
            Ok(w) => w,
            Err(e) => return error(e),
        };
        let until = match rules::check_until(self.until.text(), zone, now) {
            Ok(u) => u,
            Err(e) => return error(e),
        };
        let next = |after| next_fire(&when, zone, until, after);
        let times: Vec<_> = upcoming(next(now), next)
            .into_iter()
            .take(PREVIEW)
            .map(|t| t.with_timezone(&zone))
            .collect();
        if times.is_empty() {
            error(Problem::NeverFires { when, until, zone })
        } else {
            Preview::Times(times)
        }
    }

    /// Checks every field, as `jobdeck schedule add` checks its options.
    /// Nothing is saved unless this answers `Ok`.
    pub fn validate(
        &self,
        catalog: &Catalog,
        now: DateTime<Utc>,
    ) -> Result<ValidForm, Vec<(Field, String)>> {
        let mut problems: Vec<(Field, String)> = self.save_errors.clone();
        let name = kept(&mut problems, rules::check_name(self.name.text()));
        let zone = kept(&mut problems, rules::check_zone(self.zone.text()));
        let when = zone.and_then(|zone| {
            let when = rules::check_when(
                self.kind,
                self.when.text(),
                zone,
                now,
                self.editing.is_some(),
            );
            kept(&mut problems, when)
        });
        let until = zone.and_then(|zone| {
            kept(
                &mut problems,
                rules::check_until(self.until.text(), zone, now),
            )
        });
        if let (Some(when), Some(zone), Some(until)) = (&when, zone, until) {
            kept(&mut problems, rules::check_fires(when, zone, until, now));
        }
        let (run, forks_problem) = self.run_options();
        if let Some(problem) = forks_problem {
            problems.push((Field::Forks, problem));
        }
        let flow = match self.chosen_flow(catalog) {
            Ok(found) => Some(found),
            Err(e) => {
                problems.push((Field::Flow, e));
                None
            }
        };
        let flow_name = match &flow {
            Some((_, Some(f))) => {
                problems.extend(rules::check_run(f, &run).iter().map(at_field));
                f.name.clone()
            }
            Some((_, None)) => match &self.flow {
                FlowPick::Stored { name, .. } => name.clone(),
                _ => String::new(),
            },
            None => String::new(),
        };
        match (problems.is_empty(), name, flow, when, zone, until) {
            (true, Some(name), Some((flow_path, _)), Some(when), Some(zone), Some(until)) => {
                Ok(ValidForm {
                    editing: self.editing,
                    schedule: NewSchedule {
                        name,
                        flow_path,
                        flow_name,
                        run,
                        when,
                        zone,
                        until,
                        overlap: self.overlap,
                        catch_up: self.catch_up,
                    },
                })
            }
            _ => Err(problems),
        }
    }

    /// The problems to show now: those of touched fields, or all of them
    /// after a save attempt.
    pub fn shown_problems(&self, catalog: &Catalog, now: DateTime<Utc>) -> Vec<(Field, String)> {
        match self.validate(catalog, now) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .into_iter()
                .filter(|(f, _)| {
                    self.show_all
                        || self.touched.contains(f)
                        || self.is_choice(*f)
                        || self.is_secret(*f)
                })
                .collect(),
        }
    }
}

/// The value, or its problem recorded at its field.
fn kept<T>(problems: &mut Vec<(Field, String)>, result: Result<T, Problem>) -> Option<T> {
    result.map_err(|p| problems.push(at_field(&p))).ok()
}

/// The param values a schedule stores, as `schedule add -p NAME=VALUE`
/// would: only values given, so a value left at the flow's default keeps
/// following the flow; never a secret.
pub fn stored_params(fields: &[ParamField]) -> Vec<(String, String)> {
    fields
        .iter()
        .filter(|f| !f.spec.secret && !f.value.is_empty())
        .filter(|f| f.spec.default.as_deref() != Some(f.value.text()))
        .map(|f| (f.spec.name.clone(), f.value.text().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::CronExpr;
    use chrono::TimeZone;
    use chrono_tz::Tz;
    use std::path::Path;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap() // a Monday
    }

    fn none() -> Catalog {
        Catalog::default()
    }

    /// A form for a flow that is not in the catalog (no flow checks).
    fn form() -> ScheduleForm {
        let mut form = ScheduleForm::new(&none(), RunOptions::default());
        form.flow = FlowPick::Stored {
            path: PathBuf::from("/srv/flows/health.yml"),
            name: "health".into(),
        };
        form.name = TextInput::with_text("nightly");
        form.zone = TextInput::with_text("UTC");
        form
    }

    fn fields(problems: &[(Field, String)]) -> Vec<Field> {
        problems.iter().map(|(f, _)| *f).collect()
    }

    #[test]
    fn a_valid_form_becomes_a_schedule() {
        let mut f = form();
        f.limit = TextInput::with_text(" web ");
        f.overlap = Overlap::Queue;
        let valid = f.validate(&none(), now()).unwrap();
        assert_eq!(valid.schedule.name, "nightly");
        assert_eq!(valid.schedule.zone, Tz::UTC);
        assert_eq!(valid.schedule.run.limit.as_deref(), Some("web"));
        assert_eq!(valid.schedule.run.batches, None);
        assert_eq!(valid.schedule.overlap, Overlap::Queue);
        assert!(matches!(valid.schedule.when, When::Cron(_)));
    }

    #[test]
    fn problems_are_reported_at_their_fields() {
        let mut f = form();
        f.name = TextInput::with_text("42");
        f.when = TextInput::with_text("61 * * * *");
        f.until = TextInput::with_text("yesterday");
        let problems = f.validate(&none(), now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::Name, Field::When, Field::Until]);
        assert!(problems[1].1.contains("minute"), "{problems:?}");

        let mut f = form();
        f.zone = TextInput::with_text("Mars/Olympus");
        assert_eq!(
            fields(&f.validate(&none(), now()).unwrap_err()),
            [Field::Zone]
        );

        let mut f = form();
        f.kind = Kind::At;
        f.when = TextInput::with_text("2026-03-01 10:00");
        let problems = f.validate(&none(), now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::When]);
        assert!(problems[0].1.contains("in the past"));
        f.when = TextInput::with_text("2026-03-05 10:00");
        assert!(matches!(
            f.validate(&none(), now()).unwrap().schedule.when,
            When::At(_)
        ));

        // The end date comes before the first fire.
        let mut f = form();
        f.when = TextInput::with_text("0 12 * * *");
        f.until = TextInput::with_text("2026-03-02 11:00");
        let problems = f.validate(&none(), now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::Until]);

        let mut f = ScheduleForm::new(&none(), RunOptions::default());
        f.name = TextInput::with_text("x");
        assert_eq!(
            fields(&f.validate(&none(), now()).unwrap_err()),
            [Field::Flow]
        );
    }

    #[test]
    fn only_touched_fields_show_problems_until_a_save() {
        let mut f = form();
        f.name = TextInput::default();
        f.focus = Field::When;
        f.edit_text(|t| t.push('x'));
        let shown = fields(&f.shown_problems(&none(), now()));
        assert_eq!(shown, [Field::When], "the empty name is not shown yet");
        f.show_all = true;
        assert_eq!(
            fields(&f.shown_problems(&none(), now())),
            [Field::Name, Field::When]
        );
    }

    #[test]
    fn the_preview_follows_kind_zone_and_end_date() {
        let mut f = form();
        f.zone = TextInput::with_text("Europe/Berlin");
        f.when = TextInput::with_text("30 9 * * mon");
        match f.preview(now()) {
            Preview::Times(times) => {
                assert_eq!(times.len(), PREVIEW);
                assert_eq!(
                    times[0].format("%Y-%m-%d %H:%M %Z").to_string(),
                    "2026-03-02 09:30 CET"
                );
            }
            other => panic!("{other:?}"),
        }
        f.zone = TextInput::with_text("UTC");
        f.when = TextInput::with_text("0 12 * * *");
        f.until = TextInput::with_text("2026-03-04 12:00");
        match f.preview(now()) {
            Preview::Times(times) => assert_eq!(times.len(), 3, "{times:?}"),
            other => panic!("{other:?}"),
        }
        f.kind = Kind::At;
        f.when = TextInput::with_text("2026-03-03 09:15");
        f.until = TextInput::default();
        match f.preview(now()) {
            Preview::Times(times) => {
                assert_eq!(times.len(), 1);
                assert_eq!(times[0].format("%H:%M").to_string(), "09:15");
            }
            other => panic!("{other:?}"),
        }
        f.when = TextInput::with_text("soon");
        assert!(matches!(f.preview(now()), Preview::Error(_)));
    }

    #[test]
    fn choices_cycle() {
        let mut f = form();
        f.focus = Field::Overlap;
        f.cycle(&none(), true);
        assert_eq!(f.overlap, Overlap::Queue);
        f.cycle(&none(), false);
        f.cycle(&none(), false);
        assert_eq!(f.overlap, Overlap::Allow);
        f.focus = Field::Kind;
        f.cycle(&none(), true);
        assert_eq!(f.kind, Kind::At);
        f.focus = Field::Yes;
        f.cycle(&none(), true);
        assert!(f.yes);
        f.focus = Field::Connect;
        f.move_focus(true);
        assert_eq!(f.focus, Field::Name, "focus wraps around");
    }

    fn sample() -> Catalog {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
        Catalog::scan(&[dir], Path::new("/nonexistent"))
    }

    /// A form for the sample flow `name`, valid apart from its params.
    fn form_for(catalog: &Catalog, name: &str) -> ScheduleForm {
        let mut f = ScheduleForm::new(catalog, RunOptions::default());
        f.focus = Field::Flow;
        while f.flow_label(catalog) != name {
            f.cycle(catalog, true);
        }
        f.name = TextInput::with_text("nightly");
        f.zone = TextInput::with_text("UTC");
        f
    }

    #[test]
    fn the_flows_params_are_typed_fields() {
        let catalog = sample();
        let mut f = form_for(&catalog, "deploy");
        let names: Vec<&str> = f.params.iter().map(|p| p.spec.name.as_str()).collect();
        assert_eq!(names, ["version", "service", "registry_token"]);
        assert_eq!(f.param_value("service"), Some("lab-app"), "defaults shown");
        let problems = f.validate(&catalog, now()).unwrap_err();
        assert_eq!(problems, [(Field::Param(0), "required".to_string())]);

        assert!(f.focus_param("version"));
        f.edit_text(|t| t.push('1'));
        f.focus_param("registry_token");
        f.edit_text(|t| t.push('x'));
        assert_eq!(
            f.param_value("registry_token"),
            Some(""),
            "a secret is never typed"
        );
        let valid = f.validate(&catalog, now()).unwrap();
        assert_eq!(
            valid.schedule.run.params,
            [("version".to_string(), "1".to_string())],
            "only given values are stored, as `schedule add -p` does"
        );

        // An int param takes integers only.
        let mut f = form_for(&catalog, "health-check");
        f.focus_param("max_used_percent");
        f.edit_text(TextInput::clear);
        f.edit_text(|t| "lots".chars().for_each(|c| t.push(c)));
        let problems = f.validate(&catalog, now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::Param(0)]);
        assert!(problems[0].1.contains("expects an integer"), "{problems:?}");
        f.edit_text(TextInput::clear);
        f.edit_text(|t| "80".chars().for_each(|c| t.push(c)));
        let run = f.validate(&catalog, now()).unwrap().schedule.run;
        assert_eq!(
            run.params,
            [("max_used_percent".to_string(), "80".to_string())]
        );
    }

    #[test]
    fn every_run_option_has_its_own_field() {
        let catalog = sample();
        let mut f = form_for(&catalog, "health-check");
        f.forks = TextInput::with_text("many");
        f.order = TextInput::with_text("bogus");
        f.timeout = TextInput::with_text("soon");
        f.connect = TextInput::with_text("eleven");
        let problems = f.validate(&catalog, now()).unwrap_err();
        assert_eq!(
            fields(&problems),
            [Field::Forks, Field::Order, Field::Timeout, Field::Connect],
            "{problems:?}"
        );
        f.forks = TextInput::with_text("0");
        let problems = f.validate(&catalog, now()).unwrap_err();
        assert_eq!(problems[0], (Field::Forks, "must be at least 1".into()));
    }

    #[test]
    fn editing_loads_the_stored_params_mode_and_max_fail() {
        let catalog = sample();
        let deploy = catalog
            .flows
            .iter()
            .find(|f| f.label() == "deploy")
            .unwrap();
        let stored = Schedule {
            id: 7,
            name: "release".into(),
            flow_path: deploy.path.clone(),
            flow_name: "deploy".into(),
            run: RunOptions {
                params: vec![
                    ("version".into(), "2.0".into()),
                    ("service".into(), "api".into()),
                ],
                mode: Some("continue".into()),
                max_fail: Some("2".into()),
                forks: Some(8),
                ..RunOptions::default()
            },
            when: When::Cron(CronExpr::parse("0 3 * * *").unwrap()),
            zone: Tz::UTC,
            until: None,
            overlap: Overlap::Skip,
            catch_up: CatchUp::Once,
            paused: false,
            created_at: now(),
            next_fire_at: None,
            last_fire_at: None,
            queued: 0,
            last_error: None,
            last_log: None,
        };
        let mut f = ScheduleForm::edit(&stored, &catalog);
        assert_eq!(f.param_value("version"), Some("2.0"));
        assert_eq!(f.param_value("service"), Some("api"));
        assert_eq!(f.mode, Some(BatchMode::Continue));
        assert_eq!(f.max_fail.text(), "2");
        assert_eq!(f.forks.text(), "8");
        let run = f.validate(&catalog, now()).unwrap().schedule.run;
        assert_eq!(run.params, stored.run.params, "saved back unchanged");
        assert_eq!(run.mode.as_deref(), Some("continue"));
        assert_eq!(run.forks, Some(8));

        f.max_fail = TextInput::with_text("lots");
        f.mode = Some(BatchMode::Confirm);
        let problems = f.validate(&catalog, now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::MaxFail], "{problems:?}");
        f.max_fail = TextInput::with_text("10%");
        let problems = f.validate(&catalog, now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::Yes], "confirm needs an approval");
        f.focus = Field::Mode;
        f.cycle(&catalog, true);
        assert_eq!(f.mode, None, "back to the flow's own");
    }
}
