//! The config file, `$XDG_CONFIG_HOME/jobdeck/config.toml`, as the run
//! commands read it: `[guard]` (rules), `[limits]` (the per-host limit) and
//! `[[notify]]` (default notification targets). The console reads its own
//! `[tui]` section (src/tui/config.rs).
//!
//! Files are read through `input_file` (bounded, UTF-8) and parsed with
//! TOML's recovering parser, bad lines dropped one by one: a bad line or
//! entry is a warning naming the file and line, and everything else in the
//! file still counts.

use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// `$XDG_CONFIG_HOME/jobdeck/config.toml` (`~/.config/jobdeck/config.toml`).
pub fn config_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.config_dir().join("jobdeck").join("config.toml"))
}

/// Reads a config or rule file as every input file is read (bounded,
/// regular files only, UTF-8 named at file:line; see `input_file`).
pub fn read_text(path: &Path, what: &str) -> Result<String, String> {
    crate::input_file::read_text(path, what).map_err(|e| e.to_string())
}

/// The most bad lines dropped from one file before giving up on the rest.
const MAX_BAD_LINES: usize = 50;

/// `text` with every line TOML cannot parse blanked out (line numbers
/// stay), one warning (`path:line: message`) per line dropped. TOML's own
/// recovery drops everything after the first error; this keeps it.
pub fn without_bad_lines(path: &Path, text: &str, warnings: &mut Vec<String>) -> String {
    let mut text = text.to_owned();
    for _ in 0..MAX_BAD_LINES {
        let (_, errors) = DeTable::parse_recoverable(&text);
        let Some(error) = errors.first() else {
            return text;
        };
        let offset = error.span().map_or(0, |s| s.start).min(text.len());
        let line = 1 + text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        warnings.push(format!(
            "{}:{line}: {}; the line is left out",
            path.display(),
            error.message()
        ));
        let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        if start == end {
            break;
        }
        text.replace_range(start..end, "");
    }
    // Still broken: keep what parses before the first error.
    text
}

/// A parsed TOML file that can say where each value came from.
pub struct TomlFile<'a> {
    pub path: &'a Path,
    text: &'a str,
    pub root: DeTable<'a>,
}

impl<'a> TomlFile<'a> {
    /// Parses text made clean by [`without_bad_lines`].
    pub fn parse(path: &'a Path, text: &'a str) -> TomlFile<'a> {
        let (root, _) = DeTable::parse_recoverable(text);
        TomlFile {
            path,
            text,
            root: root.into_inner(),
        }
    }

    /// The 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        1 + self.text.as_bytes()[..offset.min(self.text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    /// `path:line` of a value.
    pub fn at<T>(&self, value: &Spanned<T>) -> String {
        format!("{}:{}", self.path.display(), self.line(value.span().start))
    }
}

/// The value under `key` in a table.
pub fn get<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

/// Keys of `table` not in `known`, with their values (for warnings).
pub fn unknown_keys<'t, 'i>(
    table: &'t DeTable<'i>,
    known: &[&str],
) -> Vec<(&'t str, &'t Spanned<DeValue<'i>>)> {
    table
        .iter()
        .filter(|(k, _)| !known.contains(&k.get_ref().as_ref()))
        .map(|(k, v)| (k.get_ref().as_ref(), v))
        .collect()
}

/// A string value, or why not.
pub fn string(value: &DeValue<'_>, what: &str) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{what} must be a string, not {}", value.type_str()))
}

/// A list of strings (a single string counts as a list of one).
pub fn strings(value: &DeValue<'_>, what: &str) -> Result<Vec<String>, String> {
    if let Some(one) = value.as_str() {
        return Ok(vec![one.to_owned()]);
    }
    let Some(items) = value.as_array() else {
        return Err(format!(
            "{what} must be a list of strings, not {}",
            value.type_str()
        ));
    };
    items
        .iter()
        .map(|item| string(item.get_ref(), what))
        .collect()
}

/// A whole number ≥ 0.
pub fn count(value: &DeValue<'_>, what: &str) -> Result<u64, String> {
    value
        .as_integer()
        .and_then(|i| u64::from_str_radix(i.as_str(), i.radix()).ok())
        .ok_or_else(|| format!("{what} must be a whole number ≥ 0"))
}

/// What the run commands take from the config file (its `[guard]` section
/// is read by `guard::RuleSources`).
#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    /// The file, when there is one.
    pub path: Option<PathBuf>,
    /// `[limits] per_host = N`: at most N jobdeck steps at once on a host.
    pub per_host: Option<u32>,
    /// `[[notify]]`: targets every run notifies.
    pub notify: Vec<crate::notify::Target>,
    /// `[ssh] keep_output = true`: shell sessions keep their output in the
    /// journal (masked, capped like run output).
    pub ssh_keep_output: bool,
    /// `file:line: ...` for every entry that was left out.
    pub warnings: Vec<String>,
}

impl RunConfig {
    /// Reads `path` (normally `config_path()`); a missing file is no config.
    pub fn load(path: Option<PathBuf>) -> RunConfig {
        let mut config = RunConfig::default();
        let Some(path) = path.filter(|p| p.is_file()) else {
            return config;
        };
        match read_text(&path, "config file") {
            Ok(text) => config.read(&path, &text),
            Err(e) => config.warnings.push(e),
        }
        config.path = Some(path);
        config
    }

    fn read(&mut self, path: &Path, text: &str) {
        let text = without_bad_lines(path, text, &mut self.warnings);
        let file = TomlFile::parse(path, &text);
        if let Some(limits) = get(&file.root, "limits") {
            match limits.get_ref().as_table() {
                Some(table) => {
                    for (key, value) in unknown_keys(table, &["per_host"]) {
                        self.warnings.push(format!(
                            "{}: unknown key '{key}' in [limits]; expected per_host",
                            file.at(value)
                        ));
                    }
                    if let Some(value) = get(table, "per_host") {
                        match count(value.get_ref(), "per_host") {
                            Ok(0) => self.warnings.push(format!(
                                "{}: per_host must be at least 1 (leave it out for no limit)",
                                file.at(value)
                            )),
                            Ok(n) => self.per_host = Some(n.min(u64::from(u32::MAX)) as u32),
                            Err(e) => self.warnings.push(format!("{}: {e}", file.at(value))),
                        }
                    }
                }
                None => self
                    .warnings
                    .push(format!("{}: [limits] must be a table", file.at(limits))),
            }
        }
        if let Some(ssh) = get(&file.root, "ssh") {
            self.read_ssh(&file, ssh);
        }
        if let Some(notify) = get(&file.root, "notify") {
            let Some(items) = notify.get_ref().as_array() else {
                self.warnings.push(format!(
                    "{}: notify must be a list of tables ([[notify]])",
                    file.at(notify)
                ));
                return;
            };
            for item in items.iter() {
                match notify_target(&file, item) {
                    Ok(target) => self.notify.push(target),
                    Err(e) => self.warnings.push(e),
                }
            }
        }
    }
}

impl RunConfig {
    /// `[ssh]`: what shell sessions keep.
    fn read_ssh(&mut self, file: &TomlFile<'_>, ssh: &Spanned<DeValue<'_>>) {
        let Some(table) = ssh.get_ref().as_table() else {
            self.warnings
                .push(format!("{}: [ssh] must be a table", file.at(ssh)));
            return;
        };
        for (key, value) in unknown_keys(table, &["keep_output"]) {
            self.warnings.push(format!(
                "{}: unknown key '{key}' in [ssh]; expected keep_output",
                file.at(value)
            ));
        }
        if let Some(value) = get(table, "keep_output") {
            match value.get_ref() {
                DeValue::Boolean(keep) => self.ssh_keep_output = *keep,
                _ => self.warnings.push(format!(
                    "{}: keep_output must be true or false",
                    file.at(value)
                )),
            }
        }
    }
}

/// One `[[notify]]` table.
fn notify_target(
    file: &TomlFile<'_>,
    item: &Spanned<DeValue<'_>>,
) -> Result<crate::notify::Target, String> {
    use crate::notify::target::Field;
    let Some(table) = item.get_ref().as_table() else {
        return Err(format!(
            "{}: a notify target must be a table",
            file.at(item)
        ));
    };
    let mut fields = Vec::new();
    for (key, value) in table.iter() {
        let key = key.get_ref().to_string();
        let at = file.at(value);
        let field = match value.get_ref() {
            DeValue::String(s) => Field::Text(s.to_string()),
            v if v.as_integer().is_some() => {
                Field::Number(count(v, &key).map_err(|e| format!("{at}: notify: {e}"))?)
            }
            DeValue::Array(_) => Field::List(
                strings(value.get_ref(), &key).map_err(|e| format!("{at}: notify: {e}"))?,
            ),
            DeValue::Table(pairs) => Field::Map(
                pairs
                    .iter()
                    .map(|(k, v)| {
                        string(v.get_ref(), k.get_ref())
                            .map(|s| (k.get_ref().to_string(), s))
                            .map_err(|e| format!("{}: notify: {e}", file.at(v)))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => {
                return Err(format!(
                    "{at}: notify: {key} cannot be a {}",
                    other.type_str()
                ));
            }
        };
        fields.push((key, field));
    }
    crate::notify::Target::from_fields(&fields).map_err(|(key, message)| {
        let at = get(table, &key).map_or_else(|| file.at(item), |v| file.at(v));
        format!("{at}: notify: {message}; the target is left out")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_settings_from_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[tui]\ntheme = \"light\"\n[limits]\nper_host = 2\n\n[[notify]]\nwebhook = \"http://127.0.0.1:9/hook\"\nheaders = { Authorization = \"Bearer ${env:HOOK_TOKEN}\" }\non = [\"failed\", \"recovered\"]\nretries = 1\n\n[[notify]]\ncommand = \"\"\n",
        )
        .unwrap();
        let config = RunConfig::load(Some(path.clone()));
        assert_eq!(config.per_host, Some(2));
        assert_eq!(config.notify.len(), 1);
        assert_eq!(config.notify[0].retries, 1);
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        assert!(
            config.warnings[0].starts_with(&format!(
                "{}:13: notify: the command is empty",
                path.display()
            )),
            "{:?}",
            config.warnings
        );
    }

    #[test]
    fn syntax_errors_are_warnings_and_the_rest_is_kept() {
        let text = "[limits]\nper_host = 2\nbroken line here\n[guard]\ndisable = [\"shutdown\"]\n";
        let mut warnings = Vec::new();
        let path = Path::new("/etc/jd/config.toml");
        let text = without_bad_lines(path, text, &mut warnings);
        let file = TomlFile::parse(path, &text);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("/etc/jd/config.toml:3:"),
            "{warnings:?}"
        );
        let limits = get(&file.root, "limits").unwrap();
        let per_host = get(limits.get_ref().as_table().unwrap(), "per_host").unwrap();
        assert_eq!(count(per_host.get_ref(), "per_host"), Ok(2));
        assert_eq!(file.at(per_host), "/etc/jd/config.toml:2");
        let guard = get(&file.root, "guard").unwrap();
        let disable = get(guard.get_ref().as_table().unwrap(), "disable").unwrap();
        assert_eq!(
            strings(disable.get_ref(), "disable").unwrap(),
            vec!["shutdown".to_owned()]
        );
    }
}
