//! In-process ordering of appends: appends made through one store (its clones included) to
//! one conversation wait for each other here instead of racing through DynamoDB.
//!
//! The transaction alone keeps seqs gap-free, so this is about cost and fairness, not
//! correctness: every lost race is a cancelled transaction (billed like a written one), and
//! with exponential backoff the losers sleep while the winner goes on, so in a burst one
//! sender can starve the others. Within one process (`chat-local --backend aws`, a test) a
//! queue is cheaper and fair; across processes (Lambda instances) the race and its bounded
//! retries remain. Lanes are striped by a hash of the conversation id, so the table of locks
//! has a fixed size and needs no cleanup; two conversations sharing a lane only queue together
//! inside this process.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use chat_domain::ConversationId;
use tokio::sync::{Mutex, MutexGuard};

/// How many lanes a store has: plenty for the concurrency of one process.
const LANES: usize = 64;

/// A fixed set of async locks, one per lane.
#[derive(Debug)]
pub(crate) struct Lanes(Vec<Mutex<()>>);

impl Lanes {
    pub(crate) fn new() -> Lanes {
        Lanes((0..LANES).map(|_| Mutex::new(())).collect())
    }

    /// Waits for the conversation's lane (tokio's mutex is fair: first come, first served).
    pub(crate) async fn enter(&self, conversation: &ConversationId) -> MutexGuard<'_, ()> {
        self.enter_key(conversation).await
    }

    /// Waits for the lane of any key (the send quota's are users).
    pub(crate) async fn enter_key(&self, key: &impl Hash) -> MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        // The remainder is below `LANES`, the length of the vector: the index is in bounds.
        let lane = (hasher.finish() % LANES as u64) as usize;
        self.0[lane].lock().await
    }
}
