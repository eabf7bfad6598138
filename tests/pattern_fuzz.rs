//! Fuzzes `pattern::select` against a small fixed inventory: whatever the
//! pattern, it must not panic, and every host it returns must exist and
//! appear once. Raise the case count with PROPTEST_CASES.

use std::path::Path;

use jobdeck::inventory::{self as inventory, InventoryData};
use proptest::prelude::*;

fn fixture() -> InventoryData {
    let mut data = InventoryData::new();
    let groups: &[(&str, &[&str])] = &[
        (
            "web",
            &["web1.example.com", "web2.example.com", "web10", "fe80::1"],
        ),
        ("db", &["db1.example.com", "web2.example.com", "10.0.0.5"]),
        ("db.x", &["zed", "all"]),
        ("prod", &["lb1"]),
        ("web1.example.com", &["[odd]", "a:b", "!neg", "&amp"]),
    ];
    for (group, hosts) in groups {
        let g = data.add_group(group);
        for host in *hosts {
            data.add_host(host, Some(g), None);
        }
    }
    data.add_host("solo", None, None);
    data.add_host("ü-host", None, None);
    data.add_child("prod", "web").unwrap();
    data.add_child("prod", "db").unwrap();
    data.add_child("db", "db.x").unwrap();
    data.reconcile();
    data
}

/// One pattern-like piece: names, globs, regexes, subscripts and operators.
fn piece() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("all".to_string()),
        Just("*".to_string()),
        Just("web".to_string()),
        Just("db.x".to_string()),
        Just("web1.example.com".to_string()),
        Just("ungrouped".to_string()),
        Just("fe80::1".to_string()),
        "[a-z0-9.*?\\[\\]!^-]{0,8}",
    ];
    let regex = "~[a-z.*+?()|\\[\\]^$\\\\{}0-9]{0,10}";
    let subscript = prop_oneof![
        Just(String::new()),
        (-12i64..12).prop_map(|i| format!("[{i}]")),
        (0u32..12, proptest::option::of(0u32..12))
            .prop_map(|(a, b)| format!("[{a}:{}]", b.map(|b| b.to_string()).unwrap_or_default())),
        (0u32..12, 0u32..12).prop_map(|(a, b)| format!("[{a}-{b}]")),
        "\\[[^\\]]{0,4}\\]",
    ];
    let operator = prop_oneof![Just(""), Just("&"), Just("!"), Just("@")];
    (
        operator,
        prop_oneof![name.prop_map(|n| n), regex.prop_map(|r| r)],
        subscript,
    )
        .prop_map(|(op, body, sub)| format!("{op}{body}{sub}"))
}

fn pattern_like() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(piece(), 1..5),
        prop_oneof![Just(":"), Just(","), Just(" , "), Just(" ")],
    )
        .prop_map(|(pieces, sep)| pieces.join(sep))
}

fn check(data: &InventoryData, pattern: &str) -> Result<(), TestCaseError> {
    // Errors are fine (bad regex, index out of range, missing @file); panics are not.
    if let Ok(hosts) =
        inventory::pattern::select(data, pattern, Path::new("/nonexistent-jobdeck-base"))
    {
        let mut seen = vec![false; data.hosts.len()];
        for h in hosts {
            prop_assert!(
                h < data.hosts.len(),
                "{pattern:?} returned unknown host id {h}"
            );
            prop_assert!(!seen[h], "{pattern:?} returned {} twice", data.host(h).name);
            seen[h] = true;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(pattern in "\\PC{0,40}") {
        check(&fixture(), &pattern)?;
    }

    #[test]
    fn pattern_like_strings_never_panic(pattern in pattern_like()) {
        check(&fixture(), &pattern)?;
    }

    #[test]
    fn bracket_and_separator_soup_never_panics(pattern in "[\\[\\]:,!&~@*?a-c0-2 .-]{0,30}") {
        check(&fixture(), &pattern)?;
    }
}

#[test]
fn hosts_with_operator_names_resolve_by_name() {
    let data = fixture();
    let names = |p: &str| -> Vec<String> {
        inventory::pattern::select(&data, p, Path::new("."))
            .unwrap()
            .into_iter()
            .map(|h| data.host(h).name.clone())
            .collect()
    };
    // A piece that is a host's exact name is that host (Ansible's fast path),
    // even when it looks like an exclusion or the word `all`.
    assert_eq!(names("all"), ["all"]);
    assert_eq!(names("solo,!neg"), ["solo", "!neg"]);
}
