//! The SDK configuration a Lambda container needs, from the environment Lambda sets, without
//! `aws_config::load_defaults`'s provider chains.
//!
//! Inside Lambda the credentials are the execution role's, in `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, and the region is `AWS_REGION`: nothing of
//! the default chain is ever consulted after the environment, yet linking it brings the
//! profile-file parser, IMDS, ECS and the STS web-identity client into every binary (about 1 MB
//! each function; see `docs/performance.md`, Cold start) and its probing into every init.
//! `AWS_ENDPOINT_URL` (moto, LocalStack) is honoured as the loader would.
//!
//! Every client shares one HTTPS client (`chat_aws::https_client`) trusting the five Amazon
//! Trust Services roots, compiled in, so no init reads the platform's bundle. With
//! `AWS_ENDPOINT_URL` set, or `CHAT_TLS_ROOTS=platform` (a proxy, or a management endpoint on
//! a custom domain with an imported certificate), it trusts the platform's store instead.

use anyhow::Context;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use chat_aws::{TrustRoots, https_client};

/// The configuration every client of this container is built from.
pub fn from_lambda_env() -> anyhow::Result<SdkConfig> {
    let region = non_empty("AWS_REGION")
        .or_else(|| non_empty("AWS_DEFAULT_REGION"))
        .context("neither AWS_REGION nor AWS_DEFAULT_REGION is set (Lambda sets AWS_REGION)")?;
    if non_empty("AWS_ACCESS_KEY_ID").is_none() {
        anyhow::bail!("AWS_ACCESS_KEY_ID is not set (Lambda sets the execution role's)");
    }
    let endpoint = non_empty("AWS_ENDPOINT_URL");
    let roots = trust_roots(endpoint.is_some(), non_empty("CHAT_TLS_ROOTS").as_deref())?;
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client(roots))
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ));
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    Ok(config.build())
}

/// `CHAT_TLS_ROOTS`: `amazon` or `platform`; unset, Amazon's unless an emulator's endpoint is
/// set (LocalStack over TLS has its own certificate).
fn trust_roots(custom_endpoint: bool, setting: Option<&str>) -> anyhow::Result<TrustRoots> {
    match setting.map(str::to_ascii_lowercase).as_deref() {
        Some("amazon") => Ok(TrustRoots::AmazonTrustServices),
        Some("platform") => Ok(TrustRoots::Platform),
        Some(other) => anyhow::bail!("CHAT_TLS_ROOTS={other}: expected `amazon` or `platform`"),
        None if custom_endpoint => Ok(TrustRoots::Platform),
        None => Ok(TrustRoots::AmazonTrustServices),
    }
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amazon_roots_unless_an_endpoint_or_the_setting_says_otherwise() {
        let roots = |endpoint, setting| trust_roots(endpoint, setting).ok();
        assert_eq!(roots(false, None), Some(TrustRoots::AmazonTrustServices));
        assert_eq!(roots(true, None), Some(TrustRoots::Platform));
        assert_eq!(roots(false, Some("PLATFORM")), Some(TrustRoots::Platform));
        assert_eq!(
            roots(true, Some("amazon")),
            Some(TrustRoots::AmazonTrustServices)
        );
        assert_eq!(roots(false, Some("mozilla")), None);
    }
}
