//! `HiddenStore`: the messages a member deleted for themselves, keyed
//! `(user_id, conversation_id, seq)` so that a history page's range is one key-range query.

use async_trait::async_trait;
use chat_domain::{ConversationId, Seq, UserId};
use chat_ports::{HiddenStore, PortResult};
use rusqlite::params;

use crate::SqliteStore;
use crate::rows::{db, int, int_saturating, seq};

#[async_trait]
impl HiddenStore for SqliteStore {
    async fn hide_message(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        hidden: Seq,
    ) -> PortResult<bool> {
        let (conversation, user) = (conversation.to_string(), user.to_string());
        let hidden = int(hidden.get())?;
        self.writer
            .run(move |conn| {
                let flagged = conn
                    .prepare_cached(
                        "UPDATE memberships SET hidden_messages = 1
                         WHERE conversation_id = ?1 AND user_id = ?2",
                    )
                    .and_then(|mut stmt| stmt.execute(params![conversation, user]))
                    .map_err(db("hide_message: the membership"))?;
                if flagged == 0 {
                    return Ok(false);
                }
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO hidden_messages (user_id, conversation_id, seq)
                     VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut stmt| stmt.execute(params![user, conversation, hidden]))
                .map_err(db("hide_message"))?;
                Ok(true)
            })
            .await
    }

    async fn hidden_in(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        from: u64,
        to: u64,
    ) -> PortResult<Vec<Seq>> {
        let (conversation, user) = (conversation.to_string(), user.to_string());
        let (from, to) = (int_saturating(from), int_saturating(to));
        self.readers
            .run(move |conn| {
                let rows: Vec<i64> = conn
                    .prepare_cached(
                        "SELECT seq FROM hidden_messages
                         WHERE user_id = ?1 AND conversation_id = ?2 AND seq >= ?3 AND seq <= ?4
                         ORDER BY seq",
                    )
                    .and_then(|mut stmt| {
                        stmt.query_map(params![user, conversation, from, to], |row| row.get(0))?
                            .collect()
                    })
                    .map_err(db("hidden_in"))?;
                rows.into_iter().map(|s| seq("seq", s)).collect()
            })
            .await
    }
}
