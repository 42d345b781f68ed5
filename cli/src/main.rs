//! `chat`: a command-line client of the chat backend. It speaks the client contract
//! (docs/protocol.md) like an app does: the HTTP API for history and groups, the WebSocket for
//! sending and live events, presigned PUTs for media. `main` only parses the command line,
//! runs the command and turns its outcome into an exit code that says what failed
//! (`exit.rs`).

mod api;
mod args;
mod backoff;
mod commands;
mod config;
mod error;
mod exit;
mod http_client;
mod media_type;
mod order;
mod output;
mod render;
mod sender;
mod socket;
mod tls;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;
use crate::exit::Exit;
use crate::output::Output;

fn main() -> ExitCode {
    // clap prints its own usage errors and exits 2 (and 0 for --help / --version).
    let cli = Cli::parse();
    let out = Output::new(cli.json);
    let name = cli.command.name();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let err = error::CliError::config("starting the async runtime", err);
            out.failure(name, &err, Exit::Other);
            return Exit::Other.into();
        }
    };
    match runtime.block_on(commands::run(cli, out)) {
        Ok(()) => Exit::Ok.into(),
        Err(err) => {
            let exit = Exit::of(&err);
            out.failure(name, &err, exit);
            exit.into()
        }
    }
}
