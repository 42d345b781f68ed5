//! The stream handler fed DynamoDB stream events: the fixture `aws_lambda_events` ships
//! (`example-dynamodb-event.json`, copied unchanged; its images are not messages) and events
//! derived from it whose `NewImage` is a message item, as the messages table streams it.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use aws_lambda_events::dynamodb::Event;
use chat_domain::frames::MarkKind;
use chat_domain::{ChatError, ConnectionId, ConversationId, DeviceId, Seq, UserId};
use chat_handlers::{Delivery, StreamHandler};
use chat_ports::{
    Connection, ConnectionStore, MarkCursor, MarkHolder, MarkMove, Membership, MembershipStore,
    PortResult, Recipient, Role,
};
use chat_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use support::{FixedClock, NOW, RecordingPusher};

/// The embedded store, whose member listing fails while `failing` is set (a throttled read).
struct FlakyMembers {
    store: Arc<SqliteStore>,
    failing: AtomicBool,
}

#[async_trait]
impl MembershipStore for FlakyMembers {
    async fn membership(&self, c: &ConversationId, u: &UserId) -> PortResult<Option<Membership>> {
        self.store.membership(c, u).await
    }
    async fn add_members(&self, members: &[Membership]) -> PortResult<()> {
        self.store.add_members(members).await
    }
    async fn memberships_of(&self, user: &UserId) -> PortResult<Vec<Membership>> {
        self.store.memberships_of(user).await
    }
    async fn members(
        &self,
        c: &ConversationId,
        after: Option<&UserId>,
        limit: u32,
    ) -> PortResult<Vec<Membership>> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(ChatError::Internal {
                context: "members: throttled".into(),
                cause: None,
            });
        }
        self.store.members(c, after, limit).await
    }
    async fn advance_mark(
        &self,
        c: &ConversationId,
        u: &UserId,
        kind: MarkKind,
        seq: Seq,
    ) -> PortResult<Option<MarkMove>> {
        self.store.advance_mark(c, u, kind, seq).await
    }
    async fn hide_conversation(
        &self,
        c: &ConversationId,
        u: &UserId,
        up_to: u64,
    ) -> PortResult<bool> {
        self.store.hide_conversation(c, u, up_to).await
    }
    async fn lowest_marks(
        &self,
        c: &ConversationId,
        kind: MarkKind,
        limit: u32,
    ) -> PortResult<Vec<MarkHolder>> {
        self.store.lowest_marks(c, kind, limit).await
    }
    async fn delivered_to(
        &self,
        c: &ConversationId,
        seq: Seq,
        after: Option<&MarkCursor>,
        limit: u32,
    ) -> PortResult<Vec<Recipient>> {
        self.store.delivered_to(c, seq, after, limit).await
    }
    async fn set_muted(
        &self,
        c: &ConversationId,
        u: &UserId,
        until: Option<chat_domain::Millis>,
    ) -> PortResult<bool> {
        self.store.set_muted(c, u, until).await
    }
}

struct World {
    _dir: tempfile::TempDir,
    members: Arc<FlakyMembers>,
    pusher: Arc<RecordingPusher>,
    handler: StreamHandler,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open(dir.path()).expect("store"));
    let members = Arc::new(FlakyMembers {
        store: store.clone(),
        failing: AtomicBool::new(false),
    });
    let pusher = Arc::new(RecordingPusher::default());
    let team = ConversationId::parse("grp:team").expect("id");
    let list: Vec<Membership> = ["alice", "bob", "carol"]
        .iter()
        .map(|u| {
            Membership::new(
                team.clone(),
                UserId::parse(u).expect("user"),
                Role::Member,
                NOW,
            )
        })
        .collect();
    store.add_members(&list).await.expect("members");
    for (user, device, id) in [
        ("alice", "phone", "QWxpY2VQ="),
        ("alice", "laptop", "QWxpY2VM="),
        ("bob", "phone", "Qm9iUA=="),
        ("dave", "phone", "RGF2ZVA="),
    ] {
        let connection = Connection {
            connection_id: ConnectionId::parse(id).expect("id"),
            user_id: UserId::parse(user).expect("user"),
            device_id: DeviceId::parse(device).expect("device"),
            connected_at: NOW,
            expires_at: NOW.plus_ms(60_000),
        };
        store.put_connection(&connection).await.expect("connection");
    }
    let handler = StreamHandler {
        connections: store,
        memberships: members.clone(),
        pusher: pusher.clone(),
        clock: Arc::new(FixedClock),
        delivery: Delivery::DirectInline,
        notifier: None,
    };
    World {
        _dir: dir,
        members,
        pusher,
        handler,
    }
}

fn fixture() -> Value {
    support::fixture("example-dynamodb-event.json")
}

/// A message item's image in DynamoDB JSON, as the messages table streams it.
fn message_image(conversation: &str, seq: u64, sender: &str, device: &str) -> Value {
    json!({
        "conversation_id": { "S": conversation },
        "seq": { "N": seq.to_string() },
        "message_id": { "S": format!("01JBM{seq:021}") },
        "sender_id": { "S": sender },
        "sender_device": { "S": device },
        "client_msg_id": { "S": format!("c-{seq}") },
        "body": { "S": format!("hello {seq}") },
        "sent_at": { "N": NOW.as_i64().to_string() },
    })
}

fn message_event(images: Vec<Value>) -> Event {
    let mut event = fixture();
    let template = event["Records"][0].clone();
    let records: Vec<Value> = images
        .into_iter()
        .enumerate()
        .map(|(n, image)| {
            let mut record = template.clone();
            record["dynamodb"]["Keys"] = json!({
                "conversation_id": image["conversation_id"].clone(),
                "seq": image["seq"].clone(),
            });
            record["dynamodb"]["NewImage"] = image;
            record["dynamodb"]["SequenceNumber"] = format!("{}", 100 + n).into();
            record["dynamodb"]["StreamViewType"] = "NEW_IMAGE".into();
            record
        })
        .collect();
    event["Records"] = Value::Array(records);
    serde_json::from_value(event).expect("a DynamoDB event")
}

#[tokio::test]
async fn the_shipped_fixture_is_not_a_message_and_is_skipped_without_failing_the_batch() {
    let world = world().await;
    let event: Event = serde_json::from_value(fixture()).expect("a DynamoDB event");
    let response = world.handler.handle(event).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(world.pusher.posts.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_group_message_reaches_every_members_devices_but_the_senders_own() {
    let world = world().await;
    let event = message_event(vec![message_image("grp:team", 1, "alice", "phone")]);
    let response = world.handler.handle(event).await;
    assert!(response.batch_item_failures.is_empty());
    let posts = world.pusher.posts.lock().expect("lock").clone();
    let mut targets: Vec<&str> = posts.iter().map(|(id, _)| id.as_str()).collect();
    targets.sort_unstable();
    // alice's laptop and bob's phone; not alice's sending phone, not dave (no member).
    assert_eq!(targets, vec!["QWxpY2VM=", "Qm9iUA=="]);
    assert_eq!(posts[0].1["type"], "message");
    assert_eq!(posts[0].1["seq"], 1);
    assert_eq!(posts[0].1["body"], "hello 1");
}

#[tokio::test]
async fn direct_messages_are_left_to_send() {
    let world = world().await;
    let event = message_event(vec![message_image("dm:alice:bob", 1, "alice", "phone")]);
    let response = world.handler.handle(event).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(world.pusher.posts.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn on_an_ordered_feed_direct_messages_are_pushed_here_in_seq_order() {
    let mut world = world().await;
    world.handler.delivery = Delivery::Feed;
    let event = message_event(
        (1..=5)
            .map(|seq| message_image("dm:alice:bob", seq, "alice", "phone"))
            .collect(),
    );
    let response = world.handler.handle(event).await;
    assert!(response.batch_item_failures.is_empty());
    let posts = world.pusher.posts.lock().expect("lock").clone();
    let to_bob: Vec<i64> = posts
        .iter()
        .filter(|(id, _)| id == "Qm9iUA==")
        .map(|(_, event)| event["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(to_bob, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn a_failed_fan_out_reports_the_first_failed_record_and_stops_there() {
    let world = world().await;
    world.members.failing.store(true, Ordering::SeqCst);
    let event = message_event(vec![
        message_image("dm:alice:bob", 1, "alice", "phone"),
        message_image("grp:team", 1, "alice", "phone"),
        message_image("grp:team", 2, "alice", "phone"),
    ]);
    let response = world.handler.handle(event).await;
    let failed: Vec<Option<String>> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, vec![Some("101".to_string())]);
    assert!(world.pusher.posts.lock().expect("lock").is_empty());
}
