//! How long a caller waits once the integration is done: contacts played by
//! Connect's simulator through each shipped flow (`infra/contact-flows/`) on
//! the local stack (the functions' release binaries in Lambda's stand-ins, the
//! stream poller and the consumer, on DynamoDB Local), with the comfort
//! messages at their real length. A contact's wait is from the `DONE` its
//! function committed (the `IntegrationEnd` stamped with it) to the moment the
//! flow had that status in hand and moved on: the answer of the call that said
//! `DONE` (polling), or the result loaded (native).
//!
//! The consumer's metrics of the whole section are what the benchmark's
//! dashboard draws.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use local_stack::{
    connect::{
        flow::{Channel, Flow, Speech},
        simulator::{FlowKind, Flows, Played, RuleMessage, Scenario, Simulator, StepKind, ECHO},
    },
    demo::load::LoadWatch,
    stack::{faults::Refusals, Host, Stack, StackOptions},
};
use serde_json::{json, Value};
use shared::{keys::INTEGRATION_END, time::parse_rules_engine, IntegrationStatus};

use crate::{
    bill::{billed_gb_seconds, Arch, Bill},
    progress::Progress,
};

/// The integrations' lengths, in seconds.
pub const LENGTHS_S: [u64; 4] = [1, 3, 6, 12];
/// The contacts of one length are spread evenly over this much around it, so
/// that their `DONE`s fall at different points of the flow's message cycle
/// rather than all at one.
pub const SPREAD_S: f64 = 1.0;
/// Contacts in flight at once. Twenty at once (each start reading every
/// 20 ms) kept DynamoDB Local and the functions' processes so busy on 2 cores
/// that start's 1 s store timeouts failed a third of them: the wait measured
/// would have been the machine's.
pub const AT_ONCE: usize = 6;
/// The rule's message, as the demo's slow scenario has it.
const MESSAGE: &str = "Please hold while we check your account.";
const FLOWS: [&str; 3] = [
    "infra/contact-flows/integration.json",
    "infra/contact-flows/integration-native.json",
    "infra/contact-flows/integration-async.json",
];
/// The Connect-facing functions' memory, the template's (start, check-timeout).
const MEMORY_GB: f64 = crate::bill::OURS_MEMORY_MB as f64 / 1024.0;

/// One flow and integration length.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub kind: FlowKind,
    pub integration_s: u64,
    pub contacts: usize,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// Of the wait, the part until the call that said `DONE` returned (the
    /// rest is the flow taking the answer in), p95.
    pub returned_p95_ms: f64,
    /// Contacts that did not hear `DONE` (timed out, or the flow failed).
    pub not_done: usize,
    /// What one contact of the row spent, on average.
    pub spend: Spend,
    /// The machine while the row played, in words (its cores' busy share, how
    /// late a 100 ms timer of the benchmark fired).
    pub load: String,
}

/// What a contact spends that depends on the flow: start's and
/// check-timeout's Lambda time (billed by the millisecond) and invocations,
/// and the request units of the DynamoDB requests of start, check-timeout and
/// the integration function, as the IAM gate counted them. The integration
/// function's own Lambda time is its work, the same on every flow: left out.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spend {
    pub gb_seconds: f64,
    pub invocations: f64,
    pub read_units: f64,
    pub write_units: f64,
}

impl Spend {
    /// Dollars per million contacts, on x86-64.
    pub fn per_million(&self) -> f64 {
        let (gb_s, calls) = (self.gb_seconds, self.invocations);
        Bill::of(gb_s, calls, self.read_units, self.write_units, Arch::X86).total()
    }

    /// The request units of the requests `since` counted: every item and
    /// every state here is under 1 KB, so a strongly consistent read (a
    /// status GetItem, a state Query) is one read unit, a write one write
    /// unit, and a transaction two per item (DynamoDB's on-demand pricing).
    fn units(requests: &kit::iam::gate::Requests) -> (f64, f64) {
        let (mut reads, mut writes) = (0.0, 0.0);
        for ((role, operation), count) in &requests.0 {
            if *role == kit::iam::Role::Consumer.logical_id() {
                continue;
            }
            match operation.as_str() {
                "GetItem" | "Query" => reads += count.requests as f64,
                "TransactWriteItems" => writes += 2.0 * count.items as f64,
                "PutItem" | "UpdateItem" | "DeleteItem" => writes += count.requests as f64,
                _ => {}
            }
        }
        (reads, writes)
    }
}

/// What the section measured, and the consumer's metrics of it.
pub struct Measured {
    pub rows: Vec<Row>,
    pub metrics: Vec<Value>,
}

/// Plays `contacts` contacts of each length through each flow, side by side.
pub async fn run(functions: &Path, contacts: usize) -> Result<Measured, crate::Error> {
    let mut flows = Flows::default();
    for file in FLOWS {
        let text = std::fs::read_to_string(file).map_err(|err| format!("{file}: {err}"))?;
        let flow = Flow::parse(&text).map_err(|err| format!("{file}: {err}"))?;
        flows.add(flow).map_err(|why| format!("{file}: {why}"))?;
    }
    std::fs::create_dir_all(".local/bench")?;
    let in_flight = u32::try_from(contacts.clamp(1, AT_ONCE))?;
    let stack = Stack::start(&StackOptions {
        in_flight,
        max_instances: 64,
        schedule_every: Duration::from_secs(60),
        abandoned_grace: Duration::from_secs(2),
        log_file: ".local/bench/functions.log".into(),
        refusals: Refusals::every(0),
        start_deaths: local_stack::stack::faults::StartDeaths::every(0),
        host: Host::Processes(functions.to_owned()),
    })
    .await
    .map_err(|err| format!("the local stack: {err}"))?;
    let sim = Simulator {
        store: stack.store.clone(),
        lambda: stack.lambda.clone(),
        flows,
        speech: Speech::default(),
        refusals: stack.refusals(),
    };
    let cases: Vec<(FlowKind, u64)> = FlowKind::ALL
        .into_iter()
        .flat_map(|kind| LENGTHS_S.map(|s| (kind, s)))
        .collect();
    let load = LoadWatch::start();
    let progress = Progress::new("caller wait, flows and lengths");
    let mut rows = Vec::new();
    let mut outcome = Ok(());
    for (i, (kind, seconds)) in cases.iter().enumerate() {
        progress.tick(i, cases.len());
        match case(&sim, &stack, *kind, *seconds, contacts, &load).await {
            Ok(row) => rows.push(row),
            Err(err) => {
                outcome = Err(err);
                break;
            }
        }
    }
    progress.tick(rows.len(), cases.len());
    // The last contacts' completions reach the consumer through the stream.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let metrics = stack.metrics.all();
    stack.stop().await;
    outcome?;
    Ok(Measured { rows, metrics })
}

/// The `i`th of `n` contacts of `seconds`: its integration takes a little
/// longer than the one before, evenly over [`SPREAD_S`] around `seconds`.
fn scenario(seconds: u64, i: usize, n: usize) -> Scenario {
    let length = seconds as f64 - SPREAD_S / 2.0 + SPREAD_S * (i as f64 + 0.5) / n as f64;
    Scenario {
        name: match seconds {
            1 => "wait-1s",
            3 => "wait-3s",
            6 => "wait-6s",
            _ => "wait-12s",
        },
        summary: "the benchmark's caller wait",
        function: ECHO,
        payload: json!({ "SleepTime": length }),
        timeout_s: 20,
        hang_up_at_message: None,
        expect: IntegrationStatus::Done,
        message: RuleMessage::Text(MESSAGE),
        integrations: 1,
        refuse_opening_call: false,
        channel: Channel::Voice,
    }
}

/// `contacts` contacts of one length through one flow, [`AT_ONCE`] at a time.
async fn case(
    sim: &Simulator,
    stack: &Stack,
    kind: FlowKind,
    seconds: u64,
    contacts: usize,
    load: &LoadWatch,
) -> Result<Row, crate::Error> {
    let began = Instant::now();
    let before = stack.dynamodb_requests();
    let mut plays = tokio::task::JoinSet::new();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    for i in 0..contacts {
        let (sim, scenario) = (sim.clone(), scenario(seconds, i, contacts));
        let gate = gate.clone();
        plays.spawn(async move {
            let _turn = gate.acquire_owned().await?;
            let played = sim.play(&scenario, kind).await?;
            let mut waits = Vec::new();
            for pass in &played {
                waits.push((wait(&sim, pass).await?, lambda_spend(pass)));
            }
            Ok::<_, crate::Error>(waits)
        });
    }
    let (mut waits, mut returned) = (Vec::new(), Vec::new());
    let mut not_done = 0;
    let mut spend = Spend::default();
    while let Some(played) = plays.join_next().await {
        for (wait, (gb_seconds, invocations)) in played?? {
            spend.gb_seconds += gb_seconds;
            spend.invocations += invocations;
            match wait {
                Some((wait, until_returned)) => {
                    waits.push(wait.as_secs_f64() * 1_000.0);
                    returned.push(until_returned.as_secs_f64() * 1_000.0);
                }
                None => not_done += 1,
            }
        }
    }
    // The integration functions' last writes land before their DONE is heard.
    let (reads, writes) = Spend::units(&stack.dynamodb_requests().since(&before));
    let n = contacts.max(1) as f64;
    let spend = Spend {
        gb_seconds: spend.gb_seconds / n,
        invocations: spend.invocations / n,
        read_units: reads / n,
        write_units: writes / n,
    };
    waits.sort_by(f64::total_cmp);
    returned.sort_by(f64::total_cmp);
    let rank = |q: f64| nearest_rank(&waits, q);
    Ok(Row {
        kind,
        integration_s: seconds,
        contacts: waits.len() + not_done,
        median_ms: rank(0.5),
        p95_ms: rank(0.95),
        max_ms: rank(1.0),
        returned_p95_ms: nearest_rank(&returned, 0.95),
        not_done,
        spend,
        load: load.between(began, Instant::now()).describe(),
    })
}

/// The nearest-rank `q` quantile of `sorted`.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1],
    }
}

/// start's and check-timeout's Lambda time in a pass, as GB-seconds billed
/// by the millisecond at their memory, and their invocations: a synchronous
/// call's time as Connect waited for it, an asynchronous start's as it ran
/// (its result loaded). The integration function's own time is its work.
fn lambda_spend(pass: &Played) -> (f64, f64) {
    let (mut gb_seconds, mut invocations) = (0.0, 0.0);
    for (function, took) in pass.calls() {
        if matches!(function, "integration-start" | "check-timeout") {
            gb_seconds += billed_gb_seconds(took, MEMORY_GB);
            invocations += 1.0;
        }
    }
    (gb_seconds, invocations)
}

/// From the pass's `DONE` committed to the flow having it, and to the call
/// that said it returning; `None` when the flow never heard `DONE`.
async fn wait(
    sim: &Simulator,
    pass: &Played,
) -> Result<Option<(Duration, Duration)>, crate::Error> {
    let heard = pass.steps.iter().find_map(|step| match &step.what {
        StepKind::Call(call) if call.status.as_deref() == Some("DONE") => {
            let returned = call.sent_at + call.took;
            Some(if call.asynchronous {
                (step.at, returned)
            } else {
                (returned, returned)
            })
        }
        _ => None,
    });
    let Some((heard, returned)) = heard else {
        return Ok(None);
    };
    let state = sim.store.load_state(&pass.contact).await?;
    let Some(end) = state.get_str(INTEGRATION_END) else {
        return Ok(None);
    };
    let committed = instant_of(parse_rules_engine(end)?);
    let since = |at: Duration| (pass.began + at).saturating_duration_since(committed);
    Ok(Some((since(heard), since(returned))))
}

/// The instant of a past wall-clock time (now, for one not past).
fn instant_of(at: DateTime<Utc>) -> Instant {
    let (now, wall) = (Instant::now(), Utc::now());
    (wall - at)
        .to_std()
        .ok()
        .and_then(|back| now.checked_sub(back))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use kit::iam::gate::{Count, Requests};

    use super::Spend;

    #[test]
    fn request_units_count_each_transaction_item_twice_and_leave_the_consumer_out() {
        let count = |requests, items| Count { requests, items };
        let requests = Requests(
            [
                (("StartRole", "GetItem"), count(10, 10)),
                (("CheckTimeoutRole", "Query"), count(2, 2)),
                (("StartRole", "TransactWriteItems"), count(1, 2)),
                (("EchoRole", "UpdateItem"), count(3, 3)),
                (("ConsumerRole", "GetItem"), count(50, 50)),
                (("ConsumerRole", "UpdateItem"), count(5, 5)),
            ]
            .map(|((role, op), c)| ((role, op.to_owned()), c))
            .into(),
        );
        assert_eq!(Spend::units(&requests), (12.0, 7.0));
        let spend = Spend {
            gb_seconds: 1.0,
            invocations: 2.0,
            read_units: 12.0,
            write_units: 7.0,
        };
        let expected = 1e6 * 0.000_016_666_7 + 2.0 * 0.20 + 12.0 * 0.125 + 7.0 * 0.625;
        assert!((spend.per_million() - expected).abs() < 1e-9);
    }
}
