//! `chat-bench coldstart`: how fast each Lambda binary becomes ready, next to a hello-world
//! `lambda_runtime` function measured in the same run.
//!
//! For every function: the binary's size (native release build, and the arm64 build of
//! `cargo lambda build --release --arm64` when present), then, `--runs` times, a fresh process
//! against a Lambda Runtime API served by the bench on loopback: time from exec to its first
//! `GET /runtime/invocation/next` (init), to its first answer (init plus one invocation, which
//! for most functions includes a DynamoDB round trip to `--aws-endpoint`), and its peak RSS
//! (`VmHWM`). The arm64 binaries are measured for size only: this machine cannot run them.
//! Each function sees a Lambda-like certificate store (`certs.rs`), the memory size
//! `template.yaml` gives it, and a media bucket on the emulator (`MEDIA_BUCKET`). The `media`
//! function's first event reports a photo the bench uploaded just before, with its media
//! record: the check reads it back, makes its thumbnail and settles the record.

mod certs;
mod events;
mod runtime_api;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::report::{self, Machine};
use crate::sink::Sink;
use certs::{CertLayout, CertStore};
use runtime_api::RuntimeApi;

/// The functions, by binary name, and the reference last.
const FUNCTIONS: [&str; 13] = [
    "authorizer",
    "connect",
    "disconnect",
    "send",
    "receipt",
    "sync",
    "presence",
    "typing",
    "recall",
    "default",
    "http-api",
    "stream",
    "media",
];
const REFERENCE: &str = "hello-lambda";
const JWT_SECRET: &str = "cold-start-secret-cold-start-secret-0123";
/// A run that has not answered by then is reported without an answer time.
const RUN_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, clap::Args)]
pub struct ColdstartArgs {
    /// Where the native binaries are (default: beside chat-bench, i.e. target/release or
    /// target/debug).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Where `cargo lambda build --release --arm64` put its output (`<dir>/<bin>/bootstrap`).
    #[arg(long, default_value = "target/lambda")]
    pub arm64_dir: PathBuf,
    /// Cold starts per function.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// The DynamoDB endpoint the functions call (moto). Without it, answer times are skipped
    /// for the functions that need AWS.
    #[arg(long, env = "MOTO_ENDPOINT")]
    pub aws_endpoint: Option<String>,
    /// The certificate store the functions see: `al2023` (the host's CA bundle alone in its
    /// directory, as on Lambda's `provided.al2023`) or `host` (this machine's, as it is).
    #[arg(long, value_enum, default_value = "al2023")]
    pub cert_layout: CertLayout,
    /// The functions' `CHAT_TLS_ROOTS`: `amazon` (compiled in, what a deployed function
    /// trusts) or `platform` (the store `--cert-layout` describes, read at every init).
    #[arg(long, default_value = "amazon", value_parser = ["amazon", "platform"])]
    pub tls_roots: String,
    /// Two runs of the authorizer and the reference only: proves the scenario works.
    #[arg(long)]
    pub smoke: bool,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct FunctionFigures {
    function: String,
    native_bytes: Option<u64>,
    arm64_bytes: Option<u64>,
    runs: usize,
    init_ms_p50: Option<f64>,
    init_ms_p90: Option<f64>,
    first_answer_ms_p50: Option<f64>,
    peak_rss_kb_max: Option<u64>,
    /// init p50 over the reference's init p50.
    init_ratio_to_reference: Option<f64>,
    answers: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    scenario: &'static str,
    started_at: String,
    command: String,
    machine: Machine,
    runs_per_function: usize,
    cert_layout: CertLayout,
    tls_roots: String,
    functions: Vec<FunctionFigures>,
}

pub async fn run(args: ColdstartArgs) -> anyhow::Result<()> {
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("chat-bench has no directory")?
            .to_path_buf(),
    };
    let runs = if args.smoke { 2 } else { args.runs.max(1) };
    let functions: Vec<&str> = if args.smoke {
        // With an AWS endpoint, one function that builds the SDK clients and stores a message.
        match &args.aws_endpoint {
            Some(_) => vec!["authorizer", "send", REFERENCE],
            None => vec!["authorizer", REFERENCE],
        }
    } else {
        FUNCTIONS.iter().copied().chain([REFERENCE]).collect()
    };
    let machine = Machine::read();
    let started_at = report::now();
    println!(
        "coldstart: {machine}; {runs} cold starts per function; binaries in {}; certificate store: {:?}; trusted roots: {}",
        bin_dir.display(),
        args.cert_layout,
        args.tls_roots
    );
    let fixtures = match &args.aws_endpoint {
        Some(endpoint) => Some(Fixtures::create(endpoint).await?),
        None => {
            println!(
                "coldstart: no --aws-endpoint/MOTO_ENDPOINT: answer times need DynamoDB and are skipped"
            );
            None
        }
    };

    let certs = CertStore::for_layout(args.cert_layout)?;
    let api = RuntimeApi::default();
    let api_addr = api.start().await?;
    // Where the functions post to connections (presence answers that way): a live endpoint,
    // so a run measures the work rather than a refused connection's retries.
    let management = Sink::start().await?;
    let token = token()?;
    let mut figures = Vec::new();
    for name in &functions {
        let binary = bin_dir.join(name);
        anyhow::ensure!(
            binary.exists(),
            "{} not found: build it first (cargo build --release -p chat-bench --bins and the functions)",
            binary.display()
        );
        let mut inits = Vec::new();
        let mut answers_ms = Vec::new();
        let mut outcomes = Vec::new();
        let mut rss = Vec::new();
        for run in 0..runs {
            let now_ms = report::epoch_ms();
            let upload = match (*name, &fixtures) {
                ("media", Some(fixtures)) => Some(fixtures.upload(run).await?),
                _ => None,
            };
            let event = match (&upload, &fixtures) {
                (Some(upload), Some(fixtures)) => {
                    events::object_created(&fixtures.bucket, &upload.key, upload.size, now_ms)
                }
                _ => events::for_function(name, &token, now_ms),
            };
            api.arm(event);
            let mut sample = cold_start(
                &binary,
                api_addr,
                &api,
                &args,
                fixtures.as_ref(),
                certs.as_ref(),
                &management.endpoint,
            )
            .await?;
            if let (Some(upload), Some(fixtures)) = (&upload, &fixtures) {
                let state = fixtures.state_of(&upload.media_id).await?;
                sample.outcome = format!("{} ({state})", sample.outcome);
            }
            inits.extend(sample.init_ms);
            answers_ms.extend(sample.answer_ms);
            rss.extend(sample.peak_rss_kb);
            outcomes.push(sample.outcome);
        }
        figures.push(FunctionFigures {
            function: (*name).to_string(),
            native_bytes: size(&binary),
            arm64_bytes: size(&args.arm64_dir.join(name).join("bootstrap")),
            runs,
            init_ms_p50: percentile(&inits, 0.5),
            init_ms_p90: percentile(&inits, 0.9),
            first_answer_ms_p50: percentile(&answers_ms, 0.5),
            peak_rss_kb_max: rss.iter().copied().max(),
            init_ratio_to_reference: None,
            answers: outcomes,
        });
    }
    let reference = figures
        .iter()
        .find(|f| f.function == REFERENCE)
        .and_then(|f| f.init_ms_p50);
    for f in &mut figures {
        f.init_ratio_to_reference = f.init_ms_p50.zip(reference).map(|(ours, base)| ours / base);
    }
    print_table(&figures);
    if let Some(path) = &args.json {
        let report = Report {
            scenario: "coldstart",
            started_at,
            command: report::command_line(),
            machine,
            runs_per_function: runs,
            cert_layout: args.cert_layout,
            tls_roots: args.tls_roots.clone(),
            functions: figures,
        };
        report::write_json(path, &report)?;
    }
    Ok(())
}

struct Sample {
    init_ms: Option<f64>,
    answer_ms: Option<f64>,
    peak_rss_kb: Option<u64>,
    outcome: String,
}

async fn cold_start(
    binary: &Path,
    api_addr: std::net::SocketAddr,
    api: &RuntimeApi,
    args: &ColdstartArgs,
    fixtures: Option<&Fixtures>,
    certs: Option<&CertStore>,
    management_endpoint: &str,
) -> anyhow::Result<Sample> {
    let name = binary
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("function");
    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api_addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            (crate::cost::pricing::lambda_memory_gb(name) * 1024.0).to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "cold-start")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env(
            "TABLE_PREFIX",
            fixtures.map_or("coldstart", |f| f.prefix.as_str()),
        )
        .env(
            "MEDIA_BUCKET",
            fixtures.map_or("coldstart-media", |f| f.bucket.as_str()),
        )
        .env("WEBSOCKET_MANAGEMENT_ENDPOINT", management_endpoint)
        .env("JWT_SECRET", JWT_SECRET)
        // Explicit: the emulator's endpoint (set below) alone would mean the platform's store.
        .env("CHAT_TLS_ROOTS", &args.tls_roots)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(endpoint) = &args.aws_endpoint {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    for (name, value) in certs.map(CertStore::env).into_iter().flatten() {
        command.env(name, value);
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let pid = child.id();
    let deadline = started + RUN_TIMEOUT;
    let marks = loop {
        let marks = api.marks();
        if marks.first_answer.is_some() || Instant::now() >= deadline {
            break marks;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break api.marks(); // It exited (a failed init): report what it reached.
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    let peak_rss_kb = pid.and_then(|pid| crate::procfs::peak_rss_kib(Some(pid)).ok());
    let _ = child.kill().await;
    let ms = |at: Option<Instant>| at.map(|t| t.duration_since(started).as_secs_f64() * 1000.0);
    Ok(Sample {
        init_ms: ms(marks.first_poll),
        answer_ms: ms(marks.first_answer),
        peak_rss_kb,
        outcome: match (marks.outcome, &marks.frame_type) {
            (Some(outcome), Some(frame)) => format!("{outcome} ({frame})"),
            (outcome, _) => outcome.unwrap_or("no answer").to_string(),
        },
    })
}

/// `VmHWM` of a live process, in KiB.
fn size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(rank).copied()
}

fn token() -> anyhow::Result<String> {
    let secret = chat_auth::Secret::parse(JWT_SECRET)?;
    let issuer = chat_auth::TokenIssuer::hs256(&secret, None);
    let alice = chat_domain::UserId::parse("alice")?;
    Ok(issuer.issue(&alice, chat_domain::Millis(report::epoch_ms()), 3600)?)
}

/// Fresh tables and a media bucket on the emulator, so the first invocations do their real
/// work; and the clients that put an upload there before each cold start of `media`.
struct Fixtures {
    prefix: String,
    bucket: String,
    s3: aws_sdk_s3::Client,
    store: chat_aws::DynamoStore,
}

/// A photo in the bucket with its media record, as `POST /v1/media` and the device's PUT
/// leave it.
struct Upload {
    media_id: chat_domain::MediaId,
    key: String,
    size: u64,
}

impl Fixtures {
    async fn create(endpoint: &str) -> anyhow::Result<Fixtures> {
        let prefix = format!("cold{}", report::epoch_ms());
        let credentials = aws_sdk_dynamodb::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "chat-bench",
        );
        let region = aws_sdk_dynamodb::config::Region::new("us-east-1");
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .http_client(chat_aws::https_client(chat_aws::TrustRoots::Platform))
            .region(region.clone())
            .credentials_provider(credentials.clone())
            .endpoint_url(endpoint)
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        let tables = chat_aws::Tables::from_prefix(&prefix);
        chat_aws::create_tables(&client, &tables).await?;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .http_client(chat_aws::https_client(chat_aws::TrustRoots::Platform))
                .region(region)
                .credentials_provider(credentials)
                .endpoint_url(endpoint)
                .force_path_style(true)
                .build(),
        );
        let bucket = format!("{prefix}-media");
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .with_context(|| format!("creating the bucket {bucket}"))?;
        Ok(Fixtures {
            prefix,
            bucket,
            s3,
            store: chat_aws::DynamoStore::new(client, tables),
        })
    }

    /// Upload `run`: a distinct 640 × 480 PNG of `alice`'s, announced (its pending record)
    /// and stored under its upload key.
    async fn upload(&self, run: usize) -> anyhow::Result<Upload> {
        use chat_ports::MediaStore;
        let photo = crate::cost::media::photo(1000 + u32::try_from(run).unwrap_or(0));
        let sha256 = chat_domain::Sha256::of(&photo);
        let alice = chat_domain::UserId::parse("alice")?;
        let media_id = chat_domain::MediaId::for_upload(&alice, &sha256);
        let size = photo.len() as u64;
        let record = chat_ports::MediaRecord {
            media_id: media_id.clone(),
            uploader: alice,
            content_type: chat_domain::ContentType::parse("image/png")?,
            size,
            sha256,
            state: chat_ports::MediaState::Pending,
            created_at: chat_domain::Millis(report::epoch_ms()),
            width: None,
            height: None,
            thumbnail: None,
            uses: Vec::new(),
        };
        self.store.create_media(&record).await?;
        let key = format!("uploads/{media_id}");
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("image/png")
            .body(photo.into())
            .send()
            .await
            .with_context(|| format!("putting {key}"))?;
        Ok(Upload {
            media_id,
            key,
            size,
        })
    }

    /// The media record's state after the check (`verified` when it ran to the end).
    async fn state_of(&self, id: &chat_domain::MediaId) -> anyhow::Result<&'static str> {
        use chat_ports::MediaStore;
        Ok(self
            .store
            .media(id)
            .await?
            .map_or("no record", |record| record.state.as_str()))
    }
}

fn print_table(figures: &[FunctionFigures]) {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    let mb = |v: Option<u64>| {
        v.map_or("-".to_string(), |v| {
            format!("{:.1}", v as f64 / 1_048_576.0)
        })
    };
    println!(
        "{:<13} {:>9} {:>9} {:>10} {:>10} {:>11} {:>9} {:>8}  answers",
        "function", "x86 MB", "arm64 MB", "init p50", "init p90", "answer p50", "RSS MB", "÷ hello"
    );
    for f in figures {
        println!(
            "{:<13} {:>9} {:>9} {:>10} {:>10} {:>11} {:>9} {:>8}  {}",
            f.function,
            mb(f.native_bytes),
            mb(f.arm64_bytes),
            opt(f.init_ms_p50),
            opt(f.init_ms_p90),
            opt(f.first_answer_ms_p50),
            f.peak_rss_kb_max
                .map_or("-".to_string(), |kb| format!("{:.1}", kb as f64 / 1024.0)),
            f.init_ratio_to_reference
                .map_or("-".to_string(), |r| format!("{r:.2}×")),
            summarize(&f.answers),
        );
    }
    println!("(ms from exec; init = first poll of the Runtime API; RSS = peak VmHWM)");
}

fn summarize(outcomes: &[String]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for o in outcomes {
        match counts.iter_mut().find(|(k, _)| k == o) {
            Some((_, n)) => *n += 1,
            None => counts.push((o.clone(), 1)),
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n}× {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}
