//! Waiting for a run to finish, as start and check-timeout do while Connect holds
//! the line: read only the status item (one consistent GetItem), never in a busy
//! loop, and never past the wait budget.
//!
//! The two calls wait differently because they are called differently. start is
//! called once per contact, right after the invoke, and most integrations end
//! inside its wait. Its first read comes 40 ms after the invoke: a run is
//! hardly ever `DONE` sooner, since the function must be delivered, read its
//! state and commit two transitions, so a fast integration is answered from one
//! status read (in the benchmark's fast contacts, one status read each; with a
//! first read at 10 or 20 ms they took two or three). Then it reads every 20 ms,
//! so a finished run is seen 10 ms after it ends on average (the detection
//! latency), for at most 99 reads in a 2 s wait.
//! check-timeout is called again and again, for as long as a slow run lasts: it
//! reads every 100 ms, so one 2-second call costs at most 22 requests.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    config::{ConfigError, Env},
    connect::Answer,
    ContactId, RunId, StatusItem, Store, StoreError, Transition,
};

/// How start and check-timeout wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitConfig {
    /// `CONNECT_WAIT_MS` (default 2000): how long one call may wait for the run,
    /// counted from the start of the call.
    pub budget: Duration,
    /// start's status reads: `POLL_FIRST_MS` (default 40) after the invoke, then
    /// every `POLL_EVERY_MS` (default 20).
    pub poll: PollSchedule,
    /// check-timeout's status reads: every `CHECK_POLL_MS` (default 100), since
    /// the run has been open for seconds already and the call has just read the
    /// status itself.
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
    match crate::keys::number(value.ok_or("absent")?) {
        Some(s) if RULE_TIMEOUTS.contains(&s) => Ok(Duration::from_secs_f64(s)),
        Some(_) => Err("outside 1 to 20 seconds"),
        None => Err("not a number"),
    }
}

/// The pause before each status read: `first`, then `every`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollSchedule {
    pub first: Duration,
    pub every: Duration,
}

/// start's defaults (see the module's notes).
const POLL_FIRST_MS: u64 = 40;
const POLL_EVERY_MS: u64 = 20;
/// check-timeout's default: a read every 100 ms.
const CHECK_POLL_MS: u64 = 100;

impl Default for PollSchedule {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(POLL_FIRST_MS),
            every: Duration::from_millis(POLL_EVERY_MS),
        }
    }
}

impl PollSchedule {
    /// One pause throughout.
    pub fn every(pause: Duration) -> Self {
        Self {
            first: pause,
            every: pause,
        }
    }

    /// The pauses, one before each read.
    #[cfg(test)]
    fn pauses(&self) -> impl Iterator<Item = Duration> {
        std::iter::once(self.first).chain(std::iter::repeat(self.every))
    }
}

impl WaitConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let poll = PollSchedule {
            first: env.millis("POLL_FIRST_MS", POLL_FIRST_MS)?,
            every: env.millis("POLL_EVERY_MS", POLL_EVERY_MS)?,
        };
        if poll.every.is_zero() {
            return Err(ConfigError::Malformed {
                name: "POLL_EVERY_MS",
                reason: "expected at least 1 ms: 0 would read in a busy loop".into(),
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
        let rule = crate::keys::TIMEOUT;
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
    pub record: Option<StatusItem>,
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
    let mut pause = schedule.first;
    let mut reads = 0;
    loop {
        let left = (until - store.clock().now()).to_std().unwrap_or_default();
        store.clock().sleep(pause.min(left)).await;
        pause = schedule.every;
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

/// Times `run` out: the transition check-timeout makes, and start waiting
/// until the end at its run's own deadline. Refused, and so harmless, when
/// the run finished or was replaced meanwhile; a store failure is the answer.
pub async fn time_out(
    store: &Store,
    contact_id: &ContactId,
    run: Option<&RunId>,
) -> Result<(), Answer> {
    match store.timeout(contact_id, run).await {
        Ok(Transition::Applied) => tracing::info!("run timed out"),
        Ok(Transition::Refused(refusal)) => {
            tracing::info!(?refusal, "run finished before it could time out")
        }
        Err(err) => return Err(store_failure(&err)),
    }
    Ok(())
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
    fn start_pauses_once_for_the_first_read_then_reads_at_a_steady_pace() {
        let pauses: Vec<_> = PollSchedule::default()
            .pauses()
            .take(4)
            .map(|p| p.as_millis())
            .collect();
        assert_eq!(pauses, [40, 20, 20, 20]);
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
    fn start_reads_at_most_100_times_in_a_2_second_wait() {
        let reads = reads_in(&PollSchedule::default(), Duration::from_secs(2));
        assert_eq!(reads, 99);
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
        let vars = HashMap::from([("CONNECT_WAIT_MS", "1500"), ("POLL_EVERY_MS", "0")]);
        let err = WaitConfig::from_lookup(|n| vars.get(n).map(|v| v.to_string())).unwrap_err();
        assert!(err.to_string().contains("POLL_EVERY_MS"), "{err}");
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
