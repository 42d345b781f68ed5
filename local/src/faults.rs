//! What a test or a benchmark may ask `chat-local` to do worse than usual, each off by default
//! and hidden from `--help`: the `@connections` API throttling posts the way API Gateway does
//! under its account quota (`429 LimitExceededException`), and the naive fan-out lookup
//! (one connection query per member) that `chat-bench fanout` measures the batched one against.
//! They change what the adapters meet, never what the handlers decide.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chat_domain::{ConnectionId, Millis, UserId};
use chat_ports::{Connection, ConnectionStore, PortResult};

/// Throttles every `every`-th `@connections` POST (0: never).
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    every: u64,
    posts: AtomicU64,
}

impl Throttle {
    pub(crate) fn every(every: u32) -> Throttle {
        Throttle {
            every: u64::from(every),
            posts: AtomicU64::new(0),
        }
    }

    /// Whether this post is one to refuse with a 429.
    pub(crate) fn refuses_next(&self) -> bool {
        self.every > 0 && self.posts.fetch_add(1, Ordering::Relaxed) % self.every == self.every - 1
    }
}

/// A connection store that finds a page of users' connections with one query per user, as a
/// design without a per-user item would: the baseline of `chat-bench fanout`.
pub(crate) struct PerUserLookups(pub Arc<dyn ConnectionStore>);

#[async_trait]
impl ConnectionStore for PerUserLookups {
    async fn put_connection(&self, connection: &Connection) -> PortResult<usize> {
        self.0.put_connection(connection).await
    }

    async fn remove_connection(
        &self,
        user: &UserId,
        id: &ConnectionId,
        now: Millis,
    ) -> PortResult<usize> {
        self.0.remove_connection(user, id, now).await
    }

    async fn connections_of(&self, user: &UserId, now: Millis) -> PortResult<Vec<Connection>> {
        self.0.connections_of(user, now).await
    }

    async fn connections_of_users(
        &self,
        users: &[UserId],
        now: Millis,
    ) -> PortResult<Vec<Connection>> {
        let lookups: Vec<_> = users
            .iter()
            .map(|u| self.0.connections_of(u, now))
            .collect();
        let found = futures_util::future::try_join_all(lookups).await?;
        Ok(found.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_third_post_is_refused() {
        let throttle = Throttle::every(3);
        let refused: Vec<bool> = (0..6).map(|_| throttle.refuses_next()).collect();
        assert_eq!(refused, [false, false, true, false, false, true]);
        assert!(!Throttle::every(0).refuses_next());
    }
}
