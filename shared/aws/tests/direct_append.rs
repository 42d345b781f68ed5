//! The DynamoDB store's append for direct conversations (`dynamo/messages/direct.rs`) beyond
//! the port contract: what it costs (one `Query`, two `PutItem`s, no transaction), the states
//! an attempt that died midway leaves behind and how the retry completes them, retries through
//! separate instances, and seqs that go on after a retention's TTL deleted every message.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use chat_aws::metering::item_size;
use chat_aws::{DynamoStore, RequestMeter, create_tables};
use chat_domain::{
    Body, ClientMsgId, ConversationId, DeviceId, MessageId, Millis, NewMessage, UserId,
};
use chat_ports::{Appended, HistoryQuery, MessageStore};

fn user(raw: &str) -> UserId {
    UserId::parse(raw).expect("user id")
}

fn dm(a: &str, b: &str) -> (ConversationId, UserId, UserId) {
    let (a, b) = (user(a), user(b));
    (ConversationId::direct(&a, &b).expect("dm"), a, b)
}

fn draft(conversation: &ConversationId, sender: &UserId, client_msg_id: &str) -> NewMessage {
    NewMessage {
        conversation_id: conversation.clone(),
        message_id: MessageId::parse(&format!("m-{sender}-{client_msg_id}")).expect("id"),
        sender_id: sender.clone(),
        sender_device: DeviceId::parse("phone").expect("device id"),
        client_msg_id: ClientMsgId::parse(client_msg_id).expect("client_msg_id"),
        body: Some(Body::parse(format!("body of {client_msg_id}")).expect("body")),
        media: None,
        reply_to: None,
        sent_at: Millis(1_000),
        system: None,
    }
}

async fn append_new(store: &DynamoStore, message: NewMessage) -> u64 {
    match store.append(message).await.expect("append") {
        Appended::New(stored) => stored.seq.get(),
        Appended::Duplicate(original) => panic!("a duplicate of {original:?}"),
    }
}

async fn seqs(store: &DynamoStore, conversation: &ConversationId) -> Vec<(u64, String)> {
    let page = store
        .history(
            conversation,
            HistoryQuery::After {
                after: 0,
                limit: 50,
            },
        )
        .await
        .expect("history");
    page.messages
        .iter()
        .map(|m| (m.seq.get(), m.client_msg_id.to_string()))
        .collect()
}

/// The idempotency item of `(sender, client_msg_id)` as stored.
async fn claim(
    store: &DynamoStore,
    sender: &UserId,
    client_msg_id: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    support::moto_client()
        .get_item()
        .table_name(&store.tables().idempotency)
        .key("sender_id", AttributeValue::S(sender.to_string()))
        .key("client_msg_id", AttributeValue::S(client_msg_id.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get the claim")
        .item
}

/// Writes a claim of `(sender, client_msg_id)` for `seq`, as an attempt that died right after
/// its claim leaves it: a copy of a real claim (`template`'s) with the key and seq replaced.
async fn plant_claim(
    store: &DynamoStore,
    template: &UserId,
    template_id: &str,
    client_msg_id: &str,
    seq: u64,
) {
    let mut item = claim(store, template, template_id)
        .await
        .expect("the template claim");
    item.insert(
        "client_msg_id".into(),
        AttributeValue::S(client_msg_id.into()),
    );
    item.insert("seq".into(), AttributeValue::N(seq.to_string()));
    support::moto_client()
        .put_item()
        .table_name(&store.tables().idempotency)
        .set_item(Some(item))
        .send()
        .await
        .expect("plant the claim");
}

fn claimed_seq(item: &std::collections::HashMap<String, AttributeValue>) -> u64 {
    match item.get("seq") {
        Some(AttributeValue::N(n)) => n.parse().expect("a number"),
        other => panic!("no seq: {other:?}"),
    }
}

#[tokio::test]
async fn a_direct_append_is_one_query_and_two_puts_of_one_unit_each() {
    let tables = support::unique_tables();
    create_tables(&support::moto_client(), &tables)
        .await
        .expect("create the tables on moto");
    let meter = RequestMeter::for_tables(&tables);
    let config = aws_sdk_dynamodb::config::Builder::from(&support::moto_sdk_config())
        .interceptor(meter.clone())
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), tables.clone());
    let (conversation, alice, bob) = dm("metered-dm-alice", "metered-dm-bob");
    append_new(&store, draft(&conversation, &alice, "c1")).await;
    let first = meter.snapshot();
    append_new(&store, draft(&conversation, &bob, "c1")).await;
    let second = meter.snapshot().since(&first);

    // The second message: the newest message read (eventually consistent: half a unit), the
    // claim and the message put.
    let ops: Vec<&str> = second.operations.keys().map(String::as_str).collect();
    assert_eq!(ops, ["DynamoDB.PutItem", "DynamoDB.Query"], "{second:?}");
    let puts = &second.operations["DynamoDB.PutItem"];
    assert_eq!((puts.requests, puts.write_units), (2, 2.0));
    let query = &second.operations["DynamoDB.Query"];
    assert_eq!((query.requests, query.read_units), (1, 0.5));
    // No head item: the conversations table stays empty without a retention.
    let heads = support::moto_client()
        .scan()
        .table_name(&tables.conversations)
        .send()
        .await
        .expect("scan");
    assert!(heads.items().is_empty(), "{:?}", heads.items());
    // Both puts are of items under 1 KB, as the units above say.
    let messages = support::moto_client()
        .scan()
        .table_name(&tables.messages)
        .send()
        .await
        .expect("scan");
    assert!(messages.items().iter().all(|i| item_size(i) < 1024));
    // Bob's message notes Alice's newest (seq 1); Alice's, the first, notes nothing.
    let peer_of = |seq: &str| {
        messages
            .items()
            .iter()
            .find(|i| i.get("seq") == Some(&AttributeValue::N(seq.into())))
            .map(|i| i.get("peer_last_seq").cloned())
            .expect("the message")
    };
    assert_eq!(peer_of("1"), None);
    assert_eq!(peer_of("2"), Some(AttributeValue::N("1".into())));
    // The first message also read the (absent) floor: one `GetItem` more, once a conversation.
    assert_eq!(
        first.operations["DynamoDB.GetItem"].requests, 1,
        "{first:?}"
    );
}

#[tokio::test]
async fn a_claim_left_without_its_message_is_completed_by_the_retry() {
    let store = support::fresh_store().await;
    let (conversation, alice, bob) = dm("halfway-alice", "halfway-bob");
    append_new(&store, draft(&conversation, &alice, "c1")).await;
    // alice's next send claimed seq 2 and died before its put.
    plant_claim(&store, &alice, "c1", "c2", 2).await;

    // bob's message comes first: the empty slot is his, and the retry moves to seq 3.
    assert_eq!(
        append_new(&store, draft(&conversation, &bob, "b1")).await,
        2
    );
    assert_eq!(
        append_new(&store, draft(&conversation, &alice, "c2")).await,
        3
    );
    let moved = claim(&store, &alice, "c2").await.expect("the claim");
    assert_eq!(claimed_seq(&moved), 3);
    // A retry of the retry is the original.
    let again = store
        .append(draft(&conversation, &alice, "c2"))
        .await
        .expect("append");
    assert_eq!(again.message().seq.get(), 3);
    assert!(!again.is_new());

    // Claimed and died again, and nobody came in between: the retry takes the claimed slot.
    plant_claim(&store, &alice, "c1", "c3", 4).await;
    assert_eq!(
        append_new(&store, draft(&conversation, &alice, "c3")).await,
        4
    );
    assert_eq!(
        seqs(&store, &conversation).await,
        [
            (1, "c1".to_string()),
            (2, "b1".to_string()),
            (3, "c2".to_string()),
            (4, "c3".to_string())
        ]
    );
}

#[tokio::test]
async fn retries_of_a_direct_send_through_separate_instances_store_it_once() {
    let store = support::fresh_store().await;
    let (conversation, alice, bob) = dm("instances-alice", "instances-bob");
    let mut outcomes = Vec::new();
    for t in 0..4 {
        // Each retry through a store of its own, as separate Lambda instances, bob's messages
        // landing between them.
        let instance = DynamoStore::new(support::moto_client(), store.tables().clone());
        outcomes.push(
            instance
                .append(draft(&conversation, &alice, "same"))
                .await
                .expect("append"),
        );
        append_new(&instance, draft(&conversation, &bob, &format!("b{t}"))).await;
    }
    assert_eq!(outcomes.iter().filter(|a| a.is_new()).count(), 1);
    assert!(outcomes.iter().all(|a| a.message().seq.get() == 1));
    let stored: Vec<u64> = seqs(&store, &conversation)
        .await
        .iter()
        .map(|(seq, _)| *seq)
        .collect();
    assert_eq!(stored, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn with_a_retention_seqs_go_on_after_every_message_expired() {
    let store = support::fresh_store()
        .await
        .with_message_retention(Some(30));
    let (conversation, alice, bob) = dm("expired-alice", "expired-bob");
    for n in 1..=3 {
        append_new(&store, draft(&conversation, &alice, &format!("c{n}"))).await;
    }
    // DynamoDB's TTL deletes them all (here: by hand).
    for seq in 1..=3u64 {
        support::moto_client()
            .delete_item()
            .table_name(&store.tables().messages)
            .key(
                "conversation_id",
                AttributeValue::S(conversation.to_string()),
            )
            .key("seq", AttributeValue::N(seq.to_string()))
            .send()
            .await
            .expect("delete");
    }
    assert!(seqs(&store, &conversation).await.is_empty());
    assert_eq!(
        append_new(&store, draft(&conversation, &bob, "b1")).await,
        4
    );
}

#[tokio::test]
async fn a_retry_raises_the_floor_that_its_first_attempt_died_before() {
    let store = support::fresh_store()
        .await
        .with_message_retention(Some(30));
    let (conversation, alice, _) = dm("floorless-alice", "floorless-bob");
    append_new(&store, draft(&conversation, &alice, "c1")).await;
    // The first attempt stored its message and died before the floor.
    let head_key = |c: &ConversationId| AttributeValue::S(c.to_string());
    support::moto_client()
        .delete_item()
        .table_name(&store.tables().conversations)
        .key("conversation_id", head_key(&conversation))
        .send()
        .await
        .expect("delete the floor");
    let retry = store
        .append(draft(&conversation, &alice, "c1"))
        .await
        .expect("retry");
    assert!(!retry.is_new());
    let head = support::moto_client()
        .get_item()
        .table_name(&store.tables().conversations)
        .key("conversation_id", head_key(&conversation))
        .consistent_read(true)
        .send()
        .await
        .expect("get the floor")
        .item
        .expect("the retry wrote the floor");
    assert_eq!(head.get("last_seq"), Some(&AttributeValue::N("1".into())));
}
