//! How a request runs on a host: the command line, what goes over stdin, the
//! process group, and how the step's processes are found again to be killed.
//!
//! Nothing secret goes on a command line (any user on the host can read it in
//! `ps`): the exec request is a fixed bootstrap, and everything else (the
//! exports, the command itself, the script's arguments) follows on the
//! channel's stdin, where only the step's own shell reads it:
//!
//! 1. The bootstrap prints its pid, tagged with a per-run nonce so no command
//!    output can forge it, then applies the step's manners (renice and
//!    ionice of its own shell, which everything it starts inherits). OpenSSH starts every exec request in a new session
//!    (`setsid()` before the user's shell), so that pid is the command's
//!    process group and session id.
//! 2. It reads exactly N lines from stdin (N is on the command line; `read`
//!    takes one byte at a time from a pipe, so nothing past them is consumed)
//!    and `eval`s them. Under `run_as` it first `exec`s
//!    `sudo -n -u USER -- /bin/sh -c READER`, so those lines are read by the
//!    user's shell: sudo resets the environment, and the exports must be made
//!    inside it.
//! 3. The lines export the step's mark (see below) and the environment, then
//!    `eval` the command, or `exec` the script's interpreter on `/dev/stdin`
//!    (`sh -s`, `python3 -` under sudo, where the pipe cannot be reopened),
//!    which reads the rest of stdin: the script's body.
//!
//! A command's own stdin is empty (EOF right after those lines), as it always
//! was; a script's stdin is its body. Local hosts run the same bootstrap
//! under `/bin/sh -c`.
//!
//! Stopping a step: without a pty, closing an SSH channel stops nothing
//! (OpenSSH sends no signal), and a process that calls `setsid` or forks twice
//! leaves the group and session. So every process a step starts carries an
//! environment mark, `JOBDECK_MARK_<random>=1` (exported in step 3; under
//! `run_as` also set before sudo's shell is re-exec'd, since that shell is
//! not in the step's group), as Jenkins' process-tree killer does, and the
//! kill, run on a second channel, signals the group, the session, and every
//! process whose `/proc/PID/environ` holds the mark: TERM, up to the grace
//! period for them to end, then KILL until none is left. Only a process that
//! clears its environment (`env -i`) escapes the mark; on hosts without
//! `/proc` the group and session are all there is.

use std::time::Duration;

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

/// The environment variable that marks a step's processes is this prefix and
/// the step's mark (`JOBDECK_MARK_<hex>=1`): a step started by another step
/// (a jobdeck inside a step) carries both marks.
pub const STEP_MARK_PREFIX: &str = "JOBDECK_MARK_";

/// The tag that carries the process group id, unique per run.
pub fn pgid_marker_prefix(nonce: &str) -> String {
    format!("\x1ejobdeck-pgid-{nonce}=")
}

/// How one request is started: a command line with nothing secret in it, and
/// the bytes to write to its stdin (then EOF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The script `/bin/sh -c` runs; for SSH wrap it in [`ssh_exec_line`].
    pub bootstrap: String,
    pub stdin: Vec<u8>,
}

/// Builds the launch of `payload` with `env`. `mark` (letters and digits,
/// unique per step) marks its processes; `pgid_nonce`, when given, has the
/// bootstrap print its process group id tagged with it (SSH hosts; a local
/// child's id is known).
pub fn launch(
    payload: &Payload,
    env: &[(String, String)],
    run_as: Option<&str>,
    manners: &Manners,
    mark: &str,
    pgid_nonce: Option<&str>,
) -> Result<Launch, RequestError> {
    let mark_var = format!("{STEP_MARK_PREFIX}{mark}");
    if !is_valid_env_name(&mark_var) {
        return Err(RequestError::BadEnvName(mark_var));
    }
    let settings = settings_lines(payload, env, run_as.is_some(), &mark_var)?;
    let reader = settings_reader(settings.matches('\n').count());
    let mut bootstrap = String::new();
    if let Some(nonce) = pgid_nonce {
        bootstrap.push_str(&format!(
            "printf '{}%s\\n' \"$$\"\n",
            pgid_marker_prefix(nonce)
        ));
    }
    // nice / ionice of this shell: everything it starts (sudo too) inherits them.
    bootstrap.push_str(&manners.shell_lines());
    match run_as {
        // sudo resets the environment, and its shell runs in a session of its
        // own (use_pty): that shell is re-exec'd with the mark, so it is found
        // like the processes it starts.
        Some(user) => {
            let marked_reader = format!(
                "export {mark_var}=1\nexec /bin/sh -c {}\n",
                shell_quote(&reader)
            );
            bootstrap.push_str(&format!(
                "exec sudo -n -u {} -- /bin/sh -c {}\n",
                shell_quote(user),
                shell_quote(&marked_reader)
            ));
        }
        // This shell leads the step's process group: the kill finds it by its id.
        None => bootstrap.push_str(&reader),
    }
    let mut stdin = settings.into_bytes();
    if let Payload::Script { body, .. } = payload {
        stdin.extend_from_slice(body.as_bytes());
    }
    Ok(Launch { bootstrap, stdin })
}

/// Reads `lines` lines from stdin and runs them; exits 125 if they did not all
/// arrive. Its variables are unset by the first of those lines.
fn settings_reader(lines: usize) -> String {
    format!(
        "jobdeck_n={lines} jobdeck_p=\n\
         while [ \"$jobdeck_n\" -gt 0 ] && IFS= read -r jobdeck_l; do\n\
         jobdeck_p=\"$jobdeck_p$jobdeck_l\n\"; jobdeck_n=$((jobdeck_n - 1)); done\n\
         [ \"$jobdeck_n\" -eq 0 ] || {{ echo 'jobdeck: the step did not arrive on stdin' >&2; exit 125; }}\n\
         eval \"$jobdeck_p\"\n"
    )
}

/// The lines sent on stdin: the exports (the mark first) and the line that
/// runs the payload.
fn settings_lines(
    payload: &Payload,
    env: &[(String, String)],
    via_sudo: bool,
    mark_var: &str,
) -> Result<String, RequestError> {
    let mut lines = format!("unset jobdeck_n jobdeck_p jobdeck_l\nexport {mark_var}=1\n");
    lines.push_str(&env_exports(env)?);
    match payload {
        Payload::Command(command) => {
            // `eval` keeps a syntax error in the command inside the command's own result.
            lines.push_str("eval ");
            lines.push_str(&shell_quote(command));
            lines.push('\n');
        }
        Payload::Script { body, args } => {
            let interpreter = Interpreter::from_script(body)?;
            lines.push_str("exec ");
            // Another user cannot reopen our stdin pipe as /dev/stdin.
            lines.push_str(&if via_sudo {
                interpreter.stdin_words(args)
            } else {
                interpreter.command_words(args)
            });
            lines.push('\n');
        }
    }
    Ok(lines)
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

/// The `/bin/sh` script that stops a step: TERM to its processes, up to
/// `grace` for them to go, then KILL until none is left. Its processes are
/// the group and session `pgid` (when known) and every process whose
/// environment holds the step's `mark`: all of them but the group's leader
/// (the step's shell, or sudo) and sudo's own processes. The wait watches the
/// marked processes in `/proc` (a zombie has no environment: it counts as
/// gone) and the leader, which sshd or jobdeck reaps at once; not the whole
/// group, where an init that reaps late keeps zombies for a while. Without
/// `/proc` it watches the group. Whatever is left of the group gets KILL. Under `run_as` the script runs again as that user (whose
/// processes' environments only it and root may read).
pub fn kill_command(
    pgid: Option<u32>,
    mark: &str,
    grace: Duration,
    run_as: Option<&str>,
) -> String {
    // An empty or odd mark could match other steps' processes: no mark then.
    let pattern = if !mark.is_empty() && mark.bytes().all(|b| b.is_ascii_alphanumeric()) {
        format!("{STEP_MARK_PREFIX}{mark}=")
    } else {
        String::new()
    };
    // The grace period is timed by a `sleep` of its own, so the time the checks
    // take does not add to it (`sleep` may not take fractions: whole seconds then).
    let millis = grace.as_millis();
    let (fraction, whole) = (
        format!("{}.{}", millis / 1000, millis % 1000 / 100),
        millis.div_ceil(1000),
    );
    let script = |group: Option<u32>| {
        let group = group.filter(|&pgid| pgid > 1).map(|g| g.to_string());
        // pkill -s catches processes that moved to another group of the same
        // session; it is optional on the host. No `--` before the negative id:
        // dash's kill rejects it. The builtin kill only: procps' kill binary
        // reads `-TERM -1234` as `-TERM -1`, every process of the user.
        format!(
            "m={pattern} g={group}\n\
             marked() {{ [ -n \"$m\" ] || return 0; grep -lF -e \"$m\" /proc/[0-9]*/environ 2>/dev/null | \
             sed -n 's,^/proc/\\([0-9]*\\)/environ$,\\1,p'; }}\n\
             group() {{ [ -n \"$g\" ] && kill -0 -$g 2>/dev/null; }}\n\
             signal() {{ if [ -n \"$g\" ]; then kill -$1 -$g 2>/dev/null; \
             command -v pkill >/dev/null 2>&1 && pkill -$1 -s $g 2>/dev/null; fi; \
             p=$(marked); [ -z \"$p\" ] || kill -$1 $p 2>/dev/null; }}\n\
             if [ -r /proc/self/environ ]; then \
             alive() {{ [ -n \"$(marked)\" ] || {{ [ -n \"$g\" ] && kill -0 $g 2>/dev/null; }}; }}; \
             else alive() {{ group; }}; fi\n\
             pause() {{ sleep 0.05 2>/dev/null || sleep 1; }}\n\
             signal TERM\n\
             if sleep 0.01 2>/dev/null; then t={fraction}; else t={whole}; fi\n\
             sleep $t </dev/null >/dev/null 2>&1 & timer=$!\n\
             while kill -0 $timer 2>/dev/null && alive; do pause; done\n\
             kill $timer 2>/dev/null\n\
             ! group || signal KILL\n\
             r=0; while [ $r -lt 20 ] && alive; do signal KILL; pause; r=$((r + 1)); done\n\
             true\n",
            group = group.unwrap_or_default()
        )
    };
    match run_as {
        // The group is led by sudo (root): signalled as the login user. The
        // command's processes: as their user.
        Some(user) => format!(
            "{}sudo -n -u {} -- /bin/sh -c {} 2>/dev/null; true\n",
            script(pgid),
            shell_quote(user),
            shell_quote(&script(None))
        ),
        None => script(pgid),
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

    /// Runs a launch as the host would: `/bin/sh -c BOOTSTRAP`, `stdin` written
    /// then closed. Returns stdout, stderr and the exit code.
    fn run_launch(bootstrap: &str, stdin: &[u8]) -> (String, String, Option<i32>) {
        use std::io::Write;
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(bootstrap)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code(),
        )
    }

    #[test]
    fn the_command_line_holds_nothing_but_the_bootstrap() {
        let secret = "s3cr3t-value";
        let env = vec![
            ("GREETING".to_string(), format!("it's $5 `now`\n{secret}")),
            ("EMPTY".to_string(), String::new()),
        ];
        let command =
            format!("printf '%s|%s|' \"$GREETING\" \"$EMPTY\"; test x != {secret}; cat; echo eof");
        let launch = launch(
            &Payload::Command(command.clone()),
            &env,
            None,
            &Manners::default(),
            "m1",
            Some("n1"),
        )
        .unwrap();
        assert!(!launch.bootstrap.contains(secret), "{}", launch.bootstrap);
        assert!(
            !launch.bootstrap.contains("GREETING"),
            "{}",
            launch.bootstrap
        );
        let (out, err, code) = run_launch(&launch.bootstrap, &launch.stdin);
        assert_eq!(code, Some(0), "{err}");
        let mut scanner = MarkerScanner::new("n1");
        let mut passed = scanner.feed(out.as_bytes());
        passed.extend(scanner.finish());
        assert!(scanner.pgid().is_some());
        // The command's own stdin is empty, as before: `cat` ends at once.
        assert_eq!(
            String::from_utf8(passed).unwrap(),
            format!("it's $5 `now`\n{secret}||eof\n")
        );
    }

    #[test]
    fn scripts_get_their_body_and_arguments_over_stdin_and_carry_the_mark() {
        let body =
            "#!/bin/sh\nprintf '<%s>' \"$@\"; printf '%s\\n' \"$X\"; env | grep '^JOBDECK_MARK_'\n";
        let script = Payload::Script {
            body: body.into(),
            args: vec!["a b".into(), "it's".into()],
        };
        let env = vec![("X".to_string(), "x value".to_string())];
        let launch = launch(&script, &env, None, &Manners::default(), "m2", None).unwrap();
        assert!(!launch.bootstrap.contains("a b"), "{}", launch.bootstrap);
        let (out, err, code) = run_launch(&launch.bootstrap, &launch.stdin);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(out, "<a b><it's>x value\nJOBDECK_MARK_m2=1\n");
    }

    #[test]
    fn settings_cut_short_fail_the_step_with_a_message() {
        let launch = launch(
            &Payload::Command("echo ran".into()),
            &[],
            None,
            &Manners::default(),
            "m3",
            None,
        )
        .unwrap();
        let (out, err, code) = run_launch(&launch.bootstrap, &launch.stdin[..10]);
        assert_eq!(code, Some(125));
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("did not arrive on stdin"), "{err}");
    }

    #[test]
    fn run_as_goes_through_sudo_with_env_and_stdin_script() {
        let env = vec![("X".to_string(), "it's".to_string())];
        let script = Payload::Script {
            body: "#!/usr/bin/env python3\nprint(1)\n".into(),
            args: vec!["a b".into()],
        };
        let launch = launch(
            &script,
            &env,
            Some("app"),
            &Manners::default(),
            "m1",
            Some("n1"),
        )
        .unwrap();
        assert!(
            launch
                .bootstrap
                .contains("exec sudo -n -u 'app' -- /bin/sh -c "),
            "{}",
            launch.bootstrap
        );
        assert!(!launch.bootstrap.contains("it's"), "{}", launch.bootstrap);
        let settings = String::from_utf8_lossy(&launch.stdin);
        assert!(
            launch.bootstrap.contains("export JOBDECK_MARK_m1=1"),
            "{}",
            launch.bootstrap
        );
        assert!(
            settings.contains("export JOBDECK_MARK_m1=1\n"),
            "{settings}"
        );
        assert!(settings.contains("python3' - 'a b'"), "{settings}");
        let interpreter = Interpreter::from_script("#!/bin/bash -e\n").unwrap();
        assert_eq!(
            interpreter.stdin_words(&["x".into()]),
            "'/bin/bash' '-e' -s -- 'x'"
        );
        let odd = Interpreter::from_script("#!/opt/bin/tclsh\n").unwrap();
        assert_eq!(odd.stdin_words(&[]), "'/opt/bin/tclsh' /dev/stdin");
        assert!(
            kill_command(Some(7), "m1", Duration::ZERO, Some("app")).contains("sudo -n -u 'app'")
        );
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
                .arg(kill_command(
                    Some(group.id()),
                    "nomark",
                    Duration::ZERO,
                    None,
                ))
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
