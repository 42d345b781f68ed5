//! Our design, 1:1: M WebSocket clients in pairs on `chat-local --backend aws`, each sending its
//! peer `per_user` messages and awaiting each `ack`.

use std::sync::Arc;

use super::harness::{Client, MeteredServer, wait_for};
use super::{BODY, Phases};
use crate::ws::user;

/// Sends go one at a time. moto answers `TransactWriteItems` by deep-copying the tables it
/// touches without a lock: concurrent transactions fail there with a 500 ("dictionary changed
/// size during iteration") that DynamoDB never gives, and each one waits for the others, which
/// would bill each send's Lambda for time spent queueing in the emulator.
pub async fn run(endpoint: &str, users: u32, per_user: u32) -> anyhow::Result<Phases> {
    let server = MeteredServer::start(endpoint, &format!("cost{users}")).await?;
    let before_connect = server.snapshot();
    eprintln!("cost: M = {users}: connecting");
    let clients = server.connect_all(0..users).await?;
    let connected = server.snapshot();
    eprintln!("cost: M = {users}: opening {} conversations", users / 2);

    // Every conversation opened once (its first message writes both memberships), so the
    // measured messages are the steady state of a conversation.
    let openers: Vec<usize> = (0..clients.len()).step_by(2).collect();
    exchange(&clients, &openers, 1).await?;
    server.settle().await;
    let warm = server.snapshot();

    eprintln!("cost: M = {users}: measuring {} messages", users * per_user);
    let everyone: Vec<usize> = (0..clients.len()).collect();
    exchange(&clients, &everyone, per_user).await?;
    server.settle().await;
    let done = server.snapshot();
    server.stop();

    // The connect phase is priced per connection.
    let connect = connected.since(&before_connect, u64::from(users));
    let steady = done.since(&warm, u64::from(users) * u64::from(per_user));
    Ok(Phases { connect, steady })
}

/// Each of `senders` (indexes into `clients`) sends `count` messages to its peer, one message
/// at a time across all of them (each awaits its `ack`); then every message must have reached
/// its peer.
async fn exchange(clients: &[Arc<Client>], senders: &[usize], count: u32) -> anyhow::Result<()> {
    let mut expected: Vec<u64> = clients.iter().map(|c| c.received()).collect();
    for &sender in senders {
        expected[sender ^ 1] += u64::from(count);
    }
    for k in 0..count {
        for &sender in senders {
            let client = &clients[sender];
            let client_msg_id = format!("c{}-{}-{k}", client.index, crate::report::epoch_ms());
            client
                .send_and_await_ack(serde_json::json!({
                    "action": "send", "to": user(client.index ^ 1),
                    "client_msg_id": client_msg_id, "body": BODY,
                }))
                .await?;
        }
    }
    wait_for(|| {
        let missing: u64 = clients
            .iter()
            .zip(&expected)
            .map(|(c, &e)| e.saturating_sub(c.received()))
            .sum();
        (missing > 0).then(|| format!("{missing} acknowledged messages never reached their peer"))
    })
    .await
}
