//! `DeviceStore` on the users table: a user's devices registered for push are attributes of
//! their user item, one `d#<device_id>` map each (`platform`, `address`), as their live
//! connections are (`connections.rs`).
//!
//! One item per user is what lets the stream consumer find the phones of a page of 100 members,
//! and whether each wants previews (`push_previews`, on the same item), with one `BatchGetItem`.
//! Every change is one `UpdateItem` on one attribute, so registrations of a user's devices
//! never undo each other, nor the profile and connections beside them.
//!
//! A user keeps at most [`MAX_DEVICES_PER_USER`] devices: every write of the user item (a
//! connect, last seen) pays for its whole size, so it must stay small. A registration beyond
//! the bound is taken back by a second write and answered `Conflict`; replacing a registered
//! device is always allowed. Devices of uninstalled apps leave when a push finds their endpoint
//! disabled (the caller removes them).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chat_domain::{ChatError, DeviceId, UserId};
use chat_ports::{DeviceStore, Platform, PortResult, PushEndpoint, PushTarget};
use serde::{Deserialize, Serialize};

use super::DynamoStore;
use super::codec::{Item, is_condition_failed, s};
use super::users;
use crate::errors::internal;

/// The attribute name of a device is this and its id.
const PREFIX: &str = "d#";

/// The most devices one user may have registered for push (the embedded store's bound too).
pub(crate) const MAX_DEVICES_PER_USER: usize = 10;

/// The profile attribute saying whether notifications show message text.
const PUSH_PREVIEWS: &str = "push_previews";

/// One device as its user item holds it.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    platform: Platform,
    address: String,
}

fn attribute(device: &DeviceId) -> String {
    format!("{PREFIX}{device}")
}

/// The devices of one user item, in device-id order.
fn entries(user: &UserId, item: &Item) -> Vec<PushEndpoint> {
    let mut found: Vec<PushEndpoint> = item
        .iter()
        .filter_map(|(name, value)| {
            let device = DeviceId::parse(name.strip_prefix(PREFIX)?).ok()?;
            match serde_dynamo::aws_sdk_dynamodb_1::from_attribute_value::<Entry>(value.clone())
            {
                Ok(entry) => Some(PushEndpoint {
                    user_id: user.clone(),
                    device_id: device,
                    platform: entry.platform,
                    address: entry.address,
                }),
                Err(err) => {
                    tracing::warn!(%user, attribute = %name, error = %err, "an unreadable device entry");
                    None
                }
            }
        })
        .collect();
    found.sort_by(|a, b| a.device_id.cmp(&b.device_id));
    found
}

fn device_count(item: &Item) -> usize {
    item.keys().filter(|name| name.starts_with(PREFIX)).count()
}

/// The user id of a user item.
fn owner(item: &Item) -> Option<UserId> {
    match item.get(users::HASH) {
        Some(AttributeValue::S(id)) => UserId::parse(id).ok(),
        _ => None,
    }
}

/// `push_previews` of a user item: on unless the user turned it off.
fn previews(item: &Item) -> bool {
    !matches!(item.get(PUSH_PREVIEWS), Some(AttributeValue::Bool(false)))
}

fn too_many_devices(user: &UserId) -> ChatError {
    ChatError::conflict(format!(
        "{user} has {MAX_DEVICES_PER_USER} devices registered for push already; \
         unregister one first"
    ))
}

impl DynamoStore {
    /// Takes back a registration `put_device` just made beyond the bound, unless it was
    /// replaced meanwhile.
    async fn take_back(&self, endpoint: &PushEndpoint) -> PortResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(users::key(&endpoint.user_id)))
            .update_expression("REMOVE #d")
            .condition_expression("#d.#address = :address")
            .expression_attribute_names("#d", attribute(&endpoint.device_id))
            .expression_attribute_names("#address", "address")
            .expression_attribute_values(":address", s(&endpoint.address))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Ok(()),
            Err(err) => Err(internal("put_device: taking back a device too many", err)),
        }
    }
}

#[async_trait]
impl DeviceStore for DynamoStore {
    async fn put_device(&self, endpoint: &PushEndpoint) -> PortResult<()> {
        let entry = Entry {
            platform: endpoint.platform,
            address: endpoint.address.clone(),
        };
        let value = serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(&entry)
            .map_err(|e| ChatError::internal("encode device entry", e))?;
        // ALL_OLD costs no more than NONE: it tells whether the device is new, and how many
        // the user had before (DynamoDB applies writes to one item one at a time, so of two
        // racing registrations the second sees the first).
        let written = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(users::key(&endpoint.user_id)))
            .update_expression("SET #d = :entry")
            .expression_attribute_names("#d", attribute(&endpoint.device_id))
            .expression_attribute_values(":entry", value)
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| internal("put_device", e))?;
        let before = written.attributes.unwrap_or_default();
        let new = !before.contains_key(&attribute(&endpoint.device_id));
        if new && device_count(&before) >= MAX_DEVICES_PER_USER {
            self.take_back(endpoint).await?;
            return Err(too_many_devices(&endpoint.user_id));
        }
        Ok(())
    }

    async fn remove_device(&self, user: &UserId, device: &DeviceId) -> PortResult<bool> {
        // Only an existing item: an UpdateItem would otherwise create an empty user.
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(users::key(user)))
            .update_expression("REMOVE #d")
            .condition_expression("attribute_exists(#user)")
            .expression_attribute_names("#d", attribute(device))
            .expression_attribute_names("#user", users::HASH)
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output
                .attributes
                .is_some_and(|old| old.contains_key(&attribute(device)))),
            Err(err) if is_condition_failed(&err) => Ok(false),
            Err(err) => Err(internal("remove_device", err)),
        }
    }

    async fn devices_of(&self, user: &UserId) -> PortResult<Vec<PushEndpoint>> {
        let found = self
            .client
            .get_item()
            .table_name(&self.tables.users)
            .set_key(Some(users::key(user)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| internal("devices_of", e))?;
        Ok(found
            .item
            .map(|item| entries(user, &item))
            .unwrap_or_default())
    }

    async fn push_targets(&self, users: &[UserId]) -> PortResult<Vec<PushTarget>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        // Eventually consistent, at half the price, as `connections_of_users`: a device
        // registered within the last moment may miss one notification.
        let keys = users.iter().map(users::key).collect();
        let items = self
            .batch_get("push_targets", &self.tables.users, keys, false)
            .await?;
        let mut targets: Vec<PushTarget> = items
            .iter()
            .filter_map(|item| {
                let user = owner(item)?;
                let endpoints = entries(&user, item);
                (!endpoints.is_empty()).then(|| PushTarget {
                    user_id: user,
                    previews: previews(item),
                    endpoints,
                })
            })
            .collect();
        targets.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        Ok(targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_the_prefixed_attributes_only() {
        let user = UserId::parse("alice").expect("user");
        let entry = Entry {
            platform: Platform::Apns,
            address: "arn:aws:sns:us-east-1:1:endpoint/APNS/app/1".into(),
        };
        let value = serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(&entry).expect("encode");
        let mut item = Item::from([
            ("user_id".to_string(), s("alice")),
            ("c#L0SM9cOFvHcCIhw=".to_string(), s("a connection")),
            ("d#phone".to_string(), value),
        ]);
        let found = entries(&user, &item);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].device_id.as_str(), "phone");
        assert_eq!(found[0].platform, Platform::Apns);
        assert_eq!(device_count(&item), 1);
        assert_eq!(owner(&item), Some(user));
        assert!(previews(&item), "absent: on");
        item.insert(PUSH_PREVIEWS.into(), AttributeValue::Bool(false));
        assert!(!previews(&item));
    }
}
