//! A private tmux server for tests that need a real terminal: start a
//! command in a detached session of a given size, type into it
//! (send-keys), read the screen (capture-pane), resize it. The server is
//! killed on drop (its own socket, nothing else).

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

/// `None` (with a message) when tmux is not installed.
pub fn start(name: &str, dir: &Path, width: u16, height: u16, command: &str) -> Option<Tmux> {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED {name}: tmux is not installed (apt-get install tmux); .ci installs it");
        return None;
    }
    let tmux = Tmux {
        socket: format!("jobdeck-{name}-{}", std::process::id()),
    };
    let (width, height) = (width.to_string(), height.to_string());
    let dir = dir.display().to_string();
    let out = tmux.run(&[
        "new-session",
        "-d",
        "-x",
        &width,
        "-y",
        &height,
        "-s",
        "t",
        "-c",
        &dir,
        command,
    ]);
    assert!(out.status.success(), "tmux new-session: {out:?}");
    Some(tmux)
}

impl Tmux {
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Keys by tmux name (`Enter`, `C-c`, `s`), one at a time.
    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            let out = self.run(&["send-keys", "-t", "t", key]);
            assert!(out.status.success(), "send-keys {key}: {out:?}");
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// Text typed as is.
    pub fn text(&self, text: &str) {
        let out = self.run(&["send-keys", "-t", "t", "-l", text]);
        assert!(out.status.success(), "send-keys -l {text}: {out:?}");
        std::thread::sleep(Duration::from_millis(100));
    }

    /// Text typed as is, then Enter.
    pub fn line(&self, text: &str) {
        self.text(text);
        self.keys(&["Enter"]);
    }

    pub fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", "t"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn resize(&self, width: u16, height: u16) {
        let (width, height) = (width.to_string(), height.to_string());
        let out = self.run(&["resize-window", "-t", "t", "-x", &width, "-y", &height]);
        assert!(out.status.success(), "resize-window: {out:?}");
    }

    /// In the console's Inventory: selects the hosts `pattern` matches
    /// (`count` of them) through the pattern box.
    pub fn select_pattern(&self, pattern: &str, count: usize) {
        self.keys(&["p"]);
        self.text(pattern);
        self.wait_for(&format!("{count} hosts match"), Duration::from_secs(5));
        self.keys(&["Enter"]);
        self.wait_for(&format!("{count} selected"), Duration::from_secs(5));
    }

    /// Waits until the screen shows `needle`; fails with the screen.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

pub fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}
