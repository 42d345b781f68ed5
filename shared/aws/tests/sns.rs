//! The SNS push notifier against moto: a GCM platform application of its own per test, device
//! tokens no other test uses (moto, unlike SNS, matches tokens across applications), and the
//! published messages read back from moto's own view of its state (`/moto-api/data.json`,
//! `sns.PlatformEndpoint[].messages`).
//!
//! moto never disables an endpoint by itself (SNS does when FCM or APNs reports a dead token),
//! so the disabled case is set up by hand with `SetEndpointAttributes Enabled=false`, exactly
//! the state SNS would leave. It delivers nothing either: that the payload suits FCM and APNs
//! is checked by the unit tests of `payload` against SNS's documented shapes.

mod support;

use aws_sdk_sns::Client;
use chat_aws::{PlatformApps, SnsPushNotifier};
use chat_domain::{ChatError, DeviceId, UserId};
use chat_ports::{Notification, NotifyOutcome, Platform, PushNotifier};
use serde_json::Value;

fn user(raw: &str) -> UserId {
    UserId::parse(raw).expect("user id")
}

fn device(raw: &str) -> DeviceId {
    DeviceId::parse(raw).expect("device id")
}

/// A token no other test or run uses.
fn unique_token() -> String {
    format!("fcm-token-{:016x}", rand::random::<u64>())
}

fn notification(seq: u64) -> Notification {
    Notification {
        title: "Alice".into(),
        text: "lunch?".into(),
        conversation_id: "grp:lunch".into(),
        seq,
    }
}

/// A notifier over a GCM platform application of its own (no APNs application).
async fn fresh_notifier() -> (SnsPushNotifier, Client) {
    let client = Client::new(&support::moto_sdk_config());
    let name = format!("chat-test-{:016x}", rand::random::<u64>());
    let app = client
        .create_platform_application()
        .name(name)
        .platform("GCM")
        .attributes("PlatformCredential", "not-a-real-service-account")
        .send()
        .await
        .expect("create the platform application on moto")
        .platform_application_arn
        .expect("an application ARN");
    let apps = PlatformApps {
        fcm: Some(app),
        apns: None,
    };
    (SnsPushNotifier::new(client.clone(), apps), client)
}

/// The messages moto recorded as published to `endpoint_arn`, oldest first.
async fn published_to(endpoint_arn: &str) -> Vec<Value> {
    let url = format!("{}/moto-api/data.json", support::moto_endpoint());
    let body = reqwest::get(url)
        .await
        .expect("moto's data.json")
        .text()
        .await
        .expect("body");
    let data: Value = serde_json::from_str(&body).expect("data.json is JSON");
    let endpoints = data["sns"]["PlatformEndpoint"]
        .as_array()
        .expect("sns.PlatformEndpoint");
    // Deleted endpoints may linger in data.json until a reset: pick ours by ARN.
    let endpoint = endpoints
        .iter()
        .find(|e| e["arn"] == endpoint_arn)
        .expect("our endpoint in data.json");
    endpoint["messages"]
        .as_object()
        .expect("messages by id")
        .values()
        .map(|raw| serde_json::from_str(raw.as_str().expect("raw message")).expect("JSON"))
        .collect()
}

async fn set_enabled(client: &Client, arn: &str, enabled: bool) {
    client
        .set_endpoint_attributes()
        .endpoint_arn(arn)
        .attributes("Enabled", enabled.to_string())
        .send()
        .await
        .expect("set Enabled");
}

#[tokio::test]
async fn registering_a_token_twice_gives_one_endpoint_and_notify_publishes_to_it() {
    let (notifier, client) = fresh_notifier().await;
    let token = unique_token();
    let (alice, phone) = (user("push-alice"), device("phone"));
    let first = notifier
        .register(&alice, &phone, Platform::Fcm, &token)
        .await
        .expect("register");
    let again = notifier
        .register(&alice, &phone, Platform::Fcm, &token)
        .await
        .expect("register again");
    assert_eq!(again, first);
    assert!(
        first.address.starts_with("arn:aws:sns:"),
        "{}",
        first.address
    );
    assert_eq!((first.platform, &first.user_id), (Platform::Fcm, &alice));

    let attributes = client
        .get_endpoint_attributes()
        .endpoint_arn(&first.address)
        .send()
        .await
        .expect("endpoint attributes")
        .attributes
        .unwrap_or_default();
    assert_eq!(attributes.get("Token"), Some(&token));
    assert_eq!(attributes.get("Enabled").map(String::as_str), Some("true"));

    let outcome = notifier
        .notify(&first, &notification(7))
        .await
        .expect("notify");
    assert_eq!(outcome, NotifyOutcome::Sent);
    let published = published_to(&first.address).await;
    assert_eq!(published.len(), 1, "{published:?}");
    // moto stores the MessageStructure=json document as sent: the FCM entry is in it.
    let gcm: Value = serde_json::from_str(published[0]["GCM"].as_str().expect("a GCM entry"))
        .expect("the GCM entry is JSON");
    let message = &gcm["fcmV1Message"]["message"];
    assert_eq!(message["notification"]["title"], "Alice");
    assert_eq!(message["data"]["conversation_id"], "grp:lunch");
    assert_eq!(message["data"]["seq"], "7");
}

#[tokio::test]
async fn a_disabled_endpoint_answers_endpoint_disabled_until_the_device_registers_again() {
    let (notifier, client) = fresh_notifier().await;
    let token = unique_token();
    let (bob, tablet) = (user("push-bob"), device("tablet"));
    let endpoint = notifier
        .register(&bob, &tablet, Platform::Fcm, &token)
        .await
        .expect("register");

    // What SNS does when FCM says the token is dead.
    set_enabled(&client, &endpoint.address, false).await;
    let outcome = notifier
        .notify(&endpoint, &notification(1))
        .await
        .expect("notify");
    assert_eq!(outcome, NotifyOutcome::EndpointDisabled);
    assert!(published_to(&endpoint.address).await.is_empty());

    // The app starts again with the same token (reinstalled): CreatePlatformEndpoint refuses
    // ("same Token, but different attributes"), and register re-enables the endpoint it names.
    let again = notifier
        .register(&bob, &tablet, Platform::Fcm, &token)
        .await
        .expect("register again");
    assert_eq!(again.address, endpoint.address);
    let outcome = notifier
        .notify(&again, &notification(2))
        .await
        .expect("notify");
    assert_eq!(outcome, NotifyOutcome::Sent);
    assert_eq!(published_to(&endpoint.address).await.len(), 1);
}

#[tokio::test]
async fn a_token_moving_to_another_user_keeps_its_endpoint_with_the_new_owner() {
    let (notifier, client) = fresh_notifier().await;
    let token = unique_token();
    let before = notifier
        .register(
            &user("push-carol"),
            &device("shared"),
            Platform::Fcm,
            &token,
        )
        .await
        .expect("register carol");
    let after = notifier
        .register(&user("push-dave"), &device("shared"), Platform::Fcm, &token)
        .await
        .expect("register dave");
    assert_eq!(after.address, before.address);
    assert_eq!(after.user_id, user("push-dave"));
    let attributes = client
        .get_endpoint_attributes()
        .endpoint_arn(&after.address)
        .send()
        .await
        .expect("endpoint attributes")
        .attributes
        .unwrap_or_default();
    assert_eq!(
        attributes.get("CustomUserData").map(String::as_str),
        Some("push-dave/shared")
    );
}

#[tokio::test]
async fn a_deleted_endpoint_answers_endpoint_disabled_and_registering_makes_a_new_one() {
    let (notifier, client) = fresh_notifier().await;
    let token = unique_token();
    let (erin, phone) = (user("push-erin"), device("phone"));
    let endpoint = notifier
        .register(&erin, &phone, Platform::Fcm, &token)
        .await
        .expect("register");
    client
        .delete_endpoint()
        .endpoint_arn(&endpoint.address)
        .send()
        .await
        .expect("delete the endpoint");
    let outcome = notifier
        .notify(&endpoint, &notification(3))
        .await
        .expect("notify");
    assert_eq!(outcome, NotifyOutcome::EndpointDisabled);

    let fresh = notifier
        .register(&erin, &phone, Platform::Fcm, &token)
        .await
        .expect("register again");
    assert_ne!(fresh.address, endpoint.address);
    let outcome = notifier
        .notify(&fresh, &notification(4))
        .await
        .expect("notify");
    assert_eq!(outcome, NotifyOutcome::Sent);
}

#[tokio::test]
async fn a_platform_without_an_application_is_a_bad_request() {
    let (notifier, _) = fresh_notifier().await;
    let err = notifier
        .register(
            &user("push-frank"),
            &device("iphone"),
            Platform::Apns,
            "apns-token",
        )
        .await
        .expect_err("no APNs application configured");
    assert!(matches!(err, ChatError::BadRequest(_)), "{err:?}");
}
