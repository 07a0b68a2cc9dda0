//! Configuration, read once from the environment into a typed struct. A missing or
//! malformed variable is named in the error, so a misconfigured function says what
//! to fix on its first invocation.

use std::time::Duration;

/// What a variable lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is not set ({meaning})")]
    Missing {
        name: &'static str,
        meaning: &'static str,
    },
    #[error("environment variable {name} is malformed: {reason}")]
    Malformed { name: &'static str, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `STATE_TABLE`: the Rules Engine's state table.
    pub state_table: String,
    /// `DYNAMODB_CONNECT_TIMEOUT_MS` (default 300): how long to wait for a connection.
    pub dynamodb_connect_timeout: Duration,
    /// `DYNAMODB_ATTEMPT_TIMEOUT_MS` (default 500): one attempt of one request.
    pub dynamodb_attempt_timeout: Duration,
    /// `DYNAMODB_OPERATION_TIMEOUT_MS` (default 1000): one request, retries included.
    /// Bounds every call, so a function answers Connect in time even when DynamoDB hangs.
    pub dynamodb_operation_timeout: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        Ok(Self {
            state_table: env.required("STATE_TABLE", "the name of the Rules Engine state table")?,
            dynamodb_connect_timeout: env.millis("DYNAMODB_CONNECT_TIMEOUT_MS", 300)?,
            dynamodb_attempt_timeout: env.millis("DYNAMODB_ATTEMPT_TIMEOUT_MS", 500)?,
            dynamodb_operation_timeout: env.millis("DYNAMODB_OPERATION_TIMEOUT_MS", 1_000)?,
        })
    }
}

/// Variables from a list of pairs rather than the environment, for
/// `from_lookup`: settings held elsewhere, and tests.
pub fn lookup_in<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        let found = vars.iter().find(|(key, _)| *key == name);
        found.map(|(_, value)| (*value).to_owned())
    }
}

/// Typed reads of variables, so every function's settings parse and fail the same way.
pub struct Env<'a>(pub &'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// The variable's trimmed value, `None` when unset or blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// Parses the variable with `FromStr`; `default` when unset or blank.
    pub fn parse<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| ConfigError::Malformed {
                name,
                reason: format!("expected {expected}, got {text:?}"),
            }),
        }
    }

    pub fn required(
        &self,
        name: &'static str,
        meaning: &'static str,
    ) -> Result<String, ConfigError> {
        match (self.0)(name) {
            Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
            _ => Err(ConfigError::Missing { name, meaning }),
        }
    }

    pub fn millis(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let Some(text) = (self.0)(name).filter(|v| !v.trim().is_empty()) else {
            return Ok(Duration::from_millis(default));
        };
        match text.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(ConfigError::Malformed {
                name,
                reason: format!("expected a positive whole number of milliseconds, got {text:?}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(lookup_in(vars))
    }

    #[test]
    fn a_missing_table_name_is_named() {
        let err = config(&[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable STATE_TABLE is not set (the name of the Rules Engine state table)"
        );
    }

    #[test]
    fn defaults_apply_when_only_the_table_is_set() {
        let c = config(&[("STATE_TABLE", "dev-rules-state")]).unwrap();
        assert_eq!(c.state_table, "dev-rules-state");
        assert_eq!(c.dynamodb_operation_timeout, Duration::from_secs(1));
    }

    #[test]
    fn a_malformed_duration_is_named_with_what_was_expected() {
        let err = config(&[
            ("STATE_TABLE", "t"),
            ("DYNAMODB_ATTEMPT_TIMEOUT_MS", "fast"),
        ])
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Malformed {
                name: "DYNAMODB_ATTEMPT_TIMEOUT_MS",
                ..
            }
        ));
        assert!(err.to_string().contains("\"fast\""));
    }
}
