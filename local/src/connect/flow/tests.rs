use super::*;
use serde_json::json;

/// start; DONE goes on; otherwise a message and check-timeout, twice at most.
fn flow() -> Flow {
    let invoke = |id: &str, next: &str| {
        json!({"Identifier": id, "Type": "InvokeLambdaFunction",
               "Parameters": {"LambdaFunctionARN": id, "InvocationTimeLimitSeconds": "8"},
               "Transitions": {"NextAction": next, "Errors": [{"NextAction": "failed", "ErrorType": "NoMatchingError"}]}})
    };
    let text = json!({
        "Version": "2019-10-30",
        "StartAction": "start",
        "Actions": [
            invoke("start", "status"),
            {"Identifier": "status", "Type": "Compare", "Parameters": {"ComparisonValue": "$.External.IntegrationStatus"},
             "Transitions": {"NextAction": "hold", "Conditions": [
                 {"NextAction": "done", "Condition": {"Operator": "Equals", "Operands": ["DONE"]}}],
                 "Errors": [{"NextAction": "hold", "ErrorType": "NoMatchingCondition"}]}},
            {"Identifier": "hold", "Type": "MessageParticipant", "Parameters": {"Text": "Please hold"}, "Transitions": {"NextAction": "loop"}},
            {"Identifier": "loop", "Type": "Loop", "Parameters": {"LoopCount": "2"}, "Transitions": {"Conditions": [
                {"NextAction": "check", "Condition": {"Operator": "Equals", "Operands": ["ContinueLooping"]}},
                {"NextAction": "failed", "Condition": {"Operator": "Equals", "Operands": ["DoneLooping"]}}]}},
            invoke("check", "status"),
            {"Identifier": "done", "Type": "UpdateContactAttributes", "Parameters": {"Attributes": {"Result": "$.External.IntegrationStatus"}}, "Transitions": {"NextAction": "end"}},
            {"Identifier": "failed", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}},
            {"Identifier": "end", "Type": "TransferToFlow", "Parameters": {}, "Transitions": {}}
        ]
    });
    Flow::parse(&text.to_string()).unwrap()
}

/// Answers invocations from a script; records what happened.
struct Scripted {
    answers: Vec<Result<&'static str, &'static str>>,
    log: Vec<String>,
    hang_up: bool,
}

impl Contact for Scripted {
    async fn invoke(
        &mut self,
        function_arn: &str,
        _: Duration,
    ) -> Result<Map<String, Value>, String> {
        self.log.push(function_arn.to_owned());
        let answer = self.answers.remove(0);
        answer
            .map(|status| {
                json!({"IntegrationStatus": status})
                    .as_object()
                    .unwrap()
                    .clone()
            })
            .map_err(str::to_owned)
    }
    async fn play(&mut self, text: &str) -> bool {
        self.log.push(format!("♪ {text}"));
        !self.hang_up
    }
    async fn wait(&mut self, _: Duration) -> bool {
        true
    }
}

async fn play_with(
    answers: Vec<Result<&'static str, &'static str>>,
    hang_up: bool,
) -> (Ending, Vec<String>) {
    let mut contact = Scripted {
        answers,
        log: Vec::new(),
        hang_up,
    };
    let ending = play(&flow(), &mut contact).await.unwrap();
    (ending, contact.log)
}

#[tokio::test]
async fn done_inside_start_goes_straight_on() {
    let (ending, log) = play_with(vec![Ok("DONE")], false).await;
    assert_eq!(ending, Ending::Block("TransferToFlow".into()));
    assert_eq!(log, ["start"]);
}

#[tokio::test]
async fn an_open_run_hears_the_message_and_loops_on_check_timeout() {
    let (ending, log) = play_with(vec![Ok("RUN"), Ok("RUN"), Ok("DONE")], false).await;
    assert_eq!(ending, Ending::Block("TransferToFlow".into()));
    assert_eq!(
        log,
        ["start", "♪ Please hold", "check", "♪ Please hold", "check"]
    );
}

#[tokio::test]
async fn loops_end_and_lambda_errors_take_the_error_branch() {
    let (ending, _) = play_with(vec![Ok("RUN"), Ok("RUN"), Ok("RUN")], false).await;
    assert_eq!(
        ending,
        Ending::Block("DisconnectParticipant".into()),
        "the loop gave up"
    );
    let (ending, log) = play_with(vec![Err("timed out")], false).await;
    assert_eq!(ending, Ending::Block("DisconnectParticipant".into()));
    assert_eq!(log, ["start"]);
    let (ending, _) = play_with(vec![Ok("RUN")], true).await;
    assert_eq!(ending, Ending::HungUp);
}

#[test]
fn unknown_blocks_and_dangling_transitions_are_refused_by_name() {
    let unknown =
        r#"{"StartAction": "a", "Actions": [{"Identifier": "a", "Type": "GetCustomerInput"}]}"#;
    let err = Flow::parse(unknown).unwrap_err();
    assert!(err.to_string().contains("GetCustomerInput"), "{err}");
    let dangling = r#"{"StartAction": "a", "Actions": [{"Identifier": "a", "Type": "MessageParticipant",
        "Parameters": {"Text": "hi"}, "Transitions": {"NextAction": "nowhere"}}]}"#;
    assert!(matches!(
        Flow::parse(dangling),
        Err(FlowError::DanglingTransition { .. })
    ));
}
