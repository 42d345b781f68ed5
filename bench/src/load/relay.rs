//! The bare relay: the ceiling of this machine for the `load` scenario. It speaks the same
//! frames as `chat-local` on the same routes (`POST /dev/token`, `GET /local` WebSocket) and on
//! the same stack (axum's WebSocket on `axum::serve`, a writer task per socket; TCP_NODELAY on
//! unless `--nagle`), but does nothing else: no authorizer (the "token" is the user id), no storage, no API Gateway
//! event shapes. A `send` is routed in memory to the `to` user's sockets as a `message` event
//! with a per-conversation `seq`, then answered with an `ack`, in that order, as `chat-local`
//! does for a direct message.
//!
//! It runs as a child process (`chat-bench serve-relay`) so its CPU and memory are read the
//! same way as the server's, on a runtime of its own.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// `chat-bench serve-relay`: where to listen, and whether to leave Nagle's algorithm on.
#[derive(Debug, clap::Args)]
pub struct RelayArgs {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Leave Nagle's algorithm on (no TCP_NODELAY), as `axum::serve` does by default.
    #[arg(long)]
    nagle: bool,
}

/// Serves the relay until the process is killed; prints its URL line as `chat-local` does.
///
/// Accepted sockets get TCP_NODELAY unless `--nagle`: with Nagle on, a second small frame to a
/// client waits for the client's ACK of the first, which a delayed ACK holds back for up to
/// 40 ms unless the client sends first: a latency floor that is not the machine's.
pub async fn serve(args: RelayArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let nodelay = !args.nagle;
    let listener = listener.tap_io(move |tcp| {
        if nodelay {
            let _ = tcp.set_nodelay(true);
        }
    });
    let app = Router::new()
        .route("/dev/token", post(token))
        .route("/local", get(upgrade))
        .with_state(Arc::new(Relay::default()));
    println!("bare relay is up");
    println!("  WebSocket      ws://{addr}/local?token=<user id>&device=<id>");
    axum::serve(listener, app).await?;
    Ok(())
}

/// A user's open sockets: (socket id, its writer's queue).
type Sockets = HashMap<String, Vec<(u64, mpsc::UnboundedSender<String>)>>;

/// The open sockets by user, and each conversation's last seq.
#[derive(Default)]
struct Relay {
    users: Mutex<Sockets>,
    seqs: Mutex<HashMap<String, u64>>,
    next_id: AtomicU64,
}

#[derive(Deserialize)]
struct TokenRequest {
    user_id: String,
}

/// `POST /dev/token`: no auth here, so the token is the user id.
async fn token(Json(request): Json<TokenRequest>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "token": request.user_id, "user_id": request.user_id }))
}

async fn upgrade(
    State(relay): State<Arc<Relay>>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    match query.get("token").filter(|t| !t.is_empty()) {
        Some(user) => {
            let user = user.clone();
            ws.on_upgrade(move |socket| session(relay, user, socket))
        }
        None => (StatusCode::UNAUTHORIZED, "Unauthorized").into_response(),
    }
}

async fn session(relay: Arc<Relay>, user: String, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (outbox, mut queued) = mpsc::unbounded_channel::<String>();
    let id = relay.next_id.fetch_add(1, Ordering::Relaxed);
    relay
        .lock_users()
        .entry(user.clone())
        .or_default()
        .push((id, outbox.clone()));
    let writer = tokio::spawn(async move {
        while let Some(text) = queued.recv().await {
            if sink.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Text(text) => relay.handle(&user, id, &outbox, text.as_str()),
            Message::Close(_) => break,
            _ => {}
        }
    }
    if let Some(sockets) = relay.lock_users().get_mut(&user) {
        sockets.retain(|(socket, _)| *socket != id);
    }
    drop(outbox);
    writer.abort();
}

#[derive(Deserialize)]
struct SendFrame<'a> {
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow, default)]
    to: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    client_msg_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    body: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct Ack<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    client_msg_id: &'a str,
    conversation_id: &'a str,
    seq: u64,
    message_id: &'a str,
    sent_at: u64,
}

#[derive(Serialize)]
struct MessageEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    conversation_id: &'a str,
    seq: u64,
    message_id: &'a str,
    sender_id: &'a str,
    sent_at: u64,
    client_msg_id: &'a str,
    body: &'a str,
}

impl Relay {
    /// One client frame: a `send` becomes a `message` to the peer's sockets (and the sender's
    /// other sockets) and an `ack`; anything else gets `error` `bad_request`.
    fn handle(&self, user: &str, socket: u64, outbox: &mpsc::UnboundedSender<String>, text: &str) {
        let frame = match serde_json::from_str::<SendFrame<'_>>(text) {
            Ok(frame) if frame.action == "send" => frame,
            _ => {
                let error = r#"{"type":"error","code":"bad_request","message":"the relay only relays `send` frames"}"#;
                let _ = outbox.send(error.to_string());
                return;
            }
        };
        let (Some(to), Some(client_msg_id)) = (frame.to.as_deref(), frame.client_msg_id.as_deref())
        else {
            let error = r#"{"type":"error","code":"bad_request","message":"`send` needs `to` and `client_msg_id`","action":"send"}"#;
            let _ = outbox.send(error.to_string());
            return;
        };
        let (low, high) = if user <= to { (user, to) } else { (to, user) };
        let conversation_id = format!("dm:{low}:{high}");
        let seq = {
            let mut seqs = self.seqs.lock().unwrap_or_else(PoisonError::into_inner);
            let seq = seqs.entry(conversation_id.clone()).or_insert(0);
            *seq += 1;
            *seq
        };
        let message_id = format!("m{:025}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let sent_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let event = MessageEvent {
            kind: "message",
            conversation_id: &conversation_id,
            seq,
            message_id: &message_id,
            sender_id: user,
            sent_at,
            client_msg_id,
            body: frame.body.as_deref().unwrap_or_default(),
        };
        if let Ok(event) = serde_json::to_string(&event) {
            let users = self.lock_users();
            let peers = users.get(to).into_iter().flatten();
            let own = users.get(user).into_iter().flatten();
            for (_, peer) in peers.chain(own.filter(|(id, _)| *id != socket)) {
                let _ = peer.send(event.clone());
            }
        }
        let ack = Ack {
            kind: "ack",
            client_msg_id,
            conversation_id: &conversation_id,
            seq,
            message_id: &message_id,
            sent_at,
        };
        if let Ok(ack) = serde_json::to_string(&ack) {
            let _ = outbox.send(ack);
        }
    }

    fn lock_users(&self) -> MutexGuard<'_, Sockets> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
