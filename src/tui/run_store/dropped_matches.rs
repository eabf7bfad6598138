//! A search of the lines the store dropped: the request for one host's
//! matches in the journal (below the store's first buffered line) and the
//! answer. The read itself is `tasks::search_output`; the numbering is
//! `LineReplay`'s, the store's own.

use super::RunStore;
use super::host::OutputLine;
use super::needle::Needle;
use crate::engine::events::{HostIndex, InstanceId};

/// Asks which of one host's dropped lines (those before `check_from`)
/// hold `term`. `check` holds the store's first buffered lines, to number
/// the journal's lines as the store did.
#[derive(Debug, Clone)]
pub struct MatchRequest {
    pub journal: std::path::PathBuf,
    pub instance: InstanceId,
    pub host: HostIndex,
    pub term: String,
    pub check_from: u64,
    pub check: Vec<OutputLine>,
    /// Tells a late answer from the current one.
    pub generation: u64,
}

impl MatchRequest {
    /// A search of the lines `host` dropped; `None` when it dropped none or
    /// the run is not journaled.
    pub fn new(
        journal: std::path::PathBuf,
        store: &RunStore,
        host: HostIndex,
        term: &str,
        generation: u64,
    ) -> Option<MatchRequest> {
        let record = store.hosts.get(host)?;
        let first = record.first_line();
        if first == 0 || store.instance <= 0 || term.is_empty() {
            return None;
        }
        Some(MatchRequest {
            journal,
            instance: store.instance,
            host,
            term: term.to_string(),
            check_from: first,
            check: record.lines().iter().take(3).cloned().collect(),
            generation,
        })
    }

    pub fn needle(&self) -> Needle {
        Needle::new(&self.term)
    }
}

/// The answer to a `MatchRequest`.
#[derive(Debug, Clone)]
pub struct DroppedMatches {
    pub instance: InstanceId,
    pub host: HostIndex,
    pub term: String,
    pub generation: u64,
    /// The lines searched are those before this one.
    pub below: u64,
    /// The matching lines' numbers, in order, or why they are not known.
    pub result: Result<Vec<u64>, String>,
}
