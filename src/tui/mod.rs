//! The terminal console (`jobdeck` with no arguments).
//!
//! One tokio task owns the terminal and the `App`. It waits on a
//! cancellation token, SIGTERM/SIGHUP, the terminal's event stream, the
//! channel background work reports on, and a render tick; it redraws at
//! most 30 times a second and only when something changed. Slow work (SSH,
//! the journal, files, processes) runs elsewhere and arrives as
//! `AppMessage`s.
//!
//! - `app`: the console's state, the routing of actions, messages and
//!   effects, the run it started, the title, status line, footer and help.
//! - `views`: one folder per view; `widgets`: the parts they share.
//! - `action`, `key`, `keymap`: what input means, per context, from TOML.
//! - `effects`: what a view asks of the App; `message`: what work reports.
//! - `tasks`: the work itself, off the UI task (journal reads, checks and
//!   saves, a run's engine and journal, key passphrases).
//! - `run_store`: a run as the console sees it, built from engine events.
//! - `theme`, `config`, `layout`, `terminal`: colours and glyphs, the
//!   config directory, where things go on the screen, full-screen mode.

pub mod action;
pub mod app;
pub mod config;
pub mod effects;
pub mod key;
pub mod key_names;
pub mod keymap;
pub mod layout;
pub mod message;
pub mod run_store;
pub mod tasks;
pub mod terminal;
pub mod theme;
pub mod views;
pub mod widgets;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use app::App;
use config::Settings;
use effects::StatusLevel;
use message::AppMessage;
use terminal::TerminalSession;

/// How the console is started. `Default` gives the default inventory,
/// the configured theme and keymap, and the mouse on.
#[derive(Debug, Clone, Default)]
pub struct TuiOptions {
    /// `-i` sources as given; empty means `commands::inventory::default_sources`.
    pub inventory: Vec<String>,
    /// `--theme NAME|PATH`; `None` uses the config file, then `dark`.
    pub theme: Option<String>,
    /// A keymap file instead of `<config dir>/keymap.toml`.
    pub keymap: Option<PathBuf>,
    /// The config directory; `None` means `$XDG_CONFIG_HOME/jobdeck`.
    pub config_dir: Option<PathBuf>,
    /// Mouse capture (wheel, click to focus); `None` uses the config file, then on.
    pub mouse: Option<bool>,
    /// Stops the console from outside (e.g. a daemon shutting down).
    pub cancel: Option<CancellationToken>,
    /// `--journal PATH`; `None` means `journal::default_path()`.
    pub journal: Option<PathBuf>,
}

/// At most 30 frames a second; frames are drawn only when something changed.
const FRAME: Duration = Duration::from_millis(33);

/// How often a live run is redrawn when nothing else changed (elapsed
/// times, the interval countdown).
const LIVE_CLOCK: Duration = Duration::from_millis(250);

/// Messages waiting before background tasks wait for the UI to catch up.
const MESSAGE_QUEUE: usize = 1024;

/// Runs the console until the user quits. Returns the process exit code.
pub async fn run_tui(options: TuiOptions) -> anyhow::Result<u8> {
    // Settings first: a `--theme` that cannot be read is the error to show.
    let settings = {
        let options = options.clone();
        tokio::task::spawn_blocking(move || {
            let config_dir = options
                .config_dir
                .clone()
                .or_else(config::default_config_dir);
            Settings::load(
                config_dir.as_deref(),
                options.theme.as_deref(),
                options.keymap.as_deref(),
                options.mouse,
            )
        })
        .await
        .context("reading the console settings")??
    };
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "the console needs a terminal; in scripts use a subcommand (see `jobdeck --help`)"
        );
    }
    let (tasks, mut messages) = mpsc::channel(MESSAGE_QUEUE);
    let warm = crate::preflight::WarmPool::new(settings.pool_idle, settings.pool_max);
    let sweeper = tokio::spawn(sweep_now_and_then(warm.clone()));
    let mut app = App::new(settings.theme, settings.keymap);
    app.set_warm_pool(warm.clone());
    app.set_output_budget(settings.output_budget);
    app.set_task_sender(tasks.clone());
    if let Some(journal) = options
        .journal
        .clone()
        .or_else(|| crate::journal::default_path().ok())
    {
        app.set_journal_path(journal);
    }
    app.set_journal(options.journal.clone());
    if !settings.warnings.is_empty() {
        app.set_status(StatusLevel::Warning, settings.warnings.join("; "));
    }
    let sources = crate::inventory::default_sources(&options.inventory);
    app.set_loading(&sources.join(", "));
    spawn_inventory_load(sources, tasks.clone());
    // Due schedules fire while the console is open; the journal's lease
    // makes sure a daemon on the same journal does not fire them too.
    let scheduler = match options
        .journal
        .clone()
        .or_else(|| crate::journal::default_path().ok())
    {
        Some(path) => tokio::task::spawn_blocking(move || {
            crate::schedule::scheduler::Scheduler::spawn(
                &path,
                Arc::new(crate::schedule::scheduler::SystemClock),
            )
        })
        .await
        .ok()
        .and_then(|started| {
            started
                .map_err(|e| {
                    app.set_status(
                        StatusLevel::Warning,
                        format!("schedules will not fire: {e:#}"),
                    )
                })
                .ok()
        }),
        None => None,
    };

    let mut session =
        TerminalSession::enter(settings.mouse).context("entering full-screen mode")?;
    let size = session.terminal.size()?;
    app.dispatch(action::Action::Resize(size.width, size.height));
    let cancel = options.cancel.unwrap_or_default();
    let outcome = event_loop(&mut session, &mut app, &mut messages, &cancel).await;
    session.restore().context("restoring the terminal")?;
    // Closed with runs still going (a signal, or a run would not stop):
    // detach them, so the journal records them interrupted and resumable.
    let runs = app.take_live_runs();
    for run in &runs {
        run.detach();
    }
    if !runs.is_empty() {
        // Messages must keep flowing while the runs wind down.
        let drain = async { while messages.recv().await.is_some() {} };
        let all_ended = futures::future::join_all(runs.iter().map(|r| r.wait_ended()));
        tokio::select! {
            _ = all_ended => {}
            _ = drain => {}
            _ = tokio::time::sleep(tasks::run_session::SHUTDOWN_WAIT) => {}
        }
        for run in &runs {
            let id = run.instance;
            if run.has_ended() {
                eprintln!(
                    "jobdeck: run {id} was detached and is interrupted; `jobdeck resume {id}` continues it"
                );
            } else {
                eprintln!(
                    "jobdeck: run {id}: the journal did not confirm in time; it will read as interrupted"
                );
            }
        }
    }
    if let Some(scheduler) = scheduler {
        let _ = tokio::task::spawn_blocking(move || scheduler.stop()).await;
    }
    sweeper.abort();
    warm.close_all().await;
    outcome?;
    Ok(crate::exit::OK)
}

/// `run_tui` on a runtime of its own, for a synchronous `main`. The console
/// task runs on this (the calling) thread; everything it spawns runs on the
/// runtime's worker threads.
pub fn run_tui_blocking(options: TuiOptions) -> anyhow::Result<u8> {
    background_runtime()
        .context("starting the async runtime")?
        .block_on(run_tui(options))
}

/// How much lower than the console's own thread the background threads
/// (engine, event absorbing, journal, file loads) run, as a nice increment.
const BACKGROUND_NICE: libc::c_int = 5;

/// The runtime for the console's background work. Its threads run at a lower
/// priority than the thread that draws: on a busy machine (two cores, a flood
/// of output) a frame is then not cut in half by the threads feeding it, and
/// the engine, bound by the network, loses nothing it needs.
pub fn background_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(lower_this_thread_priority)
        .build()
}

fn lower_this_thread_priority() {
    // On Linux the nice value belongs to the calling thread (who = 0), and
    // raising it needs no privilege. Threads these threads start inherit it.
    // SAFETY: getpriority/setpriority only read their arguments.
    unsafe {
        let current = libc::getpriority(libc::PRIO_PROCESS, 0);
        libc::setpriority(libc::PRIO_PROCESS, 0, (current + BACKGROUND_NICE).min(19));
    }
}

fn spawn_inventory_load(sources: Vec<String>, tasks: mpsc::Sender<AppMessage>) {
    tokio::task::spawn_blocking(move || {
        let result = tasks::inventory::load(&sources);
        let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let _ = tasks.blocking_send(AppMessage::InventoryLoaded { result, base });
    });
}

/// Closes warm connections past their idle time.
async fn sweep_now_and_then(warm: crate::preflight::WarmPool) {
    let mut every = tokio::time::interval(Duration::from_secs(30));
    loop {
        every.tick().await;
        warm.sweep().await;
    }
}

/// A shell on a host (`s`), with the terminal given to it: the session
/// runs on a thread of its own; meanwhile the console draws nothing but
/// takes in its messages, so runs and schedules go on.
async fn run_shell(
    request: tasks::shell::ShellRequest,
    app: &mut App,
    messages: &mut mpsc::Receiver<AppMessage>,
) {
    let host = request.host.clone();
    let mut ended = tasks::shell::spawn(request);
    let result = loop {
        tokio::select! {
            result = &mut ended => {
                break result.unwrap_or_else(|_| Err("the session thread stopped".into()));
            }
            Some(message) = messages.recv() => app.on_message(message),
        }
    };
    app.shell_ended(&host, result);
}

async fn event_loop(
    session: &mut TerminalSession,
    app: &mut App,
    messages: &mut mpsc::Receiver<AppMessage>,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let mut events = crossterm::event::EventStream::new();
    let mut last_draw = std::time::Instant::now();
    let mut frames = tokio::time::interval(FRAME);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            // In this order: a key is taken before the messages waiting.
            biased;
            _ = cancel.cancelled() => break,
            _ = terminate.recv() => break,
            _ = hangup.recv() => break,
            event = events.next() => match event {
                Some(Ok(event)) => {
                    app.on_event(event);
                    // A key answers at once when the last frame is old enough.
                    if app.is_dirty() && last_draw.elapsed() >= FRAME {
                        session.terminal.draw(|frame| app.draw(frame))?;
                        app.mark_drawn();
                        last_draw = std::time::Instant::now();
                    }
                }
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => break,
            },
            Some(message) = messages.recv() => {
                app.on_message(message);
                // Take in everything queued, then draw once.
                while let Ok(message) = messages.try_recv() {
                    app.on_message(message);
                }
            }
            _ = frames.tick() => {
                app.tick();
                // Clocks and countdowns of a live run move on their own.
                let clock_due = app.run_is_live() && last_draw.elapsed() >= LIVE_CLOCK;
                if app.is_dirty() || clock_due {
                    session.terminal.draw(|frame| app.draw(frame))?;
                    app.mark_drawn();
                    last_draw = std::time::Instant::now();
                }
            }
        }
        if app.should_quit() {
            break;
        }
        if app.take_suspend() {
            session.suspend().context("suspending")?;
            let size = session.terminal.size()?;
            app.dispatch(action::Action::Resize(size.width, size.height));
            app.mark_dirty();
        }
        if let Some(request) = app.take_shell() {
            // The terminal's reader must stop first: it would take the
            // session's keys.
            drop(events);
            session.restore().context("leaving full-screen mode")?;
            run_shell(request, app, messages).await;
            // Dropping the reader left a wake-up behind that would end the
            // next wait for input at once (the cursor query in `resume`):
            // this poll takes it.
            let _ = crossterm::event::poll(Duration::ZERO);
            session.resume().context("entering full-screen mode")?;
            events = crossterm::event::EventStream::new();
            let size = session.terminal.size()?;
            app.dispatch(action::Action::Resize(size.width, size.height));
            app.mark_dirty();
        }
    }
    Ok(())
}
