//! Bytes over HTTP(S): one request, one answer (status and body), within a timeout. hyper's
//! pooled client over hyper-rustls with the aws-lc-rs provider and the system's roots (the
//! stack the AWS SDK uses), so `https://` to API Gateway and S3 works with nothing else
//! compiled in. The system roots are read only for `https://`: talking to chat-local over
//! plain HTTP works on a machine without a CA bundle.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use url::Url;

use crate::error::{CliError, cause_chain};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A client for one scheme (`http` or `https`).
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
}

/// An answer: the status and the whole body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl HttpClient {
    /// A client for URLs like `url`; each request (connect to last byte) within `timeout`.
    pub fn for_url(url: &Url, timeout: Duration) -> Result<HttpClient, CliError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = if url.scheme() == "https" {
            builder
                .with_provider_and_native_roots(provider)
                .map_err(|err| {
                    CliError::Network(format!("loading the system's TLS roots: {err}"))
                })?
        } else {
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|err| CliError::Network(format!("setting up TLS: {err}")))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            builder.with_tls_config(config)
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout.min(Duration::from_secs(10))));
        let connector = builder.https_or_http().enable_http1().wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(HttpClient { client, timeout })
    }

    /// Sends `request` and reads the whole answer.
    pub async fn send(&self, request: http::Request<Full<Bytes>>) -> Result<Answer, CliError> {
        let target = format!(
            "{} {}",
            request.method(),
            without_query(&request.uri().to_string())
        );
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|err| CliError::Network(format!("{target}: {}", cause_chain(&err))))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|err| CliError::Network(format!("{target}: reading the answer: {err}")))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                CliError::Timeout(format!("{target}: no answer within {:?}", self.timeout))
            })?
    }
}

/// A URL fit for an error line: presigned query strings are credentials.
fn without_query(uri: &str) -> &str {
    uri.split('?').next().unwrap_or(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_show_a_query_string() {
        assert_eq!(
            without_query("http://h/blob?X-Amz-Signature=secret"),
            "http://h/blob"
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_a_network_error() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = Url::parse(&format!(
            "http://{}/v1/me",
            closed.local_addr().expect("addr")
        ))
        .expect("url");
        drop(closed);
        let client = HttpClient::for_url(&url, Duration::from_secs(5)).expect("client");
        let request = http::Request::get(url.as_str())
            .body(Full::default())
            .expect("request");
        let err = client.send(request).await.expect_err("nobody listens");
        assert!(matches!(err, CliError::Network(_)), "{err:?}");
    }
}
