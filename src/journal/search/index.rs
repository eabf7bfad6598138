//! Keeping the word index of the journal's output (`output_words`, an FTS5
//! table with no content of its own: its row ids are `output` row ids).
//!
//! Each output row is indexed with the words it shows (cleaned as `show`
//! cleans output, see `report::sanitize`), together with the latest words
//! of the line it continues, so a line that reached the journal in pieces
//! is found whole: every row holds the words of the line it ends. A word
//! cut between two rows is indexed whole in the second.
//!
//! The writer indexes each row as it stores it. Output stored before the
//! index existed is indexed once by [`Journal::build_search_index`], newest
//! runs first, in short transactions that record how far they got, so the
//! build can be stopped and picked up again; until it is done, searches
//! read the rest of that output line by line.

use std::ops::ControlFlow;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::words::WordSplitter;
use crate::engine::events::{HostIndex, InstanceId, Stream};
use crate::journal::{Journal, JournalError};
use crate::report::sanitize::Cleaner;

/// How many of the latest words of a line a row carries to the rows that
/// continue the line. A pattern whose words lie further apart in one line
/// that arrived in pieces may be missed.
pub const CARRIED_WORDS: usize = 64;

/// The words of one stream of one step attempt, as its rows are stored.
#[derive(Debug, Clone, Default)]
pub struct StreamWords {
    cleaner: Cleaner,
    splitter: WordSplitter,
    /// The line's latest words, space-separated, at most `CARRIED_WORDS`.
    line: String,
    line_words: usize,
    shown: String,
}

impl StreamWords {
    pub fn new() -> StreamWords {
        StreamWords::default()
    }

    /// The words to index for the stream's next row, `data`.
    pub fn row_words(&mut self, data: &[u8]) -> String {
        let mut doc = String::with_capacity(self.line.len() + data.len());
        doc.push_str(&self.line);
        let mut pieces = data.split(|&b| b == b'\n').peekable();
        while let Some(piece) = pieces.next() {
            let ends_line = pieces.peek().is_some();
            self.shown.clear();
            self.cleaner.push(piece, &mut self.shown);
            if ends_line {
                self.cleaner.end_line(&mut self.shown);
            }
            let (line, line_words, shown) = (&mut self.line, &mut self.line_words, &self.shown);
            let mut take = |word: &str| {
                doc.push_str(word);
                doc.push(' ');
                line.push_str(word);
                line.push(' ');
                *line_words += 1;
                if *line_words > CARRIED_WORDS
                    && let Some(space) = line.find(' ')
                {
                    line.drain(..=space);
                    *line_words -= 1;
                }
            };
            self.splitter.feed(shown, &mut take);
            if ends_line {
                self.splitter.end(&mut take);
                self.line.clear();
                self.line_words = 0;
            }
        }
        // A word the row stops in is found here too: the stream may end with it.
        if let Some(word) = self.splitter.unfinished() {
            doc.push_str(word);
        }
        doc
    }
}

/// The index's words of both streams of a step attempt.
#[derive(Debug, Clone, Default)]
pub struct StepWords {
    streams: [StreamWords; 2],
}

impl StepWords {
    pub fn new() -> StepWords {
        StepWords::default()
    }

    /// Indexes the output row `id` that holds `data`.
    pub fn add_row(
        &mut self,
        tx: &Transaction<'_>,
        id: i64,
        stream: Stream,
        data: &[u8],
    ) -> rusqlite::Result<()> {
        let words = self.streams[stream_slot(stream)].row_words(data);
        insert(tx, id, &words)
    }
}

fn stream_slot(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

fn insert(conn: &Connection, id: i64, words: &str) -> rusqlite::Result<()> {
    if words.is_empty() {
        return Ok(());
    }
    conn.prepare_cached("INSERT INTO output_words (rowid, words) VALUES (?1, ?2)")?
        .execute(params![id, words])?;
    Ok(())
}

/// How far the index is built over output stored before it existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexProgress {
    pub rows_done: u64,
    pub rows_total: u64,
    /// The first run not (fully) indexed yet, newest first; `None`: done.
    pub next_instance: Option<InstanceId>,
    /// Within `next_instance`, the first host not indexed yet.
    pub next_host: HostIndex,
    /// Output rows with a smaller id were stored before the index existed.
    pub below: i64,
}

impl IndexProgress {
    pub fn is_done(&self) -> bool {
        self.next_instance.is_none()
    }

    /// Whether this host's output of this run still waits for the build.
    pub fn pending(&self, instance: InstanceId, host: HostIndex) -> bool {
        match self.next_instance {
            None => false,
            Some(next) => instance < next || (instance == next && host >= self.next_host),
        }
    }
}

/// Rows indexed per transaction of a build, so a stop loses little and
/// writers of live runs are not held up long.
const BUILD_ROWS_PER_COMMIT: u64 = 20_000;

impl Journal {
    /// How far the index of earlier output is built.
    pub fn search_index_progress(&self) -> Result<IndexProgress, JournalError> {
        Ok(read_progress(&self.conn)?)
    }

    /// Indexes the output stored before the index existed, newest runs
    /// first, committing as it goes. `progress` hears after each commit and
    /// may stop the build (it continues from there next time).
    pub fn build_search_index(
        &self,
        progress: impl FnMut(&IndexProgress) -> ControlFlow<()>,
    ) -> Result<IndexProgress, JournalError> {
        self.build_search_index_in_steps(BUILD_ROWS_PER_COMMIT, progress)
    }

    /// `build_search_index`, committing after about `rows_per_commit` rows
    /// (whole hosts at a time).
    pub fn build_search_index_in_steps(
        &self,
        rows_per_commit: u64,
        mut progress: impl FnMut(&IndexProgress) -> ControlFlow<()>,
    ) -> Result<IndexProgress, JournalError> {
        loop {
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            let mut state = read_progress(&tx)?;
            let mut rows = 0;
            while rows < rows_per_commit.max(1) {
                let Some(instance) = state.next_instance else {
                    break;
                };
                match next_host(&tx, instance, state.next_host)? {
                    Some(host) => {
                        rows += index_host(&tx, instance, host, state.below)?;
                        state.next_host = host + 1;
                    }
                    None => {
                        state.next_instance = tx
                            .prepare_cached(
                                "SELECT max(instance_id) FROM output WHERE instance_id < ?1",
                            )?
                            .query_row([instance], |r| r.get(0))?;
                        state.next_host = 0;
                    }
                }
            }
            state.rows_done += rows;
            tx.prepare_cached(
                "UPDATE output_words_backfill SET next_instance = ?1, next_host = ?2, rows_done = ?3 WHERE id = 1",
            )?
            .execute(params![state.next_instance, state.next_host, state.rows_done])?;
            tx.commit()?;
            if state.is_done() || progress(&state).is_break() {
                return Ok(state);
            }
        }
    }
}

fn read_progress(conn: &Connection) -> rusqlite::Result<IndexProgress> {
    conn.prepare_cached(
        "SELECT rows_done, rows_total, next_instance, next_host, below FROM output_words_backfill WHERE id = 1",
    )?
    .query_row([], |r| {
        Ok(IndexProgress {
            rows_done: r.get(0)?,
            rows_total: r.get(1)?,
            next_instance: r.get(2)?,
            next_host: r.get(3)?,
            below: r.get(4)?,
        })
    })
    .optional()
    .map(|found| {
        found.unwrap_or(IndexProgress {
            rows_done: 0,
            rows_total: 0,
            next_instance: None,
            next_host: 0,
            below: 0,
        })
    })
}

fn next_host(
    conn: &Connection,
    instance: InstanceId,
    from: HostIndex,
) -> rusqlite::Result<Option<HostIndex>> {
    conn.prepare_cached(
        "SELECT min(host_idx) FROM output WHERE instance_id = ?1 AND host_idx >= ?2",
    )?
    .query_row(params![instance, from], |r| r.get(0))
}

/// Indexes one host's earlier output of one run; returns the rows indexed.
fn index_host(
    tx: &Transaction<'_>,
    instance: InstanceId,
    host: HostIndex,
    below: i64,
) -> rusqlite::Result<u64> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, step_idx, attempt, stream, data FROM output
         WHERE instance_id = ?1 AND host_idx = ?2 AND id < ?3 ORDER BY step_idx, id",
    )?;
    let mut rows = stmt.query(params![instance, host, below])?;
    let mut streams: std::collections::HashMap<(i64, i64, String), StreamWords> =
        std::collections::HashMap::new();
    let mut count = 0;
    let mut step_seen = None;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let step: i64 = row.get(1)?;
        if step_seen != Some(step) {
            streams.clear();
            step_seen = Some(step);
        }
        let key = (step, row.get::<_, i64>(2)?, row.get::<_, String>(3)?);
        let data = row.get_ref(4)?.as_blob()?;
        let words = streams.entry(key).or_default().row_words(data);
        // A row id used again after a delete may already be indexed.
        tx.prepare_cached("DELETE FROM output_words WHERE rowid = ?1")?
            .execute([id])?;
        insert(tx, id, &words)?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of_rows(rows: &[&[u8]]) -> Vec<String> {
        let mut stream = StreamWords::new();
        rows.iter()
            .map(|row| stream.row_words(row).trim_end().to_owned())
            .collect()
    }

    #[test]
    fn a_row_carries_the_words_of_the_line_it_continues() {
        assert_eq!(
            words_of_rows(&[b"first line\nconnection re", b"fused by ", b"peer\nnext\n"]),
            [
                "first line connection re",
                "connection refused by",
                "connection refused by peer next"
            ]
        );
    }

    #[test]
    fn rows_are_cleaned_as_shown() {
        assert_eq!(
            words_of_rows(&[b"\x1b[31mERR", b"OR\x1b[0m\r\n", b"\xe9t\xc3", b"\xa9 ok"]),
            ["err", "error", "t", "té ok"]
        );
    }

    #[test]
    fn a_long_line_carries_its_latest_words_only() {
        let line: String = (0..100).map(|i| format!("w{i} ")).collect();
        let rows = words_of_rows(&[line.as_bytes(), b"end\n"]);
        let carried: Vec<&str> = rows[1].split(' ').collect();
        assert_eq!(carried.len(), CARRIED_WORDS + 1);
        assert_eq!(carried[0], "w36");
        assert_eq!(carried[CARRIED_WORDS], "end");
    }
}

#[cfg(test)]
mod schema_tests {
    use rusqlite::Connection;

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        crate::journal::schema::migrate(&mut conn, std::path::Path::new(":memory:")).unwrap();
        conn
    }

    fn hits(conn: &Connection, query: &str) -> Vec<i64> {
        conn.prepare("SELECT rowid FROM output_words WHERE output_words MATCH ?1 ORDER BY rowid")
            .unwrap()
            .query_map([query], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn deleting_output_forgets_its_words_even_through_a_cascade() {
        let conn = migrated();
        conn.execute_batch(
            "INSERT INTO instances (id, flow, flow_snapshot, trigger, os_user, status, created_at)
                 VALUES (1, 'f', '', 'cli', 'u', 'ok', 0);
             INSERT INTO hosts (instance_id, host_idx, name) VALUES (1, 0, 'h');
             INSERT INTO output (id, instance_id, host_idx, step_idx, attempt, stream, at, data)
                 VALUES (7, 1, 0, 0, 1, 'stdout', 0, x'00'), (8, 1, 0, 0, 1, 'stdout', 0, x'00');
             INSERT INTO output_words (rowid, words) VALUES (7, 'alpha beta'), (8, 'beta');",
        )
        .unwrap();
        assert_eq!(hits(&conn, "beta"), [7, 8]);
        conn.execute("DELETE FROM output WHERE id = 8", []).unwrap();
        assert_eq!(hits(&conn, "beta"), [7]);
        // A row id the index never had is fine to forget.
        conn.execute("DELETE FROM output_words WHERE rowid = 99", [])
            .unwrap();
        conn.execute("DELETE FROM instances WHERE id = 1", [])
            .unwrap();
        assert_eq!(hits(&conn, "alpha OR beta"), Vec::<i64>::new());
        // Prefixes and AND work without positions (detail = none).
        conn.execute(
            "INSERT INTO output_words (rowid, words) VALUES (3, 'connection refused')",
            [],
        )
        .unwrap();
        assert_eq!(hits(&conn, r#""conn"* AND "refused""#), [3]);
    }
}
