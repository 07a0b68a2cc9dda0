//! The single-contact scenarios, played at the same time, each printed as its
//! timeline and held to the status its scenario expects.

use std::time::Duration;

use super::{await_metrics, invariants, played_load, BoxError, LoadWatch, Verdict};
use crate::{
    connect::simulator::{self, Played, Scenario, Simulator},
    stack::Stack,
};

/// Plays `chosen`, prints their timelines, and checks them.
pub(super) async fn play(
    sim: &Simulator,
    stack: &Stack,
    chosen: &[Scenario],
    load: &LoadWatch,
) -> Result<Verdict, BoxError> {
    println!(
        "\n== Single contacts ({} scenarios, played at the same time)\n",
        chosen.len()
    );
    let played = play_together(sim, chosen).await?;
    let runs: Vec<String> = played
        .iter()
        .filter_map(|p| p.run_id.as_ref().map(|r| r.to_string()))
        .collect();
    await_metrics(stack, &runs, Duration::from_secs(45)).await;
    let as_expected = timelines(stack, &played).await?;
    let checked = invariants::check(stack, &played, None, load).await?;
    for (what, held) in &checked.invariants {
        if !held {
            println!("  ✗ {what}");
        }
    }
    let fewer = "try fewer scenarios at once (e.g. --scenarios fast,slow)";
    let verdict = checked.verdict(chosen.len(), fewer, played_load(load, &played));
    Ok(if as_expected {
        verdict
    } else {
        Verdict::Failed
    })
}

/// Every scenario played at once; what each did, in the order given.
async fn play_together(sim: &Simulator, chosen: &[Scenario]) -> Result<Vec<Played>, BoxError> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, scenario) in chosen.iter().cloned().enumerate() {
        let sim = sim.clone();
        tasks.spawn(async move { (i, sim.play(&scenario).await) });
    }
    let mut played: Vec<(usize, Played)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined?;
        played.push((i, result?));
    }
    played.sort_by_key(|(i, _)| *i);
    Ok(played.into_iter().map(|(_, p)| p).collect())
}

/// Prints each contact's timeline; `false` when a contact did not end in the
/// status its scenario expects.
async fn timelines(stack: &Stack, played: &[Played]) -> Result<bool, BoxError> {
    let mut as_expected = true;
    for p in played {
        let state = stack.store.load_state(&p.contact).await?;
        let metrics = p
            .run_id
            .as_ref()
            .map(|r| stack.metrics.for_run(r.as_str()))
            .unwrap_or_default();
        println!("{}", simulator::timeline(p, Some(&state), &metrics));
        let status = state.integration_status();
        if status != Some(p.scenario.expect) {
            as_expected = false;
            println!(
                "  ✗ expected {}, got {}\n",
                p.scenario.expect,
                status.map_or("none", |s| s.as_str())
            );
        }
    }
    Ok(as_expected)
}
