//! The SNS push notifier against moto: a GCM platform application of its own per test, device
//! tokens no other test uses (moto, unlike SNS, matches tokens across applications), and the
//! published messages read back from moto's own view of its state (`/moto-api/data.json`,
//! `sns.PlatformEndpoint[].messages`).
//!
//! moto never disables an endpoint by itself (SNS does when FCM or APNs reports a dead token),
//! so the disabled case is set up by hand with `SetEndpointAttributes Enabled=false`, exactly
//! the state SNS would leave. It delivers nothing either: that the payload suits FCM and APNs
//! is checked by the unit tests of `payload` against SNS's documented shapes. moto keeps only
//! the message string of a publish, not its message attributes (collapse id, TTLs), so those
//! are checked there too; here, that a publish carrying them is accepted.

mod support;

use aws_sdk_sns::Client;
use chat_aws::{PlatformApps, SnsPushNotifier};
use chat_domain::{ChatError, DeviceId, UserId};
use chat_ports::{Notification, NotifyOutcome, Platform, PushNotifier, Registration};
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
        badge: 2,
        collapse_key: "grp:lunch".into(),
        ttl_secs: 86_400,
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

/// The endpoint's attributes as SNS holds them, or `None` when it does not exist.
async fn endpoint_attributes(
    client: &Client,
    arn: &str,
) -> Option<std::collections::HashMap<String, String>> {
    match client
        .get_endpoint_attributes()
        .endpoint_arn(arn)
        .send()
        .await
    {
        Ok(out) => Some(out.attributes.unwrap_or_default()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            None
        }
        Err(err) => panic!("get_endpoint_attributes: {err:?}"),
    }
}

async fn register(
    notifier: &SnsPushNotifier,
    user: &UserId,
    device: &DeviceId,
    token: &str,
) -> Registration {
    notifier
        .register(user, device, Platform::Fcm, token)
        .await
        .expect("register")
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
    let first = register(&notifier, &alice, &phone, &token).await;
    assert_eq!(
        first.previous_owner, None,
        "a new endpoint has no previous owner"
    );
    let again = register(&notifier, &alice, &phone, &token).await;
    assert_eq!(again, first);
    let first = first.endpoint;
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
    assert_eq!(message["android"]["collapse_key"], "grp:lunch");
    assert_eq!(message["android"]["ttl"], "86400s");
    assert_eq!(message["android"]["notification"]["notification_count"], 2);
    let apns: Value = serde_json::from_str(published[0]["APNS"].as_str().expect("an APNS entry"))
        .expect("the APNS entry is JSON");
    assert_eq!(apns["aps"]["badge"], 2);
}

#[tokio::test]
async fn a_disabled_endpoint_answers_endpoint_disabled_until_the_device_registers_again() {
    let (notifier, client) = fresh_notifier().await;
    let token = unique_token();
    let (bob, tablet) = (user("push-bob"), device("tablet"));
    let endpoint = register(&notifier, &bob, &tablet, &token).await.endpoint;

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
    let again = register(&notifier, &bob, &tablet, &token).await;
    // Re-enabled, and still bob's tablet: nobody else to forget.
    assert_eq!(again.previous_owner, None);
    let again = again.endpoint;
    assert_eq!(again.address, endpoint.address);
    let outcome = notifier
        .notify(&again, &notification(2))
        .await
        .expect("notify");
    assert_eq!(outcome, NotifyOutcome::Sent);
    assert_eq!(published_to(&endpoint.address).await.len(), 1);
}

#[tokio::test]
async fn a_token_moving_to_another_user_keeps_its_endpoint_and_names_the_previous_owner() {
    let (notifier, client) = fresh_notifier().await;
    let token = unique_token();
    let (carol, dave, shared) = (user("push-carol"), user("push-dave"), device("shared"));
    let before = register(&notifier, &carol, &shared, &token).await;
    assert_eq!(before.previous_owner, None);

    let after = register(&notifier, &dave, &shared, &token).await;
    assert_eq!(after.endpoint.address, before.endpoint.address);
    assert_eq!(after.endpoint.user_id, dave);
    // The caller must forget carol's registration of this address.
    assert_eq!(after.previous_owner, Some((carol.clone(), shared.clone())));
    let attributes = endpoint_attributes(&client, &after.endpoint.address)
        .await
        .expect("the endpoint exists");
    assert_eq!(
        attributes.get("CustomUserData").map(String::as_str),
        Some("push-dave/shared")
    );

    // Dave again: the endpoint is already his.
    let again = register(&notifier, &dave, &shared, &token).await;
    assert_eq!(again.endpoint, after.endpoint);
    assert_eq!(again.previous_owner, None);
}

#[tokio::test]
async fn the_same_user_on_another_device_is_a_previous_owner_too() {
    let (notifier, _) = fresh_notifier().await;
    let token = unique_token();
    let grace = user("push-grace");
    let old = register(&notifier, &grace, &device("old-install"), &token).await;
    // The app reinstalled under a new device id, with the token the phone kept.
    let new = register(&notifier, &grace, &device("new-install"), &token).await;
    assert_eq!(new.endpoint.address, old.endpoint.address);
    assert_eq!(new.previous_owner, Some((grace, device("old-install"))));
}

#[tokio::test]
async fn unregister_deletes_the_endpoint_and_is_idempotent() {
    let (notifier, client) = fresh_notifier().await;
    let token = unique_token();
    let endpoint = register(&notifier, &user("push-heidi"), &device("phone"), &token)
        .await
        .endpoint;
    assert!(
        endpoint_attributes(&client, &endpoint.address)
            .await
            .is_some()
    );

    notifier.unregister(&endpoint).await.expect("unregister");
    assert_eq!(endpoint_attributes(&client, &endpoint.address).await, None);
    notifier
        .unregister(&endpoint)
        .await
        .expect("unregistering a deleted endpoint is not an error");
    // Nothing arrives there any more.
    let outcome = notifier
        .notify(&endpoint, &notification(5))
        .await
        .expect("notify");
    assert_eq!(outcome, NotifyOutcome::EndpointDisabled);

    // The same device registering again gets a fresh endpoint, owned by nobody before.
    let fresh = register(&notifier, &user("push-heidi"), &device("phone"), &token).await;
    assert_ne!(fresh.endpoint.address, endpoint.address);
    assert_eq!(fresh.previous_owner, None);
}

#[tokio::test]
async fn a_deleted_endpoint_answers_endpoint_disabled_and_registering_makes_a_new_one() {
    let (notifier, client) = fresh_notifier().await;
    let token = unique_token();
    let (erin, phone) = (user("push-erin"), device("phone"));
    let endpoint = register(&notifier, &erin, &phone, &token).await.endpoint;
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

    let fresh = register(&notifier, &erin, &phone, &token).await.endpoint;
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
