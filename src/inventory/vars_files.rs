//! `group_vars/` and `host_vars/` next to an inventory source: a file per
//! entity (`web.yml`, `web.yaml`, `web.json`, or no extension) or a directory
//! of such files.
//!
//! Lookup follows Ansible's `host_group_vars` plugin and
//! `DataLoader.find_vars_files`: the candidates `NAME`, `NAME.yml`,
//! `NAME.yaml`, `NAME.json` are tried in that order and only the first that
//! exists is used. If it is a directory, every file below it (sorted,
//! depth-first, skipping hidden files, `~` backups, files with other
//! extensions and sub-directories with an extension) is loaded in order.
//! Each file must hold a mapping; later files replace earlier keys.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{InventoryError, VarMap, yaml11};

/// Candidate suffixes, in Ansible's order: the bare name first, so a
/// directory `web/` wins over `web.yml`.
const CANDIDATE_SUFFIXES: [&str; 4] = ["", ".yml", ".yaml", ".json"];

/// Extensions of files loaded from inside an entity's directory.
const DIR_FILE_EXTENSIONS: [&str; 3] = [".yml", ".yaml", ".json"];

/// Sub-directories nested deeper than this are refused (a symlink loop).
const MAX_DIR_DEPTH: usize = 32;

/// One scanned `group_vars/` or `host_vars/` directory. It is listed once, so
/// looking up 10,000 hosts costs no extra system calls per host.
#[allow(dead_code)] // Interface for vars.rs, which the integrator wires up.
#[derive(Debug, Default)]
pub struct VarsDir {
    pub dir: PathBuf,
    /// Names in `dir`, and whether each is a directory (symlinks followed).
    entries: HashMap<String, bool>,
}

#[allow(dead_code)] // Interface for vars.rs, which the integrator wires up.
impl VarsDir {
    /// Lists `dir`; a missing directory is empty, not an error. A path that
    /// exists but is not a directory is skipped too (Ansible warns).
    pub fn scan(dir: &Path) -> Result<VarsDir, InventoryError> {
        let mut vars_dir = VarsDir {
            dir: dir.to_path_buf(),
            entries: HashMap::new(),
        };
        let listing = match std::fs::read_dir(dir) {
            Ok(listing) => listing,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(vars_dir);
            }
            Err(e) => {
                return Err(InventoryError::file(
                    dir,
                    format!("cannot list variables directory: {e}"),
                ));
            }
        };
        for entry in listing {
            let entry = entry.map_err(|e| {
                InventoryError::file(dir, format!("cannot list variables directory: {e}"))
            })?;
            // Entity names are UTF-8, so other names can never be looked up.
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let is_dir = if file_type.is_symlink() {
                // A dangling link does not exist for Ansible (os.path.exists).
                match std::fs::metadata(entry.path()) {
                    Ok(meta) => meta.is_dir(),
                    Err(_) => continue,
                }
            } else {
                file_type.is_dir()
            };
            vars_dir.entries.insert(name, is_dir);
        }
        Ok(vars_dir)
    }

    /// The merged variables of every file for `name`, in Ansible's order;
    /// `None` when there is no file for it.
    pub fn load(&self, name: &str) -> Result<Option<VarMap>, InventoryError> {
        let files = self.files_for(name)?;
        if files.is_empty() {
            return Ok(None);
        }
        let mut vars = VarMap::new();
        for file in &files {
            if let Some(file_vars) = load_vars_file(file)? {
                // Shallow merge: a later file replaces a whole key.
                vars.extend(file_vars);
            }
        }
        Ok(Some(vars))
    }

    /// The files to load for `name`, in order.
    pub fn files_for(&self, name: &str) -> Result<Vec<PathBuf>, InventoryError> {
        // Ansible skips entities whose name starts with the path separator.
        if name.is_empty() || name.starts_with('/') {
            return Ok(Vec::new());
        }
        // Names that are not a single path component (`a/b`, `..`) are
        // joined onto the directory as Ansible does, with a real lookup.
        let simple = !name.contains('/') && name != "." && name != "..";
        // One buffer for all candidates: this runs for every host.
        let mut candidate = String::with_capacity(name.len() + 5);
        for suffix in CANDIDATE_SUFFIXES {
            candidate.clear();
            candidate.push_str(name);
            candidate.push_str(suffix);
            let is_dir = if simple {
                match self.entries.get(&candidate) {
                    Some(&is_dir) => is_dir,
                    None => continue,
                }
            } else {
                match std::fs::metadata(self.dir.join(&candidate)) {
                    Ok(meta) => meta.is_dir(),
                    Err(_) => continue,
                }
            };
            let path = self.dir.join(&candidate);
            if !is_dir {
                return Ok(vec![path]);
            }
            let mut files = Vec::new();
            collect_dir_files(&path, 0, &mut files)?;
            return Ok(files);
        }
        Ok(Vec::new())
    }
}

/// Ansible's `_get_dir_vars_files`: sorted names, depth-first.
fn collect_dir_files(
    dir: &Path,
    depth: usize,
    out: &mut Vec<PathBuf>,
) -> Result<(), InventoryError> {
    if depth > MAX_DIR_DEPTH {
        return Err(InventoryError::file(
            dir,
            format!(
                "variables directories are nested more than {MAX_DIR_DEPTH} deep (a symlink loop?)"
            ),
        ));
    }
    let mut names: Vec<OsString> = std::fs::read_dir(dir)
        .and_then(|listing| listing.map(|entry| entry.map(|e| e.file_name())).collect())
        .map_err(|e| InventoryError::file(dir, format!("cannot list variables directory: {e}")))?;
    // Byte order, which is code-point order for UTF-8 names, as Python sorts.
    names.sort();
    for name in names {
        let text = name.to_string_lossy();
        if text.starts_with('.') || text.ends_with('~') {
            continue;
        }
        let extension = python_extension(&text);
        let path = dir.join(&name);
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            // A directory with an extension (`conf.d`) is neither searched nor loaded.
            if extension.is_empty() {
                collect_dir_files(&path, depth + 1, out)?;
            }
        } else if meta.is_file()
            && (extension.is_empty() || DIR_FILE_EXTENSIONS.contains(&extension))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// `os.path.splitext(name)[1]`: leading dots do not start an extension.
fn python_extension(name: &str) -> &str {
    let stem_start = name.len() - name.trim_start_matches('.').len();
    match name[stem_start..].rfind('.') {
        Some(i) => &name[stem_start + i..],
        None => "",
    }
}

/// One vars file: `None` when it is empty (or holds a false-y value, which
/// Ansible ignores too); an error when it holds anything but a mapping.
fn load_vars_file(path: &Path) -> Result<Option<VarMap>, InventoryError> {
    let text = crate::input_file::read_text(path, "variables file")?;
    if text.starts_with("$ANSIBLE_VAULT;") {
        return Err(InventoryError::file(
            path,
            "the file is encrypted with ansible-vault, which jobdeck cannot decrypt",
        ));
    }
    let Some(doc) = yaml11::load_document(path, &text)? else {
        return Ok(None);
    };
    if !doc.root.is_truthy() {
        return Ok(None);
    }
    let line = doc.root.line;
    let python_type = doc.root.python_type();
    match doc.root.into_value() {
        Value::Object(map) => Ok(Some(map.into_iter().collect())),
        _ => Err(InventoryError::at(
            path,
            line,
            format!(
                "a variables file must hold a mapping of variable names to values, found <class '{python_type}'>"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, text).unwrap();
    }

    fn as_json(vars: &VarMap) -> String {
        serde_json::to_string(&vars.iter().collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn a_directory_is_loaded_in_ansible_order() {
        // The same layout gave these values with ansible-inventory --host h1.
        let tmp = tempfile::tempdir().unwrap();
        let gv = tmp.path().join("group_vars");
        write(&gv.join("web.yml"), "a: fromyml\nb: fromyml\n");
        write(&gv.join("web/a.yml"), "a: dir_a\norder: [a]\n");
        write(&gv.join("web/B"), "a: dir_B\nb: B\n");
        write(&gv.join("web/sub/x.json"), "{\"c\": \"sub\"}");
        write(&gv.join("web/z.d/x.yml"), "d: zd\n");
        write(&gv.join("web/t.txt"), "e: txt\n");
        write(&gv.join("web/t.yml~"), "f: tilde\n");
        write(&gv.join("web/b.yaml"), "g: 1\n");
        write(&gv.join("web/.hidden.yml"), "h: hidden\n");
        write(&gv.join("web/empty.yml"), "# nothing\n");
        write(&gv.join("web/zero.yml"), "0\n");

        let dir = VarsDir::scan(&gv).unwrap();
        let files: Vec<String> = dir
            .files_for("web")
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(&gv).unwrap().display().to_string())
            .collect();
        assert_eq!(
            files,
            [
                "web/B",
                "web/a.yml",
                "web/b.yaml",
                "web/empty.yml",
                "web/sub/x.json",
                "web/zero.yml"
            ]
        );
        let vars = dir.load("web").unwrap().unwrap();
        assert_eq!(
            as_json(&vars),
            r#"[["a","dir_a"],["b","B"],["order",["a"]],["g",1],["c","sub"]]"#
        );
    }

    #[test]
    fn the_first_existing_candidate_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let hv = tmp.path();
        write(&hv.join("h1"), "from: bare\n");
        write(&hv.join("h1.yml"), "from: yml\n");
        write(&hv.join("h2.yml"), "from: yml\n");
        write(&hv.join("h2.yaml"), "from: yaml\n");
        write(&hv.join("h3.yaml"), "from: yaml\n");
        write(&hv.join("h3.json"), "{\"from\": \"json\"}");
        write(&hv.join("h4.json"), "{\"from\": \"json\", \"n\": 1e3}");
        write(&hv.join("h5.txt"), "from: txt\n");
        let dir = VarsDir::scan(hv).unwrap();
        let from = |name: &str| dir.load(name).unwrap().map(|v| v["from"].clone());
        assert_eq!(from("h1"), Some(json!("bare")));
        assert_eq!(from("h2"), Some(json!("yml")));
        assert_eq!(from("h3"), Some(json!("yaml")));
        assert_eq!(from("h4"), Some(json!("json")));
        assert_eq!(dir.load("h4").unwrap().unwrap()["n"], json!(1000.0));
        assert_eq!(from("h5"), None);
        assert_eq!(from("nobody"), None);
        assert_eq!(from("/abs/name"), None);
    }

    #[test]
    fn missing_or_non_directory_paths_are_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = VarsDir::scan(&tmp.path().join("host_vars")).unwrap();
        assert_eq!(missing.load("h1").unwrap(), None);
        write(&tmp.path().join("group_vars"), "not a dir\n");
        let file = VarsDir::scan(&tmp.path().join("group_vars")).unwrap();
        assert_eq!(file.load("all").unwrap(), None);
    }

    #[test]
    fn a_non_mapping_file_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("web.yml"), "# vars\n- 1\n- 2\n");
        let dir = VarsDir::scan(tmp.path()).unwrap();
        match dir.load("web").unwrap_err() {
            InventoryError::At {
                path,
                line,
                message,
            } => {
                assert_eq!(path, tmp.path().join("web.yml"));
                assert_eq!(line, 2);
                assert!(message.contains("<class 'list'>"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unreadable_invalid_and_vaulted_files_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("bin.yml"), [0xff, 0xfe, 0x00]).unwrap();
        write(&tmp.path().join("bad.yml"), "a: [1\n");
        write(
            &tmp.path().join("vault.yml"),
            "$ANSIBLE_VAULT;1.1;AES256\n6162\n",
        );
        let dir = VarsDir::scan(tmp.path()).unwrap();
        // Not UTF-8: named at its line.
        assert!(matches!(
            dir.load("bin"),
            Err(InventoryError::At { line: 1, .. })
        ));
        assert!(matches!(dir.load("bad"), Err(InventoryError::At { .. })));
        let err = dir.load("vault").unwrap_err().to_string();
        assert!(err.contains("ansible-vault"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_and_dangling_ones_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        write(&real.join("x.yml"), "x: 1\n");
        let gv = tmp.path().join("group_vars");
        fs::create_dir_all(&gv).unwrap();
        std::os::unix::fs::symlink(&real, gv.join("web")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), gv.join("db")).unwrap();
        write(&gv.join("db.yml"), "from: yml\n");
        let dir = VarsDir::scan(&gv).unwrap();
        assert_eq!(dir.load("web").unwrap().unwrap()["x"], json!(1));
        assert_eq!(dir.load("db").unwrap().unwrap()["from"], json!("yml"));
    }

    #[test]
    fn python_extensions() {
        assert_eq!(python_extension("a.yml"), ".yml");
        assert_eq!(python_extension("a.b.json"), ".json");
        assert_eq!(python_extension("noext"), "");
        assert_eq!(python_extension("..yml"), "");
        assert_eq!(python_extension("foo."), ".");
    }
}
