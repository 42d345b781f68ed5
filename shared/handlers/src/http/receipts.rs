//! `GET /v1/conversations/{id}/messages/{seq}/receipts?cursor=`: who has a message ("message
//! info"), paged. `read`: members who read it; `delivered`: members it reached who have not
//! read it yet. Its sender is in neither. Current members only.
//!
//! A group's page comes from the index sorted by delivered mark (`delivered_to`): up to 100
//! members who have the message, each page in one request, whatever the group's size. The
//! cursor is the last one's `<delivered_seq>_<user_id>`.

use chat_domain::frames::PageLimit;
use chat_domain::{ChatError, ConversationId, Seq, UserId};
use chat_ports::{HistoryQuery, MarkCursor, Recipient};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use super::{HttpApiHandler, json};
use crate::access::{Access, current_member};

#[derive(Serialize)]
struct Who {
    user_id: UserId,
}

#[derive(Serialize)]
struct Page {
    conversation_id: ConversationId,
    seq: Seq,
    delivered: Vec<Who>,
    read: Vec<Who>,
    next_cursor: Option<String>,
}

pub(super) async fn receipts(
    api: &HttpApiHandler,
    user: &UserId,
    raw_id: &str,
    raw_seq: &str,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let conversation = ConversationId::parse(raw_id)?;
    let seq = json::path_seq(raw_seq)?;
    let cursor = request
        .query_string_parameters()
        .first("cursor")
        .map(parse_cursor)
        .transpose()?;
    let access = current_member(&*api.memberships, &conversation, user).await?;
    let message = api
        .messages
        .history(
            &conversation,
            HistoryQuery::After {
                after: seq.get() - 1,
                limit: 1,
            },
        )
        .await?
        .messages
        .into_iter()
        .next()
        .filter(|m| m.seq == seq)
        .ok_or_else(|| ChatError::NotFound(format!("no message {seq} in {conversation}")))?;
    // A member added later does not see what came before them, nor who has it.
    if access
        .membership()
        .is_some_and(|m| seq.get() < m.joined_seq)
    {
        return Err(ChatError::NotFound(format!(
            "no message {seq} in {conversation}"
        )));
    }
    let (recipients, next_cursor) = match access {
        Access::Direct => (direct_recipients(api, &conversation, seq).await?, None),
        Access::Group(_) => {
            let page = PageLimit::MAX.get();
            let found = api
                .memberships
                .delivered_to(&conversation, seq, cursor.as_ref(), page)
                .await?;
            let next = (found.len() == page as usize)
                .then(|| {
                    found
                        .last()
                        .map(|r| format!("{}_{}", r.delivered_seq, r.user_id))
                })
                .flatten();
            (found, next)
        }
    };
    let (mut delivered, mut read) = (Vec::new(), Vec::new());
    // Members added after the message have marks above it without having seen it.
    for recipient in recipients
        .into_iter()
        .filter(|r| r.user_id != message.sender_id && r.joined_seq <= seq.get())
    {
        let who = Who {
            user_id: recipient.user_id,
        };
        if recipient.read_seq >= seq.get() {
            read.push(who);
        } else {
            delivered.push(who);
        }
    }
    Ok(json::ok(&Page {
        conversation_id: conversation,
        seq,
        delivered,
        read,
        next_cursor,
    }))
}

/// Both users of a direct conversation who have `seq`.
async fn direct_recipients(
    api: &HttpApiHandler,
    conversation: &ConversationId,
    seq: Seq,
) -> Result<Vec<Recipient>, ChatError> {
    let mut found = Vec::new();
    for member in conversation.direct_members().into_iter().flatten() {
        if let Some(m) = api.memberships.membership(conversation, member).await?
            && m.delivered_seq >= seq.get()
        {
            found.push(Recipient {
                user_id: m.user_id,
                delivered_seq: m.delivered_seq,
                read_seq: m.read_seq,
                joined_seq: m.joined_seq,
            });
        }
    }
    Ok(found)
}

fn parse_cursor(raw: &str) -> Result<MarkCursor, ChatError> {
    let bad = || ChatError::bad_request("invalid cursor");
    let (mark, user) = raw.split_once('_').ok_or_else(bad)?;
    Ok(MarkCursor {
        delivered_seq: mark.parse().map_err(|_| bad())?,
        user_id: UserId::parse(user).map_err(|_| bad())?,
    })
}
