use super::*;
use crate::connect::flow::{Channel, Ending};

#[test]
fn the_flows_functions_map_to_the_workspaces_binaries() {
    assert_eq!(
        local_function("{{StartFunctionArn}}", ECHO),
        "integration-start"
    );
    assert_eq!(
        local_function("{{CheckTimeoutFunctionArn}}", ECHO),
        "check-timeout"
    );
    assert_eq!(
        local_function(
            "arn:aws:lambda:eu-west-2:123456789012:function:dev-re-connectintegrationstart",
            ECHO
        ),
        "integration-start"
    );
    assert_eq!(
        local_function("dev-re-connectchecktimeout", ECHO),
        "check-timeout"
    );
    assert_eq!(local_function("integration-echo", ECHO), "integration-echo");
    // The native flow invokes the rule's own function, by reference.
    assert_eq!(
        local_function("$.External.CurrentRule_functionArn", LEGACY),
        LEGACY
    );
}

#[test]
fn the_original_rules_engines_echo_is_served_by_its_own_name() {
    assert_eq!(local_function(LEGACY, ECHO), "integration-legacy");
}

#[test]
fn every_scenario_has_its_counterpart_on_the_original_echo_with_the_same_ending() {
    // Of one voice integration and nothing refused: the flow's own scenarios
    // (six integrations, a refused first call, the channels) are the framework's.
    let single =
        |s: &Scenario| s.integrations == 1 && !s.refuse_opening_call && s.channel == Channel::Voice;
    for scenario in scenarios()
        .into_iter()
        .filter(|s| !s.is_legacy() && single(s))
    {
        let legacy = scenario.on_legacy().expect("a legacy counterpart");
        assert!(
            legacy.is_legacy() && legacy.function == LEGACY,
            "{}",
            scenario.name
        );
        assert_eq!(legacy.expect, scenario.expect, "{}", scenario.name);
        assert_eq!(legacy.hang_up_at_message, scenario.hang_up_at_message);
        assert_eq!(scenario.function, ECHO);
    }
}

#[test]
fn a_scenarios_work_time_is_its_sleep_time() {
    let named = |name: &str| scenarios().into_iter().find(|s| s.name == name).unwrap();
    assert_eq!(named("legacy-fast").work_time(), Duration::ZERO);
    assert_eq!(
        named("legacy-error").work_time(),
        Duration::from_millis(500)
    );
    assert_eq!(named("legacy-hang-up").work_time(), Duration::from_secs(12));
}

/// A contact of `scenario` whose calls answered `answers` (status, whether
/// the answer carried the state), ending as `ending`.
fn played(scenario: &str, answers: &[(Option<&str>, bool)], ending: Ending) -> Played {
    let scenario = scenarios()
        .into_iter()
        .find(|s| s.name == scenario)
        .unwrap();
    let steps = answers
        .iter()
        .map(|(status, from_state)| Step {
            at: Duration::ZERO,
            what: StepKind::Call(CallStep {
                function: "check-timeout".into(),
                sent_at: Duration::ZERO,
                took: Duration::from_millis(10),
                limit: Duration::from_secs(8),
                asynchronous: false,
                failure: None,
                status: status.map(str::to_owned),
                error: None,
                from_state: *from_state,
            }),
        })
        .collect();
    Played {
        contact: ContactId::parse("c-1").unwrap(),
        scenario,
        flow: FlowKind::Polling,
        pass: (0, 1),
        steps,
        ending,
        run_id: None,
        began: Instant::now(),
        snapshot: None,
    }
}

#[test]
fn the_caller_is_told_the_last_status_answered_from_the_state() {
    let ended = || Ending::Block("DisconnectParticipant".into());
    let timed_out = played(
        "legacy-timeout",
        &[(Some("RUN"), true), (Some("TIMEOUT"), true)],
        ended(),
    );
    assert_eq!(timed_out.told(), Some(IntegrationStatus::Timeout));
    // A caller who hung up is owed the sweep's TIMEOUT.
    let hung_up = played("legacy-hang-up", &[(Some("RUN"), true)], Ending::HungUp);
    assert_eq!(hung_up.told(), Some(IntegrationStatus::Timeout));
    // An ERROR said without the state (the store unreachable) says nothing of the run.
    let unreachable = played("fast", &[(Some("ERROR"), false)], ended());
    assert_eq!(unreachable.told(), None);
    let failed = played("error", &[(Some("ERROR"), true)], ended());
    assert_eq!(failed.told(), Some(IntegrationStatus::Error));
    // A last call that answered no status told nothing.
    let broken = played("slow", &[(Some("RUN"), true), (None, false)], ended());
    assert_eq!(broken.told(), None);
}

/// The Administrator Guide, "Flow block in Amazon Connect: AWS Lambda
/// function": Connect "retries up to three times"; each retry is a step of
/// the contact's, counted by `Played::retries` and shown in its timeline.
#[test]
fn connects_retries_are_counted_per_contact_and_shown_in_the_timeline() {
    let mut played = played("fast", &[(Some("DONE"), true)], Ending::HungUp);
    for attempt in 1..=2 {
        played.steps.push(Step {
            at: Duration::from_millis(10 * attempt as u64),
            what: StepKind::Retried {
                function: "integration-start".into(),
                attempt,
                failure: "HTTP 429: TooManyRequestsException".into(),
            },
        });
    }
    assert_eq!(played.retries(), 2);
    let timeline = timeline(&played, None, &[]);
    assert!(
        timeline.contains("attempt 2 failed (HTTP 429: TooManyRequestsException); Connect retries"),
        "{timeline}"
    );
}
