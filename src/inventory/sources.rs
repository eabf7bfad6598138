//! Turns `-i` values into parsed inventory data, the way Ansible's inventory
//! manager does: a directory is walked in sorted order (skipping hidden
//! files, group_vars/, host_vars/, the flow library and ignored extensions),
//! a file is tried in each format that takes it, in Ansible's order (YAML,
//! INI, TOML), and `host1,host2,` is a literal host list.
//!
//! In a directory, a file no format can read is skipped with a warning that
//! names it and why, as Ansible skips it; what a file it skipped would have
//! added is left out whole (Ansible keeps what it read before the bad line).
//! A file given with `-i` that no format can read is an error.

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
        parse_path(&abs, &mut data, &mut warnings, false)?;
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
    in_directory: bool,
) -> Result<(), InventoryError> {
    if path.is_dir() {
        let listing = std::fs::read_dir(path).map_err(|e| {
            InventoryError::file(path, format!("cannot list inventory directory: {e}"))
        });
        let listing = match listing {
            Ok(listing) => listing,
            Err(e) if in_directory => {
                warnings.push(format!("{}: skipped, {}", path.display(), without_path(&e)));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let mut entries: Vec<PathBuf> = listing
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| !is_ignored(p))
            .collect();
        entries.sort();
        for entry in entries {
            parse_path(&entry, data, warnings, true)?;
        }
        return Ok(());
    }
    let bytes = match input_file::read_bytes(path, "inventory file") {
        Ok(bytes) => bytes,
        Err(e) if in_directory => {
            warnings.push(format!("{}: skipped, {}", path.display(), e.problem));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    parse_file(path, &bytes, data, warnings, in_directory)
}

fn is_ignored(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return true;
    };
    name.starts_with('.')
        || IGNORED_NAMES.contains(&name)
        || IGNORED_EXTENSIONS.iter().any(|ext| name.ends_with(ext))
}

/// The inventory formats, in the order Ansible tries its plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Ini,
    Toml,
}

impl Format {
    /// The formats that take a file, as each Ansible plugin's `verify_file`
    /// decides: YAML takes `.yml`, `.yaml`, `.json` and extension-less
    /// files; INI every file but `*.toml`; TOML only `*.toml`.
    fn candidates(path: &Path) -> &'static [Format] {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => &[Format::Toml],
            None => &[Format::Yaml, Format::Ini],
            Some(ext) if YAML_EXTENSIONS.contains(&ext) => &[Format::Yaml, Format::Ini],
            Some(_) => &[Format::Ini],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Yaml => "YAML",
            Format::Ini => "INI",
            Format::Toml => "TOML",
        }
    }

    /// Parses `bytes` into `data`; returns the warnings, each at its file:line.
    ///
    /// Bytes that are not UTF-8 (a Latin-1 comment) are accepted by INI with
    /// a warning at their line, as Ansible's `ini` plugin accepts them; YAML
    /// and TOML must be UTF-8 (Ansible's plugins fail on them too).
    fn parse(
        self,
        path: &Path,
        bytes: &[u8],
        data: &mut InventoryData,
    ) -> Result<Vec<String>, InventoryError> {
        let at = |line: usize, message: &str| format!("{}:{line}: {message}", path.display());
        match self {
            Format::Yaml => {
                let text = input_file::decode(path, "YAML inventory file", bytes.to_vec())?;
                let warnings = super::yaml::parse(path, &text, data)?;
                Ok(warnings.iter().map(|w| at(w.line, &w.message)).collect())
            }
            Format::Ini => {
                let (text, not_utf8) = input_file::decode_lossy(path, bytes);
                super::ini::parse(path, &text, data)?;
                Ok(not_utf8.iter().map(ToString::to_string).collect())
            }
            Format::Toml => {
                let text = input_file::decode(path, "TOML inventory file", bytes.to_vec())?;
                let warnings = super::toml::parse(path, &text, data)?;
                Ok(warnings.iter().map(|w| at(w.line, &w.message)).collect())
            }
        }
    }
}

/// Tries each format that takes the file, in Ansible's order, until one
/// reads it whole. A format that fails leaves `data` as it found it.
fn parse_file(
    path: &Path,
    bytes: &[u8],
    data: &mut InventoryData,
    warnings: &mut Vec<String>,
    in_directory: bool,
) -> Result<(), InventoryError> {
    let formats = Format::candidates(path);
    let mut failures = Vec::with_capacity(formats.len());
    for &format in formats {
        let first_new_group = data.groups.len();
        data.current_source = Some(path.to_path_buf());
        data.begin();
        match format.parse(path, bytes, data) {
            Ok(found) => {
                data.commit();
                warnings.extend(found);
                warnings.extend(group_name_warnings(path, data, first_new_group));
                return Ok(());
            }
            Err(error) => {
                data.rollback();
                failures.push((format, error));
            }
        }
    }
    let primary = primary_failure(path, bytes, &failures);
    if in_directory {
        let reasons: Vec<String> = failures
            .iter()
            .map(|(format, error)| format!("as {}: {}", format.name(), without_path(error)))
            .collect();
        warnings.push(format!(
            "{}: skipped, no inventory format could read it ({})",
            path.display(),
            reasons.join("; ")
        ));
        return Ok(());
    }
    let (_, error) = failures.swap_remove(primary);
    if failures.is_empty() {
        return Err(error);
    }
    let others: Vec<String> = failures
        .iter()
        .map(|(format, e)| format!("not {} either: {}", format.name(), without_path(e)))
        .collect();
    Err(match error {
        InventoryError::At {
            path,
            line,
            message,
        } => InventoryError::At {
            path,
            line,
            message: format!("{message} ({})", others.join("; ")),
        },
        other => InventoryError::file(
            path,
            format!("{} ({})", without_path(&other), others.join("; ")),
        ),
    })
}

/// Which failure explains an unreadable file best: YAML's for a `.yml` file
/// or an extension-less YAML mapping, else the last format's (INI's).
fn primary_failure(path: &Path, bytes: &[u8], failures: &[(Format, InventoryError)]) -> usize {
    let yaml_named = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|ext| YAML_EXTENSIONS.contains(&ext));
    let yaml_shaped = || is_yaml_mapping(path, &String::from_utf8_lossy(bytes));
    match failures.iter().position(|(f, _)| *f == Format::Yaml) {
        Some(yaml) if yaml_named || yaml_shaped() => yaml,
        _ => failures.len() - 1,
    }
}

/// An error's text without its file (the caller names the file once).
fn without_path(error: &InventoryError) -> String {
    match error {
        InventoryError::At { line, message, .. } => format!("line {line}: {message}"),
        InventoryError::File { message, .. } => message.clone(),
        InventoryError::Msg(message) => message.clone(),
    }
}

fn is_yaml_mapping(path: &Path, text: &str) -> bool {
    matches!(
        yaml11::load(path, text),
        Ok(Some(serde_json::Value::Object(_)))
    )
}

/// Ansible warns about group names that are not valid Python identifiers
/// (`web-servers`, `2024`): they cannot be used as variables in templates.
/// It keeps them as they are, and so does jobdeck; it names each one.
fn group_name_warnings(path: &Path, data: &InventoryData, first_new: usize) -> Vec<String> {
    data.groups
        .values()
        .skip(first_new)
        .filter_map(|group| {
            let bad = invalid_group_chars(&group.name);
            (!bad.is_empty()).then(|| {
                format!(
                    "{}: group name '{}' has characters Ansible warns about ({}): \
                     only letters, digits and _ (not first) make a valid name; kept as it is",
                    path.display(),
                    group.name,
                    bad.iter()
                        .map(|c| format!("'{c}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .collect()
}

/// The characters Ansible's `INVALID_VARIABLE_NAMES` (`^[\d\W]|[^\w]`)
/// finds in a group name: a leading digit, and anything not a letter, digit
/// or underscore; each once, in order.
fn invalid_group_chars(name: &str) -> Vec<char> {
    let word = |c: char| c == '_' || c.is_alphanumeric();
    let mut bad = Vec::new();
    for (i, c) in name.chars().enumerate() {
        let invalid = !word(c) || (i == 0 && c.is_numeric());
        if invalid && !bad.contains(&c) {
            bad.push(c);
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_tried_in_ansibles_order() {
        use Format::*;
        for (name, formats) in [
            ("hosts", &[Yaml, Ini][..]),
            ("hosts.yml", &[Yaml, Ini]),
            ("hosts.json", &[Yaml, Ini]),
            ("hosts.ini", &[Ini]),
            ("hosts.yml.example", &[Ini]),
            ("hosts.toml", &[Toml]),
        ] {
            assert_eq!(Format::candidates(Path::new(name)), formats, "{name}");
        }
    }

    #[test]
    fn a_skipped_file_adds_nothing_even_to_groups_seen_before() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("10-web.ini"), "[web]\nw1\n").unwrap();
        // Changes web's vars and hosts, adds a group, then fails.
        std::fs::write(
            dir.path().join("20-bad.ini"),
            "[web:vars]\nport=8080\n[web]\nw2\n[db]\nd1\n[db:children]\nweb\n[broken\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("30-more.ini"), "[web]\nw3\n").unwrap();
        let parsed = parse_all(&[dir.path().display().to_string()]).unwrap();
        let data = &parsed.data;
        let web = data.group(data.group_id("web").unwrap());
        let hosts: Vec<&str> = web
            .hosts
            .iter()
            .map(|&h| data.host(h).name.as_str())
            .collect();
        assert_eq!(hosts, ["w1", "w3"]);
        assert!(web.vars.is_empty());
        assert_eq!(web.parents, [super::super::data::ALL]);
        assert_eq!(data.group_id("db"), None);
        assert_eq!(data.host_id("w2"), None);
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        assert!(
            parsed.warnings[0].contains("20-bad.ini: skipped"),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn group_names_ansible_warns_about() {
        assert_eq!(invalid_group_chars("web_servers"), Vec::<char>::new());
        assert_eq!(invalid_group_chars("local-"), ['-']);
        assert_eq!(invalid_group_chars("web-servers.eu-1"), ['-', '.']);
        assert_eq!(invalid_group_chars("2024"), ['2']);
        assert_eq!(invalid_group_chars("db2"), Vec::<char>::new());
        assert_eq!(invalid_group_chars("grüße"), Vec::<char>::new());
    }
}
