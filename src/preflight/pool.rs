//! Connections kept open for a run, and — in the console — across runs.
//!
//! [`SessionPool`] is one run's: the sessions opened before it (pre-flight,
//! or lent by the warm pool), handed to it host by host. When the run is
//! done with a session it goes back through [`SessionPool::release`]:
//! closed in a headless run, kept in the [`WarmPool`] in the console.
//!
//! [`WarmPool`] outlives runs: idle sessions by [`PoolKey`] (address, port,
//! user, how the host is reached), each kept for the idle timeout, at most
//! `cap` of them (the oldest go first). The next run lends them: a host
//! whose key has one starts without a handshake; one that died meanwhile
//! is redialled once by the engine, as a pre-flight connection is.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::transport::{HostSession, Proxy, Target};

/// The console's defaults: 10 minutes idle, at most this many kept.
pub const DEFAULT_WARM_IDLE: Duration = Duration::from_secs(600);
pub const DEFAULT_WARM_CAP: usize = 2048;

/// Open sessions by host index. A host's first step takes its own; what is
/// left when the run ends is released then.
#[derive(Clone, Default)]
pub struct SessionPool {
    slots: Arc<Mutex<Vec<Option<HostSession>>>>,
    /// Where released sessions go (the console), with each host's key.
    warm: Option<(WarmPool, Arc<[Option<PoolKey>]>)>,
}

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionPool({} open)", self.open())
    }
}

impl SessionPool {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Option<HostSession>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `session` for `host`.
    pub fn put(&self, host: usize, session: HostSession) {
        let mut slots = self.lock();
        if slots.len() <= host {
            slots.resize_with(host + 1, || None);
        }
        slots[host] = Some(session);
    }

    /// The host's session, if one was kept for it.
    pub fn take(&self, host: usize) -> Option<HostSession> {
        self.lock().get_mut(host).and_then(Option::take)
    }

    /// How many sessions are kept.
    pub fn open(&self) -> usize {
        self.lock().iter().filter(|s| s.is_some()).count()
    }

    /// The run is done with `host`'s session: it goes to the warm pool if
    /// there is one (and it still lives), else it is closed.
    pub async fn release(&self, host: usize, session: HostSession) {
        let rejected = match &self.warm {
            Some((warm, keys)) => match keys.get(host) {
                Some(Some(key)) => warm.keep(key.clone(), session),
                _ => Some(session),
            },
            None => Some(session),
        };
        if let Some(session) = rejected {
            session.close().await;
        }
    }

    /// Releases every session still kept (the run ended, or these hosts
    /// never ran).
    pub async fn close_all(&self) {
        let left: Vec<(usize, HostSession)> = self
            .lock()
            .iter_mut()
            .enumerate()
            .filter_map(|(host, slot)| slot.take().map(|s| (host, s)))
            .collect();
        for (host, session) in left {
            self.release(host, session).await;
        }
    }
}

/// What makes a connection reusable for another run's host: the same
/// place reached the same way as the same user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    address: String,
    port: u16,
    user: String,
    /// Each jump hop as `user@address:port`, or the ProxyCommand.
    path: Vec<String>,
}

impl PoolKey {
    /// `None` for a target that is not reached over SSH.
    pub fn of(target: &Target) -> Option<PoolKey> {
        if target.connection != crate::transport::Connection::Ssh {
            return None;
        }
        let path = match &target.proxy {
            Proxy::Direct => Vec::new(),
            Proxy::Jump(hops) => hops
                .iter()
                .map(|hop| format!("{}@{}:{}", hop.user, hop.address, hop.port))
                .collect(),
            Proxy::Command(command) => vec![format!("command:{command}")],
        };
        Some(PoolKey {
            address: target.address.clone(),
            port: target.port,
            user: target.user.clone(),
            path,
        })
    }
}

struct Idle {
    key: PoolKey,
    session: HostSession,
    since: Instant,
}

struct Warm {
    idle_timeout: Duration,
    cap: usize,
    /// Oldest first.
    idle: Vec<Idle>,
}

impl Warm {
    /// Takes out what has idled too long or died; the caller closes it.
    fn expire(&mut self, now: Instant) -> Vec<HostSession> {
        let timeout = self.idle_timeout;
        let (gone, kept): (Vec<Idle>, Vec<Idle>) = std::mem::take(&mut self.idle)
            .into_iter()
            .partition(|i| now.duration_since(i.since) >= timeout || i.session.is_closed());
        self.idle = kept;
        gone.into_iter().map(|i| i.session).collect()
    }
}

/// The console's sessions between runs. Cheap to clone.
#[derive(Clone)]
pub struct WarmPool(Arc<Mutex<Warm>>);

impl std::fmt::Debug for WarmPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WarmPool({} idle)", self.idle())
    }
}

impl WarmPool {
    pub fn new(idle_timeout: Duration, cap: usize) -> WarmPool {
        WarmPool(Arc::new(Mutex::new(Warm {
            idle_timeout,
            cap,
            idle: Vec::new(),
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Warm> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many sessions it keeps at most.
    pub fn cap(&self) -> usize {
        self.lock().cap
    }

    /// How many sessions wait for a run.
    pub fn idle(&self) -> usize {
        self.lock().idle.len()
    }

    /// The pool a run over `hosts` uses: a kept session for each host whose
    /// key has one, and the warm pool to give them back to. Sessions
    /// already in `run` (pre-flight's) stay.
    pub fn lend(&self, hosts: &[&Target], run: SessionPool) -> SessionPool {
        let keys: Vec<Option<PoolKey>> = hosts.iter().map(|t| PoolKey::of(t)).collect();
        let expired = {
            let mut warm = self.lock();
            let expired = warm.expire(Instant::now());
            let mut slots = run.lock();
            if slots.len() < hosts.len() {
                slots.resize_with(hosts.len(), || None);
            }
            for (host, key) in keys.iter().enumerate() {
                let Some(key) = key else { continue };
                if slots[host].is_some() {
                    continue;
                }
                // The most recently used first: the likeliest to be alive.
                if let Some(at) = warm.idle.iter().rposition(|i| &i.key == key) {
                    slots[host] = Some(warm.idle.remove(at).session);
                }
            }
            expired
        };
        close_later(expired);
        SessionPool {
            slots: run.slots,
            warm: Some((self.clone(), keys.into())),
        }
    }

    /// `lend` for a plan: its hosts' warm sessions into `plan.sessions`
    /// (beside pre-flight's), and the run gives them back (and its new
    /// ones) when it is done with them.
    pub fn lend_to(&self, plan: &mut crate::engine::Plan) {
        let targets: Vec<&Target> = plan.hosts.iter().map(|h| &h.target).collect();
        plan.sessions = self.lend(&targets, std::mem::take(&mut plan.sessions));
    }

    /// Keeps `session` under `key`; what it cannot keep comes back to be
    /// closed (a dead or local session). Over the cap, the oldest idle one
    /// is closed.
    fn keep(&self, key: PoolKey, session: HostSession) -> Option<HostSession> {
        if session.is_closed() || !matches!(session, HostSession::Ssh(_)) {
            return Some(session);
        }
        let evicted = {
            let mut warm = self.lock();
            if warm.cap == 0 {
                return Some(session);
            }
            let mut evicted = Vec::new();
            while warm.idle.len() >= warm.cap {
                evicted.push(warm.idle.remove(0).session);
            }
            warm.idle.push(Idle {
                key,
                session,
                since: Instant::now(),
            });
            evicted
        };
        close_later(evicted);
        None
    }

    /// Closes what has idled past the timeout (the console calls this
    /// now and then; `lend` does it too).
    pub async fn sweep(&self) {
        let expired = self.lock().expire(Instant::now());
        for session in expired {
            session.close().await;
        }
    }

    /// Closes every idle session (the console is closing).
    pub async fn close_all(&self) {
        let all: Vec<HostSession> = self.lock().idle.drain(..).map(|i| i.session).collect();
        for session in all {
            session.close().await;
        }
    }
}

/// Closes sessions off the caller's path (a disconnect is a round trip);
/// dropped at once outside a runtime.
fn close_later(sessions: Vec<HostSession>) {
    if sessions.is_empty() {
        return;
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            for session in sessions {
                session.close().await;
            }
        });
    }
}
