//! A host's connection settings, read from its merged variables the way
//! Ansible's ssh connection plugin reads them.

use serde::Serialize;
use serde_json::Value;

use super::VarMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionSettings {
    /// `ssh` or `local` (`ansible_connection`).
    pub connection: String,
    /// `ansible_host`, else the inventory name.
    pub address: String,
    /// `ansible_port`; `None` leaves it to ssh_config (then 22).
    pub port: Option<u16>,
    /// `ansible_user`; `None` leaves it to ssh_config (then the local user).
    pub user: Option<String>,
    /// `ansible_ssh_private_key_file`.
    pub private_key_file: Option<String>,
    /// `ansible_password` / `ansible_ssh_pass` is set (never shown).
    pub has_password: bool,
    /// `-J` / `-o ProxyJump=` from `ansible_ssh_common_args` / `ansible_ssh_extra_args`.
    pub proxy_jump: Option<String>,
    /// `-o ProxyCommand=` from the same variables.
    pub proxy_command: Option<String>,
    /// Other `-o Key=Value` options from the same variables, in order.
    pub ssh_options: Vec<(String, String)>,
}

impl ConnectionSettings {
    pub fn from_vars(name: &str, vars: &VarMap) -> Result<ConnectionSettings, String> {
        let text = |keys: &[&str]| keys.iter().find_map(|k| vars.get(*k).and_then(scalar_text));
        let port = match text(&["ansible_port", "ansible_ssh_port"]) {
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| format!("ansible_port must be a port number, got '{p}'"))?,
            ),
            None => None,
        };
        let mut settings = ConnectionSettings {
            connection: text(&["ansible_connection"]).unwrap_or_else(|| "ssh".into()),
            address: text(&["ansible_host", "ansible_ssh_host"])
                .unwrap_or_else(|| name.to_string()),
            port,
            user: text(&["ansible_user", "ansible_ssh_user"]),
            private_key_file: text(&["ansible_ssh_private_key_file", "ansible_private_key_file"]),
            has_password: [
                "ansible_password",
                "ansible_ssh_pass",
                "ansible_ssh_password",
            ]
            .iter()
            .any(|k| vars.contains_key(*k)),
            ..Default::default()
        };
        for key in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
            if let Some(args) = text(&[key]) {
                settings
                    .apply_ssh_args(&args)
                    .map_err(|e| format!("{key}: {e}"))?;
            }
        }
        Ok(settings)
    }

    /// Understands the ssh(1) options that matter for connecting: `-o`,
    /// `-J`, `-p`, `-i`, `-l`. Others are ignored.
    ///
    /// Ansible puts `-o Port=`/`-o User=`/`-o IdentityFile=` from ansible_port,
    /// ansible_user and the key file before these arguments, and ssh keeps the first
    /// value it obtains: so those variables win over `-o Port=` and friends here, and
    /// the first of two `-o` for one option wins. `-p` is the exception: ssh assigns it
    /// directly, so it overrides. Extra IdentityFiles accumulate in `ssh_options`.
    fn apply_ssh_args(&mut self, args: &str) -> Result<(), String> {
        let words = super::shlex::split(args, false)?;
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            let (flag, attached) = match word.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (rest[..1].to_string(), rest[1..].to_string()),
                _ => continue,
            };
            if !matches!(flag.as_str(), "o" | "J" | "p" | "i" | "l") {
                continue;
            }
            let value = if attached.is_empty() {
                words
                    .next()
                    .ok_or_else(|| format!("-{flag} needs a value"))?
            } else {
                attached
            };
            match flag.as_str() {
                "o" => self.apply_option(&value)?,
                "J" => set_once(&mut self.proxy_jump, value),
                "p" => {
                    self.port = Some(
                        value
                            .parse()
                            .map_err(|_| format!("-p needs a port number, got '{value}'"))?,
                    )
                }
                "i" => self.add_identity_file(value),
                "l" => set_once(&mut self.user, value),
                _ => unreachable!("filtered above"),
            }
        }
        Ok(())
    }

    /// `-o Key=Value` or `-o "Key Value"`.
    fn apply_option(&mut self, option: &str) -> Result<(), String> {
        let split = option
            .find(|c: char| c == '=' || c.is_whitespace())
            .ok_or_else(|| format!("-o '{option}' is not Key=Value"))?;
        let key = option[..split].trim();
        let value = option[split + 1..].trim_start_matches(|c: char| c == '=' || c.is_whitespace());
        // A ProxyCommand is a shell command: ssh passes it on verbatim.
        if key.eq_ignore_ascii_case("proxycommand") {
            set_once(&mut self.proxy_command, value.trim().to_string());
            return Ok(());
        }
        let value = unquote(value);
        match key.to_ascii_lowercase().as_str() {
            "proxyjump" => set_once(&mut self.proxy_jump, value),
            "port" => {
                let port = value
                    .parse()
                    .map_err(|_| format!("-o Port needs a number, got '{value}'"))?;
                set_once(&mut self.port, port);
            }
            "user" => set_once(&mut self.user, value),
            "identityfile" => self.add_identity_file(value),
            _ => self.ssh_options.push((key.to_string(), value)),
        }
        Ok(())
    }

    fn add_identity_file(&mut self, path: String) {
        if self.private_key_file.is_none() {
            self.private_key_file = Some(path);
        } else {
            self.ssh_options.push(("IdentityFile".into(), path));
        }
    }

    /// The first value of `-o KEY=...` among the other options (keys compare
    /// case-insensitively, as ssh's keywords do).
    pub fn ssh_option(&self, key: &str) -> Option<&str> {
        self.ssh_options
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

/// `-o 'User="a b"'` reaches ssh with the quotes, which ssh's own parser removes.
fn unquote(value: &str) -> String {
    let value = value.trim();
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.to_string(),
        None => value.to_string(),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Variables whose values are secrets: shown and stored as `***`.
pub fn is_secret_var(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "pass",
        "password",
        "passwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "credential",
        "credentials",
        "apikey",
    ];
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(['_', '-', '.']).collect();
    let names_a_file = matches!(words.last(), Some(&("file" | "path" | "dir")));
    !names_a_file && (words.iter().any(|w| WORDS.contains(w)) || lower.contains("api_key"))
}

/// A copy of `vars` with every secret value replaced by `***`.
pub fn masked(vars: &VarMap) -> VarMap {
    vars.iter()
        .map(|(k, v)| {
            let v = if is_secret_var(k) {
                Value::String("***".into())
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "ansible_password",
            "ansible_become_pass",
            "ansible_ssh_pass",
            "db_secret",
            "API_TOKEN",
            "vault-api_key",
        ] {
            assert!(is_secret_var(name), "{name}");
        }
        for name in [
            "ansible_ssh_private_key_file",
            "compass_mode",
            "bypass_cache",
            "password_file",
            "ansible_user",
        ] {
            assert!(!is_secret_var(name), "{name}");
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> VarMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect()
    }

    #[test]
    fn first_obtained_value_wins_like_ssh() {
        let settings = ConnectionSettings::from_vars(
            "web1",
            &vars(&[
                ("ansible_user", "deploy"),
                ("ansible_port", "2200"),
                ("ansible_ssh_private_key_file", "~/.ssh/deploy"),
                (
                    "ansible_ssh_common_args",
                    "-o User=other -o Port=1 -o IdentityFile=/k2 -o 'StrictHostKeyChecking no' \
                     -o StrictHostKeyChecking=yes -o 'ProxyCommand ssh -W %h:%p \"j b\"' -J later",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(settings.user.as_deref(), Some("deploy"));
        assert_eq!(settings.port, Some(2200));
        assert_eq!(settings.private_key_file.as_deref(), Some("~/.ssh/deploy"));
        assert_eq!(settings.ssh_option("identityfile"), Some("/k2"));
        assert_eq!(settings.ssh_option("stricthostkeychecking"), Some("no"));
        assert_eq!(
            settings.proxy_command.as_deref(),
            Some("ssh -W %h:%p \"j b\"")
        );
        assert_eq!(settings.proxy_jump.as_deref(), Some("later"));
        // `-p` assigns directly in ssh, so it overrides ansible_port.
        let overridden = ConnectionSettings::from_vars(
            "web1",
            &vars(&[
                ("ansible_port", "2200"),
                ("ansible_ssh_extra_args", "-p 2022"),
            ]),
        )
        .unwrap();
        assert_eq!(overridden.port, Some(2022));
    }
}
