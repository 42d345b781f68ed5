//! User profiles and last-seen.

use async_trait::async_trait;
use chat_domain::{Millis, UserId};
use serde::{Deserialize, Serialize};

use crate::PortResult;

/// Who may see a user's `last_seen` (and `online`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LastSeenVisibility {
    #[default]
    Everyone,
    /// Users who share a conversation with them.
    Contacts,
    Nobody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub user_id: UserId,
    pub display_name: Option<String>,
    pub last_seen_visibility: LastSeenVisibility,
    /// Whether push notifications may show a message's text (else "New message").
    pub push_previews: bool,
    pub last_seen_at: Option<Millis>,
}

impl UserProfile {
    /// The profile of a user nobody has set anything for yet.
    pub fn new(user_id: UserId) -> UserProfile {
        UserProfile {
            user_id,
            display_name: None,
            last_seen_visibility: LastSeenVisibility::default(),
            push_previews: true,
            last_seen_at: None,
        }
    }
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn user(&self, user: &UserId) -> PortResult<Option<UserProfile>>;

    /// The profiles of up to 100 users, in one store request; unknown users are left out.
    async fn users(&self, users: &[UserId]) -> PortResult<Vec<UserProfile>>;

    /// Creates or replaces the profile fields (display name, visibility, previews); keeps
    /// `last_seen_at`.
    async fn put_profile(&self, profile: &UserProfile) -> PortResult<()>;

    /// Records activity at `at`; creates the user if unknown. Never moves `last_seen_at` back.
    /// Answers what it was before when this moved it (`None`: never seen, or not moved).
    async fn touch_last_seen(&self, user: &UserId, at: Millis) -> PortResult<Option<Millis>>;
}
