//! The adapters behind the ports, per `--backend`: the embedded store, or the Lambdas' own AWS
//! adapters (DynamoDB, and the management API pusher pointed at this server's `@connections`
//! endpoint, so the real push adapter and the real SDK carry every frame).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use chat_aws::{
    ApiGatewayPusher, DynamoStore, RequestMeter, Tables, create_tables, management_client_metered,
};
use chat_aws::{PlatformApps, S3BlobStore, SnsPushNotifier, s3_client, sns_client};
use chat_ports::{
    BlobKey, BlobStore, ChatStore, Clock, ConnectionPusher, ConnectionStore, DeviceStore,
    GroupStore, HiddenStore, LocalQuota, MediaStore, MembershipStore, MessageStore, PushLedger,
    PushNotifier, SendQuota, SystemClock, UserStore, WatchStore,
};
use chat_store_sqlite::{Change, SqliteStore};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::blobs::LocalBlobStore;
use crate::config::{Backend, Config};
use crate::faults::PerUserLookups;
use crate::gateway::{MemoryConnections, Registry};
use crate::pushes::{LocalPushNotifier, PushLog, Recorded};
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
    pub media: Arc<dyn MediaStore>,
    pub devices: Arc<dyn DeviceStore>,
    pub ledger: Arc<dyn PushLedger>,
    pub pusher: Arc<dyn ConnectionPusher>,
    /// Each user's send allowance: in memory for the embedded backend (one process: exact),
    /// on the users table for `--backend aws` (shared, as between Lambda containers).
    pub quota: Arc<dyn SendQuota>,
    /// Where the stream handler's records come from.
    pub changes: Changes,
    /// The media bytes: chat-local's own S3-faithful store, or S3 (moto, LocalStack, AWS).
    pub blobs: Arc<dyn BlobStore>,
    /// Where uploads to chat-local's own URLs are announced (the embedded backend only; on
    /// `--backend aws` the upload URLs are watched instead).
    pub uploads: Option<tokio::sync::broadcast::Receiver<BlobKey>>,
    /// chat-local's own blob store, whose URLs it serves (the embedded backend only).
    pub local_blobs: Option<Arc<LocalBlobStore>>,
    /// Push: recorded locally, or through SNS (and recorded).
    pub push: Arc<dyn PushNotifier>,
    /// What was pushed, for `GET /dev/pushes`.
    pub pushes: Arc<PushLog>,
}

/// The media and push side of a backend.
struct Extras {
    blobs: Arc<dyn BlobStore>,
    uploads: Option<tokio::sync::broadcast::Receiver<BlobKey>>,
    local_blobs: Option<Arc<LocalBlobStore>>,
    push: Arc<dyn PushNotifier>,
    pushes: Arc<PushLog>,
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
    fn from_store<S>(
        store: Arc<S>,
        pusher: Arc<dyn ConnectionPusher>,
        quota: Arc<dyn SendQuota>,
        changes: Changes,
        extras: Extras,
    ) -> Ports
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
            hidden: store.clone(),
            media: store.clone(),
            devices: store.clone(),
            ledger: store,
            pusher,
            quota,
            changes,
            blobs: extras.blobs,
            uploads: extras.uploads,
            local_blobs: extras.local_blobs,
            push: extras.push,
            pushes: extras.pushes,
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
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let media_dir = config.data_dir.join("media");
            let base_url = format!("http://{addr}");
            let blob_clock = clock.clone();
            let blobs = tokio::task::spawn_blocking(move || {
                LocalBlobStore::open(media_dir, base_url, blob_clock)
            })
            .await??;
            let blobs = Arc::new(blobs);
            let pushes = Arc::new(PushLog::default());
            let extras = Extras {
                uploads: Some(blobs.uploads()),
                blobs: blobs.clone(),
                local_blobs: Some(blobs),
                push: Arc::new(LocalPushNotifier::new(pushes.clone(), clock)),
                pushes,
            };
            let mut ports = Ports::from_store(
                Arc::new(store),
                registry.clone(),
                Arc::new(LocalQuota::new(config.settings().send_rate)),
                changes,
                extras,
            );
            // The gateway's own record of its sockets: no store read per delivery, and none
            // left behind by a crash (`gateway/connections.rs`).
            ports.connections = Arc::new(MemoryConnections::new());
            Ok(ports)
        }
        Backend::Aws => aws_ports(config, addr, meter).await,
    }
}

async fn aws_ports(
    config: &Config,
    addr: SocketAddr,
    meter: Option<&RequestMeter>,
) -> anyhow::Result<Ports> {
    // The developer's machine, proxies included: the platform's roots.
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(chat_aws::https_client(chat_aws::TrustRoots::Platform));
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
    let store =
        Arc::new(DynamoStore::new(dynamodb, tables).with_send_rate(config.settings().send_rate));
    // The Lambdas push through API Gateway's management API; here the same adapter talks to
    // this server's own `@connections` endpoint.
    let management =
        management_client_metered(&sdk_config, &format!("http://{addr}/{STAGE}"), meter);
    let pusher: Arc<dyn ConnectionPusher> = Arc::new(ApiGatewayPusher::new(management));
    let extras = aws_extras(config, &sdk_config, meter).await?;
    Ok(Ports::from_store(
        store.clone(),
        pusher,
        store,
        Changes::Stream(stream),
        extras,
    ))
}

/// S3 and SNS on the same endpoint as DynamoDB: the media bucket, and the platform
/// applications (created on an emulator with `--create-tables` when none are named).
async fn aws_extras(
    config: &Config,
    sdk_config: &aws_config::SdkConfig,
    meter: Option<&RequestMeter>,
) -> anyhow::Result<Extras> {
    let mut s3 = s3_client(sdk_config, None);
    let mut sns = sns_client(sdk_config);
    if let Some(meter) = meter {
        s3 = aws_sdk_s3::Client::from_conf(
            s3.config().to_builder().interceptor(meter.clone()).build(),
        );
        sns = aws_sdk_sns::Client::from_conf(
            sns.config().to_builder().interceptor(meter.clone()).build(),
        );
    }
    let emulator = config.aws_endpoint_url.is_some();
    let mut apps = PlatformApps {
        fcm: config.fcm_platform_application_arn.clone(),
        apns: config.apns_platform_application_arn.clone(),
    };
    if config.create_tables {
        create_bucket(&s3, &config.media_bucket).await?;
        if emulator {
            if apps.fcm.is_none() {
                apps.fcm = Some(create_platform_app(&sns, config, "GCM").await?);
            }
            if apps.apns.is_none() {
                apps.apns = Some(create_platform_app(&sns, config, "APNS_SANDBOX").await?);
            }
        }
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let pushes = Arc::new(PushLog::default());
    Ok(Extras {
        blobs: Arc::new(S3BlobStore::new(s3, config.media_bucket.clone())),
        uploads: None,
        local_blobs: None,
        push: Arc::new(Recorded {
            inner: Arc::new(SnsPushNotifier::new(sns, apps)),
            log: pushes.clone(),
            clock,
        }),
        pushes,
    })
}

/// Creates the bucket unless it exists (ours already, from an earlier start).
async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> anyhow::Result<()> {
    match s3.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(err) => {
            let mine = err.as_service_error().is_some_and(|e| {
                e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
            });
            if mine {
                Ok(())
            } else {
                Err(anyhow::Error::new(err).context(format!("creating the bucket {bucket}")))
            }
        }
    }
}

/// A platform application on an emulator (its credential is never used: nothing is delivered).
async fn create_platform_app(
    sns: &aws_sdk_sns::Client,
    config: &Config,
    platform: &str,
) -> anyhow::Result<String> {
    let name = format!("{}-{}", config.table_prefix, platform.to_ascii_lowercase());
    let created = sns
        .create_platform_application()
        .name(&name)
        .platform(platform)
        .attributes("PlatformCredential", "emulator-credential")
        .send()
        .await
        .with_context(|| format!("creating the SNS platform application {name}"))?;
    created
        .platform_application_arn
        .context("CreatePlatformApplication answered no ARN")
}
