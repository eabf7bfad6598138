//! Resource manners on the host: a step's processes at a lower CPU
//! priority (`nice`) and I/O class (`ionice`).
//!
//! The step's bootstrap shell (over SSH and on local hosts alike) renices
//! and ionices itself before anything else runs, so every process the step
//! starts (and `sudo` for `run_as`) inherits both. A host without `renice`
//! or `ionice` runs the step anyway, with a line on stderr saying so.

use std::fmt;
use std::str::FromStr;

/// The I/O scheduling class a step's processes get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoClass {
    /// Only when no other process wants the disk.
    Idle,
    /// The normal class at a priority level, 0 (highest) to 7 (lowest).
    BestEffort(u8),
}

impl fmt::Display for IoClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoClass::Idle => f.write_str("idle"),
            IoClass::BestEffort(level) => write!(f, "best-effort:{level}"),
        }
    }
}

impl FromStr for IoClass {
    type Err = String;

    /// `idle`, `best-effort` (level 7), `best-effort:N` or `N` (0-7).
    fn from_str(text: &str) -> Result<IoClass, String> {
        let text = text.trim();
        let level = |n: &str| match n.trim().parse::<u8>() {
            Ok(level) if level <= 7 => Ok(IoClass::BestEffort(level)),
            _ => Err(format!(
                "ionice '{text}': the level must be 0 (highest) to 7 (lowest)"
            )),
        };
        match text {
            "idle" => Ok(IoClass::Idle),
            "best-effort" => Ok(IoClass::BestEffort(7)),
            other => match other.strip_prefix("best-effort:") {
                Some(n) => level(n),
                None if other.chars().all(|c| c.is_ascii_digit()) && !other.is_empty() => {
                    level(other)
                }
                None => Err(format!(
                    "ionice '{text}': expected idle, best-effort, best-effort:N or N (0-7)"
                )),
            },
        }
    }
}

/// `0` to `19`: how much nicer than normal. Lowering priority needs no
/// privilege; raising it (negative values) is not offered.
pub fn parse_nice(text: &str) -> Result<u8, String> {
    match text.trim().parse::<u8>() {
        Ok(n) if n <= 19 => Ok(n),
        _ => Err(format!(
            "nice '{}': expected a whole number from 0 to 19",
            text.trim()
        )),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Manners {
    pub nice: Option<u8>,
    pub ionice: Option<IoClass>,
}

impl Manners {
    pub fn is_default(&self) -> bool {
        self.nice.is_none() && self.ionice.is_none()
    }

    /// Each setting of `self`, or else of `fallback`.
    pub fn or(self, fallback: Manners) -> Manners {
        Manners {
            nice: self.nice.or(fallback.nice),
            ionice: self.ionice.or(fallback.ionice),
        }
    }

    /// Shell lines that apply the manners to the shell running them (`$$`),
    /// and so to everything it starts.
    pub fn shell_lines(&self) -> String {
        let mut lines = String::new();
        if let Some(n) = self.nice {
            lines.push_str(&format!(
                "renice -n {n} -p $$ >/dev/null 2>&1 || echo 'jobdeck: could not renice to {n} on this host' >&2\n"
            ));
        }
        if let Some(class) = self.ionice {
            let args = match class {
                IoClass::Idle => "-c 3".to_owned(),
                IoClass::BestEffort(level) => format!("-c 2 -n {level}"),
            };
            lines.push_str(&format!(
                "ionice {args} -p $$ >/dev/null 2>&1 || echo 'jobdeck: could not ionice ({class}) on this host' >&2\n"
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_operators_write() {
        assert_eq!("idle".parse(), Ok(IoClass::Idle));
        assert_eq!("best-effort".parse(), Ok(IoClass::BestEffort(7)));
        assert_eq!("best-effort:3".parse(), Ok(IoClass::BestEffort(3)));
        assert_eq!("5".parse(), Ok(IoClass::BestEffort(5)));
        assert!(
            "8".parse::<IoClass>()
                .unwrap_err()
                .contains("0 (highest) to 7")
        );
        assert!("realtime".parse::<IoClass>().is_err());
        assert_eq!(parse_nice("10"), Ok(10));
        assert!(parse_nice("-5").unwrap_err().contains("0 to 19"));
        assert!(parse_nice("20").is_err());
    }

    #[test]
    fn the_shell_lines_nice_everything_the_shell_starts() {
        let manners = Manners {
            nice: Some(7),
            ionice: Some(IoClass::Idle),
        };
        let script = format!(
            "{}cat /proc/self/stat; ionice -p $$\n",
            manners.shell_lines()
        );
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let stat = text.lines().next().unwrap();
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        // Field 19 (nice) is index 19 - 3 after the name.
        assert_eq!(fields[16], "7", "{text}");
        if std::path::Path::new("/usr/bin/ionice").exists() {
            assert!(text.contains("idle"), "{text}");
        }
    }
}
