//! The rollout planner: pick a flow, fill in its typed params, shape the
//! rollout (batches, interval, mode, max-fail, forks) for the hosts selected
//! in the Inventory view, see live which host lands in which batch, and
//! start the run after a final confirmation.
//!
//! The form is a list of rows (`form`). `enter` edits a text row (the
//! `input` keymap context takes over), `←`/`→` cycle a choice, and `s` (or
//! `enter` on the last row) asks to start. Everything shown is recomputed
//! when a value changes, not per frame. Drawing lives in `draw`.

mod draw;
mod form;

use std::path::PathBuf;
use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::{Hint, Update, View};
use crate::flow::ParamKind;
use crate::flow::catalog::Catalog;
use crate::inventory::Inventory;
use crate::plan::RunSpec;
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::keymap::KeyContext;
use crate::tui::layout::{self, WIDE};
use crate::tui::tasks;
use crate::tui::theme::Theme;
use crate::tui::widgets::scroll_list::ScrollList;
use form::{PlanForm, PlanRow};

pub use form::sizes_text;

/// What the Planner's work reports.
#[derive(Debug)]
pub enum Message {
    /// The hosts the flow's `targets:` pattern selects.
    Targets {
        pattern: String,
        found: Result<Vec<crate::inventory::HostId>, String>,
    },
}

pub struct PlannerView {
    form: PlanForm,
    /// The focused row.
    row: usize,
    editing: bool,
    /// The flow picker while it is open.
    picker: Option<ScrollList>,
    area: Rect,
    /// Where the inventory's relative paths start.
    base: PathBuf,
}

impl Default for PlannerView {
    fn default() -> Self {
        PlannerView::new()
    }
}

impl PlannerView {
    pub fn new() -> PlannerView {
        PlannerView {
            form: PlanForm::new(),
            row: 0,
            editing: false,
            picker: None,
            area: Rect::default(),
            base: PathBuf::from("."),
        }
    }

    /// The flows to offer (the catalog was read again).
    pub fn set_catalog(&mut self, catalog: Arc<Catalog>) {
        self.form.set_catalog(catalog);
        self.row = self.row.min(self.form.rows().len().saturating_sub(1));
        self.picker = None;
    }

    pub fn flows_loaded(&self) -> bool {
        self.form.catalog.is_some()
    }

    pub fn flow_labels(&self) -> Vec<String> {
        self.form.entries().iter().map(|f| f.label()).collect()
    }

    /// Chooses a flow by its name (tests, and a flow opened elsewhere).
    pub fn choose_flow(&mut self, name: &str) -> bool {
        let Some(i) = self.form.entries().iter().position(|f| f.label() == name) else {
            return false;
        };
        self.form.choose(i);
        self.row = self.row.min(self.form.rows().len().saturating_sub(1));
        true
    }

    /// The hosts selected in the Inventory view, by name, in inventory
    /// order; `base` is where an `@file` pattern of the flow's targets is read.
    pub fn set_selection(&mut self, inv: Arc<Inventory>, names: &[String], base: PathBuf) {
        self.form.set_selection(inv, names);
        self.base = base;
    }

    /// With nothing selected, finds the hosts of the flow's `targets:` off
    /// the UI task (a pattern may read a file).
    fn find_targets(&mut self, fx: &mut Effects<Message>) {
        let (Some(pattern), Some(inv)) = (self.form.targets_wanted(), self.form.inv.clone()) else {
            return;
        };
        let base = self.base.clone();
        fx.work(move || Message::Targets {
            found: tasks::inventory::evaluate_pattern(&inv, &pattern, &base),
            pattern,
        });
    }

    /// The run the form describes, or every reason it cannot start.
    pub fn run_spec(&self) -> Result<RunSpec, Vec<String>> {
        self.form.run_spec()
    }

    /// One command on `hosts` with this Planner's rollout, and the start
    /// dialog's summary of it (the command box).
    pub fn command_spec(
        &self,
        command: &str,
        hosts: &[String],
    ) -> Result<(RunSpec, Vec<String>), Vec<String>> {
        self.form.command_spec(command, hosts)
    }

    /// The final dialog's summary of a run.
    pub fn summary(&self, spec: &RunSpec) -> Vec<String> {
        self.form.summary(spec)
    }

    /// Live batch sizes for the selection (tests and the dialog).
    pub fn batch_sizes(&self) -> Result<Vec<usize>, String> {
        self.form.plan.clone()
    }

    pub fn preview(&self) -> &[String] {
        &self.form.preview
    }

    pub fn is_editing(&self) -> bool {
        self.editing
    }

    /// Focuses a row by its label (tests drive the form this way).
    pub fn focus_row(&mut self, label: &str) -> bool {
        let rows = self.form.rows();
        match rows.iter().position(|&r| self.form.row_label(r) == label) {
            Some(i) => {
                self.row = i;
                self.editing = false;
                true
            }
            None => false,
        }
    }

    fn current_row(&self) -> PlanRow {
        self.form
            .rows()
            .get(self.row)
            .copied()
            .unwrap_or(PlanRow::Flow)
    }

    fn cycle(&mut self, forward: bool) {
        self.form.cycle(self.current_row(), forward);
        self.row = self.row.min(self.form.rows().len().saturating_sub(1));
    }

    /// The flow picker's box in the view's area.
    fn picker_box(&self, area: Rect) -> Rect {
        layout::centered(area, 72, self.form.entries().len() as u16 + 2)
    }

    fn open_picker(&mut self) {
        let mut list = ScrollList::default();
        let n = self.form.entries().len();
        list.set_height(layout::inner(self.picker_box(self.area)).height as usize, n);
        list.select(self.form.flow_index, n);
        self.picker = Some(list);
    }

    fn handle_picker(&mut self, action: &Action) {
        let n = self.form.entries().len();
        let Some(list) = &mut self.picker else { return };
        if list.handle(action, n) {
            return;
        }
        match action {
            Action::Submit => {
                let chosen = list.cursor();
                self.picker = None;
                self.form.choose(chosen);
                self.row = self.row.min(self.form.rows().len().saturating_sub(1));
            }
            Action::Cancel => self.picker = None,
            _ => {}
        }
    }

    fn handle_edit(&mut self, action: &Action) {
        let row = self.current_row();
        match action {
            Action::Submit | Action::Cancel => self.editing = false,
            edit => {
                if let Some(input) = self.form.input_mut(row) {
                    input.edit(edit);
                }
            }
        }
        if row == PlanRow::Batches {
            self.form.replan();
        }
    }
}

impl PlannerView {
    fn route(&mut self, action: &Action, fx: &mut Effects<Message>) {
        if self.picker.is_some() {
            return self.handle_picker(action);
        }
        if self.editing {
            return self.handle_edit(action);
        }
        let last = self.form.rows().len().saturating_sub(1);
        match action {
            Action::Down | Action::ScrollDown { .. } => self.row = (self.row + 1).min(last),
            Action::Up | Action::ScrollUp { .. } => self.row = self.row.saturating_sub(1),
            Action::Top => self.row = 0,
            Action::Bottom => self.row = last,
            Action::PrevChoice => self.cycle(false),
            Action::NextChoice => self.cycle(true),
            Action::Submit => match self.current_row() {
                PlanRow::Flow if !self.form.entries().is_empty() => self.open_picker(),
                PlanRow::Start => fx.then(Action::StartRun),
                row if self.form.input_mut(row).is_some() => self.editing = true,
                PlanRow::Mode | PlanRow::Param(_) => self.cycle(true),
                _ => {}
            },
            _ => {}
        }
    }
}

impl Update for PlannerView {
    type Message = Message;

    fn handle(&mut self, action: &Action, fx: &mut Effects<Message>) {
        self.route(action, fx);
        // Another flow may have been chosen: its targets stand in.
        self.find_targets(fx);
    }

    fn on_message(&mut self, message: Message, _fx: &mut Effects<Message>) {
        match message {
            Message::Targets { pattern, found } => {
                if self.form.targets_wanted().as_deref() == Some(pattern.as_str()) {
                    self.form.set_targets(pattern, found);
                }
            }
        }
    }

    fn on_show(&mut self, fx: &mut Effects<Message>) {
        self.find_targets(fx);
    }
}

impl View for PlannerView {
    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let form_height =
            (self.form.rows().len() as u16 + 5).min(area.height.saturating_sub(5).max(3));
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
        if let Some(list) = &self.picker {
            self.draw_picker(frame, self.picker_box(area), theme, list);
        }
    }

    fn set_area(&mut self, area: Rect) {
        self.area = area;
        let rows = layout::inner(self.picker_box(area)).height as usize;
        let n = self.form.entries().len();
        if let Some(list) = &mut self.picker {
            list.set_height(rows, n);
        }
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
            PlanRow::Flow => {
                hints.push(Hint::new(Action::Submit, "pick flow"));
                hints.push(Hint::pair(Action::PrevChoice, Action::NextChoice, "cycle"));
            }
            PlanRow::Mode => {
                hints.push(Hint::pair(Action::PrevChoice, Action::NextChoice, "cycle"))
            }
            PlanRow::Param(i)
                if matches!(
                    self.form.params.get(i).map(|p| &p.spec.kind),
                    Some(ParamKind::Bool) | Some(ParamKind::Choice(_))
                ) =>
            {
                hints.push(Hint::pair(Action::PrevChoice, Action::NextChoice, "cycle"))
            }
            PlanRow::Start => {}
            _ => hints.push(Hint::new(Action::Submit, "edit")),
        }
        hints.push(Hint::new(Action::StartRun, "start run"));
        hints
    }

    fn help_sections(&self) -> Vec<(&'static str, KeyContext)> {
        vec![
            ("Planner", KeyContext::Planner),
            ("Editing a field", KeyContext::Input),
            ("Questions", KeyContext::Dialog),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::catalog::FlowEntry;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use std::path::Path;

    /// A catalog of `n` flows named check-0, check-1, ...
    fn many_flows(n: usize) -> Arc<Catalog> {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory/flows/health-check.yml");
        let one = FlowEntry::load(&path);
        let flows = (0..n)
            .map(|i| {
                let mut entry = one.clone();
                if let Ok(flow) = &mut entry.loaded {
                    flow.name = format!("check-{i}");
                }
                entry
            })
            .collect();
        Arc::new(Catalog::of_flows(flows))
    }

    fn screen(view: &PlannerView, area: Rect) -> String {
        let mut terminal = Terminal::new(TestBackend::new(area.width, area.height)).unwrap();
        terminal
            .draw(|frame| view.draw(frame, area, &Theme::default_theme()))
            .unwrap();
        let buffer = terminal.backend().buffer();
        (0..area.height)
            .map(|y| {
                (0..area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    + "\n"
            })
            .collect()
    }

    #[test]
    fn the_flow_picker_scrolls_to_flows_below_its_box() {
        let area = Rect::new(0, 0, 80, 14);
        let mut view = PlannerView::new();
        view.set_catalog(many_flows(30));
        view.set_area(area);
        let mut fx = Effects::new();
        view.handle(&Action::Submit, &mut fx);
        assert!(screen(&view, area).contains("Choose a flow"));
        view.handle(&Action::Bottom, &mut fx);
        let shown = screen(&view, area);
        assert!(
            shown.contains("check-29"),
            "the last flow is in view:\n{shown}"
        );
        assert!(
            !shown.contains("check-0 "),
            "the first has scrolled away:\n{shown}"
        );
        view.handle(&Action::Submit, &mut fx);
        assert_eq!(view.form.flow_index, 29);
    }
}
