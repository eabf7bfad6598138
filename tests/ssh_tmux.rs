//! `jobdeck ssh HOST` and the console's `s` in a real terminal: tmux runs it against the sshd
//! fixture, the test types a command and sees its output, resizes the
//! window and sees `stty size` follow, and leaves with `exit 3`, which
//! becomes jobdeck's exit status and the audit row's, the terminal's
//! modes as they were before. The console's `s` on an Inventory host runs
//! the same session and comes back to the same view and host. Skipped, with a
//! message, only when tmux is not installed.

mod support;

use std::time::Duration;

use support::SshdFixture;
use support::tmux::{self, shell_quote};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn an_interactive_session_passes_keys_output_resizes_and_the_exit_status() {
    let sshd = SshdFixture::start();
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        format!("[web]\n{}\n", sshd.host_line("web1", sshd.port)),
    )
    .unwrap();
    let journal = dir.path().join("journal.db");
    let jobdeck = std::path::Path::new(env!("CARGO_BIN_EXE_jobdeck"));
    let command = format!(
        "saved=$(stty -g); \
         env -u SSH_AUTH_SOCK XDG_CONFIG_HOME={config} {jobdeck} --journal {journal} ssh -i {inventory} web1; \
         echo JOBDECK-EXITED-$?; [ \"$(stty -g)\" = \"$saved\" ] && echo TERMINAL-RESTORED; sleep 600",
        config = shell_quote(&dir.path().join("config")),
        jobdeck = shell_quote(jobdeck),
        journal = shell_quote(&journal),
        inventory = shell_quote(&inventory),
    );
    let Some(term) = tmux::start("ssh-tmux", dir.path(), 100, 30, &command) else {
        return;
    };
    term.line("echo hi-$((6*7))");
    term.wait_for("hi-42", WAIT);
    term.line("echo size=$(stty size)");
    term.wait_for("size=30 100", WAIT);
    term.resize(120, 40);
    // The resize reaches the pty through SIGWINCH and a window-change request.
    std::thread::sleep(Duration::from_millis(500));
    term.line("echo size=$(stty size)");
    term.wait_for("size=40 120", WAIT);
    term.line("exit 3");
    term.wait_for("JOBDECK-EXITED-3", WAIT);
    term.wait_for("TERMINAL-RESTORED", WAIT);

    let (code, stdout, stderr) =
        support::jobdeck_on(dir.path(), &journal, &["ssh", "--list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows[0]["exit_code"], 3, "{rows}");
    assert!(rows[0]["command"].is_null(), "a login shell: {rows}");
}

#[test]
fn s_in_the_console_opens_a_shell_and_returns_to_the_same_host() {
    let sshd = SshdFixture::start();
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        format!(
            "[web]\n{}\n{}\n",
            sshd.host_line("web1", sshd.port),
            sshd.host_line("web2", sshd.port)
        ),
    )
    .unwrap();
    let journal = dir.path().join("journal.db");
    let jobdeck = std::path::Path::new(env!("CARGO_BIN_EXE_jobdeck"));
    let command = format!(
        "env -u SSH_AUTH_SOCK XDG_CONFIG_HOME={config} TERM=xterm-256color {jobdeck} --journal {journal} -i {inventory}; \
         echo JOBDECK-EXITED-$?; sleep 600",
        config = shell_quote(&dir.path().join("config")),
        jobdeck = shell_quote(jobdeck),
        journal = shell_quote(&journal),
        inventory = shell_quote(&inventory),
    );
    let Some(term) = tmux::start("ssh-console", dir.path(), 120, 30, &command) else {
        return;
    };
    term.wait_for("web  2", WAIT);
    // Open the group, go down to web2.
    term.keys(&["l", "j", "j"]);
    term.wait_for("web2 · host", WAIT);
    term.keys(&["s"]);
    term.line("echo on-$(hostname)-$((6*7))");
    let shell = term.wait_for("-42", WAIT);
    assert!(
        !shell.contains("Inventory 2 hosts"),
        "the console gave the screen up:\n{shell}"
    );
    term.line("exit 3");
    let back = term.wait_for("ssh web2: exit 3", WAIT);
    assert!(
        back.contains("web2 · host"),
        "the same host is under the cursor:\n{back}"
    );
    // Still the console: its keys work.
    term.keys(&["k"]);
    term.wait_for("web1 · host", WAIT);

    let (code, stdout, stderr) =
        support::jobdeck_on(dir.path(), &journal, &["ssh", "--list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (rows[0]["host"].as_str(), rows[0]["exit_code"].as_i64()),
        (Some("web2"), Some(3))
    );
}
