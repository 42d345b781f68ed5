//! A WebSocket client as an app holds one: send JSON frames, wait for typed events.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{EVENT_WAIT, QUIET_WAIT};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An upgrade the server refused: its HTTP status.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
}

pub struct WsClient {
    socket: Socket,
}

/// How a socket ended, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    /// A close frame with this code.
    Code(u16),
    /// The stream ended without a close frame.
    Dropped,
}

impl WsClient {
    /// Connects to a full `ws://` URL (query string included).
    pub async fn connect(url: &str) -> Result<WsClient, Refused> {
        match tokio_tungstenite::connect_async(url).await {
            Ok((socket, _)) => Ok(WsClient { socket }),
            Err(tungstenite::Error::Http(response)) => Err(Refused {
                status: response.status().as_u16(),
            }),
            Err(err) => panic!("connecting to {url}: {err}"),
        }
    }

    /// Sends a JSON value as a text frame.
    pub async fn send_json(&mut self, frame: &Value) {
        self.send_text(&frame.to_string()).await;
    }

    /// Sends any text frame (malformed JSON included).
    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .await
            .expect("the socket accepts a frame");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.socket
            .send(Message::binary(bytes))
            .await
            .expect("the socket accepts a frame");
    }

    /// The next event (any type) within [`EVENT_WAIT`].
    pub async fn next_event(&mut self) -> Value {
        match self.next_within(EVENT_WAIT).await {
            Some(event) => event,
            None => panic!("no event within {EVENT_WAIT:?}"),
        }
    }

    /// The next event of `kind`, past system messages (a group's creation reaches a device
    /// that connected before the stream consumer got to it, on `--backend aws`).
    pub async fn expect_past_system(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next_event().await;
            if event["type"] == "message" && event.get("system").is_some() {
                continue;
            }
            assert_eq!(
                event["type"], kind,
                "expected a `{kind}` event, got {event}"
            );
            return event;
        }
    }

    /// The next event, which must have `type` = `kind`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let event = self.next_event().await;
        assert_eq!(
            event["type"], kind,
            "expected a `{kind}` event, got {event}"
        );
        event
    }

    /// Reads until `acks` acks and `messages` `message` events have arrived (any other event
    /// fails the test); answers both, each in the order it arrived.
    pub async fn acks_and_messages(
        &mut self,
        acks: usize,
        messages: usize,
    ) -> (Vec<Value>, Vec<Value>) {
        let (mut got_acks, mut got_messages) = (Vec::new(), Vec::new());
        while got_acks.len() < acks || got_messages.len() < messages {
            let event = self.next_event().await;
            match event["type"].as_str() {
                Some("message") => got_messages.push(event),
                Some("ack") => got_acks.push(event),
                _ => panic!(
                    "expected `message` or `ack` ({}/{acks} acks, {}/{messages} messages so far), got {event}",
                    got_acks.len(),
                    got_messages.len()
                ),
            }
        }
        assert!(
            got_acks.len() == acks && got_messages.len() == messages,
            "more events than expected: {} acks, {} messages",
            got_acks.len(),
            got_messages.len()
        );
        (got_acks, got_messages)
    }

    /// Asserts that nothing arrives for [`QUIET_WAIT`].
    pub async fn expect_silence(&mut self) {
        if let Some(event) = self.next_within(QUIET_WAIT).await {
            panic!("expected no event, got {event}");
        }
    }

    /// Sends `ping` and waits for `pong`: proof the socket is still up and served.
    pub async fn assert_alive(&mut self) {
        self.send_json(&serde_json::json!({ "action": "ping" }))
            .await;
        self.expect("pong").await;
    }

    /// This socket's connection id, from `pong`.
    pub async fn connection_id(&mut self) -> String {
        self.send_json(&serde_json::json!({ "action": "ping" }))
            .await;
        let pong = self.expect("pong").await;
        pong["connection_id"]
            .as_str()
            .expect("a connection id")
            .to_string()
    }

    /// The next raw frame within [`EVENT_WAIT`] (for non-JSON pushes through `@connections`).
    pub async fn next_frame(&mut self) -> Message {
        match tokio::time::timeout(EVENT_WAIT, self.socket.next()).await {
            Ok(Some(Ok(frame))) => frame,
            other => panic!("no frame within {EVENT_WAIT:?}: {other:?}"),
        }
    }

    /// Waits for the server to close the socket.
    pub async fn closed_within(&mut self, wait: Duration) -> Closed {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.socket.next()).await {
                Err(_) => panic!("the socket was not closed within {wait:?}"),
                Ok(None) | Ok(Some(Err(_))) => return Closed::Dropped,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return frame.map_or(Closed::Dropped, |f| Closed::Code(u16::from(f.code)));
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Closes from the client side.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = match tokio::time::timeout(left, self.socket.next()).await {
                Err(_) => return None,
                Ok(None) => panic!("the server closed the socket"),
                Ok(Some(Err(err))) => panic!("socket error: {err}"),
                Ok(Some(Ok(frame))) => frame,
            };
            match frame {
                Message::Text(text) => {
                    return Some(
                        serde_json::from_str(text.as_str()).unwrap_or_else(|err| {
                            panic!("the server sent non-JSON ({err}): {text}")
                        }),
                    );
                }
                Message::Close(frame) => panic!("the server closed the socket: {frame:?}"),
                // Pings are answered by tungstenite; nothing else is expected.
                _ => continue,
            }
        }
    }
}
