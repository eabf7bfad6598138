//! Dialling again when the network broke a connection off before login.
//!
//! A server that is busy accepting (a listen backlog that overflowed, sshd's
//! `MaxStartups` dropping new connections) resets or closes a connection before the
//! SSH handshake ends. Nothing ran on the host then, so the connection is dialled
//! again after a short random wait, a bounded number of times. Only failures
//! before authentication succeeded count: once a session exists nothing is retried
//! (a command may have started). Timeouts are not retried either: they already
//! waited the connect timeout; except, once, a connection the server accepted and
//! then never sent a byte on: under a burst the kernel completes connections that
//! never leave sshd's overflowing accept queue (seen at 10,000 hosts, forks 1000:
//! 54 hosts silent for the whole timeout), and the next dial gets through. A hung
//! sshd costs two timeouts then. Nor is a refused connection: nothing listens there
//! (an overflowing backlog drops or resets, it never refuses), and a host whose sshd
//! is down should fail at once, not hold a fork slot for seconds.

use std::io;
use std::time::Duration;

use ring::rand::SecureRandom;

/// Dials after the first one, at most: five attempts in all. A busy server resets
/// a few percent of a burst of connections; five independent tries make a host
/// that keeps failing a real problem, not bad luck.
pub const RETRIES: u32 = 4;

/// The wait before retry `n` (1-based) is random within the upper half of
/// `BASE_WAIT × 2^(n-1)`: 125-250 ms, 250-500 ms, 0.5-1 s, 1-2 s. The randomness
/// spreads a burst of resets out instead of sending it back at once.
const BASE_WAIT: Duration = Duration::from_millis(250);

/// Whether an I/O error means the peer broke an accepted connection off, rather
/// than refusing it, the network being slow or the address wrong.
pub fn is_broken_off(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// Whether a failed SSH handshake was the connection breaking off.
pub fn handshake_broken_off(err: &russh::Error) -> bool {
    match err {
        russh::Error::IO(err) => is_broken_off(err),
        russh::Error::HUP | russh::Error::Disconnect => true,
        _ => false,
    }
}

/// How long to wait before retry `retry` (1-based).
pub fn wait_before(retry: u32) -> Duration {
    let ceiling = BASE_WAIT * 2u32.pow(retry.saturating_sub(1).min(8));
    let mut byte = [0u8; 1];
    // Without randomness, the middle of the range still waits.
    let fraction = match ring::rand::SystemRandom::new().fill(&mut byte) {
        Ok(()) => 0.5 + f64::from(byte[0]) / 512.0,
        Err(_) => 0.75,
    };
    ceiling.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_stay_within_their_range() {
        for retry in 1..=RETRIES {
            let ceiling = BASE_WAIT * 2u32.pow(retry - 1);
            for _ in 0..50 {
                let wait = wait_before(retry);
                assert!(wait >= ceiling / 2 && wait <= ceiling, "{retry}: {wait:?}");
            }
        }
    }

    #[test]
    fn only_a_connection_broken_off_is_retried() {
        let kind = |kind| io::Error::from(kind);
        assert!(is_broken_off(&kind(io::ErrorKind::ConnectionReset)));
        assert!(is_broken_off(&kind(io::ErrorKind::UnexpectedEof)));
        assert!(!is_broken_off(&kind(io::ErrorKind::ConnectionRefused)));
        assert!(!is_broken_off(&kind(io::ErrorKind::TimedOut)));
        assert!(!is_broken_off(&kind(io::ErrorKind::PermissionDenied)));
        assert!(handshake_broken_off(&russh::Error::HUP));
        assert!(!handshake_broken_off(&russh::Error::UnknownKey));
        assert!(!handshake_broken_off(&russh::Error::KexInit));
    }
}
