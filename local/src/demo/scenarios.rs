//! The single-contact scenarios: the framework's on the polling flow at the
//! same time, then on the native flow, then on the asynchronous-start flow,
//! then the original Rules Engine's echo's (on the polling and the
//! asynchronous-start flows: the native flow invokes the rule's function
//! itself, which the original cannot serve), each printed as its timeline (a
//! contact of several integrations, one per pass) and held to the status its
//! scenario expects.

use std::time::Duration;

use super::{
    evidence::{await_legacy, await_metrics, late_runs},
    invariants, played_load, BoxError, LoadWatch, Verdict,
};
use crate::{
    connect::simulator::{self, FlowKind, Played, Scenario, Simulator},
    stack::Stack,
};

/// Plays `chosen`, prints their timelines, and checks them.
pub(super) async fn play(
    sim: &Simulator,
    stack: &Stack,
    chosen: &[Scenario],
    load: &LoadWatch,
) -> Result<(Verdict, Vec<String>), BoxError> {
    // A group at a time, so that the legacy scenarios do not add their cold
    // starts to the others' on a small machine.
    let mut groups: Vec<Vec<(Scenario, FlowKind)>> = Vec::new();
    let pairs = [false, true].map(|legacy| FlowKind::ALL.map(|kind| (legacy, kind)));
    for (legacy, kind) in pairs.into_iter().flatten() {
        let group: Vec<(Scenario, FlowKind)> = chosen
            .iter()
            .filter(|s| s.is_legacy() == legacy && sim.flows.for_scenario(s).contains(&kind))
            .map(|s| (s.clone(), kind))
            .collect();
        if !group.is_empty() {
            groups.push(group);
        }
    }
    let at_once = groups.iter().map(Vec::len).max().unwrap_or(0);
    let contacts: usize = groups.iter().map(Vec::len).sum();
    println!(
        "\n== Single contacts ({} scenario(s) on each flow that plays them, {contacts} contacts: \
         a flow's at the same time, the original echo's last)\n",
        chosen.len(),
    );
    let mut played = Vec::new();
    for group in &groups {
        played.extend(play_together(sim, group).await?);
    }
    // The final state is read only once the legacy functions' last writes
    // have landed and been undone where late.
    await_legacy(stack, &played, Duration::from_secs(45)).await;
    late_runs(sim, &mut played).await?;
    let runs: Vec<String> = played
        .iter()
        .filter_map(|p| p.run_id.as_ref().map(|r| r.to_string()))
        .collect();
    await_metrics(stack, &runs, Duration::from_secs(45)).await;
    let missed = timelines(stack, &played).await?;
    let checked = invariants::check(stack, &played, None, load).await?;
    for (what, held) in &checked.invariants {
        if !held {
            println!("  ✗ {what}");
        }
    }
    let fewer = "try fewer scenarios at once (e.g. --scenarios fast,slow)";
    let verdict = checked.verdict(at_once, fewer, played_load(load, &played));
    Ok(if missed.is_empty() {
        (verdict, missed)
    } else {
        (Verdict::Failed, missed)
    })
}

/// Every scenario played at once; what each did, in the order given (a
/// contact's passes in order).
async fn play_together(
    sim: &Simulator,
    chosen: &[(Scenario, FlowKind)],
) -> Result<Vec<Played>, BoxError> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (scenario, kind)) in chosen.iter().cloned().enumerate() {
        let sim = sim.clone();
        tasks.spawn(async move { (i, sim.play(&scenario, kind).await) });
    }
    let mut played: Vec<(usize, Vec<Played>)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined?;
        played.push((i, result?));
    }
    played.sort_by_key(|(i, _)| *i);
    Ok(played.into_iter().flat_map(|(_, p)| p).collect())
}

/// Prints each contact's timeline; the contacts that did not end in the
/// status their scenario expects, in a line each.
async fn timelines(stack: &Stack, played: &[Played]) -> Result<Vec<String>, BoxError> {
    let mut missed = Vec::new();
    for p in played {
        let state = match &p.snapshot {
            Some(state) => state.clone(),
            None => stack.store.load_state(&p.contact).await?,
        };
        let metrics = p
            .run_id
            .as_ref()
            .map(|r| stack.metrics.for_run(r.as_str()))
            .unwrap_or_default();
        println!("{}", simulator::timeline(p, Some(&state), &metrics));
        let status = state.integration_status();
        if status != Some(p.scenario.expect) {
            let got = status.map_or("none", |s| s.as_str());
            println!("  ✗ expected {}, got {got}\n", p.scenario.expect);
            missed.push(format!(
                "contact {} ({} on the {} flow): expected {}, got {got}",
                simulator::short(p.contact.as_str()),
                p.scenario.name,
                p.flow.as_str(),
                p.scenario.expect
            ));
        }
    }
    Ok(missed)
}
