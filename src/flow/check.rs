//! Checking a flow or atom file's text as `jobdeck check` does, before it
//! is saved, and saving it only when it passes. The text goes to a
//! temporary file next to the original (so atom directories and copy
//! sources resolve the same) and is loaded from there; problems come back
//! by line. A save writes a temporary file and renames it over the
//! original, so a reader never sees half a file.

use std::path::{Path, PathBuf};

use super::load::load_flow;
use super::{Atom, Flow, FlowError, FlowErrors};

/// Problems by line (0: in another file, the message says where).
pub type Problems = Vec<(usize, String)>;

/// What a check is about, to save after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    Flow,
    Atom,
}

/// What follows a check that passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Nothing,
    /// Write the file, over the one there.
    Save,
    /// Write a new file; one already there stays and the save is refused.
    SaveNew,
    /// Write the file over the one there even when the check finds
    /// problems: a draft the user chose to keep (runs refuse it until fixed).
    SaveDraft,
}

/// Checks `text` as the file at `path` and, if it passes (or `then` is a
/// draft), does `then`:
/// the problems by line, and what the save did (if one was asked for).
pub fn check_and_save(
    kind: CheckKind,
    path: &Path,
    text: &str,
    then: Then,
) -> (Problems, Option<Result<PathBuf, String>>) {
    if then == Then::SaveNew && path.exists() {
        let taken = format!("{} already exists: pick another name", path.display());
        return (Vec::new(), Some(Err(taken)));
    }
    let errors = match kind {
        CheckKind::Flow => validate_flow_text(path, text).err().unwrap_or_default(),
        CheckKind::Atom => Atom::parse(path, text.to_string())
            .err()
            .map(|e| located(e, path, path))
            .unwrap_or_default(),
    };
    let write = match then {
        Then::Nothing => false,
        Then::Save | Then::SaveNew => errors.is_empty(),
        Then::SaveDraft => true,
    };
    let saved = write.then(|| {
        write_atomically(path, text)
            .map(|()| path.to_path_buf())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    });
    (errors, saved)
}

/// `load_flow` on `text` written next to `original`; errors with their line.
pub fn validate_flow_text(original: &Path, text: &str) -> Result<Flow, Vec<(usize, String)>> {
    let dir = original
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = dir.join(format!(
        ".{}.jobdeck-check-{}.yml",
        original
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&temp, text)) {
        return Err(vec![(1, format!("cannot write {}: {e}", temp.display()))]);
    }
    let result = load_flow(&temp);
    let _ = std::fs::remove_file(&temp);
    result.map_err(|errors| located(errors, &temp, original))
}

/// Errors of the checked file by line; errors in other files (an atom)
/// are kept at line 0 with their own location.
fn located(errors: FlowErrors, checked: &Path, shown: &Path) -> Vec<(usize, String)> {
    errors
        .0
        .into_iter()
        .map(
            |FlowError {
                 path,
                 line,
                 message,
             }| {
                if path == checked {
                    (line, message)
                } else {
                    (0, format!("{}:{line}: {message}", path.display()))
                }
            },
        )
        .map(|(line, message)| {
            let message =
                message.replace(&checked.display().to_string(), &shown.display().to_string());
            (line, message)
        })
        .collect()
}

/// Writes `text` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(
        ".{}.jobdeck-save-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&temp, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&temp, meta.permissions());
    }
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}
