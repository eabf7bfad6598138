//! ssh_config parsing against the real `ssh -G`, and inventory → Target precedence.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use jobdeck::inventory::VarMap;
use jobdeck::transport::ssh_config::{ProxySetting, SshConfig};
use jobdeck::transport::{
    Connection, HostKeyPolicy, Proxy, ResolveOptions, ResolvedTarget, resolve_target,
};
use serde_json::Value;

fn vars(pairs: &[(&str, &str)]) -> VarMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect()
}

fn options(home: &Path) -> ResolveOptions {
    ResolveOptions {
        home: Some(home.to_path_buf()),
        local_user: Some("me".into()),
        ..ResolveOptions::default()
    }
}

fn resolve(name: &str, pairs: &[(&str, &str)], config: &SshConfig, home: &Path) -> ResolvedTarget {
    resolve_target(name, &vars(pairs), config, &options(home)).unwrap()
}

/// `ssh -G -F FILE HOST`: the keyword → values map ssh would use.
fn ssh_dump(config: &Path, host: &str) -> BTreeMap<String, Vec<String>> {
    let output = Command::new("ssh")
        .arg("-G")
        .arg("-F")
        .arg(config)
        .arg(host)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ssh -G (openssh-client)");
    assert!(output.status.success(), "ssh -G {host} failed");
    let mut dump: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some((key, value)) = line.split_once(' ') {
            dump.entry(key.to_string())
                .or_default()
                .push(value.to_string());
        }
    }
    dump
}

/// The home directory ssh uses for `~` (from the password database, not $HOME).
fn passwd_home() -> PathBuf {
    let output = Command::new("sh")
        .args(["-c", "getent passwd $(id -u) | cut -d: -f6"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

#[test]
fn ssh_config_matches_what_openssh_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let include_dir = dir.path().join("inc.d");
    std::fs::create_dir_all(&include_dir).unwrap();
    std::fs::write(
        include_dir.join("10-alias.conf"),
        "Host alias\n  User from-include\n  ProxyCommand ssh -W %h:%p gw\n",
    )
    .unwrap();
    std::fs::write(include_dir.join("20-db.conf"), "Host db?\n  Port 5022\n").unwrap();
    let config_file = dir.path().join("config");
    std::fs::write(
        &config_file,
        format!(
            "# first value wins, negation, several patterns\n\
             Host web* !web9 api\n\
             \x20 User deploy\n\
             \x20 IdentityFile %d/.ssh/%r@%h\n\
             \x20 IdentitiesOnly yes\n\
             Host alias\n\
             \x20 HostName real-%h.example\n\
             \x20 Port 2200\n\
             \x20 User not-this-one\n\
             Include {}/*.conf\n\
             Host bastion\n\
             \x20 ProxyJump none\n\
             Host *\n\
             \x20 IdentityFile ~/.ssh/all_%u\n\
             \x20 ProxyJump ops@bastion:2222,second\n\
             \x20 UserKnownHostsFile ~/.ssh/kh1 /tmp/kh2\n\
             \x20 StrictHostKeyChecking accept-new\n\
             \x20 ConnectTimeout 1m7s\n\
             \x20 User fallback\n",
            include_dir.display()
        ),
    )
    .unwrap();
    let config = SshConfig::load(Some(&config_file)).unwrap();
    let home = passwd_home();
    for host in [
        "web1", "web9", "api", "alias", "db1", "db10", "bastion", "other",
    ] {
        let ssh = ssh_dump(&config_file, host);
        let ours = config.query(host);
        let one = |key: &str| ssh.get(key).and_then(|v| v.first()).cloned();
        let resolved = resolve(host, &[], &config, &home).target;
        assert_eq!(Some(resolved.address.clone()), one("hostname"), "{host}");
        assert_eq!(Some(resolved.port.to_string()), one("port"), "{host}");
        assert_eq!(ours.user, one("user").filter(|u| u != "root"), "{host}");
        let identity: Vec<String> = ours.identity_files.iter().map(|(f, _)| f.clone()).collect();
        assert_eq!(Some(identity), ssh.get("identityfile").cloned(), "{host}");
        let (jump, command) = match ours.proxy.map(|p| p.0) {
            Some(ProxySetting::Jump(spec)) => (Some(spec), None),
            Some(ProxySetting::Command(command)) => (None, Some(command)),
            _ => (None, None),
        };
        assert_eq!(jump, one("proxyjump"), "{host}");
        assert_eq!(command, one("proxycommand"), "{host}");
        let known: Vec<String> = resolved
            .user_known_hosts
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(Some(known.join(" ")), one("userknownhostsfile"), "{host}");
        assert_eq!(resolved.host_key_policy, HostKeyPolicy::AcceptNew, "{host}");
        assert_eq!(Some("accept-new".to_string()), one("stricthostkeychecking"));
        assert_eq!(
            Some(resolved.connect_timeout.as_secs().to_string()),
            one("connecttimeout")
        );
        assert_eq!(
            Some(
                if resolved.identities_only {
                    "yes"
                } else {
                    "no"
                }
                .to_string()
            ),
            one("identitiesonly"),
            "{host}"
        );
    }
}

fn config_from(dir: &Path, text: &str) -> SshConfig {
    let file = dir.join("config");
    std::fs::write(&file, text).unwrap();
    SshConfig::load(Some(&file)).unwrap()
}

#[test]
fn inventory_values_win_over_ssh_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_from(
        dir.path(),
        "Host 10.0.0.5\n  HostName internal.example\n\
         Host *\n  User cfguser\n  Port 2222\n  IdentityFile ~/.ssh/cfg_key\n  ProxyJump cfgjump\n",
    );
    let home = dir.path();
    // ssh_config alone.
    let plain = resolve("web1", &[], &config, home).target;
    assert_eq!((plain.user.as_str(), plain.port), ("cfguser", 2222));
    assert_eq!(plain.identity_files, [home.join(".ssh/cfg_key")]);
    // Inventory variables win; IdentityFiles accumulate, the inventory's first.
    let target = resolve(
        "web1",
        &[
            ("ansible_host", "10.0.0.5"),
            ("ansible_user", "invuser"),
            ("ansible_port", "2200"),
            ("ansible_ssh_private_key_file", "~/.ssh/inv_key"),
        ],
        &config,
        home,
    )
    .target;
    assert_eq!(target.name, "web1");
    // Host matching used ansible_host, and ssh_config's HostName rewrote it, as ssh does.
    assert_eq!(target.address, "internal.example");
    assert_eq!((target.user.as_str(), target.port), ("invuser", 2200));
    assert_eq!(
        target.identity_files,
        [home.join(".ssh/inv_key"), home.join(".ssh/cfg_key")]
    );
    match &target.proxy {
        Proxy::Jump(hops) => {
            assert_eq!(hops.len(), 1);
            assert_eq!(hops[0].address, "cfgjump");
            // A hop takes its own ssh_config settings, not the target's inventory user.
            assert_eq!((hops[0].user.as_str(), hops[0].port), ("cfguser", 2222));
        }
        other => panic!("expected the ssh_config ProxyJump, got {other:?}"),
    }
}

#[test]
fn seed_000_proxy_command_from_common_args_beats_ssh_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_from(dir.path(), "Host *\n  ProxyJump cfgjump\n");
    let resolved = resolve(
        "host1",
        &[
            ("ansible_port", "5555"),
            ("ansible_host", "192.0.2.50"),
            (
                "ansible_ssh_common_args",
                "-o 'ProxyCommand ssh -W %h:%p dale@dev.daledi.cn -p 51006'",
            ),
        ],
        &config,
        dir.path(),
    );
    match &resolved.target.proxy {
        Proxy::Command(command) => {
            assert_eq!(
                command,
                "ssh -W 192.0.2.50:5555 dale@dev.daledi.cn -p 51006"
            )
        }
        other => panic!("expected the inventory ProxyCommand, got {other:?}"),
    }
    // `ProxyJump=none` in the inventory switches ssh_config's jump off.
    let direct = resolve(
        "h",
        &[("ansible_ssh_extra_args", "-o ProxyJump=none")],
        &config,
        dir.path(),
    );
    assert!(matches!(direct.target.proxy, Proxy::Direct));
    // -J with a chain, each hop resolved through ssh_config.
    let chain = config_from(
        dir.path(),
        "Host b1\n  HostName 127.0.0.9\n  User hopper\n  UserKnownHostsFile /kh/b1\n",
    );
    let resolved = resolve(
        "h",
        &[("ansible_ssh_common_args", "-J b1,root@b2:2022")],
        &chain,
        dir.path(),
    );
    let Proxy::Jump(hops) = &resolved.target.proxy else {
        panic!("expected a jump chain");
    };
    let described: Vec<(String, String, u16)> = hops
        .iter()
        .map(|h| (h.user.clone(), h.address.clone(), h.port))
        .collect();
    assert_eq!(
        described,
        [
            ("hopper".to_string(), "127.0.0.9".to_string(), 22),
            ("root".to_string(), "b2".to_string(), 2022)
        ]
    );
    assert_eq!(hops[0].user_known_hosts, [PathBuf::from("/kh/b1")]);
}

#[test]
fn host_key_settings_are_never_weaker_than_accept_new() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_from(dir.path(), "Host strict*\n  StrictHostKeyChecking yes\n");
    let home = dir.path();
    let no = resolve(
        "h",
        &[(
            "ansible_ssh_common_args",
            "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        )],
        &config,
        home,
    );
    assert_eq!(no.target.host_key_policy, HostKeyPolicy::AcceptNew);
    assert!(no.target.user_known_hosts.is_empty());
    assert!(
        no.warnings.iter().any(|w| w.contains("accept-new")),
        "{:?}",
        no.warnings
    );
    assert!(no.warnings.iter().any(|w| w.contains("/dev/null")));
    // ansible_host_key_checking=false means StrictHostKeyChecking=no: same treatment.
    let unchecked = resolve(
        "h",
        &[("ansible_host_key_checking", "False")],
        &config,
        home,
    );
    assert_eq!(unchecked.target.host_key_policy, HostKeyPolicy::AcceptNew);
    assert!(!unchecked.warnings.is_empty());
    // ssh_config's yes holds; `ask` acts as yes.
    let strict = resolve("strict1", &[], &config, home);
    assert_eq!(strict.target.host_key_policy, HostKeyPolicy::Strict);
    let ask = resolve(
        "h",
        &[("ansible_ssh_common_args", "-o StrictHostKeyChecking=ask")],
        &config,
        home,
    );
    assert_eq!(ask.target.host_key_policy, HostKeyPolicy::Strict);
    // --accept-new applies to every host.
    let mut accept = options(home);
    accept.accept_new = true;
    let target = resolve_target("strict1", &VarMap::new(), &config, &accept).unwrap();
    assert_eq!(target.target.host_key_policy, HostKeyPolicy::AcceptNew);
    // Default known_hosts: ~/.ssh/known_hosts; explicit files are expanded.
    let default = resolve("h", &[], &config, home);
    assert_eq!(
        default.target.user_known_hosts,
        [home.join(".ssh/known_hosts")]
    );
    let explicit = resolve(
        "h",
        &[(
            "ansible_ssh_common_args",
            "-o 'UserKnownHostsFile ~/.ssh/a /etc/b_%h'",
        )],
        &config,
        home,
    );
    assert_eq!(
        explicit.target.user_known_hosts,
        [home.join(".ssh/a"), PathBuf::from("/etc/b_h")]
    );
    let bad = resolve_target(
        "h",
        &vars(&[("ansible_ssh_common_args", "-o StrictHostKeyChecking=maybe")]),
        &config,
        &options(home),
    )
    .unwrap_err();
    assert!(bad.contains("host 'h'") && bad.contains("maybe"), "{bad}");
}

#[test]
fn password_local_connection_timeouts_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_from(dir.path(), "Host *\n  ConnectTimeout 4\n");
    let home = dir.path();
    let target = resolve("h", &[("ansible_ssh_pass", "s3cret")], &config, home).target;
    assert_eq!(target.password.as_ref().map(|p| p.expose()), Some("s3cret"));
    assert!(!format!("{target:?}").contains("s3cret"));
    assert_eq!(target.connect_timeout, Duration::from_secs(4));
    let from_args = resolve(
        "h",
        &[("ansible_ssh_common_args", "-o ConnectTimeout=9")],
        &config,
        home,
    );
    assert_eq!(from_args.target.connect_timeout, Duration::from_secs(9));
    let mut cli = options(home);
    cli.connect_timeout = Some(Duration::from_secs(2));
    cli.extra_identity_files = vec![PathBuf::from("/keys/cli")];
    let target = resolve_target(
        "h",
        &vars(&[("ansible_ssh_common_args", "-o ConnectTimeout=9")]),
        &config,
        &cli,
    )
    .unwrap()
    .target;
    assert_eq!(target.connect_timeout, Duration::from_secs(2));
    assert_eq!(target.identity_files, [PathBuf::from("/keys/cli")]);

    let local = resolve(
        "localhost",
        &[("ansible_connection", "local")],
        &config,
        home,
    );
    assert_eq!(local.target.connection, Connection::Local);
    let err = resolve_target(
        "c1",
        &vars(&[("ansible_connection", "docker")]),
        &config,
        &options(home),
    )
    .unwrap_err();
    assert!(err.contains("docker"), "{err}");
    let err = resolve_target(
        "c1",
        &vars(&[("ansible_ssh_common_args", "-J a -o 'ProxyCommand nc %h %p'")]),
        &config,
        &options(home),
    )
    .unwrap_err();
    assert!(
        err.contains("ProxyJump") && err.contains("ProxyCommand"),
        "{err}"
    );
    let err = resolve_target(
        "c1",
        &vars(&[("ansible_ssh_common_args", "-o 'ProxyCommand nc %x'")]),
        &config,
        &options(home),
    )
    .unwrap_err();
    assert!(err.contains("%x"), "{err}");
}
