//! `recall`: one `UpdateItem` on the message (`SET recalled`, `REMOVE body, media`) on
//! condition that it exists, is no system message and is not recalled yet, returning the
//! tombstone (its `MODIFY` stream record is what fans the `recalled` event out); then, if it was
//! the conversation's last message, one on the head erasing the preview (`last_seq = :seq`;
//! groups only: a direct conversation's head is its newest message, see `direct.rs`).
//! A failed condition reads the message to tell "no such message" from "recalled already" from
//! "a system message".

use aws_sdk_dynamodb::types::ReturnValue;
use chat_domain::{ChatError, ConversationId, Recall, Seq, StoredMessage};
use chat_ports::PortResult;

use super::items::{LAST_PREVIEW, LAST_RECALLED, LAST_SEQ, MessageItem};
use super::keys;
use crate::dynamo::DynamoStore;
use crate::dynamo::codec::{from_item, is_condition_failed, n, to_value};
use crate::errors::internal;

impl DynamoStore {
    pub(super) async fn recall_message(
        &self,
        conversation: &ConversationId,
        seq: Seq,
        recall: Recall,
    ) -> PortResult<Option<StoredMessage>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.messages)
            .set_key(Some(keys::message(conversation, seq)))
            .update_expression("SET #recalled = :recalled REMOVE #body, #media, #reply")
            .condition_expression(
                "attribute_exists(#seq) AND attribute_not_exists(#recalled) \
                 AND attribute_not_exists(#system)",
            )
            .expression_attribute_names("#recalled", "recalled")
            .expression_attribute_names("#body", "body")
            .expression_attribute_names("#media", "media")
            .expression_attribute_names("#reply", "reply_to")
            .expression_attribute_names("#seq", keys::MESSAGE_RANGE)
            .expression_attribute_names("#system", "system")
            .expression_attribute_values(":recalled", to_value("recall", &recall)?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let tombstone = match result {
            Ok(output) => StoredMessage::from(from_item::<MessageItem>(
                "message",
                output.attributes.unwrap_or_default(),
            )?),
            Err(err) if is_condition_failed(&err) => {
                return self.not_recalled(conversation, seq).await;
            }
            Err(err) => return Err(internal("recall", err)),
        };
        // A direct conversation's head is its newest message, the tombstone itself if it was.
        if conversation.direct_members().is_some() {
            return Ok(Some(tombstone));
        }
        let head = self
            .client
            .update_item()
            .table_name(&self.tables.conversations)
            .set_key(Some(keys::head(conversation)))
            .update_expression("SET #recalled = :yes REMOVE #preview")
            .condition_expression("#last = :seq")
            .expression_attribute_names("#recalled", LAST_RECALLED)
            .expression_attribute_names("#preview", LAST_PREVIEW)
            .expression_attribute_names("#last", LAST_SEQ)
            .expression_attribute_values(
                ":yes",
                aws_sdk_dynamodb::types::AttributeValue::Bool(true),
            )
            .expression_attribute_values(":seq", n(seq.get()))
            .send()
            .await;
        match head {
            // Not the last message: the head shows another one's preview.
            Ok(_) => {}
            Err(err) if is_condition_failed(&err) => {}
            Err(err) => return Err(internal("recall: the head's preview", err)),
        }
        Ok(Some(tombstone))
    }

    /// Why a recall's condition failed: no message, or one recalled already (answered as it
    /// is), or a system message.
    async fn not_recalled(
        &self,
        conversation: &ConversationId,
        seq: Seq,
    ) -> PortResult<Option<StoredMessage>> {
        let Some(message) = self.message_at(conversation, seq).await? else {
            return Ok(None);
        };
        if message.recalled.is_some() {
            return Ok(Some(message));
        }
        Err(ChatError::bad_request(
            "a system message cannot be recalled",
        ))
    }
}
