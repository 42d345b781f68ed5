//! `MediaStore`: one `media` row per upload, keyed `media_id`, and the messages carrying it in
//! `media_uses`, keyed `(media_id, conversation_id, seq)` so that a record and its uses are
//! one key lookup and one key-range query.
//!
//! `create_media` reads and writes in one writer job: nothing else writes in between, so "unless
//! a record that is not rejected exists" cannot race. Replacing a rejected record replaces its
//! uses too (none, normally: a rejected media is never sendable), exactly as the DynamoDB store's
//! `PutItem` replaces the whole item.

use async_trait::async_trait;
use chat_domain::{ChatError, ContentType, ConversationId, MediaId, Millis, Sha256, UserId};
use chat_ports::{MediaRecord, MediaState, MediaStore, MediaUse, MediaVerdict, PortResult};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::SqliteStore;
use crate::rows::{corrupt, db, from_json, int, json_text, seq, uint};

/// The columns of `media`, in the order [`MediaRow::read`] reads them.
const MEDIA_COLUMNS: &str = "media_id, uploader, content_type, size, sha256, state, created_at, \
     width, height, thumbnail";

/// One `media` row, unparsed.
struct MediaRow {
    media_id: String,
    uploader: String,
    content_type: String,
    size: i64,
    sha256: String,
    state: String,
    created_at: i64,
    width: Option<i64>,
    height: Option<i64>,
    thumbnail: Option<String>,
}

impl MediaRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<MediaRow> {
        Ok(MediaRow {
            media_id: row.get(0)?,
            uploader: row.get(1)?,
            content_type: row.get(2)?,
            size: row.get(3)?,
            sha256: row.get(4)?,
            state: row.get(5)?,
            created_at: row.get(6)?,
            width: row.get(7)?,
            height: row.get(8)?,
            thumbnail: row.get(9)?,
        })
    }

    fn into_record(self, uses: Vec<MediaUse>) -> Result<MediaRecord, ChatError> {
        let pixels = |column: &'static str, value: Option<i64>| {
            value
                .map(|v| {
                    u32::try_from(v).map_err(|err| {
                        ChatError::internal(format!("corrupt value in column {column}"), err)
                    })
                })
                .transpose()
        };
        Ok(MediaRecord {
            media_id: MediaId::parse(&self.media_id).map_err(corrupt("media_id"))?,
            uploader: UserId::parse(&self.uploader).map_err(corrupt("uploader"))?,
            content_type: ContentType::parse(&self.content_type)
                .map_err(corrupt("content_type"))?,
            size: uint("size", self.size)?,
            sha256: Sha256::parse(&self.sha256).map_err(corrupt("sha256"))?,
            state: MediaState::parse(&self.state).ok_or_else(|| {
                ChatError::internal(
                    "corrupt value in column state",
                    format!("unknown media state {:?}", self.state),
                )
            })?,
            created_at: Millis(self.created_at),
            width: pixels("width", self.width)?,
            height: pixels("height", self.height)?,
            thumbnail: from_json("thumbnail", self.thumbnail)?,
            uses,
        })
    }
}

/// One record and its uses, in (conversation, seq) order.
fn read_media(conn: &Connection, id: &str) -> Result<Option<MediaRecord>, ChatError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {MEDIA_COLUMNS} FROM media WHERE media_id = ?1"
        ))
        .and_then(|mut stmt| stmt.query_row([id], MediaRow::read).optional())
        .map_err(db("media"))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let uses: Vec<(String, i64)> = conn
        .prepare_cached("SELECT conversation_id, seq FROM media_uses WHERE media_id = ?1")
        .and_then(|mut stmt| {
            stmt.query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .map_err(db("media: its uses"))?;
    let mut uses = uses
        .into_iter()
        .map(|(conversation, s)| {
            Ok(MediaUse {
                conversation_id: ConversationId::parse(&conversation)
                    .map_err(corrupt("conversation_id"))?,
                seq: seq("seq", s)?,
            })
        })
        .collect::<Result<Vec<_>, ChatError>>()?;
    uses.sort();
    row.into_record(uses).map(Some)
}

/// Writes `record` over whatever row `media_id` had, with exactly its uses.
fn put_media(conn: &Connection, record: &MediaRecord) -> Result<(), ChatError> {
    let id = record.media_id.as_str();
    let size = int(record.size)?;
    let thumbnail = json_text("thumbnail", record.thumbnail.as_ref())?;
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO media ({MEDIA_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            id,
            record.uploader.as_str(),
            record.content_type.as_str(),
            size,
            record.sha256.to_hex(),
            record.state.as_str(),
            record.created_at.as_i64(),
            record.width,
            record.height,
            thumbnail,
        ])
    })
    .map_err(db("create_media"))?;
    conn.prepare_cached("DELETE FROM media_uses WHERE media_id = ?1")
        .and_then(|mut stmt| stmt.execute([id]))
        .map_err(db("create_media: clearing the uses"))?;
    for used in &record.uses {
        // `add_media_use` checks that the record exists; here it was just written.
        let seq = int(used.seq.get())?;
        conn.prepare_cached(
            "INSERT OR IGNORE INTO media_uses (media_id, conversation_id, seq)
             VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut stmt| stmt.execute(params![id, used.conversation_id.to_string(), seq]))
        .map_err(db("create_media: the uses"))?;
    }
    Ok(())
}

#[async_trait]
impl MediaStore for SqliteStore {
    async fn create_media(&self, record: &MediaRecord) -> PortResult<MediaRecord> {
        let record = record.clone();
        self.writer
            .run(move |conn| {
                if let Some(existing) = read_media(conn, record.media_id.as_str())?
                    && existing.state != MediaState::Rejected
                {
                    return Ok(existing);
                }
                put_media(conn, &record)?;
                Ok(record)
            })
            .await
    }

    async fn media(&self, id: &MediaId) -> PortResult<Option<MediaRecord>> {
        let id = id.to_string();
        self.readers.run(move |conn| read_media(conn, &id)).await
    }

    async fn settle_media(&self, id: &MediaId, verdict: &MediaVerdict) -> PortResult<bool> {
        let id = id.to_string();
        // A rejection clears what a verification found: the object is gone.
        let (state, width, height, thumbnail) = match verdict {
            MediaVerdict::Verified {
                width,
                height,
                thumbnail,
            } => (
                MediaState::Verified,
                *width,
                *height,
                json_text("thumbnail", thumbnail.as_ref())?,
            ),
            MediaVerdict::Rejected => (MediaState::Rejected, None, None, None),
        };
        self.writer
            .run(move |conn| {
                let found = conn
                    .prepare_cached(
                        "UPDATE media SET state = ?2, width = ?3, height = ?4, thumbnail = ?5
                         WHERE media_id = ?1",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![id, state.as_str(), width, height, thumbnail])
                    })
                    .map_err(db("settle_media"))?;
                Ok(found > 0)
            })
            .await
    }

    async fn add_media_use(&self, id: &MediaId, used: &MediaUse) -> PortResult<()> {
        let (id, conversation) = (id.to_string(), used.conversation_id.to_string());
        let seq = int(used.seq.get())?;
        self.writer
            .run(move |conn| {
                // Only on an existing record: a use never makes one up (as on DynamoDB, whose
                // update is conditional on the item).
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO media_uses (media_id, conversation_id, seq)
                     SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM media WHERE media_id = ?1)",
                )
                .and_then(|mut stmt| stmt.execute(params![id, conversation, seq]))
                .map_err(db("add_media_use"))?;
                Ok(())
            })
            .await
    }

    async fn remove_media_use(&self, id: &MediaId, used: &MediaUse) -> PortResult<()> {
        let (id, conversation) = (id.to_string(), used.conversation_id.to_string());
        let seq = int(used.seq.get())?;
        self.writer
            .run(move |conn| {
                conn.prepare_cached(
                    "DELETE FROM media_uses WHERE media_id = ?1 AND conversation_id = ?2 AND seq = ?3",
                )
                .and_then(|mut stmt| stmt.execute(params![id, conversation, seq]))
                .map_err(db("remove_media_use"))?;
                Ok(())
            })
            .await
    }
}
