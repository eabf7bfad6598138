//! Reading back, from the journal, output lines the run store dropped.
//! Blocking (SQLite): off the UI task. A live run's journal may not have
//! them yet: it is read again for a few seconds until it reaches the
//! store's first lines.

use crate::tui::run_store::{LineReplay, OlderLines, OlderRequest, OutputLine};

/// How long a read waits for the journal writer to catch up with the store
/// (it lags by the events queued for it, normally a batch or two).
const WRITER_CATCH_UP: std::time::Duration = std::time::Duration::from_secs(3);

/// Reads the lines an `OlderRequest` asks for. Blocking (SQLite): call it
/// off the UI task. A live run's journal may not have them yet: it is read
/// again for a few seconds until it reaches the store's first lines.
pub fn read_older(request: OlderRequest) -> OlderLines {
    let result = read_older_lines(&request);
    OlderLines {
        instance: request.instance,
        host: request.host,
        generation: request.generation,
        result,
    }
}

/// Feeds one host's journal items to `replay` until it has what it wants
/// (or, with all of them, ends it).
pub(super) fn feed(
    journal: &crate::journal::Journal,
    instance: crate::engine::events::InstanceId,
    host: crate::engine::events::HostIndex,
    replay: &mut LineReplay,
) -> Result<(), String> {
    let mut stopped_early = false;
    journal
        .for_each_host_item(instance, host, |item| {
            let more = replay.item(item);
            stopped_early = !more;
            more
        })
        .map_err(|e| e.to_string())?;
    if !stopped_early {
        replay.end();
    }
    Ok(())
}

fn read_older_lines(request: &OlderRequest) -> Result<(u64, Vec<OutputLine>), String> {
    let path = &request.journal;
    // Reading never creates a journal.
    let journal = crate::journal::open_existing(path)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no journal at {}", path.display()))?;
    let check = request.check_from..request.check_from + request.check.len() as u64;
    let deadline = std::time::Instant::now() + WRITER_CATCH_UP;
    loop {
        let mut replay = LineReplay::new(request.lines.clone(), check.clone());
        feed(&journal, request.instance, request.host, &mut replay)?;
        match replay.across_cut(request.check_from, &request.check) {
            Some(Some(lines)) => return Ok((request.lines.start, lines)),
            Some(None) => {} // the journal has not caught up yet
            None if replay.complete() => {
                let (lines, checked) = replay.into_lines();
                if checked != request.check {
                    return Err("the journal's lines do not line up with the console's".into());
                }
                return Ok((request.lines.start, lines));
            }
            None => {}
        }
        if std::time::Instant::now() >= deadline {
            return Err(format!(
                "the journal has {} of this host's lines, the console {}",
                replay.made(),
                check.end
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
