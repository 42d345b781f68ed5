//! `chat-local`: an API Gateway stand-in on a laptop. It runs the very handlers the Lambdas run,
//! fed the very event shapes API Gateway sends, so what works here works on AWS.
//!
//! - `gateway/`: the WebSocket API (authorizer on `$connect`, route selection on `action`,
//!   `$default`, `$disconnect`, frame limits, idle timeout and maximum age) and the
//!   `@connections` management API the real AWS SDK can call.
//! - `http_api.rs`: the HTTP API, through the same `lambda_http` handler as the `http-api` Lambda.
//! - `wiring.rs`: which adapters feed which handlers (the host's only decision).
//!
//! This crate holds no business rule: every decision about chat lives in `chat-handlers`.

mod backends;
pub mod blobs;
mod config;
pub mod cors;
mod dev_metrics;
mod faults;
mod gateway;
mod http_api;
mod instruments;
mod openapi;
mod pushes;
mod router;
mod serve;
mod streams;
mod uploads;
mod web;
mod wiring;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use config::{Backend, Config, DEV_JWT_SECRET};
pub use gateway::MemoryConnections;
pub use instruments::{Instruments, InvocationMeter, InvocationTally};
pub use serve::serve;

/// A running `chat-local`.
pub struct LocalServer {
    addr: SocketAddr,
    data_dir: PathBuf,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// What feeds the stream handler (the embedded feed's pump, or the DynamoDB stream
    /// poller), stopped with the server.
    fanout: tokio::task::JoinHandle<()>,
}

impl LocalServer {
    /// Opens the store, binds the address and starts serving in the background.
    pub async fn start(config: Config) -> anyhow::Result<LocalServer> {
        LocalServer::start_with(config, Instruments::default()).await
    }

    /// [`LocalServer::start`], measured by `instruments` (the cost bench).
    pub async fn start_with(
        config: Config,
        instruments: Instruments,
    ) -> anyhow::Result<LocalServer> {
        // One tally per process (as one per Lambda container); the first server installs it.
        dev_metrics::tally();
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let (app, changes) = wiring::App::build(&config, addr, &instruments).await?;
        let app = Arc::new(app);
        // Started before the first connection is served, so no message goes unfanned.
        let fanout = app.start_fanout(changes).await?;
        let router = router::router(app, addr, cors::Origins::new(&config.cors_origins));
        // Small frames go out at once, as from API Gateway: without TCP_NODELAY a second frame
        // to a client waits for its ACK (Nagle), about 20 ms of added latency.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::warn!(error = %err, "TCP_NODELAY could not be set");
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        tracing::info!(%addr, "chat-local listening");
        Ok(LocalServer {
            addr,
            data_dir: config.data_dir,
            task,
            fanout,
        })
    }

    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs until the server fails.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        (&mut self.task).await??;
        Ok(())
    }

    /// Stops serving (open sockets are dropped, as when the process exits).
    pub fn stop(&self) {
        self.task.abort();
        self.fanout.abort();
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
    }
}
