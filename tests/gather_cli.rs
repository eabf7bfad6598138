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

// ------------------------------------------------------------ show --gather

/// `jobdeck show ARGS...` on the sandbox's journal.
fn show(lab: &Sandbox, args: &[&str]) -> Outcome {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("jobdeck"));
    cmd.current_dir(lab.dir.path())
        .arg("--journal")
        .arg(lab.path("journal.db"))
        .arg("show")
        .args(args)
        .timeout(Duration::from_secs(60));
    run(&mut cmd)
}

/// `--run FLOW -i inv.ini --gather FLAGS...`, however the run ended.
fn gather_flow(lab: &Sandbox, flow: &str, flags: &[&str]) -> Outcome {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("jobdeck"));
    cmd.current_dir(lab.dir.path())
        .arg("--journal")
        .arg(lab.path("journal.db"))
        .args(["--run", flow, "-i", "inv.ini", "--gather"])
        .args(flags)
        .env_remove("SSH_AUTH_SOCK")
        .timeout(Duration::from_secs(120));
    run(&mut cmd)
}

/// What a live `--gather` printed at the end: between the last `== ` line
/// and the summary line.
fn gathered_part(live: &str) -> String {
    let lines: Vec<&str> = live.lines().collect();
    let first = lines.iter().rposition(|l| l.starts_with("== ")).unwrap() + 1;
    let mut part = lines[first..lines.len() - 1].join("\n");
    part.push('\n');
    part
}

/// What `show --gather` prints below the run's header (a blank line ends it).
fn below_header(shown: &str) -> &str {
    let (_, blocks) = shown.split_once("\n\n").expect("a header");
    blocks
}

/// Two steps on five hosts: each host prints its name and a number of its
/// own; web4 prints a line more, web5 fails the second step.
fn two_step_flow(lab: &Sandbox) {
    fleet(lab);
    lab.write(
        "odd.yml",
        "name: odd\ntargets: fleet\nsteps:\n  - name: probe\n    command: |\n      \
         echo \"$JOBDECK_HOST ($(echo $JOBDECK_HOST | cut -d. -f1)) up, pid $(od -An -N2 -tu2 /dev/urandom | tr -d ' ')\"\n      \
         if [ $JOBDECK_HOST = web4.example ]; then echo 'disk /var 97% full'; fi\n      \
         echo 'mounts checked'\n  \
         - name: check\n    command: |\n      \
         echo \"load $(od -An -N2 -tu2 /dev/urandom | tr -d ' ')\"\n      \
         if [ $JOBDECK_HOST = web5.example ]; then echo 'no space left' >&2; exit 3; fi\n",
    );
}

#[test]
fn show_gather_prints_a_past_run_as_the_live_gather_did() {
    let lab = Sandbox::new();
    two_step_flow(&lab);
    let flag_sets: [&[&str]; 3] = [&[], &["--normalize"], &["--normalize", "--diff"]];
    for (run, flags) in flag_sets.into_iter().enumerate() {
        let live = gather_flow(&lab, "odd.yml", flags);
        assert_ne!(live.code, 0, "web5 failed:\n{}", live.stdout);
        let id = (run + 1).to_string();
        let mut args = vec![id.as_str(), "--gather"];
        args.extend(flags);
        let shown = show(&lab, &args).expect(0);
        assert!(shown.stdout.starts_with(&format!("instance {id}: odd [")));
        assert_eq!(
            below_header(&shown.stdout),
            gathered_part(&live.stdout),
            "show {args:?}:\n{}\nlive:\n{}",
            shown.stdout,
            live.stdout
        );
    }

    // Without --normalize the pids and loads tell every host apart...
    let plain = show(&lab, &["3", "--gather"]).expect(0).stdout;
    assert_eq!(plain.matches("(1): OK\n").count(), 4, "{plain}");
    assert!(
        plain.contains("web5.example (1): FAILED, exit 3 in step 2/2: check\n"),
        "{plain}"
    );
    // ...with it, they fold, and --diff shows the odd host as a diff.
    let folded = show(&lab, &["3", "--gather", "--normalize", "--diff"])
        .expect(0)
        .stdout;
    let blocks = below_header(&folded);
    assert!(blocks.starts_with("3 of 5 alike, 2 differ\n"), "{folded}");
    assert!(blocks.contains("web[1-3].example (3): OK\n"), "{folded}");
    assert!(
        blocks.contains(
            "-- step 1/2: probe\n{host} ({host}) up, pid {n}\nmounts checked\n-- step 2/2: check\nload {n}\n"
        ),
        "{folded}"
    );
    assert!(
        blocks.contains(" {host} ({host}) up, pid {n}\n+disk /var {n}% full\n mounts checked\n"),
        "{folded}"
    );
    assert!(!blocks.contains("web1.example (web1)"), "{folded}");
}

#[test]
fn show_gather_narrows_to_a_host_and_a_step() {
    let lab = Sandbox::new();
    two_step_flow(&lab);
    gather_flow(&lab, "odd.yml", &[]);
    let one = show(&lab, &["1", "--gather", "--host", "web4.example"])
        .expect(0)
        .stdout;
    let blocks = below_header(&one);
    assert!(blocks.contains("web4.example (1): OK\n"), "{one}");
    assert!(blocks.contains("disk /var 97% full\n"), "{one}");
    assert!(!blocks.contains("web1"), "{one}");

    // Only the first step: every host but web4 printed alike.
    let probe = show(&lab, &["1", "--gather", "--normalize", "--step", "probe"])
        .expect(0)
        .stdout;
    let blocks = below_header(&probe);
    assert!(blocks.contains("web[1-3].example (3): OK\n"), "{probe}");
    assert!(!blocks.contains("step 2/2"), "{probe}");
    assert!(!blocks.contains("load"), "{probe}");
}

#[test]
fn show_gather_refuses_json_and_replay_and_names_an_unknown_run() {
    let lab = Sandbox::new();
    fleet(&lab);
    gather(&lab, "echo hi", &[]).expect(0);
    for (other, message) in [
        ("--json", "'--gather' cannot be used with '--json'"),
        ("--replay", "'--gather' cannot be used with '--replay'"),
    ] {
        let out = show(&lab, &["1", "--gather", other]).expect(2);
        assert!(out.stderr.contains(message), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
    let out = show(&lab, &["1", "--diff"]).expect(2);
    assert!(out.stderr.contains("--gather"), "{}", out.stderr);
    let out = show(&lab, &["99", "--gather"]).expect(2);
    assert!(out.stderr.contains("no job instance 99"), "{}", out.stderr);
}

#[test]
fn show_gather_folds_output_longer_than_the_reporter_keeps_by_all_of_it() {
    let lab = Sandbox::new();
    fleet(&lab);
    // 1.3 MB each, more than the reporter keeps but all in the journal;
    // web3's differs only in the cut middle.
    let command = "seq 1 200000 | if [ $JOBDECK_HOST = web3.example ]; \
                   then sed 's/^100000$/changed/'; else cat; fi";
    let live = gather(&lab, command, &[]).expect(0);
    let shown = show(&lab, &["1", "--gather"]).expect(0);
    let blocks = below_header(&shown.stdout);
    assert_eq!(blocks, gathered_part(&live.stdout));
    assert!(
        blocks.contains("web[1-2,4-5].example (4): OK\n"),
        "{blocks}"
    );
    assert!(blocks.contains("web3.example (1): OK\n"), "{blocks}");
    assert!(
        blocks
            .contains("of output cut here; the journal has it: jobdeck show 1 --host web3.example"),
        "{blocks}"
    );
}
