//! Schedules: when flows run. For now the crontab and one-shot time
//! semantics; the scheduler loop, its journal and its lease come later.

pub mod crontab;

#[allow(unused_imports)] // CronError and OneShot are for `schedule add`, which comes later
pub use crontab::{CronError, CronExpr, OneShot, local_zone, parse_local_time, parse_zone};
