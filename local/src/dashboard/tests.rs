use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use shared::{ContactId, IntegrationStatus, RunId};
use stream_consumer::{
    config::DEFAULT_NAMESPACE,
    decide::{Completion, LateFinish},
    emit,
};

use super::*;

const ECHO: &str = "dev-rules-integrationEcho";
const LOOKUP: &str = "dev-rules-integrationLookup";
const CONTACT: &str = "c0ffee00-contact-id-that-must-not-leak";
const RUN: &str = "run-id-that-must-not-leak-0001";

fn at(second: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_748_779_200 + second, 0).unwrap()
}

fn json(document: stream_consumer::metrics::Document) -> Value {
    serde_json::from_str(&document.to_line(DEFAULT_NAMESPACE)).expect("an EMF line is JSON")
}

/// 7 DONE, 2 ERROR and 3 TIMEOUT over two functions (one TIMEOUT without a
/// duration), 2 abandoned at their deadline, 1 late finish, lags of 120 and
/// 950 ms and 1 malformed record, from the consumer's own EMF writer.
fn mix() -> Vec<Value> {
    use IntegrationStatus::{Done, Error, Timeout};
    let contact = ContactId::parse(CONTACT).unwrap();
    let run = RunId::parse(RUN).unwrap();
    let runs = [
        (ECHO, Done, Some(420)),
        (ECHO, Done, Some(510)),
        (ECHO, Done, Some(380)),
        (ECHO, Done, Some(1250)),
        (ECHO, Done, Some(640)),
        (ECHO, Error, Some(2100)),
        (ECHO, Timeout, Some(8000)),
        (ECHO, Timeout, None),
        (LOOKUP, Done, Some(300)),
        (LOOKUP, Done, Some(900)),
        (LOOKUP, Error, Some(150)),
        (LOOKUP, Timeout, Some(20000)),
    ];
    let mut docs: Vec<Value> = runs
        .iter()
        .enumerate()
        .map(|(i, (function, status, ms))| {
            let completion = Completion {
                item_run: Some(run.clone()),
                run_id: Some(run.clone()),
                key: RUN.into(),
                status: *status,
                function_name: Some((*function).into()),
                duration: ms.map(Duration::from_millis),
                swept: false,
            };
            json(emit::completion(at(5 * i as i64), &contact, &completion))
        })
        .collect();
    for (second, function) in [(36, ECHO), (56, LOOKUP)] {
        docs.push(json(emit::abandoned(
            at(second),
            &contact,
            Some(&run),
            Some(function),
            emit::DEADLINE,
        )));
    }
    let late = LateFinish {
        run: Some(run.clone()),
        function_name: Some(LOOKUP.into()),
        late: Done,
        told: Timeout,
        finished_at: Some(at(62) - chrono::Duration::milliseconds(3400)),
    };
    docs.push(json(emit::late_finish(at(62), &contact, &late)));
    docs.push(json(emit::stream_lag(at(3), Duration::from_millis(120))));
    docs.push(json(emit::stream_lag(at(48), Duration::from_millis(950))));
    docs.push(json(emit::malformed(at(30), 1)));
    docs
}

#[test]
fn figures_count_the_runs_outcomes_and_the_consumers_troubles() {
    // GIVEN the known mix WHEN its figures are read
    let figures = figures(&mix());
    // THEN each is what the mix holds
    let counts = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    };
    assert_eq!(figures.runs, 12);
    assert_eq!(
        figures.by_status,
        counts(&[("DONE", 7), ("ERROR", 2), ("TIMEOUT", 3)])
    );
    let by_function: BTreeMap<(String, String), u64> = [
        (ECHO, "DONE", 5),
        (ECHO, "ERROR", 1),
        (ECHO, "TIMEOUT", 2),
        (LOOKUP, "DONE", 2),
        (LOOKUP, "ERROR", 1),
        (LOOKUP, "TIMEOUT", 1),
    ]
    .iter()
    .map(|(f, s, n)| (((*f).to_owned(), (*s).to_owned()), *n))
    .collect();
    assert_eq!(figures.by_function_status, by_function);
    // 11 durations sorted: 150 300 380 420 510 640 900 1250 2100 8000 20000;
    // p50 is rank ⌈5.5⌉ = 6, p95 rank ⌈10.45⌉ = 11.
    assert_eq!(figures.duration_p50_ms, Some(640.0));
    assert_eq!(figures.duration_p95_ms, Some(20000.0));
    assert_eq!(figures.abandoned, counts(&[("Deadline", 2)]));
    assert_eq!(figures.late_finishes, 1);
    assert_eq!(figures.stream_lag_max_ms, Some(950.0));
    assert_eq!(figures.malformed, 1);
}

#[test]
fn no_contact_or_run_id_reaches_the_page() {
    let docs = mix();
    // GIVEN documents that do carry the ids, as properties
    assert!(docs
        .iter()
        .any(|d| d["ContactId"] == CONTACT && d["RunId"] == RUN));
    // WHEN the page is made THEN neither id, nor either property's name, is on it
    let page = page(&docs, "demo");
    assert!(!page.contains(CONTACT) && !page.contains(RUN));
    assert!(!page.contains("ContactId") && !page.contains("RunId"));
    // but what the widgets draw is
    for drawn in [
        ECHO,
        LOOKUP,
        "UndoneAfterMs",
        "Deadline",
        "TIMEOUT",
        "StreamLag",
    ] {
        assert!(page.contains(drawn), "{drawn} is on the page");
    }
}

#[test]
fn the_embedded_data_cannot_close_its_script_and_the_title_is_escaped() {
    // GIVEN a function name and a title that try to end the script
    let mut doc = mix().remove(0);
    doc["FunctionName"] = "x</script><script>alert(1)</script>".into();
    // WHEN the page is made
    let page = page(&[doc], "<b>{{DATA}}</b>");
    // THEN the page's only `</script>` are its own two, and the data still parses
    assert_eq!(page.matches("</script>").count(), 2);
    let data = page
        .split(r#"<script type="application/json" id="documents">"#)
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the data block");
    let readings: Value = serde_json::from_str(data).expect("the data is JSON");
    assert_eq!(
        readings[0]["FunctionName"],
        "x</script><script>alert(1)</script>"
    );
    assert!(page.contains("<title>&lt;b&gt;{{DATA}}&lt;/b&gt;</title>"));
}
