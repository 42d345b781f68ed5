//! The one harness of the tests against moto: the moto server whose URL is in
//! `MOTO_ENDPOINT`, an SDK configuration pointed at it (for the S3 and SNS clients), a DynamoDB
//! client, and a store over freshly created tables of its own.
//!
//! Without `MOTO_ENDPOINT` the tests fail loudly rather than skip: a silently skipped adapter
//! suite is how backends drift apart. `./scripts/test` starts moto and sets the variable.
//!
//! Each test binary uses part of this module, so the rest is dead code in that binary.
#![allow(dead_code)]

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use chat_aws::{DynamoStore, Tables, create_tables};

/// The moto server's URL, from `MOTO_ENDPOINT`.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "MOTO_ENDPOINT is not set: these tests run against a moto server. \
             Run them with ./scripts/test (it starts moto), or start `moto_server -H 127.0.0.1 -p 5005` \
             and set MOTO_ENDPOINT=http://127.0.0.1:5005"
        )
    })
}

/// An SDK configuration for the moto server, with static test credentials (moto checks no
/// signature): what a host's `aws_config::load_defaults` gives with `AWS_ENDPOINT_URL` set.
pub fn moto_sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(chat_aws::https_client(chat_aws::TrustRoots::Platform))
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test",
            "test",
            None,
            None,
            "chat-aws-tests",
        )))
        .endpoint_url(moto_endpoint())
        .build()
}

/// A DynamoDB client for the moto server.
pub fn moto_client() -> Client {
    Client::new(&moto_sdk_config())
}

/// Table names no other test (or earlier run against the same moto) uses.
pub fn unique_tables() -> Tables {
    Tables::from_prefix(&format!("t{:016x}", rand::random::<u64>()))
}

/// A store over tables of its own, created now.
pub async fn fresh_store() -> DynamoStore {
    let client = moto_client();
    let tables = unique_tables();
    create_tables(&client, &tables)
        .await
        .expect("create the tables on moto");
    DynamoStore::new(client, tables)
}
