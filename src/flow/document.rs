//! A flow file as the console's composer edits it, and the writer that
//! saves it. The document keeps the file's top-level keys as parsed values,
//! in file order, so whatever the composer does not know is kept; steps
//! are their own maps. Writing gives YAML with flow-style `{}` for short
//! maps, `|` blocks for scripts, and quotes where YAML 1.1 would read a
//! string as something else; comments at the top of the file are kept,
//! comments further down are not.

use std::path::Path;

use serde_json::{Map, Value};

/// Steps live in two sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Steps,
    Rollback,
}

impl Section {
    pub fn key(self) -> &'static str {
        match self {
            Section::Steps => "steps",
            Section::Rollback => "rollback",
        }
    }
}

/// A flow file as the composer edits it: top-level keys in order, with
/// steps as their own maps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowDoc {
    /// Comment lines at the top of the file, kept on save.
    pub header: String,
    pub fields: Map<String, Value>,
    pub steps: Vec<Map<String, Value>>,
    pub rollback: Vec<Map<String, Value>>,
}

impl FlowDoc {
    pub fn parse(path: &Path, text: &str) -> Result<FlowDoc, String> {
        let value = crate::inventory::yaml11::load(path, text)
            .map_err(|e| e.to_string())?
            .unwrap_or(Value::Object(Map::new()));
        let Value::Object(mut fields) = value else {
            return Err("a flow file must be a YAML mapping".into());
        };
        let take_steps = |key: &str| -> Result<Vec<Map<String, Value>>, String> {
            match fields.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| match item {
                        Value::Object(map) => Ok(map.clone()),
                        _ => Err(format!("{key}: every step must be a mapping")),
                    })
                    .collect(),
                Some(_) => Err(format!("{key}: must be a list of steps")),
            }
        };
        let steps = take_steps("steps")?;
        let rollback = take_steps("rollback")?;
        // Keep the keys' places; the step lists are written from `steps`/`rollback`.
        if fields.contains_key("steps") {
            fields.insert("steps".into(), Value::Null);
        }
        if fields.contains_key("rollback") {
            fields.insert("rollback".into(), Value::Null);
        }
        let header: String = text
            .lines()
            .take_while(|l| l.starts_with('#') || l.trim().is_empty())
            .filter(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        Ok(FlowDoc {
            header,
            fields,
            steps,
            rollback,
        })
    }

    pub fn new_named(name: &str) -> FlowDoc {
        let mut fields = Map::new();
        fields.insert("name".into(), Value::String(name.into()));
        fields.insert("steps".into(), Value::Null);
        let mut step = Map::new();
        step.insert("name".into(), Value::String("hello".into()));
        step.insert(
            "command".into(),
            Value::String("echo hello from $(hostname)".into()),
        );
        FlowDoc {
            header: String::new(),
            fields,
            steps: vec![step],
            rollback: Vec::new(),
        }
    }

    pub fn section(&self, section: Section) -> &Vec<Map<String, Value>> {
        match section {
            Section::Steps => &self.steps,
            Section::Rollback => &self.rollback,
        }
    }

    pub fn section_mut(&mut self, section: Section) -> &mut Vec<Map<String, Value>> {
        match section {
            Section::Steps => &mut self.steps,
            Section::Rollback => &mut self.rollback,
        }
    }

    pub fn text_field(&self, key: &str) -> Option<String> {
        self.fields.get(key).and_then(super::params::scalar_text)
    }

    /// The YAML text, and the line each step starts on (1-based) per section.
    pub fn emit(&self) -> (String, Vec<(Section, usize, usize)>) {
        let mut out = self.header.clone();
        let mut step_lines = Vec::new();
        let mut keys: Vec<&String> = self.fields.keys().collect();
        for section in [Section::Steps, Section::Rollback] {
            if !self.section(section).is_empty() && !self.fields.contains_key(section.key()) {
                keys.push(match section {
                    Section::Steps => &STEPS_KEY,
                    Section::Rollback => &ROLLBACK_KEY,
                });
            }
        }
        for key in keys {
            let section = match key.as_str() {
                "steps" => Some(Section::Steps),
                "rollback" => Some(Section::Rollback),
                _ => None,
            };
            match section {
                Some(section) => {
                    let steps = self.section(section);
                    if steps.is_empty() {
                        if section == Section::Steps {
                            out.push_str("steps: []\n");
                        }
                        continue;
                    }
                    out.push_str(&format!("{key}:\n"));
                    for (i, step) in steps.iter().enumerate() {
                        step_lines.push((section, i, out.lines().count() + 1));
                        emit_map_items(&mut out, step, 2, true);
                    }
                }
                None => emit_entry(&mut out, key, &self.fields[key.as_str()], 0),
            }
        }
        (out, step_lines)
    }
}

static STEPS_KEY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| "steps".into());
static ROLLBACK_KEY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| "rollback".into());

/// Words YAML 1.1 reads as something other than a string.
const YAML_SPECIAL: &[&str] = &[
    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~",
];

/// A scalar as YAML: plain when that reads back as the same string under
/// YAML 1.1, double-quoted otherwise.
pub fn yaml_scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let safe_start = s
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '/');
            let safe_chars = s
                .chars()
                .all(|c| c.is_alphanumeric() || "_./@%+- ".contains(c));
            let special = YAML_SPECIAL.contains(&s.to_ascii_lowercase().as_str());
            if safe_start && safe_chars && !special && !s.ends_with(' ') && !s.contains("  ") {
                s.clone()
            } else {
                let mut q = String::from("\"");
                for c in s.chars() {
                    match c {
                        '"' => q.push_str("\\\""),
                        '\\' => q.push_str("\\\\"),
                        '\n' => q.push_str("\\n"),
                        '\t' => q.push_str("\\t"),
                        c if c.is_control() => q.push_str(&format!("\\x{:02x}", c as u32)),
                        c => q.push(c),
                    }
                }
                q.push('"');
                q
            }
        }
        other => other.to_string(),
    }
}

pub fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

fn is_multiline(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.contains('\n'))
}

/// `{a: b, c: d}` / `[a, b]` when short and flat.
pub fn flow_style(value: &Value) -> Option<String> {
    let text = match value {
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Object(map) if map.values().all(|v| is_scalar(v) && !is_multiline(v)) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", yaml_key(k), yaml_scalar(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(items) if items.iter().all(|v| is_scalar(v) && !is_multiline(v)) => format!(
            "[{}]",
            items.iter().map(yaml_scalar).collect::<Vec<_>>().join(", ")
        ),
        _ => return None,
    };
    (text.chars().count() <= 72).then_some(text)
}

fn yaml_key(key: &str) -> String {
    yaml_scalar(&Value::String(key.to_string()))
}

fn emit_entry(out: &mut String, key: &str, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    let key = yaml_key(key);
    if let Value::String(s) = value
        && s.contains('\n')
    {
        let chomp = if s.ends_with('\n') { "" } else { "-" };
        let indicator = if s.starts_with(' ') { "2" } else { "" };
        out.push_str(&format!("{pad}{key}: |{indicator}{chomp}\n"));
        for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("{pad}  {line}\n"));
            }
        }
        return;
    }
    if is_scalar(value) {
        out.push_str(&format!("{pad}{key}: {}\n", yaml_scalar(value)));
    } else if let Some(flow) = flow_style(value) {
        out.push_str(&format!("{pad}{key}: {flow}\n"));
    } else {
        out.push_str(&format!("{pad}{key}:\n"));
        emit_block(out, value, indent + 2);
    }
}

fn emit_block(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                emit_entry(out, k, v, indent);
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(map) if !map.is_empty() => emit_map_items(out, map, indent, true),
                    other if is_scalar(other) && !is_multiline(other) => {
                        out.push_str(&format!("{}- {}\n", " ".repeat(indent), yaml_scalar(other)))
                    }
                    other => {
                        out.push_str(&format!("{}-\n", " ".repeat(indent)));
                        emit_block(out, other, indent + 2);
                    }
                }
            }
        }
        scalar => out.push_str(&format!("{}{}\n", " ".repeat(indent), yaml_scalar(scalar))),
    }
}

/// A mapping as a list item: `- first: x` then the rest under it.
fn emit_map_items(out: &mut String, map: &Map<String, Value>, indent: usize, dash: bool) {
    let mut first = dash;
    for (k, v) in map {
        let mut entry = String::new();
        emit_entry(&mut entry, k, v, indent + 2);
        if first {
            // Replace the first line's indent with "- ".
            let body = &entry[indent + 2..];
            out.push_str(&format!("{}- {body}", " ".repeat(indent)));
            first = false;
        } else {
            out.push_str(&entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn scalars_are_quoted_when_yaml_would_misread_them() {
        let s = |t: &str| yaml_scalar(&Value::String(t.into()));
        assert_eq!(s("deploy"), "deploy");
        assert_eq!(s("lab-app"), "lab-app");
        assert_eq!(s("yes"), "\"yes\"");
        assert_eq!(s("0644"), "\"0644\"");
        assert_eq!(s("1:30"), "\"1:30\"");
        assert_eq!(s("${service}"), "\"${service}\"");
        assert_eq!(s("a: b"), "\"a: b\"");
        assert_eq!(s("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(s(""), "\"\"");
        assert_eq!(yaml_scalar(&Value::from(15)), "15");
    }

    #[test]
    fn documents_round_trip_through_the_writer() {
        let text = "# top comment\nname: x\nparams:\n  v: {type: string, default: \"1.0\"}\nsteps:\n  - name: one\n    script: |\n      #!/bin/sh\n      echo \"$v\"\n    args: [a, b]\n  - command: uptime\n    on_failure: continue\n";
        let doc = FlowDoc::parse(Path::new("f.yml"), text).unwrap();
        let (out, lines) = doc.emit();
        assert!(out.starts_with("# top comment\nname: x\n"), "{out}");
        assert_eq!(
            lines.iter().map(|l| l.2).collect::<Vec<_>>(),
            vec![6, 11],
            "{out}"
        );
        let again = FlowDoc::parse(Path::new("f.yml"), &out).unwrap();
        assert_eq!(again, doc, "{out}");
    }
}
