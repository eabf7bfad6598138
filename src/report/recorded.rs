//! A recorded run's target and rollout (the journal's JSON) in words, for
//! `show`: `selection: pattern 'web', project shop` rather than the raw
//! `pattern=web, project=shop, hosts=[]`. Keys this does not know (from a
//! newer jobdeck) are still shown, as `key=value`.

use std::time::Duration;

use serde_json::{Map, Value};

use super::sanitize::one_line;
use crate::duration::format_duration;
use crate::hostlist::fold;

/// `show`'s header lines for a target: what ran, how the hosts were chosen,
/// from which inventory, and how they were reached.
pub fn target_lines(target: &Value) -> Vec<(&'static str, String)> {
    let Value::Object(map) = target else {
        return match target {
            Value::Null => Vec::new(),
            other => vec![("target", text(other))],
        };
    };
    let mut rest = map.clone();
    let mut take = |key: &str| rest.remove(key).filter(|v| !v.is_null());
    let mut lines = Vec::new();
    if let Some(path) = take("flow_path") {
        lines.push(("flow", text(&path)));
    }
    if let Some(command) = take("command") {
        lines.push(("command", text(&command)));
    }
    let pattern = take("pattern");
    let filters: Vec<String> = ["project", "cluster", "app"]
        .into_iter()
        .filter_map(|key| take(key).map(|v| format!("{key} {}", text(&v))))
        .collect();
    let hosts = take("hosts").filter(|h| h.as_array().is_some_and(|a| !a.is_empty()));
    let rerun_of = take("rerun_of");
    let in_console = take("console") == Some(Value::Bool(true));
    // `show` prints the lock with the run's other guardrails.
    take("lock");
    let selection = match hosts {
        // An explicit list replaces the pattern and the filters.
        Some(list) => {
            let names: Vec<String> = strings(&list);
            format!("hosts {}", fold(names.iter().map(String::as_str)))
        }
        None => {
            let mut parts = vec![match &pattern {
                Some(p) => format!("pattern '{}'", text(p)),
                None => "all hosts".to_owned(),
            }];
            parts.extend(filters);
            parts.join(", ")
        }
    };
    let selection = match rerun_of {
        Some(id) => format!("{selection} (rerun of instance {})", text(&id)),
        None => selection,
    };
    let selection = match in_console {
        true => format!("{selection}, picked in the console"),
        false => selection,
    };
    lines.push(("selection", selection));
    if let Some(sources) = take("inventory") {
        lines.push(("inventory", strings(&sources).join(", ")));
    }
    if let Some(Value::Object(connect)) = take("connect") {
        lines.push(("connect", connect_text(&connect)));
    }
    if let Some(Value::Object(safety)) = take("safety") {
        lines.push(("options", flags_text(&safety)));
    }
    if !rest.is_empty() {
        lines.push(("target", pairs(&rest)));
    }
    lines
}

/// `batches 1 30% 100% (1+2+1 hosts), interval 0s, mode pause-on-failure, ...`.
pub fn rollout_line(rollout: &Value) -> String {
    let Value::Object(map) = rollout else {
        return match rollout {
            Value::Null => "-".to_owned(),
            other => text(other),
        };
    };
    let mut rest = map.clone();
    let mut take = |key: &str| rest.remove(key).filter(|v| !v.is_null());
    let mut parts = Vec::new();
    let sizes = take("sizes").map(|s| {
        let sizes: Vec<String> = s
            .as_array()
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default();
        format!("({} hosts)", sizes.join("+"))
    });
    match (take("batches"), sizes) {
        (Some(expr), Some(sizes)) => parts.push(format!("batches {} {sizes}", text(&expr))),
        (Some(expr), None) => parts.push(format!("batches {}", text(&expr))),
        (None, Some(sizes)) => parts.push(format!("batches {sizes}")),
        (None, None) => {}
    }
    if let Some(ms) = take("interval_ms") {
        parts.push(format!("interval {}", millis(&ms)));
    }
    for key in ["mode", "max_fail", "forks", "order"] {
        if let Some(value) = take(key) {
            parts.push(format!("{} {}", key.replace('_', "-"), text(&value)));
        }
    }
    if let Some(ms) = take("timeout_ms") {
        parts.push(format!("timeout {}", millis(&ms)));
    }
    if !rest.is_empty() {
        parts.push(pairs(&rest));
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(", ")
    }
}

/// `-F ssh_config, --accept-new, --connect-timeout 5s`: the options as typed.
fn connect_text(connect: &Map<String, Value>) -> String {
    let mut rest = connect.clone();
    let mut parts = Vec::new();
    if let Some(path) = rest.remove("ssh_config").filter(|v| !v.is_null()) {
        parts.push(format!("-F {}", text(&path)));
    }
    if rest.remove("accept_new") == Some(Value::Bool(true)) {
        parts.push("--accept-new".to_owned());
    }
    if let Some(ms) = rest.remove("connect_timeout_ms").filter(|v| !v.is_null()) {
        parts.push(format!("--connect-timeout {}", millis(&ms)));
    }
    if !rest.is_empty() {
        parts.push(pairs(&rest));
    }
    parts.join(", ")
}

/// `--preflight check, --allow R, --lock-wait 5m`: the guardrail options as
/// typed (`lock_wait_ms` as `--lock-wait`; a list as one flag per item).
fn flags_text(options: &Map<String, Value>) -> String {
    let mut parts = Vec::new();
    for (key, value) in options.iter().filter(|(_, v)| !v.is_null()) {
        let (name, value) = match key.strip_suffix("_ms") {
            Some(name) => (name, Value::String(millis(value))),
            None => (key.as_str(), value.clone()),
        };
        let flag = format!("--{}", one_line(&name.replace('_', "-")));
        match value {
            Value::Array(items) => {
                parts.extend(items.iter().map(|item| format!("{flag} {}", text(item))))
            }
            Value::Bool(true) => parts.push(flag),
            other => parts.push(format!("{flag} {}", text(&other))),
        }
    }
    parts.join(", ")
}

fn millis(value: &Value) -> String {
    match value.as_u64() {
        Some(ms) => format_duration(Duration::from_millis(ms)),
        None => text(value),
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(text).collect(),
        other => vec![text(other)],
    }
}

/// A value on one line: strings bare, anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => one_line(s),
        other => one_line(&other.to_string()),
    }
}

fn pairs(map: &Map<String, Value>) -> String {
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| format!("{}={}", one_line(k), text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_flow_run_reads_as_words() {
        let target = json!({
            "flow_path": "/srv/flows/deploy.yml",
            "command": null,
            "pattern": "local",
            "project": null,
            "cluster": "lab_c1",
            "app": null,
            "hosts": [],
            "inventory": ["/srv/inventory", "/srv/extra.ini"],
            "connect": null,
        });
        assert_eq!(
            target_lines(&target),
            vec![
                ("flow", "/srv/flows/deploy.yml".to_owned()),
                ("selection", "pattern 'local', cluster lab_c1".to_owned()),
                ("inventory", "/srv/inventory, /srv/extra.ini".to_owned()),
            ]
        );
    }

    #[test]
    fn an_explicit_list_a_rerun_and_connection_options() {
        let target = json!({
            "command": "uptime",
            "pattern": "web",
            "hosts": ["web01", "web02", "db1"],
            "rerun_of": 3,
            "connect": {"ssh_config": "/etc/jobdeck/ssh_config", "accept_new": true,
                        "connect_timeout_ms": 2500},
            "future_key": "kept",
        });
        assert_eq!(
            target_lines(&target),
            vec![
                ("command", "uptime".to_owned()),
                (
                    "selection",
                    "hosts web[01-02],db1 (rerun of instance 3)".to_owned()
                ),
                (
                    "connect",
                    "-F /etc/jobdeck/ssh_config, --accept-new, --connect-timeout 2s500ms"
                        .to_owned()
                ),
                ("target", "future_key=kept".to_owned()),
            ]
        );
        assert_eq!(
            target_lines(&json!({}))[0],
            ("selection", "all hosts".to_owned())
        );
    }

    #[test]
    fn guardrail_options_read_as_flags_and_the_lock_is_left_to_its_section() {
        let target = json!({
            "hosts": ["l1"],
            "console": true,
            "lock": "deploy",
            "safety": {"preflight": "check", "allow": ["rm-rf", "reboot"],
                       "lock_wait_ms": 300_000, "nice": 10, "notify": ["http://127.0.0.1:9/x"]},
        });
        assert_eq!(
            target_lines(&target),
            vec![
                ("selection", "hosts l1, picked in the console".to_owned()),
                (
                    "options",
                    "--preflight check, --allow rm-rf, --allow reboot, --lock-wait 5m, \
                     --nice 10, --notify http://127.0.0.1:9/x"
                        .to_owned()
                ),
            ]
        );
    }

    #[test]
    fn the_rollout_reads_as_its_flags() {
        let rollout = json!({
            "batches": "1 30% 100%", "sizes": [1, 2, 1], "interval_ms": 7_200_000,
            "mode": "pause-on-failure", "max_fail": "25%", "forks": 64,
            "order": "inventory", "timeout_ms": null,
        });
        assert_eq!(
            rollout_line(&rollout),
            "batches 1 30% 100% (1+2+1 hosts), interval 2h, mode pause-on-failure, \
             max-fail 25%, forks 64, order inventory"
        );
        assert_eq!(rollout_line(&Value::Null), "-");
    }
}
