//! The inbox design for a group, the reference the issue names: every group message written
//! once per member into that member's inbox (`BatchWriteItem`, 25 a request), each member's
//! connections queried, the online ones posted to. Its receipts are per message, as an inbox
//! keeps them: a `read` covering k messages marks the reader's k inbox copies read and adds
//! one to each message's read count (which is how it learns "read by everyone"), then posts
//! the receipt once to each sender's connections. The same shape as ours (`../group.rs`): the
//! same members online, the same messages, a receipt from each online member who did not send.

use std::collections::{BTreeSet, HashMap};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValue, WriteRequest};

use super::super::group::{GroupPhases, GroupShape};
use super::{Baseline, Design, FRAME_UNITS, connection, s};
use crate::cost::BODY;
use crate::sink::Sink;
use crate::ws::user;

/// DynamoDB's cap on a `BatchWriteItem`.
const BATCH_WRITE: usize = 25;
const GROUP: &str = "grp:bench";

pub async fn run(sdk: &SdkConfig, sink: &Sink, shape: GroupShape) -> anyhow::Result<GroupPhases> {
    let mut baseline = Baseline::new(Design::Inbox, sdk, sink, shape.members).await?;
    baseline
        .create_table(&baseline.members_table, "groupId", Some("userId"))
        .await?;
    for index in 0..shape.online {
        let invocations = baseline.invocations.clone();
        invocations
            .time("connect", baseline.on_connect(index))
            .await?;
    }

    let before_create = baseline.measured();
    let invocations = baseline.invocations.clone();
    invocations
        .time("create", baseline.create_group(shape.members))
        .await?;
    // The `created` message, as ours: in every member's inbox, to every online device.
    invocations
        .time("sendmessage", baseline.on_group_message(0, 1, "created"))
        .await?;
    let created = baseline.measured();

    for k in 0..shape.messages {
        let seq = 2 + u64::from(k);
        invocations
            .time(
                "sendmessage",
                baseline.on_group_message(shape.sender(k), seq, BODY),
            )
            .await?;
    }
    let messaged = baseline.measured();

    let last_seq = 1 + u64::from(shape.messages);
    let sender_of = |seq: u64| {
        if seq == 1 {
            0
        } else {
            shape.sender((seq - 2) as u32)
        }
    };
    for reader in shape.readers() {
        let covered: Vec<(u64, u32)> = (1..=last_seq).map(|seq| (seq, sender_of(seq))).collect();
        invocations
            .time("receipt", baseline.on_group_receipt(reader, &covered))
            .await?;
    }
    let receipted = baseline.measured();
    baseline.check_posts(sink, &before_create)?;

    Ok(GroupPhases {
        create: created.since(&before_create, 1),
        message: messaged.since(&created, u64::from(shape.messages)),
        receipt: receipted.since(&messaged, shape.readers().len() as u64),
    })
}

fn message_key(seq: u64) -> String {
    format!("{GROUP}#{seq:08}")
}

impl Baseline {
    /// One member item per member.
    async fn create_group(&self, members: u32) -> anyhow::Result<()> {
        let items = (0..members).map(|index| {
            HashMap::from([
                ("groupId".to_string(), s(GROUP)),
                ("userId".to_string(), s(user(index))),
            ])
        });
        self.batch_put(&self.members_table, items).await
    }

    /// The `sendmessage` route for a group message at `seq` from `sender`.
    async fn on_group_message(&mut self, sender: u32, seq: u64, body: &str) -> anyhow::Result<()> {
        self.frames += FRAME_UNITS;
        let message = serde_json::json!({
            "type": "message", "conversation_id": GROUP, "seq": seq,
            "message_id": format!("01JBENCH{seq:018}"), "sender_id": user(sender),
            "sender_device": "bench", "client_msg_id": format!("g{seq}"),
            "body": body, "sent_at": crate::report::epoch_ms(),
        })
        .to_string();
        let members = self.members().await?;
        let copies = members.iter().map(|member| {
            HashMap::from([
                ("userId".to_string(), s(member.clone())),
                ("messageKey".to_string(), s(message_key(seq))),
                ("conversationId".to_string(), s(GROUP)),
                ("senderId".to_string(), s(user(sender))),
                ("message".to_string(), s(message.clone())),
            ])
        });
        self.batch_put(&self.inbox_table, copies).await?;
        let mut targets = Vec::new();
        for member in &members {
            targets.extend(self.connections_of_user(member).await?);
        }
        targets.retain(|c| *c != connection(sender));
        self.frames += FRAME_UNITS; // the `ack`
        self.post_all(targets, message).await
    }

    /// A `read` receipt from `reader` covering `covered` (seq, sender) messages.
    async fn on_group_receipt(
        &mut self,
        reader: u32,
        covered: &[(u64, u32)],
    ) -> anyhow::Result<()> {
        self.frames += FRAME_UNITS;
        for &(seq, _) in covered {
            self.dynamodb
                .update_item()
                .table_name(&self.inbox_table)
                .key("userId", s(user(reader)))
                .key("messageKey", s(message_key(seq)))
                .update_expression("SET readAt = :now")
                .expression_attribute_values(
                    ":now",
                    AttributeValue::N(crate::report::epoch_ms().to_string()),
                )
                .send()
                .await?;
            self.dynamodb
                .update_item()
                .table_name(&self.inbox_table)
                .key("userId", s(format!("reads#{GROUP}")))
                .key("messageKey", s(message_key(seq)))
                .update_expression("ADD readCount :one")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await?;
        }
        let senders: BTreeSet<u32> = covered.iter().map(|&(_, sender)| sender).collect();
        let last = covered.iter().map(|&(seq, _)| seq).max().unwrap_or(0);
        let receipt = serde_json::json!({
            "type": "receipt", "conversation_id": GROUP, "user_id": user(reader),
            "kind": "read", "seq": last,
        })
        .to_string();
        let mut targets = Vec::new();
        for sender in senders {
            targets.extend(self.connections_of_user(&user(sender)).await?);
        }
        self.post_all(targets, receipt).await
    }

    /// Every member's user id, a page at a time.
    async fn members(&self) -> anyhow::Result<Vec<String>> {
        let mut members = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb
                .query()
                .table_name(&self.members_table)
                .key_condition_expression("groupId = :g")
                .expression_attribute_values(":g", s(GROUP))
                .projection_expression("userId")
                .set_exclusive_start_key(start)
                .send()
                .await?;
            members.extend(
                page.items()
                    .iter()
                    .filter_map(|item| item.get("userId")?.as_s().ok().cloned()),
            );
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(members);
            }
        }
    }

    /// `items` into `table`, 25 a request, retrying what DynamoDB leaves unprocessed.
    async fn batch_put(
        &self,
        table: &str,
        items: impl Iterator<Item = HashMap<String, AttributeValue>>,
    ) -> anyhow::Result<()> {
        let requests: Vec<WriteRequest> = items
            .map(|item| {
                Ok(WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build()?)
                    .build())
            })
            .collect::<anyhow::Result<_>>()?;
        for chunk in requests.chunks(BATCH_WRITE) {
            let mut pending = HashMap::from([(table.to_string(), chunk.to_vec())]);
            while !pending.is_empty() {
                let answer = self
                    .dynamodb
                    .batch_write_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await?;
                pending = answer.unprocessed_items.unwrap_or_default();
                pending.retain(|_, requests| !requests.is_empty());
            }
        }
        Ok(())
    }
}
