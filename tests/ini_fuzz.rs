//! Property tests for the INI inventory parser and its helpers: nothing
//! panics on any input, errors always carry a line inside the input, and a
//! few round-trip properties hold.
//!
//! Cases per property: 2,000, or `PROPTEST_CASES` when set.

use std::path::Path;

use jobdeck::inventory::{InventoryData, InventoryError, ini, pyliteral, range, shlex};
use proptest::prelude::*;
use serde_json::Value;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Lines as Python's `str.splitlines()` counts them (the test's own oracle).
fn python_line_count(text: &str) -> usize {
    let mut count = 0;
    let mut chars = text.chars().peekable();
    let mut in_line = false;
    while let Some(c) = chars.next() {
        let boundary = matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if boundary {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            count += 1;
            in_line = false;
        } else {
            in_line = true;
        }
    }
    count + usize::from(in_line)
}

/// Parses and checks the invariants every outcome must satisfy.
fn check_parse(text: &str) -> Result<(), TestCaseError> {
    let path = Path::new("/fuzz/hosts.ini");
    let mut data = InventoryData::new();
    match ini::parse(path, text, &mut data) {
        Ok(()) => {
            // Every host the parser added sits in some group, and no name is empty.
            for host in data.hosts.values() {
                prop_assert!(!host.name.is_empty());
                prop_assert!(
                    !host.direct_groups.is_empty(),
                    "host {} in no group",
                    host.name
                );
            }
            // `reconcile` must not panic on anything the parser accepted.
            data.reconcile();
        }
        Err(InventoryError::At {
            path: p,
            line,
            message,
        }) => {
            prop_assert_eq!(p.as_path(), path);
            let lines = python_line_count(text);
            prop_assert!(
                line >= 1 && line <= lines,
                "line {} outside 1..={} ({})",
                line,
                lines,
                message
            );
            prop_assert!(!message.is_empty());
        }
        Err(other) => prop_assert!(false, "error without a line: {:?}", other),
    }
    Ok(())
}

fn pattern(regex: &str) -> BoxedStrategy<String> {
    proptest::string::string_regex(regex)
        .expect("test regex compiles")
        .boxed()
}

/// One INI-looking line: headers, host lines with ranges, ports, quotes and
/// vars, vars and children lines, comments, and junk.
fn ini_line() -> impl Strategy<Value = String> {
    let name = "(g[0-3]|all|ungrouped|h[0-3]|[a-c\\[\\]:#;=' ]{1,4})";
    let header = format!("\\[{name}(:(vars|children|hosts|foo|))?\\]( ?[#;] ?[a-z]*)?");
    let host =
        "[a-c]{1,3}(\\[[0-9a-c]{0,2}(:[0-9a-c-]{0,2}){0,3}\\][a-c.]{0,2}){0,2}(:[0-9]{0,6})?";
    let value = "([a-z0-9]{0,3}|'[^'\n]{0,4}'|\"[^\"\n]{0,4}\"|\\[[0-9, ]{0,5}\\]|\\{[0-9:' ]{0,6}\\}|[0-9.e+_x-]{1,5}|True|None)";
    let assignment = format!("[a-z_]{{0,3}}={value}");
    let host_line = (
        pattern(host),
        prop::collection::vec(pattern(&assignment), 0..3),
        pattern("( #.*)?"),
    )
        .prop_map(|(h, vars, comment)| format!("{h} {} {comment}", vars.join(" ")));
    prop_oneof![
        2 => pattern(&header),
        4 => host_line,
        2 => pattern(&format!(" ?[a-z_]{{0,3}} ?= ?{value}( #[a-z]*)?")),
        1 => pattern("(g[0-3]|all|h1|[a-z#: ]{1,5})( #[a-z]*)?"),
        1 => pattern("[;#].{0,8}"),
        1 => pattern("[ \t]{0,2}"),
        1 => pattern(".{0,12}"),
    ]
}

fn ini_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(ini_line(), 0..16),
        prop::sample::select(vec!["\n", "\r\n", "\r", "\u{b}"]),
    )
        .prop_map(|(lines, ending)| lines.join(ending))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        check_parse(&text)?;
    }

    #[test]
    fn parse_never_panics_on_ini_like_text(text in ini_text()) {
        check_parse(&text)?;
    }

    #[test]
    fn host_patterns_never_panic(entry in "[a-c0-9:.\\[\\]_|-]{0,16}|.{0,16}") {
        if let Ok((names, _port)) = range::expand_hostpattern(&entry) {
            prop_assert!(names.len() <= range::MAX_EXPANDED_HOSTS);
            // Each expanded name comes from a different choice of range values.
            let unique: std::collections::HashSet<_> = names.iter().collect();
            prop_assert!(unique.len() == names.len() || entry.contains('|') || entry.matches('[').count() > 1,
                "duplicate names from {}", entry);
        }
        let _ = range::parse_address(&entry, false);
    }

    #[test]
    fn numeric_ranges_expand_to_every_value(begin in 0u32..300, len in 0u32..300, step in 1u32..7, width in 1usize..5) {
        let end = begin + len;
        let fmt = |n: u32| format!("{n:0width$}");
        let (b, e) = (fmt(begin), fmt(end));
        let padded = b.len() > 1 && b.starts_with('0');
        let entry = format!("web[{b}:{e}:{step}].example");
        match range::expand_hostpattern(&entry) {
            Ok((names, None)) => {
                let expected: Vec<String> = (begin..=end)
                    .step_by(step as usize)
                    .map(|n| if padded { format!("web{}.example", fmt(n)) } else { format!("web{n}.example") })
                    .collect();
                prop_assert_eq!(names, expected);
            }
            Ok(other) => prop_assert!(false, "unexpected port {:?}", other.1),
            // Only a zero-padded begin whose end is longer may fail.
            Err(message) => prop_assert!(padded && b.len() != e.len(), "{}: {}", entry, message),
        }
    }

    #[test]
    fn shlex_never_panics_and_matches_plain_splitting(line in any::<String>()) {
        let _ = shlex::split(&line, true);
        let _ = shlex::split(&line, false);
        if !line.contains(['\'', '"', '\\', '#']) {
            let plain: Vec<&str> = line.split([' ', '\t', '\r', '\n']).filter(|w| !w.is_empty()).collect();
            prop_assert_eq!(shlex::split(&line, true).unwrap(), plain);
        }
    }

    #[test]
    fn literal_values_never_panic(raw in any::<String>()) {
        let _ = pyliteral::try_parse_ini_value(&raw);
        let _ = pyliteral::parse_ini_value(&raw);
    }

    #[test]
    fn integers_and_quoted_text_round_trip(n in any::<i64>(), text in "[^'\\\\\n\r\\x00]{0,20}") {
        prop_assert_eq!(pyliteral::parse_ini_value(&n.to_string()), Value::from(n));
        prop_assert_eq!(pyliteral::parse_ini_value(&format!("'{text}'")), Value::String(text.clone()));
        prop_assert_eq!(pyliteral::parse_ini_value(&format!("[{n}, '{text}']")), serde_json::json!([n, text]));
    }

    #[test]
    fn floats_round_trip(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        prop_assert_eq!(pyliteral::parse_ini_value(&format!("{f:?}")), Value::from(f));
    }
}
