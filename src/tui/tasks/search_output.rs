//! Searching the lines the run store dropped, in the journal: which of a
//! host's earlier lines hold the term, numbered as the store numbers them.
//! Blocking (SQLite): off the UI task. Like `older_lines`, a live run's
//! journal is read again for a few seconds until it reaches the store's
//! first lines.

use crate::tui::run_store::{DroppedMatches, LineReplay, MatchRequest};

/// How long a search waits for the journal writer to catch up with the store.
const WRITER_CATCH_UP: std::time::Duration = std::time::Duration::from_secs(3);

/// Answers a `MatchRequest`. Blocking: call it off the UI task.
pub fn search_dropped(request: MatchRequest) -> DroppedMatches {
    let result = matching_lines(&request);
    DroppedMatches {
        instance: request.instance,
        host: request.host,
        term: request.term,
        generation: request.generation,
        below: request.check_from,
        result,
    }
}

fn matching_lines(request: &MatchRequest) -> Result<Vec<u64>, String> {
    let path = &request.journal;
    let journal = crate::journal::open_existing(path)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no journal at {}", path.display()))?;
    let check = request.check_from..request.check_from + request.check.len() as u64;
    let deadline = std::time::Instant::now() + WRITER_CATCH_UP;
    loop {
        let mut replay = LineReplay::searching(request.needle(), check.clone());
        super::older_lines::feed(&journal, request.instance, request.host, &mut replay)?;
        if let Some(found) = replay.matches(request.check_from, &request.check) {
            return Ok(found);
        }
        if std::time::Instant::now() >= deadline {
            return Err(if replay.complete() {
                "the journal's lines do not line up with the console's".to_string()
            } else {
                format!(
                    "the journal has {} of this host's lines, the console {}",
                    replay.made(),
                    check.end
                )
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
