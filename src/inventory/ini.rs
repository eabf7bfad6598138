//! INI inventory sources, parsed as Ansible's `ini` inventory plugin parses them.
//!
//! Ansible's rules, in the order it applies them to each line:
//! - lines are split like Python's `str.splitlines()` and stripped; blank
//!   lines and lines starting with `#` or `;` are skipped;
//! - `[name]`, `[name:hosts]`, `[name:children]`, `[name:vars]` start a
//!   section (a `# comment` may follow); any other `:type` is an error, and a
//!   line that starts with `[` and ends with `]` but is not a header is too;
//! - in a hosts section (and before the first header, for `ungrouped`) a line
//!   is split like `shlex.split(line, comments=True)`: a host pattern, then
//!   `key=value` words typed by `literal_eval`;
//! - in a vars section a line is `key = value`, split at the first `=`;
//! - in a children section a line names a group. Groups named before they are
//!   declared are remembered and linked once their own section appears; any
//!   still undeclared at the end is an error, as is a `[name:vars]` for a group
//!   never declared by a hosts or children section.

use std::path::Path;

use indexmap::IndexMap;
use serde_json::Value;

use super::pyliteral::{is_python_space, try_parse_ini_value};
use super::range::expand_hostpattern;
use super::{GroupId, InventoryData, InventoryError, shlex};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Section {
    Hosts,
    Vars,
    Children,
}

/// A group used before a hosts or children section declared it.
struct Pending {
    /// Where it was first used (reported if it is never declared).
    line: usize,
    /// `Vars`: a `[name:vars]` header; `Children`: listed under `parents`.
    kind: Section,
    parents: Vec<String>,
    resolved: bool,
}

/// Parses one INI source into `data`.
pub fn parse(path: &Path, text: &str, data: &mut InventoryData) -> Result<(), InventoryError> {
    let mut parser = IniParser {
        path,
        data,
        pending: IndexMap::new(),
        group: "ungrouped".to_string(),
        group_id: super::data::UNGROUPED,
        section: Section::Hosts,
        line_no: 0,
    };
    for (index, raw_line) in python_lines(text).enumerate() {
        parser.line_no = index + 1;
        parser.parse_line(raw_line)?;
    }
    parser.check_pending()
}

struct IniParser<'a> {
    path: &'a Path,
    data: &'a mut InventoryData,
    /// In first-use order, like Ansible's dict, so the same error is reported first.
    pending: IndexMap<String, Pending>,
    group: String,
    group_id: GroupId,
    section: Section,
    line_no: usize,
}

impl IniParser<'_> {
    fn error(&self, message: impl Into<String>) -> InventoryError {
        InventoryError::at(self.path, self.line_no, message)
    }

    fn locate(&self, error: InventoryError) -> InventoryError {
        error.located(self.path, self.line_no)
    }

    fn is_pending(&self, name: &str, kind: Section) -> bool {
        self.pending
            .get(name)
            .is_some_and(|p| !p.resolved && p.kind == kind)
    }

    fn parse_line(&mut self, raw_line: &str) -> Result<(), InventoryError> {
        let line = raw_line.trim_matches(is_python_space);
        if line.is_empty() || line.starts_with(['#', ';']) {
            return Ok(());
        }
        if let Some((name, tag)) = match_section_header(line) {
            return self.start_section(name, tag);
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(self.error(format!(
                "Invalid section entry: '{line}'. Please make sure that there are no spaces in the \
                 section entry, and that there are no other invalid characters"
            )));
        }
        match self.section {
            Section::Hosts => self.parse_host_line(line),
            Section::Vars => self.parse_vars_line(line),
            Section::Children => self.parse_child_line(line),
        }
    }

    fn start_section(&mut self, name: &str, tag: Option<&str>) -> Result<(), InventoryError> {
        let section = match tag {
            None | Some("hosts") => Section::Hosts,
            Some("vars") => Section::Vars,
            Some("children") => Section::Children,
            Some(other) => {
                return Err(self.error(format!(
                    "Section [{name}:{other}] has unknown type: {other}"
                )));
            }
        };
        if self.data.group_id(name).is_none() {
            // `[name:vars]` alone does not declare a group; remember to check.
            let known = self.pending.get(name).is_some_and(|p| !p.resolved);
            if section == Section::Vars && !known {
                self.pending.insert(
                    name.to_string(),
                    Pending {
                        line: self.line_no,
                        kind: Section::Vars,
                        parents: Vec::new(),
                        resolved: false,
                    },
                );
            }
            self.data.add_group(name);
        }
        if section != Section::Vars {
            if self.is_pending(name, Section::Children) {
                self.add_pending_children(name)?;
            } else if let Some(p) = self.pending.get_mut(name) {
                p.resolved = true;
            }
        }
        self.group = name.to_string();
        self.group_id = self.data.add_group(name);
        self.section = section;
        Ok(())
    }

    /// Links a newly declared group under every section that listed it early.
    fn add_pending_children(&mut self, group: &str) -> Result<(), InventoryError> {
        let mut work = vec![group.to_string()];
        while let Some(child) = work.pop() {
            let Some(entry) = self.pending.get_mut(&child) else {
                continue;
            };
            if entry.resolved {
                continue;
            }
            entry.resolved = true;
            let parents = std::mem::take(&mut entry.parents);
            for parent in parents {
                self.add_child(&parent, &child)?;
                if self.is_pending(&parent, Section::Children) {
                    work.push(parent);
                }
            }
        }
        Ok(())
    }

    fn add_child(&mut self, parent: &str, child: &str) -> Result<(), InventoryError> {
        // Ansible accepts this line and then fails when it puts every group
        // under `all`; refuse it here, where the line is known.
        if child == "all" {
            return Err(self.error(format!(
                "Group 'all' cannot be a child of '{parent}': every group is already under 'all'"
            )));
        }
        self.data
            .add_child(parent, child)
            .map_err(|e| self.locate(e))
    }

    fn parse_vars_line(&mut self, line: &str) -> Result<(), InventoryError> {
        let Some((key, value)) = line.split_once('=') else {
            return Err(self.error(format!("Expected key=value, got: {line}")));
        };
        let key = key.trim_matches(is_python_space);
        let value =
            try_parse_ini_value(value.trim_matches(is_python_space)).map_err(|e| self.error(e))?;
        let group = self.group.clone();
        self.data
            .set_variable(&group, key, value)
            .map_err(|e| self.locate(e))
    }

    fn parse_child_line(&mut self, line: &str) -> Result<(), InventoryError> {
        let Some(child) = match_group_name(line) else {
            return Err(self.error(format!("Expected group name, got: {line}")));
        };
        if self.data.group_id(child).is_some() {
            let parent = self.group.clone();
            return self.add_child(&parent, child);
        }
        match self.pending.get_mut(child) {
            Some(p) if !p.resolved => p.parents.push(self.group.clone()),
            _ => {
                self.pending.insert(
                    child.to_string(),
                    Pending {
                        line: self.line_no,
                        kind: Section::Children,
                        parents: vec![self.group.clone()],
                        resolved: false,
                    },
                );
            }
        }
        Ok(())
    }

    fn parse_host_line(&mut self, line: &str) -> Result<(), InventoryError> {
        let tokens = shlex::split(line, true)
            .map_err(|e| self.error(format!("Error parsing host definition '{line}': {e}")))?;
        let Some((pattern, assignments)) = tokens.split_first() else {
            return Err(self.error(format!("Expected a host name, got: {line}")));
        };
        let (names, port) = expand_hostpattern(pattern).map_err(|e| self.error(e))?;
        if port.is_none() && pattern.trim_matches(is_python_space).ends_with(':') {
            return Err(self.error(format!(
                "Invalid host pattern '{pattern}' supplied, ending in ':' is not allowed, this \
                 character is reserved to provide a port."
            )));
        }
        if names
            .iter()
            .any(|n| n.trim_matches(is_python_space) == "---")
        {
            return Err(self.error(format!(
                "Invalid host pattern '{pattern}' supplied, '---' is normally a sign this is a YAML file."
            )));
        }

        // Later assignments of a key replace earlier ones, keeping its place.
        let mut variables: IndexMap<&str, Value> = IndexMap::new();
        for word in assignments {
            let Some((key, raw)) = word.split_once('=') else {
                return Err(self.error(format!(
                    "Expected key=value host variable assignment, got: {word}"
                )));
            };
            let value = try_parse_ini_value(raw).map_err(|e| self.error(e))?;
            variables.insert(key, value);
        }

        for name in &names {
            if name.is_empty() {
                return Err(self.error(format!("Invalid empty host name provided in '{line}'")));
            }
            self.add_host(name, port);
            for (key, value) in &variables {
                self.data
                    .set_variable(name, key, value.clone())
                    .map_err(|e| self.locate(e))?;
            }
        }
        Ok(())
    }

    fn add_host(&mut self, name: &str, port: Option<u64>) {
        self.data.add_host(name, Some(self.group_id), port);
    }

    fn check_pending(&self) -> Result<(), InventoryError> {
        let Some((name, p)) = self.pending.iter().find(|(_, p)| !p.resolved) else {
            return Ok(());
        };
        let message = match p.kind {
            Section::Vars => format!(
                "Section [{name}:vars] not valid for undefined group {}.",
                py_repr(name)
            ),
            _ => format!(
                "Section [{}:children] includes undefined group {}.",
                p.parents.last().map(String::as_str).unwrap_or(""),
                py_repr(name)
            ),
        };
        Err(InventoryError::at(self.path, p.line, message))
    }
}

/// Python's `repr` of a plain string, as Ansible's messages show names.
fn py_repr(text: &str) -> String {
    if text.contains('\'') && !text.contains('"') {
        format!("\"{text}\"")
    } else {
        format!("'{}'", text.replace('\'', "\\'"))
    }
}

/// Lines split at every boundary Python's `str.splitlines()` knows.
fn python_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let boundary = rest.char_indices().find(|&(_, c)| {
            matches!(
                c,
                '\n' | '\r'
                    | '\u{b}'
                    | '\u{c}'
                    | '\u{1c}'
                    | '\u{1d}'
                    | '\u{1e}'
                    | '\u{85}'
                    | '\u{2028}'
                    | '\u{2029}'
            )
        });
        let (line, next) = match boundary {
            None => (rest, ""),
            Some((i, '\r')) if rest[i + 1..].starts_with('\n') => (&rest[..i], &rest[i + 2..]),
            Some((i, c)) => (&rest[..i], &rest[i + c.len_utf8()..]),
        };
        rest = next;
        Some(line)
    })
}

/// Characters a group name in a header or children line may not contain.
fn ends_group_name(c: char) -> bool {
    c == ':' || c == ']' || is_python_space(c)
}

/// `[name]` or `[name:tag]`, then optional whitespace and `# comment`.
fn match_section_header(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix('[')?;
    let name_len = rest.find(ends_group_name).unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let (name, mut rest) = rest.split_at(name_len);
    let mut tag = None;
    if let Some(after_colon) = rest.strip_prefix(':') {
        let tag_len = after_colon
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after_colon.len());
        if tag_len == 0 {
            return None;
        }
        tag = Some(&after_colon[..tag_len]);
        rest = &after_colon[tag_len..];
    }
    let rest = rest.strip_prefix(']')?.trim_start_matches(is_python_space);
    (rest.is_empty() || rest.starts_with('#')).then_some((name, tag))
}

/// A children line: a group name, then optional whitespace and `# comment`.
/// Like Ansible's regex, `a#b:c` falls back to the name before the last `#`.
fn match_group_name(line: &str) -> Option<&str> {
    let run = line.find(ends_group_name).unwrap_or(line.len());
    if run == 0 {
        return None;
    }
    let rest = line[run..].trim_start_matches(is_python_space);
    if rest.is_empty() || rest.starts_with('#') {
        return Some(&line[..run]);
    }
    // The name needs at least one character before that `#`.
    let first = line.chars().next().map_or(0, char::len_utf8);
    line[first..run].rfind('#').map(|i| &line[..first + i])
}

#[cfg(test)]
mod tests {
    //! Expected values were checked against ansible-core 2.19
    //! (`ansible-inventory -i FILE --list --export`).

    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn load(text: &str) -> Result<InventoryData, InventoryError> {
        let mut data = InventoryData::new();
        parse(Path::new("/inv/hosts.ini"), text, &mut data)?;
        Ok(data)
    }

    fn error(text: &str) -> (usize, String) {
        match load(text).unwrap_err() {
            InventoryError::At {
                path,
                line,
                message,
            } => {
                assert_eq!(path, PathBuf::from("/inv/hosts.ini"));
                (line, message)
            }
            other => panic!("expected a located error, got {other:?}"),
        }
    }

    fn hosts_of(data: &InventoryData, group: &str) -> Vec<String> {
        let g = data.group(data.group_id(group).unwrap());
        g.hosts.iter().map(|&h| data.host(h).name.clone()).collect()
    }

    fn children_of(data: &InventoryData, group: &str) -> Vec<String> {
        let g = data.group(data.group_id(group).unwrap());
        g.children
            .iter()
            .map(|&c| data.group(c).name.clone())
            .collect()
    }

    fn as_json(vars: &super::super::VarMap) -> Value {
        Value::Object(vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn host_vars(data: &InventoryData, host: &str) -> Value {
        as_json(&data.host(data.host_id(host).unwrap()).vars)
    }

    fn group_vars(data: &InventoryData, group: &str) -> Value {
        as_json(&data.group(data.group_id(group).unwrap()).vars)
    }

    #[test]
    fn host_lines_with_typed_vars_and_ports() {
        let data = load(
            "h0 a=1\n\
             [web]\n\
             web[01:03].ex:2222 b=True c='x y' # comment\n\
             [db]\n\
             db1 d=\"[1, (2, 3)]\" e=0x1F f=hello g=\" 5\" a=1 a=2\n\
             ; another comment\n",
        )
        .unwrap();
        assert_eq!(hosts_of(&data, "ungrouped"), ["h0"]);
        assert_eq!(hosts_of(&data, "web"), ["web01.ex", "web02.ex", "web03.ex"]);
        assert_eq!(
            host_vars(&data, "web02.ex"),
            json!({"ansible_port": 2222, "b": true, "c": "x y"})
        );
        assert_eq!(
            host_vars(&data, "db1"),
            json!({"d": [1, [2, 3]], "e": 31, "f": "hello", "g": 5, "a": 2})
        );
    }

    #[test]
    fn vars_sections_are_typed_after_stripping() {
        let data = load(
            "[g:vars]\na = 'x' # c\nb=hello # c\nc =  \n=5\nd=e=f\nhas_java = True # doc example\n[g]\nh1\n",
        )
        .unwrap();
        assert_eq!(
            group_vars(&data, "g"),
            json!({"a": "x", "b": "hello # c", "c": "", "": 5, "d": "e=f", "has_java": true})
        );
    }

    #[test]
    fn all_and_ungrouped_sections() {
        let data =
            load("[all]\nh1\n[ungrouped]\nh2\n[g]\nh3\n[all:vars]\nx=1\n[ungrouped:vars]\ny=2\n")
                .unwrap();
        assert_eq!(hosts_of(&data, "all"), ["h1"]);
        assert_eq!(hosts_of(&data, "ungrouped"), ["h2"]);
        assert_eq!(group_vars(&data, "all"), json!({"x": 1}));
        assert_eq!(group_vars(&data, "ungrouped"), json!({"y": 2}));
    }

    #[test]
    fn port_applies_only_to_new_hosts_and_not_zero() {
        let data = load("[g]\nh1:22\n[k]\nh1:23 a=1\nh2:0\nh3:99999\n").unwrap();
        assert_eq!(host_vars(&data, "h1"), json!({"ansible_port": 22, "a": 1}));
        assert_eq!(host_vars(&data, "h2"), json!({}));
        assert_eq!(host_vars(&data, "h3"), json!({"ansible_port": 99999}));
        assert_eq!(hosts_of(&data, "k"), ["h1", "h2", "h3"]);
    }

    #[test]
    fn addresses_like_ansible() {
        let data = load("[g]\n[::1]:22\nfe80::1\n10.0.0.[1:2]:5\n[h]:9\nfoo:bar\n").unwrap();
        assert_eq!(
            hosts_of(&data, "g"),
            ["::1", "fe80::1", "10.0.0.1", "10.0.0.2", "h", "foo:bar"]
        );
        assert_eq!(host_vars(&data, "::1"), json!({"ansible_port": 22}));
        assert_eq!(host_vars(&data, "h"), json!({"ansible_port": 9}));
    }

    #[test]
    fn children_declared_later_are_linked() {
        let data = load("[p:children]\nc\n[c:vars]\nv=1\n[c]\nh1\n").unwrap();
        assert_eq!(children_of(&data, "p"), ["c"]);
        assert_eq!(hosts_of(&data, "c"), ["h1"]);
        assert_eq!(group_vars(&data, "c"), json!({"v": 1}));

        let data = load("[g:vars]\nx=1\n[g:children]\nk\n[k]\n").unwrap();
        assert_eq!(children_of(&data, "g"), ["k"]);
    }

    #[test]
    fn section_and_group_name_matching() {
        assert_eq!(match_section_header("[g]"), Some(("g", None)));
        assert_eq!(
            match_section_header("[g:vars]  # note"),
            Some(("g", Some("vars")))
        );
        assert_eq!(match_section_header("[[g]"), Some(("[g", None)));
        assert_eq!(match_section_header("[g] ; note"), None);
        assert_eq!(match_section_header("[g:]"), None);
        assert_eq!(match_section_header("[ g ]"), None);
        assert_eq!(match_group_name("child # note"), Some("child"));
        assert_eq!(match_group_name("a#b"), Some("a#b"));
        assert_eq!(match_group_name("a#b:c"), Some("a"));
        assert_eq!(match_group_name("a b"), None);
        assert_eq!(match_group_name("é#b:c"), Some("é"));
        assert_eq!(match_group_name("#b:c"), None);
        assert_eq!(match_group_name("\u{9b9fc}]x:y"), None);
    }

    #[test]
    fn python_line_boundaries() {
        let lines: Vec<&str> = python_lines("a\r\nb\rc\u{b}d\n\ne\n").collect();
        assert_eq!(lines, ["a", "b", "c", "d", "", "e"]);
        assert_eq!(error("h1\r\n[g:foo]\n").0, 2);
    }

    #[test]
    fn errors_match_ansible_and_name_the_line() {
        assert_eq!(
            error("[g:foo]\nh1\n"),
            (1, "Section [g:foo] has unknown type: foo".into())
        );
        let (line, message) = error("h1\n[ bad ]\n");
        assert_eq!(line, 2);
        assert!(message.starts_with("Invalid section entry: '[ bad ]'. Please make sure"));
        assert_eq!(
            error("[g:children]\nx\n"),
            (
                2,
                "Section [g:children] includes undefined group 'x'.".into()
            )
        );
        assert_eq!(
            error("h\n[g:vars]\na=1\n"),
            (
                2,
                "Section [g:vars] not valid for undefined group 'g'.".into()
            )
        );
        assert_eq!(
            error("[g]\nh1 foo\n"),
            (
                2,
                "Expected key=value host variable assignment, got: foo".into()
            )
        );
        assert!(
            error("[g]\nh1:\n")
                .1
                .contains("ending in ':' is not allowed")
        );
        assert!(
            error("[g]\n---\n")
                .1
                .contains("'---' is normally a sign this is a YAML file")
        );
        assert_eq!(
            error("[g]\nh1 'a\n"),
            (
                2,
                "Error parsing host definition 'h1 'a': No closing quotation".into()
            )
        );
        assert_eq!(
            error("[g:vars]\nnovalue\n[g]\n"),
            (2, "Expected key=value, got: novalue".into())
        );
        assert_eq!(
            error("[g:children]\na b\n"),
            (2, "Expected group name, got: a b".into())
        );
        assert!(error("[g]\nweb[01:3]\n").1.contains("equal-length"));
        assert!(error("[g]\nweb[1:2:0]\n").1.contains("zero"));
        assert_eq!(
            error("h a=\"{[1]: 2}\"\n"),
            (1, "unhashable type: 'list'".into())
        );
        assert!(error("[g]\n\"\"\n").1.contains("empty host name"));
        // Ansible fails on these too (self-child, loops, `all` as a child).
        assert_eq!(error("[g:children]\ng\n").0, 2);
        assert_eq!(
            error("[a:children]\nb\n[b:children]\nc\n[c:children]\na\n").0,
            6
        );
        assert_eq!(error("[g:children]\nall\n").0, 2);
        // A host is not a group.
        assert_eq!(
            error("[g]\nh1\n[g:children]\nh1\n"),
            (
                4,
                "Section [g:children] includes undefined group 'h1'.".into()
            )
        );
    }

    #[test]
    fn empty_range_declares_group_without_hosts() {
        let data = load("[g]\nweb[3:1]\n").unwrap();
        assert!(hosts_of(&data, "g").is_empty());
    }
}
