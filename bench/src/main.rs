//! `chat-bench`: one subcommand per scenario. Every figure is printed next to a reference
//! measured in the same run on the same machine (these machines are shared and noisy), and
//! `--json PATH` writes them all. Benchmarks print; they never assert.

mod coldstart;
mod cost;
mod fanout;
mod load;
mod procfs;
mod report;
mod rlimit;
mod sink;
mod ws;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "chat-bench",
    about = "Speed and cost figures, each next to a same-run reference"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Pairs of WebSocket clients against chat-local (embedded store) and a bare relay.
    Load(load::LoadArgs),
    /// AWS requests, units and dollars per 1:1 message: ours (chat-local --backend aws on
    /// moto) against scan-all broadcast and inbox fan-out.
    Cost(cost::CostArgs),
    /// Every Lambda binary's size, init time, first answer and RSS against a hello-world.
    Coldstart(coldstart::ColdstartArgs),
    /// A group message to 100, 1,000 and 10,000 online members on chat-local: ack → last
    /// member's device, against one connection query per member.
    Fanout(fanout::FanoutArgs),
    /// (internal, run by `load`) The bare relay, as a child process.
    #[command(hide = true)]
    ServeRelay(load::RelayArgs),
    /// (internal, run by `load`) chat-local's server, when no chat-local binary is found.
    #[command(hide = true)]
    ServeLocal(Box<chat_local::Config>),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The cost scenario hosts chat-local in this process: its logs, when asked for.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    match Cli::parse().scenario {
        Scenario::Load(args) => load::run(args).await,
        Scenario::Coldstart(args) => coldstart::run(args).await,
        Scenario::Cost(args) => cost::run(args).await,
        Scenario::Fanout(args) => fanout::run(args).await,
        Scenario::ServeRelay(args) => load::serve_relay(args).await,
        Scenario::ServeLocal(config) => load::serve_local(*config).await,
    }
}
