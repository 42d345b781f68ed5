//! What `chat tail` does with each event, without doing any I/O: which lines to print, which
//! frames to send back (catch-up `sync`s, delivered receipts) and when it has caught up. The
//! connection loop in `mod.rs` carries these effects out; keeping them apart lets the
//! resume rules (below) be tested without a server.
//!
//! On every (re)connect: `sync` for the summary, then, for each conversation whose `last_seq`
//! is past what was shown, `sync {conversation_id, after_seq: shown}` page by page. The very
//! first run of a profile has no cursor and starts at the present (it marks every listed
//! conversation as shown up to its `last_seq`) instead of printing every conversation's
//! whole history; from then on the cursor only moves past what was printed.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use chat_domain::{ConversationId, UserId};
use serde_json::{Value, json};

use crate::config::Cursor;
use crate::error::CliError;
use crate::order::Orderer;

/// The most messages one `sync` page asks for (the protocol's maximum).
const PAGE: u64 = 100;

/// A line to print.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A message (from the live feed or a catch-up page), tagged `"type": "message"`.
    Message(Value),
    /// Any other event worth showing (receipt, typing, presence, recall, membership…).
    Event(Value),
}

/// What handling one event asks for.
#[derive(Debug, Default)]
pub struct Effects {
    pub lines: Vec<Line>,
    pub frames: Vec<Value>,
    /// The catch-up after this connection's start is complete (said once per connection).
    pub caught_up: bool,
    /// The server refused a frame; worth a note on stderr, not the end of `tail`.
    pub warnings: Vec<String>,
    /// The server refused us for good (the token): `tail` ends with this.
    pub fatal: Option<CliError>,
}

pub struct TailState {
    orderer: Orderer<Value>,
    filter: Option<ConversationId>,
    me: Option<UserId>,
    /// No cursor was stored: this run starts at the present.
    first_run: bool,
    /// This connection has read the whole summary.
    summary_done: bool,
    /// Conversations whose catch-up pages are still coming.
    catching_up: HashSet<ConversationId>,
    caught_up_told: bool,
    /// The marks moved since [`TailState::cursor`] was last taken.
    dirty: bool,
}

impl TailState {
    pub fn new(stored: Option<Cursor>, filter: Option<ConversationId>, me: Option<UserId>) -> Self {
        let first_run = stored.is_none();
        let marks = stored.map(|c| c.conversations).unwrap_or_default();
        TailState {
            orderer: Orderer::new(marks),
            filter,
            me,
            first_run,
            summary_done: false,
            catching_up: HashSet::new(),
            caught_up_told: false,
            dirty: false,
        }
    }

    /// The frames that start a connection: the summary, and the presence watch if any.
    pub fn on_connect(&mut self, presence: &[UserId]) -> Vec<Value> {
        self.summary_done = false;
        self.catching_up.clear();
        self.caught_up_told = false;
        let mut frames = vec![json!({ "action": "sync" })];
        if !presence.is_empty() {
            frames.push(json!({ "action": "presence", "user_ids": presence }));
        }
        frames
    }

    /// Who "me" is (my own messages get no receipt, and ticks when shown).
    pub fn me(&self) -> Option<&UserId> {
        self.me.as_ref()
    }

    fn wanted(&self, id: &ConversationId) -> bool {
        self.filter.as_ref().is_none_or(|only| only == id)
    }

    /// Handles one event from the server.
    pub fn handle(&mut self, event: Value, now: Instant) -> Effects {
        let mut effects = Effects::default();
        let conversation = event["conversation_id"]
            .as_str()
            .and_then(|id| ConversationId::parse(id).ok());
        match event["type"].as_str().unwrap_or_default() {
            "sync" => self.summary(&event, &mut effects),
            "messages" => {
                if let Some(id) = conversation {
                    self.page(id, &event, &mut effects);
                }
            }
            "message" => {
                if let Some(id) = conversation.filter(|id| self.wanted(id))
                    && let Some(seq) = event["seq"].as_u64()
                {
                    let shown = self.orderer.offer(&id, seq, event, now);
                    self.show(shown, &mut effects);
                }
            }
            "error" => {
                let code = event["code"].as_str().unwrap_or("internal");
                let message = event["message"].as_str().unwrap_or_default();
                if code == "unauthorized" {
                    effects.fatal = Some(CliError::server(code, message));
                } else {
                    effects
                        .warnings
                        .push(format!("the server refused a frame: {message} ({code})"));
                }
            }
            "ack" | "pong" => {}
            _ => {
                if conversation.is_none_or(|id| self.wanted(&id)) {
                    effects.lines.push(Line::Event(event));
                }
            }
        }
        self.receipts(&mut effects);
        if self.summary_done && self.catching_up.is_empty() && !self.caught_up_told {
            self.caught_up_told = true;
            effects.caught_up = true;
        }
        effects
    }

    /// A page of the `sync` summary: start at the present (first run), or ask for what was
    /// missed.
    fn summary(&mut self, event: &Value, effects: &mut Effects) {
        for item in event["conversations"].as_array().into_iter().flatten() {
            let Some(id) = item["conversation_id"]
                .as_str()
                .and_then(|id| ConversationId::parse(id).ok())
            else {
                continue;
            };
            let last_seq = item["last_seq"].as_u64().unwrap_or(0);
            if self.first_run {
                let shown = self.orderer.skip_to(&id, last_seq);
                if self.wanted(&id) {
                    self.show(shown, effects);
                }
                self.dirty = true;
            } else if self.wanted(&id) && last_seq > self.orderer.shown(&id) {
                effects.frames.push(catch_up(&id, self.orderer.shown(&id)));
                self.catching_up.insert(id);
            }
        }
        match event["next_cursor"].as_str() {
            Some(cursor) => effects
                .frames
                .push(json!({ "action": "sync", "cursor": cursor })),
            None => {
                self.summary_done = true;
                if self.first_run {
                    self.first_run = false;
                    self.dirty = true;
                }
            }
        }
    }

    /// A `messages` page: show what is new, ask for the next page while there is more.
    fn page(&mut self, id: ConversationId, event: &Value, effects: &mut Effects) {
        let items: Vec<(u64, Value)> = event["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let mut m = m.clone();
                m["type"] = Value::from("message");
                Some((m["seq"].as_u64()?, m))
            })
            .collect();
        let more = event["has_more"] == true && !items.is_empty();
        let shown = self.orderer.page(&id, items);
        self.show(shown, effects);
        if more {
            effects.frames.push(catch_up(&id, self.orderer.shown(&id)));
        } else {
            self.catching_up.remove(&id);
        }
    }

    fn show(&mut self, messages: Vec<Value>, effects: &mut Effects) {
        if !messages.is_empty() {
            self.dirty = true;
        }
        effects
            .lines
            .extend(messages.into_iter().map(Line::Message));
    }

    /// A delivered receipt per conversation, up to the last message shown from someone else.
    fn receipts(&self, effects: &mut Effects) {
        let mut upto: BTreeMap<&str, u64> = BTreeMap::new();
        for line in &effects.lines {
            let Line::Message(m) = line else { continue };
            let from_me = self
                .me
                .as_ref()
                .is_some_and(|me| m["sender_id"].as_str() == Some(me.as_str()));
            if let (false, Some(id), Some(seq)) =
                (from_me, m["conversation_id"].as_str(), m["seq"].as_u64())
            {
                let mark = upto.entry(id).or_default();
                *mark = (*mark).max(seq);
            }
        }
        for (id, seq) in upto {
            effects.frames.push(json!({
                "action": "receipt", "conversation_id": id, "seq": seq, "kind": "delivered",
            }));
        }
    }

    /// Catch-up `sync`s for gaps that stayed open too long.
    pub fn tick(&mut self, now: Instant) -> Vec<Value> {
        self.orderer
            .overdue(now)
            .into_iter()
            .map(|(id, shown)| catch_up(&id, shown))
            .collect()
    }

    /// The marks to store, if they moved since the last call.
    pub fn take_cursor(&mut self) -> Option<Cursor> {
        if !std::mem::take(&mut self.dirty) {
            return None;
        }
        let conversations = self
            .orderer
            .marks()
            .filter(|(_, shown)| *shown > 0)
            .map(|(id, shown)| (id.clone(), shown))
            .collect();
        Some(Cursor { conversations })
    }
}

fn catch_up(id: &ConversationId, after_seq: u64) -> Value {
    json!({ "action": "sync", "conversation_id": id, "after_seq": after_seq, "limit": PAGE })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dm() -> ConversationId {
        ConversationId::parse("dm:alice:bob").expect("id")
    }

    fn message(seq: u64, sender: &str) -> Value {
        json!({"type": "message", "conversation_id": "dm:alice:bob", "seq": seq,
               "sender_id": sender, "body": format!("m{seq}")})
    }

    fn summary(last_seq: u64) -> Value {
        json!({"type": "sync", "conversations": [
            {"conversation_id": "dm:alice:bob", "kind": "direct", "last_seq": last_seq}]})
    }

    fn bob() -> Option<UserId> {
        UserId::parse("bob").ok()
    }

    #[test]
    fn a_first_run_starts_at_the_present() {
        let now = Instant::now();
        let mut state = TailState::new(None, None, bob());
        state.on_connect(&[]);
        let effects = state.handle(summary(5), now);
        assert!(effects.caught_up);
        assert!(effects.frames.is_empty(), "{:?}", effects.frames);
        let cursor = state.take_cursor().expect("stored at once");
        assert_eq!(cursor.conversations.get(&dm()), Some(&5));
        let effects = state.handle(message(6, "alice"), now);
        assert_eq!(effects.lines, vec![Line::Message(message(6, "alice"))]);
        assert_eq!(
            effects.frames,
            vec![
                json!({"action": "receipt", "conversation_id": "dm:alice:bob", "seq": 6, "kind": "delivered"})
            ]
        );
    }

    #[test]
    fn a_restart_catches_up_from_the_cursor_without_duplicates() {
        let now = Instant::now();
        let mut stored = Cursor::default();
        stored.conversations.insert(dm(), 2);
        let mut state = TailState::new(Some(stored), None, bob());
        state.on_connect(&[]);
        let effects = state.handle(summary(4), now);
        assert!(!effects.caught_up);
        assert_eq!(effects.frames[0]["after_seq"], 2);
        // A live message overtakes the page: held, then shown in order.
        assert!(state.handle(message(4, "alice"), now).lines.is_empty());
        let page = json!({"type": "messages", "conversation_id": "dm:alice:bob", "has_more": false,
                          "messages": [message(3, "alice"), message(4, "alice")]});
        let effects = state.handle(page, now);
        let seqs: Vec<u64> = effects
            .lines
            .iter()
            .filter_map(|l| match l {
                Line::Message(m) => m["seq"].as_u64(),
                Line::Event(_) => None,
            })
            .collect();
        assert_eq!(seqs, vec![3, 4]);
        assert!(effects.caught_up);
        assert_eq!(
            state
                .take_cursor()
                .and_then(|c| c.conversations.get(&dm()).copied()),
            Some(4)
        );
    }

    #[test]
    fn my_own_messages_get_no_receipt_and_other_conversations_are_filtered() {
        let now = Instant::now();
        let mut state = TailState::new(Some(Cursor::default()), Some(dm()), bob());
        state.on_connect(&[]);
        state.handle(json!({"type": "sync", "conversations": []}), now);
        let mine = state.handle(message(1, "bob"), now);
        assert_eq!(mine.lines.len(), 1);
        assert!(mine.frames.is_empty());
        let elsewhere = json!({"type": "typing", "conversation_id": "grp:g1", "user_id": "carol", "state": "start"});
        assert!(state.handle(elsewhere, now).lines.is_empty());
        let presence = json!({"type": "presence", "user_id": "carol", "online": true});
        assert_eq!(state.handle(presence, now).lines.len(), 1);
    }

    #[test]
    fn a_refused_token_ends_tail_and_other_refusals_do_not() {
        let now = Instant::now();
        let mut state = TailState::new(None, None, None);
        let refused = json!({"type": "error", "code": "bad_request", "message": "nope"});
        let effects = state.handle(refused, now);
        assert!(effects.fatal.is_none());
        assert_eq!(effects.warnings.len(), 1);
        let gone = json!({"type": "error", "code": "unauthorized", "message": "expired"});
        assert!(state.handle(gone, now).fatal.is_some());
    }
}
