//! Live progress on a terminal (indicatif): an overall bar, a bar for the
//! running batch, and a countdown while waiting between batches. Host
//! results are printed above the bars through `suspend`, so lines and bars
//! never tear each other.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::labels::format_wait;
use crate::engine::events::UnixMillis;

pub struct Progress {
    multi: MultiProgress,
    overall: ProgressBar,
    batch: Option<ProgressBar>,
    wait: Option<Wait>,
    failed: u64,
    batch_failed: u64,
}

struct Wait {
    bar: ProgressBar,
    from: UnixMillis,
    /// `None` while an operator decides.
    until: Option<UnixMillis>,
    label: String,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Progress {
    /// Draws on stdout, or nowhere (`hidden`, for tests: every bar
    /// operation still runs).
    pub fn new(hidden: bool) -> Progress {
        let target = if hidden {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stdout()
        };
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(style(
            "{prefix:.bold} [{elapsed_precise}] [{wide_bar}] {pos}/{len} {msg} eta {eta}",
        ));
        overall.set_prefix("all");
        Progress {
            multi,
            overall,
            batch: None,
            wait: None,
            failed: 0,
            batch_failed: 0,
        }
    }

    /// Runs `print` with the bars lifted off the screen.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        self.multi.suspend(print)
    }

    pub fn start(&mut self, hosts: usize) {
        self.overall.set_length(hosts as u64);
        self.overall.set_message(failed_message(0));
    }

    pub fn batch_started(&mut self, label: String, hosts: usize) {
        self.end_wait();
        if let Some(old) = self.batch.take() {
            old.finish_and_clear();
        }
        let bar = self.multi.add(ProgressBar::new(hosts as u64));
        bar.set_style(style(
            "{prefix:.bold} [{bar:30}] {pos}/{len} {msg} ({elapsed})",
        ));
        bar.set_prefix(label);
        bar.set_message(failed_message(0));
        self.batch_failed = 0;
        self.batch = Some(bar);
    }

    pub fn host_finished(&mut self, failed: bool, in_current_batch: bool) {
        self.overall.inc(1);
        if self.overall.position() > self.overall.length().unwrap_or(0) {
            self.overall.set_length(self.overall.position());
        }
        if failed {
            self.failed += 1;
            self.overall.set_message(failed_message(self.failed));
        }
        if in_current_batch && let Some(bar) = &self.batch {
            bar.inc(1);
            if failed {
                self.batch_failed += 1;
                bar.set_message(failed_message(self.batch_failed));
            }
        }
    }

    pub fn batch_finished(&mut self) {
        if let Some(bar) = self.batch.take() {
            bar.finish_and_clear();
        }
    }

    /// A wait between batches; `until` makes it a countdown.
    pub fn wait(&mut self, label: String, from: UnixMillis, until: Option<UnixMillis>) {
        self.end_wait();
        let bar = match until {
            Some(until) => {
                let bar = ProgressBar::new(((until - from).max(0) as u64).div_ceil(1000));
                bar.set_style(style("{prefix:.bold} [{bar:30}] {msg}"));
                bar
            }
            None => {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template("{prefix:.bold} {spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar
            }
        };
        let bar = self.multi.add(bar);
        bar.set_prefix("wait");
        self.wait = Some(Wait {
            bar,
            from,
            until,
            label,
        });
        self.tick(from);
    }

    pub fn end_wait(&mut self) {
        if let Some(wait) = self.wait.take() {
            wait.bar.finish_and_clear();
        }
    }

    /// Called about once a second: moves the countdown on.
    pub fn tick(&mut self, now: UnixMillis) {
        self.overall.tick();
        let Some(wait) = &self.wait else { return };
        match wait.until {
            Some(until) => {
                let left = (until - now).max(0);
                wait.bar
                    .set_position(((now - wait.from).max(0) as u64) / 1000);
                wait.bar
                    .set_message(format!("{} left, {}", format_wait(left), wait.label));
            }
            None => {
                wait.bar.set_message(wait.label.clone());
                wait.bar.tick();
            }
        }
    }

    /// Removes every bar before the closing lines.
    pub fn finish(&mut self) {
        self.end_wait();
        self.batch_finished();
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }

    /// Hidden bars still count; tests read them here.
    #[cfg(test)]
    pub fn positions(&self) -> (u64, u64) {
        (self.overall.position(), self.failed)
    }

    #[cfg(test)]
    pub fn wait_message(&self) -> Option<String> {
        self.wait.as_ref().map(|w| w.bar.message())
    }
}

fn failed_message(failed: u64) -> String {
    if failed == 0 {
        String::new()
    } else {
        format!("{failed} failed")
    }
}

/// How often the terminal view refreshes the countdown.
pub const TICK: Duration = Duration::from_secs(1);
