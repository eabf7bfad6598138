//! What the command-line tests share: running the binary and reading how
//! it ended.
#![allow(dead_code)]

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
