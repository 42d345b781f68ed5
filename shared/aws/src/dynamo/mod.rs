//! The DynamoDB stores: one [`DynamoStore`] implementing every storage port
//! (`ConnectionStore`, `MessageStore`, `MembershipStore`, `GroupStore`, `UserStore`,
//! `WatchStore`, `HiddenStore`, `MediaStore`, `DeviceStore`, `PushLedger`, `SendQuota`) over the
//! tables that [`Tables`] names and [`create_tables`] defines.
//!
//! One module per table group, each holding its key names, its item type and its port impl:
//! `connections` and `devices` (attributes of the user item), `messages` (messages,
//! conversation heads and idempotency keys, written together by `append`), `groups`,
//! `memberships`, `users`, `watches`, `hidden`, `media`, `pushes`. `codec` is what they share:
//! items through `serde_dynamo`, SDK errors as `ChatError::Internal` with their whole chain.
//!
//! Reads that the handlers follow with a decision (history, a membership, a head, a media
//! record) are strongly consistent, so this store answers read-your-writes like the embedded
//! one; the eventually consistent reads are the GSIs (which cannot be read consistently) and
//! the fan-out's page reads of user items (`connections_of_users`, `push_targets`).
//! `docs/data-model.md` lists every access pattern and its cost; keep it in step.

mod batch;
mod codec;
pub(crate) mod connections;
mod devices;
mod groups;
pub(crate) mod hidden;
mod media;
pub(crate) mod memberships;
pub(crate) mod messages;
mod pushes;
mod quota;
mod tables;
pub(crate) mod users;
pub(crate) mod watches;

use std::sync::Arc;

use aws_sdk_dynamodb::Client;

use crate::backoff::Backoff;
use messages::lanes::Lanes;

pub use tables::{TTL_ATTRIBUTE, Tables, create_tables, indexed_tables};

/// Every storage port over DynamoDB. Cheap to clone: clones share the SDK client (and its
/// connection pool) and the table names.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Arc<Tables>,
    /// Retries of `append` when another process's append took the seq first.
    append_backoff: Backoff,
    /// Appends of this process to one conversation queue here rather than race (see `lanes`).
    append_lanes: Arc<Lanes>,
    /// Retries of the unprocessed keys of a batch read.
    batch_backoff: Backoff,
    /// How long messages (and their idempotency keys) are kept, in seconds after `sent_at`;
    /// `None` keeps them forever (no `ttl` attribute).
    message_retention_secs: Option<i64>,
    /// How fast one user may send, over every container (`None`: unlimited; see `quota`).
    send_rate: Option<chat_domain::SendRate>,
    /// This container's share of each user's current send window.
    send_leases: Arc<quota::SendLeases>,
    /// One lease of a user's sends at a time in this process (`quota.rs`).
    lease_lanes: Arc<Lanes>,
}

impl DynamoStore {
    /// A store over `client` (build it once per process) and the tables `tables` names.
    pub fn new(client: Client, tables: Tables) -> DynamoStore {
        DynamoStore {
            client,
            tables: Arc::new(tables),
            append_backoff: Backoff::APPEND,
            append_lanes: Arc::new(Lanes::new()),
            batch_backoff: Backoff::BATCH,
            message_retention_secs: None,
            send_rate: None,
            send_leases: Arc::default(),
            lease_lanes: Arc::new(Lanes::new()),
        }
    }

    /// The same store limiting each user's sends to `rate` across every process that uses
    /// these tables (`SendQuota`); `None` limits nobody.
    pub fn with_send_rate(self, rate: Option<chat_domain::SendRate>) -> DynamoStore {
        DynamoStore {
            send_rate: rate,
            ..self
        }
    }

    /// The same store keeping messages for `days` after they were sent: every message item
    /// and its idempotency key written from now on carries `ttl` = `sent_at` + `days` (epoch
    /// seconds, rounded up), and DynamoDB deletes them some time after that (typically within
    /// a few days, never before). `None` keeps them forever; so does `Some(0)`, since a message
    /// expired the moment it is stored could vanish before anyone read it. Items written
    /// earlier keep what they were written with.
    pub fn with_message_retention(self, days: Option<u32>) -> DynamoStore {
        const DAY_SECS: i64 = 24 * 60 * 60;
        DynamoStore {
            message_retention_secs: days
                .filter(|&days| days > 0)
                .map(|days| i64::from(days) * DAY_SECS),
            ..self
        }
    }

    /// The table names this store uses.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }
}
