//! OpenSSH client configuration (`~/.ssh/config`, `/etc/ssh/ssh_config`, or `-F FILE`),
//! read once per run and queried per host the way ssh(1) does.
//!
//! Why not the `ssh2-config` crate (0.9): it reads `Match` as an unknown keyword and
//! then applies the settings under it to the preceding `Host` block; it keeps
//! ProxyCommand, StrictHostKeyChecking, UserKnownHostsFile and IdentitiesOnly only as
//! raw, re-tokenized strings (a ProxyCommand loses its quoting); it expands no `%`
//! tokens; and it needs a newer Rust than this crate promises. The subset jobdeck needs
//! is small, so it lives here.
//!
//! Rules followed (ssh_config(5)):
//! * Lines are `Keyword value` or `Keyword=value`; keywords are case-insensitive;
//!   arguments may be quoted with `"` or `'`; `#` starts a comment.
//! * `Host` starts a block that applies when any of its patterns matches the host name
//!   given to ssh and none of its `!` patterns does (`*` and `?` wildcards). Lines before
//!   the first `Host` apply to every host.
//! * For each setting the first obtained value wins; IdentityFile accumulates; ProxyJump
//!   and ProxyCommand compete (whichever comes first wins, `none` included).
//! * `Include` reads files (globs allowed; relative paths are under `~/.ssh` for user
//!   configuration, `/etc/ssh` for the system one) in place; their lines only apply
//!   where the including line applies.
//! * `Match` is not supported: the settings under a `Match` line apply to no host, and a
//!   note says so (applying them anyway could connect with the wrong user or key).
//! * Keywords jobdeck does not use are ignored; a bad value of one it uses is an error
//!   that names the file and line, as ssh reports it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// ssh(1) refuses deeper Include nesting; so do we (it also stops include loops).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Where a setting came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// StrictHostKeyChecking as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrictHostKeyChecking {
    Yes,
    No,
    AcceptNew,
    /// `ask`: jobdeck never prompts in the middle of a fan-out, so it acts as `yes`.
    Ask,
}

impl StrictHostKeyChecking {
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "yes" | "true" => Some(Self::Yes),
            "no" | "false" | "off" => Some(Self::No),
            "accept-new" => Some(Self::AcceptNew),
            "ask" => Some(Self::Ask),
            _ => None,
        }
    }
}

/// How to reach a host through another one, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxySetting {
    /// `ProxyJump none` / `ProxyCommand none`: connect directly.
    Direct,
    /// A ProxyJump list, `[user@]host[:port]` separated by commas.
    Jump(String),
    /// A ProxyCommand, not yet `%`-expanded.
    Command(String),
}

/// The settings that apply to one host name, before `%` expansion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// Every IdentityFile of every matching block, in order, unexpanded.
    pub identity_files: Vec<(String, Origin)>,
    pub identities_only: Option<bool>,
    pub proxy: Option<(ProxySetting, Origin)>,
    pub connect_timeout: Option<Duration>,
    pub strict_host_key_checking: Option<StrictHostKeyChecking>,
    /// UserKnownHostsFile's files, unexpanded; empty for `none`.
    pub user_known_hosts_files: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Setting {
    HostName(String),
    User(String),
    Port(u16),
    IdentityFile(String),
    IdentitiesOnly(bool),
    Proxy(ProxySetting),
    ConnectTimeout(Duration),
    StrictHostKeyChecking(StrictHostKeyChecking),
    UserKnownHostsFile(Vec<String>),
}

/// One `Host` line's patterns: `(negated, lowercase pattern)`.
type HostPatterns = Vec<(bool, String)>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Clause {
    Host(HostPatterns),
    /// Under a `Match` line: never applies.
    Never,
}

#[derive(Debug, Clone)]
struct ConfigLine {
    /// Every clause must hold (an included file's `Host` adds to its includer's).
    condition: Arc<Vec<Clause>>,
    setting: Setting,
    origin: Origin,
}

/// The parsed configuration of one run.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    lines: Vec<ConfigLine>,
    /// Things the user should know (unsupported `Match` blocks).
    pub notes: Vec<String>,
    /// The files that were read, in order.
    pub files: Vec<PathBuf>,
}

/// Where relative `Include` paths and `~` point.
#[derive(Debug, Clone)]
struct ParseContext {
    home: Option<PathBuf>,
    include_base: PathBuf,
}

impl SshConfig {
    /// An empty configuration: every host gets ssh's defaults.
    pub fn empty() -> Self {
        Self::default()
    }

    /// What ssh reads: `explicit` alone when given (`-F FILE`, which must exist), else
    /// `~/.ssh/config` then `/etc/ssh/ssh_config`, either of which may be missing.
    pub fn load(explicit: Option<&Path>) -> Result<SshConfig, String> {
        let home = super::home_dir();
        let user_base = home
            .as_ref()
            .map(|h| h.join(".ssh"))
            .unwrap_or_else(|| PathBuf::from("."));
        let mut config = SshConfig::default();
        match explicit {
            Some(path) => {
                let text = crate::input_file::read_text(path, "ssh config file")
                    .map_err(|err| err.to_string())?;
                let context = ParseContext {
                    home,
                    include_base: user_base,
                };
                config.parse_file(path, &text, &context, &Arc::new(Vec::new()), 0)?;
            }
            None => {
                if let Some(home) = &home {
                    let user_file = home.join(".ssh/config");
                    config.read_optional(
                        &user_file,
                        &ParseContext {
                            home: Some(home.clone()),
                            include_base: user_base.clone(),
                        },
                    )?;
                }
                config.read_optional(
                    Path::new("/etc/ssh/ssh_config"),
                    &ParseContext {
                        home,
                        include_base: PathBuf::from("/etc/ssh"),
                    },
                )?;
            }
        }
        Ok(config)
    }

    /// Parses `text` as if read from `file`; `home` is used for `~` and relative Includes
    /// (`home/.ssh`). For tests and callers that already hold the text.
    pub fn parse_str(file: &Path, text: &str, home: Option<&Path>) -> Result<SshConfig, String> {
        let context = ParseContext {
            home: home.map(Path::to_path_buf),
            include_base: home
                .map(|h| h.join(".ssh"))
                .unwrap_or_else(|| PathBuf::from(".")),
        };
        let mut config = SshConfig::default();
        config.parse_file(file, text, &context, &Arc::new(Vec::new()), 0)?;
        Ok(config)
    }

    fn read_optional(&mut self, path: &Path, context: &ParseContext) -> Result<(), String> {
        match std::fs::metadata(path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            _ => {
                let text = crate::input_file::read_text(path, "ssh config file")
                    .map_err(|err| err.to_string())?;
                self.parse_file(path, &text, context, &Arc::new(Vec::new()), 0)
            }
        }
    }

    fn parse_file(
        &mut self,
        file: &Path,
        text: &str,
        context: &ParseContext,
        inherited: &Arc<Vec<Clause>>,
        depth: usize,
    ) -> Result<(), String> {
        self.files.push(file.to_path_buf());
        let mut condition = inherited.clone();
        for (index, raw) in text.lines().enumerate() {
            let origin = Origin {
                file: file.to_path_buf(),
                line: index + 1,
            };
            let at = |message: String| format!("{origin}: {message}");
            let Some((keyword, rest)) = split_keyword(raw) else {
                continue;
            };
            let keyword = keyword.to_ascii_lowercase();
            // ProxyCommand keeps the rest of the line verbatim: it is a shell command.
            if keyword == "proxycommand" {
                let command = rest.trim();
                if command.is_empty() {
                    return Err(at("ProxyCommand needs a command".into()));
                }
                let setting = if command.eq_ignore_ascii_case("none") {
                    ProxySetting::Direct
                } else {
                    ProxySetting::Command(command.to_string())
                };
                self.push(&condition, Setting::Proxy(setting), origin);
                continue;
            }
            let args = split_args(rest).map_err(at)?;
            match keyword.as_str() {
                "host" => {
                    if args.is_empty() {
                        return Err(at("Host needs at least one pattern".into()));
                    }
                    let patterns = args
                        .iter()
                        .map(|arg| match arg.strip_prefix('!') {
                            Some(pattern) => (true, pattern.to_ascii_lowercase()),
                            None => (false, arg.to_ascii_lowercase()),
                        })
                        .collect();
                    let mut clauses = (**inherited).clone();
                    clauses.push(Clause::Host(patterns));
                    condition = Arc::new(clauses);
                }
                "match" => {
                    self.notes.push(format!(
                        "{origin}: Match blocks are not supported; the settings under this line apply to no host"
                    ));
                    let mut clauses = (**inherited).clone();
                    clauses.push(Clause::Never);
                    condition = Arc::new(clauses);
                }
                "include" => {
                    if args.is_empty() {
                        return Err(at("Include needs a file name".into()));
                    }
                    if depth + 1 > MAX_INCLUDE_DEPTH {
                        return Err(at(format!(
                            "Include nested deeper than {MAX_INCLUDE_DEPTH} levels (an include loop?)"
                        )));
                    }
                    for pattern in &args {
                        let pattern = expand_tilde(pattern, context.home.as_deref());
                        let pattern = if Path::new(&pattern).is_absolute() {
                            PathBuf::from(pattern)
                        } else {
                            context.include_base.join(pattern)
                        };
                        for path in glob_files(&pattern) {
                            let text = crate::input_file::read_text(&path, "included file")
                                .map_err(|err| at(err.to_string()))?;
                            self.parse_file(&path, &text, context, &condition, depth + 1)?;
                        }
                    }
                }
                _ => {
                    if let Some(setting) = parse_setting(&keyword, &args).map_err(at)? {
                        self.push(&condition, setting, origin);
                    }
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, condition: &Arc<Vec<Clause>>, setting: Setting, origin: Origin) {
        self.lines.push(ConfigLine {
            condition: condition.clone(),
            setting,
            origin,
        });
    }

    /// The settings for `host` — the name as given to ssh (Ansible passes `ansible_host`,
    /// else the inventory name) — with ssh's first-value-wins rule.
    pub fn query(&self, host: &str) -> HostConfig {
        let host = host.to_ascii_lowercase();
        let mut config = HostConfig::default();
        for line in &self.lines {
            if !line
                .condition
                .iter()
                .all(|clause| clause_matches(clause, &host))
            {
                continue;
            }
            match &line.setting {
                Setting::HostName(v) => set_once(&mut config.host_name, v.clone()),
                Setting::User(v) => set_once(&mut config.user, v.clone()),
                Setting::Port(v) => set_once(&mut config.port, *v),
                Setting::IdentityFile(v) => {
                    config.identity_files.push((v.clone(), line.origin.clone()))
                }
                Setting::IdentitiesOnly(v) => set_once(&mut config.identities_only, *v),
                Setting::Proxy(v) => set_once(&mut config.proxy, (v.clone(), line.origin.clone())),
                Setting::ConnectTimeout(v) => set_once(&mut config.connect_timeout, *v),
                Setting::StrictHostKeyChecking(v) => {
                    set_once(&mut config.strict_host_key_checking, *v)
                }
                Setting::UserKnownHostsFile(v) => {
                    set_once(&mut config.user_known_hosts_files, v.clone())
                }
            }
        }
        config
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

fn clause_matches(clause: &Clause, host: &str) -> bool {
    match clause {
        Clause::Never => false,
        Clause::Host(patterns) => {
            let mut matched = false;
            for (negated, pattern) in patterns {
                if wildcard_match(pattern, host) {
                    if *negated {
                        return false;
                    }
                    matched = true;
                }
            }
            matched
        }
    }
}

/// `*` matches any run of characters, `?` exactly one.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point for the last `*`: linear enough for
    // host names, and no recursion to blow up on hostile patterns.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

fn parse_setting(keyword: &str, args: &[String]) -> Result<Option<Setting>, String> {
    let first = || -> Result<&str, String> {
        args.first()
            .map(String::as_str)
            .ok_or_else(|| format!("{keyword} needs a value"))
    };
    let yes_no = |value: &str| match value.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(format!("{keyword} expects yes or no, got '{value}'")),
    };
    Ok(Some(match keyword {
        "hostname" => Setting::HostName(first()?.to_string()),
        "user" => Setting::User(first()?.to_string()),
        "port" => {
            let value = first()?;
            match value.parse::<u16>() {
                Ok(port) if port > 0 => Setting::Port(port),
                _ => return Err(format!("Port expects a number 1-65535, got '{value}'")),
            }
        }
        "identityfile" => Setting::IdentityFile(first()?.to_string()),
        "identitiesonly" => Setting::IdentitiesOnly(yes_no(first()?)?),
        "proxyjump" => {
            let value = first()?;
            if value.eq_ignore_ascii_case("none") {
                Setting::Proxy(ProxySetting::Direct)
            } else {
                Setting::Proxy(ProxySetting::Jump(value.to_string()))
            }
        }
        "connecttimeout" => {
            let value = first()?;
            Setting::ConnectTimeout(parse_ssh_time(value).ok_or_else(|| {
                format!("ConnectTimeout expects a time such as 10 or 1m30s, got '{value}'")
            })?)
        }
        "stricthostkeychecking" => {
            let value = first()?;
            Setting::StrictHostKeyChecking(StrictHostKeyChecking::parse(value).ok_or_else(
                || {
                    format!(
                        "StrictHostKeyChecking expects yes, no, accept-new or ask, got '{value}'"
                    )
                },
            )?)
        }
        "userknownhostsfile" => {
            first()?;
            if args.len() == 1 && args[0].eq_ignore_ascii_case("none") {
                Setting::UserKnownHostsFile(Vec::new())
            } else {
                Setting::UserKnownHostsFile(args.to_vec())
            }
        }
        _ => return Ok(None),
    }))
}

/// ssh's time format: a number of seconds, or parts like `1h30m`, `90s`, `2m`.
pub fn parse_ssh_time(value: &str) -> Option<Duration> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in value.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let amount: u64 = digits.parse().ok()?;
        total = total.checked_add(amount.checked_mul(unit)?)?;
        digits.clear();
    }
    if !digits.is_empty() {
        total = total.checked_add(digits.parse().ok()?)?;
    } else if value.is_empty() || value.chars().last().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(Duration::from_secs(total))
}

/// Splits `Keyword value` / `Keyword=value`; `None` for blank and comment lines.
fn split_keyword(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let keyword = &line[..end];
    let mut rest = line[end..].trim_start();
    if let Some(after) = rest.strip_prefix('=') {
        rest = after.trim_start();
    }
    Some((keyword, rest))
}

/// Arguments with `"` / `'` quoting and backslash escapes; an unquoted `#` at the start
/// of a word ends the line.
fn split_args(text: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.peek() {
            None | Some('#') => break,
            _ => {}
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    chars.next();
                    match chars.peek() {
                        Some(&next @ ('\\' | '"' | '\'' | ' ')) => word.push(next),
                        Some(&next) => {
                            word.push('\\');
                            word.push(next);
                        }
                        None => word.push('\\'),
                    }
                }
                _ => word.push(c),
            }
            chars.next();
        }
        if let Some(q) = quote {
            return Err(format!("unterminated {q} quote"));
        }
        args.push(word);
    }
    Ok(args)
}

/// `~` and `~/...` become the home directory (other `~user` forms stay as written).
pub fn expand_tilde(path: &str, home: Option<&Path>) -> String {
    match (path, home) {
        ("~", Some(home)) => home.display().to_string(),
        (path, Some(home)) if path.starts_with("~/") => home.join(&path[2..]).display().to_string(),
        _ => path.to_string(),
    }
}

/// Files matching `pattern` (`*` `?` in any component), sorted like glob(3).
fn glob_files(pattern: &Path) -> Vec<PathBuf> {
    let has_wildcard = |s: &str| s.contains(['*', '?']);
    let mut candidates = vec![PathBuf::new()];
    for component in pattern.components() {
        let part = component.as_os_str().to_string_lossy().into_owned();
        let mut next = Vec::new();
        for base in &candidates {
            if !has_wildcard(&part) {
                next.push(base.join(&part));
                continue;
            }
            let Ok(entries) = std::fs::read_dir(if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            }) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                // Like glob(3): wildcards do not match a leading dot.
                .filter(|name| !name.starts_with('.') || part.starts_with('.'))
                .filter(|name| wildcard_match(&part, name))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|name| base.join(name)));
        }
        candidates = next;
    }
    candidates
        .into_iter()
        .filter(|path| path.is_file())
        .collect()
}

/// Values for ssh's `%` tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// `%h`: the remote host name after HostName.
    pub host: String,
    /// `%n`: the host name as given to ssh.
    pub original_host: String,
    /// `%p`
    pub port: u16,
    /// `%r`: the remote user.
    pub remote_user: String,
    /// `%u`: the local user.
    pub local_user: String,
    /// `%d`: the local home directory.
    pub home: String,
}

/// Expands `%` tokens; `allowed` lists the token letters this keyword accepts (`%%`
/// always works). An unknown token is an error, as in ssh.
pub fn expand_tokens(template: &str, tokens: &Tokens, allowed: &str) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(token) = chars.next() else {
            return Err(format!("'{template}' ends with a lone %"));
        };
        if token == '%' {
            out.push('%');
            continue;
        }
        if !allowed.contains(token) {
            return Err(format!("unknown token %{token} in '{template}'"));
        }
        match token {
            'h' => out.push_str(&tokens.host),
            'n' => out.push_str(&tokens.original_host),
            'p' => out.push_str(&tokens.port.to_string()),
            'r' => out.push_str(&tokens.remote_user),
            'u' => out.push_str(&tokens.local_user),
            'd' => out.push_str(&tokens.home),
            'l' => out.push_str(&local_hostname()),
            'L' => out.push_str(local_hostname().split('.').next().unwrap_or_default()),
            _ => return Err(format!("unknown token %{token} in '{template}'")),
        }
    }
    Ok(out)
}

fn local_hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let ok = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } == 0;
    if !ok {
        return String::new();
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// Token letters each keyword accepts, as ssh_config(5) lists them (the subset we fill).
pub const IDENTITY_FILE_TOKENS: &str = "dhlLnpru";
pub const KNOWN_HOSTS_TOKENS: &str = "dhlLnpru";
pub const PROXY_COMMAND_TOKENS: &str = "hnpr";
pub const HOST_NAME_TOKENS: &str = "h";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SshConfig {
        SshConfig::parse_str(Path::new("cfg"), text, Some(Path::new("/home/u"))).unwrap()
    }

    #[test]
    fn wildcards() {
        let cases = [
            ("*", "anything", true),
            ("web?", "web1", true),
            ("web?", "web10", false),
            ("*.example.com", "a.example.com", true),
            ("*.example.com", "example.com", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("10.0.*", "10.0.3.4", true),
            ("", "", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                wildcard_match(pattern, text),
                expected,
                "{pattern} vs {text}"
            );
        }
    }

    #[test]
    fn first_value_wins_and_identity_files_accumulate() {
        let config = parse(
            "Host web*\n  User deploy\n  IdentityFile ~/.ssh/web\n\
             Host *\n  User nobody\n  Port 2222\n  IdentityFile ~/.ssh/all\n",
        );
        let web = config.query("web1");
        assert_eq!(web.user.as_deref(), Some("deploy"));
        assert_eq!(web.port, Some(2222));
        let files: Vec<&str> = web.identity_files.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(files, ["~/.ssh/web", "~/.ssh/all"]);
        assert_eq!(config.query("db1").user.as_deref(), Some("nobody"));
    }

    #[test]
    fn negation_excludes_a_host_from_the_whole_line() {
        let config = parse("Host *.corp !bastion.corp\n  ProxyJump bastion.corp\n");
        assert_eq!(
            config.query("app.corp").proxy.map(|p| p.0),
            Some(ProxySetting::Jump("bastion.corp".into()))
        );
        assert_eq!(config.query("bastion.corp").proxy, None);
        // Only negated patterns never match anything.
        let only_negated = parse("Host !foo\n  User x\n");
        assert_eq!(only_negated.query("bar").user, None);
    }

    #[test]
    fn proxy_jump_and_command_compete() {
        let config = parse(
            "Host a\n  ProxyCommand none\nHost *\n  ProxyJump j1\n  ProxyCommand ssh -W %h:%p j2\n",
        );
        assert_eq!(config.query("a").proxy.unwrap().0, ProxySetting::Direct);
        assert_eq!(
            config.query("b").proxy.unwrap().0,
            ProxySetting::Jump("j1".into())
        );
        let command_first = parse("ProxyCommand ssh -W \"%h:%p\" j2 # kept\nProxyJump j1\n");
        assert_eq!(
            command_first.query("x").proxy.unwrap().0,
            ProxySetting::Command("ssh -W \"%h:%p\" j2 # kept".into())
        );
    }

    #[test]
    fn match_blocks_apply_to_nobody_and_leave_a_note() {
        let config = parse(
            "Host web1\n  User first\nMatch host web1\n  User wrong\n  Port 1\nHost *\n  Port 22\n",
        );
        let web = config.query("web1");
        assert_eq!(web.user.as_deref(), Some("first"));
        assert_eq!(web.port, Some(22));
        assert_eq!(config.notes.len(), 1);
        assert!(config.notes[0].contains("cfg:3"), "{:?}", config.notes);
    }

    #[test]
    fn syntax_variants() {
        let config = parse(
            "# comment\n\n  HOSTNAME=real.example\nuser = \"with space\"\nPORT 2200 # trailing\n\
             UserKnownHostsFile ~/.ssh/a '/etc/b c'\nStrictHostKeyChecking accept-new\n\
             ConnectTimeout 1m5s\nIdentitiesOnly yes\n",
        );
        let c = config.query("anything");
        assert_eq!(c.host_name.as_deref(), Some("real.example"));
        assert_eq!(c.user.as_deref(), Some("with space"));
        assert_eq!(c.port, Some(2200));
        assert_eq!(
            c.user_known_hosts_files,
            Some(vec!["~/.ssh/a".to_string(), "/etc/b c".to_string()])
        );
        assert_eq!(
            c.strict_host_key_checking,
            Some(StrictHostKeyChecking::AcceptNew)
        );
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(65)));
        assert_eq!(c.identities_only, Some(true));
    }

    #[test]
    fn bad_values_name_file_and_line() {
        let err = SshConfig::parse_str(Path::new("/x/config"), "Host a\n  Port http\n", None)
            .unwrap_err();
        assert!(err.starts_with("/x/config:2:"), "{err}");
        assert!(err.contains("Port"), "{err}");
        let err = SshConfig::parse_str(Path::new("c"), "User \"open\n", None).unwrap_err();
        assert!(err.contains("c:1") && err.contains("quote"), "{err}");
        let err = SshConfig::parse_str(Path::new("c"), "ConnectTimeout soon\n", None).unwrap_err();
        assert!(err.contains("ConnectTimeout"), "{err}");
    }

    #[test]
    fn ssh_times() {
        assert_eq!(parse_ssh_time("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_ssh_time("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_ssh_time("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_ssh_time(""), None);
        assert_eq!(parse_ssh_time("5x"), None);
    }

    #[test]
    fn includes_are_relative_to_dot_ssh_and_inherit_the_host_block() {
        let home = tempfile::tempdir().unwrap();
        let ssh = home.path().join(".ssh");
        std::fs::create_dir_all(ssh.join("config.d")).unwrap();
        std::fs::write(ssh.join("config.d/10-web"), "Host web*\n  User included\n").unwrap();
        std::fs::write(ssh.join("config.d/20-all"), "Port 2022\n").unwrap();
        std::fs::write(ssh.join("config.d/.hidden"), "Port 1\n").unwrap();
        std::fs::write(ssh.join("only-db"), "User dbuser\n").unwrap();
        let config = SshConfig::parse_str(
            &ssh.join("config"),
            "Include config.d/*\nHost db*\n  Include ~/.ssh/only-db\n  Port 3000\n",
            Some(home.path()),
        )
        .unwrap();
        let web = config.query("web1");
        assert_eq!(web.user.as_deref(), Some("included"));
        assert_eq!(web.port, Some(2022));
        let db = config.query("db1");
        assert_eq!(db.user.as_deref(), Some("dbuser"));
        assert_eq!(db.port, Some(2022), "20-all came first");
        // only-db was included under `Host db*`: it does not apply to web1.
        assert_ne!(config.query("web2").user.as_deref(), Some("dbuser"));
        assert_eq!(config.files.len(), 4);
    }

    #[test]
    fn include_loops_stop_with_an_error() {
        let home = tempfile::tempdir().unwrap();
        let ssh = home.path().join(".ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::write(ssh.join("loop"), "Include loop\n").unwrap();
        let err = SshConfig::parse_str(&ssh.join("config"), "Include loop\n", Some(home.path()))
            .unwrap_err();
        assert!(err.contains("nested deeper"), "{err}");
    }

    #[test]
    fn token_expansion() {
        let tokens = Tokens {
            host: "real.example".into(),
            original_host: "web1".into(),
            port: 2222,
            remote_user: "deploy".into(),
            local_user: "me".into(),
            home: "/home/me".into(),
        };
        assert_eq!(
            expand_tokens("%d/.ssh/%r@%h:%p-%n-%u %%h", &tokens, IDENTITY_FILE_TOKENS).unwrap(),
            "/home/me/.ssh/deploy@real.example:2222-web1-me %h"
        );
        assert!(expand_tokens("%x", &tokens, IDENTITY_FILE_TOKENS).is_err());
        assert!(expand_tokens("%d", &tokens, PROXY_COMMAND_TOKENS).is_err());
        assert!(expand_tokens("50%", &tokens, PROXY_COMMAND_TOKENS).is_err());
        assert_eq!(
            expand_tilde("~/.ssh/id", Some(Path::new("/h"))),
            "/h/.ssh/id"
        );
        assert_eq!(expand_tilde("~bob/id", Some(Path::new("/h"))), "~bob/id");
    }
}
