//! The `PushNotifier` over SNS mobile push: one platform endpoint per device token, under the
//! platform application (FCM, APNs) that holds the provider credentials.
//!
//! `register` follows the procedure AWS recommends for keeping endpoints usable ("Creating a
//! platform endpoint" in the SNS guide): `CreatePlatformEndpoint` alone is not enough, because
//! it hands back an existing endpoint as it is, disabled if SNS disabled it (an app uninstalled
//! and reinstalled keeps its token), and refuses outright when an endpoint with the same token
//! but other attributes exists (here: another user or device in `CustomUserData`), naming that
//! endpoint only in its error message. So:
//!
//! 1. `CreatePlatformEndpoint`; on "Endpoint ARN already exists with the same Token, but
//!    different attributes", take the ARN from the message;
//! 2. `GetEndpointAttributes`; when the token, `Enabled=true` or our `CustomUserData` is not
//!    what it should be, `SetEndpointAttributes` to put all three right;
//! 3. if the endpoint was deleted between the two (`NotFound`), start again once.
//!
//! A token that moves to another user keeps its endpoint ARN: the caller must forget the
//! previous owner's registration of the same address. Step 2 reads whose it was from the
//! endpoint's `CustomUserData` (`{user}/{device}`, written by step 2 of an earlier `register`),
//! and `register` answers it as [`Registration::previous_owner`] when it names another user or
//! device than the caller; a new endpoint, one without our note, or one whose note does not
//! parse has none.
//!
//! `unregister` is `DeleteEndpoint`, which SNS answers with success for an endpoint that does
//! not exist; a `NotFound` (which SNS does not send today) is taken as success too.
//!
//! `notify` publishes one message for all platforms, with SNS's reserved mobile message
//! attributes for the collapse id, TTLs and APNs headers (see [`payload`]). A disabled endpoint
//! (`EndpointDisabled`: SNS heard from the provider that the token is dead) is an answer,
//! [`NotifyOutcome::EndpointDisabled`], and so is a deleted one (`NotFound`): either way
//! nothing will ever arrive there, and the caller drops it. Throttling and transient faults
//! are retried by the SDK's standard retry policy; anything else is `ChatError::Internal`.

mod owner;
mod payload;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::operation::create_platform_endpoint::CreatePlatformEndpointError;
use aws_sdk_sns::operation::get_endpoint_attributes::GetEndpointAttributesError;
use aws_sdk_sns::operation::publish::PublishError;
use aws_sdk_sns::operation::set_endpoint_attributes::SetEndpointAttributesError;
use aws_sdk_sns::types::MessageAttributeValue;
use chat_domain::{ChatError, DeviceId, UserId};
use chat_ports::{
    Notification, NotifyOutcome, Platform, PortResult, PushEndpoint, PushNotifier, Registration,
};

use crate::errors::internal;

/// Endpoint attribute: the provider's device token.
const TOKEN: &str = "Token";
/// Endpoint attribute: whether SNS delivers to the endpoint (`"true"` / `"false"`).
const ENABLED: &str = "Enabled";
/// Endpoint attribute: our note of whose device this is (SNS does not read it).
const CUSTOM_USER_DATA: &str = "CustomUserData";

/// The SNS platform application ARNs, one per push platform the deployment has credentials
/// for. A platform left `None` cannot register devices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformApps {
    /// A `GCM` platform application (Firebase Cloud Messaging, HTTP v1 credentials).
    pub fcm: Option<String>,
    /// An `APNS` or `APNS_SANDBOX` platform application.
    pub apns: Option<String>,
}

/// Registers devices and sends notifications through SNS platform endpoints.
#[derive(Debug, Clone)]
pub struct SnsPushNotifier {
    client: Client,
    apps: PlatformApps,
}

impl SnsPushNotifier {
    /// A notifier over `client` (build it once per process) and the applications in `apps`.
    pub fn new(client: Client, apps: PlatformApps) -> SnsPushNotifier {
        SnsPushNotifier { client, apps }
    }

    /// The platform application for `platform`, or `bad_request` when there is none: the
    /// device asked for a platform this deployment does not serve.
    fn application(&self, platform: Platform) -> PortResult<&str> {
        let arn = match platform {
            Platform::Fcm => self.apps.fcm.as_deref(),
            Platform::Apns => self.apps.apns.as_deref(),
        };
        arn.ok_or_else(|| {
            ChatError::bad_request(format!(
                "push notifications for {} are not configured",
                platform.as_str()
            ))
        })
    }

    /// Step 1: the endpoint for `token`, new or existing.
    async fn create_endpoint(&self, app: &str, token: &str, user_data: &str) -> PortResult<String> {
        let created = self
            .client
            .create_platform_endpoint()
            .platform_application_arn(app)
            .token(token)
            .custom_user_data(user_data)
            .send()
            .await;
        match created {
            Ok(out) => out
                .endpoint_arn()
                .map(str::to_string)
                .ok_or_else(|| ChatError::Internal {
                    context: "create_platform_endpoint: no EndpointArn in the answer".into(),
                    cause: None,
                }),
            Err(err) => {
                let existing = match err.as_service_error() {
                    Some(CreatePlatformEndpointError::InvalidParameterException(e)) => {
                        e.message().and_then(existing_endpoint)
                    }
                    _ => None,
                };
                existing.ok_or_else(|| internal("create_platform_endpoint", err))
            }
        }
    }

    /// Step 2: makes the endpoint hold `token`, enabled, with `user_data`. `None` when the
    /// endpoint does not exist (any more); else the `CustomUserData` it held before.
    async fn make_current(
        &self,
        arn: &str,
        token: &str,
        user_data: &str,
    ) -> PortResult<Option<Previous>> {
        let read = self
            .client
            .get_endpoint_attributes()
            .endpoint_arn(arn)
            .send()
            .await;
        let attributes = match read {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(GetEndpointAttributesError::NotFoundException(_))
                ) =>
            {
                return Ok(None);
            }
            Err(err) => return Err(internal(format!("get_endpoint_attributes {arn}"), err)),
        };
        let previous = Previous {
            user_data: attributes.get(CUSTOM_USER_DATA).cloned(),
        };
        if is_current(&attributes, token, user_data) {
            return Ok(Some(previous));
        }
        let written = self
            .client
            .set_endpoint_attributes()
            .endpoint_arn(arn)
            .attributes(TOKEN, token)
            .attributes(ENABLED, "true")
            .attributes(CUSTOM_USER_DATA, user_data)
            .send()
            .await;
        match written {
            Ok(_) => Ok(Some(previous)),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(SetEndpointAttributesError::NotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(err) => Err(internal(format!("set_endpoint_attributes {arn}"), err)),
        }
    }
}

/// What an existing endpoint held before step 2 made it ours.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Previous {
    /// Its `CustomUserData`, if it had any.
    user_data: Option<String>,
}

/// Whether the endpoint already holds `token`, enabled, with `user_data`.
fn is_current(attributes: &HashMap<String, String>, token: &str, user_data: &str) -> bool {
    let get = |name: &str| attributes.get(name).map(String::as_str);
    get(TOKEN) == Some(token)
        && get(ENABLED).is_some_and(|enabled| enabled.eq_ignore_ascii_case("true"))
        && get(CUSTOM_USER_DATA) == Some(user_data)
}

/// The endpoint ARN named by CreatePlatformEndpoint's refusal "Invalid parameter: Token
/// Reason: Endpoint {arn} already exists with the same Token, but different attributes."
/// The ARN is the word after "Endpoint "; anything else is not this refusal.
fn existing_endpoint(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    if !lower.contains("already exists with the same token") {
        return None;
    }
    let (_, after) = message.split_once("Endpoint ")?;
    let arn = after.split_whitespace().next()?;
    arn.starts_with("arn:").then(|| arn.to_string())
}

#[async_trait]
impl PushNotifier for SnsPushNotifier {
    async fn register(
        &self,
        user: &UserId,
        device: &DeviceId,
        platform: Platform,
        token: &str,
    ) -> PortResult<Registration> {
        let app = self.application(platform)?;
        let user_data = owner::custom_user_data(user, device);
        // Two rounds: the endpoint may be deleted between creating and checking it.
        for _ in 0..2 {
            let arn = self.create_endpoint(app, token, &user_data).await?;
            if let Some(previous) = self.make_current(&arn, token, &user_data).await? {
                return Ok(Registration {
                    endpoint: PushEndpoint {
                        user_id: user.clone(),
                        device_id: device.clone(),
                        platform,
                        address: arn,
                    },
                    previous_owner: owner::previous_owner(
                        previous.user_data.as_deref(),
                        user,
                        device,
                    ),
                });
            }
            tracing::debug!(%arn, "platform endpoint deleted while registering; creating it again");
        }
        Err(ChatError::Internal {
            context: format!("register {user}/{device}: the endpoint vanished twice"),
            cause: None,
        })
    }

    async fn unregister(&self, endpoint: &PushEndpoint) -> PortResult<()> {
        let deleted = self
            .client
            .delete_endpoint()
            .endpoint_arn(&endpoint.address)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Not in the operation's error list (SNS answers success for a missing endpoint),
            // but what every other endpoint operation says for one: the same outcome.
            Err(err) if err.as_service_error().and_then(|e| e.code()) == Some("NotFound") => Ok(()),
            Err(err) => Err(internal(
                format!("delete_endpoint {}", endpoint.address),
                err,
            )),
        }
    }

    async fn notify(
        &self,
        endpoint: &PushEndpoint,
        notification: &Notification,
    ) -> PortResult<NotifyOutcome> {
        let payload = payload::publish_payload(notification)?;
        let mut publish = self
            .client
            .publish()
            .target_arn(&endpoint.address)
            .message_structure("json")
            .message(payload.message);
        for (name, value) in payload.attributes {
            publish = publish.message_attributes(name, string_attribute(value)?);
        }
        let published = publish.send().await;
        match published {
            Ok(_) => Ok(NotifyOutcome::Sent),
            Err(err) => match err.as_service_error() {
                Some(
                    PublishError::EndpointDisabledException(_) | PublishError::NotFoundException(_),
                ) => Ok(NotifyOutcome::EndpointDisabled),
                _ => Err(internal(format!("publish to {}", endpoint.address), err)),
            },
        }
    }
}

/// A message attribute of data type `String`.
fn string_attribute(value: String) -> PortResult<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| internal("message attribute", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_existing_endpoint_is_read_out_of_the_refusal() {
        let arn = "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/chat/5e3c1b2a";
        let message = format!(
            "Invalid parameter: Token Reason: Endpoint {arn} already exists with the same Token, but different attributes."
        );
        assert_eq!(existing_endpoint(&message).as_deref(), Some(arn));
        // Older wording, lower-case "token".
        let older = format!("Endpoint {arn} already exists with the same token");
        assert_eq!(existing_endpoint(&older).as_deref(), Some(arn));
    }

    #[test]
    fn other_invalid_parameters_name_no_endpoint() {
        for message in [
            "Invalid parameter: Token Reason: iOS device tokens must be no more than 400 hexadecimal characters",
            "Endpoint already exists with the same Token",
            "Invalid parameter: PlatformApplicationArn",
        ] {
            assert_eq!(existing_endpoint(message), None, "{message}");
        }
    }

    #[test]
    fn an_endpoint_is_current_only_with_our_token_enabled_and_user_data() {
        let attributes = |token: &str, enabled: &str, data: &str| {
            HashMap::from([
                (TOKEN.to_string(), token.to_string()),
                (ENABLED.to_string(), enabled.to_string()),
                (CUSTOM_USER_DATA.to_string(), data.to_string()),
            ])
        };
        assert!(is_current(&attributes("t", "true", "u/d"), "t", "u/d"));
        assert!(is_current(&attributes("t", "True", "u/d"), "t", "u/d"));
        assert!(!is_current(&attributes("t", "false", "u/d"), "t", "u/d"));
        assert!(!is_current(&attributes("old", "true", "u/d"), "t", "u/d"));
        assert!(!is_current(&attributes("t", "true", "v/d"), "t", "u/d"));
        assert!(!is_current(&HashMap::new(), "t", "u/d"));
    }
}
