//! What the console's background work tells the App: each view's own
//! messages (the results of the work it asked for), and what only the App
//! handles (the inventory and the flow catalog read, news of a run it
//! started, a key's passphrase question).

use std::path::PathBuf;
use std::sync::Arc;

use super::tasks::passphrase::PassphraseRequest;
use super::tasks::run_session::RunReport;
use super::views::{flows, history, inventory, planner, run, schedules};
use crate::flow::catalog::Catalog;
use crate::inventory::Inventory;

#[derive(Debug)]
pub enum AppMessage {
    InventoryLoaded {
        result: Result<Arc<Inventory>, String>,
        base: PathBuf,
    },
    /// The flows and atoms, read again: for every view that offers them.
    CatalogLoaded(Arc<Catalog>),
    Inventory(inventory::Message),
    Planner(planner::Message),
    /// The Run view's own work (lines read back, files saved).
    Run(run::Message),
    History(history::Message),
    Flows(flows::Message),
    Schedules(schedules::Message),
    /// News about a run the console started.
    RunSession(RunReport),
    /// The run's transport asks for an encrypted key's passphrase.
    Passphrase(PassphraseRequest),
}
