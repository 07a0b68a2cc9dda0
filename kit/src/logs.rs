//! Capturing what a test logs, as the JSON lines Lambda would get, so tests can
//! assert on the analytics records and on what must never be logged.
//!
//! The subscriber is installed for the current thread only
//! (`tracing::subscriber::set_default`), so use it in a current-thread test
//! (`#[tokio::test]`'s default) and keep the guard alive for the whole run.
//!
//! With `TEST_LOG_DIR` set (scripts/test sets it), every line any test logs,
//! captured or not, is also written to a file of the test process's own there,
//! so that the whole suite's logs can be searched for personal data afterwards
//! (`scan-logs`).

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
        FileWriter.write(bytes)
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

/// This process's file under `TEST_LOG_DIR`, when that is set.
fn suite_log() -> Option<&'static Mutex<std::fs::File>> {
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::path::PathBuf::from(std::env::var_os("TEST_LOG_DIR")?);
        std::fs::create_dir_all(&dir).ok()?;
        let name = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "test".into());
        let path = dir.join(format!("{name}-{}.log", std::process::id()));
        std::fs::File::create(path).ok().map(Mutex::new)
    })
    .as_ref()
}

/// Appends to this process's suite log, if there is one.
struct FileWriter;

impl io::Write for FileWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match suite_log() {
            Some(file) => file
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .write_all(bytes)
                .map(|()| bytes.len()),
            None => Ok(bytes.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sends every log line of this test process to its suite log, once, when
/// `TEST_LOG_DIR` is set; threads with a captured subscriber write there too.
pub fn to_suite_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if suite_log().is_none() {
            return;
        }
        let _ = tracing::subscriber::set_global_default(lambda_json(|| FileWriter));
    });
}

/// Every event at DEBUG and above as `telemetry::init` writes it on Lambda
/// (JSON, fields flattened, current span included), to `writer`.
fn lambda_json<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(writer)
        .finish()
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
        to_suite_log();
        let logs = Self::default();
        let buffer = logs.0.clone();
        keep_interest_per_thread();
        let subscriber = lambda_json(move || Writer(buffer.clone()));
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
