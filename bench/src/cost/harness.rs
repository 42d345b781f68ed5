//! What our design's scenarios share: `chat-local --backend aws` hosted in this process (so
//! that the request meter rides on its SDK clients) on fresh tables of the emulator, the
//! WebSocket clients that talk to it, and the API Gateway message count of what they sent and
//! received.

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

use super::pricing::{DirectS3, Measured};
use crate::ws::{Socket, connect};

/// API Gateway meters WebSocket messages in 32 KB units.
const MESSAGE_UNIT: u64 = 32 * 1024;
/// How long an `ack` or a delivery may take before the run is called broken.
pub const PATIENCE: Duration = Duration::from_secs(60);
/// Clients connecting at once.
const CONNECTING: usize = 16;

/// chat-local on the emulator, metered.
pub struct MeteredServer {
    pub server: LocalServer,
    meter: RequestMeter,
    pub invocations: InvocationMeter,
    frames: Arc<Frames>,
    /// S3 requests the clients make themselves, and the URLs they were handed.
    direct_s3: DirectS3Counter,
    /// Its data directory (unused by the AWS backend's data, but the config wants one).
    _data_dir: tempfile::TempDir,
}

impl MeteredServer {
    /// Starts chat-local on `endpoint` with tables named after `scenario` (fresh every run).
    pub async fn start(endpoint: &str, scenario: &str) -> anyhow::Result<MeteredServer> {
        MeteredServer::start_with(endpoint, scenario, |_| {}).await
    }

    /// [`MeteredServer::start`] with settings of the scenario's own (`adjust`).
    pub async fn start_with(
        endpoint: &str,
        scenario: &str,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<MeteredServer> {
        let data_dir = tempfile::tempdir()?;
        let prefix = format!("{scenario}x{:08x}", rand_suffix());
        let mut config = Config::ephemeral(data_dir.path().to_path_buf());
        config.backend = Backend::Aws;
        config.aws_endpoint_url = Some(endpoint.to_string());
        config.table_prefix = prefix.clone();
        config.create_tables = true;
        // A bucket of the run's own (created with the tables), as the tables are.
        config.media_bucket = format!("{prefix}-media");
        // Last seen is written on `ping` (the keepalive), not on `send` or receipts, so the
        // activity write interval does not enter a message's price; pings are priced apart
        // from messages, as connection-minutes are.
        adjust(&mut config);
        let meter = RequestMeter::for_tables(&Tables::from_prefix(&prefix));
        let invocations = InvocationMeter::default();
        let instruments = Instruments {
            aws: Some(meter.clone()),
            invocations: Some(invocations.clone()),
        };
        let server = LocalServer::start_with(config, instruments)
            .await
            .context("starting chat-local --backend aws")?;
        Ok(MeteredServer {
            server,
            meter,
            invocations,
            frames: Arc::new(Frames::default()),
            direct_s3: DirectS3Counter::default(),
            _data_dir: data_dir,
        })
    }

    /// Counts S3 requests and presigned URLs outside the server's SDK clients.
    pub fn direct_s3(&self) -> &DirectS3Counter {
        &self.direct_s3
    }

    /// Invocations of `function` so far.
    pub fn invocations_of(&self, function: &str) -> u64 {
        self.invocations
            .snapshot()
            .get(function)
            .map_or(0, |t| t.invocations)
    }

    /// Everything counted so far.
    pub fn snapshot(&self) -> Measured {
        Measured {
            messages: 0,
            aws: self.meter.snapshot(),
            api_gateway_messages: self.frames.units.load(Ordering::Relaxed),
            lambda: self.invocations.snapshot(),
            s3_direct: self.direct_s3.snapshot(),
        }
    }

    pub fn http_base(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Connects the clients of `users` (one device each), a few at a time.
    pub async fn connect_all(
        &self,
        users: impl IntoIterator<Item = u32>,
    ) -> anyhow::Result<Vec<Arc<Client>>> {
        let http = reqwest::Client::new();
        let addr = self.server.addr();
        let gate = Arc::new(Semaphore::new(CONNECTING));
        let tasks = users.into_iter().map(|index| {
            let (http, gate, frames) = (http.clone(), gate.clone(), self.frames.clone());
            async move {
                let _permit = gate.acquire().await?;
                Client::connect(&http, addr, index, frames).await
            }
        });
        futures_util::stream::iter(tasks)
            .buffered(CONNECTING)
            .try_collect()
            .await
    }

    /// Waits until the stream consumer has handled what came before (its invocation count
    /// stops moving), so each phase is charged its own stream batches.
    pub async fn settle(&self) {
        let stream_batches = || self.invocations_of("stream");
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

    /// `client` sends `frame` (a `send`) and awaits its `ack`, then waits until the stream
    /// function handled the message: one stream invocation per message, as at sparse real
    /// traffic (back to back, a poll can find several records and bill one invocation).
    pub async fn send_one(&self, client: &Client, frame: serde_json::Value) -> anyhow::Result<()> {
        let before = self.invocations_of("stream");
        client.send_and_await_ack(frame).await?;
        wait_for(|| {
            (self.invocations_of("stream") <= before)
                .then(|| "the stream function never handled an acknowledged message".to_string())
        })
        .await
    }

    pub fn stop(&self) {
        self.server.stop();
    }
}

fn rand_suffix() -> u32 {
    (crate::report::epoch_ms() as u32).wrapping_mul(2_654_435_761)
}

/// What [`DirectS3`] counts, as it happens.
#[derive(Default)]
pub struct DirectS3Counter {
    device_puts: AtomicU64,
    device_gets: AtomicU64,
    presigned_puts: AtomicU64,
    presigned_gets: AtomicU64,
}

impl DirectS3Counter {
    /// A device PUT its bytes to a presigned URL.
    pub fn device_put(&self) {
        self.device_puts.fetch_add(1, Ordering::Relaxed);
    }

    /// A device GET a presigned URL.
    pub fn device_get(&self) {
        self.device_gets.fetch_add(1, Ordering::Relaxed);
    }

    /// The server handed out a presigned upload URL.
    pub fn presigned_put(&self) {
        self.presigned_puts.fetch_add(1, Ordering::Relaxed);
    }

    /// The server handed out a presigned download URL.
    pub fn presigned_get(&self) {
        self.presigned_gets.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> DirectS3 {
        DirectS3 {
            device_puts: self.device_puts.load(Ordering::Relaxed),
            device_gets: self.device_gets.load(Ordering::Relaxed),
            presigned_puts: self.presigned_puts.load(Ordering::Relaxed),
            presigned_gets: self.presigned_gets.load(Ordering::Relaxed),
        }
    }
}

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

/// One user's device.
pub struct Client {
    pub index: u32,
    sink: Mutex<SplitSink<Socket, Message>>,
    frames: Arc<Frames>,
    answers: Mutex<mpsc::UnboundedReceiver<String>>,
    /// The conversation and seq of each message this client received: a duplicate cannot
    /// stand in for a missing message.
    received: Arc<std::sync::Mutex<HashSet<(String, u64)>>>,
    /// `receipt` events received.
    receipts: Arc<AtomicU64>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    conversation_id: Option<String>,
    seq: Option<u64>,
}

fn event_of(text: &str) -> Option<Event> {
    serde_json::from_str(text).ok()
}

impl Client {
    async fn connect(
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
        let (answer_tx, answers) = mpsc::unbounded_channel();
        let received = Arc::new(std::sync::Mutex::new(HashSet::new()));
        let receipts = Arc::new(AtomicU64::new(0));
        let (counted, counted_receipts, inbound) =
            (received.clone(), receipts.clone(), frames.clone());
        tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                let Message::Text(text) = frame else { continue };
                inbound.count(text.len());
                let Some(event) = event_of(&text) else {
                    continue;
                };
                match event.kind.as_str() {
                    "ack" | "error" => {
                        let _ = answer_tx.send(text.to_string());
                    }
                    "message" => {
                        if let (Some(conversation), Some(seq), Ok(mut seen)) =
                            (event.conversation_id, event.seq, counted.lock())
                        {
                            seen.insert((conversation, seq));
                        }
                    }
                    "receipt" => {
                        counted_receipts.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        });
        Ok(Arc::new(Client {
            index,
            sink: Mutex::new(sink),
            frames,
            answers: Mutex::new(answers),
            received,
            receipts,
        }))
    }

    /// How many distinct messages arrived.
    pub fn received(&self) -> u64 {
        self.received.lock().map_or(0, |ids| ids.len() as u64)
    }

    pub fn receipts(&self) -> u64 {
        self.receipts.load(Ordering::Relaxed)
    }

    /// Sends `frame`, counted as one inbound API Gateway message.
    pub async fn send(&self, frame: serde_json::Value) -> anyhow::Result<()> {
        let text = frame.to_string();
        self.frames.count(text.len());
        self.sink.lock().await.send(Message::text(text)).await?;
        Ok(())
    }

    /// Sends a `send` frame and waits for its `ack`.
    pub async fn send_and_await_ack(&self, frame: serde_json::Value) -> anyhow::Result<()> {
        self.send(frame).await?;
        let answer = tokio::time::timeout(PATIENCE, self.answers.lock().await.recv())
            .await
            .context("no ack within a minute")?
            .context("the socket closed before the ack")?;
        if event_of(&answer).is_none_or(|e| e.kind != "ack") {
            bail!("client {} got {answer} instead of an ack", self.index);
        }
        Ok(())
    }
}

/// Polls `missing` until it answers `None` (nothing missing), or fails with what it last
/// answered after [`PATIENCE`].
pub async fn wait_for(mut missing: impl FnMut() -> Option<String>) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let Some(what) = missing() else {
            return Ok(());
        };
        if tokio::time::Instant::now() > deadline {
            bail!("{what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
