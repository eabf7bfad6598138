//! History's search box: the whole journal searched with `jobdeck grep`'s
//! code (`Journal::search`, a plain pattern, case ignored), the matching
//! lines newest run first. Blocking (SQLite): off the UI task.

use std::ops::ControlFlow;
use std::path::Path;

use crate::engine::events::{InstanceId, Stream};
use crate::journal::search::{Pattern, SearchQuery};

/// Most matching lines one search brings back (the box lists them; a
/// longer list says it was cut).
pub const MAX_HITS: usize = 1000;

/// One matching line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalHit {
    pub instance: InstanceId,
    pub flow: String,
    pub host: String,
    /// The step's name, with the attempt after the first.
    pub step: String,
    pub stderr: bool,
    pub text: String,
    /// Earlier matches of the same run and host whose text holds this
    /// line's: how many to pass before this one when the console searches
    /// the host's output for the line (`RunView::reveal`).
    pub before: usize,
}

/// What a search found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalHits {
    pub query: String,
    pub hits: Vec<JournalHit>,
    /// More lines matched than `MAX_HITS`.
    pub cut: bool,
}

/// Searches the journal at `path` for `query`. Never creates a journal.
pub fn search_journal(path: &Path, query: &str) -> Result<JournalHits, String> {
    let pattern = Pattern::new(query, false, true).map_err(|e| e.to_string())?;
    let Some(journal) = crate::journal::open_existing(path).map_err(|e| e.to_string())? else {
        return Err(format!("no journal at {} yet", path.display()));
    };
    let query_parts = SearchQuery {
        pattern,
        context: 0,
        flow: None,
        host: None,
        status: None,
        since: None,
        until: None,
    };
    let mut found = JournalHits {
        query: query.to_string(),
        ..JournalHits::default()
    };
    // The hits' texts lowercased once, for `before`.
    let mut folded_hits: Vec<String> = Vec::new();
    journal
        .search(&query_parts, |block| {
            let step = if block.attempt > 1 {
                format!("{} (attempt {})", block.step_name, block.attempt)
            } else {
                block.step_name.clone()
            };
            for line in block.lines.into_iter().filter(|l| l.is_match) {
                if found.hits.len() == MAX_HITS {
                    found.cut = true;
                    return ControlFlow::Break(());
                }
                let text = line.text;
                let folded = text.to_lowercase();
                let before = found
                    .hits
                    .iter()
                    .zip(&folded_hits)
                    .filter(|(h, f)| {
                        h.instance == block.instance
                            && h.host == block.host_name
                            && f.contains(&folded)
                    })
                    .count();
                folded_hits.push(folded);
                found.hits.push(JournalHit {
                    instance: block.instance,
                    flow: block.flow.clone(),
                    host: block.host_name.clone(),
                    step: step.clone(),
                    stderr: block.stream == Stream::Stderr,
                    text,
                    before,
                });
            }
            ControlFlow::Continue(())
        })
        .map_err(|e| e.to_string())?;
    Ok(found)
}
