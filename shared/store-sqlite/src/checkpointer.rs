//! WAL checkpoints off the writer's path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold (1,000
//! pages by default), on the one writer thread: every write queued behind that commit waits
//! while the WAL's pages are copied into the database file and the file is fsynced. Profiled
//! at 10,000 msg/s, checkpoints were 7% of chat-local's CPU and a fifth of the writer's time
//! (`docs/performance.md`, "The per-message path").
//!
//! So a thread of its own, on its own connection, runs a `PASSIVE` checkpoint (one that never
//! waits for, nor blocks, the writer or a reader) at most every [`CHECKPOINT_EVERY`] while
//! commits happen, and not at all while none do. A passive checkpoint cannot finish while
//! the writer keeps appending, and only a finished one lets the WAL start over, so the
//! writer keeps SQLite's own checkpoint at a higher threshold ([`WRITER_CHECKPOINT_PAGES`]):
//! by the time it triggers, this thread has copied nearly everything, and what is left for the
//! writer is the tail and an fsync. Durability is unchanged: a checkpoint only copies
//! committed frames, and a crash in the middle of one is recovered from the WAL on open.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use chat_domain::ChatError;
use rusqlite::Connection;

use crate::rows::db;

/// The shortest time between two background checkpoints. Short, because whatever the last
/// one left is what the writer's backstop copies while commits wait: at 200 ms, p99
/// send->receive over 20 s at 5,000 msg/s was 5.9-6.6 ms in four runs, at 25 ms 4.1-4.2 ms
/// in three of four (`docs/performance.md`).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(25);

/// The writer's own automatic checkpoint threshold, in pages (4 KiB each: 40 MB of WAL).
pub(crate) const WRITER_CHECKPOINT_PAGES: i64 = 10_000;

/// The writer's handle: tells the checkpoint thread that a commit happened. The thread stops
/// once the handle is dropped (the writer thread has stopped).
pub(crate) struct Checkpointer {
    wake: SyncSender<()>,
    /// The thread was found gone (said once, not on every commit after).
    gone: AtomicBool,
}

impl Checkpointer {
    /// Starts the checkpoint thread on a connection of its own to `path`.
    pub(crate) fn start(path: &Path) -> Result<Checkpointer, ChatError> {
        let conn = crate::schema::open_checkpointer(path)?;
        // One pending wake-up is enough: a checkpoint covers every commit before it.
        let (wake, woken) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("chat-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &woken))
            .map_err(|err| ChatError::internal("starting the sqlite checkpoint thread", err))?;
        Ok(Checkpointer {
            wake,
            gone: AtomicBool::new(false),
        })
    }

    /// A batch has committed: a checkpoint is due (soon, not now).
    pub(crate) fn committed(&self) {
        match self.wake.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => {
                // The thread died: the writer's own checkpoint still bounds the WAL.
                if !self.gone.swap(true, Ordering::Relaxed) {
                    tracing::error!(
                        "the sqlite checkpoint thread has stopped; the writer checkpoints alone"
                    );
                }
            }
        }
    }
}

fn run(conn: &Connection, woken: &Receiver<()>) {
    let mut last: Option<Instant> = None;
    while woken.recv().is_ok() {
        if let Some(wait) = last.and_then(|at| CHECKPOINT_EVERY.checked_sub(at.elapsed())) {
            std::thread::sleep(wait);
        }
        if let Err(err) = checkpoint(conn) {
            tracing::warn!(error = %err, "a background WAL checkpoint failed; retried after the next commit");
        }
        last = Some(Instant::now());
    }
    tracing::debug!("sqlite checkpoint thread stopped");
}

/// One passive checkpoint (its answer, busy and frame counts, is not needed: the next one
/// starts from wherever this one stopped).
fn checkpoint(conn: &Connection) -> Result<(), ChatError> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .map_err(db("a WAL checkpoint"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_is_checkpointed_in_the_background_soon_after() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("chat.db");
        // The schema is in the WAL (far below the writer's own threshold): the database
        // file grows only when a checkpoint copies it there.
        let _writer = crate::schema::open_writer(&path).expect("writer");
        let size = || std::fs::metadata(&path).expect("db file").len();
        let before = size();
        let checkpointer = Checkpointer::start(&path).expect("checkpointer");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(size(), before, "no commit, no checkpoint");
        checkpointer.committed();
        let deadline = Instant::now() + Duration::from_secs(10);
        while size() == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            size() > before,
            "the WAL was not copied into {}",
            path.display()
        );
    }
}
