//! The embedded store (SQLite, WAL, `synchronous=FULL`): chat-local's durable default backend
//! for every storage port (`ConnectionStore`, `MessageStore`, `MembershipStore`, `GroupStore`,
//! `UserStore`, `WatchStore`, `HiddenStore`, `MediaStore`, `DeviceStore`, `PushLedger`), all on
//! one [`SqliteStore`] over one `chat.db` file.
//!
//! Why it is shaped this way:
//!
//! - **Durability.** The database runs in WAL mode with `synchronous=FULL`, so every commit
//!   fsyncs the log before it returns; a port call answers `Ok` only after the transaction
//!   holding its write has committed. Killing the process (even `kill -9`) loses nothing that
//!   was acknowledged.
//! - **One writer, group commit.** Every write runs on a single dedicated thread that owns the
//!   only writable connection ([`writer`]), fed by a bounded channel. Writes are therefore
//!   serialized: two concurrent appends to one conversation can never read the same
//!   `last_seq`, so seqs are never shared or skipped. The thread runs every write queued at
//!   once in one transaction, each in its own savepoint (a failing write rolls back alone),
//!   and commits the lot with one fsync: a busy store commits far less often than it writes.
//!   The transaction uses `BEGIN IMMEDIATE`, so that another process opening the same file
//!   cannot interleave with us either.
//! - **A change feed.** Every append is published after its batch commits, in commit order
//!   ([`SqliteStore::changes`], [`feed`]): what `chat-local` fans messages out from, in seq
//!   order, as Lambda does from the messages table's stream.
//! - **Checkpoints off the writer's path.** A thread of its own copies the WAL into the
//!   database file between commits ([`checkpointer`]); the writer's own checkpoint is the
//!   backstop.
//! - **Who has a push device, in memory** ([`push_users`]): most messages go to recipients
//!   without one, and asking costs them no read.
//! - **Readers off the runtime.** Reads run on `tokio::task::spawn_blocking` with read-only
//!   connections from a small pool ([`readers`]); in WAL mode they never wait for the writer
//!   and always see every committed write.
//!
//! Ids are stored as their string forms and parsed back with the domain parsers; a value that
//! no longer parses is corruption and surfaces as `ChatError::Internal`, as does every SQLite
//! error.

mod checkpointer;
mod connections;
mod devices;
mod feed;
mod groups;
mod hidden;
mod media;
mod memberships;
mod messages;
mod push_users;
mod readers;
mod rows;
mod schema;
mod users;
mod watches;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chat_domain::ChatError;

pub use crate::feed::Change;

use crate::feed::Feed;
use crate::push_users::PushUsers;
use crate::readers::Readers;
use crate::writer::Writer;

/// The name of the database file inside the store's directory.
pub const DB_FILE_NAME: &str = "chat.db";

/// The embedded store: implements every storage port over one SQLite file. Cheap to clone
/// (clones share the writer thread and the reader pool).
#[derive(Clone)]
pub struct SqliteStore {
    /// The only writable connection, owned by its own thread.
    writer: Writer,
    /// Read-only connections, used on the blocking pool.
    readers: Arc<Readers>,
    /// Durable message changes, in commit order, for the one subscriber.
    feed: Arc<Feed>,
    /// Who has a device registered for push (most recipients have none: no read for them).
    push_users: Arc<PushUsers>,
    path: Arc<PathBuf>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`: the directory, `chat.db` and its schema.
    ///
    /// This does blocking file I/O; call it at startup (or inside `spawn_blocking`).
    pub fn open(dir: &Path) -> Result<SqliteStore, ChatError> {
        std::fs::create_dir_all(dir).map_err(|err| {
            ChatError::internal(
                format!("creating the store directory {}", dir.display()),
                err,
            )
        })?;
        let path = dir.join(DB_FILE_NAME);
        let connection = schema::open_writer(&path)?;
        let push_users = PushUsers::load(&connection)?;
        let checkpointer = checkpointer::Checkpointer::start(&path)?;
        let writer = Writer::start(connection, Some(checkpointer))?;
        tracing::info!(path = %path.display(), "opened the sqlite store");
        Ok(SqliteStore {
            writer,
            readers: Arc::new(Readers::new(path.clone())),
            feed: Arc::new(Feed::default()),
            push_users: Arc::new(push_users),
            path: Arc::new(path),
        })
    }

    /// Every message change from now on, in the order it became durable: a conversation's
    /// messages in seq order. One subscriber per store (clones included); a second call is an
    /// error. Changes made through another `SqliteStore` on the same file are not in it.
    pub fn changes(&self) -> Result<tokio::sync::mpsc::UnboundedReceiver<Change>, ChatError> {
        self.feed.subscribe()
    }

    /// The database file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
