//! The SDK configuration a Lambda container needs, from the environment Lambda sets, without
//! `aws_config::load_defaults`'s provider chains.
//!
//! Inside Lambda the credentials are the execution role's, in `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, and the region is `AWS_REGION`: nothing of
//! the default chain is ever consulted after the environment, yet linking it brings the
//! profile-file parser, IMDS, ECS and the STS web-identity client into every binary (about 1 MB
//! each function; see `docs/performance.md`, Cold start) and its probing into every init.
//! `AWS_ENDPOINT_URL` (moto, LocalStack) is honoured as the loader would.

use anyhow::Context;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

/// The configuration every client of this container is built from.
pub fn from_lambda_env() -> anyhow::Result<SdkConfig> {
    let region = non_empty("AWS_REGION")
        .or_else(|| non_empty("AWS_DEFAULT_REGION"))
        .context("neither AWS_REGION nor AWS_DEFAULT_REGION is set (Lambda sets AWS_REGION)")?;
    if non_empty("AWS_ACCESS_KEY_ID").is_none() {
        anyhow::bail!("AWS_ACCESS_KEY_ID is not set (Lambda sets the execution role's)");
    }
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ));
    if let Some(endpoint) = non_empty("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint);
    }
    Ok(config.build())
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}
