//! The tests' clock: a [`shared::Clock`] that moves only when told to, so a
//! test can stand a run past its deadline without waiting for it.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use shared::{clock::Sleep, Clock};

/// A clock that moves only when told to; its `sleep` moves it forward and returns
/// at once. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.lock() = at;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A panic while holding this lock cannot leave the time half-written.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.advance(duration);
        // Yield, so that a poll loop on a manual clock still lets other tasks run.
        Box::pin(tokio::task::yield_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_only_by_advance_and_sleep() {
        let start = Utc::now();
        let clock = ManualClock::new(start);
        let shared = clock.clone();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(5));
        shared.sleep(Duration::from_millis(250)).await;
        assert_eq!(clock.now(), start + chrono::Duration::milliseconds(5_250));
    }
}
