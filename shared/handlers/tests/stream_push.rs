//! Push notifications from the stream consumer, fed DynamoDB stream events over the embedded
//! store: one notification per burst (about its newest message), none for a live device, the
//! sender or a poison record, never twice for a batch delivered twice, and a disabled
//! endpoint dropped.

mod support;

use chat_metrics::names;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_lambda_events::dynamodb::Event;
use chat_domain::{ConnectionId, ConversationId, DeviceId, UserId};
use chat_handlers::{ChatSettings, Delivery, Notifier, StreamHandler};
use chat_ports::{
    Connection, ConnectionStore, DeviceStore, MembershipStore, Notification, NotifyOutcome,
    Platform, PortResult, PushEndpoint, PushNotifier, Registration, Role,
};
use chat_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use support::{FixedClock, NOW, RecordingPusher};

/// Records every notification; endpoints in `disabled` answer `EndpointDisabled`.
#[derive(Default)]
struct RecordingPush {
    sent: Mutex<Vec<(String, Notification)>>,
    disabled: Mutex<Vec<String>>,
}

#[async_trait]
impl PushNotifier for RecordingPush {
    async fn register(
        &self,
        user: &UserId,
        device: &DeviceId,
        platform: Platform,
        token: &str,
    ) -> PortResult<Registration> {
        Ok(Registration {
            endpoint: PushEndpoint {
                user_id: user.clone(),
                device_id: device.clone(),
                platform,
                address: token.to_string(),
            },
            previous_owner: None,
        })
    }

    async fn unregister(&self, _endpoint: &PushEndpoint) -> PortResult<()> {
        Ok(())
    }

    async fn notify(
        &self,
        endpoint: &PushEndpoint,
        notification: &Notification,
    ) -> PortResult<NotifyOutcome> {
        if self
            .disabled
            .lock()
            .expect("lock")
            .contains(&endpoint.address)
        {
            return Ok(NotifyOutcome::EndpointDisabled);
        }
        let mut sent = self.sent.lock().expect("lock");
        sent.push((endpoint.address.clone(), notification.clone()));
        Ok(NotifyOutcome::Sent)
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    push: Arc<RecordingPush>,
    handler: StreamHandler,
}

fn user(raw: &str) -> UserId {
    UserId::parse(raw).expect("user")
}

/// grp:team with alice, bob and carol; everyone's phone registered for push; bob's phone
/// online (its socket is live); alice sends.
async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open(dir.path()).expect("store"));
    let team = ConversationId::parse("grp:team").expect("id");
    let members: Vec<_> = ["alice", "bob", "carol"]
        .iter()
        .map(|u| chat_ports::Membership::new(team.clone(), user(u), Role::Member, NOW))
        .collect();
    store.add_members(&members).await.expect("members");
    for name in ["alice", "bob", "carol"] {
        store
            .put_device(&PushEndpoint {
                user_id: user(name),
                device_id: DeviceId::parse("phone").expect("device"),
                platform: Platform::Fcm,
                address: format!("{name}-phone"),
            })
            .await
            .expect("device");
    }
    store
        .put_connection(&Connection {
            connection_id: ConnectionId::parse("Qm9iUA==").expect("id"),
            user_id: user("bob"),
            device_id: DeviceId::parse("phone").expect("device"),
            connected_at: NOW,
            expires_at: NOW.plus_ms(60_000),
        })
        .await
        .expect("connection");
    let push = Arc::new(RecordingPush::default());
    let handler = StreamHandler {
        connections: store.clone(),
        memberships: store.clone(),
        pusher: Arc::new(RecordingPusher::default()),
        clock: Arc::new(FixedClock),
        delivery: Delivery::DirectInline,
        notifier: Some(Arc::new(Notifier {
            memberships: store.clone(),
            messages: store.clone(),
            users: store.clone(),
            connections: store.clone(),
            devices: store.clone(),
            ledger: store.clone(),
            push: push.clone(),
            clock: Arc::new(FixedClock),
            settings: ChatSettings::default(),
        })),
    };
    World {
        _dir: dir,
        store,
        push,
        handler,
    }
}

fn message_image(conversation: &str, seq: u64) -> Value {
    json!({
        "conversation_id": { "S": conversation },
        "seq": { "N": seq.to_string() },
        "message_id": { "S": format!("01JBM{seq:021}") },
        "sender_id": { "S": "alice" },
        "sender_device": { "S": "phone" },
        "client_msg_id": { "S": format!("c-{seq}") },
        "body": { "S": format!("hello {seq}") },
        "sent_at": { "N": NOW.as_i64().to_string() },
    })
}

/// A batch of INSERT records with these images (or, for `None`, the shipped fixture's record,
/// whose image is no message: a poison record).
fn batch(images: Vec<Option<Value>>) -> Event {
    let mut event = support::fixture("example-dynamodb-event.json");
    let template = event["Records"][0].clone();
    let records: Vec<Value> = images
        .into_iter()
        .enumerate()
        .map(|(n, image)| {
            let mut record = template.clone();
            if let Some(image) = image {
                record["dynamodb"]["Keys"] = json!({
                    "conversation_id": image["conversation_id"].clone(),
                    "seq": image["seq"].clone(),
                });
                record["dynamodb"]["NewImage"] = image;
                record["eventName"] = "INSERT".into();
            }
            record["dynamodb"]["SequenceNumber"] = format!("{}", 100 + n).into();
            record
        })
        .collect();
    event["Records"] = Value::Array(records);
    serde_json::from_value(event).expect("a DynamoDB event")
}

fn sent(world: &World) -> Vec<(String, Notification)> {
    world.push.sent.lock().expect("lock").clone()
}

#[tokio::test]
async fn a_burst_in_one_batch_is_one_notification_about_its_newest_message() {
    let world = world().await;
    let event = batch(
        (1..=3)
            .map(|seq| Some(message_image("grp:team", seq)))
            .collect(),
    );
    let response = world.handler.handle(event).await;
    assert!(response.batch_item_failures.is_empty());
    let sent = sent(&world);
    // carol only: bob's phone is online, alice sent it.
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (address, notification) = &sent[0];
    assert_eq!(address, "carol-phone");
    assert_eq!(notification.seq, 3);
    assert_eq!(notification.text, "hello 3");
    assert_eq!(notification.collapse_key, "grp:team");
}

#[tokio::test]
async fn a_batch_delivered_twice_notifies_once() {
    let (tally, _guard) = chat_metrics::for_this_thread(chat_metrics::Keep::Summary);
    let world = world().await;
    for _ in 0..2 {
        let event = batch(vec![
            Some(message_image("grp:team", 1)),
            Some(message_image("dm:alice:carol", 1)),
        ]);
        assert!(
            world
                .handler
                .handle(event)
                .await
                .batch_item_failures
                .is_empty()
        );
    }
    let mut about: Vec<String> = sent(&world)
        .into_iter()
        .map(|(address, n)| format!("{address} {}#{}", n.conversation_id, n.seq))
        .collect();
    about.sort();
    assert_eq!(
        about,
        vec!["carol-phone dm:alice:carol#1", "carol-phone grp:team#1"]
    );
    // What CloudWatch would chart: two pushes, the second delivery's two folded away.
    let counted = tally.snapshot();
    assert_eq!(counted.counter(names::PUSHES), 2);
    assert_eq!(counted.counter(names::PUSHES_COALESCED), 2);
    assert_eq!(counted.counter(names::STREAM_BATCH_FAILURES), 0);
}

#[tokio::test]
async fn a_poison_record_is_skipped_and_the_rest_notifies() {
    let (tally, _guard) = chat_metrics::for_this_thread(chat_metrics::Keep::Summary);
    let world = world().await;
    let event = batch(vec![None, Some(message_image("grp:team", 1)), None]);
    let response = world.handler.handle(event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(sent(&world).len(), 1);
    let counted = tally.snapshot();
    assert_eq!(counted.counter(names::STREAM_RECORDS_SKIPPED), 2);
    assert_eq!(counted.counter(names::PUSHES), 1);
    assert_eq!(counted.histograms[names::FANOUT_CONNECTIONS.name].count, 1);
}

#[tokio::test]
async fn a_disabled_endpoint_is_removed() {
    let world = world().await;
    world
        .push
        .disabled
        .lock()
        .expect("lock")
        .push("carol-phone".into());
    let event = batch(vec![Some(message_image("grp:team", 1))]);
    assert!(
        world
            .handler
            .handle(event)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(sent(&world).is_empty());
    let left = world
        .store
        .devices_of(&user("carol"))
        .await
        .expect("devices");
    assert!(left.is_empty(), "{left:?}");
    let bob = world.store.devices_of(&user("bob")).await.expect("devices");
    assert_eq!(bob.len(), 1, "bob's phone stays");
}
