//! Building the command line sent to the host, and finding the command's process group.
//!
//! Why a wrapper: without a pty, closing an SSH channel does not stop the command
//! (OpenSSH sends no signal), so a timed-out `sleep 300` would live on. OpenSSH starts
//! every exec request in a new session (it calls `setsid()` before running the user's
//! shell), so the shell that runs our wrapper is the leader of both a session and a
//! process group that holds every process the command starts. The wrapper's first act
//! is to print its pid — that group id — on stdout, tagged with a per-run nonce so no
//! command output can forge it. To stop the command we open a second channel and kill
//! the group and the session (TERM, then KILL after a grace period). Only a process
//! that calls `setsid` itself escapes, as it would escape any tool.
//!
//! The wrapper then applies the step's manners (renice / ionice of its own shell, which
//! every process it starts inherits), exports the env vars (values single-quoted), and either `eval`s
//! the command or `exec`s the script's interpreter on `/dev/stdin` with the quoted
//! arguments; the script body follows on the channel's stdin.

use super::{Manners, Payload, RequestError};

/// Quotes `value` for a POSIX shell: `'...'`, with each `'` written as `'\''`.
/// Safe for every byte sequence: quotes, `$`, backticks, newlines, spaces.
pub fn shell_quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for ch in value.chars() {
        if ch == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(ch);
        }
    }
    quoted.push('\'');
    quoted
}

/// A POSIX shell variable name.
pub fn is_valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The program a script runs under, from its shebang line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    pub program: String,
    /// Linux passes everything after the program as one argument; so do we.
    pub argument: Option<String>,
}

impl Interpreter {
    pub fn from_script(body: &str) -> Result<Interpreter, RequestError> {
        let Some(shebang) = body.strip_prefix("#!") else {
            return Ok(Interpreter {
                program: "/bin/sh".into(),
                argument: None,
            });
        };
        let line = shebang.lines().next().unwrap_or("").trim();
        let (program, argument) = match line.split_once([' ', '\t']) {
            Some((program, rest)) => (program, Some(rest.trim().to_string())),
            None => (line, None),
        };
        if program.is_empty() {
            return Err(RequestError::BadShebang(format!("#!{line}")));
        }
        Ok(Interpreter {
            program: program.to_string(),
            argument: argument.filter(|arg| !arg.is_empty()),
        })
    }

    /// Like `command_words`, but the interpreter reads the script from its
    /// stdin directly (`sh -s`, `python3 -`), for when `/dev/stdin` cannot be
    /// reopened (the script runs as another user). Unknown interpreters
    /// fall back to `/dev/stdin`.
    pub fn stdin_words(&self, args: &[String]) -> String {
        // `#!/usr/bin/env python3` runs its argument as the interpreter.
        let real = if self.program.ends_with("/env") {
            self.argument.as_deref().unwrap_or("")
        } else {
            self.program.as_str()
        };
        let base = real.rsplit('/').next().unwrap_or(real);
        let marker = match base {
            "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" => "-s --",
            b if b.starts_with("python") || matches!(b, "perl" | "ruby" | "node") => "-",
            _ => return self.command_words(args),
        };
        let mut words = vec![shell_quote(&self.program)];
        if let Some(argument) = &self.argument {
            words.push(shell_quote(argument));
        }
        words.push(marker.into());
        words.extend(args.iter().map(|arg| shell_quote(arg)));
        words.join(" ")
    }

    /// The words that start the interpreter on a script read from stdin.
    pub fn command_words(&self, args: &[String]) -> String {
        let mut words = vec![shell_quote(&self.program)];
        if let Some(argument) = &self.argument {
            words.push(shell_quote(argument));
        }
        words.push("/dev/stdin".into());
        words.extend(args.iter().map(|arg| shell_quote(arg)));
        words.join(" ")
    }
}

/// The tag that carries the process group id, unique per run.
pub fn pgid_marker_prefix(nonce: &str) -> String {
    format!("\x1ejobdeck-pgid-{nonce}=")
}

/// The script the host's `/bin/sh` runs for `payload` (everything but the script body).
/// `nonce` must be unique per run (letters and digits).
pub fn wrapper_script(
    payload: &Payload,
    env: &[(String, String)],
    run_as: Option<&str>,
    manners: &Manners,
    nonce: &str,
) -> Result<String, RequestError> {
    let mut script = format!("printf '{}%s\\n' \"$$\"\n", pgid_marker_prefix(nonce));
    script.push_str(&manners.shell_lines());
    let body = payload_lines(payload, env, run_as.is_some())?;
    match run_as {
        // sudo resets the environment, so the exports run inside its shell.
        Some(user) => {
            script.push_str(&format!(
                "exec sudo -n -u {} -- /bin/sh -c {}\n",
                shell_quote(user),
                shell_quote(&body)
            ));
        }
        None => script.push_str(&body),
    }
    Ok(script)
}

/// The exports and the line that runs the payload.
pub fn payload_lines(
    payload: &Payload,
    env: &[(String, String)],
    via_sudo: bool,
) -> Result<String, RequestError> {
    let mut script = env_exports(env)?;
    match payload {
        Payload::Command(command) => {
            // `eval` keeps a syntax error in the command inside the command's own result.
            script.push_str("eval ");
            script.push_str(&shell_quote(command));
            script.push('\n');
        }
        Payload::Script { body, args } => {
            let interpreter = Interpreter::from_script(body)?;
            script.push_str("exec ");
            // Another user cannot reopen our stdin pipe as /dev/stdin.
            script.push_str(&if via_sudo {
                interpreter.stdin_words(args)
            } else {
                interpreter.command_words(args)
            });
            script.push('\n');
        }
    }
    Ok(script)
}

/// `export NAME='value'` lines for `env`.
pub fn env_exports(env: &[(String, String)]) -> Result<String, RequestError> {
    let mut lines = String::new();
    for (name, value) in env {
        if !is_valid_env_name(name) {
            return Err(RequestError::BadEnvName(name.clone()));
        }
        lines.push_str(&format!("export {name}={}\n", shell_quote(value)));
    }
    Ok(lines)
}

/// The exec request sent over SSH: whatever the login shell is, it hands the wrapper to
/// `/bin/sh` with `exec`, which keeps the pid (and so the process group id) unchanged.
pub fn ssh_exec_line(wrapper: &str) -> String {
    format!("exec /bin/sh -c {}", shell_quote(wrapper))
}

/// The command that signals a command's process group and session on the host.
pub fn kill_command(pgid: u32, signal: &str, run_as: Option<&str>) -> String {
    // pkill -s catches processes that moved to another group of the same session
    // (e.g. a script that turned on job control); it is optional on the host.
    // No `--` before the negative id: dash's kill rejects it.
    let plain = format!(
        "kill -{signal} -{pgid} 2>/dev/null; \
         command -v pkill >/dev/null 2>&1 && pkill -{signal} -s {pgid} 2>/dev/null; true"
    );
    match run_as {
        // The command's own processes belong to that user: signal them as it.
        Some(user) => format!(
            "{plain}; sudo -n -u {} -- /bin/sh -c {} 2>/dev/null; true",
            shell_quote(user),
            shell_quote(&plain)
        ),
        None => plain,
    }
}

/// Finds the pgid marker at the start of stdout. Text before the marker (a chatty
/// login file) is passed through; the marker line itself is removed.
#[derive(Debug)]
pub struct MarkerScanner {
    prefix: Vec<u8>,
    pending: Vec<u8>,
    state: ScanState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanState {
    Searching,
    Found(u32),
    GaveUp,
}

/// Stop looking after this much stdout: the marker is the wrapper's first output.
const MARKER_SEARCH_LIMIT: usize = 64 * 1024;

impl MarkerScanner {
    pub fn new(nonce: &str) -> Self {
        MarkerScanner {
            prefix: pgid_marker_prefix(nonce).into_bytes(),
            pending: Vec::new(),
            state: ScanState::Searching,
        }
    }

    pub fn pgid(&self) -> Option<u32> {
        match self.state {
            ScanState::Found(pgid) => Some(pgid),
            _ => None,
        }
    }

    /// Feeds stdout bytes; returns the bytes that belong to the command's output.
    pub fn feed(&mut self, data: &[u8]) -> Vec<u8> {
        if self.state != ScanState::Searching {
            return data.to_vec();
        }
        self.pending.extend_from_slice(data);
        if let Some(start) = find(&self.pending, &self.prefix) {
            let after = start + self.prefix.len();
            if let Some(newline) = self.pending[after..].iter().position(|&b| b == b'\n') {
                let digits = &self.pending[after..after + newline];
                let pgid = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|text| text.parse::<u32>().ok());
                self.state = match pgid {
                    Some(pgid) if pgid > 1 => ScanState::Found(pgid),
                    _ => ScanState::GaveUp,
                };
                let mut passed = self.pending[..start].to_vec();
                passed.extend_from_slice(&self.pending[after + newline + 1..]);
                self.pending.clear();
                return passed;
            }
            return Vec::new();
        }
        if self.pending.len() > MARKER_SEARCH_LIMIT {
            self.state = ScanState::GaveUp;
            return std::mem::take(&mut self.pending);
        }
        // Keep back only what could be the start of the marker.
        let keep = partial_suffix_len(&self.pending, &self.prefix);
        let passed_len = self.pending.len() - keep;
        self.pending.drain(..passed_len).collect()
    }

    /// Output held back at the end of the stream.
    pub fn finish(&mut self) -> Vec<u8> {
        if self.state == ScanState::Searching {
            self.state = ScanState::GaveUp;
        }
        std::mem::take(&mut self.pending)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The length of the longest suffix of `data` that is a proper prefix of `needle`.
fn partial_suffix_len(data: &[u8], needle: &[u8]) -> usize {
    (1..needle.len().min(data.len() + 1))
        .rev()
        .find(|&len| data.ends_with(&needle[..len]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn sh(script: &str) -> String {
        let output = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn quoted_values_survive_the_shell_unchanged() {
        for value in [
            "plain",
            "it's",
            "a $HOME `id` $(id) \\ \"x\"",
            "line1\nline2\n",
            "  spaces  ",
            "",
            "'''",
            "ünïcødé *?[a]",
        ] {
            let printed = sh(&format!("printf '%s' {}", shell_quote(value)));
            assert_eq!(printed, value, "value {value:?}");
        }
    }

    #[test]
    fn wrapper_prints_marker_then_runs_command_with_env() {
        let env = vec![("GREETING".to_string(), "it's $5 `now`\nok".to_string())];
        let wrapper = wrapper_script(
            &Payload::Command("printf '%s' \"$GREETING\"".into()),
            &env,
            None,
            &Manners::default(),
            "n1",
        )
        .unwrap();
        let out = sh(&wrapper);
        let mut scanner = MarkerScanner::new("n1");
        let mut passed = scanner.feed(out.as_bytes());
        passed.extend(scanner.finish());
        assert!(scanner.pgid().is_some());
        assert_eq!(String::from_utf8(passed).unwrap(), "it's $5 `now`\nok");
    }

    #[test]
    fn run_as_goes_through_sudo_with_env_and_stdin_script() {
        let env = vec![("X".to_string(), "it's".to_string())];
        let script = Payload::Script {
            body: "#!/usr/bin/env python3\nprint(1)\n".into(),
            args: vec!["a b".into()],
        };
        let wrapper =
            wrapper_script(&script, &env, Some("app"), &Manners::default(), "n1").unwrap();
        assert!(
            wrapper.contains("exec sudo -n -u 'app' -- /bin/sh -c "),
            "{wrapper}"
        );
        assert!(wrapper.contains("python3"), "{wrapper}");
        let interpreter = Interpreter::from_script("#!/bin/bash -e\n").unwrap();
        assert_eq!(
            interpreter.stdin_words(&["x".into()]),
            "'/bin/bash' '-e' -s -- 'x'"
        );
        let odd = Interpreter::from_script("#!/opt/bin/tclsh\n").unwrap();
        assert_eq!(odd.stdin_words(&[]), "'/opt/bin/tclsh' /dev/stdin");
        assert!(kill_command(7, "KILL", Some("app")).contains("sudo -n -u 'app'"));
    }

    #[test]
    fn marker_split_across_chunks_is_found_and_removed() {
        let data = format!("motd\n{}4242\nhello", pgid_marker_prefix("abc"));
        let mut scanner = MarkerScanner::new("abc");
        let mut passed = Vec::new();
        for byte in data.as_bytes() {
            passed.extend(scanner.feed(&[*byte]));
        }
        passed.extend(scanner.finish());
        assert_eq!(scanner.pgid(), Some(4242));
        assert_eq!(String::from_utf8(passed).unwrap(), "motd\nhello");
    }

    #[test]
    fn forged_marker_with_other_nonce_is_plain_output() {
        let mut scanner = MarkerScanner::new("real");
        let data = format!("{}99\n", pgid_marker_prefix("fake"));
        let mut passed = scanner.feed(data.as_bytes());
        passed.extend(scanner.finish());
        assert_eq!(scanner.pgid(), None);
        assert_eq!(passed, data.as_bytes());
    }

    #[test]
    fn kill_command_stops_the_whole_group_under_every_shell() {
        for shell in ["/bin/sh", "/bin/bash", "/bin/dash"] {
            if !std::path::Path::new(shell).exists() {
                continue;
            }
            use std::os::unix::process::CommandExt;
            let mut group = Command::new("/bin/sh")
                .arg("-c")
                .arg("sleep 3031 & sleep 3032")
                .process_group(0)
                .spawn()
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(100));
            // An empty PATH hides pkill: the kill builtin alone must do it.
            let status = Command::new(shell)
                .arg("-c")
                .arg(kill_command(group.id(), "KILL", None))
                .env("PATH", "")
                .status()
                .unwrap();
            assert!(status.success());
            let waited = group.wait().unwrap();
            assert!(!waited.success(), "{shell}: the group leader survived");
            std::thread::sleep(std::time::Duration::from_millis(100));
            let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
            let listing = String::from_utf8_lossy(&ps.stdout);
            assert!(
                !listing.contains("sleep 3031"),
                "{shell}: background child survived"
            );
        }
    }

    #[test]
    fn shebang_picks_interpreter_and_single_argument() {
        let interp = Interpreter::from_script("#!/usr/bin/env python3\nprint(1)\n").unwrap();
        assert_eq!(interp.program, "/usr/bin/env");
        assert_eq!(interp.argument.as_deref(), Some("python3"));
        let interp = Interpreter::from_script("echo hi\n").unwrap();
        assert_eq!(interp.program, "/bin/sh");
        assert!(Interpreter::from_script("#!  \n").is_err());
    }

    #[test]
    fn env_names_are_checked() {
        assert!(is_valid_env_name("_A1"));
        assert!(!is_valid_env_name("A-B"));
        assert!(!is_valid_env_name(""));
        assert!(!is_valid_env_name("A B"));
    }
}
