//! Waiting for a run to finish, as start and check-timeout do while Connect holds
//! the line: read only the status item (one consistent GetItem), never in a busy
//! loop, and never past the wait budget.
//!
//! The two calls wait differently because they are called differently. start is
//! called once per contact, right after the invoke, and most integrations end
//! inside its wait: it reads after a few milliseconds, then every 25 ms at most,
//! so a finished run is seen soon (the detection latency). check-timeout is
//! called again and again, for as long as a slow run lasts: it reads every
//! 100 ms, so one 2-second call costs at most 22 requests.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    config::{ConfigError, Env},
    connect::Answer,
    ContactId, StatusRecord, Store, StoreError,
};

/// How start and check-timeout wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitConfig {
    /// `CONNECT_WAIT_MS` (default 2000): how long one call may wait for the run,
    /// counted from the start of the call.
    pub budget: Duration,
    /// start's status reads.
    pub poll: PollSchedule,
    /// check-timeout's status reads: `CHECK_POLL_MS` (default 100), one pause
    /// throughout, since the run has been open for seconds already.
    pub check_poll: PollSchedule,
    /// `DEFAULT_FUNCTION_TIMEOUT_S` (default 10): a run's timeout when the rule's
    /// `CurrentRule_functionTimeout` is absent or invalid.
    pub default_timeout: Duration,
}

/// The rule timeouts the Rules Engine offers: 1 to 20 seconds.
pub const RULE_TIMEOUTS: std::ops::RangeInclusive<f64> = 1.0..=20.0;

/// Reads `CurrentRule_functionTimeout` (seconds, a number or numeric text).
/// `Err` says why it is unusable, for the warning.
pub fn rule_timeout(value: Option<&serde_json::Value>) -> Result<Duration, &'static str> {
    let seconds = match value {
        None => return Err("absent"),
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(text)) => text.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match seconds {
        Some(s) if RULE_TIMEOUTS.contains(&s) => Ok(Duration::from_secs_f64(s)),
        Some(_) => Err("outside 1 to 20 seconds"),
        None => Err("not a number"),
    }
}

/// The pause before each status read: `initial`, then growing by `growth` each
/// time, up to `max`. A fast integration is seen within tens of milliseconds; a
/// slow one costs a bounded number of reads per wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollSchedule {
    /// `POLL_INITIAL_MS` (default 10).
    pub initial: Duration,
    /// `POLL_MAX_MS` (default 25).
    pub max: Duration,
    /// `POLL_GROWTH` (default 1.5).
    pub growth: f64,
}

impl Default for PollSchedule {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(25),
            growth: 1.5,
        }
    }
}

/// check-timeout's default: a read every 100 ms.
const CHECK_POLL_MS: u64 = 100;

impl PollSchedule {
    /// One pause throughout.
    pub fn every(pause: Duration) -> Self {
        Self {
            initial: pause,
            max: pause,
            growth: 1.0,
        }
    }

    /// The pauses, one before each read.
    pub fn pauses(&self) -> impl Iterator<Item = Duration> + '_ {
        std::iter::successors(Some(self.initial.min(self.max)), move |pause| {
            Some(pause.mul_f64(self.growth).min(self.max))
        })
    }
}

impl WaitConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let poll = PollSchedule {
            initial: env.millis("POLL_INITIAL_MS", 10)?,
            max: env.millis("POLL_MAX_MS", 25)?,
            growth: env.parse("POLL_GROWTH", 1.5, "a number from 1 to 10")?,
        };
        if !(1.0..=10.0).contains(&poll.growth) {
            return Err(ConfigError::Malformed {
                name: "POLL_GROWTH",
                reason: format!("expected a number from 1 to 10, got {}", poll.growth),
            });
        }
        let default_timeout: f64 = env.parse(
            "DEFAULT_FUNCTION_TIMEOUT_S",
            10.0,
            "a number of seconds from 1 to 20",
        )?;
        if !RULE_TIMEOUTS.contains(&default_timeout) {
            return Err(ConfigError::Malformed {
                name: "DEFAULT_FUNCTION_TIMEOUT_S",
                reason: format!("expected a number of seconds from 1 to 20, got {default_timeout}"),
            });
        }
        Ok(Self {
            budget: env.millis("CONNECT_WAIT_MS", 2_000)?,
            poll,
            check_poll: PollSchedule::every(env.millis("CHECK_POLL_MS", CHECK_POLL_MS)?),
            default_timeout: Duration::from_secs_f64(default_timeout),
        })
    }
}

impl WaitConfig {
    /// The run's timeout from the rule's `CurrentRule_functionTimeout`, or the
    /// default with a warning saying why: start and check-timeout reckon it alike.
    pub fn run_timeout(&self, state: &crate::ContactState) -> Duration {
        let rule = crate::integration::TIMEOUT;
        rule_timeout(state.get(rule)).unwrap_or_else(|why| {
            tracing::warn!(
                why,
                default_s = self.default_timeout.as_secs_f64(),
                "{rule} unusable; using the default"
            );
            self.default_timeout
        })
    }

    /// How long a call may take in all: the budget, plus 900 ms for the final
    /// state read and the answer. Within the budget + 1 s the issue promises, and
    /// far within Connect's 8 s.
    pub fn answer_limit(&self) -> Duration {
        self.budget + Duration::from_millis(900)
    }
}

impl Default for WaitConfig {
    fn default() -> Self {
        Self {
            budget: Duration::from_secs(2),
            poll: PollSchedule::default(),
            check_poll: PollSchedule::every(Duration::from_millis(CHECK_POLL_MS)),
            default_timeout: Duration::from_secs(10),
        }
    }
}

/// What a wait saw last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waited {
    /// The status item at the last read; `None` if the contact has none.
    pub record: Option<StatusRecord>,
    /// How many status reads the wait made.
    pub reads: u32,
}

/// Reads the status item until the run is finished (or gone), or until `until`.
/// Each read comes after a pause of `schedule`, the first one too: the caller has
/// just invoked the function (which cannot have finished yet) or read the status
/// itself. The last pause is cut so that the last read happens at `until`. A
/// read that fails ends the wait with its error: the caller decides what to
/// answer.
pub async fn wait_for_finish(
    store: &Store,
    contact_id: &ContactId,
    until: DateTime<Utc>,
    schedule: &PollSchedule,
) -> Result<Waited, StoreError> {
    let mut pauses = schedule.pauses();
    let mut reads = 0;
    loop {
        let left = (until - store.clock().now()).to_std().unwrap_or_default();
        let pause = pauses.next().unwrap_or(schedule.max).min(left);
        store.clock().sleep(pause).await;
        let record = store.status(contact_id).await?;
        reads += 1;
        let finished = record.as_ref().is_none_or(|r| r.status.is_terminal());
        if finished || store.clock().now() >= until {
            return Ok(Waited { record, reads });
        }
    }
}

/// Reads the contact's whole state once and builds Connect's answer from it; a
/// failed read answers `ERROR` with a cause the flow can route on.
pub async fn answer_from_state(store: &Store, contact_id: &ContactId) -> Answer {
    match store.load_state(contact_id).await {
        Ok(state) => {
            let answer = Answer::from_state(&state);
            if !answer.left_out().is_empty() {
                tracing::warn!(
                    left_out = ?answer.left_out(),
                    "state keys left out of the answer to stay within Connect's 32 KB"
                );
            }
            answer
        }
        Err(err) => store_failure(&err),
    }
}

/// The answer when the state table cannot be read or written.
pub fn store_failure(err: &StoreError) -> Answer {
    tracing::error!(error = %crate::telemetry::error_chain(err), "the state table could not be reached");
    Answer::error("The state table could not be reached")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn pauses_grow_from_the_initial_one_to_the_maximum() {
        let pauses: Vec<_> = PollSchedule::default()
            .pauses()
            .take(8)
            .map(|p| p.as_millis())
            .collect();
        assert_eq!(pauses, [10, 15, 22, 25, 25, 25, 25, 25]);
    }

    /// Reads in a wait of `budget` on `schedule`: one after each pause.
    fn reads_in(schedule: &PollSchedule, budget: Duration) -> u32 {
        let (mut elapsed, mut reads) = (Duration::ZERO, 0);
        for pause in schedule.pauses() {
            if elapsed >= budget {
                break;
            }
            elapsed = (elapsed + pause).min(budget);
            reads += 1;
        }
        reads
    }

    #[test]
    fn a_2_second_check_timeout_call_makes_at_most_25_requests() {
        let config = WaitConfig::default();
        // The status read first, the wait's reads, the state read for the answer.
        let requests = 1 + reads_in(&config.check_poll, Duration::from_secs(2)) + 1;
        assert!(requests <= 25, "{requests} requests");
    }

    #[test]
    fn start_reads_at_most_every_25_ms_after_a_short_ramp() {
        let reads = reads_in(&PollSchedule::default(), Duration::from_secs(2));
        assert!((75..=85).contains(&reads), "{reads} reads");
    }

    #[test]
    fn rule_timeouts_are_seconds_from_1_to_20_as_numbers_or_text() {
        use serde_json::json;
        assert_eq!(rule_timeout(Some(&json!(8))), Ok(Duration::from_secs(8)));
        assert_eq!(
            rule_timeout(Some(&json!(" 2.5 "))),
            Ok(Duration::from_millis(2500))
        );
        assert_eq!(rule_timeout(None), Err("absent"));
        assert_eq!(rule_timeout(Some(&json!("soon"))), Err("not a number"));
        assert_eq!(rule_timeout(Some(&json!({"s": 1}))), Err("not a number"));
        assert_eq!(
            rule_timeout(Some(&json!(0))),
            Err("outside 1 to 20 seconds")
        );
        assert_eq!(
            rule_timeout(Some(&json!("21"))),
            Err("outside 1 to 20 seconds")
        );
        assert_eq!(
            rule_timeout(Some(&json!("NaN"))),
            Err("outside 1 to 20 seconds")
        );
    }

    #[test]
    fn wait_settings_are_read_and_checked() {
        let vars = HashMap::from([("CONNECT_WAIT_MS", "1500"), ("POLL_GROWTH", "0.5")]);
        let err = WaitConfig::from_lookup(|n| vars.get(n).map(|v| v.to_string())).unwrap_err();
        assert!(err.to_string().contains("POLL_GROWTH"));
        let vars = HashMap::from([("CONNECT_WAIT_MS", "1500")]);
        let config = WaitConfig::from_lookup(|n| vars.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(config.budget, Duration::from_millis(1500));
        assert_eq!(config.poll, PollSchedule::default());
        assert_eq!(
            config.check_poll,
            PollSchedule::every(Duration::from_millis(100))
        );
    }
}
