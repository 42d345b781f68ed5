//! `ConnectionStore` on the connections table: one item per open connection, keyed
//! `(user_id, connection_id)` so that "where do I push to this user" is one key-range query.
//!
//! Each item carries `ttl` (epoch seconds, `expires_at` rounded up) so that DynamoDB reaps the
//! connections whose `$disconnect` never came. That deletion is lazy (it may lag by days), so
//! reads filter on `expires_at > now` themselves: an expired connection vanishes from answers
//! on time, exactly as in the embedded store.

use async_trait::async_trait;
use chat_domain::{ConnectionId, DeviceId, Millis, UserId};
use chat_ports::{Connection, ConnectionStore, PortResult};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::DynamoStore;
use super::codec::{Item, from_items, n, s, to_item};
use super::tables::ttl_seconds;
use crate::errors::internal;

/// Partition key: the user.
pub(crate) const HASH: &str = "user_id";
/// Sort key: the API Gateway connection id.
pub(crate) const RANGE: &str = "connection_id";

/// The stored form of a [`Connection`]: its fields plus the TTL attribute.
#[derive(Debug, Serialize, Deserialize)]
struct ConnectionItem {
    user_id: UserId,
    connection_id: ConnectionId,
    device_id: DeviceId,
    connected_at: Millis,
    expires_at: Millis,
    /// `expires_at` in epoch seconds, rounded up so that DynamoDB never reaps a live connection.
    ttl: i64,
}

impl From<&Connection> for ConnectionItem {
    fn from(c: &Connection) -> Self {
        ConnectionItem {
            user_id: c.user_id.clone(),
            connection_id: c.connection_id.clone(),
            device_id: c.device_id.clone(),
            connected_at: c.connected_at,
            expires_at: c.expires_at,
            ttl: ttl_seconds(c.expires_at),
        }
    }
}

impl From<ConnectionItem> for Connection {
    fn from(item: ConnectionItem) -> Self {
        Connection {
            connection_id: item.connection_id,
            user_id: item.user_id,
            device_id: item.device_id,
            connected_at: item.connected_at,
            expires_at: item.expires_at,
        }
    }
}

fn key(user: &UserId, id: &ConnectionId) -> Item {
    Item::from([(HASH.to_string(), s(user)), (RANGE.to_string(), s(id))])
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn put_connection(&self, connection: &Connection) -> PortResult<()> {
        // A plain put: the same connection id again overwrites, as the port asks.
        self.client
            .put_item()
            .table_name(&self.tables.connections)
            .set_item(Some(to_item(
                "connection",
                &ConnectionItem::from(connection),
            )?))
            .send()
            .await
            .map_err(|e| internal("put_connection", e))?;
        Ok(())
    }

    async fn remove_connection(&self, user: &UserId, id: &ConnectionId) -> PortResult<()> {
        // Deleting an absent item succeeds, so removing twice is not an error.
        self.client
            .delete_item()
            .table_name(&self.tables.connections)
            .set_key(Some(key(user, id)))
            .send()
            .await
            .map_err(|e| internal("remove_connection", e))?;
        Ok(())
    }

    async fn connections_of_users(
        &self,
        users: &[UserId],
        now: Millis,
    ) -> PortResult<Vec<Connection>> {
        let lookups: Vec<_> = users
            .iter()
            .map(|user| self.connections_of(user, now))
            .collect();
        let found: Vec<Vec<Connection>> = futures_util::stream::iter(lookups)
            .buffered(16)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn connections_of(&self, user: &UserId, now: Millis) -> PortResult<Vec<Connection>> {
        // The filter saves bandwidth, not capacity: filtered-out items are still read.
        let mut pages = self
            .client
            .query()
            .table_name(&self.tables.connections)
            .consistent_read(true)
            .key_condition_expression("#user = :user")
            .filter_expression("#expires > :now")
            .expression_attribute_names("#user", HASH)
            .expression_attribute_names("#expires", "expires_at")
            .expression_attribute_values(":user", s(user))
            .expression_attribute_values(":now", n(now.as_i64()))
            .into_paginator()
            .send();
        let mut connections = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| internal("connections_of", e))?;
            let items: Vec<ConnectionItem> =
                from_items("connection", page.items.unwrap_or_default())?;
            connections.extend(items.into_iter().map(Connection::from));
        }
        Ok(connections)
    }
}
