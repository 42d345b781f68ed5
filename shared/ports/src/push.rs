//! Push notifications to offline devices (SNS platform endpoints on AWS).

use async_trait::async_trait;
use chat_domain::{DeviceId, UserId};
use serde::{Deserialize, Serialize};

use crate::PortResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Fcm,
    Apns,
}

impl Platform {
    /// The wire and storage name (`fcm`, `apns`), as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Fcm => "fcm",
            Platform::Apns => "apns",
        }
    }

    /// The platform a stored name names, if any.
    pub fn parse(raw: &str) -> Option<Platform> {
        match raw {
            "fcm" => Some(Platform::Fcm),
            "apns" => Some(Platform::Apns),
            _ => None,
        }
    }
}

/// A device registered for push: where a notification goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEndpoint {
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub platform: Platform,
    /// The provider's address for the device (an SNS endpoint ARN on AWS).
    pub address: String,
}

/// What a notification says. Never the message body in full: a title and a short text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub text: String,
    pub conversation_id: String,
    pub seq: u64,
    /// The recipient's unread messages over all conversations (the app icon's badge).
    pub badge: u64,
    /// Notifications with the same key replace each other on the device (APNs collapse id,
    /// FCM `collapse_key`): one per conversation.
    pub collapse_key: String,
    /// How long the provider keeps trying an unreachable device, in seconds.
    pub ttl_secs: u32,
}

/// A device registered with the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub endpoint: PushEndpoint,
    /// Whose device the provider's endpoint was registered for before, when that was another
    /// user's or device's (the same phone signed in to another account): the caller forgets
    /// that registration, or the other user would get this phone's notifications.
    pub previous_owner: Option<(UserId, DeviceId)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyOutcome {
    Sent,
    /// The provider disabled the endpoint (uninstalled app, expired token): drop it.
    EndpointDisabled,
}

#[async_trait]
pub trait PushNotifier: Send + Sync {
    /// Registers a device's platform token (idempotent for the same token).
    async fn register(
        &self,
        user: &UserId,
        device: &DeviceId,
        platform: Platform,
        token: &str,
    ) -> PortResult<Registration>;

    /// Removes the device's endpoint at the provider; an unknown one is not an error.
    async fn unregister(&self, endpoint: &PushEndpoint) -> PortResult<()>;

    async fn notify(
        &self,
        endpoint: &PushEndpoint,
        notification: &Notification,
    ) -> PortResult<NotifyOutcome>;
}
