//! `sync`: what a device asks after (re)connecting. Without `conversation_id`: a summary of
//! every conversation (last seq, the caller's marks, unread). With it: the messages after
//! `after_seq`, in seq order, paged by count (`limit` ≤ 100) and by size, so that no frame
//! exceeds API Gateway's 128 KB.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::events::{ConversationSummary, MessageView, ServerEvent};
use chat_domain::frames::{PageLimit, SyncCommand, SyncFrame, read_frame};
use chat_domain::limits::MAX_SERVER_FRAME_BYTES;
use chat_domain::{ChatError, ConversationId};
use chat_ports::{HiddenStore, HistoryQuery, MembershipStore, MessageStore};
use tracing::Instrument;

use crate::access::visible_history;
use crate::summaries::summaries_of;
use crate::{Caller, reply};

/// Room kept for the event's envelope around its list.
const ENVELOPE_BYTES: usize = 1024;

pub struct SyncHandler {
    pub messages: Arc<dyn MessageStore>,
    pub memberships: Arc<dyn MembershipStore>,
    /// What each reader deleted for themselves.
    pub hidden: Arc<dyn HiddenStore>,
}

impl SyncHandler {
    pub async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let caller = match Caller::from_event(&event) {
            Ok(caller) => caller,
            Err(err) => return reply::error(&err, Some("sync"), None),
        };
        let span = tracing::info_span!("sync", request_id = %caller.request_id,
            connection_id = %caller.connection_id, user_id = %caller.user_id);
        async move {
            let command = read_frame::<SyncFrame>(event.body.as_deref()).and_then(SyncFrame::parse);
            let answer = match command {
                Ok(SyncCommand::Summary { cursor }) => self.summary(&caller, cursor).await,
                Ok(SyncCommand::Messages {
                    conversation_id,
                    after_seq,
                    limit,
                }) => {
                    self.messages(&caller, conversation_id, after_seq, limit)
                        .await
                }
                Err(err) => Err(err),
            };
            match answer {
                Ok(event) => reply::event(&event),
                Err(err) => reply::error(&err, Some("sync"), None),
            }
        }
        .instrument(span)
        .await
    }

    async fn summary(
        &self,
        caller: &Caller,
        cursor: Option<String>,
    ) -> Result<ServerEvent, ChatError> {
        let skip = match cursor.as_deref() {
            None => 0,
            Some(raw) => raw
                .parse::<usize>()
                .map_err(|_| ChatError::bad_request("invalid cursor"))?,
        };
        let all = summaries_of(&*self.memberships, &*self.messages, &caller.user_id).await?;
        let rest: Vec<ConversationSummary> =
            all.into_iter().skip(skip).map(|s| s.summary).collect();
        let total = rest.len();
        let page = fit_in_frame(rest);
        let next_cursor = (page.len() < total).then(|| (skip + page.len()).to_string());
        Ok(ServerEvent::Sync {
            conversations: page,
            next_cursor,
        })
    }

    async fn messages(
        &self,
        caller: &Caller,
        conversation_id: ConversationId,
        after_seq: u64,
        limit: PageLimit,
    ) -> Result<ServerEvent, ChatError> {
        let page = visible_history(
            &*self.memberships,
            &*self.messages,
            &*self.hidden,
            &conversation_id,
            &caller.user_id,
            HistoryQuery::After {
                after: after_seq,
                limit: limit.get(),
            },
        )
        .await?;
        let views: Vec<MessageView> = page.messages;
        let total = views.len();
        let fitted = fit_in_frame(views);
        Ok(ServerEvent::Messages {
            conversation_id,
            has_more: page.has_more || fitted.len() < total,
            messages: fitted,
        })
    }
}

/// The longest prefix of `items` whose JSON fits in one server frame with its envelope.
/// Always keeps at least one item, which fits on its own by the body limit.
pub(crate) fn fit_in_frame<T: serde::Serialize>(items: Vec<T>) -> Vec<T> {
    let budget = MAX_SERVER_FRAME_BYTES - ENVELOPE_BYTES;
    let mut used = 0;
    let mut keep = 0;
    for item in &items {
        let size = serde_json::to_vec(item).map_or(budget, |v| v.len()) + 1;
        if keep > 0 && used + size > budget {
            break;
        }
        used += size;
        keep += 1;
    }
    let mut items = items;
    items.truncate(keep);
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_stop_before_the_frame_limit() {
        let big = "x".repeat(16 * 1024);
        let items: Vec<String> = (0..100).map(|_| big.clone()).collect();
        let kept = fit_in_frame(items);
        assert!(kept.len() < 100 && !kept.is_empty());
        let json = serde_json::to_vec(&kept).unwrap_or_default();
        assert!(json.len() + ENVELOPE_BYTES <= MAX_SERVER_FRAME_BYTES);
        assert_eq!(fit_in_frame(vec![1, 2, 3]).len(), 3);
    }
}
