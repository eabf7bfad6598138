//! Inventory host → [`Target`]: the inventory's connection variables, the run's
//! ssh_config and the command line, combined the way `ansible` + `ssh` combine them.
//!
//! Ansible runs `ssh [options from the inventory] HOST` with HOST = `ansible_host`, else
//! the inventory name, and ssh keeps the first value it obtains for each option, reading
//! its command line before ssh_config. So:
//! * ssh_config's `Host` patterns match HOST (ansible_host if set), and its HostName then
//!   rewrites the address even when ansible_host is set — exactly what ssh does.
//! * ansible_port / ansible_user / the key file and `-o` options from
//!   ansible_ssh_common_args / ansible_ssh_extra_args win over ssh_config.
//! * IdentityFiles accumulate: the inventory's first, then `--identity` files from the
//!   command line, then ssh_config's.
//! * The connect timeout: the command line's, else `-o ConnectTimeout`, else
//!   ssh_config's, else 10 s. (Ansible always passes its own timeout, so ssh_config's
//!   ConnectTimeout never counts there; jobdeck honours it when nothing else is set.)
//!
//! Host keys, decided for safety: `StrictHostKeyChecking=no` (or
//! `ansible_host_key_checking=false`) is run as **accept-new**, with a warning: new keys
//! are accepted and recorded, but a changed key still fails — it is never bypassed
//! silently. `ask` acts as `yes` (no prompts in a fan-out). `--accept-new` makes every
//! host accept-new. `UserKnownHostsFile=/dev/null` (or `none`) means no user file: with
//! accept-new, new keys are accepted and remembered nowhere (as ssh does).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::proxy::{JumpSpec, parse_jump_list};
use super::ssh_config::{
    self, HOST_NAME_TOKENS, HostConfig, IDENTITY_FILE_TOKENS, KNOWN_HOSTS_TOKENS,
    PROXY_COMMAND_TOKENS, ProxySetting, SshConfig, StrictHostKeyChecking, Tokens,
};
use super::{DEFAULT_CONNECT_TIMEOUT, HostKeyPolicy, Proxy, Secret, Target};
use crate::inventory::VarMap;
use crate::inventory::connection::ConnectionSettings;

/// A ProxyJump chain longer than this is refused (ssh_config loops).
const MAX_JUMP_HOPS: usize = 8;

/// Settings from the command line that apply to every host of a run.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// `--accept-new`: accept and record unknown host keys; changed keys still fail.
    pub accept_new: bool,
    /// `--connect-timeout`, when given: beats every other source.
    pub connect_timeout: Option<Duration>,
    /// `--identity FILE` (repeatable): tried after the inventory's key.
    pub extra_identity_files: Vec<PathBuf>,
    /// `-F FILE`: the ssh_config to read instead of ~/.ssh/config + /etc/ssh/ssh_config.
    pub ssh_config_path: Option<PathBuf>,
    /// The home directory for `~` and `%d`; `None` uses `$HOME`.
    pub home: Option<PathBuf>,
    /// The local user for `%u` and the default remote user; `None` uses `$USER`.
    pub local_user: Option<String>,
    /// Connections finished hosts may leave open for later runs: the
    /// console's warm pool (its cap); 0 in a headless run.
    pub keep_warm: usize,
}

impl ResolveOptions {
    /// Reads the ssh_config these options name: once per run.
    pub fn load_ssh_config(&self) -> Result<SshConfig, String> {
        SshConfig::load(self.ssh_config_path.as_deref())
    }

    fn home(&self) -> Option<PathBuf> {
        self.home.clone().or_else(super::home_dir)
    }

    fn local_user(&self) -> String {
        self.local_user.clone().unwrap_or_else(super::current_user)
    }
}

/// A target and what the user should be told about how it was resolved.
#[derive(Debug, Clone)]
pub struct ResolvedTarget {
    pub target: Target,
    /// E.g. "StrictHostKeyChecking=no is run as accept-new". Show once per host/run.
    pub warnings: Vec<String>,
}

/// Builds the target for inventory host `name` from its merged `vars`.
/// Every error and warning starts with `host 'NAME': `, once.
pub fn resolve_target(
    name: &str,
    vars: &VarMap,
    ssh_config: &SshConfig,
    options: &ResolveOptions,
) -> Result<ResolvedTarget, String> {
    let named = |message: String| format!("host '{name}': {message}");
    let mut resolved = resolve(name, vars, ssh_config, options).map_err(named)?;
    resolved.warnings = resolved.warnings.into_iter().map(named).collect();
    Ok(resolved)
}

/// `resolve_target` without the host's name in front of its messages.
fn resolve(
    name: &str,
    vars: &VarMap,
    ssh_config: &SshConfig,
    options: &ResolveOptions,
) -> Result<ResolvedTarget, String> {
    let settings = ConnectionSettings::from_vars(name, vars)?;
    match settings.connection.as_str() {
        "local" => {
            return Ok(ResolvedTarget {
                target: Target::local(name),
                warnings: Vec::new(),
            });
        }
        "ssh" | "smart" | "paramiko" | "paramiko_ssh" | "ansible.builtin.ssh" => {}
        other => {
            return Err(format!(
                "ansible_connection={other} is not supported (jobdeck connects with ssh or local)"
            ));
        }
    }
    let home = options.home();
    let home_text = home
        .as_ref()
        .map(|h| h.display().to_string())
        .unwrap_or_default();
    let local_user = options.local_user();
    let mut warnings = Vec::new();

    let host_arg = settings.address.clone();
    let config = ssh_config.query(&host_arg);
    let address = host_name(&config, &host_arg)?;
    let port = settings.port.or(config.port).unwrap_or(22);
    let user = settings
        .user
        .clone()
        .or_else(|| config.user.clone())
        .unwrap_or_else(|| local_user.clone());
    let tokens = Tokens {
        host: address.clone(),
        original_host: host_arg.clone(),
        port,
        remote_user: user.clone(),
        local_user,
        home: home_text,
    };

    let mut target = Target::new(name);
    target.address = address;
    target.port = port;
    target.user = user;

    // Identity files: the inventory's (ssh expands these too), the command line's,
    // then ssh_config's.
    let mut identity_files = Vec::new();
    let inventory_keys = settings.private_key_file.iter().map(String::as_str).chain(
        settings
            .ssh_options
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("identityfile"))
            .map(|(_, v)| v.as_str()),
    );
    for key in inventory_keys {
        identity_files.push(expand_path(
            key,
            &tokens,
            IDENTITY_FILE_TOKENS,
            home.as_deref(),
        )?);
    }
    identity_files.extend(options.extra_identity_files.iter().cloned());
    for (file, origin) in &config.identity_files {
        identity_files.push(
            expand_path(file, &tokens, IDENTITY_FILE_TOKENS, home.as_deref())
                .map_err(|e| format!("{origin}: {e}"))?,
        );
    }
    dedup_in_order(&mut identity_files);
    target.identity_files = identity_files;
    target.identities_only = match settings.ssh_option("IdentitiesOnly") {
        Some(value) => parse_yes_no("IdentitiesOnly", value)?,
        None => config.identities_only.unwrap_or(false),
    };

    target.password = password(vars)?;

    // Host keys.
    let inventory_strict = if host_key_checking_disabled(vars) {
        Some(StrictHostKeyChecking::No)
    } else {
        match settings.ssh_option("StrictHostKeyChecking") {
            Some(value) => Some(StrictHostKeyChecking::parse(value).ok_or_else(|| {
                format!("StrictHostKeyChecking expects yes, no, accept-new or ask, got '{value}'")
            })?),
            None => None,
        }
    };
    let strict = inventory_strict.or(config.strict_host_key_checking);
    target.host_key_policy = host_key_policy(strict, options.accept_new, "", &mut warnings);

    let known_hosts = match settings.ssh_option("UserKnownHostsFile") {
        Some(value) => Some(value.split_whitespace().map(str::to_string).collect()),
        None => config.user_known_hosts_files.clone(),
    };
    if let Some(files) = known_hosts {
        target.user_known_hosts = known_hosts_files(&files, &tokens, home.as_deref())?;
        if target.user_known_hosts.is_empty() {
            warnings.push(format!(
                "UserKnownHostsFile is /dev/null or none: its host key is checked \
                 against the global known_hosts only{}",
                if target.host_key_policy == HostKeyPolicy::AcceptNew {
                    ", and a new key is accepted without being remembered"
                } else {
                    ""
                }
            ));
        }
    } else if let Some(home) = &home {
        target.user_known_hosts = vec![home.join(".ssh/known_hosts")];
    }

    target.connect_timeout = match (
        options.connect_timeout,
        settings.ssh_option("ConnectTimeout"),
    ) {
        (Some(timeout), _) => timeout,
        (None, Some(value)) => ssh_config::parse_ssh_time(value)
            .ok_or_else(|| format!("ConnectTimeout expects seconds, got '{value}'"))?,
        (None, None) => config.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
    };

    let proxy = match (&settings.proxy_jump, &settings.proxy_command) {
        (Some(_), Some(_)) => {
            return Err(
                "both ProxyJump (-J) and ProxyCommand are set in ansible_ssh_*_args; ssh refuses that too, keep one"
                    .into(),
            );
        }
        (Some(jump), None) => Some(proxy_setting_jump(jump)),
        (None, Some(command)) => Some(proxy_setting_command(command)),
        (None, None) => config.proxy.clone().map(|(setting, _)| setting),
    };
    target.proxy = match proxy {
        None | Some(ProxySetting::Direct) => Proxy::Direct,
        Some(ProxySetting::Command(command)) => Proxy::Command(
            ssh_config::expand_tokens(&command, &tokens, PROXY_COMMAND_TOKENS)
                .map_err(|e| format!("ProxyCommand: {e}"))?,
        ),
        Some(ProxySetting::Jump(spec)) => {
            let hops = parse_jump_list(&spec)?;
            Proxy::Jump(resolve_hops(hops, ssh_config, options, &mut warnings)?)
        }
    };
    Ok(ResolvedTarget { target, warnings })
}

fn proxy_setting_jump(value: &str) -> ProxySetting {
    if value.eq_ignore_ascii_case("none") {
        ProxySetting::Direct
    } else {
        ProxySetting::Jump(value.to_string())
    }
}

fn proxy_setting_command(value: &str) -> ProxySetting {
    if value.eq_ignore_ascii_case("none") {
        ProxySetting::Direct
    } else {
        ProxySetting::Command(value.to_string())
    }
}

/// ssh_config's HostName for the host, `%h` expanded; else the host itself.
fn host_name(config: &HostConfig, host_arg: &str) -> Result<String, String> {
    match &config.host_name {
        Some(template) => {
            let tokens = Tokens {
                host: host_arg.to_string(),
                ..Tokens::default()
            };
            ssh_config::expand_tokens(template, &tokens, HOST_NAME_TOKENS)
                .map_err(|e| format!("HostName: {e}"))
        }
        None => Ok(host_arg.to_string()),
    }
}

/// `subject` starts the warning: empty for the host itself, `jump host 'X': `
/// for a hop.
fn host_key_policy(
    strict: Option<StrictHostKeyChecking>,
    accept_new: bool,
    subject: &str,
    warnings: &mut Vec<String>,
) -> HostKeyPolicy {
    if accept_new {
        return HostKeyPolicy::AcceptNew;
    }
    match strict {
        None | Some(StrictHostKeyChecking::Yes | StrictHostKeyChecking::Ask) => {
            HostKeyPolicy::Strict
        }
        Some(StrictHostKeyChecking::AcceptNew) => HostKeyPolicy::AcceptNew,
        Some(StrictHostKeyChecking::No) => {
            warnings.push(format!(
                "{subject}StrictHostKeyChecking=no is run as accept-new: a new host key is \
                 accepted and recorded, a changed one still fails"
            ));
            HostKeyPolicy::AcceptNew
        }
    }
}

/// Resolves each ProxyJump hop through ssh_config, as ssh does for `-J` hops: the hop's
/// own HostName, User, Port, IdentityFile, known_hosts settings. The first hop's own
/// ProxyJump (from ssh_config) is followed, as ssh's jump subprocess would.
fn resolve_hops(
    mut hops: Vec<JumpSpec>,
    ssh_config: &SshConfig,
    options: &ResolveOptions,
    warnings: &mut Vec<String>,
) -> Result<Vec<Target>, String> {
    loop {
        if hops.len() > MAX_JUMP_HOPS {
            return Err(format!(
                "the ProxyJump chain is longer than {MAX_JUMP_HOPS} hops (a loop in ssh_config?)"
            ));
        }
        let first = ssh_config.query(&hops[0].host);
        match first.proxy {
            Some((ProxySetting::Jump(spec), origin)) => {
                let before = parse_jump_list(&spec).map_err(|e| format!("{origin}: {e}"))?;
                // `Host *` with `ProxyJump bastion` also matches bastion: no self-loop.
                if before
                    .iter()
                    .any(|hop| hops.iter().any(|h| h.host == hop.host))
                {
                    break;
                }
                hops.splice(0..0, before);
            }
            Some((ProxySetting::Command(_), origin)) => {
                warnings.push(format!(
                    "{origin}: a ProxyCommand for jump host '{}' is ignored (not supported for hops)",
                    hops[0].host
                ));
                break;
            }
            _ => break,
        }
    }
    hops.iter()
        .map(|hop| resolve_hop(hop, ssh_config, options, warnings))
        .collect()
}

fn resolve_hop(
    hop: &JumpSpec,
    ssh_config: &SshConfig,
    options: &ResolveOptions,
    warnings: &mut Vec<String>,
) -> Result<Target, String> {
    let home = options.home();
    let config = ssh_config.query(&hop.host);
    let address = host_name(&config, &hop.host)?;
    let port = hop.port.or(config.port).unwrap_or(22);
    let user = hop
        .user
        .clone()
        .or_else(|| config.user.clone())
        .unwrap_or_else(|| options.local_user());
    let tokens = Tokens {
        host: address.clone(),
        original_host: hop.host.clone(),
        port,
        remote_user: user.clone(),
        local_user: options.local_user(),
        home: home
            .as_ref()
            .map(|h| h.display().to_string())
            .unwrap_or_default(),
    };
    let mut target = Target::new(hop.host.clone());
    target.address = address;
    target.port = port;
    target.user = user;
    let mut identity_files = options.extra_identity_files.clone();
    for (file, origin) in &config.identity_files {
        identity_files.push(
            expand_path(file, &tokens, IDENTITY_FILE_TOKENS, home.as_deref())
                .map_err(|e| format!("{origin}: {e}"))?,
        );
    }
    dedup_in_order(&mut identity_files);
    target.identity_files = identity_files;
    target.identities_only = config.identities_only.unwrap_or(false);
    target.host_key_policy = host_key_policy(
        config.strict_host_key_checking,
        options.accept_new,
        &format!("jump host '{}': ", hop.host),
        warnings,
    );
    match &config.user_known_hosts_files {
        Some(files) => {
            target.user_known_hosts = known_hosts_files(files, &tokens, home.as_deref())?;
        }
        None => {
            target.user_known_hosts = home
                .map(|h| vec![h.join(".ssh/known_hosts")])
                .unwrap_or_default();
        }
    }
    target.connect_timeout = options
        .connect_timeout
        .or(config.connect_timeout)
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    Ok(target)
}

fn known_hosts_files(
    files: &[String],
    tokens: &Tokens,
    home: Option<&Path>,
) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for file in files {
        if file.eq_ignore_ascii_case("none") {
            continue;
        }
        let path = expand_path(file, tokens, KNOWN_HOSTS_TOKENS, home)
            .map_err(|e| format!("UserKnownHostsFile: {e}"))?;
        if path != Path::new("/dev/null") {
            paths.push(path);
        }
    }
    Ok(paths)
}

fn expand_path(
    template: &str,
    tokens: &Tokens,
    allowed: &str,
    home: Option<&Path>,
) -> Result<PathBuf, String> {
    let expanded = ssh_config::expand_tokens(template, tokens, allowed)?;
    Ok(PathBuf::from(ssh_config::expand_tilde(&expanded, home)))
}

fn dedup_in_order(paths: &mut Vec<PathBuf>) {
    let mut seen = std::collections::HashSet::new();
    paths.retain(|path| seen.insert(path.clone()));
}

fn parse_yes_no(key: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(format!("{key} expects yes or no, got '{value}'")),
    }
}

/// `ansible_password` / `ansible_ssh_pass` / `ansible_ssh_password`, never shown.
fn password(vars: &VarMap) -> Result<Option<Secret>, String> {
    for key in [
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_ssh_password",
    ] {
        match vars.get(key) {
            None | Some(Value::Null) => continue,
            Some(Value::String(text)) => return Ok(Some(Secret::new(text.clone()))),
            Some(Value::Number(number)) => return Ok(Some(Secret::new(number.to_string()))),
            Some(_) => return Err(format!("{key} must be a string")),
        }
    }
    Ok(None)
}

/// `ansible_host_key_checking=false` (Ansible then passes StrictHostKeyChecking=no).
fn host_key_checking_disabled(vars: &VarMap) -> bool {
    ["ansible_host_key_checking", "ansible_ssh_host_key_checking"]
        .iter()
        .find_map(|key| vars.get(*key))
        .is_some_and(|value| match value {
            Value::Bool(enabled) => !enabled,
            Value::String(text) => matches!(
                text.to_ascii_lowercase().as_str(),
                "false" | "no" | "n" | "f" | "off" | "0"
            ),
            Value::Number(number) => number.as_i64() == Some(0),
            _ => false,
        })
}
