//! The dangerous-command guard: regex rules over everything a run will send
//! to its hosts, checked before any host runs.
//!
//! - `builtin`: the rules jobdeck ships (rm -rf /, mkfs, dd to a disk, ...).
//! - `load`: rules added, replaced or switched off in the config file and in
//!   a `guard.toml` beside the inventory.
//! - `scan`: what is checked (commands, inline scripts, atoms, rollback
//!   steps, pre-flight checks, after params are substituted), per language.
//!
//! `judge` turns hits into a verdict: a `block` rule stops the run; a
//! `confirm` rule needs the operator (the console asks for the rule's word;
//! headless, `--allow RULE` must name it — `--yes` is not enough); a `warn`
//! rule is shown. Every hit is recorded in the journal with its outcome.

pub mod builtin;
pub mod load;
pub mod rule;
pub mod scan;

use serde::{Deserialize, Serialize};

pub use load::{GUARD_FILE, LoadedRules, RuleSources};
pub use rule::{Action, Languages, Rule, RuleSet};
pub use scan::{Hit, Origin, Subject, check};

/// What became of a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A `block` rule: the run did not start.
    Blocked,
    /// A `confirm` rule an operator confirmed (typed its word, or `--allow`).
    Confirmed,
    /// A `confirm` rule nobody confirmed: the run did not start.
    Refused,
    /// A `warn` rule: shown, and the run went on.
    Warned,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Blocked => "blocked",
            Outcome::Confirmed => "confirmed",
            Outcome::Refused => "refused",
            Outcome::Warned => "warned",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        [
            Outcome::Blocked,
            Outcome::Confirmed,
            Outcome::Refused,
            Outcome::Warned,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hit as events and the journal carry it (secrets already masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HitRecord {
    pub rule: String,
    pub action: Action,
    /// What an operator types to confirm it.
    pub word: String,
    pub location: String,
    pub step: Option<usize>,
    pub matched: String,
    pub message: Option<String>,
    /// `None` while a confirm rule waits for its operator.
    pub outcome: Option<Outcome>,
}

impl HitRecord {
    pub fn decided(&self, outcome: Outcome) -> HitRecord {
        HitRecord {
            outcome: Some(outcome),
            ..self.clone()
        }
    }

    /// `rule 'rm-root' (block) at flows/x.yml:4: matched `rm -rf /``
    pub fn describe(&self) -> String {
        format!(
            "rule '{}' ({}) at {}: matched `{}`",
            self.rule, self.action, self.location, self.matched
        )
    }
}

/// What the guard decided about a run before it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Every hit; confirm hits nobody has answered yet have no outcome.
    pub hits: Vec<HitRecord>,
    /// Why the run may not start (a block rule), if so.
    pub blocked: Option<String>,
}

impl Verdict {
    /// Confirm hits still waiting for an operator.
    pub fn pending(&self) -> impl Iterator<Item = &HitRecord> {
        self.hits.iter().filter(|h| h.outcome.is_none())
    }
}

/// Decides each hit: block rules block; confirm rules named by `allowed`
/// (`--allow`) are confirmed, the others wait; warn rules warn. `mask`
/// hides secrets in the matched text before anything keeps it.
pub fn judge(hits: &[Hit], allowed: &[String], mask: &dyn Fn(&str) -> String) -> Verdict {
    let mut verdict = Verdict::default();
    for hit in hits {
        let outcome = match hit.action {
            Action::Block => Some(Outcome::Blocked),
            Action::Confirm if allowed.iter().any(|a| a == &hit.rule) => Some(Outcome::Confirmed),
            Action::Confirm => None,
            Action::Warn => Some(Outcome::Warned),
        };
        let record = HitRecord {
            rule: hit.rule.clone(),
            action: hit.action,
            word: hit.word.clone(),
            location: mask(&hit.location),
            step: hit.step,
            matched: mask(&hit.matched),
            message: hit.message.clone(),
            outcome,
        };
        if outcome == Some(Outcome::Blocked) && verdict.blocked.is_none() {
            verdict.blocked = Some(format!("blocked by the guard: {}", record.describe()));
        }
        verdict.hits.push(record);
    }
    if verdict.blocked.is_some() {
        // The run will not start, so nobody is asked.
        for hit in &mut verdict.hits {
            hit.outcome.get_or_insert(Outcome::Refused);
        }
    }
    verdict
}

/// Why a headless run cannot pass its confirm rules, naming them.
pub fn needs_allow(pending: &[&HitRecord]) -> String {
    let mut names: Vec<&str> = pending.iter().map(|h| h.rule.as_str()).collect();
    names.dedup();
    let flags: Vec<String> = names.iter().map(|n| format!("--allow {n}")).collect();
    let first = pending.first().map(|h| h.describe()).unwrap_or_default();
    format!(
        "the guard needs an operator to confirm {first}; without a console, pass {} (--yes is not enough)",
        flags.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(rule: &str, action: Action, matched: &str) -> Hit {
        Hit {
            rule: rule.into(),
            action,
            word: rule.into(),
            message: None,
            location: "flows/x.yml:4".into(),
            step: Some(0),
            step_name: "s".into(),
            matched: matched.into(),
        }
    }

    #[test]
    fn verdicts() {
        let hits = [
            hit("pipe-to-shell", Action::Warn, "curl x | sh"),
            hit("shutdown", Action::Confirm, "reboot"),
            hit("mkfs", Action::Confirm, "mkfs.ext4 /dev/sdb s3cret"),
        ];
        let mask = |t: &str| t.replace("s3cret", "***");
        let verdict = judge(&hits, &["mkfs".into()], &mask);
        assert_eq!(verdict.blocked, None);
        let outcomes: Vec<_> = verdict.hits.iter().map(|h| h.outcome).collect();
        assert_eq!(
            outcomes,
            [Some(Outcome::Warned), None, Some(Outcome::Confirmed)]
        );
        assert_eq!(verdict.hits[2].matched, "mkfs.ext4 /dev/sdb ***");
        let pending: Vec<&HitRecord> = verdict.pending().collect();
        let why = needs_allow(&pending);
        assert!(
            why.contains("pass --allow shutdown (--yes is not enough)"),
            "{why}"
        );

        let blocked = judge(
            &[
                hit("shutdown", Action::Confirm, "reboot"),
                hit("rm-root", Action::Block, "rm -rf /"),
            ],
            &[],
            &|t: &str| t.to_owned(),
        );
        assert_eq!(
            blocked.blocked.as_deref(),
            Some(
                "blocked by the guard: rule 'rm-root' (block) at flows/x.yml:4: matched `rm -rf /`"
            )
        );
        assert_eq!(blocked.hits[0].outcome, Some(Outcome::Refused));
        assert_eq!(blocked.pending().count(), 0);
    }
}
