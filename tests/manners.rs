//! nice / ionice: what the processes a step starts really get, read from
//! /proc and `ionice` on the host — a local host and the sshd fixture.

mod cli;
mod lab;
mod support;

use lab::{Lab, run, s};
use support::SshdFixture;

/// Prints the niceness of a process the step starts (`cut` reads its own
/// /proc/self/stat: field 19) and the step shell's I/O class.
const PROBE: &str = "echo nice=$(cut -d' ' -f19 /proc/self/stat) io=$(ionice -p $$ | tr -d ' ')";

fn probes(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("nice="))
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_adhoc_run_on_a_local_host_gets_nice_and_ionice() {
    let lab = Lab::new();
    let inv = s(&lab.local_inventory(&["h1"], &[]));
    let out = run(lab.cmd().args([
        "-i", &inv, "--nice", "7", "--ionice", "idle", "--run", "-c", PROBE,
    ]))
    .expect(0);
    assert_eq!(probes(&out.stdout), ["nice=7 io=idle"], "{}", out.stdout);
    // Without them, the step keeps what jobdeck itself has.
    let own = std::process::Command::new("sh")
        .arg("-c")
        .arg(PROBE)
        .output()
        .unwrap();
    let plain = run(lab.cmd().args(["-i", &inv, "--run", "-c", PROBE])).expect(0);
    assert_eq!(
        probes(&plain.stdout),
        probes(&String::from_utf8_lossy(&own.stdout)),
        "{}",
        plain.stdout
    );
    // Bad values are refused before anything runs.
    let bad = run(lab
        .cmd()
        .args(["-i", &inv, "--nice", "25", "--run", "-c", "true"]))
    .expect(2);
    assert!(
        bad.stderr
            .contains("--nice '25': expected a whole number from 0 to 19"),
        "{}",
        bad.stderr
    );
}

#[test]
fn over_ssh_step_settings_win_over_the_command_line_over_the_flow() {
    let lab = Lab::new();
    let sshd = SshdFixture::start();
    let inv = s(&lab.write(
        "inventory/hosts.ini",
        format!("[web]\n{}\n", sshd.host_line("web1", sshd.port)),
    ));
    lab.write(
        "inventory/atoms/as-root.sh",
        format!("#!/bin/sh\n# ---\n# name: as-root\n# run_as: root\n# ---\n{PROBE}\n"),
    );
    // In a flow, `$$` is written `$$$$` (flow params use `$`).
    let probe = PROBE.replace("$$", "$$$$");
    let flow = s(&lab.write(
        "inventory/flows/manners.yml",
        format!(
            "name: manners\nnice: 5\nionice: best-effort:6\nsteps:\n  - name: own\n    command: \"{probe}\"\n    nice: 12\n    ionice: idle\n  - name: inherited\n    command: \"{probe}\"\n  - atom: as-root\n"
        ),
    ));
    let out = run(lab.cmd().args(["-i", &inv, "--run", &flow])).expect(0);
    assert_eq!(
        probes(&out.stdout),
        [
            "nice=12 io=idle",
            "nice=5 io=best-effort:prio6",
            "nice=5 io=best-effort:prio6"
        ],
        "{}",
        out.stdout
    );
    let cli = run(lab.cmd().args(["-i", &inv, "--nice", "9", "--run", &flow])).expect(0);
    assert_eq!(
        probes(&cli.stdout),
        [
            "nice=12 io=idle",
            "nice=9 io=best-effort:prio6",
            "nice=9 io=best-effort:prio6"
        ],
        "{}",
        cli.stdout
    );
}
