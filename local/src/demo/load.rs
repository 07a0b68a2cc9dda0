//! How busy the machine is while a run plays. On Lambda every instance has a
//! CPU of its own; on the local stack every instance, DynamoDB Local and the
//! simulator share this machine's cores, and when they ask for more than the
//! cores give, every call slows down at once. A call that broke Connect's 8 s
//! limit while the machine was that far behind says nothing about the
//! functions; one that broke it on a machine keeping up does.
//!
//! The watch samples, every [`EVERY`]: how late a timer of this process fired
//! (the time a runnable task waited for a core), the share of the machine's
//! CPU time that was busy since the last sample (`/proc/stat`), and the number
//! of tasks runnable (`/proc/loadavg`).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How often the watch samples.
pub const EVERY: Duration = Duration::from_millis(100);

/// A timer of this process that fires this late means its tasks waited that
/// long for a core: a hundred of start's 20 ms poll intervals.
const LAG_OVERLOADED: Duration = Duration::from_secs(2);
/// The cores busy this share of the time, with this many runnable tasks per
/// core waiting for them, over a call's whole span.
const BUSY_OVERLOADED: f64 = 0.95;
const RUNNABLE_PER_CORE_OVERLOADED: f64 = 4.0;

/// One sample of the machine's load.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Instant,
    /// How late this process's timer fired.
    pub lag: Duration,
    /// The share of all cores' time that was busy since the last sample.
    pub busy: Option<f64>,
    /// Tasks runnable at the sample, on the whole machine.
    pub runnable: Option<u32>,
}

/// The machine's load over a stretch of time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub samples: usize,
    pub worst_lag: Duration,
    /// The mean share of the cores' time that was busy.
    pub busy: Option<f64>,
    /// The mean number of runnable tasks.
    pub runnable: Option<f64>,
    pub cores: usize,
}

impl Load {
    /// The load over `samples`, on a machine of `cores` cores.
    pub fn of(samples: &[Sample], cores: usize) -> Self {
        let mean = |values: Vec<f64>| {
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        Self {
            samples: samples.len(),
            worst_lag: samples.iter().map(|s| s.lag).max().unwrap_or_default(),
            busy: mean(samples.iter().filter_map(|s| s.busy).collect()),
            runnable: mean(
                samples
                    .iter()
                    .filter_map(|s| s.runnable.map(f64::from))
                    .collect(),
            ),
            cores: cores.max(1),
        }
    }

    /// Whether the machine could not keep up: a timer of this process fired
    /// seconds late, or the cores were saturated with several tasks per core
    /// waiting throughout.
    pub fn overloaded(&self) -> bool {
        let saturated = self.busy.is_some_and(|b| b >= BUSY_OVERLOADED)
            && self
                .runnable
                .is_some_and(|r| r >= RUNNABLE_PER_CORE_OVERLOADED * self.cores as f64);
        self.worst_lag >= LAG_OVERLOADED || saturated
    }

    /// The figures, in words.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!(
            "a 100 ms timer of this process fired up to {} ms late",
            self.worst_lag.as_millis()
        )];
        if let Some(busy) = self.busy {
            parts.push(format!(
                "the {} cores were busy {:.0}% of the time",
                self.cores,
                busy * 100.0
            ));
        }
        if let Some(runnable) = self.runnable {
            parts.push(format!(
                "{:.1} tasks on average were ready to run ({:.1} per core)",
                runnable,
                runnable / self.cores as f64
            ));
        }
        parts.join(", ")
    }
}

/// Samples the machine's load in the background until dropped.
pub struct LoadWatch {
    samples: Arc<Mutex<Vec<Sample>>>,
    /// The sampling task; none for a watch made of given samples.
    task: Option<tokio::task::JoinHandle<()>>,
    cores: usize,
}

impl LoadWatch {
    pub fn start() -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let kept = samples.clone();
        let task = tokio::spawn(async move {
            let mut cpu = read_cpu_times();
            loop {
                let asked = Instant::now();
                tokio::time::sleep(EVERY).await;
                let at = Instant::now();
                let now = read_cpu_times();
                let busy = match (cpu, now) {
                    (Some(before), Some(after)) => busy_share(before, after),
                    _ => None,
                };
                cpu = now;
                let sample = Sample {
                    at,
                    lag: at.duration_since(asked).saturating_sub(EVERY),
                    busy,
                    runnable: read_runnable(),
                };
                kept.lock().unwrap_or_else(|p| p.into_inner()).push(sample);
            }
        });
        // The cores that /proc/stat and /proc/loadavg speak of: the whole
        // machine's, which a container's CPU limit may hide from the std call.
        let cores = std::fs::read_to_string("/proc/stat")
            .ok()
            .map(|stat| count_cores(&stat))
            .filter(|n| *n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Self {
            samples,
            task: Some(task),
            cores,
        }
    }

    /// A watch that saw `samples` on a machine of `cores` cores.
    #[cfg(test)]
    pub(crate) fn from_samples(samples: Vec<Sample>, cores: usize) -> Self {
        Self {
            samples: Arc::new(Mutex::new(samples)),
            task: None,
            cores,
        }
    }

    /// The load from `from` to `to`: every sample whose span (its sleep and
    /// its lateness, which ends at `at`) overlaps that time.
    pub fn between(&self, from: Instant, to: Instant) -> Load {
        let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let within: Vec<Sample> = samples
            .iter()
            .filter(|s| s.at >= from && s.at.checked_sub(EVERY + s.lag).is_none_or(|b| b <= to))
            .copied()
            .collect();
        Load::of(&within, self.cores)
    }
}

impl Drop for LoadWatch {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// The first line of `/proc/stat`: (busy, total) jiffies of all cores.
type CpuTimes = (u64, u64);

fn read_cpu_times() -> Option<CpuTimes> {
    parse_cpu_times(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// `cpu  user nice system idle iowait irq softirq steal ...`: idle and iowait
/// are the time no task wanted the core.
fn parse_cpu_times(stat: &str) -> Option<CpuTimes> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}

/// The `cpuN` lines of `/proc/stat`.
fn count_cores(stat: &str) -> usize {
    stat.lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count()
}

fn busy_share(before: CpuTimes, after: CpuTimes) -> Option<f64> {
    let total = after.1.checked_sub(before.1)?;
    let busy = after.0.checked_sub(before.0)?;
    (total > 0).then(|| busy as f64 / total as f64)
}

fn read_runnable() -> Option<u32> {
    parse_runnable(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

/// `0.52 0.58 0.59 3/517 12345`: the fourth field is runnable/all tasks. The
/// reader itself is one of the runnable ones.
fn parse_runnable(loadavg: &str) -> Option<u32> {
    let running = loadavg.split_whitespace().nth(3)?.split('/').next()?;
    running.parse::<u32>().ok().map(|n| n.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(lag_ms: u64, busy: f64, runnable: u32) -> Sample {
        Sample {
            at: Instant::now(),
            lag: Duration::from_millis(lag_ms),
            busy: Some(busy),
            runnable: Some(runnable),
        }
    }

    #[test]
    fn a_machine_that_keeps_up_is_not_overloaded() {
        let samples = [sample(3, 0.6, 2), sample(40, 0.99, 5), sample(8, 0.7, 3)];
        assert!(!Load::of(&samples, 2).overloaded());
    }

    #[test]
    fn a_timer_seconds_late_is_an_overloaded_machine() {
        let samples = [sample(3, 0.5, 1), sample(2_500, 0.6, 2)];
        assert!(Load::of(&samples, 2).overloaded());
    }

    #[test]
    fn saturated_cores_with_a_long_queue_are_an_overloaded_machine() {
        let samples = [sample(300, 0.97, 9), sample(200, 1.0, 11)];
        let load = Load::of(&samples, 2);
        assert!(load.overloaded(), "{load:?}");
        // The same queue on four times the cores is kept up with.
        assert!(!Load::of(&samples, 8).overloaded());
    }

    #[test]
    fn no_samples_are_no_overload() {
        assert!(!Load::of(&[], 2).overloaded());
    }

    #[test]
    fn cpu_times_and_runnable_tasks_are_read_from_proc() {
        let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n";
        assert_eq!(parse_cpu_times(stat), Some((150, 1000)));
        assert_eq!(count_cores(stat), 1);
        assert_eq!(busy_share((150, 1000), (240, 1100)), Some(0.9));
        assert_eq!(parse_runnable("0.52 0.58 0.59 3/517 12345\n"), Some(2));
        assert_eq!(parse_runnable("garbage"), None);
    }
}
