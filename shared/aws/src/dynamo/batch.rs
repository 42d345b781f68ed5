//! The batch operations the stores share: `BatchGetItem` (100 keys a request, no duplicates)
//! and `BatchWriteItem` puts and deletes (25 a request). DynamoDB may leave part of a batch unprocessed
//! (throttling, the 16 MB response limit); that part is sent again after a jittered pause, up
//! to [`crate::Backoff::BATCH`]'s tries.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use chat_domain::ChatError;
use chat_ports::PortResult;

use super::DynamoStore;
use super::codec::{Item, build_error};
use crate::errors::internal;

/// BatchGetItem's limit of keys per request.
pub(crate) const BATCH_KEYS: usize = 100;
/// BatchWriteItem's limit of writes per request.
const BATCH_WRITES: usize = 25;

impl DynamoStore {
    /// The items of `table` at `keys` (duplicates asked once), in no particular order; keys
    /// with no item are left out.
    pub(crate) async fn batch_get(
        &self,
        what: &str,
        table: &str,
        keys: Vec<Item>,
        consistent: bool,
    ) -> PortResult<Vec<Item>> {
        let mut seen = HashSet::new();
        let unique: Vec<Item> = keys
            .into_iter()
            .filter(|key| {
                let mut parts: Vec<String> =
                    key.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                parts.sort();
                seen.insert(parts.join("&"))
            })
            .collect();
        let mut found = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(BATCH_KEYS) {
            let mut keys = chunk.to_vec();
            let mut retry = 0;
            loop {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(consistent)
                    .build()
                    .map_err(|e| build_error(what, e))?;
                let mut output = self
                    .client
                    .batch_get_item()
                    .request_items(table, request)
                    .send()
                    .await
                    .map_err(|e| internal(what, e))?;
                found.extend(
                    output
                        .responses
                        .as_mut()
                        .and_then(|r| r.remove(table))
                        .unwrap_or_default(),
                );
                keys = match output
                    .unprocessed_keys
                    .as_mut()
                    .and_then(|u| u.remove(table))
                {
                    Some(left) if !left.keys.is_empty() => left.keys,
                    _ => break,
                };
                retry += 1;
                if retry >= self.batch_backoff.max_attempts {
                    return Err(ChatError::Internal {
                        context: format!(
                            "{what}: {} keys still unprocessed after {retry} tries",
                            keys.len()
                        ),
                        cause: None,
                    });
                }
                self.batch_backoff.pause(retry).await;
            }
        }
        Ok(found)
    }

    /// Writes `items` to `table` with `BatchWriteItem` (unconditional puts).
    pub(crate) async fn batch_put(
        &self,
        what: &str,
        table: &str,
        items: Vec<Item>,
    ) -> PortResult<()> {
        let writes = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| build_error(what, e))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<PortResult<_>>()?;
        self.batch_write(what, table, writes).await
    }

    /// Deletes the items at `keys` of `table` with `BatchWriteItem`.
    pub(crate) async fn batch_delete(
        &self,
        what: &str,
        table: &str,
        keys: Vec<Item>,
    ) -> PortResult<()> {
        let writes = keys
            .into_iter()
            .map(|key| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map_err(|e| build_error(what, e))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<PortResult<_>>()?;
        self.batch_write(what, table, writes).await
    }

    /// `writes` to `table`, 25 a request, retrying what comes back unprocessed.
    async fn batch_write(
        &self,
        what: &str,
        table: &str,
        writes: Vec<WriteRequest>,
    ) -> PortResult<()> {
        for chunk in writes.chunks(BATCH_WRITES) {
            let mut writes = chunk.to_vec();
            let mut retry = 0;
            loop {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(table, writes)
                    .send()
                    .await
                    .map_err(|e| internal(what, e))?;
                writes = output
                    .unprocessed_items
                    .and_then(|mut left| left.remove(table))
                    .unwrap_or_default();
                if writes.is_empty() {
                    break;
                }
                retry += 1;
                if retry >= self.batch_backoff.max_attempts {
                    return Err(ChatError::Internal {
                        context: format!("{what}: {} writes still unprocessed", writes.len()),
                        cause: None,
                    });
                }
                self.batch_backoff.pause(retry).await;
            }
        }
        Ok(())
    }
}
