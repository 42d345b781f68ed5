//! The one harness of the DynamoDB tests: an SDK client pointed at the moto server whose URL
//! is in `MOTO_ENDPOINT`, and a store over freshly created tables of its own.
//!
//! Without `MOTO_ENDPOINT` the tests fail loudly rather than skip: a silently skipped adapter
//! suite is how backends drift apart. `./scripts/test` starts moto and sets the variable.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use chat_aws::{DynamoStore, Tables, create_tables};

/// A client for the moto server, with static test credentials (moto checks no signature).
pub fn moto_client() -> Client {
    let endpoint = std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "MOTO_ENDPOINT is not set: these tests run against a moto server. \
             Run them with ./scripts/test (it starts moto), or start `moto_server -H 127.0.0.1 -p 5005` \
             and set MOTO_ENDPOINT=http://127.0.0.1:5005"
        )
    });
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "chat-aws-tests",
        ))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
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
