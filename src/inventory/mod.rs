//! Ansible-compatible inventory: sources (INI, YAML, host lists, directories),
//! group_vars/ and host_vars/, variable precedence, host patterns, and the
//! project → cluster → app tree jobdeck adds on top.

pub mod ansible_json;
pub mod connection;
pub mod data;
pub mod ini;
pub mod pattern;
pub mod pyliteral;
pub mod range;
pub mod select;
pub mod shlex;
pub mod sources;
pub mod tree;
pub mod vars;
pub mod vars_files;
pub mod yaml;
pub mod yaml11;

use std::path::{Path, PathBuf};

pub use data::{GroupId, HostId, InventoryData, VarMap};

/// An error a user can cause in an inventory: it names the file and line
/// when there is one, and says what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InventoryError {
    #[error("{}:{line}: {message}", path.display())]
    At {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("{0}")]
    Msg(String),
}

impl From<crate::input_file::InputError> for InventoryError {
    fn from(e: crate::input_file::InputError) -> Self {
        match e.line {
            Some(line) => InventoryError::at(&e.path, line, e.problem),
            None => InventoryError::file(&e.path, e.problem),
        }
    }
}

impl InventoryError {
    pub fn msg(message: impl Into<String>) -> Self {
        InventoryError::Msg(message.into())
    }

    pub fn at(path: &Path, line: usize, message: impl Into<String>) -> Self {
        InventoryError::At {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        InventoryError::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// Gives a location-less error the file and line it came from.
    pub fn located(self, path: &Path, line: usize) -> Self {
        match self {
            InventoryError::Msg(message) => InventoryError::at(path, line, message),
            other => other,
        }
    }
}

/// An integer of any size, kept exactly (Python's ints have no limit, and
/// ansible-inventory prints them in full).
pub fn exact_integer(decimal: &str) -> serde_json::Value {
    match serde_json::from_str::<serde_json::Number>(decimal) {
        Ok(n) => serde_json::Value::Number(n),
        Err(_) => serde_json::Value::String(decimal.to_string()),
    }
}

/// A float read from JSON text (`1e3`) in the form jobdeck's own floats
/// take (`1000.0`), so equal values compare equal; other values unchanged.
pub fn canonical_number(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Number(n) if !is_integer_text(n.as_str()) => {
            match n.as_f64().and_then(serde_json::Number::from_f64) {
                Some(canonical) => serde_json::Value::Number(canonical),
                None => serde_json::Value::Number(n),
            }
        }
        other => other,
    }
}

/// `-123` or `123`: how an exact integer is written.
pub fn is_integer_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A loaded inventory with every host's variables resolved.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub data: InventoryData,
    /// The `-i` values as given, made absolute.
    pub sources: Vec<PathBuf>,
    /// group_vars/ and host_vars/ of each source, in source order.
    pub source_vars: Vec<std::sync::Arc<vars::SourceVars>>,
    /// Merged variables per host (indexed by `HostId`), by Ansible's precedence.
    pub hostvars: Vec<VarMap>,
    /// Project, cluster and app of each host (indexed by `HostId`).
    pub placement: Vec<tree::Placement>,
    /// Problems loading went past (a line that is not UTF-8), each naming
    /// its file and line: printed on stderr, shown in the console.
    pub warnings: Vec<String>,
}

impl Inventory {
    /// Loads every source, applies group_vars/ and host_vars/, and resolves
    /// variables. `sources` are `-i` values: files, directories or host lists.
    pub fn load(sources: &[String]) -> Result<Inventory, InventoryError> {
        let sources::Parsed {
            data,
            paths,
            warnings,
        } = sources::parse_all(sources)?;
        let source_vars = vars::load_source_vars(&data, &paths)?;
        let hostvars = vars::resolve_all(&data, &source_vars)?;
        let placement = tree::place_all(&data, &hostvars);
        Ok(Inventory {
            data,
            sources: paths,
            source_vars,
            hostvars,
            placement,
            warnings,
        })
    }

    pub fn host_id(&self, name: &str) -> Option<HostId> {
        self.data.host_id(name)
    }

    pub fn host_name(&self, id: HostId) -> &str {
        &self.data.host(id).name
    }

    /// Every host, in inventory order (the order `all` yields them).
    pub fn all_hosts(&self) -> Vec<HostId> {
        self.data.group_hosts(data::ALL)
    }
}

/// The `-i` values, or the default: ./inventory if it exists, otherwise the
/// sample inventory shipped in the repository.
pub fn default_sources(given: &[String]) -> Vec<String> {
    if !given.is_empty() {
        return given.to_vec();
    }
    if Path::new("inventory").exists() {
        return vec!["inventory".into()];
    }
    let local = PathBuf::from("sample-inventory");
    let sample = if local.exists() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory")
    };
    vec![sample.to_string_lossy().into_owned()]
}
