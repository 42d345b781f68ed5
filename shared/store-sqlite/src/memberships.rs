//! `MembershipStore`: who belongs to which conversation, with each member's delivered and read
//! marks. Keyed `(conversation_id, user_id)` for lookups and member pages; indexed by user for
//! "my conversations".
//!
//! Marks move with a single conditional `UPDATE … WHERE mark < ?` that returns the new marks,
//! so a mark can only go up and concurrent receipts can never lower it: there is no
//! read-modify-write to race.

use async_trait::async_trait;
use chat_domain::frames::MarkKind;
use chat_domain::{ChatError, ConversationId, Seq, UserId};
use chat_ports::{Marks, Membership, MembershipStore, PortResult};
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
            .run(move |conn| {
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
            })
            .await
    }

    async fn add_members(&self, members: &[Membership]) -> PortResult<()> {
        let members = members.to_vec();
        self.writer
            .run(move |conn| add_members(conn, &members))
            .await
    }

    async fn remove_member(
        &self,
        conversation: &ConversationId,
        user: &UserId,
    ) -> PortResult<bool> {
        let (conversation, user) = (conversation.to_string(), user.to_string());
        self.writer
            .run(move |conn| {
                let removed = conn
                    .prepare_cached(
                        "DELETE FROM memberships WHERE conversation_id = ?1 AND user_id = ?2",
                    )
                    .and_then(|mut stmt| stmt.execute(params![conversation, user]))
                    .map_err(db("remove_member"))?;
                Ok(removed > 0)
            })
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
                     WHERE conversation_id = ?1 AND user_id > ?2 ORDER BY user_id LIMIT ?3"
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
    ) -> PortResult<Option<Marks>> {
        let (conversation, user) = (conversation.to_string(), user.to_string());
        let seq = int(seq.get())?;
        let sql = match kind {
            MarkKind::Delivered => {
                "UPDATE memberships SET delivered_seq = ?3
                 WHERE conversation_id = ?1 AND user_id = ?2 AND delivered_seq < ?3
                 RETURNING delivered_seq, read_seq"
            }
            // Reading implies delivery: a read mark drags the delivered mark up with it.
            MarkKind::Read => {
                "UPDATE memberships
                 SET read_seq = MAX(read_seq, ?3), delivered_seq = MAX(delivered_seq, ?3)
                 WHERE conversation_id = ?1 AND user_id = ?2
                   AND (read_seq < ?3 OR delivered_seq < ?3)
                 RETURNING delivered_seq, read_seq"
            }
        };
        self.writer
            .run(move |conn| {
                let moved: Option<(i64, i64)> = conn
                    .prepare_cached(sql)
                    .and_then(|mut stmt| {
                        stmt.query_row(params![conversation, user, seq], |row| {
                            Ok((row.get(0)?, row.get(1)?))
                        })
                        .optional()
                    })
                    .map_err(db("advance_mark"))?;
                moved
                    .map(|(delivered, read)| {
                        Ok(Marks {
                            delivered_seq: uint("delivered_seq", delivered)?,
                            read_seq: uint("read_seq", read)?,
                        })
                    })
                    .transpose()
            })
            .await
    }
}

/// Inserts every member that is not there yet. Runs on the writer inside the savepoint it
/// gives each job, so the members go in all together or (on an error) not at all.
fn add_members(conn: &Connection, members: &[Membership]) -> Result<(), ChatError> {
    // OR IGNORE: an existing member keeps its role and marks.
    let mut stmt = conn
        .prepare_cached(&format!(
            "INSERT OR IGNORE INTO memberships ({MEMBERSHIP_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        ))
        .map_err(db("add_members: preparing"))?;
    for m in members {
        stmt.execute(params![
            m.conversation_id.to_string(),
            m.user_id.as_str(),
            role_str(m.role),
            int(m.delivered_seq)?,
            int(m.read_seq)?,
            m.joined_at.as_i64(),
        ])
        .map_err(db("add_members: inserting"))?;
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
