//! start's settings, read once from the environment.

use std::time::Duration;

use shared::{
    config::{ConfigError, Env},
    waiting::WaitConfig,
    Config,
};

use crate::AllowList;

#[derive(Debug, Clone)]
pub struct StartConfig {
    pub store: Config,
    pub wait: WaitConfig,
    /// `ALLOWED_FUNCTIONS`: comma-separated name patterns (`*` wildcard). Default:
    /// `<STAGE>-<SERVICE>-integration*`, the Rules Engine's naming.
    pub allow: AllowList,
    /// `LAMBDA_CONNECT_TIMEOUT_MS` (default 300) and `LAMBDA_OPERATION_TIMEOUT_MS`
    /// (default 1000): bounds on the invoke call.
    pub lambda_connect_timeout: Duration,
    pub lambda_operation_timeout: Duration,
}

impl StartConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let allow = match env.optional("ALLOWED_FUNCTIONS") {
            Some(list) => AllowList::new(
                list.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            ),
            None => AllowList::rules_engine(
                &env.required("STAGE", "the Rules Engine stage, for the default allow-list (or set ALLOWED_FUNCTIONS)")?,
                &env.required("SERVICE", "the Rules Engine service name, for the default allow-list (or set ALLOWED_FUNCTIONS)")?,
            ),
        };
        if allow.patterns().is_empty() {
            return Err(ConfigError::Malformed {
                name: "ALLOWED_FUNCTIONS",
                reason: "it lists no pattern".into(),
            });
        }
        Ok(Self {
            store: Config::from_lookup(&lookup)?,
            wait: WaitConfig::from_lookup(&lookup)?,
            allow,
            lambda_connect_timeout: env.millis("LAMBDA_CONNECT_TIMEOUT_MS", 300)?,
            lambda_operation_timeout: env.millis("LAMBDA_OPERATION_TIMEOUT_MS", 1_000)?,
        })
    }

    /// The invoke call's timeouts, for building the Lambda client.
    pub fn lambda_timeouts(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.lambda_connect_timeout)
            .operation_timeout(self.lambda_operation_timeout)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<StartConfig, ConfigError> {
        StartConfig::from_lookup(shared::config::lookup_in(vars))
    }

    #[test]
    fn the_default_allow_list_is_the_rules_engine_naming() {
        let c = config(&[
            ("STATE_TABLE", "t"),
            ("STAGE", "dev"),
            ("SERVICE", "rules-engine"),
        ])
        .unwrap();
        assert_eq!(c.allow.patterns(), ["dev-rules-engine-integration*"]);
        let err = config(&[("STATE_TABLE", "t")]).unwrap_err();
        assert!(err.to_string().contains("STAGE"), "{err}");
    }

    #[test]
    fn an_explicit_allow_list_replaces_the_default() {
        let c = config(&[("STATE_TABLE", "t"), ("ALLOWED_FUNCTIONS", "a-*, b ,")]).unwrap();
        assert_eq!(c.allow.patterns(), ["a-*", "b"]);
        assert!(config(&[("STATE_TABLE", "t"), ("ALLOWED_FUNCTIONS", " , ")]).is_err());
    }
}
