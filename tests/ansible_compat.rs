//! Compatibility with Ansible, checked against goldens recorded from
//! ansible-core (see tests/fixtures/inventories/README.md and
//! scripts/gen-goldens.sh). Ansible is not needed to run these tests.
//!
//! Each test walks the whole corpus and reports every failing case before
//! failing, so one run shows the full picture.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventories")
}

/// Case directories under `dir` (those holding a `sources` file), sorted.
fn cases_in(dir: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.join("sources").is_file())
        .collect();
    cases.sort();
    cases
}

fn non_empty_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs jobdeck from the case directory with one `-i` per line of `sources`.
fn jobdeck(case: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jobdeck"));
    cmd.current_dir(case);
    for source in non_empty_lines(&read(&case.join("sources"))) {
        cmd.arg("-i").arg(source);
    }
    cmd.args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run jobdeck: {e}"))
}

fn name(case: &Path) -> String {
    let root = corpus_dir();
    case.strip_prefix(&root)
        .unwrap_or(case)
        .display()
        .to_string()
}

/// A short line diff: the common prefix is skipped, then up to 40 lines of
/// `-expected` / `+actual` around the first difference.
fn diff(expected: &str, actual: &str) -> String {
    let exp: Vec<&str> = expected.lines().collect();
    let act: Vec<&str> = actual.lines().collect();
    let first = exp.iter().zip(&act).take_while(|(a, b)| a == b).count();
    let mut exp_end = exp.len();
    let mut act_end = act.len();
    while exp_end > first && act_end > first && exp[exp_end - 1] == act[act_end - 1] {
        exp_end -= 1;
        act_end -= 1;
    }
    let mut out = format!(
        "@@ line {} (expected {} lines, got {}) @@\n",
        first + 1,
        exp.len(),
        act.len()
    );
    for line in exp.iter().take(first).skip(first.saturating_sub(3)) {
        let _ = writeln!(out, " {line}");
    }
    let mut shown = 0;
    for line in &exp[first..exp_end] {
        if shown < 20 {
            let _ = writeln!(out, "-{line}");
        }
        shown += 1;
    }
    let mut shown_plus = 0;
    for line in &act[first..act_end] {
        if shown_plus < 20 {
            let _ = writeln!(out, "+{line}");
        }
        shown_plus += 1;
    }
    if shown > 20 || shown_plus > 20 {
        let _ = writeln!(
            out,
            "... ({shown} lines removed, {shown_plus} added in all)"
        );
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        let _ = writeln!(out, "(the trailing newline differs)");
    }
    out
}

/// Where jobdeck deliberately prints something else than ansible-inventory,
/// the case holds `known-deviations.txt`: `# why` comment lines, then
/// `ANSIBLE => JOBDECK` lines, applied to the golden as literal replacements.
/// The golden itself stays exactly what ansible printed.
fn with_known_deviations(case: &Path, mut expected: String) -> String {
    let Ok(text) = std::fs::read_to_string(case.join("known-deviations.txt")) else {
        return expected;
    };
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (from, to) = line
            .split_once(" => ")
            .unwrap_or_else(|| panic!("{}: bad known-deviations line {line:?}", case.display()));
        assert!(
            expected.contains(from),
            "{}: known deviation {from:?} no longer occurs in the golden",
            case.display()
        );
        expected = expected.replace(from, to);
    }
    expected
}

fn report(what: &str, checked: usize, failures: &[String]) {
    if !failures.is_empty() {
        panic!(
            "{} of {checked} {what} failed:\n\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    assert!(
        checked > 0,
        "no {what} found under {}",
        corpus_dir().display()
    );
}

fn describe_failure(out: &Output) -> String {
    format!(
        "exit status {:?}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn inventory_list_json_matches_ansible_inventory() {
    let mut failures = Vec::new();
    let cases = cases_in(&corpus_dir());
    for case in &cases {
        let expected = with_known_deviations(case, read(&case.join("expected.json")));
        let out = jobdeck(case, &["inventory", "list", "--json"]);
        if !out.status.success() {
            failures.push(format!("## {}\n{}", name(case), describe_failure(&out)));
            continue;
        }
        let actual = String::from_utf8_lossy(&out.stdout);
        if actual != expected {
            failures.push(format!("## {}\n{}", name(case), diff(&expected, &actual)));
        }
    }
    report(
        "inventories (list --json vs ansible-inventory --list)",
        cases.len(),
        &failures,
    );
}

/// Lines of an optional golden (none when the file is absent).
fn golden_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|text| {
            non_empty_lines(&text)
                .into_iter()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// What jobdeck warns about matches what ansible warned about: the files a
/// directory source skipped (`expected-skips.txt`, relative to the case)
/// and the group names with characters Ansible warns about
/// (`expected-group-warnings.txt`), each once, in order.
#[test]
fn warnings_match_ansible() {
    let mut failures = Vec::new();
    let cases = cases_in(&corpus_dir());
    for case in &cases {
        let out = jobdeck(case, &["inventory", "list", "--json"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let base = fs::canonicalize(case).unwrap();
        let mut skipped = Vec::new();
        let mut groups = Vec::new();
        for line in stderr.lines() {
            let Some(warning) = line.strip_prefix("jobdeck: warning: ") else {
                continue;
            };
            if let Some((path, _)) = warning.split_once(": skipped, ") {
                let path = Path::new(path);
                let relative = path.strip_prefix(&base).unwrap_or(path);
                skipped.push(relative.display().to_string());
            }
            if let Some(rest) = warning.split_once(": group name '").map(|(_, r)| r) {
                groups.push(
                    rest.split_once("' has characters")
                        .map_or(rest, |(g, _)| g)
                        .to_owned(),
                );
            }
        }
        let want_skips = golden_lines(&case.join("expected-skips.txt"));
        let want_groups = golden_lines(&case.join("expected-group-warnings.txt"));
        if skipped != want_skips || groups != want_groups {
            failures.push(format!(
                "## {}
skipped {skipped:?}, ansible {want_skips:?}
                 group warnings {groups:?}, ansible {want_groups:?}
stderr:
{stderr}",
                name(case)
            ));
        }
    }
    report("inventories (warnings vs ansible)", cases.len(), &failures);
}

/// One pattern of `expected-hosts.txt`: `>>> PATTERN`, then the hosts.
struct Selection {
    pattern: String,
    hosts: Vec<String>,
}

fn parse_expected_hosts(text: &str) -> Vec<Selection> {
    let mut selections: Vec<Selection> = Vec::new();
    for line in text.lines() {
        if let Some(pattern) = line.strip_prefix(">>> ") {
            selections.push(Selection {
                pattern: pattern.to_string(),
                hosts: Vec::new(),
            });
        } else if !line.is_empty() {
            let current = selections
                .last_mut()
                .expect("expected-hosts.txt must start with a '>>> PATTERN' line");
            current.hosts.push(line.to_string());
        }
    }
    selections
}

#[test]
fn inventory_hosts_matches_ansible_list_hosts() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in cases_in(&corpus_dir()) {
        let golden = case.join("expected-hosts.txt");
        if !golden.is_file() {
            continue;
        }
        for selection in parse_expected_hosts(&read(&golden)) {
            checked += 1;
            let label = format!("## {} `{}`", name(&case), selection.pattern);
            let out = jobdeck(&case, &["inventory", "hosts", "--", &selection.pattern]);
            if selection.hosts.is_empty() {
                // Ansible matched nothing; for jobdeck an empty selection is an error.
                if out.status.success() {
                    failures.push(format!(
                        "{label}\nAnsible matches no host, so jobdeck must exit non-zero; it printed:\n{}",
                        String::from_utf8_lossy(&out.stdout)
                    ));
                }
                continue;
            }
            if !out.status.success() {
                failures.push(format!("{label}\n{}", describe_failure(&out)));
                continue;
            }
            let expected = selection.hosts.join("\n") + "\n";
            let actual = String::from_utf8_lossy(&out.stdout);
            if actual != expected {
                failures.push(format!("{label}\n{}", diff(&expected, &actual)));
            }
        }
    }
    report(
        "host selections (hosts PATTERN vs ansible --list-hosts)",
        checked,
        &failures,
    );
}

#[test]
fn bad_inventories_fail_with_location() {
    let mut failures = Vec::new();
    let cases = cases_in(&corpus_dir().join("errors"));
    for case in &cases {
        let wanted = read(&case.join("expected-error.txt"))
            .trim_end()
            .to_string();
        let args_file = case.join("args");
        let args_text = if args_file.is_file() {
            read(&args_file)
        } else {
            "inventory\nlist\n--json\n".to_string()
        };
        let args = non_empty_lines(&args_text);
        let out = jobdeck(case, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            failures.push(format!(
                "## {}\nexpected a non-zero exit, got success; stdout:\n{}",
                name(case),
                String::from_utf8_lossy(&out.stdout)
            ));
        } else if out.status.code().is_none() || stderr.contains("panicked") {
            failures.push(format!("## {}\njobdeck crashed:\n{stderr}", name(case)));
        } else if !stderr.contains(&wanted) {
            failures.push(format!(
                "## {}\nstderr lacks `{wanted}`:\n{stderr}",
                name(case)
            ));
        }
    }
    report("error cases", cases.len(), &failures);
}

#[cfg(test)]
mod harness_tests {
    use super::*;

    #[test]
    fn expected_hosts_format_parses_empty_and_full_blocks() {
        let parsed = parse_expected_hosts(">>> web\na\nb\n>>> none\n>>> db:&x\nc\n");
        let summary: Vec<(String, usize)> = parsed
            .iter()
            .map(|s| (s.pattern.clone(), s.hosts.len()))
            .collect();
        assert_eq!(
            summary,
            vec![("web".into(), 2), ("none".into(), 0), ("db:&x".into(), 1)]
        );
    }

    #[test]
    fn diff_points_at_first_difference() {
        let d = diff("a\nb\nc\n", "a\nx\nc\n");
        assert!(d.contains("@@ line 2"), "{d}");
        assert!(d.contains("-b\n+x\n"), "{d}");
    }

    #[test]
    fn every_case_has_its_goldens() {
        for case in cases_in(&corpus_dir()) {
            assert!(case.join("expected.json").is_file(), "{}", case.display());
            assert_eq!(
                case.join("patterns.txt").is_file(),
                case.join("expected-hosts.txt").is_file(),
                "{}: patterns.txt and expected-hosts.txt go together",
                case.display()
            );
        }
        for case in cases_in(&corpus_dir().join("errors")) {
            assert!(
                case.join("expected-error.txt").is_file(),
                "{}",
                case.display()
            );
        }
        assert!(cases_in(&corpus_dir()).len() >= 25);
    }
}

/// `~regex` host patterns follow Python's `re`, as Ansible compiles them:
/// every pattern of tests/fixtures/python-re/ is refused where Python
/// refuses it, and otherwise matches exactly the names Python's
/// `re.match` matches (goldens from scripts/gen_pyre_goldens.py). The few
/// patterns Python takes and jobdeck does not (not-supported.txt) must be
/// refused with a message that says so.
#[test]
fn regex_patterns_follow_python_re() {
    use jobdeck::inventory::pyregex::PyRegex;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python-re");
    let golden: serde_json::Value =
        serde_json::from_str(&read(&dir.join("expected.json"))).unwrap();
    let unsupported = read(&dir.join("not-supported.txt"));
    let unsupported: Vec<&str> = unsupported
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("# "))
        .collect();
    let names: Vec<&str> = golden["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let cases = golden["cases"].as_array().unwrap();
    let mut failures = Vec::new();
    for case in cases {
        let pattern = case["pattern"].as_str().unwrap();
        let compiled = PyRegex::new(pattern);
        if unsupported.contains(&pattern) {
            match compiled {
                Err(e) if e.to_string().contains("jobdeck does not support") => {}
                other => failures.push(format!(
                    "{pattern:?}: not refused as unsupported: {other:?}"
                )),
            }
            continue;
        }
        match (case["error"].as_str(), compiled) {
            (Some(_), Err(_)) => {}
            (Some(python), Ok(_)) => {
                failures.push(format!(
                    "{pattern:?}: Python refuses it ({python}); jobdeck took it"
                ));
            }
            (None, Err(e)) => failures.push(format!("{pattern:?}: Python takes it; jobdeck: {e}")),
            (None, Ok(re)) => {
                let wanted: Vec<&str> = case["matches"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap())
                    .collect();
                let got: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|n| re.matches(n).unwrap())
                    .collect();
                if got != wanted {
                    failures.push(format!(
                        "{pattern:?}: Python matches {wanted:?}, jobdeck {got:?}"
                    ));
                }
            }
        }
    }
    report("regex patterns (vs Python's re)", cases.len(), &failures);
}
