//! Bad input, through the real binary: every input file is bounded (not a
//! regular file or over 64 MiB: refused at once, with its path), durations
//! have a maximum and timeouts a minimum, text that is not UTF-8 is named at
//! its file and line (an INI inventory reads on with a warning, as Ansible
//! does), one problem gives one message, empty required params and atoms
//! that share a name are errors, and `--gather` says why each unreachable
//! host was unreachable. Hosts are `ansible_connection=local`, or loopback
//! ports nothing listens on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use cli::Outcome;

mod cli;

/// A temp dir with a journal, files written by the test, and the binary
/// run from inside it (so no ./inventory or user config is picked up).
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A sparse file one byte over the input limit: no disk is used.
    fn oversized(&self, name: &str) -> PathBuf {
        let path = self.write(name, "");
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(MAX_INPUT_BYTES + 1)
            .unwrap();
        path
    }

    fn fifo(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        path
    }

    /// The binary with this lab's journal and config dir. A hang fails the
    /// test after 20 s, and reading without bound fails at 4 GiB of address
    /// space, instead of blocking the suite or eating the machine.
    fn cmd(&self) -> Command {
        let mut std_cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("jobdeck"));
        // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut std_cmd, || {
                let limit = libc::rlimit {
                    rlim_cur: 4 << 30,
                    rlim_max: 4 << 30,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut cmd = Command::from_std(std_cmd);
        cmd.current_dir(self.dir.path())
            .arg("--journal")
            .arg(self.path("journal.db"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env_remove("SSH_AUTH_SOCK")
            .timeout(Duration::from_secs(20));
        cmd
    }

    fn run(&self, args: &[&str]) -> Outcome {
        cli::run(self.cmd().args(args))
    }

    /// `h1..hN`, local hosts.
    fn local_inventory(&self, count: usize) -> String {
        let mut text = String::from("[lab]\n");
        for i in 1..=count {
            text.push_str(&format!("h{i} ansible_connection=local\n"));
        }
        self.write("hosts.ini", text).display().to_string()
    }
}

/// The documented limit for input files.
const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

fn show(path: &Path) -> String {
    path.display().to_string()
}

// ------------------------------------------------------ bounded inputs

#[test]
fn inputs_that_are_not_regular_files_or_too_large_are_refused_at_once() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(1);
    let started = Instant::now();

    // -i /dev/zero: once read until memory ran out.
    let out = lab.run(&["inventory", "list", "-i", "/dev/zero"]).expect(2);
    assert_eq!(
        out.stderr,
        "jobdeck: error: /dev/zero: cannot read inventory file: it is a character device, \
         not a regular file\n"
    );
    let out = lab
        .run(&["--run", "-c", "true", "-i", "/dev/zero"])
        .expect(2);
    out.stderr_has("/dev/zero: cannot read inventory file");

    // A FIFO in an inventory directory: once blocked in open() forever.
    lab.write("invdir/hosts.ini", "[lab]\nh1 ansible_connection=local\n");
    let fifo = lab.fifo("invdir/zz-pipe");
    let out = lab.run(&["inventory", "list", "-i", "invdir"]).expect(2);
    out.stderr_has(format!(
        "{}: cannot read inventory file: it is a FIFO",
        show(&fifo)
    ));

    // Over 64 MiB: an inventory, a flow, an atom, an @file pattern list.
    let big = lab.oversized("big.ini");
    let out = lab.run(&["inventory", "list", "-i", &show(&big)]).expect(2);
    out.stderr_has(format!(
        "{}: cannot read inventory file: it is larger than 64 MiB",
        show(&big)
    ));
    let big_flow = lab.oversized("flows/big.yml");
    let out = lab.run(&["check", &show(&big_flow)]).expect(2);
    out.stderr_has(format!(
        "{}:1: cannot read flow file: it is larger than 64 MiB",
        show(&big_flow)
    ));
    let big_atom = lab.oversized("flows/atoms/big.sh");
    let flow = lab.write("flows/uses-big.yml", "name: x\nsteps:\n  - atom: big\n");
    let out = lab.run(&["check", &show(&flow)]).expect(2);
    out.stderr_has(format!(
        "{}:1: cannot read atom: it is larger than 64 MiB",
        show(&big_atom)
    ));
    let out = lab
        .run(&["inventory", "hosts", "-i", &inventory, "@/dev/zero"])
        .expect(2);
    out.stderr_has("/dev/zero: cannot read host pattern file: it is a character device");
    let out = lab.run(&["--run", "/dev/zero", "-i", &inventory]).expect(2);
    out.stderr_has("/dev/zero:1: cannot read flow file");

    // --theme /dev/zero: the console ends before it starts, naming the file.
    let out = lab.run(&["--theme", "/dev/zero"]).expect(2);
    assert_eq!(
        out.stderr,
        "jobdeck: error: /dev/zero: cannot read theme: it is a character device, not a regular file\n"
    );
    // Nothing above read its way through /dev/zero or waited on the FIFO.
    assert!(started.elapsed() < Duration::from_secs(15));
}

// ------------------------------------------------------------ durations

#[test]
fn durations_over_a_year_and_zero_timeouts_are_refused() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(1);
    for (args, says) in [
        (
            ["--interval", "18446744073709551615ms"],
            "--interval: invalid duration `18446744073709551615ms`: it is longer than the maximum of 365d",
        ),
        (
            ["--interval", "366d"],
            "--interval: invalid duration `366d`: it is longer than the maximum of 365d",
        ),
        (
            ["--timeout", "0s"],
            "--timeout: invalid duration `0s`: a timeout of zero",
        ),
        (
            ["--connect-timeout", "0s"],
            "--connect-timeout: invalid duration `0s`: a timeout of zero",
        ),
        (
            ["--timeout", "9000h"],
            "--timeout: invalid duration `9000h`: it is longer than the maximum of 365d",
        ),
    ] {
        let out = lab
            .run(&[&["--run", "-c", "true", "-i", &inventory][..], &args[..]].concat())
            .expect(2);
        assert!(
            out.stderr.starts_with(&format!("jobdeck: error: {says}")),
            "{args:?}: {}",
            out.stderr
        );
    }
    // The same rules in a flow and an atom header, at their lines.
    lab.write(
        "flows/atoms/slow.sh",
        "#!/bin/sh\n# ---\n# timeout: 0ms\n# ---\ntrue\n",
    );
    let flow = lab.write(
        "flows/durations.yml",
        "name: d\n\
         rollout: {interval: 400d}\n\
         steps:\n\
         \x20 - command: 'true'\n\
         \x20   timeout: 0s\n\
         \x20 - command: 'true'\n\
         \x20   retry_interval: 99999d\n\
         \x20 - atom: slow\n",
    );
    let out = lab.run(&["check", &show(&flow)]).expect(2);
    let flow = show(&flow);
    let atom = show(&lab.path("flows/atoms/slow.sh"));
    for expected in [
        format!(
            "{flow}:2: interval: invalid duration `400d`: it is longer than the maximum of 365d"
        ),
        format!("{flow}:5: timeout: invalid duration `0s`: a timeout of zero"),
        format!(
            "{flow}:7: retry_interval: invalid duration `99999d`: it is longer than the maximum of 365d"
        ),
        format!("{atom}:3: timeout: invalid duration `0ms`: a timeout of zero"),
    ] {
        out.stderr_has(&expected);
    }
    // Nothing ran.
    let history = lab.run(&["history", "--json"]).expect(0);
    assert_eq!(history.stdout.trim(), "[]");
}

// ----------------------------------------------------------- UTF-8

#[test]
fn text_that_is_not_utf8_is_named_at_its_file_and_line() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(2);

    let flow = lab.write(
        "flows/latin1.yml",
        b"name: x\nsteps:\n  # caf\xe9\n  - command: 'true'\n",
    );
    let out = lab.run(&["check", &show(&flow)]).expect(2);
    assert_eq!(
        out.stderr_lines_with("UTF-8"),
        [format!(
            "{}:3: not UTF-8 text: byte 0xE9 at column 8 (save the flow file as UTF-8)",
            show(&flow)
        )]
    );

    let atom = lab.write(
        "flows/atoms/latin1.sh",
        b"#!/bin/sh\n# ---\n# description: caf\xe9\n# ---\ntrue\n",
    );
    let flow = lab.write(
        "flows/uses-latin1.yml",
        "name: y\nsteps:\n  - atom: latin1\n",
    );
    let out = lab.run(&["check", &show(&flow)]).expect(2);
    out.stderr_has(format!("{}:3: not UTF-8 text: byte 0xE9", show(&atom)));

    let patterns = lab.write("limit.txt", b"h1\n# caf\xe9\n");
    let out = lab
        .run(&["inventory", "hosts", "-i", &inventory, "@limit.txt"])
        .expect(2);
    out.stderr_has(format!("{}:2: not UTF-8 text: byte 0xE9", show(&patterns)));

    // An INI inventory reads on, as Ansible's ini plugin does: a warning
    // names each such line, and the bad bytes read as U+FFFD.
    let ini = lab.write(
        "latin1.ini",
        b"[lab]\n# caf\xe9 comment\nh1 ansible_connection=local note=caf\xe9\n",
    );
    let out = lab
        .run(&["inventory", "list", "--json", "-i", &show(&ini)])
        .expect(0);
    assert_eq!(
        out.stderr_lines_with("warning"),
        [
            format!(
                "jobdeck: warning: {}:2: not UTF-8: byte 0xE9 at column 6 is read as U+FFFD (save the file as UTF-8)",
                show(&ini)
            ),
            format!(
                "jobdeck: warning: {}:3: not UTF-8: byte 0xE9 at column 37 is read as U+FFFD (save the file as UTF-8)",
                show(&ini)
            ),
        ]
    );
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["_meta"]["hostvars"]["h1"]["note"], "caf\u{FFFD}");
    // It runs, too.
    let out = lab
        .run(&["--run", "-c", "echo ran", "-i", &show(&ini)])
        .expect(0);
    assert!(out.stdout.contains("ran"), "{}", out.stdout);
    assert_eq!(
        out.stderr_lines_with("not UTF-8").len(),
        2,
        "{}",
        out.stderr
    );

    // A YAML inventory must be UTF-8, as Ansible's yaml plugin requires.
    let yaml = lab.write(
        "latin1.yml",
        b"all:\n  hosts:\n    h1: {ansible_connection: local}  # caf\xe9\n",
    );
    let out = lab
        .run(&["inventory", "list", "-i", &show(&yaml)])
        .expect(2);
    out.stderr_has(format!("{}:3: not UTF-8 text: byte 0xE9", show(&yaml)));
    // Also without an extension, once it reads as a YAML mapping.
    let yaml = lab.write(
        "yaml-inventory",
        b"all:\n  hosts:\n    h1: {ansible_connection: local}  # caf\xe9\n",
    );
    let out = lab
        .run(&["inventory", "list", "-i", &show(&yaml)])
        .expect(2);
    out.stderr_has(format!("{}:3: not UTF-8 text: byte 0xE9", show(&yaml)));
}

// ------------------------------------------- one problem, one message

#[test]
fn one_problem_gives_one_message() {
    let lab = Lab::new();
    let inventory = lab.write(
        "hosts.ini",
        "[lab]\n\
         h1 ansible_port=abc\n\
         h2 ansible_host=127.0.0.1 ansible_port=1 ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n",
    );
    let inventory = show(&inventory);
    let out = lab
        .run(&["--run", "-c", "true", "-i", &inventory, "--limit", "h1"])
        .expect(2);
    assert_eq!(
        out.stderr,
        "jobdeck: error: host 'h1': ansible_port must be a port number, got 'abc'\n"
    );
    // Warnings name the host once, too (h2 is then unreachable: port 1).
    let out = lab
        .run(&[
            "--run",
            "-c",
            "true",
            "-i",
            &inventory,
            "--limit",
            "h2",
            "--connect-timeout",
            "5s",
        ])
        .expect(1);
    let warnings = out.stderr_lines_with("warning");
    assert_eq!(warnings.len(), 2, "{}", out.stderr);
    for warning in warnings {
        assert!(
            warning.starts_with("jobdeck: warning: host 'h2': ")
                && warning.matches("h2").count() == 1,
            "{warning}"
        );
    }

    // An invalid step is one message: no "steps: is empty" after it, no
    // "needs exactly one of" after a misspelt action.
    for (steps, expected) in [
        ("  - bogus: 1\n", "unknown key 'bogus' in step steps[1]"),
        ("  - comand: ls\n", "unknown key 'comand' in step steps[1]"),
        ("  - command: [1, 2]\n", "command must be text"),
        ("  - 42\n", "steps[1] must be a mapping"),
        ("  - atom: broken\n", "timeout: invalid duration `soon`"),
    ] {
        lab.write(
            "flows/atoms/broken.sh",
            "#!/bin/sh\n# ---\n# timeout: soon\n# ---\ntrue\n",
        );
        let flow = lab.write("flows/one.yml", format!("name: one\nsteps:\n{steps}"));
        let out = lab.run(&["check", &show(&flow)]).expect(2);
        let problems: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !l.starts_with("jobdeck: "))
            .collect();
        assert_eq!(problems.len(), 1, "{steps:?}:\n{}", out.stderr);
        assert!(problems[0].contains(expected), "{steps:?}: {}", problems[0]);
        out.stderr_has("1 problem(s)");
    }
    // Truly empty steps still say so.
    let flow = lab.write("flows/empty.yml", "name: e\nsteps: []\n");
    let out = lab.run(&["check", &show(&flow)]).expect(2);
    out.stderr_has("steps: is empty");
}

// ------------------------------------------------------ params, atoms

#[test]
fn an_empty_required_param_is_an_error_unless_the_flow_allows_it() {
    let lab = Lab::new();
    let inventory = lab.local_inventory(1);
    let strict = lab.write(
        "flows/strict.yml",
        "name: strict\nparams:\n  version: {type: string, required: true}\nsteps:\n  - command: echo \"v=${version}.\"\n",
    );
    let out = lab
        .run(&["--run", &show(&strict), "-i", &inventory, "-p", "version="])
        .expect(2);
    assert_eq!(
        out.stderr,
        format!(
            "jobdeck: error: {}: param 'version' is required and was given an empty value \
             (a flow that accepts one says allow_empty: true on the param)\n",
            show(&strict)
        )
    );
    let lenient = lab.write(
        "flows/lenient.yml",
        "name: lenient\nparams:\n  version: {type: string, required: true, allow_empty: true}\nsteps:\n  - command: echo \"v=${version}.\"\n",
    );
    let out = lab
        .run(&["--run", &show(&lenient), "-i", &inventory, "-p", "version="])
        .expect(0);
    assert!(out.stdout.contains("v=."), "{}", out.stdout);
    // Still required: leaving it out is an error.
    let out = lab
        .run(&["--run", &show(&lenient), "-i", &inventory])
        .expect(2);
    out.stderr_has("param 'version' is required");
    // An atom's required param given empty in the flow is refused at its line.
    lab.write(
        "flows/atoms/svc.sh",
        "#!/bin/sh\n# ---\n# params:\n#   service: {type: string, required: true}\n# ---\ntrue\n",
    );
    let flow = lab.write(
        "flows/svc.yml",
        "name: svc\nsteps:\n  - atom: svc\n    with: {service: \"\"}\n",
    );
    let out = lab.run(&["check", &show(&flow)]).expect(2);
    out.stderr_has(format!(
        "{}:4: param 'service' is required and was given an empty value",
        show(&flow)
    ));
}

#[test]
fn two_atoms_declaring_one_name_is_an_error_naming_both_files() {
    let lab = Lab::new();
    let first = lab.write(
        "flows/atoms/restart.sh",
        "#!/bin/sh\n# ---\n# name: restart\n# ---\necho sh\n",
    );
    let second = lab.write(
        "flows/atoms/restart-v2.py",
        "#!/usr/bin/env python3\n# ---\n# name: restart\n# ---\nprint('py')\n",
    );
    let flow = lab.write("flows/r.yml", "name: r\nsteps:\n  - atom: restart\n");
    let out = lab.run(&["check", &show(&flow)]).expect(2);
    assert_eq!(
        out.stderr_lines_with("restart"),
        [format!(
            "{}:3: two atoms are named 'restart': {} and {}; give one another name \
             (name: in its header, or its file name)",
            show(&flow),
            show(&second),
            show(&first)
        )]
    );
    // The declared name is the atom's name: found under it, not the file's.
    std::fs::remove_file(&second).unwrap();
    lab.write(
        "flows/atoms/stop.sh",
        "#!/bin/sh\n# ---\n# name: stop-service\n# ---\ntrue\n",
    );
    let flow = lab.write(
        "flows/s.yml",
        "name: s\nsteps:\n  - atom: restart\n  - atom: stop-service\n",
    );
    lab.run(&["check", &show(&flow)]).expect(0);
    let flow = lab.write("flows/t.yml", "name: t\nsteps:\n  - atom: stop\n");
    let out = lab.run(&["check", &show(&flow)]).expect(2);
    out.stderr_has(format!(
        "no atom named 'stop': {} declares name: stop-service",
        show(&lab.path("flows/atoms/stop.sh"))
    ));
}

// ------------------------------------------------------------ --gather

#[test]
fn gather_shows_why_each_unreachable_host_was_unreachable() {
    let lab = Lab::new();
    // g1..g12: nothing listens on loopback port 1; p1, p2: nor on port 2;
    // loc: runs.
    let mut text = String::from("[g]\n");
    for i in 1..=12 {
        text.push_str(&format!("g{i} ansible_host=127.0.0.1 ansible_port=1\n"));
    }
    text.push_str(
        "[p]\n\
         p1 ansible_host=127.0.0.1 ansible_port=2\n\
         p2 ansible_host=127.0.0.1 ansible_port=2\n\
         [l]\n\
         loc ansible_connection=local\n",
    );
    let inventory = show(&lab.write("hosts.ini", text));
    let out = lab
        .run(&[
            "--run",
            "-c",
            "echo hi",
            "-i",
            &inventory,
            "--gather",
            "--connect-timeout",
            "5s",
        ])
        .expect(1);
    let header: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.contains("UNREACHABLE"))
        .take_while(|l| !l.starts_with("---"))
        .collect();
    assert_eq!(header.len(), 3, "{}", out.stdout);
    assert_eq!(header[0], "g[1-12],p[1-2] (14): UNREACHABLE");
    assert!(
        header[1].starts_with("  g[1-12] (12): cannot connect to 127.0.0.1:1: "),
        "{}",
        out.stdout
    );
    assert!(
        header[2].starts_with("  p[1-2] (2): cannot connect to 127.0.0.1:2: "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("loc (1): OK\n"), "{}", out.stdout);
}

// ------------------------------------------------------------ console

/// A broken keymap line and an inventory line that is not UTF-8, as the
/// console starts: the good keymap lines apply, and both warnings are still
/// in the status line after "loaded N hosts" (which once replaced them
/// before the first frame).
#[test]
fn console_warnings_stay_visible_after_the_inventory_loads() {
    use jobdeck::tui::app::App;
    use jobdeck::tui::config::Settings;
    use jobdeck::tui::effects::StatusLevel;
    use jobdeck::tui::key::Key;
    use jobdeck::tui::keymap::KeyContext;

    let lab = Lab::new();
    let config = lab.path("config/jobdeck");
    lab.write(
        "config/jobdeck/keymap.toml",
        "[global]\n\"Q\" = \"leave\"\n\"ctrl-q\" = \"quit\"\n",
    );
    let settings = Settings::load(Some(&config), None, None, None).unwrap();
    assert_eq!(settings.warnings.len(), 1, "{:?}", settings.warnings);
    let quit = settings
        .keymap
        .lookup(&[KeyContext::Global], &Key::parse("ctrl-q").unwrap());
    assert_eq!(quit, Some(jobdeck::tui::action::Action::Quit));

    let mut app = App::new(settings.theme, settings.keymap);
    app.dispatch(jobdeck::tui::action::Action::Resize(120, 24));
    app.set_status(StatusLevel::Warning, settings.warnings.join("; "));
    let ini = lab.write(
        "latin1.ini",
        b"[lab]\n# caf\xe9\nh1 ansible_connection=local\n",
    );
    let inv = jobdeck::inventory::Inventory::load(&[show(&ini)]).unwrap();
    app.set_inventory(std::sync::Arc::new(inv), lab.path(""));

    let status = app.status_text().unwrap();
    let keymap = show(&config.join("keymap.toml"));
    assert!(
        status.starts_with(&format!("keymap {keymap}:2: unknown action 'leave'")),
        "{status}"
    );
    assert!(
        status.contains(&format!("{}:2: not UTF-8", show(&ini))),
        "{status}"
    );
    assert!(status.ends_with("; loaded 1 hosts in 3 groups"), "{status}");
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 24)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("keymap.toml:2: unknown action"), "{screen}");
}
