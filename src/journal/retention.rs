//! Retention in the config file: how long finished runs stay in the
//! journal, as the `[retention]` section of `config.toml`:
//!
//! ```toml
//! [retention]
//! days = 90            # finished runs that ended longer ago go...
//! keep_last = 20       # ...but each flow keeps its newest 20 whatever their age
//!
//! [retention.flow.deploy]         # a flow's own rule
//! days = 365
//!
//! [retention.schedule.nightly]    # the runs a schedule fired (by schedule name)
//! keep_last = 30                  # `days` comes from [retention]: 90
//!
//! [retention.flow.audit]
//! forever = true                  # never pruned
//! ```
//!
//! A flow or schedule rule takes the fields it leaves out from
//! `[retention]`. Without `days` a rule prunes by count alone (keep the
//! newest `keep_last`). A rule with neither, or a section with neither and
//! no flow or schedule rules, prunes nothing. The scheduler applies this
//! hourly (see `schedule::retention`); the file is read afresh each time.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::prune::{PrunePolicy, Rule};
use crate::input_file;

const DAY: Duration = Duration::from_secs(86_400);

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    retention: Option<Section>,
    /// Other sections belong to other readers (the console's `[tui]`).
    #[serde(flatten)]
    _other: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    days: Option<u64>,
    keep_last: Option<usize>,
    #[serde(default)]
    forever: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    days: Option<u64>,
    keep_last: Option<usize>,
    #[serde(default)]
    flow: BTreeMap<String, Fields>,
    #[serde(default)]
    schedule: BTreeMap<String, Fields>,
}

/// The `[retention]` section, read and checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Retention {
    pub default: Option<Rule>,
    pub flows: BTreeMap<String, Rule>,
    /// By schedule name; `policy` turns names into ids.
    pub schedules: BTreeMap<String, Rule>,
}

/// A rule that never prunes.
const FOREVER: Rule = Rule {
    older_than: None,
    keep_last: usize::MAX,
};

impl Retention {
    /// Reads `[retention]` from a config file; `Ok(None)` when the file or
    /// the section is absent. Errors name the file and line.
    pub fn load(path: &Path) -> Result<Option<Retention>, String> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            _ => {}
        }
        let text = input_file::read_text(path, "config file").map_err(|e| e.to_string())?;
        Retention::parse(&text)
            .map_err(|(line, message)| format!("{}:{line}: {message}", path.display()))
    }

    /// Parses a config file's text; errors carry the line.
    pub fn parse(text: &str) -> Result<Option<Retention>, (usize, String)> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| {
            let line = line_of(text, e.span().map_or(0, |s| s.start));
            (line, e.message().to_owned())
        })?;
        let Some(section) = file.retention else {
            return Ok(None);
        };
        // Where a rule's table starts, for its errors (TOML spans stop at parsing).
        let line = |header: &str| line_of(text, text.find(header).unwrap_or(0));
        let top = Fields {
            days: section.days,
            keep_last: section.keep_last,
            forever: false,
        };
        let rule_of = |fields: Fields, what: &str| -> Result<Rule, (usize, String)> {
            let line = line(&what[1..what.len() - 1]);
            if fields.forever {
                if fields.days.is_some() || fields.keep_last.is_some() {
                    return Err((
                        line,
                        format!("{what}: `forever` keeps everything; drop `days` and `keep_last`"),
                    ));
                }
                return Ok(FOREVER);
            }
            let days = fields.days.or(top.days);
            let keep_last = fields.keep_last.or(top.keep_last);
            if days.is_none() && keep_last.is_none() {
                return Err((
                    line,
                    format!("{what}: needs `days`, `keep_last` or `forever = true`"),
                ));
            }
            Ok(Rule {
                older_than: days.map(|d| DAY.saturating_mul(u32::try_from(d).unwrap_or(u32::MAX))),
                keep_last: keep_last.unwrap_or(0),
            })
        };
        let default = if top.days.is_some() || top.keep_last.is_some() {
            Some(rule_of(top, "[retention]")?)
        } else {
            None
        };
        let mut retention = Retention {
            default,
            ..Retention::default()
        };
        for (name, fields) in section.flow {
            let rule = rule_of(fields, &format!("[retention.flow.{name}]"))?;
            retention.flows.insert(name, rule);
        }
        for (name, fields) in section.schedule {
            let rule = rule_of(fields, &format!("[retention.schedule.{name}]"))?;
            retention.schedules.insert(name, rule);
        }
        Ok(Some(retention))
    }

    /// The prune policy, with schedule names resolved by `schedule_id`.
    /// Names that match no schedule are returned apart, to be warned about.
    pub fn policy(&self, schedule_id: impl Fn(&str) -> Option<i64>) -> (PrunePolicy, Vec<String>) {
        let mut unknown = Vec::new();
        let mut schedules = BTreeMap::new();
        for (name, rule) in &self.schedules {
            match schedule_id(name) {
                Some(id) => {
                    schedules.insert(id, *rule);
                }
                None => unknown.push(name.clone()),
            }
        }
        let policy = PrunePolicy {
            default: self.default,
            flows: self.flows.clone(),
            schedules,
        };
        (policy, unknown)
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(n: u64) -> Option<Duration> {
        Some(DAY * n as u32)
    }

    #[test]
    fn flow_and_schedule_rules_inherit_what_they_leave_out() {
        let text = r#"
[tui]
theme = "light"

[retention]
days = 90
keep_last = 20

[retention.flow.deploy]
days = 365

[retention.flow."odd name"]
forever = true

[retention.schedule.nightly]
keep_last = 30
"#;
        let r = Retention::parse(text).unwrap().unwrap();
        assert_eq!(
            r.default,
            Some(Rule {
                older_than: days(90),
                keep_last: 20
            })
        );
        assert_eq!(
            r.flows["deploy"],
            Rule {
                older_than: days(365),
                keep_last: 20
            }
        );
        assert_eq!(r.flows["odd name"], FOREVER);
        assert_eq!(
            r.schedules["nightly"],
            Rule {
                older_than: days(90),
                keep_last: 30
            }
        );
        let (policy, unknown) = r.policy(|name| (name == "nightly").then_some(7));
        assert_eq!(policy.schedules[&7].keep_last, 30);
        assert!(unknown.is_empty());
        let (_, unknown) = r.policy(|_| None);
        assert_eq!(unknown, ["nightly"]);
    }

    #[test]
    fn no_section_means_no_retention_and_only_rules_is_fine() {
        assert_eq!(Retention::parse("[tui]\nmouse = false\n").unwrap(), None);
        let r = Retention::parse("[retention.flow.health]\ndays = 7\n")
            .unwrap()
            .unwrap();
        assert_eq!(r.default, None);
        assert_eq!(
            r.flows["health"],
            Rule {
                older_than: days(7),
                keep_last: 0
            }
        );
    }

    #[test]
    fn mistakes_name_the_line_and_what_was_expected() {
        let (line, message) = Retention::parse("[retention]\ndays = 90\nkeep = 3\n").unwrap_err();
        assert_eq!(line, 3);
        assert!(message.contains("unknown field `keep`"), "{message}");
        let (line, message) = Retention::parse("[retention]\ndays = -1\n").unwrap_err();
        assert_eq!(line, 2, "{message}");
        let (_, message) = Retention::parse("[retention]\n[retention.flow.x]\n").unwrap_err();
        assert!(
            message.contains("[retention.flow.x]: needs `days`"),
            "{message}"
        );
        let (_, message) =
            Retention::parse("[retention.flow.x]\nforever = true\ndays = 3\n").unwrap_err();
        assert!(message.contains("`forever` keeps everything"), "{message}");
    }

    #[test]
    fn a_missing_file_is_no_retention_and_a_bad_one_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(Retention::load(&path).unwrap(), None);
        std::fs::write(&path, b"[retention]\ndays = 9\xff\n").unwrap();
        let err = Retention::load(&path).unwrap_err();
        assert!(err.contains("config.toml:2: not UTF-8 text"), "{err}");
        std::fs::write(&path, "[retention]\ndays = 9\nkeep_last = \"x\"\n").unwrap();
        let err = Retention::load(&path).unwrap_err();
        assert!(err.contains("config.toml:3: invalid type"), "{err}");
    }
}
