//! The one `Publish` for a [`Notification`], built for every platform at once
//! (`MessageStructure=json`): SNS delivers to each endpoint the entry of its own platform, so
//! the notifier needs to know no endpoint's platform to notify it. What a provider reads from
//! a header rather than from the payload travels as one of SNS's reserved message attributes,
//! which SNS turns into that header for the platforms they name and ignores for the others.
//!
//! The message (each entry itself a JSON document carried as a string, as the Publish API
//! wants):
//!
//! - `GCM` (Firebase Cloud Messaging) in the FCM HTTP v1 form, under `fcmV1Message`. SNS's
//!   guide to platform-specific payloads shows only this form for FCM today, its FCM v1 page
//!   says to use it for new FCM applications, and SNS asked for FCM applications to move to
//!   the v1 API by June 2024 (Google has since retired the legacy API whose payload the classic
//!   `{"notification": .., "data": ..}` form is). The v1 form also says exactly what FCM
//!   receives: a `notification` the system shows, and `data` the app reads, whose values FCM
//!   v1 requires to be strings (hence `seq` as text). Per platform, in FCM v1's own fields:
//!   `android.collapse_key` (FCM keeps only the newest undelivered message of a key; FCM keeps
//!   at most four keys per device, so past four busy conversations older ones may collapse
//!   anyway), `android.ttl` (a protobuf Duration, `"{n}s"`), `android.priority` `high` (a
//!   message the user sees), `android.notification.tag` (a shown notification with the same tag
//!   is replaced: what makes the collapse visible on the device) and `notification_count` (the
//!   launcher badge). An FCM token of an iOS app is reached through `apns`: `headers`
//!   (`apns-collapse-id`, `apns-push-type: alert`, `apns-priority: 10`) and `payload.aps`
//!   (`badge`, `sound`, `thread-id`). FCM's APNs expiry header takes an absolute time, which
//!   this pure function does not have; such a device gets FCM's default lifetime.
//! - `APNS` and `APNS_SANDBOX`, the same payload under both names: SNS picks by the platform
//!   application of the endpoint, production or sandbox. `aps.alert` is what iOS shows,
//!   `badge` the app icon's count, `sound` the default sound, `thread-id` groups a
//!   conversation's notifications; our keys sit beside `aps`.
//! - `default`, which the Publish API requires whenever `MessageStructure` is `json`, and
//!   which SNS uses for a platform without an entry of its own.
//!
//! The message attributes (all of data type `String`):
//!
//! - `AWS.SNS.MOBILE.APNS.COLLAPSE_ID` (the `apns-collapse-id` header; APNs takes at most 64
//!   bytes, so a longer key is replaced by its SHA-256 in hex, exactly 64),
//!   `AWS.SNS.MOBILE.APNS.PUSH_TYPE` `alert` (required by iOS 13+; SNS infers it for alerts,
//!   we say it), `AWS.SNS.MOBILE.APNS.PRIORITY` `10` (deliver now: a user-visible alert).
//! - TTL: `AWS.SNS.MOBILE.APNS.TTL`, `AWS.SNS.MOBILE.APNS_SANDBOX.TTL` and
//!   `AWS.SNS.MOBILE.FCM.TTL` (FCM to Android), in seconds. SNS counts them from the publish,
//!   passes the provider what is left, and drops a message whose TTL ran out before hand-off. A
//!   TTL attribute takes precedence over one in the body, which SNS rewrites to match; ours
//!   agree anyway. `0` means "now or never" to both APNs and FCM.
//!
//! No collapse entries at all for an empty `collapse_key`: SNS refuses an empty attribute
//! value, and an empty key would collapse everything into one.
//!
//! Sources:
//! - <https://docs.aws.amazon.com/sns/latest/dg/sns-send-custom-platform-specific-payloads-mobile-devices.html>
//! - <https://docs.aws.amazon.com/sns/latest/dg/sns-fcm-v1-payloads.html>
//! - <https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html> ("Reserved
//!   message attributes for mobile push notifications")
//! - <https://docs.aws.amazon.com/sns/latest/dg/sns-ttl.html> (attribute names, precedence)
//! - <https://aws.amazon.com/blogs/messaging-and-targeting/sending-push-notifications-to-ios-13-devices-with-amazon-sns>
//!   (`AWS.SNS.MOBILE.APNS.PUSH_TYPE`)
//! - <https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages> (`android`,
//!   `apns`)
//! - <https://developer.apple.com/documentation/usernotifications/generating-a-remote-notification>
//!   and "Sending notification requests to APNs" (`aps` keys, `apns-collapse-id` ≤ 64 bytes)

use chat_domain::ChatError;
use chat_ports::{Notification, PortResult};
use serde_json::{Value, json};

/// `apns-collapse-id`'s limit.
const APNS_COLLAPSE_ID_MAX_BYTES: usize = 64;

/// Message attribute: the `apns-collapse-id` header.
pub(crate) const APNS_COLLAPSE_ID: &str = "AWS.SNS.MOBILE.APNS.COLLAPSE_ID";
/// Message attribute: the `apns-push-type` header.
pub(crate) const APNS_PUSH_TYPE: &str = "AWS.SNS.MOBILE.APNS.PUSH_TYPE";
/// Message attribute: the `apns-priority` header.
pub(crate) const APNS_PRIORITY: &str = "AWS.SNS.MOBILE.APNS.PRIORITY";
/// Message attribute: the TTL for production APNs applications, in seconds.
pub(crate) const APNS_TTL: &str = "AWS.SNS.MOBILE.APNS.TTL";
/// Message attribute: the TTL for sandbox APNs applications, in seconds.
pub(crate) const APNS_SANDBOX_TTL: &str = "AWS.SNS.MOBILE.APNS_SANDBOX.TTL";
/// Message attribute: the TTL for FCM (to Android), in seconds.
pub(crate) const FCM_TTL: &str = "AWS.SNS.MOBILE.FCM.TTL";

/// Everything of one `Publish` but the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PushPayload {
    /// The `Message`, for `MessageStructure=json`.
    pub(crate) message: String,
    /// `MessageAttributes`, each of data type `String`, by name.
    pub(crate) attributes: Vec<(&'static str, String)>,
}

/// The `Publish` for `notification`.
pub(crate) fn publish_payload(notification: &Notification) -> PortResult<PushPayload> {
    let collapse = Collapse::of(&notification.collapse_key);
    Ok(PushPayload {
        message: publish_message(notification, collapse.as_ref())?,
        attributes: attributes(notification, collapse.as_ref()),
    })
}

/// The collapse key as each provider takes it; none for an empty key.
struct Collapse<'a> {
    /// FCM's `collapse_key` and Android's notification `tag`: the key as it is.
    fcm: &'a str,
    /// `apns-collapse-id`: the key, or its SHA-256 in hex when longer than APNs allows.
    apns: String,
}

impl<'a> Collapse<'a> {
    fn of(key: &'a str) -> Option<Collapse<'a>> {
        if key.is_empty() {
            return None;
        }
        let apns = if key.len() <= APNS_COLLAPSE_ID_MAX_BYTES {
            key.to_string()
        } else {
            chat_domain::Sha256::of(key.as_bytes()).to_hex()
        };
        Some(Collapse { fcm: key, apns })
    }
}

fn publish_message(notification: &Notification, collapse: Option<&Collapse>) -> PortResult<String> {
    let message = json!({
        "default": notification.text,
        "GCM": encode(&fcm(notification, collapse))?,
        "APNS": encode(&apns(notification))?,
        "APNS_SANDBOX": encode(&apns(notification))?,
    });
    encode(&message)
}

/// The `GCM` entry: an FCM v1 message for Android and, through `apns`, for iOS.
fn fcm(notification: &Notification, collapse: Option<&Collapse>) -> Value {
    let ttl = format!("{}s", notification.ttl_secs);
    let mut android = json!({
        "priority": "high",
        "ttl": ttl,
        "notification": {
            "notification_count": badge(notification),
        },
    });
    let mut apns_headers = json!({
        "apns-push-type": "alert",
        "apns-priority": "10",
    });
    if let Some(collapse) = collapse {
        android["collapse_key"] = json!(collapse.fcm);
        android["notification"]["tag"] = json!(collapse.fcm);
        apns_headers["apns-collapse-id"] = json!(collapse.apns);
    }
    json!({
        "fcmV1Message": {
            "message": {
                "notification": {
                    "title": notification.title,
                    "body": notification.text,
                },
                "data": data(notification),
                "android": android,
                "apns": {
                    "headers": apns_headers,
                    "payload": {
                        "aps": {
                            "badge": badge(notification),
                            "sound": "default",
                            "thread-id": notification.conversation_id,
                        },
                    },
                },
            }
        }
    })
}

/// The `APNS` / `APNS_SANDBOX` entry.
fn apns(notification: &Notification) -> Value {
    json!({
        "aps": {
            "alert": {
                "title": notification.title,
                "body": notification.text,
            },
            "badge": badge(notification),
            "sound": "default",
            "thread-id": notification.conversation_id,
        },
        "conversation_id": notification.conversation_id,
        "seq": notification.seq,
    })
}

/// What the app reads from an FCM message: strings only.
fn data(notification: &Notification) -> Value {
    json!({
        "conversation_id": notification.conversation_id,
        "seq": notification.seq.to_string(),
    })
}

/// The badge as both providers can hold it: FCM's `notification_count` is an int32.
fn badge(notification: &Notification) -> u64 {
    notification.badge.min(i32::MAX.unsigned_abs().into())
}

/// The message attributes: APNs headers and the TTL for each provider.
fn attributes(
    notification: &Notification,
    collapse: Option<&Collapse>,
) -> Vec<(&'static str, String)> {
    let ttl = notification.ttl_secs.to_string();
    let mut attributes = vec![
        (APNS_PUSH_TYPE, "alert".to_string()),
        (APNS_PRIORITY, "10".to_string()),
        (APNS_TTL, ttl.clone()),
        (APNS_SANDBOX_TTL, ttl.clone()),
        (FCM_TTL, ttl),
    ];
    if let Some(collapse) = collapse {
        attributes.push((APNS_COLLAPSE_ID, collapse.apns.clone()));
    }
    attributes
}

fn encode(value: &Value) -> PortResult<String> {
    serde_json::to_string(value).map_err(|e| ChatError::internal("encode push payload", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification() -> Notification {
        Notification {
            title: "Alice".into(),
            text: "hi \"there\"".into(),
            conversation_id: "grp:club".into(),
            seq: 42,
            badge: 3,
            collapse_key: "grp:club".into(),
            ttl_secs: 3_600,
        }
    }

    /// The outer document of `notification`'s payload.
    fn message_of(notification: &Notification) -> Value {
        let payload = publish_payload(notification).expect("payload");
        serde_json::from_str(&payload.message).expect("JSON")
    }

    /// An entry of the outer document, parsed back from its string.
    fn entry(message: &Value, key: &str) -> Value {
        let raw = message[key].as_str().expect("entries are strings");
        serde_json::from_str(raw).expect("entries are JSON")
    }

    fn attribute<'a>(payload: &'a PushPayload, name: &str) -> Option<&'a str> {
        payload
            .attributes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn every_platform_gets_its_entry_and_there_is_a_default() {
        let message = message_of(&notification());
        assert_eq!(message["default"], "hi \"there\"");

        let fcm = entry(&message, "GCM");
        let inner = &fcm["fcmV1Message"]["message"];
        assert_eq!(inner["notification"]["title"], "Alice");
        assert_eq!(inner["notification"]["body"], "hi \"there\"");
        assert_eq!(inner["data"]["conversation_id"], "grp:club");
        // FCM v1 data values are strings.
        assert_eq!(inner["data"]["seq"], "42");

        for key in ["APNS", "APNS_SANDBOX"] {
            let apns = entry(&message, key);
            assert_eq!(apns["aps"]["alert"]["title"], "Alice");
            assert_eq!(apns["aps"]["alert"]["body"], "hi \"there\"");
            assert_eq!(apns["aps"]["thread-id"], "grp:club");
            assert_eq!(apns["conversation_id"], "grp:club");
            assert_eq!(apns["seq"], 42);
        }
    }

    #[test]
    fn the_badge_is_in_every_platform_entry() {
        let message = message_of(&notification());
        for key in ["APNS", "APNS_SANDBOX"] {
            let aps = &entry(&message, key)["aps"];
            assert_eq!(aps["badge"], 3);
            assert_eq!(aps["sound"], "default");
        }
        let fcm = entry(&message, "GCM");
        let inner = &fcm["fcmV1Message"]["message"];
        assert_eq!(inner["android"]["notification"]["notification_count"], 3);
        assert_eq!(inner["apns"]["payload"]["aps"]["badge"], 3);
        assert_eq!(inner["apns"]["payload"]["aps"]["thread-id"], "grp:club");

        // FCM's count is an int32: a larger badge is cut, never wrapped.
        let huge = Notification {
            badge: u64::MAX,
            ..notification()
        };
        let fcm = entry(&message_of(&huge), "GCM");
        assert_eq!(
            fcm["fcmV1Message"]["message"]["android"]["notification"]["notification_count"],
            i32::MAX
        );
    }

    #[test]
    fn the_collapse_key_reaches_each_provider_its_own_way() {
        let n = notification();
        let payload = publish_payload(&n).expect("payload");
        assert_eq!(attribute(&payload, APNS_COLLAPSE_ID), Some("grp:club"));

        let message: Value = serde_json::from_str(&payload.message).expect("JSON");
        let fcm = entry(&message, "GCM");
        let inner = &fcm["fcmV1Message"]["message"];
        assert_eq!(inner["android"]["collapse_key"], "grp:club");
        assert_eq!(inner["android"]["notification"]["tag"], "grp:club");
        assert_eq!(inner["apns"]["headers"]["apns-collapse-id"], "grp:club");
        // APNs reads the collapse id from the header SNS makes of the attribute, not the body.
        for key in ["APNS", "APNS_SANDBOX"] {
            assert!(entry(&message, key).get("apns-collapse-id").is_none());
        }
    }

    #[test]
    fn a_collapse_key_too_long_for_apns_is_hashed_to_64_bytes() {
        let long = format!("dm:{}:{}", "a".repeat(60), "b".repeat(60));
        let n = Notification {
            collapse_key: long.clone(),
            ..notification()
        };
        let payload = publish_payload(&n).expect("payload");
        let id = attribute(&payload, APNS_COLLAPSE_ID).expect("a collapse id");
        assert_eq!(id.len(), 64);
        assert_eq!(id, chat_domain::Sha256::of(long.as_bytes()).to_hex());

        let message: Value = serde_json::from_str(&payload.message).expect("JSON");
        let fcm = entry(&message, "GCM");
        let inner = &fcm["fcmV1Message"]["message"];
        assert_eq!(inner["apns"]["headers"]["apns-collapse-id"], id);
        // FCM has no such limit: Android gets the key itself.
        assert_eq!(inner["android"]["collapse_key"], long.as_str());

        // Exactly 64 bytes is kept as it is.
        let edge = "c".repeat(64);
        let n = Notification {
            collapse_key: edge.clone(),
            ..notification()
        };
        let payload = publish_payload(&n).expect("payload");
        assert_eq!(attribute(&payload, APNS_COLLAPSE_ID), Some(edge.as_str()));
    }

    #[test]
    fn an_empty_collapse_key_collapses_nothing() {
        let n = Notification {
            collapse_key: String::new(),
            ..notification()
        };
        let payload = publish_payload(&n).expect("payload");
        assert_eq!(attribute(&payload, APNS_COLLAPSE_ID), None);
        let message: Value = serde_json::from_str(&payload.message).expect("JSON");
        let fcm = entry(&message, "GCM");
        let inner = &fcm["fcmV1Message"]["message"];
        assert!(inner["android"].get("collapse_key").is_none());
        assert!(inner["android"]["notification"].get("tag").is_none());
        assert!(inner["apns"]["headers"].get("apns-collapse-id").is_none());
        // SNS refuses empty attribute values: there is none.
        assert!(
            payload
                .attributes
                .iter()
                .all(|(_, value)| !value.is_empty())
        );
    }

    #[test]
    fn the_ttl_is_an_attribute_per_provider_and_in_the_fcm_body() {
        let payload = publish_payload(&notification()).expect("payload");
        for name in [APNS_TTL, APNS_SANDBOX_TTL, FCM_TTL] {
            assert_eq!(attribute(&payload, name), Some("3600"), "{name}");
        }
        let message: Value = serde_json::from_str(&payload.message).expect("JSON");
        let fcm = entry(&message, "GCM");
        // A protobuf Duration in JSON: seconds with an `s`.
        assert_eq!(fcm["fcmV1Message"]["message"]["android"]["ttl"], "3600s");

        // Zero is "now or never" to both providers, and is passed as it is.
        let now_or_never = Notification {
            ttl_secs: 0,
            ..notification()
        };
        let payload = publish_payload(&now_or_never).expect("payload");
        assert_eq!(attribute(&payload, FCM_TTL), Some("0"));
    }

    #[test]
    fn apns_is_told_this_is_an_alert_to_deliver_now() {
        let payload = publish_payload(&notification()).expect("payload");
        assert_eq!(attribute(&payload, APNS_PUSH_TYPE), Some("alert"));
        assert_eq!(attribute(&payload, APNS_PRIORITY), Some("10"));
        let message: Value = serde_json::from_str(&payload.message).expect("JSON");
        let fcm = entry(&message, "GCM");
        let inner = &fcm["fcmV1Message"]["message"];
        assert_eq!(inner["apns"]["headers"]["apns-push-type"], "alert");
        assert_eq!(inner["apns"]["headers"]["apns-priority"], "10");
        assert_eq!(inner["android"]["priority"], "high");
    }

    #[test]
    fn every_attribute_is_one_of_the_reserved_mobile_names_once() {
        let payload = publish_payload(&notification()).expect("payload");
        let mut names: Vec<&str> = payload.attributes.iter().map(|(n, _)| *n).collect();
        assert!(names.iter().all(|n| n.starts_with("AWS.SNS.MOBILE.")));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
