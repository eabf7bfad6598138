//! The document `ansible-inventory --list` prints, byte for byte: the same
//! groups, `_meta.hostvars`, key order (sorted), indentation (4 spaces) and
//! number formatting as Python's `json.dumps(..., sort_keys=True, indent=4)`.

use serde_json::{Map, Value};

use super::data::{ALL, GroupId};
use super::pyliteral::float_repr;
use super::{Inventory, VarMap, vars};

/// Variables Ansible computes itself and strips from its output, even when
/// an inventory sets them.
const INTERNAL_VARS: &[&str] = &[
    "ansible_async_path",
    "ansible_collection_name",
    "ansible_config_file",
    "ansible_dependent_role_names",
    "ansible_diff_mode",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_play_batch",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_role_names",
    "ansible_playbook_python",
    "ansible_role_name",
    "ansible_role_names",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "groups",
    "group_names",
    "hostvars",
    "playbook_dir",
    "play_hosts",
    "role_name",
    "role_names",
    "role_path",
    "role_uuid",
];

/// `ansible-inventory --list` (or `--list --export` when `export` is set).
pub fn list_json(inv: &Inventory, export: bool) -> String {
    let mut groups = Map::new();
    let mut seen = vec![false; inv.data.groups.len()];
    format_group(inv, ALL, export, &mut seen, &mut groups);

    // Host variables are written straight from the resolved maps: building
    // a `Value` per host would copy every variable of 10,000 hosts again.
    let mut hosts: Vec<(&str, usize)> = inv
        .all_hosts()
        .into_iter()
        .map(|h| (inv.host_name(h), h))
        .collect();
    hosts.sort_unstable_by(|a, b| a.0.cmp(b.0));

    // The top level is sorted too, and `_meta` sorts among the group names.
    let mut top: Vec<&str> = groups.keys().map(String::as_str).collect();
    top.push(META);
    top.sort_unstable();

    let mut out = String::with_capacity(1 << 20);
    out.push('{');
    for (i, key) in top.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline_indent(1, &mut out);
        push_json_string(key, &mut out);
        out.push_str(": ");
        if key == META {
            write_meta(inv, &hosts, export, &mut out);
        } else {
            write_python_json(&groups[key], 1, &mut out);
        }
    }
    newline_indent(0, &mut out);
    out.push('}');
    out
}

const META: &str = "_meta";

/// `_meta`: `hostvars` (hosts sorted by name, hosts without variables left
/// out) and `profile`, at indentation level 1.
fn write_meta(inv: &Inventory, hosts: &[(&str, usize)], export: bool, out: &mut String) {
    out.push('{');
    newline_indent(2, out);
    out.push_str("\"hostvars\": ");
    let mut any_host = false;
    for &(name, h) in hosts {
        let own_vars;
        let vars = if export {
            own_vars = vars::host_own_vars(inv, h);
            &own_vars
        } else {
            &inv.hostvars[h]
        };
        let mut keys: Vec<(&str, &Value)> = vars
            .iter()
            .filter(|(k, _)| !INTERNAL_VARS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        if keys.is_empty() {
            continue;
        }
        keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out.push_str(if any_host { "," } else { "{" });
        any_host = true;
        newline_indent(3, out);
        push_json_string(name, out);
        out.push_str(": {");
        for (i, (key, value)) in keys.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            newline_indent(4, out);
            push_json_string(key, out);
            out.push_str(": ");
            write_python_json(value, 4, out);
        }
        newline_indent(3, out);
        out.push('}');
    }
    if any_host {
        newline_indent(2, out);
        out.push('}');
    } else {
        out.push_str("{}");
    }
    out.push(',');
    newline_indent(2, out);
    out.push_str("\"profile\": \"inventory_legacy\"");
    newline_indent(1, out);
    out.push('}');
}

/// One group's entry, then its children's (each group once), dropping empty
/// keys and empty groups the way ansible-inventory does.
fn format_group(
    inv: &Inventory,
    g: GroupId,
    export: bool,
    seen: &mut [bool],
    doc: &mut Map<String, Value>,
) {
    let group = inv.data.group(g);
    let mut entry = Map::new();
    if g != ALL {
        let hosts: Vec<Value> = group
            .hosts
            .iter()
            .map(|&h| Value::String(inv.host_name(h).to_string()))
            .collect();
        entry.insert("hosts".into(), Value::Array(hosts));
    }
    let mut children = Vec::with_capacity(group.children.len());
    // Insert this group's key first so a child's entry cannot replace it.
    doc.insert(group.name.clone(), Value::Null);
    for &c in &group.children {
        children.push(Value::String(inv.data.group(c).name.clone()));
        if !seen[c] {
            format_group(inv, c, export, seen, doc);
            seen[c] = true;
        }
    }
    entry.insert("children".into(), Value::Array(children));
    if export {
        let vars = without_internal(vars::group_own_vars(inv, g));
        entry.insert("vars".into(), Value::Object(vars.into_iter().collect()));
    }
    entry.retain(|_, v| !is_empty(v));
    if entry.is_empty() {
        doc.remove(&group.name);
    } else {
        doc.insert(group.name.clone(), Value::Object(entry));
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn without_internal(mut vars: VarMap) -> VarMap {
    vars.retain(|k, _| !INTERNAL_VARS.contains(&k.as_str()));
    vars
}

/// Python's `json.dumps(value, sort_keys=True, indent=4)`, with non-ASCII
/// text written as UTF-8 as ansible-inventory writes it.
pub fn write_python_json(value: &Value, level: usize, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if super::is_integer_text(n.as_str()) {
                out.push_str(n.as_str());
            } else {
                out.push_str(&float_repr(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        Value::String(s) => push_json_string(s, out),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(level + 1, out);
                write_python_json(item, level + 1, out);
            }
            newline_indent(level, out);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(level + 1, out);
                push_json_string(key, out);
                out.push_str(": ");
                write_python_json(&map[key], level + 1, out);
            }
            newline_indent(level, out);
            out.push('}');
        }
    }
}

/// A JSON string literal as serde_json (and Python with ensure_ascii off)
/// writes it: quotes, backslashes and control characters escaped, all other
/// text as is.
fn push_json_string(s: &str, out: &mut String) {
    out.push('"');
    let mut plain_from = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain_from..i]);
        plain_from = i + 1;
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&s[plain_from..]);
    out.push('"');
}

fn newline_indent(level: usize, out: &mut String) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("    ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_repr() {
        for (f, want) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1.5e20, "1.5e+20"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (123.456, "123.456"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.0, "0.0"),
        ] {
            assert_eq!(float_repr(f), want, "{f}");
        }
    }

    #[test]
    fn strings_are_escaped_like_serde_json() {
        for s in [
            "",
            "plain",
            "q\"b\\",
            "\n\r\t\u{8}\u{c}",
            "\u{0}\u{1f}\u{7f}",
            "é ✓ 𝄞",
            "a\u{1}b",
        ] {
            let mut out = String::new();
            push_json_string(s, &mut out);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn objects_are_sorted_and_indented_like_python() {
        let v: Value =
            serde_json::from_str(r#"{"b": [1, {}], "a": {"y": [], "x": "é\n"}}"#).unwrap();
        let mut out = String::new();
        write_python_json(&v, 0, &mut out);
        assert_eq!(
            out,
            "{\n    \"a\": {\n        \"x\": \"é\\n\",\n        \"y\": []\n    },\n    \"b\": [\n        1,\n        {}\n    ]\n}"
        );
    }
}
