//! The editor and what it edits (a flow file's YAML, from the library or
//! the composer; an atom; a composer step's inline script), and checking
//! and saving: a check runs `jobdeck check`'s rules off the UI task and
//! its problems come back by line; a save happens only when the text
//! passes, and a saved flow makes the catalog be read again.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::composer::Composer;
use super::{FlowsView, Focus, Item, Message};
use crate::flow::check::{CheckKind, Problems, Then, check_and_save};
use crate::flow::document::{FlowDoc, Section};
use crate::tui::action::Action;
use crate::tui::effects::{AppRequest, Effects};
use crate::tui::widgets::editor::Editor;
use crate::tui::widgets::highlight::Syntax;

#[derive(Debug, Clone, PartialEq)]
pub enum EditorTarget {
    /// The whole flow file's YAML (from the library or the composer).
    FlowYaml {
        path: PathBuf,
        from_composer: bool,
    },
    Atom {
        path: PathBuf,
    },
    /// An inline script of a composer step.
    Script {
        section: Section,
        index: usize,
    },
}

/// A warning was given in the editor; the same key again goes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Armed {
    /// Esc again throws the unsaved edits away.
    Discard,
    /// Ctrl-S again saves the text that did not pass as a draft.
    Draft,
}

impl EditorTarget {
    /// The editor holds the only copy of its edits: leaving throws them
    /// away. (A composer step's script or the composer's YAML go back to
    /// the composer, which asks in its turn.)
    fn owns_its_edits(&self) -> bool {
        matches!(
            self,
            EditorTarget::Atom { .. }
                | EditorTarget::FlowYaml {
                    from_composer: false,
                    ..
                }
        )
    }

    fn kind(&self) -> CheckKind {
        match self {
            EditorTarget::Atom { .. } => CheckKind::Atom,
            _ => CheckKind::Flow,
        }
    }
}

/// The last part of a path, for titles.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// An editor for `text`, titled and coloured for its target.
fn editor_for(text: &str, target: &EditorTarget) -> Editor {
    let (syntax, title) = match target {
        EditorTarget::FlowYaml { path, .. } => (Syntax::Yaml, file_name(path)),
        EditorTarget::Atom { path } => (Syntax::Shell, file_name(path)),
        EditorTarget::Script { index, .. } => {
            (Syntax::Shell, format!("script of step {}", index + 1))
        }
    };
    Editor::new(text, syntax, title)
}

impl FlowsView {
    /// Opens the editor on `target`.
    pub(super) fn open_editor(&mut self, mut editor: Editor, target: EditorTarget) {
        editor.set_area(self.area);
        self.editor = Some((editor, target));
        self.focus = Focus::Editor;
    }

    pub(super) fn open_composer(&mut self, index: usize, fx: &mut Effects<Message>) {
        let Some(entry) = self
            .catalog
            .as_ref()
            .and_then(|l| l.flows.get(index))
            .cloned()
        else {
            return;
        };
        match FlowDoc::parse(&entry.path, &entry.source) {
            Ok(doc) => {
                self.composer = Some(Composer::new(doc, entry.path.clone(), false));
                self.focus = Focus::Composer;
            }
            Err(e) => {
                // Not a mapping the form can show: the text editor still can.
                fx.warn(format!("{e}; opened as text"));
                let target = EditorTarget::FlowYaml {
                    path: entry.path.clone(),
                    from_composer: false,
                };
                self.open_editor(editor_for(&entry.source, &target), target);
            }
        }
    }

    pub(super) fn open_text(&mut self, item: Item) {
        let Some(lib) = &self.catalog else { return };
        let (text, target) = match item {
            Item::Flow(i) => (
                lib.flows[i].source.clone(),
                EditorTarget::FlowYaml {
                    path: lib.flows[i].path.clone(),
                    from_composer: false,
                },
            ),
            Item::Atom(i) => (
                lib.atoms[i].body.clone(),
                EditorTarget::Atom {
                    path: lib.atoms[i].path.clone(),
                },
            ),
        };
        self.open_editor(editor_for(&text, &target), target);
    }

    /// Runs a check (and maybe a save) off the UI task.
    fn check(
        &mut self,
        kind: CheckKind,
        path: PathBuf,
        text: String,
        then: Then,
        fx: &mut Effects<Message>,
    ) {
        self.generation += 1;
        let generation = self.generation;
        fx.work(move || {
            let (errors, saved) = check_and_save(kind, &path, &text, then);
            Message::Checked {
                generation,
                errors,
                saved,
                text,
                then,
            }
        });
    }

    pub(super) fn composer_check(&mut self, save: bool, fx: &mut Effects<Message>) {
        let Some(composer) = &mut self.composer else {
            return;
        };
        let then = match (save, composer.is_new) {
            (false, _) => Then::Nothing,
            // A new file must not replace one that is there.
            (true, true) => Then::SaveNew,
            (true, false) => Then::Save,
        };
        let (text, lines) = composer.doc.emit();
        composer.step_lines = lines;
        let path = composer.path.clone();
        self.check(CheckKind::Flow, path, text, then, fx);
    }

    pub(super) fn editor_check(&mut self, save: bool, fx: &mut Effects<Message>) {
        let Some((editor, target)) = &self.editor else {
            return;
        };
        let text = editor.text();
        let then = if save { Then::Save } else { Then::Nothing };
        match target.clone() {
            EditorTarget::FlowYaml {
                path,
                from_composer,
            } => {
                if from_composer {
                    // Checked here; saved from the composer after it takes the text back.
                    self.check(CheckKind::Flow, path, text, Then::Nothing, fx);
                    if save {
                        self.leave_editor(fx);
                        self.composer_check(true, fx);
                    }
                } else {
                    self.check(CheckKind::Flow, path, text, then, fx);
                }
            }
            EditorTarget::Atom { path } => self.check(CheckKind::Atom, path, text, then, fx),
            EditorTarget::Script { section, index } => {
                self.apply_script(section, index, text);
                let Some(composer) = &mut self.composer else {
                    return;
                };
                let (flow_text, lines) = composer.doc.emit();
                composer.step_lines = lines;
                let path = composer.path.clone();
                // The flow is what gets checked; its errors are shown in the editor.
                self.check(CheckKind::Flow, path, flow_text, Then::Nothing, fx);
                if save {
                    self.leave_editor(fx);
                    self.composer_check(true, fx);
                }
            }
        }
    }

    fn apply_script(&mut self, section: Section, index: usize, text: String) {
        if let Some(composer) = &mut self.composer
            && let Some(step) = composer.step_mut(section, index)
            && step.get("script").and_then(Value::as_str) != Some(text.as_str())
        {
            step.insert("script".into(), Value::String(text));
            composer.changed();
        }
    }

    /// Esc in the editor: unsaved edits of a file are only thrown away
    /// when Esc comes a second time, after a warning.
    pub(super) fn cancel_editor(&mut self, confirmed: bool, fx: &mut Effects<Message>) {
        let unsaved = self
            .editor
            .as_ref()
            .is_some_and(|(editor, target)| target.owns_its_edits() && editor.is_modified());
        if unsaved && !confirmed {
            self.editor_armed = Some(Armed::Discard);
            fx.warn(format!(
                "unsaved edits: {} saves them, {} again throws them away",
                self.keys.of(&Action::Save),
                self.keys.of(&Action::Cancel)
            ));
            return;
        }
        self.leave_editor(fx);
    }

    /// Ctrl-S a second time after a check refused the text: it is written
    /// as it is, and the status line says it does not pass.
    pub(super) fn save_draft(&mut self, fx: &mut Effects<Message>) {
        let Some((editor, target)) = &self.editor else {
            return;
        };
        let path = match target {
            EditorTarget::Atom { path } | EditorTarget::FlowYaml { path, .. } => path.clone(),
            EditorTarget::Script { .. } => return,
        };
        let (kind, text) = (target.kind(), editor.text());
        self.check(kind, path, text, Then::SaveDraft, fx);
    }

    /// Leaves the editor, taking its text back into the composer.
    pub(super) fn leave_editor(&mut self, fx: &mut Effects<Message>) {
        let Some((editor, target)) = self.editor.take() else {
            return;
        };
        let text = editor.text();
        match target {
            EditorTarget::Script { section, index } => {
                self.apply_script(section, index, text);
                self.focus = Focus::Composer;
            }
            EditorTarget::FlowYaml {
                path,
                from_composer: true,
            } => match FlowDoc::parse(&path, &text) {
                Ok(doc) => {
                    if let Some(composer) = &mut self.composer
                        && composer.doc != doc
                    {
                        composer.doc = doc;
                        composer.changed();
                    }
                    self.focus = Focus::Composer;
                }
                Err(e) => {
                    fx.error(format!("not YAML the composer can read: {e}"));
                    let target = EditorTarget::FlowYaml {
                        path,
                        from_composer: true,
                    };
                    self.open_editor(editor_for(&text, &target), target);
                }
            },
            _ => {
                self.focus = if self.composer.is_some() {
                    Focus::Composer
                } else {
                    Focus::Library
                };
            }
        }
    }

    /// A check came back: its problems go where the text is edited, and
    /// the status line says how it went.
    pub(super) fn apply_check(
        &mut self,
        errors: Problems,
        saved: Option<Result<PathBuf, String>>,
        text: String,
        was_save: bool,
        fx: &mut Effects<Message>,
    ) {
        let count = errors.len();
        let first = errors.first().map(|(l, m)| {
            if *l > 0 {
                format!("line {l}: {m}")
            } else {
                m.clone()
            }
        });
        // A save refused before checking (a new file's name is taken) checked nothing.
        let checked = !matches!(saved, Some(Err(_))) || count > 0;
        match self.focus {
            Focus::Editor => {
                if let Some((editor, _)) = &mut self.editor {
                    editor.errors = errors;
                    editor.checked = checked;
                    editor.set_area(self.area);
                }
            }
            _ => {
                if let Some(composer) = &mut self.composer {
                    composer.errors = errors;
                    composer.checked = checked;
                }
            }
        }
        let in_own_file = self.focus == Focus::Editor
            && self
                .editor
                .as_ref()
                .is_some_and(|(_, target)| target.owns_its_edits());
        match (saved, first) {
            (Some(Ok(path)), first) => {
                if let Some(c) = &mut self.composer
                    && self.focus == Focus::Composer
                {
                    c.dirty = false;
                    c.is_new = false;
                }
                if let Some((editor, _)) = &mut self.editor
                    && self.focus == Focus::Editor
                {
                    editor.mark_saved(text);
                }
                self.loading = true;
                fx.ask_app(AppRequest::ReloadCatalog);
                match first {
                    None => fx.info(format!("saved {}", path.display())),
                    Some(first) => fx.warn(format!(
                        "saved {} as a draft with {count} problem(s): check and runs \
                         refuse it until they are fixed; {first}",
                        path.display()
                    )),
                }
            }
            (Some(Err(e)), _) => fx.error(e),
            (None, None) => fx.info("valid: jobdeck check accepts it"),
            (None, Some(first)) if was_save && in_own_file => {
                self.editor_armed = Some(Armed::Draft);
                fx.error(format!(
                    "{count} problem(s), not saved ({} again saves it as a draft); {first}",
                    self.keys.of(&Action::Save)
                ));
            }
            (None, Some(first)) => fx.error(format!("{count} problem(s), not saved; {first}")),
        }
    }
}
