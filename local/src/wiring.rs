//! The one place that decides which adapter feeds which handler. Locally: the embedded store for
//! every storage port, the gateway's own connection registry as the push port, the system clock.

use std::sync::Arc;

use chat_auth::{Secret, TokenIssuer, TokenVerifier};
use chat_handlers::{
    AuthorizerHandler, ConnectHandler, DefaultHandler, DisconnectHandler, HttpApiHandler,
    ReceiptHandler, SendHandler, SyncHandler,
};
use chat_ports::{Clock, SystemClock};
use chat_store_sqlite::SqliteStore;

use crate::config::Config;
use crate::gateway::Registry;

/// Every handler, built once, plus what the gateway itself needs.
pub(crate) struct App {
    pub authorizer: AuthorizerHandler,
    pub connect: ConnectHandler,
    pub disconnect: DisconnectHandler,
    pub send: SendHandler,
    pub receipt: ReceiptHandler,
    pub sync: SyncHandler,
    pub default: DefaultHandler,
    pub http: HttpApiHandler,
    /// Signs `POST /dev/token` answers (local only).
    pub issuer: TokenIssuer,
    /// Checks bearer tokens on the HTTP API, as API Gateway's JWT authorizer does.
    pub verifier: TokenVerifier,
    pub registry: Arc<Registry>,
    pub clock: Arc<dyn Clock>,
    pub idle_timeout: std::time::Duration,
    pub max_connection_age: std::time::Duration,
}

impl App {
    pub async fn build(config: &Config) -> anyhow::Result<App> {
        let secret = Secret::parse(&config.jwt_secret)?;
        let issuer_name = config.jwt_issuer.as_deref();
        let verifier = TokenVerifier::hs256(&secret, issuer_name);
        let data_dir = config.data_dir.clone();
        // Opening creates the directory and the schema: blocking file I/O, done once.
        let store =
            Arc::new(tokio::task::spawn_blocking(move || SqliteStore::open(&data_dir)).await??);
        let registry = Arc::new(Registry::default());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Ok(App {
            authorizer: AuthorizerHandler::new(verifier.clone()),
            connect: ConnectHandler {
                connections: store.clone(),
                users: store.clone(),
                clock: clock.clone(),
            },
            disconnect: DisconnectHandler {
                connections: store.clone(),
                users: store.clone(),
                clock: clock.clone(),
            },
            send: SendHandler {
                messages: store.clone(),
                memberships: store.clone(),
                connections: store.clone(),
                pusher: registry.clone(),
                clock: clock.clone(),
            },
            receipt: ReceiptHandler {
                messages: store.clone(),
                memberships: store.clone(),
                connections: store.clone(),
                pusher: registry.clone(),
                clock: clock.clone(),
            },
            sync: SyncHandler {
                messages: store.clone(),
                memberships: store.clone(),
            },
            default: DefaultHandler {
                users: store.clone(),
                clock: clock.clone(),
            },
            http: HttpApiHandler {
                messages: store.clone(),
                memberships: store,
            },
            issuer: TokenIssuer::hs256(&secret, issuer_name),
            verifier,
            registry,
            clock,
            idle_timeout: config.idle_timeout,
            max_connection_age: config.max_connection_age,
        })
    }
}
