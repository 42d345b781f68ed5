//! Tokens: the WebSocket upgrade and the HTTP API refuse a missing, bad or foreign token.

use chat_tests::TestServer;

#[tokio::test]
async fn connecting_without_a_token_is_refused_with_401() {
    let server = TestServer::start().await;
    let refused = server
        .connect_with_query("device=phone")
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.status, 401);
}

#[tokio::test]
async fn connecting_with_a_bad_token_is_refused_with_401() {
    let server = TestServer::start().await;
    for token in ["garbage", "e30.e30.c2ln", ""] {
        let refused = server
            .connect_with_query(&format!("token={token}"))
            .await
            .err()
            .unwrap_or_else(|| panic!("token {token:?} was accepted"));
        assert_eq!(refused.status, 401);
    }
}

#[tokio::test]
async fn a_token_signed_by_another_server_is_refused() {
    let server = TestServer::start().await;
    let other = TestServer::start_with(|config| {
        config.jwt_secret = "another-deployment-secret-another-deployment".to_string();
    })
    .await;
    let foreign = other.token("alice").await;
    let refused = server
        .connect_with_query(&format!("token={foreign}"))
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.status, 401);
}

#[tokio::test]
async fn a_valid_token_connects_and_is_served() {
    let server = TestServer::start().await;
    let mut client = server.connect("alice", "phone").await;
    client.assert_alive().await;
}

#[tokio::test]
async fn the_http_api_answers_401_without_a_valid_token() {
    let server = TestServer::start().await;
    let (status, body) = server.http_anonymous().get("/v1/conversations").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn dev_token_refuses_a_bad_user_id() {
    let server = TestServer::start().await;
    let response = reqwest::Client::new()
        .post(server.http_url("/dev/token"))
        .body(r#"{"user_id":"has:colon"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
}
