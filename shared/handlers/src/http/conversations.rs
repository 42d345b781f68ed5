//! `GET /v1/conversations?limit=&cursor=`: my conversations, newest activity first, with the
//! last message's preview and my unread count.
//!
//! The cursor is the position of the last item returned — `<last_activity_at>_<conversation_id>`
//! — so a page starts strictly after it in the list's order, even if the list changed between
//! pages.

use chat_domain::frames::PageLimit;
use chat_domain::{ChatError, Millis, UserId};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::Value;

use super::{HttpApiHandler, json};
use crate::summaries::{UserConversation, summaries_of};

/// Page size when the client gives none.
const DEFAULT_LIMIT: PageLimit = PageLimit::MAX;

#[derive(Serialize)]
struct Page {
    conversations: Vec<Value>,
    next_cursor: Option<String>,
}

pub(super) async fn list(
    api: &HttpApiHandler,
    user: &UserId,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let query = request.query_string_parameters();
    let limit = PageLimit::parse(parse_u64(query.first("limit"), "limit")?, DEFAULT_LIMIT)?;
    let after = query.first("cursor").map(parse_cursor).transpose()?;

    let all = summaries_of(&*api.memberships, &*api.messages, user).await?;
    let start = match &after {
        None => 0,
        Some((at, id)) => all
            .iter()
            .position(|c| is_after(c, *at, id))
            .unwrap_or(all.len()),
    };
    let limit = limit.get() as usize;
    let page: Vec<&UserConversation> = all.iter().skip(start).take(limit).collect();
    let next_cursor = (start + page.len() < all.len())
        .then(|| page.last().map(|c| cursor_of(c)))
        .flatten();
    Ok(json::ok(&Page {
        conversations: page.into_iter().map(view).collect(),
        next_cursor,
    }))
}

fn view(c: &UserConversation) -> Value {
    let mut item = serde_json::to_value(&c.summary).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut item {
        map.insert(
            "last_activity_at".into(),
            Value::from(c.last_activity_at.as_i64()),
        );
        // A former member's list shows nothing said after they left.
        let visible = c
            .head
            .as_ref()
            .filter(|h| h.last_seq.get() == c.summary.last_seq);
        let last = visible.map(|h| {
            serde_json::json!({
                "seq": h.last_seq,
                "sender_id": h.last_sender_id,
                "sent_at": h.last_message_at,
                "preview": h.last_preview,
                "recalled": h.last_recalled,
            })
        });
        map.insert("last_message".into(), last.unwrap_or(Value::Null));
    }
    item
}

/// Whether `c` comes strictly after the cursor position in newest-first order.
fn is_after(c: &UserConversation, at: Millis, id: &str) -> bool {
    let own_id = c.summary.conversation_id.to_string();
    c.last_activity_at < at || (c.last_activity_at == at && own_id.as_str() > id)
}

fn cursor_of(c: &UserConversation) -> String {
    format!(
        "{}_{}",
        c.last_activity_at.as_i64(),
        c.summary.conversation_id
    )
}

fn parse_cursor(raw: &str) -> Result<(Millis, String), ChatError> {
    let bad = || ChatError::bad_request("invalid cursor");
    let (at, id) = raw.split_once('_').ok_or_else(bad)?;
    Ok((Millis(at.parse().map_err(|_| bad())?), id.to_string()))
}

/// A non-negative integer query parameter.
pub(super) fn parse_u64(raw: Option<&str>, name: &str) -> Result<Option<u64>, ChatError> {
    raw.map(|v| {
        v.parse::<u64>()
            .map_err(|_| ChatError::bad_request(format!("`{name}` must be a non-negative integer")))
    })
    .transpose()
}
