//! The interpreter held to Connect's reference: each rule, refused when the
//! flow is loaded or played as Connect plays it, with the page it comes from.

use std::{collections::VecDeque, path::PathBuf};

use super::*;

/// A flow of `actions`, starting at the first, declared an inbound flow.
fn flow_text(actions: Value) -> String {
    json!({
        "Version": "2019-10-30",
        "StartAction": actions[0]["Identifier"].clone(),
        "Metadata": {"type": "contactFlow"},
        "Actions": actions,
    })
    .to_string()
}

/// Every refusal of a flow of `actions`, as text (none if it loads).
fn refusals(actions: Value) -> Vec<String> {
    match Flow::parse(&flow_text(actions)) {
        Ok(_) => Vec::new(),
        Err(refused) => refused.refusals.iter().map(ToString::to_string).collect(),
    }
}

fn loads(actions: Value) -> bool {
    refusals(actions).is_empty()
}

/// A block that ends the flow by transferring to a flow named as itself: the
/// ending says which branch led there.
fn to(id: &str) -> Value {
    json!({"Identifier": id, "Type": "TransferToFlow", "Parameters": {"ContactFlowId": id}})
}

/// An InvokeLambdaFunction block `a` with `parameters` added to a valid
/// synchronous call's, on to `ok`, its errors as `errors` says.
fn lambda(parameters: Value, errors: Value) -> Value {
    let mut p = json!({"LambdaFunctionARN": "f", "InvocationTimeLimitSeconds": "8",
        "ResponseValidation": {"ResponseType": "STRING_MAP"}});
    for (k, v) in parameters.as_object().unwrap() {
        p[k] = v.clone();
    }
    let p: Map<String, Value> = p
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    json!({"Identifier": "a", "Type": "InvokeLambdaFunction", "Parameters": p,
        "Transitions": {"NextAction": "ok", "Errors": errors}})
}

/// A Wait `a` for the last asynchronous invocation, with `timeout`.
fn wait(timeout: Value) -> Value {
    json!({"Identifier": "a", "Type": "Wait", "Parameters": {"TimeoutSeconds": timeout,
        "Events": ["LambdaReturned"], "LambdaInvocationId": "$.LambdaInvocation.InvocationId"},
        "Transitions": {"NextAction": "ok", "Errors": [], "Conditions": [
            {"NextAction": "returned", "Condition": {"Operator": "Equals", "Operands": ["LambdaReturned"]}},
            {"NextAction": "completed", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}}]}})
}

fn error_to(branch: &str) -> Value {
    json!([{"NextAction": branch, "ErrorType": "NoMatchingError"}])
}

/// A contact that answers from a script and logs what the flow asked.
#[derive(Default)]
struct Fake {
    /// What `invoke` and `load_result` give, in turn (then `{}`).
    answers: VecDeque<Result<Vec<u8>, String>>,
    waits: VecDeque<Waited>,
    log: Vec<String>,
    /// The asynchronous invocation has returned once this many prompts played.
    returns_after_plays: Option<usize>,
}

impl Contact for Fake {
    async fn invoke(&mut self, call: Call<'_>) -> Result<Vec<u8>, String> {
        self.log.push(format!("invoke {}", call.function_arn));
        self.answers.pop_front().unwrap_or(Ok(b"{}".to_vec()))
    }
    async fn invoke_async(&mut self, call: Call<'_>) -> Result<String, String> {
        self.log.push(format!("async {}", call.function_arn));
        Ok("invocation-1".into())
    }
    async fn wait_for_lambda(&mut self, id: Option<&str>, time: Duration) -> Waited {
        let id = id.unwrap_or("nothing");
        self.log.push(format!("wait {id} {} s", time.as_secs()));
        self.waits.pop_front().unwrap_or(Waited::TimedOut)
    }
    async fn load_result(&mut self, id: &str) -> Result<Vec<u8>, String> {
        self.log.push(format!("load {id}"));
        self.answers.pop_front().unwrap_or(Ok(b"{}".to_vec()))
    }
    async fn play(&mut self, _: &Prompt) -> bool {
        self.log.push("play".into());
        true
    }
    fn has_returned(&self, _: &str) -> bool {
        let plays = self.log.iter().filter(|l| *l == "play").count();
        self.returns_after_plays.is_some_and(|n| plays >= n)
    }
    fn answer_read(&mut self, read: Result<&Map<String, Value>, &str>) {
        if let Err(why) = read {
            self.log.push(format!("not understood: {why}"));
        }
    }
}

async fn played(actions: Value, contact: &mut Fake) -> (Ending, Memory) {
    let flow = Flow::parse(&flow_text(actions)).unwrap();
    let mut memory = Memory::default();
    let ending = play(&flow, contact, &mut memory).await.unwrap();
    (ending, memory)
}

fn transfer(to: &str) -> Ending {
    Ending::Transfer(to.into())
}

/// (a) The flow language's InvokeLambdaFunction: InvocationTimeLimitSeconds
/// "Must be greater than 0, no larger than 8, and an integer. Must be set
/// statically."; the Administrator Guide, "Flow block in Amazon Connect: AWS
/// Lambda function": "maximum of 8 seconds for Synchronous mode and 60 seconds
/// for Asynchronous mode".
#[test]
fn lambda_time_limits_are_static_whole_seconds_from_1_to_8_or_60_when_asynchronous() {
    let limit = |time: Value, asynchronous: bool| {
        let kind = if asynchronous {
            "ASYNCHRONOUS"
        } else {
            "SYNCHRONOUS"
        };
        let params = json!({"InvocationTimeLimitSeconds": time, "InvocationType": kind});
        loads(json!([lambda(params, error_to("ok")), to("ok")]))
    };
    for (time, asynchronous) in [(json!("8"), false), (json!(8), false), (json!("1"), false)] {
        assert!(limit(time.clone(), asynchronous), "{time}");
    }
    assert!(limit(json!("60"), true) && limit(json!(60), true));
    for refused in [
        json!("2.5"),
        json!(2.5),
        json!(8.0),
        json!("-1"),
        json!(-1),
        json!("0"),
        json!(0),
        json!("9"),
        json!(" 8"),
        json!("$.Attributes.Limit"),
    ] {
        assert!(!limit(refused.clone(), false), "{refused} was accepted");
    }
    assert!(!limit(json!("61"), true) && !limit(json!(60.5), true));
}

/// (a) The flow language's Wait: TimeoutSeconds "can be either statically
/// defined, or a single valid JSONPath identifier. If defined statically, this
/// must be a positive integer value no greater than 604800 (seven days)".
#[test]
fn wait_times_are_whole_seconds_up_to_a_week_or_a_reference() {
    let with = |time: Value| {
        loads(json!([
            wait(time),
            to("ok"),
            to("returned"),
            to("completed")
        ]))
    };
    for accepted in [
        json!("4"),
        json!(4),
        json!(604_800),
        json!("$.Attributes.WaitSeconds"),
    ] {
        assert!(with(accepted.clone()), "{accepted}");
    }
    for refused in [
        json!("2.5"),
        json!(0),
        json!("-4"),
        json!(604_801),
        json!("1e3"),
    ] {
        assert!(!with(refused.clone()), "{refused} was accepted");
    }
}

/// (b) InvocationTimeLimitSeconds has no default in the flow language's
/// InvokeLambdaFunction, and the block's page asks for it ("Enter how long to
/// wait for Lambda to time out"): a block without it is refused, synchronous
/// or not.
#[test]
fn an_invocation_without_a_time_limit_is_refused() {
    for kind in ["SYNCHRONOUS", "ASYNCHRONOUS"] {
        let params = json!({"InvocationTimeLimitSeconds": null, "InvocationType": kind});
        let why = refusals(json!([lambda(params, error_to("ok")), to("ok")]));
        assert!(why[0].contains("InvocationTimeLimitSeconds"), "{why:?}");
    }
}

/// (c) "Actions in the Amazon Connect Flow Language": NoMatchingError "is
/// invoked when an error occurs and no other Error matches"; the flow
/// language's Compare: "NoMatchingCondition - if no other Condition matches".
/// An error takes the branch of its own type, else NoMatchingError's, never the
/// NextAction.
#[tokio::test]
async fn an_error_takes_its_own_types_branch_or_no_matching_error_never_next_action() {
    let compare = json!({"Identifier": "c", "Type": "Compare",
        "Parameters": {"ComparisonValue": "$.External.Status"},
        "Transitions": {"NextAction": "ok", "Errors": [{"NextAction": "no-match", "ErrorType": "NoMatchingCondition"}],
        "Conditions": [{"NextAction": "done", "Condition": {"Operator": "Equals", "Operands": ["DONE"]}}]}});
    let mut invoke = lambda(json!({}), error_to("failed"));
    invoke["Transitions"]["NextAction"] = json!("c");
    let flow = json!([
        invoke,
        compare,
        to("ok"),
        to("failed"),
        to("no-match"),
        to("done")
    ]);

    let mut contact = Fake::default();
    contact
        .answers
        .push_back(Err("function error Unhandled".into()));
    assert_eq!(
        played(flow.clone(), &mut contact).await.0,
        transfer("failed")
    );

    let mut contact = Fake::default();
    contact
        .answers
        .push_back(Ok(br#"{"Status": "RUN"}"#.to_vec()));
    assert_eq!(
        played(flow.clone(), &mut contact).await.0,
        transfer("no-match")
    );

    let mut contact = Fake::default();
    contact
        .answers
        .push_back(Ok(br#"{"Status": "DONE"}"#.to_vec()));
    assert_eq!(played(flow, &mut contact).await.0, transfer("done"));
}

/// (c) The reference is silent on an error no branch takes
/// (`unpublished::unhandled`): the contact ends there, not on at NextAction.
#[tokio::test]
async fn an_error_no_branch_takes_ends_the_contact_unhandled() {
    let mut contact = Fake::default();
    contact
        .answers
        .push_back(Err("function error Unhandled".into()));
    let (ending, _) = played(
        json!([lambda(json!({}), json!([])), to("ok")]),
        &mut contact,
    )
    .await;
    assert_eq!(
        ending,
        Ending::Unhandled {
            block: "a".into(),
            error: "function error Unhandled".into()
        }
    );

    let compare = json!({"Identifier": "c", "Type": "Compare",
        "Parameters": {"ComparisonValue": "$.External.Status"},
        "Transitions": {"NextAction": "ok", "Conditions": [
            {"NextAction": "ok", "Condition": {"Operator": "Equals", "Operands": ["DONE"]}}]}});
    let (ending, _) = played(json!([compare, to("ok")]), &mut Fake::default()).await;
    assert!(matches!(ending, Ending::Unhandled { block, .. } if block == "c"));
}

/// (c) Each action's page lists its ErrorTypes: InvokeLambdaFunction only
/// NoMatchingError (a synchronous Timeout branch's name is unpublished),
/// Compare only NoMatchingCondition, DisconnectParticipant "Errors: None", and
/// a terminating action's "Transitions must be defined as an empty object".
#[test]
fn error_types_a_block_does_not_have_are_refused() {
    let timeout = json!([{"NextAction": "ok", "ErrorType": "Timeout"}]);
    let why = refusals(json!([lambda(json!({}), timeout), to("ok")]));
    assert!(why[0].contains("\"Timeout\""), "{why:?}");
    let compare = json!({"Identifier": "a", "Type": "Compare",
        "Parameters": {"ComparisonValue": "$.External.Status"},
        "Transitions": {"Errors": [{"NextAction": "ok", "ErrorType": "NoMatchingError"}]}});
    assert!(refusals(json!([compare, to("ok")]))[0].contains("NoMatchingError"));
    let twice = json!([{"NextAction": "ok", "ErrorType": "NoMatchingError"},
        {"NextAction": "ok", "ErrorType": "NoMatchingError"}]);
    assert!(refusals(json!([lambda(json!({}), twice), to("ok")]))[0].contains("two branches"));
    let disconnect = json!({"Identifier": "a", "Type": "DisconnectParticipant",
        "Parameters": {}, "Transitions": {"NextAction": "ok"}});
    assert!(refusals(json!([disconnect, to("ok")]))[0].contains("must be empty"));
}

/// (d) "Actions in the Amazon Connect Flow Language", Identifier: "must be
/// unique", "up to 50 characters long", none of `% : ( \ / ) = $ , ; [ ] { }`,
/// and not one of ten reserved names.
#[test]
fn identifiers_are_unique_short_and_free_of_forbidden_characters_and_reserved_names() {
    let named = |id: &str| json!({"Identifier": id, "Type": "DisconnectParticipant"});
    assert!(loads(json!([named("a b ü 9"), named(&"x".repeat(50))])));
    assert!(refusals(json!([named("a"), named("a")]))[0].contains("unique"));
    // Differing only in case: the strictest reading (unpublished::identifier_key).
    assert!(refusals(json!([named("a"), named("A")]))[0].contains("unique"));
    assert!(refusals(json!([named(&"x".repeat(51))]))[0].contains("51 characters"));
    // Counted in UTF-16 code units (unpublished::identifier_length).
    assert!(!loads(json!([named(&"😀".repeat(26))])));
    for forbidden in ["a:b", "a/b", "a$", "a{b}", "a%", "a,b"] {
        assert!(!loads(json!([named(forbidden)])), "{forbidden}");
    }
    for reserved in ["__proto__", "constructor", "toString", "valueOf"] {
        assert!(!loads(json!([named(reserved)])), "{reserved}");
    }
}

/// (d) "Example flow in Amazon Connect Flow language": "Currently the only
/// supported version is 2019-10-30", "no more than 250 Actions".
#[test]
fn the_version_and_the_250_action_limit_are_held() {
    let many = |n: usize| {
        let actions: Vec<Value> = (0..n)
            .map(|i| json!({"Identifier": format!("a{i}"), "Type": "DisconnectParticipant"}))
            .collect();
        Value::Array(actions)
    };
    assert!(loads(many(250)));
    assert!(refusals(many(251))[0].contains("251 actions"));
    let text = flow_text(many(1)).replace("2019-10-30", "2020-01-01");
    let why = Flow::parse(&text).unwrap_err().to_string();
    assert!(why.contains("Version"), "{why}");
}

/// (e) The flow language's InvokeLambdaFunction, ResponseValidation: STRING_MAP
/// "a flat object of key/value pairs of the string type", JSON "any valid JSON,
/// including nested JSON"; "Grant Amazon Connect access to your AWS Lambda
/// functions": "less than 32 KB of UTF-8 data", else the Error branch.
#[tokio::test]
async fn the_answer_is_read_by_its_response_type_and_over_32_kb_takes_the_error_branch() {
    let nested = br#"{"Account": {"Id": "A-1"}}"#.to_vec();
    let flow = |kind: &str| {
        let params = json!({"ResponseValidation": {"ResponseType": kind}});
        json!([lambda(params, error_to("failed")), to("ok"), to("failed")])
    };
    let mut contact = Fake::default();
    contact.answers.push_back(Ok(nested.clone()));
    assert_eq!(
        played(flow("STRING_MAP"), &mut contact).await.0,
        transfer("failed")
    );

    let mut contact = Fake::default();
    contact.answers.push_back(Ok(nested));
    let (ending, memory) = played(flow("JSON"), &mut contact).await;
    assert_eq!(ending, transfer("ok"));
    assert_eq!(
        memory.lookup("$.External.Account.Id").as_deref(),
        Some("A-1")
    );

    let mut contact = Fake::default();
    let big = json!({"K": "x".repeat(32 * 1024)}).to_string().into_bytes();
    contact.answers.push_back(Ok(big));
    assert_eq!(
        played(flow("JSON"), &mut contact).await.0,
        transfer("failed")
    );
    assert!(contact.log[1].contains("32 KB"), "{:?}", contact.log);

    let why = refusals(json!([
        lambda(json!({"ResponseValidation": null}), json!([])),
        to("ok")
    ]));
    assert!(why[0].contains("ResponseValidation"), "{why:?}");
}

/// (f) The Administrator Guide, "Flow block in Amazon Connect: Wait": "If the
/// wrong Invocation ID is provided to the Wait block, it continues to wait
/// until the Set timeout."
#[tokio::test]
async fn a_wait_on_an_id_that_resolves_to_nothing_waits_out_its_time_then_completes() {
    let flow = json!([wait(json!("4")), to("ok"), to("returned"), to("completed")]);
    let mut contact = Fake::default();
    assert_eq!(played(flow, &mut contact).await.0, transfer("completed"));
    assert_eq!(contact.log, ["wait nothing 4 s"]);
}

/// (f) An invocation that returned before its Wait began takes Lambda
/// returned at once (`unpublished::AN_EARLIER_RETURN_ENDS_A_WAIT`); a dynamic
/// time that is no number of seconds errs (`unpublished::wait_time`).
#[tokio::test]
async fn a_wait_sees_an_earlier_return_and_a_dynamic_time_must_be_whole_seconds() {
    let invoke = lambda(
        json!({"InvocationType": "ASYNCHRONOUS", "InvocationTimeLimitSeconds": "30"}),
        error_to("ok"),
    );
    let mut invoke = invoke;
    invoke["Transitions"]["NextAction"] = json!("w");
    invoke["Identifier"] = json!("i");
    let mut w = wait(json!("$.Attributes.WaitSeconds"));
    w["Identifier"] = json!("w");
    w["Transitions"]["Errors"] = error_to("failed");
    let flow = json!([
        invoke,
        w,
        to("ok"),
        to("returned"),
        to("completed"),
        to("failed")
    ]);
    let mut contact = Fake::default();
    contact.waits.push_back(Waited::AlreadyReturned);
    // $.Attributes.WaitSeconds is unset: the Wait errs before it waits.
    assert_eq!(
        played(flow.clone(), &mut contact).await.0,
        transfer("failed")
    );

    let set = json!({"Identifier": "s", "Type": "UpdateContactAttributes",
        "Parameters": {"Attributes": {"WaitSeconds": "6"}}, "Transitions": {"NextAction": "i"}});
    let mut flow = flow.as_array().unwrap().clone();
    flow.insert(0, set);
    let mut contact = Fake::default();
    contact.waits.push_back(Waited::AlreadyReturned);
    assert_eq!(
        played(Value::Array(flow), &mut contact).await.0,
        transfer("returned")
    );
    assert_eq!(contact.log, ["async f", "wait invocation-1 6 s"]);
}

/// (f) The Administrator Guide, "Flow block in Amazon Connect: Wait": Voice
/// "Yes - but only in Inbound flow when the Keep running while waiting option,
/// or the Set event-based wait option is selected".
#[test]
fn a_plain_timed_wait_is_refused_on_a_voice_call() {
    let mut plain = wait(json!("4"));
    plain["Parameters"] = json!({"TimeoutSeconds": "4"});
    plain["Transitions"]["Conditions"] = json!([
        {"NextAction": "completed", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}}]);
    let why = refusals(json!([plain, to("ok"), to("completed")]));
    assert!(why[0].contains("plain timed Wait"), "{why:?}");
}

/// (f) Each block's Restrictions: MessageParticipant "is not supported in
/// hold flows"; EndFlowExecution "available only in whisper flows and customer
/// queue flows"; the Wait block's page: "Inbound flow, Customer Queue flow",
/// on voice "only in Inbound flow".
#[test]
fn blocks_are_refused_outside_the_flow_types_their_pages_allow() {
    let message = json!([{"Identifier": "m", "Type": "MessageParticipant",
        "Parameters": {"Text": "hi"}}]);
    let of_type = |kind: &str, actions: &Value| {
        let mut flow: Value = serde_json::from_str(&flow_text(actions.clone())).unwrap();
        flow["Metadata"]["type"] = json!(kind);
        Flow::parse(&flow.to_string()).map(|f| f.kind())
    };
    assert_eq!(of_type("contactFlow", &message).unwrap(), FlowType::Inbound);
    assert!(of_type("customerQueue", &message).is_ok());
    assert!(of_type("customerHold", &message).is_err());
    assert!(of_type("somethingElse", &message).is_err());
    let end = json!([{"Identifier": "e", "Type": "EndFlowExecution"}]);
    assert!(of_type("contactFlow", &end).is_err());
    assert!(of_type("customerWhisper", &end).is_ok());
    let waits = json!([wait(json!("4")), to("ok"), to("returned"), to("completed")]);
    assert!(of_type("customerQueue", &waits).is_err());
    // No Metadata.type: read as an inbound flow (unpublished::FLOW_TYPE_WHEN_UNDECLARED).
    let bare = json!({"Version": "2019-10-30", "StartAction": "m", "Actions": message});
    assert_eq!(
        Flow::parse(&bare.to_string()).unwrap().kind(),
        FlowType::Inbound
    );
}

/// "Grant Amazon Connect access to your AWS Lambda functions" and the API
/// Reference's UpdateContactAttributes: "when the attributes for a contact
/// exceed 32 KB, the contact is routed down the Error branch"; attribute keys
/// "can include only alphanumeric, dash, and underscore characters".
#[tokio::test]
async fn contact_attributes_over_32_kb_take_the_error_branch() {
    let set = |value: String| {
        json!([{"Identifier": "s", "Type": "UpdateContactAttributes",
            "Parameters": {"TargetContact": "Current", "Attributes": {"Big": value}},
            "Transitions": {"NextAction": "ok", "Errors": error_to("failed")}}, to("ok"), to("failed")])
    };
    let (ending, memory) = played(set("x".repeat(100)), &mut Fake::default()).await;
    assert_eq!((ending, memory.attributes.len()), (transfer("ok"), 1));
    let (ending, memory) = played(set("x".repeat(32 * 1024)), &mut Fake::default()).await;
    assert_eq!((ending, memory.attributes.len()), (transfer("failed"), 0));
    let bad_key = json!([{"Identifier": "s", "Type": "UpdateContactAttributes",
        "Parameters": {"Attributes": {"Integration Status": "DONE"}}}]);
    assert!(!loads(bad_key));
}

fn shipped(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../infra/contact-flows")
        .join(name)
}

/// (h) `local-stack flow check` over the shipped flows: both load, as inbound
/// flows.
#[test]
fn both_shipped_flows_load_cleanly() {
    let files = [
        shipped("integration.json"),
        shipped("integration-native.json"),
    ];
    let mut out = Vec::new();
    let all = check_files(&files, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(all, "{out}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines().all(|l| l.ends_with("a contactFlow flow)")),
        "{out}"
    );
}

/// (h) A flow that breaks a rule of each kind: every refusal is reported, one
/// a line, with the file and the block.
#[test]
fn a_deliberately_bad_flow_has_every_refusal_reported_with_its_block() {
    let long = "x".repeat(51);
    let bad = json!({
        "Version": "2020-01-01",
        "StartAction": "slow",
        "Metadata": {"type": "contactFlow"},
        "Actions": [
            {"Identifier": "slow", "Type": "InvokeLambdaFunction", "Parameters": {
                "LambdaFunctionARN": "f", "InvocationTimeLimitSeconds": "2.5",
                "ResponseValidation": {"ResponseType": "STRING_MAP"}},
             "Transitions": {"NextAction": "async", "Errors": [{"NextAction": "async", "ErrorType": "Timeout"}]}},
            {"Identifier": "async", "Type": "InvokeLambdaFunction", "Parameters": {
                "LambdaFunctionARN": "f", "InvocationType": "ASYNCHRONOUS"},
             "Transitions": {"NextAction": "pause"}},
            {"Identifier": "pause", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "5"},
             "Transitions": {"NextAction": "check"}},
            {"Identifier": "check", "Type": "Compare", "Parameters": {"ComparisonValue": "$.External.S"},
             "Transitions": {"NextAction": "nowhere", "Errors": [{"NextAction": "same", "ErrorType": "NoMatchingError"}]}},
            {"Identifier": "same", "Type": "DisconnectParticipant", "Transitions": {"NextAction": "check"}},
            {"Identifier": "same", "Type": "DisconnectParticipant"},
            {"Identifier": long, "Type": "DisconnectParticipant"},
            {"Identifier": "a:b", "Type": "DisconnectParticipant"},
            {"Identifier": "constructor", "Type": "EndFlowExecution"},
        ],
    });
    let file = std::env::temp_dir().join(format!("bad-flow-{}.json", std::process::id()));
    std::fs::write(&file, bad.to_string()).unwrap();
    let mut out = Vec::new();
    let all = check_files(std::slice::from_ref(&file), &mut out).unwrap();
    std::fs::remove_file(&file).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(!all);
    let shown = file.display().to_string();
    let expected = [
        ("the flow", "Version"),
        ("block slow", "InvocationTimeLimitSeconds \"2.5\""),
        ("block slow", "ErrorType \"Timeout\""),
        ("block async", "lacks parameter InvocationTimeLimitSeconds"),
        ("block async", "ResponseValidation"),
        ("block pause", "takes no parameter TimeLimitSeconds"),
        ("block pause", "lacks parameter TimeoutSeconds"),
        ("block pause", "plain timed Wait"),
        ("block check", "ErrorType \"NoMatchingError\""),
        ("block check", "leads to nowhere"),
        ("block same", "unique"),
        ("block same", "Transitions must be empty"),
        (&format!("block {long}"), "51 characters"),
        ("block a:b", "':'"),
        ("block constructor", "reserves"),
        (
            "block constructor",
            "EndFlowExecution is not allowed in a contactFlow flow",
        ),
    ];
    for (block, why) in expected {
        let line = format!("{shown}: {block}");
        assert!(
            out.lines().any(|l| l.starts_with(&line) && l.contains(why)),
            "no refusal of {block} for {why:?} in:\n{out}"
        );
    }
    assert_eq!(out.lines().count(), expected.len(), "{out}");
}

/// An asynchronous invocation, then a Wait that keeps running while it waits
/// ([`unpublished::CONTINUE`]): its Continue branch plays `messages` prompts
/// in a row, then runs out.
fn keep_running(messages: usize) -> Value {
    let mut actions = vec![
        json!({"Identifier": "invoke", "Type": "InvokeLambdaFunction", "Parameters": {
            "LambdaFunctionARN": "f", "InvocationTimeLimitSeconds": "30",
            "InvocationType": "ASYNCHRONOUS", "ResponseValidation": {"ResponseType": "STRING_MAP"}},
            "Transitions": {"NextAction": "wait", "Errors": error_to("failed")}}),
        json!({"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeoutSeconds": "30",
            "Events": ["LambdaReturned"], "LambdaInvocationId": "$.LambdaInvocation.InvocationId"},
            "Transitions": {"Errors": error_to("failed"), "Conditions": [
                {"NextAction": "load", "Condition": {"Operator": "Equals", "Operands": ["LambdaReturned"]}},
                {"NextAction": "late", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}},
                {"NextAction": "message-0", "Condition": {"Operator": "Equals", "Operands": ["Continue"]}}]}}),
        json!({"Identifier": "load", "Type": "InvokeLambdaFunction", "Parameters": {
            "LambdaInvocationId": "$.LambdaInvocation.InvocationId",
            "ResponseValidation": {"ResponseType": "STRING_MAP"}},
            "Transitions": {"NextAction": "done", "Errors": error_to("failed")}}),
        to("done"),
        to("late"),
        to("failed"),
    ];
    for n in 0..messages {
        let next = (n + 1 < messages).then(|| format!("message-{}", n + 1));
        actions.push(
            json!({"Identifier": format!("message-{n}"), "Type": "MessageParticipant",
            "Parameters": {"Text": "Still working"},
            "Transitions": {"NextAction": next, "Errors": error_to("failed")}}),
        );
    }
    Value::Array(actions)
}

/// The Administrator Guide, "Flow block in Amazon Connect: Wait": with *Keep
/// running while waiting* the contact runs the Continue branch while the
/// block waits, and the event moves it on: the result is loaded as soon as
/// the invocation returns, mid-branch.
#[tokio::test]
async fn a_keep_running_wait_plays_its_continue_branch_until_the_invocation_returns() {
    let mut contact = Fake {
        returns_after_plays: Some(2),
        ..Fake::default()
    };
    let (ending, _) = played(keep_running(5), &mut contact).await;
    assert_eq!(ending, transfer("done"));
    assert_eq!(
        contact.log,
        ["async f", "play", "play", "load invocation-1"]
    );

    // A branch that runs out leaves the contact waiting, in silence, for the
    // event or the time ([`unpublished::CONTINUE`]).
    let mut contact = Fake::default();
    let (ending, _) = played(keep_running(1), &mut contact).await;
    assert_eq!(ending, transfer("late"));
    assert_eq!(contact.log[..2], ["async f", "play"]);
    assert!(
        contact.log[2].starts_with("wait invocation-1"),
        "{:?}",
        contact.log
    );
}

/// "Wait blocks can't be nested inside a Continue branch" (the Administrator
/// Guide, "Flow block in Amazon Connect: Wait").
#[test]
fn a_wait_inside_a_continue_branch_is_refused() {
    let mut actions = keep_running(1);
    let nested = json!({"Identifier": "message-0", "Type": "Wait", "Parameters": {
        "TimeoutSeconds": "5", "Events": ["LambdaReturned"],
        "LambdaInvocationId": "$.LambdaInvocation.InvocationId"},
        "Transitions": {"Errors": error_to("failed"), "Conditions": [
            {"NextAction": "done", "Condition": {"Operator": "Equals", "Operands": ["LambdaReturned"]}},
            {"NextAction": "late", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}}]}});
    let last = actions.as_array().unwrap().len() - 1;
    actions[last] = nested;
    let refused = refusals(actions);
    assert!(
        refused
            .iter()
            .any(|r| r.contains("cannot run inside a Continue branch")),
        "{refused:?}"
    );
    assert!(loads(keep_running(3)));
}
