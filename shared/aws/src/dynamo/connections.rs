//! `ConnectionStore` on the users table: a user's live connections are attributes of their
//! user item, one `c#<connection_id>` map each (`device_id`, `connected_at`, `expires_at`).
//!
//! One item per user is what lets a group fan-out find the online devices of a page of 100
//! members with one `BatchGetItem` instead of one `Query` per member. Every change is a single
//! `UpdateItem` on one attribute, so concurrent connects and disconnects of one user's devices
//! never undo each other, and the profile attributes beside them are untouched.
//!
//! Expiry is applied at read time (`expires_at > now`), exactly as in the embedded store: a
//! connection whose `$disconnect` never came drops out of answers on time. Entries are pruned
//! when a post finds them gone (410), on `$disconnect`, and by `put_connection`, which removes
//! the user's expired entries (and the oldest beyond [`MAX_PER_USER`]) in a second write when
//! the item it just wrote has any, so that an item cannot grow without bound.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chat_domain::{ConnectionId, DeviceId, Millis, UserId};
use chat_ports::{Connection, ConnectionStore, PortResult};
use serde::{Deserialize, Serialize};

use super::DynamoStore;
use super::codec::{Item, is_condition_failed};
use super::users;
use crate::errors::internal;

/// The attribute name of a connection is this and its id.
const PREFIX: &str = "c#";

/// The most connections one user item keeps: beyond it the oldest are dropped (its devices get
/// `410` from nobody: they simply stop receiving pushes and catch up with `sync`).
pub(crate) const MAX_PER_USER: usize = 32;

/// One connection as its user item holds it.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    device_id: DeviceId,
    connected_at: Millis,
    expires_at: Millis,
}

fn attribute(id: &ConnectionId) -> String {
    format!("{PREFIX}{id}")
}

/// The connections of one user item, expired ones included.
fn entries(user: &UserId, item: &Item) -> Vec<Connection> {
    item.iter()
        .filter_map(|(name, value)| {
            let id = ConnectionId::parse(name.strip_prefix(PREFIX)?).ok()?;
            match serde_dynamo::aws_sdk_dynamodb_1::from_attribute_value::<Entry>(value.clone())
            {
                Ok(entry) => Some(Connection {
                    connection_id: id,
                    user_id: user.clone(),
                    device_id: entry.device_id,
                    connected_at: entry.connected_at,
                    expires_at: entry.expires_at,
                }),
                Err(err) => {
                    tracing::warn!(%user, attribute = %name, error = %err, "an unreadable connection entry");
                    None
                }
            }
        })
        .collect()
}

/// The user id of a user item.
fn owner(item: &Item) -> Option<UserId> {
    match item.get(users::HASH) {
        Some(AttributeValue::S(id)) => UserId::parse(id).ok(),
        _ => None,
    }
}

fn live(connections: Vec<Connection>, now: Millis) -> Vec<Connection> {
    connections
        .into_iter()
        .filter(|c| c.expires_at > now)
        .collect()
}

impl DynamoStore {
    /// Removes the named entries (expired or surplus) from a user item.
    async fn prune(&self, user: &UserId, stale: &[&Connection]) -> PortResult<()> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(users::key(user)));
        let mut names = Vec::new();
        for (n, connection) in stale.iter().enumerate() {
            let placeholder = format!("#c{n}");
            request = request
                .expression_attribute_names(&placeholder, attribute(&connection.connection_id));
            names.push(placeholder);
        }
        request
            .update_expression(format!("REMOVE {}", names.join(", ")))
            .send()
            .await
            .map_err(|e| internal("pruning connections", e))?;
        Ok(())
    }
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn put_connection(&self, connection: &Connection) -> PortResult<usize> {
        let entry = Entry {
            device_id: connection.device_id.clone(),
            connected_at: connection.connected_at,
            expires_at: connection.expires_at,
        };
        let value = serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(&entry)
            .map_err(|e| chat_domain::ChatError::internal("encode connection entry", e))?;
        // The same connection id again overwrites, as the port asks. ALL_NEW costs no more
        // than NONE and shows the whole set, so that the stale entries can go.
        let written = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(users::key(&connection.user_id)))
            .update_expression("SET #c = :entry")
            .expression_attribute_names("#c", attribute(&connection.connection_id))
            .expression_attribute_values(":entry", value)
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| internal("put_connection", e))?;
        let mut all = entries(&connection.user_id, &written.attributes.unwrap_or_default());
        all.sort_by_key(|c| std::cmp::Reverse(c.connected_at));
        let at = connection.connected_at;
        let (fresh, expired): (Vec<&Connection>, Vec<&Connection>) =
            all.iter().partition(|c| c.expires_at > at);
        let mut stale = expired;
        stale.extend(fresh.iter().skip(MAX_PER_USER).copied());
        if !stale.is_empty() {
            self.prune(&connection.user_id, &stale).await?;
        }
        Ok(fresh
            .iter()
            .take(MAX_PER_USER)
            .filter(|c| c.connection_id != connection.connection_id)
            .count())
    }

    async fn remove_connection(
        &self,
        user: &UserId,
        id: &ConnectionId,
        now: Millis,
    ) -> PortResult<usize> {
        // Only an existing item: an UpdateItem would otherwise create an empty user.
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(users::key(user)))
            .update_expression("REMOVE #c")
            .condition_expression("attribute_exists(#user)")
            .expression_attribute_names("#c", attribute(id))
            .expression_attribute_names("#user", users::HASH)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                Ok(live(entries(user, &output.attributes.unwrap_or_default()), now).len())
            }
            Err(err) if is_condition_failed(&err) => Ok(0),
            Err(err) => Err(internal("remove_connection", err)),
        }
    }

    async fn connections_of(&self, user: &UserId, now: Millis) -> PortResult<Vec<Connection>> {
        let found = self
            .client
            .get_item()
            .table_name(&self.tables.users)
            .set_key(Some(users::key(user)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| internal("connections_of", e))?;
        Ok(found
            .item
            .map(|item| live(entries(user, &item), now))
            .unwrap_or_default())
    }

    async fn connections_of_users(
        &self,
        users: &[UserId],
        now: Millis,
    ) -> PortResult<Vec<Connection>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        // Eventually consistent, at half the price: a device that connected within the last
        // moment may miss a push, and it catches up with `sync` as every device does on connect.
        let keys = users.iter().map(users::key).collect();
        let items = self
            .batch_get("connections_of_users", &self.tables.users, keys, false)
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| Some(live(entries(&owner(item)?, item), now)))
            .flatten()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::codec::s;

    #[test]
    fn entries_are_the_prefixed_attributes_only() {
        let user = UserId::parse("alice").expect("user");
        let entry = Entry {
            device_id: DeviceId::parse("phone").expect("device"),
            connected_at: Millis(1),
            expires_at: Millis(10),
        };
        let value = serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(&entry).expect("encode");
        let item = Item::from([
            ("user_id".to_string(), s("alice")),
            ("display_name".to_string(), s("Alice")),
            ("c#L0SM9cOFvHcCIhw=".to_string(), value),
        ]);
        let found = entries(&user, &item);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].connection_id.as_str(), "L0SM9cOFvHcCIhw=");
        assert_eq!(owner(&item), Some(user));
        assert!(live(found, Millis(10)).is_empty());
    }
}
