//! Paths as jobdeck prints them: `flows/../atoms/stop.sh` is shown as
//! `atoms/stop.sh`, `./deploy.yml` as `deploy.yml`.

use std::path::{Component, Path, PathBuf};

/// `path` without `.` components and `name/..` pairs, when that still names
/// the same file: after a symlink, `..` leads to the link target's parent,
/// not to the lexical one, and then the path is kept as given. A path that
/// does not exist (yet) is tidied lexically.
pub fn tidy(path: &Path) -> PathBuf {
    let lexical = lexical(path);
    if lexical.as_os_str() == path.as_os_str() {
        return lexical;
    }
    match (std::fs::canonicalize(path), std::fs::canonicalize(&lexical)) {
        (Ok(real), Ok(tidied)) if real == tidied => lexical,
        (Err(_), Err(_)) => lexical,
        _ => path.to_path_buf(),
    }
}

/// Removes `.` and folds `name/..` without looking at the filesystem.
fn lexical(path: &Path) -> PathBuf {
    let mut parts: Vec<Component> = Vec::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                // `/..` is `/`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => parts.push(part),
            },
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return PathBuf::from(".");
    }
    parts.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_folds_dots() {
        for (given, tidied) in [
            ("sample/flows/../atoms/x.sh", "sample/atoms/x.sh"),
            ("./deploy.yml", "deploy.yml"),
            ("a/./b/../../c", "c"),
            ("../up/./x", "../up/x"),
            ("a/..", "."),
            ("/../etc", "/etc"),
            ("/srv/app", "/srv/app"),
        ] {
            assert_eq!(lexical(Path::new(given)), PathBuf::from(tidied), "{given}");
        }
    }

    #[test]
    fn a_symlinked_directory_keeps_its_dots() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real/flows");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::create_dir_all(dir.path().join("real/atoms")).unwrap();
        std::fs::create_dir_all(dir.path().join("atoms")).unwrap();
        let link = dir.path().join("flows");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        // flows/.. is real/, not the temp dir: the lexical form would name
        // another directory.
        let through_link = link.join("../atoms");
        assert_eq!(tidy(&through_link), through_link);
        let plain = real.join("../atoms");
        assert_eq!(tidy(&plain), dir.path().join("real/atoms"));
    }
}
