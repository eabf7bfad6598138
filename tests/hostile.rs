//! jobdeck under hostile conditions, end to end through the binary: known_hosts
//! files that try to switch host-key checking off, output that prints a secret
//! around an escape sequence, secrets looked for in the process list while
//! steps run, and commands that escape their process group. Against the real
//! sshd fixture (tests/support) and local hosts; every test runs as root.

mod support;

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use support::SshdFixture;

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    #[track_caller]
    fn expect(self, code: i32) -> Outcome {
        assert_eq!(
            self.code, code,
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A temp dir that is the runs' HOME and holds the journal.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn journal(&self) -> PathBuf {
        self.path("journal.db")
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("jobdeck").unwrap();
        cmd.current_dir(self.dir.path())
            .arg("--journal")
            .arg(self.journal())
            // No agent and no ~/.ssh of the machine: only what the inventory says.
            .env_remove("SSH_AUTH_SOCK")
            .env("HOME", self.path("home"))
            .timeout(Duration::from_secs(120));
        cmd
    }

    fn run(&self, cmd: &mut Command) -> Outcome {
        let out = cmd.output().unwrap();
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// One host `web1` on the fixture's sshd, logged into with its key.
    /// `ssh_args` go into `ansible_ssh_common_args`.
    fn ssh_inventory(&self, sshd: &SshdFixture, ssh_args: &str, vars: &str) -> PathBuf {
        let mut text = String::new();
        writeln!(
            text,
            "[fleet]\nweb1 ansible_host=127.0.0.1 ansible_port={} ansible_user={} \
             ansible_ssh_private_key_file={} ansible_ssh_common_args='{ssh_args}' {vars}",
            sshd.port,
            sshd.user,
            sshd.client_key.display(),
        )
        .unwrap();
        self.write("hosts.ini", text)
    }
}

// ------------------------------------------------------------------ host keys

/// A Latin-1 comment, a binary line, a key cut short (for the host itself),
/// CRLF line ends: lines 1 to 3.
fn hostile_lines(port: u16) -> Vec<u8> {
    let mut bytes = b"# h\xf4tes de l'\xe9quipe r\xe9seau\r\n".to_vec();
    bytes.extend_from_slice(b"\x00\x01\xff\xfe\x9c garbage \xc3\x28\r\n");
    bytes.extend_from_slice(
        format!("[127.0.0.1]:{port},other ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC\r\n").as_bytes(),
    );
    bytes
}

#[test]
fn a_hostile_known_hosts_never_lets_a_changed_or_revoked_key_through() {
    let lab = Lab::new();
    let sshd = SshdFixture::start();
    let port = sshd.port;
    let impostor = sshd.unrelated_public_key("impostor_key");
    let host_key = sshd.host_public_key.trim_end().to_string();
    let cases = [
        (
            "changed",
            format!("[127.0.0.1]:{port} {}\r\n", impostor.trim_end()),
            "HOST KEY CHANGED",
        ),
        (
            "revoked",
            format!("[127.0.0.1]:{port} {host_key}\r\n@revoked * {host_key}\r\n"),
            "@revoked",
        ),
    ];
    for (name, last_lines, refusal) in cases {
        let file = lab.path(&format!("{name}_known_hosts"));
        let mut bytes = hostile_lines(port);
        bytes.extend_from_slice(last_lines.as_bytes());
        std::fs::write(&file, &bytes).unwrap();
        let known = format!("-o UserKnownHostsFile={}", file.display());
        let modes = [
            (format!("{known} -o StrictHostKeyChecking=no"), None),
            (known.clone(), Some("--accept-new")),
            (known.clone(), None),
        ];
        for (ssh_args, flag) in modes {
            let inventory = lab.ssh_inventory(&sshd, &ssh_args, "");
            let out = lab
                .run(
                    lab.cmd()
                        .arg("-i")
                        .arg(&inventory)
                        .args(["--run", "-c", "echo connected"])
                        .args(flag),
                )
                .expect(1);
            let what = format!("{name}, {ssh_args} {flag:?}");
            assert!(out.stdout.contains(refusal), "{what}:\n{}", out.stdout);
            assert!(
                !out.stdout.contains("connected\n"),
                "{what}:\n{}",
                out.stdout
            );
            for line in [2, 3] {
                let warning = format!("{}:{line}: line skipped", file.display());
                assert!(out.stderr.contains(&warning), "{what}:\n{}", out.stderr);
            }
            assert!(
                !out.stderr.contains(&format!("{}:1:", file.display())),
                "a Latin-1 comment is fine:\n{}",
                out.stderr
            );
            assert_eq!(std::fs::read(&file).unwrap(), bytes, "{what}: file changed");
        }
    }
}

#[test]
fn accept_new_creates_dot_ssh_and_known_hosts_with_openssh_modes() {
    let lab = Lab::new();
    let sshd = SshdFixture::start();
    std::fs::create_dir_all(lab.path("home")).unwrap();
    // No UserKnownHostsFile: the new key goes to ~/.ssh/known_hosts.
    let inventory = lab.ssh_inventory(&sshd, "", "");
    lab.run(
        lab.cmd()
            .arg("-i")
            .arg(&inventory)
            .args(["--run", "-c", "true", "--accept-new"]),
    )
    .expect(0);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&lab.path("home/.ssh")), 0o700);
    assert_eq!(mode(&lab.path("home/.ssh/known_hosts")), 0o600);
}

// -------------------------------------------------------- masking after escapes

/// A flow whose secret param is printed in two pieces around an escape
/// sequence, on stdout and stderr: a terminal shows it joined.
const JOINED_SECRET: &str = "firstsecond";
const JOINED_FLOW: &str = r#"name: joined
params:
  token: {type: string, secret: true, required: true}
steps:
  - name: print
    command: printf 'x=%s\033[0m%s\n' first second; printf 'y=fir\033]0;t\007st%s\r\n' second >&2
"#;

/// True if `text`, with escape sequences and carriage returns taken out,
/// shows the joined secret.
fn shows_joined_secret(text: &[u8]) -> bool {
    let shown: Vec<u8> = jobdeck::escapes::strip(text)
        .into_iter()
        .filter(|&b| b != b'\r')
        .collect();
    shown
        .windows(JOINED_SECRET.len())
        .any(|w| w == JOINED_SECRET.as_bytes())
}

#[test]
fn a_secret_printed_around_an_escape_sequence_is_masked_for_every_consumer() {
    let lab = Lab::new();
    let inventory = lab.write("hosts.ini", "[lab]\nlocal1 ansible_connection=local\n");
    let flow = lab.write("flows/joined.yml", JOINED_FLOW);
    let param = format!("token={JOINED_SECRET}");
    let run = |extra: &[&str]| {
        lab.run(
            lab.cmd()
                .arg("-i")
                .arg(&inventory)
                .arg("--run")
                .arg(&flow)
                .args(["-p", &param])
                .args(extra),
        )
        .expect(0)
    };
    let mut seen = Vec::new();
    let headless = run(&[]);
    assert!(headless.stdout.contains("x=***"), "{}", headless.stdout);
    assert!(headless.stdout.contains("y=***"), "{}", headless.stdout);
    seen.push(("headless".to_string(), headless.stdout));
    seen.push(("--gather".into(), run(&["--gather"]).stdout));
    seen.push(("--json".into(), run(&["--json"]).stdout));
    for args in [
        vec!["show", "1"],
        vec!["show", "1", "--json"],
        vec!["export", "1", "--json"],
        vec!["show", "1", "--replay", "--speed", "1000"],
    ] {
        seen.push((
            args.join(" "),
            lab.run(lab.cmd().args(&args)).expect(0).stdout,
        ));
    }
    for (what, text) in &seen {
        // JSON keeps the escape as \u001b: decode it first.
        let text = text.replace("\\u001b", "\u{1b}").replace("\\r", "\r");
        assert!(
            !shows_joined_secret(text.as_bytes()),
            "{what} shows the secret:\n{text}"
        );
    }

    // The journal's bytes, as stored (read through SQLite), of all three runs.
    let journal = rusqlite::Connection::open(lab.journal()).unwrap();
    let mut statement = journal
        .prepare("SELECT data FROM output ORDER BY id")
        .unwrap();
    let stored: Vec<u8> = statement
        .query_map([], |row| row.get::<_, Vec<u8>>(0))
        .unwrap()
        .flat_map(Result::unwrap)
        .collect();
    assert!(!stored.is_empty());
    assert!(
        !shows_joined_secret(&stored),
        "{}",
        String::from_utf8_lossy(&stored)
    );
    drop(statement);
    drop(journal);

    // The console's replay of the run, drawn at its final state.
    let mut app = jobdeck::tui::app::App::new(
        jobdeck::tui::theme::Theme::default_theme(),
        jobdeck::tui::keymap::Keymap::builtin(),
    );
    app.dispatch(jobdeck::tui::action::Action::Resize(120, 30));
    let inventory =
        jobdeck::inventory::Inventory::load(&[inventory.display().to_string()]).unwrap();
    app.set_inventory(Arc::new(inventory), lab.path(""));
    app.set_journal_path(lab.journal());
    app.dispatch(jobdeck::tui::action::Action::ShowView(
        jobdeck::tui::action::ViewId::History,
    ));
    // The newest run (the --json one) opens.
    app.dispatch(jobdeck::tui::action::Action::Submit);
    assert_eq!(app.history_view().replay_id(), Some(3));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("x=***"), "{screen}");
    assert!(!screen.contains(JOINED_SECRET), "{screen}");
}
