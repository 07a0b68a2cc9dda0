use std::time::Duration;

use super::Results;
use crate::{consumer, startup};

fn started(function: &'static str) -> startup::Figure {
    startup::Figure {
        function,
        starts: 7,
        startup_median_ms: 4.25,
        startup_max_ms: 30.0,
        invocation_median_ms: 12.0,
        peak_rss_kb: 20_000,
        answer: "{}".into(),
    }
}

#[test]
fn a_run_that_measured_nothing_is_empty_and_one_figure_is_not() {
    assert!(Results::default().is_empty());
    let results = Results {
        startup: vec![started("check-timeout")],
        ..Results::default()
    };
    assert!(!results.is_empty());
}

#[test]
fn a_figure_the_original_has_none_of_leaves_the_ratio_empty() {
    // GIVEN a run that measured one function's start-up
    let results = Results {
        startup: vec![started("check-timeout")],
        ..Results::default()
    };
    // WHEN it is written
    let markdown = results.markdown();
    // THEN its summary rows say n/a for the naive side, and nothing of a ratio
    assert!(markdown.contains(
        "\n| start-up, check-timeout (median of 7) | 4.2 ms | n/a | | ≤ 20 ms | met |\n"
    ));
    assert!(markdown.contains("\n| peak RSS, check-timeout | 19.5 MB | n/a | | ≤ 25 MB | met |\n"));
    assert!(markdown.contains("\n| check-timeout | 7 | 4.2 ms | 30.0 ms | 12.0 ms | 19.5 MB |\n"));
}

#[test]
fn sections_the_run_left_out_have_no_heading() {
    // GIVEN a run of the consumer alone
    let results = Results {
        consumer: consumer::Measured {
            figures: vec![consumer::Figure {
                label: "completions",
                records: 1_000,
                records_per_second: 900.0,
                median: Duration::from_millis(1_111),
            }],
            per_completion: (1.0, 1.0, 1.0),
        },
        ..Results::default()
    };
    // WHEN it is written
    let markdown = results.markdown();
    // THEN only the summary and the consumer's section are there, with no
    // target for a batch that has none
    let headings: Vec<&str> = markdown.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        headings,
        ["## Summary against the targets", "## Stream consumer"]
    );
    assert!(markdown.contains(
        "\n| consumer, completions (1000 per batch) | 900 records/s | n/a | | (reported) |  |\n"
    ));
}
