//! `chat-bench cost`: what a 1:1 message, a group message and a group receipt cost on AWS,
//! ours next to baselines run in the same invocation on the same emulator with the same users
//! and messages; and what a photo message and a push notification add to a text message
//! measured on the same server in the same run.
//!
//! Ours runs through `chat-local --backend aws` (`ours.rs` 1:1, `group.rs` a group,
//! `media.rs` photos, `push.rs` push notifications, all on `harness.rs`); the baselines are
//! real code (`baselines/`). Every AWS request is counted by one SDK interceptor
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
// The photos, also the `media` function's first upload in `coldstart`.
pub(crate) mod media;
mod ours;
// Each function's memory size, also what `coldstart` tells each function it has.
pub(crate) mod pricing;
mod push;

use std::path::PathBuf;

use anyhow::bail;
use serde::Serialize;

use crate::report::{self, Machine, Table};
use crate::sink::Sink;
use baselines::Design;
use group::{GroupPhases, GroupShape};
use media::MediaPhases;
use pricing::{Measured, PerMessage, Prices};
use push::PushPhases;

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

    /// Which scenarios to run: `direct` (1:1, at each --users), `group` (one group message
    /// and one receipt), `media` (a photo message against a text message) and `push` (a push
    /// notification to an offline device against a message to an offline user without one).
    #[arg(long, value_delimiter = ',', default_value = "direct,group,media,push")]
    scenarios: Vec<Scenario>,

    /// Photo messages measured in `media` (and text messages, its baseline).
    #[arg(long, default_value_t = 10)]
    media_messages: u32,

    /// Messages measured in `push`, to an offline user with a device and to one without.
    #[arg(long, default_value_t = 20)]
    push_messages: u32,

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
    Media,
    Push,
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

/// A photo message against a text message, same server, same pair, same run.
#[derive(Serialize)]
struct MediaReport {
    messages: u32,
    width: u32,
    height: u32,
    phases: MediaPhases,
    per_text_message: PerMessage,
    per_photo_message: PerMessage,
    /// `per_photo_message`'s dollars over `per_text_message`'s.
    photo_to_text_ratio: f64,
    /// Not in the totals: S3 storage of one photo and its thumbnail for a month, and the
    /// recipient's download of both out to the internet, per million photo messages.
    storage_dollars_per_million_per_month: f64,
    transfer_out_dollars_per_million: f64,
}

impl MediaReport {
    fn new(messages: u32, phases: MediaPhases) -> MediaReport {
        let per_text_message = phases.text.per_message(0.0);
        let per_photo_message = phases.photo.per_message(0.0);
        let gb = (phases.photo_bytes_avg + phases.thumbnail_bytes_avg) / 1e9;
        MediaReport {
            messages,
            width: media::WIDTH,
            height: media::HEIGHT,
            photo_to_text_ratio: per_photo_message.dollars_per_million.total
                / per_text_message.dollars_per_million.total,
            storage_dollars_per_million_per_month: 1e6 * gb * Prices::S3_STORAGE_GB_MONTH,
            transfer_out_dollars_per_million: 1e6 * gb * Prices::INTERNET_TRANSFER_OUT_GB,
            per_text_message,
            per_photo_message,
            phases,
        }
    }
}

/// A push notification: messages to an offline user with a device against messages to one
/// without, same server, same run.
#[derive(Serialize)]
struct PushReport {
    messages: u32,
    phases: PushPhases,
    per_message_without_device: PerMessage,
    per_message_with_device: PerMessage,
    /// The difference: what one push adds.
    per_push: PerMessage,
}

impl PushReport {
    fn new(messages: u32, phases: PushPhases) -> PushReport {
        let without = phases.without_device.per_message(0.0);
        let with = phases.with_device.per_message(0.0);
        PushReport {
            messages,
            per_push: with.minus(&without),
            per_message_without_device: without,
            per_message_with_device: with,
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
    media: Option<MediaReport>,
    push: Option<PushReport>,
}

pub async fn run(mut args: CostArgs) -> anyhow::Result<()> {
    if args.smoke {
        args.users = vec![4];
        args.messages_per_user = 1;
        args.baseline_messages = 4;
        args.group_members = 8;
        args.group_online = 4;
        args.group_messages = 2;
        args.media_messages = 2;
        args.push_messages = 2;
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
    if args.media_messages == 0 || args.push_messages == 0 {
        bail!("cost: --media-messages and --push-messages must be at least 1");
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
        .http_client(chat_aws::https_client(chat_aws::TrustRoots::Platform))
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
    let media = if args.scenarios.contains(&Scenario::Media) {
        let phases = media::run(&endpoint, args.media_messages).await?;
        let report = MediaReport::new(args.media_messages, phases);
        print_media(&report);
        Some(report)
    } else {
        None
    };
    let push = if args.scenarios.contains(&Scenario::Push) {
        let phases = push::run(&endpoint, args.push_messages).await?;
        let report = PushReport::new(args.push_messages, phases);
        print_push(&report);
        Some(report)
    } else {
        None
    };
    if let Some(path) = &args.json {
        let report = CostReport {
            started,
            command: report::command_line(),
            machine,
            prices: Prices::DATE,
            connection_minutes_per_message: connection_minutes,
            runs,
            groups,
            media,
            push,
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
        format!("{:.2}", d.api_gateway()),
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

/// The columns of the media and push tables.
fn extras_table(ratio_header: &'static str) -> Table {
    Table::new(&[
        ("per …", 30),
        ("count", 5),
        ("DDB req", 7),
        ("RRU", 6),
        ("WRU", 6),
        ("S3 req", 6),
        ("SNS req", 7),
        ("HTTP req", 8),
        ("APIGW msgs", 10),
        ("λ inv", 5),
        ("λ GB-ms", 7),
        ("$ DDB", 6),
        ("$ S3", 6),
        ("$ SNS", 6),
        ("$ APIGW", 7),
        ("$ λ", 6),
        ("$/M", 8),
        (ratio_header, 8),
    ])
}

fn extras_line(table: &Table, name: &str, count: u64, p: &PerMessage, ratio: String) -> String {
    let d = &p.dollars_per_million;
    table.line(&[
        name.to_string(),
        report::int(count as f64),
        format!("{:.2}", p.dynamodb_requests),
        format!("{:.2}", p.read_units),
        format!("{:.2}", p.write_units),
        format!("{:.2}", p.s3_put_requests + p.s3_get_requests),
        format!("{:.2}", p.sns_requests),
        format!("{:.2}", p.http_api_requests),
        format!("{:.2}", p.api_gateway_messages),
        format!("{:.2}", p.lambda_invocations),
        format!("{:.1}", p.lambda_gb_seconds * 1000.0),
        format!("{:.2}", d.dynamodb),
        format!("{:.2}", d.s3),
        format!("{:.2}", d.sns),
        format!("{:.2}", d.api_gateway()),
        format!("{:.2}", d.lambda),
        format!("{:.2}", d.total),
        ratio,
    ])
}

/// `function n (x ms avg, M MB)`, per counted item.
fn lambda_per(measured: &Measured) -> String {
    let n = measured.messages.max(1) as f64;
    let per: Vec<String> = measured
        .lambda
        .iter()
        .map(|(f, t)| {
            format!(
                "{f} {:.2} ({:.1} ms avg, {} MB)",
                t.invocations as f64 / n,
                t.micros as f64 / 1000.0 / t.invocations.max(1) as f64,
                pricing::lambda_memory_gb(f) * 1024.0
            )
        })
        .collect();
    per.join(", ")
}

fn print_media(report: &MediaReport) {
    let p = &report.phases;
    println!(
        "Media: {} photo messages u0 → u1 (1:1, conversation open, both online), each a distinct {}×{} PNG ({} KB avg; thumbnail {} KB): \
         announce, the device's PUT, the check (media function), send, and u1's download of the photo and its thumbnail; \
         beside them {} text messages u0 → u1 on the same server",
        report.messages,
        report.width,
        report.height,
        report::int(p.photo_bytes_avg / 1000.0),
        report::int(p.thumbnail_bytes_avg / 1000.0),
        report.messages
    );
    let table = extras_table("÷ text");
    println!("{}", table.header());
    let text = report.per_text_message.dollars_per_million.total;
    for (name, measured, per) in [
        ("text message", &p.text, &report.per_text_message),
        ("photo message", &p.photo, &report.per_photo_message),
    ] {
        let ratio = report::ratio(per.dollars_per_million.total / text);
        println!(
            "{}",
            extras_line(&table, name, measured.messages, per, ratio)
        );
    }
    let photo = &report.per_photo_message;
    println!(
        "photo, S3 requests per message: {:.2} PUT-class (the device's PUT, the thumbnail), {:.2} GET-class (the check's read, the device's 2 downloads), {:.2} DELETE (free)",
        photo.s3_put_requests, photo.s3_get_requests, photo.s3_delete_requests
    );
    println!(
        "photo, requests per message as metered: {}",
        requests_per(&p.photo)
    );
    let direct = &p.photo.s3_direct;
    println!(
        "  of which presigned URLs, signed locally but seen by the SDK's meter (taken out): {} PutObject, {} GetObject; \
         S3.HeadObject (chat-local's polls standing in for S3's event notification, none on AWS: left out): {:.2} per message; \
         the device's own S3 requests (added): {} PUT, {} GET",
        direct.presigned_puts,
        direct.presigned_gets,
        photo.s3_head_requests_left_out,
        direct.device_puts,
        direct.device_gets
    );
    println!("photo, Lambda per message: {}", lambda_per(&p.photo));
    println!("text, requests per message: {}", requests_per(&p.text));
    println!("text, Lambda per message: {}", lambda_per(&p.text));
    println!(
        "not in the totals: S3 storage ${}/GB-month: ${:.2} per million photos kept a month; transfer out to the internet ${}/GB: ${:.2} per million photos downloaded (photo and thumbnail)\n",
        Prices::S3_STORAGE_GB_MONTH,
        report.storage_dollars_per_million_per_month,
        Prices::INTERNET_TRANSFER_OUT_GB,
        report.transfer_out_dollars_per_million
    );
}

/// Requests and units by operation that `with` does per item beyond `without`.
fn extra_requests(with: &Measured, without: &Measured) -> String {
    let per = |m: &Measured, op: &str| {
        let n = m.messages.max(1) as f64;
        m.aws.operations.get(op).map_or((0.0, 0.0, 0.0), |t| {
            (t.requests as f64 / n, t.read_units / n, t.write_units / n)
        })
    };
    let ops: std::collections::BTreeSet<&String> = with
        .aws
        .operations
        .keys()
        .chain(without.aws.operations.keys())
        .collect();
    let extras: Vec<String> = ops
        .into_iter()
        .filter_map(|op| {
            let (a, b) = (per(with, op), per(without, op));
            let (requests, rru, wru) = (a.0 - b.0, a.1 - b.1, a.2 - b.2);
            if requests.abs() < 0.005 && rru.abs() < 0.005 && wru.abs() < 0.005 {
                return None;
            }
            let mut text = format!("{op} {requests:+.2}");
            if rru.abs() >= 0.005 {
                text += &format!(" ({rru:+.2} RRU)");
            }
            if wru.abs() >= 0.005 {
                text += &format!(" ({wru:+.2} WRU)");
            }
            Some(text)
        })
        .collect();
    extras.join(", ")
}

fn print_push(report: &PushReport) {
    let p = &report.phases;
    println!(
        "Push: {n} 1:1 messages u0 → u1, u1 offline with one FCM device (push quiet 0: each notifies), \
         beside {n} messages u2 → u3, u3 offline without a device, on the same server; \
         each message handled by the stream function before the next",
        n = report.messages
    );
    let table = extras_table("÷ none");
    println!("{}", table.header());
    let base = report.per_message_without_device.dollars_per_million.total;
    for (name, count, per) in [
        (
            "message, no device",
            p.without_device.messages,
            &report.per_message_without_device,
        ),
        (
            "message, a device (1 push)",
            p.with_device.messages,
            &report.per_message_with_device,
        ),
        (
            "the push (difference)",
            p.with_device.messages,
            &report.per_push,
        ),
    ] {
        // A difference over the baseline is no design of its own: no ratio.
        let ratio = if std::ptr::eq(per, &report.per_push) {
            "-".to_string()
        } else {
            report::ratio(per.dollars_per_million.total / base)
        };
        println!("{}", extras_line(&table, name, count, per, ratio));
    }
    println!(
        "per push, requests beyond a message without a device: {}",
        extra_requests(&p.with_device, &p.without_device)
    );
    let stream = |m: &Measured| {
        m.lambda
            .get("stream")
            .map_or(0.0, |t| t.billed_ms as f64 / m.messages.max(1) as f64)
    };
    let publish = p.with_device.aws.operations.get("SNS.Publish");
    println!(
        "per push, Lambda: stream {:+.1} billed ms ({:.1} with a device, {:.1} without); SNS Publish payload {} bytes avg (billed in 64 KB chunks: 1 request each)",
        stream(&p.with_device) - stream(&p.without_device),
        stream(&p.with_device),
        stream(&p.without_device),
        publish.map_or(0, |t| t.payload_bytes / t.requests.max(1)),
    );
    println!(
        "with a device, requests per message: {}",
        requests_per(&p.with_device)
    );
    println!(
        "without a device, requests per message: {}\n",
        requests_per(&p.without_device)
    );
}
