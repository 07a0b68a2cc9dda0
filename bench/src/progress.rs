//! One progress line on stderr for long work, rewritten in place.

use std::{
    io::Write,
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct Progress {
    label: String,
    last: Mutex<Option<Instant>>,
}

impl Progress {
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            last: Mutex::new(None),
        }
    }

    /// `done` of `total`, at most a few times a second.
    pub fn tick(&self, done: usize, total: usize) {
        let mut last = self.last.lock().expect("not poisoned");
        if done < total && last.is_some_and(|at| at.elapsed() < Duration::from_millis(250)) {
            return;
        }
        *last = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r[bench] {}: {done}/{total}   ", self.label);
        if done >= total {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }
}
