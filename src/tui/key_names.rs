//! "The key for action X", for texts that tell the operator what to press
//! (a state line's "— c confirms it"): the keymap's first key for it in a
//! view's contexts, so a remapped key shows its new letter.

use std::sync::Arc;

use super::action::Action;
use super::keymap::{KeyContext, Keymap};

#[derive(Debug, Clone)]
pub struct KeyNames {
    keymap: Arc<Keymap>,
    contexts: Vec<KeyContext>,
}

impl KeyNames {
    /// Names keys as a view with these contexts reads them (the global
    /// ones come after).
    pub fn new(keymap: Arc<Keymap>, contexts: &[KeyContext]) -> KeyNames {
        let mut contexts = contexts.to_vec();
        if !contexts.contains(&KeyContext::Global) {
            contexts.push(KeyContext::Global);
        }
        KeyNames { keymap, contexts }
    }

    /// The same keymap read in other contexts.
    pub fn with_contexts(&self, contexts: &[KeyContext]) -> KeyNames {
        KeyNames::new(self.keymap.clone(), contexts)
    }

    /// The key that does `action`, as the footer writes it; an action no
    /// key does is named in brackets (`[abort]`).
    pub fn of(&self, action: &Action) -> String {
        match self.keymap.keys_for(&self.contexts, action).first() {
            Some(key) => key.to_string(),
            None => format!("[{}]", action.name().unwrap_or("unbound")),
        }
    }
}

impl Default for KeyNames {
    /// The built-in keymap, as the Run view reads it.
    fn default() -> Self {
        KeyNames::new(Arc::new(Keymap::builtin()), &[KeyContext::Run])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_remapped_key_is_named_by_its_new_letter() {
        let builtin = KeyNames::default();
        assert_eq!(builtin.of(&Action::RerunFailed), "R");
        assert_eq!(builtin.of(&Action::Help), "f1");
        let (keymap, errors) = Keymap::with_overrides(
            "[run]\n\"R\" = \"none\"\n\"X\" = \"rerun_failed\"\n\"a\" = \"none\"\n",
            Path::new("keymap.toml"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let names = KeyNames::new(Arc::new(keymap), &[KeyContext::Run]);
        assert_eq!(names.of(&Action::RerunFailed), "X");
        assert_eq!(names.of(&Action::AbortRun), "[abort]");
    }
}
