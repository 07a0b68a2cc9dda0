use std::collections::VecDeque;

use super::*;
use serde_json::json;

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

/// What the Rules Engine's main flow leaves under `$.External` when the
/// integration rule fires: the rule's keys (its function, its message).
fn fired(channel: Channel) -> Memory {
    Memory {
        channel,
        external: json!({
            "CurrentRule_functionArn": "integration",
            "CurrentRule_functionMessageType": "text",
            "CurrentRule_functionMessage": "Please hold",
        })
        .as_object()
        .unwrap()
        .clone(),
        ..Memory::default()
    }
}

const STILL_SSML: &str =
    "♪ ssml <speak>Still working on it. Thank you for holding.<break time=\"2s\"/></speak>";

/// The two asynchronous flows, each with what its invocation is logged as
/// and what its failures are recorded as.
fn asynchronous_flows() -> [(&'static str, &'static str, &'static str); 2] {
    [
        (NATIVE, "async integration", "record integration"),
        (ASYNC, "async {{StartFunctionArn}}", "record start"),
    ]
}

#[tokio::test]
async fn an_asynchronous_flow_waits_2_s_before_any_message_and_loads_a_fast_result_at_once() {
    for (text, invoked, _) in asynchronous_flows() {
        let mut contact = Scripted::new(|_, _| status("DONE"));
        let mut memory = fired(Channel::Voice);
        let ending = play(&flow(text), &mut contact, &mut memory).await;
        assert_eq!(ending.unwrap(), Ending::Transfer("{{NextFlowArn}}".into()));
        assert_eq!(
            contact.log,
            [invoked, "wait invocation-1", "load invocation-1"]
        );
        assert_eq!(memory.attributes["IntegrationStatus"], "DONE");
    }
}

#[tokio::test]
async fn a_voice_caller_hears_the_rules_message_then_comfort_messages_while_the_wait_waits() {
    for (text, invoked, _) in asynchronous_flows() {
        let mut contact = Scripted::new(|_, _| status("DONE"));
        // The first Wait times out; the keep-running one hears the return
        // once its Continue branch has run out.
        contact.waits = VecDeque::from([Waited::TimedOut, Waited::Returned]);
        let mut memory = fired(Channel::Voice);
        play(&flow(text), &mut contact, &mut memory).await.unwrap();
        // The rule's message comes from the contact attributes copied before
        // the invoke: the asynchronous invoke left $.External empty.
        let mut expected = vec![invoked, "wait invocation-1", "♪ ssml Please hold"];
        expected.extend([STILL_SSML; 6]);
        expected.extend(["wait invocation-1", "load invocation-1"]);
        assert_eq!(contact.log, expected);
        assert_eq!(memory.attributes["IntegrationMessageType"], "text");
    }
}

#[tokio::test]
async fn after_the_last_wait_the_result_is_still_loaded() {
    for (text, invoked, _) in asynchronous_flows() {
        let mut contact = Scripted::new(|_, _| status("TIMEOUT"));
        contact.waits = VecDeque::from([Waited::TimedOut, Waited::TimedOut]);
        let mut memory = fired(Channel::Voice);
        play(&flow(text), &mut contact, &mut memory).await.unwrap();
        assert_eq!(contact.log.first().unwrap(), invoked);
        assert_eq!(contact.log.last().unwrap(), "load invocation-1");
        assert_eq!(memory.attributes["IntegrationStatus"], "TIMEOUT");
    }
}

#[tokio::test]
async fn a_chat_reads_the_rules_message_once_as_text_and_a_task_gets_none() {
    for text in [POLLING, NATIVE, ASYNC] {
        let rule = |function: &str, _: Option<&str>| match function {
            "start" => Ok(fired(Channel::Chat).external.clone()),
            _ => status("DONE"),
        };
        let mut chat = Scripted::new(rule);
        chat.waits = VecDeque::from([Waited::TimedOut, Waited::Returned]);
        play(&flow(text), &mut chat, &mut fired(Channel::Chat))
            .await
            .unwrap();
        let heard: Vec<&String> = chat.log.iter().filter(|l| l.starts_with('♪')).collect();
        assert_eq!(heard, ["♪ Please hold"], "{:?}", chat.log);

        let mut task = Scripted::new(rule);
        task.waits = VecDeque::from([Waited::TimedOut, Waited::TimedOut]);
        let mut memory = fired(Channel::Task);
        play(&flow(text), &mut task, &mut memory).await.unwrap();
        assert!(
            !task.log.iter().any(|l| l.starts_with('♪')),
            "{:?}",
            task.log
        );
        // A task's Waits hear no return: they wait out their time.
        assert!(!task.log.contains(&"wait invocation-1".to_owned()));
        assert_eq!(memory.attributes["IntegrationStatus"], "DONE");
    }
}

#[tokio::test]
async fn a_polling_chat_hears_no_comfort_message_between_its_polls() {
    let mut contact = Scripted::new(done_after(6));
    let ending = play(&flow(POLLING), &mut contact, &mut fired(Channel::Chat)).await;
    assert_eq!(ending.unwrap(), Ending::Transfer("{{NextFlowArn}}".into()));
    let default = "♪ Thanks for waiting. We're looking that up for you now.";
    let mut expected = vec!["start", default];
    expected.extend(["check"; 6]);
    assert_eq!(contact.log, expected);
}

#[tokio::test]
async fn an_asynchronous_result_that_cannot_be_loaded_is_recorded_and_a_caller_may_hang_up() {
    for (text, _, recorded) in asynchronous_flows() {
        let mut contact = Scripted::new(|function, _| match function {
            "integration" => Err("function error".into()),
            _ => status("ERROR"),
        });
        let ending = play(&flow(text), &mut contact, &mut fired(Channel::Voice)).await;
        assert_eq!(ending.unwrap(), Ending::Transfer("{{NextFlowArn}}".into()));
        assert_eq!(contact.log.last().unwrap(), recorded);

        let mut contact = Scripted::new(|_, _| status("DONE"));
        contact.waits = VecDeque::from([Waited::TimedOut]);
        contact.hang_up = true;
        let ending = play(&flow(text), &mut contact, &mut fired(Channel::Voice)).await;
        assert_eq!(ending.unwrap(), Ending::HungUp);
    }
}

/// No reference says `$.External` survives an asynchronous invoke
/// ([`unpublished::AN_ASYNCHRONOUS_INVOKE_CLEARS_EXTERNAL`]); a message read
/// from it after one has nothing to play, and neither channel but voice takes
/// SSML ("\"PromptId\" and \"SSML\" are only supported for the voice channel",
/// the flow language's MessageParticipant).
#[tokio::test]
async fn external_is_empty_after_an_asynchronous_invoke_and_ssml_reaches_voice_only() {
    let text = json!({"Version": "2019-10-30", "StartAction": "invoke", "Actions": [
        {"Identifier": "invoke", "Type": "InvokeLambdaFunction", "Parameters": {
            "LambdaFunctionARN": "f", "InvocationTimeLimitSeconds": "30",
            "InvocationType": "ASYNCHRONOUS", "ResponseValidation": {"ResponseType": "STRING_MAP"}},
            "Transitions": {"NextAction": "say", "Errors": [{"NextAction": "failed", "ErrorType": "NoMatchingError"}]}},
        {"Identifier": "say", "Type": "MessageParticipant", "Parameters": {"SSML": "$.External.CurrentRule_functionMessage"},
            "Transitions": {"NextAction": "done", "Errors": [{"NextAction": "failed", "ErrorType": "NoMatchingError"}]}},
        {"Identifier": "done", "Type": "TransferToFlow", "Parameters": {"ContactFlowId": "done"}},
        {"Identifier": "failed", "Type": "TransferToFlow", "Parameters": {"ContactFlowId": "failed"}}]});
    let flow = flow(&text.to_string());
    let mut contact = Scripted::new(|_, _| status("DONE"));
    let ending = play(&flow, &mut contact, &mut fired(Channel::Voice)).await;
    assert_eq!(ending.unwrap(), Ending::Transfer("failed".into()));

    let ssml = |channel: Channel| async move {
        let text = json!({"Version": "2019-10-30", "StartAction": "say", "Actions": [
            {"Identifier": "say", "Type": "MessageParticipant", "Parameters": {"SSML": "<speak>Hi</speak>"},
                "Transitions": {"NextAction": "done", "Errors": [{"NextAction": "failed", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "done", "Type": "TransferToFlow", "Parameters": {"ContactFlowId": "done"}},
            {"Identifier": "failed", "Type": "TransferToFlow", "Parameters": {"ContactFlowId": "failed"}}]});
        let mut contact = Scripted::new(|_, _| status("DONE"));
        play(
            &Flow::parse(&text.to_string()).unwrap(),
            &mut contact,
            &mut fired(channel),
        )
        .await
        .unwrap()
    };
    assert_eq!(ssml(Channel::Voice).await, Ending::Transfer("done".into()));
    assert_eq!(ssml(Channel::Chat).await, Ending::Transfer("failed".into()));
    assert_eq!(ssml(Channel::Task).await, Ending::Transfer("failed".into()));
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
