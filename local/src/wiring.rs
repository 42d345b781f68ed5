//! The one place that decides which handler gets which ports (`backends.rs` picks the adapters
//! behind them), plus what the gateway itself needs: the registry of live sockets, the clock,
//! tokens and timeouts.

use std::net::SocketAddr;
use std::sync::Arc;

use chat_auth::{Secret, TokenIssuer, TokenVerifier};
use chat_handlers::{
    AuthorizerHandler, ConnectHandler, DefaultHandler, DisconnectHandler, GroupFanout,
    HttpApiHandler, ReceiptHandler, SendHandler, StreamHandler, SyncHandler,
};
use chat_ports::{Clock, SystemClock};

use crate::backends::StreamSource;
use crate::config::Config;
use crate::gateway::Registry;
use crate::instruments::{Instruments, InvocationMeter};

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
    /// The messages stream's consumer, on DynamoDB only.
    pub stream: Option<(StreamSource, Arc<StreamHandler>)>,
    pub clock: Arc<dyn Clock>,
    pub idle_timeout: std::time::Duration,
    pub max_connection_age: std::time::Duration,
    /// Times each handler call as a Lambda invocation (the cost bench only).
    pub invocations: Option<InvocationMeter>,
}

impl App {
    pub async fn build(
        config: &Config,
        addr: SocketAddr,
        instruments: &Instruments,
    ) -> anyhow::Result<App> {
        let secret = Secret::parse(&config.jwt_secret)?;
        let issuer_name = config.jwt_issuer.as_deref();
        let verifier = TokenVerifier::hs256(&secret, issuer_name);
        let registry = Arc::new(Registry::default());
        let ports =
            crate::backends::ports(config, &registry, addr, instruments.aws.as_ref()).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Ok(App {
            authorizer: AuthorizerHandler::new(verifier.clone()),
            connect: ConnectHandler {
                connections: ports.connections.clone(),
                users: ports.users.clone(),
                clock: clock.clone(),
            },
            disconnect: DisconnectHandler {
                connections: ports.connections.clone(),
                users: ports.users.clone(),
                clock: clock.clone(),
            },
            send: SendHandler {
                messages: ports.messages.clone(),
                memberships: ports.memberships.clone(),
                connections: ports.connections.clone(),
                pusher: ports.pusher.clone(),
                clock: clock.clone(),
                // One process holds every socket on the embedded store; on DynamoDB the stream
                // fans groups out, as on AWS.
                group_fanout: if ports.stream.is_some() {
                    GroupFanout::Stream
                } else {
                    GroupFanout::Inline
                },
            },
            receipt: ReceiptHandler {
                messages: ports.messages.clone(),
                memberships: ports.memberships.clone(),
                connections: ports.connections.clone(),
                pusher: ports.pusher.clone(),
                clock: clock.clone(),
            },
            sync: SyncHandler {
                messages: ports.messages.clone(),
                memberships: ports.memberships.clone(),
            },
            default: DefaultHandler {
                users: ports.users.clone(),
                clock: clock.clone(),
            },
            http: HttpApiHandler {
                messages: ports.messages.clone(),
                memberships: ports.memberships.clone(),
            },
            issuer: TokenIssuer::hs256(&secret, issuer_name),
            verifier,
            registry,
            stream: ports.stream.clone().map(|source| {
                let handler = StreamHandler {
                    connections: ports.connections.clone(),
                    memberships: ports.memberships.clone(),
                    pusher: ports.pusher.clone(),
                    clock: clock.clone(),
                };
                (source, Arc::new(handler))
            }),
            clock,
            idle_timeout: config.idle_timeout,
            max_connection_age: config.max_connection_age,
            invocations: instruments.invocations.clone(),
        })
    }
}

impl App {
    /// The stream poller to run beside the server, if the backend has a stream.
    pub fn stream_poller(&self) -> Option<crate::streams::StreamPoller> {
        self.stream.as_ref().map(|(source, handler)| {
            crate::streams::StreamPoller::new(
                source.client.clone(),
                source.stream_arn.clone(),
                source.region.clone(),
                handler.clone(),
                self.invocations.clone(),
            )
        })
    }
}
