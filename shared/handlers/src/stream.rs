//! The messages table's change stream: fan-out off the sender's path, in seq order. Fed
//! `aws_lambda_events` DynamoDB stream events: by Lambda's event source mapping on AWS, by
//! `chat-local`'s stream poller on `--backend aws`, and by `chat-local`'s pump over the
//! embedded store's change feed (which carries direct messages too, see [`Delivery`]).
//!
//! **Order.** A stream shard holds a conversation's records in the order they were written
//! (the conversation is the partition key), and so does the embedded feed. Records of one
//! conversation are handled one after another, each fully pushed before the next starts, so
//! every connection receives them in seq order; records of different conversations in one
//! batch run side by side.
//!
//! A message item's attributes are exactly `StoredMessage`'s serde form (the data model's
//! contract, `docs/data-model.md`), so a `NewImage` decodes straight into the domain type.
//!
//! Failure semantics follow `ReportBatchItemFailures`: a conversation stops at its first
//! record whose fan-out failed for a reason worth retrying (a store read), the earliest such
//! record of the batch is reported, and the mapping re-delivers the batch from there (records
//! of other conversations after it go out twice: at-least-once, same seq and message id). A record that can never succeed (an image that
//! is not a message) is logged and skipped, so one bad record cannot stall its shard.

use std::sync::Arc;

use std::collections::HashMap;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chat_domain::events::ServerEvent;
use chat_domain::{ChatError, StoredMessage, SystemKind, UserId};
use chat_ports::{Clock, ConnectionPusher, ConnectionStore, MembershipStore};
use futures_util::StreamExt;
use tracing::Instrument;

use crate::Notifier;
use crate::fanout::{Delivery, Fanout, Skip};

/// How many conversations of one batch are fanned out at once.
const CONVERSATIONS_AT_ONCE: usize = 16;

pub struct StreamHandler {
    pub connections: Arc<dyn ConnectionStore>,
    pub memberships: Arc<dyn MembershipStore>,
    pub pusher: Arc<dyn ConnectionPusher>,
    pub clock: Arc<dyn Clock>,
    /// Which messages `send` pushed itself (those are skipped here).
    pub delivery: Delivery,
    /// Push notifications to offline devices (`None`: this deployment sends none).
    pub notifier: Option<Arc<Notifier>>,
}

impl StreamHandler {
    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let span = tracing::info_span!("stream", records = event.records.len());
        async move {
            // Each lane answers the batch position of its first failed record, if any. (The
            // futures are made up front: a lazy `map` closure over borrowed records trips the
            // compiler's `Send` inference in the spawned hosts.)
            let lanes: Vec<_> = by_conversation(&event.records)
                .into_iter()
                .map(|lane| self.lane(lane))
                .collect();
            let failed = futures_util::stream::iter(lanes)
                .buffer_unordered(CONVERSATIONS_AT_ONCE)
                .collect::<Vec<Option<usize>>>()
                .await
                .into_iter()
                .flatten()
                .min();
            let mut response = DynamoDbEventResponse::default();
            if let Some(position) = failed {
                chat_metrics::count(chat_metrics::names::STREAM_BATCH_FAILURES, 1);
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = event.records[position].change.sequence_number.clone();
                response.batch_item_failures.push(failure);
            }
            response
        }
        .instrument(span)
        .await
    }

    /// One conversation's records, one after another; stops at the first failure and answers
    /// its position in the batch.
    async fn lane(&self, lane: Vec<(usize, &EventRecord)>) -> Option<usize> {
        // Only the lane's last new message is notified: a burst within one batch leaves one
        // notification, about its newest message.
        let last_insert = lane
            .iter()
            .rev()
            .find(|(_, r)| r.event_name == "INSERT")
            .map(|(position, _)| *position);
        for (position, record) in lane {
            let notify = Some(position) == last_insert;
            if let Err(err) = self.record(record, notify).await {
                tracing::warn!(event_id = %record.event_id, error = %err,
                    "fan-out failed; the batch is retried from this record");
                return Some(position);
            }
        }
        None
    }

    async fn record(&self, record: &EventRecord, notify: bool) -> Result<(), ChatError> {
        // A message is inserted once and modified only by a recall; a TTL deletion (REMOVE)
        // fans out nothing.
        let inserted = match record.event_name.as_str() {
            "INSERT" => true,
            "MODIFY" => false,
            _ => return Ok(()),
        };
        let message: StoredMessage = match serde_dynamo::from_item(record.change.new_image.clone())
        {
            Ok(message) => message,
            Err(err) => {
                chat_metrics::count(chat_metrics::names::STREAM_RECORDS_SKIPPED, 1);
                tracing::error!(event_id = %record.event_id, error = %err,
                    "a stream record that is not a message; skipped");
                return Ok(());
            }
        };
        if !self.delivery.inline(&message.conversation_id) {
            self.fan_out(&message, inserted).await?;
        } // else `send` (or `recall`) pushed it.
        if let (true, true, Some(notifier)) = (inserted, notify, &self.notifier) {
            notifier.message(&message).await?;
        }
        Ok(())
    }

    async fn fan_out(&self, message: &StoredMessage, inserted: bool) -> Result<(), ChatError> {
        let fanout = Fanout {
            connections: &*self.connections,
            memberships: &*self.memberships,
            pusher: &*self.pusher,
            now: self.clock.now(),
        };
        let (also, frames, skip) = if inserted {
            let (also, frames) = frames_of(message);
            let sender = Skip::Device(&message.sender_id, &message.sender_device);
            (also, frames, sender)
        } else {
            // A modification is a recall, or nothing to tell (an emulator's no-op MODIFY).
            let Some(recall) = &message.recalled else {
                return Ok(());
            };
            let event = crate::ws::recalled_event(message, recall);
            // Every device, the recalling one included: that is its confirmation.
            (Vec::new(), vec![event.to_json()], Skip::Nobody)
        };
        let tally = fanout
            .message_to_conversation(
                &message.conversation_id,
                Some(message.seq),
                &also,
                &frames,
                skip,
            )
            .await?;
        tracing::info!(conversation = %message.conversation_id, seq = %message.seq,
            delivered = tally.delivered, gone = tally.gone, failed = tally.failed,
            "message fanned out");
        Ok(())
    }
}

/// Changes of at most this many members also go out as one `member_added` / `member_removed`
/// event per member; larger ones only as their system message (which names them all), so
/// that adding 90 people to a 10,000-member group is not 900,000 posts.
const MEMBER_EVENTS_MAX: usize = 10;

/// What a stored message is pushed as, and to whom beyond the current members: the `message`
/// event; for a system message about members, their `member_added` / `member_removed`
/// events, and the members it took out (so that they hear of it too).
fn frames_of(message: &StoredMessage) -> (Vec<UserId>, Vec<String>) {
    let mut frames = vec![ServerEvent::message(message.clone()).to_json()];
    let Some(system) = &message.system else {
        return (Vec::new(), frames);
    };
    let users = system.user_ids.as_deref().unwrap_or_default();
    if users.len() <= MEMBER_EVENTS_MAX {
        for user in users {
            let (conversation_id, user_id, by) = (
                message.conversation_id.clone(),
                user.clone(),
                message.sender_id.clone(),
            );
            let event = match system.event {
                SystemKind::MemberAdded => ServerEvent::MemberAdded {
                    conversation_id,
                    user_id,
                    by,
                },
                SystemKind::MemberRemoved | SystemKind::MemberLeft => ServerEvent::MemberRemoved {
                    conversation_id,
                    user_id,
                    by,
                },
                _ => continue,
            };
            frames.push(event.to_json());
        }
    }
    (system.departed().to_vec(), frames)
}

/// The messages table's partition key, as stream records carry it in `Keys`.
const CONVERSATION_KEY: &str = "conversation_id";

/// The batch's records by conversation, each lane in batch order, with each record's position
/// in the batch. The conversation comes from the record's keys (or, failing that, its image);
/// a record with neither is a lane of its own.
fn by_conversation(records: &[EventRecord]) -> Vec<Vec<(usize, &EventRecord)>> {
    let mut lanes: Vec<Vec<(usize, &EventRecord)>> = Vec::new();
    let mut lane_of: HashMap<&str, usize> = HashMap::new();
    for (position, record) in records.iter().enumerate() {
        let change = &record.change;
        let key = match change
            .keys
            .get(CONVERSATION_KEY)
            .or_else(|| change.new_image.get(CONVERSATION_KEY))
        {
            Some(serde_dynamo::AttributeValue::S(id)) => Some(id.as_str()),
            _ => None,
        };
        match key.and_then(|k| lane_of.get(k).copied()) {
            Some(lane) => lanes[lane].push((position, record)),
            None => {
                if let Some(k) = key {
                    lane_of.insert(k, lanes.len());
                }
                lanes.push(vec![(position, record)]);
            }
        }
    }
    lanes
}
