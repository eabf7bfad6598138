//! Finding the atoms a flow names: by the name each atom declares (`name:`
//! in its header, else its file name without the extension), in the flow's
//! atom directories, each read once. The first directory with the name
//! wins; two files in one directory that declare the same name are an
//! error naming both. A recorded run looks its atoms up in the journal's
//! copies instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use super::{Atom, FlowError, FlowErrors};

/// Why an atom name gave no atom.
#[derive(Debug, Clone)]
pub(crate) enum LookupError {
    /// The atom has errors; they are reported at its file's lines.
    Broken,
    /// No atom has the name, or two do: the message says which.
    Missing(String),
}

/// The atoms of one flow's directories, looked up by name.
pub(crate) struct AtomLibrary {
    dirs: Vec<PathBuf>,
    /// Recorded atom bodies by name; when set, the directories are not read.
    pub snapshot: Option<Vec<(String, String)>>,
    /// Each directory's atoms, parallel to `dirs`, read on first lookup.
    indexes: Vec<Option<AtomDir>>,
    looked_up: Vec<(String, Result<Arc<Atom>, LookupError>)>,
    /// The errors of the atoms looked up, each reported once.
    pub errors: Vec<FlowError>,
}

/// One atom directory's files by declared name, in file order.
#[derive(Default)]
struct AtomDir {
    by_name: IndexMap<String, Vec<AtomFile>>,
}

struct AtomFile {
    path: PathBuf,
    loaded: Result<Arc<Atom>, FlowErrors>,
}

impl AtomDir {
    fn read(dir: &Path) -> AtomDir {
        let mut index = AtomDir::default();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return index;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
            })
            .collect();
        files.sort();
        for path in files {
            let loaded = Atom::load(&path).map(Arc::new);
            // A broken header hides the declared name: the file's stands in.
            let name = match &loaded {
                Ok(atom) => atom.name.clone(),
                Err(_) => path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            };
            index
                .by_name
                .entry(name)
                .or_default()
                .push(AtomFile { path, loaded });
        }
        index
    }
}

impl AtomLibrary {
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        AtomLibrary {
            indexes: dirs.iter().map(|_| None).collect(),
            dirs,
            snapshot: None,
            looked_up: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub fn get(&mut self, name: &str) -> Result<Arc<Atom>, LookupError> {
        if let Some((_, found)) = self.looked_up.iter().find(|(n, _)| n == name) {
            return found.clone();
        }
        let found = match &self.snapshot {
            Some(atoms) => match atoms.iter().find(|(n, _)| n == name) {
                Some((n, body)) => {
                    let path = PathBuf::from(format!("(journal)/{n}"));
                    self.loaded(Atom::parse(&path, body.clone()).map(Arc::new))
                }
                None => Err(LookupError::Missing(format!(
                    "the run recorded no atom named '{name}'"
                ))),
            },
            None => self.find(name),
        };
        self.looked_up.push((name.to_string(), found.clone()));
        found
    }

    fn loaded(&mut self, loaded: Result<Arc<Atom>, FlowErrors>) -> Result<Arc<Atom>, LookupError> {
        loaded.map_err(|errors| {
            self.errors.extend(errors.0);
            LookupError::Broken
        })
    }

    /// The atom declaring `name` in the first directory that has one, or a
    /// file named exactly `name` there.
    fn find(&mut self, name: &str) -> Result<Arc<Atom>, LookupError> {
        for i in 0..self.dirs.len() {
            let dir = self.indexes[i].get_or_insert_with(|| AtomDir::read(&self.dirs[i]));
            let by_name = dir.by_name.get(name).map(Vec::as_slice).unwrap_or_default();
            let by_file = || {
                dir.by_name
                    .values()
                    .flatten()
                    .find(|f| f.path.file_name().is_some_and(|n| n == name))
            };
            let file = match by_name {
                [] => match by_file() {
                    Some(file) => file,
                    None => continue,
                },
                [file] => file,
                [first, second, ..] => {
                    return Err(LookupError::Missing(format!(
                        "two atoms are named '{name}': {} and {}; give one another name \
                         (name: in its header, or its file name)",
                        first.path.display(),
                        second.path.display()
                    )));
                }
            };
            let loaded = file.loaded.clone();
            return self.loaded(loaded);
        }
        Err(LookupError::Missing(self.not_found(name)))
    }

    fn not_found(&self, name: &str) -> String {
        let dirs: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        // A file with the name that declares another one.
        let renamed = self
            .indexes
            .iter()
            .flatten()
            .flat_map(|dir| dir.by_name.iter())
            .flat_map(|(declared, files)| files.iter().map(move |f| (declared, f)))
            .find(|(_, f)| f.path.file_stem().is_some_and(|s| s == name));
        match renamed {
            Some((declared, file)) => format!(
                "no atom named '{name}': {} declares name: {declared}",
                file.path.display()
            ),
            None => format!("no atom named '{name}' in {}", dirs.join(" or ")),
        }
    }
}
