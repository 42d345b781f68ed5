//! The DynamoDB Streams event source, as Lambda's event source mapping runs it: on
//! `--backend aws`, a task polls the messages table's stream and feeds each batch to the same
//! `StreamHandler` the stream Lambda runs.
//!
//! - Shards are listed before the server accepts connections (so nothing written after start
//!   is missed) and then every [`SHARD_REFRESH`]; a shard open at start is read from `LATEST`
//!   (the mapping's starting position), a shard that appears later from `TRIM_HORIZON`. A shard
//!   read to its end is remembered and never read again, and a child shard waits until its
//!   parent is drained, so a conversation's records keep their order across a split.
//! - Each shard is polled every [`POLL_INTERVAL`] for up to [`BATCH_SIZE`] records. A read that
//!   fails (an expired iterator among others) resumes after the last record handled.
//! - A batch whose handler reports a failure is re-read from the failed record, at most
//!   [`MAX_RETRIES`] times (the template's `MaximumRetryAttempts`); then the record is given up
//!   (logged) and the shard moves on. Records older than [`MAX_RECORD_AGE`] are skipped
//!   (`MaximumRecordAgeInSeconds`).

pub(crate) mod feed;
mod records;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::error::DisplayErrorContext;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use chat_handlers::StreamHandler;

use crate::instruments::{self, InvocationMeter};

pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(250);
pub(crate) const BATCH_SIZE: i32 = 100;
/// As `MaximumRetryAttempts` in `template.yaml`.
pub(crate) const MAX_RETRIES: u32 = 5;
/// As `MaximumRecordAgeInSeconds` in `template.yaml`: live delivery older than this is moot.
pub(crate) const MAX_RECORD_AGE: Duration = Duration::from_secs(3600);
const SHARD_REFRESH: Duration = Duration::from_secs(10);

/// Where a shard's reading stands.
struct Shard {
    iterator: Option<String>,
    parent: Option<String>,
    /// Where to start again if the iterator is lost before any record was handled.
    start: ShardIteratorType,
    /// The last record handled (done or given up).
    last_handled: Option<String>,
    /// The failed record being retried, and how often it was.
    retrying: Option<(String, u32)>,
}

impl Shard {
    /// The batch up to `last` is done: read on from `next`.
    fn done_through(&mut self, next: Option<String>, last: Option<String>) {
        self.iterator = next;
        self.retrying = None;
        self.last_handled = last.or(self.last_handled.take());
    }
}

pub(crate) struct StreamPoller {
    streams: StreamsClient,
    stream_arn: String,
    region: String,
    handler: Arc<StreamHandler>,
    /// Times each batch as an invocation of the `stream` function (the cost bench only).
    invocations: Option<InvocationMeter>,
    shards: HashMap<String, Shard>,
    /// Shards read to their end: a later listing still shows them, they are not read again.
    finished: HashSet<String>,
}

impl StreamPoller {
    pub fn new(
        streams: StreamsClient,
        stream_arn: String,
        region: String,
        handler: Arc<StreamHandler>,
        invocations: Option<InvocationMeter>,
    ) -> StreamPoller {
        StreamPoller {
            streams,
            stream_arn,
            region,
            handler,
            invocations,
            shards: HashMap::new(),
            finished: HashSet::new(),
        }
    }

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

    /// Takes `LATEST` iterators on the shards open now; call before serving, so that every
    /// message written after start is fanned out.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        self.list_new_shards(ShardIteratorType::Latest).await
    }

    /// Polls until the task is aborted. Errors are logged and retried: a stream consumer that
    /// dies silently is worse than one that logs every few seconds.
    pub async fn run(mut self) {
        let mut listed_at = tokio::time::Instant::now();
        loop {
            if listed_at.elapsed() >= SHARD_REFRESH {
                match self.list_new_shards(ShardIteratorType::TrimHorizon).await {
                    Ok(()) => listed_at = tokio::time::Instant::now(),
                    Err(err) => tracing::warn!(error = %err, "listing stream shards failed"),
                }
            }
            let mut ids: Vec<String> = self.shards.keys().cloned().collect();
            ids.sort();
            for id in ids {
                let Some(mut shard) = self.shards.remove(&id) else {
                    continue;
                };
                let parent_pending = shard
                    .parent
                    .as_ref()
                    .is_some_and(|p| self.shards.contains_key(p));
                if !parent_pending && let Err(err) = self.poll(&id, &mut shard).await {
                    tracing::warn!(shard = %id, error = %err, "polling a shard failed; resuming");
                    let lost = shard.iterator.take();
                    shard.iterator = self.resume(&id, &shard).await.unwrap_or(lost);
                }
                if shard.iterator.is_none() {
                    tracing::debug!(shard = %id, "shard closed and drained");
                    self.finished.insert(id);
                } else {
                    self.shards.insert(id, shard);
                }
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn list_new_shards(&mut self, start: ShardIteratorType) -> anyhow::Result<()> {
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
            for listed in description.shards() {
                let Some(id) = listed.shard_id() else {
                    continue;
                };
                if self.shards.contains_key(id) || self.finished.contains(id) {
                    continue;
                }
                let iterator = self.iterator(id, start.clone(), None).await?;
                let shard = Shard {
                    iterator,
                    parent: listed.parent_shard_id().map(str::to_string),
                    start: start.clone(),
                    last_handled: None,
                    retrying: None,
                };
                self.shards.insert(id.to_string(), shard);
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

    /// A fresh iterator after a failed read: just after the last record handled, or where the
    /// shard started if none was.
    async fn resume(&self, id: &str, shard: &Shard) -> anyhow::Result<Option<String>> {
        match &shard.last_handled {
            Some(seq) => {
                self.iterator(id, ShardIteratorType::AfterSequenceNumber, Some(seq))
                    .await
            }
            None => self.iterator(id, shard.start.clone(), None).await,
        }
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
        let Some(last) = answer.records().last() else {
            shard.iterator = next;
            return Ok(());
        };
        let last_sequence = last
            .dynamodb()
            .and_then(|d| d.sequence_number())
            .map(str::to_string);
        let mut event = Event::default();
        event.records = answer
            .records()
            .iter()
            .filter_map(|record| self.deliverable(id, record))
            .collect();
        if event.records.is_empty() {
            // Every record was skipped (too old, or unreadable): like Lambda, no invocation.
            shard.done_through(next, last_sequence);
            return Ok(());
        }
        let response = instruments::invoke(
            self.invocations.as_ref(),
            "stream",
            self.handler.handle(event),
        )
        .await;
        let Some(failed) = response
            .batch_item_failures
            .first()
            .and_then(|f| f.item_identifier.clone())
        else {
            shard.done_through(next, last_sequence);
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
            shard.last_handled = Some(failed);
        } else {
            shard.iterator = self
                .iterator(id, ShardIteratorType::AtSequenceNumber, Some(&failed))
                .await?;
            shard.retrying = Some((failed, attempts));
        }
        Ok(())
    }

    /// The record as the handler's event, or `None` (logged) for one that can never be
    /// handled (not convertible) or is past [`MAX_RECORD_AGE`].
    fn deliverable(
        &self,
        shard: &str,
        record: &aws_sdk_dynamodbstreams::types::Record,
    ) -> Option<EventRecord> {
        let created = record
            .dynamodb()
            .and_then(|d| d.approximate_creation_date_time())
            .map(|t| t.secs());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let max_age = MAX_RECORD_AGE.as_secs();
        if created.is_some_and(|at| u64::try_from(at).unwrap_or(0) + max_age < now) {
            tracing::warn!(shard, event_id = ?record.event_id(), "skipping a stream record older than its maximum age");
            return None;
        }
        match records::event_record(record, &self.stream_arn, &self.region) {
            Ok(event) => Some(event),
            Err(err) => {
                tracing::error!(shard, event_id = ?record.event_id(), error = %err,
                    "skipping a stream record that cannot be read");
                None
            }
        }
    }
}
