//! The Schedules view: the schedules stored in the journal (the same rows
//! `jobdeck schedule list` shows and the scheduler fires), with each one's
//! next fire and last run; a form to add or edit one, previewing the next
//! five fire times as you type; pause, resume and delete.
//!
//! - `rows`: the list's rows, from what the journal read returned.
//! - `form`: the add/edit form, checked by `plan::schedule`.
//! - `draw_list`, `draw_form`: drawing.
//!
//! Every journal read and write runs off the UI task (`tasks::schedules`)
//! and comes back as a `Message`. Listing never creates a journal that is
//! not there; adding does, as `jobdeck schedule add` does.

mod draw_form;
mod draw_list;
mod form;
mod rows;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::{Hint, Update, View};
use crate::flow::catalog::Catalog;
use crate::inventory::Inventory;
use crate::plan::schedule::{FORM_TIME, Problem};
use crate::schedule::store::{RunOptions, Schedule};
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::keymap::KeyContext;
use crate::tui::tasks;
use crate::tui::tasks::schedules::{Listed, Unreadable};
use crate::tui::theme::Theme;
use crate::tui::widgets::dialog::{Dialog, DialogKind};
use crate::tui::widgets::load_state::LoadState;
use crate::tui::widgets::scroll_list::ScrollList;
use crate::tui::widgets::text_box::TextInput;
pub use form::{Field, Preview, ScheduleForm};
pub use rows::{FireRow, PREVIEW, ScheduleRow};

/// What the view's journal work reports.
#[derive(Debug)]
pub enum Message {
    Listed {
        generation: u64,
        result: Result<Option<Vec<Result<Listed, Unreadable>>>, String>,
    },
    Saved(Result<Box<Schedule>, Vec<Problem>>),
    /// A pause, resume or delete: what to say, or what went wrong.
    Changed(Result<String, String>),
}

pub struct SchedulesView {
    journal: Option<PathBuf>,
    /// `None` until the first read, `Some(None)` when there is no journal.
    rows: LoadState<Vec<ScheduleRow>>,
    generation: u64,
    list: ScrollList,
    form: Option<ScheduleForm>,
    catalog: Arc<Catalog>,
    inventory: Option<(Arc<Inventory>, PathBuf)>,
    /// Fixed "now" for tests; the wall clock otherwise.
    now: Option<DateTime<Utc>>,
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
            journal: None,
            rows: LoadState::Loading,
            generation: 0,
            list: ScrollList::default(),
            form: None,
            catalog: Arc::new(Catalog::default()),
            inventory: None,
            now: None,
            select_after_load: None,
            area: Rect::default(),
        }
    }

    pub fn set_journal_path(&mut self, path: PathBuf) {
        self.journal = Some(path);
        self.rows = LoadState::Loading;
    }

    /// The flows the form offers.
    pub fn set_catalog(&mut self, catalog: Arc<Catalog>) {
        self.catalog = catalog;
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

    /// The stored schedules as last read (`None`: not read, or no journal).
    pub fn rows(&self) -> &[ScheduleRow] {
        self.rows.ready().map_or(&[], Vec::as_slice)
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
        self.rows().get(self.list.cursor())
    }

    /// Re-reads the list off the UI task.
    fn refresh(&mut self, fx: &mut Effects<Message>) {
        let Some(path) = self.journal.clone() else {
            self.rows = LoadState::Failed("no journal path".into());
            return;
        };
        self.generation += 1;
        let generation = self.generation;
        fx.work(move || Message::Listed {
            generation,
            result: tasks::schedules::list(&path),
        });
    }

    fn listed(
        &mut self,
        result: Result<Option<Vec<Result<Listed, Unreadable>>>, String>,
        fx: &mut Effects<Message>,
    ) {
        match result {
            Ok(read) => {
                self.rows = LoadState::from_read(Ok(read.map(ScheduleRow::all)));
                let count = self.rows().len();
                let at = self
                    .select_after_load
                    .take()
                    .and_then(|id| self.rows().iter().position(|r| r.id == id))
                    .unwrap_or(self.list.cursor());
                self.list.select(at, count);
            }
            Err(e) => {
                self.rows = LoadState::Failed(e.clone());
                fx.error(e);
            }
        }
    }

    fn saved(&mut self, result: Result<Box<Schedule>, Vec<Problem>>, fx: &mut Effects<Message>) {
        match result {
            Ok(schedule) => {
                let verb = if self.form.as_ref().and_then(|f| f.editing).is_some() {
                    "saved"
                } else {
                    "added"
                };
                let next = schedule.next_fire_at.map_or("none".to_string(), |t| {
                    t.with_timezone(&schedule.zone)
                        .format(&format!("{FORM_TIME} %Z"))
                        .to_string()
                });
                fx.info(format!(
                    "schedule {} '{}' {verb}: {}; next fire {next}",
                    schedule.id,
                    schedule.name,
                    schedule.describe_when()
                ));
                self.form = None;
                // The list reloads off the UI task: the cursor moves when it is back.
                self.select_after_load = Some(schedule.id);
                self.refresh(fx);
            }
            Err(problems) => {
                let summary = problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                if let Some(form) = &mut self.form {
                    form.saving = false;
                    form.show_all = true;
                    form.save_errors = problems.iter().map(form::at_field).collect();
                }
                fx.error(format!("not saved: {summary}"));
            }
        }
    }

    fn open_add(&mut self) {
        let base_run = match &self.inventory {
            Some((inv, base)) => RunOptions {
                // The inventory's sources are absolute already.
                inventory: inv
                    .sources
                    .iter()
                    .map(|s| s.display().to_string())
                    .collect(),
                workdir: Some(base.display().to_string()),
                ..RunOptions::default()
            },
            None => RunOptions::default(),
        };
        self.form = Some(ScheduleForm::new(&self.catalog, base_run));
    }

    fn open_edit(&mut self, fx: &mut Effects<Message>) {
        match self.selected() {
            Some(ScheduleRow {
                schedule: Some(s), ..
            }) => self.form = Some(ScheduleForm::edit(s, &self.catalog)),
            Some(row) => fx.error(row.problem.clone().unwrap_or_default()),
            None => fx.info("no schedule to edit: a adds one"),
        }
    }

    /// Checks the form and, when it is valid, stores it off the UI task.
    pub fn submit(&mut self, fx: &mut Effects<Message>) {
        let now = self.now();
        let Some(form) = self.form.as_mut() else {
            return;
        };
        if form.saving {
            return;
        }
        form.save_errors.clear();
        let valid = match form.validate(&self.catalog, now) {
            Ok(valid) => valid,
            Err(problems) => {
                form.show_all = true;
                if let Some((field, _)) = problems.first() {
                    form.focus = *field;
                }
                return fx.error(format!(
                    "not saved: {} problem(s), shown at the fields",
                    problems.len()
                ));
            }
        };
        let Some(journal) = self.journal.clone() else {
            return fx.error("no journal path: cannot save");
        };
        form.saving = true;
        let inventory = self.inventory.clone();
        fx.work(move || {
            Message::Saved(
                tasks::schedules::save(&journal, valid.schedule, valid.editing, inventory, now)
                    .map(Box::new),
            )
        });
    }

    fn toggle_pause(&mut self, fx: &mut Effects<Message>) {
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
        fx.work(move || {
            Message::Changed(tasks::schedules::set_paused(
                &journal, id, &name, !paused, now,
            ))
        });
    }

    fn handle_form(&mut self, action: &Action, fx: &mut Effects<Message>) {
        let catalog = self.catalog.clone();
        let Some(form) = self.form.as_mut() else {
            return;
        };
        match action {
            Action::Cancel => {
                self.form = None;
                fx.info("nothing saved");
            }
            Action::Submit | Action::Save => self.submit(fx),
            Action::Down | Action::FocusNext => form.move_focus(true),
            Action::Up => form.move_focus(false),
            Action::NextChoice => form.cycle(&catalog, true),
            Action::PrevChoice => form.cycle(&catalog, false),
            Action::InsertChar(' ') if form.is_choice(form.focus) => form.cycle(&catalog, true),
            Action::InsertChar(c) => form.edit_text(|t| t.push(*c)),
            Action::Backspace => form.edit_text(TextInput::backspace),
            Action::ClearInput => form.edit_text(TextInput::clear),
            _ => {}
        }
    }
}

impl Update for SchedulesView {
    type Message = Message;

    fn handle(&mut self, action: &Action, fx: &mut Effects<Message>) {
        if self.form.is_some() {
            return self.handle_form(action, fx);
        }
        let count = self.rows().len();
        if self.list.handle(action, count) {
            return;
        }
        match action {
            Action::NewItem => self.open_add(),
            Action::Edit | Action::Submit => self.open_edit(fx),
            Action::TogglePause => self.toggle_pause(fx),
            Action::DeleteItem => {
                if let Some(row) = self.selected() {
                    fx.dialog(Dialog::delete_schedule(row.id, &row.name));
                }
            }
            Action::Refresh => self.refresh(fx),
            _ => {}
        }
    }

    fn on_message(&mut self, message: Message, fx: &mut Effects<Message>) {
        match message {
            Message::Listed { generation, result } => {
                if generation == self.generation {
                    self.listed(result, fx);
                }
            }
            Message::Saved(result) => self.saved(result, fx),
            Message::Changed(result) => {
                match result {
                    Ok(text) => fx.info(text),
                    Err(e) => fx.error(e),
                }
                self.refresh(fx);
            }
        }
    }

    /// Deletes a schedule (the dialog said yes). Its runs stay in history.
    fn answer(&mut self, kind: &DialogKind, action: &Action, fx: &mut Effects<Message>) {
        let (DialogKind::DeleteSchedule { id }, Action::Confirm) = (kind, action) else {
            return;
        };
        let Some(journal) = self.journal.clone() else {
            return;
        };
        let id = *id;
        fx.work(move || Message::Changed(tasks::schedules::remove(&journal, id)));
    }

    fn on_show(&mut self, fx: &mut Effects<Message>) {
        if self.form.is_none() {
            self.refresh(fx);
        }
    }
}

impl View for SchedulesView {
    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        match &self.form {
            Some(form) => self.draw_form(form, frame, area, theme),
            None => self.draw_list(frame, area, theme),
        }
    }

    fn set_area(&mut self, area: Rect) {
        self.area = area;
        let count = self.rows().len();
        self.list
            .set_height((area.height as usize).saturating_sub(3), count);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::catalog::FlowEntry;
    use crate::tui::effects::Effect;
    use chrono::TimeZone;
    use std::path::Path;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    /// Carries out the view's effects as the App does, inline: work runs
    /// and its message comes back; the statuses said are returned.
    fn settle(view: &mut SchedulesView, mut fx: Effects<Message>) -> Vec<String> {
        let mut said = Vec::new();
        while !fx.is_empty() {
            let mut next = Effects::new();
            for effect in fx {
                match effect {
                    Effect::Work(work) => view.on_message(work(), &mut next),
                    Effect::Status(_, text) => said.push(text),
                    _ => {}
                }
            }
            fx = next;
        }
        said
    }

    #[test]
    fn after_a_save_the_cursor_lands_on_the_saved_row_once_the_list_is_back() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
        let catalog = Arc::new(Catalog::of_flows(vec![FlowEntry::load(
            &sample.join("flows/health-check.yml"),
        )]));
        let dir = tempfile::tempdir().unwrap();
        let mut view = SchedulesView::new();
        view.set_journal_path(dir.path().join("j.db"));
        view.set_catalog(catalog);
        view.set_now(now());
        for name in ["b-second", "a-first"] {
            view.handle(&Action::NewItem, &mut Effects::new());
            let form = view.form_mut().unwrap();
            form.name = TextInput::with_text(name);
            form.zone = TextInput::with_text("UTC");
            let mut fx = Effects::new();
            view.submit(&mut fx);
            let said = settle(&mut view, fx);
            assert!(said[0].contains("added"), "{said:?}");
        }
        let names: Vec<&str> = view.rows().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(view.selected().unwrap().name, "a-first");
    }
}
