//! The echo integration function's work: it echoes its payload into the rule's
//! output key. Two optional payload keys make it useful for testing a contact
//! flow's delays and failures:
//!
//! - `SleepTime`: seconds to wait first (a number or numeric text, fractions
//!   allowed, 0 to 900, Lambda's longest run); anything else fails the run, so a
//!   mistyped test setting is seen rather than ignored.
//! - `ForcedError`: fail the run with this cause (after the sleep, so a slow
//!   failure can be staged; the original failed before sleeping).
//!
//! A payload that is not JSON is echoed as text. The framework
//! ([`shared::integration`]) does everything else: this is what an integration
//! function author writes.

use std::time::Duration;

use serde_json::Value;
use shared::integration::{seconds, Cause, IntegrationContext};

/// The longest `SleepTime`: Lambda stops any function after 15 minutes.
pub const MAX_SLEEP: Duration = Duration::from_secs(900);

/// Echoes `payload`, after `SleepTime`, unless `ForcedError` says to fail.
pub async fn echo(context: &IntegrationContext, payload: &str) -> Result<String, Cause> {
    let options = Options::from_payload(payload)?;
    if !options.sleep.is_zero() {
        context.clock().sleep(options.sleep).await;
    }
    match options.forced_error {
        Some(cause) => Err(cause),
        None => Ok(payload.to_owned()),
    }
}

/// What the payload asks of the echo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub sleep: Duration,
    pub forced_error: Option<Cause>,
}

impl Options {
    /// Reads `SleepTime` and `ForcedError` from a JSON object payload; any other
    /// payload asks for nothing.
    pub fn from_payload(payload: &str) -> Result<Self, Cause> {
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(payload) else {
            return Ok(Self::default());
        };
        let sleep = match fields.get("SleepTime") {
            None | Some(Value::Null) => Duration::ZERO,
            Some(value) => sleep_time(value).ok_or_else(|| {
                Cause::new(format!(
                    "SleepTime must be a number of seconds from 0 to {}",
                    MAX_SLEEP.as_secs()
                ))
            })?,
        };
        let forced_error = match fields.get("ForcedError") {
            None | Some(Value::Null) => None,
            Some(Value::String(cause)) => Some(Cause::new(cause.as_str())),
            Some(other) => Some(Cause::new(other.to_string())),
        };
        Ok(Self {
            sleep,
            forced_error,
        })
    }
}

fn sleep_time(value: &Value) -> Option<Duration> {
    seconds(value)
        .filter(|seconds| (0.0..=MAX_SLEEP.as_secs_f64()).contains(seconds))
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_time_is_seconds_as_a_number_or_text_with_fractions() {
        let sleep = |payload: &str| Options::from_payload(payload).map(|o| o.sleep);
        assert_eq!(sleep(r#"{"SleepTime": 2}"#), Ok(Duration::from_secs(2)));
        assert_eq!(
            sleep(r#"{"SleepTime": "1.5"}"#),
            Ok(Duration::from_millis(1_500))
        );
        assert_eq!(
            sleep(r#"{"SleepTime": 0.25}"#),
            Ok(Duration::from_millis(250))
        );
        assert_eq!(sleep(r#"{"Other": 1}"#), Ok(Duration::ZERO));
    }

    #[test]
    fn a_sleep_time_out_of_range_or_not_a_number_is_a_clear_failure() {
        for bad in [
            r#"{"SleepTime": -1}"#,
            r#"{"SleepTime": "soon"}"#,
            r#"{"SleepTime": "NaN"}"#,
            r#"{"SleepTime": 901}"#,
            r#"{"SleepTime": [1]}"#,
        ] {
            let err = Options::from_payload(bad).unwrap_err();
            assert_eq!(
                err.as_str(),
                "SleepTime must be a number of seconds from 0 to 900",
                "{bad}"
            );
        }
    }

    #[test]
    fn forced_error_gives_the_cause_and_other_payloads_ask_for_nothing() {
        let options = Options::from_payload(r#"{"ForcedError": "CRM down"}"#).unwrap();
        assert_eq!(options.forced_error, Some(Cause::new("CRM down")));
        assert_eq!(Options::from_payload("plain text"), Ok(Options::default()));
        assert_eq!(Options::from_payload("[1, 2]"), Ok(Options::default()));
        assert_eq!(Options::from_payload(""), Ok(Options::default()));
    }
}
