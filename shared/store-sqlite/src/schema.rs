//! Opening connections and creating the schema.
//!
//! Every connection gets the same pragmas (a busy timeout; the writer also WAL and
//! `synchronous=FULL`, which is what makes an acknowledged write survive a crash). The schema
//! is versioned with `PRAGMA user_version`: each migration step runs once, inside the same
//! transaction that bumps the version, so a future version adds an `if version < N` step here.

use std::path::Path;
use std::time::Duration;

use chat_domain::ChatError;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::rows::db;

/// The schema version this code writes.
pub(crate) const SCHEMA_VERSION: i64 = 4;

/// How long a connection waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Version 1: every table, keyed for the ports' key lookups and key-range queries.
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    message_id      TEXT    NOT NULL,
    sender_id       TEXT    NOT NULL,
    sender_device   TEXT    NOT NULL,
    client_msg_id   TEXT    NOT NULL,
    body            TEXT,
    media           TEXT,   -- MediaRef as JSON
    reply_to        INTEGER,
    sent_at         INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;

-- The idempotency key of `send`: one message per (sender, client_msg_id), in any conversation.
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_msg_id
    ON messages (sender_id, client_msg_id);

-- One head per conversation that has a message: what a conversation list shows.
CREATE TABLE IF NOT EXISTS conversations (
    conversation_id TEXT    NOT NULL PRIMARY KEY,
    last_seq        INTEGER NOT NULL,
    last_message_at INTEGER NOT NULL,
    last_sender_id  TEXT    NOT NULL,
    last_preview    TEXT
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS connections (
    user_id       TEXT    NOT NULL,
    connection_id TEXT    NOT NULL,
    device_id     TEXT    NOT NULL,
    connected_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (user_id, connection_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS memberships (
    conversation_id TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    delivered_seq   INTEGER NOT NULL DEFAULT 0,
    read_seq        INTEGER NOT NULL DEFAULT 0,
    joined_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;

-- `memberships_of`: every conversation of one user.
CREATE INDEX IF NOT EXISTS memberships_by_user
    ON memberships (user_id, conversation_id);

CREATE TABLE IF NOT EXISTS users (
    user_id              TEXT NOT NULL PRIMARY KEY,
    display_name         TEXT,
    last_seen_visibility TEXT NOT NULL DEFAULT 'everyone',
    last_seen_at         INTEGER
) WITHOUT ROWID;
";

/// Version 2: groups (their heads, former members, the marks' indexes for group ticks),
/// system messages and recalls, "delete for me", push previews, presence subscriptions.
const SCHEMA_V2: &str = "
ALTER TABLE messages ADD COLUMN system TEXT;     -- SystemEvent as JSON
ALTER TABLE messages ADD COLUMN recalled TEXT;   -- Recall as JSON

ALTER TABLE memberships ADD COLUMN joined_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN left_seq   INTEGER;  -- set for a former member
ALTER TABLE memberships ADD COLUMN hidden_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN hidden_messages INTEGER NOT NULL DEFAULT 0;

ALTER TABLE conversations ADD COLUMN last_recalled INTEGER NOT NULL DEFAULT 0;

-- Messages a member deleted for themselves.
CREATE TABLE IF NOT EXISTS hidden_messages (
    user_id         TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    PRIMARY KEY (user_id, conversation_id, seq)
) WITHOUT ROWID;

-- The group ticks: the lowest marks of a group's current members, and who has a message.
CREATE INDEX IF NOT EXISTS memberships_by_delivered
    ON memberships (conversation_id, delivered_seq, user_id) WHERE left_seq IS NULL;
CREATE INDEX IF NOT EXISTS memberships_by_read
    ON memberships (conversation_id, read_seq, user_id) WHERE left_seq IS NULL;

-- A group's head: name, settings, member count, the ticks last announced.
CREATE TABLE IF NOT EXISTS groups (
    conversation_id       TEXT    NOT NULL PRIMARY KEY,
    name                  TEXT    NOT NULL,
    only_admins_send      INTEGER NOT NULL DEFAULT 0,
    only_admins_edit_info INTEGER NOT NULL DEFAULT 0,
    created_by            TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    member_count          INTEGER NOT NULL,
    closed                INTEGER NOT NULL DEFAULT 0,
    delivered_all_seq     INTEGER NOT NULL DEFAULT 0,
    read_all_seq          INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

ALTER TABLE users ADD COLUMN push_previews INTEGER NOT NULL DEFAULT 1;

-- Presence subscriptions: a connection watches a user (`presence` frames).
CREATE TABLE IF NOT EXISTS watches (
    connection_id TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,  -- the watched user
    subscriber_id TEXT    NOT NULL,  -- whose connection it is
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (connection_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS watches_by_user ON watches (user_id, connection_id);
";

/// Version 3: when each watch was made (a reconnect within the presence grace is announced to
/// the watchers who asked since the user left).
const SCHEMA_V3: &str = "
ALTER TABLE watches ADD COLUMN since INTEGER NOT NULL DEFAULT 0;
";

/// Version 4: media records and the messages carrying them, devices registered for push, the
/// push ledger (the last notification per user and conversation), and muting.
const SCHEMA_V4: &str = "
-- One row per upload (`MediaStore`).
CREATE TABLE IF NOT EXISTS media (
    media_id     TEXT    NOT NULL PRIMARY KEY,
    uploader     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,  -- the announced size in bytes
    sha256       TEXT    NOT NULL,  -- the announced SHA-256, 64 lowercase hex digits
    state        TEXT    NOT NULL,  -- pending | verified | rejected
    created_at   INTEGER NOT NULL,
    width        INTEGER,
    height       INTEGER,
    thumbnail    TEXT               -- ThumbnailRef as JSON
) WITHOUT ROWID;

-- The messages carrying a media: who may download it.
CREATE TABLE IF NOT EXISTS media_uses (
    media_id        TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    PRIMARY KEY (media_id, conversation_id, seq)
) WITHOUT ROWID;

-- Devices registered for push (`DeviceStore`).
CREATE TABLE IF NOT EXISTS devices (
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    platform  TEXT NOT NULL,  -- fcm | apns
    address   TEXT NOT NULL,  -- the provider's address (an SNS endpoint ARN on AWS)
    PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;

-- The last notification per user and conversation (`PushLedger`).
CREATE TABLE IF NOT EXISTS push_ledger (
    user_id         TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    seq             INTEGER NOT NULL,  -- the seq it covered
    at              INTEGER NOT NULL,  -- when it went out (ms)
    PRIMARY KEY (user_id, conversation_id)
) WITHOUT ROWID;

ALTER TABLE memberships ADD COLUMN muted_until INTEGER;  -- ms; NULL: not muted
";

/// The writer's page cache, in KiB (SQLite's negative `cache_size`: 64 MiB, allocated as used).
const WRITER_CACHE_KIB: i64 = -64 * 1024;

/// Opens the one writable connection: WAL, `synchronous=FULL`, schema up to date.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, ChatError> {
    let mut conn = Connection::open(path).map_err(db("opening the database"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(db("setting busy_timeout"))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(db("enabling WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(ChatError::internal(
            "enabling WAL",
            format!("the database stayed in journal_mode {mode}"),
        ));
    }
    // FULL: a commit fsyncs the WAL before it returns, so an acknowledged write is durable.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db("setting synchronous=FULL"))?;
    // The pages appends touch (the newest message pages of every busy conversation, the
    // idempotency index, the heads) are spread over the file: with SQLite's default 2 MiB
    // cache a profile at 12,000 msg/s spent 6% of chat-local's CPU re-reading them.
    conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)
        .map_err(db("setting cache_size"))?;
    // Checkpoints are the background thread's job; the writer's own is the backstop.
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        crate::checkpointer::WRITER_CHECKPOINT_PAGES,
    )
    .map_err(db("setting wal_autocheckpoint"))?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens the checkpoint thread's connection to a database the writer has already set up
/// (read-write: a checkpoint writes the database file, and fsyncs it as `FULL` says).
pub(crate) fn open_checkpointer(path: &Path) -> Result<Connection, ChatError> {
    let conn = Connection::open(path).map_err(db("opening the checkpoint connection"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(db("setting busy_timeout"))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db("setting synchronous=FULL"))?;
    // It never writes a transaction of its own, so it never checkpoints on its own either.
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(db("setting wal_autocheckpoint"))?;
    Ok(conn)
}

/// Opens a read-only connection to a database the writer has already set up.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, ChatError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(db("opening a reader"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(db("setting busy_timeout"))?;
    Ok(conn)
}

/// Brings the schema up to [`SCHEMA_VERSION`], one transaction for all steps.
fn migrate(conn: &mut Connection) -> Result<(), ChatError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db("migrate: begin"))?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db("migrate: reading user_version"))?;
    if version > SCHEMA_VERSION {
        return Err(ChatError::internal(
            "migrate",
            format!(
                "the database has schema version {version}; this build knows up to {SCHEMA_VERSION}"
            ),
        ));
    }
    if version < 1 {
        tx.execute_batch(SCHEMA_V1)
            .map_err(db("migrate: creating schema v1"))?;
    }
    if version < 2 {
        tx.execute_batch(SCHEMA_V2)
            .map_err(db("migrate: schema v2"))?;
    }
    if version < 3 {
        tx.execute_batch(SCHEMA_V3)
            .map_err(db("migrate: schema v3"))?;
    }
    if version < 4 {
        tx.execute_batch(SCHEMA_V4)
            .map_err(db("migrate: schema v4"))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(db("migrate: writing user_version"))?;
    tx.commit().map_err(db("migrate: commit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_twice_keeps_the_version_and_the_pragmas() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chat.db");
        drop(open_writer(&path).expect("first open"));
        let conn = open_writer(&path).expect("second open");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("user_version");
        assert_eq!(version, SCHEMA_VERSION);
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .expect("synchronous");
        assert_eq!(sync, 2, "synchronous=FULL");
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .expect("journal_mode");
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_version_3_database_is_migrated_keeping_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chat.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(SCHEMA_V1).expect("v1");
        conn.execute_batch(SCHEMA_V2).expect("v2");
        conn.execute_batch(SCHEMA_V3).expect("v3");
        conn.pragma_update(None, "user_version", 3)
            .expect("version 3");
        conn.execute(
            "INSERT INTO memberships (conversation_id, user_id, role, joined_at)
             VALUES ('grp:g', 'alice', 'owner', 1)",
            [],
        )
        .expect("a member");
        drop(conn);

        let conn = open_writer(&path).expect("migrate");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("user_version");
        assert_eq!(version, 4);
        let muted: Option<i64> = conn
            .query_row(
                "SELECT muted_until FROM memberships WHERE user_id = 'alice'",
                [],
                |row| row.get(0),
            )
            .expect("the member is kept");
        assert_eq!(muted, None, "nobody is muted by the migration");
        for table in ["media", "media_uses", "devices", "push_ledger"] {
            let count: i64 = conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                    row.get(0)
                })
                .expect("the new table");
            assert_eq!(count, 0, "{table}");
        }
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chat.db");
        let conn = open_writer(&path).expect("open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump");
        drop(conn);
        assert!(open_writer(&path).is_err());
    }
}
