//! One WebSocket connection, from upgrade to `$disconnect`, the way API Gateway runs it:
//!
//! 1. the `$connect` authorizer checks `?token=` (refusal: HTTP 401, no upgrade);
//! 2. the `$connect` route runs before the upgrade completes (a non-2xx answer refuses it);
//! 3. each text frame is routed on its `action` and its integration invoked concurrently (API
//!    Gateway does not serialize a connection's messages); a non-empty integration response
//!    goes back to the caller;
//! 4. limits: a frame over 32 KB gets a `too_large` error, a message over 128 KB closes the
//!    connection with 1009; no client frame for the idle timeout, or the maximum age reached,
//!    closes it with 1001;
//! 5. `$disconnect` runs once the socket is gone, whoever closed it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::encodings::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chat_domain::ChatError;
use chat_domain::events::ServerEvent;
use chat_domain::limits::{MAX_CLIENT_FRAME_BYTES, MAX_SERVER_FRAME_BYTES};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::events::{
    ConnectionMeta, EventExtra, MessageEvents, authorizer_request, websocket_event,
};
use super::registry::{ConnectionInfo, OUTBOX_FRAMES, Outbound};
use super::{GatewayState, gateway_id, routes};
use crate::instruments;
use crate::wiring::App;

/// Each socket's read buffer, allocated up front (tungstenite's default is 128 KiB, most of
/// what an idle connection costs): client frames are small, and a larger one is read in a few
/// calls.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Frames are buffered up to this before a socket write (and always flushed at the end of a
/// batch): small enough per socket, large enough to coalesce a burst.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// At most this many frames go out between two flushes, so one busy connection cannot hold
/// its writer's turn for long.
const WRITE_BATCH_FRAMES: usize = 64;

/// `GET /local`: authorize, run `$connect`, upgrade.
pub(crate) async fn upgrade(
    State(state): State<GatewayState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let app = &state.app;
    let now = app.clock.now();
    let headers: HashMap<String, String> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let mut meta = ConnectionMeta {
        connection_id: gateway_id(),
        connected_at: now,
        domain_name: state.domain_name.clone(),
        source_ip: peer.ip().to_string(),
        user_agent: headers.get("user-agent").cloned().unwrap_or_default(),
        authorizer: serde_json::Map::new(),
    };

    match authorize(&state, &meta, &headers, &query) {
        Ok(context) => meta.authorizer = context,
        Err(status) => return (status, "Unauthorized").into_response(),
    }

    let (outbox, rx) = mpsc::channel(OUTBOX_FRAMES);
    let info = ConnectionInfo {
        connected_at: now,
        last_active_at: now,
        source_ip: meta.source_ip.clone(),
        user_agent: meta.user_agent.clone(),
    };
    app.registry.register(&meta.connection_id, outbox, info);

    let extra = EventExtra {
        connect: Some((&headers, &query)),
        disconnect: None,
    };
    let status = match websocket_event(&meta, "$connect", None, extra, now) {
        Ok(event) => routes::invoke(app, "$connect", event).await.status_code,
        Err(err) => {
            tracing::error!(error = %err, "building the $connect event failed");
            500
        }
    };
    if !(200..300).contains(&status) {
        app.registry.remove(&meta.connection_id);
        let status = StatusCode::from_u16(u16::try_from(status).unwrap_or(500))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, "Forbidden").into_response();
    }

    let failed_state = state.clone();
    let failed_meta = meta.clone();
    // Accept a little more than the payload limit so that an oversize message can be answered
    // with API Gateway's close code instead of a protocol error.
    ws.max_message_size(MAX_SERVER_FRAME_BYTES + 1)
        .max_frame_size(MAX_SERVER_FRAME_BYTES + 1)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .on_failed_upgrade(move |err| {
            tracing::warn!(error = %err, "websocket upgrade failed after $connect");
            tokio::spawn(async move {
                finish(&failed_state, &failed_meta, 1006, "upgrade failed").await;
            });
        })
        .on_upgrade(move |socket| session(state, meta, socket, rx))
}

/// Runs the `$connect` authorizer; answers the context API Gateway passes to every route.
fn authorize(
    state: &GatewayState,
    meta: &ConnectionMeta,
    headers: &HashMap<String, String>,
    query: &HashMap<String, String>,
) -> Result<serde_json::Map<String, Value>, StatusCode> {
    let app = &state.app;
    let request = authorizer_request(meta, headers, query, app.clock.now()).map_err(|err| {
        tracing::error!(error = %err, "building the authorizer event failed");
        StatusCode::INTERNAL_SERVER_ERROR
    })?;
    let response = instruments::invoke_sync(app.invocations.as_ref(), "authorizer", || {
        app.authorizer.handle(&request)
    })
    .map_err(|err| {
        tracing::info!(error = %err, "connection refused by the authorizer");
        StatusCode::UNAUTHORIZED
    })?;
    let mut context = match response.context {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    if let Some(principal) = response.principal_id {
        context.insert("principalId".into(), Value::String(principal));
    }
    context.insert("integrationLatency".into(), Value::from(0));
    Ok(context)
}

async fn session(
    state: GatewayState,
    meta: ConnectionMeta,
    socket: WebSocket,
    outbox: mpsc::Receiver<Outbound>,
) {
    let (sink, stream) = socket.split();
    let writer = tokio::spawn(write_loop(sink, outbox));
    let (code, reason) = read_loop(&state, &meta, stream).await;
    // Say goodbye through the writer (it may be mid-frame), then forget the connection.
    state.app.registry.send(
        &meta.connection_id,
        Outbound::Close(code, reason.to_string()),
    );
    state.app.registry.remove(&meta.connection_id);
    if let Err(err) = writer.await {
        tracing::warn!(error = %err, "connection writer failed");
    }
    finish(&state, &meta, code, reason).await;
}

/// Forgets the connection and runs `$disconnect`.
async fn finish(state: &GatewayState, meta: &ConnectionMeta, code: u16, reason: &str) {
    let app = &state.app;
    app.registry.remove(&meta.connection_id);
    let extra = EventExtra {
        connect: None,
        disconnect: Some((code, reason)),
    };
    match websocket_event(meta, "$disconnect", None, extra, app.clock.now()) {
        Ok(event) => {
            routes::invoke(app, "$disconnect", event).await;
        }
        Err(err) => tracing::error!(error = %err, "building the $disconnect event failed"),
    }
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;
type Stream = futures_util::stream::SplitStream<WebSocket>;

async fn write_loop(mut sink: Sink, mut outbox: mpsc::Receiver<Outbound>) {
    while let Some(first) = outbox.recv().await {
        // Whatever else is already waiting goes out with it: the frames are buffered (up to
        // WRITE_BUFFER_BYTES) and flushed once, so a burst to one connection is a few socket
        // writes rather than one per frame.
        let mut frame = Some(first);
        let mut batched = 0;
        while let Some(next) = frame.take() {
            let message = match next {
                Outbound::Text(text) => Message::Text(text.into()),
                Outbound::Binary(bytes) => Message::Binary(bytes.into()),
                Outbound::Close(code, reason) => {
                    let close = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    return;
                }
            };
            if sink.feed(message).await.is_err() {
                return;
            }
            batched += 1;
            if batched < WRITE_BATCH_FRAMES {
                frame = outbox.try_recv().ok();
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    // The gateway dropped this connection (server-side delete, or a client that stopped reading).
    let close = CloseFrame {
        code: 1001,
        reason: "Going away".into(),
    };
    let _ = sink.send(Message::Close(Some(close))).await;
}

/// Reads frames until the connection ends; answers the close code and reason.
async fn read_loop(
    state: &GatewayState,
    meta: &ConnectionMeta,
    mut stream: Stream,
) -> (u16, &'static str) {
    let app = &state.app;
    let max_age_at = Instant::now() + app.max_connection_age;
    let mut last_active = Instant::now();
    let events = match MessageEvents::new(meta, app.clock.now()) {
        Ok(events) => events,
        Err(err) => {
            tracing::error!(error = %err, "building the connection's message events failed");
            return (1011, "Internal error");
        }
    };
    loop {
        let idle_at = last_active + app.idle_timeout;
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = tokio::time::sleep_until(idle_at.min(max_age_at)) => return (1001, "Going away"),
        };
        let message = match frame {
            None => return (1006, "Connection lost"),
            Some(Err(err)) => {
                // tungstenite reports an over-limit message as a capacity error.
                let text = err.to_string();
                return if text.contains("Space limit") || text.contains("too long") {
                    (1009, "Message too big")
                } else {
                    tracing::debug!(error = %err, "socket error");
                    (1006, "Connection lost")
                };
            }
            Some(Ok(message)) => message,
        };
        match message {
            Message::Text(text) => {
                last_active = Instant::now();
                app.registry.touch(&meta.connection_id, app.clock.now());
                if text.len() > MAX_SERVER_FRAME_BYTES {
                    return (1009, "Message too big");
                }
                dispatch(state, meta, &events, text.as_str());
            }
            Message::Binary(bytes) => {
                last_active = Instant::now();
                if bytes.len() > MAX_SERVER_FRAME_BYTES {
                    return (1009, "Message too big");
                }
                let err = ChatError::bad_request("binary frames are not supported; send JSON text");
                reply(state, meta, &ServerEvent::error(&err, None, None).to_json());
            }
            Message::Close(frame) => {
                return frame.map_or((1005, "No status"), |f| (f.code, "Client closed"));
            }
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}

/// Routes one text frame and invokes its integration in the background.
fn dispatch(state: &GatewayState, meta: &ConnectionMeta, events: &MessageEvents, text: &str) {
    if text.len() > MAX_CLIENT_FRAME_BYTES {
        let err = ChatError::too_large(format!(
            "frame is {} bytes; the limit is {MAX_CLIENT_FRAME_BYTES}",
            text.len()
        ));
        let action = chat_domain::frames::action_of(text);
        reply(
            state,
            meta,
            &ServerEvent::error(&err, action.as_deref(), None).to_json(),
        );
        return;
    }
    let route = routes::select(text);
    let event = events.event(&route, text, state.app.clock.now());
    let app = state.app.clone();
    let connection_id = meta.connection_id.clone();
    tokio::spawn(async move {
        let request_id = event.request_context.request_id.clone().unwrap_or_default();
        // A panicking integration is a failed invocation: API Gateway answers with its generic
        // message, and the connection stays open.
        let call = AssertUnwindSafe(routes::invoke(&app, &route, event)).catch_unwind();
        let body = match call.await {
            Ok(response) => match response.body {
                Some(Body::Text(text)) => Some(text),
                Some(Body::Binary(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
                _ => None,
            },
            Err(_) => {
                tracing::error!(route, "integration panicked");
                Some(
                    serde_json::json!({
                        "message": "Internal server error",
                        "connectionId": connection_id,
                        "requestId": request_id,
                    })
                    .to_string(),
                )
            }
        };
        if let Some(body) = body.filter(|b| !b.is_empty()) {
            reply_to(&app, &connection_id, body);
        }
    });
}

fn reply(state: &GatewayState, meta: &ConnectionMeta, text: &str) {
    reply_to(&state.app, &meta.connection_id, text.to_string());
}

fn reply_to(app: &App, connection_id: &str, text: String) {
    app.registry.send(connection_id, Outbound::Text(text));
}
