//! Standard 5-field crontab expressions, with the meaning `man 5 crontab`
//! gives them and cronie's daemon implements.
//!
//! # Syntax (as cronie parses it)
//!
//! `minute hour day-of-month month day-of-week`, separated by blanks.
//! Each field is a comma-separated list of items; an item is
//! - `*` (first-last), a single value `N`, or a range `N-M` (`N <= M`);
//! - optionally followed by a step: `*/15`, `1-30/5`. A step after a single
//!   value (`5/10`) is an error, as in cronie: write `5-59/10`.
//!
//! Allowed values: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12,
//! day-of-week 0-7 where 0 and 7 are both Sunday. Month and day-of-week
//! also take three-letter English names, case-insensitive (`jan`-`dec`,
//! `sun`-`sat`), anywhere a value may stand: alone, in a list or as a range
//! end (`mon-fri`, `jan-mar`). `sun` is always 0, so `sat-sun` runs
//! backwards and is rejected, as cronie does; write `sat,sun` or `6-7`.
//! Steps are plain numbers. cronie's random `~` ranges are not supported.
//!
//! Nicknames replace all five fields: `@yearly`/`@annually` = `0 0 1 1 *`,
//! `@monthly` = `0 0 1 * *`, `@weekly` = `0 0 * * 0`, `@daily`/`@midnight`
//! = `0 0 * * *`, `@hourly` = `0 * * * *`. Like cronie they are lower-case
//! only. `@reboot` is refused: jobdeck has no reboot trigger.
//!
//! # Day matching (the "star" rule)
//!
//! A time matches when minute, hour and month match and the day matches.
//! If the day-of-month field or the day-of-week field *starts with `*`*,
//! both day fields must match (AND); if neither does, either may match
//! (OR). The test is on the text, exactly as cronie's `DOM_STAR`/`DOW_STAR`
//! flags: `0 0 1 * 1` fires on the 1st and on every Monday, while
//! `0 0 */2 * 1` fires only on Mondays that fall on an odd day of the month,
//! and `0 0 1-31 * 1` fires every day.
//!
//! # Daylight-saving time (cronie's rules, per schedule zone)
//!
//! cronie's crond treats wall-clock shifts shorter than three hours
//! specially (`man 8 cron`, "Daylight Saving Time and other time changes").
//! What counts is whether a schedule is *fixed-time* or *wildcard*: it is
//! wildcard when its minute or its hour field starts with `*`, so
//! `*/15 2 * * *` and `@hourly` are wildcard, while `30 2 * * *`,
//! `0 1-5 * * *` and `@daily` are fixed-time.
//!
//! - Clocks jump forward (a gap, e.g. 02:00 → 03:00): a fixed-time schedule
//!   whose time falls in the skipped span fires once, at the first minute
//!   after the jump (03:00 new time); several skipped times still give one
//!   fire. A wildcard schedule simply has no fires in the skipped span.
//! - Clocks fall back (a repeat, e.g. 03:00 → 02:00): a fixed-time schedule
//!   fires only at the first pass through the repeated span; a wildcard
//!   schedule fires in both passes.
//! - A shift of three hours or more is a clock correction for cronie: the
//!   new wall time is simply used. Times skipped by such a jump never fire
//!   and times repeated by it fire again, whatever the schedule's kind.
//!
//! cronie applies these rules to the zone its daemon runs in; jobdeck
//! applies them to each schedule's own zone, as if crond ran there.
//!
//! # How times are found
//!
//! The fields are parsed here, with cronie's rules and errors that name the
//! field. The calendar search over wall-clock times is done by the `cron`
//! crate, which uses Quartz rules (a seconds field, weekdays 1-7 with
//! Sunday = 1, AND of the day fields). Each expression is translated into
//! explicit value lists for one Quartz schedule, or two when crontab's OR
//! applies (a day-of-month-only and a day-of-week-only schedule whose times
//! are merged). The crate runs on naive wall-clock time; the mapping from
//! wall-clock to real instants, with the DST rules above, is done here.
//! The search looks at most [`SEARCH_YEARS`] years ahead and, as the crate
//! does, only within the years 1970-2100.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// How far ahead [`CronExpr::next_after`] searches before it gives up.
/// Eight years covers the longest wait between two Feb 29ths (2096 → 2104).
pub const SEARCH_YEARS: i64 = 8;

/// Wall-clock shifts of this size or more count as clock corrections,
/// not daylight-saving changes (cronie's three-hour threshold).
const CORRECTION_SHIFT_SECS: i64 = 3 * 3600;

/// How far to probe around a gap; real offset changes stay below a day.
const MAX_SHIFT_MINUTES: i64 = 27 * 60;

/// The years the `cron` crate can search.
const CRATE_YEARS: std::ops::RangeInclusive<i32> = 1970..=2100;

/// A user error in a cron expression, a zone or a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error(
        "empty cron expression: expected 5 fields (minute hour day-of-month month day-of-week) or a nickname such as @daily"
    )]
    Empty,
    #[error(
        "cron expression '{expr}' has {found} field(s): expected 5 (minute hour day-of-month month day-of-week) or a nickname such as @daily"
    )]
    FieldCount { expr: String, found: usize },
    #[error("bad {field} field '{text}' in cron expression '{expr}': {reason}")]
    Field {
        field: &'static str,
        text: String,
        expr: String,
        reason: String,
    },
    #[error(
        "unknown cron nickname '{0}': expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"
    )]
    Nickname(String),
    #[error(
        "@reboot is not supported: jobdeck has no reboot trigger (start the flow from your init system, or use @daily or a 5-field expression)"
    )]
    Reboot,
    #[error(
        "unknown time zone '{0}': expected an IANA name such as Europe/Berlin, America/New_York or UTC"
    )]
    Zone(String),
    #[error(
        "bad time '{0}': expected YYYY-MM-DD HH:MM, with optional :SS, a 'T' instead of the space, an RFC 3339 time with offset, or a time from now such as +2h or 'in 90m'"
    )]
    Time(String),
    #[error(
        "{time} does not exist in {zone}: the clocks skip it for daylight saving (pick a time outside the gap)"
    )]
    NonexistentTime { time: String, zone: String },
    /// The translation into the `cron` crate's syntax failed; a bug, not a user error.
    #[error("internal error translating '{expr}' for the cron crate: {reason}")]
    Translate { expr: String, reason: String },
}

/// One of the five crontab fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

const FIELDS: [Field; 5] = [
    Field::Minute,
    Field::Hour,
    Field::DayOfMonth,
    Field::Month,
    Field::DayOfWeek,
];

const MONTH_NAMES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Field {
    fn label(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        }
    }

    fn bounds(self) -> (u32, u32) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (0, 7),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Month => &MONTH_NAMES,
            Field::DayOfWeek => &DAY_NAMES,
            _ => &[],
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Field::Minute => "a number 0-59",
            Field::Hour => "a number 0-23",
            Field::DayOfMonth => "a number 1-31",
            Field::Month => "a number 1-12 or a name jan-dec",
            Field::DayOfWeek => "a number 0-7 (0 and 7 are Sunday) or a name sun-sat",
        }
    }
}

/// A parsed crontab expression. Build it with [`CronExpr::parse`].
#[derive(Debug, Clone)]
pub struct CronExpr {
    source: String,
    /// Bit `v` set = value `v` allowed. Day-of-week uses 0-6 (Sunday = 0).
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// The day-of-month / day-of-week field starts with `*` (cronie's star flags).
    dom_star: bool,
    dow_star: bool,
    /// Neither the minute nor the hour field starts with `*`.
    fixed_time: bool,
    /// Wall-clock searches in the cron crate's syntax; their times are merged.
    searches: Vec<cron::Schedule>,
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for CronExpr {
    type Err = CronError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CronExpr::parse(s)
    }
}

impl CronExpr {
    /// Parses a 5-field crontab expression or a nickname (see the module docs).
    pub fn parse(text: &str) -> Result<CronExpr, CronError> {
        let source = text.trim();
        if source.is_empty() {
            return Err(CronError::Empty);
        }
        let expanded = if let Some(name) = source.strip_prefix('@') {
            expand_nickname(name)?
        } else {
            source
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(CronError::FieldCount {
                expr: source.to_string(),
                found: parts.len(),
            });
        }
        let mut bits = [0u64; 5];
        for (i, field) in FIELDS.into_iter().enumerate() {
            bits[i] = parse_field(field, parts[i]).map_err(|reason| CronError::Field {
                field: field.label(),
                text: parts[i].to_string(),
                expr: source.to_string(),
                reason,
            })?;
        }
        let [minutes, hours, days_of_month, months, mut days_of_week] = bits;
        // 0 and 7 are both Sunday; keep Sunday as 0 only.
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        let mut expr = CronExpr {
            source: source.to_string(),
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            dom_star: parts[2].starts_with('*'),
            dow_star: parts[4].starts_with('*'),
            fixed_time: !parts[0].starts_with('*') && !parts[1].starts_with('*'),
            searches: Vec::new(),
        };
        expr.searches = expr.translate()?;
        Ok(expr)
    }

    /// The expression as the user wrote it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when neither the minute nor the hour field starts with `*`;
    /// such schedules get cronie's DST treatment (see the module docs).
    pub fn is_fixed_time(&self) -> bool {
        self.fixed_time
    }

    /// True when a day matches by day-of-month OR day-of-week, i.e. neither
    /// day field starts with `*`.
    pub fn days_are_either(&self) -> bool {
        !self.dom_star && !self.dow_star
    }

    /// The first fire time strictly after `after`, in `after`'s zone, or
    /// `None` when nothing fires within [`SEARCH_YEARS`] years (or before 2101).
    pub fn next_after<Z: TimeZone>(&self, after: &DateTime<Z>) -> Option<DateTime<Z>> {
        let zone = after.timezone();
        let after_utc = after.naive_utc();
        let start = earliest_wall_reading_from(&zone, after_utc);
        let horizon = after.naive_local() + Duration::days(366 * SEARCH_YEARS);
        if !CRATE_YEARS.contains(&start.year()) {
            return None;
        }
        // Wall times are visited in order. The earliest instant a wall time
        // yields never decreases along that order, so the first wall time
        // whose earliest instant lies ahead ends the search; the only
        // smaller candidates are second passes through a repeated hour,
        // which were collected on the way.
        let mut best: Option<NaiveDateTime> = None;
        let mut cursor = start - Duration::seconds(1);
        while let Some(wall) = self.next_wall_time(cursor) {
            if wall > horizon {
                break;
            }
            let instants = self.instants_for_wall(&zone, wall);
            for instant in &instants {
                if *instant > after_utc && best.is_none_or(|b| *instant < b) {
                    best = Some(*instant);
                }
            }
            if instants.first().is_some_and(|first| *first > after_utc) {
                break;
            }
            cursor = wall;
        }
        best.map(|utc| zone.from_utc_datetime(&utc))
    }

    /// The fire times strictly after `after`, in order, in `after`'s zone.
    pub fn upcoming<Z: TimeZone>(&self, after: DateTime<Z>) -> Upcoming<'_, Z> {
        Upcoming {
            expr: self,
            cursor: Some(after),
        }
    }

    /// Whether a wall-clock time matches the fields (cronie's test, minute
    /// resolution; DST is not considered here).
    pub fn matches_wall_clock(&self, wall: &NaiveDateTime) -> bool {
        use chrono::Timelike;
        let has = |bits: u64, v: u32| bits & (1u64 << v) != 0;
        let dom = has(self.days_of_month, wall.day());
        let dow = has(self.days_of_week, wall.weekday().num_days_from_sunday());
        let day = if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        };
        has(self.minutes, wall.minute())
            && has(self.hours, wall.hour())
            && has(self.months, wall.month())
            && day
    }

    /// The first matching wall-clock time strictly after `after`.
    fn next_wall_time(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        let after = after.and_utc();
        self.searches
            .iter()
            .filter_map(|schedule| schedule.after(&after).next())
            .map(|t| t.naive_utc())
            .min()
    }

    /// The real instants (as UTC) at which a matching wall-clock time fires,
    /// earliest first, after cronie's DST rules.
    fn instants_for_wall<Z: TimeZone>(&self, zone: &Z, wall: NaiveDateTime) -> Vec<NaiveDateTime> {
        match zone.from_local_datetime(&wall) {
            LocalResult::Single(t) => vec![t.naive_utc()],
            LocalResult::Ambiguous(first, second) => {
                let (first, second) = (first.naive_utc(), second.naive_utc());
                let shift = (second - first).num_seconds();
                if self.fixed_time && shift < CORRECTION_SHIFT_SECS {
                    vec![first]
                } else {
                    vec![first, second]
                }
            }
            LocalResult::None => {
                if !self.fixed_time {
                    return Vec::new();
                }
                match first_minute_after_gap(zone, wall) {
                    Some((instant, shift)) if shift < CORRECTION_SHIFT_SECS => vec![instant],
                    _ => Vec::new(),
                }
            }
        }
    }

    /// Translates the parsed fields into one or two Quartz schedules for the
    /// cron crate: seconds `0`, explicit value lists, weekdays renumbered
    /// from crontab's Sunday = 0 to Quartz's Sunday = 1.
    fn translate(&self) -> Result<Vec<cron::Schedule>, CronError> {
        let minutes = value_list(self.minutes, 0, 59, 0);
        let hours = value_list(self.hours, 0, 23, 0);
        let doms = value_list(self.days_of_month, 1, 31, 0);
        let months = value_list(self.months, 1, 12, 0);
        let dows = value_list(self.days_of_week, 0, 6, 1);
        let quartz = |dom: &str, dow: &str| format!("0 {minutes} {hours} {dom} {months} {dow}");
        let texts = if self.days_are_either() {
            vec![quartz(&doms, "*"), quartz("*", &dows)]
        } else {
            vec![quartz(&doms, &dows)]
        };
        texts
            .iter()
            .map(|text| {
                cron::Schedule::from_str(text).map_err(|err| CronError::Translate {
                    expr: self.source.clone(),
                    reason: format!("{text}: {err}"),
                })
            })
            .collect()
    }
}

/// Iterator over upcoming fire times; see [`CronExpr::upcoming`].
pub struct Upcoming<'a, Z: TimeZone> {
    expr: &'a CronExpr,
    cursor: Option<DateTime<Z>>,
}

impl<Z: TimeZone> Iterator for Upcoming<'_, Z> {
    type Item = DateTime<Z>;
    fn next(&mut self) -> Option<DateTime<Z>> {
        let next = self.expr.next_after(self.cursor.as_ref()?);
        self.cursor.clone_from(&next);
        next
    }
}

fn expand_nickname(name: &str) -> Result<&'static str, CronError> {
    // Exact, lower-case names, as cronie compares them.
    match name {
        "yearly" | "annually" => Ok("0 0 1 1 *"),
        "monthly" => Ok("0 0 1 * *"),
        "weekly" => Ok("0 0 * * 0"),
        "daily" | "midnight" => Ok("0 0 * * *"),
        "hourly" => Ok("0 * * * *"),
        "reboot" => Err(CronError::Reboot),
        _ => Err(CronError::Nickname(format!("@{name}"))),
    }
}

/// Parses one field into a bit set; the error is the reason, without the field name.
fn parse_field(field: Field, text: &str) -> Result<u64, String> {
    let (low, high) = field.bounds();
    let mut bits = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err("empty list item (a doubled or trailing comma)".into());
        }
        if item.contains('~') {
            return Err(format!(
                "'{item}': random '~' ranges are not supported; pick a fixed value"
            ));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(parse_step(step)?)),
            None => (item, None),
        };
        let (first, last) = if range == "*" {
            (low, high)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a_value, b_value) = (parse_value(field, a)?, parse_value(field, b)?);
            if a_value > b_value {
                return Err(backwards_range(field, range, a_value, b_value));
            }
            (a_value, b_value)
        } else {
            let value = parse_value(field, range)?;
            if step.is_some() {
                return Err(format!(
                    "'{item}': a step needs a range or '*' before it, e.g. '{range}-{high}/{s}' or '*/{s}'",
                    s = step.unwrap_or(1)
                ));
            }
            (value, value)
        };
        let mut value = first;
        while value <= last {
            bits |= 1 << value;
            value = value.saturating_add(step.unwrap_or(1));
        }
    }
    Ok(bits)
}

fn parse_value(field: Field, token: &str) -> Result<u32, String> {
    let (low, high) = field.bounds();
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
        return match token.parse::<u32>() {
            Ok(value) if (low..=high).contains(&value) => Ok(value),
            _ => Err(format!(
                "'{token}' is out of range: expected {}",
                field.expected()
            )),
        };
    }
    let lower = token.to_ascii_lowercase();
    if let Some(index) = field.names().iter().position(|name| *name == lower) {
        // Names count from the field's lowest value: jan = 1, sun = 0.
        return Ok(low + index as u32);
    }
    Err(format!(
        "'{token}' is not valid: expected {}",
        field.expected()
    ))
}

fn parse_step(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(step) if step > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(step),
        _ => Err(format!(
            "'/{text}' is not a valid step: expected a whole number of 1 or more, e.g. '*/15'"
        )),
    }
}

fn backwards_range(field: Field, range: &str, first: u32, last: u32) -> String {
    if field == Field::DayOfWeek && last == 0 {
        format!(
            "the range '{range}' runs backwards ({first} to {last}; Sunday is 0 as a name): write it as a list such as '{first}-6,0' or use 7 for Sunday, e.g. '{first}-7'"
        )
    } else {
        format!("the range '{range}' runs backwards: write the smaller value first")
    }
}

/// Renders a bit set as the cron crate's value list: `*` when every value
/// from `low` to `high` is present, else explicit comma-separated numbers
/// shifted by `shift`.
fn value_list(bits: u64, low: u32, high: u32, shift: u32) -> String {
    let values: Vec<u32> = (low..=high).filter(|v| bits & (1u64 << v) != 0).collect();
    if values.len() == (high - low + 1) as usize {
        return "*".into();
    }
    let shifted: Vec<String> = values.iter().map(|v| (v + shift).to_string()).collect();
    shifted.join(",")
}

fn offset_seconds<Z: TimeZone>(zone: &Z, utc: &NaiveDateTime) -> i64 {
    i64::from(zone.offset_from_utc_datetime(utc).fix().local_minus_utc())
}

/// The lowest wall-clock reading at or after the instant `utc`. It is
/// below `utc`'s own reading when the clocks are set back soon after it.
fn earliest_wall_reading_from<Z: TimeZone>(zone: &Z, utc: NaiveDateTime) -> NaiveDateTime {
    // Sampling the offset every hour for two days finds any set-back whose
    // wall-clock effect reaches back to `utc`.
    let lowest = (0..=48)
        .map(|hour| offset_seconds(zone, &(utc + Duration::hours(hour))))
        .min()
        .unwrap_or(0);
    utc + Duration::seconds(lowest)
}

/// For a wall time inside a gap: the first whole minute the clocks show
/// after the jump (as a UTC instant), and how far they jumped in seconds.
fn first_minute_after_gap<Z: TimeZone>(
    zone: &Z,
    wall: NaiveDateTime,
) -> Option<(NaiveDateTime, i64)> {
    let after = (1..=MAX_SHIFT_MINUTES).find_map(|m| {
        zone.from_local_datetime(&(wall + Duration::minutes(m)))
            .earliest()
    })?;
    let before = (1..=MAX_SHIFT_MINUTES).find_map(|m| {
        zone.from_local_datetime(&(wall - Duration::minutes(m)))
            .latest()
    })?;
    let shift = i64::from(after.offset().fix().local_minus_utc())
        - i64::from(before.offset().fix().local_minus_utc());
    Some((after.naive_utc(), shift))
}

/// A one-shot run: `--at "2026-12-01 02:00"` in a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneShot {
    pub at: DateTime<Tz>,
}

impl OneShot {
    /// Parses the time as wall-clock time in `zone` (see [`parse_local_time`]).
    pub fn parse(text: &str, zone: Tz) -> Result<OneShot, CronError> {
        parse_local_time(text, zone).map(|at| OneShot { at })
    }

    /// The run time if it is strictly after `after`.
    pub fn next_after(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        (self.at > *after).then_some(self.at)
    }
}

/// Parses `YYYY-MM-DD HH:MM[:SS]` (or with `T` for the space) as wall-clock
/// time in `zone`; an RFC 3339 time with an offset is taken as that
/// instant; `+2h` or `in 2h` (an operator duration) is that long from now.
/// A wall time the clocks skip (a DST gap) is an error; one they show twice
/// (a DST repeat) means its first occurrence.
pub fn parse_local_time(text: &str, zone: Tz) -> Result<DateTime<Tz>, CronError> {
    let text = text.trim();
    if let Some(ahead) = text.strip_prefix('+').or_else(|| text.strip_prefix("in ")) {
        let ahead = crate::duration::parse_duration(ahead.trim())
            .ok()
            .and_then(|d| Duration::from_std(d).ok())
            .ok_or_else(|| CronError::Time(text.to_string()))?;
        return Ok(chrono::Utc::now().with_timezone(&zone) + ahead);
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&zone));
    }
    let normalized = text.replacen('T', " ", 1);
    let wall = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(&normalized, format).ok())
        .ok_or_else(|| CronError::Time(text.to_string()))?;
    zone.from_local_datetime(&wall)
        .earliest()
        .ok_or_else(|| CronError::NonexistentTime {
            time: wall.format("%Y-%m-%d %H:%M:%S").to_string(),
            zone: zone.name().to_string(),
        })
}

/// Looks up an IANA zone name such as `Europe/Berlin`.
pub fn parse_zone(name: &str) -> Result<Tz, CronError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| CronError::Zone(name.to_string()))
}

/// The local zone: `$TZ` if it holds an IANA name, else the system's zone,
/// else UTC.
pub fn local_zone() -> Tz {
    if let Ok(value) = std::env::var("TZ")
        && let Ok(zone) = value.trim_start_matches(':').parse::<Tz>()
    {
        return zone;
    }
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|name| name.parse::<Tz>().ok())
        .unwrap_or(Tz::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Timelike, Utc};

    #[test]
    fn times_from_now() {
        for text in ["+2h", "in 2h", " +1h60m "] {
            let before = Utc::now();
            let at = parse_local_time(text, Berlin).unwrap();
            let ahead = at.with_timezone(&Utc) - before;
            assert!(
                ahead >= Duration::hours(2) && ahead < Duration::hours(2) + Duration::seconds(5),
                "{text}: {ahead}"
            );
            assert_eq!(at.timezone(), Berlin);
        }
        for bad in ["+", "+2x", "in", "in two hours"] {
            assert!(
                matches!(parse_local_time(bad, Berlin), Err(CronError::Time(_))),
                "{bad}"
            );
        }
    }
    use chrono_tz::{America::New_York, Europe::Berlin};
    use proptest::prelude::*;

    fn next_n(expr: &str, zone: Tz, from: &str, n: usize) -> Vec<String> {
        let expr = CronExpr::parse(expr).unwrap();
        let from = parse_local_time(from, zone).unwrap();
        expr.upcoming(from)
            .take(n)
            .map(|t| t.to_rfc3339())
            .collect()
    }

    fn field_error(expr: &str) -> (String, String) {
        match CronExpr::parse(expr) {
            Err(CronError::Field {
                field,
                text,
                reason,
                ..
            }) => (format!("{field} {text}"), reason),
            other => panic!("expected a field error for {expr:?}, got {other:?}"),
        }
    }

    #[test]
    fn sunday_is_zero_and_seven() {
        let a = CronExpr::parse("0 0 * * 0").unwrap();
        let b = CronExpr::parse("0 0 * * 7").unwrap();
        let c = CronExpr::parse("0 0 * * SUN").unwrap();
        assert_eq!(a.days_of_week, 1);
        assert_eq!(b.days_of_week, 1);
        assert_eq!(c.days_of_week, 1);
        assert_eq!(
            CronExpr::parse("0 0 * * 5-7").unwrap().days_of_week,
            0b110_0001
        );
    }

    #[test]
    fn names_work_in_lists_and_ranges_case_insensitively() {
        let e = CronExpr::parse("0 0 * Jan-MAR,dec mon-fri").unwrap();
        assert_eq!(e.months, 0b1_0000_0000_1110);
        assert_eq!(e.days_of_week, 0b011_1110);
    }

    #[test]
    fn steps_ranges_and_lists() {
        let e = CronExpr::parse("*/15 1-20/5 1,15,20-22 * *").unwrap();
        assert_eq!(e.minutes, 1 | 1 << 15 | 1 << 30 | 1 << 45);
        assert_eq!(e.hours, 1 << 1 | 1 << 6 | 1 << 11 | 1 << 16);
        assert_eq!(
            e.days_of_month,
            1 << 1 | 1 << 15 | 1 << 20 | 1 << 21 | 1 << 22
        );
        // a step larger than the range keeps only the first value
        assert_eq!(CronExpr::parse("*/100 * * * *").unwrap().minutes, 1);
    }

    #[test]
    fn star_flags_follow_the_first_character() {
        assert!(CronExpr::parse("0 0 1 * 1").unwrap().days_are_either());
        assert!(!CronExpr::parse("0 0 */2 * 1").unwrap().days_are_either());
        assert!(!CronExpr::parse("0 0 1 * */2").unwrap().days_are_either());
        assert!(CronExpr::parse("0 0 1-31 * 1").unwrap().days_are_either());
        assert!(CronExpr::parse("30 2 * * *").unwrap().is_fixed_time());
        assert!(CronExpr::parse("0 1-5 * * *").unwrap().is_fixed_time());
        assert!(CronExpr::parse("@daily").unwrap().is_fixed_time());
        assert!(!CronExpr::parse("@hourly").unwrap().is_fixed_time());
        assert!(!CronExpr::parse("*/30 2 * * *").unwrap().is_fixed_time());
        assert!(!CronExpr::parse("0-59 * * * *").unwrap().is_fixed_time());
    }

    #[test]
    fn nicknames_expand_like_cronie() {
        for (nick, fields) in [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
        ] {
            let a = CronExpr::parse(nick).unwrap();
            let b = CronExpr::parse(fields).unwrap();
            let from = Utc.with_ymd_and_hms(2026, 5, 17, 13, 7, 0).unwrap();
            let a_times: Vec<_> = a.upcoming(from).take(3).collect();
            let b_times: Vec<_> = b.upcoming(from).take(3).collect();
            assert_eq!(a_times, b_times, "{nick}");
        }
        assert_eq!(CronExpr::parse("@reboot"), Err(CronError::Reboot));
        assert!(matches!(
            CronExpr::parse("@Daily"),
            Err(CronError::Nickname(_))
        ));
        assert!(matches!(
            CronExpr::parse("@fortnightly"),
            Err(CronError::Nickname(_))
        ));
    }

    #[test]
    fn errors_name_the_field_and_say_what_was_expected() {
        let (what, why) = field_error("60 * * * *");
        assert_eq!(what, "minute 60");
        assert!(why.contains("expected a number 0-59"), "{why}");
        let (what, why) = field_error("0 0 * * 8");
        assert_eq!(what, "day-of-week 8");
        assert!(why.contains("0 and 7 are Sunday"), "{why}");
        let (what, why) = field_error("0 0 * foo *");
        assert_eq!(what, "month foo");
        assert!(why.contains("jan-dec"), "{why}");
        let (_, why) = field_error("5/10 * * * *");
        assert!(why.contains("'5-59/10'"), "{why}");
        let (_, why) = field_error("*/0 * * * *");
        assert!(why.contains("1 or more"), "{why}");
        let (_, why) = field_error("0 0 * * sat-sun");
        assert!(why.contains("backwards"), "{why}");
        let (_, why) = field_error("0 9-5 * * *");
        assert!(why.contains("backwards"), "{why}");
        let (what, _) = field_error("0 0 0 * *");
        assert_eq!(what, "day-of-month 0");
        let (what, _) = field_error("0 0 * * monday");
        assert_eq!(what, "day-of-week monday");
        let (what, _) = field_error("0 0 mon * *");
        assert_eq!(what, "day-of-month mon");
        for bad in [
            "1,,2 * * * *",
            "1, * * * *",
            "*5 * * * *",
            "*-5 * * * *",
            "1-5x * * * *",
        ] {
            assert!(
                matches!(
                    CronExpr::parse(bad),
                    Err(CronError::Field {
                        field: "minute",
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            CronExpr::parse("0~30 * * * *"),
            Err(CronError::Field { .. })
        ));
        assert!(matches!(
            CronExpr::parse("99999999999 * * * *"),
            Err(CronError::Field { .. })
        ));
        assert!(matches!(
            CronExpr::parse("* * * *"),
            Err(CronError::FieldCount { found: 4, .. })
        ));
        assert!(matches!(
            CronExpr::parse("0 0 * * * 2026"),
            Err(CronError::FieldCount { found: 6, .. })
        ));
        assert_eq!(CronExpr::parse("   "), Err(CronError::Empty));
        let msg = CronExpr::parse("0 25 * * *").unwrap_err().to_string();
        assert_eq!(
            msg,
            "bad hour field '25' in cron expression '0 25 * * *': '25' is out of range: expected a number 0-23"
        );
    }

    #[test]
    fn day_of_week_translation_to_quartz_keeps_the_weekday() {
        // 2026-05-17 is a Sunday.
        let from = Utc.with_ymd_and_hms(2026, 5, 16, 12, 0, 0).unwrap();
        for (day, expected) in [
            (0, 17),
            (1, 18),
            (2, 19),
            (3, 20),
            (4, 21),
            (5, 22),
            (6, 23),
            (7, 17),
        ] {
            let expr = CronExpr::parse(&format!("0 0 * * {day}")).unwrap();
            assert_eq!(
                expr.next_after(&from).unwrap().day(),
                expected,
                "weekday {day}"
            );
        }
    }

    #[test]
    fn impossible_dates_end_the_search() {
        let expr = CronExpr::parse("0 0 31 2 *").unwrap();
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(expr.next_after(&from), None);
        let expr = CronExpr::parse("0 0 30 2 *").unwrap();
        assert_eq!(expr.upcoming(from).count(), 0);
    }

    #[test]
    fn outside_the_searchable_years_nothing_is_found() {
        let expr = CronExpr::parse("* * * * *").unwrap();
        let early = Utc.with_ymd_and_hms(1960, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(expr.next_after(&early), None);
        let late = Utc.with_ymd_and_hms(2100, 12, 31, 23, 59, 0).unwrap();
        assert_eq!(expr.next_after(&late), None);
    }

    #[test]
    fn spring_forward_fixed_time_fires_once_after_the_jump() {
        // Berlin 2026-03-29: 02:00 CET -> 03:00 CEST.
        assert_eq!(
            next_n("30 2 * * *", Berlin, "2026-03-28 12:00", 3),
            [
                "2026-03-29T03:00:00+02:00",
                "2026-03-30T02:30:00+02:00",
                "2026-03-31T02:30:00+02:00"
            ]
        );
        // Two skipped times and the 03:00 itself collapse into one fire.
        assert_eq!(
            next_n("0,30 1-3 29 3 *", Berlin, "2026-03-29 00:00", 4),
            [
                "2026-03-29T01:00:00+01:00",
                "2026-03-29T01:30:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-29T03:30:00+02:00"
            ]
        );
    }

    #[test]
    fn spring_forward_wildcard_skips_the_gap() {
        assert_eq!(
            next_n("*/30 * 29 3 *", Berlin, "2026-03-29 01:00", 3),
            [
                "2026-03-29T01:30:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-29T03:30:00+02:00"
            ]
        );
        assert_eq!(
            next_n("*/30 2 * * *", Berlin, "2026-03-28 12:00", 3),
            [
                "2026-03-30T02:00:00+02:00",
                "2026-03-30T02:30:00+02:00",
                "2026-03-31T02:00:00+02:00"
            ]
        );
    }

    #[test]
    fn fall_back_fixed_once_wildcard_twice() {
        // Berlin 2026-10-25: 03:00 CEST -> 02:00 CET.
        assert_eq!(
            next_n("30 2 * * *", Berlin, "2026-10-24 12:00", 2),
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
        );
        assert_eq!(
            next_n("*/30 2 25 10 *", Berlin, "2026-10-25 00:00", 5),
            [
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:00:00+01:00",
                "2026-10-25T02:30:00+01:00",
                "2027-10-25T02:00:00+02:00",
            ]
        );
    }

    #[test]
    fn starting_inside_the_repeat_still_finds_the_second_pass() {
        // From 02:45 CEST (first pass) the next wildcard fire is 02:00 CET,
        // a wall time earlier than the starting one.
        let expr = CronExpr::parse("*/30 * * * *").unwrap();
        let from = Berlin.with_ymd_and_hms(2026, 10, 25, 0, 45, 0).unwrap() + Duration::hours(2);
        assert_eq!(from.to_rfc3339(), "2026-10-25T02:45:00+02:00");
        let times: Vec<String> = expr
            .upcoming(from)
            .take(3)
            .map(|t| t.to_rfc3339())
            .collect();
        assert_eq!(
            times,
            [
                "2026-10-25T02:00:00+01:00",
                "2026-10-25T02:30:00+01:00",
                "2026-10-25T03:00:00+01:00"
            ]
        );
        // A fixed-time schedule does not fire again in the second pass.
        let fixed = CronExpr::parse("0,30 2 * * *").unwrap();
        let next = fixed.next_after(&from).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-10-26T02:00:00+01:00");
    }

    #[test]
    fn shifts_of_three_hours_or_more_are_clock_corrections() {
        // Samoa skipped 2011-12-30 entirely (UTC-10 -> UTC+14).
        let apia: Tz = "Pacific/Apia".parse().unwrap();
        assert_eq!(
            next_n("0 12 * * *", apia, "2011-12-29 13:00", 1),
            ["2011-12-31T12:00:00+14:00"]
        );
    }

    #[test]
    fn new_york_gap_is_handled_too() {
        // 2026-03-08 02:00 EST -> 03:00 EDT.
        assert_eq!(
            next_n("15 2 * * *", New_York, "2026-03-07 12:00", 2),
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:15:00-04:00"]
        );
    }

    #[test]
    fn one_shot_times() {
        let at = OneShot::parse("2026-12-01 02:00", Berlin).unwrap();
        assert_eq!(at.at.to_rfc3339(), "2026-12-01T02:00:00+01:00");
        assert_eq!(
            OneShot::parse("2026-12-01T02:00:30", Berlin)
                .unwrap()
                .at
                .second(),
            30
        );
        assert!(matches!(
            OneShot::parse("2026-03-29 02:30", Berlin),
            Err(CronError::NonexistentTime { .. })
        ));
        // ambiguous -> the first (summer-time) occurrence
        let first = OneShot::parse("2026-10-25 02:30", Berlin).unwrap();
        assert_eq!(first.at.to_rfc3339(), "2026-10-25T02:30:00+02:00");
        assert!(matches!(
            OneShot::parse("tomorrow", Berlin),
            Err(CronError::Time(_))
        ));
        assert!(matches!(
            OneShot::parse("2026-13-01 02:00", Berlin),
            Err(CronError::Time(_))
        ));
        let before = Berlin.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        assert_eq!(at.next_after(&before), Some(at.at));
        assert_eq!(at.next_after(&at.at), None);
    }

    #[test]
    fn zones() {
        assert_eq!(parse_zone("Europe/Berlin"), Ok(Berlin));
        assert_eq!(
            parse_zone("Mars/Olympus"),
            Err(CronError::Zone("Mars/Olympus".into()))
        );
    }

    /// Minute-by-minute reference search in UTC (no DST), cronie's matching test.
    fn brute_force_next(
        expr: &CronExpr,
        after: NaiveDateTime,
        limit_days: i64,
    ) -> Option<NaiveDateTime> {
        let mut t = after.with_second(0).unwrap() + Duration::minutes(1);
        let end = after + Duration::days(limit_days);
        while t <= end {
            if expr.matches_wall_clock(&t) {
                return Some(t);
            }
            t += Duration::minutes(1);
        }
        None
    }

    fn field_text(low: u32, high: u32) -> impl Strategy<Value = String> {
        let value = low..=high;
        prop_oneof![
            Just("*".to_string()),
            (1..=(high - low + 1)).prop_map(|s| format!("*/{s}")),
            value.clone().prop_map(|v| v.to_string()),
            (value.clone(), value.clone(), 1u32..=7).prop_map(|(a, b, s)| {
                let (a, b) = (a.min(b), a.max(b));
                format!("{a}-{b}/{s}")
            }),
            (value.clone(), value).prop_map(|(a, b)| format!("{a},{b}")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        /// The cron-crate-backed search agrees with a direct reading of the
        /// crontab rules (in UTC, where wall time is real time).
        #[test]
        fn search_agrees_with_the_crontab_rules(
            minute in field_text(0, 59),
            hour in field_text(0, 23),
            dom in field_text(1, 31),
            month in field_text(1, 12),
            dow in field_text(0, 7),
            start_minute in 0i64..(4 * 365 * 24 * 60),
        ) {
            let text = format!("{minute} {hour} {dom} {month} {dow}");
            let expr = CronExpr::parse(&text).unwrap();
            let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
                + Duration::minutes(start_minute);
            let limit_days = 400;
            let expected = brute_force_next(&expr, start, limit_days);
            let found = expr.next_after(&start.and_utc()).map(|t| t.naive_utc());
            match expected {
                Some(e) => prop_assert_eq!(found, Some(e), "{}", text),
                None => prop_assert!(found.is_none_or(|f| f > start + Duration::days(limit_days)), "{}", text),
            }
        }
    }
}
