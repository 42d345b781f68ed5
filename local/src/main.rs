//! `chat-local`: the whole chat backend on a laptop, in one command.
//!
//! `cargo run -p chat-local` serves the WebSocket API, the `@connections` management API and
//! the HTTP API on one address, backed by a durable embedded store in `--data-dir`.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    chat_local::serve(chat_local::Config::parse()).await
}
