//! The HTTP API (`/v1/...`): one `lambda_http` handler that routes by method and path, the
//! same in the `http-api` Lambda and in `chat-local`. The caller comes from the request
//! context the API Gateway authorizer filled in (JWT claims or a Lambda authorizer's context).

mod auth;
mod conversations;
mod json;
mod messages;

use std::sync::Arc;

use chat_domain::ChatError;
use chat_ports::{MembershipStore, MessageStore};
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

pub use auth::caller_of;

pub struct HttpApiHandler {
    pub messages: Arc<dyn MessageStore>,
    pub memberships: Arc<dyn MembershipStore>,
}

impl HttpApiHandler {
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let request_id = request
            .lambda_context_ref()
            .map(|ctx| ctx.request_id.clone())
            .unwrap_or_default();
        let span = tracing::info_span!("http", request_id = %request_id,
            method = %request.method(), path = %request.uri().path());
        async move {
            match self.route(&request).await {
                Ok(response) => response,
                Err(err) => json::error(&err),
            }
        }
        .instrument(span)
        .await
    }

    async fn route(&self, request: &Request) -> Result<Response<Body>, ChatError> {
        let path = request.raw_http_path();
        let path = if path.is_empty() {
            request.uri().path()
        } else {
            path
        };
        let segments: Vec<String> = path
            .trim_matches('/')
            .split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = request.method().as_str();
        match (method, segments.as_slice()) {
            ("GET", ["v1", "conversations"]) => {
                let user = caller_of(request)?;
                conversations::list(self, &user, request).await
            }
            ("GET", ["v1", "conversations", id, "messages"]) => {
                let user = caller_of(request)?;
                messages::history(self, &user, id, request).await
            }
            (_, ["v1", "conversations"]) | (_, ["v1", "conversations", _, "messages"]) => Ok(
                json::status_error(405, &ChatError::bad_request("method not allowed")),
            ),
            _ => Err(ChatError::NotFound(format!("no route for {method} {path}"))),
        }
    }
}
