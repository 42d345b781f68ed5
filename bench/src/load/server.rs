//! The servers under load, each a child process of the bench so that its CPU time and peak
//! memory can be read from `/proc/<pid>` without counting the clients: `chat-local` (the real
//! binary, on its embedded store) and the bare relay (this binary's hidden `serve-relay`).
//!
//! `chat-local` is found, in order: `--server-bin PATH`; the `chat-local` next to this
//! executable (`target/release/` for a release bench, `target/debug/` for a debug one); else
//! this binary's hidden `serve-local`, which hosts the same `chat_local::LocalServer` that
//! `chat-local`'s twenty-line `main` does. The report says which one ran.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::clients::Endpoint;

/// How long a server may take to print its URLs.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// What ran, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    /// `chat-local` or `relay`.
    pub name: &'static str,
    /// The command line, as run.
    pub command: String,
    pub pid: u32,
    /// The server's RSS growth while the clients connected, per connection (KiB): what an idle
    /// connection costs it. Set once the fleet is connected.
    pub idle_kib_per_connection: Option<f64>,
}

/// A server child process; killed when dropped.
pub struct ChildServer {
    child: Child,
    pub pid: u32,
    pub endpoint: Endpoint,
    pub info: ServerInfo,
}

impl ChildServer {
    /// Starts `chat-local` on a free loopback port over `data_dir` with `extra` flags (see the
    /// module doc for which executable).
    pub async fn start_local_with(
        explicit: Option<&Path>,
        data_dir: &Path,
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating the chat-bench executable")?;
        let (program, mut args): (PathBuf, Vec<String>) = match explicit {
            Some(path) if path.is_file() => (path.to_path_buf(), Vec::new()),
            Some(path) => bail!("--server-bin {}: no such file", path.display()),
            None => {
                let sibling = exe.with_file_name("chat-local");
                if sibling.is_file() {
                    (sibling, Vec::new())
                } else {
                    eprintln!(
                        "chat-bench: no {} (build it with `cargo build -p chat-local`); hosting \
                         chat_local::LocalServer in `chat-bench serve-local` instead",
                        sibling.display()
                    );
                    (exe, vec!["serve-local".to_string()])
                }
            }
        };
        args.extend(
            [
                "--listen",
                "127.0.0.1:0",
                "--backend",
                "sqlite",
                "--data-dir",
            ]
            .map(String::from),
        );
        args.push(data_dir.display().to_string());
        args.extend(extra.iter().map(|flag| flag.to_string()));
        Self::spawn("chat-local", program, args).await
    }

    /// Starts the bare relay (this binary's `serve-relay`) on a free loopback port; `nagle`
    /// leaves TCP_NODELAY off.
    pub async fn start_relay(nagle: bool) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating the chat-bench executable")?;
        let mut args = ["serve-relay", "--listen", "127.0.0.1:0"]
            .map(String::from)
            .to_vec();
        if nagle {
            args.push("--nagle".to_string());
        }
        Self::spawn("relay", exe, args).await
    }

    async fn spawn(
        name: &'static str,
        program: PathBuf,
        args: Vec<String>,
    ) -> anyhow::Result<Self> {
        let command = std::iter::once(program.display().to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = Command::new(&program)
            .args(&args)
            // One log line per message would be part of the measurement; warnings still show.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {command}"))?;
        let pid = child.id().context("the server exited at once")?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let host = tokio::time::timeout(STARTUP_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                // `  WebSocket      ws://127.0.0.1:PORT/local?token=<jwt>&device=<id>`
                if let Some(rest) = line.split("ws://").nth(1) {
                    let host = rest.split('/').next().unwrap_or_default().to_string();
                    return Ok(host);
                }
            }
            bail!("{command} exited before printing its WebSocket URL")
        })
        .await
        .with_context(|| format!("{command} printed no WebSocket URL in {STARTUP_TIMEOUT:?}"))??;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(ChildServer {
            child,
            pid,
            endpoint: Endpoint {
                http: format!("http://{host}"),
                ws: format!("ws://{host}/local"),
            },
            info: ServerInfo {
                name,
                command,
                pid,
                idle_kib_per_connection: None,
            },
        })
    }

    /// Stops the server (SIGKILL: its figures are taken, and a clean shutdown would only add
    /// a storm of `$disconnect`s to whatever runs next).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// `chat-bench serve-local`: what `chat-local`'s `main` does (same library, same output), for
/// when no `chat-local` binary sits next to this one.
pub async fn serve_local(config: chat_local::Config) -> anyhow::Result<()> {
    chat_local::serve(config).await
}
