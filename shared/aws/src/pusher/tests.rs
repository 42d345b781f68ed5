//! The pusher against a scripted HTTP server on `127.0.0.1:0`: real requests through the real
//! SDK client, so the paths (stage prefix kept, id encoded) and the status handling are what
//! API Gateway and `chat-local` will see.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_apigatewaymanagement::config::{Credentials, SharedCredentialsProvider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// Serves the scripted `(status, extra header, body)` answers in order, one per connection,
/// and records every request.
async fn scripted(
    answers: Vec<(u16, &'static str, &'static str)>,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for (status, header, body) in answers {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let n = socket.read(&mut chunk).await.expect("read");
                buf.extend_from_slice(&chunk[..n]);
                if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break pos + 4;
                }
                assert!(n > 0, "request ended early");
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < head_end + length {
                let n = socket.read(&mut chunk).await.expect("read body");
                assert!(n > 0, "body ended early");
                buf.extend_from_slice(&chunk[..n]);
            }
            let mut words = head.split_whitespace();
            let method = words.next().unwrap_or_default().to_string();
            let path = words.next().unwrap_or_default().to_string();
            log.lock().expect("log").push(Seen {
                method,
                path,
                body: buf[head_end..head_end + length].to_vec(),
            });
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{header}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.expect("write");
            let _ = socket.shutdown().await;
        }
    });
    (format!("http://{addr}/local"), seen)
}

fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(crate::https_client(crate::TrustRoots::Platform))
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "static",
        )))
        .build()
}

fn pusher(endpoint: &str) -> ApiGatewayPusher {
    ApiGatewayPusher::new(management_client(&sdk_config(), endpoint)).with_backoff(Backoff::new(
        5,
        Duration::from_millis(1),
        Duration::from_millis(5),
    ))
}

fn conn(id: &str) -> ConnectionId {
    ConnectionId::parse(id).expect("connection id")
}

#[test]
fn aws_endpoints_keep_the_stage() {
    assert_eq!(
        management_endpoint("abc123", "eu-west-1", "prod"),
        "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    );
}

#[tokio::test]
async fn post_keeps_the_stage_prefix_and_sends_the_bytes() {
    let (endpoint, seen) = scripted(vec![(200, "", "")]).await;
    let outcome = pusher(&endpoint)
        .post(&conn("L0SM9cOFvHcCIhw="), b"{\"type\":\"pong\"}")
        .await;
    assert_eq!(outcome.ok(), Some(PostOutcome::Delivered));
    let seen = seen.lock().expect("log").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/local/@connections/L0SM9cOFvHcCIhw%3D");
    assert_eq!(seen[0].body, b"{\"type\":\"pong\"}");
}

#[tokio::test]
async fn gone_is_an_answer_with_or_without_the_error_type() {
    let (endpoint, _) = scripted(vec![
        (
            410,
            "x-amzn-errortype: GoneException\r\n",
            "{\"message\":\"gone\"}",
        ),
        (410, "", ""),
    ])
    .await;
    let p = pusher(&endpoint);
    assert_eq!(p.post(&conn("a"), b"x").await.ok(), Some(PostOutcome::Gone));
    assert_eq!(p.disconnect(&conn("a")).await.ok(), Some(PostOutcome::Gone));
}

#[tokio::test]
async fn throttling_is_retried_then_delivered() {
    let (tally, _guard) = chat_metrics::for_this_thread(chat_metrics::Keep::Summary);
    let (endpoint, seen) = scripted(vec![
        (
            429,
            "x-amzn-errortype: LimitExceededException\r\n",
            "{\"message\":\"slow down\"}",
        ),
        (429, "", ""),
        (200, "", ""),
    ])
    .await;
    assert_eq!(
        pusher(&endpoint).post(&conn("a"), b"x").await.ok(),
        Some(PostOutcome::Delivered)
    );
    assert_eq!(seen.lock().expect("log").len(), 3);
    // Both the coded and the bare 429 count as throttles.
    assert_eq!(tally.snapshot().counter(chat_metrics::names::THROTTLES), 2);
}

#[tokio::test]
async fn throttling_gives_up_after_the_last_try() {
    let (endpoint, seen) = scripted(vec![(429, "", ""); 6]).await;
    let err = pusher(&endpoint)
        .post(&conn("a"), b"x")
        .await
        .expect_err("gives up");
    assert!(err.is_internal());
    assert_eq!(seen.lock().expect("log").len(), 5);
}

#[tokio::test]
async fn other_errors_are_internal_and_not_retried() {
    let (tally, _guard) = chat_metrics::for_this_thread(chat_metrics::Keep::Summary);
    let (endpoint, seen) = scripted(vec![
        (403, "x-amzn-errortype: ForbiddenException\r\n", "{}"),
        (200, "", ""),
    ])
    .await;
    let err = pusher(&endpoint)
        .post(&conn("a"), b"x")
        .await
        .expect_err("forbidden");
    assert!(err.is_internal());
    assert_eq!(seen.lock().expect("log").len(), 1);
    assert_eq!(
        tally.snapshot().counter(chat_metrics::names::THROTTLES),
        0,
        "a refusal is no throttle"
    );
}

#[tokio::test]
async fn disconnect_deletes_the_connection() {
    let (endpoint, seen) = scripted(vec![(204, "", "")]).await;
    assert_eq!(
        pusher(&endpoint).disconnect(&conn("abc")).await.ok(),
        Some(PostOutcome::Delivered)
    );
    let seen = seen.lock().expect("log").clone();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("DELETE", "/local/@connections/abc")
    );
}
