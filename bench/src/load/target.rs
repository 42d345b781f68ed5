//! One server under load (chat-local or the relay) with its clients: connecting them, running
//! a measured step (latencies from the clients, CPU and peak RSS from `/proc`), and the
//! correctness counts once it is done.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::time::Instant;

use super::clients::Fleet;
use super::figures::{Correctness, Latency, StepFigures};
use super::fsync::FsyncFigures;
use super::schedule::Step;
use super::server::{ChildServer, ServerInfo};
use super::tally::StepTally;
use crate::procfs::{cpu_percent, cpu_sample, peak_rss_kib, rss_kib};

/// Between announcing a step and its first send: every client task sees it in time.
const LEAD: Duration = Duration::from_millis(200);

/// How every step of a run is timed.
pub struct Timing {
    /// The send window.
    pub duration: Duration,
    /// How long a step waits, after its send window, for what has not arrived yet.
    pub drain: Duration,
}

pub struct Target {
    pub name: &'static str,
    pub info: ServerInfo,
    pid: u32,
    clients: u32,
    /// `None` once the target is done (past its knee, or the ramp is over).
    server: Option<ChildServer>,
    /// Connected by [`Target::connect`], closed by [`Target::finish`].
    fleet: Option<Fleet>,
    pub correctness: Correctness,
}

impl Target {
    pub fn new(server: ChildServer, clients: u32) -> Target {
        let name = server.info.name;
        Target {
            name,
            info: server.info.clone(),
            pid: server.pid,
            clients,
            server: Some(server),
            fleet: None,
            correctness: Correctness {
                target: name,
                ..Correctness::default()
            },
        }
    }

    /// Connects the clients; `base` is the instant send times count from.
    pub async fn connect(&mut self, base: Instant) -> anyhow::Result<()> {
        let Some(server) = &self.server else {
            bail!("{} is no longer running", self.name);
        };
        let started = Instant::now();
        let clients = self.clients;
        let rss_before = rss_kib(Some(self.pid))?;
        let fleet = Fleet::connect(&server.endpoint, clients, base)
            .await
            .with_context(|| format!("connecting {clients} clients to {}", self.name))?;
        // Idle: connected, nothing sent yet (what each open socket holds).
        let rss_after = rss_kib(Some(self.pid))?;
        let per_connection = rss_after.saturating_sub(rss_before) as f64 / f64::from(clients);
        self.info.idle_kib_per_connection = Some(per_connection);
        println!(
            "{:<10}  {clients} clients connected in {:.1} s; RSS {} → {} KiB: {per_connection:.1} KiB per idle connection",
            self.name,
            started.elapsed().as_secs_f64(),
            rss_before,
            rss_after,
        );
        self.fleet = Some(fleet);
        Ok(())
    }

    pub fn running(&self) -> bool {
        self.server.is_some() && self.fleet.is_some()
    }

    /// Runs one step at `rate` msg/s in total and measures it.
    pub async fn step(
        &mut self,
        timing: &Timing,
        rate: f64,
        id: u32,
        fsync: &FsyncFigures,
    ) -> anyhow::Result<StepFigures> {
        let Some(fleet) = self.fleet.as_mut().filter(|_| self.server.is_some()) else {
            bail!("{} is not running", self.name);
        };
        let step = Step::new(
            id,
            self.clients,
            rate,
            timing.duration,
            Instant::now() + LEAD,
            timing.drain,
        );
        let step = std::sync::Arc::new(step);
        fleet.begin(step.clone());
        tokio::time::sleep_until(step.start).await;
        let (server_from, bench_from) = (cpu_sample(Some(self.pid))?, cpu_sample(None)?);
        let tally = fleet.collect(&step).await?;
        let (server_to, bench_to) = (cpu_sample(Some(self.pid))?, cpu_sample(None)?);
        let usage = Usage {
            server_cpu_percent: cpu_percent(server_from, server_to),
            server_peak_rss_kib: peak_rss_kib(Some(self.pid))?,
            bench_cpu_percent: cpu_percent(bench_from, bench_to),
        };
        let figures = figures_of(self.name, &step, &tally, &usage, fsync);
        self.correctness.add_step(&figures);
        Ok(figures)
    }

    /// Takes the clients' correctness counters, then stops the server and closes the clients
    /// (server first: it sees no disconnect storm, and the clients' closes are not counted).
    pub async fn finish(&mut self) {
        if let Some(fleet) = &self.fleet {
            let shared = &fleet.shared;
            let c = &mut self.correctness;
            c.duplicated += shared.late_duplicates.load(Ordering::Relaxed);
            c.late = shared.late_arrivals.load(Ordering::Relaxed);
            c.stale = shared.stale.load(Ordering::Relaxed);
            c.error_frames = shared.error_frames.load(Ordering::Relaxed);
            c.first_error = shared.first_error.lock().ok().and_then(|e| e.clone());
            c.closed_sockets = shared.closed.load(Ordering::Relaxed);
        }
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        self.fleet = None;
    }
}

/// What the processes used during a step.
struct Usage {
    server_cpu_percent: f64,
    server_peak_rss_kib: u64,
    bench_cpu_percent: f64,
}

fn figures_of(
    target: &'static str,
    step: &Step,
    tally: &StepTally,
    usage: &Usage,
    fsync: &FsyncFigures,
) -> StepFigures {
    let duration = step.duration().as_secs_f64();
    let wall = tally
        .last_event
        .map_or(0.0, |at| {
            at.saturating_duration_since(step.start).as_secs_f64()
        })
        .max(duration);
    let acked_per_s = tally.acked as f64 / wall;
    StepFigures {
        target,
        offered_per_s: step.rate,
        per_client_per_s: step.per_client_rate(),
        duration_s: duration,
        wall_s: wall,
        sent: tally.expected - tally.send_failures,
        acked: tally.acked,
        delivered: tally.delivered,
        acked_per_s,
        delivered_per_s: tally.delivered as f64 / wall,
        lost_acks: tally.lost_acks(),
        lost_messages: tally.lost_messages(),
        duplicate_acks: tally.duplicate_acks,
        duplicate_messages: tally.duplicate_messages,
        send_failures: tally.send_failures,
        unexpected_frames: tally.unexpected,
        missing_reports: tally.missing_reports,
        send_to_ack: Latency::of(&tally.ack),
        send_to_receive: Latency::of(&tally.receive),
        send_lag: Latency::of(&tally.lag),
        server_cpu_percent: usage.server_cpu_percent,
        server_peak_rss_mib: usage.server_peak_rss_kib as f64 / 1024.0,
        bench_cpu_percent: usage.bench_cpu_percent,
        acked_per_fsync: acked_per_s / fsync.per_second,
    }
}
