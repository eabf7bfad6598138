//! Atoms with `run_as` run through `sudo -n -u USER` with their environment
//! intact, and a timeout still kills the command's processes. Needs sudo and
//! root (scripts/test.sh installs sudo; CI runs as root).

use std::path::Path;
use std::process::Command;

fn jobdeck() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jobdeck"))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn setup(dir: &Path, atom_body: &str, step_extra: &str) {
    write(
        &dir.join("hosts"),
        "[local]\nlab1 ansible_connection=local\n",
    );
    write(&dir.join("lib/atoms/as-nobody.sh"), atom_body);
    write(
        &dir.join("lib/flows/f.yml"),
        &format!(
            "name: run-as\nparams:\n  greeting: {{type: string, default: \"it's $HOME\"}}\nsteps:\n  - atom: as-nobody\n{step_extra}"
        ),
    );
}

#[test]
fn run_as_switches_user_and_keeps_the_environment() {
    if !is_root() || Command::new("sudo").arg("-V").output().is_err() {
        panic!("this test needs root and sudo (scripts/test.sh installs sudo)");
    }
    let dir = tempfile::tempdir().unwrap();
    setup(
        dir.path(),
        "#!/bin/sh\n# ---\n# run_as: nobody\n# ---\necho \"user=$(id -un)\"\nprintf 'greeting=%s\\n' \"$greeting\"\n",
        "",
    );
    let out = jobdeck()
        .arg("-i")
        .arg(dir.path().join("hosts"))
        .arg("--journal")
        .arg(dir.path().join("j.db"))
        .arg("--run")
        .arg(dir.path().join("lib/flows/f.yml"))
        .arg("--limit")
        .arg("local")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("user=nobody"), "{stdout}");
    assert!(stdout.contains("greeting=it's $HOME"), "{stdout}");
}

#[test]
fn a_timed_out_run_as_command_leaves_nothing_behind() {
    if !is_root() || Command::new("sudo").arg("-V").output().is_err() {
        panic!("this test needs root and sudo (scripts/test.sh installs sudo)");
    }
    let dir = tempfile::tempdir().unwrap();
    setup(
        dir.path(),
        "#!/bin/sh\n# ---\n# run_as: nobody\n# ---\nsleep 4321 &\nsleep 4322\n",
        "    timeout: 1s\n",
    );
    let out = jobdeck()
        .arg("-i")
        .arg(dir.path().join("hosts"))
        .arg("--journal")
        .arg(dir.path().join("j.db"))
        .arg("--run")
        .arg(dir.path().join("lib/flows/f.yml"))
        .arg("--limit")
        .arg("local")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("TIMED OUT"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let left: Vec<String> = String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| l.starts_with("sleep 432"))
        .map(str::to_string)
        .collect();
    assert!(left.is_empty(), "processes left behind: {left:?}");
}
