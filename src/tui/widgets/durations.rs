//! Times as the console shows them. Durations an operator types (intervals,
//! timeouts) use `crate::duration::format_duration` (`1h30m`), as the flow
//! files do; these are for clocks and for how long something took.

use chrono::{Local, TimeZone};

use crate::engine::events::UnixMillis;

/// How long something took or has been running: `0.3s`, `12s`, `3m04s`,
/// `2h05m`.
pub fn elapsed(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 10_000 {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else if ms < 60_000 {
        format!("{}s", ms / 1000)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

/// A countdown, rounded up to the second: `1:59:07`, `4:05`.
pub fn countdown(ms: i64) -> String {
    let s = (ms.max(0) + 999) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A position on a replay's timeline, to the tenth: `1:23.4`.
pub fn timeline(ms: i64) -> String {
    let ms = ms.max(0);
    format!("{}:{:02}.{}", ms / 60_000, ms / 1000 % 60, ms / 100 % 10)
}

/// A moment in local time, to the minute: `2026-03-02 08:00`.
pub fn local_minute(at: UnixMillis) -> String {
    Local
        .timestamp_millis_opt(at)
        .single()
        .map_or_else(|| "?".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_compactly() {
        assert_eq!(elapsed(340), "0.3s");
        assert_eq!(elapsed(12_400), "12s");
        assert_eq!(elapsed(184_000), "3m04s");
        assert_eq!(elapsed(7_500_000), "2h05m");
        assert_eq!(countdown(7_147_000), "1:59:07");
        assert_eq!(countdown(245_000), "4:05");
        assert_eq!(timeline(83_450), "1:23.4");
    }
}
