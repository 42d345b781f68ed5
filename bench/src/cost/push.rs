//! Our design, a push notification: `count` 1:1 messages `u0` → `u1`, `u1` offline with one
//! FCM device registered (`POST /v1/devices`), each notifying it (chat-local's push quiet
//! window set to 0, so no message is coalesced into another); beside them, in the same run on
//! the same server, `count` messages `u2` → `u3`, `u3` offline with no device. The difference
//! is what a push costs: the stream function's look-ups (the device, live connections, the
//! push ledger's claim, the badge) and the SNS `Publish`.
//!
//! Messages go one at a time, and each waits until the stream function handled it (and, for
//! `u1`, until SNS accepted its notification: `GET /dev/pushes`), so each is one stream
//! invocation of its own and one notification.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde::{Deserialize, Serialize};

use super::BODY;
use super::harness::{Client, MeteredServer, PATIENCE};
use super::pricing::Measured;
use crate::ws::{dev_token, user};

/// The push scenario's figures, each per message.
#[derive(Debug, Clone, Serialize)]
pub struct PushPhases {
    /// To an offline recipient without a device: the baseline.
    pub without_device: Measured,
    /// To an offline recipient with one device: one notification each.
    pub with_device: Measured,
}

pub async fn run(endpoint: &str, count: u32) -> anyhow::Result<PushPhases> {
    let server = MeteredServer::start_with(endpoint, "push", |config| {
        config.push_quiet = Duration::ZERO;
    })
    .await?;
    // The senders are online; the recipients never connect.
    let clients = server.connect_all([0, 2]).await?;
    let (alice, carol) = (&clients[0], &clients[1]);
    let http = reqwest::Client::new();
    let base = server.http_base();
    register_device(&http, &base, &user(1)).await?;
    let pushes = Pushes {
        http: &http,
        base: &base,
    };

    // Both conversations opened by one message (the first writes both memberships).
    message(&server, alice, 1, "open").await?;
    message(&server, carol, 3, "open").await?;
    pushes.wait_for(&user(1), 1).await?;
    server.settle().await;

    eprintln!("cost: push: measuring {count} messages to an offline user without a device");
    let before = server.snapshot();
    for k in 0..count {
        message(&server, carol, 3, &format!("n{k}")).await?;
    }
    server.settle().await;
    let without = server.snapshot();

    eprintln!("cost: push: measuring {count} messages to an offline user with a device");
    for k in 0..count {
        message(&server, alice, 1, &format!("d{k}")).await?;
        pushes.wait_for(&user(1), 2 + k as usize).await?;
    }
    server.settle().await;
    let with = server.snapshot();
    ensure!(
        pushes.of(&user(1)).await? == 1 + count as usize,
        "more notifications than messages"
    );
    ensure!(
        pushes.of(&user(3)).await? == 0,
        "a user without a device was notified"
    );
    server.stop();

    Ok(PushPhases {
        without_device: without.since(&before, u64::from(count)),
        with_device: with.since(&without, u64::from(count)),
    })
}

/// `from` sends client `to`'s user a message (each handled by the stream function before
/// the next).
async fn message(server: &MeteredServer, from: &Client, to: u32, id: &str) -> anyhow::Result<()> {
    server
        .send_one(
            from,
            serde_json::json!({
                "action": "send", "to": user(to), "client_msg_id": id, "body": BODY,
            }),
        )
        .await
        .with_context(|| format!("message {id} to {}", user(to)))
}

/// `POST /v1/devices` for `user`: an FCM device named `phone`.
async fn register_device(http: &reqwest::Client, base: &str, user_id: &str) -> anyhow::Result<()> {
    let token = dev_token(http, base, user_id).await?;
    // An FCM registration token is about 160 characters.
    let fcm_token = format!("{user_id}:APA91b{}", "x".repeat(150));
    let response = http
        .post(format!("{base}/v1/devices"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "device_id": "phone", "platform": "fcm", "token": fcm_token }))
        .send()
        .await?;
    let status = response.status();
    ensure!(
        status.as_u16() == 201,
        "POST /v1/devices: {status} {}",
        response.text().await.unwrap_or_default()
    );
    Ok(())
}

/// chat-local's `GET /dev/pushes`: what SNS accepted (a dev route of chat-local, no Lambda).
struct Pushes<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
}

#[derive(Deserialize)]
struct PushList {
    pushes: Vec<serde_json::Value>,
}

impl Pushes<'_> {
    async fn of(&self, user_id: &str) -> anyhow::Result<usize> {
        let list: PushList = self
            .http
            .get(format!("{}/dev/pushes", self.base))
            .query(&[("user_id", user_id)])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(list.pushes.len())
    }

    /// Waits until `user_id` was notified `count` times in all.
    async fn wait_for(&self, user_id: &str, count: usize) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let sent = self.of(user_id).await?;
            if sent >= count {
                return Ok(());
            }
            ensure!(
                tokio::time::Instant::now() < deadline,
                "{user_id} got {sent} notifications, not {count}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
