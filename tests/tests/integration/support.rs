//! A fresh table with a store on a manual clock and the framework's
//! dependencies, state seeded as the Rules Engine and start leave it, and the
//! requests start sends.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_echo::echo;
use kit::ManualClock;
use kit::{new_contact, TestTable};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use shared::{
    integration::{self, Cause, Deps, IntegrationContext, IntegrationError, Settings},
    ContactId, ContactState, IntegrationStatus, Run, RunId, RunStart, Store,
};

pub const ECHO: &str = "dev-rules-integrationEcho";

/// The contact of the Connect event fixture.
pub const FIXTURE_CONTACT: &str = "5ca32fbd-8f92-46af-92a5-6b0f970f0efe";

/// A fresh table, a store on a manual clock, and the framework's dependencies.
pub struct Setup {
    pub table: TestTable,
    pub store: Store,
    pub clock: ManualClock,
    pub deps: Deps,
}

impl Setup {
    pub async fn new() -> Self {
        let table = TestTable::new().await;
        let (store, clock) = table.store_with_manual_clock();
        let settings = Settings {
            function_name: Some(ECHO.into()),
            ..Settings::default()
        };
        // The function's requests as the echo's role in the template may make them.
        let deps = Deps::new(kit::table::as_role(&store, kit::iam::Role::Echo), settings);
        Self {
            table,
            store,
            clock,
            deps,
        }
    }

    /// Writes `values` as the Rules Engine would.
    pub async fn seed(&self, contact: &ContactId, values: Value) {
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

    /// A fresh setup, a new contact whose integration rule fired with
    /// `output_key` and `payload`, and the run start opened for it.
    pub async fn with_rule(output_key: &str, payload: &str) -> (Self, ContactId, Run) {
        let setup = Self::new().await;
        let contact = new_contact();
        let run = setup.rule(&contact, output_key, payload).await;
        (setup, contact, run)
    }

    /// An integration rule that fired with `output_key` and `payload`, and the run
    /// start opened for it.
    pub async fn rule(&self, contact: &ContactId, output_key: &str, payload: &str) -> Run {
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

    pub async fn state(&self, contact: &ContactId) -> ContactState {
        self.store.load_state(contact).await.expect("load state")
    }

    /// The status the contact's state holds.
    pub async fn status(&self, contact: &ContactId) -> IntegrationStatus {
        status(&self.state(contact).await)
    }

    pub async fn invoke(&self, event: Value) -> Result<Value, IntegrationError> {
        invoke_with(&self.deps, event, echo).await
    }

    /// The echo's reply to start's request for `run`, which Lambda takes as a success.
    pub async fn answer(&self, contact: &ContactId, run: Option<&RunId>, payload: &str) -> Value {
        self.invoke(request(contact, run, payload))
            .await
            .expect("the request is answered")
    }

    /// Replaces the status item with a bare value, as the original's start writes it.
    pub async fn put_bare_status(&self, contact: &ContactId, status: &str) {
        let text = |text: &str| AttributeValue::S(text.to_owned());
        self.table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item("ContactId", text(contact.as_str()))
            .item("What", text("IntegrationStatus"))
            .item("Value", text(status))
            .send()
            .await
            .expect("put a bare status item");
    }
}

/// Opens a run as start does.
pub async fn start(store: &Store, contact: &ContactId) -> Run {
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

pub async fn invoke_with<W>(deps: &Deps, event: Value, work: W) -> Result<Value, IntegrationError>
where
    W: AsyncFn(&IntegrationContext, &str) -> Result<String, Cause>,
{
    integration::handle(LambdaEvent::new(event, Context::default()), deps, work).await
}

/// The integration request start sends.
pub fn request(contact: &ContactId, run: Option<&RunId>, payload: &str) -> Value {
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

pub fn status(state: &ContactState) -> IntegrationStatus {
    state.integration_status().expect("a status item")
}

/// The run ended `DONE` with `output` written at `key`.
pub async fn assert_done(setup: &Setup, contact: &ContactId, key: &str, output: &str) {
    let state = setup.state(contact).await;
    assert_eq!(status(&state), IntegrationStatus::Done);
    assert_eq!(state.get_str(key), Some(output));
}

/// A Connect event fixture of `tests/fixtures/connect`.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/connect/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The Connect event fixture with `parameters` set on it, its contact's
/// integration rule seeded, and the contact.
pub async fn native_setup(setup: &Setup, parameters: Value) -> (Value, ContactId) {
    native_setup_of(setup, "contact-flow-event.json", parameters).await
}

/// [`native_setup`] with the Connect event fixture `name`.
pub async fn native_setup_of(setup: &Setup, name: &str, parameters: Value) -> (Value, ContactId) {
    let mut event = fixture(name);
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
