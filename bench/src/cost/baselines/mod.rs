//! The two designs ours is priced against, as real code on the same emulator, with the same
//! request meter, the same users and the same messages:
//!
//! - **scan-all broadcast**, as in the canonical API Gateway WebSocket chat sample
//!   (`simple-websockets-chat-app`): `$connect` puts the connection id in a table; every
//!   message Scans that table and posts the message to every connection.
//! - **inbox fan-out**: every message is written once per member into that member's inbox
//!   (one `PutItem` each), then each member's connections are queried and posted to.
//!
//! For a group (`group.rs`) the reference is the inbox design: one write per member per
//! message, and per-message read state.
//!
//! Neither gives a gap-free `seq`, idempotent retries, read marks or multi-device history;
//! they are cost references, not alternatives. Posts go to a sink in this process that answers
//! like the management API (`POST /{stage}/@connections/{id}` → 200), through the real SDK.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use chat_aws::{RequestMeter, management_client_metered};
use chat_local::InvocationMeter;
use futures_util::StreamExt;

use super::pricing::{DirectS3, Measured};
use super::{BODY, Phases};
use crate::sink::Sink;
use crate::ws::user;

mod group;

pub use group::run as run_group;

/// Connections posted to at once by one invocation (the sample's `Promise.all`, bounded).
const POSTS_IN_FLIGHT: usize = 64;
/// API Gateway meters WebSocket messages in 32 KB units; every frame here is one.
const FRAME_UNITS: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    ScanAll,
    Inbox,
}

impl Design {
    pub fn name(self) -> &'static str {
        match self {
            Design::ScanAll => "scan-all broadcast",
            Design::Inbox => "inbox fan-out",
        }
    }
}

/// One baseline's clients, all metered.
struct Baseline {
    design: Design,
    dynamodb: aws_sdk_dynamodb::Client,
    management: aws_sdk_apigatewaymanagement::Client,
    meter: RequestMeter,
    invocations: InvocationMeter,
    /// Inbound frames and the frames answered on the route (`ack`), in 32 KB units.
    frames: u64,
    connections_table: String,
    inbox_table: String,
    /// A group's members (the group scenario only).
    members_table: String,
    /// What the sink had answered when this baseline started.
    posts_at_start: u64,
}

/// Runs `design` with `users` connected users; each of the first `messages` senders (in pair
/// order, as ours) sends one message to its peer.
pub async fn run(
    design: Design,
    sdk: &SdkConfig,
    sink: &Sink,
    users: u32,
    messages: u64,
) -> anyhow::Result<Phases> {
    let mut baseline = Baseline::new(design, sdk, sink, users).await?;
    let start = baseline.measured();
    for index in 0..users {
        let invocations = baseline.invocations.clone();
        invocations
            .time("connect", baseline.on_connect(index))
            .await?;
    }
    let connected = baseline.measured();
    for k in 0..messages {
        let sender = (k % u64::from(users)) as u32;
        let invocations = baseline.invocations.clone();
        invocations
            .time("sendmessage", baseline.on_message(sender, k))
            .await?;
    }
    let done = baseline.measured();
    baseline.check_posts(sink, &start)?;
    let connect = connected.since(&start, u64::from(users));
    let steady = done.since(&connected, messages);
    Ok(Phases { connect, steady })
}

fn connection(index: u32) -> String {
    format!("conn-{index}=")
}

/// The `connectionId` of each item.
fn connection_ids(items: &[HashMap<String, AttributeValue>]) -> impl Iterator<Item = String> + '_ {
    items
        .iter()
        .filter_map(|item| item.get("connectionId")?.as_s().ok().cloned())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

impl Baseline {
    /// Metered clients and fresh tables for `design` (named after `users`).
    async fn new(
        design: Design,
        sdk: &SdkConfig,
        sink: &Sink,
        users: u32,
    ) -> anyhow::Result<Baseline> {
        let meter = RequestMeter::new();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk)
                .interceptor(meter.clone())
                .build(),
        );
        let prefix = format!("base{users}x{}", crate::report::epoch_ms());
        let baseline = Baseline {
            design,
            dynamodb,
            management: management_client_metered(sdk, &sink.endpoint, Some(&meter)),
            meter,
            invocations: InvocationMeter::default(),
            frames: 0,
            connections_table: format!("{prefix}-connections"),
            inbox_table: format!("{prefix}-inbox"),
            members_table: format!("{prefix}-members"),
            posts_at_start: sink.posts.load(Ordering::Relaxed),
        };
        baseline.create_tables().await?;
        Ok(baseline)
    }

    /// The meter must have seen every post the sink answered since `start`, and no other.
    fn check_posts(&self, sink: &Sink, start: &Measured) -> anyhow::Result<()> {
        let posted = sink.posts.load(Ordering::Relaxed) - self.posts_at_start;
        let metered = self
            .meter
            .snapshot()
            .since(&start.aws)
            .total("ApiGatewayManagementApi")
            .requests;
        if posted != metered {
            anyhow::bail!(
                "{}: the sink answered {posted} posts, the meter counted {metered}",
                self.design.name()
            );
        }
        Ok(())
    }

    fn measured(&self) -> Measured {
        let aws = self.meter.snapshot();
        let posts = aws.total("ApiGatewayManagementApi").payload_units_32k;
        Measured {
            messages: 0,
            aws,
            api_gateway_messages: self.frames + posts,
            lambda: self.invocations.snapshot(),
            s3_direct: DirectS3::default(),
        }
    }

    async fn create_tables(&self) -> anyhow::Result<()> {
        match self.design {
            Design::ScanAll => {
                self.create_table(&self.connections_table, "connectionId", None)
                    .await
            }
            Design::Inbox => {
                self.create_table(&self.connections_table, "userId", Some("connectionId"))
                    .await?;
                self.create_table(&self.inbox_table, "userId", Some("messageKey"))
                    .await
            }
        }
    }

    async fn create_table(
        &self,
        name: &str,
        hash: &str,
        range: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut request = self
            .dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest);
        for (attribute, key_type) in [(Some(hash), KeyType::Hash), (range, KeyType::Range)] {
            let Some(attribute) = attribute else { continue };
            request = request
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(attribute)
                        .key_type(key_type)
                        .build()?,
                )
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(attribute)
                        .attribute_type(ScalarAttributeType::S)
                        .build()?,
                );
        }
        request
            .send()
            .await
            .with_context(|| format!("creating {name}"))?;
        self.dynamodb
            .wait_until_table_exists()
            .table_name(name)
            .wait(std::time::Duration::from_secs(120))
            .await
            .with_context(|| format!("waiting for {name}"))?;
        Ok(())
    }

    /// `$connect`: remember the connection.
    async fn on_connect(&self, index: u32) -> anyhow::Result<()> {
        let mut item = HashMap::from([("connectionId".to_string(), s(connection(index)))]);
        if self.design == Design::Inbox {
            item.insert("userId".into(), s(user(index)));
        }
        self.put(&self.connections_table, item).await
    }

    async fn put(&self, table: &str, item: HashMap<String, AttributeValue>) -> anyhow::Result<()> {
        self.dynamodb
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await?;
        Ok(())
    }

    /// The `sendmessage` route: user `sender` sends message `k` to its peer.
    async fn on_message(&mut self, sender: u32, k: u64) -> anyhow::Result<()> {
        let peer = sender ^ 1;
        let sent_at = crate::report::epoch_ms();
        // The client's `send` frame arrives (one message unit); it carries this id.
        let client_msg_id = format!("c{sender}-{k}");
        self.frames += FRAME_UNITS;
        let conversation = format!("dm:{}:{}", user(sender.min(peer)), user(sender.max(peer)));
        let message = serde_json::json!({
            "type": "message", "conversation_id": conversation, "seq": k + 1,
            "message_id": format!("01JBENCH{sent_at:013}{k:05}"), "sender_id": user(sender),
            "sender_device": "bench", "client_msg_id": client_msg_id,
            "body": BODY, "sent_at": sent_at,
        })
        .to_string();
        let targets = match self.design {
            Design::ScanAll => self.scan_all_connections().await?,
            Design::Inbox => {
                for member in [sender, peer] {
                    self.write_inbox(member, &conversation, &message, sent_at, k)
                        .await?;
                }
                let mut targets = Vec::new();
                for member in [sender, peer] {
                    targets.extend(self.connections_of_user(&user(member)).await?);
                }
                // Not back to the sending connection: it gets the route's `ack`.
                targets.retain(|c| *c != connection(sender));
                self.frames += FRAME_UNITS;
                targets
            }
        };
        self.post_all(targets, message).await
    }

    async fn scan_all_connections(&self) -> anyhow::Result<Vec<String>> {
        let mut connections = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb
                .scan()
                .table_name(&self.connections_table)
                .projection_expression("connectionId")
                .set_exclusive_start_key(start)
                .send()
                .await?;
            connections.extend(connection_ids(page.items()));
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(connections);
            }
        }
    }

    async fn write_inbox(
        &self,
        member: u32,
        conversation: &str,
        message: &str,
        sent_at: i64,
        k: u64,
    ) -> anyhow::Result<()> {
        let item = HashMap::from([
            ("userId".to_string(), s(user(member))),
            ("messageKey".to_string(), s(format!("{sent_at:013}#{k:08}"))),
            ("conversationId".to_string(), s(conversation)),
            ("message".to_string(), s(message)),
        ]);
        self.put(&self.inbox_table, item).await
    }

    async fn connections_of_user(&self, user_id: &str) -> anyhow::Result<Vec<String>> {
        let page = self
            .dynamodb
            .query()
            .table_name(&self.connections_table)
            .key_condition_expression("userId = :u")
            .expression_attribute_values(":u", s(user_id))
            .send()
            .await?;
        Ok(connection_ids(page.items()).collect())
    }

    async fn post_all(&self, targets: Vec<String>, message: String) -> anyhow::Result<()> {
        let data = Blob::new(message.into_bytes());
        let posts = targets.into_iter().map(|connection_id| {
            self.management
                .post_to_connection()
                .connection_id(connection_id)
                .data(data.clone())
                .send()
        });
        let answers: Vec<_> = futures_util::stream::iter(posts)
            .buffer_unordered(POSTS_IN_FLIGHT)
            .collect()
            .await;
        for answer in answers {
            answer.context("posting to a connection")?;
        }
        Ok(())
    }
}
