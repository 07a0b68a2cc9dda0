use std::collections::BTreeMap;

use super::*;

/// How many of each scenario the first `n` contacts of the mixed run play.
fn mix(n: usize) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for i in 0..n {
        *counts.entry(scenario(i).name).or_default() += 1;
    }
    counts
}

#[test]
fn one_contact_in_four_meets_the_original_echo_slow_failing_and_timed_out_among_them() {
    // GIVEN a block of 20 contacts
    let counts = mix(20);

    // THEN five play the legacy writer: one timeout, one error, one slow, two fast
    let legacy: usize = counts
        .iter()
        .filter(|(name, _)| name.starts_with("legacy-"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(legacy, 5);
    assert_eq!(counts["legacy-timeout"], 1);
    assert_eq!(counts["legacy-error"], 1);
    assert_eq!(counts["legacy-slow"], 1);
    assert_eq!(counts["legacy-fast"], 2);

    // AND the kinds keep their ratios, whichever function plays them
    let kind = |name: &str| counts.get(name).copied().unwrap_or(0);
    let both = |name: &str| kind(name) + kind(&format!("legacy-{name}"));
    assert_eq!(
        ["fast", "slow", "error", "timeout", "hang-up"].map(both),
        [8, 4, 3, 3, 2]
    );
}

#[test]
fn the_mix_repeats_and_slow_runs_of_both_kinds_vary_their_sleep() {
    for i in 0..40 {
        let (a, b) = (scenario(i), scenario(i));
        assert_eq!((a.name, &a.payload), (b.name, &b.payload));
        if a.name.ends_with("slow") {
            let sleep = a.work_time().as_secs();
            assert!((1..=5).contains(&sleep), "contact {i}: {sleep} s");
        }
    }
}
