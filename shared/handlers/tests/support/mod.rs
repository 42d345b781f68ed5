//! What the handler tests share: a fixed clock, a recording pusher, and the fixture files.

use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use chat_domain::{ConnectionId, Millis};
use chat_ports::{Clock, ConnectionPusher, PortResult, PostOutcome};
use serde_json::Value;

pub const NOW: Millis = Millis(1_700_000_000_000);

pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Millis {
        NOW
    }
}

/// Records every post; every connection is live but those listed in `gone` (410).
#[derive(Default)]
pub struct RecordingPusher {
    pub posts: Mutex<Vec<(String, Value)>>,
    pub gone: Vec<String>,
}

#[async_trait]
impl ConnectionPusher for RecordingPusher {
    async fn post(&self, connection: &ConnectionId, payload: &[u8]) -> PortResult<PostOutcome> {
        if self.gone.contains(&connection.to_string()) {
            return Ok(PostOutcome::Gone);
        }
        let event: Value = serde_json::from_slice(payload).expect("pushed JSON");
        let mut posts = self.posts.lock().expect("lock");
        posts.push((connection.to_string(), event));
        Ok(PostOutcome::Delivered)
    }

    async fn disconnect(&self, _connection: &ConnectionId) -> PortResult<PostOutcome> {
        Ok(PostOutcome::Delivered)
    }
}

/// A fixture file from `tests/fixtures/`, as JSON.
pub fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("fixture file");
    serde_json::from_str(&text).expect("fixture JSON")
}
