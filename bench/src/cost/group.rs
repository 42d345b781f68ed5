//! Our design, one group: `members` members of whom the first `online` are connected (one
//! device each; the rest offline, as most of a large group is at any moment). Three phases,
//! each priced apart: the group's creation (one `POST /v1/conversations`), `messages` group
//! messages from a few online members in turn (each sender awaits its `ack`, then every other
//! online device must have it), and one `read` receipt from each other online member covering
//! every message so far (then each sender must have that member's `receipt`).

use std::sync::Arc;

use anyhow::Context;
use serde::Deserialize;

use super::BODY;
use super::harness::{Client, MeteredServer, wait_for};
use super::pricing::Measured;
use crate::ws::{dev_token, user};

/// A group scenario's size.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct GroupShape {
    pub members: u32,
    pub online: u32,
    pub messages: u32,
}

/// Who talks in a group while the others read: up to this many senders.
const TALKERS: u32 = 5;

impl GroupShape {
    /// How many members send the measured messages: `u0` (the owner) to `u{senders-1}`, each
    /// online. The other online members read.
    pub fn senders(&self) -> u32 {
        self.messages.min(TALKERS).min(self.online - 1).max(1)
    }

    /// Who sends measured message `k` (at seq `k + 2`: the group's `created` is seq 1).
    pub fn sender(&self, k: u32) -> u32 {
        k % self.senders()
    }

    /// The online members who send a receipt.
    pub fn readers(&self) -> std::ops::Range<u32> {
        self.senders()..self.online
    }
}

/// A group's figures: its creation, a message, a receipt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupPhases {
    pub create: Measured,
    pub message: Measured,
    pub receipt: Measured,
}

pub async fn run(endpoint: &str, shape: GroupShape) -> anyhow::Result<GroupPhases> {
    let server = MeteredServer::start(endpoint, &format!("group{}", shape.members)).await?;
    eprintln!(
        "cost: group of {}: connecting {} members",
        shape.members, shape.online
    );
    let clients = server.connect_all(0..shape.online).await?;

    let before_create = server.snapshot();
    let group = create_group(&server, shape.members).await?;
    // The `created` system message reaches every online device, the owner's too.
    await_messages(&clients, |_| 1).await?;
    server.settle().await;
    let created = server.snapshot();

    eprintln!(
        "cost: group of {}: measuring {} messages",
        shape.members, shape.messages
    );
    for k in 0..shape.messages {
        let sender = &clients[shape.sender(k) as usize];
        sender
            .send_and_await_ack(serde_json::json!({
                "action": "send", "conversation_id": group,
                "client_msg_id": format!("g{k}"), "body": BODY,
            }))
            .await?;
    }
    // Every online device has every message but its own.
    await_messages(&clients, |index| {
        1 + (0..shape.messages)
            .filter(|&k| shape.sender(k) != index)
            .count() as u64
    })
    .await?;
    server.settle().await;
    let messaged = server.snapshot();

    let readers = shape.readers();
    eprintln!(
        "cost: group of {}: {} read receipts",
        shape.members,
        readers.len()
    );
    let last_seq = 1 + u64::from(shape.messages);
    for reader in readers.clone() {
        let reader = &clients[reader as usize];
        let before: Vec<u64> = clients.iter().map(|c| c.receipts()).collect();
        reader
            .send(serde_json::json!({
                "action": "receipt", "conversation_id": group, "seq": last_seq, "kind": "read",
            }))
            .await?;
        // The receipt reaches each sender of what it covered, and nobody else.
        let sender = |c: &Client| c.index < shape.senders();
        wait_for(|| {
            let missing = clients
                .iter()
                .zip(&before)
                .filter(|(c, before)| sender(c) && c.receipts() <= **before)
                .count();
            (missing > 0).then(|| {
                format!(
                    "{missing} senders never got the read receipt of {}",
                    user(reader.index)
                )
            })
        })
        .await?;
    }
    server.settle().await;
    let receipted = server.snapshot();
    server.stop();

    Ok(GroupPhases {
        create: created.since(&before_create, 1),
        message: messaged.since(&created, u64::from(shape.messages)),
        receipt: receipted.since(&messaged, readers.len() as u64),
    })
}

/// The owner (`u0`) creates the group with `u1` … `u{members-1}`.
async fn create_group(server: &MeteredServer, members: u32) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    struct Created {
        conversation_id: String,
    }
    let http = reqwest::Client::new();
    let base = server.http_base();
    let token = dev_token(&http, &base, &user(0)).await?;
    let others: Vec<String> = (1..members).map(user).collect();
    let created: Created = http
        .post(format!("{base}/v1/conversations"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "name": "Everyone", "members": others }))
        .send()
        .await?
        .error_for_status()
        .context("creating the group")?
        .json()
        .await?;
    Ok(created.conversation_id)
}

/// Waits until client `i` has received `expected(i)` distinct messages.
async fn await_messages(
    clients: &[Arc<Client>],
    expected: impl Fn(u32) -> u64,
) -> anyhow::Result<()> {
    wait_for(|| {
        let missing: u64 = clients
            .iter()
            .map(|c| expected(c.index).saturating_sub(c.received()))
            .sum();
        (missing > 0).then(|| format!("{missing} group messages never reached an online member"))
    })
    .await
}
