//! `kill -9` in the middle of a burst of receipts, on the real binary: twelve members of a group
//! pipeline `delivered` and `read` receipts with rising seqs (while the owner goes on sending),
//! and the process is killed mid-burst. After a restart on the same data dir, no mark is lower
//! than the evidence says it had become, and no message is lost or doubled.
//!
//! A receipt has no `ack`: the client never learns from its own socket that a receipt was
//! stored. The evidence that one took effect is what others were told, and those are told only
//! after the mark's write has committed (`advance_mark` answers once its batch is durable, and
//! only then goes the news out): a `receipt` event (to the member's other device and to the
//! sender of the messages it covers; it names the member, the kind and the mark's new value), a
//! `receipt_summary` (the group's ticks), and an HTTP read of the marks
//! (`GET /v1/conversations/{id}` lists every member's `delivered_seq` / `read_seq`). So, after
//! the restart, each member's mark of each kind, as the HTTP details and the member's own
//! `sync` summary both show it, is
//!
//! - at least the highest value any of that evidence showed before the kill (a mark never goes
//!   down, a crash included), and
//! - at most the highest receipt of that kind the member sent (a mark never invents progress);
//!
//! a receipt nobody heard of may be lost with the process, which is all a receipt without an
//! ack may be. The group's ticks are at least what a `receipt_summary` or the HTTP read showed.
//! Messages: every acknowledged or pushed one is there once, gap-free.
//!
//! What a `kill -9` can and cannot catch: the kernel survives it, so a write handed to it with
//! `write()` survives even unsynced, and dropping the fsync (`synchronous=OFF`) passes this
//! test; only a power cut (or a block device that drops unsynced writes) shows that. What fails
//! it is a mark announced before it committed: news sent ahead of the commit, marks kept in
//! memory and written behind, or a mark write that can lower a mark. Checked by hand with
//! `advance_mark` answering 200 ms before its batch's `COMMIT`: it failed 8 runs of 8
//! ("reader0: marks (delivered, read) went down across the kill: (51, 46) seen before it,
//! (25, 20) after"); with 50 ms, 1 of 8 (in a burst the news leaves tens of ms after the
//! write, behind the reads it needs, and the client hears it later still on a loaded machine).

mod support;

use std::collections::HashMap;

use chat_tests::HttpClient;
use serde_json::{Value, json};

use support::{
    Listening, assert_gap_free, connect, connect_device, create_group, history, http_as, seq_of,
    start,
};

/// Members sending receipts, each from a phone, with a laptop that hears of them.
const READERS: usize = 12;
/// Messages the owner sends (all acknowledged) before the burst.
const BEFORE: usize = 50;
/// Messages the owner pipelines during the burst, one every other seq of it. `BEFORE + DURING`
/// stays inside the default send burst (100), so no send is refused for its rate.
const DURING: usize = 25;
/// How far each reader's `read` lags behind its `delivered`.
const LAG: u64 = 5;
/// The HTTP read comes once this many `receipt` events of the burst's first half have been
/// seen, and the kill once this many of its second half.
const RECEIPTS_BEFORE_KILL: usize = 30;

fn receipt(group: &str, kind: &str, seq: u64) -> Value {
    json!({ "action": "receipt", "conversation_id": group, "kind": kind, "seq": seq })
}

/// The marks as the HTTP details show them: by member, `(delivered_seq, read_seq)`, and the
/// group's ticks `(delivered_all_seq, read_all_seq)` as its owner sees them.
async fn marks(owner: &HttpClient, group: &str) -> (HashMap<String, (u64, u64)>, (u64, u64)) {
    let (status, details) = owner.get(&format!("/v1/conversations/{group}")).await;
    assert_eq!(status, 200, "{details}");
    let number = |v: &Value, field: &str| {
        v[field]
            .as_u64()
            .unwrap_or_else(|| panic!("no {field} in {v}"))
    };
    let members = details["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            let user = m["user_id"].as_str().expect("user_id").to_string();
            (user, (number(m, "delivered_seq"), number(m, "read_seq")))
        })
        .collect();
    let ticks = (
        number(&details, "delivered_all_seq"),
        number(&details, "read_all_seq"),
    );
    (members, ticks)
}

/// What the sockets showed before the kill.
#[derive(Default)]
struct BeforeTheKill {
    /// The highest mark each `receipt` event announced, by `(user, kind)`.
    receipts: HashMap<(String, String), u64>,
    /// The seq of every `receipt` event.
    receipt_seqs: Vec<u64>,
    /// The highest ticks a `receipt_summary` announced.
    ticks: (u64, u64),
    /// The owner's acks, by `client_msg_id`.
    acks: HashMap<String, Value>,
    /// Every `message` pushed to any device.
    pushed: Vec<Value>,
}

impl BeforeTheKill {
    fn observe(&mut self, from: usize, event: Value) {
        match event["type"].as_str() {
            Some("receipt") => {
                let user = event["user_id"].as_str().expect("user_id").to_string();
                let kind = event["kind"].as_str().expect("kind").to_string();
                let mark = self.receipts.entry((user, kind)).or_default();
                *mark = (*mark).max(seq_of(&event));
                self.receipt_seqs.push(seq_of(&event));
            }
            Some("receipt_summary") => {
                let tick = |field: &str| event[field].as_u64().expect("tick");
                self.ticks.0 = self.ticks.0.max(tick("delivered_all_seq"));
                self.ticks.1 = self.ticks.1.max(tick("read_all_seq"));
            }
            Some("ack") => {
                let id = event["client_msg_id"].as_str().expect("id").to_string();
                self.acks.insert(id, event);
            }
            Some("message") => self.pushed.push(event),
            _ => panic!("socket {from}: unexpected {event}"),
        }
    }

    /// How many `receipt` events announced a mark past `seq`.
    fn receipts_past(&self, seq: u64) -> usize {
        self.receipt_seqs.iter().filter(|s| **s > seq).count()
    }

    fn acked_during(&self) -> usize {
        self.acks
            .keys()
            .filter(|id| id.starts_with("during"))
            .count()
    }

    /// The highest `kind` mark of `user` any receipt event showed (0: none).
    fn receipt(&self, user: &str, kind: &str) -> u64 {
        self.receipts
            .get(&(user.to_string(), kind.to_string()))
            .copied()
            .unwrap_or(0)
    }
}

#[tokio::test]
async fn kill_9_mid_receipts_lowers_no_mark_and_loses_no_message() {
    let dir = tempfile::tempdir().expect("data dir");
    let (mut child, addr) = start(dir.path());
    let readers: Vec<String> = (0..READERS).map(|n| format!("reader{n}")).collect();
    let group = create_group(&addr, "alice", "Receipts", &readers).await;

    let mut alice = connect(&addr, "alice").await;
    for n in 0..BEFORE {
        alice
            .send_json(&json!({ "action": "send", "conversation_id": group,
                "client_msg_id": format!("before-{n}"), "body": format!("before {n}") }))
            .await;
    }
    let mut seen = BeforeTheKill::default();
    while seen.acks.len() < BEFORE {
        let event = alice.next_event().await;
        seen.observe(0, event);
    }
    let head = (BEFORE + 1) as u64; // `created`, then the owner's messages.

    // The burst, in two halves: every reader marks each message delivered, and read `LAG`
    // behind, while the owner sends on; nobody waits for anything. Sockets: the owner's, then
    // the readers' phones, then their laptops.
    let mut sockets = vec![alice];
    for reader in &readers {
        sockets.push(connect(&addr, reader).await);
    }
    for reader in &readers {
        sockets.push(connect_device(&addr, reader, "laptop").await);
    }
    let owner = http_as(&addr, "alice").await;
    let mut listening = Listening::to(sockets);
    let half = head / 2;
    let mut during = (0..DURING).peekable();
    let mut queue = |listening: &Listening, seqs: std::ops::RangeInclusive<u64>| {
        for seq in seqs {
            for phone in 1..=READERS {
                listening.send(phone, receipt(&group, "delivered", seq));
                if seq > LAG {
                    listening.send(phone, receipt(&group, "read", seq - LAG));
                }
            }
            if let Some(n) = during.next_if(|_| seq % 2 == 0) {
                listening.send(
                    0,
                    json!({ "action": "send", "conversation_id": group,
                        "client_msg_id": format!("during-{n}"), "body": format!("during {n}") }),
                );
            }
        }
    };
    // The first half; once its news is coming in, an HTTP read of the marks (evidence too:
    // what it shows has committed) while the rest of the half goes on.
    queue(&listening, 1..=half);
    while seen.receipts_past(0) < RECEIPTS_BEFORE_KILL {
        let (from, event) = listening.next().await;
        seen.observe(from, event);
    }
    let (read_mid_burst, ticks_mid_burst) = marks(&owner, &group).await;
    // The second half, killed as soon as its first news is in.
    queue(&listening, half + 1..=head);
    while seen.receipts_past(half) < RECEIPTS_BEFORE_KILL {
        let (from, event) = listening.next().await;
        seen.observe(from, event);
    }
    let mut events = listening.stop();
    child.kill_9();
    while let Ok((from, event)) = events.try_recv() {
        seen.observe(from, event);
    }

    let (_child, addr) = start(dir.path());
    let (after, ticks_after) = marks(&http_as(&addr, "alice").await, &group).await;
    let (mut moved_after_evidence, mut unfinished) = (0, 0);
    for reader in &readers {
        let (delivered, read) = after[reader];
        let (http_delivered, http_read) = read_mid_burst[reader];
        let at_least = (
            seen.receipt(reader, "delivered").max(http_delivered),
            seen.receipt(reader, "read").max(http_read),
        );
        assert!(
            delivered >= at_least.0 && read >= at_least.1,
            "{reader}: marks (delivered, read) went down across the kill: \
             {at_least:?} seen before it, {:?} after",
            (delivered, read)
        );
        assert!(
            delivered <= head && read <= head - LAG,
            "{reader}: a mark past every receipt sent: {:?}",
            (delivered, read)
        );
        moved_after_evidence += usize::from((delivered, read) != at_least);
        unfinished += usize::from((delivered, read) != (head, head - LAG));
        // The member's own view agrees with the details.
        let mut phone = connect(&addr, reader).await;
        phone.send_json(&json!({ "action": "sync" })).await;
        let summary = phone.expect("sync").await;
        let listed = summary["conversations"]
            .as_array()
            .expect("conversations")
            .iter()
            .find(|c| c["conversation_id"] == group.as_str())
            .unwrap_or_else(|| panic!("{reader}: no {group} in {summary}"))
            .clone();
        assert_eq!(
            (
                listed["delivered_seq"].as_u64(),
                listed["read_seq"].as_u64()
            ),
            (Some(delivered), Some(read)),
            "{reader}: sync and the details disagree: {listed}"
        );
    }
    let ticks_at_least = (
        seen.ticks.0.max(ticks_mid_burst.0),
        seen.ticks.1.max(ticks_mid_burst.1),
    );
    assert!(
        ticks_after.0 >= ticks_at_least.0 && ticks_after.1 >= ticks_at_least.1,
        "the group's ticks went down across the kill: {ticks_at_least:?} seen, {ticks_after:?} after"
    );
    eprintln!(
        "before the kill: {} receipt events, ticks {:?}, {} of {DURING} sends during the burst \
         acked; after it: {moved_after_evidence} of {READERS} readers' marks past the evidence, \
         {unfinished} short of their last receipt",
        seen.receipt_seqs.len(),
        seen.ticks,
        seen.acked_during()
    );

    // No message lost or doubled.
    let stored = history(&http_as(&addr, "alice").await, &group).await;
    assert_gap_free(&stored);
    assert!(
        stored.len() as u64 >= head && stored.len() <= BEFORE + DURING + 1,
        "{} messages stored",
        stored.len()
    );
    for ack in seen.acks.values() {
        let message = &stored[usize::try_from(seq_of(ack) - 1).expect("seq ≥ 1")];
        assert_eq!(
            (&message["message_id"], &message["client_msg_id"]),
            (&ack["message_id"], &ack["client_msg_id"]),
            "an acknowledged send is not where its ack said"
        );
    }
    for message in &seen.pushed {
        let seq = seq_of(message);
        assert!(
            seq as usize <= stored.len(),
            "seq {seq} was pushed, then lost"
        );
        let stored = &stored[usize::try_from(seq - 1).expect("seq ≥ 1")];
        assert_eq!(stored["message_id"], message["message_id"], "{message}");
    }
}
