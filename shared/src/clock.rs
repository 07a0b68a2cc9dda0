//! Time, passed in. Everything that asks what time it is or waits goes through a
//! [`Clock`], so a test can stand a run past its deadline without waiting for it
//! (the tests' clock is `kit::ManualClock`).

use std::{future::Future, pin::Pin, time::Duration};

use chrono::{DateTime, Utc};

/// A boxed sleep, so `Clock` stays object-safe.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}
