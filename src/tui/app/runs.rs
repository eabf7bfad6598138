//! The runs this console shows: the live ones it started (each with its
//! handle, so its controls reach it alone) and ended ones still listed.
//! One of them is shown in the Run view; its questions (guard word,
//! batch confirmation, approval) are the ones asked, the others wait
//! parked here until the operator switches to them.

use std::sync::Arc;

use super::guard::GuardAnswer;
use crate::engine::events::InstanceId;
use crate::tui::action::ViewId;
use crate::tui::run_store::{RunStore, SharedRunStore};
use crate::tui::tasks::run_session::RunHandle;
use crate::tui::views::run::waits_for_operator;
use crate::tui::widgets::dialog::DialogKind;

/// Ended runs kept in the list; the oldest ended one goes first. Live
/// runs are never dropped.
pub const ENDED_KEPT: usize = 8;

/// One run of the list.
pub struct ConsoleRun {
    pub store: SharedRunStore,
    /// Set while the run is live (started and not yet ended).
    pub handle: Option<RunHandle>,
    /// Asked to start, not started or failed yet: it will be live.
    starting: bool,
    /// The shown run's question state while another run is shown.
    parked: Option<Parked>,
    /// The status line said this run (not shown) waits for an answer.
    told_waiting: bool,
    /// The view it was started from, to go back to if it never runs.
    origin: Option<ViewId>,
}

/// What taking a run that never ran out of the list leaves.
pub struct Removed {
    pub origin: Option<ViewId>,
    /// It was the shown one: another (or none) is shown now, with this
    /// question state.
    pub was_shown: bool,
    pub parked: Parked,
}

/// What was asked and answered for a run, and the host its cursor stood
/// on: kept with it while another is shown, so switching back neither
/// asks again, forgets a typed word, nor loses the place.
#[derive(Default)]
pub struct Parked {
    pub asked: Option<DialogKind>,
    pub guard: GuardAnswer,
    pub cursor_host: Option<String>,
}

#[derive(Default)]
pub struct RunList {
    runs: Vec<ConsoleRun>,
    shown: usize,
}

impl RunList {
    pub fn count(&self) -> usize {
        self.runs.len()
    }

    /// Position of the shown run.
    pub fn shown_index(&self) -> usize {
        self.shown
    }

    pub fn stores(&self) -> Vec<SharedRunStore> {
        self.runs.iter().map(|r| r.store.clone()).collect()
    }

    pub fn shown(&self) -> Option<&ConsoleRun> {
        self.runs.get(self.shown)
    }

    /// The shown run's handle while it is live.
    pub fn shown_handle(&self) -> Option<&RunHandle> {
        self.shown().and_then(|r| r.handle.as_ref())
    }

    /// Every live run's handle, in list order.
    pub fn live(&self) -> impl Iterator<Item = &RunHandle> {
        self.runs.iter().filter_map(|r| r.handle.as_ref())
    }

    pub fn any_live(&self) -> bool {
        self.live().next().is_some()
    }

    /// A run was asked to start and has not reported yet.
    pub fn any_starting(&self) -> bool {
        self.runs.iter().any(|r| r.starting)
    }

    /// Adds a run (`starting`: its launch will report) and shows it;
    /// `parked` is the state of the run shown until now. Ended runs over
    /// `ENDED_KEPT` leave the list.
    pub fn add(&mut self, store: SharedRunStore, parked: Parked, starting: bool) {
        if let Some(run) = self.runs.get_mut(self.shown) {
            run.parked = Some(parked);
        }
        self.runs.push(ConsoleRun {
            store,
            handle: None,
            starting,
            parked: None,
            told_waiting: false,
            origin: None,
        });
        self.shown = self.runs.len() - 1;
        let ended = |r: &ConsoleRun| r.handle.is_none() && !r.starting;
        while self.runs.iter().filter(|r| ended(r)).count() > ENDED_KEPT {
            // Never the shown one (the last).
            match self.runs[..self.shown].iter().position(ended) {
                Some(oldest) => {
                    self.runs.remove(oldest);
                    self.shown -= 1;
                }
                None => break,
            }
        }
    }

    /// Shows the run at `to` (wrapping round); `parked` is the question
    /// state of the run shown until now. Returns the question state to use
    /// now: the newly shown run's, or `parked` back when nothing changed.
    pub fn switch(&mut self, to: isize, parked: Parked) -> (bool, Parked) {
        let count = self.runs.len() as isize;
        let to = if count == 0 {
            return (false, parked);
        } else {
            to.rem_euclid(count) as usize
        };
        if to == self.shown {
            return (false, parked);
        }
        self.runs[self.shown].parked = Some(parked);
        self.shown = to;
        (true, self.runs[to].parked.take().unwrap_or_default())
    }

    /// The run whose store this is has started.
    pub fn started(&mut self, handle: RunHandle) {
        if let Some(run) = self.by_store(&handle.store) {
            run.starting = false;
            run.handle = Some(handle);
        }
    }

    /// The run whose store this is did not start.
    pub fn failed(&mut self, store: &SharedRunStore) {
        if let Some(run) = self.by_store(store) {
            run.starting = false;
        }
    }

    /// Notes the view the run was started from.
    pub fn set_origin(&mut self, store: &SharedRunStore, view: ViewId) {
        if let Some(run) = self.by_store(store) {
            run.origin = Some(view);
        }
    }

    /// Takes out the run whose store this is (it never ran). When it was
    /// shown, the run before it is shown instead.
    pub fn remove(&mut self, store: &SharedRunStore) -> Option<Removed> {
        let i = self
            .runs
            .iter()
            .position(|r| Arc::ptr_eq(&r.store, store))?;
        let run = self.runs.remove(i);
        let was_shown = i == self.shown;
        if i < self.shown || (was_shown && self.shown > 0) {
            self.shown -= 1;
        }
        let parked = match self.runs.get_mut(self.shown) {
            Some(now) if was_shown => now.parked.take().unwrap_or_default(),
            _ => Parked::default(),
        };
        Some(Removed {
            origin: run.origin,
            was_shown,
            parked,
        })
    }

    fn by_store(&mut self, store: &SharedRunStore) -> Option<&mut ConsoleRun> {
        self.runs.iter_mut().find(|r| Arc::ptr_eq(&r.store, store))
    }

    /// The run `instance` has ended: it stays listed, no longer live.
    /// Returns true when it is the shown one.
    pub fn ended(&mut self, instance: InstanceId) -> bool {
        let found = self
            .runs
            .iter()
            .position(|r| r.handle.as_ref().is_some_and(|h| h.instance == instance));
        match found {
            Some(i) => {
                self.runs[i].handle = None;
                i == self.shown
            }
            None => false,
        }
    }

    /// Live runs other than the shown one that have just begun to wait
    /// for an operator's answer (each said once per wait).
    pub fn newly_waiting(&mut self) -> Vec<InstanceId> {
        let shown = self.shown;
        let mut ids = Vec::new();
        for (i, run) in self.runs.iter_mut().enumerate() {
            let Some(handle) = &run.handle else {
                continue;
            };
            let waits = waits_for_operator(&RunStore::lock(&run.store));
            if waits && !run.told_waiting && i != shown {
                ids.push(handle.instance);
            }
            // The shown run's questions are asked in the dialog.
            run.told_waiting = waits && (run.told_waiting || i != shown);
        }
        ids
    }

    /// Takes every live run's handle out (the console is closing).
    pub fn take_live(&mut self) -> Vec<RunHandle> {
        self.runs
            .iter_mut()
            .filter_map(|r| r.handle.take())
            .collect()
    }
}

impl super::App {
    /// Adds a run to the list and shows it in the Run view (`starting`:
    /// its launch will report); the run shown until now keeps its
    /// questions and place for when it is shown again.
    pub(super) fn add_run(&mut self, store: SharedRunStore, starting: bool) {
        // Its key questions are asked, even while another run is aborting.
        self.passphrases.stop_withdrawing();
        let parked = self.park_shown();
        self.runs.add(store.clone(), parked, starting);
        self.run.set_store(store);
        self.run_list_to_view();
    }

    /// `}` / `{`: the next or previous run of the list.
    pub(super) fn switch_run(&mut self, step: isize) {
        let to = self.runs.shown_index() as isize + step;
        let leaving = self.park_shown();
        let (switched, parked) = self.runs.switch(to, leaving);
        self.asked = parked.asked;
        self.guard = parked.guard;
        if !switched {
            return self.set_status(
                crate::tui::effects::StatusLevel::Info,
                "one run in the list: start another from the Planner (3) or with :",
            );
        }
        if let Some(run) = self.runs.shown() {
            self.run.set_store(run.store.clone());
        }
        if let Some(host) = &parked.cursor_host {
            self.run.select_host(host);
        }
        self.run_list_to_view();
    }

    /// The shown run's question state and place, taken out to be parked.
    fn park_shown(&mut self) -> Parked {
        Parked {
            asked: self.asked.take(),
            guard: std::mem::take(&mut self.guard),
            cursor_host: self.run.cursor_host_name(),
        }
    }

    /// Says in the status line when a run not shown starts waiting for
    /// an answer: its question is asked once it is shown.
    pub(super) fn tell_waiting_runs(&mut self) {
        let ids = self.runs.newly_waiting();
        if let Some(id) = ids.first() {
            let keys = self.run_keys();
            self.set_status(
                crate::tui::effects::StatusLevel::Warning,
                format!("run {id} waits for an answer: {keys} show it (Run view, 4)"),
            );
        }
    }

    /// The keys that switch runs, as the keymap in use names them.
    fn run_keys(&self) -> String {
        let contexts = [crate::tui::keymap::KeyContext::Run];
        let key = |action: &crate::tui::action::Action| {
            self.keymap
                .keys_for(&contexts, action)
                .first()
                .map(|k| k.to_string())
                .unwrap_or_default()
        };
        format!(
            "{}/{}",
            key(&crate::tui::action::Action::PrevRun),
            key(&crate::tui::action::Action::NextRun)
        )
    }

    /// A run that never ran has left the list: the run shown now (if
    /// any) gets back its questions and place, and the view it was asked
    /// from is shown again.
    pub(super) fn after_removal(&mut self, removed: Removed) {
        if removed.was_shown {
            self.asked = removed.parked.asked;
            self.guard = removed.parked.guard;
            match self.runs.shown().map(|r| r.store.clone()) {
                Some(store) => self.run.set_store(store),
                None => self.run.clear_store(),
            }
            if let Some(host) = &removed.parked.cursor_host {
                self.run.select_host(host);
            }
            if self.view == ViewId::Run
                && let Some(origin) = removed.origin
            {
                self.show(origin);
            }
        }
        self.run_list_to_view();
    }

    /// The Run view's run list (its strip) follows the App's.
    pub(super) fn run_list_to_view(&mut self) {
        self.run
            .set_runs(self.runs.stores(), self.runs.shown_index());
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> SharedRunStore {
        RunStore::default().shared()
    }

    #[test]
    fn the_oldest_ended_runs_leave_and_runs_still_starting_never_do() {
        let mut list = RunList::default();
        let starting: Vec<SharedRunStore> = (0..3).map(|_| store()).collect();
        for s in &starting {
            list.add(s.clone(), Parked::default(), true);
        }
        let ended: Vec<SharedRunStore> = (0..ENDED_KEPT + 2).map(|_| store()).collect();
        for s in &ended {
            list.add(s.clone(), Parked::default(), false);
        }
        let kept = list.stores();
        assert_eq!(kept.len(), 3 + ENDED_KEPT);
        for s in &starting {
            assert!(
                kept.iter().any(|k| Arc::ptr_eq(k, s)),
                "a starting run left"
            );
        }
        // The two oldest ended ones went; the newest is shown.
        assert!(!kept.iter().any(|k| Arc::ptr_eq(k, &ended[0])));
        assert!(!kept.iter().any(|k| Arc::ptr_eq(k, &ended[1])));
        assert!(Arc::ptr_eq(
            &kept[list.shown_index()],
            ended.last().unwrap()
        ));
    }

    #[test]
    fn a_run_that_never_ran_leaves_and_the_one_before_is_shown_again() {
        let mut list = RunList::default();
        let (first, again) = (store(), store());
        list.add(first.clone(), Parked::default(), false);
        let first_state = Parked {
            cursor_host: Some("web-02".into()),
            ..Parked::default()
        };
        list.add(again.clone(), first_state, true);
        list.set_origin(&again, ViewId::History);
        let removed = list.remove(&again).expect("listed");
        assert!(removed.was_shown);
        assert_eq!(removed.origin, Some(ViewId::History));
        assert_eq!(removed.parked.cursor_host.as_deref(), Some("web-02"));
        assert_eq!((list.count(), list.shown_index()), (1, 0));
        assert!(Arc::ptr_eq(&list.stores()[0], &first));
        // The last one out leaves nothing shown.
        let removed = list.remove(&first).expect("listed");
        assert!(removed.was_shown && removed.origin.is_none());
        assert_eq!(list.count(), 0);
        assert!(list.remove(&first).is_none());
    }

    #[test]
    fn switching_goes_round_and_gives_back_each_runs_parked_state() {
        let mut list = RunList::default();
        list.add(store(), Parked::default(), false);
        list.add(store(), Parked::default(), false);
        let leaving = Parked {
            cursor_host: Some("web-02".into()),
            ..Parked::default()
        };
        let (switched, parked) = list.switch(2, leaving);
        assert!(switched);
        assert_eq!(list.shown_index(), 0);
        assert_eq!(parked.cursor_host, None);
        let (switched, parked) = list.switch(-1, parked);
        assert!(switched);
        assert_eq!(list.shown_index(), 1);
        assert_eq!(parked.cursor_host.as_deref(), Some("web-02"));
        let (switched, parked) = list.switch(1, parked);
        assert!(!switched, "the same run: nothing changes");
        assert_eq!(parked.cursor_host.as_deref(), Some("web-02"));
    }
}
