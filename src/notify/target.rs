//! Where notifications go and which events each target wants.
//!
//! - `webhook=URL`: a POST of the JSON document, with a timeout and retries
//!   with back-off; header values may take `${env:NAME}` so tokens stay in
//!   the environment, out of files and the journal.
//! - `command=CMD`: a local command (`/bin/sh -c CMD`) that gets the same
//!   JSON on its stdin: mail, chat CLIs, anything.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What happened, as a notification names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// The first batch started (the gates passed).
    Started,
    /// The run ended, however it ended.
    Finished,
    /// The run ended failed, aborted (refused included) or interrupted.
    Failed,
    /// It ended ok, and the previous run of the same schedule (or of the
    /// same flow on the same targets, or the run it reran) had not.
    Recovered,
    /// An approval step or a `confirm` batch waits for an operator.
    NeedsApproval,
    /// The run paused after a failure (pause-on-failure).
    Paused,
    /// A guard `confirm` rule waits for an operator (or refused the run).
    Guard,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 7] = [
        NotifyEvent::Started,
        NotifyEvent::Finished,
        NotifyEvent::Failed,
        NotifyEvent::Recovered,
        NotifyEvent::NeedsApproval,
        NotifyEvent::Paused,
        NotifyEvent::Guard,
    ];

    /// What a target gets when it names no events: what a person must hear.
    pub const DEFAULT: [NotifyEvent; 5] = [
        NotifyEvent::Failed,
        NotifyEvent::Recovered,
        NotifyEvent::NeedsApproval,
        NotifyEvent::Paused,
        NotifyEvent::Guard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::Started => "started",
            NotifyEvent::Finished => "finished",
            NotifyEvent::Failed => "failed",
            NotifyEvent::Recovered => "recovered",
            NotifyEvent::NeedsApproval => "needs_approval",
            NotifyEvent::Paused => "paused",
            NotifyEvent::Guard => "guard",
        }
    }
}

impl fmt::Display for NotifyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NotifyEvent {
    type Err = String;

    fn from_str(text: &str) -> Result<NotifyEvent, String> {
        let text = text.trim();
        NotifyEvent::ALL
            .into_iter()
            .find(|e| e.as_str() == text || e.as_str().replace('_', "-") == text)
            .ok_or_else(|| {
                let names: Vec<&str> = NotifyEvent::ALL.iter().map(|e| e.as_str()).collect();
                format!(
                    "unknown notification event '{text}': expected {}",
                    names.join(", ")
                )
            })
    }
}

/// `failed,recovered` (or `all`).
pub fn parse_events(text: &str) -> Result<Vec<NotifyEvent>, String> {
    if text.trim() == "all" {
        return Ok(NotifyEvent::ALL.to_vec());
    }
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    Webhook {
        url: String,
        /// Header values as written (`${env:NAME}` expanded at delivery).
        headers: Vec<(String, String)>,
    },
    Command {
        command: String,
    },
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_RETRIES: u32 = 3;
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub channel: Channel,
    /// The events it wants; empty means `NotifyEvent::DEFAULT`.
    pub events: Vec<NotifyEvent>,
    /// For a schedule's runs: `failed` only once N fail in a row (sent when
    /// the streak reaches N, not again until a run succeeds).
    pub after: Option<u32>,
    /// Per attempt.
    pub timeout: Duration,
    /// Attempts after the first, each after twice the previous pause.
    pub retries: u32,
    pub backoff: Duration,
}

impl Target {
    pub fn new(channel: Channel) -> Target {
        Target {
            channel,
            events: Vec::new(),
            after: None,
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            backoff: DEFAULT_BACKOFF,
        }
    }

    /// `webhook=URL` or `command=CMD`, as `--notify` takes them.
    pub fn parse_cli(text: &str) -> Result<Target, String> {
        let (kind, value) = text
            .split_once('=')
            .ok_or_else(|| format!("--notify '{text}': expected webhook=URL or command=CMD"))?;
        let value = value.trim();
        let channel = match kind.trim() {
            "webhook" => Channel::Webhook {
                url: check_url(value).map_err(|e| format!("--notify '{text}': {e}"))?,
                headers: Vec::new(),
            },
            "command" if !value.is_empty() => Channel::Command {
                command: value.to_owned(),
            },
            "command" => return Err(format!("--notify '{text}': the command is empty")),
            other => {
                return Err(format!(
                    "--notify '{text}': unknown target '{other}'; expected webhook=URL or command=CMD"
                ));
            }
        };
        Ok(Target::new(channel))
    }

    pub fn wants(&self, event: NotifyEvent) -> bool {
        if self.events.is_empty() {
            NotifyEvent::DEFAULT.contains(&event)
        } else {
            self.events.contains(&event)
        }
    }

    /// The target as written (recorded with each delivery): never a value
    /// taken from the environment.
    pub fn describe(&self) -> String {
        match &self.channel {
            Channel::Webhook { url, .. } => format!("webhook {}", without_password(url)),
            Channel::Command { command } => format!("command {command}"),
        }
    }
}

/// A value of a target written in a file (YAML in a flow, TOML in the
/// config file), whatever the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Text(String),
    Number(u64),
    List(Vec<String>),
    Map(Vec<(String, String)>),
}

/// The keys a target written in a file may have.
pub const TARGET_KEYS: &[&str] = &[
    "webhook", "command", "headers", "on", "after", "timeout", "retries", "backoff",
];

impl Target {
    /// A target from a file's `key: value` fields; an error names the key.
    pub fn from_fields(fields: &[(String, Field)]) -> Result<Target, (String, String)> {
        let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let text = |key: &str, field: &Field| match field {
            Field::Text(t) => Ok(t.clone()),
            Field::Number(n) => Ok(n.to_string()),
            _ => Err((key.to_owned(), format!("{key} must be text"))),
        };
        if let Some((key, _)) = fields
            .iter()
            .find(|(k, _)| !TARGET_KEYS.contains(&k.as_str()))
        {
            return Err((
                key.clone(),
                format!(
                    "unknown key '{key}'; expected one of: {}",
                    TARGET_KEYS.join(", ")
                ),
            ));
        }
        let channel = match (get("webhook"), get("command")) {
            (Some(url), None) => {
                let url = text("webhook", url)?;
                let url = check_url(&url).map_err(|e| ("webhook".to_owned(), e))?;
                let headers = match get("headers") {
                    None => Vec::new(),
                    Some(Field::Map(pairs)) => pairs.clone(),
                    Some(_) => {
                        return Err((
                            "headers".into(),
                            "headers must be a mapping of names to values".into(),
                        ));
                    }
                };
                Channel::Webhook { url, headers }
            }
            (None, Some(command)) => {
                if get("headers").is_some() {
                    return Err(("headers".into(), "headers are for webhooks".into()));
                }
                let command = text("command", command)?;
                if command.trim().is_empty() {
                    return Err(("command".into(), "the command is empty".into()));
                }
                Channel::Command { command }
            }
            _ => {
                return Err((
                    String::new(),
                    "a notification target needs exactly one of webhook: URL or command: CMD"
                        .into(),
                ));
            }
        };
        let mut target = Target::new(channel);
        if let Some(on) = get("on") {
            let names = match on {
                Field::List(items) => items.join(","),
                other => text("on", other)?,
            };
            target.events = parse_events(&names).map_err(|e| ("on".to_owned(), e))?;
        }
        let whole = |key: &str| -> Result<Option<u64>, (String, String)> {
            match get(key) {
                None => Ok(None),
                Some(Field::Number(n)) => Ok(Some(*n)),
                Some(_) => Err((key.to_owned(), format!("{key} must be a whole number"))),
            }
        };
        let duration = |key: &str| -> Result<Option<Duration>, (String, String)> {
            match get(key) {
                None => Ok(None),
                Some(field) => crate::duration::parse_duration(&text(key, field)?)
                    .map(Some)
                    .map_err(|e| (key.to_owned(), format!("{key}: {e}"))),
            }
        };
        if let Some(after) = whole("after")? {
            if after == 0 {
                return Err(("after".into(), "after must be at least 1".into()));
            }
            target.after = Some(after.min(u64::from(u32::MAX)) as u32);
        }
        if let Some(retries) = whole("retries")? {
            target.retries = retries.min(10) as u32;
        }
        if let Some(timeout) = duration("timeout")? {
            target.timeout = timeout.max(Duration::from_millis(100));
        }
        if let Some(backoff) = duration("backoff")? {
            target.backoff = backoff;
        }
        Ok(target)
    }
}

/// An `http://` or `https://` URL with a host.
pub fn check_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("'{url}' is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("'{url}' has no host"));
    }
    Ok(url.to_owned())
}

/// `https://user:secret@host/x` → `https://user:***@host/x`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_targets() {
        let hook = Target::parse_cli("webhook=http://127.0.0.1:9/hook").unwrap();
        assert_eq!(hook.describe(), "webhook http://127.0.0.1:9/hook");
        assert!(hook.wants(NotifyEvent::Failed) && !hook.wants(NotifyEvent::Started));
        let mail = Target::parse_cli("command=mail -s 'a=b' ops@example.com").unwrap();
        assert_eq!(
            mail.channel,
            Channel::Command {
                command: "mail -s 'a=b' ops@example.com".into()
            }
        );
        assert!(
            Target::parse_cli("slack=x")
                .unwrap_err()
                .contains("unknown target 'slack'")
        );
        assert!(
            Target::parse_cli("webhook=ftp://x")
                .unwrap_err()
                .contains("not an http")
        );
        assert_eq!(
            parse_events("failed, needs-approval").unwrap(),
            [NotifyEvent::Failed, NotifyEvent::NeedsApproval]
        );
        assert!(parse_events("failed,oops").is_err());
        assert_eq!(
            without_password("https://bot:t0ken@hooks.example/x?y"),
            "https://bot:***@hooks.example/x?y"
        );
    }
}
