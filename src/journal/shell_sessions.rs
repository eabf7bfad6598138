//! The audit rows of interactive sessions (`jobdeck ssh`, the console's
//! `s`): one row written as a session starts, so a session whose jobdeck
//! was killed still shows (without an end), and completed when it ends.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Journal, JournalError};
use crate::engine::events::{UnixMillis, now_millis};

/// Who opened which session, as the row is first written.
#[derive(Debug, Clone)]
pub struct SessionStart {
    pub os_user: String,
    pub host: String,
    pub remote_user: String,
    pub address: String,
    pub port: u16,
    /// Already masked.
    pub command: Option<String>,
}

/// How it ended.
#[derive(Debug, Clone, Default)]
pub struct SessionEnd {
    pub exit_code: Option<u32>,
    pub exit_signal: Option<String>,
    pub error: Option<String>,
    /// Kept output (masked, capped), when the config keeps it.
    pub output: Option<Vec<u8>>,
    pub output_bytes: u64,
}

/// One row, as `jobdeck ssh --list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRow {
    pub id: i64,
    pub os_user: String,
    pub host: String,
    pub remote_user: String,
    pub address: String,
    pub port: u16,
    pub command: Option<String>,
    pub started_at: UnixMillis,
    pub ended_at: Option<UnixMillis>,
    pub exit_code: Option<u32>,
    pub exit_signal: Option<String>,
    pub error: Option<String>,
    pub output_bytes: Option<u64>,
    /// Whether output was kept (`jobdeck ssh --output ID` prints it).
    pub output_kept: bool,
}

impl Journal {
    /// Writes the row of a session that starts now; its id.
    pub fn start_shell_session(&self, start: &SessionStart) -> Result<i64, JournalError> {
        self.connection().execute(
            "INSERT INTO shell_sessions
                 (os_user, host, remote_user, address, port, command, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                start.os_user,
                start.host,
                start.remote_user,
                start.address,
                start.port,
                start.command,
                now_millis()
            ],
        )?;
        Ok(self.connection().last_insert_rowid())
    }

    /// Completes the row `id` with how the session ended.
    pub fn end_shell_session(&self, id: i64, end: &SessionEnd) -> Result<(), JournalError> {
        let changed = self.connection().execute(
            "UPDATE shell_sessions
                SET ended_at = ?2, exit_code = ?3, exit_signal = ?4, error = ?5,
                    output = ?6, output_bytes = ?7
              WHERE id = ?1",
            params![
                id,
                now_millis(),
                end.exit_code,
                end.exit_signal,
                end.error,
                end.output,
                end.output_bytes as i64
            ],
        )?;
        if changed == 0 {
            return Err(JournalError::Sqlite(rusqlite::Error::QueryReturnedNoRows));
        }
        Ok(())
    }

    /// The latest `limit` sessions, newest first; only `host`'s when given.
    pub fn shell_sessions(
        &self,
        host: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SessionRow>, JournalError> {
        let mut statement = self.connection().prepare(
            "SELECT id, os_user, host, remote_user, address, port, command, started_at,
                    ended_at, exit_code, exit_signal, error, output_bytes, output IS NOT NULL
               FROM shell_sessions
              WHERE ?1 IS NULL OR host = ?1
              ORDER BY id DESC
              LIMIT ?2",
        )?;
        let rows = statement
            .query_map(params![host, limit], |row| {
                Ok(SessionRow {
                    id: row.get(0)?,
                    os_user: row.get(1)?,
                    host: row.get(2)?,
                    remote_user: row.get(3)?,
                    address: row.get(4)?,
                    port: row.get(5)?,
                    command: row.get(6)?,
                    started_at: row.get(7)?,
                    ended_at: row.get(8)?,
                    exit_code: row.get(9)?,
                    exit_signal: row.get(10)?,
                    error: row.get(11)?,
                    output_bytes: row.get::<_, Option<i64>>(12)?.map(|n| n.max(0) as u64),
                    output_kept: row.get(13)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The output kept for session `id`: `None` when there is no such
    /// session, `Some(None)` when its output was not kept.
    pub fn shell_session_output(&self, id: i64) -> Result<Option<Option<Vec<u8>>>, JournalError> {
        Ok(self
            .connection()
            .query_row(
                "SELECT output FROM shell_sessions WHERE id = ?1",
                [id],
                |row| row.get(0),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_there_from_the_start_and_completed_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path().join("j.db")).unwrap();
        let id = journal
            .start_shell_session(&SessionStart {
                os_user: "ops".into(),
                host: "web1".into(),
                remote_user: "deploy".into(),
                address: "127.0.0.1".into(),
                port: 2222,
                command: None,
            })
            .unwrap();
        let open = &journal.shell_sessions(None, 10).unwrap()[0];
        assert_eq!((open.id, open.ended_at, open.exit_code), (id, None, None));
        journal
            .end_shell_session(
                id,
                &SessionEnd {
                    exit_code: Some(3),
                    output: Some(b"hi\n".to_vec()),
                    output_bytes: 3,
                    ..Default::default()
                },
            )
            .unwrap();
        let done = &journal.shell_sessions(Some("web1"), 10).unwrap()[0];
        assert_eq!(done.exit_code, Some(3));
        assert!(done.ended_at.is_some() && done.output_kept);
        assert_eq!(
            journal.shell_session_output(id).unwrap(),
            Some(Some(b"hi\n".to_vec()))
        );
        assert!(journal.shell_sessions(Some("db1"), 10).unwrap().is_empty());
    }
}
