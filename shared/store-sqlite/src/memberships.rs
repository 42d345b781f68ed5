//! `MembershipStore`: who belongs to which conversation, with each member's delivered and read
//! marks (and until when they muted it, `muted_until`). Keyed `(conversation_id, user_id)` for lookups and member pages; indexed by user for
//! "my conversations".
//!
//! Marks move in one writer job that reads the marks and writes the raised ones: the writer
//! runs jobs one at a time, so concurrent receipts can never lower a mark, and the job knows
//! exactly what it moved from. Two partial indexes over current members' marks answer the
//! group ticks (`lowest_marks`, `delivered_to`) without walking the members.

use async_trait::async_trait;
use chat_domain::frames::MarkKind;
use chat_domain::{ChatError, ConversationId, Millis, Seq, UserId};
use chat_ports::{
    MarkCursor, MarkHolder, MarkMove, Marks, Membership, MembershipStore, PortResult, Recipient,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::SqliteStore;
use crate::rows::{MEMBERSHIP_COLUMNS, MembershipRow, db, int, role_str, uint};

#[async_trait]
impl MembershipStore for SqliteStore {
    async fn membership(
        &self,
        conversation: &ConversationId,
        user: &UserId,
    ) -> PortResult<Option<Membership>> {
        let (conversation, user) = (conversation.to_string(), user.to_string());
        self.readers
            .run(move |conn| read_membership(conn, &conversation, &user))
            .await
    }

    async fn add_members(&self, members: &[Membership]) -> PortResult<()> {
        let members = members.to_vec();
        self.writer
            .run(move |conn| add_members(conn, &members))
            .await
    }

    async fn memberships_of(&self, user: &UserId) -> PortResult<Vec<Membership>> {
        let user = user.to_string();
        self.readers
            .run(move |conn| {
                let sql = format!(
                    "SELECT {MEMBERSHIP_COLUMNS} FROM memberships
                     WHERE user_id = ?1 ORDER BY conversation_id"
                );
                query_memberships(conn, &sql, params![user], "memberships_of")
            })
            .await
    }

    async fn members(
        &self,
        conversation: &ConversationId,
        after: Option<&UserId>,
        limit: u32,
    ) -> PortResult<Vec<Membership>> {
        let conversation = conversation.to_string();
        // User ids are never empty, so `> ''` is "from the first member".
        let after = after.map(ToString::to_string).unwrap_or_default();
        self.readers
            .run(move |conn| {
                let sql = format!(
                    "SELECT {MEMBERSHIP_COLUMNS} FROM memberships
                     WHERE conversation_id = ?1 AND user_id > ?2 AND left_seq IS NULL
                     ORDER BY user_id LIMIT ?3"
                );
                query_memberships(conn, &sql, params![conversation, after, limit], "members")
            })
            .await
    }

    async fn advance_mark(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        kind: MarkKind,
        seq: Seq,
    ) -> PortResult<Option<MarkMove>> {
        let (conversation, user) = (conversation.to_string(), user.to_string());
        // Read and write in one writer job: nothing else writes in between, so `before` is
        // exactly what this receipt moved from.
        self.writer
            .run(move |conn| {
                let Some(member) = read_membership(conn, &conversation, &user)? else {
                    return Ok(None);
                };
                if !member.is_current() {
                    return Ok(None);
                }
                let before = Marks {
                    delivered_seq: member.delivered_seq,
                    read_seq: member.read_seq,
                };
                let after = moved_marks(before, kind, seq.get());
                if after == before {
                    return Ok(None);
                }
                let (delivered, read) = (int(after.delivered_seq)?, int(after.read_seq)?);
                conn.prepare_cached(
                    "UPDATE memberships SET delivered_seq = ?3, read_seq = ?4
                     WHERE conversation_id = ?1 AND user_id = ?2",
                )
                .and_then(|mut stmt| stmt.execute(params![conversation, user, delivered, read]))
                .map_err(db("advance_mark"))?;
                Ok(Some(MarkMove { before, after }))
            })
            .await
    }

    async fn set_muted(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        until: Option<Millis>,
    ) -> PortResult<bool> {
        let (conversation, user) = (conversation.to_string(), user.to_string());
        let until = until.map(Millis::as_i64);
        self.writer
            .run(move |conn| {
                let found = conn
                    .prepare_cached(
                        "UPDATE memberships SET muted_until = ?3
                         WHERE conversation_id = ?1 AND user_id = ?2",
                    )
                    .and_then(|mut stmt| stmt.execute(params![conversation, user, until]))
                    .map_err(db("set_muted"))?;
                Ok(found > 0)
            })
            .await
    }

    async fn hide_conversation(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        up_to: u64,
    ) -> PortResult<bool> {
        let (conversation, user) = (conversation.to_string(), user.to_string());
        let up_to = int(up_to)?;
        self.writer
            .run(move |conn| {
                let found = conn
                    .prepare_cached(
                        "UPDATE memberships SET hidden_seq = MAX(hidden_seq, ?3)
                         WHERE conversation_id = ?1 AND user_id = ?2",
                    )
                    .and_then(|mut stmt| stmt.execute(params![conversation, user, up_to]))
                    .map_err(db("hide_conversation"))?;
                Ok(found > 0)
            })
            .await
    }

    async fn lowest_marks(
        &self,
        conversation: &ConversationId,
        kind: MarkKind,
        limit: u32,
    ) -> PortResult<Vec<MarkHolder>> {
        if conversation.direct_members().is_some() {
            return Ok(Vec::new());
        }
        let conversation = conversation.to_string();
        // Each ORDER BY matches one of the partial indexes of current members' marks.
        let sql = match kind {
            MarkKind::Delivered => {
                "SELECT user_id, delivered_seq FROM memberships
                 WHERE conversation_id = ?1 AND left_seq IS NULL
                 ORDER BY delivered_seq, user_id LIMIT ?2"
            }
            MarkKind::Read => {
                "SELECT user_id, read_seq FROM memberships
                 WHERE conversation_id = ?1 AND left_seq IS NULL
                 ORDER BY read_seq, user_id LIMIT ?2"
            }
        };
        self.readers
            .run(move |conn| {
                let rows: Vec<(String, i64)> = conn
                    .prepare_cached(sql)
                    .and_then(|mut stmt| {
                        stmt.query_map(params![conversation, limit], |row| {
                            Ok((row.get(0)?, row.get(1)?))
                        })?
                        .collect()
                    })
                    .map_err(db("lowest_marks"))?;
                rows.into_iter()
                    .map(|(user, seq)| {
                        Ok(MarkHolder {
                            user_id: UserId::parse(&user).map_err(|e| {
                                ChatError::internal("corrupt value in column user_id", e)
                            })?,
                            seq: uint("delivered_seq", seq)?,
                        })
                    })
                    .collect()
            })
            .await
    }

    async fn delivered_to(
        &self,
        conversation: &ConversationId,
        seq: Seq,
        after: Option<&MarkCursor>,
        limit: u32,
    ) -> PortResult<Vec<Recipient>> {
        let conversation = conversation.to_string();
        let seq = int(seq.get())?;
        // (-1, '') sorts before every (mark, user id): from the first.
        let (after_seq, after_user) = match after {
            Some(cursor) => (int(cursor.delivered_seq)?, cursor.user_id.to_string()),
            None => (-1, String::new()),
        };
        self.readers
            .run(move |conn| {
                let sql = format!(
                    "SELECT {MEMBERSHIP_COLUMNS} FROM memberships
                     WHERE conversation_id = ?1 AND left_seq IS NULL AND delivered_seq >= ?2
                       AND (delivered_seq, user_id) > (?3, ?4)
                     ORDER BY delivered_seq, user_id LIMIT ?5"
                );
                let members = query_memberships(
                    conn,
                    &sql,
                    params![conversation, seq, after_seq, after_user, limit],
                    "delivered_to",
                )?;
                Ok(members
                    .into_iter()
                    .map(|m| Recipient {
                        user_id: m.user_id,
                        delivered_seq: m.delivered_seq,
                        read_seq: m.read_seq,
                        joined_seq: m.joined_seq,
                    })
                    .collect())
            })
            .await
    }
}

/// The marks after a receipt of `kind` up to `seq`: they only move up, and reading implies
/// delivery.
pub(crate) fn moved_marks(before: Marks, kind: MarkKind, seq: u64) -> Marks {
    match kind {
        MarkKind::Delivered => Marks {
            delivered_seq: before.delivered_seq.max(seq),
            read_seq: before.read_seq,
        },
        MarkKind::Read => Marks {
            delivered_seq: before.delivered_seq.max(seq),
            read_seq: before.read_seq.max(seq),
        },
    }
}

/// One membership, current or former.
pub(crate) fn read_membership(
    conn: &Connection,
    conversation: &str,
    user: &str,
) -> Result<Option<Membership>, ChatError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM memberships
             WHERE conversation_id = ?1 AND user_id = ?2"
        ))
        .and_then(|mut stmt| {
            stmt.query_row(params![conversation, user], MembershipRow::read)
                .optional()
        })
        .map_err(db("membership"))?;
    row.map(MembershipRow::into_membership).transpose()
}

/// Inserts every member that is not there yet. Runs on the writer inside the savepoint it
/// gives each job, so the members go in all together or (on an error) not at all.
fn add_members(conn: &Connection, members: &[Membership]) -> Result<(), ChatError> {
    // OR IGNORE: an existing member keeps its role and marks.
    put_members(conn, members, "INSERT OR IGNORE")
}

/// Writes `members` with `verb` (`INSERT OR IGNORE`, or `INSERT OR REPLACE` to bring former
/// members back).
pub(crate) fn put_members(
    conn: &Connection,
    members: &[Membership],
    verb: &str,
) -> Result<(), ChatError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "{verb} INTO memberships ({MEMBERSHIP_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ))
        .map_err(db("writing members: preparing"))?;
    for m in members {
        stmt.execute(params![
            m.conversation_id.to_string(),
            m.user_id.as_str(),
            role_str(m.role),
            int(m.delivered_seq)?,
            int(m.read_seq)?,
            m.joined_at.as_i64(),
            int(m.joined_seq)?,
            m.left_seq.map(int).transpose()?,
            int(m.hidden_seq)?,
            m.hidden_messages,
            m.muted_until.map(Millis::as_i64),
        ])
        .map_err(db("writing members"))?;
    }
    Ok(())
}

fn query_memberships(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    context: &'static str,
) -> Result<Vec<Membership>, ChatError> {
    let rows = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| {
            stmt.query_map(params, MembershipRow::read)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(db(context))?;
    rows.into_iter()
        .map(MembershipRow::into_membership)
        .collect()
}
