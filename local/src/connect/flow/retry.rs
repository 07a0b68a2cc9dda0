//! Connect's retries of a Lambda invocation: the one place of that policy,
//! which every [`super::Contact`] that invokes applies through [`invoke`].
//!
//! The Administrator Guide, "Flow block in Amazon Connect: AWS Lambda
//! function": "If your Lambda invocation gets throttled, the request is
//! retried. It is also retried if a general service failure (500 error)
//! happens." and "When a Lambda invocation returns an error, Amazon Connect
//! retries up to three times, for maximum until timeout specified. At that
//! point, the contact is routed down the Error branch."
//!
//! The page is silent on the rest; the strictest readings, here:
//! - a throttle or a service failure counts toward the same three retries as
//!   a function error (the fewest attempts);
//! - the time limit (`InvocationTimeLimitSeconds`) runs from the first attempt
//!   over all of them, not afresh for each;
//! - no pause between attempts: the page gives none, and any figure would be
//!   invented;
//! - an attempt that ran out of time is not retried (the block's time is
//!   spent), nor is a refusal other than 429 or 5xx (a missing function, a
//!   denied call: neither throttling nor a service failure).

use std::{fmt, future::Future, time::Duration};

/// At most this many retries after the first attempt.
pub const MOST_RETRIES: usize = 3;

/// Why one attempt of an invocation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The function ran and failed: the Invoke API's answer carried
    /// `X-Amz-Function-Error`, with this value.
    Function(String),
    /// The Invoke API answered this HTTP status instead of invoking.
    Refused { status: u16, message: String },
    /// No answer within the block's time limit.
    TimedOut(Duration),
    /// The Invoke API could not be reached.
    Unreachable(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Function(kind) => write!(f, "function error {kind}"),
            Failure::Refused { status, message } => write!(f, "HTTP {status}: {message}"),
            Failure::TimedOut(limit) => write!(f, "no answer within {} s", limit.as_secs_f64()),
            Failure::Unreachable(why) => write!(f, "Lambda unreachable: {why}"),
        }
    }
}

/// What Connect does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Retry,
    ErrorBranch,
}

/// The policy: after `failure`, with `retries` made and `elapsed` since the
/// first attempt of a block whose limit is `limit`.
pub fn after(failure: &Failure, retries: usize, elapsed: Duration, limit: Duration) -> Next {
    let retried = match failure {
        Failure::Function(_) => true,
        Failure::Refused { status, .. } => *status == 429 || (500..600).contains(status),
        Failure::TimedOut(_) | Failure::Unreachable(_) => false,
    };
    if retried && retries < MOST_RETRIES && elapsed < limit {
        Next::Retry
    } else {
        Next::ErrorBranch
    }
}

/// A retry: when it was sent (from the first attempt), after what failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    pub at: Duration,
    pub after: Failure,
}

/// An invocation's attempts: the last one's answer, the retries before it,
/// and how long they all took.
#[derive(Debug, Clone)]
pub struct Attempts<T> {
    pub answer: Result<T, Failure>,
    pub retries: Vec<Retry>,
    pub took: Duration,
}

/// Invokes by `attempt` as Connect does: again after a failure the policy
/// retries, each attempt cut off where the block's `limit`, counted from the
/// first, runs out.
pub async fn invoke<T, F, Fut>(limit: Duration, mut attempt: F) -> Attempts<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    // Tokio's clock, so a test can pause it.
    let first = tokio::time::Instant::now();
    let mut retries = Vec::new();
    loop {
        let left = limit.saturating_sub(first.elapsed());
        let answer = tokio::time::timeout(left, attempt())
            .await
            .unwrap_or(Err(Failure::TimedOut(limit)));
        let elapsed = first.elapsed();
        match answer {
            Err(failure) if after(&failure, retries.len(), elapsed, limit) == Next::Retry => {
                retries.push(Retry {
                    at: elapsed,
                    after: failure,
                });
            }
            answer => {
                return Attempts {
                    answer,
                    retries,
                    took: elapsed,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    const LIMIT: Duration = Duration::from_secs(8);

    fn refused(status: u16) -> Failure {
        Failure::Refused {
            status,
            message: "refused".into(),
        }
    }

    /// The Administrator Guide, "Flow block in Amazon Connect: AWS Lambda
    /// function": retried when throttled, on a general service failure (500),
    /// and when the invocation returns an error; "up to three times".
    #[test]
    fn function_errors_throttles_and_service_failures_are_retried_three_times() {
        let early = Duration::from_millis(100);
        for failure in [
            Failure::Function("Unhandled".into()),
            refused(429),
            refused(500),
            refused(503),
        ] {
            assert_eq!(after(&failure, 0, early, LIMIT), Next::Retry, "{failure}");
            assert_eq!(after(&failure, 2, early, LIMIT), Next::Retry, "{failure}");
            assert_eq!(after(&failure, 3, early, LIMIT), Next::ErrorBranch);
        }
        for failure in [
            refused(404),
            refused(403),
            Failure::TimedOut(LIMIT),
            Failure::Unreachable("connection refused".into()),
        ] {
            assert_eq!(
                after(&failure, 0, early, LIMIT),
                Next::ErrorBranch,
                "{failure}"
            );
        }
    }

    /// "for maximum until timeout specified": no retry once the block's time
    /// limit, counted from the first attempt, is spent.
    #[test]
    fn no_retry_once_the_blocks_time_limit_is_spent() {
        let failure = Failure::Function("Unhandled".into());
        assert_eq!(after(&failure, 0, LIMIT, LIMIT), Next::ErrorBranch);
        assert_eq!(
            after(&failure, 1, LIMIT - Duration::from_millis(1), LIMIT),
            Next::Retry
        );
    }

    /// Attempts that fail in turn as `script` says (`None`: answers).
    async fn attempts(script: Vec<Option<Failure>>) -> (Attempts<&'static str>, usize) {
        let mut script = VecDeque::from(script);
        let mut made = 0;
        let attempts = invoke(LIMIT, || {
            made += 1;
            let next = script.pop_front().flatten();
            async move { next.map_or(Ok("answer"), Err) }
        })
        .await;
        (attempts, made)
    }

    #[tokio::test]
    async fn a_failing_invocation_is_tried_four_times_then_takes_the_error_branch() {
        let error = || Some(Failure::Function("Unhandled".into()));
        let (failed, made) = attempts(vec![error(), error(), error(), error(), None]).await;
        assert_eq!(made, 4);
        assert_eq!(failed.retries.len(), 3);
        assert_eq!(failed.answer, Err(Failure::Function("Unhandled".into())));

        let (recovered, made) = attempts(vec![Some(refused(429)), error(), None]).await;
        assert_eq!((made, recovered.retries.len()), (3, 2));
        assert_eq!(recovered.answer, Ok("answer"));
        assert_eq!(recovered.retries[0].after, refused(429));

        let (denied, made) = attempts(vec![Some(refused(403)), None]).await;
        assert_eq!((made, denied.retries.len()), (1, 0));
    }

    #[tokio::test]
    async fn an_attempt_is_cut_off_where_the_blocks_limit_runs_out() {
        let limit = Duration::from_millis(50);
        let attempts: Attempts<()> = invoke(limit, || async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        })
        .await;
        assert_eq!(attempts.answer, Err(Failure::TimedOut(limit)));
        assert!(attempts.retries.is_empty());
    }
}
