//! The single-contact scenarios, the framework's at the same time, then the
//! original Rules Engine's echo's at the same time, each printed as its
//! timeline and held to the status its scenario expects.

use std::time::Duration;

use super::{
    evidence::{await_legacy, await_metrics, late_runs},
    invariants, played_load, BoxError, LoadWatch, Verdict,
};
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
    // Two groups of at most five, so that choosing the legacy scenarios too
    // does not double the cold starts that meet at once on a small machine.
    let (legacy, framework): (Vec<Scenario>, Vec<Scenario>) =
        chosen.iter().cloned().partition(Scenario::is_legacy);
    let groups: Vec<Vec<Scenario>> = [framework, legacy]
        .into_iter()
        .filter(|group| !group.is_empty())
        .collect();
    let at_once = groups.iter().map(Vec::len).max().unwrap_or(0);
    println!(
        "\n== Single contacts ({} scenarios, {})\n",
        chosen.len(),
        if groups.len() > 1 {
            "the framework's at the same time, then the original echo's"
        } else {
            "played at the same time"
        }
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
    let as_expected = timelines(stack, &played).await?;
    let checked = invariants::check(stack, &played, None, load).await?;
    for (what, held) in &checked.invariants {
        if !held {
            println!("  ✗ {what}");
        }
    }
    let fewer = "try fewer scenarios at once (e.g. --scenarios fast,slow)";
    let verdict = checked.verdict(at_once, fewer, played_load(load, &played));
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
