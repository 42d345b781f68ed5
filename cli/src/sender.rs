//! Getting one message stored: a `send` frame with a fresh `client_msg_id`, then waiting for
//! its `ack`. When the connection drops before the answer, the same frame (the same
//! `client_msg_id`) goes again over a new connection: the server answers a retried send with
//! the original ack and never stores a second message, so resending is always safe.

use std::time::Duration;

use chat_domain::{ClientMsgId, ConversationId, MediaId, UserId};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::config::Profile;
use crate::error::CliError;
use crate::output::Output;
use crate::socket::{Socket, retryable};

/// How many times a send is resent after its connection failed.
const RESENDS: u32 = 3;

/// Where a message goes.
#[derive(Debug, Clone)]
pub enum Target {
    To(UserId),
    Conversation(ConversationId),
}

impl Target {
    /// The target the command line named (clap makes sure it is exactly one).
    pub fn from_args(args: &crate::args::Target) -> Result<Target, CliError> {
        match (&args.to, &args.conversation) {
            (Some(to), None) => Ok(Target::To(to.clone())),
            (None, Some(id)) => Ok(Target::Conversation(id.clone())),
            _ => Err(CliError::usage(
                "give exactly one of --to and --conversation",
            )),
        }
    }
}

/// A message to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub target: Target,
    pub client_msg_id: ClientMsgId,
    pub body: Option<String>,
    pub media_id: Option<MediaId>,
    pub reply_to: Option<u64>,
}

impl Outgoing {
    /// A message with a fresh `client_msg_id` (`cli-<ulid>`: unique per sender).
    pub fn new(target: Target) -> Result<Outgoing, CliError> {
        let raw = format!("cli-{}", ulid::Ulid::new());
        Ok(Outgoing {
            target,
            client_msg_id: ClientMsgId::parse(&raw)
                .map_err(|e| CliError::protocol(e.to_string()))?,
            body: None,
            media_id: None,
            reply_to: None,
        })
    }

    /// The `send` frame.
    pub fn frame(&self) -> Value {
        let mut frame = json!({ "action": "send", "client_msg_id": self.client_msg_id });
        match &self.target {
            Target::To(user) => frame["to"] = json!(user),
            Target::Conversation(id) => frame["conversation_id"] = json!(id),
        }
        if let Some(body) = &self.body {
            frame["body"] = json!(body);
        }
        if let Some(media_id) = &self.media_id {
            frame["media_id"] = json!(media_id);
        }
        if let Some(reply_to) = self.reply_to {
            frame["reply_to"] = json!(reply_to);
        }
        frame
    }
}

/// The server's `ack`: the message is durably stored.
#[derive(Debug, Clone)]
pub struct Acked {
    /// The event as it came (for `--json`).
    pub raw: Value,
    pub conversation_id: ConversationId,
    pub seq: u64,
}

/// Sends messages over one connection, reconnecting when it drops.
pub struct Sender<'a> {
    profile: &'a Profile,
    timeout: Duration,
    out: Output,
    socket: Option<Socket>,
}

impl<'a> Sender<'a> {
    pub fn new(profile: &'a Profile, timeout: Duration, out: Output) -> Sender<'a> {
        Sender {
            profile,
            timeout,
            out,
            socket: None,
        }
    }

    /// Sends `message` until it is acked (or refused), resending over a new connection
    /// when one fails, for at most the timeout.
    pub async fn send(&mut self, message: &Outgoing) -> Result<Acked, CliError> {
        let deadline = Instant::now() + self.timeout;
        let mut backoff = Backoff::reconnect();
        let mut resends = 0;
        loop {
            match self.try_once(message, deadline).await {
                Err(err) if retryable(&err) && resends < RESENDS && Instant::now() < deadline => {
                    self.socket = None;
                    resends += 1;
                    let delay = backoff.next_delay();
                    self.out.status(
                        "send",
                        "retrying",
                        &format!("{err}; sending again in {} ms", delay.as_millis()),
                    );
                    tokio::time::sleep_until((Instant::now() + delay).min(deadline)).await;
                }
                other => return other,
            }
        }
    }

    async fn try_once(&mut self, message: &Outgoing, deadline: Instant) -> Result<Acked, CliError> {
        let socket = match &mut self.socket {
            Some(socket) => socket,
            None => {
                let left = deadline.saturating_duration_since(Instant::now());
                let socket =
                    Socket::connect(self.profile, left.max(Duration::from_millis(1))).await?;
                self.socket.insert(socket)
            }
        };
        socket.send(&message.frame()).await?;
        loop {
            let event = tokio::time::timeout_at(deadline, socket.next())
                .await
                .map_err(|_| {
                    CliError::Timeout(format!("no ack for the message within {:?}", self.timeout))
                })??;
            // Sending too fast: the server says when to try again, and nothing was stored;
            // the same frame then is an ordinary send (while the deadline allows).
            if let Some(pause) = rate_limited(message, &event)
                && Instant::now() + pause < deadline
            {
                self.out.status(
                    "send",
                    "rate limited",
                    &format!("sending again in {} ms", pause.as_millis()),
                );
                tokio::time::sleep(pause).await;
                socket.send(&message.frame()).await?;
                continue;
            }
            if let Some(answer) = answer_to(message, event) {
                return answer;
            }
        }
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        if let Some(socket) = self.socket {
            socket.close().await;
        }
    }
}

/// The pause a `rate_limited` answer to `message` asks for.
fn rate_limited(message: &Outgoing, event: &Value) -> Option<Duration> {
    let ours = event["client_msg_id"].as_str() == Some(message.client_msg_id.as_str());
    (ours && event["type"] == "error" && event["code"] == "rate_limited")
        .then(|| event["retry_after_ms"].as_u64())
        .flatten()
        .map(Duration::from_millis)
}

/// The `ack` or `error` that answers `message`, or `None` for any other event.
fn answer_to(message: &Outgoing, event: Value) -> Option<Result<Acked, CliError>> {
    let ours = event["client_msg_id"].as_str() == Some(message.client_msg_id.as_str());
    match event["type"].as_str() {
        Some("ack") if ours => Some(parse_ack(event)),
        // Every refusal of a `send` names its `client_msg_id`; one without it (a frame the
        // server could not read) is still the answer to our only frame.
        Some("error")
            if ours || (event.get("client_msg_id").is_none() && event["action"] == "send") =>
        {
            Some(Err(CliError::server(
                event["code"].as_str().unwrap_or("internal"),
                event["message"].as_str().unwrap_or("refused"),
            )))
        }
        _ => None,
    }
}

fn parse_ack(raw: Value) -> Result<Acked, CliError> {
    let conversation_id = raw["conversation_id"]
        .as_str()
        .and_then(|id| ConversationId::parse(id).ok())
        .ok_or_else(|| CliError::protocol(format!("an ack without a conversation: {raw}")))?;
    let seq = raw["seq"]
        .as_u64()
        .ok_or_else(|| CliError::protocol(format!("an ack without a seq: {raw}")))?;
    Ok(Acked {
        raw,
        conversation_id,
        seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Outgoing {
        let mut m = Outgoing::new(Target::To(UserId::parse("bob").expect("bob"))).expect("new");
        m.body = Some("hi".into());
        m
    }

    #[test]
    fn the_frame_names_the_target_and_the_idempotency_key() {
        let m = message();
        let frame = m.frame();
        assert_eq!(frame["action"], "send");
        assert_eq!(frame["to"], "bob");
        assert_eq!(frame["body"], "hi");
        assert_eq!(frame["client_msg_id"], m.client_msg_id.as_str());
        assert!(frame.get("conversation_id").is_none());
    }

    #[test]
    fn only_our_ack_or_error_answers() {
        let m = message();
        let id = m.client_msg_id.as_str();
        let other =
            json!({"type": "ack", "client_msg_id": "x", "conversation_id": "dm:a:b", "seq": 1});
        assert!(answer_to(&m, other).is_none());
        let typing = json!({"type": "typing", "conversation_id": "dm:a:b"});
        assert!(answer_to(&m, typing).is_none());
        let ack = json!({"type": "ack", "client_msg_id": id, "conversation_id": "dm:alice:bob", "seq": 4});
        let acked = answer_to(&m, ack).and_then(Result::ok).expect("acked");
        assert_eq!(acked.seq, 4);
        let refused =
            json!({"type": "error", "client_msg_id": id, "code": "forbidden", "message": "no"});
        assert!(matches!(
            answer_to(&m, refused),
            Some(Err(CliError::Server { .. }))
        ));
    }
}
