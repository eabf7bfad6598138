//! Journal housekeeping through the library on real journal files: which
//! runs a prune deletes and keeps, that everything hanging off a deleted
//! run goes with it, space given back (and the one-off conversion of an old
//! journal), stats, an online backup while a writer keeps writing, and the
//! check on journals damaged on purpose.

#[path = "support/fill.rs"]
mod fill;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fill::{DAY_MS, Filler, Run, rows_of, write_runs};
use jobdeck::engine::events::{InstanceStatus, now_millis};
use jobdeck::journal::Journal;
use jobdeck::journal::Trigger;
use jobdeck::journal::check::check;
use jobdeck::journal::prune::{PruneOptions, PrunePolicy, Rule, SpaceOutcome};
use jobdeck::schedule::ScheduleStore;
use jobdeck::schedule::store::{NewSchedule, When};

use InstanceStatus::{Aborted, Failed, Interrupted, Ok as Done, Paused, Running, Waiting};

fn journal_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("journal.db")
}

fn days(n: u64) -> Option<Duration> {
    Some(Duration::from_secs(n * 86_400))
}

fn quick() -> PruneOptions {
    PruneOptions {
        pause: Duration::ZERO,
        ..PruneOptions::default()
    }
}

/// The first column of every row `sql` returns.
fn column<T: rusqlite::types::FromSql, C: FromIterator<T>>(journal: &Journal, sql: &str) -> C {
    let mut stmt = journal.connection().prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn ids(journal: &Journal) -> BTreeSet<i64> {
    column(journal, "SELECT id FROM instances")
}

fn add_schedule(path: &Path, name: &str) -> i64 {
    let mut store = ScheduleStore::open(path).unwrap();
    store
        .add(
            &NewSchedule {
                name: name.into(),
                flow_path: "/srv/flows/nightly.yml".into(),
                flow_name: "nightly".into(),
                run: Default::default(),
                when: When::Cron(jobdeck::schedule::CronExpr::parse("0 3 * * *").unwrap()),
                zone: chrono_tz::Tz::UTC,
                until: None,
                overlap: Default::default(),
                catch_up: Default::default(),
            },
            chrono::Utc::now(),
        )
        .unwrap()
        .id
}

fn foreign_key_problems(journal: &Journal) -> i64 {
    journal
        .connection()
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap()
}

#[test]
fn prune_deletes_old_finished_runs_with_everything_they_own_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_in(&dir);
    let nightly = add_schedule(&path, "nightly");
    let ids_written = write_runs(
        &path,
        &[
            Run::new("deploy", Done, 200),        // 1 goes
            Run::new("deploy", Failed, 150),      // 2 goes
            Run::new("deploy", Aborted, 120),     // 3 goes
            Run::new("deploy", Interrupted, 200), // 4 kept: interrupted
            Run::new("deploy", Running, 200),     // 5 kept: live
            Run::new("deploy", Waiting, 200),     // 6 kept: live
            Run::new("deploy", Paused, 200),      // 7 kept: live
            Run::new("nightly", Done, 300).trigger(Trigger::Schedule(nightly)), // 8 goes
            Run::new("nightly", Failed, 200).trigger(Trigger::Schedule(nightly)), // 9 kept: the schedule's last
            Run::new("gone", Done, 300).trigger(Trigger::Schedule(999)), // 10 goes: no such schedule
            Run::new("deploy", Done, 10),                                // 11 kept: recent
        ],
    );
    assert_eq!(ids_written, (1..=11).collect::<Vec<_>>());
    let mut journal = Journal::open(&path).unwrap();
    let policy = PrunePolicy::everything(Rule {
        older_than: days(90),
        keep_last: 0,
    });
    let report = journal.prune(&policy, &quick(), now_millis()).unwrap();

    let gone = [1, 2, 3, 8, 10];
    assert_eq!(report.runs, 5, "{report:?}");
    assert_eq!(report.hosts, 10);
    assert_eq!(report.output_chunks, 30);
    assert_eq!(
        report
            .by_flow
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        [("deploy", 3), ("gone", 1), ("nightly", 1)]
    );
    assert_eq!(ids(&journal), BTreeSet::from([4, 5, 6, 7, 9, 11]));
    for (table, rows) in rows_of(&journal, &gone) {
        assert_eq!(rows, 0, "{table} still has rows of deleted runs");
    }
    // What was kept is whole.
    for (table, rows) in rows_of(&journal, &[4, 9, 11]) {
        if !matches!(table, "truncations") {
            assert!(rows > 0, "{table} lost rows of kept runs");
        }
    }
    assert_eq!(foreign_key_problems(&journal), 0);
    assert_eq!(journal.integrity_check().unwrap(), "ok");
    assert!(report.longest_lock > Duration::ZERO && report.transactions > 0);
}

#[test]
fn keep_last_counts_per_flow_and_a_flow_rule_touches_only_its_flow() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_in(&dir);
    let mut runs = Vec::new();
    for age in (100..110).rev() {
        runs.push(Run::new("deploy", Done, age)); // ids 1, 3, 5, ... (oldest first)
        runs.push(Run::new("health", Done, age)); // ids 2, 4, 6, ...
    }
    write_runs(&path, &runs);
    let mut journal = Journal::open(&path).unwrap();
    let keep3 = Rule {
        older_than: days(90),
        keep_last: 3,
    };
    let report = journal
        .prune(&PrunePolicy::flow("health", keep3), &quick(), now_millis())
        .unwrap();
    assert_eq!(report.runs, 7);
    let left = ids(&journal);
    let deploy: Vec<i64> = left.iter().copied().filter(|id| id % 2 == 1).collect();
    let health: Vec<i64> = left.iter().copied().filter(|id| id % 2 == 0).collect();
    assert_eq!(deploy.len(), 10, "another flow's runs are not touched");
    assert_eq!(health, [16, 18, 20], "the newest 3 health runs stay");

    let report = journal
        .prune(&PrunePolicy::everything(keep3), &quick(), now_millis())
        .unwrap();
    assert_eq!(report.runs, 7);
    assert_eq!(ids(&journal), BTreeSet::from([15, 16, 17, 18, 19, 20]));
}

#[test]
fn a_dry_run_counts_what_a_prune_then_deletes_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_in(&dir);
    write_runs(
        &path,
        &[
            Run::new("deploy", Done, 100).output(4, 5, 100),
            Run::new("deploy", Done, 5),
        ],
    );
    let mut journal = Journal::open(&path).unwrap();
    let policy = PrunePolicy::everything(Rule {
        older_than: days(30),
        keep_last: 0,
    });
    let dry = PruneOptions {
        dry_run: true,
        ..quick()
    };
    let before = std::fs::metadata(&path).unwrap().len();
    let would = journal.prune(&policy, &dry, now_millis()).unwrap();
    assert_eq!((would.runs, would.hosts, would.output_chunks), (1, 4, 20));
    assert_eq!(would.output_bytes, Some(2000));
    assert_eq!(would.transactions, 0);
    assert_eq!(ids(&journal).len(), 2);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), before);
    let done = journal.prune(&policy, &quick(), now_millis()).unwrap();
    assert_eq!((done.runs, done.hosts, done.output_chunks), (1, 4, 20));
    assert_eq!(done.output_bytes, None);
}

#[test]
fn a_pruned_journal_is_smaller_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_in(&dir);
    let mut runs: Vec<Run> = (0..40)
        .map(|_| Run::new("deploy", Done, 200).output(10, 20, 500))
        .collect();
    runs.push(Run::new("deploy", Done, 1).output(10, 20, 500));
    write_runs(&path, &runs);
    let mut journal = Journal::open(&path).unwrap();
    journal
        .connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let on_disk = || std::fs::metadata(&path).unwrap().len();
    let before = on_disk();
    assert!(before > 4_000_000, "the fixture is big enough: {before}");
    let policy = PrunePolicy::everything(Rule {
        older_than: days(90),
        keep_last: 0,
    });
    let report = journal.prune(&policy, &quick(), now_millis()).unwrap();
    assert_eq!(report.runs, 40);
    let SpaceOutcome::Returned { pages } = report.space else {
        panic!("{report:?}");
    };
    assert!(pages > 900, "{report:?}");
    // Batches of many pages (each row of `incremental_vacuum` frees one).
    assert!(report.transactions * 10 < pages, "{report:?}");
    let after = on_disk();
    assert!(after * 10 < before, "on disk: {before} -> {after}");
    assert!(report.bytes_after * 10 < report.bytes_before, "{report:?}");
    let free: i64 = journal
        .connection()
        .pragma_query_value(None, "freelist_count", |r| r.get(0))
        .unwrap();
    assert_eq!(free, 0);
    assert_eq!(journal.integrity_check().unwrap(), "ok");
}

/// A journal made before incremental auto-vacuum was the default: the
/// first prune that may convert it does so with one VACUUM, but not while
/// a run is live, and the automatic pass (no `convert`) never does.
#[test]
fn an_old_journal_is_converted_by_the_first_prune_while_no_run_is_live() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_in(&dir);
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.pragma_update(None, "journal_mode", "WAL").unwrap();
        old.execute_batch("CREATE TABLE t(x); DROP TABLE t;")
            .unwrap();
    }
    let mut runs: Vec<Run> = (0..20)
        .map(|_| Run::new("deploy", Done, 200).output(10, 20, 500))
        .collect();
    runs.push(Run::new("deploy", Running, 1));
    let written = write_runs(&path, &runs);
    let live = *written.last().unwrap();
    let mut journal = Journal::open(&path).unwrap();
    let mode = |j: &Journal| -> i64 {
        j.connection()
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
            .unwrap()
    };
    assert_eq!(mode(&journal), 0);
    let policy = PrunePolicy::everything(Rule {
        older_than: days(90),
        keep_last: 0,
    });
    let automatic = journal.prune(&policy, &quick(), now_millis()).unwrap();
    assert_eq!(automatic.runs, 20);
    assert!(
        matches!(&automatic.space, SpaceOutcome::Kept { pages, why } if *pages > 0 && why.contains("jobdeck journal prune")),
        "{automatic:?}"
    );
    let convert = PruneOptions {
        convert: true,
        ..quick()
    };
    let busy = journal.prune(&policy, &convert, now_millis()).unwrap();
    assert!(
        matches!(&busy.space, SpaceOutcome::Kept { why, .. } if why.contains("1 run(s) are live")),
        "{busy:?}"
    );
    assert_eq!(mode(&journal), 0);
    journal
        .connection()
        .execute("UPDATE instances SET status = 'ok' WHERE id = ?1", [live])
        .unwrap();
    let size_before = std::fs::metadata(&path).unwrap().len();
    let converted = journal.prune(&policy, &convert, now_millis()).unwrap();
    assert!(
        matches!(converted.space, SpaceOutcome::Converted { .. }),
        "{converted:?}"
    );
    assert_eq!(mode(&journal), 2);
    assert!(std::fs::metadata(&path).unwrap().len() * 4 < size_before);
    assert_eq!(journal.integrity_check().unwrap(), "ok");
}

#[test]
fn a_prune_stops_between_batches_when_cancelled_and_the_next_one_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_in(&dir);
    write_runs(
        &path,
        &(0..5)
            .map(|_| Run::new("deploy", Done, 200).output(4, 50, 100))
            .collect::<Vec<_>>(),
    );
    let mut journal = Journal::open(&path).unwrap();
    let policy = PrunePolicy::everything(Rule {
        older_than: days(90),
        keep_last: 0,
    });
    let cancel = Arc::new(AtomicBool::new(true));
    let stopped = journal
        .prune(
            &policy,
            &PruneOptions {
                cancel: Some(cancel.clone()),
                ..quick()
            },
            now_millis(),
        )
        .unwrap();
    assert!(stopped.stopped_early);
    assert_eq!(stopped.runs, 0);
    cancel.store(false, Ordering::Relaxed);
    let rest = journal.prune(&policy, &quick(), now_millis()).unwrap();
    assert_eq!(rest.runs, 5);
    assert_eq!(foreign_key_problems(&journal), 0);
}

#[test]
fn stats_count_runs_by_status_and_output_by_flow_month_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_in(&dir);
    write_runs(
        &path,
        &[
            Run::new("deploy", Done, 40).output(3, 10, 100),
            Run::new("deploy", Failed, 1).output(2, 5, 100),
            Run::new("health", Done, 1).output(1, 1, 10),
        ],
    );
    let journal = Journal::open(&path).unwrap();
    let stats = journal.stats().unwrap();
    assert_eq!(stats.runs, 3);
    assert_eq!(stats.by_status.get("ok"), Some(&2));
    assert_eq!(stats.by_status.get("failed"), Some(&1));
    assert_eq!(stats.output_bytes, 3000 + 1000 + 10);
    assert_eq!(stats.output_chunks, 30 + 10 + 1);
    assert_eq!(stats.by_flow[0].name, "deploy");
    assert_eq!(stats.by_flow[0].output_bytes, 4000);
    assert_eq!(stats.by_flow[0].runs, 2);
    assert_eq!(stats.by_month.iter().map(|m| m.runs).sum::<u64>(), 3);
    assert!(
        stats.by_month.len() >= 2,
        "40 days apart: {:?}",
        stats.by_month
    );
    assert_eq!(stats.largest_runs[0].id, 1);
    assert_eq!(stats.largest_runs[0].hosts, 3);
    assert_eq!(stats.largest_runs[0].output_bytes, 3000);
    assert_eq!(stats.file.auto_vacuum, "incremental");
    assert!(stats.file.file_bytes > 0);
    assert_eq!(
        stats.file.page_count * stats.file.page_size,
        stats.file.logical_bytes()
    );
    assert!(stats.oldest_run.unwrap() < now_millis() - 39 * DAY_MS);
}

/// A backup while a writer commits a transaction every few milliseconds:
/// the copy is a sound, single-file journal that holds the run as it was.
#[test]
fn a_backup_during_writes_is_a_consistent_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_in(&dir);
    write_runs(
        &path,
        &(0..30)
            .map(|_| Run::new("deploy", Done, 3).output(5, 20, 200))
            .collect::<Vec<_>>(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut filler = Filler::open(&path);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                filler.write(&Run::new("live", Done, 0).output(2, 2, 50));
                n += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            filler.finish();
            n
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let journal = Journal::open(&path).unwrap();
    let copy = dir.path().join("copy.db");
    let report = journal.backup_to(&copy).unwrap();
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0);
    assert_eq!(report.bytes, std::fs::metadata(&copy).unwrap().len());
    let mut wal = copy.as_os_str().to_owned();
    wal.push("-wal");
    assert!(!Path::new(&wal).exists(), "the copy is one file");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let copied = rusqlite::Connection::open(&copy).unwrap();
    let ok: String = copied
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let runs: i64 = copied
        .query_row("SELECT count(*) FROM instances", [], |r| r.get(0))
        .unwrap();
    assert!(runs >= 30);
    // Every run in the copy is whole: as many output rows as it wrote.
    let torn: i64 = copied
        .query_row(
            "SELECT count(*) FROM instances i WHERE i.status = 'ok' AND
                 (SELECT count(*) FROM output o WHERE o.instance_id = i.id) NOT IN (4, 100)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(torn, 0);
    // No clobbering, and not onto the journal itself.
    let again = journal.backup_to(&copy).unwrap_err().to_string();
    assert!(again.contains("already exists"), "{again}");
    let onto = journal.backup_to(&path).unwrap_err().to_string();
    assert!(onto.contains("is the journal itself"), "{onto}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty());
}

/// A copy of a closed journal (no connection of this process holds it).
fn closed_copy(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    let path = journal_in(dir);
    let copy = dir.path().join(name);
    std::fs::copy(&path, &copy).unwrap();
    copy
}

#[test]
fn check_reports_a_damaged_page_and_broken_references() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_in(&dir);
    write_runs(
        &path,
        &(0..20)
            .map(|_| Run::new("deploy", Done, 3).output(5, 20, 200))
            .collect::<Vec<_>>(),
    );
    let (root, page_size): (i64, i64) = {
        let journal = Journal::open(&path).unwrap();
        let sound = check(&path, false).unwrap();
        assert!(sound.is_ok(), "{sound:?}");
        let conn = journal.connection();
        let root = conn
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'output_by_host'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let size = conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .unwrap();
        (root, size)
    }; // closed: the log is folded into the file

    // Garbage over an index page.
    let damaged = closed_copy(&dir, "damaged.db");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&damaged)
            .unwrap();
        file.seek(SeekFrom::Start(((root - 1) * page_size) as u64))
            .unwrap();
        file.write_all(&vec![0xA5; page_size as usize]).unwrap();
    }
    let report = check(&damaged, false).unwrap();
    assert!(!report.is_ok());
    assert!(!report.integrity.is_empty(), "{report:?}");

    // An output row whose host does not exist.
    let orphan = closed_copy(&dir, "orphan.db");
    {
        let conn = rusqlite::Connection::open(&orphan).unwrap();
        conn.pragma_update(None, "foreign_keys", false).unwrap();
        conn.execute(
            "INSERT INTO output (instance_id, host_idx, step_idx, attempt, stream, at, data)
             VALUES (1, 77, 0, 1, 'stdout', 0, x'00')",
            [],
        )
        .unwrap();
    }
    let report = check(&orphan, true).unwrap();
    assert!(report.integrity.is_empty(), "{report:?}");
    assert_eq!(report.foreign_keys.len(), 1, "{report:?}");
    let broken = &report.foreign_keys[0];
    assert_eq!(
        (broken.table.as_str(), broken.parent.as_str(), broken.rows),
        ("output", "hosts", 1)
    );
    assert_eq!(broken.sample_rowids.len(), 1);

    // Not a database at all.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5A; 8192]).unwrap();
    let report = check(&garbage, false).unwrap();
    assert!(
        report.integrity[0].starts_with("cannot read the file"),
        "{report:?}"
    );
}

/// A shell session's audit row, started `age` days ago; ended unless `open`.
fn add_session(journal: &Journal, host: &str, age: i64, open: bool) {
    use jobdeck::journal::shell_sessions::{SessionEnd, SessionStart};
    let id = journal
        .start_shell_session(&SessionStart {
            os_user: "ops".into(),
            host: host.into(),
            remote_user: "root".into(),
            address: "127.0.0.1".into(),
            port: 22,
            command: None,
        })
        .unwrap();
    if !open {
        journal
            .end_shell_session(id, &SessionEnd::default())
            .unwrap();
    }
    let at = now_millis() - age * DAY_MS;
    journal
        .connection()
        .execute(
            "UPDATE shell_sessions SET started_at = ?2,
                 ended_at = CASE WHEN ended_at IS NULL THEN NULL ELSE ?2 + 60000 END
             WHERE id = ?1",
            (id, at),
        )
        .unwrap();
}

fn sessions(journal: &Journal) -> Vec<String> {
    column(journal, "SELECT host FROM shell_sessions ORDER BY id")
}

#[test]
fn shell_session_rows_go_by_age_only_under_the_rule_for_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_in(&dir);
    write_runs(&path, &[Run::new("deploy", Done, 100)]);
    let mut journal = Journal::open(&path).unwrap();
    add_session(&journal, "old", 100, false);
    add_session(&journal, "old-never-ended", 100, true);
    add_session(&journal, "recent", 5, false);
    let old = Rule {
        older_than: days(30),
        keep_last: 0,
    };
    // A flow's rule, or keep-last alone, leaves the audit trail alone.
    let report = journal
        .prune(&PrunePolicy::flow("deploy", old), &quick(), now_millis())
        .unwrap();
    assert_eq!((report.runs, report.shell_sessions), (1, 0));
    let any_age = Rule {
        older_than: None,
        keep_last: 0,
    };
    journal
        .prune(&PrunePolicy::everything(any_age), &quick(), now_millis())
        .unwrap();
    assert_eq!(sessions(&journal), ["old", "old-never-ended", "recent"]);
    // --older-than for every run covers the sessions that ended before it.
    let dry = PruneOptions {
        dry_run: true,
        ..quick()
    };
    let everything = PrunePolicy::everything(old);
    let would = journal.prune(&everything, &dry, now_millis()).unwrap();
    assert_eq!(would.shell_sessions, 2);
    assert_eq!(sessions(&journal).len(), 3);
    let done = journal.prune(&everything, &quick(), now_millis()).unwrap();
    assert_eq!(done.shell_sessions, 2);
    assert_eq!(sessions(&journal), ["recent"]);
}
