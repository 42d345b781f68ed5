//! The embedded backend's `ConnectionStore`: in this process's memory, beside the sockets.
//!
//! chat-local is the gateway: every connection it lists is a socket it holds, and none
//! outlives the process (after a restart, or a `kill -9`, every client reconnects). So the
//! record of who is connected need not be durable, and keeping it in SQLite made every
//! delivery a store read on the blocking pool (a third of chat-local's CPU when profiled,
//! `docs/performance.md`) and every connect and disconnect a write with its fsync. Here a
//! lookup is a map read under a lock held for microseconds.
//!
//! Same answers as the stores (the contract suite runs against it: `local/tests/`): expiry at
//! read time (`expires_at > now`), overwrite by id, counts of the other live connections.
//! Entries already expired when their user connects again are dropped then (the gateway
//! itself sends `$disconnect` for every socket it closes, so only a connection that outlived
//! its 2-hour limit without one ever expires here).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chat_domain::{ConnectionId, Millis, UserId};
use chat_ports::{Connection, ConnectionStore, PortResult};

/// Each user's connections, by id (both ordered, as the stores answer them).
#[derive(Default)]
pub struct MemoryConnections {
    by_user: Mutex<BTreeMap<UserId, BTreeMap<ConnectionId, Connection>>>,
}

impl MemoryConnections {
    pub fn new() -> MemoryConnections {
        MemoryConnections::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<UserId, BTreeMap<ConnectionId, Connection>>> {
        // A panic while holding the lock leaves the maps whole (every change is one insert or
        // remove), so a poisoned lock is still a good one.
        self.by_user
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `user`'s connections live at `at`, but `except`.
fn live_count(
    connections: &BTreeMap<ConnectionId, Connection>,
    at: Millis,
    except: Option<&ConnectionId>,
) -> usize {
    live(connections, at)
        .filter(|c| Some(&c.connection_id) != except)
        .count()
}

fn live(
    connections: &BTreeMap<ConnectionId, Connection>,
    now: Millis,
) -> impl Iterator<Item = Connection> + '_ {
    connections
        .values()
        .filter(move |c| c.expires_at > now)
        .cloned()
}

#[async_trait]
impl ConnectionStore for MemoryConnections {
    async fn put_connection(&self, connection: &Connection) -> PortResult<usize> {
        let mut by_user = self.lock();
        let mine = by_user.entry(connection.user_id.clone()).or_default();
        let at = connection.connected_at;
        let others = live_count(mine, at, Some(&connection.connection_id));
        mine.retain(|_, c| c.expires_at > at);
        mine.insert(connection.connection_id.clone(), connection.clone());
        Ok(others)
    }

    async fn remove_connection(
        &self,
        user: &UserId,
        id: &ConnectionId,
        now: Millis,
    ) -> PortResult<usize> {
        let mut by_user = self.lock();
        let Some(mine) = by_user.get_mut(user) else {
            return Ok(0);
        };
        mine.remove(id);
        let left = live_count(mine, now, None);
        if mine.is_empty() {
            by_user.remove(user);
        }
        Ok(left)
    }

    async fn connections_of(&self, user: &UserId, now: Millis) -> PortResult<Vec<Connection>> {
        Ok(self
            .lock()
            .get(user)
            .map(|mine| live(mine, now).collect())
            .unwrap_or_default())
    }

    async fn connections_of_users(
        &self,
        users: &[UserId],
        now: Millis,
    ) -> PortResult<Vec<Connection>> {
        let mut wanted: Vec<&UserId> = users.iter().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let by_user = self.lock();
        Ok(wanted
            .into_iter()
            .filter_map(|user| by_user.get(user))
            .flat_map(|mine| live(mine, now))
            .collect())
    }
}
