//! The report's sections for the people who choose: what a million contacts
//! cost, what a rate of contacts needs, and how long a caller waits once the
//! integration is done.

use serde_json::{json, Value};

use super::{
    markdown::{met, ms, Md},
    Results,
};
use crate::{
    bill::{self, Arch, PerContact, MIX, PRICES},
    caller,
};

/// The asynchronous flows' target: the caller hears `DONE` within this, p95.
const ASYNC_P95_MS: f64 = 300.0;
const COST_TABLE: &str = "| side | memory | architecture | Lambda duration | Lambda requests | DynamoDB reads | DynamoDB writes | total | largest part |\n| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |";
const SHARES_TABLE: &str = "| side | function | invocations per contact | running time per contact | GB-seconds per million contacts | duration per million, x86-64 |\n| --- | --- | ---: | ---: | ---: | ---: |";
const LOAD_TABLE: &str = "| new contacts/s | side | instances busy at once, by function | all functions | read units/s | write units/s | cost per hour, x86-64 | default limits passed |\n| ---: | --- | --- | ---: | ---: | ---: | ---: | --- |";
const CALLER_TABLE: &str = "| flow | integration | contacts | median | p95 | max | p95 until the call returned | not told DONE |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";
const CALLER: &str = "Contacts played by Connect's simulator through each shipped flow (`infra/contact-flows/integration.json`, polling: start, then check-timeout between messages; `integration-native.json`, the rule's own function invoked by Connect asynchronously; `integration-async.json`, start invoked by Connect asynchronously, waiting until the run ends) on the local stack: the functions' release binaries in Lambda's stand-ins, the stream poller and the consumer, on DynamoDB Local. Voice contacts; the rule's message is a sentence of 7 words (2.8 s at 2.5 words a second); the flows' own messages at their length too (the asynchronous flows' comfort message 3.2 s and a 2 s pause). The contacts of one length play 6 at a time (more at once, and DynamoDB Local and the functions' processes on this machine's 2 cores timed out start's store requests), their integrations spread evenly over ±0.5 s around it, so that their `DONE`s fall at different points of the flow's message cycle; p95 is the nearest rank (of 20 contacts, the 19th). The wait is from the `IntegrationEnd` the function's `DONE` committed with to the moment the flow had `DONE` in hand and moved on (the answer of the call that said it; the asynchronous flows: the result loaded); beside it, the part until the call that said `DONE` returned (the asynchronous flows: the invocation's end as Connect saw it), the rest being the flow taking the answer in.";
const CALLER_BOUND: &str = "What bounds each flow. The polling flow can only hear the result between messages: a `DONE` that commits while a message plays waits for the message's end (the rule's 2.8 s, a \"Still working\" after every second poll), then check-timeout answers at once; a `DONE` during check-timeout's own wait is seen at its next read (every 100 ms). The asynchronous flows wait on the invocation's return in a Wait block whose *Keep running while waiting* branch plays the messages: the return cuts the message short and the result is loaded then. What is left is the function's own detection: the native function returns as it commits; start, waiting until the end, sees the `DONE` at its next status read (every 20 ms for its first 2 s, every 100 ms after).";
const SPEND_TABLE: &str = "| flow | integration | start and check-timeout invocations | their GB-seconds | read units | write units | cost per million contacts, x86-64 | against polling |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";
const SPEND: &str = "What each flow costs beyond the integration function's own work, measured on the same contacts: start's and check-timeout's Lambda time (a synchronous call's as Connect waited for it, the asynchronous start's as it ran), billed by the millisecond at the template's 128 MB, and their invocations; the request units of every DynamoDB request of start, check-timeout and the integration function, counted at the local stack's IAM gate (each item and state here is under 1 KB: a strongly consistent read is one read unit, a write one write unit, a transaction two per item). The integration function's Lambda time is its work, the same on every flow, and is left out; so is the stream consumer's, the same per run on every flow. The asynchronous start holds an instance for the whole run, reading the status every 20 ms for 2 s and every 100 ms after, where the polling flow holds none while a message plays; the native flow has neither start nor check-timeout.";

impl Results {
    /// Ours at the template's memory, ours at the naive side's, and the naive
    /// side at the original's: each `None` when the run did not measure it.
    fn contacts(&self) -> Option<[PerContact; 3]> {
        let ours = PerContact::new(&self.capacity, &self.consumer, false, bill::OURS_MEMORY_MB)?;
        let naive = PerContact::new(&self.capacity, &self.consumer, true, bill::NAIVE_MEMORY_MB)?;
        let ours_large = ours.at_memory(bill::NAIVE_MEMORY_MB);
        Some([naive, ours, ours_large])
    }

    /// The cost's summary rows: ours' million contacts over the naive side's.
    pub(super) fn cost_targets(&self, md: &mut Md) {
        let Some([naive, ours, _]) = self.contacts() else {
            return;
        };
        for arch in [Arch::X86, Arch::Arm] {
            let (o, n) = (
                ours.per_million(arch).total(),
                naive.per_million(arch).total(),
            );
            md.target(
                &format!("cost per million contacts of the mix, {}", arch.label()),
                &dollars(o),
                Some((dollars(n), format!("{:.3}", o / n))),
                "(reported)",
                "",
            );
        }
    }

    pub(super) fn cost_section(&self, md: &mut Md) {
        let Some(contacts) = self.contacts() else {
            return;
        };
        let mix: Vec<String> = MIX
            .iter()
            .map(|(speed, weight)| format!("{:.0} % {}", weight * 100.0, speed.label()))
            .collect();
        let intro = format!(
            "A million contacts of the mix {}, each on {} state keys: every invocation's duration measured in the capacity section (start and check-timeout from call to answer, the integration function from its start to its return), billed as Lambda bills, rounded up to the millisecond, times the configured memory; the request units DynamoDB reported for the same contacts; for ours, the stream consumer's time and units per completion from the consumer section (16 contacts at once, 5 ms round trip; {} status records a contact reach it, in batches of up to {}). Prices: {}. Lambda's request price is the same on both architectures; the durations were measured on x86-64 and priced at each architecture's rate. The naive side's start and check-timeout are the original Rules Engine's configuration, Node.js functions of {} MB each; ours' start, check-timeout and consumer are the template's, {} MB; the third row is ours' durations at {} MB, to show what the memory setting alone is worth. The integration function is the customer's, the same work on both sides: it is billed at {} MB on both. check-timeout's calls follow one another without comfort messages, as in the capacity section: its share is the most it can be.",
            mix.join(", "),
            bill::KEYS,
            bill::CONSUMER_RECORDS_PER_CONTACT,
            bill::BATCH_SIZE,
            PRICES.as_of,
            bill::NAIVE_MEMORY_MB,
            bill::OURS_MEMORY_MB,
            bill::NAIVE_MEMORY_MB,
            bill::INTEGRATION_MEMORY_MB,
        );
        let rows = contacts.iter().flat_map(|c| {
            [Arch::X86, Arch::Arm].map(|arch| {
                let b = c.per_million(arch);
                vec![
                    c.side.to_owned(),
                    format!("{} MB", c.memory_mb),
                    arch.label().to_owned(),
                    dollars(b.duration),
                    dollars(b.requests),
                    dollars(b.reads),
                    dollars(b.writes),
                    format!("**{}**", dollars(b.total())),
                    b.largest().0.to_owned(),
                ]
            })
        });
        md.section(
            "Cost per million contacts",
            &intro,
            COST_TABLE,
            rows.collect(),
        );
        md.paragraph("Where the duration goes, by function:");
        md.line("");
        md.table(SHARES_TABLE);
        for c in &contacts[..2] {
            for s in &c.shares {
                md.row(&[
                    format!("{}, {} MB", c.side, share_memory(c, s)),
                    s.function.to_owned(),
                    format!("{:.2}", s.invocations),
                    ms(s.seconds * 1_000.0),
                    format!("{:.0}", s.gb_seconds * 1e6),
                    dollars(s.gb_seconds * 1e6 * PRICES.per_gb_second_x86),
                ]);
            }
        }
        let [naive, ours, large] = &contacts;
        let (n, o, l) = (
            naive.per_million(Arch::X86),
            ours.per_million(Arch::X86),
            large.per_million(Arch::X86),
        );
        md.paragraph(&format!(
            "What dominates: the naive side's bill is mostly {} ({:.0} % of it), ours' mostly {} ({:.0} %). Both hold a Lambda instance while a caller waits (start for its whole wait, check-timeout for each of its own), and the integration function for its whole work, so duration is billed by the wait, not by work done. What ours' memory setting trades: with its own functions at {} MB ours would cost {} per million contacts instead of {} ({:.1}× the duration); {} MB gives a function about a fourteenth of a vCPU (Lambda gives CPU in proportion to memory, a whole vCPU at 1,769 MB), which these functions, waiting on DynamoDB nearly all the time, do not miss while they wait, but a cold start's initialisation and parsing a large state run slower than measured here, where each call had a whole core.",
            n.largest().0,
            n.largest().1 / n.total() * 100.0,
            o.largest().0,
            o.largest().1 / o.total() * 100.0,
            bill::NAIVE_MEMORY_MB,
            dollars(l.total()),
            dollars(o.total()),
            l.duration / o.duration,
            bill::OURS_MEMORY_MB,
        ));
    }

    pub(super) fn load_section(&self, md: &mut Md) {
        let Some([naive, ours, _]) = self.contacts() else {
            return;
        };
        let rows = bill::RATES.iter().flat_map(|&rate| {
            [&ours, &naive].map(|c| {
                let load = c.at_rate(rate, Arch::X86);
                let by_function: Vec<String> = c
                    .shares
                    .iter()
                    .zip(&load.instances)
                    .map(|(s, &n)| format!("{} {}", s.function, instances(n)))
                    .collect();
                vec![
                    format!("{rate:.0}"),
                    c.side.to_owned(),
                    by_function.join(", "),
                    format!("{:.0}", load.total_instances),
                    format!("{:.0}", load.read_units),
                    format!("{:.0}", load.write_units),
                    dollars(load.per_hour),
                    if load.limits.is_empty() {
                        "none".into()
                    } else {
                        load.limits.join("; ")
                    },
                ]
            })
        });
        let intro = format!("From the per-contact figures of the cost's mix, by Little's law: a function's instances busy at once are the rate times its running time per contact (start holds one for its whole wait, check-timeout one for each of its calls, the integration function one for its work). Connect's calls follow one another without comfort messages here, as in the capacity section, which is the most check-timeout can be busy. The limits are the defaults: Lambda's {:.0} concurrent executions per account and Region, shared by every function of the account, and an on-demand table's {:.0} read and {:.0} write request units a second; each can be raised on request.", bill::LAMBDA_CONCURRENCY, bill::TABLE_THROUGHPUT, bill::TABLE_THROUGHPUT);
        md.section(
            "Capacity: what a rate of contacts needs",
            &intro,
            LOAD_TABLE,
            rows.collect(),
        );
    }

    pub(super) fn caller_targets(&self, md: &mut Md) {
        for r in &self.caller {
            // The asynchronous flows hear the result the moment it exists.
            let (target, verdict) = if !r.kind.is_asynchronous() {
                ("(reported)", "")
            } else {
                (
                    "p95 ≤ 300 ms, all told DONE",
                    met(r.p95_ms <= ASYNC_P95_MS && r.not_done == 0),
                )
            };
            md.target(
                &format!(
                    "caller wait after DONE, {} flow, {} s integration (median, p95)",
                    r.kind.as_str(),
                    r.integration_s
                ),
                &format!("{}, {}", ms(r.median_ms), ms(r.p95_ms)),
                None,
                target,
                verdict,
            );
        }
    }

    pub(super) fn caller_section(&self, md: &mut Md) {
        let rows = self.caller.iter().map(|r| {
            vec![
                r.kind.as_str().to_owned(),
                format!("{} s ± 0.5 s", r.integration_s),
                r.contacts.to_string(),
                ms(r.median_ms),
                ms(r.p95_ms),
                ms(r.max_ms),
                ms(r.returned_p95_ms),
                r.not_done.to_string(),
            ]
        });
        md.section(
            "Caller wait after the integration is done",
            CALLER,
            CALLER_TABLE,
            rows.collect(),
        );
        if self.caller.is_empty() {
            return;
        }
        md.paragraph(CALLER_BOUND);
        for r in self
            .caller
            .iter()
            .filter(|r| r.kind.is_asynchronous() && r.p95_ms > ASYNC_P95_MS)
        {
            md.paragraph(&format!(
                "Why the {} flow's {} s row missed its 300 ms: {} of its p95 of {} passed before the call that said `DONE` returned (the function's commit, its last reads and its answer through the Lambda stand-in), the flow taking the answer in the rest; while the row played, {}.",
                r.kind.as_str(),
                r.integration_s,
                ms(r.returned_p95_ms),
                ms(r.p95_ms),
                r.load,
            ));
        }
        let polling = |length: u64| {
            self.caller
                .iter()
                .find(|r| !r.kind.is_asynchronous() && r.integration_s == length)
                .map(|r| r.spend.per_million())
        };
        md.paragraph(SPEND);
        md.table(SPEND_TABLE);
        for r in &self.caller {
            let cost = r.spend.per_million();
            md.row(&[
                r.kind.as_str().to_owned(),
                format!("{} s", r.integration_s),
                format!("{:.2}", r.spend.invocations),
                format!("{:.3}", r.spend.gb_seconds),
                format!("{:.1}", r.spend.read_units),
                format!("{:.1}", r.spend.write_units),
                dollars(cost),
                polling(r.integration_s).map_or("n/a".into(), |p| format!("{:.2}×", cost / p)),
            ]);
        }
        if let Some(dashboard) = &self.dashboard {
            md.paragraph(&format!("The consumer's metrics of these contacts, drawn as the template's CloudWatch dashboard draws them: {dashboard}, beside this report."));
        }
    }

    pub(super) fn money_json(&self) -> Value {
        let contacts = self.contacts();
        json!({
            "prices": PRICES.as_of,
            "mix": MIX.iter().map(|(s, w)| json!({"integration": s.label(), "share": w})).collect::<Vec<_>>(),
            "cost_per_million_contacts": contacts.as_ref().map(|cs| cs.iter().flat_map(|c| [Arch::X86, Arch::Arm].map(|arch| {
                let b = c.per_million(arch);
                json!({"side": c.side, "memory_mb": c.memory_mb, "architecture": arch.label(),
                    "lambda_duration": b.duration, "lambda_requests": b.requests,
                    "dynamodb_reads": b.reads, "dynamodb_writes": b.writes, "total": b.total(),
                    "gb_seconds_per_contact": c.gb_seconds(), "invocations_per_contact": c.invocations(),
                    "read_units_per_contact": c.read_units, "write_units_per_contact": c.write_units})
            })).collect::<Vec<_>>()),
            "capacity_at_rates": contacts.as_ref().map(|cs| bill::RATES.iter().flat_map(|&rate| cs[..2].iter().map(move |c| {
                let l = c.at_rate(rate, Arch::X86);
                json!({"contacts_per_second": rate, "side": c.side,
                    "instances": c.shares.iter().zip(&l.instances).map(|(s, n)| json!({"function": s.function, "instances": n})).collect::<Vec<_>>(),
                    "all_instances": l.total_instances, "read_units_per_second": l.read_units,
                    "write_units_per_second": l.write_units, "cost_per_hour_x86": l.per_hour, "limits": l.limits})
            })).collect::<Vec<_>>()),
            "caller_wait": self.caller.iter().map(|r: &caller::Row| json!({
                "flow": r.kind.as_str(), "integration_s": r.integration_s, "contacts": r.contacts,
                "median_ms": r.median_ms, "p95_ms": r.p95_ms, "max_ms": r.max_ms,
                "returned_p95_ms": r.returned_p95_ms, "not_done": r.not_done, "load": r.load,
                "per_contact": {"gb_seconds": r.spend.gb_seconds, "invocations": r.spend.invocations,
                    "read_units": r.spend.read_units, "write_units": r.spend.write_units},
                "cost_per_million_contacts_x86": r.spend.per_million(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// The memory a share is billed at.
fn share_memory(contact: &PerContact, share: &bill::Share) -> u32 {
    if share.function == crate::capacity::Function::Integration.label() {
        bill::INTEGRATION_MEMORY_MB
    } else {
        contact.memory_mb
    }
}

/// Instances at once: a tenth below ten, so that a function barely busy is not 0.
fn instances(n: f64) -> String {
    if n < 10.0 {
        format!("{n:.1}")
    } else {
        format!("{n:.0}")
    }
}

fn dollars(value: f64) -> String {
    if value >= 100.0 {
        format!("${value:.0}")
    } else {
        format!("${value:.2}")
    }
}
