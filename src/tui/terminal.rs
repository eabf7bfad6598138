//! Entering and leaving the terminal's full-screen mode. The terminal is
//! restored however the console ends: on return (Drop), on panic (a hook
//! installed once), around Ctrl-Z (suspend, then re-enter on `fg`) and
//! around a shell session (`s`: restore, then resume).

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::{Hide, Show};
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Set while the terminal is in full-screen mode, so the panic hook only
/// restores what was changed.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

pub struct TerminalSession {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
    mouse: bool,
}

impl TerminalSession {
    pub fn enter(mouse: bool) -> io::Result<TerminalSession> {
        install_panic_hook();
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        let mut session = TerminalSession { terminal, mouse };
        session.start()?;
        Ok(session)
    }

    fn start(&mut self) -> io::Result<()> {
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        execute!(out, EnterAlternateScreen, Hide, EnableBracketedPaste)?;
        if self.mouse {
            execute!(out, EnableMouseCapture)?;
        }
        self.terminal.clear()
    }

    /// Leaves full-screen mode; safe to call more than once.
    pub fn restore(&mut self) -> io::Result<()> {
        restore_terminal()
    }

    /// Takes the terminal again after `restore` (a shell session ended).
    pub fn resume(&mut self) -> io::Result<()> {
        self.start()
    }

    /// Ctrl-Z: give the shell its terminal back, stop, and take it again
    /// when the shell continues us.
    pub fn suspend(&mut self) -> io::Result<()> {
        self.restore()?;
        #[cfg(unix)]
        // SAFETY: raise only sends a signal to this process; SIGTSTP's
        // default action stops it until SIGCONT, then raise returns.
        unsafe {
            libc::raise(libc::SIGTSTP);
        }
        self.start()
    }
}

impl Drop for TerminalSession {
    fn drop(&mut self) {
        let _ = restore_terminal();
    }
}

fn restore_terminal() -> io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let mut out = io::stdout();
    // Try every step even if one fails: a half-restored terminal is worse.
    let raw = disable_raw_mode();
    let screen = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        Show
    );
    let _ = out.flush();
    raw.and(screen)
}

/// Restores the terminal before the previous hook prints the panic, so the
/// message lands on a normal screen.
fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = restore_terminal();
            previous(info);
        }));
    });
}
