//! What the pools tell of themselves: each function's counts and timings, and
//! its instances as they are now.

use std::time::Duration;

use super::{Functions, Pool};

impl Functions {
    /// What each function's pool has done so far, by function name.
    pub fn report(&self) -> Vec<FunctionReport> {
        let mut reports: Vec<FunctionReport> =
            self.pools.values().map(|pool| pool.report()).collect();
        reports.sort_by(|a, b| a.name.cmp(b.name));
        reports
    }

    /// The instances of `function` as they are now, oldest first (none for a
    /// function not in the pools): for a caller that measures an instance's
    /// process at a known point of its life, its memory once it has answered.
    pub fn instances(&self, function: &str) -> Vec<InstanceState> {
        let Some(pool) = self.pools.get(function) else {
            return Vec::new();
        };
        let inner = pool.lock();
        let mut ids: Vec<u32> = inner.instances.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter()
            .map(|id| InstanceState {
                pid: inner.instances[&id].pid,
                waiting: inner.idle.iter().any(|(waiting, _)| *waiting == id),
            })
            .collect()
    }
}

impl Pool {
    pub(super) fn report(&self) -> FunctionReport {
        FunctionReport {
            name: self.spec.name,
            limit: self.spec.limit,
            ..self.lock().report.clone()
        }
    }
}

/// What one function's pool did.
#[derive(Debug, Clone, Default)]
pub struct FunctionReport {
    pub name: &'static str,
    pub limit: u32,
    pub sync_invocations: u64,
    pub async_invocations: u64,
    /// Synchronous invocations refused at the concurrency limit.
    pub throttled: u64,
    /// From an instance's process start to its first request for work.
    pub cold_starts: Vec<Duration>,
    /// The most invocations running at once.
    pub peak_concurrency: u32,
    /// How long each asynchronous invocation waited for an instance.
    pub async_queue_delays: Vec<Duration>,
    /// Invocations that outlived the function's timeout.
    pub timed_out: u64,
    /// Instances that ended on their own (a crash, or an init that failed),
    /// not stopped for a timeout or by the pool.
    pub crashed: u64,
    /// Asynchronous invocations whose function failed (Lambda would retry them
    /// twice, minutes later; the pools do not).
    pub async_failures: u64,
}

/// One instance of a function, as [`Functions::instances`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceState {
    /// Its process's id, once the process has started.
    pub pid: Option<u32>,
    /// It has asked for work and waits for it: it has answered what it was given.
    pub waiting: bool,
}
