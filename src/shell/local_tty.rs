//! The local end of an interactive session: raw mode for the time of the
//! session (restored on every way out, Drop included), the window's size,
//! the keyboard read without stealing a key after the session ends, and
//! SIGWINCH turned into resizes.

use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::transport::shell::ShellInput;

const STDIN: RawFd = 0;
const STDOUT: RawFd = 1;
/// How long the keyboard reader waits before it looks whether to stop.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

pub fn stdin_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(STDIN) == 1 }
}

pub fn stdout_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(STDOUT) == 1 }
}

/// The local window as (columns, rows); 80×24 when it cannot be told.
pub fn window_size() -> (u16, u16) {
    match crossterm::terminal::size() {
        Ok((cols, rows)) if cols > 0 && rows > 0 => (cols, rows),
        _ => (80, 24),
    }
}

/// Raw mode while it lives: every key (Ctrl-C included) goes to the host.
pub struct RawMode(());

impl RawMode {
    pub fn enter() -> std::io::Result<RawMode> {
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawMode(()))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Reads stdin on a thread of its own and sends what it reads. It polls
/// with a short timeout and reads only when a byte is there, so once it is
/// stopped (dropped) no later key is taken from whoever reads next (the
/// console, the shell).
pub struct KeyboardPump {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl KeyboardPump {
    pub fn start(input: mpsc::Sender<ShellInput>) -> KeyboardPump {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("jobdeck-ssh-stdin".into())
            .spawn(move || pump(&stopped, &input))
            .ok();
        KeyboardPump { stop, thread }
    }
}

fn pump(stop: &AtomicBool, input: &mpsc::Sender<ShellInput>) {
    let mut buffer = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let mut poll = libc::pollfd {
            fd: STDIN,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the length given.
        let ready = unsafe { libc::poll(&mut poll, 1, POLL_INTERVAL.as_millis() as libc::c_int) };
        if ready < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if ready == 0 || stop.load(Ordering::SeqCst) {
            continue;
        }
        // SAFETY: reads into our own buffer, at most its length.
        let read = unsafe { libc::read(STDIN, buffer.as_mut_ptr().cast(), buffer.len()) };
        if read < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if read <= 0 {
            let _ = input.blocking_send(ShellInput::Eof);
            return;
        }
        let data = Bytes::copy_from_slice(&buffer[..read as usize]);
        if input.blocking_send(ShellInput::Data(data)).is_err() {
            return;
        }
    }
}

impl Drop for KeyboardPump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends the window's new size on every SIGWINCH, and a hangup when
/// jobdeck is told to end (SIGTERM, SIGHUP), until the receiver is gone.
pub async fn forward_signals(input: mpsc::Sender<ShellInput>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut winch), Ok(mut term), Ok(mut hangup)) = (
        signal(SignalKind::window_change()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return;
    };
    loop {
        let message = tokio::select! {
            _ = winch.recv() => {
                let (cols, rows) = window_size();
                ShellInput::Resize { cols, rows }
            }
            _ = term.recv() => ShellInput::Hangup,
            _ = hangup.recv() => ShellInput::Hangup,
        };
        if input.send(message).await.is_err() {
            return;
        }
    }
}
