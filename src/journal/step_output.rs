//! One host's step output as the journal keeps it (see `output_cap`): the
//! head rows stay, the tail rows slide, and what falls between is counted
//! in the step's `truncations` row. Every committed state is one a reader
//! can show: whole rows in order, the marker's place (`cut_after`) and
//! exact counts of what was dropped.

use std::collections::VecDeque;

use rusqlite::{OptionalExtension, Transaction, params};

use super::output_cap::{head_end, head_share, line_ends, to_line_start};
use crate::engine::events::{HostIndex, InstanceId, StepIndex, Stream, UnixMillis};

/// Where one piece of output goes.
#[derive(Debug, Clone, Copy)]
pub struct OutputKey {
    pub instance: InstanceId,
    pub host: HostIndex,
    pub step: StepIndex,
    pub attempt: u32,
}

/// A stored tail row, as much as trimming needs to know of it.
#[derive(Debug, Clone)]
struct TailRow {
    id: i64,
    len: u64,
    line_ends: u64,
    /// Bytes up to and including its first line end.
    to_line_start: Option<u64>,
    ends_line: bool,
}

impl TailRow {
    fn new(id: i64, data: &[u8]) -> TailRow {
        TailRow {
            id,
            len: data.len() as u64,
            line_ends: line_ends(data),
            to_line_start: to_line_start(data).map(|n| n as u64),
            ends_line: data.last() == Some(&b'\n'),
        }
    }
}

#[derive(Debug, Default)]
pub struct StepOutput {
    head_bytes: u64,
    /// The head is complete: later output goes to the tail.
    head_done: bool,
    /// The head's last row (0: the head is empty).
    head_last_id: i64,
    /// The head is empty or its last byte ends a line.
    head_ends_line: bool,
    /// Some line of the head ends in it.
    head_has_line_end: bool,
    tail: VecDeque<TailRow>,
    tail_bytes: u64,
    /// The first tail row starts a line, or nothing before it was dropped.
    tail_aligned: bool,
    pub dropped_bytes: u64,
    dropped_lines: u64,
    dropped_chunks: u64,
    first_dropped_at: Option<UnixMillis>,
    last_dropped_at: UnixMillis,
    /// The `truncations` row needs writing at the end of the transaction.
    dirty: bool,
}

impl StepOutput {
    pub fn new() -> StepOutput {
        StepOutput {
            head_ends_line: true,
            tail_aligned: true,
            ..StepOutput::default()
        }
    }

    /// What an earlier writer stored for this step (a resumed run): its
    /// rows and its `truncations` row.
    pub fn load(tx: &Transaction<'_>, key: OutputKey) -> rusqlite::Result<StepOutput> {
        let mut out = StepOutput::new();
        let cut = tx
            .prepare_cached(
                "SELECT cut_after, dropped_bytes, dropped_lines, dropped_chunks, first_dropped_at, last_dropped_at
                 FROM truncations WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3",
            )?
            .query_row(params![key.instance, key.host, key.step], |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, u64>(1)?,
                    r.get::<_, Option<u64>>(2)?,
                    r.get::<_, u64>(3)?,
                    r.get::<_, UnixMillis>(4)?,
                    r.get::<_, UnixMillis>(5)?,
                ))
            })
            .optional()?;
        if let Some((_, bytes, lines, chunks, first, last)) = cut {
            out.head_done = true;
            out.dropped_bytes = bytes;
            out.dropped_lines = lines.unwrap_or(0);
            out.dropped_chunks = chunks;
            if bytes > 0 {
                out.first_dropped_at = Some(first);
                out.last_dropped_at = last;
            }
        }
        // Without `cut_after` (an older jobdeck kept the first bytes only),
        // everything stored is head.
        let head_end = cut.and_then(|c| c.0).unwrap_or(i64::MAX);
        let mut stmt = tx.prepare_cached(
            "SELECT id, data FROM output WHERE instance_id = ?1 AND host_idx = ?2 AND step_idx = ?3 ORDER BY id",
        )?;
        let mut rows = stmt.query(params![key.instance, key.host, key.step])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let data: Vec<u8> = row.get(1)?;
            if id <= head_end {
                out.head_bytes += data.len() as u64;
                out.head_last_id = id;
                out.head_ends_line = data.last() == Some(&b'\n');
                out.head_has_line_end |= data.contains(&b'\n');
            } else {
                out.tail_bytes += data.len() as u64;
                out.tail.push_back(TailRow::new(id, &data));
            }
        }
        if cut.is_some_and(|c| c.0.is_none()) {
            out.dirty = true; // rewritten with its place
        }
        Ok(out)
    }

    /// Stores what is kept of one chunk; returns the bytes dropped. (The
    /// search index reads the rows later: `search::follow`.)
    pub fn push(
        &mut self,
        tx: &Transaction<'_>,
        key: OutputKey,
        cap: u64,
        stream: Stream,
        at: UnixMillis,
        mut data: &[u8],
    ) -> rusqlite::Result<u64> {
        let dropped_before = self.dropped_bytes;
        if !self.head_done {
            let room = head_share(cap).saturating_sub(self.head_bytes) as usize;
            let take = match head_end(data, room) {
                _ if data.len() <= room => data.len(),
                Some(end) => end,
                // The head ends with its last line.
                None if self.head_has_line_end => 0,
                // One line longer than the head: its start.
                None => room,
            };
            if take > 0 {
                let part = &data[..take];
                self.head_last_id = insert(tx, key, stream, at, part)?;
                self.head_bytes += take as u64;
                self.head_ends_line = part.last() == Some(&b'\n');
                self.head_has_line_end |= part.contains(&b'\n');
            }
            data = &data[take..];
            if self.head_bytes >= head_share(cap) || !data.is_empty() {
                self.head_done = true;
                self.dirty = true; // the marker's place is known now
                if !self.head_ends_line {
                    self.end_head_at_line(tx)?;
                }
            }
        }
        if data.is_empty() {
            return Ok(0);
        }
        let tail_cap = cap - head_share(cap);
        if tail_cap == 0 {
            self.drop_bytes(data, at, true);
            return Ok(self.dropped_bytes - dropped_before);
        }
        if data.len() as u64 > tail_cap {
            // Only its end can stay: everything before it goes.
            let (gone, kept) = data.split_at(data.len() - tail_cap as usize);
            while let Some(row) = self.tail.pop_front() {
                self.delete_row(tx, &row, at)?;
            }
            self.drop_bytes(gone, at, false);
            self.tail_aligned = gone.last() == Some(&b'\n');
            data = kept;
        }
        let id = insert(tx, key, stream, at, data)?;
        self.tail.push_back(TailRow::new(id, data));
        self.tail_bytes += data.len() as u64;
        while let Some(front) = self.tail.front()
            && self.tail_bytes - front.len >= tail_cap
        {
            let row = self.tail.pop_front().expect("a front row");
            self.tail_aligned = row.ends_line;
            self.delete_row(tx, &row, at)?;
        }
        Ok(self.dropped_bytes - dropped_before)
    }

    /// The head ends inside a line: the part of its last row after the
    /// last line end starts the tail instead. (A line that began in an
    /// earlier row stays cut.)
    fn end_head_at_line(&mut self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        let row = tx
            .prepare_cached("SELECT attempt, stream, at, data FROM output WHERE id = ?1")?
            .query_row([self.head_last_id], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, UnixMillis>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .optional()?;
        let Some((attempt, stream, at, data)) = row else {
            return Ok(());
        };
        let Some(end) = data.iter().rposition(|&b| b == b'\n').map(|n| n + 1) else {
            return Ok(());
        };
        let moved = &data[end..];
        tx.prepare_cached("UPDATE output SET data = substr(data, 1, ?2) WHERE id = ?1")?
            .execute(params![self.head_last_id, end])?;
        let id = tx
            .prepare_cached(
                "INSERT INTO output (instance_id, host_idx, step_idx, attempt, stream, at, data)
                 SELECT instance_id, host_idx, step_idx, ?2, ?3, ?4, ?5 FROM output WHERE id = ?1",
            )?
            .execute(params![self.head_last_id, attempt, stream, at, moved])
            .map(|_| tx.last_insert_rowid())?;
        self.head_bytes -= moved.len() as u64;
        self.head_ends_line = true;
        self.tail.push_back(TailRow::new(id, moved));
        self.tail_bytes += moved.len() as u64;
        Ok(())
    }

    fn delete_row(
        &mut self,
        tx: &Transaction<'_>,
        row: &TailRow,
        at: UnixMillis,
    ) -> rusqlite::Result<()> {
        tx.prepare_cached("DELETE FROM output WHERE id = ?1")?
            .execute([row.id])?;
        self.tail_bytes -= row.len;
        self.count_dropped(row.len, row.line_ends, at);
        self.dropped_chunks += 1;
        Ok(())
    }

    fn drop_bytes(&mut self, data: &[u8], at: UnixMillis, whole_chunk: bool) {
        self.count_dropped(data.len() as u64, line_ends(data), at);
        if whole_chunk {
            self.dropped_chunks += 1;
        }
    }

    fn count_dropped(&mut self, bytes: u64, lines: u64, at: UnixMillis) {
        if bytes == 0 {
            return;
        }
        self.dropped_bytes += bytes;
        self.dropped_lines += lines;
        self.first_dropped_at.get_or_insert(at);
        self.last_dropped_at = at;
        self.dirty = true;
    }

    /// At the end of a transaction: the tail starts a line (the bytes of a
    /// line cut in two are dropped too), and the `truncations` row says
    /// where the marker goes and what it stands for.
    pub fn write_marker(
        &mut self,
        tx: &Transaction<'_>,
        key: OutputKey,
        cap: u64,
    ) -> rusqlite::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        if !self.tail_aligned && self.dropped_bytes > 0 {
            self.align_tail(tx)?;
        }
        let first = self.first_dropped_at.unwrap_or(self.last_dropped_at);
        tx.prepare_cached(
            "INSERT INTO truncations (instance_id, host_idx, step_idx, cap_bytes, dropped_bytes, dropped_chunks,
                 first_dropped_at, last_dropped_at, cut_after, dropped_lines)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT DO UPDATE SET cap_bytes = excluded.cap_bytes, dropped_bytes = excluded.dropped_bytes,
                 dropped_chunks = excluded.dropped_chunks, first_dropped_at = excluded.first_dropped_at,
                 last_dropped_at = excluded.last_dropped_at, cut_after = excluded.cut_after,
                 dropped_lines = excluded.dropped_lines",
        )?
        .execute(params![
            key.instance,
            key.host,
            key.step,
            cap,
            self.dropped_bytes,
            self.dropped_chunks,
            first,
            self.last_dropped_at,
            self.head_last_id,
            self.dropped_lines
        ])?;
        self.dirty = false;
        Ok(())
    }

    /// Drops the rest of a line cut in two from the front of the tail.
    fn align_tail(&mut self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        let at = self.last_dropped_at;
        let Some(front) = self.tail.front().cloned() else {
            return Ok(());
        };
        let Some(cut) = front.to_line_start else {
            return Ok(()); // a line longer than the row: it stays cut
        };
        if cut >= front.len {
            self.tail.pop_front();
            self.delete_row(tx, &front, at)?;
        } else {
            // substr() counts a blob's bytes from 1.
            tx.prepare_cached("UPDATE output SET data = substr(data, ?2) WHERE id = ?1")?
                .execute(params![front.id, cut + 1])?;
            let row = self.tail.front_mut().expect("the front row");
            row.len -= cut;
            row.line_ends -= 1;
            row.to_line_start = None;
            self.tail_bytes -= cut;
            self.count_dropped(cut, 1, at);
        }
        self.tail_aligned = true;
        Ok(())
    }
}

fn insert(
    tx: &Transaction<'_>,
    key: OutputKey,
    stream: Stream,
    at: UnixMillis,
    data: &[u8],
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO output (instance_id, host_idx, step_idx, attempt, stream, at, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        key.instance,
        key.host,
        key.step,
        key.attempt,
        stream.as_str(),
        at,
        data
    ])?;
    Ok(tx.last_insert_rowid())
}
