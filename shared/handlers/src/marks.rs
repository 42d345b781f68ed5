//! Telling who needs to know that a member's mark moved by a receipt (`ack` or `receipt`).
//!
//! In a direct conversation both users' devices get the `receipt` (it is their tick). In a
//! group it costs O(1) writes and a few reads whatever the group's size: the `receipt` goes to
//! the member's other devices and to the senders of the messages the mark newly covers, never
//! to the whole group; and when the member held the lowest mark, the group's tick
//! (`delivered_all_seq` / `read_all_seq`: the lowest mark of all current members, read from an
//! index sorted by mark) moves, is recorded (a conditional write, so that of two receipts
//! racing to announce it one does, and one that lost to a lagging index is caught up by the
//! next), and the senders of the messages it newly covers get `receipt_summary`.

use chat_domain::events::ServerEvent;
use chat_domain::frames::MarkKind;
use chat_domain::{ChatError, ConversationId, Seq, UserId};
use chat_ports::{GroupInfo, GroupStore, MarkMove, MembershipStore, MessageStore};

use crate::fanout::{Fanout, Skip};

/// How many of the newest newly covered messages are looked at for their senders: a member
/// back after a long absence covers thousands at once, and telling the senders of the last
/// hundred is what matters (the others see their ticks in the conversation's details).
const SENDERS_LOOKED_AT: u32 = 100;

pub(crate) struct MarkNews<'a> {
    pub messages: &'a dyn MessageStore,
    pub groups: &'a dyn GroupStore,
    pub memberships: &'a dyn MembershipStore,
    pub fanout: Fanout<'a>,
}

impl MarkNews<'_> {
    /// `user`'s `kind` mark moved as `moved` in `conversation` (`group`: its head, for a
    /// group); `skip` is the connection that already knows.
    pub(crate) async fn tell(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        skip: Skip<'_>,
        group: Option<&GroupInfo>,
        kind: MarkKind,
        moved: MarkMove,
    ) -> Result<(), ChatError> {
        // Tell the strongest mark that moved: a read implies delivery.
        let (from, to) = match kind {
            MarkKind::Read => (moved.before.read_seq, moved.after.read_seq),
            MarkKind::Delivered => (moved.before.delivered_seq, moved.after.delivered_seq),
        };
        let receipt = ServerEvent::Receipt {
            conversation_id: conversation.clone(),
            user_id: user.clone(),
            kind,
            seq: Seq::new(to)?,
        };
        let Some(group) = group else {
            let pair: Vec<UserId> = conversation
                .direct_members()
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            self.fanout
                .to_users(&pair, &[receipt.to_json()], skip)
                .await;
            return Ok(());
        };
        let senders = self
            .messages
            .senders(conversation, from, Seq::new(to)?, SENDERS_LOOKED_AT)
            .await?;
        let mut audience = self
            .still_members(conversation, senders.into_iter().filter(|s| s != user))
            .await?;
        audience.push(user.clone());
        self.fanout
            .to_users(&audience, &[receipt.to_json()], skip)
            .await;
        self.announce_ticks(user, skip, group, moved).await
    }

    /// Moves the group's ticks if this mark was the lowest, and tells the senders of the
    /// messages now delivered to (read by) everyone.
    async fn announce_ticks(
        &self,
        user: &UserId,
        skip: Skip<'_>,
        group: &GroupInfo,
        moved: MarkMove,
    ) -> Result<(), ChatError> {
        let conversation = &group.conversation_id;
        let mut ticks = (group.delivered_all_seq, group.read_all_seq);
        let mut newly: Option<(u64, u64)> = None;
        for kind in [MarkKind::Delivered, MarkKind::Read] {
            let (before, mark, announced) = match kind {
                MarkKind::Delivered => (
                    moved.before.delivered_seq,
                    moved.after.delivered_seq,
                    group.delivered_all_seq,
                ),
                MarkKind::Read => (
                    moved.before.read_seq,
                    moved.after.read_seq,
                    group.read_all_seq,
                ),
            };
            if mark == before {
                continue; // This kind did not move.
            }
            let lowest = self.lowest_with(conversation, kind, user, mark).await?;
            if lowest <= announced || !self.groups.raise_tick(conversation, kind, lowest).await? {
                continue; // Not the lowest, or another receipt announced it first.
            }
            newly = Some(newly.map_or((announced, lowest), |(f, t)| {
                (f.min(announced), t.max(lowest))
            }));
            match kind {
                MarkKind::Delivered => ticks.0 = lowest,
                MarkKind::Read => ticks.1 = lowest,
            }
        }
        let Some((from, to)) = newly else {
            return Ok(());
        };
        let senders = self
            .messages
            .senders(conversation, from, Seq::new(to)?, SENDERS_LOOKED_AT)
            .await?;
        let senders = self.still_members(conversation, senders).await?;
        let summary = ServerEvent::ReceiptSummary {
            conversation_id: conversation.clone(),
            delivered_all_seq: ticks.0,
            read_all_seq: ticks.1,
        };
        tracing::debug!(
            delivered_all = ticks.0,
            read_all = ticks.1,
            "group ticks moved"
        );
        self.fanout
            .to_users(&senders, &[summary.to_json()], skip)
            .await;
        Ok(())
    }

    /// Of `users`, those still members: a sender removed since hears nothing more of the
    /// group. One membership read each, all at once (at most [`SENDERS_LOOKED_AT`]; a receipt
    /// usually covers the messages of one or two).
    async fn still_members(
        &self,
        conversation: &ConversationId,
        users: impl IntoIterator<Item = UserId>,
    ) -> Result<Vec<UserId>, ChatError> {
        let users: Vec<UserId> = users.into_iter().collect();
        let found = futures_util::future::try_join_all(
            users
                .iter()
                .map(|user| self.memberships.membership(conversation, user)),
        )
        .await?;
        Ok(users
            .into_iter()
            .zip(found)
            .filter(|(_, m)| m.as_ref().is_some_and(|m| m.left_seq.is_none()))
            .map(|(user, _)| user)
            .collect())
    }

    /// The lowest `kind` mark among the group's current members, counting `user`'s as `mine`
    /// (the index may not show the write just made yet).
    async fn lowest_with(
        &self,
        conversation: &ConversationId,
        kind: MarkKind,
        user: &UserId,
        mine: u64,
    ) -> Result<u64, ChatError> {
        let lowest = self.memberships.lowest_marks(conversation, kind, 2).await?;
        let others = lowest
            .iter()
            .filter(|holder| &holder.user_id != user)
            .map(|h| h.seq);
        Ok(others.chain([mine]).min().unwrap_or(mine))
    }
}
