//! `MembershipStore` on the memberships table: one item per member, keyed
//! `(conversation_id, user_id)` for lookups and member pages, with three GSIs: `by-user`
//! (`user_id`, `conversation_id`; ALL) for "my conversations", and the tick indexes
//! `by-delivered` / `by-read` (`conversation_id`, `tick_delivered` / `tick_read`) sorted by
//! mark, for the group ticks.
//!
//! The tick indexes are sparse: their keys are copies of the marks that only a *current member
//! of a group* carries, so direct conversations (whose receipts are the ticks) and former
//! members (who count for nobody's ticks) are not in them. Every mark update of a group member
//! sets the copy in the same write.
//!
//! Every write is one conditional write, never a read-modify-write: adding puts only where no
//! item is (`attribute_not_exists`), so an existing member keeps its role and marks; marks move
//! with an `UpdateItem` whose condition says "only upwards, only a current member", so
//! concurrent receipts cannot lower them and a receipt for a non-member creates nothing. Group
//! changes (add, remove, roles) are written by `groups.rs`, in the transaction of their system
//! message.

use async_trait::async_trait;
use chat_domain::frames::MarkKind;
use chat_domain::{ChatError, ConversationId, Millis, Seq, UserId};
use chat_ports::{
    MarkCursor, MarkHolder, MarkMove, Marks, Membership, MembershipStore, PortResult, Recipient,
    Role,
};
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
/// The tick index sorted by delivered mark, projecting the read mark too (`delivered_to`).
pub(crate) const BY_DELIVERED: &str = "by-delivered";
/// The tick index sorted by read mark (keys only).
pub(crate) const BY_READ: &str = "by-read";
/// The sort keys of the tick indexes: present only for a current member of a group.
pub(crate) const TICK_DELIVERED: &str = "tick_delivered";
/// Projected into `by-delivered`: who joined after a message has not seen it.
pub(crate) const JOINED_SEQ: &str = "joined_seq";
pub(crate) const TICK_READ: &str = "tick_read";
/// Set once a member was removed or left.
pub(crate) const LEFT_SEQ: &str = "left_seq";
/// Set while the member muted the conversation (ms).
const MUTED_UNTIL: &str = "muted_until";

/// How many conditional puts `add_members` keeps in flight: enough to add a large group
/// quickly, few enough not to burst a new table's partition.
const ADD_CONCURRENCY: usize = 16;

/// The stored form of a [`Membership`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct MembershipItem {
    conversation_id: ConversationId,
    user_id: UserId,
    role: Role,
    delivered_seq: u64,
    read_seq: u64,
    joined_at: Millis,
    #[serde(default, skip_serializing_if = "is_zero")]
    joined_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    left_seq: Option<u64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    hidden_seq: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    hidden_messages: bool,
    /// Muted until then (ms); absent when not muted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    muted_until: Option<Millis>,
    /// The tick indexes' keys (copies of the marks): a current group member's only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tick_delivered: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tick_read: Option<u64>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// Whether a membership counts for the group ticks (and so is in the tick indexes).
fn in_ticks(m: &Membership) -> bool {
    m.is_current() && m.conversation_id.direct_members().is_none()
}

impl From<&Membership> for MembershipItem {
    fn from(m: &Membership) -> Self {
        let ticks = in_ticks(m);
        MembershipItem {
            conversation_id: m.conversation_id.clone(),
            user_id: m.user_id.clone(),
            role: m.role,
            delivered_seq: m.delivered_seq,
            read_seq: m.read_seq,
            joined_at: m.joined_at,
            joined_seq: m.joined_seq,
            left_seq: m.left_seq,
            hidden_seq: m.hidden_seq,
            hidden_messages: m.hidden_messages,
            muted_until: m.muted_until,
            tick_delivered: ticks.then_some(m.delivered_seq),
            tick_read: ticks.then_some(m.read_seq),
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
            joined_seq: item.joined_seq,
            left_seq: item.left_seq,
            hidden_seq: item.hidden_seq,
            hidden_messages: item.hidden_messages,
            muted_until: item.muted_until,
        }
    }
}

/// Just the marks, as `advance_mark` reads them back.
#[derive(Debug, Deserialize)]
struct MarksItem {
    delivered_seq: u64,
    read_seq: u64,
}

/// An entry of a tick index: the table's keys and the index's.
#[derive(Debug, Deserialize)]
struct TickEntry {
    user_id: UserId,
    #[serde(default)]
    tick_delivered: Option<u64>,
    #[serde(default)]
    tick_read: Option<u64>,
    #[serde(default)]
    joined_seq: u64,
}

pub(crate) fn key(conversation: &ConversationId, user: &UserId) -> Item {
    Item::from([
        (HASH.to_string(), s(conversation)),
        (RANGE.to_string(), s(user)),
    ])
}

fn memberships(items: Option<Vec<Item>>) -> Result<Vec<Membership>, ChatError> {
    let items: Vec<MembershipItem> = from_items("membership", items.unwrap_or_default())?;
    Ok(items.into_iter().map(Membership::from).collect())
}

/// One mark update: what it sets, on which condition.
struct MarkUpdate {
    update: String,
    condition: String,
}

impl MarkUpdate {
    /// `SET` the marks named (`#delivered`, `#read`) to `:seq`, with their tick copies for a
    /// group member, on `condition` plus "a current member".
    fn new(set: &[&str], condition: &str, group: bool) -> MarkUpdate {
        let mut assignments: Vec<String> = set.iter().map(|m| format!("{m} = :seq")).collect();
        if group {
            for mark in set {
                let tick = if *mark == "#delivered" {
                    "#tick_d"
                } else {
                    "#tick_r"
                };
                assignments.push(format!("{tick} = :seq"));
            }
        }
        MarkUpdate {
            update: format!("SET {}", assignments.join(", ")),
            condition: format!(
                "attribute_exists(#user) AND attribute_not_exists(#left) AND {condition}"
            ),
        }
    }
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

    /// One conditional mark update; the marks it moved from, or `None` when the condition
    /// failed.
    async fn update_marks(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        mark: MarkUpdate,
        seq: Seq,
    ) -> PortResult<Option<Marks>> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.memberships)
            .set_key(Some(key(conversation, user)))
            .update_expression(&mark.update)
            .condition_expression(&mark.condition)
            .expression_attribute_values(":seq", n(seq.get()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld);
        // DynamoDB refuses a name placeholder that the expressions do not use.
        for (placeholder, name) in [
            ("#user", RANGE),
            ("#left", LEFT_SEQ),
            ("#delivered", "delivered_seq"),
            ("#read", "read_seq"),
            ("#tick_d", TICK_DELIVERED),
            ("#tick_r", TICK_READ),
        ] {
            if mark.update.contains(placeholder) || mark.condition.contains(placeholder) {
                request = request.expression_attribute_names(placeholder, name);
            }
        }
        match request.send().await {
            Ok(output) => {
                let old: MarksItem = from_item("marks", output.attributes.unwrap_or_default())?;
                Ok(Some(Marks {
                    delivered_seq: old.delivered_seq,
                    read_seq: old.read_seq,
                }))
            }
            Err(err) if is_condition_failed(&err) => Ok(None),
            Err(err) => Err(internal("advance_mark", err)),
        }
    }

    /// A page of a tick index, lowest mark first, from `start`.
    async fn tick_page(
        &self,
        index: &str,
        conversation: &ConversationId,
        at_least: Option<Seq>,
        start: Option<Item>,
        page: u32,
    ) -> PortResult<(Vec<TickEntry>, Option<Item>)> {
        let tick = if index == BY_DELIVERED {
            TICK_DELIVERED
        } else {
            TICK_READ
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.tables.memberships)
            .index_name(index)
            .scan_index_forward(true)
            .limit(limit(page as usize))
            .set_exclusive_start_key(start)
            .expression_attribute_names("#conversation", HASH)
            .expression_attribute_values(":conversation", s(conversation));
        request = match at_least {
            Some(seq) => request
                .key_condition_expression("#conversation = :conversation AND #tick >= :seq")
                .expression_attribute_names("#tick", tick)
                .expression_attribute_values(":seq", n(seq.get())),
            None => request.key_condition_expression("#conversation = :conversation"),
        };
        let output = request
            .send()
            .await
            .map_err(|e| internal(format!("query {index}"), e))?;
        let entries = from_items("tick index entry", output.items.unwrap_or_default())?;
        Ok((entries, output.last_evaluated_key))
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
        // A page stops at `Limit` items or 1 MB, whichever comes first, and `Limit` counts the
        // former members the filter then drops: keep going from `LastEvaluatedKey` until the
        // page is full or the conversation has no more members.
        while found.len() < wanted {
            let mut request = self
                .client
                .query()
                .table_name(&self.tables.memberships)
                .consistent_read(true)
                .filter_expression("attribute_not_exists(#left)")
                .expression_attribute_names("#left", LEFT_SEQ)
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
        found.truncate(wanted);
        Ok(found)
    }

    async fn advance_mark(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        kind: MarkKind,
        seq: Seq,
    ) -> PortResult<Option<MarkMove>> {
        let group = conversation.direct_members().is_none();
        let moved = |before: Marks| {
            let after = match kind {
                MarkKind::Delivered => Marks {
                    delivered_seq: seq.get(),
                    read_seq: before.read_seq,
                },
                MarkKind::Read => Marks {
                    delivered_seq: before.delivered_seq.max(seq.get()),
                    read_seq: seq.get(),
                },
            };
            MarkMove { before, after }
        };
        // The conditions require a current member: an UpdateItem would otherwise create a
        // member out of a receipt, or move a former member's marks.
        match kind {
            MarkKind::Delivered => {
                let update = MarkUpdate::new(&["#delivered"], "#delivered < :seq", group);
                Ok(self
                    .update_marks(conversation, user, update, seq)
                    .await?
                    .map(moved))
            }
            // Reading implies delivery, and an update expression has no MAX: first try to move
            // both marks (delivered is below `seq`), then only the read mark (delivered is at
            // or above it). In this order a failed first try cannot become stale: delivered
            // only grows, so once it is at or above `seq` it stays there for the second try.
            MarkKind::Read => {
                let both = MarkUpdate::new(
                    &["#read", "#delivered"],
                    "#read < :seq AND #delivered < :seq",
                    group,
                );
                if let Some(before) = self.update_marks(conversation, user, both, seq).await? {
                    return Ok(Some(moved(before)));
                }
                let read =
                    MarkUpdate::new(&["#read"], "#read < :seq AND #delivered >= :seq", group);
                Ok(self
                    .update_marks(conversation, user, read, seq)
                    .await?
                    .map(moved))
            }
        }
    }

    async fn set_muted(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        until: Option<Millis>,
    ) -> PortResult<bool> {
        // Current or former member alike; never a membership made up by the update.
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.memberships)
            .set_key(Some(key(conversation, user)))
            .condition_expression("attribute_exists(#user)")
            .expression_attribute_names("#user", RANGE)
            .expression_attribute_names("#muted", MUTED_UNTIL);
        request = match until {
            Some(until) => request
                .update_expression("SET #muted = :until")
                .expression_attribute_values(":until", n(until.as_i64())),
            None => request.update_expression("REMOVE #muted"),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failed(&err) => Ok(false),
            Err(err) => Err(internal("set_muted", err)),
        }
    }

    async fn hide_conversation(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        up_to: u64,
    ) -> PortResult<bool> {
        // Only up, only an existing membership.
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.memberships)
            .set_key(Some(key(conversation, user)))
            .update_expression("SET #hidden = :seq")
            .condition_expression(
                "attribute_exists(#user) AND (attribute_not_exists(#hidden) OR #hidden < :seq)",
            )
            .expression_attribute_names("#hidden", "hidden_seq")
            .expression_attribute_names("#user", RANGE)
            .expression_attribute_values(":seq", n(up_to))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failed(&err) => {
                Ok(self.membership(conversation, user).await?.is_some())
            }
            Err(err) => Err(internal("hide_conversation", err)),
        }
    }

    async fn lowest_marks(
        &self,
        conversation: &ConversationId,
        kind: MarkKind,
        limit_marks: u32,
    ) -> PortResult<Vec<MarkHolder>> {
        if conversation.direct_members().is_some() {
            return Ok(Vec::new());
        }
        let index = match kind {
            MarkKind::Delivered => BY_DELIVERED,
            MarkKind::Read => BY_READ,
        };
        let (entries, _) = self
            .tick_page(index, conversation, None, None, limit_marks)
            .await?;
        Ok(entries
            .into_iter()
            .filter_map(|entry| {
                let seq = match kind {
                    MarkKind::Delivered => entry.tick_delivered,
                    MarkKind::Read => entry.tick_read,
                }?;
                Some(MarkHolder {
                    user_id: entry.user_id,
                    seq,
                })
            })
            .collect())
    }

    async fn delivered_to(
        &self,
        conversation: &ConversationId,
        seq: Seq,
        after: Option<&MarkCursor>,
        limit_recipients: u32,
    ) -> PortResult<Vec<Recipient>> {
        // An index page's `LastEvaluatedKey` is the table's key plus the index's: rebuilt from
        // the cursor it continues exactly where the last page stopped.
        let start = after.map(|cursor| {
            let mut start = key(conversation, &cursor.user_id);
            start.insert(TICK_DELIVERED.to_string(), n(cursor.delivered_seq));
            start
        });
        let (entries, _) = self
            .tick_page(
                BY_DELIVERED,
                conversation,
                Some(seq),
                start,
                limit_recipients,
            )
            .await?;
        Ok(entries
            .into_iter()
            .filter_map(|entry| {
                Some(Recipient {
                    user_id: entry.user_id,
                    delivered_seq: entry.tick_delivered?,
                    read_seq: entry.tick_read.unwrap_or(0),
                    joined_seq: entry.joined_seq,
                })
            })
            .collect())
    }
}
