//! Keeping the word index of the journal's output (`output_words`, an FTS5
//! table with no content of its own).
//!
//! Each output row is indexed with the words it shows (cleaned as `show`
//! cleans output, see `report::sanitize`), together with the latest words
//! of the line it continues, so a line that reached the journal in pieces
//! is found whole: every row holds the words of the line it ends. A word
//! cut between two rows is indexed whole in the second.
//!
//! Consecutive rows of one stream indexed in one transaction form a group
//! (at most `GROUP_MAX_ROWS` rows and `GROUP_MAX_BYTES` of words), indexed
//! as one entry (an entry per row would cost as much as the row
//! itself when output comes a line at a time): the entry's id is the
//! group's last output row, and `output_words_groups` names its first row
//! when it has more than one. Deleting the last row forgets the entry;
//! output is only deleted oldest first (the sliding tail of long output)
//! or a whole run at a time, so rows of a group never outlive its entry.
//!
//! The writer stores rows without indexing them; `follow` indexes them
//! behind it, when it is idle and at the end of each run. Entries are
//! written at the end of a transaction in row id order (`Entries`). Output
//! stored before the index existed is indexed once by [`Journal::build_search_index`], newest
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
    /// The words of the latest row.
    doc: String,
}

impl StreamWords {
    pub fn new() -> StreamWords {
        StreamWords::default()
    }

    /// The words to index for the stream's next row, `data`; with the
    /// latest words of the line it continues if `carry`.
    pub fn row_words(&mut self, data: &[u8], carry: bool) -> &str {
        let doc = &mut self.doc;
        doc.clear();
        doc.push_str(&self.line);
        let skip = if carry { 0 } else { doc.len() };
        // Where the words of the line the row stops in begin, and how many.
        let mut line_start = 0;
        let mut line_words = self.line_words;
        let mut pieces = data.split(|&b| b == b'\n').peekable();
        while let Some(piece) = pieces.next() {
            let ends_line = pieces.peek().is_some();
            self.shown.clear();
            self.cleaner.push(piece, &mut self.shown);
            if ends_line {
                self.cleaner.end_line(&mut self.shown);
            }
            line_words += self.splitter.feed(&self.shown, doc);
            if ends_line {
                self.splitter.end(doc);
                line_start = doc.len();
                line_words = 0;
            }
        }
        // The line goes on in the next row: it carries its latest words.
        let mut carried = &doc[line_start..];
        while line_words > CARRIED_WORDS
            && let Some(space) = carried.find(' ')
        {
            carried = &carried[space + 1..];
            line_words -= 1;
        }
        self.line.clear();
        self.line.push_str(carried);
        self.line_words = line_words;
        // A word the row stops in is found here too: the stream may end with it.
        if let Some(word) = self.splitter.unfinished() {
            doc.push_str(word);
        }
        &self.doc[skip..]
    }
}

impl StreamWords {
    /// Output was dropped before the next row: a line ends there, as
    /// search reads it, so no word or escape runs on across the cut.
    pub fn cut(&mut self) {
        *self = StreamWords::default();
    }
}

/// Rows of one stream indexed as one entry.
#[derive(Debug, Clone, Default)]
struct Group {
    first: i64,
    last: i64,
    rows: usize,
    words: String,
}

/// A group is indexed once it holds this much; a match's group is what
/// search reads back, so groups stay small.
const GROUP_MAX_BYTES: usize = 16 * 1024;
const GROUP_MAX_ROWS: usize = 64;

/// The index's words of both streams of a step attempt.
#[derive(Debug, Clone, Default)]
pub struct StepWords {
    streams: [StreamWords; 2],
    groups: [Option<Group>; 2],
}

impl StepWords {
    pub fn new() -> StepWords {
        StepWords::default()
    }

    /// Output of `stream` was dropped before its next row (see `StreamWords::cut`).
    pub fn cut(&mut self, stream: Stream) {
        self.streams[stream_slot(stream)].cut();
    }

    /// Adds the output row `id`, which holds `data`, to its stream's group;
    /// a full group goes to `entries`, the rest at the latest by `flush`.
    pub fn add_row(&mut self, entries: &mut Entries, id: i64, stream: Stream, data: &[u8]) {
        let slot = stream_slot(stream);
        // The first row of a group carries its line's words; the others
        // continue what the group holds already.
        let words = self.streams[slot].row_words(data, self.groups[slot].is_none());
        let group = self.groups[slot].get_or_insert_with(|| Group {
            first: id,
            ..Group::default()
        });
        group.last = id;
        group.rows += 1;
        group.words.push_str(words);
        group.words.push(' ');
        if group.words.len() >= GROUP_MAX_BYTES || group.rows >= GROUP_MAX_ROWS {
            entries.push(self.groups[slot].take().expect("a group"));
        }
    }

    /// Ends the groups of both streams (into `entries`).
    pub fn flush(&mut self, entries: &mut Entries) {
        for group in self.groups.iter_mut().filter_map(Option::take) {
            entries.push(group);
        }
    }

    /// Ends the stream's group (into `entries`).
    pub fn flush_stream(&mut self, entries: &mut Entries, stream: Stream) {
        if let Some(group) = self.groups[stream_slot(stream)].take() {
            entries.push(group);
        }
    }

    /// Starts the stream afresh inside a line whose stored bytes so far are
    /// `line` (indexed already): the next row carries its words.
    pub fn resume(&mut self, stream: Stream, line: &[u8]) {
        let words = &mut self.streams[stream_slot(stream)];
        words.cut();
        words.row_words(line, true);
    }
}

/// Index entries made in one transaction, written at its end in row id
/// order: FTS5 writes the terms it holds out as a new segment whenever an
/// entry's id is not above the one before, so entries in any other order
/// cost a segment each (and the merging of those segments).
#[derive(Debug, Default)]
pub struct Entries {
    groups: Vec<Group>,
    words_bytes: usize,
}

impl Entries {
    pub fn new() -> Entries {
        Entries::default()
    }

    fn push(&mut self, group: Group) {
        self.words_bytes += group.words.len();
        self.groups.push(group);
    }

    /// The words waiting, to bound the memory a transaction holds.
    pub fn words_bytes(&self) -> usize {
        self.words_bytes
    }

    /// Writes what waits into the index, in row id order.
    pub fn write(&mut self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        self.groups.sort_unstable_by_key(|group| group.last);
        for group in self.groups.drain(..) {
            write_group(tx, &group)?;
        }
        self.words_bytes = 0;
        Ok(())
    }
}

pub(super) fn stream_slot(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

fn write_group(conn: &Connection, group: &Group) -> rusqlite::Result<()> {
    if group.first != group.last {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO output_words_groups (last_id, first_id) VALUES (?1, ?2)",
        )?
        .execute(params![group.last, group.first])?;
    }
    insert(conn, group.last, &group.words)
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
            let (mut rows, mut entries) = (0, Entries::new());
            while rows < rows_per_commit.max(1) {
                let Some(instance) = state.next_instance else {
                    break;
                };
                match next_host(&tx, instance, state.next_host)? {
                    Some(host) => {
                        rows += index_host(&tx, instance, host, state.below, &mut entries)?;
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
            entries.write(&tx)?;
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
    entries: &mut Entries,
) -> rusqlite::Result<u64> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, step_idx, attempt, stream, data FROM output
         WHERE instance_id = ?1 AND host_idx = ?2 AND id < ?3 ORDER BY step_idx, id",
    )?;
    let mut rows = stmt.query(params![instance, host, below])?;
    let mut attempts: std::collections::HashMap<i64, StepWords> = std::collections::HashMap::new();
    let mut count = 0;
    let mut step_seen = None;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let step: i64 = row.get(1)?;
        if step_seen != Some(step) {
            for (_, mut words) in attempts.drain() {
                words.flush(entries);
            }
            step_seen = Some(step);
        }
        let stream = if row.get_ref(3)?.as_str()? == Stream::Stderr.as_str() {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        // A row id used again after a delete may already be indexed.
        forget(tx, id)?;
        attempts.entry(row.get(2)?).or_default().add_row(
            entries,
            id,
            stream,
            row.get_ref(4)?.as_blob()?,
        );
        count += 1;
    }
    for (_, mut words) in attempts.drain() {
        words.flush(entries);
    }
    Ok(count)
}

fn forget(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM output_words WHERE rowid = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM output_words_groups WHERE last_id = ?1")?
        .execute([id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of_rows(rows: &[&[u8]]) -> Vec<String> {
        let mut stream = StreamWords::new();
        rows.iter()
            .map(|row| stream.row_words(row, true).trim_end().to_owned())
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
