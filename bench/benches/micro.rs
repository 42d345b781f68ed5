//! Micro-benchmarks (criterion) of the hot paths every message crosses: parsing and validating
//! a `send` frame, serializing the `message` event, appending to the embedded store (one at a
//! time and 16 in flight, where group commit would show), and converting a message to and from
//! its DynamoDB item. `cargo bench -p chat-bench --bench micro`.

use std::sync::Arc;

use chat_domain::events::ServerEvent;
use chat_domain::frames::{SendFrame, read_frame};
use chat_domain::{
    Body, ClientMsgId, ConversationId, DeviceId, MessageId, Millis, NewMessage, Seq, StoredMessage,
    UserId,
};
use chat_ports::MessageStore;
use chat_store_sqlite::SqliteStore;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const SEND_FRAME: &str = r#"{"action":"send","to":"bob","client_msg_id":"c-0001","body":"see you at eight, bring the map"}"#;

fn stored(n: u64) -> StoredMessage {
    new_message(n).stored_at(Seq::new(n).expect("seq ≥ 1"))
}

fn new_message(n: u64) -> NewMessage {
    NewMessage {
        conversation_id: ConversationId::parse("dm:alice:bob").expect("id"),
        message_id: MessageId::generate(Millis(1_700_000_000_000 + n as i64)),
        sender_id: UserId::parse("alice").expect("user"),
        sender_device: DeviceId::parse("phone").expect("device"),
        client_msg_id: ClientMsgId::parse(&format!("c-{n}")).expect("client id"),
        body: Some(Body::parse("see you at eight, bring the map".to_string()).expect("body")),
        media: None,
        reply_to: None,
        sent_at: Millis(1_700_000_000_000),
        system: None,
    }
}

fn frames(c: &mut Criterion) {
    let alice = UserId::parse("alice").expect("user");
    c.bench_function("send frame: parse + validate", |b| {
        b.iter(|| {
            let frame: SendFrame =
                read_frame(Some(std::hint::black_box(SEND_FRAME))).expect("frame");
            frame.parse(&alice).expect("command")
        })
    });
    let event = ServerEvent::message(stored(1));
    c.bench_function("message event: serialize", |b| {
        b.iter(|| std::hint::black_box(&event).to_json())
    });
}

fn dynamo_items(c: &mut Criterion) {
    let message = stored(1);
    c.bench_function("dynamodb item: to_item", |b| {
        b.iter(|| {
            let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
                serde_dynamo::to_item(std::hint::black_box(&message)).expect("item");
            item
        })
    });
    let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
        serde_dynamo::to_item(&message).expect("item");
    c.bench_function("dynamodb item: from_item", |b| {
        b.iter_batched(
            || item.clone(),
            |item| serde_dynamo::from_item::<_, StoredMessage>(item).expect("message"),
            BatchSize::SmallInput,
        )
    });
}

fn store_append(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let store = Arc::new(SqliteStore::open(dir.path()).expect("store"));
    let mut n = 0u64;
    let mut group = c.benchmark_group("sqlite append (group commit)");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    group.bench_function("one", |b| {
        b.iter(|| {
            n += 1;
            runtime
                .block_on(store.append(new_message(n)))
                .expect("append")
        })
    });
    group.throughput(Throughput::Elements(16));
    group.bench_function("16 in flight", |b| {
        b.iter(|| {
            let base = n;
            n += 16;
            runtime.block_on(async {
                let appends = (1..=16).map(|k| {
                    let store = store.clone();
                    async move { store.append(new_message(base + k)).await }
                });
                for appended in futures_util::future::join_all(appends).await {
                    appended.expect("append");
                }
            })
        })
    });
    group.finish();
}

criterion_group!(micro, frames, dynamo_items, store_append);
criterion_main!(micro);
