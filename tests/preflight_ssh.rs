//! Pre-flight over real SSH: the sshd fixture for the reachable hosts, a
//! closed loopback port for the one that is not, the real binary and
//! journal.

mod cli;
mod lab;
mod support;

use std::fmt::Write as _;
use std::path::PathBuf;

use lab::{Lab, host_statuses, run, s};
use support::SshdFixture;

struct Fleet {
    lab: Lab,
    sshd: SshdFixture,
    /// A loopback port nothing listens on.
    dead_port: u16,
}

impl Fleet {
    fn new() -> Fleet {
        Fleet {
            lab: Lab::new(),
            sshd: SshdFixture::start(),
            dead_port: support::free_port(),
        }
    }

    /// web1..web3 reach the fixture; web4 reaches it only if `all_up`.
    /// Extra per-host vars: `(host, "k=v")`.
    fn inventory(&self, name: &str, all_up: bool, vars: &[(&str, &str)]) -> PathBuf {
        let mut text = String::from("[web]\n");
        for host in ["web1", "web2", "web3", "web4"] {
            let port = if host == "web4" && !all_up {
                self.dead_port
            } else {
                self.sshd.port
            };
            text.push_str(&self.sshd.host_line(host, port));
            for (h, var) in vars {
                if *h == host {
                    write!(text, " {var}").unwrap();
                }
            }
            text.push('\n');
        }
        writeln!(text, "[web:vars]\nLAB={}", self.lab.dir.path().display()).unwrap();
        self.lab.write(&format!("inventory/{name}"), &text)
    }

    fn ran(&self) -> Vec<String> {
        let mut hosts: Vec<String> = ["web1", "web2", "web3", "web4"]
            .iter()
            .filter(|h| self.lab.exists(&format!("ran-{h}")))
            .map(|h| h.to_string())
            .collect();
        hosts.sort();
        hosts
    }
}

const MARK: &str = "echo \"$JOBDECK_BATCH/$JOBDECK_BATCHES\" > \"$LAB/ran-$JOBDECK_HOST\"";

#[test]
fn warn_reports_the_table_and_runs_anyway() {
    let fleet = Fleet::new();
    let inv = s(&fleet.inventory("hosts.ini", false, &[]));
    let out = run(fleet
        .lab
        .cmd()
        .args(["-i", &inv, "--preflight", "warn", "--run", "-c", MARK]))
    .expect(1);
    assert!(
        out.stdout
            .contains("== pre-flight (warn): 3 of 4 hosts ready"),
        "{}",
        out.stdout
    );
    let table: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("== pre-flight"))
        .skip(1)
        .take(3)
        .collect();
    assert_eq!(
        table[0].split_whitespace().collect::<Vec<_>>(),
        ["HOST", "RESULT"]
    );
    assert_eq!(
        table[1].split_whitespace().collect::<Vec<_>>(),
        ["web[1-3]", "ready"]
    );
    assert!(
        table[2].starts_with("web4") && table[2].contains("unreachable: "),
        "{table:?}"
    );
    assert_eq!(fleet.ran(), ["web1", "web2", "web3"]);
    let export = fleet.lab.export(fleet.lab.last_id());
    assert_eq!(export["preflight"].as_array().unwrap().len(), 4);
}

#[test]
fn strict_starts_nothing_when_a_host_is_not_ready() {
    let fleet = Fleet::new();
    let inv = s(&fleet.inventory("hosts.ini", false, &[]));
    let out = run(fleet
        .lab
        .cmd()
        .args(["-i", &inv, "--preflight", "strict", "--run", "-c", MARK]))
    .expect(2);
    assert!(fleet.ran().is_empty(), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "== not started: pre-flight (strict): 1 of 4 host(s) not ready (web4: unreachable: "
        ),
        "{}",
        out.stdout
    );
    let id = fleet.lab.last_id();
    let export = fleet.lab.export(id);
    assert_eq!(export["instance"]["status"], "aborted");
    assert!(host_statuses(&export).iter().all(|(_, st)| st == "skipped"));
    let web4 = &export["preflight"][3];
    assert_eq!(web4["ready"], false);
    assert!(
        web4["reason"]
            .as_str()
            .unwrap()
            .starts_with("unreachable: ")
    );
    let show = fleet.lab.show(id);
    assert!(
        show.contains("pre-flight: checked (strict): 3 of 4 host(s) ready")
            && show.contains("not ready: web4: unreachable: "),
        "{show}"
    );
}

#[test]
fn skip_unready_leaves_hosts_out_before_batching_and_rerun_skipped_reaches_them() {
    let fleet = Fleet::new();
    let inv = s(&fleet.inventory("hosts.ini", false, &[]));
    // 4 hosts in batches of 2 would be 2+2; the 3 ready ones make 2+1.
    run(fleet.lab.cmd().args([
        "-i",
        &inv,
        "--preflight",
        "skip-unready",
        "--batches",
        "2",
        "--run",
        "-c",
        MARK,
    ]))
    .expect(0);
    assert_eq!(fleet.ran(), ["web1", "web2", "web3"]);
    let batch_of = |h: &str| {
        std::fs::read_to_string(fleet.lab.path(&format!("ran-{h}")))
            .unwrap()
            .trim()
            .to_owned()
    };
    assert_eq!(
        [batch_of("web1"), batch_of("web2"), batch_of("web3")],
        ["1/2", "1/2", "2/2"]
    );
    let id = fleet.lab.last_id();
    let export = fleet.lab.export(id);
    let web4 = export["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "web4")
        .unwrap()
        .clone();
    assert_eq!(web4["status"], "skipped");
    assert_eq!(web4["batch"], serde_json::Value::Null);
    assert!(
        web4["error"]
            .as_str()
            .unwrap()
            .starts_with("pre-flight: unreachable: ")
    );

    // web4 is back: a rerun of the skipped hosts reaches it.
    let fixed = s(&fleet.inventory("fixed.ini", true, &[]));
    run(fleet
        .lab
        .cmd()
        .args(["-i", &fixed, "rerun", &id.to_string(), "--skipped"]))
    .expect(0);
    assert_eq!(fleet.ran(), ["web1", "web2", "web3", "web4"]);
}

#[test]
fn a_flows_checks_and_its_run_as_users_are_checked() {
    let fleet = Fleet::new();
    let inv = s(&fleet.inventory("hosts.ini", true, &[("web2", "ROLE=broken")]));
    fleet.lab.write(
        "inventory/atoms/as-app.sh",
        "#!/bin/sh\n# ---\n# name: as-app\n# run_as: jobdeck-no-such-user\n# ---\nid -un\n",
    );
    let flow = s(&fleet.lab.write(
        "inventory/flows/checked.yml",
        format!(
            "name: checked\npreflight:\n  mode: skip-unready\n  checks:\n    - test \"$ROLE\" != broken\n    - command -v sh\nsteps:\n  - command: '{MARK}'\n  - atom: as-app\n    targets: web3\n"
        ),
    ));
    let out = run(fleet.lab.cmd().args(["-i", &inv, "--run", &flow])).expect(0);
    assert_eq!(fleet.ran(), ["web1", "web4"], "{}", out.stdout);
    let export = fleet.lab.export(fleet.lab.last_id());
    let reason = |i: usize| {
        export["preflight"][i]["reason"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(
        reason(1),
        "check `test \"$ROLE\" != broken` failed (exit 1)"
    );
    assert!(
        reason(2)
            .starts_with("sudo -n -u jobdeck-no-such-user: failed (exit 1): sudo: unknown user"),
        "{}",
        reason(2)
    );
}

#[test]
fn the_run_uses_the_connections_preflight_opened() {
    let fleet = Fleet::new();
    let inv = s(&fleet.inventory("hosts.ini", true, &[]));
    let before = fleet.sshd.connections_accepted();
    let two_steps = s(&fleet.lab.write(
        "inventory/flows/two.yml",
        format!("name: two\nsteps:\n  - command: 'true'\n  - command: '{MARK}'\n"),
    ));
    run(fleet
        .lab
        .cmd()
        .args(["-i", &inv, "--preflight", "strict", "--run", &two_steps]))
    .expect(0);
    assert_eq!(fleet.ran().len(), 4);
    // One handshake per host: pre-flight's connection served both steps.
    assert_eq!(fleet.sshd.connections_accepted() - before, 4);
}
