//! Crontab semantics checked through `jobdeck schedule next` against a
//! reference table built by hand from `man 5 crontab` and cronie's daemon
//! (entry.c parsing, cron.c matching and DST handling) — not from the cron
//! crate. Each row: expression, zone, start (exclusive, wall-clock time in
//! the zone), and the expected next fire times in RFC 3339, so the UTC
//! offset shows which side of a DST change a time is on.

use assert_cmd::Command;
use predicates::prelude::*;

struct Row {
    expr: &'static str,
    zone: &'static str,
    from: &'static str,
    expected: &'static [&'static str],
}

const fn row(
    expr: &'static str,
    zone: &'static str,
    from: &'static str,
    expected: &'static [&'static str],
) -> Row {
    Row {
        expr,
        zone,
        from,
        expected,
    }
}

// Calendar facts used below: 2026-05-13 is a Wednesday, 2026-06-01 a Monday,
// 2026-05-01 a Friday; Feb and Mar 13th 2026 are Fridays; 2028-02-29 is a
// Tuesday. Berlin: 2026-03-29 02:00 CET -> 03:00 CEST, 2026-10-25 03:00 CEST
// -> 02:00 CET. New York: 2026-03-08 02:00 EST -> 03:00 EDT, 2026-11-01
// 02:00 EDT -> 01:00 EST. Sao Paulo: 2018-11-04 00:00 -> 01:00. Apia
// skipped all of 2011-12-30 (UTC-10 -> UTC+14).
const TABLE: &[Row] = &[
    // --- weekday numbering: 0 and 7 are Sunday; names; ranges
    row(
        "0 9 * * 0",
        "UTC",
        "2026-05-13 00:00",
        &[
            "2026-05-17T09:00:00+00:00",
            "2026-05-24T09:00:00+00:00",
            "2026-05-31T09:00:00+00:00",
        ],
    ),
    row(
        "0 9 * * 7",
        "UTC",
        "2026-05-13 00:00",
        &[
            "2026-05-17T09:00:00+00:00",
            "2026-05-24T09:00:00+00:00",
            "2026-05-31T09:00:00+00:00",
        ],
    ),
    row(
        "0 9 * * sun",
        "UTC",
        "2026-05-13 00:00",
        &["2026-05-17T09:00:00+00:00", "2026-05-24T09:00:00+00:00"],
    ),
    row(
        "0 9 * * SAT,Sun",
        "UTC",
        "2026-05-13 00:00",
        &[
            "2026-05-16T09:00:00+00:00",
            "2026-05-17T09:00:00+00:00",
            "2026-05-23T09:00:00+00:00",
        ],
    ),
    row(
        "0 9 * * 1-5",
        "UTC",
        "2026-05-15 10:00",
        &[
            "2026-05-18T09:00:00+00:00",
            "2026-05-19T09:00:00+00:00",
            "2026-05-20T09:00:00+00:00",
        ],
    ),
    row(
        "0 9 * * mon-fri",
        "UTC",
        "2026-05-15 10:00",
        &["2026-05-18T09:00:00+00:00", "2026-05-19T09:00:00+00:00"],
    ),
    row(
        "0 9 * * 5-7",
        "UTC",
        "2026-05-13 00:00",
        &[
            "2026-05-15T09:00:00+00:00",
            "2026-05-16T09:00:00+00:00",
            "2026-05-17T09:00:00+00:00",
            "2026-05-22T09:00:00+00:00",
        ],
    ),
    // --- day-of-month / day-of-week: OR when neither starts with '*'
    row(
        "0 0 1 * 1",
        "UTC",
        "2026-06-01 00:00",
        &[
            "2026-06-08T00:00:00+00:00",
            "2026-06-15T00:00:00+00:00",
            "2026-06-22T00:00:00+00:00",
            "2026-06-29T00:00:00+00:00",
            "2026-07-01T00:00:00+00:00",
            "2026-07-06T00:00:00+00:00",
        ],
    ),
    // man 5 crontab's own example: the 1st and 15th, plus every Friday
    row(
        "30 4 1,15 * 5",
        "UTC",
        "2026-05-01 05:00",
        &[
            "2026-05-08T04:30:00+00:00",
            "2026-05-15T04:30:00+00:00",
            "2026-05-22T04:30:00+00:00",
            "2026-05-29T04:30:00+00:00",
            "2026-06-01T04:30:00+00:00",
            "2026-06-05T04:30:00+00:00",
        ],
    ),
    // Friday or the 13th (Feb 13th is both: one fire)
    row(
        "0 0 13 * 5",
        "UTC",
        "2026-02-01 00:00",
        &[
            "2026-02-06T00:00:00+00:00",
            "2026-02-13T00:00:00+00:00",
            "2026-02-20T00:00:00+00:00",
            "2026-02-27T00:00:00+00:00",
            "2026-03-06T00:00:00+00:00",
        ],
    ),
    // '*/2' starts with '*': AND — Mondays on odd days of the month
    row(
        "0 0 */2 * 1",
        "UTC",
        "2026-06-01 00:00",
        &[
            "2026-06-15T00:00:00+00:00",
            "2026-06-29T00:00:00+00:00",
            "2026-07-13T00:00:00+00:00",
            "2026-07-27T00:00:00+00:00",
        ],
    ),
    // '*/2' in day-of-week: AND — 1sts that are Sun, Tue, Thu or Sat
    row(
        "0 0 1 * */2",
        "UTC",
        "2026-01-01 00:00",
        &[
            "2026-02-01T00:00:00+00:00",
            "2026-03-01T00:00:00+00:00",
            "2026-08-01T00:00:00+00:00",
            "2026-09-01T00:00:00+00:00",
        ],
    ),
    // '1-31' does not start with '*': OR — every day
    row(
        "0 0 1-31 * 1",
        "UTC",
        "2026-06-01 00:00",
        &[
            "2026-06-02T00:00:00+00:00",
            "2026-06-03T00:00:00+00:00",
            "2026-06-04T00:00:00+00:00",
        ],
    ),
    row(
        "0 0 * * 1",
        "UTC",
        "2026-06-01 00:00",
        &["2026-06-08T00:00:00+00:00", "2026-06-15T00:00:00+00:00"],
    ),
    // --- steps, ranges, lists
    row(
        "*/15 * * * *",
        "UTC",
        "2026-05-13 10:07",
        &[
            "2026-05-13T10:15:00+00:00",
            "2026-05-13T10:30:00+00:00",
            "2026-05-13T10:45:00+00:00",
            "2026-05-13T11:00:00+00:00",
        ],
    ),
    // a step restarts at each hour: 0, 25, 50
    row(
        "*/25 * * * *",
        "UTC",
        "2026-05-13 10:51",
        &[
            "2026-05-13T11:00:00+00:00",
            "2026-05-13T11:25:00+00:00",
            "2026-05-13T11:50:00+00:00",
            "2026-05-13T12:00:00+00:00",
        ],
    ),
    row(
        "5-20/5 10 * * *",
        "UTC",
        "2026-05-13 00:00",
        &[
            "2026-05-13T10:05:00+00:00",
            "2026-05-13T10:10:00+00:00",
            "2026-05-13T10:15:00+00:00",
            "2026-05-13T10:20:00+00:00",
            "2026-05-14T10:05:00+00:00",
        ],
    ),
    row(
        "0 0-23/6 * * *",
        "UTC",
        "2026-05-13 00:00",
        &[
            "2026-05-13T06:00:00+00:00",
            "2026-05-13T12:00:00+00:00",
            "2026-05-13T18:00:00+00:00",
            "2026-05-14T00:00:00+00:00",
        ],
    ),
    row(
        "0 */5 * * *",
        "UTC",
        "2026-05-13 21:00",
        &[
            "2026-05-14T00:00:00+00:00",
            "2026-05-14T05:00:00+00:00",
            "2026-05-14T10:00:00+00:00",
        ],
    ),
    // days 1, 11, 21, 31: April has no 31st
    row(
        "0 12 */10 * *",
        "UTC",
        "2026-04-21 12:00",
        &[
            "2026-05-01T12:00:00+00:00",
            "2026-05-11T12:00:00+00:00",
            "2026-05-21T12:00:00+00:00",
            "2026-05-31T12:00:00+00:00",
            "2026-06-01T12:00:00+00:00",
        ],
    ),
    row(
        "0 8,12,18 * * *",
        "UTC",
        "2026-05-13 12:00",
        &[
            "2026-05-13T18:00:00+00:00",
            "2026-05-14T08:00:00+00:00",
            "2026-05-14T12:00:00+00:00",
        ],
    ),
    row(
        "0 9 1,15 jan,JUL *",
        "UTC",
        "2026-01-10 00:00",
        &[
            "2026-01-15T09:00:00+00:00",
            "2026-07-01T09:00:00+00:00",
            "2026-07-15T09:00:00+00:00",
            "2027-01-01T09:00:00+00:00",
        ],
    ),
    row(
        "0 0 1 jan-mar,dec *",
        "UTC",
        "2026-01-01 00:00",
        &[
            "2026-02-01T00:00:00+00:00",
            "2026-03-01T00:00:00+00:00",
            "2026-12-01T00:00:00+00:00",
            "2027-01-01T00:00:00+00:00",
        ],
    ),
    // --- month ends and leap years
    row(
        "0 0 31 * *",
        "UTC",
        "2026-01-31 00:00",
        &[
            "2026-03-31T00:00:00+00:00",
            "2026-05-31T00:00:00+00:00",
            "2026-07-31T00:00:00+00:00",
            "2026-08-31T00:00:00+00:00",
            "2026-10-31T00:00:00+00:00",
            "2026-12-31T00:00:00+00:00",
        ],
    ),
    row(
        "0 0 29 2 *",
        "UTC",
        "2025-01-01 00:00",
        &["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"],
    ),
    // Feb 29th or any Monday, in February only
    row(
        "0 0 29 2 1",
        "UTC",
        "2027-02-22 00:00",
        &[
            "2028-02-07T00:00:00+00:00",
            "2028-02-14T00:00:00+00:00",
            "2028-02-21T00:00:00+00:00",
            "2028-02-28T00:00:00+00:00",
            "2028-02-29T00:00:00+00:00",
        ],
    ),
    // --- nicknames
    row(
        "@yearly",
        "UTC",
        "2026-05-13 00:00",
        &["2027-01-01T00:00:00+00:00", "2028-01-01T00:00:00+00:00"],
    ),
    row(
        "@annually",
        "UTC",
        "2026-05-13 00:00",
        &["2027-01-01T00:00:00+00:00"],
    ),
    row(
        "@monthly",
        "UTC",
        "2026-05-13 00:00",
        &["2026-06-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00"],
    ),
    row(
        "@weekly",
        "UTC",
        "2026-05-13 00:00",
        &["2026-05-17T00:00:00+00:00", "2026-05-24T00:00:00+00:00"],
    ),
    row(
        "@daily",
        "UTC",
        "2026-05-13 00:00",
        &["2026-05-14T00:00:00+00:00", "2026-05-15T00:00:00+00:00"],
    ),
    row(
        "@midnight",
        "UTC",
        "2026-05-13 00:00",
        &["2026-05-14T00:00:00+00:00"],
    ),
    row(
        "@hourly",
        "UTC",
        "2026-05-13 10:30",
        &["2026-05-13T11:00:00+00:00", "2026-05-13T12:00:00+00:00"],
    ),
    // --- DST, spring forward: fixed-time jobs in the gap run once right after it
    row(
        "30 2 * * *",
        "Europe/Berlin",
        "2026-03-28 03:00",
        &["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
    ),
    row(
        "0 2 * * *",
        "Europe/Berlin",
        "2026-03-28 03:00",
        &["2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"],
    ),
    row(
        "0 3 * * *",
        "Europe/Berlin",
        "2026-03-28 04:00",
        &["2026-03-29T03:00:00+02:00", "2026-03-30T03:00:00+02:00"],
    ),
    // 02:00, 02:30 and 03:00 all come due at 03:00 CEST: one fire
    row(
        "0,30 1-3 29 3 *",
        "Europe/Berlin",
        "2026-03-29 00:00",
        &[
            "2026-03-29T01:00:00+01:00",
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T03:30:00+02:00",
        ],
    ),
    // wildcard jobs follow wall time: nothing in the gap
    row(
        "*/30 * 29 3 *",
        "Europe/Berlin",
        "2026-03-29 01:00",
        &[
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T03:30:00+02:00",
        ],
    ),
    row(
        "*/30 2 * * *",
        "Europe/Berlin",
        "2026-03-28 12:00",
        &["2026-03-30T02:00:00+02:00", "2026-03-30T02:30:00+02:00"],
    ),
    row(
        "15 2 * * *",
        "America/New_York",
        "2026-03-07 12:00",
        &["2026-03-08T03:00:00-04:00", "2026-03-09T02:15:00-04:00"],
    ),
    // a gap at midnight: @daily is fixed-time
    row(
        "@daily",
        "America/Sao_Paulo",
        "2018-11-03 12:00",
        &["2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"],
    ),
    // --- DST, fall back: fixed-time once (first pass), wildcard in both passes
    row(
        "30 2 * * *",
        "Europe/Berlin",
        "2026-10-24 12:00",
        &["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
    ),
    row(
        "*/30 2 25 10 *",
        "Europe/Berlin",
        "2026-10-25 00:00",
        &[
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T02:30:00+01:00",
        ],
    ),
    row(
        "0 * 25 10 *",
        "Europe/Berlin",
        "2026-10-25 00:30",
        &[
            "2026-10-25T01:00:00+02:00",
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T03:00:00+01:00",
        ],
    ),
    row(
        "30 1 * * *",
        "America/New_York",
        "2026-10-31 12:00",
        &["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
    ),
    row(
        "*/30 1 1 11 *",
        "America/New_York",
        "2026-11-01 00:00",
        &[
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T01:30:00-04:00",
            "2026-11-01T01:00:00-05:00",
            "2026-11-01T01:30:00-05:00",
        ],
    ),
    // --- a jump of 3 hours or more is a clock correction: no catch-up fire
    row(
        "0 12 * * *",
        "Pacific/Apia",
        "2011-12-29 13:00",
        &["2011-12-31T12:00:00+14:00"],
    ),
];

fn jobdeck() -> Command {
    let mut cmd = Command::cargo_bin("jobdeck").unwrap();
    cmd.env_remove("TZ");
    cmd
}

fn next_times(expr: &str, zone: &str, from: &str, count: usize) -> Vec<String> {
    let output = jobdeck()
        .args(["schedule", "next", expr, "--tz", zone, "--from", from])
        .args(["--count", &count.to_string()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{expr} in {zone} from {from}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| line.rsplit("  ").next().unwrap().to_string())
        .collect()
}

#[test]
fn reference_table() {
    let mut failures = Vec::new();
    for row in TABLE {
        let got = next_times(row.expr, row.zone, row.from, row.expected.len());
        if got != row.expected {
            failures.push(format!(
                "'{}' in {} after {}:\n  expected {:?}\n  got      {:?}",
                row.expr, row.zone, row.from, row.expected, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn output_shows_wall_time_zone_weekday_and_rfc3339() {
    jobdeck()
        .args(["schedule", "next", "30 2 * * *", "--tz", "Europe/Berlin"])
        .args(["--from", "2026-03-28 03:00", "--count", "2"])
        .assert()
        .success()
        .stdout(
            "2026-03-29 03:00:00 CEST (Sun)  2026-03-29T03:00:00+02:00\n\
             2026-03-30 02:30:00 CEST (Mon)  2026-03-30T02:30:00+02:00\n",
        )
        .stderr("");
}

#[test]
fn count_defaults_to_five() {
    let out = jobdeck()
        .args([
            "schedule",
            "next",
            "@hourly",
            "--tz",
            "UTC",
            "--from",
            "2026-05-13T10:30",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 5);
    assert!(stdout.ends_with("2026-05-13 15:00:00 UTC (Wed)  2026-05-13T15:00:00+00:00\n"));
}

#[test]
fn from_accepts_seconds_and_rfc3339_with_offset() {
    // 01:59:30 CET is just before the jump; the 02:30 job comes due at 03:00 CEST.
    let times = next_times("30 2 * * *", "Europe/Berlin", "2026-03-29 01:59:30", 1);
    assert_eq!(times, ["2026-03-29T03:00:00+02:00"]);
    // An instant with an offset is converted into the zone.
    let times = next_times("0 * * * *", "Europe/Berlin", "2026-05-13T10:30:00Z", 1);
    assert_eq!(times, ["2026-05-13T13:00:00+02:00"]);
}

#[test]
fn default_zone_is_the_local_zone() {
    let mut cmd = Command::cargo_bin("jobdeck").unwrap();
    cmd.env("TZ", "Asia/Tokyo")
        .args([
            "schedule",
            "next",
            "@daily",
            "--from",
            "2026-05-13 10:00",
            "--count",
            "1",
        ])
        .assert()
        .success()
        .stdout("2026-05-14 00:00:00 JST (Thu)  2026-05-14T00:00:00+09:00\n");
}

fn fails_with(args: &[&str], message: &str) {
    jobdeck()
        .args(["schedule", "next"])
        .args(args)
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::starts_with("jobdeck: error: ").and(predicate::str::contains(message)),
        );
}

#[test]
fn bad_input_is_a_usage_error() {
    fails_with(
        &["61 * * * *", "--tz", "UTC"],
        "bad minute field '61' in cron expression '61 * * * *': '61' is out of range: expected a number 0-59",
    );
    fails_with(&["0 0 * * 8", "--tz", "UTC"], "bad day-of-week field '8'");
    fails_with(&["0 0 * * sat-sun", "--tz", "UTC"], "runs backwards");
    fails_with(
        &["5/10 * * * *", "--tz", "UTC"],
        "a step needs a range or '*' before it",
    );
    fails_with(&["0 0 * *", "--tz", "UTC"], "has 4 field(s): expected 5");
    fails_with(&["@reboot", "--tz", "UTC"], "jobdeck has no reboot trigger");
    fails_with(&["@often", "--tz", "UTC"], "unknown cron nickname '@often'");
    fails_with(
        &["@daily", "--tz", "Mars/Olympus"],
        "unknown time zone 'Mars/Olympus'",
    );
    fails_with(
        &["@daily", "--tz", "UTC", "--from", "soon"],
        "bad time 'soon'",
    );
    fails_with(
        &[
            "@daily",
            "--tz",
            "Europe/Berlin",
            "--from",
            "2026-03-29 02:30",
        ],
        "2026-03-29 02:30:00 does not exist in Europe/Berlin",
    );
    fails_with(
        &["@daily", "--tz", "UTC", "--from", "1969-12-31 00:00"],
        "1970-2099",
    );
}

#[test]
fn never_firing_expressions_are_reported_not_looped_on() {
    fails_with(
        &["0 0 31 2 *", "--tz", "UTC", "--from", "2026-01-01 00:00"],
        "'0 0 31 2 *' has no fire time within 8 years",
    );
    fails_with(
        &["0 0 30 2 *", "--tz", "UTC", "--from", "2026-01-01 00:00"],
        "no fire time",
    );
}

#[test]
fn fewer_times_than_asked_is_noted_on_stderr() {
    jobdeck()
        .args([
            "schedule",
            "next",
            "0 0 29 2 *",
            "--tz",
            "UTC",
            "--from",
            "2096-01-01 00:00",
        ])
        .args(["--count", "3"])
        .assert()
        .success()
        .stdout("2096-02-29 00:00:00 UTC (Wed)  2096-02-29T00:00:00+00:00\n")
        .stderr(predicate::str::contains(
            "no further fire time within 8 years",
        ));
}

#[test]
fn count_zero_is_rejected_by_clap() {
    jobdeck()
        .args(["schedule", "next", "@daily", "--count", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--count"));
}
