//! `chat-local`'s settings: flags, each also readable from the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chat_domain::SendRate;
use chat_handlers::ChatSettings;

/// The secret `chat-local` signs and checks dev tokens with when none is given. Never deploy it:
/// the Lambdas require a real secret from the deployment.
pub const DEV_JWT_SECRET: &str = "chat-local-dev-secret-do-not-deploy-0123456789";

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "chat-local",
    version,
    about = "The chat backend on a laptop: API Gateway WebSocket + HTTP API + durable store"
)]
pub struct Config {
    /// Address to serve everything on.
    #[arg(long, env = "CHAT_LOCAL_LISTEN", default_value = "127.0.0.1:3001")]
    pub listen: SocketAddr,

    /// Where the embedded store keeps its data.
    #[arg(long, env = "CHAT_LOCAL_DATA_DIR", default_value = "./.chat-local")]
    pub data_dir: PathBuf,

    /// Close a connection after this long without a frame from the client (API Gateway: 10 min).
    #[arg(long, env = "CHAT_LOCAL_IDLE_TIMEOUT", default_value = "10m", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// Close every connection at this age (API Gateway: 2 h).
    #[arg(long, env = "CHAT_LOCAL_MAX_CONNECTION_AGE", default_value = "2h", value_parser = humantime::parse_duration)]
    pub max_connection_age: Duration,

    /// HS256 secret for tokens (at least 32 bytes).
    #[arg(long, env = "CHAT_JWT_SECRET", default_value = DEV_JWT_SECRET, hide_default_value = true)]
    pub jwt_secret: String,

    /// Expected `iss` of tokens, if any.
    #[arg(long, env = "CHAT_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Where the data lives: the embedded store, or DynamoDB (moto, LocalStack or AWS).
    #[arg(long, env = "CHAT_LOCAL_BACKEND", value_enum, default_value = "sqlite")]
    pub backend: Backend,

    /// With `--backend aws`: the AWS endpoint (moto `http://127.0.0.1:5000`, LocalStack
    /// `http://localhost:4566`); unset means real AWS. Region and credentials come from the
    /// usual AWS environment and profile.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,

    /// With `--backend aws`: the tables are `{prefix}-connections`, `{prefix}-messages`, ….
    #[arg(long, env = "CHAT_TABLE_PREFIX", default_value = "chat-local")]
    pub table_prefix: String,

    /// With `--backend aws`: create the tables first if they do not exist.
    #[arg(long, env = "CHAT_LOCAL_CREATE_TABLES")]
    pub create_tables: bool,

    /// With `--backend aws`: the media bucket (created with `--create-tables`).
    #[arg(long, env = "CHAT_MEDIA_BUCKET", default_value = "chat-local-media")]
    pub media_bucket: String,

    /// With `--backend aws`: the SNS platform application for FCM devices. With
    /// `--create-tables` on an emulator endpoint and none given, one is created.
    #[arg(long, env = "CHAT_FCM_PLATFORM_APPLICATION_ARN")]
    pub fcm_platform_application_arn: Option<String>,

    /// With `--backend aws`: the SNS platform application for APNs devices (as for FCM).
    #[arg(long, env = "CHAT_APNS_PLATFORM_APPLICATION_ARN")]
    pub apns_platform_application_arn: Option<String>,

    /// At most one push notification per device and conversation this often.
    #[arg(long, env = "CHAT_PUSH_QUIET", default_value = "3s", value_parser = humantime::parse_duration)]
    pub push_quiet: Duration,

    /// Origins a browser may call the HTTP API and the media URLs from, comma-separated
    /// (`https://app.example.com,http://localhost:*`; `*` for any): the template's
    /// `CorsOrigins`.
    #[arg(
        long,
        env = "CHAT_CORS_ORIGINS",
        default_value = "*",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// The most members a group may have (the deployment's `MaxGroupMembers`).
    #[arg(long, env = "CHAT_MAX_GROUP_MEMBERS", default_value_t = ChatSettings::default().max_group_members)]
    pub max_group_members: u32,

    /// Groups with more members than this forward no `typing`.
    #[arg(long, env = "CHAT_TYPING_MAX_MEMBERS", default_value_t = ChatSettings::default().typing_max_members)]
    pub typing_max_members: u32,

    /// How long a sender may recall a message.
    #[arg(long, env = "CHAT_RECALL_WINDOW", default_value = "1h", value_parser = humantime::parse_duration)]
    pub recall_window: Duration,

    /// How long a user whose last connection closed still counts as online for their
    /// watchers (a reconnect within it does not flap).
    #[arg(long, env = "CHAT_PRESENCE_GRACE", default_value = "5s", value_parser = humantime::parse_duration)]
    pub presence_grace: Duration,

    /// How often activity (a frame) rewrites a connected user's last seen, at most, per process.
    #[arg(long, env = "CHAT_ACTIVITY_WRITE_INTERVAL", default_value = "60s", value_parser = humantime::parse_duration)]
    pub activity_write_interval: Duration,

    /// How many messages a second one user may send, sustained (a token bucket; 0: no limit).
    #[arg(long, env = "CHAT_SEND_RATE", default_value_t = SendRate::DEFAULT.per_second())]
    pub send_rate: u32,

    /// How many messages one user may send at once before `--send-rate` applies (0: no limit).
    #[arg(long, env = "CHAT_SEND_BURST", default_value_t = SendRate::DEFAULT.burst())]
    pub send_burst: u32,

    /// Fault injection (tests, benchmarks): answer every Nth `@connections` POST with
    /// `429 LimitExceededException`, as API Gateway does past the account's quota. 0: never.
    #[arg(
        long,
        hide = true,
        env = "CHAT_LOCAL_FAULT_THROTTLE_EVERY",
        default_value_t = 0
    )]
    pub fault_throttle_every: u32,

    /// Benchmarks: look a fan-out page's connections up one query per member (the baseline of
    /// `chat-bench fanout`) instead of one request per page.
    #[arg(long, hide = true, env = "CHAT_LOCAL_NAIVE_FANOUT_LOOKUPS")]
    pub naive_fanout_lookups: bool,
}

/// Where `chat-local` keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The embedded SQLite store in `--data-dir` (durable, no setup).
    Sqlite,
    /// DynamoDB through the AWS SDK, the Lambdas' own adapters.
    Aws,
}

impl Config {
    /// Settings for a server on a free loopback port over `data_dir` (tests, tools).
    pub fn ephemeral(data_dir: PathBuf) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            idle_timeout: Duration::from_secs(600),
            max_connection_age: Duration::from_secs(7200),
            jwt_secret: DEV_JWT_SECRET.to_string(),
            jwt_issuer: None,
            backend: Backend::Sqlite,
            aws_endpoint_url: None,
            table_prefix: "chat-local".to_string(),
            create_tables: false,
            media_bucket: "chat-local-media".to_string(),
            fcm_platform_application_arn: None,
            apns_platform_application_arn: None,
            push_quiet: Duration::from_secs(3),
            cors_origins: vec!["*".to_string()],
            max_group_members: ChatSettings::default().max_group_members,
            typing_max_members: ChatSettings::default().typing_max_members,
            recall_window: Duration::from_millis(
                u64::try_from(ChatSettings::default().recall_window_ms).unwrap_or(0),
            ),
            presence_grace: Duration::from_secs(5),
            activity_write_interval: Duration::from_millis(
                u64::try_from(ChatSettings::default().activity_write_interval_ms).unwrap_or(0),
            ),
            send_rate: SendRate::DEFAULT.per_second(),
            send_burst: SendRate::DEFAULT.burst(),
            fault_throttle_every: 0,
            naive_fanout_lookups: false,
        }
    }

    /// The chat's limits and windows, as the handlers take them.
    pub fn settings(&self) -> ChatSettings {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        ChatSettings {
            max_group_members: self.max_group_members,
            typing_max_members: self.typing_max_members,
            recall_window_ms: ms(self.recall_window),
            presence_grace_ms: ms(self.presence_grace),
            // A connection idle past the gateway's timeout is closed, so activity older than
            // that and one write interval means every connection of the user is gone.
            online_window_ms: ms(self.idle_timeout) + ms(self.activity_write_interval),
            activity_write_interval_ms: ms(self.activity_write_interval),
            push_quiet_ms: ms(self.push_quiet),
            send_rate: SendRate::new(self.send_rate, self.send_burst),
            ..ChatSettings::default()
        }
    }
}
