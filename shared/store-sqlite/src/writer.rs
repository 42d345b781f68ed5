//! The single writer: one thread that owns the only writable connection and runs write jobs
//! one after another, in the order they were queued.
//!
//! Serializing writes on one connection is what keeps a conversation's seq gap-free under
//! concurrency, and keeps blocking fsyncs off the tokio runtime: a caller queues a closure and
//! awaits its answer on a oneshot channel. This is also where group commit will go: the
//! thread can drain every queued append, run them in one transaction and fsync once, then
//! answer each caller, without any port changing.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use chat_domain::ChatError;
use rusqlite::Connection;

/// A write queued for the writer thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle on the writer thread. Clones share the thread; it stops (closing the connection)
/// once every handle is dropped and the queued jobs are done.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `connection`.
    pub(crate) fn start(connection: Connection) -> Result<Writer, ChatError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("chat-sqlite-writer".into())
            .spawn(move || run_jobs(connection, queue))
            .map_err(|err| ChatError::internal("starting the sqlite writer thread", err))?;
        Ok(Writer { jobs })
    }

    /// Runs `work` on the writer connection and answers what it answered. `work` commits its
    /// own transaction; once this returns `Ok`, the write is durable.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, ChatError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ChatError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // The caller may have gone away (a cancelled request); the write stands anyway.
            let _ = answer.send(work(conn));
        });
        self.jobs.send(job).map_err(|_| {
            ChatError::internal(
                "queueing a store write",
                "the sqlite writer thread has stopped",
            )
        })?;
        answered.await.map_err(|_| {
            ChatError::internal("awaiting a store write", "the store write was abandoned")
        })?
    }
}

/// The writer thread's loop: one job at a time until every handle is gone.
fn run_jobs(mut connection: Connection, queue: mpsc::Receiver<Job>) {
    for job in queue {
        // A panicking job drops its transaction (rolling it back) and its answer channel (so
        // its caller gets an error); the writer keeps serving everyone else.
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut connection))).is_err() {
            tracing::error!("a sqlite store write panicked and was rolled back");
        }
    }
    tracing::debug!("sqlite writer thread stopped");
}
