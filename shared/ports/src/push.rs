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
    ) -> PortResult<PushEndpoint>;

    async fn notify(
        &self,
        endpoint: &PushEndpoint,
        notification: &Notification,
    ) -> PortResult<NotifyOutcome>;
}
