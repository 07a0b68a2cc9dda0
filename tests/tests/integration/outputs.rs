//! Outputs DynamoDB cannot hold, by size or nesting, end the run in `ERROR`
//! whole; and a property over outputs of every size, nesting and text.

use kit::new_contact;
use serde_json::{json, Value};
use shared::{
    integration::IntegrationContext,
    store::{INTEGRATION_END, INTEGRATION_ERROR_CAUSE},
    ContactId, ContactState, IntegrationStatus,
};

use crate::support::{invoke_with, request, status, Setup};

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

        let reply = setup.answer(&contact, Some(&run.id), &payload).await;

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
        .answer(&contact, Some(&run.id), &"x".repeat(150 * 1024))
        .await;

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
            .answer(&contact, Some(&run.id), &"x".repeat(500 * 1024))
            .await;

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
    // 20 levels of key and 120 of arrays: stored, it would read back as text.
    let key = format!("deep.{}", ["x"; 19].join("."));
    let (setup, contact, run) = Setup::with_rule(&key, "deep").await;
    let payload = format!("{}{}", "[".repeat(120), "]".repeat(120));

    let reply = setup.answer(&contact, Some(&run.id), &payload).await;

    assert_eq!(reply["IntegrationStatus"], "ERROR", "{reply}");
    let state = assert_ended_in_error(&setup, &contact, "deep", "output not stored").await;
    let cause = state.get_str(INTEGRATION_ERROR_CAUSE).unwrap();
    assert!(cause.contains("nest 139 levels"), "{cause}");
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
