//! `MembershipStore` on the memberships table: one item per member, keyed
//! `(conversation_id, user_id)` for lookups and member pages, with the GSI `by-user`
//! (`user_id`, `conversation_id`) for "my conversations".
//!
//! Every write is one conditional write, never a read-modify-write: adding puts only where no
//! item is (`attribute_not_exists`), so an existing member keeps its role and marks; marks move
//! with an `UpdateItem` whose condition says "only upwards", so concurrent receipts cannot
//! lower them and a receipt for a non-member creates nothing.

use async_trait::async_trait;
use chat_domain::frames::MarkKind;
use chat_domain::{ChatError, ConversationId, Millis, Seq, UserId};
use chat_ports::{Marks, Membership, MembershipStore, PortResult, Role};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

use super::DynamoStore;
use super::codec::{Item, from_item, from_items, is_condition_failed, limit, n, s, to_item};
use crate::errors::internal;

/// Partition key: the conversation.
pub(crate) const HASH: &str = "conversation_id";
/// Sort key: the member; also the partition key of [`BY_USER`].
pub(crate) const RANGE: &str = "user_id";
/// The GSI keyed `(user_id, conversation_id)`, projecting everything.
pub(crate) const BY_USER: &str = "by-user";

/// How many conditional puts `add_members` keeps in flight: enough to add a large group
/// quickly, few enough not to burst a new table's partition.
const ADD_CONCURRENCY: usize = 16;

/// The stored form of a [`Membership`].
#[derive(Debug, Serialize, Deserialize)]
struct MembershipItem {
    conversation_id: ConversationId,
    user_id: UserId,
    role: Role,
    delivered_seq: u64,
    read_seq: u64,
    joined_at: Millis,
}

impl From<&Membership> for MembershipItem {
    fn from(m: &Membership) -> Self {
        MembershipItem {
            conversation_id: m.conversation_id.clone(),
            user_id: m.user_id.clone(),
            role: m.role,
            delivered_seq: m.delivered_seq,
            read_seq: m.read_seq,
            joined_at: m.joined_at,
        }
    }
}

impl From<MembershipItem> for Membership {
    fn from(item: MembershipItem) -> Self {
        Membership {
            conversation_id: item.conversation_id,
            user_id: item.user_id,
            role: item.role,
            delivered_seq: item.delivered_seq,
            read_seq: item.read_seq,
            joined_at: item.joined_at,
        }
    }
}

/// Just the marks, as `advance_mark` reads them back.
#[derive(Debug, Deserialize)]
struct MarksItem {
    delivered_seq: u64,
    read_seq: u64,
}

fn key(conversation: &ConversationId, user: &UserId) -> Item {
    Item::from([
        (HASH.to_string(), s(conversation)),
        (RANGE.to_string(), s(user)),
    ])
}

fn memberships(items: Option<Vec<Item>>) -> Result<Vec<Membership>, ChatError> {
    let items: Vec<MembershipItem> = from_items("membership", items.unwrap_or_default())?;
    Ok(items.into_iter().map(Membership::from).collect())
}

impl DynamoStore {
    /// Puts `member` unless it exists already.
    async fn add_member(&self, member: &Membership) -> PortResult<()> {
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.memberships)
            .set_item(Some(to_item("membership", &MembershipItem::from(member))?))
            .condition_expression("attribute_not_exists(#user)")
            .expression_attribute_names("#user", RANGE)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already a member: keeps its role and marks, as the port asks.
            Err(err) if is_condition_failed(&err) => Ok(()),
            Err(err) => Err(internal("add_members", err)),
        }
    }

    /// One conditional `SET` of the marks; `None` when the condition failed.
    async fn update_marks(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        update: &str,
        condition: &str,
        seq: Seq,
    ) -> PortResult<Option<Marks>> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.memberships)
            .set_key(Some(key(conversation, user)))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_values(":seq", n(seq.get()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        // DynamoDB refuses a name placeholder that the expressions do not use.
        for (placeholder, name) in [
            ("#user", RANGE),
            ("#delivered", "delivered_seq"),
            ("#read", "read_seq"),
        ] {
            if update.contains(placeholder) || condition.contains(placeholder) {
                request = request.expression_attribute_names(placeholder, name);
            }
        }
        let result = request.send().await;
        match result {
            Ok(output) => {
                let marks: MarksItem = from_item("marks", output.attributes.unwrap_or_default())?;
                Ok(Some(Marks {
                    delivered_seq: marks.delivered_seq,
                    read_seq: marks.read_seq,
                }))
            }
            Err(err) if is_condition_failed(&err) => Ok(None),
            Err(err) => Err(internal("advance_mark", err)),
        }
    }
}

#[async_trait]
impl MembershipStore for DynamoStore {
    async fn membership(
        &self,
        conversation: &ConversationId,
        user: &UserId,
    ) -> PortResult<Option<Membership>> {
        let found = self
            .client
            .get_item()
            .table_name(&self.tables.memberships)
            .set_key(Some(key(conversation, user)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| internal("membership", e))?;
        found
            .item
            .map(|item| from_item::<MembershipItem>("membership", item).map(Membership::from))
            .transpose()
    }

    async fn add_members(&self, members: &[Membership]) -> PortResult<()> {
        // One conditional put per member: a transaction would fail as a whole on the first
        // existing member (and stops at 100 items). Not atomic across members, but every put
        // is idempotent, so a caller that fails halfway simply calls again.
        // (The futures are made up front: a lazy `map` closure here trips the compiler's
        // `Send` inference inside `async_trait`.)
        let puts: Vec<_> = members
            .iter()
            .map(|member| self.add_member(member))
            .collect();
        stream::iter(puts)
            .buffer_unordered(ADD_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn remove_member(
        &self,
        conversation: &ConversationId,
        user: &UserId,
    ) -> PortResult<bool> {
        // ALL_OLD tells in the same request whether there was anything to delete.
        let removed = self
            .client
            .delete_item()
            .table_name(&self.tables.memberships)
            .set_key(Some(key(conversation, user)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| internal("remove_member", e))?;
        Ok(removed.attributes.is_some_and(|old| !old.is_empty()))
    }

    async fn memberships_of(&self, user: &UserId) -> PortResult<Vec<Membership>> {
        // A GSI query: eventually consistent (a join may show up a moment late).
        let mut pages = self
            .client
            .query()
            .table_name(&self.tables.memberships)
            .index_name(BY_USER)
            .key_condition_expression("#user = :user")
            .expression_attribute_names("#user", RANGE)
            .expression_attribute_values(":user", s(user))
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| internal("memberships_of", e))?;
            found.extend(memberships(page.items)?);
        }
        Ok(found)
    }

    async fn members(
        &self,
        conversation: &ConversationId,
        after: Option<&UserId>,
        limit_members: u32,
    ) -> PortResult<Vec<Membership>> {
        let wanted = limit_members as usize;
        let mut found = Vec::with_capacity(wanted.min(1_000));
        let mut start: Option<Item> = None;
        // A page stops at `Limit` items or 1 MB, whichever comes first: keep going from
        // `LastEvaluatedKey` until the page is full or the conversation has no more members.
        while found.len() < wanted {
            let mut request = self
                .client
                .query()
                .table_name(&self.tables.memberships)
                .consistent_read(true)
                .expression_attribute_names("#conversation", HASH)
                .expression_attribute_values(":conversation", s(conversation))
                .limit(limit(wanted - found.len()))
                .set_exclusive_start_key(start.take());
            request = match after {
                Some(after) => request
                    .key_condition_expression("#conversation = :conversation AND #user > :after")
                    .expression_attribute_names("#user", RANGE)
                    .expression_attribute_values(":after", s(after)),
                None => request.key_condition_expression("#conversation = :conversation"),
            };
            let page = request.send().await.map_err(|e| internal("members", e))?;
            found.extend(memberships(page.items)?);
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(found)
    }

    async fn advance_mark(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        kind: MarkKind,
        seq: Seq,
    ) -> PortResult<Option<Marks>> {
        // Every condition requires the item (`attribute_exists`): an UpdateItem would
        // otherwise create a member out of a receipt.
        match kind {
            MarkKind::Delivered => {
                self.update_marks(
                    conversation,
                    user,
                    "SET #delivered = :seq",
                    "attribute_exists(#user) AND #delivered < :seq",
                    seq,
                )
                .await
            }
            // Reading implies delivery, and an update expression has no MAX: first try to move
            // both marks (delivered is below `seq`), then only the read mark (delivered is at
            // or above it). In this order a failed first try cannot become stale: delivered
            // only grows, so once it is at or above `seq` it stays there for the second try.
            MarkKind::Read => {
                let both = self
                    .update_marks(
                        conversation,
                        user,
                        "SET #read = :seq, #delivered = :seq",
                        "attribute_exists(#user) AND #read < :seq AND #delivered < :seq",
                        seq,
                    )
                    .await?;
                if both.is_some() {
                    return Ok(both);
                }
                self.update_marks(
                    conversation,
                    user,
                    "SET #read = :seq",
                    "attribute_exists(#user) AND #read < :seq AND #delivered >= :seq",
                    seq,
                )
                .await
            }
        }
    }
}
