//! Keys to actions, per context. The built-in map is a TOML file embedded
//! in the binary; a user's `keymap.toml` has the same shape and replaces
//! only the keys it names. Every error names the file and line.

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use toml::de::{DeTable, DeValue};

use super::action::Action;
use super::key::Key;

const DEFAULT_KEYMAP: &str = include_str!("default_keymap.toml");

/// Where a key is looked up. The app asks the innermost context first
/// (help, or input, or the view's), then `Global` unless a text box is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyContext {
    Global,
    Inventory,
    Input,
    Help,
    // tuihist views
    History,
    Replay,
    Flows,
    Composer,
    Editor,
    Schedules,
    ScheduleForm,
    Planner,
    Run,
    Dialog,
    CommandBox,
}

impl KeyContext {
    const ALL: [(&'static str, KeyContext); 15] = [
        ("global", KeyContext::Global),
        ("inventory", KeyContext::Inventory),
        ("input", KeyContext::Input),
        ("help", KeyContext::Help),
        ("history", KeyContext::History),
        ("replay", KeyContext::Replay),
        ("flows", KeyContext::Flows),
        ("composer", KeyContext::Composer),
        ("editor", KeyContext::Editor),
        ("schedules", KeyContext::Schedules),
        ("schedule_form", KeyContext::ScheduleForm),
        ("planner", KeyContext::Planner),
        ("run", KeyContext::Run),
        ("dialog", KeyContext::Dialog),
        ("command_box", KeyContext::CommandBox),
    ];

    fn from_name(name: &str) -> Option<KeyContext> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }
}

/// A keymap problem, located in its file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct KeymapError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    /// Bindings per context, in file order (the help overlay lists them so).
    bindings: HashMap<KeyContext, IndexMap<Key, Action>>,
}

/// How many broken lines a keymap file may have before it is given up.
const MAX_BAD_LINES: usize = 100;

impl Keymap {
    pub fn builtin() -> Keymap {
        let mut map = Keymap {
            bindings: HashMap::new(),
        };
        let problems = map.apply(DEFAULT_KEYMAP, "built-in keymap");
        assert!(problems.is_empty(), "the built-in keymap: {problems:?}");
        map
    }

    /// The built-in map with a user file's bindings on top. A bad line (not
    /// TOML, an unknown key, action or section) is left out and named; the
    /// file's other lines apply.
    pub fn with_overrides(text: &str, file: &Path) -> (Keymap, Vec<KeymapError>) {
        let mut map = Keymap::builtin();
        let problems = map.apply(text, &file.display().to_string());
        (map, problems)
    }

    /// Applies a keymap file's good lines; every message says what was left
    /// out (the line, its section, or the file).
    fn apply(&mut self, text: &str, file: &str) -> Vec<KeymapError> {
        let (clean, bad_lines) = without_bad_toml_lines(text);
        let error = |line: usize, message: String| KeymapError {
            file: file.to_string(),
            line,
            message,
        };
        let doc = match DeTable::parse(&clean) {
            Ok(doc) => doc,
            Err(e) => {
                // Only past MAX_BAD_LINES: nothing of the file applies.
                let offset = e.span().map(|s| s.start).unwrap_or(0);
                return vec![error(
                    line_of(&clean, offset),
                    format!(
                        "not a keymap: more than {MAX_BAD_LINES} lines are not TOML; \
                         the file is ignored"
                    ),
                )];
            }
        };
        let mut errors: Vec<KeymapError> = bad_lines
            .into_iter()
            .map(|(line, message, left_out)| {
                error(line, format!("not a keymap: {message}; {left_out}"))
            })
            .collect();
        let located = |offset: usize, message: String, left_out: &str| {
            error(line_of(&clean, offset), format!("{message}; {left_out}"))
        };
        const LINE: &str = "the line is ignored";
        const SECTION: &str = "the section is ignored";
        for (context_name, table) in doc.get_ref() {
            let start = context_name.span().start;
            let Some(context) = KeyContext::from_name(context_name.get_ref()) else {
                let known: Vec<&str> = KeyContext::ALL.iter().map(|(n, _)| *n).collect();
                errors.push(located(
                    start,
                    format!(
                        "unknown section [{}]; expected one of: {}",
                        context_name.get_ref(),
                        known.join(", ")
                    ),
                    SECTION,
                ));
                continue;
            };
            let DeValue::Table(table) = table.get_ref() else {
                errors.push(located(
                    start,
                    format!(
                        "'{}' must be a [{0}] section of \"key\" = \"action\" lines",
                        context_name.get_ref()
                    ),
                    LINE,
                ));
                continue;
            };
            let bindings = self.bindings.entry(context).or_default();
            // A file's bindings go before the ones it lays over, so the
            // footer shows a user's own key first.
            let mut added: IndexMap<Key, Action> = IndexMap::new();
            for (key_text, action_value) in table {
                let key_text = key_text.get_ref();
                let offset = action_value.span().start;
                let key = match Key::parse(key_text) {
                    Ok(key) => key,
                    Err(m) => {
                        errors.push(located(offset, m, LINE));
                        continue;
                    }
                };
                let DeValue::String(name) = action_value.get_ref() else {
                    errors.push(located(
                        offset,
                        format!("the action for key '{key_text}' must be a quoted action name"),
                        LINE,
                    ));
                    continue;
                };
                if name == "none" {
                    bindings.shift_remove(&key);
                    added.shift_remove(&key);
                    continue;
                }
                let Some(action) = Action::from_name(name) else {
                    errors.push(located(
                        offset,
                        format!(
                            "unknown action '{name}' for key '{key_text}'; \
                             see the help overlay (?) for action names, or use \"none\""
                        ),
                        LINE,
                    ));
                    continue;
                };
                bindings.shift_remove(&key);
                added.insert(key, action);
            }
            added.extend(bindings.drain(..));
            *bindings = added;
        }
        errors.sort_by_key(|e| e.line);
        errors
    }

    /// The action bound to `key`, trying `contexts` in order.
    pub fn lookup(&self, contexts: &[KeyContext], key: &Key) -> Option<Action> {
        contexts
            .iter()
            .find_map(|c| self.bindings.get(c).and_then(|b| b.get(key)).cloned())
    }

    /// The keys bound to `action` in the first of `contexts` that has any,
    /// for the footer and the help overlay.
    pub fn keys_for(&self, contexts: &[KeyContext], action: &Action) -> Vec<Key> {
        for c in contexts {
            let keys: Vec<Key> = self
                .bindings
                .get(c)
                .map(|b| {
                    b.iter()
                        // A key an earlier context takes means something else here.
                        .filter(|(k, a)| {
                            *a == action && self.lookup(contexts, k).as_ref() == Some(action)
                        })
                        .map(|(k, _)| *k)
                        .collect()
                })
                .unwrap_or_default();
            if !keys.is_empty() {
                return keys;
            }
        }
        Vec::new()
    }

    /// Every binding of a context, in file order.
    pub fn bindings(&self, context: KeyContext) -> Vec<(Key, Action)> {
        self.bindings
            .get(&context)
            .map(|b| b.iter().map(|(k, a)| (*k, a.clone())).collect())
            .unwrap_or_default()
    }
}

/// The text with each line that is not TOML blanked (a broken `[section]`
/// header takes its section's lines with it, so they do not land in the
/// section before), and those lines with the parser's message. Line
/// numbers stay those of the file.
fn without_bad_toml_lines(text: &str) -> (String, Vec<(usize, String, &'static str)>) {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut bad = Vec::new();
    while bad.len() < MAX_BAD_LINES {
        let clean = lines.join("\n");
        let Err(e) = DeTable::parse(&clean) else {
            return (clean, bad);
        };
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let index = (line_of(&clean, offset) - 1).min(lines.len() - 1);
        if lines[index].trim().is_empty() {
            // The parser points past the problem (at the end of the file):
            // blank the last line with text.
            match lines[..index].iter().rposition(|l| !l.trim().is_empty()) {
                Some(i) if i < index => {
                    bad.push((i + 1, e.message().to_string(), "the line is ignored"));
                    lines[i].clear();
                    continue;
                }
                _ => break,
            }
        }
        let header = lines[index].trim_start().starts_with('[');
        let left_out = if header {
            "the section is ignored"
        } else {
            "the line is ignored"
        };
        bad.push((index + 1, e.message().to_string(), left_out));
        lines[index].clear();
        if header {
            for line in lines.iter_mut().skip(index + 1) {
                if line.trim_start().starts_with('[') {
                    break;
                }
                line.clear();
            }
        }
    }
    (lines.join("\n"), bad)
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Key {
        Key::parse(text).unwrap()
    }

    #[test]
    fn builtin_map_binds_the_basics() {
        let map = Keymap::builtin();
        let inv = [KeyContext::Inventory, KeyContext::Global];
        assert_eq!(map.lookup(&inv, &key("j")), Some(Action::Down));
        assert_eq!(map.lookup(&inv, &key("q")), Some(Action::Quit));
        assert_eq!(map.lookup(&[KeyContext::Input], &key("q")), None);
        assert_eq!(
            map.keys_for(&inv, &Action::Down),
            vec![key("j"), key("down")]
        );
    }

    #[test]
    fn user_file_overrides_only_named_keys() {
        let text = "[inventory]\n\"n\" = \"down\"\n\"j\" = \"none\"\n";
        let (map, problems) = Keymap::with_overrides(text, Path::new("keymap.toml"));
        assert!(problems.is_empty(), "{problems:?}");
        let inv = [KeyContext::Inventory];
        assert_eq!(map.lookup(&inv, &key("n")), Some(Action::Down));
        assert_eq!(map.lookup(&inv, &key("j")), None);
        assert_eq!(map.lookup(&inv, &key("k")), Some(Action::Up));
        assert_eq!(
            map.keys_for(&inv, &Action::Down),
            vec![key("n"), key("down")]
        );
    }

    #[test]
    fn bad_lines_are_named_and_the_good_lines_apply() {
        // Each file binds n to down (line 2) and has one bad line.
        let cases = [
            (
                "[inventory]\n\"n\" = \"down\"\n\"k\" = \"upward\"\n",
                "keymap.toml:3: unknown action 'upward' for key 'k'",
            ),
            (
                "[inventory]\n\"n\" = \"down\"\n\"jj\" = \"down\"\n",
                "keymap.toml:3: 'jj' is not a key",
            ),
            (
                "[inventory]\n\"n\" = \"down\"\n[inventry]\n\"j\" = \"down\"\n",
                "keymap.toml:3: unknown section [inventry]",
            ),
            (
                "[inventory]\n\"n\" = \"down\"\n\"k\" = down\n",
                "keymap.toml:3: not a keymap",
            ),
            (
                "[inventory]\n\"n\" = \"down\"\n\"k\" = 3\n",
                "keymap.toml:3: the action for key 'k' must be a quoted action name",
            ),
            (
                "[inventory]\n\"n\" = \"down\"\n\"k\" = \"up\n",
                "keymap.toml:3: not a keymap",
            ),
            (
                "[inventory]\n\"n\" = \"down\"\n\"n\" = \"up\"\n",
                "keymap.toml:3: not a keymap: duplicate key",
            ),
        ];
        let inv = [KeyContext::Inventory];
        for (text, expected) in cases {
            let (map, problems) = Keymap::with_overrides(text, Path::new("keymap.toml"));
            assert_eq!(problems.len(), 1, "{text:?}: {problems:?}");
            let problem = problems[0].to_string();
            assert!(problem.starts_with(expected), "{text:?}: {problem}");
            assert_eq!(map.lookup(&inv, &key("n")), Some(Action::Down), "{text:?}");
            // The bad line changed nothing: k is still up.
            assert_eq!(map.lookup(&inv, &key("k")), Some(Action::Up), "{text:?}");
        }
    }

    #[test]
    fn a_file_of_mostly_garbage_is_ignored_whole() {
        let text = format!("[inventory]\n\"n\" = \"down\"\n{}", "junk\n".repeat(150));
        let (map, problems) = Keymap::with_overrides(&text, Path::new("keymap.toml"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .message
                .contains("more than 100 lines are not TOML; the file is ignored"),
            "{problems:?}"
        );
        let inv = [KeyContext::Inventory];
        assert_eq!(map.lookup(&inv, &key("n")), None);
        assert_eq!(map.lookup(&inv, &key("j")), Some(Action::Down));
    }

    #[test]
    fn a_broken_section_header_takes_its_lines_with_it() {
        let text = "[inventory]\n\"n\" = \"down\"\n[run\n\"k\" = \"quit\"\n[global]\n\"ctrl-q\" = \"quit\"\n";
        let (map, problems) = Keymap::with_overrides(text, Path::new("keymap.toml"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 3);
        assert!(
            problems[0].message.ends_with("the section is ignored"),
            "{problems:?}"
        );
        let inv = [KeyContext::Inventory];
        assert_eq!(map.lookup(&inv, &key("n")), Some(Action::Down));
        assert_eq!(map.lookup(&inv, &key("k")), Some(Action::Up));
        assert_eq!(
            map.lookup(&[KeyContext::Global], &key("ctrl-q")),
            Some(Action::Quit)
        );
    }
}
