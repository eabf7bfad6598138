//! TOML inventory sources, parsed as Ansible's `toml` inventory plugin
//! parses them (only files named `*.toml`): each top-level table is a group
//! with `vars` (a table), `children` (a list of group names) and `hosts` (a
//! table of host patterns, each with a table of its variables), handled in
//! the order they are written. Other keys are skipped with a warning, as
//! Ansible does.
//!
//! Values keep their TOML types; dates and times become the text Python's
//! `isoformat()` gives (`1979-05-27T07:32:00+00:00`), as ansible-inventory
//! prints them.

use std::path::Path;

use ::toml::Spanned;
use ::toml::de::{DeArray, DeTable, DeValue};
use ::toml::value::{Datetime, Offset};
use serde_json::Value;

use super::data::GroupId;
use super::yaml11::Warning;
use super::{InventoryData, InventoryError, float_value, range};

/// Parses one TOML source into `data`; returns what Ansible would warn about.
pub fn parse(
    path: &Path,
    text: &str,
    data: &mut InventoryData,
) -> Result<Vec<Warning>, InventoryError> {
    let lines = LineIndex::new(text);
    let doc = DeTable::parse(text).map_err(|e| {
        let line = e.span().map_or(1, |span| lines.line(span.start));
        InventoryError::at(path, line, format!("invalid TOML: {}", e.message().trim()))
    })?;
    let groups = doc.get_ref();
    if groups.is_empty() {
        return Err(InventoryError::file(path, "Parsed empty TOML file"));
    }
    if let Some((key, _)) = groups.iter().find(|(k, _)| k.get_ref() == "plugin") {
        return Err(InventoryError::at(
            path,
            lines.line(key.span().start),
            "Plugin configuration TOML file, not TOML inventory",
        ));
    }
    let mut parser = Parser {
        path,
        lines,
        data,
        warnings: Vec::new(),
    };
    for (name, value) in groups {
        parser.group(name, Some(value))?;
    }
    Ok(parser.warnings)
}

struct Parser<'p, 'd> {
    path: &'p Path,
    lines: LineIndex,
    data: &'d mut InventoryData,
    warnings: Vec<Warning>,
}

impl Parser<'_, '_> {
    fn line<T>(&self, item: &Spanned<T>) -> usize {
        self.lines.line(item.span().start)
    }

    fn error<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> InventoryError {
        InventoryError::at(self.path, self.line(at), message)
    }

    /// Ansible's `_parse_group`; `None` is a group named by `children`. A
    /// top-level key that is not a table is skipped: no group is added.
    fn group(
        &mut self,
        name: &Spanned<std::borrow::Cow<'_, str>>,
        body: Option<&Spanned<DeValue<'_>>>,
    ) -> Result<(), InventoryError> {
        let table = match body.map(Spanned::get_ref) {
            None => None,
            Some(DeValue::Table(table)) => Some(table),
            Some(_) => {
                self.warnings.push(Warning {
                    line: self.line(name),
                    message: format!(
                        "Skipping '{}' as this is not a valid group definition",
                        name.get_ref()
                    ),
                });
                return Ok(());
            }
        };
        if name.get_ref().is_empty() {
            return Err(self.error(name, "Invalid empty group name provided"));
        }
        let group = self.data.add_group(name.get_ref());
        for (key, value) in table.into_iter().flatten() {
            match key.get_ref().as_ref() {
                "vars" => self.vars(name.get_ref(), value)?,
                "children" => self.children(name.get_ref(), value)?,
                "hosts" => self.hosts(group, name.get_ref(), value)?,
                other => self.warnings.push(Warning {
                    line: self.line(key),
                    message: format!(
                        "Skipping unexpected key \"{other}\" in group \"{}\", only \"vars\", \"children\" and \"hosts\" are valid",
                        name.get_ref()
                    ),
                }),
            }
        }
        Ok(())
    }

    /// Ansible's message for a section of the wrong type.
    fn wrong_section(
        &self,
        value: &Spanned<DeValue<'_>>,
        section: &str,
        group: &str,
        wanted: &str,
    ) -> InventoryError {
        self.error(
            value,
            format!(
                "Invalid \"{section}\" entry for \"{group}\" group, requires a {wanted}, found \"{}\" instead.",
                python_type(value.get_ref())
            ),
        )
    }

    fn vars(&mut self, group: &str, value: &Spanned<DeValue<'_>>) -> Result<(), InventoryError> {
        let DeValue::Table(vars) = value.get_ref() else {
            return Err(self.wrong_section(value, "vars", group, "dict"));
        };
        for (var, value) in vars {
            let value = self.value(value)?;
            self.data
                .set_variable(group, var.get_ref(), value)
                .map_err(|e| e.located(self.path, self.line(var)))?;
        }
        Ok(())
    }

    fn children(
        &mut self,
        parent: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<(), InventoryError> {
        let DeValue::Array(children) = value.get_ref() else {
            return Err(self.wrong_section(value, "children", parent, "list"));
        };
        for child in children.iter() {
            let DeValue::String(name) = child.get_ref() else {
                return Err(self.error(
                    child,
                    format!(
                        "a child of group \"{parent}\" must be a group name (a string), found \"{}\"",
                        python_type(child.get_ref())
                    ),
                ));
            };
            let name = Spanned::new(child.span(), name.clone());
            self.group(&name, None)?;
            self.data
                .add_child(parent, name.get_ref())
                .map_err(|e| e.located(self.path, self.line(child)))?;
        }
        Ok(())
    }

    fn hosts(
        &mut self,
        group: GroupId,
        group_name: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<(), InventoryError> {
        let DeValue::Table(hosts) = value.get_ref() else {
            return Err(self.wrong_section(value, "hosts", group_name, "dict"));
        };
        for (pattern, vars) in hosts {
            let (names, port) = range::expand_hostpattern(pattern.get_ref()).map_err(|e| {
                self.error(
                    pattern,
                    format!("Invalid host pattern '{}': {e}", pattern.get_ref()),
                )
            })?;
            let DeValue::Table(vars) = vars.get_ref() else {
                return Err(self.error(
                    vars,
                    format!(
                        "Invalid data from file, expected dictionary and got: {} (for host '{}' in group '{group_name}')",
                        self.value(vars)?,
                        pattern.get_ref()
                    ),
                ));
            };
            for name in &names {
                if name.is_empty() {
                    return Err(self.error(pattern, "Invalid empty host name provided: "));
                }
                self.data.add_host(name, Some(group), port);
                for (var, value) in vars {
                    let value = self.value(value)?;
                    self.data
                        .set_variable(name, var.get_ref(), value)
                        .map_err(|e| e.located(self.path, self.line(var)))?;
                }
            }
        }
        Ok(())
    }

    /// A TOML value as the variable Ansible stores.
    fn value(&self, value: &Spanned<DeValue<'_>>) -> Result<Value, InventoryError> {
        Ok(match value.get_ref() {
            DeValue::String(s) => Value::String(s.to_string()),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Value::from(n),
                Err(_) => {
                    return Err(self.error(value, format!("integer {i} does not fit in 64 bits")));
                }
            },
            DeValue::Float(f) => match f.as_str().parse::<f64>() {
                Ok(n) => float_value(n),
                Err(_) => return Err(self.error(value, format!("'{f}' is not a number"))),
            },
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Datetime(d) => Value::String(isoformat(d)),
            DeValue::Array(items) => self.array(items)?,
            DeValue::Table(table) => {
                let mut map = serde_json::Map::new();
                for (k, v) in table {
                    map.insert(k.get_ref().to_string(), self.value(v)?);
                }
                Value::Object(map)
            }
        })
    }

    fn array(&self, items: &DeArray<'_>) -> Result<Value, InventoryError> {
        items
            .iter()
            .map(|item| self.value(item))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }
}

/// Python's name for the type a TOML value loads as, for messages.
fn python_type(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "<class 'str'>",
        DeValue::Integer(_) => "<class 'int'>",
        DeValue::Float(_) => "<class 'float'>",
        DeValue::Boolean(_) => "<class 'bool'>",
        DeValue::Datetime(_) => "<class 'datetime.datetime'>",
        DeValue::Array(_) => "<class 'list'>",
        DeValue::Table(_) => "<class 'dict'>",
    }
}

/// What Python's `isoformat()` prints for the date, time or datetime
/// `tomllib` builds: microseconds (six digits) only when not zero, `Z` as
/// `+00:00`.
fn isoformat(d: &Datetime) -> String {
    let mut out = String::new();
    if let Some(date) = &d.date {
        out.push_str(&format!(
            "{:04}-{:02}-{:02}",
            date.year, date.month, date.day
        ));
    }
    if let Some(time) = &d.time {
        if d.date.is_some() {
            out.push('T');
        }
        out.push_str(&format!(
            "{:02}:{:02}:{:02}",
            time.hour,
            time.minute,
            time.second.unwrap_or(0)
        ));
        let micros = time.nanosecond.unwrap_or(0) / 1000;
        if micros > 0 {
            out.push_str(&format!(".{micros:06}"));
        }
    }
    match d.offset {
        None => {}
        Some(Offset::Z) => out.push_str("+00:00"),
        Some(Offset::Custom { minutes }) => {
            let sign = if minutes < 0 { '-' } else { '+' };
            let minutes = minutes.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60));
        }
    }
    out
}

/// Byte offsets to 1-based line numbers.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(text: &str) -> Result<(InventoryData, Vec<Warning>), InventoryError> {
        let mut data = InventoryData::new();
        let warnings = parse(Path::new("/inv/hosts.toml"), text, &mut data)?;
        data.reconcile();
        Ok((data, warnings))
    }

    #[test]
    fn groups_hosts_children_and_typed_vars() {
        let (data, warnings) = load(
            r#"
junk = "not a group"

[all.vars]
has_java = false
when = 1979-05-27T00:32:00.999999123-07:00
day = 1979-05-27

[web]
children = ["apache"]
vars = { http_port = 8080 }
extra = 1

[web.hosts]
host1 = {}
"host2:2222" = { ansible_port = 222 }
"w[01:02]" = { x = 1.5 }

[apache.hosts]
tomcat1 = {}
"#,
        )
        .unwrap();
        let host = |name: &str| &data.host(data.host_id(name).unwrap()).vars;
        assert_eq!(host("host2")["ansible_port"], json!(222));
        assert_eq!(host("w02")["x"], json!(1.5));
        let web = data.group(data.group_id("web").unwrap());
        assert_eq!(web.vars["http_port"], json!(8080));
        let apache = data.group_id("apache").unwrap();
        assert_eq!(web.children, vec![apache]);
        let all = data.group(super::super::data::ALL);
        assert_eq!(all.vars["has_java"], json!(false));
        assert_eq!(all.vars["when"], json!("1979-05-27T00:32:00.999999-07:00"));
        assert_eq!(all.vars["day"], json!("1979-05-27"));
        assert_eq!(data.group_id("junk"), None, "a skipped key is no group");
        let lines: Vec<(usize, &str)> = warnings
            .iter()
            .map(|w| (w.line, w.message.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (2, "Skipping 'junk' as this is not a valid group definition"),
                (
                    12,
                    "Skipping unexpected key \"extra\" in group \"web\", only \"vars\", \"children\" and \"hosts\" are valid"
                ),
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = |text: &str| load(text).err().unwrap().to_string();
        assert!(
            err("[web\n").starts_with("/inv/hosts.toml:1: invalid TOML"),
            "{}",
            err("[web\n")
        );
        assert_eq!(err(""), "/inv/hosts.toml: Parsed empty TOML file");
        assert_eq!(
            err("plugin = \"aws_ec2\"\n"),
            "/inv/hosts.toml:1: Plugin configuration TOML file, not TOML inventory"
        );
        assert_eq!(
            err("[web]\nchildren = \"apache\"\n"),
            "/inv/hosts.toml:2: Invalid \"children\" entry for \"web\" group, requires a list, found \"<class 'str'>\" instead."
        );
        assert!(
            err("[web.hosts]\nh1 = 3\n").starts_with(
                "/inv/hosts.toml:2: Invalid data from file, expected dictionary and got: 3"
            ),
            "{}",
            err("[web.hosts]\nh1 = 3\n")
        );
    }

    #[test]
    fn times_print_as_python_isoformat() {
        let (data, _) = load(
            "[all.vars]\na = 07:32:00\nb = 00:32:00.5\nc = 1979-05-27T07:32:00\nd = 1979-05-27T07:32:00Z\n",
        )
        .unwrap();
        let vars = &data.group(super::super::data::ALL).vars;
        assert_eq!(vars["a"], json!("07:32:00"));
        assert_eq!(vars["b"], json!("00:32:00.500000"));
        assert_eq!(vars["c"], json!("1979-05-27T07:32:00"));
        assert_eq!(vars["d"], json!("1979-05-27T07:32:00+00:00"));
    }
}
