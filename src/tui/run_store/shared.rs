//! A run's store as the absorbing task and its readers share it.
//!
//! Under a flood of output the absorbing task has events waiting at all
//! times: released and taken back at once, the lock would go to it again
//! and again before a frame or a key that waits for it got a turn (tens of
//! milliseconds measured at 10,000 hosts). So readers say they wait, the
//! absorbing task steps aside while one does, and it hands the lock over
//! directly when it is done with a batch.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Mutex, MutexGuard};

use super::RunStore;

#[derive(Debug)]
pub struct StoreCell {
    store: Mutex<RunStore>,
    readers_waiting: AtomicUsize,
}

impl StoreCell {
    pub fn new(store: RunStore) -> StoreCell {
        StoreCell {
            store: Mutex::new(store),
            readers_waiting: AtomicUsize::new(0),
        }
    }

    /// The store for reading (or a control's small change): waits at most
    /// for the batch of events the absorbing task has in hand. A panic
    /// elsewhere while it was held does not make it unreadable.
    pub fn read(&self) -> MutexGuard<'_, RunStore> {
        self.readers_waiting.fetch_add(1, Ordering::SeqCst);
        let guard = self.store.lock();
        self.readers_waiting.fetch_sub(1, Ordering::SeqCst);
        guard
    }

    /// Readers waiting for the store now.
    pub fn readers_waiting(&self) -> usize {
        self.readers_waiting.load(Ordering::SeqCst)
    }

    /// The store for absorbing a batch of events, once no reader waits.
    pub async fn absorb_turn(&self) -> MutexGuard<'_, RunStore> {
        // Short: a waiting reader holds the lock or is about to.
        while self.readers_waiting() > 0 {
            tokio::task::yield_now().await;
        }
        self.store.lock()
    }

    /// Ends the absorbing task's turn: a reader waiting gets the lock
    /// directly.
    pub fn end_turn(guard: MutexGuard<'_, RunStore>) {
        MutexGuard::unlock_fair(guard);
    }
}
