//! YAML inventory sources (`all: {hosts, vars, children}`), parsed as
//! Ansible's `yaml` inventory plugin parses them.
//!
//! Top-level keys are groups. A group is a mapping (or empty) with `hosts`,
//! `vars` and `children` sections, handled in the order they are written;
//! a section may be a single string (`hosts: web1`). Other keys are skipped
//! with a warning, as Ansible does.

use std::path::Path;

use indexmap::IndexMap;

use super::data::GroupId;
use super::yaml11::{self, Entry, Node, NodeKind, ScalarType};
use super::{InventoryData, InventoryError, range};

/// Something Ansible would print a warning for; the parse goes on.
pub type Warning = yaml11::Warning;

const SECTIONS: [&str; 3] = ["vars", "children", "hosts"];

/// Parses one YAML source into `data` and returns the warnings Ansible
/// would print (skipped keys, duplicate keys).
pub fn parse(
    path: &Path,
    text: &str,
    data: &mut InventoryData,
) -> Result<Vec<Warning>, InventoryError> {
    let Some(doc) = yaml11::load_document(path, text)? else {
        return Err(InventoryError::file(path, "Parsed empty YAML file"));
    };
    let root = &doc.root;
    if !root.is_truthy() {
        return Err(InventoryError::at(
            path,
            root.line,
            "Parsed empty YAML file",
        ));
    }
    let Some(groups) = root.as_map() else {
        return Err(InventoryError::at(
            path,
            root.line,
            format!(
                "YAML inventory has invalid structure, it should be a dictionary, got: <class '{}'>",
                root.python_type()
            ),
        ));
    };
    if let Some(plugin) = groups.get("plugin").filter(|e| e.value.is_truthy()) {
        return Err(InventoryError::at(
            path,
            plugin.key_line,
            "Plugin configuration YAML file, not YAML inventory",
        ));
    }
    let mut parser = GroupParser {
        path,
        data,
        warnings: doc.warnings,
    };
    for (name, entry) in groups {
        parser.group(&Item::from_entry(name, entry))?;
    }
    Ok(parser.warnings)
}

/// One key of a section (or the single name of a string shorthand).
struct Item<'a> {
    key: &'a str,
    key_type: ScalarType,
    line: usize,
    /// `None` when the key has no value (or comes from a string shorthand).
    value: Option<&'a Node>,
}

impl<'a> Item<'a> {
    fn from_entry(key: &'a str, entry: &'a Entry) -> Self {
        Item {
            key,
            key_type: entry.key_type,
            line: entry.key_line,
            value: Some(&entry.value).filter(|v| !v.is_null()),
        }
    }

    /// The key as Python's `str()` prints it, for messages.
    fn display(&self) -> String {
        self.key_type.python_str(self.key)
    }
}

/// The contents of a `hosts`/`vars`/`children` section.
enum Section<'a> {
    Map(&'a IndexMap<String, Entry>),
    /// `hosts: web1` means `hosts: {web1: null}`.
    Shorthand(Item<'a>),
}

impl<'a> Section<'a> {
    fn items(&self) -> Vec<Item<'a>> {
        match self {
            Section::Map(map) => map.iter().map(|(k, e)| Item::from_entry(k, e)).collect(),
            Section::Shorthand(item) => vec![Item {
                key: item.key,
                key_type: item.key_type,
                line: item.line,
                value: None,
            }],
        }
    }
}

struct GroupParser<'p, 'd> {
    path: &'p Path,
    data: &'d mut InventoryData,
    warnings: Vec<Warning>,
}

impl GroupParser<'_, '_> {
    fn warn(&mut self, line: usize, message: String) {
        self.warnings.push(Warning { line, message });
    }

    fn error(&self, line: usize, message: impl Into<String>) -> InventoryError {
        InventoryError::at(self.path, line, message)
    }

    /// Ansible's `_parse_group`: returns the group's name, which the caller
    /// adds as a child even when the definition was skipped.
    fn group(&mut self, item: &Item) -> Result<String, InventoryError> {
        let body = match item.value {
            None => None,
            Some(node) => match node.as_map() {
                Some(map) => Some(map),
                None => {
                    self.warn(
                        item.line,
                        format!(
                            "Skipping '{}' as this is not a valid group definition",
                            item.display()
                        ),
                    );
                    return Ok(item.key.to_string());
                }
            },
        };
        let group = self.add_group(item)?;
        let name = item.key;
        let Some(body) = body else {
            return Ok(name.to_string());
        };

        // Every section is checked before any is used, as Ansible does.
        let mut sections: [Option<Section>; 3] = [None, None, None];
        for (slot, section) in sections.iter_mut().zip(SECTIONS) {
            let Some(entry) = body.get(section) else {
                continue;
            };
            *slot = match &entry.value.kind {
                NodeKind::Map(map) => Some(Section::Map(map)),
                _ if entry.value.is_null() => None,
                _ => match entry.value.as_str() {
                    Some(only) => Some(Section::Shorthand(Item {
                        key: only,
                        key_type: ScalarType::Str,
                        line: entry.value.line,
                        value: None,
                    })),
                    None => {
                        return Err(self.error(
                            entry.key_line,
                            format!(
                                "Invalid \"{section}\" entry for \"{name}\" group, requires a dictionary, found \"<class '{}'>\" instead.",
                                entry.value.python_type()
                            ),
                        ));
                    }
                },
            };
        }

        for (key, entry) in body {
            let section_index = SECTIONS.iter().position(|s| s == key);
            let value = &entry.value;
            if section_index.is_none() && !value.is_null() && value.as_map().is_none() {
                self.warn(
                    entry.key_line,
                    format!(
                        "Skipping key ({}) in group ({name}) as it is not a mapping, it is a <class '{}'>",
                        entry.key_type.python_str(key),
                        value.python_type()
                    ),
                );
                continue;
            }
            if value.is_null() {
                // Ansible skips empty keys silently (only at -vvv).
                continue;
            }
            let Some(index) = section_index else {
                self.warn(
                    entry.key_line,
                    format!(
                        "Skipping unexpected key ({}) in group ({name}), only \"vars\", \"children\" and \"hosts\" are valid",
                        entry.key_type.python_str(key)
                    ),
                );
                continue;
            };
            let Some(section) = &sections[index] else {
                continue;
            };
            let items = section.items();
            match SECTIONS[index] {
                "vars" => self.group_vars(name, &items)?,
                "children" => self.children(name, &items)?,
                _ => self.hosts(group, name, &items)?,
            }
        }
        Ok(name.to_string())
    }

    /// Ansible's `InventoryData.add_group`: names must be non-empty strings.
    fn add_group(&mut self, item: &Item) -> Result<GroupId, InventoryError> {
        let shown = item.display();
        if !item.key_type.key_is_truthy(item.key) {
            return Err(self.error(
                item.line,
                format!(
                    "Unable to add group {shown}: Invalid empty/false group name provided: {shown}"
                ),
            ));
        }
        if item.key_type != ScalarType::Str {
            return Err(self.error(
                item.line,
                format!(
                    "Unable to add group {shown}: Invalid group name supplied, expected a string but got <class '{}'> for {shown}",
                    item.key_type.python_name()
                ),
            ));
        }
        Ok(self.data.add_group(item.key))
    }

    fn group_vars(&mut self, group: &str, items: &[Item]) -> Result<(), InventoryError> {
        for item in items {
            let value = item.value.map(Node::to_value).unwrap_or_default();
            self.data
                .set_variable(group, item.key, value)
                .map_err(|e| e.located(self.path, item.line))?;
        }
        Ok(())
    }

    fn children(&mut self, parent: &str, items: &[Item]) -> Result<(), InventoryError> {
        for item in items {
            let child = self.group(item)?;
            if self.data.group_id(&child).is_none() && self.data.host_id(&child).is_none() {
                return Err(self.error(item.line, format!("{child} is not a known host nor group")));
            }
            self.data
                .add_child(parent, &child)
                .map_err(|e| e.located(self.path, item.line))?;
        }
        Ok(())
    }

    fn hosts(
        &mut self,
        group: GroupId,
        group_name: &str,
        items: &[Item],
    ) -> Result<(), InventoryError> {
        for item in items {
            if item.key_type != ScalarType::Str {
                return Err(self.error(
                    item.line,
                    format!(
                        "Host pattern {} must be a string. Enclose integers/floats in quotation marks.",
                        item.display()
                    ),
                ));
            }
            let (names, port) = range::expand_hostpattern(item.key).map_err(|e| {
                self.error(
                    item.line,
                    format!("Invalid host pattern '{}': {e}", item.key),
                )
            })?;
            // `host: 0` or `host: ""` count as no variables, as `or {}` does.
            let vars = match item.value.filter(|v| v.is_truthy()) {
                None => None,
                Some(node) => match node.as_map() {
                    Some(map) => Some(map),
                    None => {
                        return Err(self.error(
                            item.line,
                            format!(
                                "Invalid data from file, expected dictionary and got: {} (for host '{}' in group '{group_name}')",
                                node.to_value(),
                                item.key
                            ),
                        ));
                    }
                },
            };
            for name in &names {
                if name.is_empty() {
                    return Err(self.error(item.line, "Invalid empty host name provided: "));
                }
                self.data.add_host(name, Some(group), port);
                for (var, entry) in vars.into_iter().flatten() {
                    self.data
                        .set_variable(name, var, entry.value.to_value())
                        .map_err(|e| e.located(self.path, entry.key_line))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn path() -> &'static Path {
        Path::new("/inv/hosts.yml")
    }

    fn parse_ok(text: &str) -> (InventoryData, Vec<Warning>) {
        let mut data = InventoryData::new();
        let warnings = parse(path(), text, &mut data).expect("parses");
        data.reconcile();
        (data, warnings)
    }

    fn parse_err(text: &str) -> InventoryError {
        let mut data = InventoryData::new();
        parse(path(), text, &mut data).expect_err("should fail")
    }

    fn at(err: InventoryError) -> (usize, String) {
        match err {
            InventoryError::At { line, message, .. } => (line, message),
            other => panic!("expected a located error, got {other:?}"),
        }
    }

    fn vars_json(vars: &crate::inventory::VarMap) -> Value {
        Value::Object(vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// The shape `ansible-inventory --list --export` prints.
    fn summary(data: &InventoryData) -> Value {
        let mut hostvars = serde_json::Map::new();
        for host in data.hosts.values() {
            if !host.vars.is_empty() {
                hostvars.insert(host.name.clone(), vars_json(&host.vars));
            }
        }
        let mut out = serde_json::Map::new();
        out.insert("_meta".into(), json!({ "hostvars": hostvars }));
        for group in data.groups.values() {
            let mut g = serde_json::Map::new();
            if !group.children.is_empty() {
                let names: Vec<&str> = group
                    .children
                    .iter()
                    .map(|&c| data.group(c).name.as_str())
                    .collect();
                g.insert("children".into(), json!(names));
            }
            if !group.hosts.is_empty() && group.name != "all" {
                let names: Vec<&str> = group
                    .hosts
                    .iter()
                    .map(|&h| data.host(h).name.as_str())
                    .collect();
                g.insert("hosts".into(), json!(names));
            }
            if !group.vars.is_empty() {
                g.insert("vars".into(), vars_json(&group.vars));
            }
            if !g.is_empty() {
                out.insert(group.name.clone(), Value::Object(g));
            }
        }
        Value::Object(out)
    }

    #[test]
    fn groups_hosts_vars_and_children_match_ansible_inventory() {
        let text = "\
all:
  vars:
    ntp: pool.example.org
  children:
    web:
      hosts:
        web2:
          http_port: 8080
        web1:
      vars: {role: web}
    db:
      hosts: db1
      children:
        replicas:
          hosts:
            db2: {replica: yes}
  hosts:
    lonely:
web:
  hosts:
    web3:
  extra: 5
  other: {a: 1}
  children: replicas
empty:
";
        let (data, warnings) = parse_ok(text);
        // `ansible-inventory -i hosts.yml --list --export` (ansible-core 2.19).
        let expected = json!({
            "_meta": {"hostvars": {"db2": {"replica": true}, "web2": {"http_port": 8080}}},
            "all": {"children": ["ungrouped", "web", "db", "empty"], "vars": {"ntp": "pool.example.org"}},
            "db": {"children": ["replicas"], "hosts": ["db1"]},
            "replicas": {"hosts": ["db2"]},
            "ungrouped": {"hosts": ["lonely"]},
            "web": {"children": ["replicas"], "hosts": ["web2", "web1", "web3"], "vars": {"role": "web"}}
        });
        assert_eq!(summary(&data), expected);
        let messages: Vec<(usize, &str)> = warnings
            .iter()
            .map(|w| (w.line, w.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    22,
                    "Skipping key (extra) in group (web) as it is not a mapping, it is a <class 'int'>"
                ),
                (
                    23,
                    "Skipping unexpected key (other) in group (web), only \"vars\", \"children\" and \"hosts\" are valid"
                ),
            ]
        );
    }

    #[test]
    fn string_shorthands_and_empty_host_values() {
        let (data, _) = parse_ok(
            "web:\n  hosts: h1\n  vars: x\nother:\n  hosts:\n    h2: 0\n    h3: ''\n    h4: {}\n",
        );
        // ansible-inventory: web gets var x = null; h2..h4 have no variables.
        assert_eq!(
            summary(&data),
            json!({
                "_meta": {"hostvars": {}},
                "all": {"children": ["ungrouped", "web", "other"]},
                "web": {"hosts": ["h1"], "vars": {"x": null}},
                "other": {"hosts": ["h2", "h3", "h4"]}
            })
        );
    }

    #[test]
    fn sections_are_applied_in_written_order() {
        // Host variables set later in the file win, whatever the section.
        let (data, _) = parse_ok("a:\n  hosts:\n    h: {v: 1}\nb:\n  hosts:\n    h: {v: 2}\n");
        assert_eq!(data.host(data.host_id("h").unwrap()).vars["v"], json!(2));
        let h = data.host(data.host_id("h").unwrap());
        let groups: Vec<&str> = h
            .direct_groups
            .iter()
            .map(|&g| data.group(g).name.as_str())
            .collect();
        assert_eq!(groups, ["a", "b"]);
    }

    #[test]
    fn skipped_group_definitions_warn() {
        let (data, warnings) = parse_ok("web: 5\ndb:\n  hosts: {d1: }\n");
        assert!(data.group_id("web").is_none());
        assert_eq!(warnings[0].line, 1);
        assert_eq!(
            warnings[0].message,
            "Skipping 'web' as this is not a valid group definition"
        );
    }

    #[test]
    fn a_skipped_child_group_is_an_error_when_added() {
        let (line, message) = at(parse_err("web:\n  children:\n    db: 5\n"));
        assert_eq!(
            (line, message.as_str()),
            (3, "db is not a known host nor group")
        );
    }

    #[test]
    fn invalid_structures_are_errors_with_lines() {
        let (line, message) = at(parse_err("# hosts\n- a\n- b\n"));
        assert_eq!(line, 2);
        assert_eq!(
            message,
            "YAML inventory has invalid structure, it should be a dictionary, got: <class 'list'>"
        );

        let (line, message) = at(parse_err("all:\n  vars: {a: 1}\n  hosts: [a, b]\n"));
        assert_eq!(line, 3);
        assert_eq!(
            message,
            "Invalid \"hosts\" entry for \"all\" group, requires a dictionary, found \"<class 'list'>\" instead."
        );

        // Sections are checked before any is used: vars first.
        let (line, message) = at(parse_err("web:\n  hosts: [a]\n  vars: 3\n"));
        assert_eq!(line, 3);
        assert!(
            message.starts_with("Invalid \"vars\" entry for \"web\" group"),
            "{message}"
        );

        let (line, message) = at(parse_err("a: 1\nplugin: constructed\n"));
        assert_eq!(
            (line, message.as_str()),
            (2, "Plugin configuration YAML file, not YAML inventory")
        );
    }

    #[test]
    fn empty_files_are_errors() {
        for text in ["", "# nothing\n", "{}\n", "[]\n", "---\n"] {
            let err = parse_err(text);
            assert!(
                err.to_string().ends_with("Parsed empty YAML file"),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn non_string_names_are_errors() {
        let (line, message) = at(parse_err("web: {}\n1:\n  hosts: h1\n"));
        assert_eq!(line, 2);
        assert_eq!(
            message,
            "Unable to add group 1: Invalid group name supplied, expected a string but got <class 'int'> for 1"
        );
        let (_, message) = at(parse_err("web:\n  children:\n    null: {}\n"));
        assert_eq!(
            message,
            "Unable to add group None: Invalid empty/false group name provided: None"
        );

        let (line, message) = at(parse_err("web:\n  hosts:\n    h1:\n    1.5:\n"));
        assert_eq!(line, 4);
        assert_eq!(
            message,
            "Host pattern 1.5 must be a string. Enclose integers/floats in quotation marks."
        );

        let (line, message) = at(parse_err("web:\n  hosts:\n    h1: just-a-string\n"));
        assert_eq!(line, 3);
        assert!(
            message.starts_with("Invalid data from file, expected dictionary"),
            "{message}"
        );
    }

    #[test]
    fn group_loops_are_errors_with_lines() {
        // b gets a as a child first; making b a child of a then closes the loop.
        let (line, message) = at(parse_err(
            "a:\n  children:\n    b:\n      children:\n        a:\n",
        ));
        assert_eq!(line, 3, "{message}");
        assert!(message.contains("loop"), "{message}");
    }

    #[test]
    fn yaml_errors_keep_their_lines() {
        let (line, _) = at(parse_err("all:\n  hosts:\n    h1: {a: [}\n"));
        assert_eq!(line, 3);
    }

    #[test]
    fn json_inventories_parse_with_lines() {
        let text = "{\n  \"web\": {\n    \"hosts\": {\"h1\": {\"p\": 1e3}}\n  },\n  \"db\": {\"hosts\": [1]}\n}\n";
        let (line, message) = at(parse_err(text));
        assert_eq!(line, 5);
        assert!(
            message.starts_with("Invalid \"hosts\" entry for \"db\" group"),
            "{message}"
        );
    }

    #[test]
    fn host_ranges_and_ports() {
        let (data, _) =
            parse_ok("web:\n  hosts:\n    web[01:03].example.com:\n      v: 1\n    db:2222:\n");
        let names: Vec<&str> = data.hosts.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "db"
            ]
        );
        assert_eq!(data.host(3).vars["ansible_port"], json!(2222));
        assert_eq!(data.host(2).vars["v"], json!(1));
    }

    #[test]
    fn ten_thousand_hosts_parse_quickly() {
        let mut text =
            String::from("all:\n  children:\n    web:\n      vars: {tier: web}\n      hosts:\n");
        for i in 0..10_000 {
            text.push_str(&format!("        web{i:05}.example.com:\n          ansible_host: 10.0.{}.{}\n          rack: r{}\n", i / 256, i % 256, i % 40));
        }
        let start = std::time::Instant::now();
        let (data, _) = parse_ok(&text);
        let elapsed = start.elapsed();
        assert_eq!(data.hosts.len(), 10_000);
        assert_eq!(data.host(9_999).vars["ansible_host"], json!("10.0.39.15"));
        // Generous even for debug builds; a quadratic step would blow it.
        assert!(elapsed.as_secs() < 5, "took {elapsed:?}");
    }
}
