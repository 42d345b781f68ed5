//! Reads: read-only connections used on tokio's blocking pool.
//!
//! In WAL mode a reader never waits for the writer and sees every transaction committed before
//! it started, so reads need no coordination with [`crate::writer`]. Connections are opened on
//! demand and up to [`MAX_IDLE`] are kept for reuse; a burst of reads simply opens more.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use chat_domain::ChatError;
use rusqlite::Connection;

use crate::schema;

/// How many idle read connections are kept open. Reads run concurrently on the blocking pool;
/// with only 4 kept, a loaded server opened and closed connections all the time (a profile at
/// 5,000 msg/s put 29% of its CPU in opening, schema parsing and re-preparing statements), so
/// keep enough for the pool's usual concurrency. An idle connection costs its page cache only.
const MAX_IDLE: usize = 64;

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(crate) fn new(path: PathBuf) -> Readers {
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `work` on a read-only connection, off the async runtime.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T, ChatError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ChatError> + Send + 'static,
    {
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut conn = readers.checkout()?;
            let answer = work(&mut conn);
            readers.checkin(conn);
            answer
        })
        .await
        .map_err(|err| ChatError::internal("a store read task failed", err))?
    }

    fn checkout(&self) -> Result<Connection, ChatError> {
        // A poisoned lock only means a thread panicked while pushing or popping: the Vec is fine.
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => schema::open_reader(&self.path),
        }
    }

    fn checkin(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}
