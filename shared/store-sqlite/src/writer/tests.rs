//! Group commit: what one batch does with a failing, a panicking and a conflicting job, and
//! that queued appends really share one transaction.
//!
//! Each test first occupies the writer thread with a job that waits for a signal
//! ([`hold`]), queues the jobs under test behind it, and only then lets it go: the queued jobs
//! are then certain to run as one batch, without relying on timing.

use std::path::Path;
use std::time::Duration;

use chat_domain::{
    Body, ChatError, ClientMsgId, ConversationId, DeviceId, GroupId, MessageId, Millis, NewMessage,
    UserId,
};
use chat_ports::{Appended, MessageStore};
use rusqlite::Connection;
use tokio::task::JoinHandle;

use super::Writer;
use crate::{SqliteStore, schema};

/// A job that keeps the writer thread busy until `release` is sent (or dropped).
struct Held {
    release: std::sync::mpsc::Sender<()>,
    job: JoinHandle<Result<(), ChatError>>,
}

impl Held {
    /// Lets the writer go on and waits for the holding job's own batch to commit.
    async fn release(self) {
        let _ = self.release.send(());
        self.job.await.expect("join").expect("the holding job");
    }
}

/// Queues a job that blocks the writer thread, and returns once the thread is running it, so
/// everything queued from now on waits for the next batch.
async fn hold(writer: &Writer) -> Held {
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (started, running) = tokio::sync::oneshot::channel::<()>();
    let job = tokio::spawn({
        let writer = writer.clone();
        async move {
            writer
                .run(move |_| {
                    let _ = started.send(());
                    let _ = released.recv();
                    Ok(())
                })
                .await
        }
    });
    running.await.expect("the holding job started");
    Held { release, job }
}

/// Waits until `n` jobs are queued behind the held writer.
async fn queued(writer: &Writer, n: usize) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while writer.queued() < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the jobs were queued");
}

/// Queues an `INSERT` of user `id` and whatever `then` does after it.
fn insert_user(
    writer: &Writer,
    id: &'static str,
    then: fn(&Connection) -> Result<(), ChatError>,
) -> JoinHandle<Result<(), ChatError>> {
    let writer = writer.clone();
    tokio::spawn(async move {
        writer
            .run(move |conn| {
                conn.execute("INSERT INTO users (user_id) VALUES (?1)", [id])
                    .map_err(crate::rows::db("test: insert user"))?;
                then(conn)
            })
            .await
    })
}

fn users(path: &Path) -> Vec<String> {
    let conn = schema::open_reader(path).expect("reader");
    let mut stmt = conn
        .prepare("SELECT user_id FROM users ORDER BY user_id")
        .expect("prepare");
    stmt.query_map([], |row| row.get(0))
        .expect("query")
        .collect::<rusqlite::Result<Vec<String>>>()
        .expect("rows")
}

#[tokio::test]
async fn a_failing_job_rolls_back_alone_and_its_caller_gets_its_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chat.db");
    let writer = Writer::start(schema::open_writer(&path).expect("open"), None).expect("start");
    let held = hold(&writer).await;

    let ok_before = insert_user(&writer, "a", |_| Ok(()));
    // Its first INSERT succeeds; the second violates the primary key. A failing statement
    // undoes only itself: without the savepoint, "b" would be committed.
    let constraint = insert_user(&writer, "b", |conn| {
        conn.execute("INSERT INTO users (user_id) VALUES ('b')", [])
            .map_err(crate::rows::db("test: insert b again"))?;
        Ok(())
    });
    let conflict = insert_user(&writer, "c", |_| Err(ChatError::conflict("test: refused")));
    let panics = insert_user(&writer, "d", |_| panic!("test: a job panics"));
    let ok_after = insert_user(&writer, "e", |_| Ok(()));
    queued(&writer, 5).await;
    held.release().await;

    assert!(ok_before.await.expect("join").is_ok());
    let constraint = constraint.await.expect("join");
    assert!(
        matches!(constraint, Err(ChatError::Internal { .. })),
        "{constraint:?}"
    );
    let conflict = conflict.await.expect("join");
    assert!(
        matches!(conflict, Err(ChatError::Conflict(_))),
        "{conflict:?}"
    );
    assert!(panics.await.expect("join").is_err());
    assert!(ok_after.await.expect("join").is_ok());

    assert_eq!(users(&path), ["a", "e"]);
    // The holding job's batch, then all five in one.
    assert_eq!(writer.commits(), 2);
    // And the writer goes on.
    insert_user(&writer, "f", |_| Ok(()))
        .await
        .expect("join")
        .expect("a write after the batch");
    assert_eq!(users(&path), ["a", "e", "f"]);
}

#[tokio::test]
async fn a_failed_commit_answers_every_job_of_the_batch_with_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chat.db");
    let conn = schema::open_writer(&path).expect("open");
    // A deferred foreign key is checked at COMMIT, not by the statement: the simplest way to
    // make a COMMIT fail after every job of the batch has succeeded.
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         CREATE TABLE parents (id TEXT PRIMARY KEY);
         CREATE TABLE children (
             parent TEXT REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED
         );",
    )
    .expect("test tables");
    let writer = Writer::start(conn, None).expect("start");
    let held = hold(&writer).await;

    let innocent = insert_user(&writer, "a", |_| Ok(()));
    let orphan = insert_user(&writer, "b", |conn| {
        conn.execute("INSERT INTO children (parent) VALUES ('nobody')", [])
            .map_err(crate::rows::db("test: insert an orphan"))?;
        Ok(())
    });
    queued(&writer, 2).await;
    held.release().await;

    let innocent = innocent.await.expect("join");
    assert!(
        matches!(innocent, Err(ChatError::Internal { .. })),
        "nothing is acknowledged that did not commit: {innocent:?}"
    );
    assert!(orphan.await.expect("join").is_err());
    assert!(users(&path).is_empty());
    assert_eq!(writer.commits(), 1, "only the holding job's batch");

    // The failed transaction was rolled back: the next batch starts clean.
    insert_user(&writer, "c", |_| Ok(()))
        .await
        .expect("join")
        .expect("a write after the failed batch");
    assert_eq!(users(&path), ["c"]);
}

fn draft(conversation: &ConversationId, sender: &str, n: u64) -> NewMessage {
    let sender = UserId::parse(sender).expect("user id");
    NewMessage {
        conversation_id: conversation.clone(),
        message_id: MessageId::parse(&format!("m-{sender}-{n}")).expect("message id"),
        sender_id: sender,
        sender_device: DeviceId::parse("phone").expect("device id"),
        client_msg_id: ClientMsgId::parse(&format!("c{n}")).expect("client id"),
        body: Some(Body::parse(format!("message {n}")).expect("body")),
        media: None,
        reply_to: None,
        sent_at: Millis(1_000),
        system: None,
    }
}

#[tokio::test]
async fn queued_appends_commit_in_one_transaction_with_gap_free_seqs() {
    const APPENDS: u64 = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let conversation = ConversationId::group(GroupId::parse("crowd").expect("group id"));
    let held = hold(&store.writer).await;

    let mut appends = Vec::new();
    for n in 0..APPENDS {
        let (store, conversation) = (store.clone(), conversation.clone());
        let sender = format!("sender-{}", n % 7);
        appends.push(tokio::spawn(async move {
            store.append(draft(&conversation, &sender, n)).await
        }));
    }
    queued(&store.writer, APPENDS as usize).await;
    // A retry of the first append, in the same batch: it must see the first one's write.
    let retry = tokio::spawn({
        let (store, conversation) = (store.clone(), conversation.clone());
        async move { store.append(draft(&conversation, "sender-0", 0)).await }
    });
    queued(&store.writer, APPENDS as usize + 1).await;
    held.release().await;

    let mut seqs = Vec::new();
    for append in appends {
        match append.await.expect("join").expect("append") {
            Appended::New(message) => seqs.push(message.seq.get()),
            Appended::Duplicate(message) => panic!("unexpected duplicate {message:?}"),
        }
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=APPENDS).collect::<Vec<_>>());
    match retry.await.expect("join").expect("retry") {
        Appended::Duplicate(original) => assert_eq!(original.client_msg_id.as_str(), "c0"),
        Appended::New(message) => panic!("the retry was stored again: {message:?}"),
    }
    // The holding job's batch, then all 201 appends in one.
    assert_eq!(store.writer.commits(), 2);
}
