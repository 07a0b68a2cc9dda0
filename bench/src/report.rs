//! The report: every figure of one run, as Markdown (the summary against the
//! targets, then the details) and as JSON, with a line describing the machine.

use serde_json::{json, Value};

use crate::{capacity, latency, meter::Usage, startup};

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
    pub consumer: Vec<crate::consumer::Figure>,
}

#[derive(Default)]
pub struct Machine {
    pub date: String,
    pub cores: usize,
    pub cpu: String,
    pub memory_gib: f64,
    pub dynamodb_local: String,
    pub load_before: String,
    pub load_after: String,
    pub commit: String,
}

impl Machine {
    pub fn probe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_owned())
            .unwrap_or_else(|| "unknown CPU".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kb: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        Self {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            memory_gib: memory_kb / 1024.0 / 1024.0,
            dynamodb_local: std::env::var("DYNAMODB_LOCAL_VERSION")
                .unwrap_or_else(|_| "unknown".into()),
            load_before: load_average(),
            load_after: String::new(),
            commit: std::env::var("BENCH_COMMIT").unwrap_or_else(|_| "unknown".into()),
        }
    }

    pub fn line(&self) -> String {
        format!(
            "{} cores ({}), {:.1} GiB memory, Linux; DynamoDB Local {}; load average (1, 5, 15 min) {} before, {} after; commit {}; {}",
            self.cores, self.cpu, self.memory_gib, self.dynamodb_local, self.load_before, self.load_after, self.commit, self.date
        )
    }
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".into())
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

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

fn operations(u: &Usage) -> String {
    u.by_operation
        .iter()
        .map(|(op, n)| format!("{n} {op}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Results {
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
            "consumer": self.consumer.iter().map(|f| json!({
                "batch": f.label, "records": f.records, "records_per_second": f.records_per_second,
                "median_ms": f.median.as_secs_f64() * 1000.0,
            })).collect::<Vec<_>>(),
        })
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let push = |md: &mut String, line: &str| {
            md.push_str(line);
            md.push('\n');
        };
        push(&mut md, "# Benchmark");
        push(&mut md, "");
        push(&mut md, &format!("Machine: {}.", self.machine.line()));
        push(&mut md, "");
        push(&mut md, "Ours: the real integration-start, check-timeout and echo code (their `handle` functions on `shared::Store` and `shared::waiting`). Naive: `bench/src/naive.rs`, the original Rules Engine's access pattern (a consistent Query of the whole partition every 100 ms in start, in a loop without sleeping in check-timeout, plain BatchWriteItem writes). Both on the same DynamoDB Local, in the same run, contacts interleaved.");
        push(&mut md, "");
        push(&mut md, &format!("Ours' wait settings: {}.", self.settings));
        push(&mut md, "");
        push(&mut md, "## Summary against the targets");
        push(&mut md, "");
        push(
            &mut md,
            "| figure | ours | naive | ours / naive | target | |",
        );
        push(&mut md, "| --- | ---: | ---: | ---: | --- | --- |");
        for r in &self.latency {
            let q = ratio(r.ours.median_ms, r.naive.median_ms);
            push(&mut md, &format!(
                "| detection latency median, {} ms integration | {:.1} ms | {:.1} ms | {:.2} | ≤ 1/3 and ≤ 40 ms | {} |",
                r.work_ms, r.ours.median_ms, r.naive.median_ms, q, met(q <= 1.0 / 3.0 && r.ours.median_ms <= 40.0)
            ));
        }
        for r in &self.capacity {
            let q = ratio(r.ours.usage.rcu, r.naive.usage.rcu);
            let (target, ok) = match (r.speed, r.keys) {
                (capacity::Speed::Slow, 100) => ("≤ 1/20", q <= 0.05),
                (capacity::Speed::Fast, _) => ("≤ 1", q <= 1.0),
                _ => ("(reported)", true),
            };
            push(&mut md, &format!(
                "| read capacity per contact, {}, {} keys | {:.1} RCU | {:.1} RCU | {:.3} | {target} | {} |",
                r.speed.label(), r.keys, r.ours.usage.rcu, r.naive.usage.rcu, q, met(ok)
            ));
        }
        for r in &self.capacity {
            let q = ratio(r.ours.usage.wcu(), r.naive.usage.wcu());
            push(&mut md, &format!(
                "| write capacity per contact, {}, {} keys | {:.1} WCU | {:.1} WCU | {:.2} | ≤ 2.5 | {} |",
                r.speed.label(), r.keys, r.ours.usage.wcu(), r.naive.usage.wcu(), q, met(q <= 2.5)
            ));
        }
        if let Some(w) = &self.wait {
            push(
                &mut md,
                &format!(
                    "| requests per 2 s check-timeout wait | {} | {} | {:.3} | ≤ 25 | {} |",
                    w.ours.requests,
                    w.naive.requests,
                    ratio(w.ours.requests as f64, w.naive.requests as f64),
                    met(w.ours.requests <= 25)
                ),
            );
        }
        for f in &self.startup {
            push(
                &mut md,
                &format!(
                    "| start-up, {} (median of {}) | {:.1} ms | n/a | | ≤ 20 ms | {} |",
                    f.function,
                    f.starts,
                    f.startup_median_ms,
                    met(f.startup_median_ms <= 20.0)
                ),
            );
            let mb = f.peak_rss_kb as f64 / 1024.0;
            push(
                &mut md,
                &format!(
                    "| peak RSS, {} | {:.1} MB | n/a | | ≤ 25 MB | {} |",
                    f.function,
                    mb,
                    met(mb <= 25.0)
                ),
            );
        }
        for f in &self.consumer {
            let target = if f.label == "unrelated records" {
                Some(100_000.0)
            } else {
                None
            };
            push(
                &mut md,
                &format!(
                    "| consumer, {} ({} per batch) | {:.0} records/s | n/a | | {} | {} |",
                    f.label,
                    f.records,
                    f.records_per_second,
                    target.map_or("(reported)".into(), |t: f64| format!("≥ {t:.0}/s")),
                    target.map_or("", |t| met(f.records_per_second >= t))
                ),
            );
        }
        push(&mut md, "");
        push(&mut md, "n/a: the original has no Rust binaries and no stream consumer, so there is nothing of it to start or to feed a stream.");
        if !self.latency.is_empty() {
            push(&mut md, "");
            push(&mut md, "## Detection latency");
            push(&mut md, "");
            push(&mut md, &format!("From the function's `DONE` committed to start's answer. The stand-in for Lambda queues each asynchronous invocation for 0 to {} ms before the function starts (spread evenly over the runs, the same for both sides of a pair, so that no finish is in step with either side's read schedule); the function then works the integration's length.", crate::latency::QUEUE_SPREAD_MS - 1));
            push(&mut md, "");
            push(&mut md, "| integration | runs per side (ours, naive) | in flight | ours median | p95 | p99 | reads per start | naive median | p95 | p99 | reads per start |");
            push(
                &mut md,
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            );
            for r in &self.latency {
                push(&mut md, &format!(
                    "| {} ms | {}, {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {} | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
                    r.work_ms, r.ours.runs, r.naive.runs, r.in_flight, r.ours.median_ms, r.ours.p95_ms, r.ours.p99_ms, r.ours.reads_per_call,
                    r.naive.median_ms, r.naive.p95_ms, r.naive.p99_ms, r.naive.reads_per_call
                ));
            }
            let unseen: Vec<String> = self
                .latency
                .iter()
                .filter(|r| r.ours.unseen + r.naive.unseen > 0)
                .map(|r| {
                    format!(
                        "{} ms: ours {}, naive {}",
                        r.work_ms, r.ours.unseen, r.naive.unseen
                    )
                })
                .collect();
            if !unseen.is_empty() {
                push(&mut md, "");
                push(&mut md, &format!("Runs left out because start's 2 s wait ended before the run did (not a detection): {}.", unseen.join("; ")));
            }
        }
        if !self.capacity.is_empty() {
            push(&mut md, "");
            push(&mut md, "## Capacity per contact");
            push(&mut md, "");
            push(&mut md, "Every request of start, check-timeout and the integration function for one contact, with `ReturnConsumedCapacity=TOTAL`, as DynamoDB Local reported it (the median contact by read capacity). Connect's calls follow one another without comfort messages. Price of atomic transitions: what ours' transactions cost beyond the same writes made plain (a transactional write costs twice a plain one).");
            push(&mut md, "");
            push(&mut md, "| integration | keys | side | calls | RCU | WCU | of which transactional | price of atomic transitions | requests |");
            push(
                &mut md,
                "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
            );
            for r in &self.capacity {
                for (side, c) in [("ours", &r.ours), ("naive", &r.naive)] {
                    push(
                        &mut md,
                        &format!(
                            "| {} | {} | {side} | {} | {:.1} | {:.1} | {:.1} | {:.1} WCU | {} |",
                            r.speed.label(),
                            r.keys,
                            c.calls,
                            c.usage.rcu,
                            c.usage.wcu(),
                            c.usage.transactional_wcu,
                            c.usage.transactional_wcu / 2.0,
                            operations(&c.usage)
                        ),
                    );
                }
            }
            let unreported: u32 = self
                .capacity
                .iter()
                .map(|r| r.ours.usage.unreported + r.naive.usage.unreported)
                .sum();
            push(&mut md, "");
            push(
                &mut md,
                &format!("Requests answered without ConsumedCapacity: {unreported}."),
            );
        }
        if let Some(w) = &self.wait {
            push(&mut md, "");
            push(&mut md, "## One check-timeout wait");
            push(&mut md, "");
            push(
                &mut md,
                &format!(
                    "One call for an open run that does not finish within it ({} state keys).",
                    w.keys
                ),
            );
            push(&mut md, "");
            push(&mut md, "| side | requests | RCU | requests by operation |");
            push(&mut md, "| --- | ---: | ---: | --- |");
            for (side, u) in [("ours", &w.ours), ("naive", &w.naive)] {
                push(
                    &mut md,
                    &format!(
                        "| {side} | {} | {:.1} | {} |",
                        u.requests,
                        u.rcu,
                        operations(u)
                    ),
                );
            }
        }
        if !self.startup.is_empty() {
            push(&mut md, "");
            push(&mut md, "## Start-up and memory");
            push(&mut md, "");
            push(&mut md, "Each function's release bootstrap spawned with Lambda's environment against a Lambda Runtime API on 127.0.0.1: start-up is spawn → first `GET /runtime/invocation/next`; then one real invocation on DynamoDB Local; peak RSS is `VmHWM` when it asks for the next.");
            push(&mut md, "");
            push(&mut md, "| function | starts | start-up median | max | invocation median | peak RSS (max) |");
            push(&mut md, "| --- | ---: | ---: | ---: | ---: | ---: |");
            for f in &self.startup {
                push(
                    &mut md,
                    &format!(
                        "| {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MB |",
                        f.function,
                        f.starts,
                        f.startup_median_ms,
                        f.startup_max_ms,
                        f.invocation_median_ms,
                        f.peak_rss_kb as f64 / 1024.0
                    ),
                );
            }
        }
        if !self.consumer.is_empty() {
            push(&mut md, "");
            push(&mut md, "## Stream consumer");
            push(&mut md, "");
            push(&mut md, "Measured last, on its own table: the real consumer's `stream_batch`, metrics counted rather than printed. Unrelated records make no request; each completion is a conditional stamp write on DynamoDB Local, in order.");
            push(&mut md, "");
            push(&mut md, "| batch | records | median time | records/s |");
            push(&mut md, "| --- | ---: | ---: | ---: |");
            for f in &self.consumer {
                push(
                    &mut md,
                    &format!(
                        "| {} | {} | {:.1} ms | {:.0} |",
                        f.label,
                        f.records,
                        f.median.as_secs_f64() * 1000.0,
                        f.records_per_second
                    ),
                );
            }
        }
        md
    }
}

fn side_json(s: &latency::Side) -> Value {
    json!({"median_ms": s.median_ms, "p95_ms": s.p95_ms, "p99_ms": s.p99_ms, "reads_per_call": s.reads_per_call, "runs": s.runs, "unseen": s.unseen})
}

fn contact_json(c: &capacity::Contact) -> Value {
    json!({"calls": c.calls, "final_status": c.status, "usage": usage_json(&c.usage)})
}
