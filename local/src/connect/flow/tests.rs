use std::collections::VecDeque;

use super::*;
use serde_json::json;

mod asynchronous;
mod reference;

const POLLING: &str = include_str!("../../../../infra/contact-flows/integration.json");
const NATIVE: &str = include_str!("../../../../infra/contact-flows/integration-native.json");
const ASYNC: &str = include_str!("../../../../infra/contact-flows/integration-async.json");
/// The flow this project shipped before its backstop stopped resting on Loop
/// blocks: nested loops of check-timeout calls and messages.
const LOOP_BACKSTOP: &str =
    include_str!("../../../../tests/fixtures/connect/flow-with-loop-backstop.json");

type Answer = Result<Map<String, Value>, String>;
/// Answers a call to `(function, FlowFailure)`.
type Script = Box<dyn FnMut(&str, Option<&str>) -> Answer>;

/// Answers invocations by a script of its own; records what happened.
struct Scripted {
    answer: Script,
    /// How each wait for the asynchronous invocation ends, in turn.
    waits: VecDeque<Waited>,
    log: Vec<String>,
    hang_up: bool,
}

impl Scripted {
    fn new(answer: impl FnMut(&str, Option<&str>) -> Answer + 'static) -> Self {
        Self {
            answer: Box::new(answer),
            waits: VecDeque::new(),
            log: Vec::new(),
            hang_up: false,
        }
    }

    fn call(&mut self, call: &Call) -> Answer {
        let function = match call.function_arn {
            "{{StartFunctionArn}}" => "start",
            "{{CheckTimeoutFunctionArn}}" => "check",
            other => other,
        };
        let failure = call.parameters.get("FlowFailure").and_then(Value::as_str);
        self.log.push(match failure {
            Some(failure) => format!("record {failure}"),
            None => function.to_owned(),
        });
        (self.answer)(function, failure)
    }

    /// How many calls to `what` the log holds.
    fn count(&self, what: &str) -> usize {
        self.log.iter().filter(|l| *l == what).count()
    }
}

/// An answer as the Invoke API returns it: its payload.
fn payload(answer: Answer) -> Result<Vec<u8>, String> {
    answer.map(|map| serde_json::to_vec(&map).expect("a JSON map serializes"))
}

impl Contact for Scripted {
    async fn invoke(&mut self, call: Call<'_>) -> Result<Vec<u8>, String> {
        payload(self.call(&call))
    }
    async fn invoke_async(&mut self, call: Call<'_>) -> Result<String, String> {
        self.log.push(format!("async {}", call.function_arn));
        Ok("invocation-1".into())
    }
    async fn wait_for_lambda(&mut self, id: Option<&str>, _: Duration) -> Waited {
        self.log.push(format!("wait {}", id.unwrap_or("nothing")));
        self.waits.pop_front().unwrap_or(Waited::Returned)
    }
    async fn load_result(&mut self, id: &str) -> Result<Vec<u8>, String> {
        self.log.push(format!("load {id}"));
        payload((self.answer)("integration", None))
    }
    async fn play(&mut self, prompt: &Prompt) -> bool {
        self.log.push(match prompt {
            Prompt::Text(text) => format!("♪ {text}"),
            Prompt::Ssml(ssml) => format!("♪ ssml {ssml}"),
            Prompt::Stored(id) => format!("♪ prompt {id}"),
        });
        !self.hang_up
    }
}

fn status(status: &str) -> Answer {
    Ok(json!({"IntegrationStatus": status})
        .as_object()
        .unwrap()
        .clone())
}

fn flow(text: &str) -> Flow {
    Flow::parse(text).unwrap()
}

/// A run that start leaves open and check-timeout finds `DONE` at its
/// `polls`-th call after each start.
fn done_after(polls: usize) -> impl FnMut(&str, Option<&str>) -> Answer {
    let mut checked = 0;
    move |function, failure| match (function, failure) {
        ("start", _) => {
            checked = 0;
            status("RUN")
        }
        ("check", None) => {
            checked += 1;
            status(if checked >= polls { "DONE" } else { "RUN" })
        }
        _ => status("ERROR"),
    }
}

#[tokio::test]
async fn done_inside_start_goes_straight_on() {
    let mut contact = Scripted::new(|_, _| status("DONE"));
    let ending = play(&flow(POLLING), &mut contact, &mut Memory::default()).await;
    assert_eq!(ending.unwrap(), Ending::Transfer("{{NextFlowArn}}".into()));
    assert_eq!(contact.log, ["start"]);
}

#[tokio::test]
async fn an_open_run_hears_the_default_message_then_two_polls_between_messages() {
    let mut contact = Scripted::new(done_after(4));
    let mut memory = Memory::default();
    let ending = play(&flow(POLLING), &mut contact, &mut memory).await;
    assert_eq!(ending.unwrap(), Ending::Transfer("{{NextFlowArn}}".into()));
    let default = "♪ Thanks for waiting. We're looking that up for you now.";
    let still = "♪ Still working on it. Thank you for holding.";
    assert_eq!(
        contact.log,
        ["start", default, "check", "check", still, "check", "check"]
    );
    assert_eq!(memory.attributes["IntegrationStatus"], "DONE");
}

#[tokio::test]
async fn the_rules_own_message_plays_as_the_rules_engine_plays_it() {
    let rule = |kind: &'static str| {
        move |function: &str, _: Option<&str>| match function {
            "start" => Ok(json!({
                "IntegrationStatus": "START",
                "CurrentRule_functionMessageType": kind,
                "CurrentRule_functionMessage": "<speak>One moment</speak>",
                "CurrentRule_functionMessagePromptArn": "arn:prompt/hold",
            })
            .as_object()
            .unwrap()
            .clone()),
            _ => status("DONE"),
        }
    };
    for (kind, heard) in [
        ("text", Some("♪ ssml <speak>One moment</speak>")),
        ("ssml", Some("♪ ssml <speak>One moment</speak>")),
        ("prompt", Some("♪ prompt arn:prompt/hold")),
        ("none", None),
    ] {
        let mut contact = Scripted::new(rule(kind));
        play(&flow(POLLING), &mut contact, &mut Memory::default())
            .await
            .unwrap();
        let expected: Vec<&str> = ["start"]
            .into_iter()
            .chain(heard)
            .chain(["check"])
            .collect();
        assert_eq!(contact.log, expected, "{kind}");
    }
}

#[tokio::test]
async fn a_failed_start_is_recorded_by_check_timeout_and_a_failed_record_goes_to_the_error_flow() {
    let mut contact = Scripted::new(|function, failure| match (function, failure) {
        ("start", _) => Err("throttled".into()),
        _ => status("ERROR"),
    });
    let mut memory = Memory::default();
    let ending = play(&flow(POLLING), &mut contact, &mut memory).await;
    assert_eq!(ending.unwrap(), Ending::Transfer("{{NextFlowArn}}".into()));
    assert_eq!(contact.log, ["start", "record start"]);
    assert_eq!(memory.attributes["IntegrationStatus"], "ERROR");

    let mut contact = Scripted::new(|_, _| Err("throttled".into()));
    let mut memory = Memory::default();
    let ending = play(&flow(POLLING), &mut contact, &mut memory).await;
    assert_eq!(ending.unwrap(), Ending::Transfer("{{ErrorFlowArn}}".into()));
    assert_eq!(memory.attributes["IntegrationStatus"], "ERROR");
}

#[tokio::test]
async fn a_run_check_timeout_never_ends_is_given_up_after_twelve_polls_and_recorded() {
    let mut contact =
        Scripted::new(|_, failure| status(if failure.is_some() { "ERROR" } else { "RUN" }));
    let ending = play(&flow(POLLING), &mut contact, &mut Memory::default()).await;
    assert_eq!(ending.unwrap(), Ending::Transfer("{{NextFlowArn}}".into()));
    assert_eq!(contact.count("check"), 12);
    assert_eq!(contact.log.last().unwrap(), "record gave-up");
}

/// A contact whose rules fire six integrations in one call, each finished at
/// its fourth poll: Main → Integration → Main → ... as the Rules Engine plays.
async fn six_integrations(text: &str) -> Vec<usize> {
    let flow = flow(text);
    let mut memory = Memory::default();
    let mut polls = Vec::new();
    for _ in 0..6 {
        let mut contact = Scripted::new(done_after(4));
        play(&flow, &mut contact, &mut memory).await.unwrap();
        polls.push(contact.count("check"));
    }
    polls
}

#[tokio::test]
async fn loop_counts_kept_across_re_entry_make_a_loop_backstop_give_up_on_an_open_run() {
    // Connect keeps a Loop block's count until the loop is done: the third
    // integration finds the outer loop used up and gives up without a poll,
    // its run still open.
    let polls = six_integrations(LOOP_BACKSTOP).await;
    assert_eq!(polls[0..2], [4, 4]);
    assert!(polls.contains(&0), "{polls:?}");
    // The shipped flow has no Loop block: every integration polls to its end.
    assert_eq!(six_integrations(POLLING).await, [4; 6]);
}

#[tokio::test]
async fn loop_counts_are_kept_per_block_until_done() {
    let text = json!({"Version": "2019-10-30", "StartAction": "loop", "Actions": [
        {"Identifier": "loop", "Type": "Loop", "Parameters": {"LoopCount": "2"}, "Transitions": {"Conditions": [
            {"NextAction": "again", "Condition": {"Operator": "Equals", "Operands": ["ContinueLooping"]}},
            {"NextAction": "done", "Condition": {"Operator": "Equals", "Operands": ["DoneLooping"]}}]}},
        {"Identifier": "again", "Type": "TransferToFlow", "Parameters": {"ContactFlowId": "again"}},
        {"Identifier": "done", "Type": "TransferToFlow", "Parameters": {"ContactFlowId": "done"}}]});
    let flow = flow(&text.to_string());
    let mut memory = Memory::default();
    let mut endings = Vec::new();
    for _ in 0..4 {
        let mut contact = Scripted::new(|_, _| status("DONE"));
        endings.push(play(&flow, &mut contact, &mut memory).await.unwrap());
    }
    let transfer = |to: &str| Ending::Transfer(to.into());
    assert_eq!(
        endings,
        [
            transfer("again"),
            transfer("again"),
            transfer("done"),
            transfer("again")
        ]
    );
    assert_eq!(memory.loop_count("loop"), 1);
}

#[test]
fn unknown_blocks_operators_and_dangling_transitions_are_refused_by_name() {
    let refusals = |actions: Value| {
        let text = json!({"Version": "2019-10-30", "StartAction": "a", "Actions": actions});
        Flow::parse(&text.to_string()).unwrap_err().refusals
    };
    let unknown = refusals(json!([{"Identifier": "a", "Type": "GetCustomerInput"}]));
    assert!(
        unknown[0].to_string().contains("GetCustomerInput"),
        "{unknown:?}"
    );
    let dangling = refusals(json!([{"Identifier": "a", "Type": "MessageParticipant",
        "Parameters": {"Text": "hi"}, "Transitions": {"NextAction": "nowhere"}}]));
    assert!(matches!(
        dangling[..],
        [FlowError::DanglingTransition { .. }]
    ));
    let contains = refusals(json!([{"Identifier": "a", "Type": "Compare",
        "Parameters": {"ComparisonValue": "$.External.X"}, "Transitions": {"Conditions": [
        {"NextAction": "a", "Condition": {"Operator": "Contains", "Operands": ["D"]}}]}}]));
    assert!(contains[0].to_string().contains("Contains"), "{contains:?}");
}

#[test]
fn lambda_time_limits_and_prompts_are_held_to_the_reference() {
    let invoke = |params: Value| {
        let mut params = params;
        params["ResponseValidation"] = json!({"ResponseType": "STRING_MAP"});
        let text = json!({"Version": "2019-10-30", "StartAction": "a", "Actions": [
            {"Identifier": "a", "Type": "InvokeLambdaFunction", "Parameters": params}]});
        Flow::parse(&text.to_string())
    };
    assert!(invoke(json!({"LambdaFunctionARN": "f", "InvocationTimeLimitSeconds": "9"})).is_err());
    assert!(invoke(
        json!({"LambdaFunctionARN": "f", "InvocationTimeLimitSeconds": "60",
        "InvocationType": "ASYNCHRONOUS"})
    )
    .is_ok());
    assert!(invoke(
        json!({"LambdaFunctionARN": "f", "InvocationTimeLimitSeconds": "61",
        "InvocationType": "ASYNCHRONOUS"})
    )
    .is_err());
    let two_prompts = r#"{"Version": "2019-10-30", "StartAction": "a", "Actions": [{"Identifier": "a",
        "Type": "MessageParticipant", "Parameters": {"Text": "hi", "SSML": "<speak>hi</speak>"}}]}"#;
    assert!(Flow::parse(two_prompts).is_err());
    assert_eq!(
        flow(POLLING).opening(),
        Some(("{{StartFunctionArn}}", false))
    );
    assert_eq!(
        flow(NATIVE).opening(),
        Some(("$.External.CurrentRule_functionArn", true))
    );
    assert_eq!(flow(ASYNC).opening(), Some(("{{StartFunctionArn}}", true)));
}
