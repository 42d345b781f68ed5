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
use super::codec::{Item, from_item, is_condition_failed, n, s, to_value};
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_seen_at: Option<Millis>,
}

impl From<UserItem> for UserProfile {
    fn from(item: UserItem) -> Self {
        UserProfile {
            user_id: item.user_id,
            display_name: item.display_name,
            last_seen_visibility: item.last_seen_visibility,
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
            .expression_attribute_values(":visibility", visibility);
        // An absent display name is removed, not stored as NULL: "replaces the profile fields".
        request = match &profile.display_name {
            Some(name) => request
                .update_expression("SET #visibility = :visibility, #name = :name")
                .expression_attribute_values(":name", s(name)),
            None => request.update_expression("SET #visibility = :visibility REMOVE #name"),
        };
        request
            .send()
            .await
            .map_err(|e| internal("put_profile", e))?;
        Ok(())
    }

    async fn touch_last_seen(&self, user: &UserId, at: Millis) -> PortResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(key(user)))
            .update_expression("SET #seen = :at")
            .condition_expression("attribute_not_exists(#seen) OR #seen < :at")
            .expression_attribute_names("#seen", "last_seen_at")
            .expression_attribute_values(":at", n(at.as_i64()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already seen at or after `at`: nothing to do, by design.
            Err(err) if is_condition_failed(&err) => Ok(()),
            Err(err) => Err(internal("touch_last_seen", err)),
        }
    }
}
