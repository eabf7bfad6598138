//! The command line as a user meets it: each subcommand's `--help` lists
//! the options that apply to it, each described, and output piped into a
//! reader that stops early (`| head`) ends quietly.

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;

use assert_cmd::Command;
use cli::run;

mod cli;

fn help(args: &[&str]) -> String {
    let out = run(Command::cargo_bin("jobdeck")
        .unwrap()
        .args(args)
        .arg("--help")
        .env("COLUMNS", "200"))
    .expect(0);
    out.stdout
}

/// The long options a help text lists.
fn options(help: &str) -> Vec<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| {
            l.split([' ', ','])
                .find(|word| word.starts_with("--"))
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn rerun_and_resume_list_what_a_run_takes_to_reach_and_bound_its_hosts() {
    for command in ["rerun", "resume"] {
        let text = help(&[command]);
        let listed = options(&text);
        for flag in [
            "--limit",
            "--timeout",
            "--connect-timeout",
            "--accept-new",
            "--param",
            "--yes",
            "--json",
            "--gather",
            "--inventory",
            "--journal",
        ] {
            assert!(
                listed.iter().any(|o| o == flag),
                "{command}: {flag}\n{text}"
            );
        }
        assert!(!listed.iter().any(|o| o == "--theme"), "{text}");
        assert!(!listed.iter().any(|o| o == "--version"), "{text}");
        assert!(
            text.contains("<ID>  The run's id, as `jobdeck history` lists it"),
            "{text}"
        );
        assert!(
            text.contains("Default: the inventory the run recorded"),
            "{text}"
        );
    }
    let rerun = options(&help(&["rerun"]));
    assert!(rerun.iter().any(|o| o == "--failed") && rerun.iter().any(|o| o == "--skipped"));
}

#[test]
fn each_subcommand_lists_only_the_options_that_apply_to_it() {
    let cases: &[(&[&str], &[&str], &[&str])] = &[
        (
            &["history"],
            &["--journal", "--json"],
            &["--inventory", "--theme"],
        ),
        (
            &["show"],
            &["--journal", "--json"],
            &["--inventory", "--theme"],
        ),
        (&["export"], &["--journal"], &["--inventory", "--theme"]),
        (
            &["inventory", "show"],
            &["--inventory", "--json"],
            &["--journal", "--theme"],
        ),
        (
            &["inventory", "list"],
            &["--inventory"],
            &["--journal", "--theme"],
        ),
        (
            &["rollout", "preview"],
            &["--hosts"],
            &["--inventory", "--journal", "--theme"],
        ),
        (&["check"], &["--inventory"], &["--journal", "--theme"]),
        (
            &["schedule", "add"],
            &["--inventory", "--journal", "--limit"],
            &["--theme"],
        ),
        (
            &["schedule", "list"],
            &["--journal"],
            &["--inventory", "--theme"],
        ),
        (
            &["schedule", "next"],
            &["--tz"],
            &["--inventory", "--journal", "--theme"],
        ),
        (
            &["journal", "stats"],
            &["--journal"],
            &["--inventory", "--theme"],
        ),
        (
            &["daemon"],
            &["--journal", "--log"],
            &["--inventory", "--theme"],
        ),
        (
            &["completions"],
            &[],
            &["--inventory", "--journal", "--theme"],
        ),
    ];
    for (command, present, absent) in cases {
        let text = help(command);
        let listed = options(&text);
        for flag in *present {
            assert!(
                listed.iter().any(|o| o == flag),
                "{command:?} lacks {flag}:\n{text}"
            );
        }
        for flag in *absent {
            assert!(
                !listed.iter().any(|o| o == flag),
                "{command:?} lists {flag}:\n{text}"
            );
        }
    }
    // The console's options stay on the top level.
    let top = options(&help(&[]));
    for flag in ["--inventory", "--journal", "--theme", "--run", "--json"] {
        assert!(top.iter().any(|o| o == flag), "jobdeck --help lacks {flag}");
    }
}

/// Given before the subcommand, -i and --journal still serve it.
#[test]
fn options_before_the_subcommand_serve_it() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("hosts.ini");
    std::fs::write(&inventory, "solo ansible_connection=local\n").unwrap();
    let journal = dir.path().join("j.db");
    let out = run(Command::cargo_bin("jobdeck")
        .unwrap()
        .arg("-i")
        .arg(&inventory)
        .args(["inventory", "hosts"]))
    .expect(0);
    assert_eq!(out.stdout, "solo\n");
    run(Command::cargo_bin("jobdeck")
        .unwrap()
        .arg("--journal")
        .arg(&journal)
        .args(["--run", "-c", "true", "-i"])
        .arg(&inventory))
    .expect(0);
    let before = run(Command::cargo_bin("jobdeck")
        .unwrap()
        .arg("--journal")
        .arg(&journal)
        .args(["history", "--json"]))
    .expect(0);
    let after = run(Command::cargo_bin("jobdeck")
        .unwrap()
        .args(["history", "--json", "--journal"])
        .arg(&journal))
    .expect(0);
    assert_eq!(before.stdout, after.stdout);
    assert!(
        before.stdout.contains("\"flow\": \"adhoc: true\""),
        "{}",
        before.stdout
    );
}

/// A pipe whose reading end is already closed: every write to it fails
/// with EPIPE, as `| head` does once it has what it wants.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills both descriptors, which the OwnedFds then own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.db");
    let sample = format!("{}/sample-inventory", env!("CARGO_MANIFEST_DIR"));
    let flow = format!("{sample}/flows/health-check.yml");
    run(Command::cargo_bin("jobdeck")
        .unwrap()
        .args(["-i", &sample, "--journal"])
        .arg(&journal)
        .args(["--run", "-c", "true", "-l", "local-1"])
        .current_dir(dir.path()))
    .expect(0);
    let commands: &[&[&str]] = &[
        &["inventory", "show", "local-1"],
        &["inventory", "show", "local-1", "--json"],
        &["inventory", "list"],
        &["inventory", "hosts", "all"],
        &["rollout", "preview", "1", "*2", "--hosts", "100"],
        &["schedule", "next", "@hourly", "--count", "50"],
        &["check", &flow],
        &["history"],
        &["journal", "stats"],
        &["schedule", "list"],
    ];
    for args in commands {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("jobdeck"))
            .args(["-i", &sample, "--journal"])
            .arg(&journal)
            .args(*args)
            .current_dir(dir.path())
            .stdout(closed_pipe())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("error") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}
