//! The DynamoDB stores: one [`DynamoStore`] implementing every storage port
//! (`ConnectionStore`, `MessageStore`, `MembershipStore`, `UserStore`) over the tables that
//! [`Tables`] names and [`create_tables`] defines.
//!
//! One module per table group, each holding its key names, its item type and its port impl:
//! `connections`, `messages` (messages, conversation heads and idempotency keys, written
//! together by `append`), `memberships`, `users`. `codec` is what they share: items
//! through `serde_dynamo`, SDK errors as `ChatError::Internal` with their whole chain.
//!
//! Reads that the handlers follow with a decision (history, a membership, a head) are strongly
//! consistent, so this store answers read-your-writes like the embedded one; the only eventually
//! consistent read is the `by-user` index of memberships (GSIs cannot be read consistently).
//! `docs/data-model.md` lists every access pattern and its cost; keep it in step.

mod codec;
pub(crate) mod connections;
pub(crate) mod memberships;
pub(crate) mod messages;
mod tables;
pub(crate) mod users;

use std::sync::Arc;

use aws_sdk_dynamodb::Client;

use crate::backoff::Backoff;
use messages::lanes::Lanes;

pub use tables::{TTL_ATTRIBUTE, Tables, create_tables};

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
        }
    }

    /// The same store with another retry policy for `append`'s seq race.
    pub fn with_append_backoff(self, append_backoff: Backoff) -> DynamoStore {
        DynamoStore {
            append_backoff,
            ..self
        }
    }

    /// The table names this store uses.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }
}
