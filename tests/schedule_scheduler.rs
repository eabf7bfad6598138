//! The scheduler in-process, on a real journal file, with a manual clock
//! and a launcher that records what it would start: crontab firing,
//! catch-up after downtime, overlap, pause/resume/rm, one-shots, end
//! dates, DST, and resuming rollouts interrupted while waiting.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use jobdeck::journal::{Journal, NewInstance, Trigger};
use jobdeck::schedule::lease::LeaseTimes;
use jobdeck::schedule::scheduler::{
    DEFAULT_GRACE, LaunchKind, LaunchRequest, Launched, Launcher, Level, SchedulerOptions,
};
use jobdeck::schedule::store::{NewSchedule, RunOptions, When};
use jobdeck::schedule::{CatchUp, CronExpr, ManualClock, Overlap, ScheduleStore, Scheduler};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<LaunchRequest>>>);

impl Recorder {
    fn take(&self) -> Vec<LaunchRequest> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// The due times of the fires launched since the last call.
    fn fired(&self) -> Vec<DateTime<Utc>> {
        self.take()
            .into_iter()
            .map(|r| match r.kind {
                LaunchKind::Fire { due, .. } => due,
                other => panic!("expected a fire, got {other:?}"),
            })
            .collect()
    }
}

impl Launcher for Recorder {
    fn launch(&mut self, request: &LaunchRequest) -> std::io::Result<Launched> {
        let mut all = self.0.lock().unwrap();
        all.push(request.clone());
        Ok(Launched {
            pid: 4_000_000 + all.len() as u32,
            child: None,
        })
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    journal: PathBuf,
    clock: Arc<ManualClock>,
    launched: Recorder,
    scheduler: Scheduler,
}

impl Fixture {
    fn new(start: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("journal.db");
        let clock = Arc::new(ManualClock::new(utc(start)));
        let launched = Recorder::default();
        let options = SchedulerOptions {
            launcher: Box::new(launched.clone()),
            lease: LeaseTimes::default(),
            tick: Duration::from_millis(10),
            grace: DEFAULT_GRACE,
            kind: "test".into(),
            log_dir: Some(dir.path().join("logs")),
            retention_config: None,
        };
        let scheduler = Scheduler::new(&journal, clock.clone(), options).unwrap();
        Fixture {
            _dir: dir,
            journal,
            clock,
            launched,
            scheduler,
        }
    }

    fn store(&self) -> ScheduleStore {
        ScheduleStore::open(&self.journal).unwrap()
    }

    fn add(&self, name: &str, when: When, overlap: Overlap, catch_up: CatchUp) -> i64 {
        self.add_full(name, when, Tz::UTC, None, overlap, catch_up)
    }

    fn add_full(
        &self,
        name: &str,
        when: When,
        zone: Tz,
        until: Option<DateTime<Utc>>,
        overlap: Overlap,
        catch_up: CatchUp,
    ) -> i64 {
        let new = NewSchedule {
            name: name.into(),
            flow_path: "/srv/flows/nightly.yml".into(),
            flow_name: "nightly".into(),
            run: RunOptions {
                inventory: vec!["/srv/inventory".into()],
                limit: Some("web".into()),
                ..Default::default()
            },
            when,
            zone,
            until,
            overlap,
            catch_up,
        };
        self.store().add(&new, self.clock_now()).unwrap().id
    }

    fn clock_now(&self) -> DateTime<Utc> {
        use jobdeck::schedule::Clock;
        self.clock.now()
    }

    fn at(&mut self, now: &str) -> Vec<jobdeck::schedule::scheduler::SchedulerEvent> {
        self.clock.set(utc(now));
        self.scheduler.tick()
    }

    fn next_fire(&self, id: i64) -> Option<DateTime<Utc>> {
        self.store().get(id).unwrap().next_fire_at
    }

    /// A running instance of the schedule, owned by this (live) process.
    fn running_instance(&self, schedule: i64) -> i64 {
        let mut journal = Journal::open(&self.journal).unwrap();
        journal
            .create_instance(&NewInstance {
                flow: "nightly".into(),
                flow_snapshot: "name: nightly".into(),
                hosts: vec!["web1".into()],
                trigger: Trigger::Schedule(schedule),
                ..Default::default()
            })
            .unwrap()
    }

    fn finish(&self, instance: i64) {
        Journal::open(&self.journal)
            .unwrap()
            .connection()
            .execute(
                "UPDATE instances SET status = 'ok' WHERE id = ?1",
                [instance],
            )
            .unwrap();
    }

    fn outcomes(&self, schedule: i64) -> Vec<String> {
        let mut fires = self.store().fires(schedule, 100).unwrap();
        fires.reverse();
        fires
            .into_iter()
            .map(|f| match f.detail {
                Some(d) => format!("{}: {d}", f.outcome),
                None => f.outcome,
            })
            .collect()
    }
}

fn cron(expr: &str) -> When {
    When::Cron(CronExpr::parse(expr).unwrap())
}

#[test]
fn a_cron_schedule_fires_at_its_times_and_only_once_each() {
    let mut f = Fixture::new("2026-05-04T10:07:00Z");
    let id = f.add(
        "quarterly",
        cron("*/15 * * * *"),
        Overlap::Allow,
        CatchUp::Once,
    );
    assert_eq!(f.next_fire(id), Some(utc("2026-05-04T10:15:00Z")));

    f.at("2026-05-04T10:14:59Z");
    assert!(f.launched.take().is_empty(), "nothing before the fire time");

    let events = f.at("2026-05-04T10:15:00Z");
    let launched = f.launched.take();
    assert_eq!(launched.len(), 1, "{events:?}");
    let request = &launched[0];
    assert_eq!(
        request.kind,
        LaunchKind::Fire {
            schedule: id,
            due: utc("2026-05-04T10:15:00Z")
        }
    );
    let journal = f.journal.display().to_string();
    assert_eq!(
        request.args[..6],
        [
            "--run",
            "/srv/flows/nightly.yml",
            "--journal",
            journal.as_str(),
            "--trigger",
            &format!("schedule:{id}")
        ]
    );
    assert!(request.args.windows(2).any(|w| w == ["--limit", "web"]));
    assert!(
        request
            .args
            .windows(2)
            .any(|w| w == ["-i", "/srv/inventory"])
    );
    assert!(
        events
            .iter()
            .any(|e| e.message.contains("fired for 2026-05-04T10:15:00"))
    );
    assert_eq!(f.next_fire(id), Some(utc("2026-05-04T10:30:00Z")));

    f.at("2026-05-04T10:15:01Z");
    f.at("2026-05-04T10:29:00Z");
    assert!(f.launched.take().is_empty(), "a fire time runs once");
    f.at("2026-05-04T10:30:10Z");
    assert_eq!(f.launched.fired(), [utc("2026-05-04T10:30:00Z")]);
    let store = f.store();
    let s = store.get(id).unwrap();
    assert_eq!(s.last_fire_at, Some(utc("2026-05-04T10:30:10Z")));
    assert!(s.last_log.unwrap().contains(&format!("schedule-{id}-")));
}

#[test]
fn catch_up_once_runs_one_fire_for_a_whole_downtime() {
    let mut f = Fixture::new("2026-05-04T09:30:00Z");
    let id = f.add("hourly", cron("0 * * * *"), Overlap::Skip, CatchUp::Once);
    // Nothing ran from 09:30 to 14:30: 10, 11, 12, 13 and 14 o'clock were missed.
    let events = f.at("2026-05-04T14:30:00Z");
    assert_eq!(f.launched.fired(), [utc("2026-05-04T14:00:00Z")]);
    assert_eq!(f.next_fire(id), Some(utc("2026-05-04T15:00:00Z")));
    assert_eq!(
        f.outcomes(id),
        [
            "skipped: missed 4 fire times (2026-05-04T10:00:00+00:00 to 2026-05-04T13:00:00+00:00) while no scheduler ran (catch-up once)",
            "started: (missed at 2026-05-04T14:00:00+00:00, catch-up once)",
        ]
    );
    assert!(
        events
            .iter()
            .any(|e| e.level == Level::Warn && e.message.contains("missed 4 fire times"))
    );
}

#[test]
fn catch_up_all_runs_every_missed_fire_and_none_runs_none() {
    let mut f = Fixture::new("2026-05-04T09:30:00Z");
    let all = f.add("all", cron("0 * * * *"), Overlap::Allow, CatchUp::All);
    let none = f.add("none", cron("0 * * * *"), Overlap::Allow, CatchUp::None);
    f.at("2026-05-04T14:30:00Z");
    let launched = f.launched.take();
    let of = |id: i64| -> Vec<DateTime<Utc>> {
        launched
            .iter()
            .filter_map(|r| match r.kind {
                LaunchKind::Fire { schedule, due } if schedule == id => Some(due),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        of(all),
        ["10", "11", "12", "13", "14"].map(|h| utc(&format!("2026-05-04T{h}:00:00Z")))
    );
    assert!(of(none).is_empty());
    assert_eq!(f.outcomes(none).len(), 1, "one line for the skipped fires");
    assert!(f.outcomes(none)[0].starts_with("skipped: missed 5 fire times"));
    // Both carry on normally: the next on-time fire runs under `none` too.
    assert_eq!(f.next_fire(none), Some(utc("2026-05-04T15:00:00Z")));
    f.at("2026-05-04T15:00:20Z");
    assert_eq!(f.launched.fired().len(), 2);
}

#[test]
fn catch_up_all_is_capped_at_ten_and_logs_the_rest() {
    let mut f = Fixture::new("2026-05-04T09:59:30Z");
    let id = f.add("minutely", cron("* * * * *"), Overlap::Allow, CatchUp::All);
    f.at("2026-05-04T10:29:30Z"); // 30 fires due, 10:00 to 10:29
    let fired = f.launched.fired();
    assert_eq!(fired.len(), 10);
    assert_eq!(fired[0], utc("2026-05-04T10:20:00Z"));
    assert_eq!(fired[9], utc("2026-05-04T10:29:00Z"));
    assert!(f.outcomes(id)[0].starts_with(
        "skipped: missed 20 fire times (2026-05-04T10:00:00+00:00 to 2026-05-04T10:19:00+00:00)"
    ));
}

#[test]
fn overlap_skip_drops_a_fire_while_the_last_run_goes_on() {
    let mut f = Fixture::new("2026-05-04T09:59:00Z");
    let id = f.add("skip", cron("0 * * * *"), Overlap::Skip, CatchUp::Once);
    f.at("2026-05-04T10:00:00Z");
    assert_eq!(f.launched.fired().len(), 1);
    let run = f.running_instance(id);

    let events = f.at("2026-05-04T11:00:00Z");
    assert!(f.launched.take().is_empty());
    assert!(
        events
            .iter()
            .any(|e| e.message.contains("skipped: an instance is still running"))
    );
    assert_eq!(f.next_fire(id), Some(utc("2026-05-04T12:00:00Z")));

    f.finish(run);
    f.at("2026-05-04T12:00:00Z");
    assert_eq!(f.launched.fired(), [utc("2026-05-04T12:00:00Z")]);
    assert_eq!(
        f.outcomes(id),
        [
            "started",
            "skipped: an instance is still running (overlap skip)",
            "started"
        ]
    );
}

#[test]
fn overlap_queue_starts_waiting_fires_one_after_another() {
    let mut f = Fixture::new("2026-05-04T09:59:00Z");
    let id = f.add("queue", cron("0 * * * *"), Overlap::Queue, CatchUp::Once);
    let run = f.running_instance(id); // started by hand, say
    f.at("2026-05-04T10:00:00Z");
    f.at("2026-05-04T11:00:00Z");
    assert!(f.launched.take().is_empty());
    assert_eq!(f.store().get(id).unwrap().queued, 2);

    f.finish(run);
    f.at("2026-05-04T11:10:00Z");
    assert_eq!(f.launched.take().len(), 1, "one queued fire at a time");
    let second = f.running_instance(id); // the run it started
    f.at("2026-05-04T11:20:00Z");
    assert!(f.launched.take().is_empty(), "the next waits for that run");
    f.finish(second);
    f.at("2026-05-04T11:30:00Z");
    assert_eq!(f.launched.take().len(), 1);
    assert_eq!(f.store().get(id).unwrap().queued, 0);
    assert_eq!(
        f.outcomes(id),
        [
            "queued: 1 waiting",
            "queued: 2 waiting",
            "started: a queued fire",
            "started: a queued fire"
        ]
    );
}

#[test]
fn a_fire_whose_lock_another_run_holds_follows_the_overlap_policy() {
    use jobdeck::engine::Coordinator;
    let mut f = Fixture::new("2026-05-04T09:59:00Z");
    let locked = |name: &str, overlap| NewSchedule {
        name: name.into(),
        flow_path: "/srv/flows/nightly.yml".into(),
        flow_name: "nightly".into(),
        run: RunOptions {
            safety: jobdeck::safety::SafetyOptions {
                lock: Some("db-${cluster}".into()),
                ..Default::default()
            },
            params: vec![("cluster".into(), "main".into())],
            ..Default::default()
        },
        when: cron("0 * * * *"),
        zone: Tz::UTC,
        until: None,
        overlap,
        catch_up: CatchUp::Once,
    };
    let skip = f
        .store()
        .add(&locked("skip", Overlap::Skip), f.clock_now())
        .unwrap()
        .id;
    let queue = f
        .store()
        .add(&locked("queue", Overlap::Queue), f.clock_now())
        .unwrap()
        .id;
    // A run of this (live) process holds the lock the fires ask for.
    let coordinator = jobdeck::locks::JournalCoordinator::open(&f.journal).unwrap();
    assert_eq!(coordinator.try_lock("db-main", 99).unwrap(), None);
    f.at("2026-05-04T10:00:00Z");
    assert!(f.launched.take().is_empty());
    let skipped = &f.outcomes(skip)[0];
    assert!(
        skipped.starts_with("skipped: lock 'db-main' is held by run 99 (")
            && skipped.ends_with("(overlap skip)"),
        "{skipped}"
    );
    assert!(f.outcomes(queue)[0].starts_with("queued: 1 waiting"));

    coordinator.release_lock("db-main", 99);
    f.at("2026-05-04T10:10:00Z");
    let started = f.launched.take();
    assert_eq!(
        started.len(),
        1,
        "the queued fire starts once the lock is free"
    );
    assert_eq!(f.outcomes(queue)[1], "started: a queued fire");
}

#[test]
fn overlap_allow_starts_alongside() {
    let mut f = Fixture::new("2026-05-04T09:59:00Z");
    let id = f.add("allow", cron("0 * * * *"), Overlap::Allow, CatchUp::Once);
    f.running_instance(id);
    f.at("2026-05-04T10:00:00Z");
    assert_eq!(f.launched.fired().len(), 1);
}

#[test]
fn a_paused_schedule_does_not_fire_and_resumes_without_catching_up() {
    let mut f = Fixture::new("2026-05-04T09:59:00Z");
    let id = f.add("p", cron("0 * * * *"), Overlap::Skip, CatchUp::All);
    let mut store = f.store();
    assert!(
        store
            .set_paused(id, true, utc("2026-05-04T09:59:30Z"))
            .unwrap()
    );
    assert!(
        !store
            .set_paused(id, true, utc("2026-05-04T09:59:30Z"))
            .unwrap()
    );
    f.at("2026-05-04T10:00:00Z");
    f.at("2026-05-04T13:00:00Z");
    assert!(f.launched.take().is_empty());
    assert!(
        store
            .set_paused(id, false, utc("2026-05-04T13:30:00Z"))
            .unwrap()
    );
    assert_eq!(f.next_fire(id), Some(utc("2026-05-04T14:00:00Z")));
    f.at("2026-05-04T13:30:01Z");
    assert!(
        f.launched.take().is_empty(),
        "what fell due while paused is not caught up"
    );
    f.at("2026-05-04T14:00:00Z");
    assert_eq!(f.launched.fired().len(), 1);
}

#[test]
fn a_removed_schedule_never_fires_and_keeps_no_fire_log() {
    let mut f = Fixture::new("2026-05-04T09:59:00Z");
    let id = f.add("gone", cron("0 * * * *"), Overlap::Skip, CatchUp::Once);
    f.at("2026-05-04T10:00:00Z");
    assert_eq!(f.launched.take().len(), 1);
    f.store().remove(id).unwrap();
    f.at("2026-05-04T11:00:00Z");
    assert!(f.launched.take().is_empty());
    let rows: i64 = f
        .store()
        .connection()
        .query_row("SELECT count(*) FROM schedule_fires", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
    assert!(f.store().find("gone").is_err());
}

#[test]
fn a_one_shot_fires_once_and_is_done() {
    let mut f = Fixture::new("2026-05-04T09:00:00Z");
    let id = f.add(
        "once",
        When::At(utc("2026-05-04T10:00:00Z")),
        Overlap::Skip,
        CatchUp::Once,
    );
    f.at("2026-05-04T10:00:01Z");
    assert_eq!(f.launched.fired(), [utc("2026-05-04T10:00:00Z")]);
    assert_eq!(f.next_fire(id), None);
    f.at("2026-05-05T10:00:00Z");
    assert!(f.launched.take().is_empty());
}

#[test]
fn a_missed_one_shot_runs_late_unless_catch_up_is_none() {
    let mut f = Fixture::new("2026-05-04T09:00:00Z");
    let late = f.add(
        "late",
        When::At(utc("2026-05-04T10:00:00Z")),
        Overlap::Skip,
        CatchUp::Once,
    );
    let never = f.add(
        "never",
        When::At(utc("2026-05-04T10:00:00Z")),
        Overlap::Skip,
        CatchUp::None,
    );
    f.at("2026-05-04T18:00:00Z"); // down all day
    let launched = f.launched.take();
    assert_eq!(launched.len(), 1);
    assert!(matches!(launched[0].kind, LaunchKind::Fire { schedule, .. } if schedule == late));
    assert_eq!(f.next_fire(never), None);
    assert!(f.outcomes(never)[0].starts_with("skipped: missed 1 fire time"));
}

#[test]
fn the_end_date_ends_the_schedule() {
    let mut f = Fixture::new("2026-05-04T09:30:00Z");
    let id = f.add_full(
        "until",
        cron("0 * * * *"),
        Tz::UTC,
        Some(utc("2026-05-04T11:30:00Z")),
        Overlap::Allow,
        CatchUp::Once,
    );
    f.at("2026-05-04T10:00:00Z");
    f.at("2026-05-04T11:00:00Z");
    assert_eq!(f.launched.fired().len(), 2);
    assert_eq!(f.next_fire(id), None, "12:00 is past the end date");
    f.at("2026-05-04T12:00:00Z");
    assert!(f.launched.take().is_empty());
}

#[test]
fn daylight_saving_in_the_schedule_zone_follows_cronie() {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let mut f = Fixture::new("2026-03-28T12:00:00Z");
    let id = f.add_full(
        "dst",
        cron("30 2 * * *"),
        berlin,
        None,
        Overlap::Allow,
        CatchUp::Once,
    );
    // 29 March: 02:00 CET jumps to 03:00 CEST; 02:30 is skipped, so the
    // fixed-time job runs at 03:00 CEST = 01:00 UTC.
    assert_eq!(f.next_fire(id), Some(utc("2026-03-29T01:00:00Z")));
    f.at("2026-03-29T01:00:00Z");
    assert_eq!(f.launched.fired(), [utc("2026-03-29T01:00:00Z")]);
    assert_eq!(f.next_fire(id), Some(utc("2026-03-30T00:30:00Z")));
    // 25 October: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice
    // and the job runs at the first one only (00:30 UTC).
    f.at("2026-10-24T12:00:00Z");
    f.launched.take();
    f.at("2026-10-25T00:30:00Z");
    assert_eq!(f.launched.fired(), [utc("2026-10-25T00:30:00Z")]);
    assert_eq!(f.next_fire(id), Some(utc("2026-10-26T01:30:00Z")));
}

/// An instance recorded by a process that is gone now.
fn dead_instance(journal: &Path, status: &str, wait_reason: Option<&str>, trigger: Trigger) -> i64 {
    let mut j = Journal::open(journal).unwrap();
    let id = j
        .create_instance(&NewInstance {
            flow: "rollout".into(),
            flow_snapshot: "name: rollout".into(),
            hosts: vec!["a".into(), "b".into()],
            target: serde_json::json!({ "inventory": ["/srv/inventory"] }),
            trigger,
            ..Default::default()
        })
        .unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    j.connection()
        .execute(
            "UPDATE instances SET status = ?2, wait_reason = ?3, owner_pid = ?4, owner_start = NULL,
                 next_batch = 1, resume_at = ?5 WHERE id = ?1",
            rusqlite::params![id, status, wait_reason, dead_pid, 1_000_i64],
        )
        .unwrap();
    id
}

#[test]
fn rollouts_interrupted_while_waiting_are_resumed_and_mid_batch_ones_are_left_to_an_operator() {
    let mut f = Fixture::new("2026-05-04T09:00:00Z");
    let waiting = dead_instance(&f.journal, "waiting", Some("interval"), Trigger::Cli);
    let mid_batch = dead_instance(&f.journal, "running", None, Trigger::Cli);
    let events = f.at("2026-05-04T09:00:01Z");
    let launched = f.launched.take();
    assert_eq!(launched.len(), 1, "{events:?}");
    assert_eq!(launched[0].kind, LaunchKind::Resume { instance: waiting });
    let journal = f.journal.display().to_string();
    assert_eq!(
        launched[0].args,
        [
            "resume",
            &waiting.to_string(),
            "--journal",
            &journal,
            "-i",
            "/srv/inventory"
        ]
    );
    assert!(events.iter().any(|e| e.message.contains(&format!(
        "run {mid_batch} was interrupted in the middle of batch 2; it waits for an operator"
    ))));
    // Tried once per scheduler: no loop if the resume cannot start it.
    f.at("2026-05-04T09:10:00Z");
    assert!(f.launched.take().is_empty());
}
