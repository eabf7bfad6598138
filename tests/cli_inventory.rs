//! The `jobdeck inventory` commands on the bundled sample inventory, run
//! through the real binary.

use assert_cmd::Command;
use predicates::prelude::*;

fn jobdeck() -> Command {
    let mut cmd = Command::cargo_bin("jobdeck").expect("binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn stdout_of(args: &[&str]) -> String {
    let out = jobdeck().args(args).output().expect("jobdeck runs");
    assert!(
        out.status.success(),
        "jobdeck {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn list_json_matches_ansible_inventory_on_the_sample() {
    let expected = include_str!("fixtures/sample-inventory.list.json");
    let got = stdout_of(&["-i", "sample-inventory", "inventory", "list", "--json"]);
    assert_eq!(got.trim_end(), expected.trim_end());
}

#[test]
fn the_default_inventory_is_the_sample() {
    let with_default = stdout_of(&["inventory", "list", "--json"]);
    let explicit = stdout_of(&["-i", "sample-inventory", "inventory", "list", "--json"]);
    assert_eq!(with_default, explicit);
}

#[test]
fn tree_shows_projects_clusters_apps_with_counts() {
    let tree = stdout_of(&["inventory", "list"]);
    let lines: Vec<&str> = tree.lines().collect();
    let find = |prefix: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{tree}"))
    };
    assert!(find("shop ").contains(" 10"), "{tree}");
    assert!(find("├── shop_c1").contains("  7"), "{tree}");
    assert!(
        find("│   ├── shop_web").contains("shop-web-[01-04]"),
        "{tree}"
    );
    assert!(find("    └── shop_worker").contains("shop-worker-a,shop-worker-b,shop-worker-c"));
    assert!(find("lab ").contains("  4"), "{tree}");
    assert!(find("blog ").contains("  4"), "{tree}");
    assert!(tree.contains("18 hosts"), "{tree}");
}

#[test]
fn filters_by_project_and_cluster() {
    let hosts = stdout_of(&[
        "inventory",
        "hosts",
        "all",
        "--project",
        "shop",
        "--cluster",
        "shop_c1",
    ]);
    assert_eq!(
        hosts.lines().collect::<Vec<_>>(),
        [
            "shop-web-01",
            "shop-web-02",
            "shop-web-03",
            "shop-web-04",
            "shop-api-01",
            "shop-api-02",
            "shop-api-03"
        ]
    );
    let apps = stdout_of(&["inventory", "hosts", "shop", "--app", "shop_worker"]);
    assert_eq!(apps.lines().count(), 3);
}

#[test]
fn patterns_follow_ansible_order_of_operations() {
    let hosts = stdout_of(&["inventory", "hosts", "shop_c1:lab:!local-2"]);
    assert_eq!(
        hosts.lines().collect::<Vec<_>>(),
        [
            "shop-web-01",
            "shop-web-02",
            "shop-web-03",
            "shop-web-04",
            "shop-api-01",
            "shop-api-02",
            "shop-api-03",
            "local-1",
            "local-3",
            "local-4"
        ]
    );
    let sliced = stdout_of(&["inventory", "hosts", "shop_web[1:2]"]);
    assert_eq!(
        sliced.lines().collect::<Vec<_>>(),
        ["shop-web-02", "shop-web-03"]
    );
}

#[test]
fn an_explicit_list_ignores_filters_and_names_unknown_hosts() {
    let hosts = stdout_of(&[
        "inventory",
        "hosts",
        "--project",
        "blog",
        "--hosts",
        "local-1,127.0.1.21",
    ]);
    assert_eq!(
        hosts.lines().collect::<Vec<_>>(),
        ["local-1", "shop-api-01"]
    );
    jobdeck()
        .args([
            "inventory",
            "hosts",
            "--hosts",
            "local-1,nosuch-9,127.9.9.9",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nosuch-9").and(predicate::str::contains("127.9.9.9")));
}

#[test]
fn an_empty_selection_is_an_error() {
    jobdeck()
        .args(["inventory", "hosts", "shop:&blog"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shop:&blog"));
}

#[test]
fn show_of_a_local_host_has_no_ssh_settings() {
    let text = stdout_of(&["inventory", "show", "local-1"]);
    assert!(text.contains("connection  local\n"), "{text}");
    // The sample sets ansible_user for all hosts; a local one never uses it.
    for unused in ["address ", "port ", "user ", "key ", "proxy"] {
        assert!(
            !text.lines().any(|l| l.starts_with(unused)),
            "{unused:?} is shown:\n{text}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&["inventory", "show", "local-1", "--json"])).unwrap();
    assert_eq!(
        json["connection"],
        serde_json::json!({"connection": "local"})
    );
    // An SSH host still shows them all.
    let ssh = stdout_of(&["inventory", "show", "shop-web-01"]);
    for used in ["address ", "port ", "user "] {
        assert!(ssh.lines().any(|l| l.starts_with(used)), "{used:?}:\n{ssh}");
    }
}

#[test]
fn show_gives_connection_settings_and_masks_secrets() {
    let api = stdout_of(&["inventory", "show", "shop-api-03"]);
    assert!(api.contains("port        2200"), "{api}");
    assert!(api.contains("address     127.0.1.23"), "{api}");
    let blog = stdout_of(&["inventory", "show", "blog-php-01"]);
    assert!(
        blog.contains("proxy cmd   ssh -W %h:%p jump@127.0.2.1 -p 51006"),
        "{blog}"
    );
    assert!(blog.contains("project     blog"), "{blog}");

    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts");
    std::fs::write(
        &inv,
        "[db]\ndb1 ansible_password=hunter2 db_api_token='t0k3n'\n",
    )
    .unwrap();
    for args in [
        vec!["inventory", "show", "db1"],
        vec!["inventory", "show", "db1", "--json"],
    ] {
        let out = jobdeck().arg("-i").arg(&inv).args(&args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert!(
            !text.contains("hunter2") && !text.contains("t0k3n"),
            "{text}"
        );
        assert!(text.contains("***"), "{text}");
    }
}

#[test]
fn bad_inventory_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts.ini");
    std::fs::write(&inv, "[web]\nweb1\n\n[web:bogus]\nx\n").unwrap();
    jobdeck()
        .arg("-i")
        .arg(&inv)
        .args(["inventory", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("hosts.ini:4"));
    jobdeck()
        .args(["-i", "/nonexistent/inventory", "inventory", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/inventory"));
}

#[test]
fn version_help_and_completions() {
    jobdeck()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("jobdeck "));
    jobdeck()
        .args(["inventory", "hosts", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--project"));
    for shell in ["bash", "zsh", "fish"] {
        jobdeck()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("jobdeck"));
    }
}
