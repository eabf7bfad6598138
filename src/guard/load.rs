//! Rules from files: the config file's `[guard]` section and a `guard.toml`
//! beside the inventory (kept in git with it, so changes are reviewed).
//!
//! ```toml
//! disable = ["shutdown"]          # switch built-in (or earlier) rules off
//!
//! [[rule]]
//! name = "drop-database"          # what --allow and disable name
//! pattern = '(?i)\bdrop\s+database\b'
//! action = "confirm"              # block | confirm | warn
//! word = "drop"                   # typed to confirm; default: the name
//! languages = ["shell", "python"] # default ["shell"]; "any" for all
//! message = "drops a database"
//! ```
//!
//! In the config file the same keys sit under `[guard]` (`[[guard.rule]]`).
//! A later file's rule replaces an earlier one of the same name (a
//! built-in one too). A broken entry (a bad regex, an unknown action) is a
//! warning naming its file and line and is left out; every other rule still
//! applies.

use std::path::{Path, PathBuf};

use regex::RegexBuilder;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::builtin;
use super::rule::{Action, Languages, Rule, RuleSet};
use crate::config::{TomlFile, get, string, strings, unknown_keys, without_bad_lines};

/// The file beside an inventory that holds its guard rules.
pub const GUARD_FILE: &str = "guard.toml";

/// The largest compiled pattern accepted (the regex crate's own limit is 10 MiB).
const PATTERN_SIZE_LIMIT: usize = 1024 * 1024;

/// The rules in force and what was wrong with the files.
#[derive(Debug, Clone, Default)]
pub struct LoadedRules {
    pub rules: RuleSet,
    /// `file:line: ...`, one per problem.
    pub warnings: Vec<String>,
    /// The rule files read, in order.
    pub files: Vec<PathBuf>,
}

/// Where rule files are: the config file (its `[guard]` section) and the
/// guard files beside the inventory sources.
#[derive(Debug, Clone, Default)]
pub struct RuleSources {
    pub config: Option<PathBuf>,
    pub guard_files: Vec<PathBuf>,
}

impl RuleSources {
    /// The config file, and `guard.toml` in each inventory directory (or
    /// beside each inventory file). Host lists have none.
    pub fn for_inventory(config: Option<PathBuf>, inventory: &[PathBuf]) -> RuleSources {
        let mut guard_files = Vec::new();
        for source in inventory {
            let dir = if source.is_dir() {
                Some(source.as_path())
            } else if source.is_file() {
                source.parent()
            } else {
                None
            };
            if let Some(file) = dir.map(|d| d.join(GUARD_FILE))
                && file.is_file()
                && !guard_files.contains(&file)
            {
                guard_files.push(file);
            }
        }
        RuleSources {
            config,
            guard_files,
        }
    }

    /// The built-in rules, then the config file's, then the guard files'.
    pub fn load(&self) -> LoadedRules {
        let mut loaded = LoadedRules::default();
        for rule in builtin::rules() {
            loaded.rules.define(rule);
        }
        let mut disabled: Vec<(String, String)> = Vec::new();
        let files = self
            .config
            .iter()
            .filter(|p| p.is_file())
            .map(|p| (p, Some("guard")))
            .chain(self.guard_files.iter().map(|p| (p, None)));
        for (path, section) in files {
            match crate::config::read_text(path, "guard rule file") {
                Ok(text) => {
                    read_file(path, &text, section, &mut loaded, &mut disabled);
                    loaded.files.push(path.clone());
                }
                Err(e) => loaded.warnings.push(e),
            }
        }
        for (name, at) in disabled {
            if !loaded.rules.disable(&name) {
                loaded
                    .warnings
                    .push(format!("{at}: disable '{name}': there is no such rule"));
            }
        }
        loaded
    }
}

/// Reads one file's rules into `loaded`; `section` is the table that holds
/// them (`guard` in the config file), `None` for the whole file.
fn read_file(
    path: &Path,
    text: &str,
    section: Option<&str>,
    loaded: &mut LoadedRules,
    disabled: &mut Vec<(String, String)>,
) {
    let text = without_bad_lines(path, text, &mut loaded.warnings);
    let file = TomlFile::parse(path, &text);
    let table: &DeTable<'_> = match section {
        None => &file.root,
        Some(name) => match get(&file.root, name) {
            None => return,
            Some(value) => match value.get_ref().as_table() {
                Some(table) => table,
                None => {
                    loaded
                        .warnings
                        .push(format!("{}: [{name}] must be a table", file.at(value)));
                    return;
                }
            },
        },
    };
    for (key, value) in unknown_keys(table, &["disable", "rule"]) {
        loaded.warnings.push(format!(
            "{}: unknown key '{key}' in the guard rules; expected disable or [[rule]]",
            file.at(value)
        ));
    }
    if let Some(value) = get(table, "disable") {
        match strings(value.get_ref(), "disable") {
            Ok(names) => disabled.extend(names.into_iter().map(|n| (n, file.at(value)))),
            Err(e) => loaded.warnings.push(format!("{}: {e}", file.at(value))),
        }
    }
    let Some(rules) = get(table, "rule") else {
        return;
    };
    let Some(items) = rules.get_ref().as_array() else {
        loaded.warnings.push(format!(
            "{}: rule must be a list of tables ([[rule]])",
            file.at(rules)
        ));
        return;
    };
    for item in items.iter() {
        match read_rule(&file, item) {
            Ok(rule) => loaded.rules.define(rule),
            Err(e) => loaded.warnings.push(e),
        }
    }
}

/// One `[[rule]]`; an error names the file and line and the rule.
fn read_rule(file: &TomlFile<'_>, item: &Spanned<DeValue<'_>>) -> Result<Rule, String> {
    let at = file.at(item);
    let Some(table) = item.get_ref().as_table() else {
        return Err(format!("{at}: a guard rule must be a table"));
    };
    let field = |key: &str| get(table, key);
    let name = match field("name") {
        Some(v) => string(v.get_ref(), "name").map_err(|e| format!("{}: {e}", file.at(v)))?,
        None => return Err(format!("{at}: a guard rule needs a name")),
    };
    let fail = |value: Option<&Spanned<DeValue<'_>>>, why: String| {
        let at = value.map_or_else(|| at.clone(), |v| file.at(v));
        format!("{at}: guard rule '{name}': {why}; the rule is left out")
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(fail(
            field("name"),
            "the name must be letters, digits, '-', '_' or '.'".into(),
        ));
    }
    if let Some((key, value)) = unknown_keys(
        table,
        &["name", "pattern", "action", "word", "languages", "message"],
    )
    .into_iter()
    .next()
    {
        return Err(fail(
            Some(value),
            format!(
                "unknown key '{key}'; expected name, pattern, action, word, languages, message"
            ),
        ));
    }
    let pattern_value = field("pattern");
    let pattern_text = match pattern_value {
        Some(v) => string(v.get_ref(), "pattern").map_err(|e| fail(Some(v), e))?,
        None => return Err(fail(None, "it needs a pattern (a regex)".into())),
    };
    let pattern = RegexBuilder::new(&pattern_text)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let first = e.to_string();
            let why = first.lines().last().unwrap_or("invalid").trim().to_owned();
            fail(pattern_value, format!("bad regex {pattern_text:?}: {why}"))
        })?;
    let action = match field("action") {
        Some(v) => {
            let text = string(v.get_ref(), "action").map_err(|e| fail(Some(v), e))?;
            Action::parse(&text).ok_or_else(|| {
                fail(
                    Some(v),
                    format!("unknown action '{text}'; expected block, confirm or warn"),
                )
            })?
        }
        None => {
            return Err(fail(
                None,
                "it needs an action (block, confirm or warn)".into(),
            ));
        }
    };
    let word = match field("word") {
        Some(v) => {
            let word = string(v.get_ref(), "word").map_err(|e| fail(Some(v), e))?;
            if word.is_empty() || word.chars().any(char::is_whitespace) {
                return Err(fail(Some(v), "word must be one word".into()));
            }
            word
        }
        None => name.clone(),
    };
    let languages = match field("languages") {
        Some(v) => {
            let names = strings(v.get_ref(), "languages").map_err(|e| fail(Some(v), e))?;
            if names.iter().any(|n| n == "any") {
                Languages::Any
            } else if names.is_empty() {
                return Err(fail(Some(v), "languages is empty".into()));
            } else {
                Languages::Only(names)
            }
        }
        None => Languages::shell(),
    };
    let message = match field("message") {
        Some(v) => Some(string(v.get_ref(), "message").map_err(|e| fail(Some(v), e))?),
        None => None,
    };
    Ok(Rule {
        name,
        action,
        word,
        languages,
        pattern,
        message,
        origin: at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(config: Option<&str>, guard: Option<&str>) -> (tempfile::TempDir, LoadedRules) {
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("inventory");
        std::fs::create_dir(&inventory).unwrap();
        std::fs::write(inventory.join("hosts.ini"), "[web]\nweb1\n").unwrap();
        let config_path = dir.path().join("config.toml");
        if let Some(text) = config {
            std::fs::write(&config_path, text).unwrap();
        }
        if let Some(text) = guard {
            std::fs::write(inventory.join(GUARD_FILE), text).unwrap();
        }
        let sources = RuleSources::for_inventory(Some(config_path), &[inventory]);
        let loaded = sources.load();
        (dir, loaded)
    }

    #[test]
    fn files_add_replace_and_disable_rules() {
        let (_dir, loaded) = load(
            Some(
                "[tui]\ntheme = \"dark\"\n[guard]\ndisable = [\"userdel\"]\n[[guard.rule]]\nname = \"shutdown\"\npattern = 'poweroff'\naction = \"warn\"\n",
            ),
            Some(
                "disable = [\"crontab-remove\"]\n\n[[rule]]\nname = \"drop-db\"\npattern = '(?i)drop\\s+database'\naction = \"confirm\"\nword = \"drop\"\nlanguages = [\"shell\", \"python\"]\n",
            ),
        );
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let names: Vec<&str> = loaded.rules.rules.iter().map(|r| r.name.as_str()).collect();
        assert!(!names.contains(&"userdel") && !names.contains(&"crontab-remove"));
        let shutdown = loaded.rules.get("shutdown").unwrap();
        assert_eq!(shutdown.action, Action::Warn);
        assert!(
            shutdown.origin.ends_with("config.toml:5"),
            "{}",
            shutdown.origin
        );
        let drop = loaded.rules.get("drop-db").unwrap();
        assert_eq!(drop.word, "drop");
        assert!(drop.languages.covers("python"));
        assert!(drop.pattern.is_match("DROP  DATABASE shop"));
        assert!(
            drop.origin.ends_with("inventory/guard.toml:3"),
            "{}",
            drop.origin
        );
        assert_eq!(loaded.files.len(), 2);
    }

    #[test]
    fn a_bad_regex_leaves_the_other_rules_in_force() {
        let (dir, loaded) = load(
            None,
            Some(
                "[[rule]]\nname = \"broken\"\npattern = 'rm (-rf'\naction = \"block\"\n\n[[rule]]\nname = \"no-curl\"\npattern = 'curl'\naction = \"block\"\n\n[[rule]]\nname = \"odd\"\npattern = 'x'\naction = \"stop\"\n",
            ),
        );
        let guard = dir.path().join("inventory").join(GUARD_FILE);
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        assert!(
            loaded.warnings[0].starts_with(&format!(
                "{}:3: guard rule 'broken': bad regex",
                guard.display()
            )),
            "{:?}",
            loaded.warnings
        );
        assert!(
            loaded.warnings[1].starts_with(&format!(
                "{}:14: guard rule 'odd': unknown action 'stop'",
                guard.display()
            )),
            "{:?}",
            loaded.warnings
        );
        assert!(loaded.rules.get("no-curl").is_some());
        assert!(loaded.rules.get("rm-root").is_some(), "built-ins stay");
        assert!(loaded.rules.get("broken").is_none());
    }

    #[test]
    fn a_broken_line_is_a_warning_and_the_rest_still_loads() {
        let (_dir, loaded) = load(
            None,
            Some(
                "disable = [\"mkfs\"]\nthis is not toml\n[[rule]]\nname = \"no-curl\"\npattern = 'curl'\naction = \"warn\"\n",
            ),
        );
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(
            loaded.warnings[0].contains("guard.toml:2:"),
            "{:?}",
            loaded.warnings
        );
        assert!(loaded.rules.get("no-curl").is_some());
        assert!(loaded.rules.get("mkfs").is_none());
    }

    #[test]
    fn disabling_an_unknown_rule_is_reported() {
        let (_dir, loaded) = load(None, Some("disable = [\"no-such\"]\n"));
        assert_eq!(loaded.warnings.len(), 1);
        assert!(
            loaded.warnings[0].ends_with("guard.toml:1: disable 'no-such': there is no such rule"),
            "{:?}",
            loaded.warnings
        );
    }
}
