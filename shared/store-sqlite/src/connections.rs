//! `ConnectionStore`: the open WebSocket connections of each user, keyed
//! `(user_id, connection_id)` so that "where do I push to this user" is one key-range query.
//!
//! Expiry is applied at read time (`expires_at > now`): a connection whose `$disconnect` never
//! came disappears from answers on time, the way DynamoDB's TTL makes it vanish on AWS.

use async_trait::async_trait;
use chat_domain::{ConnectionId, Millis, UserId};
use chat_ports::{Connection, ConnectionStore, PortResult};
use rusqlite::params;

use crate::SqliteStore;
use crate::rows::{CONNECTION_COLUMNS, ConnectionRow, db};

#[async_trait]
impl ConnectionStore for SqliteStore {
    async fn put_connection(&self, connection: &Connection) -> PortResult<usize> {
        let c = connection.clone();
        self.writer
            .run(move |conn| {
                let others = live_connections(
                    conn,
                    c.user_id.as_str(),
                    c.connected_at.as_i64(),
                    Some(c.connection_id.as_str()),
                )?;
                conn.prepare_cached(&format!(
                    "INSERT OR REPLACE INTO connections ({CONNECTION_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5)"
                ))
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        c.connection_id.as_str(),
                        c.user_id.as_str(),
                        c.device_id.as_str(),
                        c.connected_at.as_i64(),
                        c.expires_at.as_i64(),
                    ])
                })
                .map_err(db("put_connection"))?;
                Ok(others)
            })
            .await
    }

    async fn remove_connection(
        &self,
        user: &UserId,
        id: &ConnectionId,
        now: Millis,
    ) -> PortResult<usize> {
        let (user, id) = (user.to_string(), id.to_string());
        self.writer
            .run(move |conn| {
                conn.prepare_cached(
                    "DELETE FROM connections WHERE user_id = ?1 AND connection_id = ?2",
                )
                .and_then(|mut stmt| stmt.execute(params![user, id]))
                .map_err(db("remove_connection"))?;
                live_connections(conn, &user, now.as_i64(), None)
            })
            .await
    }

    async fn connections_of_users(
        &self,
        users: &[UserId],
        now: Millis,
    ) -> PortResult<Vec<Connection>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let users: Vec<String> = users.iter().map(ToString::to_string).collect();
        self.readers
            .run(move |conn| {
                // One statement for the page; SQLite's limit of bound parameters (32,766) is far
                // above a page's 100.
                let marks = vec!["?"; users.len()].join(", ");
                let sql = format!(
                    "SELECT {CONNECTION_COLUMNS} FROM connections
                     WHERE user_id IN ({marks}) AND expires_at > ?
                     ORDER BY user_id, connection_id"
                );
                let mut values: Vec<rusqlite::types::Value> = users
                    .into_iter()
                    .map(rusqlite::types::Value::Text)
                    .collect();
                values.push(rusqlite::types::Value::Integer(now.as_i64()));
                let rows = conn
                    .prepare_cached(&sql)
                    .and_then(|mut stmt| {
                        stmt.query_map(rusqlite::params_from_iter(values), ConnectionRow::read)?
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .map_err(db("connections_of_users"))?;
                rows.into_iter()
                    .map(ConnectionRow::into_connection)
                    .collect()
            })
            .await
    }

    async fn connections_of(&self, user: &UserId, now: Millis) -> PortResult<Vec<Connection>> {
        let user = user.to_string();
        self.readers
            .run(move |conn| {
                let rows = conn
                    .prepare_cached(&format!(
                        "SELECT {CONNECTION_COLUMNS} FROM connections
                         WHERE user_id = ?1 AND expires_at > ?2 ORDER BY connection_id"
                    ))
                    .and_then(|mut stmt| {
                        stmt.query_map(params![user, now.as_i64()], ConnectionRow::read)?
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .map_err(db("connections_of"))?;
                rows.into_iter()
                    .map(ConnectionRow::into_connection)
                    .collect()
            })
            .await
    }
}

/// How many of `user`'s connections are live at `at`, but `except`.
fn live_connections(
    conn: &rusqlite::Connection,
    user: &str,
    at: i64,
    except: Option<&str>,
) -> Result<usize, chat_domain::ChatError> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM connections
             WHERE user_id = ?1 AND expires_at > ?2 AND connection_id <> ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![user, at, except.unwrap_or_default()], |row| {
                row.get(0)
            })
        })
        .map_err(db("counting live connections"))?;
    Ok(usize::try_from(count).unwrap_or(0))
}
