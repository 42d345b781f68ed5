//! `history`: a page of one conversation's messages, one key-range `Query` on
//! `(conversation_id, seq)`.
//!
//! The query asks for one message more than the page (`Limit` = limit + 1): whether that extra
//! one came back is `has_more`. Backward pages read newest first (`ScanIndexForward = false`)
//! and are turned around before they are answered, since pages are always in seq order.

use aws_sdk_dynamodb::types::AttributeValue;
use chat_domain::{ConversationId, Seq, StoredMessage, UserId};
use chat_ports::{HistoryQuery, MessagePage, PortResult};

use super::items::MessageItem;
use super::keys;
use crate::dynamo::DynamoStore;
use crate::dynamo::codec::{Item, from_items, limit, n, s};
use crate::errors::internal;

/// A message's sender and whether it is a system message, as `senders` projects them.
#[derive(serde::Deserialize)]
struct Sender {
    sender_id: UserId,
    #[serde(default)]
    system: Option<serde::de::IgnoredAny>,
}

impl DynamoStore {
    /// One `Query` of the range, newest first, `Limit` messages, projecting the sender (the
    /// read is billed for the whole items all the same).
    pub(super) async fn senders_between(
        &self,
        conversation: &ConversationId,
        after: u64,
        up_to: Seq,
        max_messages: u32,
    ) -> PortResult<Vec<UserId>> {
        if after >= up_to.get() {
            return Ok(Vec::new());
        }
        let output = self
            .client
            .query()
            .table_name(&self.tables.messages)
            .key_condition_expression(
                "#conversation = :conversation AND #seq BETWEEN :from AND :to",
            )
            .projection_expression("#sender, #system")
            .expression_attribute_names("#conversation", keys::MESSAGE_HASH)
            .expression_attribute_names("#seq", keys::MESSAGE_RANGE)
            .expression_attribute_names("#sender", "sender_id")
            .expression_attribute_names("#system", "system")
            .expression_attribute_values(":conversation", s(conversation))
            .expression_attribute_values(":from", n(after + 1))
            .expression_attribute_values(":to", n(up_to.get()))
            .scan_index_forward(false)
            .limit(limit(max_messages as usize))
            .send()
            .await
            .map_err(|e| internal("senders", e))?;
        let rows: Vec<Sender> = from_items("message sender", output.items.unwrap_or_default())?;
        let mut senders: Vec<UserId> = Vec::new();
        for row in rows.into_iter().filter(|r| r.system.is_none()) {
            if !senders.contains(&row.sender_id) {
                senders.push(row.sender_id);
            }
        }
        Ok(senders)
    }

    pub(super) async fn history_page(
        &self,
        conversation: &ConversationId,
        query: HistoryQuery,
    ) -> PortResult<MessagePage> {
        let (bound, forward, page_size) = match query {
            HistoryQuery::After { after, limit } => {
                (Some(("#seq > :bound", n(after))), true, limit)
            }
            HistoryQuery::Before { before, limit } => {
                (before.map(|b| ("#seq < :bound", n(b.get()))), false, limit)
            }
        };
        let wanted = page_size as usize + 1;
        let mut items: Vec<Item> = Vec::with_capacity(wanted.min(1_001));
        let mut start: Option<Item> = None;
        // A response stops at `Limit` items or at 1 MB (a hundred long messages can pass it):
        // continue from `LastEvaluatedKey` until the page and its extra one are in.
        while items.len() < wanted {
            let page = self
                .history_query(
                    conversation,
                    bound.clone(),
                    forward,
                    wanted - items.len(),
                    start.take(),
                )
                .await?;
            items.extend(page.0);
            match page.1 {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        let has_more = items.len() > page_size as usize;
        items.truncate(page_size as usize);
        let mut messages: Vec<StoredMessage> = from_items::<MessageItem>("message", items)?
            .into_iter()
            .map(StoredMessage::from)
            .collect();
        if !forward {
            messages.reverse();
        }
        Ok(MessagePage { messages, has_more })
    }

    /// One `Query` request: its items and its `LastEvaluatedKey`.
    async fn history_query(
        &self,
        conversation: &ConversationId,
        bound: Option<(&str, AttributeValue)>,
        forward: bool,
        max_items: usize,
        start: Option<Item>,
    ) -> PortResult<(Vec<Item>, Option<Item>)> {
        let mut request = self
            .client
            .query()
            .table_name(&self.tables.messages)
            .consistent_read(true)
            .scan_index_forward(forward)
            .limit(limit(max_items))
            .set_exclusive_start_key(start)
            .expression_attribute_names("#conversation", keys::MESSAGE_HASH)
            .expression_attribute_values(":conversation", s(conversation));
        request = match bound {
            Some((condition, value)) => request
                .key_condition_expression(format!("#conversation = :conversation AND {condition}"))
                .expression_attribute_names("#seq", keys::MESSAGE_RANGE)
                .expression_attribute_values(":bound", value),
            None => request.key_condition_expression("#conversation = :conversation"),
        };
        let output = request.send().await.map_err(|e| internal("history", e))?;
        Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
    }
}
