//! The integration function framework and the echo function, on DynamoDB Local:
//! the handler is called in-process, as Lambda would call it, with state seeded
//! as the Rules Engine and start leave it.

use std::time::Duration;

use integration_echo::echo;
use kit::{logs::Logs, new_contact, TestTable};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use shared::{
    integration::{self, Cause, Deps, IntegrationContext, IntegrationError, Settings},
    store::{INTEGRATION_END, INTEGRATION_ERROR_CAUSE, TIMEOUT_CAUSE},
    Clock, ContactId, ContactState, IntegrationStatus, ManualClock, Run, RunId, RunStart, Store,
};

const ECHO: &str = "dev-rules-integrationEcho";

/// A fresh table, a store on a manual clock, and the framework's dependencies.
struct Setup {
    table: TestTable,
    store: Store,
    clock: ManualClock,
    deps: Deps,
}

impl Setup {
    async fn new() -> Self {
        let table = TestTable::new().await;
        let (store, clock) = table.store_with_manual_clock();
        let settings = Settings {
            function_name: Some(ECHO.into()),
            ..Settings::default()
        };
        let deps = Deps::new(store.clone(), settings);
        Self {
            table,
            store,
            clock,
            deps,
        }
    }

    /// Writes `values` as the Rules Engine would.
    async fn seed(&self, contact: &ContactId, values: Value) {
        let mut state = ContactState::default();
        let changes: Vec<_> = values
            .as_object()
            .expect("seed an object")
            .iter()
            .map(|(key, value)| state.set(key, value.clone()).expect("a valid key"))
            .collect();
        self.store
            .write(contact, &changes)
            .await
            .expect("seed state");
    }

    /// An integration rule that fired with `output_key` and `payload`, and the run
    /// start opened for it.
    async fn rule(&self, contact: &ContactId, output_key: &str, payload: &str) -> Run {
        self.seed(
            contact,
            json!({
                "CurrentRuleSet": "Main",
                "CurrentRule": "Look up customer",
                "CurrentRuleType": "Integration",
                "CurrentRule_functionName": ECHO,
                "CurrentRule_functionOutputKey": output_key,
                "CurrentRule_functionPayload": payload,
                "CurrentRule_functionTimeout": "10",
            }),
        )
        .await;
        start(&self.store, contact).await
    }

    async fn state(&self, contact: &ContactId) -> ContactState {
        self.store.load_state(contact).await.expect("load state")
    }

    async fn invoke(&self, event: Value) -> Result<Value, IntegrationError> {
        invoke_with(&self.deps, event, echo).await
    }
}

/// Opens a run as start does.
async fn start(store: &Store, contact: &ContactId) -> Run {
    store
        .start(
            contact,
            RunStart {
                function_name: ECHO.into(),
                timeout: Duration::from_secs(10),
            },
        )
        .await
        .expect("start a run")
}

async fn invoke_with<W>(deps: &Deps, event: Value, work: W) -> Result<Value, IntegrationError>
where
    W: AsyncFn(&IntegrationContext, &str) -> Result<String, Cause>,
{
    integration::handle(LambdaEvent::new(event, Context::default()), deps, work).await
}

/// The integration request start sends.
fn request(contact: &ContactId, run: Option<&RunId>, payload: &str) -> Value {
    let mut request = json!({
        "ContactId": contact.as_str(),
        "Payload": payload,
        "OriginalRequest": r#"{"Name":"ContactFlowEvent","Details":{}}"#,
    });
    if let Some(run) = run {
        request["RunId"] = json!(run.as_str());
    }
    request
}

fn status(state: &ContactState) -> IntegrationStatus {
    state.integration_status().expect("a status item")
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/connect/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}

#[tokio::test]
async fn echo_writes_a_json_payload_into_a_dotted_output_key_as_nested_json() {
    let setup = Setup::new().await;
    let contact = new_contact();
    setup
        .seed(&contact, json!({"customer": {"id": "C-1"}}))
        .await;
    let payload = r#"{"greeting": "hello", "items": [1, 2]}"#;
    let run = setup.rule(&contact, "customer.echoResult", payload).await;

    let reply = setup
        .invoke(request(&contact, Some(&run.id), payload))
        .await
        .unwrap();

    assert_eq!(reply["IntegrationStatus"], "DONE");
    assert_eq!(reply["RunId"], run.id.as_str());
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Done);
    assert_eq!(
        state.get("customer"),
        Some(&json!({"id": "C-1", "echoResult": {"greeting": "hello", "items": [1, 2]}}))
    );
    assert!(state.get_str(INTEGRATION_END).is_some());
    assert_eq!(state.get(INTEGRATION_ERROR_CAUSE), None);
}

#[tokio::test]
async fn sleep_time_with_forced_error_ends_in_error_with_the_cause_and_the_output_removed() {
    let setup = Setup::new().await;
    let contact = new_contact();
    // The output of an earlier run, which an ERROR must not leave behind.
    setup
        .seed(
            &contact,
            json!({"customer": {"id": "C-1", "echoResult": "old"}}),
        )
        .await;
    let payload = r#"{"SleepTime": "2.5", "ForcedError": "CRM unavailable"}"#;
    let run = setup.rule(&contact, "customer.echoResult", payload).await;
    let before = setup.clock.now();

    let reply = setup
        .invoke(request(&contact, Some(&run.id), payload))
        .await
        .unwrap();

    assert_eq!(reply["IntegrationStatus"], "ERROR");
    assert!(
        setup.clock.now() - before >= chrono::Duration::milliseconds(2_500),
        "the echo slept on the injected clock"
    );
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Error);
    assert_eq!(
        state.get_str(INTEGRATION_ERROR_CAUSE),
        Some("CRM unavailable")
    );
    assert_eq!(state.get("customer"), Some(&json!({"id": "C-1"})));
    assert!(state.get_str(INTEGRATION_END).is_some());
}

#[tokio::test]
async fn a_payload_that_is_not_json_is_echoed_as_text() {
    let setup = Setup::new().await;
    let contact = new_contact();
    let run = setup.rule(&contact, "EchoResult", "hello there").await;

    setup
        .invoke(request(&contact, Some(&run.id), "hello there"))
        .await
        .unwrap();

    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Done);
    assert_eq!(state.get_str("EchoResult"), Some("hello there"));
}

#[tokio::test]
async fn a_request_without_contact_id_or_not_an_object_is_an_error_and_state_is_untouched() {
    let setup = Setup::new().await;
    let contact = new_contact();
    let run = setup.rule(&contact, "EchoResult", "x").await;
    let before = setup.table.raw_items(&contact).await;

    let mut no_contact = request(&contact, Some(&run.id), "x");
    no_contact
        .as_object_mut()
        .unwrap()
        .remove("ContactId")
        .unwrap();
    let err = setup.invoke(no_contact).await.unwrap_err();
    assert!(matches!(err, IntegrationError::BadRequest(_)));
    assert_eq!(
        err.to_string(),
        "bad request: the integration request has no ContactId"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "BadRequest");

    let err = setup.invoke(json!("not json")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad request: the request is not a JSON object"
    );

    assert_eq!(setup.table.raw_items(&contact).await, before);
}

#[tokio::test]
async fn a_finish_after_timeout_is_refused_and_writes_nothing() {
    let setup = Setup::new().await;
    let contact = new_contact();
    let run = setup.rule(&contact, "EchoResult", "late").await;
    let store = setup.store.clone();
    // check-timeout gives up on the run while the work is still going.
    let slow = async |context: &IntegrationContext, payload: &str| -> Result<String, Cause> {
        store
            .timeout(context.contact_id(), context.run_id())
            .await
            .expect("timeout");
        Ok(payload.to_owned())
    };

    let reply = invoke_with(&setup.deps, request(&contact, Some(&run.id), "late"), slow)
        .await
        .expect("a refusal is a success for Lambda");

    assert_eq!(reply["IntegrationStatus"], Value::Null);
    assert_eq!(reply["Refused"], "the run already ended as TIMEOUT");
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Timeout);
    assert_eq!(state.get_str(INTEGRATION_ERROR_CAUSE), Some(TIMEOUT_CAUSE));
    assert_eq!(
        state.get("EchoResult"),
        None,
        "the late output is not written"
    );

    // A retry after the timeout stops at the `run` transition.
    let reply = setup
        .invoke(request(&contact, Some(&run.id), "late"))
        .await
        .unwrap();
    assert_eq!(reply["Refused"], "the run already ended as TIMEOUT");
    assert_eq!(
        status(&setup.state(&contact).await),
        IntegrationStatus::Timeout
    );
}

#[tokio::test]
async fn a_finish_for_a_superseded_run_is_refused_and_the_new_run_is_untouched() {
    let setup = Setup::new().await;
    let contact = new_contact();
    let old = setup.rule(&contact, "EchoResult", "old").await;
    let store = setup.store.clone();
    let newer = std::sync::Mutex::new(None);
    // A new integration rule fires while the old run's work is going.
    let superseded = async |context: &IntegrationContext, payload: &str| -> Result<String, Cause> {
        let run = start(&store, context.contact_id()).await;
        *newer.lock().unwrap() = Some(run.id);
        Ok(payload.to_owned())
    };

    let reply = invoke_with(
        &setup.deps,
        request(&contact, Some(&old.id), "old"),
        superseded,
    )
    .await
    .unwrap();

    let newer = newer.lock().unwrap().clone().expect("the work ran");
    assert_eq!(
        reply["Refused"],
        format!("superseded by run {newer} (START)").as_str()
    );
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Start);
    assert_eq!(state.status().unwrap().run_id.as_ref(), Some(&newer));
    assert_eq!(state.get("EchoResult"), None);

    // The old run's request, retried, is refused before any work.
    let reply = setup
        .invoke(request(&contact, Some(&old.id), "old"))
        .await
        .unwrap();
    assert!(reply["Refused"]
        .as_str()
        .unwrap()
        .starts_with("superseded by run"));
    assert_eq!(
        status(&setup.state(&contact).await),
        IntegrationStatus::Start
    );
}

#[tokio::test]
async fn a_request_without_run_id_adopts_the_open_run_and_finds_none_once_it_is_done() {
    let setup = Setup::new().await;
    let contact = new_contact();
    let run = setup.rule(&contact, "EchoResult", "adopted").await;

    let reply = setup
        .invoke(request(&contact, None, "adopted"))
        .await
        .unwrap();

    assert_eq!(reply["RunId"], run.id.as_str());
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Done);
    assert_eq!(state.status().unwrap().run_id.as_ref(), Some(&run.id));
    assert_eq!(state.get_str("EchoResult"), Some("adopted"));

    // Nothing open any more: a second request writes nothing.
    let reply = setup
        .invoke(request(&contact, None, "again"))
        .await
        .unwrap();
    assert_eq!(reply["Refused"], "no open run to adopt");
    assert_eq!(
        setup.state(&contact).await.get_str("EchoResult"),
        Some("adopted")
    );
}

#[tokio::test]
async fn a_run_written_without_a_run_id_by_an_older_start_is_adopted() {
    let setup = Setup::new().await;
    let contact = new_contact();
    setup.rule(&contact, "EchoResult", "legacy").await;
    // The original's start replaces the status item with a bare value.
    setup
        .table
        .client
        .put_item()
        .table_name(&setup.table.name)
        .item("ContactId", shared_s(contact.as_str()))
        .item("What", shared_s("IntegrationStatus"))
        .item("Value", shared_s("START"))
        .send()
        .await
        .unwrap();

    let reply = setup
        .invoke(request(&contact, None, "legacy"))
        .await
        .unwrap();

    assert_eq!(reply["IntegrationStatus"], "DONE");
    assert_eq!(reply["RunId"], Value::Null);
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Done);
    assert_eq!(state.get_str("EchoResult"), Some("legacy"));
}

fn shared_s(text: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(text.to_owned())
}

#[tokio::test]
async fn a_retried_request_for_a_run_already_marked_run_redoes_the_work() {
    let setup = Setup::new().await;
    let contact = new_contact();
    let run = setup.rule(&contact, "EchoResult", "again").await;
    // The first attempt marked the run, then failed on DynamoDB.
    setup.store.run(&contact, Some(&run.id)).await.unwrap();

    setup
        .invoke(request(&contact, Some(&run.id), "again"))
        .await
        .unwrap();

    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Done);
    assert_eq!(state.get_str("EchoResult"), Some("again"));
}

#[tokio::test]
async fn a_rule_without_an_output_key_ends_the_run_in_error_with_a_cause() {
    let setup = Setup::new().await;
    let contact = new_contact();
    let run = start(&setup.store, &contact).await;

    let reply = setup
        .invoke(request(&contact, Some(&run.id), "x"))
        .await
        .unwrap();

    assert_eq!(reply["IntegrationStatus"], "ERROR");
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Error);
    assert_eq!(
        state.get_str(INTEGRATION_ERROR_CAUSE),
        Some("CurrentRule_functionOutputKey is not set in the contact's state")
    );
}

/// The run ended `ERROR` whole: the status item finished (its end stamped, out of
/// the pending index), `IntegrationEnd` and a cause starting with `cause` written,
/// the output key absent. Returns the state, for more checks.
async fn assert_ended_in_error(
    setup: &Setup,
    contact: &ContactId,
    output_key: &str,
    cause: &str,
) -> ContactState {
    let state = setup.state(contact).await;
    assert_eq!(status(&state), IntegrationStatus::Error);
    let written = state.get_str(INTEGRATION_ERROR_CAUSE).unwrap();
    assert!(written.starts_with(cause), "{written}");
    assert!(state.get_str(INTEGRATION_END).is_some());
    assert_eq!(state.get(output_key), None);
    let record = state.status().unwrap();
    assert!(record.ended_at.is_some());
    let status_item = setup.table.raw_status(contact).await;
    assert!(!status_item.contains_key(shared::table::PENDING_SHARD));
    state
}

#[tokio::test]
async fn an_output_too_large_for_dynamodb_ends_the_run_in_error_not_half_written() {
    let setup = Setup::new().await;
    // Over the limit by itself, and just under it but over once the item's keys
    // are added, which only DynamoDB's refusal tells.
    for size in [500 * 1024, 400 * 1024 - 16] {
        let contact = new_contact();
        let payload = "x".repeat(size);
        let run = setup.rule(&contact, "EchoResult", "big").await;

        let reply = setup
            .invoke(request(&contact, Some(&run.id), &payload))
            .await
            .unwrap();

        assert_eq!(reply["IntegrationStatus"], "ERROR", "size {size}");
        assert_ended_in_error(&setup, &contact, "EchoResult", "output too large").await;
    }
}

#[tokio::test]
async fn an_output_that_takes_its_dotted_item_past_400_kb_ends_in_error_and_keeps_the_item() {
    let setup = Setup::new().await;
    let contact = new_contact();
    // 300 KB already in the item; 150 KB more would not fit.
    let customer = json!({"id": "c-1", "notes": "n".repeat(300 * 1024)});
    setup.seed(&contact, json!({"customer": customer})).await;
    let run = setup.rule(&contact, "customer.echo", "big").await;

    let reply = setup
        .invoke(request(&contact, Some(&run.id), &"x".repeat(150 * 1024)))
        .await
        .unwrap();

    assert_eq!(reply["IntegrationStatus"], "ERROR");
    let state = assert_ended_in_error(&setup, &contact, "customer.echo", "output too large").await;
    assert_eq!(state.get("customer"), Some(&customer), "the item as it was");
}

#[tokio::test]
async fn an_output_refused_for_its_size_leaves_no_trace_of_its_path() {
    let setup = Setup::new().await;
    for existing in [Some(json!({"id": "c-1"})), None] {
        let contact = new_contact();
        if let Some(customer) = &existing {
            setup.seed(&contact, json!({"customer": customer})).await;
        }
        let run = setup.rule(&contact, "customer.orders.3.id", "big").await;

        setup
            .invoke(request(&contact, Some(&run.id), &"x".repeat(500 * 1024)))
            .await
            .unwrap();

        let state =
            assert_ended_in_error(&setup, &contact, "customer.orders.3.id", "output too large")
                .await;
        // Not `{"id": "c-1", "orders": [null, null, null, {}]}`: the path the
        // output would have taken is not written either.
        assert_eq!(state.get("customer"), existing.as_ref());
    }
}

#[tokio::test]
async fn an_output_nesting_deeper_than_stored_json_reads_back_ends_in_error() {
    let setup = Setup::new().await;
    let contact = new_contact();
    // 20 levels of key and 120 of arrays: stored, it would read back as text.
    let key = format!("deep.{}", ["x"; 19].join("."));
    let run = setup.rule(&contact, &key, "deep").await;
    let payload = format!("{}{}", "[".repeat(120), "]".repeat(120));

    let reply = setup
        .invoke(request(&contact, Some(&run.id), &payload))
        .await
        .unwrap();

    assert_eq!(reply["IntegrationStatus"], "ERROR", "{reply}");
    let state = assert_ended_in_error(&setup, &contact, "deep", "output not stored").await;
    let cause = state.get_str(INTEGRATION_ERROR_CAUSE).unwrap();
    assert!(cause.contains("nest 139 levels"), "{cause}");
}

#[tokio::test]
async fn a_dynamodb_failure_goes_back_to_lambda_as_an_error() {
    let setup = Setup::new().await;
    let missing = Store::new(
        setup.table.client.clone(),
        "no-such-table",
        std::sync::Arc::new(setup.clock.clone()),
    );
    let deps = Deps::new(missing, Settings::default());
    let contact = new_contact();

    let err = invoke_with(&deps, request(&contact, None, "x"), echo)
        .await
        .unwrap_err();

    assert!(matches!(err, IntegrationError::Store(_)));
}

#[tokio::test]
async fn a_keep_warm_ping_is_answered_without_touching_state() {
    let setup = Setup::new().await;
    let reply = setup
        .invoke(json!({"keepWarm": {"name": ECHO, "arn": "arn:aws:lambda:x"}}))
        .await
        .unwrap();
    assert_eq!(reply["keepWarm"]["name"], ECHO);
    assert_eq!(reply["keepWarm"]["coldStart"], true);
}

/// Seeds the rule for the fixture's contact and returns the event and contact.
async fn native_setup(setup: &Setup, parameters: Value) -> (Value, ContactId) {
    let mut event = fixture("contact-flow-event.json");
    for (name, value) in parameters.as_object().unwrap() {
        event["Details"]["Parameters"][name] = value.clone();
    }
    let contact = ContactId::parse(
        event["Details"]["ContactData"]["InitialContactId"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    setup
        .seed(
            &contact,
            json!({
                "CurrentRuleSet": "Main",
                "CurrentRule": "Echo",
                "CurrentRuleType": "Integration",
                "CurrentRule_functionOutputKey": "EchoResult",
                "CurrentRule_functionPayload": {"SleepTime": 1, "note": "from the rule"},
                "CurrentRule_functionTimeout": "5",
                "customer": {"tier": "gold"},
            }),
        )
        .await;
    (event, contact)
}

#[tokio::test]
async fn native_async_mode_answers_like_connect_expects_and_records_the_run() {
    let setup = Setup::new().await;
    let (event, contact) = native_setup(&setup, json!({})).await;
    let started = setup.clock.now();

    let answer = setup.invoke(event).await.unwrap();

    // Connect takes a flat map of strings only.
    let fields = answer.as_object().expect("an object");
    assert!(fields.values().all(Value::is_string), "{answer}");
    assert_eq!(answer["IntegrationStatus"], "DONE");
    assert_eq!(answer["CurrentRule"], "Echo");
    // The echoed JSON is stored parsed, and JSON values are left out of the
    // answer, as the Rules Engine does.
    assert!(answer.get("EchoResult").is_none(), "{answer}");
    assert!(answer.get("customer").is_none(), "{answer}");
    let state = setup.state(&contact).await;
    assert_eq!(
        state.get("EchoResult"),
        Some(&json!({"SleepTime": 1, "note": "from the rule"}))
    );
    assert!(
        setup.clock.now() - started >= chrono::Duration::seconds(1),
        "the rule's JSON payload reached the echo as text it could read"
    );
    let record = state.status().expect("the run is recorded");
    assert_eq!(record.status, IntegrationStatus::Done);
    assert!(record.run_id.is_some());
    assert_eq!(record.function_name.as_deref(), Some(ECHO));
    assert_eq!(
        record.deadline.unwrap().timestamp_millis(),
        started.timestamp_millis() + 5_000,
        "the rule's timeout sets the deadline"
    );
    assert!(record.ended_at.is_some());
    assert_eq!(
        answer["IntegrationEnd"],
        state.get_str(INTEGRATION_END).unwrap()
    );
}

#[tokio::test]
async fn native_block_parameters_override_the_rule_s_payload_and_output_key() {
    let setup = Setup::new().await;
    let (event, contact) = native_setup(
        &setup,
        json!({"Payload": "{\"ForcedError\": \"Billing down\"}", "OutputKey": "customer.billing"}),
    )
    .await;

    let answer = setup.invoke(event).await.unwrap();

    assert_eq!(answer["IntegrationStatus"], "ERROR");
    assert_eq!(answer["IntegrationErrorCause"], "Billing down");
    let state = setup.state(&contact).await;
    assert_eq!(state.get("customer"), Some(&json!({"tier": "gold"})));
    assert_eq!(state.get("EchoResult"), None);
}

#[tokio::test]
async fn native_mode_without_an_output_key_answers_error_and_records_it() {
    let setup = Setup::new().await;
    let event = fixture("contact-flow-event.json");

    let answer = setup.invoke(event).await.unwrap();

    assert_eq!(answer["IntegrationStatus"], "ERROR");
    assert_eq!(
        answer["IntegrationErrorCause"],
        "CurrentRule_functionOutputKey is not set in the contact's state"
    );
    let contact = ContactId::parse("5ca32fbd-8f92-46af-92a5-6b0f970f0efe").unwrap();
    assert_eq!(
        status(&setup.state(&contact).await),
        IntegrationStatus::Error
    );
}

#[tokio::test]
async fn a_run_logs_the_analytics_records_and_no_personal_data() {
    let setup = Setup::new().await;
    // The flow passes the caller's number on to the function, as flows do.
    let (event, contact) = native_setup(
        &setup,
        json!({"Payload": "{\"phone\": \"+15555550123\", \"name\": \"Ada Lovelace\"}"}),
    )
    .await;
    let (logs, _guard) = Logs::capture();

    setup.invoke(event.clone()).await.unwrap();
    // And the same event as the OriginalRequest of an integration request.
    let run = setup.rule(&contact, "EchoResult", "ACCT-99887766").await;
    let mut from_start = request(&contact, Some(&run.id), "ACCT-99887766");
    from_start["OriginalRequest"] = json!(event.to_string());
    setup.invoke(from_start).await.unwrap();

    let text = logs.text();
    for personal in ["+15555550123", "ACCT-99887766", "Ada Lovelace"] {
        assert!(!text.contains(personal), "{personal} was logged:\n{text}");
    }
    let ends = logs.events("INTEGRATION_END");
    assert_eq!(ends.len(), 2, "{text}");
    let end = &ends[0];
    assert_eq!(end["EventType"], "ANALYTICS");
    assert_eq!(end["ContactId"], contact.as_str());
    assert_eq!(end["RuleSet"], "Main");
    assert_eq!(end["Rule"], "Echo");
    assert_eq!(end["RuleType"], "Integration");
    assert_eq!(end["FunctionName"], ECHO);
    assert_eq!(end["Status"], "DONE");
    assert!(end["When"].as_str().unwrap().ends_with("+00:00"));
    assert!(end["Cost"].as_i64().unwrap() >= 0);
    assert_eq!(logs.events("INTEGRATION_RUN").len(), 2);
}

#[tokio::test]
async fn an_error_and_a_refusal_are_logged_with_their_cause_and_reason() {
    let setup = Setup::new().await;
    let contact = new_contact();
    let payload = r#"{"ForcedError": "Billing down"}"#;
    let run = setup.rule(&contact, "EchoResult", payload).await;
    let (logs, _guard) = Logs::capture();

    setup
        .invoke(request(&contact, Some(&run.id), payload))
        .await
        .unwrap();
    // Lambda's retry of a run that already ended.
    setup
        .invoke(request(&contact, Some(&run.id), payload))
        .await
        .unwrap();

    let ends = logs.events("INTEGRATION_END");
    assert_eq!(ends.len(), 1, "{}", logs.text());
    assert_eq!(ends[0]["Status"], "ERROR");
    assert_eq!(ends[0]["ErrorCause"], "Billing down");
    let refusals: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|line| line["refusal"] == "the run already ended as ERROR")
        .collect();
    assert_eq!(refusals.len(), 1, "{}", logs.text());
    assert_eq!(refusals[0]["level"], "WARN");
    assert_eq!(refusals[0]["contact_id"], contact.as_str());
    assert_eq!(refusals[0]["run_id"], run.id.as_str());
}

#[tokio::test]
async fn a_malformed_contact_flow_event_is_answered_with_error_and_nothing_of_it_is_logged() {
    let setup = Setup::new().await;
    let mut event = fixture("contact-flow-event.json");
    // serde would quote this value in its message.
    event["Details"]["Parameters"] = json!("+15555550123");
    let (logs, _guard) = Logs::capture();

    let answer = setup.invoke(event).await.unwrap();

    assert_eq!(answer["IntegrationStatus"], "ERROR");
    assert_eq!(
        answer["IntegrationErrorCause"],
        "the event is not shaped as Connect sends it"
    );
    assert!(!logs.text().contains("+15555550123"), "{}", logs.text());
    let contact = ContactId::parse("5ca32fbd-8f92-46af-92a5-6b0f970f0efe").unwrap();
    assert!(setup.table.raw_items(&contact).await.is_empty());
}

/// Runs of the property below: `PROPTEST_CASES`, at most 100 (each is a run on
/// DynamoDB Local with outputs up to 600 KB).
fn runs() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(100_000)
        .min(100)
}

/// One run of the property: where the output goes, what is there already, and
/// the output.
#[derive(Debug, Clone)]
struct OutputCase {
    key: String,
    existing: Option<usize>,
    output: String,
}

fn output_case() -> impl proptest::strategy::Strategy<Value = OutputCase> {
    use proptest::{prelude::*, sample::select};
    let deep_key = format!("deep.{}", ["x"; 29].join("."));
    let key = select(vec![
        "EchoResult".to_owned(),
        "customer.echo".to_owned(),
        "customer.orders.3.id".to_owned(),
        deep_key,
    ]);
    let kb = 1024;
    let size = select(vec![
        0,
        1,
        1000,
        200 * kb,
        390 * kb,
        400 * kb - 16,
        400 * kb,
        401 * kb,
        600 * kb,
    ]);
    let output = prop_oneof![
        size.clone().prop_map(|n| "x".repeat(n)),
        size.prop_map(|n| format!(r#"{{"a":"{}"}}"#, "y".repeat(n))),
        select(vec![10, 96, 97, 98, 126, 127, 128, 300]).prop_map(|depth| format!(
            "{}{}",
            "[".repeat(depth),
            "]".repeat(depth)
        )),
        select(vec![
            r#"{"a":"\ud800"}"#,
            r#"["\x"]"#,
            "+15555550123",
            r#"{"__proto__":1}"#
        ])
        .prop_map(str::to_owned),
    ];
    let existing = select(vec![None, Some(kb), Some(300 * kb), Some(399 * kb)]);
    (key, existing, output).prop_map(|(key, existing, output)| OutputCase {
        key,
        existing,
        output,
    })
}

/// Every output, whatever its size, nesting or text, ends the run whole: `DONE`
/// with the output as the state semantics say, or `ERROR` with a cause and the
/// output key removed; never a store error, a panic, or an open run.
#[test]
fn any_output_ends_its_run_done_or_error_and_never_half_written() {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    use shared::store::limits::{value_bytes, MAX_ITEM_BYTES};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let setup = runtime.block_on(Setup::new());
    let mut runner = TestRunner::new(Config {
        cases: runs(),
        failure_persistence: None,
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let work = async |_: &IntegrationContext, payload: &str| Ok(payload.to_owned());
    let result = runner.run(&output_case(), |case| {
        runtime.block_on(async {
            let contact = new_contact();
            if let Some(size) = case.existing {
                let customer = json!({"id": "c-1", "notes": "n".repeat(size)});
                setup.seed(&contact, json!({"customer": customer})).await;
            }
            let run = setup.rule(&contact, &case.key, "x").await;
            let before = setup.state(&contact).await;
            let top = case.key.split('.').next().unwrap();

            let reply = invoke_with(
                &setup.deps,
                request(&contact, Some(&run.id), &case.output),
                work,
            )
            .await
            .map_err(|err| TestCaseError::fail(format!("the run failed: {err}")))?;

            let after = setup.state(&contact).await;
            let mut done = before.clone();
            let written = done.set(&case.key, Value::String(case.output.clone()));
            let mut error = before.clone();
            error.set(&case.key, Value::Null).unwrap();
            let status = after.integration_status();
            proptest::prop_assert_eq!(
                reply["IntegrationStatus"].as_str(),
                status.map(|s| s.as_str())
            );
            match status {
                Some(IntegrationStatus::Done) => {
                    proptest::prop_assert_eq!(after.get(top), done.get(top));
                    proptest::prop_assert_eq!(after.get(INTEGRATION_ERROR_CAUSE), None);
                    let change = written.expect("a DONE output was a valid write");
                    proptest::prop_assert!(value_bytes(&change) <= MAX_ITEM_BYTES);
                }
                Some(IntegrationStatus::Error) => {
                    let cause = after.get_str(INTEGRATION_ERROR_CAUSE).unwrap_or_default();
                    proptest::prop_assert!(
                        cause.starts_with("output too large")
                            || cause.starts_with("output not stored"),
                        "{}",
                        cause
                    );
                    proptest::prop_assert_eq!(after.get(top), error.get(top));
                    // Only what could not be stored ends in ERROR.
                    let small = written
                        .as_ref()
                        .is_ok_and(|change| value_bytes(change) < 390 * 1024);
                    proptest::prop_assert!(!small, "a storable output ended ERROR: {}", cause);
                }
                other => proptest::prop_assert!(false, "the run ended as {:?}", other),
            }
            proptest::prop_assert!(after.get_str(INTEGRATION_END).is_some());
            let record = after.status().unwrap();
            proptest::prop_assert!(record.ended_at.is_some());
            let status_item = setup.table.raw_status(&contact).await;
            proptest::prop_assert!(!status_item.contains_key(shared::table::PENDING_SHARD));
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    eprintln!(
        "outputs on DynamoDB Local: {} runs, none half-written, {:.1} s",
        runs(),
        started.elapsed().as_secs_f64()
    );
}
