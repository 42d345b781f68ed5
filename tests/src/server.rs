//! A `chat-local` on `127.0.0.1:0` over its own temporary directory.

use std::net::SocketAddr;

use chat_local::{Config, LocalServer};

use crate::{HttpClient, Refused, WsClient};

pub struct TestServer {
    server: LocalServer,
    http: reqwest::Client,
    /// Dropped last: the directory outlives the server.
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A server with the production defaults.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// A server with some settings changed (e.g. a short idle timeout).
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("a temporary data dir");
        let mut config = Config::ephemeral(dir.path().to_path_buf());
        adjust(&mut config);
        let server = LocalServer::start(config).await.expect("chat-local starts");
        TestServer {
            server,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// The `@connections` endpoint, as the SDK's `endpoint_url` (the stage included).
    pub fn management_endpoint(&self) -> String {
        format!("http://{}/local", self.addr())
    }

    /// A dev token for `user` from `POST /dev/token`.
    pub async fn token(&self, user: &str) -> String {
        crate::dev_token(&format!("http://{}", self.addr()), user).await
    }

    /// Connects `user` from `device` with a fresh dev token; panics if refused.
    pub async fn connect(&self, user: &str, device: &str) -> WsClient {
        let token = self.token(user).await;
        self.connect_with_query(&format!("token={token}&device={device}"))
            .await
            .expect("the upgrade is accepted")
    }

    /// Connects with a raw query string (for the refusal tests).
    pub async fn connect_with_query(&self, query: &str) -> Result<WsClient, Refused> {
        WsClient::connect(&format!("ws://{}/local?{query}", self.addr())).await
    }

    /// An HTTP API client for `user`.
    pub async fn http_as(&self, user: &str) -> HttpClient {
        let token = self.token(user).await;
        HttpClient::new(
            self.http.clone(),
            format!("http://{}", self.addr()),
            Some(token),
        )
    }

    /// An HTTP API client without a token.
    pub fn http_anonymous(&self) -> HttpClient {
        HttpClient::new(self.http.clone(), format!("http://{}", self.addr()), None)
    }
}
