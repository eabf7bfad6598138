//! Schedules: when flows run. For now the crontab and one-shot time
//! semantics; the scheduler loop, its journal and its lease come later.

pub mod crontab;

pub use crontab::{CronError, CronExpr, OneShot, local_zone, parse_local_time, parse_zone};
