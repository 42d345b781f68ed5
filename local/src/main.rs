//! `chat-local`: the whole chat backend on a laptop, in one command.
//!
//! `cargo run -p chat-local` serves the WebSocket API, the `@connections` management API and
//! the HTTP API on one address, backed by a durable embedded store in `--data-dir`.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,chat_local=info".into()),
        )
        .init();
    let config = chat_local::Config::parse();
    let server = chat_local::LocalServer::start(config).await?;
    let addr = server.addr();
    println!("chat-local is up");
    println!("  WebSocket      ws://{addr}/local?token=<jwt>&device=<id>");
    println!("  @connections   http://{addr}/local/@connections/{{connection_id}}");
    println!("  HTTP API       http://{addr}/v1/conversations");
    println!(
        "  dev tokens     curl -s -XPOST http://{addr}/dev/token -d '{{\"user_id\":\"alice\"}}'"
    );
    println!("  data           {}", server.data_dir().display());
    tokio::select! {
        result = server.wait() => result,
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("shutting down");
            Ok(())
        }
    }
}
