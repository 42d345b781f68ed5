//! `WatchStore` on the watches table: one item per (watching connection, watched user), keyed
//! `(connection_id, user_id)` so that a connection's set is one key-range query, with the GSI
//! `by-watched` (`user_id`, `connection_id`; INCLUDE `subscriber_id`, `expires_at`) for "who
//! watches this user". Items carry `ttl` (the connection's expiry) so that DynamoDB reaps the
//! subscriptions of connections that died without `$disconnect`; reads filter on `expires_at`
//! themselves, as for connections.
//!
//! `watch` writes only the difference with what the connection watched before (one `Query`,
//! then `BatchWriteItem` puts and deletes, 25 a request): reopening the app with the same
//! contacts costs the query alone.

use std::collections::HashSet;

use async_trait::async_trait;
use chat_domain::{ConnectionId, Millis, UserId};
use chat_ports::{PortResult, WatchStore, Watcher};
use serde::{Deserialize, Serialize};

use super::DynamoStore;
use super::codec::{Item, from_items, n, s, to_item};
use super::tables::ttl_seconds;
use crate::errors::internal;

/// Partition key: the watching connection.
pub(crate) const HASH: &str = "connection_id";
/// Sort key: the watched user; also the partition key of [`BY_WATCHED`].
pub(crate) const RANGE: &str = "user_id";
/// The GSI keyed `(user_id, connection_id)`.
pub(crate) const BY_WATCHED: &str = "by-watched";

/// One subscription.
#[derive(Debug, Serialize, Deserialize)]
struct WatchItem {
    connection_id: ConnectionId,
    user_id: UserId,
    subscriber_id: UserId,
    expires_at: Millis,
    /// When the connection asked (0 on items from before it was kept).
    #[serde(default)]
    since: Millis,
    #[serde(default)]
    ttl: i64,
}

fn key(connection: &ConnectionId, user: &UserId) -> Item {
    Item::from([
        (HASH.to_string(), s(connection)),
        (RANGE.to_string(), s(user)),
    ])
}

impl DynamoStore {
    /// What `connection` watches now.
    async fn watched_by(&self, connection: &ConnectionId) -> PortResult<Vec<UserId>> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.tables.watches)
            .consistent_read(true)
            .key_condition_expression("#connection = :connection")
            .projection_expression("#connection, #user, subscriber_id, expires_at, since")
            .expression_attribute_names("#connection", HASH)
            .expression_attribute_names("#user", RANGE)
            .expression_attribute_values(":connection", s(connection))
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| internal("watches of a connection", e))?;
            let items: Vec<WatchItem> = from_items("watch", page.items.unwrap_or_default())?;
            found.extend(items.into_iter().map(|w| w.user_id));
        }
        Ok(found)
    }
}

#[async_trait]
impl WatchStore for DynamoStore {
    async fn watch(
        &self,
        connection: &ConnectionId,
        subscriber: &UserId,
        users: &[UserId],
        since: Millis,
        expires_at: Millis,
    ) -> PortResult<()> {
        let before: HashSet<UserId> = self.watched_by(connection).await?.into_iter().collect();
        let wanted: HashSet<&UserId> = users.iter().collect();
        let gone: Vec<Item> = before
            .iter()
            .filter(|user| !wanted.contains(user))
            .map(|user| key(connection, user))
            .collect();
        // Every watch of the set is written, the kept ones too: the connection is told each
        // user's presence again now, which is what `since` records.
        let new: Vec<Item> = wanted
            .into_iter()
            .map(|user| {
                to_item(
                    "watch",
                    &WatchItem {
                        connection_id: connection.clone(),
                        user_id: user.clone(),
                        subscriber_id: subscriber.clone(),
                        expires_at,
                        since,
                        ttl: ttl_seconds(expires_at),
                    },
                )
            })
            .collect::<PortResult<_>>()?;
        self.batch_delete("unwatch", &self.tables.watches, gone)
            .await?;
        self.batch_put("watch", &self.tables.watches, new).await
    }

    async fn watchers(&self, user: &UserId, now: Millis) -> PortResult<Vec<Watcher>> {
        // A GSI query: eventually consistent (a subscription may show up a moment late).
        let mut pages = self
            .client
            .query()
            .table_name(&self.tables.watches)
            .index_name(BY_WATCHED)
            .key_condition_expression("#user = :user")
            .filter_expression("#expires > :now")
            .expression_attribute_names("#user", RANGE)
            .expression_attribute_names("#expires", "expires_at")
            .expression_attribute_values(":user", s(user))
            .expression_attribute_values(":now", n(now.as_i64()))
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| internal("watchers", e))?;
            let items: Vec<WatchItem> = from_items("watch", page.items.unwrap_or_default())?;
            found.extend(items.into_iter().map(|w| Watcher {
                connection_id: w.connection_id,
                user_id: w.subscriber_id,
                since: w.since,
            }));
        }
        Ok(found)
    }

    async fn unwatch(&self, connection: &ConnectionId) -> PortResult<()> {
        let keys = self
            .watched_by(connection)
            .await?
            .iter()
            .map(|user| key(connection, user))
            .collect();
        self.batch_delete("unwatch", &self.tables.watches, keys)
            .await
    }
}
