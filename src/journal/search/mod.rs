//! Searching the output of every run (`jobdeck grep`, and the console's
//! searches): an FTS5 index of the words each output row shows, kept by the
//! journal writer behind the output it stores (`index`, `follow`), narrows the search to the
//! rows that hold the words a pattern needs (`pattern`); those rows' lines
//! are then read back and checked one by one (`lines`), so the index only
//! ever saves work and never decides what matches.
//!
//! Results come newest run first; within a run by host, step, attempt and
//! stream (stdout, then stderr), in output order.

pub mod follow;
pub mod index;
pub mod lines;
pub mod pattern;
pub mod words;

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use globset::{Glob, GlobMatcher};
use rusqlite::params;

use crate::engine::events::{HostIndex, InstanceId, InstanceStatus, StepIndex, Stream, UnixMillis};
use crate::journal::{Journal, JournalError};
use lines::{Gathered, StreamKey, StreamReader};
pub use pattern::{Pattern, PatternError};

/// What to look for, and where.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub pattern: Pattern,
    /// Lines of context before and after each match.
    pub context: usize,
    /// Only runs of this flow.
    pub flow: Option<String>,
    /// Only hosts whose name matches this glob (`web*`) or is this name.
    pub host: Option<String>,
    pub status: Option<InstanceStatus>,
    /// Only runs created at or after this time.
    pub since: Option<UnixMillis>,
    /// Only runs created before this time.
    pub until: Option<UnixMillis>,
}

/// Matching lines of one stream with their context, in output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchBlock {
    pub instance: InstanceId,
    pub flow: String,
    pub host: HostIndex,
    pub host_name: String,
    pub step: StepIndex,
    pub step_name: String,
    pub attempt: u32,
    pub stream: Stream,
    pub lines: Vec<SearchLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchLine {
    pub text: String,
    /// A match; otherwise a line of context.
    pub is_match: bool,
}

/// How a search went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchSummary {
    pub matches: usize,
    pub blocks: usize,
    /// The index narrowed the search (the pattern needs a word).
    pub used_index: bool,
    /// Groups of output rows the index pointed at.
    pub candidate_rows: usize,
    /// Hosts of runs whose earlier output is not indexed yet, read in full.
    pub hosts_read_in_full: usize,
    /// The callback asked to stop.
    pub stopped: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("bad --host pattern {pattern:?}: {reason}")]
    BadHost { pattern: String, reason: String },
}

impl From<rusqlite::Error> for SearchError {
    fn from(err: rusqlite::Error) -> SearchError {
        SearchError::Journal(JournalError::Sqlite(err))
    }
}

/// A run in the search's scope, with its names read on demand.
struct Run {
    flow: String,
    hosts: Option<Vec<String>>,
    steps: Option<Vec<String>>,
}

/// What to read for one host of one run.
enum Work {
    /// Its output is not indexed yet: every line is checked.
    Everything,
    /// The rows the index found, per stream: groups of rows, first to last.
    Rows(BTreeMap<(StepIndex, u32, u8), Vec<(i64, i64)>>),
}

impl Journal {
    /// Runs `query`, handing each block of matching lines to `on_block`
    /// (newest run first) until it breaks. Reads only: call it off the UI
    /// task. Output not indexed yet (see `build_search_index`) is read in
    /// full, so results are complete either way.
    pub fn search(
        &self,
        query: &SearchQuery,
        mut on_block: impl FnMut(SearchBlock) -> ControlFlow<()>,
    ) -> Result<SearchSummary, SearchError> {
        let host_filter = query
            .host
            .as_deref()
            .map(|pattern| {
                Glob::new(pattern)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| SearchError::BadHost {
                        pattern: pattern.to_owned(),
                        reason: e.kind().to_string(),
                    })
            })
            .transpose()?;
        let mut runs = self.runs_in_scope(query)?;
        let progress = self.search_index_progress()?;
        let mut summary = SearchSummary::default();
        let mut work: BTreeMap<(std::cmp::Reverse<InstanceId>, HostIndex), Work> = BTreeMap::new();

        // Hosts whose earlier output waits for the index build: read in full.
        if !progress.is_done() {
            for &id in runs.keys() {
                for host in self.hosts_with_output(id)? {
                    if progress.pending(id, host) {
                        work.insert((std::cmp::Reverse(id), host), Work::Everything);
                    }
                }
            }
        }
        // Hosts with output stored since the index's watermark (a live
        // run, or one whose writer stopped before indexing): read in full.
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT DISTINCT instance_id, host_idx FROM output
                 WHERE id > (SELECT indexed_to FROM output_words_backfill WHERE id = 1)",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let id: InstanceId = row.get(0)?;
                if runs.contains_key(&id) {
                    work.insert((std::cmp::Reverse(id), row.get(1)?), Work::Everything);
                }
            }
        }
        match query.pattern.fts_query() {
            Some(fts) => {
                summary.used_index = true;
                let mut stmt = self.conn.prepare_cached(
                    "SELECT o.id, o.instance_id, o.host_idx, o.step_idx, o.attempt, o.stream,
                            COALESCE(g.first_id, o.id)
                     FROM output_words w JOIN output o ON o.id = w.rowid
                     LEFT JOIN output_words_groups g ON g.last_id = w.rowid
                     WHERE output_words MATCH ?1",
                )?;
                let mut rows = stmt.query([fts])?;
                while let Some(row) = rows.next()? {
                    let instance: InstanceId = row.get(1)?;
                    if !runs.contains_key(&instance) {
                        continue;
                    }
                    let host: HostIndex = row.get(2)?;
                    let stream = stream_slot(&row.get::<_, String>(5)?);
                    let entry = work
                        .entry((std::cmp::Reverse(instance), host))
                        .or_insert_with(|| Work::Rows(BTreeMap::new()));
                    if let Work::Rows(streams) = entry {
                        summary.candidate_rows += 1;
                        streams
                            .entry((row.get(3)?, row.get(4)?, stream))
                            .or_default()
                            .push((row.get(6)?, row.get(0)?));
                    }
                }
            }
            None => {
                for &id in runs.keys() {
                    for host in self.hosts_with_output(id)? {
                        work.insert((std::cmp::Reverse(id), host), Work::Everything);
                    }
                }
            }
        }

        for ((std::cmp::Reverse(instance), host), what) in work {
            let run = runs
                .get_mut(&instance)
                .expect("work only for runs in scope");
            let host_name = self.host_name(run, instance, host)?;
            if let Some(filter) = &host_filter
                && !host_matches(filter, &host_name)
            {
                continue;
            }
            let streams = match what {
                Work::Everything => {
                    summary.hosts_read_in_full += 1;
                    self.streams_of(instance, host)?
                        .into_iter()
                        .map(|key| (key, None))
                        .collect::<Vec<_>>()
                }
                Work::Rows(found) => found
                    .into_iter()
                    .map(|((step, attempt, stream), mut ids)| {
                        ids.sort_unstable();
                        let key = StreamKey {
                            instance,
                            host,
                            step,
                            attempt,
                            stream: slot_stream(stream),
                        };
                        (key, Some(ids))
                    })
                    .collect(),
            };
            for (key, candidates) in streams {
                let gathered = self.gather(key, candidates.as_deref(), query)?;
                summary.matches += gathered.matches;
                for run_lines in gathered.into_runs() {
                    let block = SearchBlock {
                        instance,
                        flow: run.flow.clone(),
                        host,
                        host_name: host_name.clone(),
                        step: key.step,
                        step_name: self.step_name(run, instance, key.step)?,
                        attempt: key.attempt,
                        stream: key.stream,
                        lines: run_lines
                            .into_iter()
                            .map(|(text, is_match)| SearchLine { text, is_match })
                            .collect(),
                    };
                    summary.blocks += 1;
                    if on_block(block).is_break() {
                        summary.stopped = true;
                        return Ok(summary);
                    }
                }
            }
        }
        Ok(summary)
    }

    /// The runs the query's filters allow, by id.
    fn runs_in_scope(&self, query: &SearchQuery) -> Result<BTreeMap<InstanceId, Run>, SearchError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, flow FROM instances
             WHERE (?1 IS NULL OR flow = ?1) AND (?2 IS NULL OR status = ?2)
               AND (?3 IS NULL OR created_at >= ?3) AND (?4 IS NULL OR created_at < ?4)",
        )?;
        let rows = stmt.query_map(
            params![
                query.flow,
                query.status.map(|s| s.as_str()),
                query.since,
                query.until
            ],
            |r| {
                Ok((
                    r.get::<_, InstanceId>(0)?,
                    Run {
                        flow: r.get(1)?,
                        hosts: None,
                        steps: None,
                    },
                ))
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn hosts_with_output(&self, instance: InstanceId) -> Result<Vec<HostIndex>, SearchError> {
        let mut hosts = Vec::new();
        let mut from: i64 = 0;
        // Distinct hosts by skipping through the index, not reading every row.
        let mut stmt = self.conn.prepare_cached(
            "SELECT min(host_idx) FROM output WHERE instance_id = ?1 AND host_idx >= ?2",
        )?;
        while let Some(host) = stmt.query_row(params![instance, from], |r| {
            r.get::<_, Option<HostIndex>>(0)
        })? {
            hosts.push(host);
            from = host as i64 + 1;
        }
        Ok(hosts)
    }

    /// Every stream of a host's output in a run, in the order results come.
    fn streams_of(
        &self,
        instance: InstanceId,
        host: HostIndex,
    ) -> Result<Vec<StreamKey>, SearchError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT step_idx, attempt, stream FROM output WHERE instance_id = ?1 AND host_idx = ?2",
        )?;
        let mut keys: Vec<(StepIndex, u32, u8)> = stmt
            .query_map(params![instance, host], |r| {
                Ok((r.get(0)?, r.get(1)?, stream_slot(&r.get::<_, String>(2)?)))
            })?
            .collect::<Result<_, _>>()?;
        keys.sort_unstable();
        Ok(keys
            .into_iter()
            .map(|(step, attempt, stream)| StreamKey {
                instance,
                host,
                step,
                attempt,
                stream: slot_stream(stream),
            })
            .collect())
    }

    /// Checks the lines of one stream: all of them, or those around the rows
    /// the index found (a stream with many such rows is read whole).
    fn gather(
        &self,
        key: StreamKey,
        candidates: Option<&[(i64, i64)]>,
        query: &SearchQuery,
    ) -> Result<Gathered, SearchError> {
        let mut reader = StreamReader::new(&self.conn, key)?;
        let mut gathered = Gathered::default();
        match candidates {
            Some(groups) if groups.len() <= READ_AROUND_AT_MOST => {
                for &(first, last) in groups {
                    let window = reader.around(first, last, query.context)?;
                    gathered.add(&window, &query.pattern, query.context);
                }
            }
            _ => {
                let window = reader.all()?;
                gathered.add(&window, &query.pattern, query.context);
            }
        }
        Ok(gathered)
    }

    fn host_name(
        &self,
        run: &mut Run,
        instance: InstanceId,
        host: HostIndex,
    ) -> Result<String, SearchError> {
        if run.hosts.is_none() {
            run.hosts = Some(self.names(
                "SELECT host_idx, name FROM hosts WHERE instance_id = ?1",
                instance,
            )?);
        }
        Ok(run
            .hosts
            .as_ref()
            .and_then(|names| names.get(host).cloned())
            .unwrap_or_else(|| format!("host#{host}")))
    }

    fn step_name(
        &self,
        run: &mut Run,
        instance: InstanceId,
        step: StepIndex,
    ) -> Result<String, SearchError> {
        if run.steps.is_none() {
            run.steps = Some(self.names(
                "SELECT step_idx, name FROM steps WHERE instance_id = ?1",
                instance,
            )?);
        }
        Ok(run
            .steps
            .as_ref()
            .and_then(|names| names.get(step).cloned())
            .unwrap_or_else(|| format!("step {}", step + 1)))
    }

    /// Names by index (hosts or steps of a run).
    fn names(&self, sql: &str, instance: InstanceId) -> Result<Vec<String>, SearchError> {
        let mut names: HashMap<usize, String> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(sql)?;
        for row in stmt.query_map([instance], |r| {
            Ok((r.get::<_, usize>(0)?, r.get::<_, String>(1)?))
        })? {
            let (index, name) = row?;
            names.insert(index, name);
        }
        let len = names.keys().max().map_or(0, |m| m + 1);
        Ok((0..len)
            .map(|i| names.remove(&i).unwrap_or_default())
            .collect())
    }
}

/// A stream checked line by line when the index points at more of its
/// groups of rows than this; reading it whole is then cheaper.
const READ_AROUND_AT_MOST: usize = 32;

fn host_matches(filter: &GlobMatcher, name: &str) -> bool {
    filter.is_match(name)
}

/// Streams sort stdout first.
fn stream_slot(name: &str) -> u8 {
    u8::from(name == Stream::Stderr.as_str())
}

fn slot_stream(slot: u8) -> Stream {
    if slot == 0 {
        Stream::Stdout
    } else {
        Stream::Stderr
    }
}
