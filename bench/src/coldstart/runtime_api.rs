//! A Lambda Runtime API on loopback, as much of it as a cold start touches: it hands out one
//! invocation (`GET /2018-06-01/runtime/invocation/next`) and records when the function first
//! asked and when it answered (`POST .../response` or `.../error`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

/// When the current function first polled and first answered, and with what.
#[derive(Debug, Default, Clone)]
pub struct Marks {
    pub first_poll: Option<Instant>,
    pub first_answer: Option<Instant>,
    /// `response` or `error`.
    pub outcome: Option<&'static str>,
    /// For a WebSocket route's response: the `type` of the frame it answered (`ack`, `error`,
    /// …), which says whether the function's AWS calls worked.
    pub frame_type: Option<String>,
}

#[derive(Default)]
struct Shared {
    event: Value,
    marks: Marks,
    served: bool,
}

#[derive(Clone, Default)]
pub struct RuntimeApi {
    shared: Arc<Mutex<Shared>>,
}

impl RuntimeApi {
    /// Serves on a free loopback port; answers the address for `AWS_LAMBDA_RUNTIME_API`.
    pub async fn start(&self) -> anyhow::Result<SocketAddr> {
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(error_without_id))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(addr)
    }

    /// Arms the API for one cold start: the next function gets `event`.
    pub fn arm(&self, event: Value) {
        if let Ok(mut shared) = self.shared.lock() {
            *shared = Shared {
                event,
                ..Shared::default()
            };
        }
    }

    pub fn marks(&self) -> Marks {
        self.shared
            .lock()
            .map(|s| s.marks.clone())
            .unwrap_or_default()
    }
}

async fn next(State(api): State<RuntimeApi>) -> Response {
    let event = {
        let Ok(mut shared) = api.shared.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        if shared.marks.first_poll.is_none() {
            shared.marks.first_poll = Some(Instant::now());
        }
        if shared.served {
            None
        } else {
            shared.served = true;
            Some(shared.event.clone())
        }
    };
    let Some(event) = event else {
        // One invocation per cold start: later polls wait until the bench kills the process.
        std::future::pending::<()>().await;
        return StatusCode::NO_CONTENT.into_response();
    };
    let mut headers = HeaderMap::new();
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() + 30_000);
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_static("cold-start-1"),
    );
    if let Ok(value) = HeaderValue::from_str(&deadline.to_string()) {
        headers.insert("lambda-runtime-deadline-ms", value);
    }
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:000000000000:function:cold-start"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000"),
    );
    (StatusCode::OK, headers, event.to_string()).into_response()
}

fn answered(api: &RuntimeApi, outcome: &'static str, frame_type: Option<String>) -> Response {
    if let Ok(mut shared) = api.shared.lock()
        && shared.marks.first_answer.is_none()
    {
        shared.marks.first_answer = Some(Instant::now());
        shared.marks.outcome = Some(outcome);
        shared.marks.frame_type = frame_type;
    }
    StatusCode::ACCEPTED.into_response()
}

async fn response(State(api): State<RuntimeApi>, Path(_id): Path<String>, body: Bytes) -> Response {
    answered(&api, "response", frame_type(&body))
}

/// The `type` of the frame in an API Gateway proxy response's `body`, if it holds one.
fn frame_type(response: &[u8]) -> Option<String> {
    let response: Value = serde_json::from_slice(response).ok()?;
    let frame: Value = serde_json::from_str(response.get("body")?.as_str()?).ok()?;
    frame.get("type")?.as_str().map(str::to_string)
}

async fn error(State(api): State<RuntimeApi>, Path(_id): Path<String>, _body: Bytes) -> Response {
    answered(&api, "error", None)
}

async fn error_without_id(State(api): State<RuntimeApi>, _body: Bytes) -> Response {
    answered(&api, "init error", None)
}
