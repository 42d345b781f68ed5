//! A `chat-local` on `127.0.0.1:0` over its own temporary directory.

use std::net::SocketAddr;

use std::sync::Arc;

use chat_aws::DynamoStore;
use chat_local::{Backend, Config, LocalServer};
use chat_ports::ConnectionStore;

use crate::{HttpClient, Refused, WsClient};

pub struct TestServer {
    server: LocalServer,
    config: Config,
    http: reqwest::Client,
    /// Dropped last: the directory outlives the server.
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A server with the production defaults.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// A server on `--backend aws` against the moto server in `MOTO_ENDPOINT`, over tables of
    /// its own (created now). Fails loudly without an emulator: nothing skips silently.
    pub async fn start_aws() -> TestServer {
        TestServer::start_aws_with(|_| {}).await
    }

    /// [`TestServer::start_aws`] with some settings changed.
    pub async fn start_aws_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let endpoint = std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
            panic!(
                "MOTO_ENDPOINT is not set: the AWS backend tests need a moto server. \
                 Run ./scripts/test, which starts one."
            )
        });
        TestServer::start_with(|config| {
            config.backend = Backend::Aws;
            config.aws_endpoint_url = Some(endpoint);
            config.table_prefix = format!("e2e{:016x}", rand_suffix());
            config.media_bucket = format!("{}-media", config.table_prefix);
            config.create_tables = true;
            adjust(config);
        })
        .await
    }

    /// A server with some settings changed (e.g. a short idle timeout). Silent unless
    /// `TEST_LOG` is set (to a filter such as `info` or `chat_handlers=debug`).
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            // Only the first test of a binary installs it; the others find it there.
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        let dir = tempfile::tempdir().expect("a temporary data dir");
        let mut config = Config::ephemeral(dir.path().to_path_buf());
        adjust(&mut config);
        let server = LocalServer::start(config.clone())
            .await
            .expect("chat-local starts");
        TestServer {
            server,
            config,
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

    /// Creates a group named `name` over the HTTP API, as `owner`, with `members`; answers
    /// its conversation id.
    pub async fn create_group(&self, owner: &str, name: &str, members: &[&str]) -> String {
        let (status, group) = self
            .http_as(owner)
            .await
            .post(
                "/v1/conversations",
                &serde_json::json!({ "name": name, "members": members }),
            )
            .await;
        assert_eq!(status, 201, "creating {name}: {group}");
        group["conversation_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no conversation_id in {group}"))
            .to_string()
    }

    /// The backend's connection store, opened beside the server's (the same DynamoDB
    /// tables): what a test uses to plant a connection that vanished without `$disconnect`,
    /// and to see what fan-out pruned. The embedded backend has none to open: its connections
    /// are the gateway's own sockets, in its memory (`chat_local::MemoryConnections`), so no
    /// connection can vanish behind its back.
    pub async fn connection_store(&self) -> Arc<dyn ConnectionStore> {
        match self.config.backend {
            Backend::Sqlite => panic!(
                "the embedded backend keeps its connections in the gateway's memory: \
                 there is no store to plant one in"
            ),
            Backend::Aws => {
                let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .http_client(chat_aws::https_client(chat_aws::TrustRoots::Platform))
                    .endpoint_url(self.config.aws_endpoint_url.clone().expect("endpoint"))
                    .load()
                    .await;
                let tables = chat_aws::Tables::from_prefix(&self.config.table_prefix);
                Arc::new(DynamoStore::new(
                    aws_sdk_dynamodb::Client::new(&sdk),
                    tables,
                ))
            }
        }
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

/// A random suffix for names other tests do not use.
fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}
