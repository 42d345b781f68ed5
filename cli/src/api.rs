//! The HTTP side: the `/v1` API with the profile's bearer token, `POST /dev/token` on
//! chat-local, and the PUT of an upload's bytes to its presigned URL. Answers are JSON values
//! (the `--json` output prints them as the server sent them); refusals become
//! [`CliError::Server`] with the protocol's code from `{"error": {"code", "message"}}`, or from
//! the status when something in front of the server (API Gateway) answered without one.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http_body_util::Full;
use serde_json::Value;
use url::Url;

use crate::config::Profile;
use crate::error::CliError;
use crate::http_client::{Answer, HttpClient};

const AGENT: &str = concat!("chat-cli/", env!("CARGO_PKG_VERSION"));

/// A client for one server, as one user (or nobody, for `/dev/token`).
#[derive(Debug, Clone)]
pub struct Api {
    http: HttpClient,
    base: Url,
    token: Option<String>,
    timeout: Duration,
}

impl Api {
    /// A client for the server at `base` (`http://127.0.0.1:3001`); every request times out
    /// after `timeout`.
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Result<Api, CliError> {
        let base = parse_base(base)?;
        crate::tls::install_crypto_provider();
        let http = HttpClient::for_url(&base, timeout)?;
        Ok(Api {
            http,
            base,
            token,
            timeout,
        })
    }

    pub fn for_profile(profile: &Profile, timeout: Duration) -> Result<Api, CliError> {
        Api::new(&profile.http_url, Some(profile.token.clone()), timeout)
    }

    /// `base` + the path segments (each percent-encoded) + the query.
    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    pub async fn get(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Value, CliError> {
        self.call(Method::GET, self.url(segments, query), None)
            .await
    }

    pub async fn post(&self, segments: &[&str], body: &Value) -> Result<Value, CliError> {
        self.call(Method::POST, self.url(segments, &[]), Some(body))
            .await
    }

    pub async fn delete(&self, segments: &[&str]) -> Result<Value, CliError> {
        self.call(Method::DELETE, self.url(segments, &[]), None)
            .await
    }

    /// A dev token for `user` from chat-local's `POST /dev/token`.
    pub async fn dev_token(&self, user: &str) -> Result<String, CliError> {
        let answer = self
            .post(&["dev", "token"], &serde_json::json!({ "user_id": user }))
            .await?;
        answer["token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| CliError::protocol(format!("no token in {answer}")))
    }

    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(USER_AGENT, AGENT);
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Full::from(body.to_string())
            }
            None => Full::default(),
        };
        let request = request
            .body(body)
            .map_err(|err| CliError::usage(format!("a request to {url}: {err}")))?;
        let Answer { status, body } = self.http.send(request).await?;
        if (200..300).contains(&status) {
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&body).map_err(|err| {
                CliError::protocol(format!("HTTP {status} with a non-JSON body: {err}"))
            });
        }
        Err(refusal(status, &String::from_utf8_lossy(&body)))
    }

    /// PUTs `bytes` to a presigned `url` with exactly `headers` (what `POST /v1/media`
    /// answered: they are signed, so nothing may be added or changed), within `timeout`.
    pub async fn put_upload(
        &self,
        url: &str,
        headers: &[(String, String)],
        bytes: Vec<u8>,
        timeout: Duration,
    ) -> Result<(), CliError> {
        let url =
            Url::parse(url).map_err(|err| CliError::protocol(format!("upload_url: {err}")))?;
        let client = if url.scheme() == self.base.scheme() && timeout == self.timeout {
            self.http.clone()
        } else {
            HttpClient::for_url(&url, timeout)?
        };
        let mut request = http::Request::put(url.as_str());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|err| CliError::protocol(format!("upload_headers: {err}")))?;
        let Answer { status, body } = client.send(request).await?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&body).into_owned();
        Err(CliError::UploadRefused {
            status,
            code: xml_field(&text, "Code").unwrap_or_else(|| "unknown".to_string()),
            message: xml_field(&text, "Message").unwrap_or(text),
        })
    }
}

fn parse_base(base: &str) -> Result<Url, CliError> {
    let url =
        Url::parse(base).map_err(|err| CliError::usage(format!("bad URL {base:?}: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(CliError::usage(format!(
            "bad URL {base:?}: the HTTP API's URL starts with http:// or https://"
        )));
    }
    Ok(url)
}

/// The error of a non-2xx answer: the contract's body where there is one, else the status.
fn refusal(status: u16, text: &str) -> CliError {
    let body: Option<Value> = serde_json::from_str(text).ok();
    if let Some(error) = body.as_ref().and_then(|b| b.get("error"))
        && let Some(code) = error["code"].as_str()
    {
        let message = error["message"].as_str().unwrap_or(code);
        return CliError::server(code, message);
    }
    // API Gateway's own answers carry only `{"message": …}` (401, 403, 429, 5xx).
    let message = body
        .as_ref()
        .and_then(|b| b["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("HTTP {status}"));
    let code = match status {
        400 | 405 | 422 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        413 => "too_large",
        429 => "rate_limited",
        _ => "internal",
    };
    CliError::server(code, message)
}

/// The text of `<name>…</name>` in S3's XML error body.
fn xml_field(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::ErrorCode;

    #[test]
    fn the_contracts_error_body_wins_over_the_status() {
        let err = refusal(
            403,
            r#"{"error":{"code":"forbidden","message":"you are not a member"}}"#,
        );
        assert_eq!(err.code(), Some(ErrorCode::Forbidden));
        assert_eq!(err.to_string(), "you are not a member (forbidden)");
        let gateway = refusal(429, r#"{"message":"Too Many Requests"}"#);
        assert_eq!(gateway.code(), Some(ErrorCode::RateLimited));
    }

    #[test]
    fn path_segments_are_encoded() {
        let api = Api::new("http://127.0.0.1:1/", None, Duration::from_secs(1)).expect("api");
        let url = api.url(
            &["v1", "conversations", "dm:a:b", "messages"],
            &[("limit", "5".into())],
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/v1/conversations/dm:a:b/messages?limit=5"
        );
        let odd = api.url(&["v1", "users", "a/b"], &[]);
        assert_eq!(odd.path(), "/v1/users/a%2Fb");
    }

    #[test]
    fn s3_errors_are_read_from_their_xml() {
        let xml = "<Error><Code>BadDigest</Code><Message>The sha256 you specified did not match.</Message></Error>";
        assert_eq!(xml_field(xml, "Code").as_deref(), Some("BadDigest"));
        assert!(xml_field(xml, "Message").is_some_and(|m| m.contains("did not match")));
    }

    #[test]
    fn only_http_urls_are_bases() {
        assert!(parse_base("ws://x/local").is_err());
        assert!(parse_base("not a url").is_err());
        assert!(parse_base("https://abc.execute-api.eu-west-1.amazonaws.com").is_ok());
    }
}
