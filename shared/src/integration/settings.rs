//! The framework's own settings, read once from the environment.

use std::time::Duration;

use crate::{config::Env, ConfigError};

/// How long a run opened in native async mode may take when neither the block
/// nor the rule says: the longest rule timeout the Rules Engine offers.
pub const DEFAULT_NATIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest timeout accepted: Lambda's own limit (15 minutes).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda): the name a run opened in native
    /// async mode is recorded under. When unset, the invocation's context names it.
    pub function_name: Option<String>,
    /// `INTEGRATION_DEFAULT_TIMEOUT_SECONDS` (default 20, at most 900): the deadline
    /// of a run opened in native async mode when neither the block's `Timeout`
    /// parameter nor the rule's `CurrentRule_functionTimeout` gives one.
    pub default_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            function_name: None,
            default_timeout: DEFAULT_NATIVE_TIMEOUT,
        }
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests need not touch the process
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let name = "INTEGRATION_DEFAULT_TIMEOUT_SECONDS";
        let seconds: u64 = env.parse(
            name,
            DEFAULT_NATIVE_TIMEOUT.as_secs(),
            "a whole number of seconds",
        )?;
        if seconds == 0 || seconds > MAX_TIMEOUT.as_secs() {
            return Err(ConfigError::Malformed {
                name,
                reason: format!(
                    "expected 1 to {} seconds, got {seconds}",
                    MAX_TIMEOUT.as_secs()
                ),
            });
        }
        Ok(Self {
            function_name: env.optional("AWS_LAMBDA_FUNCTION_NAME"),
            default_timeout: Duration::from_secs(seconds),
        })
    }
}

pub use crate::keys::seconds;

/// A timeout as a rule or a block gives it, in [`seconds`]; `None` when it is not
/// positive; capped at [`MAX_TIMEOUT`].
pub fn parse_timeout(value: &serde_json::Value) -> Option<Duration> {
    seconds(value)
        .filter(|seconds| *seconds > 0.0)
        .map(|seconds| Duration::from_secs_f64(seconds.min(MAX_TIMEOUT.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_timeout_applies_unless_set_and_bad_values_are_named() {
        let none = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(none, Settings::default());
        let set = Settings::from_lookup(|name| match name {
            "INTEGRATION_DEFAULT_TIMEOUT_SECONDS" => Some("8".into()),
            "AWS_LAMBDA_FUNCTION_NAME" => Some("dev-rules-integrationEcho".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(set.default_timeout, Duration::from_secs(8));
        assert_eq!(
            set.function_name.as_deref(),
            Some("dev-rules-integrationEcho")
        );
        let err = Settings::from_lookup(|_| Some("0".into())).unwrap_err();
        assert!(err
            .to_string()
            .contains("INTEGRATION_DEFAULT_TIMEOUT_SECONDS"));
    }

    #[test]
    fn timeouts_are_read_from_numbers_and_text_and_bounded() {
        assert_eq!(parse_timeout(&json!(10)), Some(Duration::from_secs(10)));
        assert_eq!(
            parse_timeout(&json!("2.5")),
            Some(Duration::from_millis(2_500))
        );
        assert_eq!(parse_timeout(&json!(100_000)), Some(MAX_TIMEOUT));
        assert_eq!(parse_timeout(&json!("-1")), None);
        assert_eq!(parse_timeout(&json!("soon")), None);
        assert_eq!(parse_timeout(&json!(null)), None);
        assert_eq!(seconds(&json!("NaN")), None);
        assert_eq!(seconds(&json!(" 0.5 ")), Some(0.5));
    }
}
