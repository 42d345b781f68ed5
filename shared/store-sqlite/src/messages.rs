//! `MessageStore`: the append that assigns a conversation's gap-free seq, history pages and
//! conversation heads.
//!
//! An append is one job on the writer, atomic in its own savepoint: the idempotency lookup on
//! `(sender_id, client_msg_id)`, the next seq from the conversation's head row, the message
//! insert and the head update. The writer commits it (and fsyncs) together with the other
//! writes queued with it before the caller hears `Ok` (group commit, see [`crate::writer`]).
//! History reads are key-range queries on the `(conversation_id, seq)` primary key that fetch
//! one row more than the page to learn `has_more`.

use std::sync::Arc;

use async_trait::async_trait;
use chat_domain::{ChatError, ConversationId, NewMessage, Recall, Seq, StoredMessage, UserId};
use chat_ports::{
    Appended, ConversationHead, HistoryQuery, MessagePage, MessageStore, PREVIEW_CHARS, PortResult,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::SqliteStore;
use crate::feed::Change;
use crate::rows::{
    HEAD_COLUMNS, HEAD_SELECT, HeadRow, MESSAGE_COLUMNS, MessageRow, db, int, int_saturating,
    json_text, seq,
};

#[async_trait]
impl MessageStore for SqliteStore {
    async fn append(&self, message: NewMessage) -> PortResult<Appended> {
        let feed = Arc::clone(&self.feed);
        self.writer
            .run_then(
                move |conn| append(conn, message),
                move |appended| {
                    if let Appended::New(stored) = appended {
                        feed.publish(Change::Inserted(stored.clone()));
                    }
                },
            )
            .await
    }

    async fn history(
        &self,
        conversation: &ConversationId,
        query: HistoryQuery,
    ) -> PortResult<MessagePage> {
        let conversation = conversation.to_string();
        self.readers
            .run(move |conn| history(conn, &conversation, query))
            .await
    }

    async fn heads(&self, conversations: &[ConversationId]) -> PortResult<Vec<ConversationHead>> {
        let ids: Vec<String> = conversations.iter().map(ToString::to_string).collect();
        self.readers.run(move |conn| heads(conn, &ids)).await
    }

    async fn recall(
        &self,
        conversation: &ConversationId,
        seq: Seq,
        recall: Recall,
    ) -> PortResult<Option<StoredMessage>> {
        let conversation = conversation.to_string();
        let feed = Arc::clone(&self.feed);
        let recalled = self
            .writer
            .run_then(
                move |conn| recall_message(conn, &conversation, seq, &recall),
                move |outcome: &Option<(StoredMessage, bool)>| {
                    if let Some((tombstone, true)) = outcome {
                        feed.publish(Change::Modified(tombstone.clone()));
                    }
                },
            )
            .await?;
        Ok(recalled.map(|(tombstone, _)| tombstone))
    }

    async fn senders(
        &self,
        conversation: &ConversationId,
        after: u64,
        up_to: Seq,
        limit: u32,
    ) -> PortResult<Vec<UserId>> {
        let conversation = conversation.to_string();
        let (after, up_to) = (int_saturating(after), int(up_to.get())?);
        self.readers
            .run(move |conn| {
                // The limit before the system messages are dropped, as on DynamoDB (a `Limit`
                // counts the rows read, not those kept).
                let rows: Vec<(String, bool)> = conn
                    .prepare_cached(
                        "SELECT sender_id, system IS NOT NULL FROM messages
                         WHERE conversation_id = ?1 AND seq > ?2 AND seq <= ?3
                         ORDER BY seq DESC LIMIT ?4",
                    )
                    .and_then(|mut stmt| {
                        stmt.query_map(params![conversation, after, up_to, limit], |row| {
                            Ok((row.get(0)?, row.get(1)?))
                        })?
                        .collect()
                    })
                    .map_err(db("senders"))?;
                let mut senders: Vec<UserId> = Vec::new();
                for raw in rows
                    .into_iter()
                    .filter(|(_, system)| !system)
                    .map(|(raw, _)| raw)
                {
                    let sender = UserId::parse(&raw)
                        .map_err(|e| ChatError::internal("corrupt value in column sender_id", e))?;
                    if !senders.contains(&sender) {
                        senders.push(sender);
                    }
                }
                Ok(senders)
            })
            .await
    }
}

/// Runs on the writer, inside the savepoint it gives each job (see [`crate::writer`]): every
/// statement here commits or rolls back together, and the caller hears `Ok` only after the
/// batch holding it has committed. A group change runs this inside its own job, with its
/// membership writes (`crate::groups`).
pub(crate) fn append(conn: &Connection, message: NewMessage) -> Result<Appended, ChatError> {
    // Idempotency first: a retried send answers the original, wherever it was stored.
    let original = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = ?1 AND client_msg_id = ?2"
        ))
        .and_then(|mut stmt| {
            stmt.query_row(
                params![message.sender_id.as_str(), message.client_msg_id.as_str()],
                MessageRow::read,
            )
            .optional()
        })
        .map_err(db("append: looking up client_msg_id"))?;
    if let Some(original) = original {
        let original = original.into_message()?;
        return if original.conversation_id == message.conversation_id {
            Ok(Appended::Duplicate(original))
        } else {
            Err(ChatError::conflict(format!(
                "client_msg_id {} was already used in another conversation",
                message.client_msg_id
            )))
        };
    }

    let conversation = message.conversation_id.to_string();
    let last_seq: Option<i64> = conn
        .prepare_cached("SELECT last_seq FROM conversations WHERE conversation_id = ?1")
        .and_then(|mut stmt| stmt.query_row([&conversation], |row| row.get(0)).optional())
        .map_err(db("append: reading the conversation head"))?;
    let last_seq = last_seq.map(|last| seq("last_seq", last)).transpose()?;
    let stored = message.stored_at(Seq::after(last_seq));

    let new_seq = int(stored.seq.get())?;
    let reply_to = stored.reply_to.map(|r| int(r.get())).transpose()?;
    let body = stored.body.as_ref().map(|b| b.as_str());
    let media = json_text("media", stored.media.as_ref())?;
    let system = json_text("system", stored.system.as_ref())?;
    conn.prepare_cached(&format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL)"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            conversation,
            new_seq,
            stored.message_id.as_str(),
            stored.sender_id.as_str(),
            stored.sender_device.as_str(),
            stored.client_msg_id.as_str(),
            body,
            media,
            reply_to,
            stored.sent_at.as_i64(),
            system,
        ])
    })
    .map_err(db("append: inserting the message"))?;

    let preview = stored.body.as_ref().map(|b| b.preview(PREVIEW_CHARS));
    conn.prepare_cached(&format!(
        "INSERT INTO conversations ({HEAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (conversation_id) DO UPDATE SET
             last_seq = excluded.last_seq,
             last_message_at = excluded.last_message_at,
             last_sender_id = excluded.last_sender_id,
             last_preview = excluded.last_preview,
             last_recalled = 0"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            conversation,
            new_seq,
            stored.sent_at.as_i64(),
            stored.sender_id.as_str(),
            preview,
        ])
    })
    .map_err(db("append: updating the conversation head"))?;
    Ok(Appended::New(stored))
}

/// Runs on the writer: the tombstone, and whether this call made it (a recalled message is
/// answered as it is).
fn recall_message(
    conn: &Connection,
    conversation: &str,
    at: Seq,
    recall: &Recall,
) -> Result<Option<(StoredMessage, bool)>, ChatError> {
    let seq_value = int(at.get())?;
    let found = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 AND seq = ?2"
        ))
        .and_then(|mut stmt| {
            stmt.query_row(params![conversation, seq_value], MessageRow::read)
                .optional()
        });
    let Some(row) = found.map_err(db("recall: reading the message"))? else {
        return Ok(None);
    };
    let mut message = row.into_message()?;
    if message.recalled.is_some() {
        return Ok(Some((message, false)));
    }
    if message.system.is_some() {
        return Err(ChatError::bad_request(
            "a system message cannot be recalled",
        ));
    }
    let tombstone = json_text("recalled", Some(recall))?;
    conn.prepare_cached(
        "UPDATE messages SET body = NULL, media = NULL, reply_to = NULL, recalled = ?3
         WHERE conversation_id = ?1 AND seq = ?2",
    )
    .and_then(|mut stmt| stmt.execute(params![conversation, seq_value, tombstone]))
    .map_err(db("recall: erasing the message"))?;
    conn.prepare_cached(
        "UPDATE conversations SET last_preview = NULL, last_recalled = 1
         WHERE conversation_id = ?1 AND last_seq = ?2",
    )
    .and_then(|mut stmt| stmt.execute(params![conversation, seq_value]))
    .map_err(db("recall: the head's preview"))?;
    message.body = None;
    message.media = None;
    message.reply_to = None;
    message.recalled = Some(recall.clone());
    Ok(Some((message, true)))
}

fn history(
    conn: &mut Connection,
    conversation: &str,
    query: HistoryQuery,
) -> Result<MessagePage, ChatError> {
    let (sql, bound, limit) = match query {
        HistoryQuery::After { after, limit } => (
            format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq ASC LIMIT ?3"
            ),
            int_saturating(after),
            limit,
        ),
        HistoryQuery::Before { before, limit } => (
            format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE conversation_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
            ),
            before.map_or(i64::MAX, |b| int_saturating(b.get())),
            limit,
        ),
    };
    // One row past the page tells whether there is more in the query's direction.
    let mut rows = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(
                params![conversation, bound, i64::from(limit) + 1],
                MessageRow::read,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(db("history: reading messages"))?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    if matches!(query, HistoryQuery::Before { .. }) {
        rows.reverse();
    }
    let messages = rows
        .into_iter()
        .map(MessageRow::into_message)
        .collect::<Result<Vec<StoredMessage>, ChatError>>()?;
    Ok(MessagePage { messages, has_more })
}

fn heads(conn: &mut Connection, ids: &[String]) -> Result<Vec<ConversationHead>, ChatError> {
    // One read transaction, so every head comes from the same snapshot.
    let tx = conn.transaction().map_err(db("heads: begin"))?;
    let mut found = Vec::with_capacity(ids.len());
    {
        let mut stmt = tx
            .prepare_cached(&format!("{HEAD_SELECT} WHERE h.conversation_id = ?1"))
            .map_err(db("heads: preparing"))?;
        for id in ids {
            let row = stmt
                .query_row([id], HeadRow::read)
                .optional()
                .map_err(db("heads: reading a head"))?;
            if let Some(row) = row {
                found.push(row.into_head()?);
            }
        }
        let mut last_own = tx
            .prepare_cached(
                "SELECT seq FROM messages WHERE conversation_id = ?1 AND +sender_id = ?2 \
                 ORDER BY seq DESC LIMIT 1",
            )
            .map_err(db("heads: preparing"))?;
        for head in &mut found {
            head.last_sent = last_sent(&mut last_own, head)?;
        }
    }
    tx.finish().map_err(db("heads: end"))?;
    Ok(found)
}

/// A direct conversation's members with their newest own message (see
/// `ConversationHead::last_sent`): a walk back from the newest message on the primary key to
/// each member's latest, which is near the end in a conversation of two.
fn last_sent(
    stmt: &mut rusqlite::CachedStatement<'_>,
    head: &ConversationHead,
) -> Result<Vec<(UserId, Seq)>, ChatError> {
    let Some(pair) = head.conversation_id.direct_members() else {
        return Ok(Vec::new());
    };
    let conversation = head.conversation_id.to_string();
    let mut last = Vec::with_capacity(2);
    for member in pair {
        let found: Option<i64> = stmt
            .query_row(params![conversation, member.as_str()], |row| row.get(0))
            .optional()
            .map_err(db("heads: a member's newest message"))?;
        if let Some(found) = found {
            last.push((member.clone(), seq("seq", found)?));
        }
    }
    Ok(last)
}
