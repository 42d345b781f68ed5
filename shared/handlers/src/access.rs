//! Who may read and write a conversation, and which part of its history they see.
//!
//! A direct conversation's writers answer from its id alone (no read). A group asks the
//! membership store: a current member may do everything their role allows; a former member
//! (removed, or left) may still read the history up to their removal, and nothing else. A
//! stranger gets `forbidden` either way and learns nothing about whether the conversation
//! exists. Readers of either kind also see less of it for what they deleted for themselves.

use chat_domain::events::MessageView;
use chat_domain::{ChatError, ConversationId, StoredMessage, UserId};
use chat_ports::{HiddenStore, HistoryQuery, Membership, MembershipStore, MessagePage};

/// A current member of a conversation.
#[derive(Debug, Clone)]
pub(crate) enum Access {
    /// One of the two users of a direct conversation.
    Direct,
    /// A current member of a group, with their role and marks.
    Group(Membership),
}

impl Access {
    /// The group membership, if this is a group.
    pub(crate) fn membership(&self) -> Option<&Membership> {
        match self {
            Access::Direct => None,
            Access::Group(membership) => Some(membership),
        }
    }

    /// Whether the member may do what only admins may (always, in a direct conversation).
    pub(crate) fn is_admin(&self) -> bool {
        self.membership().is_none_or(|m| m.role.is_admin())
    }
}

/// `user` may write to `conversation` (send, receipts, typing, recall, group details).
pub(crate) async fn current_member(
    memberships: &dyn MembershipStore,
    conversation: &ConversationId,
    user: &UserId,
) -> Result<Access, ChatError> {
    if conversation.direct_members().is_some() {
        return if conversation.is_direct_member(user) {
            Ok(Access::Direct)
        } else {
            Err(ChatError::forbidden())
        };
    }
    match memberships.membership(conversation, user).await? {
        Some(membership) if membership.is_current() => Ok(Access::Group(membership)),
        _ => Err(ChatError::forbidden()),
    }
}

/// The seqs of a conversation one reader sees: `from ..= to` (`to` open for current members).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Visible {
    /// The first seq they see (1 for the whole history): after they joined, and after what
    /// they deleted for themselves.
    pub from: u64,
    /// The last one, for a former member.
    pub to: Option<u64>,
    /// They deleted some single messages for themselves (shown as stubs).
    pub hidden_messages: bool,
}

impl Visible {
    pub(crate) const ALL: Visible = Visible {
        from: 1,
        to: None,
        hidden_messages: false,
    };

    fn of(membership: &Membership) -> Visible {
        Visible {
            from: membership.joined_seq.max(membership.hidden_seq + 1).max(1),
            to: membership.left_seq,
            hidden_messages: membership.hidden_messages,
        }
    }

    pub(crate) fn contains(&self, seq: u64) -> bool {
        seq >= self.from && self.to.is_none_or(|to| seq <= to)
    }

    /// `query` narrowed to what this reader sees; `None` when nothing of it is visible.
    pub(crate) fn narrow(&self, query: HistoryQuery) -> Option<HistoryQuery> {
        match query {
            HistoryQuery::After { after, limit } => {
                let after = after.max(self.from - 1);
                if self.to.is_some_and(|to| after >= to) {
                    return None;
                }
                Some(HistoryQuery::After { after, limit })
            }
            HistoryQuery::Before { before, limit } => {
                let ceiling = self.to.map(|to| to + 1);
                let before = match (before, ceiling) {
                    (Some(b), Some(c)) => Some(b.get().min(c)),
                    (Some(b), None) => Some(b.get()),
                    (None, c) => c,
                };
                if before.is_some_and(|b| b <= self.from) {
                    return None;
                }
                let before = before.map(chat_domain::Seq::new).transpose().ok()?;
                Some(HistoryQuery::Before { before, limit })
            }
        }
    }

    /// `page` (the answer to a narrowed query) without what this reader does not see; there is
    /// no more to see past a message they do not see.
    pub(crate) fn trim(&self, mut page: MessagePage) -> MessagePage {
        let before = page.messages.len();
        page.messages
            .retain(|m: &StoredMessage| self.contains(m.seq.get()));
        if page.messages.len() < before {
            page.has_more = false;
        }
        page
    }
}

/// What `user` may read of `conversation`: for a group member, current or former, the span of
/// their membership; for a direct one, everything (a membership, once the conversation is
/// open, may say they deleted some of it for themselves).
pub(crate) async fn reader(
    memberships: &dyn MembershipStore,
    conversation: &ConversationId,
    user: &UserId,
) -> Result<Visible, ChatError> {
    let direct = conversation.direct_members().is_some();
    if direct && !conversation.is_direct_member(user) {
        return Err(ChatError::forbidden());
    }
    match memberships.membership(conversation, user).await? {
        Some(membership) => Ok(Visible::of(&membership)),
        None if direct => Ok(Visible::ALL),
        None => Err(ChatError::forbidden()),
    }
}

/// A page of history as one reader sees it, in seq order.
#[derive(Debug, Default)]
pub(crate) struct ReadPage {
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

/// A page of the history `user` may read, for `query`: messages before they joined, after
/// they left or deleted for themselves are not in it; single messages they deleted for
/// themselves are stubs at their seq (`deleted_for_me`), so that seqs stay gap-free.
pub(crate) async fn visible_history(
    memberships: &dyn MembershipStore,
    messages: &dyn chat_ports::MessageStore,
    hidden: &dyn HiddenStore,
    conversation: &ConversationId,
    user: &UserId,
    query: HistoryQuery,
) -> Result<ReadPage, ChatError> {
    let visible = reader(memberships, conversation, user).await?;
    let Some(query) = visible.narrow(query) else {
        return Ok(ReadPage::default());
    };
    let page = visible.trim(messages.history(conversation, query).await?);
    let hidden_seqs = match (
        visible.hidden_messages,
        page.messages.first(),
        page.messages.last(),
    ) {
        (true, Some(first), Some(last)) => {
            hidden
                .hidden_in(conversation, user, first.seq.get(), last.seq.get())
                .await?
        }
        _ => Vec::new(),
    };
    let messages = page
        .messages
        .into_iter()
        .map(|m| {
            let hide = hidden_seqs.contains(&m.seq);
            let view = MessageView::from(m);
            if hide { view.deleted_for_me() } else { view }
        })
        .collect();
    Ok(ReadPage {
        messages,
        has_more: page.has_more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_former_member_reads_only_their_span() {
        let visible = Visible {
            from: 5,
            to: Some(9),
            hidden_messages: false,
        };
        assert!(!visible.contains(4) && visible.contains(5) && visible.contains(9));
        assert!(!visible.contains(10));
        assert_eq!(
            visible.narrow(HistoryQuery::After { after: 0, limit: 3 }),
            Some(HistoryQuery::After { after: 4, limit: 3 })
        );
        assert_eq!(
            visible.narrow(HistoryQuery::After { after: 9, limit: 3 }),
            None
        );
        let newest = visible.narrow(HistoryQuery::Before {
            before: None,
            limit: 3,
        });
        assert_eq!(
            newest,
            Some(HistoryQuery::Before {
                before: chat_domain::Seq::new(10).ok(),
                limit: 3
            })
        );
        assert_eq!(
            visible.narrow(HistoryQuery::Before {
                before: chat_domain::Seq::new(5).ok(),
                limit: 3
            }),
            None
        );
    }
}
