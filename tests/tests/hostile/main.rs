//! Hostile input: property tests of every parser that reads what comes from
//! outside (Connect events, integration requests, stream records, state values
//! and dotted keys). Each runs [`cases`] generated inputs, 100,000 unless
//! `PROPTEST_CASES` says otherwise, and checks that nothing panics, that a
//! refusal names what is wrong without echoing personal data, and that what is
//! accepted is well-formed.
//!
//! The inputs are adversarial rather than random: the real fixture shapes,
//! mutated ([`mutate`]) with wrong types, missing fields, huge strings, deep
//! nesting, `__proto__` keys, bad JSON escapes and truncated JSON, drawn from
//! the generators of [`inputs`].
//!
//! `cargo test -p integration-tests --test hostile -- --nocapture` shows the
//! figures of each run.

mod connect;
mod inputs;
mod mutate;
mod requests;
mod state;
mod streams;

use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::Instant,
};

use proptest::{
    strategy::Strategy,
    test_runner::{Config, TestCaseError, TestRunner},
};

/// Cases per property: `PROPTEST_CASES`, else 100,000, what the issue asks of
/// every parser.
pub fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(100_000)
}

/// Runs `test` on [`cases`] inputs of `strategy`, then prints how many ran and
/// how long it took. A panic inside `test` is a failure like any other: proptest
/// catches it and shrinks the input that caused it.
pub fn run<S>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
{
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        // Failures are reported with their shrunk input; nothing is written
        // into the tree.
        failure_persistence: None,
        ..Config::default()
    });
    let ran = AtomicU32::new(0);
    let started = Instant::now();
    let result = runner.run(&strategy, |input| {
        ran.fetch_add(1, Ordering::Relaxed);
        test(input)
    });
    if let Err(failure) = result {
        panic!("{name}: {failure}");
    }
    let ran = ran.load(Ordering::Relaxed);
    assert_eq!(ran, cases, "{name}: every case ran");
    eprintln!(
        "hostile input: {name}: {ran} cases, none lost (no panic, every refusal named), {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
