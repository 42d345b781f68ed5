//! `PushLedger` on the pushes table: one item per user and conversation, keyed
//! `(user_id, conversation_id)`, holding the seq the last notification covered and when it
//! went out (`seq`, `at` in ms).
//!
//! A claim is one conditional `PutItem`: "no notification yet, or the last one covered an
//! earlier seq and went out at least `quiet_ms` ago". The condition makes push at-most-once per
//! message (a stream batch delivered twice claims nothing the second time) and coalesces a
//! burst into one notification, across every Lambda instance at once. Each item carries
//! `ttl` = a day after `at` (or after the quiet window, if longer): the table keeps only the
//! recent past, which is all a claim looks at. DynamoDB deletes expired items some time after
//! that, so a claim for an old seq more than a day later may win again; by then the stream
//! (24 h retention) has nothing left to deliver twice.

use async_trait::async_trait;
use chat_domain::{ConversationId, Millis, Seq, UserId};
use chat_ports::{PortResult, PushLedger};
use serde::Serialize;

use super::DynamoStore;
use super::codec::{is_condition_failed, n, to_item};
use super::tables::ttl_seconds;
use crate::errors::internal;

/// Partition key: the notified user.
pub(crate) const HASH: &str = "user_id";
/// Sort key: the conversation notified of.
pub(crate) const RANGE: &str = "conversation_id";

/// How long an entry is kept after its notification (or its quiet window), in seconds.
const KEEP_SECS: i64 = 24 * 60 * 60;

/// One ledger entry.
#[derive(Debug, Serialize)]
struct PushItem<'a> {
    user_id: &'a UserId,
    conversation_id: &'a ConversationId,
    seq: u64,
    at: Millis,
    /// [`super::TTL_ATTRIBUTE`], epoch seconds.
    ttl: i64,
}

/// When an entry for a notification at `at` may go: a day after its quiet window ends.
fn expiry(at: Millis, quiet_ms: i64) -> i64 {
    ttl_seconds(Millis(at.as_i64().saturating_add(quiet_ms.max(0)))) + KEEP_SECS
}

#[async_trait]
impl PushLedger for DynamoStore {
    async fn claim_push(
        &self,
        user: &UserId,
        conversation: &ConversationId,
        seq: Seq,
        now: Millis,
        quiet_ms: i64,
    ) -> PortResult<bool> {
        let item = PushItem {
            user_id: user,
            conversation_id: conversation,
            seq: seq.get(),
            at: now,
            ttl: expiry(now, quiet_ms),
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.pushes)
            .set_item(Some(to_item("push ledger", &item)?))
            .condition_expression("attribute_not_exists(#user) OR (#seq < :seq AND #at <= :cutoff)")
            .expression_attribute_names("#user", HASH)
            .expression_attribute_names("#seq", "seq")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":seq", n(seq.get()))
            .expression_attribute_values(":cutoff", n(now.as_i64().saturating_sub(quiet_ms)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // Covered already, or too soon after the last one: by design.
            Err(err) if is_condition_failed(&err) => Ok(false),
            Err(err) => Err(internal("claim_push", err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::codec::s;

    #[test]
    fn an_entry_expires_a_day_after_its_notification_or_its_quiet_window() {
        let (user, conversation) = (
            UserId::parse("bob").expect("user"),
            ConversationId::parse("dm:alice:bob").expect("conversation"),
        );
        let entry = |at: i64, quiet_ms: i64| PushItem {
            user_id: &user,
            conversation_id: &conversation,
            seq: 7,
            at: Millis(at),
            ttl: expiry(Millis(at), quiet_ms),
        };
        let item = to_item("push ledger", &entry(1_000_500, 3_000)).expect("encode");
        assert_eq!(item.get(HASH), Some(&s("bob")));
        assert_eq!(item.get(RANGE), Some(&s("dm:alice:bob")));
        assert_eq!(item.get("seq"), Some(&n(7)));
        assert_eq!(item.get("at"), Some(&n(1_000_500)));
        assert_eq!(
            item.get(super::super::TTL_ATTRIBUTE),
            Some(&n(1_004 + KEEP_SECS))
        );
        assert_eq!(entry(1_000_000, 0).ttl, 1_000 + KEEP_SECS);
        assert_eq!(entry(0, 2 * KEEP_SECS * 1_000).ttl, 3 * KEEP_SECS);
    }
}
