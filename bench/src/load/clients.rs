//! The load generator: `N` WebSocket clients in pairs (client `2k` talks to `2k+1`), each a
//! writer task that sends on the step's schedule and a reader task that times what comes back.
//!
//! The writer and reader of a socket are separate tasks (the axum chat example's split) so a
//! send that waits on a full socket never stops the client from reading: a server closes a
//! connection that stops reading, and that would be the bench's fault, not the server's.
//!
//! Timing needs no map: the `client_msg_id` is `<step>-<k>-<micros>`, the send instant in
//! microseconds since the run's base instant, and both the `ack` and the peer's `message` echo
//! it. Sends are open-loop: a writer that falls behind catches up rather than slowing the
//! offered load, and how far behind it fell is reported as the send lag.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt, TryStreamExt};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::schedule::Step;
use super::tally::{Mark, ReaderReport, Report, StepTally, Tally, WriterReport};
use crate::ws::{Socket, user};

type Sink = futures_util::stream::SplitSink<Socket, Message>;
type Stream = futures_util::stream::SplitStream<Socket>;

/// Token requests and WebSocket handshakes in flight while a fleet connects.
const CONNECT_CONCURRENCY: usize = 64;
/// How long one client may take to get its token and connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long after a step's deadline the controller waits for reports from stuck tasks.
const REPORT_GRACE: Duration = Duration::from_secs(5);
/// Every message's body: a typical short chat line (the timing is in `client_msg_id`).
const BODY: &str = "load test: the quick brown fox jumps over the lazy dog 0123456789";

/// Where a fleet connects: chat-local or the bare relay (same routes, same frames).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `http://host:port`, for `POST /dev/token`.
    pub http: String,
    /// `ws://host:port/local`.
    pub ws: String,
}

/// Counters shared by every task of a fleet, for what arrives outside any step's tally.
#[derive(Debug, Default)]
pub struct Shared {
    /// `error` frames received (a send the server refused).
    pub error_frames: AtomicU64,
    /// The first `error` frame, to show what went wrong.
    pub first_error: std::sync::Mutex<Option<String>>,
    /// Sockets that closed under a client.
    pub closed: AtomicU64,
    /// Frames of an earlier step that arrived after its report (late or duplicated).
    pub stale: AtomicU64,
    /// Frames after their step's report that the tally had already seen: duplicates.
    pub late_duplicates: AtomicU64,
    /// Frames after their step's deadline that were the first of their kind: late, not lost.
    pub late_arrivals: AtomicU64,
}

/// `clients` connected clients, driven one step at a time.
pub struct Fleet {
    clients: u32,
    steps: watch::Sender<Option<Arc<Step>>>,
    reports: mpsc::UnboundedReceiver<Report>,
    pub shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Gets a dev token for users `u0 … u{clients-1}` and connects each once (device `bench`).
    /// `base` is the instant send times are counted from.
    pub async fn connect(
        endpoint: &Endpoint,
        clients: u32,
        base: Instant,
    ) -> anyhow::Result<Fleet> {
        let http = reqwest::Client::new();
        let sockets: Vec<Socket> = futures_util::stream::iter(0..clients)
            .map(|index| {
                let http = http.clone();
                async move {
                    tokio::time::timeout(CONNECT_TIMEOUT, connect_one(&http, endpoint, index))
                        .await
                        .with_context(|| format!("client {index}: connecting timed out"))?
                        .with_context(|| format!("client {index}: connecting to {}", endpoint.ws))
                }
            })
            .buffered(CONNECT_CONCURRENCY)
            .try_collect()
            .await?;

        let (steps, _) = watch::channel(None);
        let (report_tx, reports) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        let mut tasks = Vec::with_capacity(sockets.len() * 2);
        for (index, socket) in (0..clients).zip(sockets) {
            let (sink, stream) = socket.split();
            let client = Client {
                index,
                base,
                reports: report_tx.clone(),
                shared: shared.clone(),
            };
            tasks.push(tokio::spawn(
                client.clone().write_loop(sink, steps.subscribe()),
            ));
            tasks.push(tokio::spawn(client.read_loop(stream, steps.subscribe())));
        }
        Ok(Fleet {
            clients,
            steps,
            reports,
            shared,
            tasks,
        })
    }

    /// Announces `step` to every client; they send from `step.start` on.
    pub fn begin(&self, step: Arc<Step>) {
        self.steps.send_replace(Some(step));
    }

    /// Merges the clients' reports of `step`. Returns once every client has reported (or the
    /// step's deadline and a grace period have passed).
    pub async fn collect(&mut self, step: &Step) -> anyhow::Result<StepTally> {
        let mut tally = StepTally::new(step)?;
        let give_up = step.deadline + REPORT_GRACE;
        let (mut readers, mut writers) = (0, 0);
        while readers < self.clients || writers < self.clients {
            match tokio::time::timeout_at(give_up, self.reports.recv()).await {
                Ok(Some(Report::Reader(report))) if report.step == step.id => {
                    readers += 1;
                    tally.add_reader(report);
                }
                Ok(Some(Report::Writer(report))) if report.step == step.id => {
                    writers += 1;
                    tally.add_writer(report);
                }
                Ok(Some(_)) => {} // a straggler from an earlier step
                Ok(None) | Err(_) => break,
            }
        }
        tally.missing_reports = u64::from(2 * self.clients - readers - writers);
        Ok(tally)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn connect_one(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    index: u32,
) -> anyhow::Result<Socket> {
    crate::ws::connect(http, &endpoint.http, &endpoint.ws, index).await
}

/// What the two tasks of one client share.
#[derive(Clone)]
struct Client {
    index: u32,
    base: Instant,
    reports: mpsc::UnboundedSender<Report>,
    shared: Arc<Shared>,
}

impl Client {
    /// Sends this client's messages of each step at their scheduled times.
    async fn write_loop(self, mut sink: Sink, mut steps: watch::Receiver<Option<Arc<Step>>>) {
        let peer = user(self.index ^ 1);
        let mut open = true;
        while steps.changed().await.is_ok() {
            let Some(step) = steps.borrow_and_update().clone() else {
                continue;
            };
            let sends = step.sends(self.index);
            let mut report = WriterReport {
                step: step.id,
                lag_us: Vec::with_capacity(sends as usize),
                failed: 0,
            };
            for k in 0..sends {
                if !open {
                    report.failed = sends - k;
                    break;
                }
                let scheduled = step.send_at(self.index, k);
                tokio::time::sleep_until(scheduled).await;
                let now = Instant::now();
                report.lag_us.push(micros(now - scheduled));
                let frame = format!(
                    r#"{{"action":"send","to":"{peer}","client_msg_id":"{}-{k}-{}","body":"{BODY}"}}"#,
                    step.id,
                    (now - self.base).as_micros()
                );
                if sink.send(Message::text(frame)).await.is_err() {
                    open = false;
                    report.failed = sends - k;
                }
            }
            if self.reports.send(Report::Writer(report)).is_err() {
                return;
            }
        }
    }

    /// Reads acks and messages, tallying each against the step it belongs to; reports a step
    /// once everything expected has arrived, or at its deadline.
    async fn read_loop(self, mut stream: Stream, mut steps: watch::Receiver<Option<Arc<Step>>>) {
        let mut tally: Option<Tally> = None;
        let mut open = true;
        loop {
            let deadline = tally
                .as_ref()
                .filter(|t| !t.reported)
                .map(|t| t.step.deadline);
            tokio::select! {
                changed = steps.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if let Some(step) = steps.borrow_and_update().clone() {
                        self.switch(&mut tally, step);
                    }
                }
                frame = stream.next(), if open => match frame {
                    Some(Ok(Message::Text(text))) => {
                        self.on_text(text.as_str(), &mut tally, &mut steps);
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => {
                        open = false;
                        self.shared.closed.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Ok(_)) => {}
                },
                () = sleep_until_opt(deadline), if deadline.is_some() => {
                    if let Some(t) = tally.as_mut() {
                        self.report(t);
                    }
                }
            }
            if let Some(t) = tally.as_mut().filter(|t| !t.reported) {
                // Complete, or nothing more can come: report now.
                if t.complete() || !open {
                    self.report(t);
                }
            }
        }
    }

    /// Starts tallying `step`, reporting the previous one first if it was still open.
    fn switch(&self, tally: &mut Option<Tally>, step: Arc<Step>) {
        if let Some(previous) = tally.as_mut().filter(|t| !t.reported) {
            self.report(previous);
        }
        let acks = step.sends(self.index);
        let messages = step.sends(self.index ^ 1);
        *tally = Some(Tally::new(step, acks, messages));
    }

    fn on_text(
        &self,
        text: &str,
        tally: &mut Option<Tally>,
        steps: &mut watch::Receiver<Option<Arc<Step>>>,
    ) {
        let received = Instant::now();
        let Ok(event) = serde_json::from_str::<Event<'_>>(text) else {
            return;
        };
        let is_ack = match event.kind.as_ref() {
            "ack" => true,
            "message" => false,
            "error" => {
                self.shared.error_frames.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.shared.first_error.lock() {
                    first.get_or_insert_with(|| text.to_string());
                }
                return;
            }
            _ => return,
        };
        let Some((step_id, k, sent_us)) = event.client_msg_id.as_deref().and_then(parse_id) else {
            return;
        };
        // The watch may announce a step after its first frames arrive: catch up with it.
        if tally.as_ref().is_none_or(|t| t.step.id < step_id) {
            let latest = steps.borrow_and_update().clone();
            if let Some(step) = latest.filter(|s| s.id == step_id) {
                self.switch(tally, step);
            }
        }
        let Some(t) = tally.as_mut().filter(|t| t.step.id == step_id) else {
            self.shared.stale.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let sent = self.base + Duration::from_micros(sent_us);
        let latency = micros(received.saturating_duration_since(sent));
        let reported = t.reported;
        match t.mark(is_ack, k, latency, received) {
            Mark::Duplicate if reported => {
                self.shared.late_duplicates.fetch_add(1, Ordering::Relaxed);
            }
            Mark::New if reported => {
                self.shared.late_arrivals.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    fn report(&self, tally: &mut Tally) {
        tally.reported = true;
        let _ = self.reports.send(Report::Reader(ReaderReport::take(tally)));
    }
}

/// The parts of a server event the bench reads.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    client_msg_id: Option<Cow<'a, str>>,
}

/// Parses `<step>-<k>-<micros>`.
fn parse_id(id: &str) -> Option<(u32, u64, u64)> {
    let mut parts = id.splitn(3, '-');
    let step = parts.next()?.parse().ok()?;
    let k = parts.next()?.parse().ok()?;
    let sent_us = parts.next()?.parse().ok()?;
    Some((step, k, sent_us))
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_msg_ids_carry_step_index_and_send_time() {
        assert_eq!(parse_id("7-12-123456"), Some((7, 12, 123_456)));
        assert_eq!(parse_id("hello-1"), None);
    }
}
