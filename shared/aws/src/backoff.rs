//! Bounded exponential backoff with full jitter, the one retry policy of this crate.
//!
//! Used where a retry is ours to make: API Gateway throttling a post, a DynamoDB transaction
//! losing a seq race, unprocessed BatchGetItem keys. Full jitter (a uniform pause between zero
//! and the exponential ceiling) spreads competing writers apart, which matters most for the
//! seq race: the losers of one round must not collide again in the next.

use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all, the first one included (so `1` never retries).
    pub max_attempts: u32,
    /// The ceiling of the first pause; it doubles with every retry.
    pub base: Duration,
    /// No pause is ever longer than this.
    pub cap: Duration,
}

impl Backoff {
    /// Posting to a connection: five tries, at most ~0.4 s of pauses in all on average.
    pub const PUSH: Backoff = Backoff::new(5, Duration::from_millis(25), Duration::from_secs(1));
    /// The seq race and transaction conflicts of `append`: short pauses, more tries, because a
    /// loser usually wins the next round.
    pub const APPEND: Backoff =
        Backoff::new(8, Duration::from_millis(10), Duration::from_millis(250));
    /// Unprocessed keys of batch reads.
    pub const BATCH: Backoff = Backoff::new(8, Duration::from_millis(50), Duration::from_secs(2));

    pub const fn new(max_attempts: u32, base: Duration, cap: Duration) -> Backoff {
        Backoff {
            max_attempts,
            base,
            cap,
        }
    }

    /// The longest pause before retry number `retry` (1 = the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A pause drawn uniformly from `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = u64::try_from(self.ceiling(retry).as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rand::random_range(0..=ceiling))
    }

    /// Sleeps before retry number `retry`.
    pub async fn pause(&self, retry: u32) {
        tokio::time::sleep(self.delay(retry)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let b = Backoff::new(5, Duration::from_millis(10), Duration::from_millis(50));
        assert_eq!(b.ceiling(1), Duration::from_millis(10));
        assert_eq!(b.ceiling(2), Duration::from_millis(20));
        assert_eq!(b.ceiling(3), Duration::from_millis(40));
        assert_eq!(b.ceiling(4), Duration::from_millis(50));
        assert_eq!(b.ceiling(100), Duration::from_millis(50));
    }

    #[test]
    fn delays_stay_under_the_ceiling() {
        let b = Backoff::PUSH;
        for retry in 1..10 {
            assert!(b.delay(retry) <= b.ceiling(retry));
        }
    }
}
