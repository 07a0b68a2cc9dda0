use super::*;
use crate::{connect::simulator::Timed, demo::Verdict};
use std::time::Instant;

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
    let timed = |sent: Instant, took: Duration, status: Option<&'static str>| Timed {
        sent,
        took,
        limit: 8 * second,
        status,
        failed: status.is_none(),
    };
    let calls = timeliness(
        [
            timed(t0, second, Some("RUN")),
            timed(t0 + second, 8 * second, Some("DONE")),
            timed(t0 + 11 * second, 8 * second, None),
            timed(t0 + 19 * second, second, Some("maybe")),
        ]
        .into_iter(),
        false,
        &load,
    );

    // THEN both late calls count as late, only the second is excused, and
    // an answer the flow cannot route on is not counted as answered
    assert_eq!((calls.calls, calls.answered, calls.late), (4, 1, 2));
    assert_eq!(calls.overloaded.len(), 1);
}

#[test]
fn a_call_the_front_refused_on_purpose_is_routed_an_asynchronous_one_has_its_own_limit() {
    let load = LoadWatch::from_samples(Vec::new(), 2);
    let (t0, second) = (Instant::now(), Duration::from_secs(1));
    let refused = Timed {
        sent: t0,
        took: second / 10,
        limit: 8 * second,
        status: None,
        failed: true,
    };
    let native = Timed {
        sent: t0,
        took: 12 * second,
        limit: 30 * second,
        status: Some("DONE"),
        failed: false,
    };
    let calls = timeliness([refused, native].into_iter(), true, &load);
    assert_eq!((calls.calls, calls.answered, calls.late), (2, 2, 0));
    let calls = timeliness([refused].into_iter(), false, &load);
    assert_eq!(
        calls.answered, 0,
        "a failure nobody asked for is not routable"
    );
}

#[test]
fn a_failure_outweighs_an_overload_and_an_overload_a_pass() {
    use Verdict::*;
    assert_eq!(Held.and(Overloaded), Overloaded);
    assert_eq!(Overloaded.and(Failed), Failed);
    assert_eq!(Held.and(Held), Held);
}

mod legacy_runs {
    use std::collections::{BTreeMap, HashSet};

    use serde_json::json;
    use shared::{ContactId, RunId, StatusItem};

    use super::*;
    use crate::connect::{
        flow::Ending,
        simulator::{scenarios, CallStep, FlowKind, Step, StepKind},
    };

    const RUN: &str = "run-1";

    /// A legacy-timeout contact that check-timeout told TIMEOUT.
    fn timed_out() -> Played {
        let call = |status: &str| Step {
            at: Duration::ZERO,
            what: StepKind::Call(CallStep {
                function: "check-timeout".into(),
                sent_at: Duration::ZERO,
                took: Duration::from_millis(20),
                limit: Duration::from_secs(8),
                asynchronous: false,
                failure: None,
                status: Some(status.into()),
                error: None,
                from_state: true,
            }),
        };
        Played {
            contact: ContactId::parse("c-1").unwrap(),
            scenario: scenarios()
                .into_iter()
                .find(|s| s.name == "legacy-timeout")
                .unwrap(),
            flow: FlowKind::Polling,
            pass: (0, 1),
            steps: vec![call("RUN"), call("TIMEOUT")],
            ending: Ending::Block("DisconnectParticipant".into()),
            run_id: Some(RunId::parse(RUN).unwrap()),
            began: Instant::now(),
            snapshot: None,
        }
    }

    /// The final state: `status`, on a status item that names the run if `named`.
    fn state(status: IntegrationStatus, named: bool) -> ContactState {
        let record = StatusItem {
            run_id: named.then(|| RunId::parse(RUN).unwrap()),
            function_name: Some("integration-legacy".into()),
            ..StatusItem::bare(status, None)
        };
        let values = BTreeMap::from([("IntegrationStatus".to_owned(), json!(status.as_str()))]);
        ContactState::new(values, Some(record))
    }

    /// The run's completion metric and `late` late finishes.
    fn evidence<'a>(load: &'a LoadWatch, function: &str, late: usize) -> Evidence<'a> {
        let measured = Measured {
            status: "TIMEOUT".into(),
            function: function.into(),
        };
        let mut undone = LateFinishes::default();
        if late > 0 {
            undone.by_run.insert(RUN.into(), late);
            undone.by_contact.insert("c-1".into(), late);
        }
        Evidence {
            measured: BTreeMap::from([(RUN.to_owned(), vec![measured])]),
            late: undone,
            refused: HashSet::new(),
            outage: None,
            load,
        }
    }

    /// Which invariants failed for the contact, by their counts.
    fn failed(state: &ContactState, evidence: &Evidence) -> Vec<&'static str> {
        failed_for(&timed_out(), state, evidence)
    }

    fn failed_for(played: &Played, state: &ContactState, evidence: &Evidence) -> Vec<&'static str> {
        let mut tally = Tally::default();
        tally.run(played, state, evidence);
        [
            ("terminal", tally.terminal),
            ("told", tally.told),
            ("one_metric", tally.one_metric),
            ("final_measured", tally.final_measured),
            ("output_iff_done", tally.output_iff_done),
            ("late_undone", tally.late_undone),
        ]
        .into_iter()
        .filter(|(_, count)| !count.holds())
        .map(|(name, _)| name)
        .collect()
    }

    #[test]
    fn a_late_legacy_done_undone_once_holds_every_invariant() {
        let load = LoadWatch::from_samples(Vec::new(), 2);
        let evidence = evidence(&load, "integration-legacy", 1);
        assert_eq!(
            failed(&state(IntegrationStatus::Timeout, true), &evidence),
            Vec::<&str>::new()
        );
    }

    /// The store was down when start (waiting until the end) or
    /// check-timeout was due to time the run out: the caller was answered
    /// ERROR without the state, which says nothing of the run; the sweep timed
    /// it out later, and the original's late DONE was undone all the same.
    #[test]
    fn a_legacy_run_timed_out_after_an_untold_answer_has_its_late_done_undone() {
        let load = LoadWatch::from_samples(Vec::new(), 2);
        let mut untold = timed_out();
        if let StepKind::Call(call) = &mut untold.steps[1].what {
            call.status = Some("ERROR".into());
            call.from_state = false;
        }
        assert_eq!(untold.told(), None);
        let timed_out_state = state(IntegrationStatus::Timeout, true);
        let undone = evidence(&load, "integration-legacy", 1);
        assert_eq!(
            failed_for(&untold, &timed_out_state, &undone),
            Vec::<&str>::new()
        );
        // Not undone: it broke.
        let standing = evidence(&load, "integration-legacy", 0);
        assert_eq!(
            failed_for(&untold, &timed_out_state, &standing),
            ["late_undone"]
        );
    }

    #[test]
    fn a_late_done_left_standing_breaks_what_the_caller_was_told() {
        let load = LoadWatch::from_samples(Vec::new(), 2);
        let evidence = evidence(&load, "integration-legacy", 0);
        // GIVEN the late DONE stood, without the run's identity, and nothing undid it
        let state = state(IntegrationStatus::Done, false);
        // THEN the run is not ours, the caller was misled, the measure is not final,
        // and no late finish was undone
        assert_eq!(
            failed(&state, &evidence),
            [
                "terminal",
                "told",
                "final_measured",
                "output_iff_done",
                "late_undone"
            ]
        );
    }

    #[test]
    fn a_completion_for_an_unknown_function_or_a_late_finish_counted_twice_fails() {
        let load = LoadWatch::from_samples(Vec::new(), 2);
        let state = state(IntegrationStatus::Timeout, true);
        let unknown = evidence(&load, "unknown", 1);
        assert_eq!(failed(&state, &unknown), ["one_metric"]);
        let twice = evidence(&load, "integration-legacy", 2);
        assert_eq!(failed(&state, &twice), ["late_undone"]);
    }

    #[test]
    fn a_hang_up_s_own_done_stands_only_when_the_store_was_down_while_the_sweep_was_due() {
        // GIVEN a caller who hung up on a 3 s run of 12 s work, whose own DONE
        // (with its output) stood, measured DONE
        let began = Instant::now();
        let hung_up = Played {
            scenario: scenarios()
                .into_iter()
                .find(|s| s.name == "hang-up")
                .unwrap(),
            ending: Ending::HungUp,
            began,
            ..timed_out()
        };
        let values = BTreeMap::from([
            ("IntegrationStatus".to_owned(), json!("DONE")),
            (OUTPUT_KEY.to_owned(), json!("echoed")),
        ]);
        let record = state(IntegrationStatus::Done, true).status().cloned();
        let state = ContactState::new(values, record);
        let load = LoadWatch::from_samples(Vec::new(), 2);
        let mut evidence = evidence(&load, "integration-echo", 0);
        evidence.measured.get_mut(RUN).unwrap()[0].status = "DONE".into();
        let second = Duration::from_secs(1);

        // THEN with the store up the whole time the sweep owed it TIMEOUT
        assert_eq!(failed_for(&hung_up, &state, &evidence), ["told"]);
        // and an outage over before the deadline excuses nothing
        evidence.outage = Some((began, began + 2 * second));
        assert_eq!(failed_for(&hung_up, &state, &evidence), ["told"]);
        // WHEN the store was down from 2 s to 7 s, while the sweep was due
        evidence.outage = Some((began + 2 * second, began + 7 * second));
        // THEN the finish that came first stands
        assert_eq!(failed_for(&hung_up, &state, &evidence), Vec::<&str>::new());
    }

    #[test]
    fn a_run_never_opened_is_held_to_start_s_error_or_the_native_flow_s_lambda_error() {
        // GIVEN contacts whose opening write never landed: no run, no status item
        let nothing = ContactState::new(BTreeMap::new(), None);
        let load = LoadWatch::from_samples(Vec::new(), 2);
        let evidence = evidence(&load, "integration-echo", 0);
        let first_call = |flow: FlowKind, status: Option<&str>, error: Option<&str>| {
            let mut played = Played {
                flow,
                run_id: None,
                ..timed_out()
            };
            played.steps.truncate(1);
            if let StepKind::Call(call) = &mut played.steps[0].what {
                call.status = status.map(Into::into);
                call.error = error.map(Into::into);
                call.from_state = false;
            }
            let mut tally = Tally::default();
            tally.contact(&played, &nothing, &evidence);
            tally.unopened_error.holds()
        };
        // THEN start's ERROR holds, and so does the native function's failure
        assert!(first_call(FlowKind::Polling, Some("ERROR"), None));
        assert!(first_call(FlowKind::Native, None, Some("Unhandled")));
        // but a polling contact whose start failed without a status, or said
        // RUN with nothing opened, does not
        assert!(!first_call(FlowKind::Polling, None, Some("Unhandled")));
        assert!(!first_call(FlowKind::Polling, Some("RUN"), None));
        // and a native caller who hung up before any result was loaded heard nothing
        let hung_up = Played {
            flow: FlowKind::Native,
            run_id: None,
            steps: Vec::new(),
            ending: Ending::HungUp,
            ..timed_out()
        };
        let mut tally = Tally::default();
        tally.contact(&hung_up, &nothing, &evidence);
        assert!(tally.unopened_error.holds());
        let left = Played {
            ending: Ending::Block("DisconnectParticipant".into()),
            ..hung_up
        };
        let mut tally = Tally::default();
        tally.contact(&left, &nothing, &evidence);
        assert!(!tally.unopened_error.holds());
    }
}
