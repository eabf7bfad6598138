//! Sending one document to one target: a webhook POST or a local command,
//! each attempt bounded by the target's timeout, failures retried with
//! back-off (doubling from the target's `backoff`).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::target::{Channel, Target};

/// How a delivery went, as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub sent: bool,
    pub attempts: u32,
    /// The last HTTP status a webhook answered with.
    pub http_status: Option<u16>,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// One attempt's result: `Err((retry, why))` says whether to try again.
type Attempt = Result<Option<u16>, (bool, Option<u16>, String)>;

/// Delivers `body` to `target`, retrying as it says.
pub fn deliver(target: &Target, body: &str) -> Delivery {
    let mut pause = target.backoff;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let result = match &target.channel {
            Channel::Webhook { url, headers } => post(url, headers, body, target.timeout),
            Channel::Command { command } => run_command(command, body, target.timeout),
        };
        match result {
            Ok(status) => {
                return Delivery {
                    sent: true,
                    attempts,
                    http_status: status,
                    error: None,
                };
            }
            Err((retry, status, why)) => {
                if !retry || attempts > target.retries {
                    return Delivery {
                        sent: false,
                        attempts,
                        http_status: status,
                        error: Some(why),
                    };
                }
            }
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(60));
    }
}

/// `${env:NAME}` in `text` replaced by the variable's value.
pub fn expand_env(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${env:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("'${{env:' without a closing '}}' in {text:?}"))?;
        let name = &after[..end];
        let value = std::env::var(name)
            .map_err(|_| format!("the environment variable {name} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn post(url: &str, headers: &[(String, String)], body: &str, timeout: Duration) -> Attempt {
    let url = expand_env(url).map_err(|e| (false, None, e))?;
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("jobdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent();
    let mut request = agent.post(&url).header("Content-Type", "application/json");
    for (name, value) in headers {
        let value = expand_env(value).map_err(|e| (false, None, format!("header {name}: {e}")))?;
        request = request.header(name, &value);
    }
    match request.send(body) {
        Ok(response) => {
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                Ok(Some(status))
            } else {
                // Client errors other than rate limits will not get better.
                let retry = status >= 500 || status == 429 || status == 408;
                Err((retry, Some(status), format!("HTTP {status}")))
            }
        }
        Err(e) => Err((true, None, e.to_string())),
    }
}

fn run_command(command: &str, body: &str, timeout: Duration) -> Attempt {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| (true, None, format!("cannot start: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its stdin is fine.
        let _ = stdin.write_all(body.as_bytes());
    }
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(None),
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    use std::io::Read;
                    let _ = (&mut stderr).take(4096).read_to_string(&mut err);
                }
                let first = err.lines().map(str::trim).find(|l| !l.is_empty());
                let what = match status.code() {
                    Some(code) => format!("exit {code}"),
                    None => "killed by a signal".to_owned(),
                };
                return Err((
                    true,
                    None,
                    match first {
                        Some(line) => {
                            format!("{what}: {}", crate::report::sanitize::one_line(line))
                        }
                        None => what,
                    },
                ));
            }
            Ok(None) if Instant::now() >= deadline => {
                // The whole group: the command may have started others.
                // SAFETY: kill on the child's own process group.
                unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
                let _ = child.wait();
                return Err((
                    true,
                    None,
                    format!("timed out after {}s", timeout.as_secs_f64()),
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err((true, None, e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_expand_and_missing_ones_fail() {
        // SAFETY: set before any thread of this test reads it.
        unsafe { std::env::set_var("JOBDECK_TEST_HOOK_TOKEN", "t0k") };
        assert_eq!(
            expand_env("Bearer ${env:JOBDECK_TEST_HOOK_TOKEN}").unwrap(),
            "Bearer t0k"
        );
        assert!(
            expand_env("${env:JOBDECK_TEST_NOT_SET_ANYWHERE}")
                .unwrap_err()
                .contains("JOBDECK_TEST_NOT_SET_ANYWHERE is not set")
        );
    }

    #[test]
    fn a_command_gets_the_document_on_stdin_and_failures_are_retried() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got.json");
        let ok = Target::new(Channel::Command {
            command: format!("cat > {}", out.display()),
        });
        let d = deliver(&ok, "{\"event\":\"failed\"}");
        assert!(d.sent, "{d:?}");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"event\":\"failed\"}"
        );
        let mut bad = Target::new(Channel::Command {
            command: "echo nope >&2; exit 3".into(),
        });
        bad.retries = 2;
        bad.backoff = Duration::from_millis(10);
        let d = deliver(&bad, "{}");
        assert_eq!(
            d,
            Delivery {
                sent: false,
                attempts: 3,
                http_status: None,
                error: Some("exit 3: nope".into())
            }
        );
    }
}
