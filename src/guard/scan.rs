//! What the guard reads: every command and script a run will send, as the
//! host will see it, line by line.
//!
//! - The language comes from the script's shebang (`#!/bin/bash` is shell,
//!   `#!/usr/bin/env python3` python); commands are shell. A rule looks only
//!   at the languages it names (shell by default).
//! - Shell text is read as the shell reads it: backslash-newline joins
//!   lines, `#` comments are dropped (outside quotes), and `$NAME` /
//!   `${NAME}` of the run's params are replaced by their values (outside
//!   single quotes), so `rm -rf "$dir"` with `dir=/` is seen as
//!   `rm -rf "/"`. Other languages are matched line by line as written.
//! - A hit names the file and line the text came from (a flow's step, an
//!   atom's body), or the command line for `-c`.

use std::fmt;
use std::path::PathBuf;

use super::rule::{Action, RuleSet, SHELL};
use crate::transport::remote_command::Interpreter;

/// Where a text starts: a file and line, or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File { path: PathBuf, line: usize },
    CommandLine,
}

impl Origin {
    /// The place of the text's `offset`-th line (0 = its first).
    pub fn at(&self, offset: usize) -> String {
        match self {
            Origin::File { path, line } => {
                format!("{}:{}", tidy(path).display(), line + offset)
            }
            Origin::CommandLine => "the command line (-c)".to_owned(),
        }
    }
}

/// `flows/../atoms/x.sh` as `atoms/x.sh`: `..` taken out lexically (the
/// file was read through that path, so the shorter one names it too).
fn tidy(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// One text the run will send to its hosts.
#[derive(Debug, Clone)]
pub struct Subject {
    pub origin: Origin,
    /// The step it belongs to (flow steps, then rollback steps).
    pub step: Option<usize>,
    pub step_name: String,
    /// A script (language from its shebang) or a command line (shell).
    pub text: String,
    pub is_script: bool,
    /// Values the shell will see as `$NAME`: the run's params.
    pub vars: Vec<(String, String)>,
}

impl Subject {
    pub fn language(&self) -> String {
        if !self.is_script {
            return SHELL.to_owned();
        }
        language_of(&self.text)
    }
}

/// `shell`, `python`, `perl`, `ruby`, `node`, or the interpreter's name.
pub fn language_of(script: &str) -> String {
    let Ok(interpreter) = Interpreter::from_script(script) else {
        return SHELL.to_owned();
    };
    let program = if interpreter.program.ends_with("/env") {
        // `env -S perl -w`: the first word that is not an option.
        interpreter
            .argument
            .as_deref()
            .and_then(|a| a.split_whitespace().find(|w| !w.starts_with('-')))
            .unwrap_or("")
    } else {
        interpreter.program.as_str()
    };
    let base = program.rsplit('/').next().unwrap_or(program);
    match base {
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" | "mksh" | "busybox" => SHELL.to_owned(),
        b if b.starts_with("python") => "python".to_owned(),
        b if b.starts_with("perl") => "perl".to_owned(),
        b if b.starts_with("ruby") => "ruby".to_owned(),
        "node" | "nodejs" => "node".to_owned(),
        other => other.to_owned(),
    }
}

/// A rule that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: String,
    pub action: Action,
    pub word: String,
    pub message: Option<String>,
    /// `flows/deploy.yml:14`, `atoms/wipe.sh:9` or the command line.
    pub location: String,
    pub step: Option<usize>,
    pub step_name: String,
    /// The text the rule matched, on one line.
    pub matched: String,
}

impl fmt::Display for Hit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule '{}' ({}) at {}",
            self.rule, self.action, self.location
        )?;
        if !self.step_name.is_empty() {
            write!(f, " (step '{}')", self.step_name)?;
        }
        write!(f, ": matched `{}`", self.matched)?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// The longest matched text kept with a hit.
const MATCH_SHOWN: usize = 160;
/// At most this many hits of one rule in one text.
const HITS_PER_RULE: usize = 5;

/// Every hit of `rules` in `subjects`, in subject and line order.
pub fn check(rules: &RuleSet, subjects: &[Subject]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for subject in subjects {
        let language = subject.language();
        let lines = if language == SHELL {
            shell_lines(&subject.text, &subject.vars)
        } else {
            subject
                .text
                .lines()
                .enumerate()
                .map(|(i, l)| (i, l.to_owned()))
                .collect()
        };
        for rule in rules.rules.iter().filter(|r| r.languages.covers(&language)) {
            let mut found = 0;
            for (offset, line) in &lines {
                let Some(m) = rule.pattern.find(line) else {
                    continue;
                };
                hits.push(Hit {
                    rule: rule.name.clone(),
                    action: rule.action,
                    word: rule.word.clone(),
                    message: rule.message.clone(),
                    location: subject.origin.at(*offset),
                    step: subject.step,
                    step_name: subject.step_name.clone(),
                    matched: shown(m.as_str()),
                });
                found += 1;
                if found == HITS_PER_RULE {
                    break;
                }
            }
        }
    }
    hits.sort_by_key(|h| (h.step, location_line(&h.location)));
    hits
}

fn location_line(location: &str) -> usize {
    location
        .rsplit(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The matched text on one line, trimmed and cut to a readable length.
fn shown(text: &str) -> String {
    // A pattern anchored on command boundaries has them at its ends
    // (`; reboot;`, `'rm -rf /'`); a quote is one only when unpaired.
    let mut one = text
        .trim_start_matches(|c: char| ";&|(){}!`".contains(c) || c.is_whitespace())
        .trim_end_matches(|c: char| ";&|)`".contains(c) || c.is_whitespace());
    for quote in ['\'', '"'] {
        if one.matches(quote).count() % 2 == 1 {
            one = one
                .strip_prefix(quote)
                .or_else(|| one.strip_suffix(quote))
                .unwrap_or(one);
        }
    }
    let one: String = one
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one.chars().count() > MATCH_SHOWN {
        let cut: String = one.chars().take(MATCH_SHOWN).collect();
        format!("{cut}…")
    } else {
        one
    }
}

/// Shell text as the shell reads it: logical lines (continuations joined)
/// with comments dropped and the run's params expanded; each with the
/// offset of its first physical line.
pub fn shell_lines(text: &str, vars: &[(String, String)]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (offset, raw) in text.lines().enumerate() {
        let (start, mut line) = current.take().unwrap_or((offset, String::new()));
        // An odd number of trailing backslashes continues the line.
        let trailing = raw.len() - raw.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            line.push_str(&raw[..raw.len() - 1]);
            line.push(' ');
            current = Some((start, line));
            continue;
        }
        line.push_str(raw);
        out.push((start, expand(&strip_comment(&line), vars)));
    }
    if let Some((start, line)) = current {
        out.push((start, expand(&strip_comment(&line), vars)));
    }
    out
}

/// Drops a `#` comment: a `#` that starts a word, outside quotes.
fn strip_comment(line: &str) -> String {
    let mut single = false;
    let mut double = false;
    let mut escaped = false;
    let mut previous: Option<char> = None;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && !single {
            escaped = true;
        } else if c == '\'' && !double {
            single = !single;
        } else if c == '"' && !single {
            double = !double;
        } else if c == '#'
            && !single
            && !double
            && previous.is_none_or(|p| p.is_whitespace() || ";&|()".contains(p))
        {
            return line[..i].to_owned();
        }
        previous = Some(c);
    }
    line.to_owned()
}

/// Replaces `$NAME`, `${NAME}` and `$1` of known vars (params, script
/// arguments) with their values, outside single quotes. Unknown names stay
/// as written.
fn expand(line: &str, vars: &[(String, String)]) -> String {
    if vars.is_empty() || !line.contains('$') {
        return line.to_owned();
    }
    let value = |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut single = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            single = !single;
        }
        if c == '$' && !single {
            let braced = chars.get(i + 1) == Some(&'{');
            let start = if braced { i + 2 } else { i + 1 };
            let mut end = start;
            if !braced && chars.get(start).is_some_and(char::is_ascii_digit) {
                // `$10` is `${1}0`.
                end += 1;
            } else {
                while end < chars.len() && (chars[end] == '_' || chars[end].is_ascii_alphanumeric())
                {
                    end += 1;
                }
            }
            let closed = !braced || chars.get(end) == Some(&'}');
            let name: String = chars[start..end].iter().collect();
            if end > start
                && closed
                && let Some(v) = value(&name)
            {
                out.push_str(&v.replace('\n', " "));
                i = if braced { end + 1 } else { end };
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::builtin;

    fn all_rules() -> RuleSet {
        RuleSet {
            rules: builtin::rules(),
        }
    }

    fn script(text: &str, vars: &[(&str, &str)]) -> Subject {
        Subject {
            origin: Origin::File {
                path: "atoms/x.sh".into(),
                line: 1,
            },
            step: Some(0),
            step_name: "x".into(),
            text: text.into(),
            is_script: true,
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn languages_come_from_the_shebang() {
        assert_eq!(language_of("echo hi"), "shell");
        assert_eq!(language_of("#!/bin/bash -e\n"), "shell");
        assert_eq!(language_of("#!/usr/bin/env python3\n"), "python");
        assert_eq!(language_of("#!/usr/bin/python3.11\n"), "python");
        assert_eq!(language_of("#!/usr/bin/env -S perl -w\n"), "perl");
        assert_eq!(language_of("#!/opt/bin/tclsh\n"), "tclsh");
    }

    #[test]
    fn continuations_comments_and_params_are_read_as_the_shell_does() {
        let lines = shell_lines(
            "echo a # rm -rf /\nrm -rf \\\n  \"$dir\"\necho '$dir' \"${dir}\" $other # x\necho \"#\" $#\n",
            &[("dir".into(), "/".into())],
        );
        assert_eq!(
            lines,
            vec![
                (0, "echo a ".to_owned()),
                (1, "rm -rf    \"/\"".to_owned()),
                (3, "echo '$dir' \"/\" $other ".to_owned()),
                (4, "echo \"#\" $#".to_owned()),
            ]
        );
    }

    #[test]
    fn hits_name_the_line_the_text_came_from() {
        let subject = script(
            "#!/bin/sh\n# ---\n# name: x\n# ---\necho start\nrm -rf \\\n  \"$target\"\n",
            &[("target", "/")],
        );
        let hits = check(&all_rules(), &[subject]);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].rule, "rm-root");
        assert_eq!(hits[0].location, "atoms/x.sh:6");
        assert_eq!(hits[0].matched, "rm -rf    \"/\"");
        assert_eq!(hits[0].action, Action::Block);
    }

    #[test]
    fn shell_rules_leave_python_strings_alone() {
        let python = script(
            "#!/usr/bin/env python3\nimport os\nos.system(\"rm -rf /\")\n",
            &[],
        );
        assert!(check(&all_rules(), std::slice::from_ref(&python)).is_empty());
        let mut rules = all_rules();
        rules.rules[0].languages = crate::guard::rule::Languages::Any;
        let hits = check(&rules, &[python]);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].location, "atoms/x.sh:3");
    }

    #[test]
    fn matched_text_loses_the_boundaries_around_it() {
        assert_eq!(shown("; reboot;"), "reboot");
        assert_eq!(shown("& rm -rf \"/\" "), "rm -rf \"/\"");
        assert_eq!(shown("'rm -rf /"), "rm -rf /");
        assert_eq!(shown("rm -rf /\n"), "rm -rf /");
    }

    #[test]
    fn a_commented_out_command_does_not_fire() {
        let hits = check(
            &all_rules(),
            &[script("# reboot\necho ok # ; reboot\n", &[])],
        );
        assert!(hits.is_empty(), "{hits:?}");
    }
}
