//! The mixed run: many contacts of a fixed, repeatable mix of scenarios, in
//! flight at once, with a progress line; a store outage injected halfway if
//! asked for.

use std::{
    collections::BTreeMap,
    io::{IsTerminal, Write},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use shared::ContactId;
use tokio::task::JoinHandle;

use super::{
    evidence::{await_legacy, await_metrics, late_runs},
    played_load, summary, BoxError, DemoOptions, LoadWatch, Verdict,
};
use crate::{
    connect::{
        flow::Channel,
        simulator::{self, FlowKind, Flows, Played, Scenario, Simulator},
    },
    stack::{
        faults::{OutageReport, StoreOutage},
        Stack,
    },
};

/// The outage injected, when it began, and what it did; or why it failed.
type Injected = JoinHandle<Result<(Instant, OutageReport), BoxError>>;

/// The mixed run's scenario for contact `i`: a fixed, repeatable mix.
fn scenario(i: usize) -> Scenario {
    let all = simulator::scenarios();
    let pick = |name: &str| {
        all.iter()
            .find(|s| s.name == name)
            .expect("a known scenario")
            .clone()
    };
    // Out of every 20 contacts: 8 fast, 4 slow, 3 error, 3 timeout, 2 hang-up,
    // interleaved (7 and 20 are coprime, so each block of 20 takes every slot once).
    let slot = (i * 7 + 3) % 20;
    let mut scenario = match slot {
        0..=7 => pick("fast"),
        8..=11 => pick("slow"),
        12..=14 => pick("error"),
        15..=17 => pick("timeout"),
        _ => pick("hang-up"),
    };
    // One contact in four meets the original Rules Engine's echo instead, with
    // the same rule: in each block of 20 those are (slots 17, 5, 13, 1, 9) one
    // timeout, one error, one slow and two fast.
    if i % 4 == 2 {
        scenario = scenario
            .on_legacy()
            .expect("every scenario has a legacy one");
    }
    // One contact in ten is a chat, one a task.
    scenario.channel = match i % 10 {
        3 => Channel::Chat,
        7 => Channel::Task,
        _ => Channel::Voice,
    };
    if matches!(scenario.name, "slow" | "legacy-slow") {
        // Slow runs of 1 to 5 s, so some finish inside start and most do not.
        scenario.payload = serde_json::json!({"SleepTime": 1 + i % 5});
    }
    scenario
}

/// The flow contact `i` plays: each of the flows that can play its scenario
/// in turn.
fn flow_kind(i: usize, scenario: &Scenario, flows: &Flows) -> Result<FlowKind, BoxError> {
    let kinds = flows.for_scenario(scenario);
    if kinds.is_empty() {
        let name = scenario.name;
        return Err(format!("no flow loaded can play the {name} contacts of the mixed run: add a flow that invokes start").into());
    }
    Ok(kinds[(i / 4) % kinds.len()])
}

/// Plays the mixed run, then its summary and invariants.
pub(super) async fn run(
    sim: &Simulator,
    stack: &Stack,
    options: &DemoOptions,
    outage: super::Outage,
    load: &LoadWatch,
) -> Result<Verdict, BoxError> {
    let contacts = options.contacts;
    let ramp = if options.ramp.is_zero() {
        String::new()
    } else {
        format!(", arriving over {:.0} s", options.ramp.as_secs_f64())
    };
    println!(
        "\n== Mixed run: {contacts} contacts, {} at a time{ramp}\n",
        options.in_flight
    );
    let started = Arc::new(AtomicUsize::new(0));
    let injected = outage.map(|(store, down)| inject(store, down, started.clone(), contacts));
    let scenarios: Vec<(Scenario, FlowKind)> = (0..contacts)
        .map(|i| {
            let scenario = scenario(i);
            let kind = flow_kind(i, &scenario, &sim.flows)?;
            Ok((scenario, kind))
        })
        .collect::<Result<_, BoxError>>()?;
    let arrived = arrive(sim, &scenarios).await?;
    let began = Instant::now();
    let mut played = play(sim, options, scenarios, arrived, started).await?;
    let elapsed = began.elapsed();
    eprintln!();
    eprintln!(
        "all contacts played in {:.1} s; waiting for the legacy functions' late writes and the consumer's metrics…",
        elapsed.as_secs_f64()
    );
    let outage = match injected {
        Some(task) => Some(
            task.await?
                .map_err(|err| format!("the store outage failed: {err}"))?,
        ),
        None => None,
    };
    // The final state is read only once the legacy functions' last writes
    // have landed and been undone where late.
    await_legacy(stack, &played, Duration::from_secs(90)).await;
    late_runs(sim, &mut played).await?;
    let runs: Vec<String> = played
        .iter()
        .filter_map(|p| p.run_id.as_ref().map(|r| r.to_string()))
        .collect();
    await_metrics(stack, &runs, Duration::from_secs(90)).await;
    // On a machine far behind, an opening write may land later still.
    let later = late_runs(sim, &mut played).await?;
    await_metrics(stack, &later, Duration::from_secs(90)).await;
    let window = outage.map(|(at, report)| (at, at + report.down_for));
    println!(
        "Machine while the mixed run played: {}.\n",
        played_load(load, &played).describe()
    );
    let mut verdict = summary::mixed(stack, &played, elapsed, window, load, options).await?;
    if let Some((at, report)) = outage {
        if !outage_summary(&played, began, at, report) {
            verdict = Verdict::Failed;
        }
    }
    Ok(verdict)
}

/// Stops the store for `down` once half the `contacts` have `started`.
fn inject(
    store: Arc<tokio::sync::Mutex<StoreOutage>>,
    down: Duration,
    started: Arc<AtomicUsize>,
    contacts: usize,
) -> Injected {
    tokio::spawn(async move {
        while started.load(Ordering::Relaxed) < contacts.div_ceil(2) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "\n  ! stopping DynamoDB Local for {:.1} s",
            down.as_secs_f64()
        );
        let at = Instant::now();
        let report = store.lock().await.run(down).await;
        eprintln!("  ! DynamoDB Local answers again");
        report.map(|report| (at, report))
    })
}

/// The rules' state written for every contact before the first call, as a
/// queue of callers would have it, so that arrivals are not held back by the
/// store's writes.
async fn arrive(
    sim: &Simulator,
    scenarios: &[(Scenario, FlowKind)],
) -> Result<Vec<ContactId>, BoxError> {
    let began = Instant::now();
    let mut arriving = tokio::task::JoinSet::new();
    for (i, (scenario, _)) in scenarios.iter().cloned().enumerate() {
        let sim = sim.clone();
        arriving.spawn(async move { (i, sim.arrive(&scenario).await) });
    }
    let mut arrived = vec![None; scenarios.len()];
    while let Some(joined) = arriving.join_next().await {
        let (i, contact) = joined?;
        arrived[i] = Some(contact?);
    }
    eprintln!(
        "  the rules' state of {} contacts written in {:.1} s",
        scenarios.len(),
        began.elapsed().as_secs_f64()
    );
    Ok(arrived
        .into_iter()
        .map(|contact| contact.expect("every contact arrived"))
        .collect())
}

/// Plays the arrived contacts, at most `--in-flight` at a time, arriving
/// evenly over `--ramp-seconds`, with the progress line.
async fn play(
    sim: &Simulator,
    options: &DemoOptions,
    scenarios: Vec<(Scenario, FlowKind)>,
    arrived: Vec<ContactId>,
    started: Arc<AtomicUsize>,
) -> Result<Vec<Played>, BoxError> {
    let contacts = scenarios.len();
    let arrival = options.ramp / contacts.max(1) as u32;
    let began = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(options.in_flight.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, ((scenario, kind), contact)) in scenarios.into_iter().zip(arrived).enumerate() {
        let (sim, finished, semaphore) = (sim.clone(), done.clone(), semaphore.clone());
        let started = started.clone();
        tasks.spawn(async move {
            tokio::time::sleep(arrival * i as u32).await;
            // Every contact waits its turn here, so the progress line moves from the start.
            let permit = semaphore
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            started.fetch_add(1, Ordering::Relaxed);
            let played = sim.play_arrived(contact, &scenario, kind).await;
            finished.fetch_add(1, Ordering::Relaxed);
            drop(permit);
            played
        });
    }
    let mut played = Vec::with_capacity(contacts);
    progress(0, contacts, began);
    while let Some(result) = tasks.join_next().await {
        played.extend(result??);
        progress(done.load(Ordering::Relaxed), contacts, began);
    }
    Ok(played)
}

/// What the Connect-facing calls did while DynamoDB Local was down.
fn outage_summary(played: &[Played], began: Instant, at: Instant, report: OutageReport) -> bool {
    let until = at + report.down_for;
    let mut answers: BTreeMap<&str, usize> = BTreeMap::new();
    let mut slowest = Duration::ZERO;
    for call in played.iter().flat_map(Played::call_steps) {
        if call.sent < until && call.sent + call.took > at {
            *answers
                .entry(call.status.unwrap_or("no status"))
                .or_default() += 1;
            slowest = slowest.max(call.took);
        }
    }
    let calls: usize = answers.values().sum();
    println!(
        "\nStore outage: DynamoDB Local stopped {:.1} s into the run and answered again {:.1} s later \
         (the restart itself took {:.1} s), its data kept.",
        at.duration_since(began).as_secs_f64(),
        report.down_for.as_secs_f64(),
        report.restart_took.as_secs_f64()
    );
    let answered: Vec<String> = answers.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!(
        "{calls} Connect-facing calls overlapped the outage; they answered {}; the slowest took {} ms.",
        if answered.is_empty() { "nothing".into() } else { answered.join(", ") },
        slowest.as_millis()
    );
    // The outage must have met some calls, or it tested nothing.
    let met = calls > 0;
    println!(
        "  {} the outage met Connect-facing calls ({calls})",
        if met { "✓" } else { "✗" }
    );
    met
}

fn progress(done: usize, total: usize, began: Instant) {
    let interactive = std::io::stderr().is_terminal();
    let step = (total / 10).max(1);
    if !interactive && !done.is_multiple_of(step) && done != total {
        return;
    }
    let width = 30;
    let filled = done * width / total.max(1);
    let bar: String = "#".repeat(filled) + &" ".repeat(width - filled);
    let line = format!(
        "  [{bar}] {done}/{total} contacts, {:.0} s",
        began.elapsed().as_secs_f64()
    );
    if interactive {
        eprint!("\r{line}");
    } else {
        eprintln!("{line}");
    }
    let _ = std::io::stderr().flush();
}

/// The most contacts that were in their call at the same moment.
pub(super) fn peak_in_flight(played: &[Played]) -> usize {
    let mut edges: Vec<(Instant, i32)> = played
        .iter()
        .flat_map(|p| [(p.began, 1), (p.ended(), -1)])
        .collect();
    // Ends before starts at the same instant: a contact that ended as another
    // began was not in flight with it.
    edges.sort();
    let (mut now, mut peak) = (0i32, 0i32);
    for (_, change) in edges {
        now += change;
        peak = peak.max(now);
    }
    peak as usize
}

#[cfg(test)]
mod tests;
