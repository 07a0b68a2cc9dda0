//! The consumer's own settings, read once from the environment next to the
//! shared [`shared::Config`].

use std::time::Duration;

use shared::{config::Env, ConfigError};

/// The CloudWatch namespace used when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "ConnectIntegrations";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// `METRICS_NAMESPACE` (default `ConnectIntegrations`).
    pub namespace: String,
    /// `ABANDONED_GRACE_MS` (default 30 000): how long past its deadline an open
    /// run is left to check-timeout before the sweep times it out.
    pub grace: Duration,
    /// `SWEEP_INTERVAL_MS` (default 5 000): the least time between two sweeps run
    /// on stream batches. Scheduled events always sweep.
    pub sweep_interval: Duration,
    /// `SWEEP_LIMIT` (default 100): the most runs one sweep looks at per index shard,
    /// so a backlog is worked off over several sweeps, each of bounded time.
    pub sweep_limit: i32,
    /// `MEASURE_PATIENCE_MS` (default 20 000): how long the consumer keeps
    /// retrying a stamp or mark that failed for a reason worth retrying, with
    /// the same token, before it gives the record back to Lambda. A write that
    /// timed out may have landed: only a retry with its token can tell, and a
    /// delivery after it would take it for an earlier consumer's measure.
    pub measure_patience: Duration,
    /// `CONTACTS_AT_ONCE` (default 16): how many contacts' records one batch
    /// works on side by side; each contact's records stay in order. 1 is the
    /// batch in order, record by record.
    pub contacts_at_once: usize,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.into(),
            grace: Duration::from_secs(30),
            sweep_interval: Duration::from_secs(5),
            sweep_limit: 100,
            measure_patience: Duration::from_secs(20),
            contacts_at_once: 16,
        }
    }
}

impl ConsumerConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let defaults = Self::default();
        let sweep_limit = env.parse("SWEEP_LIMIT", defaults.sweep_limit, "a whole number")?;
        if !(1..=1_000).contains(&sweep_limit) {
            return Err(ConfigError::Malformed {
                name: "SWEEP_LIMIT",
                reason: format!("expected 1 to 1000, got {sweep_limit}"),
            });
        }
        let contacts_at_once = env.parse(
            "CONTACTS_AT_ONCE",
            defaults.contacts_at_once,
            "a whole number",
        )?;
        if !(1..=100).contains(&contacts_at_once) {
            return Err(ConfigError::Malformed {
                name: "CONTACTS_AT_ONCE",
                reason: format!("expected 1 to 100 (a batch holds at most 100 records here), got {contacts_at_once}"),
            });
        }
        Ok(Self {
            namespace: env
                .optional("METRICS_NAMESPACE")
                .unwrap_or(defaults.namespace),
            grace: env.millis("ABANDONED_GRACE_MS", 30_000)?,
            sweep_interval: env.millis("SWEEP_INTERVAL_MS", 5_000)?,
            sweep_limit,
            measure_patience: env.millis("MEASURE_PATIENCE_MS", 20_000)?,
            contacts_at_once,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_and_each_setting_can_be_changed() {
        assert_eq!(
            ConsumerConfig::from_lookup(|_| None).unwrap(),
            ConsumerConfig::default()
        );
        let config = ConsumerConfig::from_lookup(|name| match name {
            "METRICS_NAMESPACE" => Some("Test".into()),
            "ABANDONED_GRACE_MS" => Some("1000".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.namespace, "Test");
        assert_eq!(config.grace, Duration::from_secs(1));
    }

    #[test]
    fn contacts_at_once_is_at_least_one() {
        let err =
            ConsumerConfig::from_lookup(|name| (name == "CONTACTS_AT_ONCE").then(|| "0".into()))
                .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Malformed {
                name: "CONTACTS_AT_ONCE",
                ..
            }
        ));
        let one =
            ConsumerConfig::from_lookup(|name| (name == "CONTACTS_AT_ONCE").then(|| "1".into()))
                .unwrap();
        assert_eq!(one.contacts_at_once, 1);
    }

    #[test]
    fn an_unbounded_sweep_limit_is_refused() {
        let err = ConsumerConfig::from_lookup(|name| (name == "SWEEP_LIMIT").then(|| "0".into()))
            .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Malformed {
                name: "SWEEP_LIMIT",
                ..
            }
        ));
    }
}
