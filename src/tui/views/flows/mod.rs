//! The Flows view: the flow and atom catalog, a composer to create or edit
//! a flow, and an embedded editor for flow YAML, inline scripts and atom
//! bodies.
//!
//! - `composer`: the composer's model (a flow document as a form of rows).
//! - `compose`: the composer's actions: editing rows, the prompt, the atom
//!   picker, a new flow.
//! - `editing`: the editor and what it edits; checks and saves.
//! - `draw_library`, `draw_composer`: drawing.
//!
//! The catalog is the App's (`flow::catalog`): this view asks for it to be
//! read again after a save or on `r`, and every view that offers flows gets
//! the new one. Checking is `jobdeck check`'s (`flow::check`), run off the
//! UI task; a flow or an atom is only saved when it passes.

mod compose;
mod composer;
mod draw_composer;
mod draw_library;
mod editing;

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::{Hint, Update, View};
use crate::flow::catalog::Catalog;
use crate::flow::check::Problems;
use crate::tui::action::Action;
use crate::tui::effects::{AppRequest, Effects};
use crate::tui::key_names::KeyNames;
use crate::tui::keymap::KeyContext;
use crate::tui::theme::Theme;
use crate::tui::widgets::editor::Editor;
use crate::tui::widgets::scroll_list::ScrollList;
use crate::tui::widgets::text_box::TextInput;
use compose::{Picker, Prompt};
pub use composer::{Composer, ComposerRow, MASK, StepField};
use editing::{Armed, EditorTarget};

/// What the view's checks report.
#[derive(Debug)]
pub enum Message {
    /// A validation (and maybe a save) finished.
    Checked {
        generation: u64,
        errors: Problems,
        /// The file written, when this was a save and the text was valid
        /// (or a draft was asked for).
        saved: Option<Result<std::path::PathBuf, String>>,
        /// The text that was checked (and saved, if it was).
        text: String,
        /// What was asked after the check.
        then: crate::flow::check::Then,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    Library,
    Composer,
    Editor,
}

/// An entry of the library list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Flow(usize),
    Atom(usize),
}

pub struct FlowsView {
    catalog: Option<Arc<Catalog>>,
    /// A reload was asked for and has not come back.
    loading: bool,
    list: ScrollList,
    composer: Option<Composer>,
    editor: Option<(Editor, EditorTarget)>,
    /// What a second Esc or Ctrl-S in the editor will do, after a warning.
    editor_armed: Option<Armed>,
    focus: Focus,
    prompt: Option<(Prompt, TextInput)>,
    picker: Option<Picker>,
    generation: u64,
    area: Rect,
    /// The keys warnings name (the editor's save, say).
    keys: KeyNames,
}

impl Default for FlowsView {
    fn default() -> Self {
        FlowsView::new()
    }
}

impl FlowsView {
    pub fn new() -> FlowsView {
        FlowsView {
            catalog: None,
            loading: false,
            list: ScrollList::default(),
            composer: None,
            editor: None,
            editor_armed: None,
            focus: Focus::Library,
            prompt: None,
            picker: None,
            generation: 0,
            area: Rect::default(),
            keys: KeyNames::default().with_contexts(&[KeyContext::Editor]),
        }
    }

    /// The keymap warnings take key names from.
    pub fn set_key_names(&mut self, keys: KeyNames) {
        self.keys = keys.with_contexts(&[KeyContext::Editor]);
    }

    /// The catalog was read (again).
    pub fn set_catalog(&mut self, catalog: Arc<Catalog>) {
        self.catalog = Some(catalog);
        self.loading = false;
        let count = self.items().len();
        self.list.clamp(count);
    }

    pub fn library(&self) -> Option<&Catalog> {
        self.catalog.as_deref()
    }

    pub fn composer(&self) -> Option<&Composer> {
        self.composer.as_ref()
    }

    pub fn editor(&self) -> Option<&Editor> {
        self.editor.as_ref().map(|(editor, _)| editor)
    }

    /// Asks the App to read the catalog again.
    fn reload(&mut self, fx: &mut Effects<Message>) {
        self.loading = true;
        fx.ask_app(AppRequest::ReloadCatalog);
    }

    fn items(&self) -> Vec<Item> {
        match &self.catalog {
            Some(lib) => (0..lib.flows.len())
                .map(Item::Flow)
                .chain((0..lib.atoms.len()).map(Item::Atom))
                .collect(),
            None => Vec::new(),
        }
    }

    fn selected(&self) -> Option<Item> {
        self.items().get(self.list.cursor()).copied()
    }

    fn library_action(&mut self, action: &Action, fx: &mut Effects<Message>) {
        let count = self.items().len();
        if self.list.handle(action, count) {
            return;
        }
        match action {
            Action::Refresh => self.reload(fx),
            Action::NewItem => self.prompt = Some((Prompt::NewFlow, TextInput::default())),
            Action::Edit | Action::Submit => match self.selected() {
                Some(Item::Flow(i)) => self.open_composer(i, fx),
                Some(item @ Item::Atom(_)) => self.open_text(item),
                None => {}
            },
            Action::EditText => {
                if let Some(item) = self.selected() {
                    self.open_text(item);
                }
            }
            _ => {}
        }
    }

    fn editor_action(&mut self, action: &Action, fx: &mut Effects<Message>) {
        let armed = self.editor_armed.take();
        match action {
            Action::Key(key) => {
                if let Some((editor, _)) = &mut self.editor {
                    editor.key(key);
                }
            }
            Action::InsertChar(c) => {
                if let Some((editor, _)) = &mut self.editor {
                    editor.insert(*c);
                }
            }
            Action::Validate => self.editor_check(false, fx),
            Action::Save if armed == Some(Armed::Draft) => self.save_draft(fx),
            Action::Save => self.editor_check(true, fx),
            Action::Cancel => self.cancel_editor(armed == Some(Armed::Discard), fx),
            _ => {}
        }
    }

    fn picker_action(&mut self, action: &Action) {
        let (Some(picker), Some(catalog)) = (&mut self.picker, &self.catalog) else {
            return;
        };
        if picker.list.handle(action, picker.count(catalog)) {
            return;
        }
        match action {
            Action::Submit | Action::Edit => self.pick(),
            Action::Cancel => self.picker = None,
            _ => {}
        }
    }

    fn prompt_action(&mut self, action: &Action, fx: &mut Effects<Message>) {
        let Some((prompt, input)) = &mut self.prompt else {
            return;
        };
        match action {
            Action::Cancel => self.prompt = None,
            Action::Submit => {
                let prompt = prompt.clone();
                let text = input.text().to_string();
                self.prompt = None;
                self.commit_prompt(prompt, text, fx);
            }
            edit => {
                input.edit(edit);
            }
        }
    }
}

impl Update for FlowsView {
    type Message = Message;

    fn handle(&mut self, action: &Action, fx: &mut Effects<Message>) {
        // A prompt, then the picker, take the keys first.
        if self.prompt.is_some() {
            return self.prompt_action(action, fx);
        }
        if self.picker.is_some() {
            return self.picker_action(action);
        }
        match self.focus {
            Focus::Editor => self.editor_action(action, fx),
            Focus::Composer => self.composer_action(action, fx),
            Focus::Library => self.library_action(action, fx),
        }
        self.follow_composer_cursor();
    }

    fn on_message(&mut self, message: Message, fx: &mut Effects<Message>) {
        match message {
            Message::Checked {
                generation,
                errors,
                saved,
                text,
                then,
            } => {
                if generation == self.generation {
                    let was_save = then != crate::flow::check::Then::Nothing;
                    self.apply_check(errors, saved, text, was_save, fx);
                }
            }
        }
    }

    fn on_show(&mut self, fx: &mut Effects<Message>) {
        if self.catalog.is_none() && !self.loading {
            self.reload(fx);
        }
    }
}

impl View for FlowsView {
    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        match (self.focus, &self.editor, &self.composer) {
            (Focus::Editor, Some((editor, _)), _) => editor.draw(frame, area, theme),
            (Focus::Composer, _, Some(composer)) => {
                self.draw_composer(frame, area, theme, composer)
            }
            _ => self.draw_library(frame, area, theme),
        }
        if let Some(picker) = &self.picker {
            self.draw_picker(frame, area, theme, picker);
        }
        if let Some((prompt, input)) = &self.prompt {
            self.draw_prompt(frame, area, theme, prompt, input);
        }
    }

    fn set_area(&mut self, area: Rect) {
        self.area = area;
        if let Some((editor, _)) = &mut self.editor {
            editor.set_area(area);
        }
        let count = self.items().len();
        self.list
            .set_height((area.height as usize).saturating_sub(2), count);
        self.follow_composer_cursor();
        if let (Some(picker), Some(catalog)) = (&mut self.picker, &self.catalog) {
            picker.lay_out(catalog, area);
        }
    }

    fn key_contexts(&self) -> Vec<KeyContext> {
        if self.prompt.is_some() {
            return vec![KeyContext::Input];
        }
        if self.picker.is_some() {
            return vec![KeyContext::Flows];
        }
        match self.focus {
            Focus::Library => vec![KeyContext::Flows],
            Focus::Composer => vec![KeyContext::Composer],
            Focus::Editor => vec![KeyContext::Editor],
        }
    }

    fn captures_text(&self) -> bool {
        self.prompt.is_some() || (self.focus == Focus::Editor && self.picker.is_none())
    }

    fn raw_keys(&self) -> bool {
        self.prompt.is_none() && self.picker.is_none() && self.focus == Focus::Editor
    }

    fn hints(&self) -> Vec<Hint> {
        if self.prompt.is_some() {
            return vec![
                Hint::new(Action::Submit, "set"),
                Hint::new(Action::Cancel, "cancel"),
            ];
        }
        if self.picker.is_some() {
            return vec![
                Hint::pair(Action::Down, Action::Up, "move"),
                Hint::new(Action::Edit, "choose"),
                Hint::new(Action::Cancel, "cancel"),
            ];
        }
        match self.focus {
            Focus::Library => vec![
                Hint::new(Action::Edit, "compose/open"),
                Hint::new(Action::EditText, "edit text"),
                Hint::new(Action::NewItem, "new flow"),
                Hint::new(Action::Refresh, "reload"),
            ],
            Focus::Composer => vec![
                Hint::new(Action::Submit, "edit"),
                Hint::new(Action::AddStep, "add step"),
                Hint::new(Action::DeleteItem, "remove"),
                Hint::pair(Action::MoveDown, Action::MoveUp, "reorder"),
                Hint::new(Action::EditText, "script/YAML"),
                Hint::new(Action::Validate, "check"),
                Hint::new(Action::Save, "save"),
                Hint::new(Action::Cancel, "close"),
            ],
            Focus::Editor => vec![
                Hint::new(Action::Validate, "check"),
                Hint::new(Action::Save, "save"),
                Hint::new(Action::Cancel, "done"),
            ],
        }
    }

    fn help_sections(&self) -> Vec<(&'static str, KeyContext)> {
        vec![
            ("Library", KeyContext::Flows),
            ("Composer", KeyContext::Composer),
            ("Editor", KeyContext::Editor),
        ]
    }
}
