//! The messages table's change stream: group fan-out off the sender's path. Fed
//! `aws_lambda_events` DynamoDB stream events, by Lambda's event source mapping on AWS and by
//! `chat-local`'s stream poller on `--backend aws`.
//!
//! A message item's attributes are exactly `StoredMessage`'s serde form (the data model's
//! contract, `docs/data-model.md`), so a `NewImage` decodes straight into the domain type.
//!
//! Failure semantics follow `ReportBatchItemFailures`: the first record whose fan-out failed
//! for a reason worth retrying (a store read) is reported, and the mapping re-delivers the
//! batch from there; records before it are done. A record that can never succeed (an image that
//! is not a message) is logged and skipped, so one bad record cannot stall its shard.

use std::sync::Arc;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chat_domain::{ChatError, StoredMessage};
use chat_ports::{Clock, ConnectionPusher, ConnectionStore, MembershipStore};
use tracing::Instrument;

use crate::fanout::{Skip, push_message};

pub struct StreamHandler {
    pub connections: Arc<dyn ConnectionStore>,
    pub memberships: Arc<dyn MembershipStore>,
    pub pusher: Arc<dyn ConnectionPusher>,
    pub clock: Arc<dyn Clock>,
}

impl StreamHandler {
    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let span = tracing::info_span!("stream", records = event.records.len());
        async move {
            let mut response = DynamoDbEventResponse::default();
            for record in &event.records {
                if let Err(err) = self.record(record).await {
                    tracing::warn!(event_id = %record.event_id, error = %err,
                        "fan-out failed; the batch is retried from this record");
                    let mut failure = DynamoDbBatchItemFailure::default();
                    failure.item_identifier = record.change.sequence_number.clone();
                    response.batch_item_failures.push(failure);
                    break;
                }
            }
            response
        }
        .instrument(span)
        .await
    }

    async fn record(&self, record: &EventRecord) -> Result<(), ChatError> {
        if record.event_name != "INSERT" {
            return Ok(()); // Messages are written once; updates and TTL deletions fan out nothing.
        }
        let message: StoredMessage = match serde_dynamo::from_item(record.change.new_image.clone())
        {
            Ok(message) => message,
            Err(err) => {
                tracing::error!(event_id = %record.event_id, error = %err,
                    "a stream record that is not a message; skipped");
                return Ok(());
            }
        };
        if message.conversation_id.direct_members().is_some() {
            return Ok(()); // `send` pushed it inline.
        }
        let delivered = push_message(
            &*self.connections,
            &*self.memberships,
            &*self.pusher,
            &message,
            Skip::Device(&message.sender_id, &message.sender_device),
            self.clock.now(),
        )
        .await?;
        tracing::info!(conversation = %message.conversation_id, seq = %message.seq, delivered,
            "group message fanned out");
        Ok(())
    }
}
