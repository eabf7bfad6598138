//! The Schedules view: the schedules stored in the journal (the same rows
//! `jobdeck schedule list` shows and the scheduler fires), with each one's
//! next fire and last run; a form to add or edit one, previewing the next
//! five fire times as you type; pause, resume and delete.
//!
//! Every journal read and write runs through `Background` (a blocking
//! thread) and comes back as a `SchedulesMessage`. Listing never creates a
//! journal that is not there; adding does, as `jobdeck schedule add` does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::background::Background;
use super::history::instance_style;
use super::param_fields::{self, ParamField};
use super::planner::FlowChoice;
use super::{Hint, View};
use crate::cli::RunPlanArgs;
use crate::engine::events::{InstanceId, InstanceStatus};
use crate::flow::params::ParamSpec;
use crate::flow::{Flow, StepKind, load_flow};
use crate::inventory::Inventory;
use crate::inventory::select::Selection;
use crate::rollout::BatchMode;
use crate::schedule::store::{
    CatchUp, NewSchedule, Overlap, RunOptions, Schedule, ScheduleStore, StoreError, When, next_fire,
};
use crate::schedule::{CronExpr, local_zone, parse_local_time, parse_zone};
use crate::tui::action::Action;
use crate::tui::app::{AppMessage, StatusLevel};
use crate::tui::dialog::Dialog;
use crate::tui::input::TextInput;
use crate::tui::keymap::KeyContext;
use crate::tui::layout;
use crate::tui::theme::Theme;

/// Fire times shown under the expression.
pub const PREVIEW: usize = 5;

/// Wall-clock times in the list and the form, in the schedule's zone.
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M";

// ------------------------------------------------------------ the preview

/// The preview's outcome for the current text.
#[derive(Debug, Clone, PartialEq)]
pub enum Preview {
    Times(Vec<DateTime<Tz>>),
    Error(String),
}

/// The next `PREVIEW` fire times of `expr` in `zone` (empty: local) after `now`.
pub fn compute_preview(expr: &str, zone: &str, now: DateTime<Utc>) -> Preview {
    let zone = match zone_of(zone) {
        Ok(z) => z,
        Err(e) => return Preview::Error(e),
    };
    match CronExpr::parse(expr) {
        Ok(cron) => {
            let times: Vec<_> = cron
                .upcoming(now.with_timezone(&zone))
                .take(PREVIEW)
                .collect();
            if times.is_empty() {
                Preview::Error(format!(
                    "'{expr}' never fires in the next years: check the day and month fields"
                ))
            } else {
                Preview::Times(times)
            }
        }
        Err(e) => Preview::Error(e.to_string()),
    }
}

/// An empty zone is the local one, as `schedule add` without `--tz`.
fn zone_of(text: &str) -> Result<Tz, String> {
    if text.trim().is_empty() {
        Ok(local_zone())
    } else {
        parse_zone(text.trim()).map_err(|e| e.to_string())
    }
}

// ------------------------------------------------------------ the list model

/// One stored schedule as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRow {
    pub id: i64,
    pub name: String,
    /// `30 2 * * * (Europe/Berlin)` or `at 2026-12-01 02:00:00 CET`.
    pub when: String,
    pub flow: String,
    /// The host pattern (`--limit`), or the flow's own targets.
    pub target: String,
    /// `None`: nothing left to fire. In the schedule's zone.
    pub next: Option<DateTime<Tz>>,
    pub paused: bool,
    /// When the last fire was, the instance it started and how that went.
    pub last_fire: Option<DateTime<Tz>>,
    pub last_instance: Option<(InstanceId, InstanceStatus)>,
    pub last_error: Option<String>,
    pub running: usize,
    pub overlap: Overlap,
    /// The stored schedule, for the edit form; `None` when unreadable.
    pub schedule: Option<Schedule>,
    /// Why the row could not be read (the rest of the list still shows).
    pub problem: Option<String>,
    /// The next `PREVIEW` fire times (none while paused).
    pub upcoming: Vec<DateTime<Tz>>,
    /// The latest fires, newest first.
    pub fires: Vec<FireRow>,
}

/// How many recent fires the detail pane can show.
pub const RECENT_FIRES: usize = 10;

/// One fire of a schedule as the detail pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FireRow {
    /// The fire time it stood for, in the schedule's zone.
    pub due: DateTime<Tz>,
    /// `started`, `skipped`, `queued`, `failed`...
    pub outcome: String,
    /// Why it was skipped or failed to launch.
    pub detail: Option<String>,
    /// The instance it started, when one was recorded.
    pub instance: Option<(InstanceId, InstanceStatus)>,
}

impl FireRow {
    /// `#7 ok`, `failed: cannot start jobdeck: …`, `skipped: …`.
    pub fn result(&self) -> String {
        match (&self.instance, &self.detail) {
            (Some((id, status)), _) => format!("#{id} {status}"),
            (None, Some(detail)) => format!("{}: {detail}", self.outcome),
            (None, None) => self.outcome.clone(),
        }
    }
}

impl ScheduleRow {
    pub fn from_listing(listing: &crate::schedule::store::ScheduleListing) -> ScheduleRow {
        let s = &listing.schedule;
        let in_zone = |t: DateTime<Utc>| t.with_timezone(&s.zone);
        ScheduleRow {
            id: s.id,
            name: s.name.clone(),
            when: s.describe_when(),
            flow: s.flow_name.clone(),
            target: s
                .run
                .limit
                .clone()
                .unwrap_or_else(|| "(flow targets)".into()),
            next: s.next_fire_at.map(in_zone),
            paused: s.paused,
            last_fire: s.last_fire_at.map(in_zone),
            last_instance: listing.last_instance,
            last_error: s.last_error.clone(),
            running: listing.running,
            overlap: s.overlap,
            schedule: Some(s.clone()),
            problem: None,
            upcoming: if s.paused {
                Vec::new()
            } else {
                upcoming(s.next_fire_at, |t| s.next_fire_after(t))
                    .into_iter()
                    .map(in_zone)
                    .collect()
            },
            fires: Vec::new(),
        }
    }

    fn unreadable(error: &StoreError) -> ScheduleRow {
        let id = match error {
            StoreError::Corrupt { id, .. } => *id,
            _ => 0,
        };
        ScheduleRow {
            id,
            name: format!("#{id}"),
            when: String::new(),
            flow: String::new(),
            target: String::new(),
            next: None,
            paused: false,
            last_fire: None,
            last_instance: None,
            last_error: None,
            running: 0,
            overlap: Overlap::Skip,
            schedule: None,
            problem: Some(error.to_string()),
            upcoming: Vec::new(),
            fires: Vec::new(),
        }
    }

    /// `paused`, `running`, `active`, or `done` when nothing is left to fire.
    pub fn state(&self) -> &'static str {
        if self.problem.is_some() {
            "unreadable"
        } else if self.paused {
            "paused"
        } else if self.running > 0 {
            "running"
        } else if self.next.is_none() {
            "done"
        } else {
            "active"
        }
    }

    /// `2026-03-02 02:00 UTC #7 ok` (times in `format`), the launch
    /// error, or `never`.
    pub fn last_run(&self, format: &str) -> String {
        let mut parts = Vec::new();
        if let Some(at) = &self.last_fire {
            parts.push(at.format(format).to_string());
        }
        if let Some((id, status)) = self.last_instance {
            parts.push(format!("#{id} {status}"));
        }
        if let Some(e) = &self.last_error {
            parts.push(format!("error: {e}"));
        }
        if parts.is_empty() {
            "never".into()
        } else {
            parts.join(" ")
        }
    }
}

/// Up to `PREVIEW` fire times: `first`, then each `next` after the last.
fn upcoming(
    first: Option<DateTime<Utc>>,
    next: impl Fn(DateTime<Utc>) -> Option<DateTime<Utc>>,
) -> Vec<DateTime<Utc>> {
    let mut times = Vec::new();
    let mut cursor = first;
    while let Some(t) = cursor.filter(|_| times.len() < PREVIEW) {
        times.push(t);
        cursor = next(t);
    }
    times
}

/// Reads every schedule with its recent fires; `Ok(None)` when there is
/// no journal yet.
pub fn list(journal: &Path) -> Result<Option<Vec<ScheduleRow>>, String> {
    if !journal.exists() {
        return Ok(None);
    }
    let store = ScheduleStore::open(journal).map_err(|e| e.to_string())?;
    let listing = store.listing().map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for entry in &listing {
        rows.push(match entry {
            Ok(l) => {
                let mut row = ScheduleRow::from_listing(l);
                row.fires = recent_fires(&store, &l.schedule).map_err(|e| e.to_string())?;
                row
            }
            Err(e) => ScheduleRow::unreadable(e),
        });
    }
    Ok(Some(rows))
}

/// The latest fires of a schedule, newest first, each `started` one with
/// the instance it started. The fire log does not name the instance: an
/// instance of this schedule created after a start (and before the next
/// start) is taken to be its run, in order.
fn recent_fires(store: &ScheduleStore, schedule: &Schedule) -> Result<Vec<FireRow>, StoreError> {
    let mut fires = store.fires(schedule.id, RECENT_FIRES)?;
    fires.reverse(); // oldest first, to pair with instances in order
    let mut instances: Vec<(InstanceId, InstanceStatus, i64)> = Vec::new();
    if let Some(oldest) = fires.iter().map(|f| f.at).min() {
        let mut stmt = store.connection().prepare_cached(
            "SELECT id, status, created_at FROM instances
             WHERE trigger = ?1 AND created_at >= ?2 ORDER BY id",
        )?;
        let found = stmt.query_map(
            rusqlite::params![crate::schedule::store::trigger_of(schedule.id), oldest],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )?;
        for row in found {
            let (id, status, created) = row?;
            let status = InstanceStatus::parse(&status).unwrap_or(InstanceStatus::Interrupted);
            instances.push((id, status, created));
        }
    }
    let starts: Vec<i64> = fires
        .iter()
        .filter(|f| f.outcome == "started")
        .map(|f| f.at)
        .collect();
    let mut next_instance = 0;
    let mut out = Vec::new();
    for fire in &fires {
        let mut instance = None;
        if fire.outcome == "started" {
            // Instances before this start belong to nothing shown here.
            while instances
                .get(next_instance)
                .is_some_and(|(_, _, created)| *created < fire.at)
            {
                next_instance += 1;
            }
            let window_end = starts.iter().copied().find(|at| *at > fire.at);
            if let Some((id, status, created)) = instances.get(next_instance)
                && window_end.is_none_or(|end| *created < end)
            {
                instance = Some((*id, *status));
                next_instance += 1;
            }
        }
        out.push(FireRow {
            due: crate::schedule::store::from_millis(fire.due_at).with_timezone(&schedule.zone),
            outcome: fire.outcome.clone(),
            detail: fire.detail.clone().filter(|d| !d.is_empty()),
            instance,
        });
    }
    out.reverse();
    Ok(out)
}

// ------------------------------------------------------------ the form

/// The form's fields, top to bottom (the chosen flow's params follow
/// the flow).
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
}

/// What a secret param field says: a schedule never stores a secret.
pub const SECRET_NOTE: &str = "secret: cannot be stored; the flow must not require it";

/// `--mode` choices; `None` keeps the flow's own.
const MODES: [Option<BatchMode>; 4] = [
    None,
    Some(BatchMode::PauseOnFailure),
    Some(BatchMode::Continue),
    Some(BatchMode::Confirm),
];

impl Field {
    fn label(self, kind: Kind) -> &'static str {
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
        }
    }

    /// Chosen with ←/→ instead of typed (params: see `ScheduleForm::is_choice`).
    fn is_choice(self) -> bool {
        matches!(
            self,
            Field::Kind | Field::Flow | Field::Mode | Field::Overlap | Field::CatchUp | Field::Yes
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Cron,
    /// One-shot: once, at a time.
    At,
}

/// Which flow the form runs: one the console found, or (when editing) the
/// stored one if it is not among them.
#[derive(Debug, Clone, PartialEq)]
enum FlowPick {
    None,
    Found(usize),
    Stored { path: PathBuf, name: String },
}

/// The add/edit form. Text fields are kept as typed; `validate` turns
/// them into a schedule or a list of problems per field.
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
    /// Options the form does not show (forks, inventory...): kept
    /// from the edited schedule, else the console's inventory and directory.
    base_run: RunOptions,
    pub focus: Field,
    /// Fields typed in; their problems show. All show after a save attempt.
    touched: Vec<Field>,
    show_all: bool,
    /// Problems the save found (name taken, pattern matches nothing).
    save_errors: Vec<(Field, String)>,
    saving: bool,
}

fn input(text: &str) -> TextInput {
    let mut input = TextInput::default();
    for c in text.chars() {
        input.push(c);
    }
    input
}

/// A form's checked content, ready for the store.
#[derive(Debug, Clone)]
pub struct ValidForm {
    pub editing: Option<i64>,
    pub schedule: NewSchedule,
}

impl ScheduleForm {
    pub fn new(flows: &[FlowChoice], base_run: RunOptions) -> ScheduleForm {
        ScheduleForm {
            editing: None,
            name: TextInput::default(),
            kind: Kind::Cron,
            when: input("0 3 * * *"),
            zone: TextInput::default(),
            flow: if flows.is_empty() {
                FlowPick::None
            } else {
                FlowPick::Found(0)
            },
            params: match flows.first().map(|f| &f.flow) {
                Some(Ok(flow)) => param_fields::fields_for(&flow.params, &[]),
                _ => Vec::new(),
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
            base_run,
            focus: Field::Name,
            touched: Vec::new(),
            show_all: false,
            save_errors: Vec::new(),
            saving: false,
        }
    }

    /// A form holding a stored schedule, to edit it.
    pub fn edit(schedule: &Schedule, flows: &[FlowChoice]) -> ScheduleForm {
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
        let flow = flows
            .iter()
            .position(|f| same_file(&f.path, &schedule.flow_path))
            .map(FlowPick::Found)
            .unwrap_or_else(|| FlowPick::Stored {
                path: schedule.flow_path.clone(),
                name: schedule.flow_name.clone(),
            });
        let run = &schedule.run;
        // The stored values go back into the flow's fields; values of
        // params the flow no longer declares are dropped on save.
        let params = match &flow {
            FlowPick::Found(i) => match &flows[*i].flow {
                Ok(f) => param_fields::fields_for(&f.params, &run.params),
                Err(_) => Vec::new(),
            },
            _ => Vec::new(),
        };
        ScheduleForm {
            editing: Some(schedule.id),
            name: input(&schedule.name),
            kind,
            when: input(&when),
            zone: input(zone.name()),
            flow,
            params,
            limit: input(run.limit.as_deref().unwrap_or_default()),
            batches: input(run.batches.as_deref().unwrap_or_default()),
            interval: input(run.interval.as_deref().unwrap_or_default()),
            mode: run.mode.as_deref().and_then(|m| m.parse().ok()),
            max_fail: input(run.max_fail.as_deref().unwrap_or_default()),
            overlap: schedule.overlap,
            catch_up: schedule.catch_up,
            until: input(&schedule.until.map(local).unwrap_or_default()),
            yes: run.yes,
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
            Field::MaxFail => Some(&mut self.max_fail),
            Field::Name => Some(&mut self.name),
            Field::When => Some(&mut self.when),
            Field::Zone => Some(&mut self.zone),
            Field::Limit => Some(&mut self.limit),
            Field::Batches => Some(&mut self.batches),
            Field::Interval => Some(&mut self.interval),
            Field::Until => Some(&mut self.until),
            _ => None,
        }
    }

    fn text(&self, field: Field) -> Option<&TextInput> {
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
    pub fn cycle(&mut self, flows: &[FlowChoice], forward: bool) {
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
            Field::Flow if !flows.is_empty() => {
                let i = match self.flow {
                    FlowPick::Found(i) => step(i, flows.len()),
                    _ => 0,
                };
                self.flow = FlowPick::Found(i);
                // The new flow's params; values typed for a param of the
                // same name stay.
                let typed = param_fields::given(&self.params);
                self.params = match &flows[i].flow {
                    Ok(flow) => param_fields::fields_for(&flow.params, &typed),
                    Err(_) => Vec::new(),
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

    fn flow_label(&self, flows: &[FlowChoice]) -> String {
        match &self.flow {
            FlowPick::None => "(no flows found)".into(),
            FlowPick::Found(i) => flows.get(*i).map(|f| f.label()).unwrap_or_default(),
            FlowPick::Stored { name, .. } => format!("{name} (as stored)"),
        }
    }

    /// The chosen flow's path and, when the console has it, the flow.
    fn chosen_flow<'a>(
        &self,
        flows: &'a [FlowChoice],
    ) -> Result<(PathBuf, Option<&'a Flow>), String> {
        match &self.flow {
            FlowPick::None => {
                Err("no flow to run: put flow files in <inventory>/flows/ or ./flows/".into())
            }
            FlowPick::Found(i) => match flows.get(*i) {
                Some(choice) => match &choice.flow {
                    Ok(flow) => Ok((choice.path.clone(), Some(flow))),
                    Err(e) => Err(format!("{} does not load: {e}", choice.path.display())),
                },
                None => Err("choose a flow".into()),
            },
            FlowPick::Stored { path, .. } => Ok((path.clone(), None)),
        }
    }

    /// The run options the form stands for.
    fn run_options(&self) -> RunOptions {
        let optional = |t: &TextInput| {
            let text = t.text().trim();
            (!text.is_empty()).then(|| text.to_owned())
        };
        let params = match &self.flow {
            // The flow is not at hand: its stored values stay as they are.
            FlowPick::Stored { .. } => self.base_run.params.clone(),
            _ => stored_params(&self.params),
        };
        RunOptions {
            params,
            limit: optional(&self.limit),
            batches: optional(&self.batches),
            interval: optional(&self.interval),
            mode: self.mode.map(|m| m.to_string()),
            max_fail: optional(&self.max_fail),
            yes: self.yes,
            ..self.base_run.clone()
        }
    }

    /// The fire times the form's timing gives (the live preview).
    pub fn preview(&self, now: DateTime<Utc>) -> Preview {
        let zone = match zone_of(self.zone.text()) {
            Ok(z) => z,
            Err(e) => return Preview::Error(e),
        };
        let when = match self.parse_when(zone, now) {
            Ok(w) => w,
            Err(e) => return Preview::Error(e),
        };
        let until = match self.parse_until(zone, now) {
            Ok(u) => u,
            Err(e) => return Preview::Error(e),
        };
        let next = |after| next_fire(&when, zone, until, after);
        let times: Vec<_> = upcoming(next(now), next)
            .into_iter()
            .map(|t| t.with_timezone(&zone))
            .collect();
        if times.is_empty() {
            Preview::Error(never_fires(&when, until, zone))
        } else {
            Preview::Times(times)
        }
    }

    fn parse_when(&self, zone: Tz, now: DateTime<Utc>) -> Result<When, String> {
        let text = self.when.text().trim();
        match self.kind {
            Kind::Cron => CronExpr::parse(text)
                .map(When::Cron)
                .map_err(|e| e.to_string()),
            Kind::At => {
                if text.is_empty() {
                    return Err("a time is required: YYYY-MM-DD HH:MM".into());
                }
                let at = parse_local_time(text, zone)
                    .map_err(|e| e.to_string())?
                    .with_timezone(&Utc);
                if at <= now && self.editing.is_none() {
                    return Err(format!(
                        "'{text}' is in the past (now is {}): expected a future time",
                        now.with_timezone(&zone).format(TIME_FORMAT)
                    ));
                }
                Ok(When::At(at))
            }
        }
    }

    fn parse_until(&self, zone: Tz, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
        let text = self.until.text().trim();
        if text.is_empty() {
            return Ok(None);
        }
        let end = parse_local_time(text, zone)
            .map_err(|e| e.to_string())?
            .with_timezone(&Utc);
        if end <= now {
            return Err(format!(
                "'{text}' is in the past: expected a future end date"
            ));
        }
        Ok(Some(end))
    }

    /// Checks every field, as `jobdeck schedule add` checks its options.
    /// Nothing is saved unless this answers `Ok`.
    pub fn validate(
        &self,
        flows: &[FlowChoice],
        now: DateTime<Utc>,
    ) -> Result<ValidForm, Vec<(Field, String)>> {
        let mut problems: Vec<(Field, String)> = self.save_errors.clone();
        let name = self.name.text().trim().to_owned();
        if name.is_empty() {
            problems.push((Field::Name, "a name is required".into()));
        } else if name.parse::<i64>().is_ok() {
            problems.push((
                Field::Name,
                "a name that is not a number (numbers are ids)".into(),
            ));
        }
        let zone = zone_of(self.zone.text())
            .map_err(|e| problems.push((Field::Zone, e)))
            .ok();
        let when = zone.and_then(|zone| {
            self.parse_when(zone, now)
                .map_err(|e| problems.push((Field::When, e)))
                .ok()
        });
        let until = zone.and_then(|zone| {
            self.parse_until(zone, now)
                .map_err(|e| problems.push((Field::Until, e)))
                .ok()
        });
        if let (Some(when), Some(zone), Some(until)) = (&when, zone, until)
            && next_fire(when, zone, until, now).is_none()
        {
            let field = if until.is_some() {
                Field::Until
            } else {
                Field::When
            };
            problems.push((field, never_fires(when, until, zone)));
        }
        let run = self.run_options();
        let flow = match self.chosen_flow(flows) {
            Ok(found) => Some(found),
            Err(e) => {
                problems.push((Field::Flow, e));
                None
            }
        };
        let flow_name = match &flow {
            Some((_, Some(f))) => {
                problems.extend(check_flow(f, &run));
                f.name.clone()
            }
            Some((_, None)) => match &self.flow {
                FlowPick::Stored { name, .. } => name.clone(),
                _ => String::new(),
            },
            None => String::new(),
        };
        match (problems.is_empty(), flow, when, zone, until) {
            (true, Some((flow_path, _)), Some(when), Some(zone), Some(until)) => Ok(ValidForm {
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
            }),
            _ => Err(problems),
        }
    }

    /// The problems to show now: those of touched fields, or all of them
    /// after a save attempt.
    pub fn shown_problems(&self, flows: &[FlowChoice], now: DateTime<Utc>) -> Vec<(Field, String)> {
        match self.validate(flows, now) {
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

impl ScheduleForm {
    fn is_secret(&self, field: Field) -> bool {
        matches!(field, Field::Param(i) if self.params.get(i).is_some_and(|p| p.spec.secret))
    }
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

fn never_fires(when: &When, until: Option<DateTime<Utc>>, zone: Tz) -> String {
    match (when, until) {
        (_, Some(end)) => format!(
            "never fires before the end date {}",
            end.with_timezone(&zone).format(TIME_FORMAT)
        ),
        (When::Cron(expr), None) => format!(
            "'{}' has no fire time in the next years: check the day and month fields",
            expr.as_str()
        ),
        (When::At(_), None) => "the time has passed".into(),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// What a scheduled run of `flow` needs that a run by hand does not (no
/// operator, no secrets stored), and whether its rollout options parse.
pub fn check_flow(flow: &Flow, run: &RunOptions) -> Vec<(Field, String)> {
    let mut problems = Vec::new();
    let args = RunPlanArgs {
        batches: run.batches.clone(),
        interval: run.interval.clone(),
        mode: run.mode.clone(),
        max_fail: run.max_fail.clone(),
        forks: run.forks,
        order: run.order.clone(),
        timeout: run.timeout.clone(),
        ..RunPlanArgs::default()
    };
    match crate::commands::run::rollout_from(&args, flow) {
        Ok(rollout) => {
            if rollout.mode == BatchMode::Confirm && !run.yes {
                problems.push((
                    Field::Yes,
                    "the rollout confirms each batch and a scheduled run has no operator: approve them".into(),
                ));
            }
        }
        Err(e) => {
            let text = e.to_string();
            let (field, text) = [
                ("--interval: ", Field::Interval),
                ("--mode: ", Field::Mode),
                ("--max-fail: ", Field::MaxFail),
                ("--batches: ", Field::Batches),
            ]
            .into_iter()
            .find_map(|(flag, field)| text.strip_prefix(flag).map(|t| (field, t.to_owned())))
            .unwrap_or((Field::Batches, text.clone()));
            problems.push((field, text));
        }
    }
    if !run.yes
        && flow
            .steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Approval { .. }))
    {
        problems.push((
            Field::Yes,
            format!(
                "flow '{}' has approval steps and a scheduled run has no operator: approve them",
                flow.name
            ),
        ));
    }
    problems.extend(param_problems(&flow.params, &run.params));
    problems
}

/// The stored param values checked against the flow's params, each
/// problem at its param's field: as `schedule add` checks `-p`, a secret
/// is never stored and a required secret cannot be scheduled.
pub fn param_problems(specs: &[ParamSpec], given: &[(String, String)]) -> Vec<(Field, String)> {
    let mut problems = Vec::new();
    for (name, _) in given {
        if !specs.iter().any(|s| &s.name == name) {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            problems.push((
                Field::Flow,
                format!(
                    "stored param '{name}' is not a param of this flow (it takes: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    for (i, spec) in specs.iter().enumerate() {
        let value = given
            .iter()
            .rev()
            .find(|(n, _)| *n == spec.name)
            .map(|(_, v)| v.as_str());
        let problem = if spec.secret {
            let required = spec.required && spec.default.is_none();
            (value.is_some() || required).then(|| SECRET_NOTE.to_string())
        } else {
            param_fields::value_problem(spec, value.or(spec.default.as_deref()).unwrap_or(""))
        };
        if let Some(problem) = problem {
            problems.push((Field::Param(i), problem));
        }
    }
    problems
}

/// Stores a checked form: reloads the flow from disk (as `schedule add`
/// does), checks the host pattern against the inventory, then adds or
/// updates. Runs on a blocking thread.
pub fn save(
    journal: &Path,
    form: ValidForm,
    inventory: Option<(Arc<Inventory>, PathBuf)>,
    now: DateTime<Utc>,
) -> Result<Schedule, Vec<(Field, String)>> {
    let one = |field: Field, text: String| vec![(field, text)];
    let mut new = form.schedule;
    let flow = load_flow(&new.flow_path).map_err(|e| one(Field::Flow, e.to_string()))?;
    let problems = check_flow(&flow, &new.run);
    if !problems.is_empty() {
        return Err(problems);
    }
    new.flow_name = flow.name.clone();
    if let Some((inv, base)) = inventory {
        let workdir = new.run.workdir.as_ref().map(PathBuf::from).unwrap_or(base);
        let selection = Selection {
            pattern: new.run.limit.clone().or_else(|| flow.targets.clone()),
            project: new.run.project.clone(),
            cluster: new.run.cluster.clone(),
            app: new.run.app.clone(),
            hosts: new.run.hosts.clone(),
        };
        selection
            .resolve(&inv, &workdir)
            .map_err(|e| one(Field::Limit, e.to_string()))?;
    }
    let mut store = ScheduleStore::open(journal).map_err(|e| one(Field::Name, e.to_string()))?;
    let saved = match form.editing {
        Some(id) => store.update(id, &new, now),
        None => store.add(&new, now),
    };
    saved.map_err(|e| match e {
        StoreError::NameTaken { .. } => one(Field::Name, e.to_string()),
        other => one(Field::Name, format!("not saved: {other}")),
    })
}

// ------------------------------------------------------------ messages

/// What the view's background work reports.
#[derive(Debug)]
pub enum SchedulesMessage {
    Listed {
        generation: u64,
        result: Result<Option<Vec<ScheduleRow>>, String>,
    },
    Saved(Result<Box<Schedule>, Vec<(Field, String)>>),
    /// A pause, resume or delete: what to say, or what went wrong.
    Changed(Result<String, String>),
}

// ------------------------------------------------------------ the view

pub struct SchedulesView {
    background: Background,
    journal: Option<PathBuf>,
    /// `None` until the first read, `Some(None)` when there is no journal.
    rows: Option<Option<Vec<ScheduleRow>>>,
    error: Option<String>,
    generation: u64,
    cursor: usize,
    form: Option<ScheduleForm>,
    flows: Vec<FlowChoice>,
    inventory: Option<(Arc<Inventory>, PathBuf)>,
    /// Fixed "now" for tests; the wall clock otherwise.
    now: Option<DateTime<Utc>>,
    status: Option<(StatusLevel, String)>,
    dialog: Option<Dialog>,
    /// The schedule the cursor goes to once the list reloads (just saved).
    select_after_load: Option<i64>,
    area: Rect,
}

impl Default for SchedulesView {
    fn default() -> Self {
        SchedulesView::new()
    }
}

impl SchedulesView {
    pub fn new() -> SchedulesView {
        SchedulesView {
            background: Background::default(),
            journal: None,
            rows: None,
            error: None,
            generation: 0,
            cursor: 0,
            form: None,
            flows: Vec::new(),
            inventory: None,
            now: None,
            status: None,
            dialog: None,
            select_after_load: None,
            area: Rect::default(),
        }
    }

    pub fn set_background(&mut self, background: Background) {
        self.background = background;
    }

    pub fn set_journal_path(&mut self, path: PathBuf) {
        self.journal = Some(path);
        self.rows = None;
    }

    /// The flows the form offers (the planner's list).
    pub fn set_flows(&mut self, flows: Vec<FlowChoice>) {
        self.flows = flows;
    }

    /// The inventory new schedules run on, and the directory relative
    /// patterns resolve in.
    pub fn set_inventory(&mut self, inv: Arc<Inventory>, base: PathBuf) {
        self.inventory = Some((inv, base));
    }

    /// Times from this instant instead of the wall clock (tests).
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now = Some(now);
    }

    fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }

    pub fn take_status(&mut self) -> Option<(StatusLevel, String)> {
        self.status.take()
    }

    /// A question for the app to ask (delete?).
    pub fn take_dialog(&mut self) -> Option<Dialog> {
        self.dialog.take()
    }

    /// The stored schedules as last read (`None`: not read, or no journal).
    pub fn rows(&self) -> &[ScheduleRow] {
        match &self.rows {
            Some(Some(rows)) => rows,
            _ => &[],
        }
    }

    pub fn form(&self) -> Option<&ScheduleForm> {
        self.form.as_ref()
    }

    pub fn form_mut(&mut self) -> Option<&mut ScheduleForm> {
        self.form.as_mut()
    }

    /// The form's live preview, if the form is open.
    pub fn preview(&self) -> Option<Preview> {
        self.form.as_ref().map(|f| f.preview(self.now()))
    }

    fn selected(&self) -> Option<&ScheduleRow> {
        self.rows().get(self.cursor)
    }

    /// Re-reads the list (off the UI task when there is a runtime).
    pub fn refresh(&mut self) {
        let Some(path) = self.journal.clone() else {
            self.error = Some("no journal path: schedules cannot be read".into());
            return;
        };
        self.generation += 1;
        let generation = self.generation;
        let done = self.background.run(
            move || SchedulesMessage::Listed {
                generation,
                result: list(&path),
            },
            AppMessage::Schedules,
        );
        if let Some(message) = done {
            self.apply(message);
        }
    }

    /// A background result; may answer with a status line.
    pub fn on_message(&mut self, message: SchedulesMessage) -> Option<(StatusLevel, String)> {
        self.apply(message);
        self.status.take()
    }

    fn apply(&mut self, message: SchedulesMessage) {
        match message {
            SchedulesMessage::Listed { generation, result } => {
                if generation != self.generation {
                    return;
                }
                match result {
                    Ok(rows) => {
                        self.rows = Some(rows);
                        self.error = None;
                        if let Some(id) = self.select_after_load.take()
                            && let Some(i) = self.rows().iter().position(|r| r.id == id)
                        {
                            self.cursor = i;
                        }
                        self.cursor = self.cursor.min(self.rows().len().saturating_sub(1));
                    }
                    Err(e) => {
                        self.error = Some(e.clone());
                        self.status = Some((StatusLevel::Error, e));
                    }
                }
            }
            SchedulesMessage::Saved(Ok(schedule)) => {
                let verb = if self.form.as_ref().and_then(|f| f.editing).is_some() {
                    "saved"
                } else {
                    "added"
                };
                let next = schedule.next_fire_at.map_or("none".to_string(), |t| {
                    t.with_timezone(&schedule.zone)
                        .format(&format!("{TIME_FORMAT} %Z"))
                        .to_string()
                });
                self.status = Some((
                    StatusLevel::Info,
                    format!(
                        "schedule {} '{}' {verb}: {}; next fire {next}",
                        schedule.id,
                        schedule.name,
                        schedule.describe_when()
                    ),
                ));
                self.form = None;
                // The list reloads off the UI task: the cursor moves when it is back.
                self.select_after_load = Some(schedule.id);
                self.refresh();
            }
            SchedulesMessage::Saved(Err(problems)) => {
                let summary = problems
                    .iter()
                    .map(|(_, p)| p.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                if let Some(form) = &mut self.form {
                    form.saving = false;
                    form.show_all = true;
                    form.save_errors = problems;
                }
                self.status = Some((StatusLevel::Error, format!("not saved: {summary}")));
            }
            SchedulesMessage::Changed(result) => {
                self.status = Some(match result {
                    Ok(text) => (StatusLevel::Info, text),
                    Err(e) => (StatusLevel::Error, e),
                });
                self.refresh();
            }
        }
    }

    fn open_add(&mut self) {
        let base_run = match &self.inventory {
            Some((inv, base)) => RunOptions {
                inventory: inv
                    .sources
                    .iter()
                    .map(|s| {
                        std::path::absolute(s)
                            .unwrap_or_else(|_| s.clone())
                            .display()
                            .to_string()
                    })
                    .collect(),
                workdir: Some(base.display().to_string()),
                ..RunOptions::default()
            },
            None => RunOptions::default(),
        };
        self.form = Some(ScheduleForm::new(&self.flows, base_run));
    }

    fn open_edit(&mut self) {
        match self.selected() {
            Some(ScheduleRow {
                schedule: Some(s), ..
            }) => {
                let form = ScheduleForm::edit(s, &self.flows);
                self.form = Some(form);
            }
            Some(row) => {
                self.status = Some((StatusLevel::Error, row.problem.clone().unwrap_or_default()))
            }
            None => {
                self.status = Some((StatusLevel::Info, "no schedule to edit: a adds one".into()))
            }
        }
    }

    /// Checks the form and, when it is valid, stores it off the UI task.
    pub fn submit(&mut self) {
        let now = self.now();
        let Some(form) = self.form.as_mut() else {
            return;
        };
        if form.saving {
            return;
        }
        form.save_errors.clear();
        let valid = match form.validate(&self.flows, now) {
            Ok(valid) => valid,
            Err(problems) => {
                form.show_all = true;
                if let Some((field, _)) = problems.first() {
                    form.focus = *field;
                }
                self.status = Some((
                    StatusLevel::Error,
                    format!(
                        "not saved: {} problem(s), shown at the fields",
                        problems.len()
                    ),
                ));
                return;
            }
        };
        let Some(journal) = self.journal.clone() else {
            self.status = Some((StatusLevel::Error, "no journal path: cannot save".into()));
            return;
        };
        form.saving = true;
        let inventory = self.inventory.clone();
        let done = self.background.run(
            move || SchedulesMessage::Saved(save(&journal, valid, inventory, now).map(Box::new)),
            AppMessage::Schedules,
        );
        if let Some(message) = done {
            self.apply(message);
        }
    }

    fn toggle_pause(&mut self) {
        let Some((id, name, paused)) = self
            .selected()
            .filter(|r| r.schedule.is_some())
            .map(|r| (r.id, r.name.clone(), r.paused))
        else {
            return;
        };
        let Some(journal) = self.journal.clone() else {
            return;
        };
        let now = self.now();
        let done = self.background.run(
            move || {
                let result = ScheduleStore::open(&journal)
                    .and_then(|mut store| store.set_paused(id, !paused, now))
                    .map(|_| {
                        let word = if paused { "resumed" } else { "paused" };
                        format!("schedule {id} '{name}' {word}")
                    })
                    .map_err(|e| e.to_string());
                SchedulesMessage::Changed(result)
            },
            AppMessage::Schedules,
        );
        if let Some(message) = done {
            self.apply(message);
        }
    }

    fn ask_delete(&mut self) {
        if let Some(row) = self.selected() {
            self.dialog = Some(Dialog::delete_schedule(row.id, &row.name));
        }
    }

    /// Deletes a schedule (the dialog said yes). Its runs stay in history.
    pub fn delete(&mut self, id: i64) {
        let Some(journal) = self.journal.clone() else {
            return;
        };
        let done = self.background.run(
            move || {
                let result = ScheduleStore::open(&journal)
                    .and_then(|mut store| store.remove(id))
                    .map(|_| format!("schedule {id} removed; its past runs stay in history"))
                    .map_err(|e| e.to_string());
                SchedulesMessage::Changed(result)
            },
            AppMessage::Schedules,
        );
        if let Some(message) = done {
            self.apply(message);
        }
    }

    fn handle_form(&mut self, action: &Action) {
        let flows = self.flows.clone();
        let Some(form) = self.form.as_mut() else {
            return;
        };
        match action {
            Action::Cancel => {
                self.form = None;
                self.status = Some((StatusLevel::Info, "nothing saved".into()));
            }
            Action::Submit | Action::Save => self.submit(),
            Action::Down | Action::FocusNext => form.move_focus(true),
            Action::Up => form.move_focus(false),
            Action::NextChoice => form.cycle(&flows, true),
            Action::PrevChoice => form.cycle(&flows, false),
            Action::InsertChar(' ') if form.is_choice(form.focus) => form.cycle(&flows, true),
            Action::InsertChar(c) => form.edit_text(|t| t.push(*c)),
            Action::Backspace => form.edit_text(TextInput::backspace),
            Action::ClearInput => form.edit_text(TextInput::clear),
            _ => {}
        }
    }

    /// The list, and under it the selected schedule's detail when there
    /// is room (the list keeps at least a few rows).
    fn draw_list(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let wide = area.width >= 120 && area.height >= 30;
        let detail_height: u16 = if wide {
            2 + 2 + RECENT_FIRES.max(PREVIEW) as u16
        } else {
            2 + 1 + PREVIEW as u16
        };
        let selected = self.selected().filter(|r| r.schedule.is_some());
        match selected {
            Some(row) if area.height >= detail_height + 6 => {
                let list_height = area.height - detail_height;
                self.draw_table(
                    frame,
                    Rect::new(area.x, area.y, area.width, list_height),
                    theme,
                );
                let detail = Rect::new(area.x, area.y + list_height, area.width, detail_height);
                self.draw_detail(row, wide, frame, detail, theme);
            }
            _ => self.draw_table(frame, area, theme),
        }
    }

    /// The next fire times and the recent fires of the selected schedule.
    fn draw_detail(
        &self,
        row: &ScheduleRow,
        wide: bool,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
    ) {
        let title = format!(" {} · {} → {} ", row.name, row.flow, row.target);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(false))
            .title(Span::styled(title, theme.title()));
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        let width = inner.width as usize;
        let (time_format, next_width) = if wide {
            ("%Y-%m-%d %H:%M %Z (%a)", 34)
        } else {
            ("%m-%d %H:%M %Z", 24)
        };
        let next_width = next_width.min(width / 2);
        let heading = theme.muted().add_modifier(Modifier::BOLD);
        let mut lines = Vec::new();
        if wide {
            // What a fire runs: the stored options, without the inventory.
            let run = row
                .schedule
                .as_ref()
                .map(|s| {
                    let mut copy = s.run.clone();
                    copy.inventory.clear();
                    copy.to_args().join(" ")
                })
                .unwrap_or_default();
            let run = if run.is_empty() {
                "the flow's defaults".to_string()
            } else {
                run
            };
            lines.push(Line::from(vec![
                Span::styled(" runs with ", theme.muted()),
                Span::styled(clip(&run, width.saturating_sub(11)), theme.text()),
            ]));
        }
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<w$}", "NEXT FIRES", w = next_width), heading),
            Span::styled("RECENT FIRES (newest first)", heading),
        ]));
        let rows = if wide { RECENT_FIRES } else { PREVIEW };
        let fire_width = width.saturating_sub(next_width + 1);
        for i in 0..rows.max(1) {
            let next = match row.upcoming.get(i) {
                Some(t) => Span::styled(
                    format!(" {:<w$}", t.format(time_format).to_string(), w = next_width),
                    theme.text(),
                ),
                None if i == 0 => Span::styled(
                    format!(
                        " {:<w$}",
                        if row.paused {
                            "— (paused)"
                        } else {
                            "— (none left)"
                        },
                        w = next_width
                    ),
                    theme.muted(),
                ),
                None => Span::raw(" ".repeat(next_width + 1)),
            };
            let fire = match row.fires.get(i) {
                Some(f) => {
                    let style = match f.instance {
                        Some((_, status)) => theme.fg(instance_style(theme, status).1),
                        None if f.outcome == "failed" => theme.fg(theme.colors.error),
                        None => theme.muted(),
                    };
                    let when = if wide {
                        "%Y-%m-%d %H:%M %Z"
                    } else {
                        time_format
                    };
                    let text = format!("{}  {}", f.due.format(when), f.result());
                    Span::styled(clip(&text, fire_width), style)
                }
                None if i == 0 => Span::styled("none yet", theme.muted()),
                None => Span::raw(""),
            };
            lines.push(Line::from(vec![next, fire]));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn draw_table(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Span::styled(" Schedules ", theme.title()));
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        if inner.height < 2 || inner.width < 10 {
            return;
        }
        let note = match (&self.rows, &self.error) {
            (_, Some(e)) => Some((
                format!("The schedules could not be read: {e}"),
                theme.colors.error,
            )),
            (None, _) => Some(("Reading the schedules…".to_string(), theme.colors.muted)),
            (Some(None), _) => Some((
                format!(
                    "No journal at {} yet: no schedules. a adds one.",
                    self.journal.as_deref().unwrap_or(Path::new("?")).display()
                ),
                theme.colors.muted,
            )),
            (Some(Some(rows)), _) if rows.is_empty() => Some((
                "No schedules yet. a adds one; `jobdeck schedule add` does too.".to_string(),
                theme.colors.muted,
            )),
            _ => None,
        };
        if let Some((text, color)) = note {
            frame.render_widget(
                Paragraph::new(Span::styled(text, theme.fg(color))).wrap(Wrap { trim: true }),
                Rect::new(
                    inner.x + 1,
                    inner.y,
                    inner.width.saturating_sub(2),
                    inner.height,
                ),
            );
            return;
        }
        let wide = inner.width >= 120;
        // Narrow: month-day times without the zone (the WHEN column names it).
        let time_format = if wide {
            "%Y-%m-%d %H:%M %Z"
        } else {
            "%m-%d %H:%M"
        };
        // Column widths: name, when, flow+target, next, state, last, overlap.
        let cols: &[(&str, usize)] = if wide {
            &[
                ("NAME", 16),
                ("WHEN", 30),
                ("FLOW → TARGETS", 24),
                ("NEXT FIRE", 21),
                ("STATE", 8),
                ("LAST RUN", 0),
                ("OVERLAP", 8),
            ]
        } else {
            &[
                ("NAME", 12),
                ("WHEN", 20),
                ("NEXT FIRE", 11),
                ("STATE", 7),
                ("LAST RUN", 0),
            ]
        };
        let fixed: usize = cols.iter().map(|(_, w)| w + 1).sum::<usize>() + 1;
        let flexible = (inner.width as usize).saturating_sub(fixed).max(8);
        let fit = |text: &str, width: usize| -> String {
            let width = if width == 0 { flexible } else { width };
            let count = text.chars().count();
            if count > width {
                let cut: String = text.chars().take(width.saturating_sub(1)).collect();
                format!("{cut}… ")
            } else {
                format!("{text:<width$} ")
            }
        };
        let mut header = vec![Span::raw(" ")];
        for (title, width) in cols {
            header.push(Span::styled(
                fit(title, *width),
                theme.muted().add_modifier(Modifier::BOLD),
            ));
        }
        let mut lines = vec![Line::from(header)];
        let height = inner.height as usize - 1;
        let rows = self.rows();
        let scroll = self.cursor.saturating_sub(height.saturating_sub(1));
        for (i, row) in rows.iter().enumerate().skip(scroll).take(height) {
            let selected = i == self.cursor;
            let base = if selected {
                theme.selection()
            } else {
                Style::default()
            };
            let state_style = if row.problem.is_some() {
                theme.fg(theme.colors.error)
            } else if row.paused {
                theme.fg(theme.colors.warning)
            } else if row.next.is_none() {
                theme.muted()
            } else {
                theme.fg(theme.colors.ok)
            };
            let last_style = match row.last_instance {
                Some((_, status)) => theme.fg(instance_style(theme, status).1),
                None if row.last_error.is_some() => theme.fg(theme.colors.error),
                None => theme.muted(),
            };
            let mut spans = vec![Span::styled(if selected { "›" } else { " " }, base)];
            for (title, width) in cols {
                let (text, style) = match *title {
                    "NAME" => (row.name.clone(), theme.text()),
                    "WHEN" => (
                        row.problem.clone().unwrap_or_else(|| row.when.clone()),
                        if row.problem.is_some() {
                            theme.fg(theme.colors.error)
                        } else {
                            theme.accent()
                        },
                    ),
                    "FLOW → TARGETS" => (format!("{} → {}", row.flow, row.target), theme.text()),
                    "NEXT FIRE" => (
                        match (&row.next, row.paused) {
                            (_, true) => "—".to_string(),
                            (Some(t), false) => t.format(time_format).to_string(),
                            (None, false) => "none".into(),
                        },
                        theme.text(),
                    ),
                    "STATE" => (row.state().to_string(), state_style),
                    "LAST RUN" => (row.last_run(time_format), last_style),
                    _ => (row.overlap.to_string(), theme.muted()),
                };
                spans.push(Span::styled(fit(&text, *width), style.patch(base)));
            }
            lines.push(Line::from(spans));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn draw_form(&self, form: &ScheduleForm, frame: &mut Frame, area: Rect, theme: &Theme) {
        let title = match form.editing {
            Some(id) => format!(" Edit schedule {id} "),
            None => " New schedule ".to_string(),
        };
        let preview_width = 34.min(area.width / 2);
        let form_area = Rect::new(area.x, area.y, area.width - preview_width, area.height);
        let preview_area = Rect::new(area.x + form_area.width, area.y, preview_width, area.height);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Span::styled(title, theme.title()));
        let inner = layout::inner(form_area);
        frame.render_widget(block, form_area);
        let now = self.now();
        let problems = form.shown_problems(&self.flows, now);
        // Labels are as wide as the longest param name, within reason.
        let label_width = form
            .params
            .iter()
            .map(|p| p.spec.name.chars().count() + 1)
            .chain([10])
            .max()
            .unwrap_or(10)
            .min(18);
        let indent = label_width + 2;
        let value_width = (inner.width as usize).saturating_sub(indent).max(4);
        let mut lines = Vec::new();
        let mut focus_lines = 0..0;
        for field in form.fields() {
            let focused = form.focus == field;
            let problem = problems.iter().find(|(f, _)| *f == field);
            let param = match field {
                Field::Param(i) => form.params.get(i),
                _ => None,
            };
            let (text, empty) = match (form.text(field), param) {
                (Some(input), _) if focused => {
                    (format!("{}▏", input.visible_tail(value_width)), false)
                }
                (Some(input), Some(p)) if input.is_empty() => (param_placeholder(p), true),
                (Some(input), None) if input.is_empty() => {
                    (placeholder(field, form.kind).to_string(), true)
                }
                (Some(input), _) => (input.text().to_string(), false),
                (None, Some(p)) if p.spec.secret => (SECRET_NOTE.to_string(), true),
                (None, _) => {
                    let value = match (field, param) {
                        (Field::Kind, _) => match form.kind {
                            Kind::Cron => "cron (repeats)".to_string(),
                            Kind::At => "one-shot at a time".to_string(),
                        },
                        (Field::Flow, _) => form.flow_label(&self.flows),
                        (Field::Mode, _) => match form.mode {
                            Some(mode) => mode.to_string(),
                            None => match form.chosen_flow(&self.flows) {
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
                        (format!("‹ {value} ›"), false)
                    } else {
                        (value, false)
                    }
                }
            };
            let label_style = if problem.is_some() {
                theme.fg(theme.colors.error)
            } else if focused {
                theme.accent()
            } else {
                theme.muted()
            };
            let value_style = if focused {
                theme.accent().add_modifier(Modifier::BOLD)
            } else if empty {
                theme.muted()
            } else {
                theme.text()
            };
            let mark = if problem.is_some() {
                theme.glyphs.error.as_str()
            } else {
                " "
            };
            let label = match param {
                Some(p) => {
                    let required = if p.spec.required && p.spec.default.is_none() {
                        "*"
                    } else {
                        ""
                    };
                    clip(&format!("{}{required}", p.spec.name), label_width)
                }
                None => field.label(form.kind).to_string(),
            };
            let first = lines.len();
            // A long value goes on under itself rather than being cut.
            let mut parts = if text.chars().count() > value_width {
                wrap_words(&text, value_width)
            } else {
                vec![text]
            }
            .into_iter();
            lines.push(Line::from(vec![
                Span::styled(mark.to_string(), theme.fg(theme.colors.error)),
                Span::styled(format!("{label:<label_width$} "), label_style),
                Span::styled(parts.next().unwrap_or_default(), value_style),
            ]));
            for part in parts {
                lines.push(Line::from(Span::styled(
                    format!("{}{part}", " ".repeat(indent)),
                    value_style,
                )));
            }
            if let Some((_, message)) = problem
                && (focused || form.show_all)
            {
                // Wrapped by hand so every line stays under the field's value.
                for part in wrap_words(message, value_width) {
                    lines.push(Line::from(Span::styled(
                        format!("{}{part}", " ".repeat(indent)),
                        theme.fg(theme.colors.error),
                    )));
                }
            }
            if focused {
                focus_lines = first..lines.len();
            }
        }
        if form.saving {
            lines.push(Line::from(Span::styled(" saving…", theme.muted())));
        }
        // Scrolled so the focused field and its problem stay in view.
        let height = inner.height as usize;
        let scroll = focus_lines
            .end
            .saturating_sub(height)
            .min(focus_lines.start);
        frame.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), inner);

        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(false))
            .title(Span::styled(" Next fires ", theme.title()));
        let inner = layout::inner(preview_area);
        frame.render_widget(block, preview_area);
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
}

/// An empty param field: what the param is for, or its type.
fn param_placeholder(param: &ParamField) -> String {
    match (&param.spec.default, &param.spec.description) {
        (Some(default), _) => format!("(default: {default})"),
        (None, Some(description)) => format!("({description})"),
        (None, None) => format!("({})", param.spec.kind.name()),
    }
}

/// `text` cut to `width` characters, with an ellipsis when cut.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// `text` in lines of at most `width` characters, broken between words
/// (a word longer than a line is broken inside).
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let gap = usize::from(used > 0);
            if used + gap + word.len() <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than the whole line.
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
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
        _ => "",
    }
}

impl View for SchedulesView {
    fn handle(&mut self, action: &Action) -> Option<Action> {
        if self.form.is_some() {
            self.handle_form(action);
            return None;
        }
        let count = self.rows().len();
        match action {
            Action::Down => self.cursor = (self.cursor + 1).min(count.saturating_sub(1)),
            Action::Up => self.cursor = self.cursor.saturating_sub(1),
            Action::Top => self.cursor = 0,
            Action::Bottom => self.cursor = count.saturating_sub(1),
            Action::NewItem => self.open_add(),
            Action::Edit | Action::Submit => self.open_edit(),
            Action::TogglePause => self.toggle_pause(),
            Action::DeleteItem => self.ask_delete(),
            Action::Refresh => self.refresh(),
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        match &self.form {
            Some(form) => self.draw_form(form, frame, area, theme),
            None => self.draw_list(frame, area, theme),
        }
    }

    fn set_area(&mut self, area: Rect) {
        self.area = area;
    }

    fn key_contexts(&self) -> Vec<KeyContext> {
        match self.form {
            Some(_) => vec![KeyContext::ScheduleForm],
            None => vec![KeyContext::Schedules],
        }
    }

    fn captures_text(&self) -> bool {
        self.form.is_some()
    }

    fn hints(&self) -> Vec<Hint> {
        match self.form {
            Some(_) => vec![
                Hint::new(Action::Save, "save"),
                Hint::new(Action::Cancel, "cancel"),
                Hint::pair(Action::Down, Action::Up, "field"),
                Hint::pair(Action::PrevChoice, Action::NextChoice, "choose"),
            ],
            None => vec![
                Hint::new(Action::NewItem, "add"),
                Hint::new(Action::Edit, "edit"),
                Hint::new(Action::TogglePause, "pause/resume"),
                Hint::new(Action::DeleteItem, "delete"),
                Hint::new(Action::Refresh, "reload"),
            ],
        }
    }

    fn help_sections(&self) -> Vec<(&'static str, KeyContext)> {
        vec![
            ("Schedules", KeyContext::Schedules),
            ("Schedule form", KeyContext::ScheduleForm),
        ]
    }

    fn on_show(&mut self) {
        if self.form.is_none() {
            self.refresh();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap() // a Monday
    }

    #[test]
    fn preview_follows_the_text() {
        match compute_preview("30 9 * * mon", "Europe/Berlin", now()) {
            Preview::Times(times) => {
                assert_eq!(times.len(), PREVIEW);
                assert_eq!(
                    times[0].format("%Y-%m-%d %H:%M %Z").to_string(),
                    "2026-03-02 09:30 CET"
                );
                assert_eq!(times[1].format("%Y-%m-%d").to_string(), "2026-03-09");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(compute_preview("61 * * * *", "UTC", now()), Preview::Error(e) if e.contains("minute"))
        );
        assert!(matches!(
            compute_preview("* * * * *", "Mars/Olympus", now()),
            Preview::Error(_)
        ));
    }

    /// A form for a flow that is not among the found ones (no flow checks).
    fn form() -> ScheduleForm {
        let mut form = ScheduleForm::new(&[], RunOptions::default());
        form.flow = FlowPick::Stored {
            path: PathBuf::from("/srv/flows/health.yml"),
            name: "health".into(),
        };
        form.name = input("nightly");
        form.zone = input("UTC");
        form
    }

    fn fields(problems: &[(Field, String)]) -> Vec<Field> {
        problems.iter().map(|(f, _)| *f).collect()
    }

    #[test]
    fn a_valid_form_becomes_a_schedule() {
        let mut f = form();
        f.limit = input(" web ");
        f.overlap = Overlap::Queue;
        let valid = f.validate(&[], now()).unwrap();
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
        f.name = input("42");
        f.when = input("61 * * * *");
        f.until = input("yesterday");
        let problems = f.validate(&[], now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::Name, Field::When, Field::Until]);
        assert!(problems[1].1.contains("minute"), "{problems:?}");

        let mut f = form();
        f.zone = input("Mars/Olympus");
        assert_eq!(fields(&f.validate(&[], now()).unwrap_err()), [Field::Zone]);

        let mut f = form();
        f.kind = Kind::At;
        f.when = input("2026-03-01 10:00");
        let problems = f.validate(&[], now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::When]);
        assert!(problems[0].1.contains("in the past"));
        f.when = input("2026-03-05 10:00");
        assert!(matches!(
            f.validate(&[], now()).unwrap().schedule.when,
            When::At(_)
        ));

        // The end date comes before the first fire.
        let mut f = form();
        f.when = input("0 12 * * *");
        f.until = input("2026-03-02 11:00");
        let problems = f.validate(&[], now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::Until]);

        let mut f = ScheduleForm::new(&[], RunOptions::default());
        f.name = input("x");
        assert_eq!(fields(&f.validate(&[], now()).unwrap_err()), [Field::Flow]);
    }

    #[test]
    fn only_touched_fields_show_problems_until_a_save() {
        let mut f = form();
        f.name = TextInput::default();
        f.focus = Field::When;
        f.edit_text(|t| t.push('x'));
        let shown = fields(&f.shown_problems(&[], now()));
        assert_eq!(shown, [Field::When], "the empty name is not shown yet");
        f.show_all = true;
        assert_eq!(
            fields(&f.shown_problems(&[], now())),
            [Field::Name, Field::When]
        );
    }

    #[test]
    fn the_preview_follows_kind_zone_and_end_date() {
        let mut f = form();
        f.when = input("0 12 * * *");
        f.until = input("2026-03-04 12:00");
        match f.preview(now()) {
            Preview::Times(times) => assert_eq!(times.len(), 3, "{times:?}"),
            other => panic!("{other:?}"),
        }
        f.kind = Kind::At;
        f.when = input("2026-03-03 09:15");
        f.until = TextInput::default();
        match f.preview(now()) {
            Preview::Times(times) => {
                assert_eq!(times.len(), 1);
                assert_eq!(times[0].format("%H:%M").to_string(), "09:15");
            }
            other => panic!("{other:?}"),
        }
        f.when = input("soon");
        assert!(matches!(f.preview(now()), Preview::Error(_)));
    }

    #[test]
    fn choices_cycle() {
        let mut f = form();
        f.focus = Field::Overlap;
        f.cycle(&[], true);
        assert_eq!(f.overlap, Overlap::Queue);
        f.cycle(&[], false);
        f.cycle(&[], false);
        assert_eq!(f.overlap, Overlap::Allow);
        f.focus = Field::Kind;
        f.cycle(&[], true);
        assert_eq!(f.kind, Kind::At);
        f.focus = Field::Yes;
        f.cycle(&[], true);
        assert!(f.yes);
        f.move_focus(true);
        assert_eq!(f.focus, Field::Name, "focus wraps around");
    }

    fn row(paused: bool, next: Option<&str>) -> ScheduleRow {
        let next = next.map(|_| now().with_timezone(&Tz::UTC));
        ScheduleRow {
            id: 1,
            name: "n".into(),
            when: "0 2 * * * (UTC)".into(),
            flow: "health".into(),
            target: "web".into(),
            next,
            paused,
            last_fire: None,
            last_instance: None,
            last_error: None,
            running: 0,
            overlap: Overlap::Skip,
            schedule: None,
            problem: None,
            upcoming: Vec::new(),
            fires: Vec::new(),
        }
    }

    fn sample_flows() -> Vec<FlowChoice> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
        super::super::planner::discover_flows(&[dir], Path::new("/nonexistent"))
    }

    /// A form for the sample flow `name`, valid apart from its params.
    fn form_for(flows: &[FlowChoice], name: &str) -> ScheduleForm {
        let mut f = ScheduleForm::new(flows, RunOptions::default());
        f.focus = Field::Flow;
        while f.flow_label(flows) != name {
            f.cycle(flows, true);
        }
        f.name = input("nightly");
        f.zone = input("UTC");
        f
    }

    #[test]
    fn the_flows_params_are_typed_fields() {
        let flows = sample_flows();
        let mut f = form_for(&flows, "deploy");
        let names: Vec<&str> = f.params.iter().map(|p| p.spec.name.as_str()).collect();
        assert_eq!(names, ["version", "service", "registry_token"]);
        assert_eq!(f.param_value("service"), Some("lab-app"), "defaults shown");
        let problems = f.validate(&flows, now()).unwrap_err();
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
        let valid = f.validate(&flows, now()).unwrap();
        assert_eq!(
            valid.schedule.run.params,
            [("version".to_string(), "1".to_string())],
            "only given values are stored, as `schedule add -p` does"
        );

        // An int param takes integers only; switching flows keeps nothing
        // that does not belong.
        let mut f = form_for(&flows, "health-check");
        f.focus_param("max_used_percent");
        f.edit_text(TextInput::clear);
        f.edit_text(|t| "lots".chars().for_each(|c| t.push(c)));
        let problems = f.validate(&flows, now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::Param(0)]);
        assert!(problems[0].1.contains("expects an integer"), "{problems:?}");
        f.edit_text(TextInput::clear);
        f.edit_text(|t| "80".chars().for_each(|c| t.push(c)));
        let run = f.validate(&flows, now()).unwrap().schedule.run;
        assert_eq!(
            run.params,
            [("max_used_percent".to_string(), "80".to_string())]
        );
    }

    #[test]
    fn a_required_secret_refuses_the_save_at_its_field() {
        let mut token = ParamSpec {
            name: "token".into(),
            kind: crate::flow::params::ParamKind::String,
            default: None,
            required: true,
            allow_empty: false,
            secret: true,
            description: None,
            line: 1,
        };
        assert_eq!(
            param_problems(std::slice::from_ref(&token), &[]),
            [(Field::Param(0), SECRET_NOTE.to_string())]
        );
        // Given on its own (a hand-edited journal): still refused.
        token.required = false;
        assert_eq!(
            fields(&param_problems(
                std::slice::from_ref(&token),
                &[("token".into(), "x".into())]
            )),
            [Field::Param(0)]
        );
        assert!(param_problems(&[token], &[]).is_empty(), "optional: fine");
        let flows = sample_flows();
        let mut f = form_for(&flows, "deploy");
        f.show_all = true;
        f.focus_param("version");
        f.edit_text(|t| t.push('1'));
        assert!(f.validate(&flows, now()).is_ok());
    }

    #[test]
    fn editing_loads_the_stored_params_mode_and_max_fail() {
        let flows = sample_flows();
        let dir = tempfile::tempdir().unwrap();
        let mut store = ScheduleStore::open(dir.path().join("j.db")).unwrap();
        let deploy = flows.iter().find(|f| f.label() == "deploy").unwrap();
        let stored = store
            .add(
                &NewSchedule {
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
                        ..RunOptions::default()
                    },
                    when: When::Cron(CronExpr::parse("0 3 * * *").unwrap()),
                    zone: Tz::UTC,
                    until: None,
                    overlap: Overlap::Skip,
                    catch_up: CatchUp::Once,
                },
                now(),
            )
            .unwrap();
        let mut f = ScheduleForm::edit(&stored, &flows);
        assert_eq!(f.param_value("version"), Some("2.0"));
        assert_eq!(f.param_value("service"), Some("api"));
        assert_eq!(f.mode, Some(BatchMode::Continue));
        assert_eq!(f.max_fail.text(), "2");
        let run = f.validate(&flows, now()).unwrap().schedule.run;
        assert_eq!(run.params, stored.run.params, "saved back unchanged");
        assert_eq!(run.mode.as_deref(), Some("continue"));

        f.max_fail = input("lots");
        f.mode = Some(BatchMode::Confirm);
        let problems = f.validate(&flows, now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::MaxFail], "{problems:?}");
        f.max_fail = input("10%");
        let problems = f.validate(&flows, now()).unwrap_err();
        assert_eq!(fields(&problems), [Field::Yes], "confirm needs an approval");
        f.focus = Field::Mode;
        f.cycle(&flows, true);
        assert_eq!(f.mode, None, "back to the flow's own");
    }

    #[test]
    fn long_problems_wrap_between_words() {
        assert_eq!(
            wrap_words("param 'version' is required (the release)", 16),
            ["param 'version'", "is required (the", "release)"]
        );
        assert_eq!(wrap_words("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap_words("", 4), [""]);
    }

    #[test]
    fn fires_are_paired_with_the_instances_they_started() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let mut store = ScheduleStore::open(&path).unwrap();
        let s = store
            .add(
                &NewSchedule {
                    name: "n".into(),
                    flow_path: "/f.yml".into(),
                    flow_name: "f".into(),
                    run: RunOptions::default(),
                    when: When::Cron(CronExpr::parse("0 * * * *").unwrap()),
                    zone: Tz::UTC,
                    until: None,
                    overlap: Overlap::Skip,
                    catch_up: CatchUp::Once,
                },
                now(),
            )
            .unwrap();
        let conn = store.connection();
        let hour = 3_600_000;
        let t0 = now().timestamp_millis();
        // 08:00 started #1; 09:00 started but never made an instance;
        // 10:00 skipped; 11:00 started #2 (created a bit later).
        for (i, (outcome, detail)) in [
            ("started", None),
            ("started", None),
            ("skipped", Some("still running")),
            ("started", None),
        ]
        .into_iter()
        .enumerate()
        {
            let at = t0 + i as i64 * hour;
            conn.execute(
                "INSERT INTO schedule_fires (schedule_id, due_at, at, outcome, detail) VALUES (?1, ?2, ?2, ?3, ?4)",
                rusqlite::params![s.id, at, outcome, detail],
            )
            .unwrap();
        }
        let mut journal = crate::journal::Journal::open(&path).unwrap();
        for (offset, status) in [(1000, "ok"), (3 * hour + 5000, "failed")] {
            let id = journal
                .create_instance(&crate::journal::NewInstance {
                    flow: "f".into(),
                    trigger: crate::journal::Trigger::Schedule(s.id),
                    ..crate::journal::NewInstance::default()
                })
                .unwrap();
            conn.execute(
                "UPDATE instances SET status = ?2, created_at = ?3 WHERE id = ?1",
                rusqlite::params![id, status, t0 + offset],
            )
            .unwrap();
        }
        let fires = recent_fires(&store, &s).unwrap();
        let results: Vec<String> = fires.iter().map(FireRow::result).collect();
        assert_eq!(
            results,
            ["#2 failed", "skipped: still running", "started", "#1 ok"]
        );
        assert_eq!(fires[3].due.format("%H:%M").to_string(), "08:00");
    }

    #[test]
    fn after_a_save_the_cursor_lands_on_the_saved_row_once_the_list_is_back() {
        let flows = sample_flows();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (sender, mut receiver) = tokio::sync::mpsc::channel(8);
        let mut view = SchedulesView::new();
        view.set_background(Background::new(sender));
        view.set_journal_path(path.clone());
        view.set_flows(flows.clone());
        view.set_now(now());
        // Inside the runtime, so the view's journal work goes to threads.
        let _inside = runtime.enter();
        let mut settle = |view: &mut SchedulesView| {
            let wait = tokio::time::timeout(std::time::Duration::from_secs(20), receiver.recv());
            let message = runtime.block_on(wait).expect("no message in time").unwrap();
            match message {
                AppMessage::Schedules(m) => view.on_message(m),
                _ => panic!("unexpected message"),
            };
        };
        for name in ["a-first", "b-second"] {
            view.open_add();
            let form = view.form_mut().unwrap();
            *form = form_for(&flows, "health-check");
            form.name = input(name);
            view.submit();
            settle(&mut view); // saved: the list reloads
            settle(&mut view); // the list is back
        }
        assert_eq!(view.rows().len(), 2);
        assert_eq!(view.selected().unwrap().name, "b-second");
    }

    #[test]
    fn rows_say_their_state_and_last_run() {
        assert_eq!(row(false, Some("t")).state(), "active");
        assert_eq!(row(true, Some("t")).state(), "paused");
        assert_eq!(row(false, None).state(), "done");
        let mut r = row(false, Some("t"));
        assert_eq!(r.last_run(TIME_FORMAT), "never");
        r.last_fire = Some(now().with_timezone(&Tz::UTC));
        r.last_instance = Some((7, InstanceStatus::Failed));
        assert_eq!(r.last_run("%m-%d %H:%M"), "03-02 08:00 #7 failed");
        r.running = 1;
        assert_eq!(r.state(), "running");
    }

    #[test]
    fn a_missing_journal_lists_nothing_and_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        assert_eq!(list(&path), Ok(None));
        assert!(!path.exists());
    }
}
