//! The dangerous-command guard through the real binary: local hosts, a
//! real journal, rule files in the lab's config dir and beside the
//! inventory.
//!
//! Every command that looks dangerous is harmless even if the guard let it
//! through: `rm`, `reboot` and friends are shell functions defined first
//! that only print (`rm() { echo would-rm "$@"; }`), so a regression shows
//! as a marker, never as damage.

mod cli;
mod lab;

use lab::{Lab, run, s};

/// Shell functions standing in for the real commands.
const SHIMS: &str = r#"rm() { echo "would-rm $*"; }; reboot() { echo would-reboot; }; "#;

fn hits(lab: &Lab, id: i64) -> Vec<serde_json::Value> {
    lab.export(id)["guard_hits"].as_array().unwrap().clone()
}

#[test]
fn a_blocked_command_stops_the_run_before_any_host_runs() {
    let lab = Lab::new();
    let inv = lab.local_inventory(&["h1", "h2"], &[]);
    let marker = lab.path("ran");
    let command = format!("{SHIMS}touch {} && rm -rf / tmp/x", marker.display());
    let out = run(lab.cmd().args(["-i", &s(&inv), "--run", "-c", &command])).expect(2);
    assert!(!marker.exists(), "a host ran: {}", out.stdout);
    assert!(
        out.stderr
            .contains("jobdeck: not started: blocked by the guard: rule 'rm-root'"),
        "{}",
        out.stderr
    );
    // Names the rule, where, and what matched.
    assert!(
        out.stdout.contains(
            "not started: blocked by the guard: rule 'rm-root' (block) at the command line (-c): matched `rm -rf /`"
        ),
        "{}",
        out.stdout
    );
    let id = lab.last_id();
    let export = lab.export(id);
    assert_eq!(export["instance"]["status"], "aborted");
    let hits = hits(&lab, id);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["rule"], "rm-root");
    assert_eq!(hits[0]["outcome"], "blocked");
    assert_eq!(hits[0]["user"], export["instance"]["user"]);
    assert!(
        lab.show(id)
            .contains("guard:     blocked rule 'rm-root' (block) at the command line (-c)"),
        "{}",
        lab.show(id)
    );
}

#[test]
fn params_are_substituted_in_scripts_atoms_and_rollback_steps() {
    let lab = Lab::new();
    let inv = lab.local_inventory(&["h1"], &[]);
    lab.write(
        "inventory/atoms/cleanup.sh",
        "#!/bin/sh\n# ---\n# name: cleanup\n# params:\n#   where: {type: string, required: true}\n# ---\nrm() { echo \"would-rm $*\"; }\necho cleaning\nrm -r -f \"$where\"\n",
    );
    let flow = lab.write(
        "inventory/flows/wipe.yml",
        "name: wipe\nparams:\n  target: {type: string, required: true}\nsteps:\n  - name: prepare\n    script: |\n      #!/bin/sh\n      rm() { echo \"would-rm $*\"; }\n      echo preparing\n      rm -rf \"${target}\"\n    on_failure: rollback\nrollback:\n  - atom: cleanup\n    with: {where: \"${target}\"}\n",
    );
    // A harmless target: nothing fires.
    run(lab
        .cmd()
        .args(["-i", &s(&inv), "--run", &s(&flow), "-p", "target=/tmp/x"]))
    .expect(0);
    // The root: the script step (its line in the flow) and the rollback atom
    // (its line in the atom file) are both blocked.
    let out = run(lab
        .cmd()
        .args(["-i", &s(&inv), "--run", &s(&flow), "-p", "target=/"]))
    .expect(2);
    let id = lab.last_id();
    let hits = hits(&lab, id);
    let places: Vec<String> = hits
        .iter()
        .map(|h| {
            format!(
                "{} {}",
                h["rule"].as_str().unwrap(),
                h["location"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            format!("rm-root {}:10", s(&flow)),
            format!("rm-root {}:9", s(&lab.path("inventory/atoms/cleanup.sh"))),
        ],
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("matched `rm -rf \"/\"`"),
        "{}",
        out.stdout
    );
}

#[test]
fn confirm_rules_need_allow_and_yes_is_not_enough() {
    let lab = Lab::new();
    let inv = lab.local_inventory(&["h1", "h2"], &[]);
    // h2 fails after the (shimmed) reboot, so there is something to rerun.
    let command = format!("{SHIMS}echo go; sleep 0 && reboot; [ \"$JOBDECK_HOST\" = h1 ]");
    let args = ["-i", &s(&inv), "--run", "-c", &command];

    let refused = run(lab.cmd().args(args).arg("--yes")).expect(2);
    assert!(
        refused
            .stdout
            .contains("pass --allow shutdown (--yes is not enough)"),
        "{}",
        refused.stdout
    );
    let first = lab.last_id();
    assert_eq!(hits(&lab, first)[0]["outcome"], "refused");

    let allowed = run(lab.cmd().args(args).args(["--allow", "shutdown"])).expect(1);
    assert!(
        allowed.stdout.contains("would-reboot"),
        "{}",
        allowed.stdout
    );
    let second = lab.last_id();
    let hit = &hits(&lab, second)[0];
    assert_eq!(hit["rule"], "shutdown");
    assert_eq!(hit["outcome"], "confirmed");
    assert_eq!(hit["matched"], "reboot");

    // A rerun keeps what its run allowed: it runs (h2 fails again), it is
    // not refused.
    run(lab.cmd().args(["rerun", &second.to_string(), "--failed"])).expect(1);
    let third = lab.last_id();
    assert_eq!(hits(&lab, third)[0]["outcome"], "confirmed");
}

#[test]
fn warn_rules_let_the_run_go_and_are_recorded() {
    let lab = Lab::new();
    let inv = lab.local_inventory(&["h1"], &[]);
    let command = "curl() { echo fetched; }; sh() { cat >/dev/null; }; curl -fsS http://127.0.0.1:1/x | sh; echo done";
    let out = run(lab.cmd().args(["-i", &s(&inv), "--run", "-c", command])).expect(0);
    assert!(
        out.stdout
            .contains("== guard: warned: rule 'pipe-to-shell'"),
        "{}",
        out.stdout
    );
    let hit = &hits(&lab, lab.last_id())[0];
    assert_eq!(hit["outcome"], "warned");
    assert_eq!(hit["action"], "warn");
}

#[test]
fn rule_files_add_and_disable_rules_and_a_bad_regex_disables_nothing_else() {
    let lab = Lab::new();
    let inv = lab.local_inventory(&["h1"], &[]);
    // The config file switches `shutdown` off.
    lab.config("[guard]\ndisable = [\"shutdown\"]\n");
    // The guard file beside the inventory: one broken rule, one good one.
    lab.write(
        "inventory/guard.toml",
        "[[rule]]\nname = \"broken\"\npattern = 'rm (-rf'\naction = \"block\"\n\n[[rule]]\nname = \"no-drop\"\npattern = '(?i)drop\\s+database'\naction = \"block\"\nmessage = \"use the DBA runbook\"\n",
    );
    let reboot = format!("{SHIMS}reboot");
    let out = run(lab.cmd().args(["-i", &s(&inv), "--run", "-c", &reboot])).expect(0);
    assert!(out.stdout.contains("would-reboot"), "{}", out.stdout);
    let guard_file = s(&lab.path("inventory/guard.toml"));
    assert!(
        out.stderr.contains(&format!(
            "guard: {guard_file}:3: guard rule 'broken': bad regex"
        )),
        "{}",
        out.stderr
    );
    let drop = run(lab.cmd().args([
        "-i",
        &s(&inv),
        "--run",
        "-c",
        "echo DROP DATABASE shop | cat",
    ]))
    .expect(2);
    assert!(
        drop.stdout.contains("rule 'no-drop' (block)")
            && drop.stdout.contains("use the DBA runbook"),
        "{}",
        drop.stdout
    );
    // The built-ins are still in force too.
    let rm = format!("{SHIMS}rm -fr /*");
    run(lab.cmd().args(["-i", &s(&inv), "--run", "-c", &rm])).expect(2);
}

#[test]
fn secrets_never_show_in_what_the_guard_kept() {
    let lab = Lab::new();
    let inv = lab.local_inventory(&["h1"], &[]);
    let flow = lab.write(
        "inventory/flows/fetch.yml",
        "name: fetch\nparams:\n  token: {type: string, secret: true, required: true}\nsteps:\n  - command: 'curl() { echo x; }; sh() { cat >/dev/null; }; curl -H \"X-Token: ${token}\" http://127.0.0.1:1/i | sh'\n",
    );
    let out = run(lab.cmd().args([
        "-i",
        &s(&inv),
        "--run",
        &s(&flow),
        "-p",
        "token=s3cr3t-value",
    ]))
    .expect(0);
    assert!(!out.stdout.contains("s3cr3t-value"), "{}", out.stdout);
    let export = lab.export(lab.last_id()).to_string();
    assert!(export.contains("pipe-to-shell"), "{export}");
    assert!(!export.contains("s3cr3t-value"), "{export}");
}

#[test]
fn check_reports_hits_per_language_and_bad_rules() {
    let lab = Lab::new();
    lab.local_inventory(&["h1"], &[]);
    lab.write(
        "inventory/atoms/py-clean.py",
        "#!/usr/bin/env python3\nimport shutil\nprint(\"never rm -rf / here\")\nshutil.rmtree(\"/\")\n",
    );
    let flow = lab.write(
        "inventory/flows/mixed.yml",
        "name: mixed\nsteps:\n  - atom: py-clean\n  - command: systemctl reboot\n",
    );
    // Built-in shell rules do not read the Python atom; `shutdown` is a
    // confirm rule: reported, not a problem.
    let out = run(lab.cmd().args(["-i", "inventory", "check", &s(&flow)])).expect(0);
    assert!(
        out.stdout.contains(&format!(
            "guard: rule 'shutdown' (confirm) at {}:4 (step 'systemctl reboot'): matched `systemctl reboot`",
            s(&flow)
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("1 hit(s)"), "{}", out.stdout);
    // A Python rule reads it; a block hit makes check fail.
    lab.write(
        "inventory/guard.toml",
        "[[rule]]\nname = \"py-rmtree-root\"\npattern = 'rmtree\\(\\s*./.\\)'\naction = \"block\"\nlanguages = [\"python\"]\n\n[[rule]]\nname = \"typo\"\npattern = '['\naction = \"warn\"\n",
    );
    let out = run(lab.cmd().args(["-i", "inventory", "check", &s(&flow)])).expect(2);
    let atom = s(&lab.path("inventory/atoms/py-clean.py"));
    assert!(
        out.stderr
            .contains(&format!("rule 'py-rmtree-root' (block) at {atom}:4")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("guard.toml:9: guard rule 'typo': bad regex"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_schedule_is_refused_when_the_guard_would_stop_every_fire() {
    let lab = Lab::new();
    let inv = lab.local_inventory(&["h1"], &[]);
    let flow = lab.write(
        "inventory/flows/nightly.yml",
        "name: nightly\nsteps:\n  - command: systemctl reboot\n",
    );
    let add = |extra: &[&str]| {
        let mut cmd = lab.cmd();
        cmd.args(["-i", &s(&inv), "schedule", "add", "nightly", &s(&flow)])
            .args(["--cron", "0 3 * * *", "--tz", "UTC"])
            .args(extra);
        run(&mut cmd)
    };
    let refused = add(&[]).expect(2);
    assert!(
        refused
            .stderr
            .contains("the guard would refuse every fire: rule 'shutdown' (confirm)")
            && refused.stderr.contains("pass --allow shutdown"),
        "{}",
        refused.stderr
    );
    add(&[
        "--allow",
        "shutdown",
        "--notify",
        "command=true",
        "--lock",
        "nightly",
    ])
    .expect(0);
    let shown = run(lab.cmd().args(["schedule", "show", "nightly", "--json"])).expect(0);
    let schedule: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(
        schedule["run"]["safety"]["allow"],
        serde_json::json!(["shutdown"])
    );
    assert_eq!(schedule["run"]["safety"]["lock"], "nightly");
    let text = run(lab.cmd().args(["schedule", "show", "nightly"]))
        .expect(0)
        .stdout;
    assert!(
        text.contains("--lock nightly --allow shutdown --notify command=true"),
        "{text}"
    );
}
