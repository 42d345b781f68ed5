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
pub(crate) const SCHEMA_VERSION: i64 = 3;

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
    migrate(&mut conn)?;
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
