//! A real OpenSSH sshd for integration tests.
//!
//! `SshdFixture::start()` generates throwaway host and client keys in a temp dir, writes
//! an sshd_config that listens on a free 127.0.0.1 port, starts `/usr/sbin/sshd -D`,
//! waits for its banner, and writes a known_hosts file that trusts it. Dropping the
//! fixture kills sshd. Needs root (sshd switches to the logged-in user) and the
//! `openssh-server` and `openssh-client` packages.
//!
//! `jobdeck_on` runs the binary itself on a journal.
//!
//! Password tests use a dedicated local user ([`PASSWORD_USER`]), created on first use
//! with a random password that lives only as long as the test process.
#![allow(dead_code)]

pub mod tmux;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";
/// The unprivileged user that password tests log in as.
pub const PASSWORD_USER: &str = "jobdeck-test";

pub struct SshdFixture {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The user the key logins are for (the one running the tests: root).
    pub user: String,
    /// An unencrypted ed25519 client key listed in authorized_keys.
    pub client_key: PathBuf,
    /// A known_hosts file with one plain `[127.0.0.1]:PORT` line for this sshd.
    pub known_hosts: PathBuf,
    /// The server's host public key, `ssh-ed25519 AAAA...`.
    pub host_public_key: String,
    pub log: PathBuf,
    sshd: Child,
}

impl SshdFixture {
    pub fn start() -> SshdFixture {
        Self::start_with("")
    }

    /// Like [`start`](Self::start), with extra sshd_config lines that override the
    /// defaults (e.g. `AllowTcpForwarding no`).
    pub fn start_with(extra_config: &str) -> SshdFixture {
        assert_eq!(
            effective_uid(),
            0,
            "the sshd fixture needs root: sshd must switch to the test users"
        );
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let host_key = root.join("ssh_host_ed25519_key");
        keygen(&host_key, "");
        let client_key = root.join("id_ed25519");
        keygen(&client_key, "");
        let authorized = root.join("authorized_keys");
        std::fs::write(&authorized, read_public(&client_key)).unwrap();
        // sshd insists on its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").ok();

        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let log = root.join("sshd.log");
        for _ in 0..20 {
            let port = free_port();
            let config = root.join("sshd_config");
            // sshd keeps the first value of a keyword: the extra lines go first to win.
            let text = format!(
                "{extra_config}\n{}",
                sshd_config(root, port, &host_key, &authorized)
            );
            std::fs::write(&config, text).unwrap();
            let log_file = std::fs::File::create(&log).unwrap();
            let mut sshd = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().unwrap())
                .stderr(log_file)
                .spawn()
                .expect("start sshd");
            if wait_for_banner(port, &mut sshd) {
                let host_public_key = read_public(&host_key);
                let known_hosts = root.join("known_hosts");
                std::fs::write(
                    &known_hosts,
                    format!("[127.0.0.1]:{port} {host_public_key}\n"),
                )
                .unwrap();
                return SshdFixture {
                    dir,
                    port,
                    user,
                    client_key,
                    known_hosts,
                    host_public_key,
                    log,
                    sshd,
                };
            }
            // Most likely the port was taken between probing and binding: try another.
            let _ = sshd.kill();
            let _ = sshd.wait();
        }
        panic!(
            "sshd did not start; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// An INI inventory line for host `name` that logs into this sshd on
    /// `port` (normally `self.port`) with the fixture's user, key and
    /// known_hosts.
    pub fn host_line(&self, name: &str, port: u16) -> String {
        format!(
            "{name} ansible_host=127.0.0.1 ansible_port={port} ansible_user={} \
             ansible_ssh_private_key_file={} \
             ansible_ssh_common_args='-o UserKnownHostsFile={}'",
            self.user,
            self.client_key.display(),
            self.known_hosts.display()
        )
    }

    /// A transport target named `name` that logs into this sshd with the
    /// fixture's user, key and known_hosts (and nothing of the machine's).
    pub fn target(&self, name: &str) -> jobdeck::transport::Target {
        let mut target = jobdeck::transport::Target::new(name);
        target.address = "127.0.0.1".into();
        target.port = self.port;
        target.user = self.user.clone();
        target.identity_files = vec![self.client_key.clone()];
        target.identities_only = true;
        target.user_known_hosts = vec![self.known_hosts.clone()];
        target.global_known_hosts = Vec::new();
        target
    }

    /// Generates another client key (with `passphrase`, "" for none) and authorizes it.
    pub fn add_client_key(&self, name: &str, passphrase: &str) -> PathBuf {
        let key = self.path(name);
        keygen(&key, passphrase);
        let authorized = self.path("authorized_keys");
        let mut keys = std::fs::read_to_string(&authorized).unwrap();
        keys.push_str(&read_public(&key));
        std::fs::write(&authorized, keys).unwrap();
        key
    }

    /// A fresh key pair that sshd does not know, for "changed key" known_hosts lines.
    pub fn unrelated_public_key(&self, name: &str) -> String {
        let key = self.path(name);
        keygen(&key, "");
        read_public(&key)
    }

    /// Starts an ssh-agent holding `keys`; dropping the guard stops it.
    pub fn start_agent(&self, keys: &[&Path]) -> AgentGuard {
        let socket = self.path(&format!("agent-{}.sock", keys.len()));
        let child = Command::new("ssh-agent")
            .args(["-D", "-a"])
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ssh-agent (openssh-client)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "ssh-agent did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        for key in keys {
            let status = Command::new("ssh-add")
                .arg(key)
                .env("SSH_AUTH_SOCK", &socket)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("ssh-add");
            assert!(status.success(), "ssh-add {} failed", key.display());
        }
        AgentGuard { socket, child }
    }

    /// The password of [`PASSWORD_USER`], creating the user on first use.
    pub fn password_user() -> &'static str {
        static PASSWORD: OnceLock<String> = OnceLock::new();
        PASSWORD.get_or_init(ensure_password_user)
    }
}

impl SshdFixture {
    /// The pids of sshd's per-connection processes (the listener's children).
    pub fn connection_processes(&self) -> Vec<u32> {
        let listener = self.sshd.id();
        let mut children = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid ...: comm may hold spaces, so after ')'.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if parent == Some(listener) {
                children.push(pid);
            }
        }
        children
    }

    /// How many TCP connections sshd has accepted so far (its VERBOSE log has one
    /// "Connection from" line per connection).
    pub fn connections_accepted(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains("Connection from "))
            .count()
    }
}

impl Drop for SshdFixture {
    fn drop(&mut self) {
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
    }
}

pub struct AgentGuard {
    pub socket: PathBuf,
    child: Child,
}

impl Drop for AgentGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sshd_config(root: &Path, port: u16, host_key: &Path, authorized: &Path) -> String {
    format!(
        "Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey {host_key}\n\
         PidFile {pid}\n\
         AuthorizedKeysFile {authorized}\n\
         StrictModes no\n\
         UsePAM no\n\
         PermitRootLogin yes\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication yes\n\
         KbdInteractiveAuthentication no\n\
         AllowUsers root {PASSWORD_USER}\n\
         MaxStartups 200:30:400\n\
         MaxSessions 50\n\
         LogLevel VERBOSE\n\
         AllowTcpForwarding yes\n\
         Subsystem sftp internal-sftp\n",
        host_key = host_key.display(),
        pid = root.join("sshd.pid").display(),
        authorized = authorized.display(),
    )
}

fn keygen(path: &Path, passphrase: &str) {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "jobdeck-test",
            "-f",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen (openssh-client)");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

/// `type base64` of the key's .pub file, with a newline.
fn read_public(key: &Path) -> String {
    let mut path = key.as_os_str().to_owned();
    path.push(".pub");
    let text = std::fs::read_to_string(PathBuf::from(path)).unwrap();
    let fields: Vec<&str> = text.split_whitespace().take(2).collect();
    format!("{}\n", fields.join(" "))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_banner(port: u16, sshd: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = sshd.try_wait() {
            return false;
        }
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            let mut banner = [0u8; 8];
            if stream.read_exact(&mut banner).is_ok() && banner.starts_with(b"SSH-2.0") {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    false
}

/// Creates [`PASSWORD_USER`] if missing (idempotent) and gives it a fresh random password.
fn ensure_password_user() -> String {
    let exists = Command::new("id")
        .arg(PASSWORD_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !exists {
        let status = Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/sh", PASSWORD_USER])
            .status()
            .expect("useradd (passwd package)");
        // Another test process may have created it meanwhile (exit 9: user exists).
        assert!(
            status.success() || status.code() == Some(9),
            "useradd {PASSWORD_USER} failed"
        );
    }
    let mut bytes = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .unwrap();
    let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut chpasswd = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .expect("chpasswd (passwd package)");
    use std::io::Write;
    chpasswd
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD_USER}:{password}\n").as_bytes())
        .unwrap();
    assert!(chpasswd.wait().unwrap().success(), "chpasswd failed");
    password
}

fn effective_uid() -> u32 {
    // Read from /proc rather than pulling libc into the tests.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .unwrap_or(u32::MAX)
}

/// Lines of `ps -eo pid,args` that contain `needle`, excluding the ps itself.
pub fn processes_matching(needle: &str) -> Vec<String> {
    let output = Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .expect("ps (procps)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains(needle))
        .map(str::to_string)
        .collect()
}

/// known_hosts lines a careless or hostile file holds, lines 1 to 3: a Latin-1
/// comment, a binary line, and a key cut short for `[127.0.0.1]:port`, all
/// with CRLF ends. None of them may switch host-key checking off.
pub fn hostile_known_hosts_lines(port: u16) -> Vec<u8> {
    let mut bytes = b"# h\xf4tes de l'\xe9quipe r\xe9seau\r\n".to_vec();
    bytes.extend_from_slice(b"\x00\x01\xff\xfe\x9c garbage \xc3\x28\r\n");
    bytes.extend_from_slice(
        format!("[127.0.0.1]:{port},other ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC\r\n").as_bytes(),
    );
    bytes
}

/// Runs the jobdeck binary in `dir` on `journal`: exit code, stdout, stderr.
pub fn jobdeck_on(dir: &Path, journal: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_jobdeck"))
        .args(args)
        .arg("--journal")
        .arg(journal)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
