//! The one `Publish` message for a [`Notification`], built for every platform at once
//! (`MessageStructure=json`): SNS delivers to each endpoint the entry of its own platform, so
//! the notifier needs to know no endpoint's platform to notify it.
//!
//! - `GCM` (Firebase Cloud Messaging) in the FCM HTTP v1 form, under `fcmV1Message`. SNS's
//!   guide to platform-specific payloads shows only this form for FCM today, its FCM v1 page
//!   says to use it for new FCM applications, and SNS asked for FCM applications to move to
//!   the v1 API by June 2024 (Google has since retired the legacy API whose payload the classic
//!   `{"notification": .., "data": ..}` form is). The v1 form also says exactly what FCM
//!   receives: a `notification` the system shows, and `data` the app reads, whose values FCM
//!   v1 requires to be strings (hence `seq` as text).
//! - `APNS` and `APNS_SANDBOX`, the same payload under both names: SNS picks by the platform
//!   application of the endpoint, production or sandbox. `aps.alert` is what iOS shows;
//!   `thread-id` groups a conversation's notifications; our keys sit beside `aps`.
//! - `default`, which the Publish API requires whenever `MessageStructure` is `json`, and
//!   which SNS uses for a platform without an entry of its own.
//!
//! Each entry is itself a JSON document carried as a string, as the Publish API wants.

use chat_domain::ChatError;
use chat_ports::{Notification, PortResult};
use serde_json::{Value, json};

/// The `Message` of a `Publish` with `MessageStructure=json`.
pub(crate) fn publish_message(notification: &Notification) -> PortResult<String> {
    let fcm = json!({
        "fcmV1Message": {
            "message": {
                "notification": {
                    "title": notification.title,
                    "body": notification.text,
                },
                "data": data(notification),
            }
        }
    });
    let apns = json!({
        "aps": {
            "alert": {
                "title": notification.title,
                "body": notification.text,
            },
            "thread-id": notification.conversation_id,
        },
        "conversation_id": notification.conversation_id,
        "seq": notification.seq,
    });
    let apns = encode(&apns)?;
    let message = json!({
        "default": notification.text,
        "GCM": encode(&fcm)?,
        "APNS": apns,
        "APNS_SANDBOX": apns,
    });
    encode(&message)
}

/// What the app reads from an FCM message: strings only.
fn data(notification: &Notification) -> Value {
    json!({
        "conversation_id": notification.conversation_id,
        "seq": notification.seq.to_string(),
    })
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
        }
    }

    /// An entry of the outer document, parsed back from its string.
    fn entry(message: &Value, key: &str) -> Value {
        let raw = message[key].as_str().expect("entries are strings");
        serde_json::from_str(raw).expect("entries are JSON")
    }

    #[test]
    fn every_platform_gets_its_entry_and_there_is_a_default() {
        let message: Value =
            serde_json::from_str(&publish_message(&notification()).expect("payload"))
                .expect("JSON");
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
}
