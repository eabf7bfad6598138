//! What the scheduler reports: one line each, and how it reads in a log.
//! Its own file so the scheduler's helpers (retention) can report without
//! depending on the scheduler loop.

use std::fmt;

use chrono::{DateTime, Utc};

/// How a scheduler event reads in a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
        })
    }
}

/// Something the scheduler did or noticed, one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerEvent {
    pub at: DateTime<Utc>,
    pub level: Level,
    pub message: String,
}
