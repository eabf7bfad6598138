//! The composer's actions: moving, editing a row (cycling a choice, or a
//! one-line prompt for its text), adding, removing and reordering steps
//! with the atom picker, and starting a new flow.

use ratatui::layout::Rect;
use serde_json::{Map, Value};

use super::composer::{
    Composer, ComposerRow, StepField, composer_param_spec, cycle_value, set_key, set_param_default,
    set_with, step_atom, step_field_key, typed_value, with_spec,
};
use super::editing::{EditorTarget, file_name};
use super::{FlowsView, Focus, Message};
use crate::flow::ParamKind;
use crate::flow::catalog::Catalog;
use crate::flow::document::{FlowDoc, Section};
use crate::flow::params::scalar_text;
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::keymap::KeyContext;
use crate::tui::layout;
use crate::tui::widgets::editor::Editor;
use crate::tui::widgets::highlight::Syntax;
use crate::tui::widgets::scroll_list::{ScrollList, keep_in_view};
use crate::tui::widgets::text_box::TextInput;

/// A one-line prompt over the composer (or the library for a new flow).
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    NewFlow,
    Field { row: ComposerRow, secret: bool },
}

/// The atom picker, for a new step or a step's atom.
#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    /// Picking for an existing step's `atom:`; `None` adds a step.
    pub for_step: Option<(Section, usize)>,
    pub list: ScrollList,
}

pub const PICK_EXTRAS: [&str; 3] = ["inline script", "command", "approval"];

impl Picker {
    /// Opens on row `at`, its dialog laid out in the view's `area`.
    pub fn open(
        for_step: Option<(Section, usize)>,
        at: usize,
        catalog: &Catalog,
        area: Rect,
    ) -> Self {
        let mut picker = Picker {
            for_step,
            list: ScrollList::default(),
        };
        picker.lay_out(catalog, area);
        picker.list.select(at, picker.count(catalog));
        picker
    }

    /// Atoms, then for a new step the other kinds of step.
    pub fn count(&self, catalog: &Catalog) -> usize {
        catalog.atoms.len()
            + if self.for_step.is_none() {
                PICK_EXTRAS.len()
            } else {
                0
            }
    }

    /// The dialog's box in the view's `area`.
    pub fn dialog(&self, catalog: &Catalog, area: Rect) -> Rect {
        layout::centered(area, 70, self.count(catalog) as u16 + 2)
    }

    /// The view was laid out again: the list's rows follow the dialog.
    pub fn lay_out(&mut self, catalog: &Catalog, area: Rect) {
        let rows = layout::inner(self.dialog(catalog, area)).height as usize;
        self.list.set_height(rows, self.count(catalog));
    }
}

impl FlowsView {
    pub(super) fn composer_action(&mut self, action: &Action, fx: &mut Effects<Message>) {
        let Some(catalog) = self.catalog.clone() else {
            return;
        };
        let Some(composer) = &mut self.composer else {
            return;
        };
        let rows = composer.rows(&catalog);
        let last = rows.len().saturating_sub(1);
        let page = (self.area.height as usize).saturating_sub(6).max(1);
        match action {
            Action::Up | Action::ScrollUp { .. } => {
                composer.cursor = composer.cursor.saturating_sub(1)
            }
            Action::Down | Action::ScrollDown { .. } => {
                composer.cursor = (composer.cursor + 1).min(last)
            }
            Action::PageUp => composer.cursor = composer.cursor.saturating_sub(page),
            Action::PageDown => composer.cursor = (composer.cursor + page).min(last),
            Action::Top => composer.cursor = 0,
            Action::Bottom => composer.cursor = last,
            Action::AddStep => {
                self.picker = Some(Picker::open(None, 0, &catalog, self.area));
            }
            Action::DeleteItem => {
                if let Some(title) = composer.delete_step(&rows) {
                    fx.info(format!("removed step '{title}'"));
                }
            }
            Action::MoveUp => composer.move_step(&rows, true, &catalog),
            Action::MoveDown => composer.move_step(&rows, false, &catalog),
            Action::Validate => self.composer_check(false, fx),
            Action::Save => self.composer_check(true, fx),
            Action::EditText => {
                let current = composer.current_step(&rows);
                let script = current.and_then(|(s, i)| {
                    composer.doc.section(s)[i]
                        .get("script")
                        .map(|v| scalar_text(v).unwrap_or_default())
                });
                let (text, target, syntax, title) = match (current, script) {
                    (Some((section, index)), Some(body)) => (
                        body,
                        EditorTarget::Script { section, index },
                        Syntax::Shell,
                        format!("script of step {}", index + 1),
                    ),
                    _ => (
                        composer.doc.emit().0,
                        EditorTarget::FlowYaml {
                            path: composer.path.clone(),
                            from_composer: true,
                        },
                        Syntax::Yaml,
                        format!("{} (YAML)", file_name(&composer.path)),
                    ),
                };
                self.open_editor(Editor::new(&text, syntax, title), target);
            }
            Action::Submit => {
                if let Some(row) = rows.get(composer.cursor).cloned() {
                    self.edit_row(row, &catalog, fx);
                }
            }
            Action::Cancel => {
                if composer.dirty && !composer.discard_armed {
                    composer.discard_armed = true;
                    let keys = self.keys.with_contexts(&[KeyContext::Composer]);
                    fx.warn(format!(
                        "unsaved changes: {} saves, {} again discards them",
                        keys.of(&Action::Save),
                        keys.of(&Action::Cancel)
                    ));
                } else {
                    self.composer = None;
                    self.focus = Focus::Library;
                }
            }
            _ => {}
        }
    }

    /// Enter on a composer row: cycle, toggle, pick, or prompt for text.
    fn edit_row(&mut self, row: ComposerRow, catalog: &Catalog, fx: &mut Effects<Message>) {
        let Some(composer) = &mut self.composer else {
            return;
        };
        match &row {
            ComposerRow::Field(_) | ComposerRow::Rollout(_) => {
                let current = match &row {
                    ComposerRow::Field(key) => composer.doc.text_field(key),
                    ComposerRow::Rollout(key) => composer
                        .doc
                        .fields
                        .get("rollout")
                        .and_then(|r| r.get(key))
                        .and_then(scalar_text),
                    _ => None,
                };
                self.prompt = Some((
                    Prompt::Field { row, secret: false },
                    input_with(current.as_deref()),
                ));
            }
            ComposerRow::Param(name) => {
                let spec = composer_param_spec(composer, name);
                match spec {
                    Some(spec) if spec.secret => fx.warn(format!(
                        "param '{name}' is secret: it takes no default in a file; it is given at run time"
                    )),
                    Some(spec) if matches!(spec.kind, ParamKind::Bool | ParamKind::Choice(_)) => {
                        let next = cycle_value(&spec, spec.default.as_deref());
                        set_param_default(composer, name, next);
                    }
                    Some(spec) => {
                        let current = spec.default.clone();
                        self.prompt = Some((
                            Prompt::Field {
                                row: row.clone(),
                                secret: false,
                            },
                            input_with(current.as_deref()),
                        ));
                    }
                    None => {}
                }
            }
            ComposerRow::Step(..)
            | ComposerRow::ParamsHeader
            | ComposerRow::RolloutHeader
            | ComposerRow::SectionHeader(_) => {}
            ComposerRow::StepField(section, i, field) => {
                let (section, i) = (*section, *i);
                let Some(step) = composer.doc.section(section).get(i).cloned() else {
                    return;
                };
                match field {
                    StepField::OnFailure => {
                        let next = match step.get("on_failure").and_then(Value::as_str) {
                            None => Some("stop"),
                            Some("stop") => Some("continue"),
                            Some("continue") => Some("keep-going"),
                            Some("keep-going") => Some("rollback"),
                            _ => None,
                        };
                        if let Some(step) = composer.step_mut(section, i) {
                            match next {
                                Some(v) => {
                                    step.insert("on_failure".into(), Value::String(v.into()))
                                }
                                None => step.remove("on_failure"),
                            };
                        }
                        composer.changed();
                    }
                    StepField::Action("atom") => {
                        let names: Vec<String> = catalog.atoms.iter().map(|a| a.name()).collect();
                        let cursor = step_atom(&step)
                            .and_then(|n| names.iter().position(|x| *x == n))
                            .unwrap_or(0);
                        self.picker =
                            Some(Picker::open(Some((section, i)), cursor, catalog, self.area));
                    }
                    StepField::Action("script") => self.composer_action(&Action::EditText, fx),
                    StepField::With(key) => {
                        let spec = with_spec(catalog, &step, key).cloned();
                        let current = step
                            .get("with")
                            .and_then(|w| w.get(key.as_str()))
                            .and_then(scalar_text);
                        match spec {
                            Some(spec)
                                if matches!(spec.kind, ParamKind::Bool | ParamKind::Choice(_)) =>
                            {
                                let next = cycle_value(&spec, current.as_deref());
                                set_with(composer, section, i, key, next);
                            }
                            other => {
                                let secret = other.is_some_and(|s| s.secret);
                                self.prompt = Some((
                                    Prompt::Field {
                                        row: row.clone(),
                                        secret,
                                    },
                                    input_with(if secret { None } else { current.as_deref() }),
                                ));
                            }
                        }
                    }
                    StepField::Args => {
                        let current = step.get("args").and_then(Value::as_array).map(|items| {
                            items
                                .iter()
                                .filter_map(scalar_text)
                                .collect::<Vec<_>>()
                                .join(", ")
                        });
                        self.prompt = Some((
                            Prompt::Field {
                                row: row.clone(),
                                secret: false,
                            },
                            input_with(current.as_deref()),
                        ));
                    }
                    _ => {
                        let key = step_field_key(field);
                        let current = step.get(key).and_then(scalar_text);
                        self.prompt = Some((
                            Prompt::Field {
                                row: row.clone(),
                                secret: false,
                            },
                            input_with(current.as_deref()),
                        ));
                    }
                }
            }
        }
    }

    /// The prompt's text goes into its row.
    pub(super) fn commit_prompt(
        &mut self,
        prompt: Prompt,
        text: String,
        fx: &mut Effects<Message>,
    ) {
        match prompt {
            Prompt::NewFlow => self.new_flow(text.trim(), fx),
            Prompt::Field { row, .. } => {
                let Some(composer) = &mut self.composer else {
                    return;
                };
                let value = (!text.is_empty()).then(|| typed_value(&text));
                match row {
                    ComposerRow::Field(key) => set_key(&mut composer.doc.fields, key, value),
                    ComposerRow::Rollout(key) => {
                        let rollout = composer
                            .doc
                            .fields
                            .entry("rollout")
                            .or_insert_with(|| Value::Object(Map::new()));
                        if !rollout.is_object() {
                            *rollout = Value::Object(Map::new());
                        }
                        if let Value::Object(map) = rollout {
                            set_key(map, &key, value);
                        }
                    }
                    ComposerRow::Param(name) => {
                        set_param_default(composer, &name, (!text.is_empty()).then_some(text));
                        return;
                    }
                    ComposerRow::StepField(section, i, field) => match field {
                        StepField::With(key) => {
                            set_with(
                                composer,
                                section,
                                i,
                                &key,
                                (!text.is_empty()).then_some(text),
                            );
                            return;
                        }
                        StepField::Args => {
                            let items: Vec<Value> = text
                                .split(',')
                                .map(str::trim)
                                .filter(|s| !s.is_empty())
                                .map(|s| Value::String(s.into()))
                                .collect();
                            if let Some(step) = composer.step_mut(section, i) {
                                set_key(
                                    step,
                                    "args",
                                    (!items.is_empty()).then_some(Value::Array(items)),
                                );
                            }
                        }
                        field => {
                            let key = step_field_key(&field);
                            let value = if key == "command" || key == "approval" || key == "name" {
                                (!text.is_empty()).then(|| Value::String(text.clone()))
                            } else {
                                value
                            };
                            if let Some(step) = composer.step_mut(section, i) {
                                set_key(step, key, value);
                            }
                        }
                    },
                    _ => return,
                }
                composer.changed();
            }
        }
    }

    fn new_flow(&mut self, name: &str, fx: &mut Effects<Message>) {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || "-_".contains(c))
        {
            return fx.error(format!(
                "'{name}': a flow name is letters, digits, '-' and '_'"
            ));
        }
        let Some(dir) = self.catalog.as_ref().and_then(|l| l.flows_dir.clone()) else {
            return fx.error("no flows directory: the inventory is not loaded yet");
        };
        let path = dir.join(format!("{name}.yml"));
        // Against the catalog just read; the save checks the disk again.
        if self
            .catalog
            .as_ref()
            .is_some_and(|c| c.position(&path).is_some())
        {
            return fx.error(format!("{} already exists", path.display()));
        }
        self.composer = Some(Composer::new(FlowDoc::new_named(name), path, true));
        self.focus = Focus::Composer;
    }

    pub(super) fn pick(&mut self) {
        let Some(picker) = self.picker.take() else {
            return;
        };
        let Some(library) = self.catalog.clone() else {
            return;
        };
        let Some(composer) = &mut self.composer else {
            return;
        };
        let atoms = library.atoms.len();
        match picker.for_step {
            Some((section, i)) => {
                if let Some(atom) = library.atoms.get(picker.list.cursor())
                    && let Some(step) = composer.step_mut(section, i)
                {
                    step.insert("atom".into(), Value::String(atom.name()));
                    step.remove("with");
                    composer.changed();
                }
            }
            None => {
                let mut step = Map::new();
                if let Some(atom) = library.atoms.get(picker.list.cursor()) {
                    step.insert("name".into(), Value::String(atom.name()));
                    step.insert("atom".into(), Value::String(atom.name()));
                    // Required params first, so the form shows what is missing.
                    if let Ok(a) = &atom.loaded {
                        let mut with = Map::new();
                        for p in a
                            .params
                            .iter()
                            .filter(|p| p.required && p.default.is_none())
                        {
                            with.insert(p.name.clone(), Value::String(String::new()));
                        }
                        if !with.is_empty() {
                            step.insert("with".into(), Value::Object(with));
                        }
                    }
                } else {
                    match PICK_EXTRAS.get(picker.list.cursor() - atoms) {
                        Some(&"inline script") => {
                            step.insert("name".into(), Value::String("script".into()));
                            step.insert(
                                "script".into(),
                                Value::String("#!/bin/sh\nset -eu\n".into()),
                            );
                        }
                        Some(&"command") => {
                            step.insert("name".into(), Value::String("command".into()));
                            step.insert("command".into(), Value::String("true".into()));
                        }
                        _ => {
                            step.insert("approval".into(), Value::String("Continue?".into()));
                        }
                    }
                }
                let rows = composer.rows(&library);
                composer.add_step(&rows, step, &library);
            }
        }
    }

    /// The composer's window keeps its cursor in view.
    pub(super) fn follow_composer_cursor(&mut self) {
        let height = (self.area.height as usize).saturating_sub(5).max(1);
        if let Some(composer) = &mut self.composer {
            composer.offset = keep_in_view(composer.cursor, composer.offset, height, usize::MAX);
        }
    }
}

/// A prompt's box, holding `text` (control characters, newlines too, dropped).
fn input_with(text: Option<&str>) -> TextInput {
    TextInput::with_text(text.unwrap_or(""))
}
