//! A `send` whose connection drops after the server stored the message but before its `ack`
//! came back: the CLI sends the same frame (the same `client_msg_id`) again over a new
//! connection, and the server answers with the original ack instead of storing it twice.
//! The drop is made by a TCP proxy in front of the WebSocket that cuts its first connection
//! right where the ack would pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::Cli;

/// Forwards to `upstream`; the first connection loses everything the server sends after its
/// HTTP upgrade answer, and is closed then.
async fn lossy_proxy(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let first = accepted.fetch_add(1, Ordering::SeqCst) == 0;
            tokio::spawn(relay(client, upstream, first));
        }
    });
    addr
}

async fn relay(client: TcpStream, upstream: std::net::SocketAddr, cut_after_upgrade: bool) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upward = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let mut seen = Vec::new();
    let mut buffer = vec![0u8; 16 * 1024];
    while let Ok(n) = server_read.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        let upgraded = seen.windows(4).any(|w| w == b"\r\n\r\n");
        if cut_after_upgrade && upgraded {
            // The ack: dropped, and the connection with it.
            break;
        }
        seen.extend_from_slice(&buffer[..n]);
        if client_write.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    upward.abort();
}

#[tokio::test]
async fn a_send_whose_ack_was_lost_is_sent_again_and_stored_once() {
    let cli = Cli::start().await;
    cli.login("bob").await;
    let proxy = lossy_proxy(cli.server.addr()).await;
    let url = cli.url();
    let ws_url = format!("ws://{proxy}/local");
    cli.run(
        "alice",
        &[
            "login", "--url", &url, "--user", "alice", "--ws-url", &ws_url,
        ],
    )
    .await
    .ok();

    let run = cli
        .run("alice", &["--json", "send", "--to", "bob", "once only"])
        .await
        .ok();
    let ack = run.json();
    assert_eq!(ack["seq"], 1, "{run:?}");
    let retried: Vec<Value> = run
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|line: &Value| line["status"] == "retrying")
        .collect();
    assert_eq!(retried.len(), 1, "the first connection was cut: {run:?}");

    let history = cli
        .run(
            "bob",
            &["--json", "history", "--conversation", "dm:alice:bob"],
        )
        .await
        .ok()
        .json_lines();
    assert_eq!(history.len(), 1, "stored once: {history:?}");
    assert_eq!(history[0]["message_id"], ack["message_id"]);
    assert_eq!(history[0]["client_msg_id"], ack["client_msg_id"]);
}
