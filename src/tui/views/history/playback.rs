//! The replay's playhead on the run's (gap-shortened) timeline, at 1×,
//! 10× or 100×. Every call takes the current instant, so tests drive it
//! with their own clock.

use std::time::Instant;

/// Playback speeds, cycled with `x`.
pub const SPEEDS: [i64; 3] = [1, 10, 100];

/// The timeline's playhead. Every call takes the current instant, so tests
/// drive it with their own clock; `position` is what the last call saw,
/// which is what a frame draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    duration: i64,
    position: i64,
    speed: usize,
    /// While playing: when the position was last set, and to what.
    anchor: Option<(Instant, i64)>,
}

impl Playback {
    /// Paused at the end: a replay opens on the final states.
    pub fn new(duration: i64) -> Playback {
        let duration = duration.max(0);
        Playback {
            duration,
            position: duration,
            speed: 0,
            anchor: None,
        }
    }

    pub fn position(&self) -> i64 {
        self.position
    }

    pub fn duration(&self) -> i64 {
        self.duration
    }

    pub fn speed(&self) -> i64 {
        SPEEDS[self.speed]
    }

    pub fn is_playing(&self) -> bool {
        self.anchor.is_some()
    }

    pub fn at_end(&self) -> bool {
        self.position >= self.duration
    }

    /// Moves the playhead to `now`; stops at the end. True while it moves.
    pub fn tick(&mut self, now: Instant) -> bool {
        let Some((since, from)) = self.anchor else {
            return false;
        };
        let elapsed = now.saturating_duration_since(since).as_millis() as i64;
        self.position = (from + elapsed.saturating_mul(self.speed())).min(self.duration);
        if self.position >= self.duration {
            self.anchor = None;
        }
        true
    }

    /// Play or pause; playing from the end starts over.
    pub fn toggle(&mut self, now: Instant) {
        self.tick(now);
        if self.anchor.is_some() {
            self.anchor = None;
        } else {
            if self.at_end() {
                self.position = 0;
            }
            self.anchor = Some((now, self.position));
        }
    }

    pub fn cycle_speed(&mut self, now: Instant) {
        self.tick(now);
        self.speed = (self.speed + 1) % SPEEDS.len();
        if self.anchor.is_some() {
            self.anchor = Some((now, self.position));
        }
    }

    /// Pauses where it is (a read failed).
    pub fn stop(&mut self) {
        self.anchor = None;
    }

    pub fn seek_to(&mut self, position: i64, now: Instant) {
        self.position = position.clamp(0, self.duration);
        if self.anchor.is_some() {
            self.anchor = (self.position < self.duration).then_some((now, self.position));
        }
    }

    pub fn seek(&mut self, delta: i64, now: Instant) {
        self.tick(now);
        self.seek_to(self.position.saturating_add(delta), now);
    }

    /// One `←`/`→` press: a fortieth of the run, at least half a second.
    pub fn step(&self) -> i64 {
        (self.duration / 40).max(500)
    }

    /// A longer run (reloaded while in progress) keeps the playhead; at
    /// the end it stays at the end.
    pub fn set_duration(&mut self, duration: i64) {
        let was_at_end = self.at_end() && self.anchor.is_none();
        self.duration = duration.max(0);
        if was_at_end {
            self.position = self.duration;
        }
        self.position = self.position.min(self.duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn playback_follows_an_injected_clock_at_each_speed() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut p = Playback::new(60_000);
        // Opens at the end, paused; playing from the end starts over.
        assert_eq!(p.position(), 60_000);
        p.toggle(at(0));
        assert!(p.is_playing());
        assert_eq!(p.position(), 0);
        p.tick(at(1_000));
        assert_eq!(p.position(), 1_000);
        // 10×: one more second of wall time is ten of the run.
        p.cycle_speed(at(1_000));
        assert_eq!(p.speed(), 10);
        p.tick(at(2_000));
        assert_eq!(p.position(), 11_000);
        // 100×: half a second is fifty seconds, and it stops at the end.
        p.cycle_speed(at(2_000));
        assert_eq!(p.speed(), 100);
        p.tick(at(2_300));
        assert_eq!(p.position(), 41_000);
        p.tick(at(2_500));
        assert_eq!(p.position(), 60_000);
        assert!(!p.is_playing());
        // Back to 1×.
        p.cycle_speed(at(3_000));
        assert_eq!(p.speed(), 1);
    }

    #[test]
    fn pause_and_seek_hold_the_playhead() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut p = Playback::new(40_000);
        p.toggle(at(0));
        p.tick(at(2_000));
        p.toggle(at(2_000));
        assert!(!p.is_playing());
        p.tick(at(9_000));
        assert_eq!(p.position(), 2_000, "paused: time passing changes nothing");
        assert_eq!(p.step(), 1_000);
        p.seek(p.step(), at(9_000));
        assert_eq!(p.position(), 3_000);
        p.seek(-10_000, at(9_000));
        assert_eq!(p.position(), 0);
        // Seeking while playing plays on from the new place.
        p.toggle(at(10_000));
        p.seek_to(20_000, at(10_000));
        p.tick(at(10_500));
        assert_eq!(p.position(), 20_500);
        p.seek(i64::MAX, at(10_500));
        assert_eq!(p.position(), 40_000);
        assert!(p.at_end());
    }
}
