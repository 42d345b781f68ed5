//! Every scenario's smoke, run by the README's test command so that none can rot: a few
//! clients for a couple of seconds. Only correctness is checked (nothing lost, nothing
//! duplicated, every figure written); timings are never asserted.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs `chat-bench <args> --json <file>`, requires success, and answers the figures written.
fn run_bench<I, A>(args: I) -> Value
where
    I: IntoIterator<Item = A>,
    A: AsRef<OsStr>,
{
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json = dir.path().join("figures.json");
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-bench"));
    command.args(args).arg("--json").arg(&json);
    let output = command.output().expect("chat-bench runs");
    assert!(
        output.status.success(),
        "{command:?} failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(&json).expect("--json was written")).expect("JSON")
}

#[test]
fn load_smoke_delivers_every_message_exactly_once() {
    let figures = run_bench(["load", "--smoke"]);
    let steps = figures["steps"].as_array().expect("steps");
    let targets: Vec<&str> = steps.iter().filter_map(|s| s["target"].as_str()).collect();
    assert_eq!(targets, ["relay", "chat-local"], "one step on each target");
    for step in steps {
        assert!(
            step["sent"].as_u64() > Some(0),
            "the step sent messages: {step}"
        );
        assert_eq!(
            step["delivered"], step["sent"],
            "every message delivered: {step}"
        );
        assert_eq!(
            step["acked"], step["sent"],
            "every message acknowledged: {step}"
        );
    }
    for target in figures["correctness"].as_array().expect("correctness") {
        assert_eq!(target["lost"], 0, "{target}");
        assert_eq!(target["duplicated"], 0, "{target}");
    }
    assert!(figures["fsync"]["syncs"].as_u64() > Some(0));
}

#[test]
fn fanout_smoke_times_both_lookups_and_delivers_each_message_once() {
    let figures = run_bench(["fanout", "--smoke"]);
    let rows = figures["figures"].as_array().expect("figures");
    let designs: Vec<&str> = rows.iter().filter_map(|r| r["design"].as_str()).collect();
    assert_eq!(designs, ["batched", "per-member"]);
    for row in rows {
        // The run fails unless every member got every message once; here the timings exist.
        assert_eq!(
            row["send_to_last_ms"].as_array().map(Vec::len),
            Some(2),
            "{row}"
        );
        assert_eq!(
            row["ack_to_last_ms"].as_array().map(Vec::len),
            Some(2),
            "{row}"
        );
    }
}

#[test]
fn coldstart_smoke_measures_the_authorizer_send_and_the_reference() {
    let bench = Path::new(env!("CARGO_BIN_EXE_chat-bench"));
    let bin_dir = bench.parent().expect("the target directory");
    assert!(
        bin_dir.join("authorizer").exists(),
        "{} has no `authorizer` binary: run ./scripts/test, which builds every binary first \
         (cargo build --workspace --bins)",
        bin_dir.display()
    );
    let endpoint = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run ./scripts/test, which starts moto");
    let figures = run_bench([
        OsStr::new("coldstart"),
        OsStr::new("--smoke"),
        OsStr::new("--bin-dir"),
        bin_dir.as_os_str(),
        OsStr::new("--aws-endpoint"),
        OsStr::new(&endpoint),
    ]);
    let functions = figures["functions"].as_array().expect("functions");
    let names: Vec<&str> = functions
        .iter()
        .filter_map(|f| f["function"].as_str())
        .collect();
    assert_eq!(names, ["authorizer", "send", "hello-lambda"]);
    for function in functions {
        // Each cold start reached the Runtime API and answered its one invocation; `send`,
        // configured from the Lambda environment alone, stored the message on moto and acked
        // it (the second cold start's retry of the same client_msg_id too).
        assert!(function["init_ms_p50"].as_f64().is_some(), "{function}");
        let answer = match function["function"].as_str() {
            Some("send") => "response (ack)",
            _ => "response",
        };
        assert_eq!(
            function["answers"],
            serde_json::json!([answer, answer]),
            "{function}"
        );
    }
}

/// The cost scenario on moto (`MOTO_ENDPOINT`, started by ./scripts/test): every design carried
/// its messages, 1:1 and in a group, the meter counted what each design is known to send, and
/// the prices add up.
#[test]
fn cost_smoke_meters_ours_and_the_baselines_direct_and_in_a_group() {
    let endpoint = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run ./scripts/test, which starts moto");
    let figures = run_bench(["cost", "--smoke", "--aws-endpoint", &endpoint]);
    let runs = figures["runs"].as_array().expect("runs");
    let design = |name: &str| {
        runs.iter()
            .find(|r| r["design"] == name)
            .unwrap_or_else(|| panic!("no {name} run in {figures}"))
    };
    let ours = design("ours");
    let steady = &ours["phases"]["steady"];
    assert_eq!(steady["messages"], 4, "{steady}");
    // A direct append is no transaction: the newest message read, then the idempotency claim
    // and the message put; and the peer's message posted once each.
    let ops = &steady["aws"]["operations"];
    assert!(ops["DynamoDB.TransactWriteItems"].is_null(), "{ops}");
    assert_eq!(ops["DynamoDB.PutItem"]["requests"], 8, "{ops}");
    assert_eq!(ops["DynamoDB.Query"]["requests"], 4, "{ops}");
    assert_eq!(
        ops["ApiGatewayManagementApi.PostToConnection"]["requests"], 4,
        "{ops}"
    );
    assert_eq!(steady["lambda"]["send"]["invocations"], 4, "{steady}");
    // Nothing updated: a 1:1 sender's own messages count as read through the newest message,
    // not a mark, and last seen is not written by `send`.
    assert!(ops["DynamoDB.UpdateItem"].is_null(), "{ops}");
    // send in, ack out, message out: three API Gateway messages each.
    assert_eq!(steady["api_gateway_messages"], 12, "{steady}");
    let per = &ours["per_message"];
    // Claim 1 + message 1.
    assert_eq!(per["write_units"].as_f64(), Some(2.0), "{per}");
    // The newest message, eventually consistent: half a unit each.
    assert_eq!(
        ops["DynamoDB.Query"]["read_units"].as_f64(),
        Some(2.0),
        "{ops}"
    );
    // No key read: the conversations are open (no membership look), and the stream's push
    // check finds no device before it would read whether the recipient muted the chat.
    assert!(ops["DynamoDB.GetItem"].is_null(), "{ops}");

    // Scan-all: one Scan and a post to each of the 4 connections per message.
    let scan = &design("scan-all broadcast")["phases"]["steady"]["aws"]["operations"];
    assert_eq!(scan["DynamoDB.Scan"]["requests"], 4, "{scan}");
    assert_eq!(
        scan["ApiGatewayManagementApi.PostToConnection"]["requests"], 16,
        "{scan}"
    );
    // Inbox: one PutItem per member per message.
    let inbox = &design("inbox fan-out")["phases"]["steady"]["aws"]["operations"];
    assert_eq!(inbox["DynamoDB.PutItem"]["requests"], 8, "{inbox}");

    // The group (smoke: 8 members, 4 online, 2 messages from u0 and u1, receipts from u2
    // and u3). Ours: one append per message whatever the size, each posted to the 3 other
    // online devices; a receipt is one mark write, posted to
    // the 2 senders.
    let groups = figures["groups"].as_array().expect("groups");
    let group = |name: &str| {
        groups
            .iter()
            .find(|g| g["design"] == name)
            .unwrap_or_else(|| panic!("no {name} group in {figures}"))
    };
    let ours = &group("ours")["phases"];
    let message = &ours["message"]["aws"]["operations"];
    assert_eq!(ours["message"]["messages"], 2, "{ours}");
    assert_eq!(
        message["DynamoDB.TransactWriteItems"]["requests"], 2,
        "{message}"
    );
    assert_eq!(
        message["ApiGatewayManagementApi.PostToConnection"]["requests"], 6,
        "{message}"
    );
    let receipt = &ours["receipt"]["aws"]["operations"];
    assert_eq!(ours["receipt"]["messages"], 2, "{ours}");
    // One mark write a receipt (the reader's last seen is written by `ping` only).
    assert_eq!(receipt["DynamoDB.UpdateItem"]["requests"], 2, "{receipt}");
    assert!(
        receipt["DynamoDB.TransactWriteItems"].is_null(),
        "{receipt}"
    );
    assert_eq!(
        receipt["ApiGatewayManagementApi.PostToConnection"]["requests"], 4,
        "{receipt}"
    );
    // Inbox: 8 copies of each message (one BatchWriteItem), 8 connection queries and the
    // member page; a receipt covering 3 messages marks 3 copies and 3 counters.
    let inbox = &group("inbox fan-out")["phases"];
    let message = &inbox["message"]["aws"]["operations"];
    assert_eq!(
        message["DynamoDB.BatchWriteItem"]["requests"], 2,
        "{message}"
    );
    assert_eq!(message["DynamoDB.Query"]["requests"], 18, "{message}");
    assert!(
        message["DynamoDB.BatchWriteItem"]["write_units"].as_f64() >= Some(16.0),
        "{message}"
    );
    let receipt = &inbox["receipt"]["aws"]["operations"];
    assert_eq!(receipt["DynamoDB.UpdateItem"]["requests"], 12, "{receipt}");

    let priced = runs.iter().map(|r| &r["per_message"]).chain(
        groups
            .iter()
            .flat_map(|g| [&g["per_creation"], &g["per_message"], &g["per_receipt"]]),
    );
    for per in priced {
        let d = &per["dollars_per_million"];
        let parts: f64 = [
            "dynamodb",
            "api_gateway_messages",
            "api_gateway_connection_minutes",
            "lambda",
            "sns",
            "s3",
            "http_api",
        ]
        .iter()
        .map(|k| d[*k].as_f64().expect("a price"))
        .sum();
        let total = d["total"].as_f64().expect("a total");
        assert!(total > 0.0 && (total - parts).abs() < 1e-9, "{d}");
    }
}
