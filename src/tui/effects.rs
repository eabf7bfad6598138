//! What a view (or a part of the App) asks of the App besides changing its
//! own state: a line in the status bar, a question in the shared dialog, a
//! follow-up action, slow work to run off the UI thread, or something only
//! the App can do. A handler gets `&mut Effects<M>` and pushes onto it; the
//! App carries them out, wrapping the view's messages (`M`) into its own.
//! Every view reports status, asks questions and starts work this one way.

use super::action::Action;
use super::tasks::run_session::AgainKind;
use super::widgets::dialog::Dialog;
use crate::engine::events::InstanceId;

/// How a status line reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusLevel {
    Info,
    Warning,
    Error,
}

/// A job for a blocking thread; what it returns comes back to its view as
/// a message.
pub type Work<M> = Box<dyn FnOnce() -> M + Send>;

/// What only the App can do for a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppRequest {
    /// Read the flow and atom catalog again (a flow was saved or the
    /// operator asked): every view that offers flows gets the new one.
    ReloadCatalog,
    /// Run a past run again (History's rerun or resume, once confirmed):
    /// a console run like any other, in the Run view's list.
    RunAgain { kind: AgainKind, id: InstanceId },
}

pub enum Effect<M> {
    Status(StatusLevel, String),
    /// Ask in the shared dialog; the answer goes back to the view that asked.
    Dialog(Dialog),
    /// An action to apply next, as if the operator had given it.
    Then(Action),
    Work(Work<M>),
    App(AppRequest),
}

impl<M> std::fmt::Debug for Effect<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Status(level, text) => write!(f, "Status({level:?}, {text:?})"),
            Effect::Dialog(d) => write!(f, "Dialog({:?})", d.kind),
            Effect::Then(action) => write!(f, "Then({action:?})"),
            Effect::Work(_) => f.write_str("Work(..)"),
            Effect::App(request) => write!(f, "App({request:?})"),
        }
    }
}

/// The effects of one action or message, in the order they were asked for.
#[derive(Debug)]
pub struct Effects<M> {
    list: Vec<Effect<M>>,
}

impl<M> Default for Effects<M> {
    fn default() -> Self {
        Effects { list: Vec::new() }
    }
}

impl<M: 'static> Effects<M> {
    pub fn new() -> Effects<M> {
        Effects::default()
    }

    pub fn status(&mut self, level: StatusLevel, text: impl Into<String>) {
        self.list.push(Effect::Status(level, text.into()));
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.status(StatusLevel::Info, text);
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.status(StatusLevel::Warning, text);
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.status(StatusLevel::Error, text);
    }

    pub fn dialog(&mut self, dialog: Dialog) {
        self.list.push(Effect::Dialog(dialog));
    }

    pub fn then(&mut self, action: Action) {
        self.list.push(Effect::Then(action));
    }

    /// Runs `work` off the UI thread; its result comes back as a message.
    pub fn work(&mut self, work: impl FnOnce() -> M + Send + 'static) {
        self.list.push(Effect::Work(Box::new(work)));
    }

    pub fn ask_app(&mut self, request: AppRequest) {
        self.list.push(Effect::App(request));
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The status lines asked for, for tests.
    pub fn statuses(&self) -> Vec<(StatusLevel, &str)> {
        self.list
            .iter()
            .filter_map(|e| match e {
                Effect::Status(level, text) => Some((*level, text.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The same effects for whoever holds this view: its messages wrapped
    /// into the holder's (`wrap`).
    pub fn map<N: 'static>(self, wrap: fn(M) -> N) -> Effects<N> {
        Effects {
            list: self
                .list
                .into_iter()
                .map(|effect| match effect {
                    Effect::Status(level, text) => Effect::Status(level, text),
                    Effect::Dialog(dialog) => Effect::Dialog(dialog),
                    Effect::Then(action) => Effect::Then(action),
                    Effect::Work(work) => Effect::Work(Box::new(move || wrap(work())) as Work<N>),
                    Effect::App(request) => Effect::App(request),
                })
                .collect(),
        }
    }

    /// Appends another view's effects, wrapped into this one's messages.
    pub fn absorb<N: 'static>(&mut self, other: Effects<N>, wrap: fn(N) -> M) {
        self.list.extend(other.map(wrap).list);
    }
}

impl<M> IntoIterator for Effects<M> {
    type Item = Effect<M>;
    type IntoIter = std::vec::IntoIter<Effect<M>>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_work_wraps_its_result() {
        let mut fx: Effects<u32> = Effects::new();
        fx.info("reading");
        fx.work(|| 41);
        let mapped = fx.map(|n| format!("got {}", n + 1));
        let mut texts = Vec::new();
        for effect in mapped {
            match effect {
                Effect::Status(_, text) => texts.push(text),
                Effect::Work(work) => texts.push(work()),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(texts, ["reading", "got 42"]);
    }
}
