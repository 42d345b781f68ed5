//! `chat-bench fanout`: one group message in a group of N members, all online, on `chat-local`
//! (embedded store, its real binary as a child process), timed from the sender's `ack` and
//! from its `send` to the moment the last other member's device has it. Beside it, in the same run and with the same
//! clients, the naive baseline: the same server finding each page's online devices with one
//! connection query per member (`--naive-fanout-lookups`) instead of one request per page of
//! 100 (`connections_of_users`). On the embedded store both are SQLite reads on one machine;
//! on DynamoDB the same difference is 1 `BatchGetItem` against 100 `Query`s a page
//! (`docs/performance.md`, Fan-out).
//!
//! Every other member must receive every message exactly once, or the run fails; figures are
//! printed, never asserted.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::load::server::ChildServer;
use crate::report::{self, Machine, Table};
use crate::ws::{Socket, connect};

/// chat-local's default member cap (`--max-group-members`).
const MAX_MEMBERS: u32 = 10_000;

/// How long the last member may take to get a message before the run gives up.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    /// Group sizes to measure: members, the sender among them, every one online with one
    /// device (at most 10,000, the default member cap).
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    members: Vec<u32>,

    /// Messages timed per size and design (one at a time, each after the last arrived).
    #[arg(long, default_value_t = 5)]
    messages: u32,

    /// The chat-local binary (default: the one next to this executable).
    #[arg(long)]
    server_bin: Option<PathBuf>,

    /// Seconds: 20 members, 2 messages (what the README's test command runs).
    #[arg(long)]
    smoke: bool,

    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Which lookup the server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Design {
    /// One connection request per page of 100 members.
    Batched,
    /// One connection query per member.
    PerMember,
}

impl Design {
    fn name(self) -> &'static str {
        match self {
            Design::Batched => "batched",
            Design::PerMember => "per-member",
        }
    }

    fn flags(self) -> &'static [&'static str] {
        match self {
            Design::Batched => &[],
            Design::PerMember => &["--naive-fanout-lookups"],
        }
    }
}

/// One size and design.
#[derive(Debug, Clone, Serialize)]
struct Figures {
    members: u32,
    design: Design,
    /// Per message, in ms: the sender's `ack` to the last member's device.
    ack_to_last_ms: Vec<f64>,
    /// Per message, in ms: the `send` to the last member's device.
    send_to_last_ms: Vec<f64>,
}

impl Figures {
    fn median(values: &[f64]) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
    }

    fn max(values: &[f64]) -> f64 {
        values.iter().copied().fold(f64::NAN, f64::max)
    }
}

#[derive(Serialize)]
struct Report {
    started_at: String,
    machine: Machine,
    command: String,
    figures: Vec<Figures>,
}

/// What the members' sockets have had of each seq: how many, and when the last arrived.
#[derive(Default)]
struct Arrivals {
    by_seq: HashMap<u64, (u32, Instant)>,
}

pub async fn run(args: FanoutArgs) -> anyhow::Result<()> {
    let (sizes, messages) = if args.smoke {
        (vec![20], 2)
    } else {
        (args.members.clone(), args.messages)
    };
    if sizes.iter().any(|n| *n < 2 || *n > MAX_MEMBERS) || messages == 0 {
        bail!("--members takes sizes from 2 to {MAX_MEMBERS} and --messages at least 1");
    }
    let largest = u64::from(*sizes.iter().max().unwrap_or(&1));
    let limit = crate::rlimit::raise_open_files(largest + 256, 2 * largest + 256)?;
    let machine = Machine::read();
    let started_at = report::now();
    println!(
        "chat-bench fanout: a group message in a group of N members, all online, {messages} messages per size"
    );
    println!("machine: {machine}; open-file limit {limit}; {started_at}");
    let table = Table::new(&[
        ("members", 7),
        ("design", 10),
        ("ack→last p50 ms", 8),
        ("max ms", 8),
        ("send→last p50 ms", 8),
        ("max ms", 8),
        ("÷ batched", 9),
    ]);
    println!("{}", table.header());
    let mut figures = Vec::new();
    for &members in &sizes {
        let mut batched_median = f64::NAN;
        for design in [Design::Batched, Design::PerMember] {
            let measured = measure(&args, design, members, messages).await?;
            let median = Figures::median(&measured.send_to_last_ms);
            if design == Design::Batched {
                batched_median = median;
            }
            println!(
                "{}",
                table.line(&[
                    report::int(f64::from(members)),
                    design.name().to_string(),
                    report::ms(Figures::median(&measured.ack_to_last_ms)),
                    report::ms(Figures::max(&measured.ack_to_last_ms)),
                    report::ms(median),
                    report::ms(Figures::max(&measured.send_to_last_ms)),
                    report::ratio(median / batched_median),
                ])
            );
            figures.push(measured);
        }
    }
    if let Some(path) = &args.json {
        let report = Report {
            started_at,
            machine,
            command: report::command_line(),
            figures,
        };
        report::write_json(path, &report)?;
        println!("\nfigures written to {}", path.display());
    }
    Ok(())
}

/// One server, a group of `members` online members (the owner, who sends, and the others
/// it reaches); `messages` timed messages.
async fn measure(
    args: &FanoutArgs,
    design: Design,
    members: u32,
    messages: u32,
) -> anyhow::Result<Figures> {
    let receivers = members - 1;
    let dir = tempfile::Builder::new()
        .prefix("chat-bench-fanout-")
        .tempdir()
        .context("creating a temporary directory")?;
    let server = ChildServer::start_local_with(
        args.server_bin.as_deref(),
        &dir.path().join("data"),
        design.flags(),
    )
    .await?;
    let http = reqwest::Client::new();
    let endpoint = server.endpoint.clone();
    // Receiver n is user `u{n}`; the owner is one past the last.
    let sockets: Vec<Socket> = futures_util::stream::iter(0..receivers)
        .map(|n| connect(&http, &endpoint.http, &endpoint.ws, n))
        .buffered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let mut owner = connect(&http, &endpoint.http, &endpoint.ws, receivers).await?;
    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|socket| tokio::spawn(read_messages(socket, arrivals.clone())))
        .collect();

    let group = create_group(&http, &endpoint.http, receivers).await?;
    wait_for(&arrivals, 1, receivers).await?;
    let mut figures = Figures {
        members,
        design,
        ack_to_last_ms: Vec::new(),
        send_to_last_ms: Vec::new(),
    };
    for seq in 2..=u64::from(messages) + 1 {
        let frame = json!({ "action": "send", "conversation_id": group,
            "client_msg_id": format!("fan-{seq}"), "body": "to everyone" });
        let sent = Instant::now();
        owner.send(Message::text(frame.to_string())).await?;
        let acked = wait_for_ack(&mut owner).await?;
        let last = wait_for(&arrivals, seq, receivers).await?;
        let ms = |from: Instant| last.saturating_duration_since(from).as_secs_f64() * 1000.0;
        figures.ack_to_last_ms.push(ms(acked));
        figures.send_to_last_ms.push(ms(sent));
    }
    // One device per receiver: any count past them is a duplicate (a late one would have
    // arrived by now: delivery took milliseconds).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let doubled: Vec<(u64, u32)> = arrivals
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .by_seq
        .iter()
        .filter(|(_, (count, _))| *count != receivers)
        .map(|(seq, (count, _))| (*seq, *count))
        .collect();
    for reader in readers {
        reader.abort();
    }
    server.stop().await;
    if !doubled.is_empty() {
        bail!(
            "messages reached the {receivers} receivers other than once each (seq, count): {doubled:?}"
        );
    }
    Ok(figures)
}

/// The owner `u{receivers}` makes a group of itself and `u0` … `u{receivers - 1}`.
async fn create_group(
    http: &reqwest::Client,
    base: &str,
    receivers: u32,
) -> anyhow::Result<String> {
    let owner = crate::ws::user(receivers);
    let token = crate::ws::dev_token(http, base, &owner).await?;
    let ids: Vec<String> = (0..receivers).map(crate::ws::user).collect();
    let created: Value = http
        .post(format!("{base}/v1/conversations"))
        .bearer_auth(token)
        .json(&json!({ "name": "Fan-out", "members": ids }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    created["conversation_id"]
        .as_str()
        .map(str::to_string)
        .context("the new group's id")
}

/// Records every `message` a member's socket receives.
async fn read_messages(mut socket: Socket, arrivals: Arc<Mutex<Arrivals>>) {
    while let Some(Ok(frame)) = socket.next().await {
        let Message::Text(text) = frame else { continue };
        let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let (Some("message"), Some(seq)) = (event["type"].as_str(), event["seq"].as_u64()) else {
            continue;
        };
        let now = Instant::now();
        let mut arrivals = arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = arrivals.by_seq.entry(seq).or_insert((0, now));
        entry.0 += 1;
        entry.1 = now;
    }
}

/// Waits until every receiver has `seq`; answers when the last one got it.
async fn wait_for(arrivals: &Mutex<Arrivals>, seq: u64, receivers: u32) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    loop {
        {
            let arrivals = arrivals.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(&(count, last)) = arrivals.by_seq.get(&seq)
                && count >= receivers
            {
                return Ok(last);
            }
        }
        if Instant::now() > deadline {
            bail!("seq {seq} did not reach all {receivers} receivers within {DELIVERY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The owner's next `ack`.
async fn wait_for_ack(owner: &mut Socket) -> anyhow::Result<Instant> {
    while let Some(frame) = owner.next().await {
        if let Message::Text(text) = frame? {
            let event: Value = serde_json::from_str(text.as_str())?;
            match event["type"].as_str() {
                Some("ack") => return Ok(Instant::now()),
                Some("error") => bail!("the send was refused: {event}"),
                _ => {}
            }
        }
    }
    bail!("the owner's socket closed")
}
