//! Reads: read-only connections used on tokio's blocking pool.
//!
//! In WAL mode a reader never waits for the writer and sees every transaction committed before
//! it started, so reads need no coordination with [`crate::writer`]. At most [`MAX_READERS`]
//! reads run at once (the rest wait for a turn), each on a connection opened on first need and
//! then kept: under load a connection is reused, never reopened.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use chat_domain::ChatError;
use rusqlite::Connection;
use tokio::sync::Semaphore;

use crate::schema;

/// How many reads run at once, and so how many connections are ever open. Unbounded reads on
/// the blocking pool (up to 512 threads) with 4 kept idle made a loaded server open and close
/// connections all the time: a profile at 5,000 msg/s put 29% of its CPU in opening, schema
/// parsing and re-preparing statements. Each connection holds up to SQLite's default 2 MiB page
/// cache, so 64 bound that at 128 MiB.
const MAX_READERS: usize = 64;

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    turns: Arc<Semaphore>,
}

impl Readers {
    pub(crate) fn new(path: PathBuf) -> Readers {
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
            turns: Arc::new(Semaphore::new(MAX_READERS)),
        }
    }

    /// Runs `work` on a read-only connection, off the async runtime.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T, ChatError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ChatError> + Send + 'static,
    {
        let turn = Arc::clone(&self.turns)
            .acquire_owned()
            .await
            .map_err(|err| ChatError::internal("waiting for a store read", err))?;
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut conn = readers.checkout()?;
            let answer = work(&mut conn);
            readers.checkin(conn);
            drop(turn);
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
        // Never more than MAX_READERS exist: every one goes back.
        idle.push(conn);
    }
}
