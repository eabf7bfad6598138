//! What the command-line tests share: running the binary and reading how
//! it ended, a temp dir to write its input files in, and waiting for what a
//! background jobdeck does.
#![allow(dead_code)]

use std::collections::BTreeMap;
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

/// Copies a directory tree.
pub fn copy_tree(src: &std::path::Path, dest: &std::path::Path) {
    std::fs::create_dir_all(dest).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dest.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// Copies the whole sample-inventory (inventory, flows, atoms, files) into
/// `dest`, with its lab directory (`/tmp/jobdeck-lab`, where the sample
/// flows keep their state) moved to `lab_root`: a clean machine, where
/// nothing of a previous run exists, and none of the machine's is touched.
pub fn copy_sample_inventory(dest: &std::path::Path, lab_root: &std::path::Path) {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_tree(&repo.join("sample-inventory"), dest);
    for file in ["group_vars/lab.yml", "flows/config-push.yml"] {
        let path = dest.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("/tmp/jobdeck-lab"), "{file}: {text}");
        std::fs::write(
            &path,
            text.replace("/tmp/jobdeck-lab", lab_root.to_str().unwrap()),
        )
        .unwrap();
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

/// host name → status, from an export.
pub fn host_statuses(export: &serde_json::Value) -> BTreeMap<String, String> {
    export["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_string(),
                h["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The expected host name → status map, written as pairs.
pub fn statuses(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(h, s)| (h.to_string(), s.to_string()))
        .collect()
}
