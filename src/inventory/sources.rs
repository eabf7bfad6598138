//! Turns `-i` values into parsed inventory data, the way Ansible's inventory
//! manager does: a directory is walked in sorted order (skipping hidden
//! files, group_vars/, host_vars/, the flow library and ignored extensions), a file is tried as
//! YAML and then as INI, and `host1,host2,` is a literal host list.

use std::path::{Path, PathBuf};

use super::{InventoryData, InventoryError, range, yaml11};
use crate::input_file;

/// Extensions Ansible skips inside an inventory directory.
const IGNORED_EXTENSIONS: &[&str] = &[
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];
/// Ansible's own, plus jobdeck's flow library (`atoms/`, `flows/`,
/// `files/`) and guard rules (`guard.toml`), which may live beside the
/// inventory files.
const IGNORED_NAMES: &[&str] = &[
    "host_vars",
    "group_vars",
    "vars_plugins",
    "atoms",
    "flows",
    "files",
    crate::guard::GUARD_FILE,
];
const YAML_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Every source parsed into one inventory.
pub struct Parsed {
    pub data: InventoryData,
    /// The sources as absolute paths (host lists are kept verbatim).
    pub paths: Vec<PathBuf>,
    /// Problems the parse went past, each naming its file and line.
    pub warnings: Vec<String>,
}

/// Parses every source into one inventory and reconciles it.
pub fn parse_all(sources: &[String]) -> Result<Parsed, InventoryError> {
    let mut data = InventoryData::new();
    let mut paths = Vec::with_capacity(sources.len());
    let mut warnings = Vec::new();
    for source in sources {
        let path = Path::new(source);
        if !path.exists() && source.contains(',') {
            parse_host_list(source, &mut data)?;
            paths.push(PathBuf::from(source));
            continue;
        }
        let abs = absolute(path).map_err(|e| {
            InventoryError::file(path, format!("cannot read inventory source: {e}"))
        })?;
        parse_path(&abs, &mut data, &mut warnings)?;
        paths.push(abs);
    }
    data.current_source = None;
    data.reconcile();
    Ok(Parsed {
        data,
        paths,
        warnings,
    })
}

fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    std::fs::metadata(path)?;
    std::path::absolute(path)
}

/// `-i 'web1,web2:2222,'`: every non-empty item is an ungrouped host.
fn parse_host_list(list: &str, data: &mut InventoryData) -> Result<(), InventoryError> {
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (host, port) = range::parse_address(item, false)
            .map_err(|e| InventoryError::msg(format!("host list '{list}': {e}")))?;
        data.add_host(&host, Some(super::data::UNGROUPED), port);
    }
    Ok(())
}

fn parse_path(
    path: &Path,
    data: &mut InventoryData,
    warnings: &mut Vec<String>,
) -> Result<(), InventoryError> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| {
                InventoryError::file(path, format!("cannot list inventory directory: {e}"))
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| !is_ignored(p))
            .collect();
        entries.sort();
        for entry in entries {
            parse_path(&entry, data, warnings)?;
        }
        return Ok(());
    }
    let bytes = input_file::read_bytes(path, "inventory file")?;
    data.current_source = Some(path.to_path_buf());
    parse_file(path, bytes, data, warnings)
}

fn is_ignored(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return true;
    };
    name.starts_with('.')
        || IGNORED_NAMES.contains(&name)
        || IGNORED_EXTENSIONS.iter().any(|ext| name.ends_with(ext))
}

/// Ansible tries its `yaml` plugin on `.yml`/`.yaml`/`.json` and
/// extension-less files, then its `ini` plugin. jobdeck does the same, but an
/// extension-less file goes to the YAML parser only when it is a YAML
/// mapping, so an INI file's errors are reported as INI errors. Where Ansible
/// would skip an unparsable source with a warning, jobdeck stops with the error.
///
/// Bytes that are not UTF-8 (a Latin-1 comment) are accepted in an INI file
/// with a warning at their line, as Ansible's `ini` plugin accepts them; a
/// YAML file must be UTF-8 (Ansible's `yaml` plugin fails on them too).
fn parse_file(
    path: &Path,
    bytes: Vec<u8>,
    data: &mut InventoryData,
    warnings: &mut Vec<String>,
) -> Result<(), InventoryError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let strict = |bytes: Vec<u8>| input_file::decode(path, "YAML inventory file", bytes);
    if YAML_EXTENSIONS.contains(&ext) {
        return super::yaml::parse(path, &strict(bytes)?, data);
    }
    let (text, not_utf8) = input_file::decode_lossy(path, &bytes);
    if ext.is_empty() && is_yaml_mapping(path, &text) {
        if !not_utf8.is_empty() {
            strict(bytes.clone())?;
        }
        return super::yaml::parse(path, &text, data);
    }
    super::ini::parse(path, &text, data)?;
    warnings.extend(not_utf8.iter().map(ToString::to_string));
    Ok(())
}

fn is_yaml_mapping(path: &Path, text: &str) -> bool {
    matches!(
        yaml11::load(path, text),
        Ok(Some(serde_json::Value::Object(_)))
    )
}
