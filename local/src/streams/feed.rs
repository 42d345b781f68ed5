//! The embedded store's change feed as a stream event source: on the default backend, every
//! durable message change (`chat_store_sqlite::Change`) becomes the DynamoDB stream record the
//! messages table would have produced, and the same `StreamHandler` the stream Lambda runs
//! fans it out. This is what keeps delivery in seq order on one process: the feed holds each
//! conversation's messages in commit order, and a conversation's records are handled one after
//! another, here and in the handler.
//!
//! Like an event source mapping over a table with several shards: changes are spread over
//! [`LANES`] workers by conversation (a conversation always goes to the same worker, in
//! order), each worker hands the handler up to [`BATCH_SIZE`] records at once, and a batch
//! whose handler reports a failed record is retried from that record, at most
//! [`super::MAX_RETRIES`] times, before the record is given up (logged; devices get it through
//! `sync`).

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use aws_lambda_events::dynamodb::{Event, EventRecord, StreamRecord, StreamViewType};
use chat_domain::StoredMessage;
use chat_handlers::StreamHandler;
use chat_store_sqlite::Change;
use chrono::DateTime;
use serde_dynamo::AttributeValue;
use tokio::sync::mpsc;

use crate::instruments::{self, InvocationMeter};

/// How many workers share the conversations (a table's shards, in effect).
const LANES: usize = 8;
/// Most records in one handler call, as the template's `BatchSize`.
const BATCH_SIZE: usize = 100;
/// The pause before a failed batch is handed over again.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Feeds `changes` to `handler` until the feed closes (the store is gone).
pub(crate) fn spawn(
    mut changes: mpsc::UnboundedReceiver<Change>,
    handler: Arc<StreamHandler>,
    invocations: Option<InvocationMeter>,
) -> tokio::task::JoinHandle<()> {
    let sequence = Arc::new(AtomicU64::new(0));
    let lanes: Vec<mpsc::UnboundedSender<EventRecord>> = (0..LANES)
        .map(|_| {
            let (lane, records) = mpsc::unbounded_channel();
            tokio::spawn(worker(records, handler.clone(), invocations.clone()));
            lane
        })
        .collect();
    tokio::spawn(async move {
        while let Some(change) = changes.recv().await {
            let record = match stream_record(&change, sequence.fetch_add(1, Ordering::Relaxed)) {
                Ok(record) => record,
                Err(err) => {
                    tracing::error!(error = %err, "a change that is no stream record; skipped");
                    continue;
                }
            };
            let lane = lane_of(change.message(), lanes.len());
            if lanes[lane].send(record).is_err() {
                return; // The workers only stop with the runtime.
            }
        }
    })
}

fn lane_of(message: &StoredMessage, lanes: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    message.conversation_id.hash(&mut hasher);
    // The remainder is below `lanes`, the length of the vector: the index is in bounds.
    (hasher.finish() % lanes as u64) as usize
}

/// One lane: batches of what has arrived, each handed over until it is done.
async fn worker(
    mut records: mpsc::UnboundedReceiver<EventRecord>,
    handler: Arc<StreamHandler>,
    invocations: Option<InvocationMeter>,
) {
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    while records.recv_many(&mut batch, BATCH_SIZE).await > 0 {
        let mut retries = 0;
        while !batch.is_empty() {
            let mut event = Event::default();
            event.records = batch.clone();
            let response =
                instruments::invoke(invocations.as_ref(), "stream", handler.handle(event)).await;
            let failed = response
                .batch_item_failures
                .first()
                .and_then(|f| f.item_identifier.clone())
                .and_then(|id| {
                    batch
                        .iter()
                        .position(|r| r.change.sequence_number.as_deref() == Some(&id))
                });
            let Some(position) = failed else {
                batch.clear();
                break;
            };
            batch.drain(..position);
            retries += 1;
            if retries > super::MAX_RETRIES {
                tracing::error!(event_id = %batch[0].event_id, retries,
                    "giving up on a feed record after its retries; devices get it through sync");
                batch.remove(0);
                retries = 0;
            } else {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// The record the messages table's stream would carry for `change` (NEW_IMAGE): the image
/// is the message's DynamoDB item, as the DynamoDB store writes it, and the handler decodes it
/// exactly as it decodes a real stream's. Built as the struct, not as the event's JSON parsed
/// back: that round trip was a tenth of chat-local's CPU at 10,000 msg/s (measured in
/// `docs/performance.md`, "The per-message path").
fn stream_record(change: &Change, sequence: u64) -> anyhow::Result<EventRecord> {
    let (name, message) = match change {
        Change::Inserted(message) => ("INSERT", message),
        Change::Modified(message) => ("MODIFY", message),
    };
    let image: serde_dynamo::Item =
        serde_dynamo::to_item(message).context("a message as a stream image")?;
    let keys: serde_dynamo::Item = HashMap::from([
        (
            "conversation_id".to_string(),
            AttributeValue::S(message.conversation_id.to_string()),
        ),
        (
            "seq".to_string(),
            AttributeValue::N(message.seq.to_string()),
        ),
    ])
    .into();
    let mut stream = StreamRecord::default();
    // Whole seconds, as the stream reports it (its default precision).
    stream.approximate_creation_date_time =
        DateTime::from_timestamp(message.sent_at.as_i64().div_euclid(1000), 0).unwrap_or_default();
    stream.keys = keys;
    stream.new_image = image;
    stream.sequence_number = Some(format!("{sequence:021}"));
    stream.stream_view_type = Some(StreamViewType::NewImage);
    let mut record = EventRecord::default();
    record.aws_region = "local".to_string();
    record.change = stream;
    record.event_id = format!("feed-{sequence}");
    record.event_name = name.to_string();
    record.event_source = Some("aws:dynamodb".to_string());
    record.event_version = Some("1.1".to_string());
    record.event_source_arn = Some("chat-local:embedded-store:messages".to_string());
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::{
        Body, ClientMsgId, ConversationId, DeviceId, MessageId, Millis, Seq, UserId,
    };

    fn message() -> StoredMessage {
        StoredMessage {
            conversation_id: ConversationId::parse("grp:feed").expect("conversation"),
            seq: Seq::new(42).expect("seq"),
            message_id: MessageId::parse("m-1").expect("message id"),
            sender_id: UserId::parse("alice").expect("user"),
            sender_device: DeviceId::parse("phone").expect("device"),
            client_msg_id: ClientMsgId::parse("c-1").expect("client id"),
            body: Some(Body::parse("hello".to_string()).expect("body")),
            media: None,
            reply_to: None,
            sent_at: Millis(1_700_000_123_456),
            system: None,
            recalled: None,
        }
    }

    #[test]
    fn a_feed_record_is_what_a_stream_delivers_and_decodes_back_to_the_message() {
        let record = stream_record(&Change::Inserted(message()), 7).expect("record");
        // Lambda hands the consumer JSON: the record survives that trip unchanged, so the
        // handler sees the same record on AWS and here.
        let wire = serde_json::to_value(&record).expect("as JSON");
        assert_eq!(wire["eventName"], "INSERT");
        assert_eq!(wire["eventSource"], "aws:dynamodb");
        assert_eq!(wire["dynamodb"]["Keys"]["conversation_id"]["S"], "grp:feed");
        assert_eq!(wire["dynamodb"]["Keys"]["seq"]["N"], "42");
        assert_eq!(wire["dynamodb"]["StreamViewType"], "NEW_IMAGE");
        assert_eq!(wire["dynamodb"]["SequenceNumber"], "000000000000000000007");
        assert_eq!(
            wire["dynamodb"]["ApproximateCreationDateTime"],
            1_700_000_123
        );
        let parsed: EventRecord = serde_json::from_value(wire).expect("parsed back");
        assert_eq!(parsed, record);
        let decoded: StoredMessage =
            serde_dynamo::from_item(record.change.new_image).expect("a message");
        assert_eq!(decoded, message());
    }

    #[test]
    fn a_recall_is_a_modify_record() {
        let record = stream_record(&Change::Modified(message()), 8).expect("record");
        assert_eq!(record.event_name, "MODIFY");
        assert_eq!(record.event_id, "feed-8");
    }
}
