//! `append` for a direct (1:1) conversation: two plain conditional writes instead of a
//! three-item transaction, and no head item. About 2 WRU a message instead of 6, and still
//! gap-free and idempotent.
//!
//! A direct conversation needs no head: it has no name, no member count and no settings that a
//! group change would race on, so its "head" is its newest message, read with one `Query`
//! (newest first, `Limit 1`; eventually consistent the first time, see below). One attempt:
//!
//! 1. **Claim** the idempotency key `(sender_id, client_msg_id)` with the seq this attempt
//!    intends, `last + 1` (`PutItem`, on condition that the key is new). A taken key is an
//!    earlier attempt of the same send: see below.
//! 2. **Put** the message at the claimed seq, on condition that the slot is empty. Only here
//!    does a seq come into being, and only right after the newest one (or at a claimed seq
//!    whose slot is still empty, which was `last + 1` when claimed and has stayed so), so seqs
//!    never skip; the condition means none is shared. A slot taken by another message is a
//!    lost race: the claim is moved to the next free seq (on condition that it still says the
//!    old one) and the put is tried again.
//!
//! A taken key says where the earlier attempt meant to put its message. The message there is
//! the earlier attempt's (the answer is `Duplicate`), or another sender's (the earlier attempt
//! lost its race and died before moving its claim: this one moves it), or nothing yet (the
//! earlier attempt died between its claim and its put, or is still under way: this one puts
//! at the claimed seq, and whichever put lands second finds the first one's message, the same
//! send, and answers `Duplicate`).
//!
//! The first read of the newest message is eventually consistent (0.5 read units instead of
//! 1): a read a moment behind can only name a seq that is already taken (messages are never
//! removed but by expiry), so the put fails, and the retry reads strongly consistently. Each
//! message also notes the other member's newest seq (`peer_last_seq`, from the same read),
//! so the newest message alone says how far each member's own messages go: what counts as
//! read for them without a read-mark write per message (`ConversationHead::last_sent`).
//!
//! Nothing is written that names a seq before the seq is taken, so an attempt that dies
//! anywhere leaves no gap: a claim without a message is completed by the retry, or overtaken
//! by the next message (whose slot it then is).
//!
//! **Retention.** With a message retention set, DynamoDB's TTL deletes old messages, and a
//! conversation quiet for longer than the retention would have no newest message left to
//! continue from: its seqs would start again at 1 under clients' read marks. So with a
//! retention each stored message also raises the head item's `last_seq` (one conditional
//! `UpdateItem`, after the put), which the append reads when the conversation has no message.
//! Heads written by the transactional append of earlier versions serve the same way.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chat_domain::{ChatError, ConversationId, NewMessage, Seq, StoredMessage};
use chat_ports::{Appended, PortResult};

use super::items::{IdempotencyItem, LAST_SEQ, MessageItem};
use super::keys;
use crate::dynamo::DynamoStore;
use crate::dynamo::codec::{Item, from_item, from_items, is_condition_failed, n, s, to_item};
use crate::errors::internal;

/// What a claim of the idempotency key came to.
enum Claim {
    /// The key is ours, at the seq we asked for.
    New,
    /// The key was claimed before, by an earlier attempt of this send.
    Taken(IdempotencyItem),
}

/// How a read of the newest message is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Read {
    /// Strongly consistent: every acknowledged append is seen (1 read unit).
    Consistent,
    /// Eventually consistent: half the read units, and perhaps a moment behind.
    Eventual,
}

/// Where a direct conversation ends, as one read saw it.
struct Tip {
    newest: Option<MessageItem>,
    /// The seq the next message follows (`None`: there is none yet).
    seq: Option<Seq>,
}

/// What putting the message at a seq came to.
enum Put {
    Stored,
    /// Another message holds the slot (returned by the failed condition).
    Taken(Option<Box<StoredMessage>>),
}

impl DynamoStore {
    pub(super) async fn append_direct(&self, message: NewMessage) -> PortResult<Appended> {
        let backoff = self.append_backoff;
        let conversation = message.conversation_id.clone();
        let _lane = self.append_lanes.enter(&conversation).await;
        // The first read may be stale (half the read units): a stale newest message only
        // sends the put to a taken slot, and the retry reads strongly consistently.
        let mut tip = self.tip(&conversation, Read::Eventual).await?;
        let mut seq = Seq::after(tip.seq);
        let mut claim = match self.claim(&message, seq).await? {
            Claim::New => IdempotencyItem::of(&message, seq, self.message_ttl(message.sent_at)),
            Claim::Taken(earlier) => earlier,
        };
        for attempt in 1..=backoff.max_attempts {
            if claim.conversation_id != conversation {
                return Err(ChatError::conflict(format!(
                    "client_msg_id {} was already used in another conversation",
                    message.client_msg_id
                )));
            }
            seq = claim.seq;
            let stored = message.clone().stored_at(seq);
            if Seq::after(tip.seq) != seq {
                // A claim of an earlier attempt, at a seq this read did not end before: a look
                // at the end as it is now says whether the slot is still next (and what the
                // message notes as the other member's newest).
                tip = self.tip(&conversation, Read::Consistent).await?;
            }
            let peer = tip
                .newest
                .as_ref()
                .and_then(|newest| newest.peer_last_seq_for(&message.sender_id, seq));
            let holder = match self.put_at(&stored, peer).await? {
                Put::Stored => {
                    self.raise_floor(&stored).await?;
                    return Ok(Appended::New(stored));
                }
                Put::Taken(Some(holder)) => *holder,
                Put::Taken(None) => match self.message_at(&conversation, seq).await? {
                    Some(holder) => holder,
                    None => continue, // Gone again (expired): try the same slot once more.
                },
            };
            if is_same_send(&holder, &message) {
                // The first attempt may have failed after its put, at the floor.
                self.raise_floor(&holder).await?;
                return Ok(Appended::Duplicate(holder));
            }
            if attempt == backoff.max_attempts {
                break;
            }
            tracing::debug!(%conversation, attempt, "direct append lost the seq race");
            backoff.pause(attempt).await;
            tip = self.tip(&conversation, Read::Consistent).await?;
            let next = Seq::after(tip.seq);
            claim = match self.move_claim(&claim, next).await? {
                Some(moved) => moved,
                // Another attempt of this send moved it first: follow it.
                None => self.claim_of(&message).await?,
            };
        }
        Err(ChatError::Internal {
            context: format!(
                "append to {conversation}: lost the seq race {} times",
                backoff.max_attempts
            ),
            cause: None,
        })
    }

    /// Where the conversation ends: its newest message, and the seq to continue from, which
    /// is that message's or, when it has none, the head's `last_seq` (a retention floor, or a
    /// head of the transactional append); `None` before the first message.
    async fn tip(&self, conversation: &ConversationId, read: Read) -> PortResult<Tip> {
        let newest = self.newest_item(conversation, read).await?;
        let seq = match &newest {
            Some(newest) => Some(newest.seq()),
            None => self.head_last_seq(conversation).await?,
        };
        Ok(Tip { newest, seq })
    }

    /// The conversation's newest message item: one `Query`, newest first, `Limit 1`.
    pub(super) async fn newest_item(
        &self,
        conversation: &ConversationId,
        read: Read,
    ) -> PortResult<Option<MessageItem>> {
        let output = self
            .client
            .query()
            .table_name(&self.tables.messages)
            .consistent_read(read == Read::Consistent)
            .scan_index_forward(false)
            .limit(1)
            .key_condition_expression("#conversation = :conversation")
            .expression_attribute_names("#conversation", keys::MESSAGE_HASH)
            .expression_attribute_values(":conversation", s(conversation))
            .send()
            .await
            .map_err(|e| internal("the newest message", e))?;
        let newest: Vec<MessageItem> = from_items("message", output.items.unwrap_or_default())?;
        Ok(newest.into_iter().next())
    }

    /// Claims `(sender_id, client_msg_id)` for `seq`, or answers the earlier claim.
    async fn claim(&self, message: &NewMessage, seq: Seq) -> PortResult<Claim> {
        let item = IdempotencyItem::of(message, seq, self.message_ttl(message.sent_at));
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.idempotency)
            .set_item(Some(to_item("idempotency key", &item)?))
            .condition_expression("attribute_not_exists(#client)")
            .expression_attribute_names("#client", keys::IDEMPOTENCY_RANGE)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::New),
            Err(err) => match old_item(&err) {
                Some(old) => Ok(Claim::Taken(from_item("idempotency key", old)?)),
                None if is_condition_failed(&err) => {
                    Ok(Claim::Taken(self.claim_of(message).await?))
                }
                None => Err(internal("append: claiming the idempotency key", err)),
            },
        }
    }

    /// The claim of `(sender_id, client_msg_id)` as it is now: the transactional append's
    /// read of the same key.
    async fn claim_of(&self, message: &NewMessage) -> PortResult<IdempotencyItem> {
        self.idempotency_item(message).await
    }

    /// Moves a claim whose slot another message took to `next`; `None` when the claim no longer
    /// says what `claim` does (another attempt of the same send moved it).
    async fn move_claim(
        &self,
        claim: &IdempotencyItem,
        next: Seq,
    ) -> PortResult<Option<IdempotencyItem>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.idempotency)
            .set_key(Some(keys::idempotency(
                &claim.sender_id,
                &claim.client_msg_id,
            )))
            .update_expression("SET #seq = :next")
            .condition_expression("#seq = :old")
            .expression_attribute_names("#seq", "seq")
            .expression_attribute_values(":next", n(next.get()))
            .expression_attribute_values(":old", n(claim.seq.get()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(IdempotencyItem {
                seq: next,
                ..claim.clone()
            })),
            Err(err) if is_condition_failed(&err) => Ok(None),
            Err(err) => Err(internal("append: moving the idempotency key", err)),
        }
    }

    /// Puts `stored` at its seq if the slot is empty, noting the other member's newest seq.
    async fn put_at(&self, stored: &StoredMessage, peer_last_seq: Option<Seq>) -> PortResult<Put> {
        let item = MessageItem::from(stored)
            .after_peer(peer_last_seq)
            .expiring(self.message_ttl(stored.sent_at));
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.messages)
            .set_item(Some(to_item("message", &item)?))
            .condition_expression("attribute_not_exists(#seq)")
            .expression_attribute_names("#seq", keys::MESSAGE_RANGE)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Put::Stored),
            Err(err) => match old_item(&err) {
                Some(old) => {
                    let holder = from_item::<MessageItem>("message", old)?;
                    Ok(Put::Taken(Some(Box::new(StoredMessage::from(holder)))))
                }
                None if is_condition_failed(&err) => Ok(Put::Taken(None)),
                None => Err(internal("append: putting the message", err)),
            },
        }
    }

    /// The message at `seq`, read strongly consistently (also the transactional append's
    /// original and recall's second look).
    pub(super) async fn message_at(
        &self,
        conversation: &ConversationId,
        seq: Seq,
    ) -> PortResult<Option<StoredMessage>> {
        let found = self
            .client
            .get_item()
            .table_name(&self.tables.messages)
            .set_key(Some(keys::message(conversation, seq)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| internal("reading a message", e))?;
        found
            .item
            .map(|item| from_item::<MessageItem>("message", item).map(StoredMessage::from))
            .transpose()
    }

    /// With a retention, the head's `last_seq` follows the newest message (see the module
    /// comment); without one, nothing is written.
    async fn raise_floor(&self, stored: &StoredMessage) -> PortResult<()> {
        if self.message_retention_secs.is_none() {
            return Ok(());
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.conversations)
            .set_key(Some(keys::head(&stored.conversation_id)))
            .update_expression("SET #last = :seq")
            .condition_expression("attribute_not_exists(#last) OR #last < :seq")
            .expression_attribute_names("#last", LAST_SEQ)
            .expression_attribute_values(":seq", n(stored.seq.get()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A later message raised it already.
            Err(err) if is_condition_failed(&err) => Ok(()),
            Err(err) => Err(internal("append: raising the conversation's floor", err)),
        }
    }
}

/// Whether `holder` is the message that `message` is another attempt of.
fn is_same_send(holder: &StoredMessage, message: &NewMessage) -> bool {
    holder.sender_id == message.sender_id && holder.client_msg_id == message.client_msg_id
}

/// The item a failed `PutItem` condition returned (`ALL_OLD`).
fn old_item(
    err: &aws_sdk_dynamodb::error::SdkError<
        PutItemError,
        aws_sdk_dynamodb::config::http::HttpResponse,
    >,
) -> Option<Item> {
    match err.as_service_error() {
        Some(PutItemError::ConditionalCheckFailedException(failed)) => failed.item().cloned(),
        _ => None,
    }
}
