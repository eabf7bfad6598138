//! Words and numbers as the report writes them: host status labels, run
//! and host times, waits, sizes.

use std::time::Duration;

use crate::duration::format_duration;
use crate::engine::events::HostStatus;

pub fn status_label(status: HostStatus) -> &'static str {
    match status {
        HostStatus::Pending => "PENDING",
        HostStatus::Connecting => "CONNECTING",
        HostStatus::Running => "RUNNING",
        HostStatus::Ok => "OK",
        HostStatus::Failed => "FAILED",
        HostStatus::TimedOut => "TIMED OUT",
        HostStatus::Unreachable => "UNREACHABLE",
        HostStatus::AuthFailed => "AUTH FAILED",
        HostStatus::HostKeyRejected => "HOST KEY REJECTED",
        HostStatus::Cancelled => "CANCELLED",
        HostStatus::Skipped => "SKIPPED",
        HostStatus::RolledBack => "ROLLED BACK",
        HostStatus::Interrupted => "INTERRUPTED",
    }
}

/// A host's run time: `1.23s`, or `2m5s` past a minute.
pub fn format_host_time(duration: Duration) -> String {
    if duration < Duration::from_secs(60) {
        format!("{:.2}s", duration.as_secs_f64())
    } else {
        format_duration(Duration::from_secs(duration.as_secs()))
    }
}

/// A whole run's time: `12.3s`, or `1h2m3s` past a minute.
pub fn format_run_time(duration: Duration) -> String {
    if duration < Duration::from_secs(60) {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        format_duration(Duration::from_secs(duration.as_secs()))
    }
}

/// A wait, rounded to whole seconds: `2h`, `1m30s`.
pub fn format_wait(millis: i64) -> String {
    let secs = (millis.max(0) as u64).div_ceil(1000);
    format_duration(Duration::from_secs(secs))
}

pub fn format_bytes(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} bytes")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_sizes() {
        assert_eq!(format_host_time(Duration::from_millis(1234)), "1.23s");
        assert_eq!(format_host_time(Duration::from_millis(125_400)), "2m5s");
        assert_eq!(format_run_time(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(format_wait(7_200_000), "2h");
        assert_eq!(format_wait(89_001), "1m30s");
        assert_eq!(format_bytes(10), "10 bytes");
        assert_eq!(format_bytes(8 * 1024 * 1024 + 512 * 1024), "8.5 MiB");
    }
}
