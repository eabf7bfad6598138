//! Renews the heartbeat of every lock and host slot this process holds,
//! on a thread of its own with its own connection, until dropped.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::params;

use crate::engine::events::now_millis;
use crate::journal::ProcessIdentity;

pub struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// `None` if the thread or its connection cannot start: the rows then
    /// live as long as this process does (the owner check still frees them
    /// after it), or until their heartbeat expires on other machines.
    pub fn start(journal: &Path, me: ProcessIdentity, every: Duration) -> Option<Heartbeat> {
        let conn = crate::journal::open_connection(journal).ok()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("jobdeck-heartbeat".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    for table in ["run_locks", "host_slots"] {
                        // Table names are our own constants; values are bound.
                        let _ = conn.execute(
                            &format!(
                                "UPDATE {table} SET heartbeat_at = ?5 WHERE owner_pid = ?1
                                 AND owner_host = ?2 AND owner_start IS ?3 AND owner_boot IS ?4"
                            ),
                            params![me.pid, me.host, me.start, me.boot_id, now_millis()],
                        );
                    }
                }
            })
            .ok()?;
        Some(Heartbeat {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
