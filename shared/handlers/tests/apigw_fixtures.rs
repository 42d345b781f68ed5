//! The handlers fed the JSON fixtures `aws_lambda_events` ships for API Gateway WebSocket events
//! (copied unchanged into `tests/fixtures/` from aws_lambda_events 1.2.1, `src/fixtures/`), and
//! `MESSAGE` events derived from them: what a Lambda receives on AWS, deserialized the way the
//! runtime deserializes it.

mod support;

use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayWebsocketProxyRequest,
};
use chat_auth::{Secret, TokenIssuer, TokenVerifier};
use chat_domain::{ConnectionId, ConversationId, DeviceId, UserId};
use chat_handlers::{
    AuthorizerHandler, ChatSettings, ConnectHandler, Delivery, DisconnectHandler, SendHandler,
};
use chat_ports::{
    Clock, Connection, ConnectionStore, HistoryQuery, LocalQuota, MembershipStore, MessageStore,
};
use chat_store_sqlite::SqliteStore;
use serde_json::Value;
use support::{FixedClock, NOW, RecordingPusher, fixture};

const SECRET: &str = "fixture-secret-fixture-secret-fixture-secret";
fn websocket_event(value: Value) -> ApiGatewayWebsocketProxyRequest {
    serde_json::from_value(value).expect("a WebSocket event")
}

/// API Gateway's recorded WebSocket request as a `send` route message carrying `body`.
fn send_event(body: &str) -> Value {
    let mut event = fixture("example-apigw-websocket-request.json");
    event["requestContext"]["routeKey"] = "send".into();
    event["requestContext"]["eventType"] = "MESSAGE".into();
    event["body"] = body.into();
    event
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    pusher: Arc<RecordingPusher>,
}

impl World {
    fn new() -> World {
        World::with_gone(&[])
    }

    /// A world whose gateway reports these connection ids gone.
    fn with_gone(gone: &[&str]) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open(dir.path()).expect("store"));
        let pusher = RecordingPusher {
            posts: Mutex::default(),
            gone: gone.iter().map(|id| id.to_string()).collect(),
        };
        World {
            _dir: dir,
            store,
            pusher: Arc::new(pusher),
        }
    }

    async fn put_connection(&self, user: &str, id: &str) {
        self.store
            .put_connection(&Connection {
                connection_id: ConnectionId::parse(id).expect("id"),
                user_id: UserId::parse(user).expect("user"),
                device_id: DeviceId::parse(&format!("dev-{}", id.trim_end_matches('=')))
                    .expect("device"),
                connected_at: NOW,
                expires_at: NOW.plus_ms(60_000),
            })
            .await
            .expect("put");
    }

    fn connect(&self) -> ConnectHandler {
        ConnectHandler {
            connections: self.store.clone(),
            users: self.store.clone(),
            watches: self.store.clone(),
            pusher: self.pusher.clone(),
            clock: Arc::new(FixedClock),
            settings: ChatSettings::default(),
        }
    }

    fn disconnect(&self) -> DisconnectHandler {
        DisconnectHandler {
            connections: self.store.clone(),
            users: self.store.clone(),
            watches: self.store.clone(),
            pusher: self.pusher.clone(),
            clock: Arc::new(FixedClock),
            settings: ChatSettings::default(),
        }
    }

    fn send(&self) -> SendHandler {
        SendHandler {
            messages: self.store.clone(),
            memberships: self.store.clone(),
            groups: self.store.clone(),
            connections: self.store.clone(),
            pusher: self.pusher.clone(),
            clock: Arc::new(FixedClock),
            delivery: Delivery::DirectInline,
            media: self.store.clone(),
            quota: Arc::new(LocalQuota::new(ChatSettings::default().send_rate)),
        }
    }

    async fn connection_ids_of(&self, user: &str) -> Vec<String> {
        let user = UserId::parse(user).expect("user");
        let connections = self.store.connections_of(&user, NOW).await.expect("list");
        connections
            .iter()
            .map(|c| c.connection_id.to_string())
            .collect()
    }
}

#[tokio::test]
async fn connect_fixture_registers_the_connection_of_the_authorized_principal() {
    let world = World::new();
    let mut event = fixture("example-apigw-websocket-request.json");
    let recorded_at = event["requestContext"]["connectedAt"]
        .as_i64()
        .expect("connectedAt");
    let response = world.connect().handle(websocket_event(event.clone())).await;
    assert_eq!(response.status_code, 200);
    // The fixture was recorded years ago: its connection is past API Gateway's 2-hour maximum
    // age, so it is stored already expired and nobody pushes to it.
    assert!(recorded_at < NOW.plus_ms(-chat_handlers::MAX_CONNECTION_AGE_MS).as_i64());
    assert!(world.connection_ids_of("admin").await.is_empty());

    // The same event connected now is live.
    event["requestContext"]["connectedAt"] = NOW.as_i64().into();
    let response = world.connect().handle(websocket_event(event)).await;
    assert_eq!(response.status_code, 200);
    assert_eq!(
        world.connection_ids_of("admin").await,
        vec!["TWegAcC4EowCHnA="]
    );
}

#[tokio::test]
async fn connect_without_an_authorizer_context_is_refused_and_stores_nothing() {
    let world = World::new();
    let event = websocket_event(fixture(
        "example-apigw-websocket-request-without-method.json",
    ));
    let response = world.connect().handle(event).await;
    assert!(
        response.status_code >= 400,
        "status {}",
        response.status_code
    );
    assert!(world.connection_ids_of("admin").await.is_empty());
}

#[tokio::test]
async fn disconnect_fixture_is_answered_even_without_an_identity() {
    let world = World::new();
    let event = websocket_event(fixture(
        "example-apigw-websocket-request-disconnect-route.json",
    ));
    let response = world.disconnect().handle(event).await;
    assert_eq!(response.status_code, 200);
}

#[tokio::test]
async fn disconnect_of_a_connected_fixture_forgets_it() {
    let world = World::new();
    let mut connect = fixture("example-apigw-websocket-request.json");
    connect["requestContext"]["connectedAt"] = NOW.as_i64().into();
    world
        .connect()
        .handle(websocket_event(connect.clone()))
        .await;
    assert_eq!(world.connection_ids_of("admin").await.len(), 1);
    let mut disconnect = connect;
    disconnect["requestContext"]["routeKey"] = "$disconnect".into();
    disconnect["requestContext"]["eventType"] = "DISCONNECT".into();
    disconnect["requestContext"]["disconnectStatusCode"] = 1001.into();
    let response = world.disconnect().handle(websocket_event(disconnect)).await;
    assert_eq!(response.status_code, 200);
    assert!(world.connection_ids_of("admin").await.is_empty());
}

#[tokio::test]
async fn send_on_a_fixture_shaped_message_event_acks_stores_and_pushes() {
    let world = World::new();
    let bob_connection = "Qm9iQ29ubg=";
    world.put_connection("bob", bob_connection).await;

    let event = send_event(r#"{"action":"send","to":"bob","client_msg_id":"c-1","body":"hello"}"#);
    let response = world.send().handle(websocket_event(event)).await;

    assert_eq!(response.status_code, 200);
    let body = response.body.as_ref().expect("a route response");
    let ack: Value = serde_json::from_slice(body.as_ref()).expect("ack JSON");
    assert_eq!(ack["type"], "ack");
    assert_eq!(ack["seq"], 1);
    assert_eq!(ack["conversation_id"], "dm:admin:bob");
    assert_eq!(ack["client_msg_id"], "c-1");

    let conversation = ConversationId::parse("dm:admin:bob").expect("conversation");
    let page = world
        .store
        .history(
            &conversation,
            HistoryQuery::After {
                after: 0,
                limit: 10,
            },
        )
        .await
        .expect("history");
    assert_eq!(page.messages.len(), 1);
    assert_eq!(
        page.messages[0].body.as_ref().map(|b| b.as_str()),
        Some("hello")
    );

    let posts = world.pusher.posts.lock().expect("lock").clone();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].0, bob_connection);
    assert_eq!(posts[0].1["type"], "message");
    assert_eq!(posts[0].1["sender_id"], "admin");
    assert_eq!(posts[0].1["seq"], 1);
}

#[tokio::test]
async fn past_the_burst_a_send_is_rate_limited_and_stores_nothing() {
    let world = World::new();
    let handler = world.send();
    let burst = ChatSettings::default()
        .send_rate
        .expect("limited by default")
        .burst();
    // The fixture's clock stands still: nothing refills.
    for i in 0..burst {
        let body = format!(r#"{{"action":"send","to":"bob","client_msg_id":"r-{i}","body":"x"}}"#);
        let response = handler.handle(websocket_event(send_event(&body))).await;
        let ack: Value =
            serde_json::from_slice(response.body.as_ref().expect("body").as_ref()).expect("JSON");
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    let over = r#"{"action":"send","to":"bob","client_msg_id":"r-over","body":"x"}"#;
    let response = handler.handle(websocket_event(send_event(over))).await;
    let error: Value =
        serde_json::from_slice(response.body.as_ref().expect("body").as_ref()).expect("JSON");
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "rate_limited");
    assert_eq!(error["client_msg_id"], "r-over");
    assert_eq!(error["retry_after_ms"], 100, "one token at 10 a second");

    let conversation = ConversationId::parse("dm:admin:bob").expect("conversation");
    let page = world
        .store
        .history(
            &conversation,
            HistoryQuery::Before {
                before: None,
                limit: 100,
            },
        )
        .await
        .expect("history");
    assert_eq!(
        page.messages.len(),
        burst as usize,
        "the refused send stored nothing"
    );
    assert!(
        page.messages
            .iter()
            .all(|m| m.client_msg_id.as_str() != "r-over")
    );
}

/// A shared count that cannot be reached.
struct UnreachableQuota;

#[async_trait::async_trait]
impl chat_ports::SendQuota for UnreachableQuota {
    async fn take_send(
        &self,
        _user: &UserId,
        _now: chat_domain::Millis,
    ) -> chat_ports::PortResult<chat_domain::Take> {
        Err(chat_domain::ChatError::Internal {
            context: "send quota: throttled".into(),
            cause: None,
        })
    }
}

#[tokio::test]
async fn a_send_quota_that_cannot_be_counted_does_not_refuse_the_send() {
    let world = World::new();
    let mut handler = world.send();
    handler.quota = Arc::new(UnreachableQuota);
    let event = send_event(r#"{"action":"send","to":"bob","client_msg_id":"q-1","body":"hi"}"#);
    let response = handler.handle(websocket_event(event)).await;
    let ack: Value =
        serde_json::from_slice(response.body.as_ref().expect("body").as_ref()).expect("JSON");
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["seq"], 1);
}

fn authorizer_event(query: &[(&str, &str)]) -> ApiGatewayCustomAuthorizerRequestTypeRequest {
    let mut value = fixture("example-apigw-v2-custom-authorizer-websocket-request.json");
    let params: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    value["queryStringParameters"] = Value::Object(params);
    serde_json::from_value(value).expect("an authorizer event")
}

fn authorizer() -> (AuthorizerHandler, TokenIssuer) {
    let secret = Secret::parse(SECRET).expect("secret");
    (
        AuthorizerHandler::new(TokenVerifier::hs256(&secret, None)),
        TokenIssuer::hs256(&secret, None),
    )
}

#[tokio::test]
async fn authorizer_fixture_without_a_token_is_unauthorized() {
    let (handler, _) = authorizer();
    let value = fixture("example-apigw-v2-custom-authorizer-websocket-request.json");
    let event: ApiGatewayCustomAuthorizerRequestTypeRequest =
        serde_json::from_value(value).expect("an authorizer event");
    let err = handler.handle(&event).expect_err("no token");
    assert_eq!(err.code().as_str(), "unauthorized");

    let forged = authorizer_event(&[("token", "e30.e30.c2ln")]);
    assert!(handler.handle(&forged).is_err());
}

#[tokio::test]
async fn authorizer_fixture_with_a_token_allows_the_connect_route_with_the_caller_context() {
    let (handler, issuer) = authorizer();
    let alice = UserId::parse("alice").expect("user");
    let token = issuer
        .issue(&alice, chat_ports::SystemClock.now(), 600)
        .expect("token");
    let event = authorizer_event(&[("token", &token), ("device", "laptop")]);
    let response = handler.handle(&event).expect("allowed");
    assert_eq!(response.principal_id.as_deref(), Some("alice"));
    let policy = serde_json::to_value(&response.policy_document).expect("policy JSON");
    assert_eq!(policy["Statement"][0]["Effect"], "Allow");
    assert_eq!(
        policy["Statement"][0]["Resource"][0],
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/test/$connect"
    );
    assert_eq!(response.context["user_id"], "alice");
    assert_eq!(response.context["device_id"], "laptop");
}

#[tokio::test]
async fn a_connection_the_gateway_reports_gone_is_pruned_on_the_next_push() {
    let world = World::with_gone(&["U3RhbGU="]);
    world.put_connection("bob", "U3RhbGU=").await;
    world.put_connection("bob", "TGl2ZQ==").await;
    let event = send_event(r#"{"action":"send","to":"bob","client_msg_id":"p-1","body":"hi"}"#);
    let response = world.send().handle(websocket_event(event)).await;
    assert_eq!(response.status_code, 200);

    assert_eq!(world.connection_ids_of("bob").await, vec!["TGl2ZQ=="]);
    let posts = world.pusher.posts.lock().expect("lock").clone();
    let targets: Vec<&str> = posts.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(targets, vec!["TGl2ZQ=="]);
}

#[tokio::test]
async fn a_direct_conversation_whose_opening_failed_is_opened_by_the_retry() {
    let world = World::new();
    // Message 1 made it into the store, but the send died before opening the conversation.
    let conversation = ConversationId::parse("dm:admin:bob").expect("conversation");
    let first = chat_domain::NewMessage {
        conversation_id: conversation.clone(),
        message_id: chat_domain::MessageId::generate(NOW),
        sender_id: UserId::parse("admin").expect("user"),
        sender_device: DeviceId::parse("phone").expect("device"),
        client_msg_id: chat_domain::ClientMsgId::parse("c-1").expect("id"),
        body: Some(chat_domain::Body::parse("first".to_string()).expect("body")),
        media: None,
        reply_to: None,
        sent_at: NOW,
        system: None,
    };
    world.store.append(first).await.expect("append");
    let bob = UserId::parse("bob").expect("user");
    assert!(
        world
            .store
            .memberships_of(&bob)
            .await
            .expect("list")
            .is_empty()
    );

    // The client retries what was never acknowledged: the same message, now opened.
    let event = send_event(r#"{"action":"send","to":"bob","client_msg_id":"c-1","body":"first"}"#);
    let response = world.send().handle(websocket_event(event)).await;
    assert_eq!(response.status_code, 200);
    let ack: Value =
        serde_json::from_slice(response.body.as_ref().expect("body").as_ref()).expect("JSON");
    assert_eq!(
        (&ack["type"], &ack["seq"]),
        (&"ack".into(), &1.into()),
        "{ack}"
    );

    // Both users now list it; the sender's mark is not written (their own messages count as
    // read through the conversation's head instead).
    let bobs = world.store.memberships_of(&bob).await.expect("list");
    assert_eq!(bobs.len(), 1);
    let admin = UserId::parse("admin").expect("user");
    let admins = world
        .store
        .membership(&conversation, &admin)
        .await
        .expect("get");
    assert_eq!(admins.map(|m| m.read_seq), Some(0));
}
