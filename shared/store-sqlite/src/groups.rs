//! `GroupStore`: a group's head row (`groups`), its members, and the system message of every
//! change, each change one writer job so that it commits whole or not at all.
//!
//! A job reads what it checks (the group row, the memberships it changes) and writes in the
//! same savepoint; the writer runs one job at a time, so nothing changes in between and the
//! member count stays exact. The system message goes through the same `append` as any message,
//! so it takes the conversation's next seq and reaches the change feed after the commit.

use std::sync::Arc;

use async_trait::async_trait;
use chat_domain::frames::MarkKind;
use chat_domain::{ChatError, ConversationId, NewMessage, Role, StoredMessage, UserId};
use chat_ports::{
    Appended, GroupChange, GroupInfo, GroupStore, MemberChange, Membership, NewGroup, PortResult,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::SqliteStore;
use crate::feed::{Change, Feed};
use crate::memberships::{put_members, read_membership};
use crate::messages::append;
use crate::rows::{GROUP_COLUMNS, GROUP_SELECT, GroupRow, db, int, role_str};

#[async_trait]
impl GroupStore for SqliteStore {
    async fn create_group(
        &self,
        group: NewGroup,
        members: &[(UserId, Role)],
        message: NewMessage,
    ) -> PortResult<StoredMessage> {
        let members = members.to_vec();
        self.write_message(move |conn| create(conn, &group, &members, message))
            .await
    }

    async fn change_group(&self, change: GroupChange) -> PortResult<StoredMessage> {
        self.write_message(move |conn| apply(conn, change)).await
    }

    async fn group(&self, conversation: &ConversationId) -> PortResult<Option<GroupInfo>> {
        let conversation = conversation.to_string();
        self.readers
            .run(move |conn| read_group(conn, &conversation))
            .await
    }

    async fn raise_tick(
        &self,
        conversation: &ConversationId,
        kind: MarkKind,
        seq: u64,
    ) -> PortResult<bool> {
        let conversation = conversation.to_string();
        let seq = int(seq)?;
        let sql = match kind {
            MarkKind::Delivered => {
                "UPDATE groups SET delivered_all_seq = ?2
                 WHERE conversation_id = ?1 AND delivered_all_seq < ?2"
            }
            MarkKind::Read => {
                "UPDATE groups SET read_all_seq = ?2
                 WHERE conversation_id = ?1 AND read_all_seq < ?2"
            }
        };
        self.writer
            .run(move |conn| {
                let changed = conn
                    .prepare_cached(sql)
                    .and_then(|mut stmt| stmt.execute(params![conversation, seq]))
                    .map_err(db("raise_tick"))?;
                Ok(changed > 0)
            })
            .await
    }
}

impl SqliteStore {
    /// Runs a job that appends one message, and publishes it to the feed once committed.
    async fn write_message<F>(&self, job: F) -> PortResult<StoredMessage>
    where
        F: FnOnce(&Connection) -> Result<StoredMessage, ChatError> + Send + 'static,
    {
        let feed: Arc<Feed> = Arc::clone(&self.feed);
        self.writer
            .run_then(job, move |stored| {
                feed.publish(Change::Inserted(stored.clone()))
            })
            .await
    }
}

fn read_group(conn: &Connection, conversation: &str) -> Result<Option<GroupInfo>, ChatError> {
    let row = conn
        .prepare_cached(&format!("{GROUP_SELECT} WHERE g.conversation_id = ?1"))
        .and_then(|mut stmt| stmt.query_row([conversation], GroupRow::read).optional())
        .map_err(db("group"))?;
    row.map(GroupRow::into_group).transpose()
}

/// Appends a system message that must be new (its client id is made by the server).
fn append_new(conn: &Connection, message: NewMessage) -> Result<StoredMessage, ChatError> {
    match append(conn, message)? {
        Appended::New(stored) => Ok(stored),
        Appended::Duplicate(original) => Err(ChatError::conflict(format!(
            "system message {} was stored already",
            original.client_msg_id
        ))),
    }
}

fn create(
    conn: &Connection,
    group: &NewGroup,
    members: &[(UserId, Role)],
    message: NewMessage,
) -> Result<StoredMessage, ChatError> {
    let conversation = group.conversation_id.to_string();
    let count = i64::try_from(members.len())
        .map_err(|err| ChatError::internal("create_group: member count", err))?;
    let inserted = conn
        .prepare_cached(&format!(
            "INSERT OR IGNORE INTO groups ({GROUP_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, 0)"
        ))
        .and_then(|mut stmt| {
            stmt.execute(params![
                conversation,
                group.name.as_str(),
                group.settings.only_admins_send,
                group.settings.only_admins_edit_info,
                group.created_by.as_str(),
                group.created_at.as_i64(),
                count,
            ])
        })
        .map_err(db("create_group: the head"))?;
    if inserted == 0 {
        return Err(ChatError::conflict(format!(
            "group {conversation} exists already"
        )));
    }
    let rows: Vec<Membership> = members
        .iter()
        .map(|(user, role)| {
            Membership::new(
                group.conversation_id.clone(),
                user.clone(),
                *role,
                group.created_at,
            )
        })
        .collect();
    put_members(conn, &rows, "INSERT")?;
    append_new(conn, message)
}

fn changed_meanwhile(user: &UserId) -> ChatError {
    ChatError::conflict(format!(
        "the membership of {user} changed meanwhile; read the group again"
    ))
}

fn apply(conn: &Connection, change: GroupChange) -> Result<StoredMessage, ChatError> {
    let conversation_id = change.message.conversation_id.clone();
    let conversation = conversation_id.to_string();
    let group = read_group(conn, &conversation)?
        .filter(|g| !g.closed)
        .ok_or_else(|| ChatError::NotFound(format!("no open group {conversation}")))?;
    let settings = change.settings_after(group.settings)?;

    let mut count = i64::from(group.member_count);
    let mut owner_removed = None;
    for member in &change.members {
        let row = read_membership(conn, &conversation, member.user_id().as_str())?
            .filter(Membership::is_current);
        match (member, &row) {
            (MemberChange::Add { .. }, None) => count += 1,
            (MemberChange::Remove { .. }, Some(row)) => {
                count -= 1;
                if row.role == Role::Owner {
                    owner_removed = Some(member.user_id());
                }
            }
            (MemberChange::SetRole { .. }, Some(_)) => {}
            (_, _) => return Err(changed_meanwhile(member.user_id())),
        }
    }
    // The owner goes only with the group's last member: one who became the owner since the
    // caller read their role is refused, and the caller reads again.
    if let Some(owner) = owner_removed
        && count > 0
    {
        return Err(changed_meanwhile(owner));
    }
    if count > i64::from(change.max_members) {
        return Err(ChatError::bad_request(format!(
            "a group has at most {} members",
            change.max_members
        )));
    }

    let joined_at = change.message.sent_at;
    let stored = append_new(conn, change.message)?;
    let seq = stored.seq.get();
    let left_seq = int(seq)?;
    for member in &change.members {
        let user = member.user_id().as_str();
        match member {
            MemberChange::Add { user_id, role } => {
                // A new member's marks start just before the message that added them.
                let mut row =
                    Membership::new(conversation_id.clone(), user_id.clone(), *role, joined_at);
                row.joined_seq = seq;
                row.delivered_seq = seq - 1;
                row.read_seq = seq - 1;
                put_members(conn, &[row], "INSERT OR REPLACE")?;
            }
            MemberChange::Remove { .. } => {
                conn.prepare_cached(
                    "UPDATE memberships SET left_seq = ?3
                     WHERE conversation_id = ?1 AND user_id = ?2",
                )
                .and_then(|mut stmt| stmt.execute(params![conversation, user, left_seq]))
                .map_err(db("change_group: removing a member"))?;
            }
            MemberChange::SetRole { role, .. } => {
                conn.prepare_cached(
                    "UPDATE memberships SET role = ?3 WHERE conversation_id = ?1 AND user_id = ?2",
                )
                .and_then(|mut stmt| stmt.execute(params![conversation, user, role_str(*role)]))
                .map_err(db("change_group: a role"))?;
            }
        }
    }
    let name = change.name.as_ref().unwrap_or(&group.name);
    conn.prepare_cached(
        "UPDATE groups SET name = ?2, only_admins_send = ?3, only_admins_edit_info = ?4,
                           member_count = ?5, closed = ?6
         WHERE conversation_id = ?1",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            conversation,
            name.as_str(),
            settings.only_admins_send,
            settings.only_admins_edit_info,
            count,
            count == 0,
        ])
    })
    .map_err(db("change_group: the head"))?;
    Ok(stored)
}
