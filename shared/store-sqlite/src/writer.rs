//! The single writer: one thread that owns the only writable connection and runs write jobs
//! one after another, in the order they were queued, committing them in groups.
//!
//! Serializing writes on one connection is what keeps a conversation's seq gap-free under
//! concurrency, and keeps blocking fsyncs off the tokio runtime: a caller queues a closure and
//! awaits its answer on a oneshot channel.
//!
//! **Group commit.** With `synchronous=FULL` every commit costs an fsync, and one commit per
//! write capped the store at the disk's fsync rate. So the thread blocks for one job, then takes
//! every job already queued behind it (up to [`MAX_BATCH`]) and runs them all inside ONE
//! `BEGIN IMMEDIATE` transaction, committed with one fsync. Each job runs in its own
//! `SAVEPOINT`: a job that fails (returns `Err`, or panics) is rolled back to its savepoint
//! alone, and the others still commit. Callers are answered only after the `COMMIT` returns;
//! if it fails, every caller of the batch gets an error, so nothing is acknowledged that is not
//! durable. Jobs run in queue order on one connection, so a job sees the writes of the jobs
//! before it in its batch (the next seq, an idempotency key) exactly as if they had committed.
//!
//! Jobs therefore never begin, commit or roll back a transaction themselves: they get a plain
//! `&Connection` that is already inside their savepoint.

use std::panic::AssertUnwindSafe;

use chat_domain::ChatError;
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::checkpointer::Checkpointer;

/// The most jobs one transaction takes. Large enough that a busy writer commits far less
/// often than it writes; small enough that the first job of a batch does not wait on too many
/// others before its answer.
const MAX_BATCH: usize = 256;

/// How many jobs may wait for the writer. Without a bound, a burst above what the disk can
/// commit grows the queue (memory, and the latency of every write behind it) without limit;
/// with one, a caller past it waits for room, which pushes back on its connection. 4,096 is
/// 16 full batches: deeper than that only adds waiting, never throughput.
const QUEUE_BOUND: usize = 4_096;

/// A handle on the writer thread. Clones share the thread; it stops (closing the connection)
/// once every handle is dropped and the queued jobs are done.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
    /// Transactions committed, so tests can see writes being grouped.
    #[cfg(test)]
    commits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Writer {
    /// Starts the writer thread on `connection`, telling `checkpointer` (if any) of each commit.
    pub(crate) fn start(
        connection: Connection,
        checkpointer: Option<Checkpointer>,
    ) -> Result<Writer, ChatError> {
        let (jobs, queue) = mpsc::channel(QUEUE_BOUND);
        let writer = Writer {
            jobs,
            #[cfg(test)]
            commits: Default::default(),
        };
        let mut thread = WriterThread {
            connection,
            queue,
            checkpointer,
            #[cfg(test)]
            commits: std::sync::Arc::clone(&writer.commits),
        };
        std::thread::Builder::new()
            .name("chat-sqlite-writer".into())
            .spawn(move || thread.run())
            .map_err(|err| ChatError::internal("starting the sqlite writer thread", err))?;
        Ok(writer)
    }

    /// Runs `work` on the writer connection, inside a savepoint of the current batch's
    /// transaction, and answers what it answered once that transaction has committed: once
    /// this returns `Ok`, the write is durable. If `work` returns `Err` (or panics), its writes
    /// are rolled back and nobody else's are.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, ChatError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ChatError> + Send + 'static,
    {
        self.run_then(work, |_: &T| ()).await
    }

    /// [`Writer::run`], and once the batch holding the write has committed (and only then),
    /// `committed(&answer)` on the writer thread, just before the caller is answered. The hooks
    /// of one batch run in queue order, and batches commit in order, so they see writes in the
    /// order they became durable: the change feed publishes appends in seq order this way. A
    /// hook must be quick (a channel send): the next batch waits for it.
    pub(crate) async fn run_then<T, F, C>(&self, work: F, committed: C) -> Result<T, ChatError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ChatError> + Send + 'static,
        C: FnOnce(&T) + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send(Box::new(Queued {
                work,
                committed,
                answer,
            }))
            .await
            .map_err(|_| {
                ChatError::internal(
                    "queueing a store write",
                    "the sqlite writer thread has stopped",
                )
            })?;
        answered.await.map_err(|_| {
            ChatError::internal("awaiting a store write", "the store write was abandoned")
        })?
    }

    /// How many transactions the writer thread has committed so far.
    #[cfg(test)]
    pub(crate) fn commits(&self) -> usize {
        self.commits.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many jobs are queued and not yet taken by the writer thread.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }
}

/// A write waiting for the writer thread, type-erased so that one queue carries every port's
/// writes.
trait Job: Send {
    /// Runs the write on `conn`. The answer is held back until the batch's fate is known.
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Ran>;
    /// Answers the caller with `err` without running the write.
    fn fail(self: Box<Self>, err: ChatError);
}

/// A write that has run, whose caller is waiting for the batch to commit.
trait Ran: Send {
    /// Whether its writes should stand (it answered `Ok`).
    fn succeeded(&self) -> bool;
    /// Answers the caller: its own answer if the batch committed (or if it failed anyway),
    /// the batch's error otherwise.
    fn answer(self: Box<Self>, batch: Result<(), &BatchFailed>);
}

struct Queued<T, F, C> {
    work: F,
    committed: C,
    answer: oneshot::Sender<Result<T, ChatError>>,
}

impl<T, F, C> Job for Queued<T, F, C>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, ChatError> + Send + 'static,
    C: FnOnce(&T) + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Ran> {
        let Queued {
            work,
            committed,
            answer,
        } = *self;
        Box::new(Done {
            result: work(conn),
            committed,
            answer,
        })
    }

    fn fail(self: Box<Self>, err: ChatError) {
        // The caller may have gone away (a cancelled request): nobody is left to tell.
        let _ = self.answer.send(Err(err));
    }
}

struct Done<T, C> {
    result: Result<T, ChatError>,
    committed: C,
    answer: oneshot::Sender<Result<T, ChatError>>,
}

impl<T: Send, C: FnOnce(&T) + Send> Ran for Done<T, C> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn answer(self: Box<Self>, batch: Result<(), &BatchFailed>) {
        let result = match (self.result, batch) {
            // A job that failed wrote nothing either way; its own error says more.
            (Err(own), _) => Err(own),
            (Ok(_), Err(failed)) => Err(failed.error()),
            (Ok(value), Ok(())) => {
                (self.committed)(&value);
                Ok(value)
            }
        };
        // The caller may have gone away (a cancelled request); the write stands anyway.
        let _ = self.answer.send(result);
    }
}

/// Why a whole batch was lost. Every caller in it gets its own `Internal` error from this
/// (`ChatError` is not `Clone`, and its cause is only for the logs anyway).
struct BatchFailed {
    context: &'static str,
    cause: String,
}

impl BatchFailed {
    fn new(context: &'static str, cause: rusqlite::Error) -> BatchFailed {
        BatchFailed {
            context,
            cause: cause.to_string(),
        }
    }

    fn error(&self) -> ChatError {
        ChatError::internal(self.context, self.cause.clone())
    }
}

/// The writer thread's state: the connection and the queue it serves.
struct WriterThread {
    connection: Connection,
    queue: mpsc::Receiver<Box<dyn Job>>,
    /// Copies the WAL into the database file between commits, off this thread.
    checkpointer: Option<Checkpointer>,
    #[cfg(test)]
    commits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl WriterThread {
    /// Blocks for a job, takes every job already queued behind it, commits them as one batch;
    /// until every handle is gone and the queue is empty.
    fn run(&mut self) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while self.queue.blocking_recv_many(&mut batch, MAX_BATCH) > 0 {
            self.run_batch(batch.drain(..));
        }
        tracing::debug!("sqlite writer thread stopped");
    }

    /// Runs `batch` in one transaction, each job in its own savepoint, commits, then answers
    /// every caller.
    fn run_batch(&mut self, mut jobs: impl Iterator<Item = Box<dyn Job>>) {
        let mut ran: Vec<Box<dyn Ran>> = Vec::with_capacity(MAX_BATCH);
        let outcome = run_in_transaction(&mut self.connection, &mut jobs, &mut ran);
        match &outcome {
            Ok(()) => self.count_commit(),
            Err(failed) => {
                tracing::error!(
                    context = failed.context,
                    cause = %failed.cause,
                    writes = ran.len(),
                    "a batch of sqlite store writes was rolled back"
                );
                for job in jobs {
                    job.fail(failed.error());
                }
            }
        }
        for done in ran {
            done.answer(outcome.as_ref().map(|_| ()));
        }
        if let (Ok(()), Some(checkpointer)) = (&outcome, &self.checkpointer) {
            checkpointer.committed();
        }
    }

    /// Counts a committed transaction, before its callers hear of it; only the tests look.
    fn count_commit(&self) {
        #[cfg(test)]
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Runs `jobs` in one transaction and commits it. The jobs that ran go into `ran`; on `Err`
/// the transaction was rolled back and the jobs left in `jobs` never ran.
fn run_in_transaction(
    conn: &mut Connection,
    jobs: &mut impl Iterator<Item = Box<dyn Job>>,
    ran: &mut Vec<Box<dyn Ran>>,
) -> Result<(), BatchFailed> {
    let mut tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|err| BatchFailed::new("store write: begin", err))?;
    for job in jobs {
        // Returning early drops `tx`, which rolls back whatever is left of the transaction.
        run_in_savepoint(&mut tx, job, ran)?;
    }
    tx.commit()
        .map_err(|err| BatchFailed::new("store write: commit", err))
}

/// Runs one job inside its own savepoint of `tx`, keeping its writes if it succeeded and
/// rolling them back if it failed or panicked. A job that ran goes into `ran`, to be answered
/// once the batch commits. `Err` means the transaction itself is gone and the batch is lost.
fn run_in_savepoint(
    tx: &mut rusqlite::Transaction<'_>,
    job: Box<dyn Job>,
    ran: &mut Vec<Box<dyn Ran>>,
) -> Result<(), BatchFailed> {
    let savepoint = match tx.savepoint() {
        Ok(savepoint) => savepoint,
        Err(err) => {
            let failed = BatchFailed::new("store write: savepoint", err);
            job.fail(failed.error());
            return Err(failed);
        }
    };
    // A panicking job drops its answer channel while unwinding (so its caller gets an error);
    // its savepoint is rolled back below and the batch goes on.
    let keep = match std::panic::catch_unwind(AssertUnwindSafe(|| job.run(&savepoint))) {
        Ok(done) => {
            let keep = done.succeeded();
            ran.push(done);
            keep
        }
        Err(_) => {
            tracing::error!("a sqlite store write panicked and was rolled back");
            false
        }
    };
    // `finish` rolls back to the savepoint and releases it (its drop behavior is Rollback).
    let ended = if keep {
        savepoint.commit()
    } else {
        savepoint.finish()
    };
    ended.map_err(|err| BatchFailed::new("store write: ending a savepoint", err))?;
    // Some errors (a full disk, an I/O error) make SQLite roll back the whole transaction. The
    // jobs before this one are then gone, and the next SAVEPOINT would quietly open a new
    // transaction whose COMMIT would acknowledge them anyway.
    if tx.is_autocommit() {
        return Err(BatchFailed {
            context: "store write",
            cause: "sqlite rolled back the batch's transaction".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
