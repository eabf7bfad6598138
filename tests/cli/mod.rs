//! What the command-line tests share: running the binary and reading how
//! it ended, a temp dir to write its input files in, and waiting for what a
//! background jobdeck does.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// How a run of the binary ended.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Asserts the exit code, showing both outputs when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Outcome {
        assert_eq!(
            self.code, code,
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts stderr says `needle`, showing it when it does not.
    #[track_caller]
    pub fn stderr_has(&self, needle: impl AsRef<str>) -> &Outcome {
        let needle = needle.as_ref();
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Lines of stderr that contain `needle`.
    pub fn stderr_lines_with(&self, needle: &str) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.contains(needle)).collect()
    }
}

/// Runs the command to its end.
pub fn run(cmd: &mut Command) -> Outcome {
    let out = cmd.output().expect("run jobdeck");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A temp dir for a test's files: named with `path`, written with `write`.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `bytes` to `name` (its directories created); returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// Polls `probe` every 50 ms until it gives a value; fails the test,
/// naming `what`, after `limit`.
#[track_caller]
pub fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A UTC time `secs` seconds from now, as `schedule add --at` takes it.
pub fn in_seconds(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
