//! Schedules: when flows run, kept in the journal and fired by whichever
//! jobdeck process holds the scheduler lease.
//!
//! - `crontab`: crontab and one-shot time semantics (cronie's rules).
//! - `store`: schedules in the journal, their fire log and fire times.
//! - `lease`: the one-row lease that lets only one process fire.
//! - `scheduler`: the loop (lease, catch-up, overlap, child runs, durable
//!   rollouts), driven by an injectable clock.
//! - `launcher`: a run as a child process (fires, and resumes of durable
//!   rollouts), in its own process group, logging to a private file.
//! - `daemon`: `jobdeck daemon`, the scheduler without a terminal.
//! - `event`: what the scheduler reports, and at which level.
//! - `logs`: pruning the run logs of fires and resumes.
//! - `retention`: the hourly journal retention pass of the lease holder.

pub mod crontab;
pub mod daemon;
pub mod event;
pub mod launcher;
pub mod lease;
pub mod logs;
pub mod retention;
pub mod scheduler;
pub mod store;

pub use crontab::{CronError, CronExpr, OneShot, local_zone, parse_local_time, parse_zone};
pub use scheduler::{Clock, ManualClock, Scheduler, SchedulerHandle, SystemClock};
pub use store::{CatchUp, Overlap, Schedule, ScheduleStore};
