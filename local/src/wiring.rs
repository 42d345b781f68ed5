//! The one place that decides which handler gets which ports (`backends.rs` picks the adapters
//! behind them), plus what the gateway itself needs: the registry of live sockets, the clock,
//! tokens and timeouts.

use std::net::SocketAddr;
use std::sync::Arc;

use chat_auth::{Secret, TokenIssuer, TokenVerifier};
use chat_handlers::{
    Activity, AuthorizerHandler, ConnectHandler, DefaultHandler, Delivery, DisconnectHandler,
    HttpApiHandler, MediaChecker, Notifier, PresenceHandler, RecallHandler, ReceiptHandler,
    SendHandler, StreamHandler, SyncHandler, TypingHandler, TypingThrottle,
};
use chat_imaging::RasterImages;
use chat_ports::{BlobStore, Clock, SystemClock};

use crate::backends::Changes;
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
    pub presence: PresenceHandler,
    pub typing: TypingHandler,
    pub recall: RecallHandler,
    pub sync: SyncHandler,
    pub default: DefaultHandler,
    pub http: HttpApiHandler,
    /// Signs `POST /dev/token` answers (local only).
    pub issuer: TokenIssuer,
    /// Checks bearer tokens on the HTTP API, as API Gateway's JWT authorizer does.
    pub verifier: TokenVerifier,
    pub registry: Arc<Registry>,
    /// The consumer of the ordered message changes (the feed, or the DynamoDB stream).
    pub stream: Arc<StreamHandler>,
    pub clock: Arc<dyn Clock>,
    pub idle_timeout: std::time::Duration,
    pub max_connection_age: std::time::Duration,
    /// Times each handler call as a Lambda invocation (the cost bench only).
    pub invocations: Option<InvocationMeter>,
    /// Throttling of `@connections` posts, when a test asks for it.
    pub throttle: crate::faults::Throttle,
    /// What push would have sent (`GET /dev/pushes`).
    pub pushes: Arc<crate::pushes::PushLog>,
    /// chat-local's own media URLs (the embedded backend), served at `/local-media/`.
    pub local_blobs: Option<Arc<crate::blobs::LocalBlobStore>>,
}

impl App {
    /// Every handler, and the source of changes its stream handler is to be fed from.
    pub async fn build(
        config: &Config,
        addr: SocketAddr,
        instruments: &Instruments,
    ) -> anyhow::Result<(App, Changes)> {
        let secret = Secret::parse(&config.jwt_secret)?;
        let issuer_name = config.jwt_issuer.as_deref();
        let verifier = TokenVerifier::hs256(&secret, issuer_name);
        let registry = Arc::new(Registry::default());
        let ports =
            crate::backends::ports(config, &registry, addr, instruments.aws.as_ref()).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // One process holds every socket on the embedded store, and its feed is in commit
        // order: everything goes out from there. On DynamoDB, as on AWS, `send` pushes direct
        // messages and the stream the groups.
        let delivery = match ports.changes {
            Changes::Feed(_) => Delivery::Feed,
            Changes::Stream(_) => Delivery::DirectInline,
        };
        let settings = config.settings();
        // The `media` Lambda's check, run here after each upload.
        let checker = Arc::new(MediaChecker {
            media: ports.media.clone(),
            blobs: ports.blobs.clone(),
            images: Arc::new(RasterImages::default()),
        });
        let mut ports = ports;
        // The check runs until the store's upload channel closes (the server stopped).
        let upload_checks = ports.uploads.take().map(|uploads| {
            crate::uploads::check_uploads(uploads, checker.clone(), instruments.invocations.clone())
        });
        // Without chat-local's own URLs nothing tells it of an upload: watch the URLs it hands out.
        let presigning: Arc<dyn BlobStore> = if upload_checks.is_some() {
            ports.blobs.clone()
        } else {
            Arc::new(crate::uploads::Watched {
                inner: ports.blobs.clone(),
                checker,
                clock: clock.clone(),
                invocations: instruments.invocations.clone(),
            })
        };
        // One per process, as in a Lambda container: last seen on activity at most once a
        // minute per user.
        let activity = Arc::new(Activity::new(&settings));
        let app = App {
            authorizer: AuthorizerHandler::new(verifier.clone()),
            connect: ConnectHandler {
                connections: ports.connections.clone(),
                users: ports.users.clone(),
                watches: ports.watches.clone(),
                pusher: ports.pusher.clone(),
                clock: clock.clone(),
                settings,
            },
            disconnect: DisconnectHandler {
                connections: ports.connections.clone(),
                users: ports.users.clone(),
                watches: ports.watches.clone(),
                pusher: ports.pusher.clone(),
                clock: clock.clone(),
                settings,
            },
            send: SendHandler {
                messages: ports.messages.clone(),
                memberships: ports.memberships.clone(),
                groups: ports.groups.clone(),
                connections: ports.connections.clone(),
                pusher: ports.pusher.clone(),
                clock: clock.clone(),
                delivery,
                media: ports.media.clone(),
                quota: ports.quota.clone(),
            },
            receipt: ReceiptHandler {
                messages: ports.messages.clone(),
                memberships: ports.memberships.clone(),
                groups: ports.groups.clone(),
                connections: ports.connections.clone(),
                pusher: ports.pusher.clone(),
                clock: clock.clone(),
            },
            presence: PresenceHandler {
                users: ports.users.clone(),
                connections: ports.connections.clone(),
                memberships: ports.memberships.clone(),
                watches: ports.watches.clone(),
                pusher: ports.pusher.clone(),
                clock: clock.clone(),
                settings,
            },
            typing: TypingHandler {
                memberships: ports.memberships.clone(),
                groups: ports.groups.clone(),
                connections: ports.connections.clone(),
                pusher: ports.pusher.clone(),
                clock: clock.clone(),
                settings,
                throttle: Arc::new(TypingThrottle::default()),
            },
            recall: RecallHandler {
                messages: ports.messages.clone(),
                memberships: ports.memberships.clone(),
                connections: ports.connections.clone(),
                pusher: ports.pusher.clone(),
                clock: clock.clone(),
                settings,
                delivery,
                media: ports.media.clone(),
                blobs: ports.blobs.clone(),
            },
            sync: SyncHandler {
                messages: ports.messages.clone(),
                memberships: ports.memberships.clone(),
                hidden: ports.hidden.clone(),
            },
            default: DefaultHandler {
                users: ports.users.clone(),
                activity,
                clock: clock.clone(),
            },
            http: HttpApiHandler {
                messages: ports.messages.clone(),
                memberships: ports.memberships.clone(),
                groups: ports.groups.clone(),
                users: ports.users.clone(),
                connections: ports.connections.clone(),
                hidden: ports.hidden.clone(),
                pusher: ports.pusher.clone(),
                media: ports.media.clone(),
                blobs: presigning,
                devices: ports.devices.clone(),
                push: ports.push.clone(),
                clock: clock.clone(),
                settings,
            },
            issuer: TokenIssuer::hs256(&secret, issuer_name),
            verifier,
            registry,
            stream: Arc::new(StreamHandler {
                connections: ports.connections.clone(),
                memberships: ports.memberships.clone(),
                pusher: ports.pusher.clone(),
                clock: clock.clone(),
                delivery,
                notifier: Some(Arc::new(Notifier {
                    memberships: ports.memberships.clone(),
                    messages: ports.messages.clone(),
                    users: ports.users.clone(),
                    connections: ports.connections.clone(),
                    devices: ports.devices.clone(),
                    ledger: ports.ledger.clone(),
                    push: ports.push.clone(),
                    clock: clock.clone(),
                    settings,
                })),
            }),
            clock,
            idle_timeout: config.idle_timeout,
            max_connection_age: config.max_connection_age,
            invocations: instruments.invocations.clone(),
            throttle: crate::faults::Throttle::every(config.fault_throttle_every),
            pushes: ports.pushes.clone(),
            local_blobs: ports.local_blobs.clone(),
        };
        Ok((app, ports.changes))
    }

    /// Starts feeding the stream handler from `changes`: the embedded feed's pump, or the
    /// DynamoDB stream poller (whose iterators are taken before this returns, so that no
    /// message written after it goes unfanned).
    pub async fn start_fanout(
        &self,
        changes: Changes,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        match changes {
            Changes::Feed(feed) => Ok(crate::streams::feed::spawn(
                feed,
                self.stream.clone(),
                self.invocations.clone(),
            )),
            Changes::Stream(source) => {
                let mut poller = crate::streams::StreamPoller::new(
                    source.client,
                    source.stream_arn,
                    source.region,
                    self.stream.clone(),
                    self.invocations.clone(),
                );
                poller.start().await?;
                Ok(tokio::spawn(poller.run()))
            }
        }
    }
}
