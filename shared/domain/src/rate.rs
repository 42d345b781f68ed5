//! How fast one user may send: the setting ([`SendRate`]) and the token bucket that enforces
//! it in one process ([`TokenBucket`]). Pure arithmetic over [`Millis`]; where the buckets
//! live (a process's memory, a shared table) is an adapter's business.

use std::num::NonZeroU32;

use crate::Millis;

/// A user may send `burst` messages at once, then `per_second` a second: a token bucket of
/// `burst` tokens refilled at `per_second`. `None` where a setting allows it means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendRate {
    per_second: NonZeroU32,
    burst: NonZeroU32,
}

impl SendRate {
    /// A person types at most a message or two a second; the burst is for a phone flushing
    /// the messages it queued while offline (or a forward to many chats).
    pub const DEFAULT: SendRate = SendRate {
        per_second: NonZeroU32::new(10).expect("10 is not zero"),
        burst: NonZeroU32::new(100).expect("100 is not zero"),
    };

    /// The rate, or `None` (no limit) when either number is 0.
    pub fn new(per_second: u32, burst: u32) -> Option<SendRate> {
        Some(SendRate {
            per_second: NonZeroU32::new(per_second)?,
            burst: NonZeroU32::new(burst)?,
        })
    }

    pub fn per_second(self) -> u32 {
        self.per_second.get()
    }

    pub fn burst(self) -> u32 {
        self.burst.get()
    }

    /// How long the bucket takes to fill from empty, in milliseconds (at least 1).
    pub fn window_ms(self) -> i64 {
        (i64::from(self.burst()) * 1000 / i64::from(self.per_second())).max(1)
    }
}

/// One user's bucket, in thousandths of a token so that refills of less than a token a
/// millisecond add up exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBucket {
    milli_tokens: i64,
    at: Millis,
}

/// What a bucket answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    Granted,
    /// Empty: the next token is there in this many milliseconds.
    Refused {
        retry_after_ms: i64,
    },
}

impl TokenBucket {
    /// A bucket nobody has used: full.
    pub fn full(rate: SendRate, now: Millis) -> TokenBucket {
        TokenBucket {
            milli_tokens: i64::from(rate.burst()) * 1000,
            at: now,
        }
    }

    /// Refills for the time since the last take, then takes one token if there is one. A clock
    /// that went backwards refills nothing (and never drains).
    pub fn take(&mut self, rate: SendRate, now: Millis) -> Take {
        let capacity = i64::from(rate.burst()) * 1000;
        let elapsed = (now.as_i64() - self.at.as_i64()).max(0);
        // Tokens a millisecond × 1000 = per_second: one thousandth of a token per ms per unit.
        let refill = elapsed.saturating_mul(i64::from(rate.per_second()));
        self.milli_tokens = self.milli_tokens.saturating_add(refill).min(capacity);
        self.at = Millis(self.at.as_i64().max(now.as_i64()));
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            return Take::Granted;
        }
        let missing = 1000 - self.milli_tokens;
        let per_second = i64::from(rate.per_second());
        Take::Refused {
            retry_after_ms: ((missing + per_second - 1) / per_second).max(1),
        }
    }

    /// Whether the bucket is full at `now`: it then says nothing a new bucket would not, and
    /// whoever keeps buckets may forget it.
    pub fn is_full(&self, rate: SendRate, now: Millis) -> bool {
        let elapsed = (now.as_i64() - self.at.as_i64()).max(0);
        let refill = elapsed.saturating_mul(i64::from(rate.per_second()));
        self.milli_tokens.saturating_add(refill) >= i64::from(rate.burst()) * 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: u32, burst: u32) -> SendRate {
        SendRate::new(per_second, burst).expect("a limit")
    }

    #[test]
    fn zero_means_unlimited() {
        assert_eq!(SendRate::new(0, 100), None);
        assert_eq!(SendRate::new(10, 0), None);
    }

    #[test]
    fn a_burst_then_the_rate() {
        let rate = rate(10, 3);
        let mut bucket = TokenBucket::full(rate, Millis(0));
        for _ in 0..3 {
            assert_eq!(bucket.take(rate, Millis(0)), Take::Granted);
        }
        assert_eq!(
            bucket.take(rate, Millis(0)),
            Take::Refused {
                retry_after_ms: 100
            }
        );
        assert_eq!(
            bucket.take(rate, Millis(60)),
            Take::Refused { retry_after_ms: 40 }
        );
        assert_eq!(bucket.take(rate, Millis(100)), Take::Granted);
        // A long pause refills to the burst, not beyond.
        for _ in 0..3 {
            assert_eq!(bucket.take(rate, Millis(100_000)), Take::Granted);
        }
        assert!(matches!(
            bucket.take(rate, Millis(100_000)),
            Take::Refused { .. }
        ));
    }

    #[test]
    fn slow_rates_add_up_exactly() {
        // 1 a second: 999 ms is not yet a token, 1000 ms is.
        let rate = rate(1, 1);
        let mut bucket = TokenBucket::full(rate, Millis(0));
        assert_eq!(bucket.take(rate, Millis(0)), Take::Granted);
        assert_eq!(
            bucket.take(rate, Millis(999)),
            Take::Refused { retry_after_ms: 1 }
        );
        assert_eq!(bucket.take(rate, Millis(1000)), Take::Granted);
    }

    #[test]
    fn a_clock_going_back_neither_refills_nor_drains() {
        let rate = rate(10, 1);
        let mut bucket = TokenBucket::full(rate, Millis(5_000));
        assert_eq!(bucket.take(rate, Millis(5_000)), Take::Granted);
        assert!(matches!(bucket.take(rate, Millis(0)), Take::Refused { .. }));
        assert_eq!(bucket.take(rate, Millis(5_100)), Take::Granted);
    }

    #[test]
    fn full_is_forgettable() {
        let rate = rate(10, 2);
        let mut bucket = TokenBucket::full(rate, Millis(0));
        assert!(bucket.is_full(rate, Millis(0)));
        bucket.take(rate, Millis(0));
        assert!(!bucket.is_full(rate, Millis(50)));
        assert!(bucket.is_full(rate, Millis(100)));
        assert_eq!(rate.window_ms(), 200);
    }
}
