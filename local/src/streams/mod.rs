//! The DynamoDB Streams event source, as Lambda's event source mapping runs it: on
//! `--backend aws`, a task polls the messages table's stream and feeds each batch to the same
//! `StreamHandler` the stream Lambda runs.
//!
//! - Shards are listed at start and every [`SHARD_REFRESH`]; a shard open at start is read from
//!   `LATEST` (the mapping's starting position), a shard that appears later from
//!   `TRIM_HORIZON`, so nothing written after start is missed when shards split.
//! - Each shard is polled every [`POLL_INTERVAL`] for up to [`BATCH_SIZE`] records.
//! - A batch whose handler reports a failure is re-read from the failed record, at most
//!   [`MAX_RETRIES`] times; then, like a mapping with `MaximumRetryAttempts`, the record is
//!   given up (logged) and the shard moves on.

mod records;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_lambda_events::dynamodb::Event;
use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::error::DisplayErrorContext;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use chat_handlers::StreamHandler;

pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(250);
pub(crate) const BATCH_SIZE: i32 = 100;
pub(crate) const MAX_RETRIES: u32 = 3;
const SHARD_REFRESH: Duration = Duration::from_secs(10);

/// Where a shard's reading stands.
struct Shard {
    iterator: Option<String>,
    /// The failed record being retried, and how often it was.
    retrying: Option<(String, u32)>,
}

pub(crate) struct StreamPoller {
    pub streams: StreamsClient,
    pub stream_arn: String,
    pub region: String,
    pub handler: Arc<StreamHandler>,
}

impl StreamPoller {
    /// The latest stream of `table`.
    pub async fn stream_arn_of(
        dynamodb: &aws_sdk_dynamodb::Client,
        table: &str,
    ) -> anyhow::Result<String> {
        let described = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("describing {table}: {}", DisplayErrorContext(e)))?;
        described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .map(str::to_string)
            .with_context(|| format!("table {table} has no stream"))
    }

    /// Polls until the task is aborted. Errors are logged and retried: a stream consumer that
    /// dies silently is worse than one that logs every few seconds.
    pub async fn run(self) {
        let mut shards: HashMap<String, Shard> = HashMap::new();
        let mut first_listing = true;
        let mut listed_at: Option<tokio::time::Instant> = None;
        loop {
            if listed_at.is_none_or(|at| at.elapsed() >= SHARD_REFRESH) {
                let start = if first_listing {
                    ShardIteratorType::Latest
                } else {
                    ShardIteratorType::TrimHorizon
                };
                match self.list_new_shards(&mut shards, start).await {
                    Ok(()) => {
                        first_listing = false;
                        listed_at = Some(tokio::time::Instant::now());
                    }
                    Err(err) => tracing::warn!(error = %err, "listing stream shards failed"),
                }
            }
            let ids: Vec<String> = shards.keys().cloned().collect();
            for id in ids {
                if let Some(shard) = shards.get_mut(&id) {
                    if let Err(err) = self.poll(&id, shard).await {
                        tracing::warn!(shard = %id, error = %err, "polling a shard failed");
                    }
                    if shard.iterator.is_none() {
                        tracing::debug!(shard = %id, "shard closed and drained");
                        shards.remove(&id);
                    }
                }
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn list_new_shards(
        &self,
        shards: &mut HashMap<String, Shard>,
        start: ShardIteratorType,
    ) -> anyhow::Result<()> {
        let mut exclusive_start: Option<String> = None;
        loop {
            let described = self
                .streams
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(exclusive_start.clone())
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("describe_stream: {}", DisplayErrorContext(e)))?;
            let Some(description) = described.stream_description() else {
                return Ok(());
            };
            for shard in description.shards() {
                let Some(id) = shard.shard_id() else { continue };
                if shards.contains_key(id) {
                    continue;
                }
                let iterator = self.iterator(id, start.clone(), None).await?;
                shards.insert(
                    id.to_string(),
                    Shard {
                        iterator,
                        retrying: None,
                    },
                );
            }
            match description.last_evaluated_shard_id() {
                Some(last) => exclusive_start = Some(last.to_string()),
                None => return Ok(()),
            }
        }
    }

    async fn iterator(
        &self,
        shard: &str,
        kind: ShardIteratorType,
        sequence_number: Option<&str>,
    ) -> anyhow::Result<Option<String>> {
        let answer = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence_number.map(str::to_string))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("get_shard_iterator: {}", DisplayErrorContext(e)))?;
        Ok(answer.shard_iterator().map(str::to_string))
    }

    /// Reads one batch of a shard and hands it to the handler.
    async fn poll(&self, id: &str, shard: &mut Shard) -> anyhow::Result<()> {
        let Some(iterator) = shard.iterator.clone() else {
            return Ok(());
        };
        let answer = self
            .streams
            .get_records()
            .shard_iterator(iterator)
            .limit(BATCH_SIZE)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("get_records: {}", DisplayErrorContext(e)))?;
        let next = answer.next_shard_iterator().map(str::to_string);
        if answer.records().is_empty() {
            shard.iterator = next;
            return Ok(());
        }
        let mut event = Event::default();
        event.records = answer
            .records()
            .iter()
            .map(|record| records::event_record(record, &self.stream_arn, &self.region))
            .collect::<anyhow::Result<_>>()?;
        let response = self.handler.handle(event).await;
        let Some(failed) = response
            .batch_item_failures
            .first()
            .and_then(|f| f.item_identifier.clone())
        else {
            shard.iterator = next;
            shard.retrying = None;
            return Ok(());
        };
        let attempts = match &shard.retrying {
            Some((seq, n)) if *seq == failed => n + 1,
            _ => 1,
        };
        if attempts > MAX_RETRIES {
            tracing::error!(shard = %id, sequence_number = %failed, attempts,
                "giving up on a stream record after its retries");
            shard.iterator = self
                .iterator(id, ShardIteratorType::AfterSequenceNumber, Some(&failed))
                .await?;
            shard.retrying = None;
        } else {
            shard.iterator = self
                .iterator(id, ShardIteratorType::AtSequenceNumber, Some(&failed))
                .await?;
            shard.retrying = Some((failed, attempts));
        }
        Ok(())
    }
}
