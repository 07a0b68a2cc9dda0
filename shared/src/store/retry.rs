//! A store call tried again while it fails for a reason that may pass
//! (DynamoDB unreachable, throttled or busy), for a while and no longer.

use std::{future::Future, time::Duration};

use super::StoreError;
use crate::Clock;

/// How long a caller keeps trying a call that failed for a reason worth
/// retrying, and how long it pauses between attempts at the most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// Retrying stops once this much time has passed since the first attempt.
    pub for_at_most: Duration,
    /// The pauses start at 250 ms and double up to this.
    pub longest_pause: Duration,
}

impl Patience {
    pub const NONE: Patience = Patience {
        for_at_most: Duration::ZERO,
        longest_pause: Duration::ZERO,
    };

    /// The pause before retry `attempt` (1-based): 250 ms, doubling, at most
    /// [`Self::longest_pause`].
    pub fn pause(&self, attempt: u32) -> Duration {
        Duration::from_millis(250 << attempt.saturating_sub(1).min(8)).min(self.longest_pause)
    }
}

/// Runs `attempt` until it succeeds, fails for a reason not worth retrying, or
/// `patience` runs out; the last error is returned. `on_retry` hears of each
/// retry (its number, and the error that caused it) before the pause.
pub async fn patiently<T, F, Fut>(
    clock: &dyn Clock,
    patience: Patience,
    mut on_retry: impl FnMut(u32, &StoreError),
    mut attempt: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let began = std::time::Instant::now();
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(err) if err.is_retryable() && began.elapsed() < patience.for_at_most => {
                retries += 1;
                on_retry(retries, &err);
                clock.sleep(patience.pause(retries)).await;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_from_250_ms_up_to_the_longest() {
        let patience = Patience {
            for_at_most: Duration::from_secs(60),
            longest_pause: Duration::from_secs(4),
        };
        let pauses: Vec<u64> = (1..=7)
            .map(|n| patience.pause(n).as_millis() as u64)
            .collect();
        assert_eq!(pauses, [250, 500, 1000, 2000, 4000, 4000, 4000]);
    }
}
