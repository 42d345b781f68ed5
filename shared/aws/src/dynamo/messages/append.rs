//! `append`: a conversation's next seq, gap-free under any concurrency, and idempotent on
//! `(sender_id, client_msg_id)`.
//!
//! One attempt is one `TransactWriteItems` of three writes that succeed or fail together:
//!
//! 1. the conversation head: `SET last_seq = n + 1, …` on condition `last_seq = n` (or "no head
//!    yet" for the first message). This is the seq race: of two appends that read the same
//!    `n`, exactly one commits, so no seq is ever shared, and a seq exists only together with
//!    its message, so none is skipped;
//! 2. the message at `(conversation_id, n + 1)`, on condition that no item is there;
//! 3. the idempotency key `(sender_id, client_msg_id)`, on condition that it is new.
//!
//! A cancelled transaction says which condition failed, item by item. A taken idempotency key
//! wins over everything: it is answered `Duplicate` (or `Conflict` when the key was used in
//! another conversation). A lost seq race, or a transaction conflict, is retried with the
//! current head — returned by the failed condition itself (`ALL_OLD`), so no extra read — after
//! a jittered pause, up to [`crate::Backoff::APPEND`]'s tries.
//!
//! The SDK's own retries of one transaction (a timeout, a 500) cannot be mistaken for a
//! duplicate: it fills `ClientRequestToken` once per call, and DynamoDB answers a repeated
//! token with the first outcome instead of running the writes again.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chat_domain::{ChatError, ConversationId, Millis, NewMessage, Seq, StoredMessage};
use chat_ports::{Appended, PREVIEW_CHARS, PortResult};

use super::items::{
    IdempotencyItem, LAST_MESSAGE_AT, LAST_PREVIEW, LAST_RECALLED, LAST_SENDER_ID, LAST_SEQ,
    LastSeq, MessageItem,
};
use super::keys;
use crate::dynamo::DynamoStore;
use crate::dynamo::codec::{build_error, from_item, n, s, to_item};
use crate::dynamo::tables::ttl_seconds;
use crate::errors::internal;

/// The position of each write in the transaction, as `CancellationReasons` reports them. A
/// group change puts its membership writes after these (`crate::dynamo::groups`).
pub(in crate::dynamo) const HEAD: usize = 0;
const MESSAGE: usize = 1;
const IDEMPOTENCY: usize = 2;

/// What one attempt came to.
pub(in crate::dynamo) enum Attempt {
    Stored,
    /// The idempotency key exists; its item when the failed condition returned it.
    Duplicate(Option<IdempotencyItem>),
    /// Another append took the seq; the head as it is now, when the condition returned it.
    Lost(Option<Seq>),
}

impl DynamoStore {
    pub(super) async fn append_message(&self, message: NewMessage) -> PortResult<Appended> {
        if message.conversation_id.direct_members().is_some() {
            return self.append_direct(message).await;
        }
        let backoff = self.append_backoff;
        let _lane = self.append_lanes.enter(&message.conversation_id).await;
        let mut last = self.head_last_seq(&message.conversation_id).await?;
        for attempt in 1..=backoff.max_attempts {
            let stored = message.clone().stored_at(Seq::after(last));
            match self.try_append(&stored, last).await? {
                Attempt::Stored => return Ok(Appended::New(stored)),
                Attempt::Duplicate(pointer) => return self.original(&message, pointer).await,
                Attempt::Lost(current) if attempt < backoff.max_attempts => {
                    tracing::debug!(conversation = %message.conversation_id, attempt, "append lost the seq race");
                    backoff.pause(attempt).await;
                    // The head the failed condition saw may be stale after the pause, which
                    // costs at most another round; without it, read the head again.
                    last = match current {
                        Some(seq) => Some(seq),
                        None => self.head_last_seq(&message.conversation_id).await?,
                    };
                }
                Attempt::Lost(_) => break,
            }
        }
        Err(ChatError::Internal {
            context: format!(
                "append to {}: lost the seq race {} times",
                message.conversation_id, backoff.max_attempts
            ),
            cause: None,
        })
    }

    /// The head's `last_seq` now (strongly consistent), `None` before the first message (and,
    /// for a direct conversation, without a retention floor: see `direct.rs`).
    pub(super) async fn head_last_seq(
        &self,
        conversation: &ConversationId,
    ) -> PortResult<Option<Seq>> {
        let head = self
            .client
            .get_item()
            .table_name(&self.tables.conversations)
            .set_key(Some(keys::head(conversation)))
            .consistent_read(true)
            .projection_expression("#last")
            .expression_attribute_names("#last", LAST_SEQ)
            .send()
            .await
            .map_err(|e| internal("append: reading the conversation head", e))?;
        head.item
            .filter(|item| item.contains_key(LAST_SEQ))
            .map(|item| from_item::<LastSeq>("conversation head", item).map(|h| h.last_seq))
            .transpose()
    }

    /// One transaction: head, message and idempotency key, all or nothing.
    async fn try_append(&self, stored: &StoredMessage, last: Option<Seq>) -> PortResult<Attempt> {
        let items = vec![
            self.head_update(stored, last)?,
            self.message_put(stored)?,
            self.idempotency_put(stored)?,
        ];
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Attempt::Stored),
            Err(err) => cancelled(err),
        }
    }

    fn head_update(
        &self,
        stored: &StoredMessage,
        last: Option<Seq>,
    ) -> PortResult<TransactWriteItem> {
        let preview = stored.body.as_ref().map(|b| b.preview(PREVIEW_CHARS));
        let set = "SET #last = :seq, #at = :at, #sender = :sender";
        // A recall of the previous last message no longer describes the head.
        let unrecall = "#recalled";
        let mut update = Update::builder()
            .table_name(&self.tables.conversations)
            .set_key(Some(keys::head(&stored.conversation_id)))
            .expression_attribute_names("#last", LAST_SEQ)
            .expression_attribute_names("#at", LAST_MESSAGE_AT)
            .expression_attribute_names("#sender", LAST_SENDER_ID)
            .expression_attribute_names("#preview", LAST_PREVIEW)
            .expression_attribute_names("#recalled", LAST_RECALLED)
            .expression_attribute_values(":seq", n(stored.seq.get()))
            .expression_attribute_values(":at", n(stored.sent_at.as_i64()))
            .expression_attribute_values(":sender", s(&stored.sender_id))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        // A media-only message has no preview: remove the previous message's.
        update = match preview {
            Some(preview) => update
                .update_expression(format!("{set}, #preview = :preview REMOVE {unrecall}"))
                .expression_attribute_values(":preview", s(preview)),
            None => update.update_expression(format!("{set} REMOVE #preview, {unrecall}")),
        };
        update = match last {
            Some(last) => update
                .condition_expression("#last = :expected")
                .expression_attribute_values(":expected", n(last.get())),
            None => update.condition_expression("attribute_not_exists(#last)"),
        };
        let update = update
            .build()
            .map_err(|e| build_error("append: head update", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// When DynamoDB may delete `stored` and its idempotency key: `sent_at` plus the retention
    /// (rounded up to whole seconds), or never.
    pub(super) fn message_ttl(&self, sent_at: Millis) -> Option<i64> {
        self.message_retention_secs
            .map(|retention| ttl_seconds(sent_at).saturating_add(retention))
    }

    pub(in crate::dynamo) fn message_put(
        &self,
        stored: &StoredMessage,
    ) -> PortResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.tables.messages)
            .set_item(Some(to_item(
                "message",
                &MessageItem::from(stored).expiring(self.message_ttl(stored.sent_at)),
            )?))
            .condition_expression("attribute_not_exists(#seq)")
            .expression_attribute_names("#seq", keys::MESSAGE_RANGE)
            .build()
            .map_err(|e| build_error("append: message put", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(in crate::dynamo) fn idempotency_put(
        &self,
        stored: &StoredMessage,
    ) -> PortResult<TransactWriteItem> {
        let pointer = IdempotencyItem {
            sender_id: stored.sender_id.clone(),
            client_msg_id: stored.client_msg_id.clone(),
            conversation_id: stored.conversation_id.clone(),
            seq: stored.seq,
            ttl: self.message_ttl(stored.sent_at),
        };
        let put = Put::builder()
            .table_name(&self.tables.idempotency)
            .set_item(Some(to_item("idempotency key", &pointer)?))
            .condition_expression("attribute_not_exists(#client)")
            .expression_attribute_names("#client", keys::IDEMPOTENCY_RANGE)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| build_error("append: idempotency put", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The answer to an append whose idempotency key exists: the stored original.
    async fn original(
        &self,
        message: &NewMessage,
        pointer: Option<IdempotencyItem>,
    ) -> PortResult<Appended> {
        let pointer = match pointer {
            Some(pointer) => pointer,
            None => self.idempotency_item(message).await?,
        };
        if pointer.conversation_id != message.conversation_id {
            return Err(ChatError::conflict(format!(
                "client_msg_id {} was already used in another conversation",
                message.client_msg_id
            )));
        }
        let original = self
            .message_at(&pointer.conversation_id, pointer.seq)
            .await?
            .ok_or_else(|| ChatError::Internal {
                context: format!(
                    "append: the idempotency key of {} points at no message",
                    message.client_msg_id
                ),
                cause: None,
            })?;
        Ok(Appended::Duplicate(original))
    }

    pub(super) async fn idempotency_item(
        &self,
        message: &NewMessage,
    ) -> PortResult<IdempotencyItem> {
        let found = self
            .client
            .get_item()
            .table_name(&self.tables.idempotency)
            .set_key(Some(keys::idempotency(
                &message.sender_id,
                &message.client_msg_id,
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| internal("append: reading the idempotency key", e))?;
        let item = found.item.ok_or_else(|| ChatError::Internal {
            context: format!(
                "append: idempotency key {} taken but not found",
                message.client_msg_id
            ),
            cause: None,
        })?;
        from_item("idempotency key", item)
    }
}

/// Sorts a failed transaction into what the append loop does next.
pub(in crate::dynamo) fn cancelled(
    err: SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> PortResult<Attempt> {
    let reasons = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            cancelled.cancellation_reasons()
        }
        _ => return Err(internal("append", err)),
    };
    let code = |index: usize| reasons.get(index).and_then(CancellationReason::code);
    let failed = |index: usize| code(index) == Some("ConditionalCheckFailed");
    if failed(IDEMPOTENCY) {
        let pointer = reasons[IDEMPOTENCY]
            .item()
            .map(|item| from_item::<IdempotencyItem>("idempotency key", item.clone()))
            .transpose()?;
        return Ok(Attempt::Duplicate(pointer));
    }
    if failed(HEAD) {
        let current = reasons[HEAD]
            .item()
            .map(|item| from_item::<LastSeq>("conversation head", item.clone()).map(|h| h.last_seq))
            .transpose()?;
        return Ok(Attempt::Lost(current));
    }
    // The message slot taken while the head condition held cannot happen (both are written
    // together); treat it like a lost race and read the head again rather than give up.
    // `TransactionConflict` is another transaction on the same item right now: the same race.
    let retryable = [HEAD, MESSAGE, IDEMPOTENCY].iter().any(|&i| {
        matches!(
            code(i),
            Some(
                "ConditionalCheckFailed"
                    | "TransactionConflict"
                    | "ThrottlingError"
                    | "ProvisionedThroughputExceeded"
            )
        )
    });
    if retryable {
        return Ok(Attempt::Lost(None));
    }
    Err(internal("append", err))
}
