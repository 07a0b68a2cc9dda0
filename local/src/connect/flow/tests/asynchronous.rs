//! The two asynchronous flows and the channels, played by the interpreter:
//! the first Wait before any message, the keep-running Wait's messages, the
//! result loaded after the last Wait, a chat's one text message and a task's
//! none, and what an asynchronous invoke leaves of `$.External`.

use super::*;

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
