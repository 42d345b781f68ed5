//! `UserStore` on the users table: one item per user, keyed `user_id`. The same item holds the
//! user's live connections (`connections.rs`), which the profile reads ignore.
//!
//! The two writes are `UpdateItem`s on disjoint attributes, so neither can undo the other:
//! `put_profile` sets only the profile fields, `touch_last_seen` only `last_seen_at`, and only
//! forward (a condition, so two racing touches cannot move it back). Both create the item when
//! it is missing; an item made by a touch alone reads back with the default profile fields.

use async_trait::async_trait;
use chat_domain::{Millis, UserId};
use chat_ports::{LastSeenVisibility, PortResult, UserProfile, UserStore};
use serde::{Deserialize, Serialize};

use super::DynamoStore;
use super::codec::{Item, from_item, from_items, is_condition_failed, n, s, to_value};
use crate::errors::internal;

/// Partition key: the user.
pub(crate) const HASH: &str = "user_id";

/// The stored form of a [`UserProfile`]. Every field but the key may be absent: a user first
/// seen through `touch_last_seen` has no profile fields yet.
#[derive(Debug, Serialize, Deserialize)]
struct UserItem {
    user_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    #[serde(default)]
    last_seen_visibility: LastSeenVisibility,
    #[serde(default = "previews_on")]
    push_previews: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_seen_at: Option<Millis>,
}

/// A user who never said otherwise sees message text in their notifications.
fn previews_on() -> bool {
    true
}

/// The attribute `touch_last_seen` moved, as `UPDATED_OLD` returns it.
#[derive(Debug, Deserialize)]
struct Seen {
    #[serde(default)]
    last_seen_at: Option<Millis>,
}

impl From<UserItem> for UserProfile {
    fn from(item: UserItem) -> Self {
        UserProfile {
            user_id: item.user_id,
            display_name: item.display_name,
            last_seen_visibility: item.last_seen_visibility,
            push_previews: item.push_previews,
            last_seen_at: item.last_seen_at,
        }
    }
}

pub(crate) fn key(user: &UserId) -> Item {
    Item::from([(HASH.to_string(), s(user))])
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn user(&self, user: &UserId) -> PortResult<Option<UserProfile>> {
        let found = self
            .client
            .get_item()
            .table_name(&self.tables.users)
            .set_key(Some(key(user)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| internal("user", e))?;
        found
            .item
            .map(|item| from_item::<UserItem>("user", item).map(UserProfile::from))
            .transpose()
    }

    async fn users(&self, users: &[UserId]) -> PortResult<Vec<UserProfile>> {
        let keys = users.iter().map(key).collect();
        let items = self
            .batch_get("users", &self.tables.users, keys, true)
            .await?;
        let found: Vec<UserItem> = from_items("user", items)?;
        Ok(found.into_iter().map(UserProfile::from).collect())
    }

    async fn put_profile(&self, profile: &UserProfile) -> PortResult<()> {
        // Through serde, so that the spelling is the one `UserItem` reads back.
        let visibility = to_value("last_seen_visibility", &profile.last_seen_visibility)?;
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(key(&profile.user_id)))
            .expression_attribute_names("#visibility", "last_seen_visibility")
            .expression_attribute_names("#name", "display_name")
            .expression_attribute_names("#previews", "push_previews")
            .expression_attribute_values(":visibility", visibility)
            .expression_attribute_values(
                ":previews",
                aws_sdk_dynamodb::types::AttributeValue::Bool(profile.push_previews),
            );
        // An absent display name is removed, not stored as NULL: "replaces the profile fields".
        request = match &profile.display_name {
            Some(name) => request
                .update_expression(
                    "SET #visibility = :visibility, #previews = :previews, #name = :name",
                )
                .expression_attribute_values(":name", s(name)),
            None => request.update_expression(
                "SET #visibility = :visibility, #previews = :previews REMOVE #name",
            ),
        };
        request
            .send()
            .await
            .map_err(|e| internal("put_profile", e))?;
        Ok(())
    }

    async fn touch_last_seen(&self, user: &UserId, at: Millis) -> PortResult<Option<Millis>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(key(user)))
            .update_expression("SET #seen = :at")
            .condition_expression("attribute_not_exists(#seen) OR #seen < :at")
            .expression_attribute_names("#seen", "last_seen_at")
            .expression_attribute_values(":at", n(at.as_i64()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let before: Option<Seen> = output
                    .attributes
                    .filter(|old| !old.is_empty())
                    .map(|old| from_item("last seen", old))
                    .transpose()?;
                Ok(before.and_then(|seen| seen.last_seen_at))
            }
            // Already seen at or after `at`: nothing to do, by design.
            Err(err) if is_condition_failed(&err) => Ok(None),
            Err(err) => Err(internal("touch_last_seen", err)),
        }
    }
}
