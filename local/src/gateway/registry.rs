//! The open connections of the local gateway, and the push port over them.
//!
//! Each connection has a bounded outbox drained by its socket's writer task. A post to a
//! connection that is not here answers `Gone` (API Gateway's `410`). A connection whose outbox is
//! full is a client that stopped reading: it is closed, as a production gateway would, and its
//! messages wait for `sync`.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chat_domain::{ChatError, ConnectionId, Millis};
use chat_ports::{ConnectionPusher, PostOutcome};
use tokio::sync::mpsc;

/// Frames waiting for a connection's writer.
pub(crate) const OUTBOX_FRAMES: usize = 4096;

/// What the writer task of a connection is asked to do.
#[derive(Debug)]
pub(crate) enum Outbound {
    Text(String),
    Binary(Vec<u8>),
    /// Close with this code and reason, then stop.
    Close(u16, String),
}

/// What `GET @connections/{id}` reports.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionInfo {
    pub connected_at: Millis,
    pub last_active_at: Millis,
    pub source_ip: String,
    pub user_agent: String,
}

struct Live {
    outbox: mpsc::Sender<Outbound>,
    info: ConnectionInfo,
}

#[derive(Default)]
pub(crate) struct Registry {
    live: Mutex<HashMap<String, Live>>,
}

impl Registry {
    /// Adds a connection (before `$connect` runs, so posts made during it wait in the outbox).
    pub fn register(&self, id: &str, outbox: mpsc::Sender<Outbound>, info: ConnectionInfo) {
        self.lock().insert(id.to_string(), Live { outbox, info });
    }

    /// Forgets a connection; its writer then sees the outbox close and ends the socket.
    pub fn remove(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    pub fn info(&self, id: &str) -> Option<ConnectionInfo> {
        self.lock().get(id).map(|live| live.info.clone())
    }

    /// Records client activity (for `LastActiveAt`).
    pub fn touch(&self, id: &str, at: Millis) {
        if let Some(live) = self.lock().get_mut(id) {
            live.info.last_active_at = at;
        }
    }

    /// Queues a frame for a connection.
    pub fn send(&self, id: &str, frame: Outbound) -> PostOutcome {
        let mut live = self.lock();
        let Some(conn) = live.get(id) else {
            return PostOutcome::Gone;
        };
        match conn.outbox.try_send(frame) {
            Ok(()) => PostOutcome::Delivered,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(connection = id, "closing a connection that stopped reading");
                live.remove(id);
                PostOutcome::Gone
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                live.remove(id);
                PostOutcome::Gone
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        // A panic while holding this lock cannot leave the map half-changed: recover it.
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl ConnectionPusher for Registry {
    async fn post(
        &self,
        connection: &ConnectionId,
        payload: &[u8],
    ) -> Result<PostOutcome, ChatError> {
        let frame = match std::str::from_utf8(payload) {
            Ok(text) => Outbound::Text(text.to_string()),
            Err(_) => Outbound::Binary(payload.to_vec()),
        };
        Ok(self.send(connection.as_str(), frame))
    }

    async fn disconnect(&self, connection: &ConnectionId) -> Result<PostOutcome, ChatError> {
        Ok(self.send(connection.as_str(), Outbound::Close(1000, String::new())))
    }
}
