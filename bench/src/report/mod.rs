//! The report: every figure of one run, as Markdown (the summary against the
//! targets, then the details) and as JSON, with a line describing the machine.

use serde_json::{json, Value};

use crate::{capacity, latency, meter::Usage, startup};

mod machine;
mod markdown;
mod money;

pub use machine::{load_average, Machine};

/// Everything one run measured; a section left out of the run is empty.
#[derive(Default)]
pub struct Results {
    pub machine: Machine,
    /// Ours' wait settings, in a line.
    pub settings: String,
    pub latency: Vec<latency::Row>,
    pub capacity: Vec<capacity::Row>,
    pub wait: Option<capacity::Wait>,
    pub startup: Vec<startup::Figure>,
    pub consumer: crate::consumer::Measured,
    pub caller: Vec<crate::caller::Row>,
    /// The consumer's metric documents of the caller-wait section, for the dashboard.
    pub metrics: Vec<Value>,
    /// Where the dashboard of those metrics was written, in words.
    pub dashboard: Option<String>,
}

/// Ours over the naive side's; not a number where the naive side's is zero.
fn ratio(ours: f64, naive: f64) -> f64 {
    if naive == 0.0 {
        f64::NAN
    } else {
        ours / naive
    }
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "requests": u.requests,
        "read_requests": u.reads,
        "rcu": u.rcu,
        "wcu": u.wcu(),
        "plain_wcu": u.plain_wcu,
        "transactional_wcu": u.transactional_wcu,
        "unreported": u.unreported,
        "by_operation": u.by_operation.iter().map(|(op, n)| json!({"operation": op, "requests": n})).collect::<Vec<_>>(),
    })
}

impl Results {
    /// Nothing was measured: every section is empty.
    pub fn is_empty(&self) -> bool {
        self.latency.is_empty()
            && self.capacity.is_empty()
            && self.wait.is_none()
            && self.startup.is_empty()
            && self.consumer.figures.is_empty()
            && self.caller.is_empty()
    }

    pub fn json(&self) -> Value {
        let m = &self.machine;
        json!({
            "machine": {
                "line": m.line(), "date": m.date, "cores": m.cores, "cpu": m.cpu,
                "memory_gib": m.memory_gib, "dynamodb_local": m.dynamodb_local,
                "load_average_before": m.load_before, "load_average_after": m.load_after, "commit": m.commit,
            },
            "wait_settings": self.settings,
            "detection_latency": self.latency.iter().map(|r| json!({
                "integration_ms": r.work_ms, "in_flight": r.in_flight,
                "ours": side_json(&r.ours), "naive": side_json(&r.naive),
                "median_ratio": ratio(r.ours.median_ms, r.naive.median_ms),
            })).collect::<Vec<_>>(),
            "capacity_per_contact": self.capacity.iter().map(|r| json!({
                "state_keys": r.keys, "integration": r.speed.label(),
                "ours": contact_json(&r.ours), "naive": contact_json(&r.naive),
                "read_ratio": ratio(r.ours.usage.rcu, r.naive.usage.rcu),
                "write_ratio": ratio(r.ours.usage.wcu(), r.naive.usage.wcu()),
                "price_of_atomic_transitions_wcu": r.ours.usage.transactional_wcu / 2.0,
            })).collect::<Vec<_>>(),
            "check_timeout_wait": self.wait.as_ref().map(|w| json!({
                "state_keys": w.keys, "ours": usage_json(&w.ours), "naive": usage_json(&w.naive),
            })),
            "startup": self.startup.iter().map(|f| json!({
                "function": f.function, "starts": f.starts, "startup_median_ms": f.startup_median_ms,
                "startup_max_ms": f.startup_max_ms, "invocation_median_ms": f.invocation_median_ms,
                "peak_rss_kb": f.peak_rss_kb, "answer": f.answer,
            })).collect::<Vec<_>>(),
            "consumer": self.consumer.figures.iter().map(|f| json!({
                "batch": f.label, "records": f.records, "records_per_second": f.records_per_second,
                "median_ms": f.median.as_secs_f64() * 1000.0,
            })).collect::<Vec<_>>(),
            "decisions": self.money_json(),
            "consumer_per_completion": {
                "rcu": self.consumer.per_completion.0, "wcu": self.consumer.per_completion.1,
                "requests": self.consumer.per_completion.2,
            },
        })
    }
}

fn side_json(s: &latency::Side) -> Value {
    json!({"median_ms": s.median_ms, "p95_ms": s.p95_ms, "p99_ms": s.p99_ms, "reads_per_call": s.reads_per_call, "runs": s.runs, "unseen": s.unseen})
}

fn contact_json(c: &capacity::Contact) -> Value {
    json!({"calls": c.calls, "final_status": c.status, "usage": usage_json(&c.usage)})
}

#[cfg(test)]
mod tests;
