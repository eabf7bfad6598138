//! Logs of the runs jobdeck starts as child processes: schedule fires and
//! resumes (`schedule-logs/`). They are kept `KEEP_DAYS` days, and never fewer than the
//! last `KEEP_LAST` of each schedule (or run), so a monthly schedule keeps
//! its history. The journal holds every run's output; the logs only say how
//! a child started.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub const KEEP_DAYS: u64 = 30;
pub const KEEP_LAST: usize = 10;

/// Removes the old logs in `dir`; returns how many. Files jobdeck did not
/// name (`schedule-ID-…log`, `resume-ID-…log`, `rerun-ID-…log`) are left alone.
pub fn prune(dir: &Path, now: SystemTime) -> std::io::Result<usize> {
    let max_age = Duration::from_secs(KEEP_DAYS * 24 * 3600);
    let mut by_owner: HashMap<String, Vec<(SystemTime, PathBuf)>> = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = owner_of(&name) else {
            continue;
        };
        let modified = entry.metadata()?.modified()?;
        by_owner
            .entry(owner.to_string())
            .or_default()
            .push((modified, entry.path()));
    }
    let mut removed = 0;
    for logs in by_owner.values_mut() {
        logs.sort_by_key(|log| std::cmp::Reverse(log.0));
        for (modified, path) in logs.iter().skip(KEEP_LAST) {
            let old = now.duration_since(*modified).unwrap_or_default() > max_age;
            if old && std::fs::remove_file(path).is_ok() {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// `schedule-12-20261121T…log` → `schedule-12`.
fn owner_of(name: &str) -> Option<&str> {
    let rest = name.strip_suffix(".log")?;
    let (kind, tail) = rest.split_once('-')?;
    if !matches!(kind, "schedule" | "resume" | "rerun") {
        return None;
    }
    let (id, stamp) = tail.split_once('-')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || stamp.is_empty() {
        return None;
    }
    Some(&name[..kind.len() + 1 + id.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str, age_days: u64, now: SystemTime) {
        let path = dir.join(name);
        std::fs::write(&path, "log").unwrap();
        let when = now - Duration::from_secs(age_days * 24 * 3600);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    #[test]
    fn owners_are_the_kind_and_the_id() {
        assert_eq!(
            owner_of("schedule-12-20261121T030000.000Z.log"),
            Some("schedule-12")
        );
        assert_eq!(
            owner_of("resume-7-20261121T030000.000Z.log"),
            Some("resume-7")
        );
        assert_eq!(owner_of("rerun-7-20261121-030000.log"), Some("rerun-7"));
        assert_eq!(owner_of("schedule-x-1.log"), None);
        assert_eq!(owner_of("notes.txt"), None);
        assert_eq!(owner_of("schedule-12.log"), None);
    }

    #[test]
    fn old_logs_go_but_each_schedule_keeps_its_last_ones() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        // A monthly schedule: 14 logs, all older than the limit but the first.
        for month in 0..14 {
            touch(
                dir.path(),
                &format!("schedule-1-m{month:02}.log"),
                month * 30,
                now,
            );
        }
        // A busy one: 40 recent logs and 5 old ones.
        for day in 0..40 {
            touch(
                dir.path(),
                &format!("schedule-2-d{day:02}.log"),
                day / 4,
                now,
            );
        }
        for old in 0..5 {
            touch(dir.path(), &format!("schedule-2-o{old}.log"), 40 + old, now);
        }
        touch(dir.path(), "someone-elses.log", 400, now);

        let removed = prune(dir.path(), now).unwrap();
        let left = |prefix: &str| {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with(prefix)
                })
                .count()
        };
        // Monthly: the newest 10 stay even though 9 of them are old.
        assert_eq!(left("schedule-1-"), KEEP_LAST);
        // Busy: the 40 recent ones stay, the 5 old ones go.
        assert_eq!(left("schedule-2-d"), 40);
        assert_eq!(left("schedule-2-o"), 0);
        assert_eq!(left("someone-elses"), 1);
        assert_eq!(removed, 4 + 5);
    }
}
