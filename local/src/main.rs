//! `chat-local`: the whole chat backend on a laptop, in one command.
//!
//! `cargo run -p chat-local` serves the WebSocket API, the `@connections` management API and
//! the HTTP API on one address, backed by a durable embedded store in `--data-dir`.

use clap::Parser;

/// mimalloc instead of glibc's malloc: a server that allocates and frees small strings and
/// events for every frame spent 14-15% of its CPU in glibc's allocator under load
/// (`docs/performance.md`, "The per-message path").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    chat_local::serve(chat_local::Config::parse()).await
}
