//! The real `stream` binary, started as Lambda starts it (a Runtime API on loopback, the
//! Lambda environment), writes what one invocation counted as a CloudWatch Embedded Metric
//! Format line on stdout: the path CloudWatch Logs extracts the metrics from. The invocation
//! is a batch with two records that are not messages, which the handler skips and counts
//! without touching any AWS API, so no emulator is needed.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Mutex, mpsc};

const FUNCTION_NAME: &str = "chat-StreamFunction-emf";

/// The Runtime API: one invocation, then polls that never end (the test kills the process).
#[derive(Clone)]
struct RuntimeApi {
    event: Arc<Mutex<Option<Value>>>,
    answers: mpsc::Sender<Value>,
}

async fn next(State(api): State<RuntimeApi>) -> (HeaderMap, String) {
    let Some(event) = api.event.lock().await.take() else {
        std::future::pending::<()>().await;
        unreachable!("pending never ends");
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_static("emf-1"),
    );
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
        + 30_000;
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_str(&deadline.to_string()).expect("digits"),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:000000000000:function:emf"),
    );
    (headers, event.to_string())
}

async fn response(State(api): State<RuntimeApi>, body: Bytes) -> &'static str {
    let answer = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = api.answers.send(answer).await;
    "{}"
}

/// A stream record whose new image is not a message.
fn not_a_message(sequence: &str) -> Value {
    json!({
        "eventID": format!("e{sequence}"),
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/emf-messages/stream/2026-12-02T00:00:00.000",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_764_633_600.0,
            "Keys": { "conversation_id": { "S": "grp:emf" }, "seq": { "N": sequence } },
            "NewImage": { "conversation_id": { "S": "grp:emf" }, "seq": { "N": sequence } },
            "SequenceNumber": sequence,
            "SizeBytes": 40,
            "StreamViewType": "NEW_IMAGE"
        }
    })
}

#[tokio::test]
async fn one_invocation_writes_its_counts_as_an_emf_line() {
    let (answers, mut answered) = mpsc::channel(1);
    let api = RuntimeApi {
        event: Arc::new(Mutex::new(Some(json!({
            "Records": [not_a_message("101"), not_a_message("102")]
        })))),
        answers,
    };
    let router = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stream"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/emf")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "emf")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("TABLE_PREFIX", "emf")
        .env("WEBSOCKET_MANAGEMENT_ENDPOINT", "http://127.0.0.1:9/prod")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the stream binary starts");

    let answer = tokio::time::timeout(Duration::from_secs(30), answered.recv())
        .await
        .expect("the function answered within 30 s")
        .expect("an answer");
    assert_eq!(
        answer["batchItemFailures"],
        json!([]),
        "skipped, not retried"
    );

    // The EMF line is written right after the answer; read stdout until it shows.
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let emf = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.expect("stdout") {
            if let Ok(doc) = serde_json::from_str::<Value>(&line)
                && doc.get("_aws").is_some()
            {
                return doc;
            }
        }
        panic!("stdout ended without an EMF line");
    })
    .await
    .expect("an EMF line within 10 s");
    child.kill().await.expect("kill");

    assert_eq!(emf["StreamRecordsSkipped"], 2, "{emf}");
    assert_eq!(emf["Function"], FUNCTION_NAME);
    assert!(
        emf.get("StreamBatchFailures").is_none(),
        "zeros are left out: {emf}"
    );
    let directive = &emf["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Chat");
    assert_eq!(directive["Dimensions"], json!([["Function"]]));
    assert_eq!(
        directive["Metrics"],
        json!([{ "Name": "StreamRecordsSkipped", "Unit": "Count" }])
    );
    assert!(emf["_aws"]["Timestamp"].as_u64() > Some(1_700_000_000_000));
}
