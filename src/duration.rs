//! Durations as operators type them: `2h`, `90s`, `1h30m`, `500ms`, `1d`.
//!
//! - Units: `d` (24 hours; calendar days and DST do not apply), `h`, `m`,
//!   `s`, `ms`. Parts go from the largest unit to the smallest, each unit at
//!   most once (`1h30m`, `1d 2h`); spaces between parts are allowed.
//! - Whole numbers only: `1.5h` is refused with a hint to write `1h30m`.
//! - A bare number is refused rather than read as seconds: `--interval 2`
//!   could as well mean two hours, and a rollout interval is too costly to
//!   guess. The error suggests `2s` / `2m` / `2h`. `0s` is fine.
//! - At most a year ([`MAX_DURATION`], `365d`): a longer interval or
//!   timeout is a typo, and beyond it lie overflows (`18446744073709551615ms`
//!   once wrapped to no wait at all).
//! - A timeout ([`parse_timeout`]) must also be longer than zero: `0s`
//!   would stop every command before it ran.
//! - Display is compact and normalised (`90s` shows as `1m30s`), at
//!   millisecond precision, and parses back to the same value.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration the user wrote that could not be read. Names the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{text}`: {problem}")]
pub struct DurationError {
    pub text: String,
    pub problem: String,
}

const UNITS_HINT: &str = "use units d, h, m, s or ms, e.g. `90s`, `1h30m`, `2h`";

/// The longest duration jobdeck accepts for an interval or a timeout.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 86_400);

/// Units from largest to smallest, with their length in milliseconds.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses an operator duration such as `1h30m`. See the module docs.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let fail = |problem: String| DurationError {
        text: text.to_string(),
        problem,
    };
    let input = text.trim();
    if input.is_empty() {
        return Err(fail(format!("it is empty; {UNITS_HINT}")));
    }
    if input.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(format!(
            "a number needs a unit: `{input}s` for seconds, `{input}m` for minutes, `{input}h` for hours"
        )));
    }
    if input.starts_with('-') {
        return Err(fail("a duration cannot be negative".into()));
    }

    let mut rest = input;
    let mut total_ms: u64 = 0;
    // Index into UNITS of the last unit seen, to keep largest-to-smallest.
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        let digits_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (digits, after) = rest.split_at(digits_len);
        if digits.is_empty() {
            return Err(fail(format!("expected a number at `{rest}`; {UNITS_HINT}")));
        }
        if after.starts_with('.') || after.starts_with(',') {
            return Err(fail(
                "fractions are not supported: write `1h30m` rather than `1.5h`".into(),
            ));
        }
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(fail(format!("`{digits}` needs a unit; {UNITS_HINT}")));
        }
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(fail(format!("unknown unit `{unit}`; {UNITS_HINT}")));
        };
        if let Some(previous) = last_unit
            && index <= previous
        {
            return Err(fail(format!(
                "`{digits}{unit}` comes after `{}`: write each unit once, largest first, e.g. `1h30m`",
                UNITS[previous].0
            )));
        }
        last_unit = Some(index);
        let too_long = || {
            fail(format!(
                "it is longer than the maximum of {} (a year)",
                format_duration(MAX_DURATION)
            ))
        };
        let amount: u64 = digits.parse().map_err(|_| too_long())?;
        let part = amount.checked_mul(UNITS[index].1).ok_or_else(too_long)?;
        total_ms = total_ms.checked_add(part).ok_or_else(too_long)?;
        if Duration::from_millis(total_ms) > MAX_DURATION {
            return Err(too_long());
        }
        rest = after.trim_start();
    }
    Ok(Duration::from_millis(total_ms))
}

/// A timeout: a duration ([`parse_duration`]) that is more than zero.
pub fn parse_timeout(text: &str) -> Result<Duration, DurationError> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err(DurationError {
            text: text.to_string(),
            problem: "a timeout of zero would stop every command at once; give a positive \
                      duration such as `30s` (or leave the timeout out)"
                .into(),
        });
    }
    Ok(duration)
}

/// Shows a duration compactly, largest unit first: `1h30m`, `1d2h`, `500ms`,
/// `0s`. Below a millisecond is dropped.
pub fn format_duration(duration: Duration) -> String {
    let mut ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (name, unit_ms) in UNITS {
        let count = ms / unit_ms;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push_str(name);
            ms -= count * unit_ms;
        }
    }
    out
}

/// A `Duration` that reads and prints the operator form; for CLI flags
/// (`--interval 2h`) and flow files (`interval: 1h30m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn as_duration(self) -> Duration {
        self.0
    }
}

impl From<Duration> for HumanDuration {
    fn from(d: Duration) -> Self {
        HumanDuration(d)
    }
}

impl FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, DurationError> {
        parse_duration(text).map(HumanDuration)
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through Value so a YAML `interval: 90` reaches the bare-number hint
        // instead of a generic "expected a string".
        let text = match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn err(text: &str) -> String {
        parse_duration(text).unwrap_err().to_string()
    }

    #[test]
    fn single_units() {
        assert_eq!(parse_duration("2h").unwrap(), secs(7200));
        assert_eq!(parse_duration("90s").unwrap(), secs(90));
        assert_eq!(parse_duration("45m").unwrap(), secs(2700));
        assert_eq!(parse_duration("1d").unwrap(), secs(86_400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn combinations() {
        assert_eq!(parse_duration("1h30m").unwrap(), secs(5400));
        assert_eq!(
            parse_duration("1d2h3m4s5ms").unwrap(),
            Duration::from_millis(93_784_005)
        );
        assert_eq!(parse_duration(" 1h 30m ").unwrap(), secs(5400));
        assert_eq!(
            parse_duration("1m500ms").unwrap(),
            Duration::from_millis(60_500)
        );
    }

    #[test]
    fn bare_number_is_refused_with_a_hint() {
        let e = err("90");
        assert!(e.contains("`90`"), "{e}");
        assert!(e.contains("`90s`") && e.contains("`90h`"), "{e}");
    }

    #[test]
    fn errors_name_the_text() {
        for (text, says) in [
            ("", "empty"),
            ("2x", "unknown unit `x`"),
            ("2H", "unknown unit `H`"),
            ("1.5h", "fractions"),
            ("-5s", "negative"),
            ("h", "expected a number"),
            ("30m1h", "largest first"),
            ("1h1h", "largest first"),
            ("1h30", "`30` needs a unit"),
            ("1h+30m", "expected a number at `+30m`"),
            ("99999999999999999999d", "longer than the maximum of 365d"),
            ("9999999999999999d", "longer than the maximum of 365d"),
            ("18446744073709551615ms", "longer than the maximum of 365d"),
            ("366d", "longer than the maximum of 365d"),
            ("365d1ms", "longer than the maximum of 365d"),
        ] {
            let e = err(text);
            assert!(e.contains(&format!("`{text}`")), "{text}: {e}");
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn a_year_is_the_longest_duration() {
        assert_eq!(parse_duration("365d").unwrap(), MAX_DURATION);
        assert_eq!(parse_duration("8760h").unwrap(), MAX_DURATION);
        assert!(parse_duration("8760h1s").is_err());
    }

    #[test]
    fn a_timeout_must_be_more_than_zero() {
        for zero in ["0s", "0ms", "0h0m"] {
            let e = parse_timeout(zero).unwrap_err().to_string();
            assert!(
                e.contains(&format!("`{zero}`")) && e.contains("zero"),
                "{e}"
            );
        }
        assert_eq!(parse_timeout("1ms").unwrap(), Duration::from_millis(1));
        assert!(parse_timeout("366d").is_err());
        // An interval may be zero.
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn display_is_compact_and_normalised() {
        assert_eq!(format_duration(secs(5400)), "1h30m");
        assert_eq!(format_duration(secs(90)), "1m30s");
        assert_eq!(format_duration(secs(86_400 + 7200)), "1d2h");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_nanos(999)), "0s");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1ms");
    }

    #[test]
    fn display_round_trips() {
        for text in ["1h30m", "2h", "1d", "500ms", "1d2h3m4s5ms", "0s", "45m"] {
            let d: HumanDuration = text.parse().unwrap();
            assert_eq!(d.to_string(), text);
            assert_eq!(d.to_string().parse::<HumanDuration>().unwrap(), d);
        }
    }

    #[test]
    fn serde_form() {
        let d: HumanDuration = serde_json::from_value(serde_json::json!("1h30m")).unwrap();
        assert_eq!(d.as_duration(), secs(5400));
        assert_eq!(serde_json::to_value(d).unwrap(), serde_json::json!("1h30m"));
        let e = serde_json::from_value::<HumanDuration>(serde_json::json!(90)).unwrap_err();
        assert!(e.to_string().contains("`90s`"), "{e}");
    }
}
