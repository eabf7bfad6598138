//! `jobdeck schedule next`: check a crontab expression before trusting it.

use std::io::Write;

use anyhow::{Result, bail};
use chrono::{Datelike, Utc};

use crate::cli::ScheduleCommand;
use crate::exit;
use crate::schedule::{CronExpr, crontab::SEARCH_YEARS, local_zone, parse_local_time, parse_zone};

pub fn run(cmd: ScheduleCommand) -> Result<u8> {
    match cmd {
        ScheduleCommand::Next {
            expr,
            count,
            from,
            tz,
        } => next(&expr, usize::from(count), from.as_deref(), tz.as_deref()),
    }
}

fn next(expr: &str, count: usize, from: Option<&str>, tz: Option<&str>) -> Result<u8> {
    let cron = CronExpr::parse(expr)?;
    let zone = match tz {
        Some(name) => parse_zone(name)?,
        None => local_zone(),
    };
    let start = match from {
        Some(text) => parse_local_time(text, zone)?,
        None => Utc::now().with_timezone(&zone),
    };
    if !(1970..=2099).contains(&start.year()) {
        bail!(
            "--from {}: expected a time in the years 1970-2099",
            start.format("%Y-%m-%d %H:%M:%S %Z")
        );
    }
    let times: Vec<_> = cron.upcoming(start).take(count).collect();
    if times.is_empty() {
        bail!(
            "'{expr}' has no fire time within {SEARCH_YEARS} years after {} in {} (the search also stops at the end of 2100): check the day and month fields",
            start.format("%Y-%m-%d %H:%M:%S %Z"),
            zone.name()
        );
    }
    let mut out = std::io::stdout().lock();
    for t in &times {
        // Readable wall-clock time with zone abbreviation and weekday, then RFC 3339.
        writeln!(
            out,
            "{}  {}",
            t.format("%Y-%m-%d %H:%M:%S %Z (%a)"),
            t.to_rfc3339()
        )?;
    }
    if times.len() < count {
        eprintln!(
            "jobdeck: note: no further fire time within {SEARCH_YEARS} years after {}",
            start.format("%Y-%m-%d %H:%M:%S %Z")
        );
    }
    Ok(exit::OK)
}
