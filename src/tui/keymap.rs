//! Keys to actions, per context. The built-in map is a TOML file embedded
//! in the binary; a user's `keymap.toml` has the same shape and replaces
//! only the keys it names. Every error names the file and line.

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use toml::Spanned;

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
}

impl KeyContext {
    const ALL: [(&'static str, KeyContext); 14] = [
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

/// The file's shape: `[context]` tables of `"key" = "action"`.
type KeymapFile = IndexMap<String, Spanned<IndexMap<String, Spanned<String>>>>;

impl Keymap {
    pub fn builtin() -> Keymap {
        let mut map = Keymap {
            bindings: HashMap::new(),
        };
        map.apply(DEFAULT_KEYMAP, "built-in keymap")
            .expect("the built-in keymap parses");
        map
    }

    /// The built-in map with a user file's bindings on top.
    pub fn with_overrides(text: &str, file: &Path) -> Result<Keymap, KeymapError> {
        let mut map = Keymap::builtin();
        map.apply(text, &file.display().to_string())?;
        Ok(map)
    }

    fn apply(&mut self, text: &str, file: &str) -> Result<(), KeymapError> {
        let located = |offset: usize, message: String| KeymapError {
            file: file.to_string(),
            line: line_of(text, offset),
            message,
        };
        let parsed: KeymapFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            located(offset, format!("not a keymap: {}", e.message()))
        })?;
        for (context_name, table) in parsed {
            let start = table.span().start;
            let context = KeyContext::from_name(&context_name).ok_or_else(|| {
                let known: Vec<&str> = KeyContext::ALL.iter().map(|(n, _)| *n).collect();
                located(
                    start,
                    format!(
                        "unknown section [{context_name}]; expected one of: {}",
                        known.join(", ")
                    ),
                )
            })?;
            let bindings = self.bindings.entry(context).or_default();
            // A file's bindings go before the ones it lays over, so the
            // footer shows a user's own key first.
            let mut added: IndexMap<Key, Action> = IndexMap::new();
            for (key_text, action_name) in table.into_inner() {
                let offset = action_name.span().start;
                let key = Key::parse(&key_text).map_err(|m| located(offset, m))?;
                let name = action_name.into_inner();
                bindings.shift_remove(&key);
                if name == "none" {
                    added.shift_remove(&key);
                    continue;
                }
                let action = Action::from_name(&name).ok_or_else(|| {
                    located(
                        offset,
                        format!(
                            "unknown action '{name}' for key '{key_text}'; \
                             see the help overlay (?) for action names, or use \"none\""
                        ),
                    )
                })?;
                added.insert(key, action);
            }
            added.extend(bindings.drain(..));
            *bindings = added;
        }
        Ok(())
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
                        .filter(|(_, a)| *a == action)
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
        let map = Keymap::with_overrides(text, Path::new("keymap.toml")).unwrap();
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
    fn bad_files_name_file_and_line() {
        let cases = [
            (
                "[inventory]\n\"j\" = \"down\"\n\"k\" = \"upward\"\n",
                "keymap.toml:3: unknown action 'upward' for key 'k'",
            ),
            (
                "[inventory]\n\n\"jj\" = \"down\"\n",
                "keymap.toml:3: 'jj' is not a key",
            ),
            (
                "[inventry]\n\"j\" = \"down\"\n",
                "keymap.toml:1: unknown section [inventry]",
            ),
            ("[inventory]\n\"j\" = down\n", "keymap.toml:2: not a keymap"),
            ("[inventory]\n\"j\" = 3\n", "keymap.toml:2: not a keymap"),
        ];
        for (text, expected) in cases {
            let err = Keymap::with_overrides(text, Path::new("keymap.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
    }
}
