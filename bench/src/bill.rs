//! What a contact costs and what a rate of contacts needs, from the figures
//! the run measured: each invocation's duration and each contact's request
//! units (the capacity section, on [`KEYS`] state keys), and the consumer's
//! time and units per completion (the consumer section). Nothing here is
//! measured; everything is arithmetic on what was, at the prices of
//! [`PRICES`].

use crate::{
    capacity::{self, Function, Speed},
    consumer::{self, Measured},
};

/// The contacts of the cost's mix: 70 % fast, 25 % slow (6 s), 5 % timed out.
pub const MIX: [(Speed, f64); 3] = [
    (Speed::Fast, 0.70),
    (Speed::Slow, 0.25),
    (Speed::TimedOut, 0.05),
];
/// The state keys of the contacts the cost is taken from.
pub const KEYS: usize = 20;
/// Ours' memory: the template's `Globals` `MemorySize` (checked by a test).
pub const OURS_MEMORY_MB: u32 = 128;
/// The original Rules Engine's published configuration: Node.js functions of
/// 1,024 MB each.
pub const NAIVE_MEMORY_MB: u32 = 1_024;
/// The integration function is the customer's, the same work on either side:
/// billed at the original's 1,024 MB on both, so that the difference between
/// the sides is the pattern's.
pub const INTEGRATION_MEMORY_MB: u32 = 1_024;
/// Status records of one contact that pass the event source mapping's filter
/// and reach the consumer: `START`, `RUN` and the outcome (the stamp's write
/// and every other state key are filtered out, which Lambda does not bill).
pub const CONSUMER_RECORDS_PER_CONTACT: f64 = 3.0;
/// The template's `BatchSize`: a busy stream fills its batches (at 10
/// contacts a second its 1 s window holds about 30 records).
pub const BATCH_SIZE: f64 = 100.0;
/// Lambda's default concurrent executions per account and Region.
pub const LAMBDA_CONCURRENCY: f64 = 1_000.0;
/// DynamoDB's default table-level throughput of an on-demand table, read and
/// write request units per second each.
pub const TABLE_THROUGHPUT: f64 = 40_000.0;
/// The rates of the capacity table, new contacts per second.
pub const RATES: [f64; 3] = [10.0, 100.0, 1_000.0];

/// On-demand list prices, us-east-1, in dollars.
pub struct Prices {
    /// When they were read, and from where.
    pub as_of: &'static str,
    pub per_million_requests: f64,
    pub per_gb_second_x86: f64,
    pub per_gb_second_arm: f64,
    pub per_million_read_units: f64,
    pub per_million_write_units: f64,
}

pub const PRICES: Prices = Prices {
    as_of: "AWS's on-demand list prices for us-east-1 as of 2026-12-03 (Lambda: requests, and the first tier of duration, of aws.amazon.com/lambda/pricing; DynamoDB: on-demand request units since the 2024-11-01 price cut, of aws.amazon.com/dynamodb/pricing/on-demand); no free tier, no savings plans",
    per_million_requests: 0.20,
    per_gb_second_x86: 0.000_016_666_7,
    per_gb_second_arm: 0.000_013_333_4,
    per_million_read_units: 0.125,
    per_million_write_units: 0.625,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86,
    Arm,
}

impl Arch {
    pub fn label(self) -> &'static str {
        match self {
            Arch::X86 => "x86-64",
            Arch::Arm => "arm64",
        }
    }

    fn per_gb_second(self) -> f64 {
        match self {
            Arch::X86 => PRICES.per_gb_second_x86,
            Arch::Arm => PRICES.per_gb_second_arm,
        }
    }
}

/// One function's share of a contact of the mix, on average.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub function: &'static str,
    pub invocations: f64,
    /// Running time, unrounded: what holds an instance.
    pub seconds: f64,
    /// Billed: each invocation rounded up to the millisecond, times the memory.
    pub gb_seconds: f64,
}

/// What an average contact of the mix uses on one side.
#[derive(Debug, Clone, PartialEq)]
pub struct PerContact {
    pub side: &'static str,
    /// The memory of the pattern's functions (start, check-timeout, the
    /// consumer); the integration function's is [`INTEGRATION_MEMORY_MB`].
    pub memory_mb: u32,
    pub shares: Vec<Share>,
    pub read_units: f64,
    pub write_units: f64,
}

/// What Lambda bills for a call that ran `ran` at `gb` of memory: GB-seconds,
/// by the millisecond begun.
pub fn billed_gb_seconds(ran: std::time::Duration, gb: f64) -> f64 {
    (ran.as_secs_f64() * 1_000.0).ceil() / 1_000.0 * gb
}

/// A million contacts' bill, in dollars, by part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bill {
    pub duration: f64,
    pub requests: f64,
    pub reads: f64,
    pub writes: f64,
}

impl Bill {
    /// A million contacts' bill, each contact spending what is given.
    pub fn of(
        gb_seconds: f64,
        invocations: f64,
        read_units: f64,
        write_units: f64,
        arch: Arch,
    ) -> Self {
        Bill {
            duration: 1e6 * gb_seconds * arch.per_gb_second(),
            requests: invocations * PRICES.per_million_requests,
            reads: read_units * PRICES.per_million_read_units,
            writes: write_units * PRICES.per_million_write_units,
        }
    }

    pub fn total(&self) -> f64 {
        self.duration + self.requests + self.reads + self.writes
    }

    /// The largest part: its name and its dollars.
    pub fn largest(&self) -> (&'static str, f64) {
        [
            ("Lambda duration", self.duration),
            ("Lambda requests", self.requests),
            ("DynamoDB reads", self.reads),
            ("DynamoDB writes", self.writes),
        ]
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(("", 0.0))
    }
}

impl PerContact {
    /// From the capacity rows of [`KEYS`] keys of every speed of the mix (ours
    /// or the naive side's) and, for ours, the consumer's figures; `None` when
    /// the run did not measure them all. The pattern's functions are billed
    /// at `memory_mb`, the integration function at [`INTEGRATION_MEMORY_MB`].
    pub fn new(
        rows: &[capacity::Row],
        consumer: &Measured,
        naive: bool,
        memory_mb: u32,
    ) -> Option<Self> {
        let gb = f64::from(memory_mb) / 1_024.0;
        let integration_gb = f64::from(INTEGRATION_MEMORY_MB) / 1_024.0;
        let mut shares: Vec<Share> = Function::ALL
            .map(|f| Share {
                function: f.label(),
                invocations: 0.0,
                seconds: 0.0,
                gb_seconds: 0.0,
            })
            .into();
        let (mut read_units, mut write_units) = (0.0, 0.0);
        for (speed, weight) in MIX {
            let row = rows.iter().find(|r| r.keys == KEYS && r.speed == speed)?;
            let contact = if naive { &row.naive } else { &row.ours };
            for (function, ran) in &contact.invocations {
                let share = &mut shares[Function::ALL.iter().position(|f| f == function)?];
                share.invocations += weight;
                share.seconds += weight * ran.as_secs_f64();
                let gb = match function {
                    Function::Integration => integration_gb,
                    Function::Start | Function::CheckTimeout => gb,
                };
                share.gb_seconds += weight * billed_gb_seconds(*ran, gb);
            }
            read_units += weight * contact.usage.rcu;
            write_units += weight * contact.usage.wcu();
        }
        if !naive {
            let completion = consumer.figure(consumer::CONCURRENT_ROUND_TRIP_LABEL)?;
            let unrelated = consumer.figure(consumer::UNRELATED_LABEL)?;
            let per = |f: &consumer::Figure| f.median.as_secs_f64() / f.records as f64;
            // One completion per contact; its other records cost what an
            // unrelated one does (parsed, nothing to write).
            let seconds = per(completion) + (CONSUMER_RECORDS_PER_CONTACT - 1.0) * per(unrelated);
            shares.push(Share {
                function: "stream-consumer",
                invocations: CONSUMER_RECORDS_PER_CONTACT / BATCH_SIZE,
                seconds,
                gb_seconds: seconds * gb,
            });
            let (rcu, wcu, _) = consumer.per_completion;
            read_units += rcu;
            write_units += wcu;
        }
        Some(Self {
            side: if naive { "naive" } else { "ours" },
            memory_mb,
            shares,
            read_units,
            write_units,
        })
    }

    /// The same contact with the pattern's functions at another memory size
    /// (the same durations; the integration function's memory unchanged).
    pub fn at_memory(&self, memory_mb: u32) -> Self {
        let scale = f64::from(memory_mb) / f64::from(self.memory_mb);
        let mut other = self.clone();
        other.memory_mb = memory_mb;
        for share in &mut other.shares {
            if share.function != Function::Integration.label() {
                share.gb_seconds *= scale;
            }
        }
        other
    }

    pub fn gb_seconds(&self) -> f64 {
        self.shares.iter().map(|s| s.gb_seconds).sum()
    }

    pub fn invocations(&self) -> f64 {
        self.shares.iter().map(|s| s.invocations).sum()
    }

    /// A million contacts' bill.
    pub fn per_million(&self, arch: Arch) -> Bill {
        let (gb_s, calls) = (self.gb_seconds(), self.invocations());
        Bill::of(gb_s, calls, self.read_units, self.write_units, arch)
    }

    /// What `rate` new contacts a second need, by Little's law: each
    /// function's instances busy at once, request units a second, dollars an
    /// hour, and the default limits they pass.
    pub fn at_rate(&self, rate: f64, arch: Arch) -> Load {
        let instances: Vec<f64> = self.shares.iter().map(|s| rate * s.seconds).collect();
        let total: f64 = instances.iter().sum();
        let (read_units, write_units) = (rate * self.read_units, rate * self.write_units);
        let mut limits = Vec::new();
        if total > LAMBDA_CONCURRENCY {
            limits.push(format!(
                "Lambda's {LAMBDA_CONCURRENCY:.0} concurrent executions ({:.1}×)",
                total / LAMBDA_CONCURRENCY
            ));
        }
        for (units, name) in [(read_units, "read"), (write_units, "write")] {
            if units > TABLE_THROUGHPUT {
                limits.push(format!(
                    "the table's {TABLE_THROUGHPUT:.0} {name} request units a second ({:.1}×)",
                    units / TABLE_THROUGHPUT
                ));
            }
        }
        Load {
            rate,
            instances,
            total_instances: total,
            read_units,
            write_units,
            per_hour: rate * 3_600.0 * self.per_million(arch).total() / 1e6,
            limits,
        }
    }
}

/// What a rate of contacts needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub rate: f64,
    /// Instances busy at once, by function, in the order of the shares.
    pub instances: Vec<f64>,
    pub total_instances: f64,
    pub read_units: f64,
    pub write_units: f64,
    pub per_hour: f64,
    /// The default limits passed, in words.
    pub limits: Vec<String>,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{capacity::Contact, meter::Usage};

    fn contact(invocations: &[(Function, u64)], rcu: f64, wcu: f64) -> Contact {
        Contact {
            usage: Usage {
                rcu,
                plain_wcu: wcu,
                ..Usage::default()
            },
            calls: 1,
            status: "DONE".into(),
            invocations: invocations
                .iter()
                .map(|(f, micros)| (*f, Duration::from_micros(*micros)))
                .collect(),
        }
    }

    /// Every speed of the mix alike: start 1.5 ms (billed 2 ms), the
    /// integration 1,000 ms; 4 RCU and 10 WCU.
    fn rows() -> Vec<capacity::Row> {
        MIX.map(|(speed, _)| {
            let c = contact(
                &[(Function::Start, 1_500), (Function::Integration, 1_000_000)],
                4.0,
                10.0,
            );
            capacity::Row {
                keys: KEYS,
                speed,
                ours: c.clone(),
                naive: c,
            }
        })
        .into()
    }

    #[test]
    fn a_contact_is_billed_by_the_millisecond_rounded_up_at_its_memory() {
        let naive = PerContact::new(&rows(), &Measured::default(), true, 1_024).expect("all rows");
        // 2 ms + 1,000 ms at 1 GB
        assert!((naive.gb_seconds() - 1.002).abs() < 1e-9, "{naive:?}");
        // At 512 MB start's 2 ms cost half; the integration's 1,000 ms do not change.
        let half = PerContact::new(&rows(), &Measured::default(), true, 512).expect("all rows");
        assert!((half.gb_seconds() - 1.001).abs() < 1e-9, "{half:?}");
        assert!((naive.invocations() - 2.0).abs() < 1e-9);
        let bill = naive.per_million(Arch::X86);
        assert!((bill.duration - 1.002e6 * 0.000_016_666_7).abs() < 1e-6);
        assert!((bill.requests - 0.40).abs() < 1e-9);
        assert!((bill.reads - 4.0 * 0.125).abs() < 1e-9);
        assert!((bill.writes - 10.0 * 0.625).abs() < 1e-9);
        assert_eq!(bill.largest().0, "Lambda duration");
        // An eighth of the memory is an eighth of the pattern's functions' bill.
        let small = naive.at_memory(128);
        assert!((small.gb_seconds() - (0.002 / 8.0 + 1.0)).abs() < 1e-9);
        assert!(naive.per_million(Arch::Arm).duration < bill.duration);
    }

    #[test]
    fn a_rate_holds_instances_for_the_time_they_run_and_says_which_limit_it_passes() {
        let naive = PerContact::new(&rows(), &Measured::default(), true, 1_024).expect("all rows");
        let load = naive.at_rate(1_000.0, Arch::X86);
        // Each contact holds the integration 1 s: 1,000 at once, start 1.5.
        assert!((load.instances[2] - 1_000.0).abs() < 1e-6);
        assert!((load.total_instances - 1_001.5).abs() < 1e-6);
        assert_eq!(load.limits.len(), 1, "{:?}", load.limits);
        assert!(load.limits[0].starts_with("Lambda's 1000 concurrent executions"));
        assert!(naive.at_rate(10.0, Arch::X86).limits.is_empty());
        assert!((load.write_units - 10_000.0).abs() < 1e-6);
    }

    #[test]
    fn ours_needs_the_consumer_s_figures_and_a_missing_speed_leaves_no_bill() {
        assert!(PerContact::new(&rows(), &Measured::default(), false, 128).is_none());
        let partial = &rows()[..2];
        assert!(PerContact::new(partial, &Measured::default(), true, 1_024).is_none());
    }

    #[test]
    fn ours_memory_and_the_consumer_s_batches_are_the_template_s() {
        let template = include_str!("../../infra/template.yaml");
        let sizes: Vec<&str> = template
            .lines()
            .filter(|l| l.trim_start().starts_with("MemorySize:"))
            .collect();
        assert_eq!(sizes, [format!("    MemorySize: {OURS_MEMORY_MB}")]);
        assert!(template.contains(&format!("\n            BatchSize: {BATCH_SIZE:.0}\n")));
    }
}
