//! The real binary in a real terminal: tmux runs `jobdeck` at 160×48, the
//! test types keys (send-keys) and reads the screen (capture-pane). It
//! selects the sample inventory's local group, plans the health-check flow
//! with batches `1 100%`, starts it, waits for it to finish, sees the
//! hosts' output, quits, and finds the run in `jobdeck history`.
//!
//! A second test starts it with a keymap that has one bad line: the good
//! line works and the bad one is named on screen once the inventory loaded.
//!
//! Skipped, with a message, only when tmux is not installed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::tmux::{self, Tmux, shell_quote};

/// `jobdeck -i sample-inventory` in a detached tmux session of
/// `width`×`height`, run from the repository with `config` as
/// XDG_CONFIG_HOME. The shell line keeps the pane open after jobdeck exits,
/// with its status. `None` (the test is skipped) without tmux.
fn start_console(
    name: &str,
    config: &Path,
    journal: &Path,
    width: u16,
    height: u16,
) -> Option<Tmux> {
    let command = format!(
        "XDG_CONFIG_HOME={} TERM=xterm-256color {} --journal {} -i sample-inventory; echo JOBDECK-EXITED-$?; sleep 60",
        shell_quote(config),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_jobdeck"))),
        shell_quote(journal),
    );
    new_session(name, width, height, &command)
}

/// A detached tmux session of `width`×`height` in the repository, running
/// `command`, on a server of its own. `None` without tmux.
fn new_session(name: &str, width: u16, height: u16, command: &str) -> Option<Tmux> {
    tmux::start(
        name,
        Path::new(env!("CARGO_MANIFEST_DIR")),
        width,
        height,
        command,
    )
}

#[test]
fn console_runs_a_flow_end_to_end_in_tmux() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_jobdeck"));
    let Some(tmux) = start_console("e2e", &dir.path().join("config"), &journal, 160, 48) else {
        return;
    };

    // 1. Open on the sample inventory.
    tmux.wait_for("loaded 18 hosts", Duration::from_secs(20));
    // 2. Select the local group: the pattern box, enter selects its matches.
    tmux.select_pattern("local", 4);
    // 3. The planner: pick health-check, batches `1 100%`.
    tmux.keys(&["3"]);
    tmux.wait_for("Preview: hosts per batch", Duration::from_secs(5));
    let screen = tmux.wait_for("4: local-[1-4]", Duration::from_secs(5));
    if !screen.contains("Plan · health-check") {
        tmux.keys(&["Enter"]);
        tmux.wait_for("Choose a flow", Duration::from_secs(5));
        let picker = tmux.screen();
        let flows: Vec<&str> = ["config-push", "deploy", "health-check"]
            .into_iter()
            .filter(|f| picker.contains(f))
            .collect();
        let downs = flows.iter().position(|f| *f == "health-check").unwrap();
        tmux.keys(&["g"]);
        for _ in 0..downs {
            tmux.keys(&["j"]);
        }
        tmux.keys(&["Enter"]);
        tmux.wait_for("Plan · health-check", Duration::from_secs(5));
    }
    // Flow, its one param, then the batches row.
    tmux.keys(&["j", "j", "Enter", "C-u"]);
    tmux.text("1 100%");
    tmux.keys(&["Enter"]);
    tmux.wait_for("→ 1 + 3  (2 batches)", Duration::from_secs(5));
    tmux.keys(&["s"]);
    tmux.wait_for("Start this run?", Duration::from_secs(5));
    tmux.keys(&["y"]);
    // 4. The run finishes; the hosts' output shows.
    let screen = tmux.wait_for("finished ok", Duration::from_secs(60));
    assert!(screen.contains("Batch 2/2"), "{screen}");
    assert!(screen.contains("local-1"), "{screen}");
    assert!(screen.contains("% full"), "host output missing:\n{screen}");
    tmux.keys(&["j"]);
    let screen = tmux.wait_for("load average", Duration::from_secs(5));
    assert!(screen.contains("local-2"), "{screen}");
    // 5. Quit (the run is over: no question).
    tmux.keys(&["q"]);
    tmux.wait_for("JOBDECK-EXITED-0", Duration::from_secs(10));
    // 6. The run is in the journal's history.
    let history = Command::new(&binary)
        .arg("--journal")
        .arg(&journal)
        .arg("history")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(history.status.success(), "{history:?}");
    assert!(text.contains("health-check"), "{text}");
    assert!(text.contains("ok"), "{text}");
}

/// A keymap with one bad line: the console starts with its good lines, and
/// the bad one is named at file:line in the status line after the
/// inventory has loaded (once "loaded N hosts" replaced it before the
/// first frame).
#[test]
fn a_broken_keymap_line_is_shown_after_the_inventory_loads() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("jobdeck")).unwrap();
    std::fs::write(
        config.join("jobdeck/keymap.toml"),
        "[global]\n\"Q\" = \"leave\"\n\"ctrl-x\" = \"quit\"\n",
    )
    .unwrap();
    let Some(tmux) = start_console(
        "e2e-keymap",
        &config,
        &dir.path().join("journal.db"),
        240,
        30,
    ) else {
        return;
    };
    let screen = tmux.wait_for("loaded 18 hosts", Duration::from_secs(20));
    assert!(
        screen.contains("keymap.toml:2: unknown action 'leave' for key 'Q'"),
        "the warning is gone:\n{screen}"
    );
    // The good line applies: ctrl-x quits.
    tmux.keys(&["C-x"]);
    tmux.wait_for("JOBDECK-EXITED-0", Duration::from_secs(10));
}

/// An interactive shell (job control on) in a detached tmux session `e2e`
/// of `width`×`height` in the repository. `None` without tmux.
fn start_shell(name: &str, width: u16, height: u16) -> Option<Tmux> {
    let tmux = new_session(
        name,
        width,
        height,
        "env PS1='shell$ ' bash --norc --noprofile -i",
    )?;
    tmux.wait_for("shell$", Duration::from_secs(10));
    Some(tmux)
}

/// The `tick-NN` lines on the screen, in the order they stand.
fn ticks(screen: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for line in screen.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("tick-") {
            let digits: String = rest[at + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                found.push(n);
            }
            rest = &rest[at + 5..];
        }
    }
    found
}

/// Ctrl-Z while a run streams numbered lines, a few seconds at the shell
/// while the host keeps printing, then `fg`: the output pane shows every
/// line once, in order, and so does the journal.
#[test]
fn ctrl_z_and_fg_keep_every_line_of_a_streaming_run_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-inventory"))
        .arg(&inventory)
        .status()
        .unwrap();
    assert!(copied.success());
    std::fs::write(
        inventory.join("flows/a-ticks.yml"),
        "name: a-ticks\nsteps:\n  - name: ticks\n    command: for i in $(seq -w 1 30); do echo tick-$i; sleep 0.25; done\n",
    )
    .unwrap();
    let journal = dir.path().join("journal.db");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_jobdeck"));
    let Some(tmux) = start_shell("e2e-suspend", 160, 48) else {
        return;
    };
    // No `; echo` after it: the shell would run that at the stop. `fg`
    // gives the exit status.
    tmux.text(&format!(
        "XDG_CONFIG_HOME={} TERM=xterm-256color {} --journal {} -i {}",
        shell_quote(&dir.path().join("config")),
        shell_quote(&binary),
        shell_quote(&journal),
        shell_quote(&inventory),
    ));
    tmux.keys(&["Enter"]);
    tmux.wait_for("loaded 18 hosts", Duration::from_secs(20));
    tmux.keys(&["p"]);
    tmux.text("local-1");
    tmux.keys(&["Enter"]);
    tmux.wait_for("1 selected", Duration::from_secs(5));
    tmux.keys(&["3"]);
    let screen = tmux.wait_for("Preview: hosts per batch", Duration::from_secs(5));
    if !screen.contains("Plan · a-ticks") {
        tmux.keys(&["Enter"]);
        tmux.wait_for("Choose a flow", Duration::from_secs(5));
        tmux.keys(&["g", "Enter"]);
        tmux.wait_for("Plan · a-ticks", Duration::from_secs(5));
    }
    tmux.keys(&["s"]);
    tmux.wait_for("Start this run?", Duration::from_secs(5));
    tmux.keys(&["y"]);
    tmux.wait_for("tick-03", Duration::from_secs(20));
    // Suspended: the shell has the terminal while the host goes on.
    tmux.keys(&["C-z"]);
    let shell = tmux.wait_for("Stopped", Duration::from_secs(5));
    assert!(
        !shell.contains("tick-"),
        "the console's screen stayed:\n{shell}"
    );
    std::thread::sleep(Duration::from_secs(3));
    tmux.text("fg; echo JOBDECK-EXITED-$?");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("finished ok", Duration::from_secs(30));
    let seen = ticks(&screen);
    let want: Vec<u32> = (1..=30).collect();
    assert_eq!(seen, want, "the output pane after fg:\n{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("JOBDECK-EXITED-0", Duration::from_secs(10));
    // The journal has them once each, in order, too.
    let show = Command::new(&binary)
        .arg("--journal")
        .arg(&journal)
        .args(["show", "1", "--host", "local-1"])
        .output()
        .unwrap();
    assert!(show.status.success(), "{show:?}");
    let text = String::from_utf8_lossy(&show.stdout);
    assert_eq!(ticks(&text), want, "{text}");
}
