//! jobdeck under hostile conditions, end to end through the binary: known_hosts
//! files that try to switch host-key checking off, output that prints a secret
//! around an escape sequence, secrets looked for in the process list while
//! steps run, and commands that escape their process group. Against the real
//! sshd fixture (tests/support) and local hosts; every test runs as root.

mod cli;
mod support;

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use cli::Outcome;
use support::{SshdFixture, hostile_known_hosts_lines};

/// A temp dir that is the runs' HOME and holds the journal.
struct Lab {
    files: cli::Sandbox,
}

impl std::ops::Deref for Lab {
    type Target = cli::Sandbox;

    fn deref(&self) -> &cli::Sandbox {
        &self.files
    }
}

impl Lab {
    fn new() -> Lab {
        Lab {
            files: cli::Sandbox::new(),
        }
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
        cli::run(cmd)
    }

    /// `jobdeck -i INVENTORY --run FLOW` with `extra` arguments.
    fn run_flow(&self, inventory: &Path, flow: &Path, extra: &[&str]) -> Outcome {
        self.run(
            self.cmd()
                .arg("-i")
                .arg(inventory)
                .arg("--run")
                .arg(flow)
                .args(extra),
        )
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
        let mut bytes = hostile_known_hosts_lines(port);
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
        let args = [&["-p", param.as_str()], extra].concat();
        lab.run_flow(&inventory, &flow, &args).expect(0)
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

// ------------------------------------------------------------ secrets in `ps`

impl Lab {
    /// `web1` on the sshd as root (key), `web2` as the password user (its
    /// `ansible_password`), `local1` a local host; `vars` for all.
    fn mixed_inventory(&self, sshd: &SshdFixture, vars: &str) -> PathBuf {
        let known = sshd.known_hosts.display();
        let mut text = String::new();
        writeln!(
            text,
            "[fleet]\n\
             web1 ansible_host=127.0.0.1 ansible_port={port} ansible_user={user} \
             ansible_ssh_private_key_file={key} ansible_ssh_common_args='-o UserKnownHostsFile={known}'\n\
             web2 ansible_host=127.0.0.1 ansible_port={port} ansible_user={puser} \
             ansible_password={password} ansible_ssh_common_args='-o UserKnownHostsFile={known}'\n\
             local1 ansible_connection=local\n\
             [fleet:vars]\n{vars}",
            port = sshd.port,
            user = sshd.user,
            key = sshd.client_key.display(),
            puser = support::PASSWORD_USER,
            password = SshdFixture::password_user(),
        )
        .unwrap();
        self.write("hosts.ini", text)
    }
}

/// Polls `ps` while `run` runs; returns what `run` returned and every
/// process line seen, once each.
fn watching_ps<T>(run: impl FnOnce() -> T) -> (T, Vec<String>) {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut seen = std::collections::BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let out = std::process::Command::new("ps")
                    .args(["-eww", "-o", "args"])
                    .output()
                    .expect("ps (procps)");
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    seen.insert(line.to_string());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            seen.into_iter().collect::<Vec<String>>()
        })
    };
    let result = run();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    (result, watcher.join().unwrap())
}

#[test]
fn no_secret_reaches_a_command_line_whatever_the_step() {
    let lab = Lab::new();
    let sshd = SshdFixture::start();
    // Random, so no other process on the machine shows them by chance.
    let token = format!("tok-{:x}", std::process::id() as u64 * 7919 + 17);
    let db_password = format!("dbpw-{:x}", std::process::id() as u64 * 104729 + 3);
    let user_password = SshdFixture::password_user().to_string();
    let inventory = lab.mixed_inventory(&sshd, &format!("db_password={db_password}\n"));
    let landing = lab.path("landing");
    std::fs::create_dir_all(&landing).unwrap();
    std::fs::set_permissions(&landing, std::fs::Permissions::from_mode(0o777)).unwrap();
    lab.write("flows/payload.txt", "payload\n");
    lab.write(
        "atoms/hold.sh",
        "#!/bin/sh\n# ---\n# name: hold\n# params:\n#   key: {type: string, secret: true, required: true}\n\
         # ---\ntest -n \"$key\" && sleep 1.31\n",
    );
    lab.write(
        "atoms/hold-as-nobody.sh",
        "#!/bin/sh\n# ---\n# name: hold-as-nobody\n# run_as: nobody\n# params:\n\
         #   key: {type: string, secret: true, required: true}\n# ---\n\
         test -n \"$key\" && test -n \"$token\" && sleep 1.41\n",
    );
    let flow = lab.write(
        "flows/secrets.yml",
        format!(
            r#"name: secrets
params:
  token: {{type: string, secret: true, required: true}}
steps:
  - name: a command that names it
    command: test "${{token}}" != x && test -n "$db_password" && sleep 1.11
  - name: a script
    script: |
      #!/bin/sh
      test -n "$token" && test -n "$db_password" && sleep 1.21
    targets: "web1:local1"
  - name: an atom
    atom: hold
    with: {{key: "${{token}}"}}
    targets: "web1:local1"
  - name: a copy
    copy: {{src: payload.txt, dest: "{landing}/payload.txt"}}
  - name: an atom through sudo
    atom: hold-as-nobody
    with: {{key: "${{token}}"}}
    targets: "web1:local1"
"#,
            landing = landing.display()
        ),
    );
    let param = format!("token={token}");
    let (out, seen) =
        watching_ps(|| lab.run_flow(&inventory, &flow, &["-p", &param, "--forks", "3"]));
    let out = out.expect(0);
    // The scan saw every kind of step running.
    for sleep in ["sleep 1.11", "sleep 1.21", "sleep 1.31", "sleep 1.41"] {
        assert!(
            seen.iter().any(|line| line.contains(sleep)),
            "never saw `{sleep}` running:\n{}",
            out.stdout
        );
    }
    // jobdeck's own command line holds what the operator typed (-p token=...).
    let jobdeck = env!("CARGO_BIN_EXE_jobdeck");
    for secret in [&token, &db_password, &user_password] {
        let leaks: Vec<&String> = seen
            .iter()
            .filter(|line| line.contains(secret) && !line.starts_with(jobdeck))
            .collect();
        assert!(leaks.is_empty(), "a secret on a command line: {leaks:#?}");
    }
    assert!(lab.path("landing/payload.txt").exists());
}

// ------------------------------------------------------ processes on the hosts

/// Lines of `ps` naming `sleep TAG<digit>`.
fn sleeps_of(tag: &str) -> Vec<String> {
    support::processes_matching(&format!("sleep {tag}"))
}

/// Processes whose environment holds `var`.
fn marked_by(var: &str) -> Vec<String> {
    let needle = format!("{var}=");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|&b| b == 0)
            .any(|var| var.starts_with(needle.as_bytes()))
        {
            found.push(name);
        }
    }
    found
}

/// Kills, when the test ends however it ends, the bystander and whatever a
/// failed run left behind with the tag (by pid: nothing else).
struct Cleanup {
    bystander: std::process::Child,
    tag: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = self.bystander.kill();
        let _ = self.bystander.wait();
        for line in sleeps_of(&self.tag) {
            if let Some(pid) = line.split_whitespace().next() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", pid])
                    .status();
            }
        }
    }
}

/// A step that leaves its process group every way a shell can: a `setsid`
/// child holding the output, a `setsid` child that ignores TERM, a double
/// fork; then waits. Its first line names its mark.
const ESCAPING: &str = "env | grep '^JOBDECK_MARK_' | cut -d= -f1
setsid sleep ${tag}1 &
setsid sh -c 'trap \"\" TERM; exec sleep ${tag}2' >/dev/null 2>&1 </dev/null &
sh -c 'sleep ${tag}3 >/dev/null 2>&1 </dev/null &' &
sleep ${tag}4
";

#[test]
fn a_timed_out_step_leaves_nothing_behind_however_it_escaped() {
    let lab = Lab::new();
    let sshd = SshdFixture::start();
    let inventory = lab.mixed_inventory(&sshd, "");
    let indented = ESCAPING.replace('\n', "\n      ");
    lab.write(
        "atoms/escape-as-nobody.sh",
        format!(
            "#!/bin/sh\n# ---\n# name: escape-as-nobody\n# run_as: nobody\n# params:\n\
             #   tag: {{type: string, required: true}}\n# ---\n{ESCAPING}"
        ),
    );
    let flow = lab.write(
        "flows/escape.yml",
        format!(
            "name: escape\nparams:\n  tag: {{type: string, required: true}}\n  as: {{type: string, default: root}}\n\
             steps:\n  - name: escape\n    script: |\n      #!/bin/sh\n      {indented}\n    timeout: 2s\n"
        ),
    );
    let flow_as_nobody = lab.write(
        "flows/escape-as-nobody.yml",
        "name: escape-as-nobody\nparams:\n  tag: {type: string, required: true}\n\
         steps:\n  - atom: escape-as-nobody\n    with: {tag: \"${tag}\"}\n    timeout: 2s\n",
    );
    let base = 40_000 + std::process::id() % 9_000;
    for (case, (host, flow, user)) in [
        ("web1", &flow, "root"),
        ("local1", &flow, "root"),
        ("web1", &flow_as_nobody, "nobody"),
        ("local1", &flow_as_nobody, "nobody"),
    ]
    .into_iter()
    .enumerate()
    {
        let tag = format!("{base}{case}");
        let what = format!("{host} as {user}");
        // A process of the same user, started outside the step: not ours to stop.
        let bystander = std::process::Command::new("sudo")
            .args(["-n", "-u", user, "--", "sleep", &format!("{tag}9")])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut cleanup = Cleanup {
            bystander,
            tag: tag.clone(),
        };
        let param = format!("tag={tag}");
        let out = lab
            .run_flow(&inventory, flow, &["-p", &param, "--limit", host])
            .expect(1);
        assert!(out.stdout.contains("TIMED OUT"), "{what}:\n{}", out.stdout);
        // Everything the step started is gone once it is reported.
        let left: Vec<String> = sleeps_of(&tag)
            .into_iter()
            .filter(|line| !line.contains(&format!("{tag}9")))
            .collect();
        assert!(left.is_empty(), "{what}: left behind: {left:#?}");
        let mark = out
            .stdout
            .lines()
            .find(|line| line.starts_with("JOBDECK_MARK_"))
            .unwrap_or_else(|| panic!("{what}: no mark printed:\n{}", out.stdout))
            .to_string();
        assert!(marked_by(&mark).is_empty(), "{what}: marked processes left");
        assert!(
            cleanup.bystander.try_wait().unwrap().is_none(),
            "{what}: the bystander was killed"
        );
        // Reported at the deadline plus the grace period (2 s each), not later.
        let journal = rusqlite::Connection::open(lab.journal()).unwrap();
        let (started, finished): (i64, i64) = journal
            .query_row(
                "SELECT started_at, finished_at FROM step_results ORDER BY instance_id DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        let took = Duration::from_millis((finished - started) as u64);
        eprintln!("{what}: a 2 s timeout with a 2 s grace, reported after {took:?}");
        assert!(
            took < Duration::from_millis(6_500),
            "{what}: reported after {took:?}"
        );
        drop(journal);
        drop(cleanup);
    }
}

#[test]
fn an_abort_leaves_nothing_behind_either() {
    let lab = Lab::new();
    let sshd = SshdFixture::start();
    let inventory = lab.mixed_inventory(&sshd, "");
    let tag = format!("{}", 50_000 + std::process::id() % 9_000);
    let cleanup = Cleanup {
        bystander: std::process::Command::new("sleep")
            .arg(format!("{tag}9"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
        tag: tag.clone(),
    };
    let command = ESCAPING.replace("${tag}", &tag);
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_jobdeck"))
        .current_dir(lab.dir.path())
        .env_remove("SSH_AUTH_SOCK")
        .env("HOME", lab.path("home"))
        .arg("--journal")
        .arg(lab.journal())
        .arg("-i")
        .arg(&inventory)
        .args(["--run", "-c", &command, "--limit", "web1:local1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Both hosts' steps are running once both foreground sleeps show.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while sleeps_of(&format!("{tag}4")).len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the steps never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = std::process::Command::new("kill")
        .args(["-INT", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = run.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "aborted");
    let left: Vec<String> = sleeps_of(&tag)
        .into_iter()
        .filter(|line| !line.contains(&format!("{tag}9")))
        .collect();
    assert!(left.is_empty(), "left behind: {left:#?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for mark in stdout.lines().filter(|l| l.starts_with("JOBDECK_MARK_")) {
        assert!(marked_by(mark).is_empty(), "{mark}: marked processes left");
    }
    let mut cleanup = cleanup;
    assert!(
        cleanup.bystander.try_wait().unwrap().is_none(),
        "the bystander was killed"
    );
}
