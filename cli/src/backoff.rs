//! Exponential backoff with jitter, for reconnecting and for waiting on the server's media
//! check. Jitter spreads the retries of many clients that lost the same server at once.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The delays between tries: `first`, then doubling up to `max`, each scaled by 0.75–1.25.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// Reconnecting a socket: from 250 ms up to 30 s.
    pub fn reconnect() -> Backoff {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(30))
    }

    /// The delay before the next try.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        base.mul_f64(0.75 + 0.5 * unit_random())
    }

    /// After a success: the next failure starts from `first` again.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// A number in [0, 1): std's randomly keyed hasher is random enough to spread retries.
fn unit_random() -> f64 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let delays: Vec<u128> = (0..4).map(|_| backoff.next_delay().as_millis()).collect();
        let bounds = [(75, 125), (150, 250), (262, 438), (262, 438)];
        for (delay, (low, high)) in delays.iter().zip(bounds) {
            assert!((low..=high).contains(delay), "{delays:?}");
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(125));
    }
}
