//! What running `chat-local` means: logs on stderr, the server started, its URLs printed (the
//! bench reads the `ws://` line), then serving until it fails or Ctrl-C. `main` and the
//! bench's `serve-local` both run exactly this.

use crate::{Config, LocalServer};

pub async fn serve(config: Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,chat_local=info".into()),
        )
        .init();
    let server = LocalServer::start(config).await?;
    let addr = server.addr();
    println!("chat-local is up");
    println!("  web chat       http://{addr}/");
    println!("  WebSocket      ws://{addr}/local?token=<jwt>&device=<id>");
    println!("  @connections   http://{addr}/local/@connections/{{connection_id}}");
    println!("  HTTP API       http://{addr}/v1/conversations");
    println!(
        "  dev tokens     curl -s -XPOST http://{addr}/dev/token -d '{{\"user_id\":\"alice\"}}'"
    );
    println!("  metrics        http://{addr}/dev/metrics");
    println!("  data           {}", server.data_dir().display());
    tokio::select! {
        result = server.wait() => result,
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("shutting down");
            Ok(())
        }
    }
}
