//! AWS adapters behind the ports: the DynamoDB stores (connections, messages, memberships,
//! users), the API Gateway management API pusher, the S3 blob store (presigned media URLs) and
//! the SNS push notifier (mobile platform endpoints).
//!
//! This crate is an adapter layer: it knows the ports and the domain, never the handlers. Hosts
//! (the Lambda `main`s, `chat-local --backend aws`) build the SDK clients once and hand them to
//! the constructors here. The table layout and the cost of every access pattern are written
//! down in `docs/data-model.md`; keep the two in step.

mod backoff;
pub mod dynamo;
mod errors;
mod https;
pub mod metering;
mod pusher;
mod s3;
mod sns;

pub use backoff::Backoff;
pub use dynamo::{DynamoStore, Tables, create_tables};
pub use https::{TrustRoots, https_client};
pub use metering::RequestMeter;
pub use pusher::{
    ApiGatewayPusher, management_client, management_client_metered, management_endpoint,
};
pub use s3::{MAX_PRESIGN_EXPIRY, S3BlobStore, s3_client};
pub use sns::{PlatformApps, SnsPushNotifier};

/// An SNS client over `sdk_config` (build it once per process).
pub fn sns_client(sdk_config: &aws_config::SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(sdk_config)
}
