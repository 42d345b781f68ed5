//! `WatchStore`: presence subscriptions, keyed `(connection_id, user_id)` so that a
//! connection's set is replaced in one job, and indexed by the watched user for the pushes.
//! Expiry is applied at read time, as for connections.

use async_trait::async_trait;
use chat_domain::{ChatError, ConnectionId, Millis, UserId};
use chat_ports::{PortResult, WatchStore, Watcher};
use rusqlite::params;

use crate::SqliteStore;
use crate::rows::db;

#[async_trait]
impl WatchStore for SqliteStore {
    async fn watch(
        &self,
        connection: &ConnectionId,
        subscriber: &UserId,
        users: &[UserId],
        since: Millis,
        expires_at: Millis,
    ) -> PortResult<()> {
        let (connection, subscriber) = (connection.to_string(), subscriber.to_string());
        let users: Vec<String> = users.iter().map(ToString::to_string).collect();
        self.writer
            .run(move |conn| {
                conn.prepare_cached("DELETE FROM watches WHERE connection_id = ?1")
                    .and_then(|mut stmt| stmt.execute([&connection]))
                    .map_err(db("watch: forgetting the old set"))?;
                let mut insert = conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO watches
                             (connection_id, user_id, subscriber_id, expires_at, since)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .map_err(db("watch: preparing"))?;
                for user in &users {
                    insert
                        .execute(params![
                            connection,
                            user,
                            subscriber,
                            expires_at.as_i64(),
                            since.as_i64()
                        ])
                        .map_err(db("watch"))?;
                }
                Ok(())
            })
            .await
    }

    async fn watchers(&self, user: &UserId, now: Millis) -> PortResult<Vec<Watcher>> {
        let user = user.to_string();
        self.readers
            .run(move |conn| {
                let rows: Vec<(String, String, i64)> = conn
                    .prepare_cached(
                        "SELECT connection_id, subscriber_id, since FROM watches
                         WHERE user_id = ?1 AND expires_at > ?2 ORDER BY connection_id",
                    )
                    .and_then(|mut stmt| {
                        stmt.query_map(params![user, now.as_i64()], |row| {
                            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                        })?
                        .collect()
                    })
                    .map_err(db("watchers"))?;
                rows.into_iter()
                    .map(|(connection, subscriber, since)| {
                        let corrupt = |e| ChatError::internal("corrupt value in table watches", e);
                        Ok(Watcher {
                            connection_id: ConnectionId::parse(&connection).map_err(corrupt)?,
                            user_id: UserId::parse(&subscriber).map_err(corrupt)?,
                            since: Millis(since),
                        })
                    })
                    .collect()
            })
            .await
    }

    async fn unwatch(&self, connection: &ConnectionId) -> PortResult<()> {
        let connection = connection.to_string();
        self.writer
            .run(move |conn| {
                conn.prepare_cached("DELETE FROM watches WHERE connection_id = ?1")
                    .and_then(|mut stmt| stmt.execute([&connection]))
                    .map_err(db("unwatch"))?;
                Ok(())
            })
            .await
    }
}
