//! The flows and atoms jobdeck offers: the files under `flows/` and
//! `atoms/` next to each inventory source (a directory source, or a file
//! source's directory) and under `./flows/`. One catalog for every place
//! that lists flows (the console's Flows view, its Planner and schedule
//! form), so a flow saved or added shows in all of them after one reload.
//! Reading it reads files: do it off the UI task.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::load::load_flow;
use super::{Atom, Flow, FlowErrors};

/// A flow file as found: its text, and the flow or why it does not load.
#[derive(Debug, Clone)]
pub struct FlowEntry {
    pub path: PathBuf,
    /// Where `path` leads (symlinks resolved), found when it was read, so
    /// finding a flow by path never touches the disk.
    pub real: PathBuf,
    pub source: String,
    pub loaded: Result<Flow, FlowErrors>,
}

impl FlowEntry {
    /// Reads and loads the flow at `path`.
    pub fn load(path: &Path) -> FlowEntry {
        FlowEntry {
            source: crate::input_file::read_text(path, "flow file").unwrap_or_default(),
            loaded: load_flow(path),
            real: path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
            path: path.to_path_buf(),
        }
    }

    /// The flow's name, or the file's when it does not load.
    pub fn label(&self) -> String {
        match &self.loaded {
            Ok(flow) => flow.name.clone(),
            Err(_) => file_stem(&self.path),
        }
    }

    pub fn flow(&self) -> Option<&Flow> {
        self.loaded.as_ref().ok()
    }

    /// Why the flow does not load: its first problem.
    pub fn problem(&self) -> Option<String> {
        match &self.loaded {
            Ok(_) => None,
            Err(errors) => Some(
                errors
                    .0
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "does not load".into()),
            ),
        }
    }
}

/// An atom file as found: its text, and the atom or why it does not parse.
#[derive(Debug, Clone)]
pub struct AtomEntry {
    pub path: PathBuf,
    pub body: String,
    pub loaded: Result<Arc<Atom>, FlowErrors>,
}

impl AtomEntry {
    pub fn name(&self) -> String {
        match &self.loaded {
            Ok(atom) => atom.name.clone(),
            Err(_) => file_stem(&self.path),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub flows: Vec<FlowEntry>,
    pub atoms: Vec<AtomEntry>,
    /// Where new flows go: the first flows directory looked at.
    pub flows_dir: Option<PathBuf>,
    /// Every directory looked at, for a note when nothing is found.
    pub searched: Vec<PathBuf>,
}

impl Catalog {
    /// The directories inventory `sources` give: a directory source itself,
    /// a file source's directory (a host list gives none).
    pub fn roots(sources: &[PathBuf]) -> Vec<PathBuf> {
        let mut roots = Vec::new();
        for source in sources {
            let root = if source.is_dir() {
                source.clone()
            } else {
                match source.parent() {
                    Some(parent) if source.exists() => parent.to_path_buf(),
                    _ => continue,
                }
            };
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        roots
    }

    /// Reads every flow and atom under `roots` and `cwd/flows`; a file
    /// reached twice (a symlink, `.` as a root) is listed once.
    pub fn scan(roots: &[PathBuf], cwd: &Path) -> Catalog {
        let mut flow_dirs: Vec<PathBuf> = roots.iter().map(|r| r.join("flows")).collect();
        flow_dirs.push(cwd.join("flows"));
        let atom_dirs: Vec<PathBuf> = roots.iter().map(|r| r.join("atoms")).collect();
        let mut catalog = Catalog {
            flows_dir: flow_dirs.first().cloned(),
            searched: flow_dirs.iter().chain(&atom_dirs).cloned().collect(),
            ..Catalog::default()
        };
        let mut seen = Vec::new();
        let mut first_sight = |path: &Path| {
            let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
            let new = !seen.contains(&real);
            if new {
                seen.push(real);
            }
            new
        };
        for dir in &flow_dirs {
            for path in files_in(dir) {
                let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
                if matches!(ext, "yml" | "yaml") && first_sight(&path) {
                    catalog.flows.push(FlowEntry::load(&path));
                }
            }
        }
        for dir in &atom_dirs {
            for path in files_in(dir) {
                if first_sight(&path) {
                    let read = crate::input_file::read_text(&path, "atom");
                    let body = read.clone().unwrap_or_default();
                    catalog.atoms.push(AtomEntry {
                        loaded: read
                            .map_err(|e| FlowErrors(vec![e.into()]))
                            .and_then(|body| Atom::parse(&path, body).map(Arc::new)),
                        path,
                        body,
                    });
                }
            }
        }
        catalog
    }

    /// A catalog of just these flows (tests, and flows chosen by hand).
    pub fn of_flows(flows: Vec<FlowEntry>) -> Catalog {
        Catalog {
            flows,
            ..Catalog::default()
        }
    }

    pub fn atom(&self, name: &str) -> Option<&AtomEntry> {
        self.atoms.iter().find(|a| a.name() == name)
    }

    /// Where the flow at `path` (as listed, or where it leads) is in the list.
    pub fn position(&self, path: &Path) -> Option<usize> {
        self.flows
            .iter()
            .position(|f| f.path == path || f.real == path)
    }
}

/// The regular files of `dir`, hidden ones left out, sorted by name.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter(|p| {
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_has_three_flows_and_ten_atoms() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory");
        let roots = Catalog::roots(&[sample.join("hosts.ini"), sample.clone()]);
        assert_eq!(
            roots,
            std::slice::from_ref(&sample),
            "one root, given twice"
        );
        let catalog = Catalog::scan(&roots, Path::new("/nonexistent"));
        let labels: Vec<String> = catalog.flows.iter().map(FlowEntry::label).collect();
        assert_eq!(labels, ["config-push", "deploy", "health-check"]);
        assert_eq!(catalog.atoms.len(), 10);
        assert!(catalog.atom("stop-service").is_some());
        assert_eq!(catalog.flows_dir, Some(sample.join("flows")));
        assert_eq!(catalog.position(&sample.join("flows/deploy.yml")), Some(1));
    }

    #[test]
    fn a_host_list_source_gives_no_root() {
        let roots = Catalog::roots(&[PathBuf::from("web1,web2,")]);
        assert!(roots.is_empty());
    }
}
