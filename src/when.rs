//! A point in time an operator names on the command line (`--since`,
//! `--until`): a duration back from now (`7d`, `12h`, `1h30m`, as
//! `duration` reads them), or a local date or time (`2026-03-01`,
//! `2026-03-01 14:00`, RFC 3339).

use crate::engine::events::UnixMillis;

/// `text` as Unix milliseconds, `now` being the present; `flag` names the
/// option in the error.
pub fn parse_when(text: &str, now: UnixMillis, flag: &str) -> Result<UnixMillis, String> {
    if let Ok(ago) = crate::duration::parse_duration(text) {
        let ago = i64::try_from(ago.as_millis()).unwrap_or(i64::MAX);
        return Ok(now.saturating_sub(ago));
    }
    let trimmed = text.trim();
    let with_time = if trimmed.len() == "2026-03-01".len() {
        format!("{trimmed} 00:00")
    } else {
        trimmed.to_owned()
    };
    crate::schedule::parse_local_time(&with_time, crate::schedule::local_zone())
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            format!(
                "{flag} {text:?}: expected a duration back from now (7d, 12h, 30m) or a local date or time (2026-03-01, 2026-03-01 14:00)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_count_back_and_dates_are_local() {
        let now = 10 * 86_400_000;
        assert_eq!(parse_when("7d", now, "--since"), Ok(3 * 86_400_000));
        assert_eq!(parse_when("90m", now, "--since"), Ok(now - 90 * 60_000));
        assert_eq!(
            parse_when("2026-03-01T00:00:00Z", now, "--until"),
            Ok(1_772_323_200_000)
        );
        let err = parse_when("yesterday", now, "--until").unwrap_err();
        assert!(err.starts_with("--until \"yesterday\": expected"), "{err}");
    }
}
