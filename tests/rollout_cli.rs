//! `jobdeck rollout preview` run as a real binary.

use assert_cmd::Command;
use predicates::prelude::*;

fn jobdeck() -> Command {
    Command::cargo_bin("jobdeck").unwrap()
}

/// The JSON plan for `expr` over `hosts` hosts.
fn json_plan(expr: &str, hosts: usize) -> Vec<usize> {
    let out = jobdeck()
        .args([
            "rollout",
            "preview",
            expr,
            "--hosts",
            &hosts.to_string(),
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn issue_examples_for_100_hosts() {
    assert_eq!(json_plan("20", 100), vec![20; 5]);
    assert_eq!(json_plan("30%", 100), vec![30, 30, 30, 10]);
    assert_eq!(json_plan("5 *2", 100), vec![5, 10, 20, 40, 25]);
    assert_eq!(json_plan("5 +10", 100), vec![5, 15, 25, 35, 20]);
    assert_eq!(json_plan("10 20 20 20 100%", 100), vec![10, 20, 20, 20, 30]);
    assert_eq!(json_plan("10%,20%,30%,40%", 100), vec![10, 20, 30, 40]);
}

#[test]
fn json_is_a_compact_list() {
    jobdeck()
        .args([
            "rollout",
            "preview",
            "10%,20%,30%,40%",
            "--hosts",
            "100",
            "--json",
        ])
        .assert()
        .success()
        .stdout("[10,20,30,40]\n")
        .stderr("");
}

#[test]
fn zero_hosts_is_an_empty_plan() {
    jobdeck()
        .args(["rollout", "preview", "10%", "--hosts", "0", "--json"])
        .assert()
        .success()
        .stdout("[]\n");
}

#[test]
fn human_form_has_batch_lines_and_a_total() {
    jobdeck()
        .args(["rollout", "preview", "10%,20%,30%,40%", "--hosts", "100"])
        .assert()
        .success()
        .stdout(
            "batch 1: 10 hosts (10%)\n\
             batch 2: 20 hosts (20%)\n\
             batch 3: 30 hosts (30%)\n\
             batch 4: 40 hosts (40%)\n\
             total: 100 hosts in 4 batches\n",
        );
}

#[test]
fn unquoted_words_form_one_expression() {
    jobdeck()
        .args(["rollout", "preview", "5", "*2", "--hosts", "100", "--json"])
        .assert()
        .success()
        .stdout("[5,10,20,40,25]\n");
}

/// Runs a preview that must fail with exit code 2 and write nothing to stdout.
fn fails_with(args: &[&str], message: &str) {
    jobdeck()
        .args(["rollout", "preview"])
        .args(args)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with("jobdeck: error: "))
        .stderr(predicate::str::contains(message));
}

#[test]
fn zero_is_an_error_naming_the_token() {
    fails_with(
        &["10 0", "--hosts", "100"],
        "batch `0`: a batch must have at least one host",
    );
}

#[test]
fn negative_is_an_error_naming_the_token() {
    fails_with(
        &["10 -5", "--hosts", "100"],
        "batch `-5`: a batch size cannot be negative",
    );
    // As its own word too, where it looks like a flag.
    fails_with(&["-5", "--hosts", "100"], "batch `-5`");
}

#[test]
fn rest_not_last_is_an_error() {
    fails_with(
        &["100% 10", "--hosts", "100"],
        "batch `100%` must be the last one",
    );
}

#[test]
fn step_not_last_or_first_is_an_error() {
    fails_with(
        &["5 +10 20", "--hosts", "100"],
        "batch `+10` must be the last one",
    );
    fails_with(
        &["5 *2 3", "--hosts", "100"],
        "batch `*2` must be the last one",
    );
    fails_with(&["+10", "--hosts", "100"], "batch `+10` cannot come first");
}

#[test]
fn percent_over_100_and_garbage_are_errors() {
    fails_with(
        &["150%", "--hosts", "100"],
        "batch `150%`: a percentage cannot be more than 100%",
    );
    fails_with(
        &["10% lots", "--hosts", "100"],
        "batch `lots`: not a batch size; expected",
    );
    fails_with(&["", "--hosts", "100"], "empty batch expression");
}

#[test]
fn more_than_500_batches_is_an_error() {
    fails_with(
        &["1", "--hosts", "501"],
        "`1` splits 501 hosts into more than 500 batches",
    );
    assert_eq!(json_plan("1", 500).len(), 500);
}

#[test]
fn missing_or_bad_host_count_is_a_usage_error() {
    jobdeck()
        .args(["rollout", "preview", "10%"])
        .assert()
        .code(2);
    jobdeck()
        .args(["rollout", "preview", "10%", "--hosts", "-3"])
        .assert()
        .code(2);
}

#[test]
fn chinese_keyboard_separators_split_batches() {
    // As the design notes write it: full-width commas.
    assert_eq!(json_plan("10%，30%，60%", 10), vec![1, 3, 6]);
    // The ideographic space and the ideographic comma.
    assert_eq!(json_plan("1\u{3000}30%\u{3000}100%", 10), vec![1, 3, 6]);
    assert_eq!(json_plan("1、2、100%", 10), vec![1, 2, 7]);
}
