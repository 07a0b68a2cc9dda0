//! What the demo prints after a run: the mixed run's outcomes, call latencies
//! and metrics, and what the Lambda stand-in did.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use kit::{lambda::FunctionReport, percentiles};
use shared::IntegrationStatus;

use super::{
    evidence::{expects_late_finish, late_finishes, untold_status},
    invariants,
    mixed::peak_in_flight,
    played_load, BoxError, DemoOptions, LoadWatch, Verdict, Window,
};
use crate::{
    connect::simulator::{FlowKind, Played},
    stack::Stack,
};

/// The mixed run's summary, then its invariants; the verdict on both.
pub(super) async fn mixed(
    stack: &Stack,
    played: &[Played],
    elapsed: Duration,
    outage: Window,
    load: &LoadWatch,
    options: &DemoOptions,
) -> Result<Verdict, BoxError> {
    let by_flow: Vec<String> = FlowKind::ALL
        .iter()
        .map(|kind| {
            let n = played.iter().filter(|p| p.flow == *kind).count();
            format!("{n} on the {} flow", kind.as_str())
        })
        .collect();
    println!(
        "Played {} contacts in {:.1} s, at most {} of them in flight at once; {}.\n",
        played.len(),
        elapsed.as_secs_f64(),
        peak_in_flight(played),
        by_flow.join(", "),
    );
    outcomes(stack, played).await?;
    latencies(played);
    metrics(stack, played);
    legacy(stack, played, outage).await;
    super::retried::summary(stack, played);
    println!("Invariants:");
    let checked = invariants::check(stack, played, outage, load).await?;
    for (what, held) in &checked.invariants {
        println!("  {} {what}", if *held { "✓" } else { "✗" });
    }
    let fewer = format!(
        "try fewer contacts in flight (--in-flight {}), or spread their arrivals (--ramp-seconds)",
        (options.in_flight / 2).max(1)
    );
    Ok(checked.verdict(options.in_flight, &fewer, played_load(load, played)))
}

/// The final statuses, beside those the scenarios expect.
async fn outcomes(stack: &Stack, played: &[Played]) -> Result<(), BoxError> {
    let mut outcomes: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for p in played {
        outcomes.entry(p.scenario.expect.as_str()).or_default().1 += 1;
    }
    for p in played {
        let status = stack.store.status(&p.contact).await?.map(|r| r.status);
        outcomes
            .entry(status.map_or("none", IntegrationStatus::as_str))
            .or_default()
            .0 += 1;
    }
    println!("| final status | contacts | expected by scenario |");
    println!("| --- | --- | --- |");
    for (status, (got, expected)) in &outcomes {
        println!("| {status} | {got} | {expected} |");
    }
    Ok(())
}

/// How long each Connect-facing call and each whole contact took.
fn latencies(played: &[Played]) {
    println!("\n| Connect-facing call | calls | p50 | p95 | p99 | max |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut by_function: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for p in played {
        for (function, took) in p.calls() {
            by_function.entry(function).or_default().push(took);
        }
    }
    let contact_times: Vec<Duration> = played
        .iter()
        .filter_map(|p| p.steps.last().map(|s| s.at))
        .collect();
    for (name, times) in by_function
        .into_iter()
        .chain([("whole contact", contact_times)])
    {
        let n = times.len();
        if let Some(p) = percentiles(times) {
            let ms = |k: &str| format!("{} ms", p[k].as_millis());
            println!(
                "| {name} | {n} | {} | {} | {} | {} |",
                ms("p50"),
                ms("p95"),
                ms("p99"),
                ms("max")
            );
        }
    }
}

/// The metric documents the consumer emitted.
fn metrics(stack: &Stack, played: &[Played]) {
    let runs: BTreeSet<String> = played
        .iter()
        .filter_map(|p| p.run_id.as_ref().map(|r| r.to_string()))
        .collect();
    let all = stack.metrics.all();
    let of_these_runs = |name: &str| {
        all.iter()
            .filter(|d| {
                d.get(name).is_some() && d["RunId"].as_str().is_some_and(|r| runs.contains(r))
            })
            .count()
    };
    let count = |name: &str| all.iter().filter(|d| d.get(name).is_some()).count();
    println!(
        "\nMetrics the consumer emitted for these runs: {} IntegrationCount documents, {} AbandonedRuns documents, \
         {} LateFinishes documents; since the stack started: {} StreamLag and {} MalformedRecords documents.\n",
        of_these_runs("IntegrationCount"),
        of_these_runs("AbandonedRuns"),
        of_these_runs("LateFinishes"),
        count("StreamLag"),
        count("MalformedRecords")
    );
}

/// The contacts that met the original Rules Engine's echo, and its late
/// finishes that the consumer undid.
async fn legacy(stack: &Stack, played: &[Played], outage: Window) {
    let legacy: Vec<&Played> = played.iter().filter(|p| p.scenario.is_legacy()).collect();
    if legacy.is_empty() {
        return;
    }
    let mut by_scenario: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &legacy {
        *by_scenario.entry(p.scenario.name).or_default() += 1;
    }
    let late = late_finishes(&stack.metrics);
    let undone: usize = legacy
        .iter()
        .filter_map(|p| p.run_id.as_ref())
        .filter_map(|run| late.by_run.get(run.as_str()))
        .sum();
    // Of the late finishes expected, those due while the store was down may
    // be lost: the legacy echo does not retry a failed write.
    let (mut expected, mut at_risk) = (0, 0);
    for p in &legacy {
        if expects_late_finish(p, untold_status(stack, p).await) {
            expected += 1;
            at_risk += usize::from(super::invariants::finish_met_outage(p, outage));
        }
    }
    let at_risk = match at_risk {
        0 => String::new(),
        n => {
            format!(", {n} of them due while the store was down, when the echo's write may be lost")
        }
    };
    let scenarios: Vec<String> = by_scenario
        .iter()
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    println!(
        "The legacy echo (integration-legacy) ran {} of the {} runs ({}); \
         the consumer undid {undone} late finishes of them ({expected} expected: the legacy runs \
         whose caller was told TIMEOUT, or nothing and that timed out{at_risk}).\n",
        legacy.len(),
        played.len(),
        scenarios.join(", ")
    );
    if let Some(stood) = percentiles(late.stood.clone()) {
        println!(
            "A late finish stood {} ms (median) and {} ms at most before the consumer undid it \
             (from the late writer's IntegrationEnd to the repair; {} late finishes since the stack started).\n",
            stood["p50"].as_millis(),
            stood["max"].as_millis(),
            late.stood.len()
        );
    }
}

/// What the process pools did.
pub(super) fn lambda(report: &[FunctionReport]) {
    println!("\nLambda stand-in (process pools), since the stack started:\n");
    println!("| function | concurrency limit | invocations, sync / async | peak concurrent | cold starts | cold start p50 / max | async queue delay p50 / p95 / max | async failures | throttled | timed out | instances crashed |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let ms = |d: Duration| format!("{} ms", d.as_millis());
    for f in report {
        let cold = percentiles(f.cold_starts.clone()).map_or("–".into(), |p| {
            format!("{} / {}", ms(p["p50"]), ms(p["max"]))
        });
        let queued = percentiles(f.async_queue_delays.clone()).map_or("–".into(), |p| {
            format!("{} / {} / {}", ms(p["p50"]), ms(p["p95"]), ms(p["max"]))
        });
        println!(
            "| {} | {} | {} / {} | {} | {} | {cold} | {queued} | {} | {} | {} | {} |",
            f.name,
            f.limit,
            f.sync_invocations,
            f.async_invocations,
            f.peak_concurrency,
            f.cold_starts.len(),
            f.async_failures,
            f.throttled,
            f.timed_out,
            f.crashed
        );
    }
}
