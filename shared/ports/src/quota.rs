//! The send-rate port: may this user send one more message now? The handler asks before the
//! append, so a refusal never touches a message, and an acknowledged message is never undone.
//!
//! [`LocalQuota`] keeps the buckets in this process's memory: exact for one process
//! (`chat-local`), per container on Lambda. A deployment with many containers takes an
//! adapter that shares the allowance between them (the DynamoDB store's).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chat_domain::{Millis, SendRate, Take, TokenBucket, UserId};

use crate::PortResult;

#[async_trait]
pub trait SendQuota: Send + Sync {
    /// Takes one message from `user`'s allowance at `now`.
    async fn take_send(&self, user: &UserId, now: Millis) -> PortResult<Take>;
}

/// Token buckets in memory, one per user who sent lately.
#[derive(Debug)]
pub struct LocalQuota {
    rate: Option<SendRate>,
    buckets: Mutex<HashMap<UserId, TokenBucket>>,
}

/// Past this many buckets, the full ones (which say nothing a new bucket would not) are
/// dropped: memory stays bounded by the users actually being limited.
const BUCKETS_KEPT: usize = 100_000;

impl LocalQuota {
    /// `None`: nobody is limited.
    pub fn new(rate: Option<SendRate>) -> LocalQuota {
        LocalQuota {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self, user: &UserId, now: Millis) -> Take {
        let Some(rate) = self.rate else {
            return Take::Granted;
        };
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= BUCKETS_KEPT && !buckets.contains_key(user) {
            buckets.retain(|_, bucket| !bucket.is_full(rate, now));
        }
        buckets
            .entry(user.clone())
            .or_insert_with(|| TokenBucket::full(rate, now))
            .take(rate, now)
    }
}

#[async_trait]
impl SendQuota for LocalQuota {
    async fn take_send(&self, user: &UserId, now: Millis) -> PortResult<Take> {
        Ok(self.take(user, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> UserId {
        UserId::parse(id).expect("user id")
    }

    #[test]
    fn each_user_has_their_own_bucket() {
        let quota = LocalQuota::new(SendRate::new(1, 2));
        let (alice, bob) = (user("alice"), user("bob"));
        assert_eq!(quota.take(&alice, Millis(0)), Take::Granted);
        assert_eq!(quota.take(&alice, Millis(0)), Take::Granted);
        assert!(matches!(
            quota.take(&alice, Millis(0)),
            Take::Refused { .. }
        ));
        assert_eq!(quota.take(&bob, Millis(0)), Take::Granted);
    }

    #[test]
    fn no_rate_no_limit() {
        let quota = LocalQuota::new(None);
        for _ in 0..10_000 {
            assert_eq!(quota.take(&user("alice"), Millis(0)), Take::Granted);
        }
    }
}
