//! `GroupStore`: a group's head lives on its conversation head item (the conversations table:
//! `last_seq` and the preview as for any conversation, plus `name`, the settings,
//! `member_count`, `closed` and the announced ticks), its members in the memberships table.
//!
//! **A change is one transaction**: the head update (the seq race, `member_count`, name,
//! settings), the system message and its idempotency key (exactly as `append` writes them),
//! and one conditional write per member change. The head's condition is `last_seq = n`, as for
//! any append, so the member count read with `n` is exact when the transaction commits, and the
//! cap and `closed` are decided on it; a lost race reads the head again and retries. A member
//! write whose condition fails (adding a current member, removing someone who is not) cancels
//! the whole change: `Conflict`.
//!
//! **Creation** writes the members first (`BatchWriteItem`, 25 a request; not atomic) and then
//! the head with the `created` message in one transaction. Until the head exists the group is
//! listed nowhere (`summaries` skip group memberships without a head), so a creation that dies
//! midway leaves rows nobody sees.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, Put, TransactWriteItem, Update};
use chat_domain::frames::MarkKind;
use chat_domain::{
    ChatError, ConversationId, GroupName, GroupSettings, Millis, NewMessage, Role, Seq,
    StoredMessage, UserId,
};
use chat_ports::{
    GroupChange, GroupInfo, GroupStore, MemberChange, Membership, NewGroup, PortResult,
};
use serde::{Deserialize, Serialize};

use super::DynamoStore;
use super::codec::{Item, build_error, from_item, is_condition_failed, n, s, to_item};
use super::memberships::{self, LEFT_SEQ, MembershipItem, TICK_DELIVERED, TICK_READ};
use super::messages::append::HEAD;
use super::messages::items::{
    LAST_MESSAGE_AT, LAST_PREVIEW, LAST_RECALLED, LAST_SENDER_ID, LAST_SEQ,
};
use super::messages::keys;
use crate::errors::internal;

/// Head attributes of a group (beside the message head's).
const NAME: &str = "name";
const MEMBER_COUNT: &str = "member_count";
const CLOSED: &str = "closed";
const DELIVERED_ALL: &str = "delivered_all_seq";
const READ_ALL: &str = "read_all_seq";

/// A group's head item, as `group` reads it.
#[derive(Debug, Serialize, Deserialize)]
struct GroupItem {
    conversation_id: ConversationId,
    last_seq: Seq,
    last_message_at: Millis,
    last_sender_id: UserId,
    name: GroupName,
    #[serde(default)]
    only_admins_send: bool,
    #[serde(default)]
    only_admins_edit_info: bool,
    created_by: UserId,
    created_at: Millis,
    member_count: u32,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    delivered_all_seq: u64,
    #[serde(default)]
    read_all_seq: u64,
}

impl From<GroupItem> for GroupInfo {
    fn from(item: GroupItem) -> Self {
        GroupInfo {
            conversation_id: item.conversation_id,
            name: item.name,
            settings: GroupSettings {
                only_admins_send: item.only_admins_send,
                only_admins_edit_info: item.only_admins_edit_info,
            },
            created_by: item.created_by,
            created_at: item.created_at,
            member_count: item.member_count,
            closed: item.closed,
            last_seq: item.last_seq.get(),
            delivered_all_seq: item.delivered_all_seq,
            read_all_seq: item.read_all_seq,
        }
    }
}

impl DynamoStore {
    /// The group's head, read strongly consistently.
    async fn group_item(&self, conversation: &ConversationId) -> PortResult<Option<GroupItem>> {
        let found = self
            .client
            .get_item()
            .table_name(&self.tables.conversations)
            .set_key(Some(keys::head(conversation)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| internal("group", e))?;
        match found.item {
            // A direct conversation's head has no name: it is no group.
            Some(item) if item.contains_key(NAME) => Ok(Some(from_item("group head", item)?)),
            _ => Ok(None),
        }
    }

    /// One attempt at `change` on the head as it was read: `Ok(None)` when another write took
    /// the seq first (read again and retry).
    async fn try_change(
        &self,
        change: &GroupChange,
        head: &GroupItem,
    ) -> PortResult<Option<StoredMessage>> {
        let mut count = i64::from(head.member_count);
        for member in &change.members {
            match member {
                MemberChange::Add { .. } => count += 1,
                MemberChange::Remove { .. } => count -= 1,
                MemberChange::SetRole { .. } => {}
            }
        }
        if count > i64::from(change.max_members) {
            return Err(ChatError::bad_request(format!(
                "a group has at most {} members",
                change.max_members
            )));
        }
        let stored = change.message.clone().stored_at(head.last_seq.next());
        let mut items = vec![
            self.group_head_update(change, &stored, head, count)?,
            self.message_put(&stored)?,
            self.idempotency_put(&stored)?,
        ];
        // The owner goes only with the group's last member: one who became the owner since
        // the caller read their role fails the condition, and the caller reads again.
        let closing = count == 0;
        for member in &change.members {
            items.push(self.member_write(&stored, member, closing)?);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(stored)),
            Err(err) => cancelled_change(err, &change.members),
        }
    }

    /// The head's update: the message head's attributes (as `append` sets them), the count,
    /// name and settings, on condition that nothing changed since `head` was read.
    fn group_head_update(
        &self,
        change: &GroupChange,
        stored: &StoredMessage,
        head: &GroupItem,
        count: i64,
    ) -> PortResult<TransactWriteItem> {
        let name = change.name.as_ref().unwrap_or(&head.name);
        let current = GroupSettings {
            only_admins_send: head.only_admins_send,
            only_admins_edit_info: head.only_admins_edit_info,
        };
        let settings = change.settings_after(current)?;
        let update = Update::builder()
            .table_name(&self.tables.conversations)
            .set_key(Some(keys::head(&stored.conversation_id)))
            .update_expression(
                "SET #last = :seq, #at = :at, #sender = :sender, #count = :count, \
                 #name = :name, #oas = :oas, #oaei = :oaei, #closed = :closed \
                 REMOVE #preview, #recalled",
            )
            .condition_expression("#last = :expected AND #closed = :open")
            .expression_attribute_names("#last", LAST_SEQ)
            .expression_attribute_names("#at", LAST_MESSAGE_AT)
            .expression_attribute_names("#sender", LAST_SENDER_ID)
            .expression_attribute_names("#preview", LAST_PREVIEW)
            .expression_attribute_names("#recalled", LAST_RECALLED)
            .expression_attribute_names("#count", MEMBER_COUNT)
            .expression_attribute_names("#name", NAME)
            .expression_attribute_names("#oas", "only_admins_send")
            .expression_attribute_names("#oaei", "only_admins_edit_info")
            .expression_attribute_names("#closed", CLOSED)
            .expression_attribute_values(":seq", n(stored.seq.get()))
            .expression_attribute_values(":expected", n(head.last_seq.get()))
            .expression_attribute_values(":at", n(stored.sent_at.as_i64()))
            .expression_attribute_values(":sender", s(&stored.sender_id))
            .expression_attribute_values(":count", n(count))
            .expression_attribute_values(":name", s(name))
            .expression_attribute_values(":oas", bool_value(settings.only_admins_send))
            .expression_attribute_values(":oaei", bool_value(settings.only_admins_edit_info))
            .expression_attribute_values(":closed", bool_value(count == 0))
            .expression_attribute_values(":open", bool_value(false))
            .build()
            .map_err(|e| build_error("group change: head update", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// One member change, conditional on the member's state (see the module docs).
    fn member_write(
        &self,
        stored: &StoredMessage,
        member: &MemberChange,
        closing: bool,
    ) -> PortResult<TransactWriteItem> {
        let table = &self.tables.memberships;
        let seq = stored.seq.get();
        let item = match member {
            MemberChange::Add { user_id, role } => {
                // A new member's marks start just before the message that added them.
                let mut joined = Membership::new(
                    stored.conversation_id.clone(),
                    user_id.clone(),
                    *role,
                    stored.sent_at,
                );
                joined.joined_seq = seq;
                joined.delivered_seq = seq - 1;
                joined.read_seq = seq - 1;
                let put = Put::builder()
                    .table_name(table)
                    .set_item(Some(to_item("membership", &MembershipItem::from(&joined))?))
                    .condition_expression("attribute_not_exists(#user) OR attribute_exists(#left)")
                    .expression_attribute_names("#user", memberships::RANGE)
                    .expression_attribute_names("#left", LEFT_SEQ)
                    .build()
                    .map_err(|e| build_error("group change: add", e))?;
                return Ok(TransactWriteItem::builder().put(put).build());
            }
            MemberChange::Remove { user_id } => Update::builder()
                .table_name(table)
                .set_key(Some(memberships::key(&stored.conversation_id, user_id)))
                .update_expression("SET #left = :seq REMOVE #tick_d, #tick_r")
                .expression_attribute_names("#tick_d", TICK_DELIVERED)
                .expression_attribute_names("#tick_r", TICK_READ)
                .expression_attribute_values(":seq", n(seq)),
            MemberChange::SetRole { user_id, role } => Update::builder()
                .table_name(table)
                .set_key(Some(memberships::key(&stored.conversation_id, user_id)))
                .update_expression("SET #role = :role")
                .expression_attribute_names("#role", "role")
                .expression_attribute_values(":role", s(role.as_str())),
        };
        let current = "attribute_exists(#user) AND attribute_not_exists(#left)";
        let item = match member {
            MemberChange::Remove { .. } if !closing => item
                .condition_expression(format!("{current} AND #member_role <> :owner"))
                .expression_attribute_names("#member_role", "role")
                .expression_attribute_values(":owner", s(Role::Owner.as_str())),
            _ => item.condition_expression(current),
        };
        let update = item
            .expression_attribute_names("#user", memberships::RANGE)
            .expression_attribute_names("#left", LEFT_SEQ)
            .build()
            .map_err(|e| build_error("group change: member update", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

fn bool_value(value: bool) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::Bool(value)
}

/// A cancelled change: a member's condition is a `Conflict`, the head's a lost race (`None`),
/// anything else an internal error.
fn cancelled_change(
    err: SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
    members: &[MemberChange],
) -> PortResult<Option<StoredMessage>> {
    let reasons = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            cancelled.cancellation_reasons()
        }
        _ => return Err(internal("group change", err)),
    };
    let code = |index: usize| reasons.get(index).and_then(CancellationReason::code);
    for (offset, member) in members.iter().enumerate() {
        if code(3 + offset) == Some("ConditionalCheckFailed") {
            return Err(ChatError::conflict(format!(
                "the membership of {} changed meanwhile; read the group again",
                member.user_id()
            )));
        }
    }
    let raced = (0..3 + members.len()).any(|i| {
        matches!(
            code(i),
            Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")
        )
    });
    if code(HEAD) == Some("ConditionalCheckFailed") || raced {
        return Ok(None);
    }
    Err(internal("group change", err))
}

#[async_trait]
impl GroupStore for DynamoStore {
    async fn create_group(
        &self,
        group: NewGroup,
        members: &[(UserId, Role)],
        message: NewMessage,
    ) -> PortResult<StoredMessage> {
        let rows: Vec<Item> = members
            .iter()
            .map(|(user, role)| {
                let member = Membership::new(
                    group.conversation_id.clone(),
                    user.clone(),
                    *role,
                    group.created_at,
                );
                to_item("membership", &MembershipItem::from(&member))
            })
            .collect::<PortResult<_>>()?;
        self.batch_put("create_group: members", &self.tables.memberships, rows)
            .await?;

        let stored = message.stored_at(Seq::FIRST);
        let head = GroupItem {
            conversation_id: group.conversation_id.clone(),
            last_seq: stored.seq,
            last_message_at: stored.sent_at,
            last_sender_id: stored.sender_id.clone(),
            name: group.name,
            only_admins_send: group.settings.only_admins_send,
            only_admins_edit_info: group.settings.only_admins_edit_info,
            created_by: group.created_by,
            created_at: group.created_at,
            member_count: u32::try_from(members.len()).unwrap_or(u32::MAX),
            closed: false,
            delivered_all_seq: 0,
            read_all_seq: 0,
        };
        let head_put = Put::builder()
            .table_name(&self.tables.conversations)
            .set_item(Some(to_item("group head", &head)?))
            .condition_expression("attribute_not_exists(#conversation)")
            .expression_attribute_names("#conversation", keys::HEAD_HASH)
            .build()
            .map_err(|e| build_error("create_group: head", e))?;
        let items = vec![
            TransactWriteItem::builder().put(head_put).build(),
            self.message_put(&stored)?,
            self.idempotency_put(&stored)?,
        ];
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| internal("create_group", e))?;
        Ok(stored)
    }

    async fn change_group(&self, change: GroupChange) -> PortResult<StoredMessage> {
        let conversation = change.message.conversation_id.clone();
        let backoff = self.append_backoff;
        // Appends of this process to the conversation queue here too (see `lanes`).
        let _lane = self.append_lanes.enter(&conversation).await;
        for attempt in 1..=backoff.max_attempts {
            let head = self
                .group_item(&conversation)
                .await?
                .filter(|head| !head.closed)
                .ok_or_else(|| ChatError::NotFound(format!("no open group {conversation}")))?;
            if let Some(stored) = self.try_change(&change, &head).await? {
                return Ok(stored);
            }
            tracing::debug!(%conversation, attempt, "group change lost the seq race");
            backoff.pause(attempt).await;
        }
        Err(ChatError::Internal {
            context: format!(
                "group change of {conversation}: lost the seq race {} times",
                backoff.max_attempts
            ),
            cause: None,
        })
    }

    async fn group(&self, conversation: &ConversationId) -> PortResult<Option<GroupInfo>> {
        Ok(self.group_item(conversation).await?.map(GroupInfo::from))
    }

    async fn raise_tick(
        &self,
        conversation: &ConversationId,
        kind: MarkKind,
        seq: u64,
    ) -> PortResult<bool> {
        let attribute = match kind {
            MarkKind::Delivered => DELIVERED_ALL,
            MarkKind::Read => READ_ALL,
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.conversations)
            .set_key(Some(keys::head(conversation)))
            .update_expression("SET #tick = :seq")
            .condition_expression("attribute_exists(#name) AND #tick < :seq")
            .expression_attribute_names("#tick", attribute)
            .expression_attribute_names("#name", NAME)
            .expression_attribute_values(":seq", n(seq))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failed(&err) => Ok(false),
            Err(err) => Err(internal("raise_tick", err)),
        }
    }
}
