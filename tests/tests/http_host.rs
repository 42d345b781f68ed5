//! What chat-local does in front of the HTTP API handler, as API Gateway does: the headers it
//! sets itself do not come from the client, and a body it cannot take is refused with the
//! protocol's error body.

use chat_tests::TestServer;
use serde_json::Value;

#[tokio::test]
async fn a_malformed_host_or_forwarded_proto_header_is_not_passed_on() {
    let server = TestServer::start().await;
    let token = server.token("alice").await;
    let http = reqwest::Client::new();
    // `lambda_http` builds the request's URI from these two and panicked on ones it could not
    // parse: the connection closed without an answer.
    for (name, value) in [
        ("host", "a b"),
        ("host", "%%%"),
        ("x-forwarded-proto", "a b"),
    ] {
        let response = http
            .get(server.http_url("/v1/me"))
            .bearer_auth(&token)
            .header(name, value)
            .send()
            .await
            .unwrap_or_else(|err| panic!("{name}: {value} got no answer: {err}"));
        assert_eq!(response.status(), 200, "{name}: {value}");
        let me: Value = response.json().await.expect("JSON");
        assert_eq!(me["user_id"], "alice");
    }
}

#[tokio::test]
async fn a_body_over_the_hosts_limit_is_too_large_in_the_error_body() {
    let server = TestServer::start().await;
    let token = server.token("alice").await;
    let response = reqwest::Client::new()
        .post(server.http_url("/v1/conversations"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"name": "big", "pad": "{}"}}"#,
            "x".repeat(3 << 20)
        ))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_TYPE],
        "application/json"
    );
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"]["code"], "too_large", "{body}");
}
