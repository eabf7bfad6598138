//! The composer's model: a flow document as a form of rows (the flow's
//! fields, its params, its rollout, each step with its fields), and the
//! edits the form makes to the document. Nothing here draws or reads a
//! file; the catalog types a step's `with:` fields from its atom.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::flow::catalog::Catalog;
use crate::flow::document::{FlowDoc, Section, flow_style, is_scalar};
use crate::flow::params::scalar_text;
use crate::flow::{ParamKind, ParamSpec};

/// Shown instead of a secret value.
pub const MASK: &str = "•••";

/// One row of the composer's form.
#[derive(Debug, Clone, PartialEq)]
pub enum ComposerRow {
    Field(&'static str),
    ParamsHeader,
    Param(String),
    RolloutHeader,
    Rollout(String),
    SectionHeader(Section),
    Step(Section, usize),
    StepField(Section, usize, StepField),
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepField {
    Name,
    /// atom / script / command / copy / approval
    Action(&'static str),
    With(String),
    Args,
    Timeout,
    OnFailure,
}

const FLOW_FIELDS: [&str; 3] = ["name", "description", "targets"];
const ROLLOUT_FIELDS: [&str; 4] = ["batches", "interval", "mode", "max_fail"];
pub const ACTIONS: [&str; 5] = ["atom", "script", "command", "copy", "approval"];

pub struct Composer {
    pub doc: FlowDoc,
    pub path: PathBuf,
    /// A new file: saving must not replace an existing one.
    pub is_new: bool,
    pub cursor: usize,
    /// The first row shown (moved with the cursor, not by drawing).
    pub offset: usize,
    pub dirty: bool,
    /// Problems from the last check, by line of the emitted YAML.
    pub errors: Vec<(usize, String)>,
    /// Line each step starts on in the last emitted text.
    pub step_lines: Vec<(Section, usize, usize)>,
    pub checked: bool,
    pub discard_armed: bool,
}

impl Composer {
    pub fn new(doc: FlowDoc, path: PathBuf, is_new: bool) -> Composer {
        Composer {
            doc,
            path,
            is_new,
            cursor: 0,
            offset: 0,
            dirty: is_new,
            errors: Vec::new(),
            step_lines: Vec::new(),
            checked: false,
            discard_armed: false,
        }
    }

    pub fn rows(&self, catalog: &Catalog) -> Vec<ComposerRow> {
        let mut rows: Vec<ComposerRow> =
            FLOW_FIELDS.iter().map(|f| ComposerRow::Field(f)).collect();
        rows.push(ComposerRow::ParamsHeader);
        if let Some(Value::Object(params)) = self.doc.fields.get("params") {
            rows.extend(params.keys().map(|k| ComposerRow::Param(k.clone())));
        }
        rows.push(ComposerRow::RolloutHeader);
        rows.extend(
            ROLLOUT_FIELDS
                .iter()
                .map(|f| ComposerRow::Rollout(f.to_string())),
        );
        for section in [Section::Steps, Section::Rollback] {
            rows.push(ComposerRow::SectionHeader(section));
            for (i, step) in self.doc.section(section).iter().enumerate() {
                rows.push(ComposerRow::Step(section, i));
                rows.push(ComposerRow::StepField(section, i, StepField::Name));
                let action = ACTIONS.iter().find(|a| step.contains_key(**a)).copied();
                if let Some(action) = action {
                    rows.push(ComposerRow::StepField(
                        section,
                        i,
                        StepField::Action(action),
                    ));
                }
                if action == Some("atom") {
                    let mut names: Vec<String> = step_atom(step)
                        .and_then(|n| catalog.atom(&n))
                        .and_then(|a| a.loaded.as_ref().ok())
                        .map(|a| a.params.iter().map(|p| p.name.clone()).collect())
                        .unwrap_or_default();
                    if let Some(Value::Object(with)) = step.get("with") {
                        for k in with.keys() {
                            if !names.contains(k) {
                                names.push(k.clone());
                            }
                        }
                    }
                    rows.extend(
                        names
                            .into_iter()
                            .map(|n| ComposerRow::StepField(section, i, StepField::With(n))),
                    );
                }
                if matches!(action, Some("atom" | "script")) {
                    rows.push(ComposerRow::StepField(section, i, StepField::Args));
                }
                rows.push(ComposerRow::StepField(section, i, StepField::Timeout));
                if section == Section::Steps {
                    rows.push(ComposerRow::StepField(section, i, StepField::OnFailure));
                }
            }
        }
        rows
    }

    /// The step the cursor is in, if any.
    pub fn current_step(&self, rows: &[ComposerRow]) -> Option<(Section, usize)> {
        match rows.get(self.cursor)? {
            ComposerRow::Step(s, i) | ComposerRow::StepField(s, i, _) => Some((*s, *i)),
            _ => None,
        }
    }

    fn current_section(&self, rows: &[ComposerRow]) -> Section {
        rows[..=self.cursor.min(rows.len().saturating_sub(1))]
            .iter()
            .rev()
            .find_map(|r| match r {
                ComposerRow::SectionHeader(s)
                | ComposerRow::Step(s, _)
                | ComposerRow::StepField(s, _, _) => Some(*s),
                _ => None,
            })
            .unwrap_or(Section::Steps)
    }

    pub fn changed(&mut self) {
        self.dirty = true;
        self.checked = false;
        self.discard_armed = false;
    }

    /// Adds a step after the cursor's step (or at the end of its section).
    pub fn add_step(&mut self, rows: &[ComposerRow], step: Map<String, Value>, catalog: &Catalog) {
        let (section, at) = match self.current_step(rows) {
            Some((s, i)) => (s, i + 1),
            None => {
                let s = self.current_section(rows);
                (s, self.doc.section(s).len())
            }
        };
        self.doc.section_mut(section).insert(at, step);
        self.changed();
        let rows = self.rows(catalog);
        if let Some(pos) = rows
            .iter()
            .position(|r| *r == ComposerRow::Step(section, at))
        {
            self.cursor = pos;
        }
    }

    pub fn delete_step(&mut self, rows: &[ComposerRow]) -> Option<String> {
        let (section, i) = self.current_step(rows)?;
        let step = self.doc.section_mut(section).remove(i);
        self.changed();
        self.cursor = self.cursor.min(rows.len().saturating_sub(2));
        Some(step_title(&step))
    }

    /// Swaps the cursor's step with its neighbour; the cursor follows it.
    pub fn move_step(&mut self, rows: &[ComposerRow], up: bool, catalog: &Catalog) {
        let Some((section, i)) = self.current_step(rows) else {
            return;
        };
        let len = self.doc.section(section).len();
        let j = if up {
            i.checked_sub(1)
        } else {
            (i + 1 < len).then_some(i + 1)
        };
        let Some(j) = j else { return };
        self.doc.section_mut(section).swap(i, j);
        self.changed();
        let rows = self.rows(catalog);
        if let Some(pos) = rows
            .iter()
            .position(|r| *r == ComposerRow::Step(section, j))
        {
            self.cursor = pos;
        }
    }

    pub fn step_mut(&mut self, section: Section, i: usize) -> Option<&mut Map<String, Value>> {
        self.doc.section_mut(section).get_mut(i)
    }

    /// Which step a line of the emitted YAML belongs to.
    pub fn step_at_line(&self, line: usize) -> Option<(Section, usize)> {
        self.step_lines
            .iter()
            .rev()
            .find(|(_, _, start)| *start <= line)
            .map(|(s, i, _)| (*s, *i))
    }
}

pub fn step_atom(step: &Map<String, Value>) -> Option<String> {
    step.get("atom").and_then(scalar_text)
}

pub fn step_title(step: &Map<String, Value>) -> String {
    if let Some(name) = step.get("name").and_then(scalar_text) {
        return name;
    }
    for action in ACTIONS {
        if let Some(v) = step.get(action) {
            let text = scalar_text(v).unwrap_or_else(|| action.into());
            return format!("{action}: {}", text.lines().next().unwrap_or(""));
        }
    }
    "(empty step)".into()
}

/// The atom's param spec for a `with` key, to type its form field.
pub fn with_spec<'a>(
    catalog: &'a Catalog,
    step: &Map<String, Value>,
    key: &str,
) -> Option<&'a ParamSpec> {
    let atom = catalog.atom(&step_atom(step)?)?.loaded.as_ref().ok()?;
    atom.params.iter().find(|p| p.name == key)
}

/// A value as the form shows it: secrets masked.
pub fn shown_value(value: Option<&Value>, secret: bool) -> String {
    match value {
        None | Some(Value::Null) => "—".into(),
        Some(_) if secret => MASK.into(),
        Some(Value::String(s)) if s.contains('\n') => {
            format!("{} lines", s.lines().count())
        }
        Some(v) if is_scalar(v) => scalar_text(v).unwrap_or_default(),
        Some(v) => flow_style(v).unwrap_or_else(|| "…".into()),
    }
}

/// A typed scalar from a form field: numbers and booleans stay typed.
pub fn typed_value(text: &str) -> Value {
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    Value::String(text.to_string())
}

pub fn set_key(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            map.insert(key.to_string(), v);
        }
        None => {
            map.remove(key);
        }
    }
}

pub fn set_with(
    composer: &mut Composer,
    section: Section,
    i: usize,
    key: &str,
    value: Option<String>,
) {
    let Some(step) = composer.step_mut(section, i) else {
        return;
    };
    let with = step
        .entry("with")
        .or_insert_with(|| Value::Object(Map::new()));
    if !with.is_object() {
        *with = Value::Object(Map::new());
    }
    if let Value::Object(map) = with {
        set_key(map, key, value.map(|v| typed_value(&v)));
        if map.is_empty() {
            step.remove("with");
        }
    }
    composer.changed();
}

pub fn composer_param_spec(composer: &Composer, name: &str) -> Option<ParamSpec> {
    let Some(Value::Object(params)) = composer.doc.fields.get("params") else {
        return None;
    };
    let fields = params.get(name)?.as_object().cloned().unwrap_or_default();
    let text = |k: &str| fields.get(k).and_then(scalar_text);
    let choices: Option<Vec<String>> = fields
        .get("choices")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(scalar_text).collect());
    let kind = match (text("type").as_deref(), choices) {
        (_, Some(c)) if !c.is_empty() => ParamKind::Choice(c),
        (Some("int" | "integer"), _) => ParamKind::Int,
        (Some("bool" | "boolean"), _) => ParamKind::Bool,
        _ => ParamKind::String,
    };
    Some(ParamSpec {
        name: name.to_string(),
        kind,
        default: text("default"),
        required: fields
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        allow_empty: fields
            .get("allow_empty")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        secret: fields
            .get("secret")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        description: text("description"),
        line: 0,
    })
}

pub fn set_param_default(composer: &mut Composer, name: &str, value: Option<String>) {
    let Some(Value::Object(params)) = composer.doc.fields.get_mut("params") else {
        return;
    };
    let Some(entry) = params.get_mut(name) else {
        return;
    };
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(fields) = entry {
        set_key(fields, "default", value.map(|v| typed_value(&v)));
    }
    composer.changed();
}

/// The next value of a bool or choice field (wrapping; unset first).
pub fn cycle_value(spec: &ParamSpec, current: Option<&str>) -> Option<String> {
    let options: Vec<String> = match &spec.kind {
        ParamKind::Bool => vec!["true".into(), "false".into()],
        ParamKind::Choice(c) => c.clone(),
        _ => return current.map(String::from),
    };
    let next = match current.and_then(|c| options.iter().position(|o| o == c)) {
        None => Some(0),
        Some(i) if i + 1 < options.len() => Some(i + 1),
        Some(_) => None,
    };
    next.map(|i| options[i].clone())
}

pub fn step_field_key(field: &StepField) -> &'static str {
    match field {
        StepField::Name => "name",
        StepField::Action(a) => a,
        StepField::With(_) => "with",
        StepField::Args => "args",
        StepField::Timeout => "timeout",
        StepField::OnFailure => "on_failure",
    }
}

pub fn row_label(row: &ComposerRow) -> String {
    match row {
        ComposerRow::Field(k) => k.to_string(),
        ComposerRow::Param(n) => format!("default of param {n}"),
        ComposerRow::Rollout(k) => format!("rollout {k}"),
        ComposerRow::StepField(_, i, StepField::With(k)) => format!("step {} with.{k}", i + 1),
        ComposerRow::StepField(_, i, StepField::Args) => {
            format!("step {} args (comma-separated)", i + 1)
        }
        ComposerRow::StepField(_, i, f) => format!("step {} {}", i + 1, step_field_key(f)),
        _ => String::new(),
    }
}
