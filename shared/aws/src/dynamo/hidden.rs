//! `HiddenStore` on the hidden table: one item per message a member deleted for themselves,
//! keyed `owner` = `<user_id>#<conversation_id>` and `seq`, so that a history page's range is
//! one key-range query. Hiding also sets `hidden_messages` on the membership, so that only the
//! readers who hid something pay that query.

use async_trait::async_trait;
use chat_domain::{ConversationId, Seq, UserId};
use chat_ports::{HiddenStore, PortResult};
use serde::Deserialize;

use super::DynamoStore;
use super::codec::{Item, from_items, is_condition_failed, n, s};
use super::memberships;
use crate::errors::internal;

/// Partition key: the member and the conversation.
pub(crate) const HASH: &str = "owner";
/// Sort key: the hidden message's seq.
pub(crate) const RANGE: &str = "seq";

fn owner(conversation: &ConversationId, user: &UserId) -> String {
    format!("{user}#{conversation}")
}

#[derive(Debug, Deserialize)]
struct HiddenItem {
    seq: Seq,
}

#[async_trait]
impl HiddenStore for DynamoStore {
    async fn hide_message(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> PortResult<bool> {
        // The membership first: its condition is what tells a stranger, who then leaves no
        // item behind. A flag without items (the put below failed) only costs a reader a query.
        let flagged = self
            .client
            .update_item()
            .table_name(&self.tables.memberships)
            .set_key(Some(memberships::key(conversation, user)))
            .update_expression("SET #hidden = :yes")
            .condition_expression("attribute_exists(#user)")
            .expression_attribute_names("#hidden", "hidden_messages")
            .expression_attribute_names("#user", memberships::RANGE)
            .expression_attribute_values(
                ":yes",
                aws_sdk_dynamodb::types::AttributeValue::Bool(true),
            )
            .send()
            .await;
        match flagged {
            Ok(_) => {}
            Err(err) if is_condition_failed(&err) => return Ok(false),
            Err(err) => return Err(internal("hide_message: the membership", err)),
        }
        let item = Item::from([
            (HASH.to_string(), s(owner(conversation, user))),
            (RANGE.to_string(), n(seq.get())),
        ]);
        self.client
            .put_item()
            .table_name(&self.tables.hidden)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| internal("hide_message", e))?;
        Ok(true)
    }

    async fn hidden_in(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        from: u64,
        to: u64,
    ) -> PortResult<Vec<Seq>> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.tables.hidden)
            .consistent_read(true)
            .key_condition_expression("#owner = :owner AND #seq BETWEEN :from AND :to")
            .expression_attribute_names("#owner", HASH)
            .expression_attribute_names("#seq", RANGE)
            .expression_attribute_values(":owner", s(owner(conversation, user)))
            .expression_attribute_values(":from", n(from))
            .expression_attribute_values(":to", n(to))
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| internal("hidden_in", e))?;
            let items: Vec<HiddenItem> =
                from_items("hidden message", page.items.unwrap_or_default())?;
            found.extend(items.into_iter().map(|h| h.seq));
        }
        Ok(found)
    }
}
