//! The client's half of the ordering promise (docs/protocol.md, "Ordering and delivery"): per
//! conversation, keep the highest seq shown; show `shown + 1` at once and whatever held
//! messages then follow; hold a message past a gap for up to [`HOLD`]; drop what was shown.
//! A gap still open after that is [`Orderer::overdue`], and the caller asks `sync` from
//! `shown`. A `messages` page from `sync` is authoritative ([`Orderer::page`]): it holds every
//! message after the asked seq that this user may see, so a seq it skips (before the user
//! joined a group) is not a gap to wait for. No I/O here, so the rules are tested alone.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chat_domain::ConversationId;

/// How long a message past a gap waits for the gap to fill before `sync` is asked.
pub const HOLD: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Conversation<T> {
    shown: u64,
    held: BTreeMap<u64, T>,
    /// Since when the oldest open gap has been waiting (or since the last `sync` asked).
    waiting_since: Option<Instant>,
}

/// Per-conversation order over messages of any type `T` (raw JSON or parsed).
#[derive(Debug)]
pub struct Orderer<T> {
    conversations: HashMap<ConversationId, Conversation<T>>,
}

impl<T> Orderer<T> {
    /// Starts from what was shown before (the stored cursor); others start at 0.
    pub fn new(shown: impl IntoIterator<Item = (ConversationId, u64)>) -> Orderer<T> {
        Orderer {
            conversations: shown
                .into_iter()
                .map(|(id, shown)| {
                    let state = Conversation {
                        shown,
                        held: BTreeMap::new(),
                        waiting_since: None,
                    };
                    (id, state)
                })
                .collect(),
        }
    }

    fn conversation(&mut self, id: &ConversationId) -> &mut Conversation<T> {
        self.conversations
            .entry(id.clone())
            .or_insert_with(|| Conversation {
                shown: 0,
                held: BTreeMap::new(),
                waiting_since: None,
            })
    }

    /// The highest seq shown in `id` (0 for none).
    pub fn shown(&self, id: &ConversationId) -> u64 {
        self.conversations.get(id).map_or(0, |c| c.shown)
    }

    /// Moves `id`'s mark up to `seq` without showing what came before (a first run starts at
    /// the present, not at the beginning of every conversation); answers the held messages
    /// that now follow the mark.
    pub fn skip_to(&mut self, id: &ConversationId, seq: u64) -> Vec<T> {
        let conversation = self.conversation(id);
        if seq <= conversation.shown {
            return Vec::new();
        }
        conversation.shown = seq;
        conversation.held = conversation.held.split_off(&(seq + 1));
        let shown = conversation.release();
        if conversation.held.is_empty() {
            conversation.waiting_since = None;
        }
        shown
    }

    /// A live message: what to show now, in order (possibly nothing, possibly several).
    pub fn offer(&mut self, id: &ConversationId, seq: u64, item: T, now: Instant) -> Vec<T> {
        let conversation = self.conversation(id);
        if seq <= conversation.shown {
            return Vec::new();
        }
        conversation.held.insert(seq, item);
        let shown = conversation.release();
        if conversation.held.is_empty() {
            conversation.waiting_since = None;
        } else if conversation.waiting_since.is_none() {
            conversation.waiting_since = Some(now);
        }
        shown
    }

    /// A `sync` page: every visible message after the seq it asked from, in seq order.
    pub fn page(&mut self, id: &ConversationId, items: Vec<(u64, T)>) -> Vec<T> {
        let conversation = self.conversation(id);
        let mut shown = Vec::new();
        for (seq, item) in items {
            if seq <= conversation.shown {
                continue;
            }
            // Anything held below a seq the page shows is not coming in this order any more.
            conversation.held = conversation.held.split_off(&(seq + 1));
            conversation.shown = seq;
            shown.push(item);
            shown.extend(conversation.release());
        }
        if conversation.held.is_empty() {
            conversation.waiting_since = None;
        }
        shown
    }

    /// Conversations whose gap has been open for [`HOLD`], with the seq to `sync` from; each
    /// is asked again only after another [`HOLD`].
    pub fn overdue(&mut self, now: Instant) -> Vec<(ConversationId, u64)> {
        let mut due = Vec::new();
        for (id, conversation) in &mut self.conversations {
            if let Some(since) = conversation.waiting_since
                && now.duration_since(since) >= HOLD
            {
                conversation.waiting_since = Some(now);
                due.push((id.clone(), conversation.shown));
            }
        }
        due
    }

    /// The marks, for the stored cursor.
    pub fn marks(&self) -> impl Iterator<Item = (&ConversationId, u64)> {
        self.conversations.iter().map(|(id, c)| (id, c.shown))
    }
}

impl<T> Conversation<T> {
    /// Takes the held messages that now follow `shown` without a gap.
    fn release(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        while let Some(item) = self.held.remove(&(self.shown + 1)) {
            self.shown += 1;
            out.push(item);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dm() -> ConversationId {
        ConversationId::parse("dm:alice:bob").expect("id")
    }

    #[test]
    fn in_order_messages_show_at_once_and_duplicates_drop() {
        let now = Instant::now();
        let mut order = Orderer::new([(dm(), 2)]);
        assert!(order.offer(&dm(), 2, "old", now).is_empty());
        assert_eq!(order.offer(&dm(), 3, "three", now), vec!["three"]);
        assert!(order.offer(&dm(), 3, "three again", now).is_empty());
        assert_eq!(order.shown(&dm()), 3);
    }

    #[test]
    fn a_gap_holds_until_it_fills() {
        let now = Instant::now();
        let mut order = Orderer::new([]);
        assert_eq!(order.offer(&dm(), 1, 1, now), vec![1]);
        assert!(order.offer(&dm(), 3, 3, now).is_empty());
        assert!(order.offer(&dm(), 4, 4, now).is_empty());
        assert!(order.overdue(now + Duration::from_millis(10)).is_empty());
        assert_eq!(order.offer(&dm(), 2, 2, now), vec![2, 3, 4]);
        assert!(order.overdue(now + HOLD).is_empty());
    }

    #[test]
    fn an_open_gap_asks_sync_after_the_hold_and_the_page_fills_it() {
        let now = Instant::now();
        let mut order = Orderer::new([(dm(), 1)]);
        assert!(order.offer(&dm(), 3, 3, now).is_empty());
        assert_eq!(order.overdue(now + HOLD), vec![(dm(), 1)]);
        assert!(order.overdue(now + HOLD).is_empty(), "asked once per hold");
        assert_eq!(order.page(&dm(), vec![(2, 2), (3, 3)]), vec![2, 3]);
        assert!(order.overdue(now + HOLD * 3).is_empty());
    }

    #[test]
    fn a_page_that_skips_seqs_moves_past_them() {
        let now = Instant::now();
        let mut order = Orderer::new([]);
        assert!(order.offer(&dm(), 6, 6, now).is_empty());
        assert_eq!(order.page(&dm(), vec![(5, 5), (6, 6)]), vec![5, 6]);
        assert_eq!(order.offer(&dm(), 7, 7, now), vec![7]);
    }

    #[test]
    fn skipping_ahead_shows_nothing_before_the_mark() {
        let now = Instant::now();
        let mut order = Orderer::new([]);
        assert!(
            order.offer(&dm(), 5, 5, now).is_empty(),
            "held: 1 to 4 are missing"
        );
        assert_eq!(order.skip_to(&dm(), 3), Vec::<i32>::new());
        assert_eq!(order.skip_to(&dm(), 4), vec![5]);
        assert!(order.offer(&dm(), 4, 4, now).is_empty());
        assert!(order.overdue(now + HOLD).is_empty());
        assert_eq!(order.offer(&dm(), 6, 6, now), vec![6]);
        assert_eq!(order.marks().collect::<Vec<_>>(), vec![(&dm(), 6)]);
    }
}
