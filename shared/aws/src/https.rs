//! The HTTPS client every SDK client of a process shares (set once on the `SdkConfig`): the
//! smithy client (hyper 1, rustls) on ring, which is about 1 MB smaller in a Lambda binary than
//! the SDK's default aws-lc build; and a trust store chosen by where the process runs.
//!
//! The SDK builds a TLS connector (and parses every trusted root) as each client is built, so
//! in a Lambda the roots are part of every cold start: reading and decoding the platform's
//! bundle (about 140 roots) was 4 of the 10 ms an `http-api` init took (`docs/performance.md`,
//! Cold start). The Lambdas therefore trust the five Amazon Trust Services roots, compiled in,
//! which is what Amazon Trust Services recommends for a custom trust store; every AWS endpoint
//! and every ACM certificate chains to one of them.

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The five Amazon Trust Services roots (PEM; sources and fingerprints in the file).
const AMAZON_TRUST_SERVICES: &str = include_str!("https/amazon-trust-services.pem");

/// Which certificate authorities the client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustRoots {
    /// Amazon Trust Services' five roots, compiled in: AWS's own endpoints, nothing read at
    /// start. The Lambdas' default.
    AmazonTrustServices,
    /// The platform's store (`SSL_CERT_FILE`, `SSL_CERT_DIR`, else the system's): endpoints
    /// with other certificates (LocalStack over TLS, a proxy, a custom domain with an imported
    /// certificate). chat-local's, the tests', and a Lambda's with `AWS_ENDPOINT_URL` set.
    Platform,
}

/// An HTTPS (and plain HTTP, for emulators) client for the SDK; build it once per process and
/// give it to every client through `SdkConfig::builder().http_client(..)` or the loader's.
pub fn https_client(roots: TrustRoots) -> SharedHttpClient {
    let trust_store = match roots {
        TrustRoots::AmazonTrustServices => TrustStore::empty()
            .with_native_roots(false)
            .with_pem_certificate(AMAZON_TRUST_SERVICES.as_bytes()),
        TrustRoots::Platform => TrustStore::empty().with_native_roots(true),
    };
    let builder = TlsContext::builder().with_trust_store(trust_store);
    // `build` cannot fail today (it only moves the parts); should it ever, the platform's
    // store (a superset) is the safe fallback, not a process that cannot start.
    let context = builder.build().unwrap_or_else(|err| {
        tracing::warn!(error = %err, "TLS context refused; trusting the platform's roots");
        TlsContext::default()
    });
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_store_holds_the_five_roots() {
        let roots = AMAZON_TRUST_SERVICES.matches("-----BEGIN CERTIFICATE-----");
        assert_eq!(roots.count(), 5);
    }

    /// The SDK turns the PEM into rustls trust anchors while the client is built, and panics on
    /// one that does not parse: building a client over each store proves both load.
    #[test]
    fn an_sdk_client_builds_over_either_store() {
        for roots in [TrustRoots::AmazonTrustServices, TrustRoots::Platform] {
            let config = aws_sdk_dynamodb::config::Builder::new()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
                .http_client(https_client(roots))
                .build();
            let client = aws_sdk_dynamodb::Client::from_conf(config);
            assert!(client.config().http_client().is_some(), "{roots:?}");
        }
    }
}
