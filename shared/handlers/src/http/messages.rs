//! `GET /v1/conversations/{id}/messages?before=&after=&limit=&cursor=`: a history page in seq
//! order. Without `before`/`after` it is the newest page. `next_cursor` (when `has_more`) is
//! `b<seq>` to page further back or `a<seq>` to page forward; pass it as `cursor`.

use chat_domain::events::MessageView;
use chat_domain::frames::PageLimit;
use chat_domain::{ChatError, ConversationId, Seq, UserId};
use chat_ports::HistoryQuery;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use super::conversations::parse_u64;
use super::{HttpApiHandler, json};
use crate::access::visible_history;

/// Page size when the client gives none.
const DEFAULT_LIMIT: PageLimit = PageLimit::MAX;

#[derive(Serialize)]
struct Page {
    conversation_id: ConversationId,
    messages: Vec<MessageView>,
    has_more: bool,
    next_cursor: Option<String>,
}

pub(super) async fn history(
    api: &HttpApiHandler,
    user: &UserId,
    raw_id: &str,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let conversation = ConversationId::parse(raw_id)?;
    let params = request.query_string_parameters();
    let limit = PageLimit::parse(parse_u64(params.first("limit"), "limit")?, DEFAULT_LIMIT)?.get();
    let before = parse_u64(params.first("before"), "before")?;
    let after = parse_u64(params.first("after"), "after")?;
    let query = match (before, after, params.first("cursor")) {
        (None, None, None) => HistoryQuery::Before {
            before: None,
            limit,
        },
        (Some(b), None, None) => HistoryQuery::Before {
            before: Some(Seq::new(b)?),
            limit,
        },
        (None, Some(after), None) => HistoryQuery::After { after, limit },
        (None, None, Some(cursor)) => parse_cursor(cursor, limit)?,
        _ => {
            return Err(ChatError::bad_request(
                "give at most one of `before`, `after` and `cursor`",
            ));
        }
    };
    let page = visible_history(
        &*api.memberships,
        &*api.messages,
        &*api.hidden,
        &conversation,
        user,
        query,
    )
    .await?;
    let next_cursor = match query {
        _ if !page.has_more => None,
        HistoryQuery::Before { .. } => page.messages.first().map(|m| format!("b{}", m.seq)),
        HistoryQuery::After { .. } => page.messages.last().map(|m| format!("a{}", m.seq)),
    };
    Ok(json::ok(&Page {
        conversation_id: conversation,
        messages: page.messages,
        has_more: page.has_more,
        next_cursor,
    }))
}

fn parse_cursor(raw: &str, limit: u32) -> Result<HistoryQuery, ChatError> {
    let bad = || ChatError::bad_request("invalid cursor");
    let seq = |digits: &str| digits.parse::<u64>().map_err(|_| bad());
    match raw.split_at_checked(1) {
        Some(("b", digits)) => Ok(HistoryQuery::Before {
            before: Some(Seq::new(seq(digits)?).map_err(|_| bad())?),
            limit,
        }),
        Some(("a", digits)) => Ok(HistoryQuery::After {
            after: seq(digits)?,
            limit,
        }),
        _ => Err(bad()),
    }
}
