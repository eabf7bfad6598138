//! The journal's schema as an ordered list of migrations embedded in the
//! binary. `PRAGMA user_version` records how many have been applied.
//!
//! To change the schema, append a `Migration` (never edit a released one):
//! an older jobdeck then refuses the newer journal instead of misreading it.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::JournalError;

pub struct Migration {
    /// The `user_version` after this step; steps are numbered 1, 2, 3, ...
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every status column holds the snake_case names used by the event model
/// (`HostStatus`, `InstanceStatus`), so JSON and SQL read the same.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "instances, hosts, steps, batches, output",
        sql: r#"
CREATE TABLE instances (
    -- AUTOINCREMENT: an id is never reused, even after history is pruned.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    flow            TEXT NOT NULL,
    flow_snapshot   TEXT NOT NULL,
    atom_hashes     TEXT NOT NULL DEFAULT '{}',   -- JSON {atom name: sha256}
    params          TEXT NOT NULL DEFAULT '{}',   -- JSON, secret values masked
    secret_params   TEXT NOT NULL DEFAULT '[]',   -- JSON [names that were masked]
    target          TEXT NOT NULL DEFAULT '{}',   -- JSON selection (pattern, limit, ...)
    resolved_hosts  TEXT NOT NULL DEFAULT '[]',   -- JSON [host names]
    rollout         TEXT NOT NULL DEFAULT '{}',   -- JSON plan (expr, sizes, interval, mode, ...)
    trigger         TEXT NOT NULL,                -- manual | cli | schedule:<id> | rerun:<id>
    parent_id       INTEGER REFERENCES instances(id) ON DELETE SET NULL,
    os_user         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN
                        ('running','waiting','paused','ok','failed','aborted','interrupted')),
    created_at      INTEGER NOT NULL,             -- Unix ms, like every *_at column
    started_at      INTEGER,
    finished_at     INTEGER,
    -- The process that runs the instance, to tell a crash from a live run.
    owner_pid       INTEGER,
    owner_host      TEXT,
    owner_start     INTEGER,                      -- /proc/<pid>/stat starttime (clock ticks)
    owner_boot      TEXT,                         -- /proc/sys/kernel/random/boot_id
    -- Where a rollout stands: the first batch not finished, and when a wait ends.
    next_batch      INTEGER NOT NULL DEFAULT 0,
    wait_reason     TEXT,                         -- interval | confirm | failure
    resume_at       INTEGER,
    interrupted_from TEXT,                        -- the status recovery found (running|waiting|paused)
    reason          TEXT
);
CREATE INDEX instances_by_flow ON instances(flow, id);
CREATE INDEX instances_by_status ON instances(status, id);
CREATE INDEX instances_by_parent ON instances(parent_id);

-- Script bodies by content hash, shared by every instance that ran them.
CREATE TABLE atoms (
    sha256  TEXT PRIMARY KEY,
    body    BLOB NOT NULL
);

CREATE TABLE steps (
    instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    step_idx    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (instance_id, step_idx)
) WITHOUT ROWID;

CREATE TABLE batches (
    instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    batch_idx   INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending','running','done','interrupted','cancelled')),
    started_at  INTEGER,
    finished_at INTEGER,
    ok          INTEGER,
    failed      INTEGER,
    PRIMARY KEY (instance_id, batch_idx)
) WITHOUT ROWID;

CREATE TABLE hosts (
    instance_id  INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    host_idx     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    batch_idx    INTEGER,
    batch_pos    INTEGER,                         -- run order within the batch
    status       TEXT NOT NULL DEFAULT 'pending',
    current_step INTEGER,
    exit_code    INTEGER,                         -- of the last step that finished
    started_at   INTEGER,
    finished_at  INTEGER,
    error        TEXT,
    PRIMARY KEY (instance_id, host_idx)
) WITHOUT ROWID;
CREATE INDEX hosts_by_status ON hosts(instance_id, status);

-- One row per attempt: retries are kept.
CREATE TABLE step_results (
    instance_id INTEGER NOT NULL,
    host_idx    INTEGER NOT NULL,
    step_idx    INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    exit_code   INTEGER,
    signal      TEXT,
    started_at  INTEGER,
    finished_at INTEGER,
    error       TEXT,
    PRIMARY KEY (instance_id, host_idx, step_idx, attempt),
    FOREIGN KEY (instance_id, host_idx) REFERENCES hosts(instance_id, host_idx) ON DELETE CASCADE
) WITHOUT ROWID;

-- Raw output bytes in arrival order (the rowid), per host and step.
CREATE TABLE output (
    id          INTEGER PRIMARY KEY,
    instance_id INTEGER NOT NULL,
    host_idx    INTEGER NOT NULL,
    step_idx    INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    stream      TEXT NOT NULL CHECK (stream IN ('stdout','stderr')),
    at          INTEGER NOT NULL,
    data        BLOB NOT NULL,
    FOREIGN KEY (instance_id, host_idx) REFERENCES hosts(instance_id, host_idx) ON DELETE CASCADE
);
-- The rowid is the implicit last column, so this also orders a host's output.
CREATE INDEX output_by_host ON output(instance_id, host_idx, step_idx);

-- Output past the per host+step cap is dropped; one row says how much
-- (migration 3 adds where).
CREATE TABLE truncations (
    instance_id      INTEGER NOT NULL,
    host_idx         INTEGER NOT NULL,
    step_idx         INTEGER NOT NULL,
    cap_bytes        INTEGER NOT NULL,
    dropped_bytes    INTEGER NOT NULL,
    dropped_chunks   INTEGER NOT NULL,
    first_dropped_at INTEGER NOT NULL,
    last_dropped_at  INTEGER NOT NULL,
    PRIMARY KEY (instance_id, host_idx, step_idx),
    FOREIGN KEY (instance_id, host_idx) REFERENCES hosts(instance_id, host_idx) ON DELETE CASCADE
) WITHOUT ROWID;

-- `::set name=value` lines; the latest value per host, step and name.
CREATE TABLE exports (
    instance_id INTEGER NOT NULL,
    host_idx    INTEGER NOT NULL,
    step_idx    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (instance_id, host_idx, step_idx, name),
    FOREIGN KEY (instance_id, host_idx) REFERENCES hosts(instance_id, host_idx) ON DELETE CASCADE
) WITHOUT ROWID;
"#,
    },
    Migration {
        version: 2,
        name: "schedules, their fires, the scheduler lease",
        sql: r#"
-- A flow to run on a crontab expression or once at a time; see src/schedule/.
CREATE TABLE schedules (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: instances keep schedule:<id>
    name          TEXT NOT NULL UNIQUE,
    flow_path     TEXT NOT NULL,                -- absolute
    flow_name     TEXT NOT NULL,
    run_options   TEXT NOT NULL DEFAULT '{}',   -- JSON: params (never secret), selection, rollout, inventory
    kind          TEXT NOT NULL CHECK (kind IN ('cron', 'at')),
    expr          TEXT NOT NULL,                -- crontab expression, or the one-shot time (RFC 3339)
    zone          TEXT NOT NULL,                -- IANA zone name
    until_at      INTEGER,                      -- no fire after this (Unix ms)
    overlap       TEXT NOT NULL DEFAULT 'skip' CHECK (overlap IN ('skip', 'queue', 'allow')),
    catch_up      TEXT NOT NULL DEFAULT 'once' CHECK (catch_up IN ('once', 'all', 'none')),
    paused        INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    next_fire_at  INTEGER,                      -- NULL: nothing left to fire
    last_fire_at  INTEGER,
    queued        INTEGER NOT NULL DEFAULT 0,   -- fires waiting for a running instance (overlap queue)
    last_error    TEXT,
    last_log      TEXT
);
CREATE INDEX schedules_by_next_fire ON schedules(next_fire_at);

-- What the scheduler did with each fire time: started, skipped, queued.
-- Bounded per schedule by the scheduler.
CREATE TABLE schedule_fires (
    id          INTEGER PRIMARY KEY,
    schedule_id INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    due_at      INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    outcome     TEXT NOT NULL,                  -- started | skipped | queued | failed
    detail      TEXT,
    pid         INTEGER
);
CREATE INDEX schedule_fires_by_schedule ON schedule_fires(schedule_id, id);

-- Instances of a schedule are found by their trigger text.
CREATE INDEX instances_by_trigger ON instances(trigger, id);

-- At most one row: the process allowed to fire schedules.
CREATE TABLE scheduler_lease (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    owner_pid    INTEGER NOT NULL,
    owner_host   TEXT NOT NULL,
    owner_start  INTEGER,
    owner_boot   TEXT,
    owner_kind   TEXT NOT NULL,                 -- daemon | console | test
    acquired_at  INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
"#,
    },
    Migration {
        version: 3,
        name: "the head and the tail of long output",
        sql: r#"
-- Output past the cap is dropped from the middle: the head stays, the tail
-- slides (see src/journal/output_cap.rs). A row is written once the head is
-- complete, so `cut_after` is known before anything is dropped.
-- `cut_after`: the output id after which the marker goes (0: before the
-- step's first row); NULL: written by a jobdeck that kept the first bytes
-- only (the marker follows the step's last row).
ALTER TABLE truncations ADD COLUMN cut_after INTEGER;
-- Line ends among the dropped bytes; NULL: not counted (an older jobdeck).
ALTER TABLE truncations ADD COLUMN dropped_lines INTEGER;
"#,
    },
    Migration {
        version: 4,
        name: "history filter indexes",
        sql: r#"
-- History pages filtered by date, alone or with a flow and/or a status
-- (see query::list_instances). The instance rows are wide (flow text, host
-- lists), so a filter must be answered from an index, never by reading
-- rows; each index also holds the rowid, the id the page is ordered by.
CREATE INDEX instances_by_created ON instances(created_at);
CREATE INDEX instances_by_flow_created ON instances(flow, created_at);
CREATE INDEX instances_by_status_created ON instances(status, created_at);
-- Its last two columns are for pruning (journal::prune), which reads every
-- instance's flow, trigger, status and end from this index alone.
CREATE INDEX instances_by_flow_status_created
    ON instances(flow, status, created_at, trigger, finished_at);
"#,
    },
    Migration {
        version: 5,
        name: "guard hits, pre-flight results, run locks, host slots, notifications",
        sql: r#"
-- Every guard rule that matched a run, and what came of it.
CREATE TABLE guard_hits (
    id          INTEGER PRIMARY KEY,
    instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    rule        TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('block', 'confirm', 'warn')),
    outcome     TEXT NOT NULL CHECK (outcome IN ('blocked', 'confirmed', 'refused', 'warned')),
    location    TEXT NOT NULL,                  -- file:line, or the command line
    step_idx    INTEGER,
    matched     TEXT NOT NULL,                  -- secrets masked
    os_user     TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX guard_hits_by_instance ON guard_hits(instance_id, id);

-- One row per host pre-flight checked.
CREATE TABLE preflight (
    instance_id INTEGER NOT NULL,
    host_idx    INTEGER NOT NULL,
    mode        TEXT NOT NULL,                  -- warn | strict | skip-unready
    ready       INTEGER NOT NULL,
    reason      TEXT,
    at          INTEGER NOT NULL,
    PRIMARY KEY (instance_id, host_idx),
    FOREIGN KEY (instance_id, host_idx) REFERENCES hosts(instance_id, host_idx) ON DELETE CASCADE
) WITHOUT ROWID;

-- Run locks: one row per held lock, owned like the scheduler lease (a dead
-- owner on this host, or a heartbeat older than the expiry, frees it).
CREATE TABLE run_locks (
    name         TEXT PRIMARY KEY,
    instance_id  INTEGER,
    os_user      TEXT NOT NULL,
    owner_pid    INTEGER NOT NULL,
    owner_host   TEXT NOT NULL,
    owner_start  INTEGER,
    owner_boot   TEXT,
    acquired_at  INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);

-- Steps running under a per-host limit: one row per step holding a slot.
CREATE TABLE host_slots (
    id           INTEGER PRIMARY KEY,
    host_key     TEXT NOT NULL,                 -- address:port, or local:<machine>
    instance_id  INTEGER,
    os_user      TEXT NOT NULL,
    owner_pid    INTEGER NOT NULL,
    owner_host   TEXT NOT NULL,
    owner_start  INTEGER,
    owner_boot   TEXT,
    acquired_at  INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
CREATE INDEX host_slots_by_key ON host_slots(host_key);

-- Each notification delivery: one row per event and target.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    event       TEXT NOT NULL,
    target      TEXT NOT NULL,                  -- as written: no expanded ${env:...} values
    outcome     TEXT NOT NULL CHECK (outcome IN ('sent', 'failed')),
    attempts    INTEGER NOT NULL,
    http_status INTEGER,
    error       TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX notifications_by_instance ON notifications(instance_id, id);
"#,
    },
    Migration {
        version: 6,
        name: "the word index of output, for jobdeck grep",
        sql: r#"
-- The words output rows show, as src/journal/search/ splits them (already
-- folded and space-separated, so the plain `ascii` tokenizer keeps them as
-- they are). No content of its own: search reads the lines from `output`.
-- `detail = none` keeps only which entries hold a word; the lines
-- themselves are checked.
CREATE VIRTUAL TABLE output_words USING fts5(
    words, content = '', contentless_delete = 1, detail = none, tokenize = 'ascii'
);
-- An entry of the index holds the words of consecutive rows of one stream;
-- its id is the last row's. This names the first, when it is another.
CREATE TABLE output_words_groups (
    last_id  INTEGER PRIMARY KEY,
    first_id INTEGER NOT NULL
);
-- Output deleted (pruned runs, the sliding tail of long output) leaves the
-- index with its group's last row.
CREATE TRIGGER output_words_forget AFTER DELETE ON output BEGIN
    DELETE FROM output_words WHERE rowid = old.id;
    DELETE FROM output_words_groups WHERE last_id = old.id;
END;
-- Output stored before the index existed is indexed once, newest runs
-- first (`jobdeck grep` does it, with progress; it can be stopped and
-- picks up where it stopped).
CREATE TABLE output_words_backfill (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    below         INTEGER NOT NULL,             -- output rows with a smaller id are earlier output
    next_instance INTEGER,                      -- the next run to index; NULL: done
    next_host     INTEGER NOT NULL DEFAULT 0,   -- and within it, the next host
    rows_total    INTEGER NOT NULL,
    rows_done     INTEGER NOT NULL DEFAULT 0
);
INSERT INTO output_words_backfill (id, below, next_instance, rows_total)
SELECT 1, COALESCE((SELECT max(id) FROM output), 0) + 1,
       (SELECT max(instance_id) FROM output), (SELECT count(*) FROM output);
"#,
    },
    Migration {
        version: 7,
        name: "shell sessions (jobdeck ssh, the console's s): the audit rows",
        sql: r#"
-- One row per interactive session, written when it starts (a killed
-- session still shows) and completed when it ends.
CREATE TABLE shell_sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    os_user     TEXT NOT NULL,                -- who ran jobdeck
    host        TEXT NOT NULL,                -- the inventory name
    remote_user TEXT NOT NULL,
    address     TEXT NOT NULL,                -- what was dialled (ansible_host / HostName)
    port        INTEGER NOT NULL,
    command     TEXT,                         -- NULL: a login shell; secrets masked
    started_at  INTEGER NOT NULL,             -- Unix ms
    ended_at    INTEGER,                      -- NULL: still open, or jobdeck was killed
    exit_code   INTEGER,
    exit_signal TEXT,
    error       TEXT,                         -- why it ended without an exit status
    output      BLOB,                         -- kept only when [ssh] keep_output; masked, head+tail
    output_bytes INTEGER                      -- what the session printed in all
);
CREATE INDEX shell_sessions_by_host ON shell_sessions(host, id);
"#,
    },
    Migration {
        version: 8,
        name: "the word index follows the writer: a watermark of indexed output",
        sql: r#"
-- Output rows with a larger id than `indexed_to` (and not below `below`)
-- are not indexed yet: the writer indexes them when it is idle and at the
-- end of each run; until then searches read them line by line.
ALTER TABLE output_words_backfill ADD COLUMN indexed_to INTEGER NOT NULL DEFAULT 0;
UPDATE output_words_backfill SET indexed_to = COALESCE((SELECT max(id) FROM output), 0);
-- Deleting the newest rows frees their ids for new output: the watermark
-- never stays above the largest id, so a reused id is indexed again.
CREATE TRIGGER output_words_watermark AFTER DELETE ON output
WHEN old.id >= (SELECT indexed_to FROM output_words_backfill WHERE id = 1)
BEGIN
    UPDATE output_words_backfill SET indexed_to = (SELECT COALESCE(max(id), 0) FROM output)
    WHERE id = 1 AND indexed_to > (SELECT COALESCE(max(id), 0) FROM output);
END;
"#,
    },
];

/// The schema version this binary writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

pub fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings the journal up to `latest_version()` in one immediate transaction,
/// or refuses a journal written by a newer jobdeck.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), JournalError> {
    // Cheap read first, so a refused journal is never locked for writing.
    check_not_newer(user_version(conn)?, path)?;
    if user_version(conn)? == latest_version() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the lock.
    let current = user_version(&tx)?;
    check_not_newer(current, path)?;
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(migration.sql)
            .map_err(|cause| JournalError::Migration {
                path: path.to_path_buf(),
                version: migration.version,
                name: migration.name,
                cause,
            })?;
        // PRAGMA takes no bound parameters; the value is our own constant.
        tx.pragma_update(None, "user_version", migration.version)?;
    }
    tx.commit()?;
    Ok(())
}

fn check_not_newer(found: i64, path: &Path) -> Result<(), JournalError> {
    if found > latest_version() {
        return Err(JournalError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known: latest_version(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_one_up() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "migration {:?}", m.name);
        }
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        assert_eq!(user_version(&conn).unwrap(), latest_version());
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'output'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1);
    }
}
