//! The tables: their names (`Tables`) and their definitions (`create_tables`).
//!
//! One table per entity rather than a single table: each has its own natural key, its own TTL
//! and its own IAM grant, and the messages table's stream carries nothing but messages (the
//! conversation heads and idempotency keys written in the same transaction live elsewhere), so
//! the fan-out consumer needs no filter. `create_tables` is for moto, `chat-local` and tests;
//! the deployment declares the same tables in `template.yaml` (keep them in step with
//! `docs/data-model.md`).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use chat_domain::{ChatError, Millis};

use super::{hidden, media, memberships, messages, pushes, users, watches};
use crate::errors::internal;

/// The name of the TTL attribute on every table that has one (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "ttl";

/// Epoch seconds at or after `at` (DynamoDB's TTL attribute is in seconds): rounded up, so
/// that DynamoDB never deletes an item before the instant it was given.
pub(crate) fn ttl_seconds(at: Millis) -> i64 {
    at.as_i64().div_euclid(1_000) + i64::from(at.as_i64().rem_euclid(1_000) != 0)
}

/// The physical table names. Build them with [`Tables::from_prefix`], or set each one from the
/// deployment's outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    /// Messages, by conversation and seq; streamed (NEW_IMAGE) for fan-out.
    pub messages: String,
    /// One head item per conversation: its `last_seq` and last-message preview.
    pub conversations: String,
    /// `(sender, client_msg_id)` → where that message was stored: the idempotency of `send`.
    pub idempotency: String,
    /// Members and their marks, by conversation; GSI `by-user` by user.
    pub memberships: String,
    /// Profiles, last-seen, each user's live connections and devices registered for push.
    pub users: String,
    /// Presence subscriptions: which connection watches whom; GSI `by-watched`.
    pub watches: String,
    /// The messages each member deleted for themselves.
    pub hidden: String,
    /// One record per media upload, with the messages carrying it.
    pub media: String,
    /// The last push notification per user and conversation (the push ledger).
    pub pushes: String,
}

impl Tables {
    /// `{prefix}-messages`, `{prefix}-conversations`, `{prefix}-idempotency`,
    /// `{prefix}-memberships`, `{prefix}-users`, `{prefix}-watches`, `{prefix}-hidden`,
    /// `{prefix}-media`, `{prefix}-pushes`.
    pub fn from_prefix(prefix: &str) -> Tables {
        let name = |table: &str| format!("{prefix}-{table}");
        Tables {
            messages: name("messages"),
            conversations: name("conversations"),
            idempotency: name("idempotency"),
            memberships: name("memberships"),
            users: name("users"),
            watches: name("watches"),
            hidden: name("hidden"),
            media: name("media"),
            pushes: name("pushes"),
        }
    }
}

/// A key attribute: its name and type.
type KeyAttr = (&'static str, ScalarAttributeType);

/// A global secondary index.
struct IndexSpec {
    name: &'static str,
    hash: KeyAttr,
    range: KeyAttr,
    /// Projects every attribute (else only the keys and `include`).
    all: bool,
    include: &'static [&'static str],
}

/// What `create_tables` needs to know about one table.
struct TableSpec<'a> {
    name: &'a str,
    hash: KeyAttr,
    range: Option<KeyAttr>,
    gsis: Vec<IndexSpec>,
    stream: bool,
    ttl: bool,
}

fn specs(tables: &Tables) -> [TableSpec<'_>; 9] {
    use ScalarAttributeType::{N, S};
    [
        TableSpec {
            name: &tables.messages,
            hash: (messages::keys::MESSAGE_HASH, S),
            range: Some((messages::keys::MESSAGE_RANGE, N)),
            gsis: Vec::new(),
            stream: true,
            ttl: true,
        },
        TableSpec {
            name: &tables.conversations,
            hash: (messages::keys::HEAD_HASH, S),
            range: None,
            gsis: Vec::new(),
            stream: false,
            ttl: false,
        },
        TableSpec {
            name: &tables.idempotency,
            hash: (messages::keys::IDEMPOTENCY_HASH, S),
            range: Some((messages::keys::IDEMPOTENCY_RANGE, S)),
            gsis: Vec::new(),
            stream: false,
            ttl: true,
        },
        TableSpec {
            name: &tables.memberships,
            hash: (memberships::HASH, S),
            range: Some((memberships::RANGE, S)),
            gsis: vec![
                IndexSpec {
                    name: memberships::BY_USER,
                    hash: (memberships::RANGE, S),
                    range: (memberships::HASH, S),
                    all: true,
                    include: &[],
                },
                // The tick indexes: sparse (only current group members carry their keys),
                // sorted by mark; `delivered_to` also reads the read mark and where the member joined.
                IndexSpec {
                    name: memberships::BY_DELIVERED,
                    hash: (memberships::HASH, S),
                    range: (memberships::TICK_DELIVERED, N),
                    all: false,
                    include: &[memberships::TICK_READ, memberships::JOINED_SEQ],
                },
                IndexSpec {
                    name: memberships::BY_READ,
                    hash: (memberships::HASH, S),
                    range: (memberships::TICK_READ, N),
                    all: false,
                    include: &[],
                },
            ],
            stream: false,
            ttl: false,
        },
        TableSpec {
            name: &tables.users,
            hash: (users::HASH, S),
            range: None,
            gsis: Vec::new(),
            stream: false,
            ttl: false,
        },
        TableSpec {
            name: &tables.watches,
            hash: (watches::HASH, S),
            range: Some((watches::RANGE, S)),
            gsis: vec![IndexSpec {
                name: watches::BY_WATCHED,
                hash: (watches::RANGE, S),
                range: (watches::HASH, S),
                all: false,
                include: &["subscriber_id", "expires_at", "since"],
            }],
            stream: false,
            ttl: true,
        },
        TableSpec {
            name: &tables.hidden,
            hash: (hidden::HASH, S),
            range: Some((hidden::RANGE, N)),
            gsis: Vec::new(),
            stream: false,
            ttl: false,
        },
        TableSpec {
            name: &tables.media,
            hash: (media::HASH, S),
            range: None,
            gsis: Vec::new(),
            stream: false,
            ttl: false,
        },
        // Every ledger entry carries a `ttl` a day after its notification: the table holds
        // only the last day's notifications.
        TableSpec {
            name: &tables.pushes,
            hash: (pushes::HASH, S),
            range: Some((pushes::RANGE, S)),
            gsis: Vec::new(),
            stream: false,
            ttl: true,
        },
    ]
}

/// Every table's global secondary indexes as the request meter bills them, from the same
/// definitions `create_tables` uses.
pub fn indexed_tables(tables: &Tables) -> crate::metering::IndexedTables {
    specs(tables)
        .iter()
        .filter(|spec| !spec.gsis.is_empty())
        .map(|spec| {
            let rules = spec
                .gsis
                .iter()
                .map(|gsi| crate::metering::IndexRule {
                    keys: vec![gsi.hash.0.to_string(), gsi.range.0.to_string()],
                    projected: (!gsi.all)
                        .then(|| gsi.include.iter().map(ToString::to_string).collect()),
                })
                .collect();
            (spec.name.to_string(), rules)
        })
        .collect()
}

fn key_element(name: &str, key_type: KeyType) -> Result<KeySchemaElement, ChatError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| ChatError::internal("key schema", e))
}

fn key_schema(hash: &KeyAttr, range: Option<&KeyAttr>) -> Result<Vec<KeySchemaElement>, ChatError> {
    let mut schema = vec![key_element(hash.0, KeyType::Hash)?];
    if let Some(range) = range {
        schema.push(key_element(range.0, KeyType::Range)?);
    }
    Ok(schema)
}

/// Creates every table (on-demand billing), waits until each is active and switches TTL on
/// where the data model uses it. Idempotent: an existing table is left as it is (only its TTL
/// setting is checked), so this may run at every start of `chat-local`.
pub async fn create_tables(client: &Client, tables: &Tables) -> Result<(), ChatError> {
    for spec in specs(tables) {
        create_table(client, &spec).await?;
        client
            .wait_until_table_exists()
            .table_name(spec.name)
            .wait(Duration::from_secs(300))
            .await
            .map_err(|e| ChatError::internal(format!("waiting for table {}", spec.name), e))?;
        if spec.ttl {
            enable_ttl(client, spec.name).await?;
        }
    }
    Ok(())
}

async fn create_table(client: &Client, spec: &TableSpec<'_>) -> Result<(), ChatError> {
    let mut attributes = vec![spec.hash.clone()];
    attributes.extend(spec.range.clone());
    let mut request = client
        .create_table()
        .table_name(spec.name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&spec.hash, spec.range.as_ref())?));
    for index in &spec.gsis {
        for attr in [&index.hash, &index.range] {
            if !attributes.iter().any(|(name, _)| name == &attr.0) {
                attributes.push(attr.clone());
            }
        }
        let projection = if index.all {
            Projection::builder().projection_type(ProjectionType::All)
        } else if index.include.is_empty() {
            Projection::builder().projection_type(ProjectionType::KeysOnly)
        } else {
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(
                    index.include.iter().map(ToString::to_string).collect(),
                ))
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(index.name)
            .set_key_schema(Some(key_schema(&index.hash, Some(&index.range))?))
            .projection(projection.build())
            .build()
            .map_err(|e| ChatError::internal("index definition", e))?;
        request = request.global_secondary_indexes(gsi);
    }
    for (name, kind) in attributes {
        let definition = AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .map_err(|e| ChatError::internal("attribute definition", e))?;
        request = request.attribute_definitions(definition);
    }
    if spec.stream {
        let stream = StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::NewImage)
            .build()
            .map_err(|e| ChatError::internal("stream specification", e))?;
        request = request.stream_specification(stream);
    }
    match request.send().await {
        Ok(_) => {
            tracing::info!(table = spec.name, "created table");
            Ok(())
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(internal(format!("create table {}", spec.name), err)),
    }
}

async fn enable_ttl(client: &Client, table: &str) -> Result<(), ChatError> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| internal(format!("describe TTL of {table}"), e))?;
    let status = current
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status());
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(|e| ChatError::internal("TTL specification", e))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| internal(format!("enable TTL on {table}"), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_prefix() {
        let t = Tables::from_prefix("chat");
        assert_eq!(t.messages, "chat-messages");
        assert_eq!(t.memberships, "chat-memberships");
        assert_eq!(t.idempotency, "chat-idempotency");
        assert_eq!(t.media, "chat-media");
        assert_eq!(t.pushes, "chat-pushes");
    }

    #[test]
    fn ttl_rounds_up_to_whole_seconds() {
        assert_eq!(ttl_seconds(Millis(5_000)), 5);
        assert_eq!(ttl_seconds(Millis(5_001)), 6);
        assert_eq!(ttl_seconds(Millis(4_999)), 5);
        assert_eq!(ttl_seconds(Millis(0)), 0);
    }
}
