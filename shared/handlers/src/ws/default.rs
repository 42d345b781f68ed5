//! `$default` (frames whose `action` no route knows, or that are not JSON) and `ping`.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::ChatError;
use chat_domain::events::ServerEvent;
use chat_domain::frames::action_of;
use chat_ports::{Clock, UserStore};

use crate::presence::Activity;
use crate::{Caller, reply};

pub struct DefaultHandler {
    pub users: Arc<dyn UserStore>,
    /// Last seen on activity, at most once a minute per user (this process).
    pub activity: Arc<Activity>,
    pub clock: Arc<dyn Clock>,
}

impl DefaultHandler {
    pub async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let body = event.body.as_deref().unwrap_or_default();
        let action = action_of(body);
        match action.as_deref() {
            Some("ping") => self.ping(&event).await,
            Some(other) => reply::error(
                &ChatError::bad_request(format!("unknown action {other:?}")),
                Some(other),
                None,
            ),
            None if serde_json::from_str::<serde_json::Value>(body).is_err() => reply::error(
                &ChatError::bad_request("frame is not valid JSON"),
                None,
                None,
            ),
            None => reply::error(
                &ChatError::bad_request("missing field `action`"),
                None,
                None,
            ),
        }
    }

    /// `pong`, and the caller counts as active now.
    async fn ping(&self, event: &ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let now = self.clock.now();
        match Caller::from_event(event) {
            Ok(caller) => {
                self.activity.seen(&*self.users, &caller, now).await;
                reply::event(&ServerEvent::Pong {
                    at: now,
                    connection_id: caller.connection_id,
                })
            }
            Err(err) => reply::error(&err, Some("ping"), None),
        }
    }
}
