//! A guard rule: a regex, what to do when it matches, and which script
//! languages it looks at.

use regex::Regex;
use serde::{Deserialize, Serialize};

/// What a matching rule does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The run does not start.
    Block,
    /// The run starts only once an operator typed the rule's word (in the
    /// console) or named the rule with `--allow RULE`.
    Confirm,
    /// The run goes on; the hit is shown and recorded.
    Warn,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Block => "block",
            Action::Confirm => "confirm",
            Action::Warn => "warn",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        match text {
            "block" => Some(Action::Block),
            "confirm" => Some(Action::Confirm),
            "warn" => Some(Action::Warn),
            _ => None,
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The script languages a rule looks at. Shell is the default, so shell
/// rules never fire on a Python atom's string literals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Languages {
    Any,
    Only(Vec<String>),
}

impl Languages {
    pub fn shell() -> Languages {
        Languages::Only(vec![SHELL.to_owned()])
    }

    pub fn covers(&self, language: &str) -> bool {
        match self {
            Languages::Any => true,
            Languages::Only(names) => names.iter().any(|n| n == language),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Languages::Any => "any".to_owned(),
            Languages::Only(names) => names.join(", "),
        }
    }
}

/// The language of commands and of scripts run by a POSIX shell.
pub const SHELL: &str = "shell";

#[derive(Debug, Clone)]
pub struct Rule {
    /// Also what `--allow` and `disable` name.
    pub name: String,
    pub action: Action,
    /// What an operator types to confirm (default: the name).
    pub word: String,
    pub languages: Languages,
    pub pattern: Regex,
    /// Why the rule exists, shown with a hit.
    pub message: Option<String>,
    /// `built-in`, or the file and line that defined it.
    pub origin: String,
}

/// The rules in force, in definition order.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Adds `rule`, replacing an earlier rule of the same name in place.
    pub fn define(&mut self, rule: Rule) {
        match self.rules.iter_mut().find(|r| r.name == rule.name) {
            Some(slot) => *slot = rule,
            None => self.rules.push(rule),
        }
    }

    /// Removes the named rule; false if there was none.
    pub fn disable(&mut self, name: &str) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.name != name);
        self.rules.len() != before
    }

    pub fn get(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }
}
