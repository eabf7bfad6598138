//! Connections opened before the run, handed to it host by host.

use std::sync::{Arc, Mutex};

use crate::transport::HostSession;

/// Open sessions by host index. A host's first step takes its own; what is
/// left when the run ends is closed then.
#[derive(Clone, Default)]
pub struct SessionPool(Arc<Mutex<Vec<Option<HostSession>>>>);

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionPool({} open)", self.open())
    }
}

impl SessionPool {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Option<HostSession>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Closes every session still kept.
    pub async fn close_all(&self) {
        let left: Vec<HostSession> = self.lock().iter_mut().filter_map(Option::take).collect();
        for session in left {
            session.close().await;
        }
    }
}
