//! chat-local behaves like API Gateway: the `@connections` management API driven by the real
//! `aws-sdk-apigatewaymanagement` client, `$disconnect`, and the idle and age limits.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::config::Credentials;
use aws_sdk_apigatewaymanagement::error::ProvideErrorMetadata;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use chat_tests::{Closed, TestServer};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

fn management_client(server: &TestServer) -> Client {
    let config = aws_sdk_apigatewaymanagement::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(chat_aws::https_client(chat_aws::TrustRoots::Platform))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .endpoint_url(server.management_endpoint())
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn the_sdk_posts_describes_and_deletes_a_connection() {
    let server = TestServer::start().await;
    let client = management_client(&server);
    let mut alice = server.connect("alice", "phone").await;
    let id = alice.connection_id().await;
    assert!(
        id.ends_with('='),
        "API Gateway style ids need percent-encoding: {id}"
    );

    client
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new(r#"{"type":"hello"}"#))
        .send()
        .await
        .expect("post_to_connection");
    assert_eq!(alice.expect("hello").await, json!({ "type": "hello" }));

    // Non-UTF-8 data arrives as a binary frame, as on AWS.
    client
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new(vec![0xff, 0x00, 0x01]))
        .send()
        .await
        .expect("binary post");
    assert_eq!(
        alice.next_frame().await,
        Message::binary(vec![0xff, 0x00, 0x01])
    );

    let info = client
        .get_connection()
        .connection_id(&id)
        .send()
        .await
        .expect("get_connection");
    let connected_at = info.connected_at().expect("connectedAt");
    let last_active = info.last_active_at().expect("lastActiveAt");
    assert!(connected_at.secs() > 1_700_000_000);
    assert!(last_active.secs() >= connected_at.secs());
    assert!(
        info.identity()
            .and_then(|i| i.source_ip())
            .is_some_and(|ip| ip == "127.0.0.1")
    );

    client
        .delete_connection()
        .connection_id(&id)
        .send()
        .await
        .expect("delete_connection");
    assert_eq!(
        alice.closed_within(Duration::from_secs(5)).await,
        Closed::Code(1000)
    );

    // The connection is gone: every operation answers 410 GoneException.
    let err = client
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new("late"))
        .send()
        .await
        .expect_err("gone");
    assert_eq!(err.code(), Some("GoneException"), "{err:?}");
    let err = client
        .get_connection()
        .connection_id(&id)
        .send()
        .await
        .expect_err("gone");
    assert_eq!(err.code(), Some("GoneException"), "{err:?}");
    let err = client
        .post_to_connection()
        .connection_id("never-existed=")
        .data(Blob::new("x"))
        .send()
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), Some("GoneException"), "{err:?}");
}

#[tokio::test]
async fn an_oversize_post_is_refused_with_413() {
    let server = TestServer::start().await;
    let client = management_client(&server);
    let mut alice = server.connect("alice", "phone").await;
    let id = alice.connection_id().await;
    let err = client
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new(vec![b'x'; 128 * 1024 + 1]))
        .send()
        .await
        .expect_err("too large");
    assert_eq!(err.code(), Some("PayloadTooLargeException"), "{err:?}");
    alice.assert_alive().await;
}

#[tokio::test]
async fn a_closed_socket_is_disconnected_and_no_longer_receives() {
    let server = TestServer::start().await;
    let client = management_client(&server);
    let mut bob = server.connect("bob", "phone").await;
    let id = bob.connection_id().await;
    bob.close().await;
    // The gateway forgot the id: 410 GoneException (not just any error).
    let mut gone = false;
    for _ in 0..50 {
        match client.get_connection().connection_id(&id).send().await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(err) => {
                assert_eq!(err.code(), Some("GoneException"), "{err:?}");
                gone = true;
                break;
            }
        }
    }
    assert!(gone, "the connection outlived its socket");

    // Messages to bob are stored for his next sync, not lost.
    let mut alice = server.connect("alice", "phone").await;
    alice
        .send_json(&json!({ "action": "send", "to": "bob", "client_msg_id": "x", "body": "later" }))
        .await;
    assert_eq!(alice.expect("ack").await["seq"], 1);
    let mut bob = server.connect("bob", "phone").await;
    bob.send_json(&json!({ "action": "sync", "conversation_id": "dm:alice:bob" }))
        .await;
    assert_eq!(bob.expect("messages").await["messages"][0]["body"], "later");
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let server = TestServer::start_with(|config| {
        config.idle_timeout = Duration::from_millis(400);
    })
    .await;
    let mut idle = server.connect("alice", "phone").await;
    let mut busy = server.connect("bob", "phone").await;
    // Frames from the client keep a connection alive past the timeout.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        busy.assert_alive().await;
    }
    assert_eq!(
        idle.closed_within(Duration::from_secs(5)).await,
        Closed::Code(1001)
    );
    busy.assert_alive().await;
}

#[tokio::test]
async fn a_connection_is_closed_at_its_maximum_age() {
    let server = TestServer::start_with(|config| {
        config.max_connection_age = Duration::from_millis(500);
    })
    .await;
    let mut client = server.connect("alice", "phone").await;
    let started = std::time::Instant::now();
    // Activity does not extend the maximum age.
    while started.elapsed() < Duration::from_millis(300) {
        client.assert_alive().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        client.closed_within(Duration::from_secs(5)).await,
        Closed::Code(1001)
    );
}

#[tokio::test]
async fn the_push_adapter_delivers_through_chat_local_and_reports_gone_connections() {
    use aws_sdk_apigatewaymanagement::config::SharedCredentialsProvider;
    use chat_aws::{ApiGatewayPusher, management_client};
    use chat_domain::ConnectionId;
    use chat_ports::{ConnectionPusher, PostOutcome};

    let server = TestServer::start().await;
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(chat_aws::https_client(chat_aws::TrustRoots::Platform))
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "local", "local", None, None, "tests",
        )))
        .build();
    let pusher = ApiGatewayPusher::new(management_client(&sdk, &server.management_endpoint()));
    let mut alice = server.connect("alice", "phone").await;
    let id = ConnectionId::parse(&alice.connection_id().await).expect("id");

    let outcome = pusher
        .post(&id, br#"{"type":"hello"}"#)
        .await
        .expect("post");
    assert_eq!(outcome, PostOutcome::Delivered);
    assert_eq!(alice.expect("hello").await, json!({ "type": "hello" }));

    let outcome = pusher.disconnect(&id).await.expect("disconnect");
    assert_eq!(outcome, PostOutcome::Delivered);
    assert_eq!(
        alice.closed_within(Duration::from_secs(5)).await,
        Closed::Code(1000)
    );

    // 410 is an answer the caller prunes on, not an error.
    let outcome = pusher
        .post(&id, b"late")
        .await
        .expect("post to a gone connection");
    assert_eq!(outcome, PostOutcome::Gone);
}
