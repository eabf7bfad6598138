//! `--json`: every event as one JSON object per line. A host's and a step's
//! name follow their index (`"host":0,"host_name":"web01"`), so a reader
//! needs no lookup table from the first line.

use serde_json::{Map, Value};

use crate::engine::events::{Event, EventKind};

/// The names announced when the instance started.
#[derive(Debug, Default)]
pub struct JsonLines {
    hosts: Vec<String>,
    steps: Vec<String>,
}

impl JsonLines {
    /// The event as one line of JSON, newline included.
    pub fn line(&mut self, event: &Event) -> Option<String> {
        if let EventKind::InstanceStarted { hosts, steps, .. } = &event.kind {
            self.hosts.clone_from(hosts);
            self.steps.clone_from(steps);
        }
        let Ok(Value::Object(fields)) = serde_json::to_value(event) else {
            return None;
        };
        let mut named = Map::with_capacity(fields.len() + 2);
        for (key, value) in fields {
            let name = match (key.as_str(), value.as_u64()) {
                ("host", Some(i)) => name_of(&self.hosts, i).map(|n| ("host_name", n)),
                ("step", Some(i)) => name_of(&self.steps, i).map(|n| ("step_name", n)),
                _ => None,
            };
            named.insert(key, value);
            if let Some((key, name)) = name {
                named.insert(key.into(), Value::String(name.to_owned()));
            }
        }
        let mut line = serde_json::to_string(&Value::Object(named)).ok()?;
        line.push('\n');
        Some(line)
    }
}

fn name_of(names: &[String], index: u64) -> Option<&str> {
    names.get(usize::try_from(index).ok()?).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::HostStatus;

    fn event(kind: EventKind) -> Event {
        Event {
            instance: 7,
            at: 1,
            kind,
        }
    }

    #[test]
    fn hosts_and_steps_are_named_next_to_their_index() {
        let mut json = JsonLines::default();
        let started = json
            .line(&event(EventKind::InstanceStarted {
                flow: "deploy".into(),
                hosts: vec!["web01".into(), "web02".into()],
                steps: vec!["stop".into(), "rollback: restore".into()],
                batches: vec![vec![0, 1]],
            }))
            .unwrap();
        assert!(started.ends_with('\n'));
        let step = json
            .line(&event(EventKind::StepStarted {
                host: 1,
                step: 1,
                attempt: 1,
            }))
            .unwrap();
        assert_eq!(
            step,
            "{\"instance\":7,\"at\":1,\"event\":\"step_started\",\"host\":1,\"host_name\":\"web02\",\
             \"step\":1,\"step_name\":\"rollback: restore\",\"attempt\":1}\n"
        );
        let done = json
            .line(&event(EventKind::HostFinished {
                host: 0,
                status: HostStatus::Ok,
            }))
            .unwrap();
        assert!(
            done.contains("\"host\":0,\"host_name\":\"web01\""),
            "{done}"
        );
        // An index the start did not announce keeps the index alone.
        let odd = json
            .line(&event(EventKind::HostConnecting { host: 9 }))
            .unwrap();
        assert!(!odd.contains("host_name"), "{odd}");
    }
}
