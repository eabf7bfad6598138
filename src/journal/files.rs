//! The journal's files on disk: creating the journal with mode 0600
//! without ever holding a file descriptor of it outside SQLite, and telling
//! the journal's files (`journal.db`, `-wal`, `-shm`) from other paths.
//!
//! POSIX advisory locks belong to the process, and closing *any* descriptor
//! of a file drops all of the process's locks on it. SQLite holds such locks
//! for as long as a connection is open; if another descriptor of the journal
//! is opened and closed beside a live connection (to set its mode, to copy
//! it, ...), the next SQLite client to close believes it is the last one and
//! deletes `-wal` and `-shm` under the live connection, which then writes
//! into unlinked files. So the file is made under a temporary name, closed,
//! and only then linked in as the journal: a descriptor of the journal's own
//! inode exists only inside SQLite. Everything else here works by path
//! (`stat`, `chmod`), which takes no descriptor.

use std::fs::{DirBuilder, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::JournalError;

/// Who creates the journal file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Created {
    /// It existed already, or it was linked in with mode 0600 here.
    Ready,
    /// The file system has no hard links: SQLite creates it, and it is
    /// made private by path (`make_private`) before SQLite writes to it.
    BySqlite,
}

/// Creates the parent directories (0700) and, if there is no journal yet,
/// an empty one with mode 0600; SQLite gives its -wal and -shm files the
/// same mode. An existing file keeps the mode its owner chose.
pub(super) fn private_file(path: &Path) -> Result<Created, JournalError> {
    let io_err = |cause| JournalError::Io {
        path: path.to_path_buf(),
        cause,
    };
    if let Some(parent) = parent_of(path) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|cause| diagnose(path, cause))?;
    }
    if exists(path)? {
        return Ok(Created::Ready);
    }
    let temp = temp_name(path);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .map_err(|cause| diagnose(path, cause))?;
    // The descriptor is closed: the inode becomes the journal only now.
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        // Another process (or thread) created it meanwhile: theirs it is.
        Ok(()) => Ok(Created::Ready),
        Err(err) if err.kind() == ErrorKind::AlreadyExists => Ok(Created::Ready),
        Err(err) if no_hard_links(&err) => Ok(Created::BySqlite),
        Err(cause) => Err(io_err(cause)),
    }
}

/// `chmod 0600` by path, for a journal SQLite has just created.
pub(super) fn make_private(path: &Path) -> Result<(), JournalError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|cause| {
        JournalError::Io {
            path: path.to_path_buf(),
            cause,
        }
    })
}

/// Whether there is a file at `path`, by `stat` (no descriptor); a path
/// through something that is not a directory is an error that names it.
pub(super) fn exists(path: &Path) -> Result<bool, JournalError> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
        Err(cause) => Err(diagnose(path, cause)),
    }
}

/// Whether `candidate` is the journal at `journal` or one of its `-wal`,
/// `-shm` and `-journal` files: the same file by device and inode, however
/// it is named, or (as those come and go) the same name in the same
/// directory. jobdeck never writes to such a path outside SQLite.
pub fn is_journal_file(candidate: &Path, journal: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mut names = vec![journal.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = journal.as_os_str().to_owned();
        name.push(suffix);
        names.push(PathBuf::from(name));
    }
    if let Ok(target) = std::fs::metadata(candidate) {
        let same = |p: &PathBuf| {
            std::fs::metadata(p).is_ok_and(|m| (m.dev(), m.ino()) == (target.dev(), target.ino()))
        };
        if names.iter().any(same) {
            return true;
        }
    }
    // By name: the directories resolved (realpath, no descriptor).
    let place = |p: &Path| {
        let dir = parent_of(p).unwrap_or(Path::new("."));
        Some((std::fs::canonicalize(dir).ok()?, p.file_name()?.to_owned()))
    };
    let Some(candidate) = place(candidate) else {
        return false;
    };
    names.iter().any(|n| place(n).as_ref() == Some(&candidate))
}

fn parent_of(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}

/// A name beside the journal that no other process picks.
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let temp = format!(".{name}.{}-{nanos}.new", std::process::id());
    match parent_of(path) {
        Some(parent) => parent.join(temp),
        None => PathBuf::from(temp),
    }
}

fn no_hard_links(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EPERM | libc::EOPNOTSUPP | libc::EMLINK)
    )
}

/// One clear message for a path that cannot be a journal: the part of it
/// that is a file rather than a directory (`/dev/null/x.db`), else the
/// system's own error.
fn diagnose(path: &Path, cause: std::io::Error) -> JournalError {
    let through_a_file = matches!(
        cause.kind(),
        ErrorKind::AlreadyExists | ErrorKind::NotADirectory
    ) || cause.raw_os_error() == Some(libc::ENOTDIR);
    if through_a_file
        && let Some(ancestor) = path
            .ancestors()
            .skip(1)
            .filter(|a| !a.as_os_str().is_empty())
            .find(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir()))
    {
        return JournalError::NotADirectory {
            path: path.to_path_buf(),
            ancestor: ancestor.to_path_buf(),
        };
    }
    JournalError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_through_a_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        let err = private_file(&file.join("sub").join("j.db")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "journal {}: {} is not a directory",
                file.join("sub/j.db").display(),
                file.display()
            )
        );
        let err = exists(&file.join("j.db")).unwrap_err();
        assert!(
            matches!(err, JournalError::NotADirectory { ref ancestor, .. } if *ancestor == file),
            "{err}"
        );
    }

    #[test]
    fn the_journal_files_are_told_from_others() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("j.db");
        for name in ["j.db", "j.db-wal", "other.log"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        std::os::unix::fs::symlink(&journal, dir.path().join("alias")).unwrap();
        assert!(is_journal_file(&journal, &journal));
        assert!(is_journal_file(&dir.path().join("j.db-wal"), &journal));
        assert!(is_journal_file(&dir.path().join("alias"), &journal));
        assert!(!is_journal_file(&dir.path().join("other.log"), &journal));
        assert!(!is_journal_file(&dir.path().join("absent"), &journal));
        // A -shm that does not exist (yet) is the journal's by its name.
        let shm = dir.path().join(".").join("j.db-shm");
        assert!(is_journal_file(&shm, &journal));
    }

    #[test]
    fn a_new_journal_is_private_and_an_existing_one_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/j.db");
        assert_eq!(private_file(&path).unwrap(), Created::Ready);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(private_file(&path).unwrap(), Created::Ready);
        assert_eq!(mode(&path), 0o640);
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["j.db"]);
    }
}
