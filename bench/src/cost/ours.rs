//! Our design, for real: `chat-local --backend aws` (hosted in this process so that the
//! request meter rides on its SDK clients) on fresh tables of the emulator, M WebSocket
//! clients in pairs, each sending its peer `per_user` messages and awaiting each `ack`.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use chat_aws::{RequestMeter, Tables};
use chat_local::{Backend, Config, Instruments, InvocationMeter, LocalServer};
use futures_util::stream::{SplitSink, StreamExt};
use futures_util::{SinkExt, TryStreamExt};
use serde::Deserialize;
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;

use super::pricing::Measured;
use super::{BODY, Phases};
use crate::ws::{Socket, connect, user};

/// API Gateway meters WebSocket messages in 32 KB units.
const MESSAGE_UNIT: u64 = 32 * 1024;
/// How long an `ack` or a delivery may take before the run is called broken.
const PATIENCE: Duration = Duration::from_secs(60);

/// Frames the clients sent and received, in API Gateway's units.
#[derive(Default)]
struct Frames {
    units: AtomicU64,
}

impl Frames {
    fn count(&self, bytes: usize) {
        let units = (bytes as u64).div_ceil(MESSAGE_UNIT).max(1);
        self.units.fetch_add(units, Ordering::Relaxed);
    }
}

struct Client {
    index: u32,
    sink: Mutex<SplitSink<Socket, Message>>,
    acks: Mutex<mpsc::UnboundedReceiver<String>>,
    /// The `client_msg_id`s of the messages this client received: a duplicate cannot stand
    /// in for a missing message.
    received: Arc<std::sync::Mutex<HashSet<String>>>,
}

impl Client {
    fn received(&self) -> u64 {
        self.received.lock().map_or(0, |ids| ids.len() as u64)
    }
}

/// Clients connecting at once.
const CONNECTING: usize = 16;

/// Sends go one at a time. moto answers `TransactWriteItems` by deep-copying the tables it
/// touches without a lock: concurrent transactions fail there with a 500 ("dictionary changed
/// size during iteration") that DynamoDB never gives, and each one waits for the others, which
/// would bill each send's Lambda for time spent queueing in the emulator.
pub async fn run(endpoint: &str, users: u32, per_user: u32) -> anyhow::Result<Phases> {
    let data_dir = tempfile::tempdir()?;
    let prefix = format!("cost{users}x{:08x}", rand_suffix());
    let mut config = Config::ephemeral(data_dir.path().to_path_buf());
    config.backend = Backend::Aws;
    config.aws_endpoint_url = Some(endpoint.to_string());
    config.table_prefix = prefix.clone();
    config.create_tables = true;
    let meter = RequestMeter::for_tables(&Tables::from_prefix(&prefix));
    let invocations = InvocationMeter::default();
    let instruments = Instruments {
        aws: Some(meter.clone()),
        invocations: Some(invocations.clone()),
    };
    let server = LocalServer::start_with(config, instruments)
        .await
        .context("starting chat-local --backend aws")?;
    let frames = Arc::new(Frames::default());
    let snapshot = |frames: &Frames| Measured {
        messages: 0,
        aws: meter.snapshot(),
        api_gateway_messages: frames.units.load(Ordering::Relaxed),
        lambda: invocations.snapshot(),
    };

    let before_connect = snapshot(&frames);
    eprintln!("cost: M = {users}: connecting");
    let clients = connect_all(&server, users, CONNECTING, &frames).await?;
    let connected = snapshot(&frames);
    eprintln!("cost: M = {users}: opening {} conversations", users / 2);

    // Every conversation opened once (its first message writes both memberships), so the
    // measured messages are the steady state of a conversation.
    let openers: Vec<usize> = (0..clients.len()).step_by(2).collect();
    exchange(&clients, &openers, 1, &frames).await?;
    settle(&invocations).await;
    let warm = snapshot(&frames);

    eprintln!("cost: M = {users}: measuring {} messages", users * per_user);
    let everyone: Vec<usize> = (0..clients.len()).collect();
    exchange(&clients, &everyone, per_user, &frames).await?;
    settle(&invocations).await;
    let done = snapshot(&frames);
    server.stop();

    // The connect phase is priced per connection.
    let connect = connected.since(&before_connect, u64::from(users));
    let steady = done.since(&warm, u64::from(users) * u64::from(per_user));
    Ok(Phases { connect, steady })
}

fn rand_suffix() -> u32 {
    (crate::report::epoch_ms() as u32).wrapping_mul(2_654_435_761)
}

async fn connect_all(
    server: &LocalServer,
    users: u32,
    concurrency: usize,
    frames: &Arc<Frames>,
) -> anyhow::Result<Vec<Arc<Client>>> {
    let http = reqwest::Client::new();
    let addr = server.addr();
    let gate = Arc::new(Semaphore::new(concurrency));
    let tasks = (0..users).map(|index| {
        let (http, gate, frames) = (http.clone(), gate.clone(), frames.clone());
        async move {
            let _permit = gate.acquire().await?;
            connect_one(&http, addr, index, frames).await
        }
    });
    futures_util::stream::iter(tasks)
        .buffered(concurrency)
        .try_collect()
        .await
}

async fn connect_one(
    http: &reqwest::Client,
    addr: std::net::SocketAddr,
    index: u32,
    frames: Arc<Frames>,
) -> anyhow::Result<Arc<Client>> {
    let socket = connect(
        http,
        &format!("http://{addr}"),
        &format!("ws://{addr}/local"),
        index,
    )
    .await?;
    let (sink, mut stream) = socket.split();
    let (ack_tx, acks) = mpsc::unbounded_channel();
    let received = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let counted = received.clone();
    tokio::spawn(async move {
        while let Some(Ok(frame)) = stream.next().await {
            let Message::Text(text) = frame else { continue };
            frames.count(text.len());
            let Some(event) = event_of(&text) else {
                continue;
            };
            match event.kind.as_str() {
                "ack" | "error" => {
                    let _ = ack_tx.send(text.to_string());
                }
                "message" => {
                    if let (Some(id), Ok(mut ids)) = (event.client_msg_id, counted.lock()) {
                        ids.insert(id);
                    }
                }
                _ => {}
            }
        }
    });
    Ok(Arc::new(Client {
        index,
        sink: Mutex::new(sink),
        acks: Mutex::new(acks),
        received,
    }))
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    client_msg_id: Option<String>,
}

fn event_of(text: &str) -> Option<Event> {
    serde_json::from_str(text).ok()
}

/// Each of `senders` (indexes into `clients`) sends `count` messages to its peer, one message
/// at a time across all of them (each awaits its `ack`); then every message must have reached
/// its peer.
async fn exchange(
    clients: &[Arc<Client>],
    senders: &[usize],
    count: u32,
    frames: &Arc<Frames>,
) -> anyhow::Result<()> {
    let mut expected: Vec<u64> = clients.iter().map(|c| c.received()).collect();
    for &sender in senders {
        expected[sender ^ 1] += u64::from(count);
    }
    for k in 0..count {
        for &sender in senders {
            send_one(&clients[sender], k, frames).await?;
        }
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let missing: u64 = clients
            .iter()
            .zip(&expected)
            .map(|(c, &e)| e.saturating_sub(c.received()))
            .sum();
        if missing == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{missing} acknowledged messages never reached their peer");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn send_one(client: &Client, k: u32, frames: &Frames) -> anyhow::Result<()> {
    let peer = user(client.index ^ 1);
    let client_msg_id = format!("c{}-{}-{k}", client.index, crate::report::epoch_ms());
    let frame = serde_json::json!({
        "action": "send", "to": peer, "client_msg_id": client_msg_id, "body": BODY,
    })
    .to_string();
    frames.count(frame.len());
    client.sink.lock().await.send(Message::text(frame)).await?;
    let answer = tokio::time::timeout(PATIENCE, client.acks.lock().await.recv())
        .await
        .context("no ack within a minute")?
        .context("the socket closed before the ack")?;
    if event_of(&answer).is_none_or(|e| e.kind != "ack") {
        bail!("client {} got {answer} instead of an ack", client.index);
    }
    Ok(())
}

/// Waits until the stream consumer has handled what the sends wrote (its invocation count
/// stops moving), so each phase is charged its own stream batches.
async fn settle(invocations: &InvocationMeter) {
    let stream_batches = || {
        invocations
            .snapshot()
            .get("stream")
            .map_or(0, |t| t.invocations)
    };
    let mut last = stream_batches();
    let mut quiet = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = stream_batches();
        quiet = if now == last { quiet + 1 } else { 0 };
        last = now;
        if quiet >= 4 {
            return;
        }
    }
}
