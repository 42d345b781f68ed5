//! `chat-bench cost`: what a 1:1 message, a group message and a group receipt cost on AWS,
//! ours next to baselines run in the same invocation on the same emulator with the same users
//! and messages.
//!
//! Ours runs through `chat-local --backend aws` (`ours.rs` 1:1, `group.rs` a group, both on
//! `harness.rs`); the baselines are real code (`baselines/`). Every AWS request is counted by one SDK interceptor
//! (`chat_aws::metering`), DynamoDB units are computed from the real item sizes by AWS's rules
//! (never from moto's hard-coded `ConsumedCapacity`), API Gateway messages are counted in
//! 32 KB units, Lambda invocations are timed where they run and billed per started
//! millisecond at the template's memory size. `pricing.rs` turns that into dollars.
//!
//! Figures are per message over the steady state (each conversation already open); the cost
//! of a connection is printed apart. See `docs/performance.md`.

mod baselines;
mod group;
mod harness;
mod ours;
mod pricing;

use std::path::PathBuf;

use anyhow::bail;
use serde::Serialize;

use crate::report::{self, Machine, Table};
use baselines::{Design, Sink};
use group::{GroupPhases, GroupShape};
use pricing::{Measured, PerMessage, Prices};

/// Every message's body: a typical short chat line (91 bytes).
pub(crate) const BODY: &str =
    "On my way, running ten minutes late: the train stopped at the bridge. Order for me? Thanks!";

#[derive(Debug, Clone, clap::Args)]
pub struct CostArgs {
    /// Connected users M, in pairs (each even, at least 2); one run per value.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    users: Vec<u32>,

    /// Messages each user sends its peer in the measured phase (after one that opens the
    /// conversation).
    #[arg(long, default_value_t = 1)]
    messages_per_user: u32,

    /// Messages each baseline carries (at most users × messages-per-user). Scan-all posts
    /// every message to every user, so its per-message figures need few.
    #[arg(long, default_value_t = 50)]
    baseline_messages: u64,

    /// How many messages a connected user sends per minute: the API Gateway
    /// connection-minutes each message carries (1 / this), the same for every design.
    #[arg(long, default_value_t = 1.0)]
    messages_per_user_minute: f64,

    /// Which scenarios to run: `direct` (1:1, at each --users) and `group` (one group message
    /// and one receipt).
    #[arg(long, value_delimiter = ',', default_value = "direct,group")]
    scenarios: Vec<Scenario>,

    /// The group's members (its creator among them).
    #[arg(long, default_value_t = 1000)]
    group_members: u32,

    /// Of them, how many are online (one device each); the rest are offline.
    #[arg(long, default_value_t = 50)]
    group_online: u32,

    /// Group messages measured (up to 5 online members send them in turn); each other online
    /// member then sends one `read` receipt covering all of them.
    #[arg(long, default_value_t = 10)]
    group_messages: u32,

    /// The AWS endpoint (moto). `./scripts/bench cost` starts one.
    #[arg(long, env = "MOTO_ENDPOINT")]
    aws_endpoint: Option<String>,

    /// Write every figure to this file.
    #[arg(long)]
    json: Option<PathBuf>,

    /// Seconds: 4 users, one message each, every design. Checks that the scenario runs.
    #[arg(long)]
    smoke: bool,
}

/// A design's figures: one connection, and the steady-state messages.
#[derive(Debug, Clone, Serialize)]
pub struct Phases {
    pub connect: Measured,
    pub steady: Measured,
}

#[derive(Serialize)]
struct DesignReport {
    design: &'static str,
    users: u32,
    phases: Phases,
    per_message: PerMessage,
    per_connection: PerMessage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    Direct,
    Group,
}

/// A design's group figures, each per one of its kind (group creation, message, receipt).
#[derive(Serialize)]
struct GroupReport {
    design: &'static str,
    shape: GroupShape,
    phases: GroupPhases,
    per_creation: PerMessage,
    per_message: PerMessage,
    per_receipt: PerMessage,
}

/// What a group's figures are per.
#[derive(Debug, Clone, Copy)]
enum GroupFigure {
    Message,
    Receipt,
    Creation,
}

impl GroupFigure {
    const ALL: [GroupFigure; 3] = [
        GroupFigure::Message,
        GroupFigure::Receipt,
        GroupFigure::Creation,
    ];

    fn name(self) -> &'static str {
        match self {
            GroupFigure::Message => "group message",
            GroupFigure::Receipt => "receipt",
            GroupFigure::Creation => "group creation",
        }
    }
}

impl GroupReport {
    fn of(&self, figure: GroupFigure) -> (&Measured, &PerMessage) {
        match figure {
            GroupFigure::Message => (&self.phases.message, &self.per_message),
            GroupFigure::Receipt => (&self.phases.receipt, &self.per_receipt),
            GroupFigure::Creation => (&self.phases.create, &self.per_creation),
        }
    }

    /// Connection-minutes are left out here: they are the same for every design and priced
    /// in the 1:1 table.
    fn new(design: &'static str, shape: GroupShape, phases: GroupPhases) -> GroupReport {
        GroupReport {
            design,
            shape,
            per_creation: phases.create.per_message(0.0),
            per_message: phases.message.per_message(0.0),
            per_receipt: phases.receipt.per_message(0.0),
            phases,
        }
    }
}

#[derive(Serialize)]
struct CostReport {
    started: String,
    command: String,
    machine: Machine,
    prices: &'static str,
    connection_minutes_per_message: f64,
    runs: Vec<DesignReport>,
    groups: Vec<GroupReport>,
}

pub async fn run(mut args: CostArgs) -> anyhow::Result<()> {
    if args.smoke {
        args.users = vec![4];
        args.messages_per_user = 1;
        args.baseline_messages = 4;
        args.group_members = 8;
        args.group_online = 4;
        args.group_messages = 2;
    }
    let Some(endpoint) = args.aws_endpoint.clone() else {
        bail!(
            "cost: no --aws-endpoint/MOTO_ENDPOINT; `./scripts/bench cost` starts moto and runs this"
        );
    };
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() && std::env::var_os("AWS_PROFILE").is_none()
    {
        bail!(
            "cost: no AWS credentials in the environment; for moto any will do: \
             AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1"
        );
    }
    if args.messages_per_user_minute.is_nan() || args.messages_per_user_minute <= 0.0 {
        bail!("cost: --messages-per-user-minute must be above 0");
    }
    if args.group_online < 2 || args.group_online > args.group_members || args.group_messages == 0 {
        bail!(
            "cost: --group-online must be from 2 (a sender and a reader) to --group-members, \
             --group-messages at least 1"
        );
    }
    if let Some(odd) = args.users.iter().find(|&&m| m < 2 || m % 2 == 1) {
        bail!("cost: --users {odd}: users talk in pairs, so M must be even and at least 2");
    }
    let started = report::now();
    let machine = Machine::read();
    let connection_minutes = 1.0 / args.messages_per_user_minute;
    println!("chat-bench cost on {machine}, AWS endpoint {endpoint}");
    println!("prices: {}", Prices::DATE);
    println!(
        "each user sends {} msg/min: {connection_minutes} connection-minute per message\n",
        args.messages_per_user_minute
    );
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .load()
        .await;
    let sink = Sink::start().await?;
    let mut runs = Vec::new();
    let direct_users = if args.scenarios.contains(&Scenario::Direct) {
        args.users.clone()
    } else {
        Vec::new()
    };
    for &users in &direct_users {
        let phases = ours::run(&endpoint, users, args.messages_per_user).await?;
        runs.push(report_of("ours", users, phases, connection_minutes));
        let messages = args
            .baseline_messages
            .min(u64::from(users) * u64::from(args.messages_per_user));
        for design in [Design::ScanAll, Design::Inbox] {
            let phases = baselines::run(design, &sdk, &sink, users, messages).await?;
            runs.push(report_of(design.name(), users, phases, connection_minutes));
        }
        print_users(users, &runs[runs.len() - 3..]);
    }
    if !runs.is_empty() {
        print_targets(&runs);
    }
    let mut groups = Vec::new();
    if args.scenarios.contains(&Scenario::Group) {
        let shape = GroupShape {
            members: args.group_members,
            online: args.group_online,
            messages: args.group_messages,
        };
        groups.push(GroupReport::new(
            "ours",
            shape,
            group::run(&endpoint, shape).await?,
        ));
        groups.push(GroupReport::new(
            Design::Inbox.name(),
            shape,
            baselines::run_group(&sdk, &sink, shape).await?,
        ));
        print_groups(shape, &groups);
    }
    if let Some(path) = &args.json {
        let report = CostReport {
            started,
            command: report::command_line(),
            machine,
            prices: Prices::DATE,
            connection_minutes_per_message: connection_minutes,
            runs,
            groups,
        };
        report::write_json(path, &report)?;
        println!("\nfigures written to {}", path.display());
    }
    Ok(())
}

fn report_of(design: &'static str, users: u32, phases: Phases, minutes: f64) -> DesignReport {
    DesignReport {
        design,
        users,
        per_message: phases.steady.per_message(minutes),
        per_connection: phases.connect.per_message(0.0),
        phases,
    }
}

/// The columns of every design table.
fn design_table(first: &'static str, width: usize) -> Table {
    Table::new(&[
        (first, width),
        ("count", 5),
        ("DDB req", 7),
        ("writes", 6),
        ("queries", 7),
        ("RRU", 7),
        ("WRU", 6),
        ("APIGW msgs", 10),
        ("λ inv", 5),
        ("λ GB-ms", 7),
        ("$ DDB", 6),
        ("$ APIGW", 8),
        ("$ λ", 6),
        ("$/M", 9),
        ("÷ ours", 8),
    ])
}

/// One design's line: `count` of what it carried, each figure per one of them.
fn design_line(table: &Table, name: &str, count: u64, p: &PerMessage, ours_total: f64) -> String {
    let d = &p.dollars_per_million;
    table.line(&[
        name.to_string(),
        report::int(count as f64),
        format!("{:.2}", p.dynamodb_requests),
        format!("{:.2}", p.dynamodb_write_requests),
        format!("{:.2}", p.dynamodb_queries),
        format!("{:.2}", p.read_units),
        format!("{:.2}", p.write_units),
        format!("{:.2}", p.api_gateway_messages),
        format!("{:.2}", p.lambda_invocations),
        format!("{:.2}", p.lambda_gb_seconds * 1000.0),
        format!("{:.2}", d.dynamodb),
        format!(
            "{:.2}",
            d.api_gateway_messages + d.api_gateway_connection_minutes
        ),
        format!("{:.2}", d.lambda),
        format!("{:.2}", d.total),
        report::ratio(d.total / ours_total),
    ])
}

/// `name r/n, …`: requests per counted item, by operation.
fn requests_per(measured: &Measured) -> String {
    let per_op: Vec<String> = measured
        .aws
        .operations
        .iter()
        .map(|(op, t)| {
            format!(
                "{op} {:.2}",
                t.requests as f64 / measured.messages.max(1) as f64
            )
        })
        .collect();
    per_op.join(", ")
}

fn print_users(users: u32, runs: &[DesignReport]) {
    println!("M = {users} connected users, per 1:1 message");
    let table = design_table("design", 18);
    println!("{}", table.header());
    let ours = runs[0].per_message.dollars_per_million.total;
    for run in runs {
        println!(
            "{}",
            design_line(
                &table,
                run.design,
                run.phases.steady.messages,
                &run.per_message,
                ours
            )
        );
    }
    let ours = &runs[0];
    println!(
        "ours, requests per message: {}",
        requests_per(&ours.phases.steady)
    );
    let lambda: Vec<String> = ours
        .phases
        .steady
        .lambda
        .iter()
        .map(|(f, t)| {
            format!(
                "{f} {} ({:.1} ms avg)",
                t.invocations,
                t.micros as f64 / 1000.0 / t.invocations.max(1) as f64
            )
        })
        .collect();
    println!("ours, Lambda invocations: {}", lambda.join(", "));
    let c = &ours.per_connection;
    println!(
        "ours, per connection ($connect): {:.2} DynamoDB requests, {:.2} WRU, {:.2} RRU, {:.2} invocations\n",
        c.dynamodb_requests, c.write_units, c.read_units, c.lambda_invocations
    );
}

fn print_groups(shape: GroupShape, groups: &[GroupReport]) {
    println!(
        "A group of {} members, {} online (one device each): {} messages from {} of them, then a read receipt from each of the other {}",
        report::int(f64::from(shape.members)),
        report::int(f64::from(shape.online)),
        shape.messages,
        shape.senders(),
        shape.readers().len()
    );
    println!("(connection-minutes left out: the same for every design, priced in the 1:1 table)");
    let table = design_table("design, per …", 29);
    println!("{}", table.header());
    for kind in GroupFigure::ALL {
        let ours = groups[0].of(kind).1.dollars_per_million.total;
        for group in groups {
            let (measured, per) = group.of(kind);
            let name = format!("{}, {}", group.design, kind.name());
            println!(
                "{}",
                design_line(&table, &name, measured.messages, per, ours)
            );
        }
    }
    for (design, group) in [("ours", &groups[0]), ("inbox", &groups[1])] {
        for kind in GroupFigure::ALL {
            println!(
                "{design}, requests per {}: {}",
                kind.name(),
                requests_per(group.of(kind).0)
            );
        }
    }
    println!();
}

/// The M the cost target is set at.
const TARGET_USERS: u32 = 1000;

fn print_targets(runs: &[DesignReport]) {
    println!("Targets (printed, never asserted):");
    for run in runs.iter().filter(|r| r.design == "ours") {
        let p = &run.per_message;
        println!(
            "  M = {:>5}: ours {:.2} DynamoDB write requests and {:.2} queries per message before the ack (target ≤ 2 and ≤ 1)",
            run.users, p.dynamodb_write_requests, p.dynamodb_queries
        );
    }
    let total = |design: &str| {
        runs.iter()
            .find(|r| r.users == TARGET_USERS && r.design == design)
            .map(|r| r.per_message.dollars_per_million.total)
    };
    match (total("ours"), total(Design::ScanAll.name())) {
        (Some(ours), Some(scan)) => {
            let verdict = if scan / ours >= 10.0 {
                "met"
            } else {
                "not met"
            };
            println!(
                "  scan-all ÷ ours at M = 1,000: {} (target ≥ 10×): {verdict}",
                report::ratio(scan / ours)
            );
        }
        _ => println!("  scan-all ÷ ours at M = 1,000 (target ≥ 10×): not measured in this run"),
    }
}
