//! The group rules the HTTP routes share: the system message that records a change, who owns a
//! group once its owner leaves, and the ticks of everyone else.

use chat_domain::frames::MarkKind;
use chat_domain::{
    ChatError, ClientMsgId, ConversationId, DeviceId, MessageId, Millis, NewMessage, SystemEvent,
    UserId,
};
use chat_ports::{Membership, MembershipStore};

/// The device a system message is "sent from": none of the actor's real devices, so that every
/// one of them receives it (the HTTP call that made it has no socket to answer on).
const API_DEVICE: &str = "api";

/// How many members one page of a walk over the members reads.
const MEMBER_PAGE: u32 = 100;

/// The system message recording `event`, done by `actor` at `now`.
pub(crate) fn system_message(
    conversation: &ConversationId,
    actor: &UserId,
    event: SystemEvent,
    now: Millis,
) -> Result<NewMessage, ChatError> {
    let message_id = MessageId::generate(now);
    Ok(NewMessage {
        conversation_id: conversation.clone(),
        client_msg_id: ClientMsgId::parse(&format!("sys:{message_id}"))?,
        message_id,
        sender_id: actor.clone(),
        sender_device: DeviceId::parse(API_DEVICE)?,
        body: None,
        media: None,
        reply_to: None,
        sent_at: now,
        system: Some(event),
    })
}

/// Who owns the group once `owner` leaves it: the longest-standing admin, else the
/// longest-standing member (the earliest to join; ties by user id); `None` when the owner is
/// the last member. Walks the members a page at a time: owners leave rarely.
pub(crate) async fn successor(
    memberships: &dyn MembershipStore,
    conversation: &ConversationId,
    owner: &UserId,
) -> Result<Option<Membership>, ChatError> {
    let seniority = |m: &Membership| {
        (
            !m.role.is_admin(),
            m.joined_seq,
            m.joined_at,
            m.user_id.clone(),
        )
    };
    let mut best: Option<Membership> = None;
    let mut after: Option<UserId> = None;
    loop {
        let page = memberships
            .members(conversation, after.as_ref(), MEMBER_PAGE)
            .await?;
        for member in page.iter().filter(|m| &m.user_id != owner) {
            if best
                .as_ref()
                .is_none_or(|b| seniority(member) < seniority(b))
            {
                best = Some(member.clone());
            }
        }
        if page.len() < MEMBER_PAGE as usize {
            return Ok(best);
        }
        after = page.last().map(|m| m.user_id.clone());
    }
}

/// The highest seq that every current member of the group but `user` has `kind` (delivered or
/// read): the group's double and blue ticks as `user` sees them. 0 when nobody else is in it.
pub(crate) async fn ticks_for(
    memberships: &dyn MembershipStore,
    conversation: &ConversationId,
    kind: MarkKind,
    user: &UserId,
) -> Result<u64, ChatError> {
    let lowest = memberships.lowest_marks(conversation, kind, 2).await?;
    Ok(lowest
        .into_iter()
        .find(|holder| &holder.user_id != user)
        .map_or(0, |holder| holder.seq))
}
