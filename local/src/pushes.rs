//! Push on a laptop: what chat-local would have sent to phones, kept for `GET /dev/pushes`.
//!
//! On the embedded backend [`LocalPushNotifier`] stands in for SNS: it registers tokens (the
//! same token answers the same address; a token signed in to another account reports that
//! account's device, as SNS's `CustomUserData` does) and delivers nothing, only records. On
//! `--backend aws` the real SNS adapter is wrapped by [`Recorded`], so the same list shows what
//! went to SNS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Json;
use axum::extract::{Query, State};
use chat_domain::{DeviceId, Sha256, UserId};
use chat_ports::{
    Clock, Notification, NotifyOutcome, Platform, PortResult, PushEndpoint, PushNotifier,
    Registration,
};
use serde::{Deserialize, Serialize};

use crate::gateway::GatewayState;

/// One notification as a phone would have received it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PushRecord {
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub platform: Platform,
    pub title: String,
    pub text: String,
    pub badge: u64,
    pub conversation_id: String,
    pub seq: u64,
    pub collapse_key: String,
    pub ttl_secs: u32,
    pub at: i64,
}

/// The notifications of this process, oldest first (bounded: the newest 10,000).
#[derive(Default)]
pub(crate) struct PushLog {
    records: Mutex<Vec<PushRecord>>,
}

const KEEP: usize = 10_000;

impl PushLog {
    fn push(&self, record: PushRecord) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if records.len() >= KEEP {
            records.remove(0);
        }
        records.push(record);
    }

    fn of(&self, user: Option<&str>) -> Vec<PushRecord> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records
            .iter()
            .filter(|r| user.is_none_or(|u| r.user_id.as_str() == u))
            .cloned()
            .collect()
    }
}

fn record(log: &PushLog, clock: &dyn Clock, endpoint: &PushEndpoint, n: &Notification) {
    log.push(PushRecord {
        user_id: endpoint.user_id.clone(),
        device_id: endpoint.device_id.clone(),
        platform: endpoint.platform,
        title: n.title.clone(),
        text: n.text.clone(),
        badge: n.badge,
        conversation_id: n.conversation_id.clone(),
        seq: n.seq,
        collapse_key: n.collapse_key.clone(),
        ttl_secs: n.ttl_secs,
        at: clock.now().as_i64(),
    });
}

/// SNS's part on the embedded backend.
pub(crate) struct LocalPushNotifier {
    log: Arc<PushLog>,
    clock: Arc<dyn Clock>,
    /// Address → whose device it is registered for.
    owners: Mutex<HashMap<String, (UserId, DeviceId)>>,
}

impl LocalPushNotifier {
    pub(crate) fn new(log: Arc<PushLog>, clock: Arc<dyn Clock>) -> LocalPushNotifier {
        LocalPushNotifier {
            log,
            clock,
            owners: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl PushNotifier for LocalPushNotifier {
    async fn register(
        &self,
        user: &UserId,
        device: &DeviceId,
        platform: Platform,
        token: &str,
    ) -> PortResult<Registration> {
        let address = format!(
            "local:{}:{}",
            platform.as_str(),
            &Sha256::of(token.as_bytes()).to_hex()[..24]
        );
        let me = (user.clone(), device.clone());
        let previous = {
            let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
            owners.insert(address.clone(), me.clone())
        };
        Ok(Registration {
            endpoint: PushEndpoint {
                user_id: user.clone(),
                device_id: device.clone(),
                platform,
                address,
            },
            previous_owner: previous.filter(|owner| *owner != me),
        })
    }

    async fn unregister(&self, endpoint: &PushEndpoint) -> PortResult<()> {
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        owners.remove(&endpoint.address);
        Ok(())
    }

    async fn notify(
        &self,
        endpoint: &PushEndpoint,
        notification: &Notification,
    ) -> PortResult<NotifyOutcome> {
        record(&self.log, &*self.clock, endpoint, notification);
        Ok(NotifyOutcome::Sent)
    }
}

/// A real notifier whose accepted notifications also go to the log.
pub(crate) struct Recorded {
    pub inner: Arc<dyn PushNotifier>,
    pub log: Arc<PushLog>,
    pub clock: Arc<dyn Clock>,
}

#[async_trait]
impl PushNotifier for Recorded {
    async fn register(
        &self,
        user: &UserId,
        device: &DeviceId,
        platform: Platform,
        token: &str,
    ) -> PortResult<Registration> {
        self.inner.register(user, device, platform, token).await
    }

    async fn unregister(&self, endpoint: &PushEndpoint) -> PortResult<()> {
        self.inner.unregister(endpoint).await
    }

    async fn notify(
        &self,
        endpoint: &PushEndpoint,
        notification: &Notification,
    ) -> PortResult<NotifyOutcome> {
        let outcome = self.inner.notify(endpoint, notification).await?;
        if outcome == NotifyOutcome::Sent {
            record(&self.log, &*self.clock, endpoint, notification);
        }
        Ok(outcome)
    }
}

#[derive(Deserialize)]
pub(crate) struct PushQuery {
    user_id: Option<String>,
}

/// `GET /dev/pushes?user_id=`: the notifications sent (to one user's devices).
pub(crate) async fn list(
    State(state): State<GatewayState>,
    Query(query): Query<PushQuery>,
) -> Json<serde_json::Value> {
    let pushes = state.app.pushes.of(query.user_id.as_deref());
    Json(serde_json::json!({ "pushes": pushes }))
}
