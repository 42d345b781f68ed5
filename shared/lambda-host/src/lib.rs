//! The Lambda host's half of the wiring, shared by every `functions/*` main so that each main
//! stays a few lines: read the environment once, build the SDK clients and adapters once per
//! container (outside the handler, so warm invocations reuse connections), and log the way
//! Lambda's advanced logging controls ask (`AWS_LAMBDA_LOG_FORMAT=JSON` gives JSON lines,
//! `logging.rs`; the span per invocation carrying the request id is `lambda_runtime`'s).
//!
//! Environment (set by `template.yaml`):
//! - `TABLE_PREFIX`: the DynamoDB tables are `{prefix}-messages`, `{prefix}-users`, …,
//!   `{prefix}-media`, `{prefix}-pushes` (`Tables::from_prefix`).
//! - `WEBSOCKET_MANAGEMENT_ENDPOINT`: `https://{api}.execute-api.{region}.amazonaws.com/{stage}`.
//! - `JWT_SECRET` (≥ 32 bytes) and optional `JWT_ISSUER`: how tokens are checked.
//! - `MESSAGE_RETENTION_DAYS` (optional, 0 = forever): messages expire through DynamoDB TTL.
//! - `MAX_GROUP_MEMBERS`, `TYPING_MAX_MEMBERS`, `RECALL_WINDOW_SECONDS` (optional): the chat's
//!   limits ([`ChatSettings`]; the contract's defaults when unset).
//! - `MEDIA_BUCKET`: the media bucket (functions that presign, check or erase media).
//! - `FCM_PLATFORM_APPLICATION_ARN`, `APNS_PLATFORM_APPLICATION_ARN` (optional): the SNS
//!   platform applications push goes through; a platform without one registers no devices.
//! - `MEDIA_MAX_BYTES`, `DOCUMENT_MAX_BYTES`, `PUSH_QUIET_MS`, `PUSH_TTL_SECONDS` (optional).
//! - `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (Lambda
//!   sets them) and `AWS_ENDPOINT_URL` (LocalStack, moto): the SDK configuration, read
//!   directly rather than through the default provider chain (`sdk_config.rs`).
//! - `CHAT_TLS_ROOTS` (optional): `amazon` (the default: Amazon Trust Services' roots, compiled
//!   in) or `platform` (the platform's CA store; the default with `AWS_ENDPOINT_URL` set).

mod logging;
mod sdk_config;

use std::sync::Arc;

use anyhow::Context;
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use chat_auth::{Secret, TokenVerifier};
use chat_aws::{
    ApiGatewayPusher, DynamoStore, PlatformApps, S3BlobStore, SnsPushNotifier, Tables,
    management_client, s3_client, sns_client,
};
use chat_handlers::{Activity, ChatSettings, Route};
use chat_metrics::Keep;
use chat_ports::{Clock, SystemClock};
use lambda_runtime::{LambdaEvent, service_fn};

/// Starts logging as Lambda's logging controls configure it, and the metrics tally that
/// [`invocation`] drains into CloudWatch Embedded Metric Format after each invocation.
pub fn init_logging() {
    logging::init();
    chat_metrics::install(Keep::Values);
}

/// Runs one invocation's work, then writes what it counted as EMF lines on stdout (CloudWatch
/// Logs extracts them as metrics in the `Chat` namespace, dimension `Function`; see
/// `docs/deploy.md`, "Operations notes"). A container runs one invocation at a time, so the
/// lines are exactly this invocation's.
pub async fn invocation<F: std::future::Future>(work: F) -> F::Output {
    let output = work.await;
    flush_metrics();
    output
}

fn flush_metrics() {
    let snapshot = chat_metrics::install(Keep::Values).take();
    if snapshot.is_empty() {
        return;
    }
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "unknown".into());
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    for line in chat_metrics::emf::documents(&snapshot, &function, now_ms) {
        println!("{line}");
    }
}

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("environment variable {name} is not set"))
}

/// The AWS side of the ports, built once per container.
pub struct Adapters {
    /// Every storage port (connections, messages, memberships, groups, users, watches).
    pub store: Arc<DynamoStore>,
    pub clock: Arc<dyn Clock>,
    /// The chat's limits, from the environment.
    pub settings: ChatSettings,
    /// Last seen on activity, at most once a minute per user in this container.
    pub activity: Arc<Activity>,
    sdk_config: aws_config::SdkConfig,
}

impl Adapters {
    /// Reads the SDK configuration (region, credentials) from the Lambda environment and
    /// builds the DynamoDB store.
    pub async fn from_env() -> anyhow::Result<Adapters> {
        let sdk_config = sdk_config::from_lambda_env()?;
        let tables = Tables::from_prefix(&required("TABLE_PREFIX")?);
        let settings = settings_from_env()?;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk_config), tables)
            .with_message_retention(retention_days()?)
            .with_send_rate(settings.send_rate);
        Ok(Adapters {
            store: Arc::new(store),
            clock: Arc::new(SystemClock),
            activity: Arc::new(Activity::new(&settings)),
            settings,
            sdk_config,
        })
    }

    /// The pusher to the WebSocket API's `@connections` endpoint.
    pub fn pusher(&self) -> anyhow::Result<Arc<ApiGatewayPusher>> {
        let endpoint = required("WEBSOCKET_MANAGEMENT_ENDPOINT")?;
        let client = management_client(&self.sdk_config, &endpoint);
        Ok(Arc::new(ApiGatewayPusher::new(client)))
    }

    /// The media bucket (`MEDIA_BUCKET`): presigned URLs, the check after upload, erasure.
    pub fn blobs(&self) -> anyhow::Result<Arc<S3BlobStore>> {
        let bucket = required("MEDIA_BUCKET")?;
        Ok(Arc::new(S3BlobStore::new(
            s3_client(&self.sdk_config, None),
            bucket,
        )))
    }

    /// Push through the SNS platform applications the environment names.
    pub fn push_notifier(&self) -> Arc<SnsPushNotifier> {
        let arn = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let apps = PlatformApps {
            fcm: arn("FCM_PLATFORM_APPLICATION_ARN"),
            apns: arn("APNS_PLATFORM_APPLICATION_ARN"),
        };
        Arc::new(SnsPushNotifier::new(sns_client(&self.sdk_config), apps))
    }
}

/// `MESSAGE_RETENTION_DAYS`: unset, empty or 0 keeps messages forever.
fn retention_days() -> anyhow::Result<Option<u32>> {
    match std::env::var("MESSAGE_RETENTION_DAYS") {
        Err(_) => Ok(None),
        Ok(raw) if raw.trim().is_empty() => Ok(None),
        Ok(raw) => {
            let days: u32 = raw.trim().parse().with_context(|| {
                format!("MESSAGE_RETENTION_DAYS={raw:?} is not a number of days")
            })?;
            Ok((days > 0).then_some(days))
        }
    }
}

/// A number from the environment, or `default` when unset or empty.
fn number_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(raw) if raw.trim().is_empty() => Ok(default),
        Ok(raw) => raw
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={raw:?} is not a number")),
    }
}

/// The chat's limits from `MAX_GROUP_MEMBERS`, `TYPING_MAX_MEMBERS`,
/// `RECALL_WINDOW_SECONDS`, `PRESENCE_GRACE_MS`, `SEND_RATE_PER_SECOND` and `SEND_BURST` (0:
/// no limit), each defaulting to the contract's.
pub fn settings_from_env() -> anyhow::Result<ChatSettings> {
    let defaults = ChatSettings::default();
    Ok(ChatSettings {
        max_group_members: number_or("MAX_GROUP_MEMBERS", defaults.max_group_members)?,
        typing_max_members: number_or("TYPING_MAX_MEMBERS", defaults.typing_max_members)?,
        recall_window_ms: number_or("RECALL_WINDOW_SECONDS", defaults.recall_window_ms / 1000)?
            .saturating_mul(1000),
        presence_grace_ms: number_or("PRESENCE_GRACE_MS", defaults.presence_grace_ms)?,
        media_limits: chat_domain::MediaLimits {
            media_bytes: number_or("MEDIA_MAX_BYTES", defaults.media_limits.media_bytes)?,
            document_bytes: number_or("DOCUMENT_MAX_BYTES", defaults.media_limits.document_bytes)?,
        },
        push_quiet_ms: number_or("PUSH_QUIET_MS", defaults.push_quiet_ms)?,
        push_ttl_secs: number_or("PUSH_TTL_SECONDS", defaults.push_ttl_secs)?,
        send_rate: chat_domain::SendRate::new(
            number_or(
                "SEND_RATE_PER_SECOND",
                chat_domain::SendRate::DEFAULT.per_second(),
            )?,
            number_or("SEND_BURST", chat_domain::SendRate::DEFAULT.burst())?,
        ),
        ..defaults
    })
}

/// The token verifier from `JWT_SECRET` and `JWT_ISSUER`.
pub fn verifier_from_env() -> anyhow::Result<TokenVerifier> {
    let secret = Secret::parse(&required("JWT_SECRET")?)?;
    let issuer = std::env::var("JWT_ISSUER").ok().filter(|s| !s.is_empty());
    Ok(TokenVerifier::hs256(&secret, issuer.as_deref()))
}

/// Runs a WebSocket route handler for every invocation of this container.
pub async fn run_route<R: Route + 'static>(route: R) -> Result<(), lambda_runtime::Error> {
    let route = Arc::new(route);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
            let route = route.clone();
            async move {
                Ok::<_, lambda_runtime::Error>(invocation(route.handle(event.payload)).await)
            }
        },
    ))
    .await
}
