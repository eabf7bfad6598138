//! The gathered view's comparison as the view keeps it: asked for when the
//! store changed while the view is shown (`tasks::gather` works it out off
//! the UI task), kept until the next answer; `d` (diffs against the
//! majority) and `=` (what counts as host specific: `NormalizeOptions`,
//! the choice `--gather --normalize` makes) are the view's to choose.

use std::time::Instant;

use super::{Message, OutputLayout, RunView};
use crate::compare::NormalizeOptions;
use crate::tui::effects::Effects;
use crate::tui::run_store::RunStore;
use crate::tui::tasks::gather::{self, Compared, GatherRequest, Gathered, Templates};

/// A live run's comparisons take at most a fifth of a core: after one
/// that took 30 ms, the next waits 120 ms.
const REST_FACTOR: u32 = 4;

#[derive(Debug, Default)]
pub(super) struct Gathering {
    /// `d`: minority groups as diffs against the majority.
    pub(super) diff: bool,
    /// `=`: what counts as host specific beyond the host's names.
    pub(super) normalize: NormalizeOptions,
    pub(super) compared: Compared,
    /// The store revision compared.
    revision: Option<u64>,
    /// `compared` has the diffs.
    diffs: bool,
    /// The normalised outputs of the last comparison (with the task while
    /// one runs).
    templates: Templates,
    /// A comparison is under way.
    asked: bool,
    /// Tells the answer to the current question from late ones.
    generation: u64,
    /// A live run's next comparison waits until then: a comparison of
    /// 10,000 hosts takes tens of milliseconds of a core.
    rest_until: Option<Instant>,
}

impl Gathering {
    /// Forgets the comparison (another run, the store rebuilt, another
    /// normalisation); an answer under way is dropped when it comes.
    pub(super) fn forget(&mut self) {
        self.revision = None;
        self.templates.clear();
        self.compared = Compared::default();
        self.asked = false;
        self.generation += 1;
        self.rest_until = None;
    }
}

impl RunView {
    /// Asks for the comparison again if the store changed while the
    /// gathered view is shown (or `d` wants diffs it does not have).
    pub(super) fn refresh_gathering(&mut self, fx: &mut Effects<Message>) {
        if self.layout != OutputLayout::Gathered {
            // The templates cost as much as the buffers they copy: kept
            // only while the view shows them.
            if self.gathering.revision.is_some() || self.gathering.asked {
                self.gathering.forget();
            }
            return;
        }
        let Some(store) = self.store.clone() else {
            return;
        };
        let gathering = &mut self.gathering;
        if gathering.asked {
            return;
        }
        let revision = RunStore::lock(&store).revision;
        let wants_diffs = gathering.diff && !gathering.diffs;
        if gathering.revision == Some(revision) && !wants_diffs {
            return;
        }
        // Only the store moved on (a live run): not more often than the
        // comparisons' own cost allows. A key's change goes at once.
        if gathering.revision.is_some()
            && !wants_diffs
            && gathering.rest_until.is_some_and(|t| Instant::now() < t)
        {
            return;
        }
        gathering.asked = true;
        let request = GatherRequest {
            store,
            options: gathering.normalize,
            templates: std::mem::take(&mut gathering.templates),
            diffs: gathering.diff,
            generation: gathering.generation,
        };
        fx.work(move || Message::Gathered(Box::new(gather::compare(request))));
    }

    /// A comparison came back. True when it is shown.
    pub(super) fn gathered(&mut self, answer: Gathered) -> bool {
        let gathering = &mut self.gathering;
        if answer.generation != gathering.generation {
            return false;
        }
        gathering.asked = false;
        gathering.rest_until = Some(Instant::now() + answer.took * REST_FACTOR);
        gathering.revision = Some(answer.revision);
        gathering.diffs = answer.diffs;
        gathering.compared = answer.compared;
        gathering.templates = answer.templates;
        true
    }

    /// `=`: the next normalisation of the cycle; the groups are worked out
    /// again with it.
    pub(super) fn cycle_normalize(&mut self, fx: &mut Effects<Message>) {
        let next = self.gathering.normalize.next();
        self.gathering.forget();
        self.gathering.normalize = next;
        self.layout = OutputLayout::Gathered;
        self.refresh_gathering(fx);
    }

    /// What the gathered view compares outputs after.
    pub fn normalize_options(&self) -> NormalizeOptions {
        self.gathering.normalize
    }

    /// The gathered view's comparison, as last worked out.
    pub fn compared(&self) -> &Compared {
        &self.gathering.compared
    }

    /// Minority groups show as diffs against the majority.
    pub fn showing_diff(&self) -> bool {
        self.gathering.diff
    }

    /// A comparison is under way.
    pub fn comparing(&self) -> bool {
        self.gathering.asked
    }
}
