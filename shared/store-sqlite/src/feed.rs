//! The change feed: every message write, in the order it became durable, for the one consumer
//! that asks for it (`chat-local`, which fans messages out from it as Lambda fans them out from
//! the messages table's DynamoDB stream).
//!
//! Why a feed rather than pushing from the request that wrote: group commit answers a whole
//! batch of appends at once, and the requests then race each other to the sockets, so a device
//! saw seq 2, 6, 3, 5, 4. The writer thread publishes each change after its batch commits, in
//! queue order ([`crate::writer::Writer::run_then`]), so the feed holds every conversation's
//! messages in seq order, and a consumer that handles one conversation's changes one after
//! another delivers them in that order.
//!
//! The channel is unbounded so that a slow consumer (a 10,000-member fan-out) never stalls the
//! writer, which every write waits for; it holds at most what the writer committed and the
//! consumer has not reached yet. Nothing is published until someone subscribes.

use std::sync::OnceLock;

use chat_domain::{ChatError, StoredMessage};
use tokio::sync::mpsc;

/// One durable change to a message, as a stream record names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A message appended (a stream `INSERT`).
    Inserted(StoredMessage),
    /// A stored message changed, e.g. recalled (a stream `MODIFY`); the message as it is now.
    Modified(StoredMessage),
}

impl Change {
    pub fn message(&self) -> &StoredMessage {
        match self {
            Change::Inserted(m) | Change::Modified(m) => m,
        }
    }
}

/// The sending half, shared by every clone of the store.
#[derive(Default)]
pub(crate) struct Feed {
    sender: OnceLock<mpsc::UnboundedSender<Change>>,
}

impl Feed {
    /// The receiving half; there is only one.
    pub(crate) fn subscribe(&self) -> Result<mpsc::UnboundedReceiver<Change>, ChatError> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.sender.set(sender).map_err(|_| ChatError::Internal {
            context: "the store's change feed has a subscriber already".into(),
            cause: None,
        })?;
        Ok(receiver)
    }

    /// Publishes `change` if anyone subscribed. A consumer that went away loses nothing that
    /// matters: the change is durable, and devices catch up with `sync`.
    pub(crate) fn publish(&self, change: Change) {
        if let Some(sender) = self.sender.get() {
            let _ = sender.send(change);
        }
    }
}
