//! `jobdeck --run --gather` spotting the odd host, end to end: the real
//! binary, a journal in a temp dir, `ansible_connection=local` hosts whose
//! scripts print their own names, times and ids.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use cli::{Outcome, Sandbox, run};

mod cli;

fn gather(lab: &Sandbox, command: &str, flags: &[&str]) -> Outcome {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("jobdeck"));
    cmd.current_dir(lab.dir.path())
        .arg("--journal")
        .arg(lab.path("journal.db"))
        .args(["--run", "-c", command, "-i", "inv.ini", "--gather"])
        .args(flags)
        .env_remove("SSH_AUTH_SOCK")
        .timeout(Duration::from_secs(120));
    run(&mut cmd)
}

/// Five local hosts. (A local host has no address of its own: that its
/// address is normalised too is `compare::normalize`'s unit test.)
fn fleet(lab: &Sandbox) {
    let mut inv = String::from("[fleet]\n");
    for i in 1..=5 {
        inv.push_str(&format!("web{i}.example ansible_connection=local\n"));
    }
    lab.write("inv.ini", inv);
}

fn blocks(stdout: &str) -> usize {
    stdout.lines().filter(|l| l.contains("): OK")).count()
}

#[test]
fn hosts_that_differ_only_by_their_names_fold_and_the_odd_one_is_a_diff() {
    let lab = Sandbox::new();
    fleet(&lab);
    let command = "echo \"$JOBDECK_HOST ($(echo $JOBDECK_HOST | cut -d. -f1)): ready\"; \
                   echo 'mounts checked'; \
                   if [ $JOBDECK_HOST = web4.example ]; then echo 'disk /var 97% full'; fi; \
                   echo 'done'";
    let out = gather(&lab, command, &["--diff"]).expect(0);
    let stdout = &out.stdout;
    assert!(stdout.contains("\n4 of 5 alike, 1 differ\n"), "{stdout}");
    // The majority: the template once, with the host's names as
    // placeholders.
    assert!(stdout.contains("web[1-3,5].example (4): OK\n"), "{stdout}");
    assert_eq!(
        stdout
            .matches("{host} ({host}): ready\nmounts checked\ndone\n")
            .count(),
        1,
        "{stdout}"
    );
    // The odd host: a diff against the majority.
    assert!(stdout.contains("web4.example (1): OK\n"), "{stdout}");
    assert!(
        stdout.contains(
            "--- web[1-3,5].example\n+++ web4.example\n@@ -1,3 +1,4 @@\n {host} ({host}): ready\n mounts checked\n+disk /var 97% full\n done\n"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("web1.example (web1)"), "{stdout}");

    // Without --diff: two blocks, each output in full (a group of one host
    // as it printed it).
    let out = gather(&lab, command, &[]).expect(0);
    assert_eq!(blocks(&out.stdout), 2, "{}", out.stdout);
    assert!(!out.stdout.contains("alike"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("web4.example (web4): ready\nmounts checked\ndisk /var 97% full\ndone\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn times_ids_and_numbers_fold_only_when_asked() {
    let lab = Sandbox::new();
    fleet(&lab);
    let command = "echo \"started $(date -u +%Y-%m-%dT%H:%M:%S.%NZ) as pid $$\"; \
                   echo \"session $(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')\"; \
                   echo ok";
    let out = gather(&lab, command, &["--diff"]).expect(0);
    assert!(out.stdout.contains("\nall 5 differ\n"), "{}", out.stdout);
    let out = gather(&lab, command, &["--diff", "--normalize"]).expect(0);
    assert!(out.stdout.contains("\nall 5 alike\n"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("started {time} as pid {n}\nsession {hex}\nok\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn normalising_leaves_jobdecks_own_step_headers_alone() {
    let lab = Sandbox::new();
    fleet(&lab);
    lab.write(
        "two.yml",
        "name: two\ntargets: fleet\nsteps:\n  - name: first\n    command: echo \"pid $(od -An -N2 -tu2 /dev/urandom | tr -d ' ')\"\n  \
         - name: second\n    command: echo \"took $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') ms\"\n",
    );
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("jobdeck"));
    cmd.current_dir(lab.dir.path())
        .arg("--journal")
        .arg(lab.path("journal.db"))
        .args([
            "--run",
            "two.yml",
            "-i",
            "inv.ini",
            "--gather",
            "--normalize",
        ])
        .env_remove("SSH_AUTH_SOCK")
        .timeout(Duration::from_secs(120));
    let out = run(&mut cmd).expect(0);
    let stdout = &out.stdout;
    assert!(stdout.contains("web[1-5].example (5): OK\n"), "{stdout}");
    assert!(stdout.contains("-- step 1/2"), "{stdout}");
    assert!(stdout.contains("-- step 2/2"), "{stdout}");
    assert!(stdout.contains("pid {n}\n"), "{stdout}");
    assert!(stdout.contains("took {n} ms\n"), "{stdout}");
    assert!(!stdout.contains("{n}/{n}"), "{stdout}");
}

#[test]
fn the_flags_need_gather() {
    let lab = Sandbox::new();
    fleet(&lab);
    for flag in ["--diff", "--normalize"] {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("jobdeck"));
        cmd.current_dir(lab.dir.path())
            .arg("--journal")
            .arg(lab.path("journal.db"))
            .args(["--run", "-c", "true", "-i", "inv.ini", flag]);
        let out = run(&mut cmd).expect(2);
        assert!(out.stderr.contains("--gather"), "{}", out.stderr);
        assert!(!Path::new(&lab.path("journal.db")).exists());
    }
}
