use super::*;
use crate::demo::load::Sample;

fn load(busy: f64, runnable: u32) -> Load {
    let sample = Sample {
        at: Instant::now(),
        lag: Duration::from_millis(5),
        busy: Some(busy),
        runnable: Some(runnable),
    };
    Load::of(&[sample], 2)
}

fn checked(held: bool, late_while_overloaded: usize) -> Checked {
    Checked {
        invariants: vec![("a promise".into(), true), ("another".into(), held)],
        overloaded: vec![load(1.0, 12); late_while_overloaded],
    }
}

/// The verdict of a run of 32 contacts in flight on a machine under `load`.
fn verdict(held: bool, late_while_overloaded: usize, load: Load) -> Verdict {
    checked(held, late_while_overloaded).verdict(32, "fewer", load)
}

#[test]
fn late_calls_on_an_overloaded_machine_are_the_machines_verdict() {
    assert_eq!(verdict(true, 3, load(1.0, 12)), Verdict::Overloaded);
}

#[test]
fn a_broken_promise_fails_the_demo_whatever_the_load() {
    assert_eq!(verdict(false, 3, load(1.0, 12)), Verdict::Failed);
    assert_eq!(verdict(false, 0, load(1.0, 12)), Verdict::Failed);
    assert_eq!(verdict(false, 0, load(0.3, 1)), Verdict::Failed);
}

#[test]
fn an_overloaded_machine_on_which_everything_held_passes() {
    assert_eq!(verdict(true, 0, load(1.0, 12)), Verdict::Held);
    assert_eq!(verdict(true, 0, load(0.3, 1)), Verdict::Held);
}

#[test]
fn a_late_call_is_excused_only_while_the_machine_was_overloaded() {
    // GIVEN a machine that kept up for 10 s, then was saturated for 10 s
    let t0 = Instant::now();
    let samples = (1..=200).map(|i| {
        let saturated = i > 100;
        Sample {
            at: t0 + crate::demo::load::EVERY * i,
            lag: Duration::from_millis(5),
            busy: Some(if saturated { 1.0 } else { 0.5 }),
            runnable: Some(if saturated { 12 } else { 2 }),
        }
    });
    let load = LoadWatch::from_samples(samples.collect(), 2);
    let second = Duration::from_secs(1);

    // WHEN a contact made a routable call in time, a late call while the
    // machine kept up, and a late call while it was saturated
    let calls = timeliness(
        [
            (t0, second, Some("RUN")),
            (t0 + second, 8 * second, Some("DONE")),
            (t0 + 11 * second, 8 * second, None),
            (t0 + 19 * second, second, Some("maybe")),
        ]
        .into_iter(),
        &load,
    );

    // THEN both late calls count as late, only the second is excused, and
    // an answer the flow cannot route on is not counted as answered
    assert_eq!((calls.calls, calls.answered, calls.late), (4, 1, 2));
    assert_eq!(calls.overloaded.len(), 1);
}

#[test]
fn a_failure_outweighs_an_overload_and_an_overload_a_pass() {
    use Verdict::*;
    assert_eq!(Held.and(Overloaded), Overloaded);
    assert_eq!(Overloaded.and(Failed), Failed);
    assert_eq!(Held.and(Held), Held);
}
