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

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use aws_lambda_events::dynamodb::{Event, EventRecord};
use chat_domain::StoredMessage;
use chat_handlers::StreamHandler;
use chat_store_sqlite::Change;
use serde_json::json;
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

/// The record the messages table's stream would carry for `change` (NEW_IMAGE), built as the
/// event's JSON and deserialized, as the DynamoDB stream poller does.
fn stream_record(change: &Change, sequence: u64) -> anyhow::Result<EventRecord> {
    let (name, message) = match change {
        Change::Inserted(message) => ("INSERT", message),
        Change::Modified(message) => ("MODIFY", message),
    };
    let image: serde_dynamo::Item =
        serde_dynamo::to_item(message).context("a message as a stream image")?;
    let keys = json!({
        "conversation_id": { "S": message.conversation_id.to_string() },
        "seq": { "N": message.seq.to_string() },
    });
    let event = json!({
        "awsRegion": "local",
        "eventID": format!("feed-{sequence}"),
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "eventSourceARN": "chat-local:embedded-store:messages",
        "dynamodb": {
            "ApproximateCreationDateTime": message.sent_at.as_i64() / 1000,
            "Keys": keys,
            "NewImage": serde_json::to_value(image).context("an image as DynamoDB JSON")?,
            "SequenceNumber": format!("{sequence:021}"),
            "SizeBytes": 0,
            "StreamViewType": "NEW_IMAGE",
        },
    });
    serde_json::from_value(event).context("a DynamoDB stream event record")
}
