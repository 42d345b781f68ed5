//! An HTTP API client: JSON in, `(status, JSON)` out.

use serde_json::Value;

/// A dev token for `user` from `POST {base}/dev/token` (`base` = `http://host:port`).
pub async fn dev_token(base: &str, user: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/dev/token"))
        .json(&serde_json::json!({ "user_id": user }))
        .send()
        .await
        .expect("POST /dev/token");
    assert_eq!(response.status(), 200, "dev token for {user}");
    let body: Value = response.json().await.expect("token JSON");
    body["token"].as_str().expect("a token").to_string()
}

impl HttpClient {
    /// A client for the server at `base` (`http://host:port`).
    pub fn for_base(base: &str, token: Option<String>) -> HttpClient {
        HttpClient::new(reqwest::Client::new(), base.to_string(), token)
    }
}

pub struct HttpClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl HttpClient {
    pub(crate) fn new(http: reqwest::Client, base: String, token: Option<String>) -> HttpClient {
        HttpClient { http, base, token }
    }

    /// `GET path` (path includes `/v1` and any query string).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Any request; the answer must be JSON.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("HTTP request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("HTTP body");
        // `204 No Content` has no body; everything else answers JSON.
        let body = if status == 204 && text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{method} {path} answered non-JSON ({err}): {text}"))
        };
        (status, body)
    }
}
