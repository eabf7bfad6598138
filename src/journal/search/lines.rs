//! Lines of one output stream, read back from its rows around the rows the
//! index found, checked against the pattern and gathered with their context
//! into blocks.
//!
//! A line is the bytes between two newlines of one stream (stdout or
//! stderr) of one step attempt, cleaned by `report::sanitize::clean_line`:
//! the same text the index saw. It is known by the row that holds its
//! newline and which newline of that row it is, so lines read in different
//! windows are recognised as the same.
//!
//! Where the journal dropped the middle of a long output (see
//! `journal::output_cap`), a line ends at the cut: the head's last line and
//! the tail's first are never joined into one that was never printed.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use rusqlite::{Connection, OptionalExtension, params};

use super::pattern::Pattern;
use crate::engine::events::{HostIndex, InstanceId, StepIndex, Stream};
use crate::report::sanitize::clean_line;

/// One stream of one step attempt of one host of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamKey {
    pub instance: InstanceId,
    pub host: HostIndex,
    pub step: StepIndex,
    pub attempt: u32,
    pub stream: Stream,
}

/// Where a line ends: the row with its newline and which newline it is
/// (`u32::MAX`: the stream's last line, with no newline).
pub type LineId = (i64, u32);

#[derive(Debug, Clone)]
struct Row {
    id: i64,
    data: Rc<[u8]>,
}

/// Consecutive rows of a stream, and whether they reach its start and end.
#[derive(Debug, Default)]
pub struct Window {
    rows: Vec<Row>,
    at_start: bool,
    at_end: bool,
    /// Output was dropped after this row (of any stream of the step).
    cut_after: Option<i64>,
}

/// The complete lines of a window.
fn lines(window: &Window) -> Vec<(LineId, String)> {
    let mut out = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    let mut whole = window.at_start;
    let mut previous: Option<i64> = None;
    for row in &window.rows {
        if let (Some(cut), Some(before)) = (window.cut_after, previous)
            && before <= cut
            && cut < row.id
        {
            if whole && !line.is_empty() {
                out.push(((before, u32::MAX), clean_line(&line)));
            }
            line.clear();
            whole = true;
        }
        previous = Some(row.id);
        let mut ordinal = 0u32;
        let mut rest: &[u8] = &row.data;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&rest[..newline]);
            if whole {
                out.push(((row.id, ordinal), clean_line(&line)));
            }
            line.clear();
            whole = true;
            ordinal += 1;
            rest = &rest[newline + 1..];
        }
        line.extend_from_slice(rest);
    }
    if window.at_end
        && whole
        && !line.is_empty()
        && let Some(last) = window.rows.last()
    {
        out.push(((last.id, u32::MAX), clean_line(&line)));
    }
    out
}

/// A stream's matching lines and their context, as windows add them.
#[derive(Debug, Default)]
pub struct Gathered {
    lines: BTreeMap<LineId, (String, bool)>,
    /// The line that follows each line read, so runs join across windows.
    next: HashMap<LineId, LineId>,
    pub matches: usize,
}

impl Gathered {
    /// Checks every line of `window`; keeps the matches and `context`
    /// lines around each.
    pub fn add(&mut self, window: &Window, pattern: &Pattern, context: usize) {
        let lines = lines(window);
        let matched: Vec<bool> = lines
            .iter()
            .map(|(_, text)| pattern.is_match(text))
            .collect();
        let mut keep = vec![false; lines.len()];
        for (i, _) in matched.iter().enumerate().filter(|(_, m)| **m) {
            let last = (i + context).min(lines.len() - 1);
            keep[i.saturating_sub(context)..=last].fill(true);
        }
        let mut previous = None;
        for (i, (id, text)) in lines.into_iter().enumerate() {
            if let Some(previous) = previous.replace(id) {
                self.next.insert(previous, id);
            }
            if !keep[i] {
                continue;
            }
            let entry = self.lines.entry(id).or_insert_with(|| (text, false));
            if matched[i] && !entry.1 {
                entry.1 = true;
                self.matches += 1;
            }
        }
    }

    /// The kept lines in runs of adjacent ones: `(text, is_match)`.
    pub fn into_runs(self) -> Vec<Vec<(String, bool)>> {
        let mut runs: Vec<Vec<(String, bool)>> = Vec::new();
        let mut previous: Option<LineId> = None;
        for (id, line) in self.lines {
            let follows = previous.is_some_and(|p| self.next.get(&p) == Some(&id));
            match runs.last_mut() {
                Some(run) if follows => run.push(line),
                _ => runs.push(vec![line]),
            }
            previous = Some(id);
        }
        runs
    }
}

/// Reads rows of one stream, each at most once.
pub struct StreamReader<'c> {
    conn: &'c Connection,
    key: StreamKey,
    cache: HashMap<i64, Rc<[u8]>>,
    cut_after: Option<i64>,
}

impl<'c> StreamReader<'c> {
    pub fn new(conn: &'c Connection, key: StreamKey) -> rusqlite::Result<StreamReader<'c>> {
        let cut_after = conn
            .prepare_cached(
                "SELECT cut_after FROM truncations
                 WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3 AND dropped_bytes > 0",
            )?
            .query_row(params![key.instance, key.host, key.step], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()?
            .flatten();
        Ok(StreamReader {
            conn,
            key,
            cache: HashMap::new(),
            cut_after,
        })
    }

    fn mine(&self, attempt: u32, stream: &str) -> bool {
        attempt == self.key.attempt && stream == self.key.stream.as_str()
    }

    /// The whole stream.
    pub fn all(&mut self) -> rusqlite::Result<Window> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, attempt, stream, data FROM output
             WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3 ORDER BY id",
        )?;
        let k = self.key;
        let mut rows = Vec::new();
        let mut found = stmt.query(params![k.instance, k.host, k.step])?;
        while let Some(row) = found.next()? {
            let (attempt, stream): (u32, String) = (row.get(1)?, row.get(2)?);
            if self.mine(attempt, &stream) {
                rows.push(Row {
                    id: row.get(0)?,
                    data: Rc::from(row.get_ref(3)?.as_blob()?),
                });
            }
        }
        Ok(Window {
            rows,
            at_start: true,
            at_end: true,
            cut_after: self.cut_after,
        })
    }

    /// The rows from `first` to `last` and around them: back to `context`
    /// lines before the first line they hold a part of, on to `context`
    /// lines after the last.
    pub fn around(&mut self, first: i64, last: i64, context: usize) -> rusqlite::Result<Window> {
        let own = self.span(first, last)?;
        // Before: the newline that starts its first line, `context` more,
        // and one more: the line before is read too, so that a run of lines
        // kept by an earlier window is seen to go on in this one.
        let mut before = Vec::new();
        let mut newlines = 0;
        let at_start = !self.walk(first, false, |row| {
            newlines += count_newlines(&row.data);
            before.push(row);
            newlines > context + 1
        })?;
        before.reverse();
        let mut rows = before;
        let ends_line = own.last().is_none_or(|row| row.data.last() == Some(&b'\n'));
        rows.extend(own);
        // After: the newline that ends the line it stops in, then `context` more.
        let mut wanted = context + usize::from(!ends_line);
        let at_end = wanted > 0
            && !self.walk(last, true, |row| {
                let n = count_newlines(&row.data);
                rows.push(row);
                if n >= wanted {
                    return true;
                }
                wanted -= n;
                false
            })?;
        Ok(Window {
            rows,
            at_start,
            at_end,
            cut_after: self.cut_after,
        })
    }

    /// The stream's rows from `first` to `last`.
    fn span(&mut self, first: i64, last: i64) -> rusqlite::Result<Vec<Row>> {
        let k = self.key;
        let ids: Vec<(i64, u32, String)> = self
            .conn
            .prepare_cached(
                "SELECT id, attempt, stream FROM output
                 WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3 AND id BETWEEN ?4 AND ?5
                 ORDER BY id",
            )?
            .query_map(params![k.instance, k.host, k.step, first, last], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut rows = Vec::new();
        for (id, attempt, stream) in ids {
            if self.mine(attempt, &stream) {
                rows.push(Row {
                    id,
                    data: self.row(id)?,
                });
            }
        }
        Ok(rows)
    }

    /// A row's bytes; a row deleted meanwhile (the tail of a long output
    /// slides on) reads as empty.
    fn row(&mut self, id: i64) -> rusqlite::Result<Rc<[u8]>> {
        if let Some(data) = self.cache.get(&id) {
            return Ok(data.clone());
        }
        let data: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT data FROM output WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let data: Rc<[u8]> = Rc::from(data.unwrap_or_default());
        self.cache.insert(id, data.clone());
        Ok(data)
    }

    /// Hands the stream's rows after (or before) `id` to `enough`, nearest
    /// first, until it says it has enough: then `true`; `false` when the
    /// stream ran out first.
    fn walk(
        &mut self,
        id: i64,
        forward: bool,
        mut enough: impl FnMut(Row) -> bool,
    ) -> rusqlite::Result<bool> {
        let sql = if forward {
            "SELECT id, attempt, stream FROM output
             WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3 AND id > ?4 ORDER BY id LIMIT ?5"
        } else {
            "SELECT id, attempt, stream FROM output
             WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3 AND id < ?4 ORDER BY id DESC LIMIT ?5"
        };
        let k = self.key;
        let mut from = id;
        loop {
            // The step's row headers a page at a time; only this stream's rows are read.
            let page: Vec<(i64, u32, String)> = self
                .conn
                .prepare_cached(sql)?
                .query_map(params![k.instance, k.host, k.step, from, WALK_PAGE], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            for (row_id, attempt, stream) in &page {
                if self.mine(*attempt, stream) {
                    let data = self.row(*row_id)?;
                    if enough(Row { id: *row_id, data }) {
                        return Ok(true);
                    }
                }
            }
            match page.last() {
                Some(last) if page.len() as i64 == WALK_PAGE => from = last.0,
                _ => return Ok(false),
            }
        }
    }
}

/// Row headers looked at per query of a walk.
const WALK_PAGE: i64 = 64;

fn count_newlines(data: &[u8]) -> usize {
    data.iter().filter(|&&b| b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(rows: &[&[u8]], at_start: bool, at_end: bool) -> Window {
        Window {
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, data)| Row {
                    id: i as i64 + 1,
                    data: Rc::from(*data),
                })
                .collect(),
            at_start,
            at_end,
            cut_after: None,
        }
    }

    #[test]
    fn a_line_ends_where_output_was_dropped() {
        let mut w = window(
            &[
                b"x
head's last line, cut",
                b" tail's first
y
",
            ],
            true,
            true,
        );
        w.cut_after = Some(1);
        assert_eq!(
            lines(&w),
            [
                ((1, 0), "x".to_owned()),
                ((1, u32::MAX), "head's last line, cut".to_owned()),
                ((2, 0), " tail's first".to_owned()),
                ((2, 1), "y".to_owned())
            ]
        );
    }

    #[test]
    fn lines_span_rows_and_partial_edges_are_left_out() {
        let w = window(
            &[b"tail of a line\nfirst\nsec", b"ond\r\n\x1b[1mthird", b"!"],
            false,
            true,
        );
        assert_eq!(
            lines(&w),
            [
                ((1, 1), "first".to_owned()),
                ((2, 0), "second".to_owned()),
                ((3, u32::MAX), "third!".to_owned())
            ]
        );
        let w = window(&[b"a\nb"], true, false);
        assert_eq!(lines(&w), [((1, 0), "a".to_owned())]);
    }

    #[test]
    fn matches_keep_their_context_and_runs_join() {
        let pattern = Pattern::new("hit", false, false).unwrap();
        let mut gathered = Gathered::default();
        let w = window(&[b"a\nhit 1\nb\nc\nd\ne\nhit 2\nhit 3\nf\n"], true, true);
        gathered.add(&w, &pattern, 1);
        assert_eq!(gathered.matches, 3);
        let runs = gathered.into_runs();
        let texts: Vec<Vec<&str>> = runs
            .iter()
            .map(|run| run.iter().map(|(t, _)| t.as_str()).collect())
            .collect();
        assert_eq!(
            texts,
            [vec!["a", "hit 1", "b"], vec!["e", "hit 2", "hit 3", "f"]]
        );
        assert!(runs[0][1].1 && !runs[0][0].1);
    }
}
