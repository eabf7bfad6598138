//! A journal on a file system that fills up mid-run (a small tmpfs this
//! test mounts; it runs as root): the run is never reported as recorded.
//! No host starts after the failed write, the run exits 5 naming the host
//! whose result is not in the journal, the journal marks the run
//! interrupted with that reason, and `resume` runs only what was not
//! recorded. Hosts are `ansible_connection=local`, one at a time.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod support;
use support::jobdeck_on;

/// A tmpfs of `size` mounted on `dir` until dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(Tmpfs {
            dir: dir.to_path_buf(),
        })
    }

    /// `mount`, or `None` with a message saying why the test is skipped.
    fn mount_or_skip(dir: &Path, size: &str) -> Option<Tmpfs> {
        Tmpfs::mount(dir, size)
            .inspect_err(|why| {
                eprintln!("SKIPPED journal_full: cannot mount a tmpfs ({why}); the test needs root")
            })
            .ok()
    }

    fn free_bytes(&self) -> u64 {
        // SAFETY: statvfs fills the struct we pass for the path we give.
        unsafe {
            let path = std::ffi::CString::new(self.dir.as_os_str().as_encoded_bytes()).unwrap();
            let mut stat: libc::statvfs = std::mem::zeroed();
            assert_eq!(libc::statvfs(path.as_ptr(), &mut stat), 0);
            stat.f_bavail as u64 * stat.f_frsize as u64
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

#[test]
fn a_journal_that_fills_up_stops_the_run_and_names_what_it_could_not_record() {
    let dir = tempfile::tempdir().unwrap();
    // The filler below leaves the first run 1.5 MB whatever the size; the
    // resume, which prints its 3 MB again and indexes them once the filler
    // is gone, needs the rest (at 8 MB it ran out of room 2 times in 30).
    let Some(fs) = Tmpfs::mount_or_skip(&dir.path().join("small"), "16m") else {
        return;
    };
    let journal = fs.dir.join("journal.db");
    let marks = dir.path().join("marks");
    std::fs::write(
        dir.path().join("inv.ini"),
        "[fleet]\nh1 ansible_connection=local\nh2 ansible_connection=local\n\
         h3 ansible_connection=local\nh4 ansible_connection=local\n",
    )
    .unwrap();
    // Each host marks that it ran; h2 prints 3 MB of lines, more than the
    // journal has room for, then takes a while as real work does: the
    // writer (which also indexes the output for search, slow in a debug
    // build) finds the disk full before the next host is due.
    let command = format!(
        "echo $JOBDECK_HOST >> {}; if [ $JOBDECK_HOST = h2 ]; then yes 'a line of output' | head -c 3000000; sleep 3; fi; echo done",
        marks.display()
    );
    drop(jobdeck::journal::Journal::open(&journal).unwrap());
    // Leave about 1.5 MB free.
    let filler = fs.dir.join("filler");
    let fill = fs.free_bytes().saturating_sub(1_500_000);
    std::fs::write(&filler, vec![0u8; fill as usize]).unwrap();

    let (code, _stdout, stderr) = jobdeck_on(
        dir.path(),
        &journal,
        &["--run", "-c", &command, "-i", "inv.ini", "--forks", "1"],
    );
    assert_eq!(
        code, 5,
        "exit 5: the journal could not record the run\n{stderr}"
    );
    assert!(
        stderr.contains("could not record this run") && stderr.contains("or disk is full"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run 1: these hosts ran, but their results are NOT in the journal: h2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run 1: no host was started after the failure"),
        "{stderr}"
    );
    let ran = std::fs::read_to_string(&marks).unwrap();
    assert_eq!(ran, "h1\nh2\n", "h3 and h4 must not start");
    let run_stderr = stderr;

    // Space again: the journal says what happened.
    std::fs::remove_file(&filler).unwrap();
    let (code, show, stderr) = jobdeck_on(dir.path(), &journal, &["show", "1", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let show: Value = serde_json::from_str(&show).unwrap();
    assert_eq!(show["instance"]["status"], "interrupted", "{show}");
    let reason = show["instance"]["reason"].as_str().unwrap();
    if run_stderr.contains("could not record even why it stopped") {
        // Not even the reason found room (about 1 run in 30 here): the
        // run said so, and the next open marked it interrupted.
        assert!(
            reason.contains("stopped before the instance finished"),
            "{reason}"
        );
    } else {
        assert!(
            reason.starts_with("the journal could not record the run (")
                && reason
                    .ends_with("jobdeck started no host after that; results not recorded for: h2"),
            "{reason}\n{run_stderr}"
        );
    }
    let status = |host: &str| {
        show["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == host)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status("h1"), "ok", "h1's result was recorded");
    assert_eq!(status("h2"), "interrupted");
    assert_eq!(status("h3"), "pending");
    assert_eq!(status("h4"), "pending");

    // Resume runs what is not recorded as done: not h1.
    let (code, _, stderr) = jobdeck_on(dir.path(), &journal, &["resume", "1", "-i", "inv.ini"]);
    assert_eq!(code, 0, "{stderr}");
    let ran = std::fs::read_to_string(&marks).unwrap();
    assert_eq!(ran, "h1\nh2\nh2\nh3\nh4\n");
    let (_, history, _) = jobdeck_on(dir.path(), &journal, &["history", "--json"]);
    let history: Value = serde_json::from_str(&history).unwrap();
    assert_eq!(history[0]["status"], "ok", "{history}");
    let integrity = rusqlite::Connection::open(&journal)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

/// The journal fills up and the run's process dies before the run ends
/// (nothing but the reason could be written): the next open marks the run
/// interrupted with that reason, not with "jobdeck stopped".
#[test]
fn a_run_whose_process_died_after_a_failed_write_is_recovered_with_its_reason() {
    use jobdeck::engine::events::{Event, EventKind, Stream};
    use jobdeck::journal::{Journal, JournalWriter, NewInstance, WriterOptions};

    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount_or_skip(&dir.path().join("small"), "4m") else {
        return;
    };
    let path = fs.dir.join("journal.db");
    let mut journal = Journal::open(&path).unwrap();
    let id = journal
        .create_instance(&NewInstance {
            flow: "noisy".into(),
            hosts: vec!["web1".into(), "web2".into()],
            ..NewInstance::default()
        })
        .unwrap();
    let filler = fs.dir.join("filler");
    std::fs::write(
        &filler,
        vec![0u8; fs.free_bytes().saturating_sub(500_000) as usize],
    )
    .unwrap();

    let (sink, writer) = JournalWriter::spawn(&path, WriterOptions::default()).unwrap();
    let at = |n: i64| 1_000 + n;
    let mut events = vec![
        Event {
            instance: id,
            at: at(0),
            kind: EventKind::InstanceStarted {
                flow: "noisy".into(),
                hosts: vec!["web1".into(), "web2".into()],
                steps: vec!["spam".into()],
                batches: vec![vec![0, 1]],
            },
        },
        Event {
            instance: id,
            at: at(1),
            kind: EventKind::StepStarted {
                host: 1,
                step: 0,
                attempt: 1,
            },
        },
    ];
    let line = bytes::Bytes::from(vec![b'y'; 64 * 1024]);
    for n in 0..40 {
        events.push(Event {
            instance: id,
            at: at(2 + n),
            kind: EventKind::Output {
                host: 1,
                step: 0,
                stream: Stream::Stdout,
                data: line.clone(),
            },
        });
    }
    for event in events {
        sink.blocking_send(event).unwrap();
    }
    sink.blocking_flush().unwrap();
    let failure = sink.failure().expect("the write failed");
    assert_eq!(failure.runs.len(), 1);
    assert_eq!(failure.runs[0].hosts, ["web2"]);
    assert!(failure.runs[0].reason_recorded, "{failure:?}");
    assert!(!failure.runs[0].end_recorded);
    // The process dies here: no InstanceFinished.
    drop(sink);
    writer.join().unwrap();
    drop(journal);

    std::fs::remove_file(&filler).unwrap();
    let dead = {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    };
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE instances SET owner_pid = ?1, owner_start = NULL",
        [dead],
    )
    .unwrap();
    drop(raw);
    let mut journal = Journal::open(&path).unwrap();
    assert_eq!(journal.recover_interrupted().unwrap(), [id]);
    let record = journal.instance(id).unwrap().unwrap().instance;
    assert_eq!(record.status.to_string(), "interrupted");
    let reason = record.reason.unwrap();
    assert!(
        reason.starts_with("the journal could not record the run (database or disk is full)")
            && reason.ends_with("results not recorded for: web2"),
        "{reason}"
    );
}
