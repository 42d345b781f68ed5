//! The adapters behind the ports, per `--backend`: the embedded store, or the Lambdas' own AWS
//! adapters (DynamoDB, and the management API pusher pointed at this server's `@connections`
//! endpoint, so the real push adapter and the real SDK carry every frame).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use chat_aws::{
    ApiGatewayPusher, DynamoStore, RequestMeter, Tables, create_tables, management_client_metered,
};
use chat_ports::{
    ChatStore, ConnectionPusher, ConnectionStore, GroupStore, HiddenStore, MembershipStore,
    MessageStore, UserStore, WatchStore,
};
use chat_store_sqlite::{Change, SqliteStore};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::config::{Backend, Config};
use crate::faults::PerUserLookups;
use crate::gateway::Registry;
use crate::router::STAGE;
use crate::streams::StreamPoller;

/// Every port a handler may need, from one backend.
pub(crate) struct Ports {
    pub connections: Arc<dyn ConnectionStore>,
    pub messages: Arc<dyn MessageStore>,
    pub memberships: Arc<dyn MembershipStore>,
    pub groups: Arc<dyn GroupStore>,
    pub users: Arc<dyn UserStore>,
    pub watches: Arc<dyn WatchStore>,
    pub hidden: Arc<dyn HiddenStore>,
    pub pusher: Arc<dyn ConnectionPusher>,
    /// Where the stream handler's records come from.
    pub changes: Changes,
}

/// The ordered source of message changes that the stream handler fans out.
pub(crate) enum Changes {
    /// The embedded store's change feed: every message, direct and group.
    Feed(UnboundedReceiver<Change>),
    /// The messages table's DynamoDB stream: group messages (`send` pushes direct ones).
    Stream(StreamSource),
}

/// Where the stream poller reads.
#[derive(Clone)]
pub(crate) struct StreamSource {
    pub client: aws_sdk_dynamodbstreams::Client,
    pub stream_arn: String,
    pub region: String,
}

impl Ports {
    fn from_store<S>(store: Arc<S>, pusher: Arc<dyn ConnectionPusher>, changes: Changes) -> Ports
    where
        S: ChatStore + 'static,
    {
        Ports {
            connections: store.clone(),
            messages: store.clone(),
            memberships: store.clone(),
            groups: store.clone(),
            users: store.clone(),
            watches: store.clone(),
            hidden: store,
            pusher,
            changes,
        }
    }
}

pub(crate) async fn ports(
    config: &Config,
    registry: &Arc<Registry>,
    addr: SocketAddr,
    meter: Option<&RequestMeter>,
) -> anyhow::Result<Ports> {
    let mut ports = backend_ports(config, registry, addr, meter).await?;
    if config.naive_fanout_lookups {
        ports.connections = Arc::new(PerUserLookups(ports.connections));
    }
    Ok(ports)
}

async fn backend_ports(
    config: &Config,
    registry: &Arc<Registry>,
    addr: SocketAddr,
    meter: Option<&RequestMeter>,
) -> anyhow::Result<Ports> {
    match config.backend {
        Backend::Sqlite => {
            let data_dir = config.data_dir.clone();
            // Opening creates the directory and the schema: blocking file I/O, done once.
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&data_dir)).await??;
            let changes = Changes::Feed(store.changes()?);
            Ok(Ports::from_store(
                Arc::new(store),
                registry.clone(),
                changes,
            ))
        }
        Backend::Aws => aws_ports(config, addr, meter).await,
    }
}

async fn aws_ports(
    config: &Config,
    addr: SocketAddr,
    meter: Option<&RequestMeter>,
) -> anyhow::Result<Ports> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = &config.aws_endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let sdk_config = loader.load().await;
    let mut dynamodb_config = aws_sdk_dynamodb::config::Builder::from(&sdk_config);
    let mut streams_config = aws_sdk_dynamodbstreams::config::Builder::from(&sdk_config);
    if let Some(meter) = meter {
        dynamodb_config = dynamodb_config.interceptor(meter.clone());
        streams_config = streams_config.interceptor(meter.clone());
    }
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(dynamodb_config.build());
    let tables = Tables::from_prefix(&config.table_prefix);
    if config.create_tables {
        create_tables(&dynamodb, &tables)
            .await
            .with_context(|| format!("creating the {}-* tables", config.table_prefix))?;
    }
    let stream_arn = StreamPoller::stream_arn_of(&dynamodb, &tables.messages).await?;
    let stream = StreamSource {
        client: aws_sdk_dynamodbstreams::Client::from_conf(streams_config.build()),
        stream_arn,
        region: sdk_config
            .region()
            .map_or_else(|| "us-east-1".to_string(), ToString::to_string),
    };
    let store = Arc::new(DynamoStore::new(dynamodb, tables));
    // The Lambdas push through API Gateway's management API; here the same adapter talks to
    // this server's own `@connections` endpoint.
    let management =
        management_client_metered(&sdk_config, &format!("http://{addr}/{STAGE}"), meter);
    let pusher: Arc<dyn ConnectionPusher> = Arc::new(ApiGatewayPusher::new(management));
    Ok(Ports::from_store(store, pusher, Changes::Stream(stream)))
}
