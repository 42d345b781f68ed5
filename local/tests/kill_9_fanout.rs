//! `kill -9` in the middle of a group fan-out, on the real binary: eight senders pipeline
//! messages into a group of thirty (four more members watching over WebSocket, the rest
//! offline), and the process is killed while sends are still going out unanswered and pushes
//! are on their way. After a restart on the same data dir:
//!
//! - every message whose `ack` arrived, and every message a device was pushed, is in the
//!   history exactly once, at the seq and with the message id it was announced with; the seqs
//!   are gap-free 1..=head and no `client_msg_id` is there twice;
//! - resending every send with its `client_msg_id` stores nothing twice: an acknowledged one
//!   answers its first ack, one stored but unacknowledged answers the seq and message id it was
//!   stored at, and only the ones never stored get new seqs, right after the head;
//! - every member, watcher or offline, catches up with `sync` to exactly that history: what a
//!   watcher was pushed before the kill plus what it syncs after its cursor is every seq once,
//!   and an offline member's `sync` is the history itself.
//!
//! What a `kill -9` can and cannot catch: the kernel survives it, so a write handed to it with
//! `write()` survives even unsynced. Dropping the fsync (`synchronous=OFF`) therefore passes
//! this test; only a power cut (or a block device that drops unsynced writes) shows that. What
//! fails it is anything announced before its transaction committed: a push or an `ack` sent
//! ahead of the commit (write-behind, a group commit that answers or publishes to the change
//! feed before its `COMMIT`), or an idempotency key or seq counter held in memory rather than
//! in the store. Checked by hand with the change feed published 200 ms before each batch's
//! `COMMIT`: it failed 8 runs of 8 ("socket 0 was pushed seq 3, lost by the kill"); with 50 ms,
//! 8 of 10; with 20 ms, 1 of 5 (about how fast the client hears a push on a loaded machine).

mod support;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use support::{
    Listening, assert_gap_free, connect, create_group, history, http_as, next_past_pushes, seq_of,
    start, sync_after,
};

/// Members sending (the first one owns the group); each is pushed the others' messages too.
const SENDERS: usize = 8;
/// Members connected before the kill, pushed every message.
const WATCHERS: usize = 4;
/// Members never connected before the kill.
const OFFLINE: usize = 18;
/// Sends per sender. Twice this (before the kill and the resend after it) stays inside the
/// default send burst (100), so no send is refused for its rate.
const EACH: usize = 25;
const SENT: usize = EACH * SENDERS;
/// The kill comes as soon as one watcher has been pushed this many of the senders' messages:
/// the fan-out has begun, most sends are unanswered (some still being written), and the kill
/// follows the first pushes as closely as the client can, so that a push sent ahead of its
/// commit is caught. The acks that have arrived by then (a few to dozens) are evidence too.
const PUSHED_BEFORE_KILL: usize = 2;

fn send(group: &str, id: &str) -> Value {
    json!({ "action": "send", "conversation_id": group, "client_msg_id": id,
        "body": format!("fan-out {id}") })
}

/// What must match between a message as announced and as stored.
fn identity(message: &Value) -> (u64, Value, Value, Value, Value) {
    (
        seq_of(message),
        message["message_id"].clone(),
        message["client_msg_id"].clone(),
        message["sender_id"].clone(),
        message["body"].clone(),
    )
}

/// What the sockets showed before the kill.
struct BeforeTheKill {
    /// By `client_msg_id`.
    acks: HashMap<String, Value>,
    /// The `message` events of each socket, in arrival order.
    pushed: Vec<Vec<Value>>,
}

impl BeforeTheKill {
    fn observe(&mut self, from: usize, event: Value) {
        match event["type"].as_str() {
            Some("ack") => {
                let id = event["client_msg_id"].as_str().expect("id").to_string();
                self.acks.insert(id, event);
            }
            Some("message") => self.pushed[from].push(event),
            _ => panic!("socket {from}: unexpected {event}"),
        }
    }

    /// Whether a watcher has been pushed enough of the senders' messages.
    fn fanned_out(&self) -> bool {
        self.pushed[..WATCHERS]
            .iter()
            .any(|p| p.iter().filter(|m| m.get("system").is_none()).count() >= PUSHED_BEFORE_KILL)
    }
}

/// A device's view of the conversation: by seq, each message once. At-least-once on the
/// wire: a repeat must carry the same message.
fn see(seen: &mut BTreeMap<u64, Value>, message: &Value, user: &str) {
    if let Some(before) = seen.insert(seq_of(message), message.clone()) {
        assert_eq!(
            identity(&before),
            identity(message),
            "{user}: seq {} twice",
            seq_of(message)
        );
    }
}

#[tokio::test]
async fn kill_9_during_a_group_fan_out_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().expect("data dir");
    let (mut child, addr) = start(dir.path());
    let senders: Vec<String> = (0..SENDERS).map(|n| format!("sender{n}")).collect();
    let watchers: Vec<String> = (0..WATCHERS).map(|n| format!("watcher{n}")).collect();
    let offline: Vec<String> = (0..OFFLINE).map(|n| format!("offline{n:02}")).collect();
    let members: Vec<String> = senders[1..]
        .iter()
        .chain(&watchers)
        .chain(&offline)
        .cloned()
        .collect();
    let owner = senders[0].as_str();

    // Sockets 0..WATCHERS are the watchers, then the senders in order.
    let mut sockets = Vec::new();
    for user in &watchers {
        sockets.push(connect(&addr, user).await);
    }
    let group = create_group(&addr, owner, "Fan-out", &members).await;
    for user in &senders {
        sockets.push(connect(&addr, user).await);
    }
    let ids = |s: usize| (0..EACH).map(move |n| format!("s{s}-{n}"));
    let mut listening = Listening::to(sockets);
    for n in 0..EACH {
        for s in 0..SENDERS {
            listening.send(WATCHERS + s, send(&group, &format!("s{s}-{n}")));
        }
    }
    let mut seen = BeforeTheKill {
        acks: HashMap::new(),
        pushed: vec![Vec::new(); WATCHERS + SENDERS],
    };
    while !seen.fanned_out() {
        let (from, event) = listening.next().await;
        seen.observe(from, event);
    }
    let mut events = listening.stop();
    child.kill_9();
    // What the readers had taken off the sockets before the kill is evidence too.
    while let Ok((from, event)) = events.try_recv() {
        seen.observe(from, event);
    }
    let BeforeTheKill {
        acks: acked,
        pushed,
    } = seen;

    let (_child, addr) = start(dir.path());
    let stored = history(&http_as(&addr, owner).await, &group).await;
    assert_gap_free(&stored);
    assert_eq!(stored[0]["system"]["event"], "created", "{}", stored[0]);
    let sent: Vec<String> = (0..SENDERS).flat_map(ids).collect();
    let stored_ids: HashMap<String, &Value> = stored[1..]
        .iter()
        .map(|m| {
            let id = m["client_msg_id"].as_str().expect("client_msg_id");
            assert!(
                sent.iter().any(|s| s == id),
                "stored a message never sent: {m}"
            );
            (id.to_string(), m)
        })
        .collect();
    let head = stored.len() as u64;
    // Every ack and every push before the kill is in the history as it was announced.
    for ack in acked.values() {
        let message = &stored[usize::try_from(seq_of(ack) - 1).expect("seq ≥ 1")];
        assert_eq!(
            (&message["message_id"], &message["client_msg_id"]),
            (&ack["message_id"], &ack["client_msg_id"]),
            "an acknowledged send is not where its ack said"
        );
    }
    for (from, messages) in pushed.iter().enumerate() {
        for message in messages {
            let seq = seq_of(message);
            assert!(
                seq <= head,
                "socket {from} was pushed seq {seq}, lost by the kill"
            );
            let stored = &stored[usize::try_from(seq - 1).expect("seq ≥ 1")];
            assert_eq!(identity(stored), identity(message), "socket {from}");
        }
    }
    eprintln!(
        "before the kill: {} of {SENT} acked, watchers pushed {:?}; after it: head {head}",
        acked.len(),
        pushed[..WATCHERS].iter().map(Vec::len).collect::<Vec<_>>()
    );

    // Every send again, with its client_msg_id: nothing is stored twice.
    let mut sockets = Vec::new();
    for user in &senders {
        sockets.push(connect(&addr, user).await);
    }
    for (s, socket) in sockets.iter_mut().enumerate() {
        for id in ids(s) {
            socket.send_json(&send(&group, &id)).await;
        }
    }
    let mut again: HashMap<String, Value> = HashMap::new();
    for (s, socket) in sockets.iter_mut().enumerate() {
        let mut answered = 0;
        while answered < EACH {
            let event = socket.next_event().await;
            match event["type"].as_str() {
                Some("ack") => {
                    answered += 1;
                    let id = event["client_msg_id"].as_str().expect("id").to_string();
                    assert!(id.starts_with(&format!("s{s}-")), "{event}");
                    assert!(
                        again.insert(id, event.clone()).is_none(),
                        "two acks: {event}"
                    );
                }
                // The other senders' resends that were stored only now reach this device.
                Some("message") => {}
                _ => panic!("{}: unexpected {event}", senders[s]),
            }
        }
    }
    let mut fresh: Vec<u64> = Vec::new();
    for (id, ack) in &again {
        if let Some(first) = acked.get(id) {
            assert_eq!(
                ack, first,
                "a retried acknowledged send answers its first ack"
            );
        }
        match stored_ids.get(id) {
            Some(message) => assert_eq!(
                (seq_of(ack), &ack["message_id"]),
                (seq_of(message), &message["message_id"]),
                "a resend of a message stored before the kill"
            ),
            None => fresh.push(seq_of(ack)),
        }
    }
    fresh.sort_unstable();
    assert_eq!(
        fresh,
        (head + 1..=head + (SENT - stored_ids.len()) as u64).collect::<Vec<_>>(),
        "the sends never stored get the seqs right after the head"
    );
    let complete = history(&http_as(&addr, owner).await, &group).await;
    assert_gap_free(&complete);
    assert_eq!(complete.len(), SENT + 1, "every send once, after `created`");
    for (stored, now) in stored.iter().zip(&complete) {
        assert_eq!(identity(stored), identity(now), "a stored message changed");
    }
    for ack in again.values() {
        let message = &complete[usize::try_from(seq_of(ack) - 1).expect("seq ≥ 1")];
        assert_eq!(message["message_id"], ack["message_id"], "{ack}");
    }

    // Every member catches up to exactly that history: a watcher from its cursor (the end of
    // what it was pushed without a gap), everyone else from the start.
    let final_head = complete.len() as u64;
    for user in senders.iter().chain(&members) {
        let was_pushed: &[Value] = watchers
            .iter()
            .position(|w| w == user)
            .map_or(&[], |w| &pushed[w]);
        let mut seen: BTreeMap<u64, Value> = BTreeMap::new();
        for message in was_pushed {
            see(&mut seen, message, user);
        }
        let cursor = (1..)
            .take_while(|s| seen.contains_key(s))
            .last()
            .unwrap_or(0);
        let mut socket = connect(&addr, user).await;
        // The resends' fan-out may still be reaching a device that connects now.
        let mut pushed_now = Vec::new();
        socket.send_json(&json!({ "action": "sync" })).await;
        let summary = next_past_pushes(&mut socket, "sync", &mut pushed_now).await;
        let listed = summary["conversations"]
            .as_array()
            .expect("conversations")
            .iter()
            .find(|c| c["conversation_id"] == group.as_str())
            .unwrap_or_else(|| panic!("{user}: no {group} in {summary}"));
        assert_eq!(listed["last_seq"], final_head, "{user}: {listed}");
        let synced = sync_after(&mut socket, &group, cursor, &mut pushed_now).await;
        let synced_seqs: Vec<u64> = synced.iter().map(seq_of).collect();
        assert_eq!(
            synced_seqs,
            (cursor + 1..=final_head).collect::<Vec<_>>(),
            "{user}: sync after {cursor}"
        );
        for message in synced.iter().chain(&pushed_now) {
            see(&mut seen, message, user);
        }
        let caught_up: Vec<_> = seen.values().map(identity).collect();
        let expected: Vec<_> = complete.iter().map(identity).collect();
        assert_eq!(caught_up, expected, "{user} caught up to another history");
    }
}
