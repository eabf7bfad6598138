//! A past run opened in the Run view's replay mode: a `RunStore` fed the
//! run's events rebuilt from the journal. The whole run is read when it
//! opens; while playing, the next stretch, a budget at a time; after a seek
//! back, the run again from its start up to the playhead. Every read runs
//! off the UI task and comes back as a `Message`.

use std::sync::Arc;
use std::time::Instant;

use super::playback::Playback;
use super::{HistoryView, Message, Mode};
use crate::engine::events::InstanceId;
use crate::tui::action::Action;
use crate::tui::effects::Effects;
use crate::tui::run_store::{RunStore, SharedRunStore};
use crate::tui::tasks;
use crate::tui::tasks::history::{Advance, Built};
use crate::tui::tasks::replay::{ReplayCursor, ReplayPlan};
use crate::tui::views::run::{ReplayBar, RunView};
use crate::tui::views::{Update, View};

/// The run shown in replay: its plan, its store and how far it is read.
pub(super) struct OpenRun {
    pub(super) id: InstanceId,
    pub(super) plan: Arc<ReplayPlan>,
    pub(super) store: SharedRunStore,
    cursor: ReplayCursor,
    /// Bumped by every rebuild, so a late read is recognised.
    generation: u64,
    /// A read in flight.
    pub(super) reading: bool,
}

impl HistoryView {
    /// A Run view for a replay, on this view's journal.
    pub(super) fn replay_run_view(&self) -> RunView {
        let mut run = RunView::new();
        run.set_key_names(self.keys.clone());
        if let Some(path) = &self.journal {
            run.set_journal(path.clone());
        }
        run.set_area(self.area);
        run
    }

    pub(super) fn open(&mut self, id: InstanceId, fx: &mut Effects<Message>) {
        self.opening = Some(id);
        self.request_build(id, None, None, fx);
    }

    /// Reads the run (plan given: keeps it) up to real time `until`.
    pub(super) fn request_build(
        &mut self,
        id: InstanceId,
        plan: Option<Arc<ReplayPlan>>,
        until: Option<i64>,
        fx: &mut Effects<Message>,
    ) {
        let Some(path) = self.journal.clone() else {
            return;
        };
        self.build_generation += 1;
        let generation = self.build_generation;
        if let Some(open) = self.open_run.as_mut().filter(|o| o.id == id) {
            // Reads for the store as it is now are stale.
            open.generation = generation;
            open.reading = true;
        }
        fx.work(move || Message::Built {
            id,
            generation,
            result: tasks::history::build(&path, id, plan, until),
        });
    }

    /// The run's time at the playhead (the end: everything).
    pub(super) fn target(&self, plan: &ReplayPlan) -> i64 {
        if self.playback.at_end() {
            i64::MAX
        } else {
            plan.timeline.unmap(self.playback.position())
        }
    }

    /// Brings the store to the playhead: reads on from where it is, or
    /// rebuilds it from the start after a seek back. Then the bar.
    pub(super) fn sync_replay(&mut self, fx: &mut Effects<Message>) {
        let Some(open) = &self.open_run else {
            return;
        };
        let target = self.target(&open.plan);
        if !open.reading && target != open.cursor.reached {
            if target < open.cursor.reached {
                let (id, plan) = (open.id, open.plan.clone());
                self.request_build(id, Some(plan), Some(target), fx);
            } else if let Some(path) = self.journal.clone() {
                let open = self.open_run.as_mut().expect("checked above");
                open.reading = true;
                let (id, generation) = (open.id, open.generation);
                let (plan, cursor) = (open.plan.clone(), open.cursor);
                fx.work(move || Message::Advanced {
                    id,
                    generation,
                    result: tasks::history::advance(&path, &plan, cursor, target),
                });
            }
        }
        self.update_bar();
    }

    fn update_bar(&mut self) {
        let Some(open) = &self.open_run else {
            self.run.set_replay(None);
            return;
        };
        let timeline = &open.plan.timeline;
        self.run.set_replay(Some(ReplayBar {
            playing: self.playback.is_playing(),
            speed: self.playback.speed(),
            position: self.playback.position(),
            duration: self.playback.duration(),
            now: timeline.unmap(self.playback.position()),
        }));
    }

    pub(super) fn close_replay(&mut self, fx: &mut Effects<Message>) {
        // Back where it was opened from: the list, or the search's matches.
        self.mode = if std::mem::take(&mut self.search.came_from) {
            Mode::Search
        } else {
            Mode::List
        };
        self.open_run = None;
        self.run = self.replay_run_view();
        self.refresh(fx);
    }

    /// A run read up to a point: opened, or rebuilt in place.
    pub(super) fn built(
        &mut self,
        id: InstanceId,
        generation: u64,
        result: Result<Box<Built>, String>,
        fx: &mut Effects<Message>,
    ) {
        if generation != self.build_generation {
            return;
        }
        self.opening = None;
        let built = match result {
            Ok(built) => built,
            Err(e) => {
                if let Some(open) = self.open_run.as_mut() {
                    open.reading = false;
                }
                self.playback.stop();
                return fx.error(e);
            }
        };
        let Built {
            plan,
            store,
            cursor,
        } = *built;
        match self.open_run.as_mut().filter(|o| o.id == id) {
            Some(open) => {
                // Rebuilt in place: the Run view keeps its cursor and panes.
                *RunStore::lock(&open.store) = store;
                open.cursor = cursor;
                open.reading = false;
                if let Some(plan) = plan {
                    self.playback.set_duration(plan.timeline.duration());
                    open.plan = plan;
                }
                self.run.store_rebuilt();
            }
            None => {
                let Some(plan) = plan else {
                    return;
                };
                let store = store.shared();
                self.playback = Playback::new(plan.timeline.duration());
                self.run = self.replay_run_view();
                self.run.set_store(store.clone());
                self.open_run = Some(OpenRun {
                    id,
                    plan,
                    store,
                    cursor,
                    generation,
                    reading: false,
                });
                self.mode = Mode::Replay;
                self.reveal_opened(fx);
            }
        }
        self.sync_replay(fx);
    }

    /// The next stretch of a playing replay.
    pub(super) fn advanced(
        &mut self,
        id: InstanceId,
        generation: u64,
        result: Result<Advance, String>,
        fx: &mut Effects<Message>,
    ) {
        let Some(open) = self
            .open_run
            .as_mut()
            .filter(|o| o.id == id && o.generation == generation && o.reading)
        else {
            return;
        };
        open.reading = false;
        match result {
            Ok(advance) => {
                let mut store = RunStore::lock(&open.store);
                for event in &advance.events {
                    store.absorb(event);
                }
                drop(store);
                open.cursor = advance.cursor;
            }
            Err(e) => {
                self.playback.stop();
                return fx.error(e);
            }
        }
        self.sync_replay(fx);
    }

    /// A run still in progress is read again, plan and all.
    pub(super) fn reread_unfinished(&mut self, fx: &mut Effects<Message>) {
        if let Some(open) = &self.open_run
            && !open.plan.status.is_final()
            && !open.reading
        {
            let id = open.id;
            let until = (!self.playback.at_end()).then(|| self.target(&open.plan));
            self.request_build(id, None, until, fx);
        }
    }

    pub(super) fn replay_action(&mut self, action: &Action, fx: &mut Effects<Message>) {
        let now = Instant::now();
        // The Run view's search box has the keyboard while it is open.
        if self.run.captures_text() {
            return self.run_action(action, fx);
        }
        match action {
            Action::PlayPause => self.playback.toggle(now),
            Action::CycleSpeed => self.playback.cycle_speed(now),
            Action::SeekBack => self.playback.seek(-self.playback.step(), now),
            Action::SeekForward => self.playback.seek(self.playback.step(), now),
            Action::SeekStart => self.playback.seek_to(0, now),
            Action::SeekEnd => self.playback.seek_to(i64::MAX, now),
            Action::RerunFailed | Action::RetryFailed => {
                self.ask(tasks::run_session::AgainKind::Rerun, fx)
            }
            Action::ResumeRun => self.ask(tasks::run_session::AgainKind::Resume, fx),
            Action::TogglePause | Action::Confirm | Action::AbortRun | Action::SkipHost => {
                fx.warn(format!(
                    "a replay cannot be controlled: {} reruns its failed hosts, {} resumes it if interrupted; live runs are in Run ({})",
                    self.keys.of(&Action::RerunFailed),
                    self.keys.of(&Action::ResumeRun),
                    self.keys.of(&Action::ShowView(crate::tui::action::ViewId::Run)),
                ))
            }
            Action::Cancel if self.run.search_term().is_empty() => {
                return self.close_replay(fx);
            }
            other => self.run_action(other, fx),
        }
        self.sync_replay(fx);
    }

    /// An action for the replay's Run view; its work reports to History.
    fn run_action(&mut self, action: &Action, fx: &mut Effects<Message>) {
        let mut run_fx = Effects::new();
        self.run.handle(action, &mut run_fx);
        fx.absorb(run_fx, Message::Run);
    }
}
