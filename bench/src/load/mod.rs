//! `chat-bench load`: pairs of WebSocket clients sending to each other at a fixed rate, on
//! `chat-local` (embedded store, durability on) and, in the same run and with the same clients
//! and frames, on a bare relay built into the bench: the ceiling of this machine. The offered
//! load ramps up in steps until p99 send→receive passes the knee threshold (50 ms) on each.
//!
//! - `schedule.rs`: who sends when in a step; `clients.rs`: the clients; `tally.rs`: counting
//!   what came back; `target.rs`: one server and its clients, a measured step; `server.rs`:
//!   the servers as child processes and `/proc` sampling; `relay.rs`: the bare relay;
//!   `fsync.rs`: this machine's fsync rate; `figures.rs`: the report.
//!
//! This file holds the options and the ramp. See `docs/performance.md` for how to run it and
//! what it found.
//!
//! Benchmarks print figures; only correctness (nothing lost, nothing duplicated) decides the
//! exit status.

pub(crate) mod clients;
mod figures;
mod fsync;
mod relay;
mod schedule;
pub(crate) mod server;
mod tally;
mod target;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::time::Instant;

pub use relay::{RelayArgs, serve as serve_relay};
pub use server::serve_local;

use figures::LoadReport;
use server::ChildServer;
use target::{Target, Timing};

use crate::report::{self, Machine};

/// The ramp when neither `--rate` nor `--ramp` is given (total msg/s).
const DEFAULT_RAMP: &str = "500,1000,2000,5000,10000,20000,40000,80000";

#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Clients, in pairs: client 2k and 2k+1 send to each other (even, 2 to 10,000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(2..=10_000))]
    clients: u32,

    /// One step at this offered load instead of a ramp: messages per second in TOTAL, across
    /// all clients together (each client sends rate/clients per second).
    #[arg(long, conflicts_with = "ramp")]
    rate: Option<f64>,

    /// The ramp of offered loads, total msg/s across all clients, run in order until p99
    /// send→receive passes --knee-ms on both targets.
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_RAMP)]
    ramp: Vec<f64>,

    /// Seconds each step sends for.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,

    /// The p99 send→receive (ms) past which a step counts as past the knee.
    #[arg(long, default_value_t = 50.0)]
    knee_ms: f64,

    /// Seconds of 4 KiB write + fdatasync to measure this machine's fsync rate.
    #[arg(long, default_value_t = 2.0)]
    fsync_seconds: f64,

    /// Run the relay with Nagle's algorithm on (no TCP_NODELAY), as chat-local's server runs
    /// today, to see what that alone costs.
    #[arg(long)]
    relay_nagle: bool,

    /// The chat-local binary (default: the one next to this executable).
    #[arg(long)]
    server_bin: Option<PathBuf>,

    /// Write every figure as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,

    /// A correctness smoke in seconds: 4 clients, one 2 s step at 40 msg/s, a 0.2 s fsync
    /// probe (overrides the load options). Still exits non-zero on a lost or duplicated
    /// message; timings are printed, never judged.
    #[arg(long)]
    smoke: bool,
}

/// The load options, resolved.
struct Plan {
    clients: u32,
    rates: Vec<f64>,
    timing: Timing,
    knee_ms: f64,
    fsync: Duration,
}

impl Plan {
    fn new(args: &LoadArgs) -> anyhow::Result<Plan> {
        if args.smoke {
            return Ok(Plan {
                clients: 4,
                rates: vec![40.0],
                timing: Timing {
                    duration: Duration::from_secs(2),
                    drain: Duration::from_secs(30),
                },
                knee_ms: args.knee_ms,
                fsync: Duration::from_millis(200),
            });
        }
        if !args.clients.is_multiple_of(2) {
            bail!("--clients must be even: clients talk in pairs");
        }
        let rates = args
            .rate
            .map_or_else(|| args.ramp.clone(), |rate| vec![rate]);
        if rates.is_empty() || rates.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
            bail!("rates must be positive numbers of messages per second");
        }
        if !(args.duration.is_finite() && args.duration > 0.0) {
            bail!("--duration must be a positive number of seconds");
        }
        if !(args.fsync_seconds.is_finite() && args.fsync_seconds > 0.0) {
            bail!("--fsync-seconds must be a positive number of seconds");
        }
        let duration = Duration::from_secs_f64(args.duration);
        Ok(Plan {
            clients: args.clients,
            rates,
            timing: Timing {
                duration,
                // Past the knee a backlog builds: with steps at most ~2.5× apart it drains
                // within ~1.5 step durations; what is still missing after this is counted lost.
                drain: (3 * duration).max(Duration::from_secs(30)),
            },
            knee_ms: args.knee_ms,
            fsync: Duration::from_secs_f64(args.fsync_seconds),
        })
    }
}

pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let plan = Plan::new(&args)?;
    let started_at = report::now();
    let machine = Machine::read();
    // A socket per client here and one in the server, plus files and the HTTP pool; both
    // fleets at once when the limit allows.
    let one_fleet = u64::from(plan.clients) + 256;
    let both_fleets = 2 * u64::from(plan.clients) + 256;
    let open_file_limit = crate::rlimit::raise_open_files(one_fleet, both_fleets)?;
    let interleaved = open_file_limit >= both_fleets;
    println!(
        "chat-bench load: {} clients in {} pairs; offered load {} msg/s in total (all clients \
         together), {} s per step; knee at p99 send→receive > {} ms",
        plan.clients,
        plan.clients / 2,
        plan.rates
            .iter()
            .map(|r| report::int(*r))
            .collect::<Vec<_>>()
            .join(", "),
        plan.timing.duration.as_secs_f64(),
        plan.knee_ms
    );
    println!("machine: {machine}; open-file limit {open_file_limit}; {started_at}");

    let root = tempfile::Builder::new()
        .prefix("chat-bench-load-")
        .tempdir()
        .context("creating a temporary directory")?;
    let fsync = {
        let dir = root.path().to_path_buf();
        let seconds = plan.fsync;
        tokio::task::spawn_blocking(move || fsync::measure(&dir, seconds)).await??
    };
    println!(
        "fsync: {} per second on {}",
        report::int(fsync.per_second),
        fsync.dir
    );

    let base = Instant::now();
    let mut targets = Vec::new();
    for server in [
        ChildServer::start_relay(args.relay_nagle).await?,
        // The relay limits nobody, and a simulated client sends up to 20 messages a second at
        // the top step: the per-user send limit (10 a second by default) is off here.
        ChildServer::start_local_with(
            args.server_bin.as_deref(),
            &root.path().join("data"),
            &["--send-burst", "0"],
        )
        .await?,
    ] {
        println!("{:<10}  {}", server.info.name, server.info.command);
        targets.push(Target::new(server, plan.clients));
    }
    // Both at once, a step of each at every rate, so that both see the same machine; one after
    // the other when the open-file limit holds one fleet only.
    let groups: Vec<Vec<usize>> = if interleaved {
        vec![vec![0, 1]]
    } else {
        println!(
            "the open-file limit holds one fleet at a time: the relay's ramp runs first, then \
             chat-local's"
        );
        vec![vec![0], vec![1]]
    };

    let table = figures::table();
    let mut steps = Vec::new();
    let mut next_id = 1;
    for (n, group) in groups.iter().enumerate() {
        for &i in group {
            targets[i].connect(base).await?;
            // Warm-up: every client sends once (a one-second window at one message per client
            // per second) and so opens every conversation; not in the table.
            let warm_up = Timing {
                duration: Duration::from_secs(1),
                ..plan.timing
            };
            targets[i]
                .step(&warm_up, f64::from(plan.clients), next_id, &fsync)
                .await?;
            next_id += 1;
        }
        if n == 0 {
            println!(
                "\nlatencies in ms; offered/s, delivered/s: messages per second, all clients \
                 together"
            );
            println!("{}", table.header());
        }
        for &rate in &plan.rates {
            for &i in group {
                let target = &mut targets[i];
                if !target.running() {
                    continue;
                }
                let figures = target.step(&plan.timing, rate, next_id, &fsync).await?;
                next_id += 1;
                println!("{}", table.line(&figures::row(&figures)));
                if figures.past_knee(plan.knee_ms) {
                    target.finish().await;
                }
                steps.push(figures);
            }
            if group.iter().all(|&i| !targets[i].running()) {
                break;
            }
        }
        for &i in group {
            targets[i].finish().await;
        }
    }
    let servers = targets.iter().map(|t| t.info.clone()).collect();
    let correctness = targets.into_iter().map(|t| t.correctness).collect();
    let mut load = LoadReport {
        scenario: "load",
        started_at,
        command: report::command_line(),
        machine,
        clients: plan.clients,
        rate_unit: "messages per second, all clients together",
        step_seconds: plan.timing.duration.as_secs_f64(),
        knee_ms: plan.knee_ms,
        open_file_limit,
        servers,
        fsync,
        steps,
        chat_local: Default::default(),
        relay: Default::default(),
        throughput_ratio: None,
        ratios: Vec::new(),
        acked_per_fsync_at_best: None,
        goals: Vec::new(),
        correctness,
    };
    load.summarize();
    load.print_summary();
    if let Some(path) = &args.json {
        report::write_json(path, &load)?;
        println!("\nfigures written to {}", path.display());
    }
    if let Some(bad) = load.correctness.iter().find(|c| !c.ok()) {
        bail!(
            "{}: {} lost, {} duplicated, {} error frames: delivery is broken",
            bad.target,
            bad.lost,
            bad.duplicated,
            bad.error_frames
        );
    }
    Ok(())
}
