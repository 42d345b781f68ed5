//! User profiles and last-seen.

use async_trait::async_trait;
use chat_domain::{Millis, UserId};
use serde::{Deserialize, Serialize};

use crate::PortResult;

/// Who may see a user's `last_seen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LastSeenVisibility {
    #[default]
    Everyone,
    Contacts,
    Nobody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub user_id: UserId,
    pub display_name: Option<String>,
    pub last_seen_visibility: LastSeenVisibility,
    pub last_seen_at: Option<Millis>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn user(&self, user: &UserId) -> PortResult<Option<UserProfile>>;

    /// Creates or replaces the profile fields (display name, visibility); keeps `last_seen_at`.
    async fn put_profile(&self, profile: &UserProfile) -> PortResult<()>;

    /// Records activity; creates the user if unknown. Never moves `last_seen_at` back.
    async fn touch_last_seen(&self, user: &UserId, at: Millis) -> PortResult<()>;
}
