//! Capturing what a test logs, as the JSON lines Lambda would get, so tests can
//! assert on the analytics records and on what must never be logged.
//!
//! The subscriber is installed for the current thread only
//! (`tracing::subscriber::set_default`), so use it in a current-thread test
//! (`#[tokio::test]`'s default) and keep the guard alive for the whole run.

use std::{
    io,
    sync::{Arc, Mutex, OnceLock},
};

use serde_json::Value;
use tracing::subscriber::DefaultGuard;

/// The captured log lines of one test.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

struct Writer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// With a single subscriber registered, tracing computes a callsite's interest
/// from the registering thread's subscriber alone: a callsite first hit by another
/// test's thread (which has none) would be cached as "never" and go silent here
/// too. A second, permanent (no-op) subscriber makes tracing ask each event's own
/// thread instead.
fn keep_interest_per_thread() {
    static SECOND: OnceLock<tracing::Dispatch> = OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}

fn lock(buffer: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    // A test that panicked mid-write leaves bytes that are still worth reading.
    buffer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Logs {
    /// Captures every event at DEBUG and above, formatted as `telemetry::init`
    /// does on Lambda (JSON, fields flattened, current span included), until the
    /// guard is dropped.
    pub fn capture() -> (Self, DefaultGuard) {
        let logs = Self::default();
        let buffer = logs.0.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || Writer(buffer.clone()))
            .finish();
        keep_interest_per_thread();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// Everything logged so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }

    /// Every line logged so far, parsed.
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).expect("every captured line is JSON"))
            .collect()
    }

    /// The lines whose `EventCode` is `code` (`INTEGRATION_RUN`, `INTEGRATION_END`).
    pub fn events(&self, code: &str) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|line| line["EventCode"] == code)
            .collect()
    }
}
