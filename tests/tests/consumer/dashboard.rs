//! The local dashboard, opened in headless Chromium: the page drawn from the
//! consumer's own EMF documents shows the run's numbers, draws its widgets, and
//! its picture is a real PNG. Chromium is required, not optional: scripts/test
//! installs it.

use std::{path::Path, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use local_stack::dashboard;
use serde_json::Value;
use shared::{ContactId, IntegrationStatus, RunId};
use stream_consumer::{
    config::DEFAULT_NAMESPACE,
    decide::{Completion, LateFinish},
    emit,
    metrics::Document,
};

const ECHO: &str = "dev-rules-integrationEcho";
const LOOKUP: &str = "dev-rules-integrationLookup";

fn at(second: i64) -> DateTime<Utc> {
    // 2025-06-01T12:00:00Z, and the documents spread over the minute after it.
    Utc.timestamp_opt(1_748_779_200 + second, 0).unwrap()
}

/// A document as the consumer prints it, read back as the local stack reads it.
fn printed(document: Document) -> Value {
    serde_json::from_str(&document.to_line(DEFAULT_NAMESPACE)).expect("an EMF line is JSON")
}

/// 7 DONE, 2 ERROR and 3 TIMEOUT over two functions (one TIMEOUT without a
/// duration), 2 runs abandoned at their deadline, 1 late finish, stream lags of
/// 120 and 950 ms, 1 malformed record.
fn documents() -> Vec<Value> {
    use IntegrationStatus::{Done, Error, Timeout};
    let contact = ContactId::parse("dashboard-contact").unwrap();
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
            let run = RunId::new();
            let completion = Completion {
                item_run: Some(run.clone()),
                key: run.as_str().into(),
                run_id: Some(run),
                status: *status,
                function_name: Some((*function).into()),
                duration: ms.map(Duration::from_millis),
                swept: false,
            };
            printed(emit::completion(at(5 * i as i64), &contact, &completion))
        })
        .collect();
    for (second, function) in [(36, ECHO), (56, LOOKUP)] {
        let run = RunId::new();
        let abandoned = emit::abandoned(
            at(second),
            &contact,
            Some(&run),
            Some(function),
            emit::DEADLINE,
        );
        docs.push(printed(abandoned));
    }
    let run = RunId::new();
    let late = LateFinish {
        run: Some(run.clone()),
        function_name: Some(LOOKUP.into()),
        late: Done,
        told: Timeout,
        finished_at: Some(at(62) - chrono::Duration::milliseconds(3400)),
    };
    docs.push(printed(emit::late_finish(at(62), &contact, &late)));
    docs.push(printed(emit::stream_lag(at(3), Duration::from_millis(120))));
    docs.push(printed(emit::stream_lag(
        at(48),
        Duration::from_millis(950),
    )));
    docs.push(printed(emit::malformed(at(30), 1)));
    docs
}

/// The text of the element that carries `data-figure="name"` in `dom`.
fn figure<'a>(dom: &'a str, name: &str) -> &'a str {
    let attribute = format!("data-figure=\"{name}\"");
    let at = dom
        .find(&attribute)
        .unwrap_or_else(|| panic!("no {attribute} in the rendered page"));
    let text = &dom[at..];
    let start = text.find('>').expect("the element's tag ends") + 1;
    let end = text[start..].find('<').expect("the element closes") + start;
    text[start..end].trim()
}

#[test]
fn the_dashboard_in_chromium_shows_the_runs_numbers_and_draws_every_widget() {
    let Some(chromium) = dashboard::chromium() else {
        panic!("Chromium is not installed: run scripts/test, which installs it (or apt-get install chromium)");
    };
    // GIVEN the consumer's documents of a known mix, written as the dashboard
    let dir = std::env::temp_dir().join(format!("dashboard-test-{}", RunId::new().as_str()));
    let html = dir.join("dashboard.html");
    let written =
        dashboard::write(&documents(), "Dashboard test", &html).expect("the page is written");

    // WHEN Chromium opens it
    let dom = dashboard::rendered_dom(&written.html).unwrap_or_else(|why| {
        panic!(
            "Chromium ({}) did not render the page: {why}",
            chromium.display()
        )
    });

    // THEN its script drew it, with the mix's numbers in the headline
    assert!(
        dom.contains("data-drawn=\"yes\""),
        "the page's script did not finish drawing"
    );
    // 11 durations sorted: 150 300 380 420 510 640 900 1250 2100 8000 20000;
    // by nearest rank p50 is the 6th (⌈11·0.5⌉), p95 the 11th (⌈11·0.95⌉).
    let expected = [
        ("runs", "12"),
        ("status-DONE", "7"),
        ("status-ERROR", "2"),
        ("status-TIMEOUT", "3"),
        ("duration-p50", "640"),
        ("duration-p95", "20000"),
        ("abandoned", "2"),
        ("late-finishes", "1"),
        ("stream-lag-max", "950"),
        ("malformed", "1"),
    ];
    for (name, value) in expected {
        assert_eq!(figure(&dom, name), value, "the headline figure {name}");
    }
    // AND every widget is an SVG drawing
    let drawings = dom.matches("<svg").count();
    assert!(drawings >= 6, "{drawings} SVG widgets, expected at least 6");
    assert!(
        dom.contains(ECHO) && dom.contains(LOOKUP),
        "the functions are named"
    );

    // AND the picture beside the page is a PNG of some size
    let png = written
        .png
        .unwrap_or_else(|why| panic!("no picture of the dashboard: {why}"));
    assert_eq!(png, html.with_extension("png"));
    assert_png(&png);
    let _ = std::fs::remove_dir_all(&dir);
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    assert!(
        bytes.len() > 20_000,
        "{} is only {} bytes: hardly a dashboard",
        path.display(),
        bytes.len()
    );
    // A copy outside the temporary directory, to look at.
    if let Some(keep) = std::env::var_os("DASHBOARD_SAMPLE") {
        let _ = std::fs::copy(path, keep);
    }
}
