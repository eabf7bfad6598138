//! The index follows the writer: the writer stores output without indexing
//! it, and indexes the rows stored since the watermark
//! (`output_words_backfill.indexed_to`) when it is idle and at the end of
//! each run, a transaction at a time ([`Follower::step`]): short while a
//! run is live, so its next batch never waits long; long when none is, so
//! each stream's rows come together in full groups and FTS5 writes few,
//! large segments. Until then searches read those rows line by line, so a
//! search never finds less.
//!
//! The words are those the writer used to index as it stored each row
//! (`index::StepWords`: lines in pieces, carried words, groups). A stream
//! is followed across steps of the follower in memory; when that memory is
//! gone or no longer matches the stored rows (another process indexed,
//! rows slid away), the stream's state is rebuilt from the start of the
//! line its next row continues.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::index::{Entries, StepWords, stream_slot};
use crate::engine::events::{HostIndex, InstanceId, StepIndex, Stream};

/// How much one step of catching up may index: one transaction, which
/// the writer's next batch (and other processes' writers) wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepSize {
    pub rows: usize,
    pub time: Duration,
}

/// While a run is live: its next batch never waits long.
pub const LIVE_STEP: StepSize = StepSize {
    rows: 20_000,
    time: Duration::from_millis(20),
};

/// No run is live: a longer step sees more rows of each stream at once, so
/// its groups are fuller (fewer, larger entries) and it commits less. Not
/// longer still: all a transaction writes stays in the WAL until it
/// commits, and a nearly full disk must still hold it (tests/journal_full.rs
/// failed with steps of 1,000,000 rows).
pub const QUIET_STEP: StepSize = StepSize {
    rows: 100_000,
    time: Duration::from_millis(500),
};

/// A step stops once its entries hold this many bytes of words (its memory).
const STEP_WORDS_BYTES: usize = 32 << 20;

type AttemptKey = (InstanceId, HostIndex, StepIndex, u32);

/// The words of one step attempt being followed.
#[derive(Debug, Default)]
struct Followed {
    words: StepWords,
    /// The latest row fed of each stream, and its length then.
    last: [Option<(i64, usize)>; 2],
    /// The head's last row (`truncations.cut_after`): no group spans it;
    /// and whether output was dropped after it (a line ends there).
    cut_after: Option<(i64, bool)>,
    /// The stream's memory was checked against the rows in this step.
    checked: [bool; 2],
}

/// What a step of catching up did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FollowStep {
    pub rows: usize,
    /// Rows past the watermark remain.
    pub more: bool,
}

/// Indexes output behind the writer; keeps the streams' words between steps.
#[derive(Debug, Default)]
pub struct Follower {
    attempts: HashMap<AttemptKey, Followed>,
}

impl Follower {
    pub fn new() -> Follower {
        Follower::default()
    }

    /// Indexes the rows past the watermark, oldest first, in one
    /// transaction of at most `size`.
    pub fn step(&mut self, conn: &Connection, size: StepSize) -> rusqlite::Result<FollowStep> {
        let max_rows = size.rows.max(1);
        let started = Instant::now();
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        let watermark: i64 = tx
            .prepare_cached("SELECT indexed_to FROM output_words_backfill WHERE id = 1")?
            .query_row([], |r| r.get(0))?;
        let mut touched: HashMap<AttemptKey, Followed> = HashMap::new();
        let mut entries = Entries::new();
        let mut stmt = tx.prepare_cached(
            "SELECT id, instance_id, host_idx, step_idx, attempt, stream, data FROM output
             WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![watermark, max_rows])?;
        let (mut count, mut last_id, mut stopped) = (0, watermark, false);
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let key: AttemptKey = (row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
            let stream = if row.get_ref(5)?.as_str()? == Stream::Stderr.as_str() {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            let data = row.get_ref(6)?.as_blob()?;
            let followed = match touched.entry(key) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let mut followed = self.attempts.remove(&key).unwrap_or_default();
                    followed.cut_after = cut_after(&tx, key)?;
                    followed.checked = [false; 2];
                    e.insert(followed)
                }
            };
            followed.feed(&tx, &mut entries, key, id, stream, data)?;
            count += 1;
            last_id = id;
            if count % 32 == 0
                && (started.elapsed() >= size.time || entries.words_bytes() >= STEP_WORDS_BYTES)
            {
                stopped = true;
                break;
            }
        }
        drop(rows);
        drop(stmt);
        for followed in touched.values_mut() {
            followed.words.flush(&mut entries);
        }
        entries.write(&tx)?;
        tx.prepare_cached("UPDATE output_words_backfill SET indexed_to = ?1 WHERE id = 1")?
            .execute([last_id])?;
        tx.commit()?;
        // Only the streams still printing are remembered: a stream that
        // comes back is rebuilt from its stored rows.
        self.attempts = touched;
        Ok(FollowStep {
            rows: count,
            more: stopped || count >= max_rows,
        })
    }

    /// Steps until nothing is left behind the watermark; returns the rows indexed.
    pub fn catch_up(&mut self, conn: &Connection) -> rusqlite::Result<u64> {
        let mut total = 0;
        loop {
            let step = self.step(conn, QUIET_STEP)?;
            total += step.rows as u64;
            if !step.more {
                return Ok(total);
            }
        }
    }
}

/// Output rows stored but not indexed yet.
pub fn unindexed_rows(conn: &Connection) -> rusqlite::Result<u64> {
    conn.prepare_cached(
        "SELECT count(*) FROM output
         WHERE id > (SELECT indexed_to FROM output_words_backfill WHERE id = 1)",
    )?
    .query_row([], |r| r.get(0))
}

impl Followed {
    fn feed(
        &mut self,
        tx: &Transaction<'_>,
        entries: &mut Entries,
        key: AttemptKey,
        id: i64,
        stream: Stream,
        data: &[u8],
    ) -> rusqlite::Result<()> {
        let slot = stream_slot(stream);
        // As the writer did: no group holds head and tail rows together
        // (the tail slides away, the head stays).
        if let (Some((cut, dropped)), Some((last, _))) = (self.cut_after, self.last[slot])
            && last <= cut
            && id > cut
        {
            self.words.flush_stream(entries, stream);
            if dropped {
                // Search reads a line end where output was dropped.
                self.words.resume(stream, b"");
            }
        }
        // Once per stream and step: does the memory still match the rows?
        if !self.checked[slot] {
            self.checked[slot] = true;
            let follows = match self.last[slot] {
                Some(last) => previous_row(tx, key, stream, id)? == Some(last),
                None => false,
            };
            if !follows {
                self.rebuild(tx, entries, key, stream, id)?;
            }
        }
        self.words.add_row(entries, id, stream, data);
        self.last[slot] = Some((id, data.len()));
        Ok(())
    }

    /// Forgets what the stream held and reads the line its row `id` continues.
    fn rebuild(
        &mut self,
        tx: &Transaction<'_>,
        entries: &mut Entries,
        key: AttemptKey,
        stream: Stream,
        id: i64,
    ) -> rusqlite::Result<()> {
        {
            self.words.flush_stream(entries, stream);
            let floor = match self.cut_after {
                Some((cut, true)) if id > cut => cut,
                _ => 0,
            };
            let line = line_so_far(tx, key, stream, id, floor)?;
            self.words.resume(stream, &line);
        }
        Ok(())
    }
}

/// The stream's stored row before `id` and its length.
fn previous_row(
    tx: &Transaction<'_>,
    key: AttemptKey,
    stream: Stream,
    id: i64,
) -> rusqlite::Result<Option<(i64, usize)>> {
    use rusqlite::OptionalExtension;
    tx.prepare_cached(
        "SELECT id, length(data) FROM output
         WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3 AND attempt = ?4 AND stream = ?5
           AND id < ?6
         ORDER BY id DESC LIMIT 1",
    )?
    .query_row(
        params![key.0, key.1, key.2, key.3, stream.as_str(), id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// The stored bytes of the line that the stream's row `id` continues:
/// those after the last line end before it (not reaching back to `floor`
/// or before).
fn line_so_far(
    tx: &Transaction<'_>,
    key: AttemptKey,
    stream: Stream,
    id: i64,
    floor: i64,
) -> rusqlite::Result<Vec<u8>> {
    let mut stmt = tx.prepare_cached(
        "SELECT data FROM output
         WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3 AND attempt = ?4 AND stream = ?5
           AND id < ?6 AND id > ?7
         ORDER BY id DESC",
    )?;
    let mut rows = stmt.query(params![
        key.0,
        key.1,
        key.2,
        key.3,
        stream.as_str(),
        id,
        floor
    ])?;
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    while let Some(row) = rows.next()? {
        let data = row.get_ref(0)?.as_blob()?;
        match data.iter().rposition(|&b| b == b'\n') {
            Some(end) => {
                pieces.push(data[end + 1..].to_vec());
                break;
            }
            None => pieces.push(data.to_vec()),
        }
    }
    Ok(pieces.into_iter().rev().flatten().collect())
}

fn cut_after(tx: &Transaction<'_>, key: AttemptKey) -> rusqlite::Result<Option<(i64, bool)>> {
    use rusqlite::OptionalExtension;
    Ok(tx
        .prepare_cached(
            "SELECT cut_after, dropped_bytes > 0 FROM truncations
             WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3",
        )?
        .query_row(params![key.0, key.1, key.2], |r| {
            Ok(r.get::<_, Option<i64>>(0)?
                .map(|cut| (cut, r.get(1).unwrap_or(false))))
        })
        .optional()?
        .flatten())
}

impl crate::journal::Journal {
    /// Output rows stored but not indexed for search yet (searches read them in full).
    pub fn unindexed_output_rows(&self) -> Result<u64, crate::journal::JournalError> {
        Ok(unindexed_rows(&self.conn)?)
    }

    /// Indexes the output stored since the index's watermark (what a
    /// writer does when no run is live); returns the rows indexed.
    pub fn catch_up_search_index(&self) -> Result<u64, crate::journal::JournalError> {
        Ok(Follower::new().catch_up(&self.conn)?)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    fn watermark(conn: &Connection) -> i64 {
        conn.query_row(
            "SELECT indexed_to FROM output_words_backfill WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn deleting_the_newest_rows_lowers_the_watermark_so_reused_ids_are_indexed() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        crate::journal::schema::migrate(&mut conn, std::path::Path::new(":memory:")).unwrap();
        conn.execute_batch(
            "INSERT INTO instances (id, flow, flow_snapshot, trigger, os_user, status, created_at)
                 VALUES (1, 'f', '', 'cli', 'u', 'ok', 0), (2, 'f', '', 'cli', 'u', 'ok', 0);
             INSERT INTO hosts (instance_id, host_idx, name) VALUES (1, 0, 'h'), (2, 0, 'h');
             INSERT INTO output (id, instance_id, host_idx, step_idx, attempt, stream, at, data)
                 VALUES (1, 1, 0, 0, 1, 'stdout', 0, x'00'), (2, 1, 0, 0, 1, 'stdout', 0, x'00'),
                        (3, 2, 0, 0, 1, 'stdout', 0, x'00');
             UPDATE output_words_backfill SET indexed_to = 3;",
        )
        .unwrap();
        // An older row going (the sliding tail) leaves the watermark be.
        conn.execute("DELETE FROM output WHERE id = 1", []).unwrap();
        assert_eq!(watermark(&conn), 3);
        // The newest run pruned: its ids come free again.
        conn.execute("DELETE FROM instances WHERE id = 2", [])
            .unwrap();
        assert_eq!(watermark(&conn), 2);
        conn.execute(
            "INSERT INTO output (instance_id, host_idx, step_idx, attempt, stream, at, data)
             VALUES (1, 0, 0, 1, 'stdout', 0, x'00')",
            [],
        )
        .unwrap();
        assert_eq!(conn.last_insert_rowid(), 3);
        assert_eq!(super::unindexed_rows(&conn).unwrap(), 1);
    }
}
