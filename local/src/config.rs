//! `chat-local`'s settings: flags, each also readable from the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
        }
    }
}
