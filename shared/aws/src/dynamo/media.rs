//! `MediaStore` on the media table: one item per upload, keyed `media_id`, holding the record's
//! fields and `uses`, a String Set of `"{conversation_id}#{seq}"` (the messages carrying it).
//!
//! Every write is one request on one item. `create_media` is a `PutItem` on "no item, or a
//! rejected one" (a rejected upload starts over; any other is answered as it is). A use is
//! added and removed with `ADD` / `DELETE` on the set: atomic, idempotent, and never racing a
//! verdict, which `SET`s other attributes of the same item. Settling and uses are conditional on
//! the item, so that neither makes up a record out of nothing.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chat_domain::{
    ChatError, ContentType, ConversationId, MediaId, Millis, Seq, Sha256, ThumbnailRef, UserId,
};
use chat_ports::{MediaRecord, MediaState, MediaStore, MediaUse, MediaVerdict, PortResult};
use serde::{Deserialize, Serialize};

use super::DynamoStore;
use super::codec::{Item, from_item, is_condition_failed, n, s, to_item, to_value};
use crate::errors::internal;

/// Partition key: the media id.
pub(crate) const HASH: &str = "media_id";
/// The String Set of the messages carrying the media.
const USES: &str = "uses";

/// How often `create_media` tries again when the record it found was rejected (or gone)
/// by the time it read it.
const CREATE_ATTEMPTS: usize = 3;

/// The stored form of a [`MediaRecord`]. Absent options are left out; `uses` is absent when
/// empty (DynamoDB has no empty sets).
#[derive(Debug, Serialize, Deserialize)]
struct MediaItem {
    media_id: MediaId,
    uploader: UserId,
    content_type: ContentType,
    size: u64,
    sha256: Sha256,
    #[serde(with = "state")]
    state: MediaState,
    created_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thumbnail: Option<ThumbnailRef>,
    #[serde(
        with = "serde_dynamo::string_set",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    uses: Vec<String>,
}

/// `MediaState` as its `as_str` spelling (the port's type has no serde of its own).
mod state {
    use chat_ports::MediaState;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(state: &MediaState, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(state.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<MediaState, D::Error> {
        let raw = String::deserialize(input)?;
        MediaState::parse(&raw)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown media state {raw:?}")))
    }
}

/// A use as its set element: `{conversation_id}#{seq}` (conversation ids have no `#`).
fn use_element(used: &MediaUse) -> String {
    format!("{}#{}", used.conversation_id, used.seq.get())
}

fn parse_use(raw: &str) -> Result<MediaUse, ChatError> {
    let corrupt = |cause: String| ChatError::internal(format!("corrupt media use {raw:?}"), cause);
    let (conversation, seq) = raw
        .rsplit_once('#')
        .ok_or_else(|| corrupt("no `#`".into()))?;
    let seq: u64 = seq.parse().map_err(|e| corrupt(format!("{e}")))?;
    Ok(MediaUse {
        conversation_id: ConversationId::parse(conversation).map_err(|e| corrupt(e.to_string()))?,
        seq: Seq::new(seq).map_err(|e| corrupt(e.to_string()))?,
    })
}

impl From<&MediaRecord> for MediaItem {
    fn from(r: &MediaRecord) -> Self {
        MediaItem {
            media_id: r.media_id.clone(),
            uploader: r.uploader.clone(),
            content_type: r.content_type.clone(),
            size: r.size,
            sha256: r.sha256,
            state: r.state,
            created_at: r.created_at,
            width: r.width,
            height: r.height,
            thumbnail: r.thumbnail.clone(),
            uses: r.uses.iter().map(use_element).collect(),
        }
    }
}

impl TryFrom<MediaItem> for MediaRecord {
    type Error = ChatError;

    fn try_from(item: MediaItem) -> Result<Self, ChatError> {
        let mut uses = item
            .uses
            .iter()
            .map(|raw| parse_use(raw))
            .collect::<Result<Vec<_>, _>>()?;
        uses.sort();
        Ok(MediaRecord {
            media_id: item.media_id,
            uploader: item.uploader,
            content_type: item.content_type,
            size: item.size,
            sha256: item.sha256,
            state: item.state,
            created_at: item.created_at,
            width: item.width,
            height: item.height,
            thumbnail: item.thumbnail,
            uses,
        })
    }
}

fn key(id: &MediaId) -> Item {
    Item::from([(HASH.to_string(), s(id))])
}

/// The set of one use, as `ADD` and `DELETE` take it.
fn one_use(used: &MediaUse) -> AttributeValue {
    AttributeValue::Ss(vec![use_element(used)])
}

impl DynamoStore {
    /// `ADD` or `DELETE` one use on an existing record; a missing record is left missing.
    async fn change_use(
        &self,
        action: &str,
        id: &MediaId,
        used: &MediaUse,
        what: &'static str,
    ) -> PortResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.media)
            .set_key(Some(key(id)))
            .update_expression(format!("{action} #uses :use"))
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#uses", USES)
            .expression_attribute_names("#id", HASH)
            .expression_attribute_values(":use", one_use(used))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Ok(()),
            Err(err) => Err(internal(what, err)),
        }
    }
}

#[async_trait]
impl MediaStore for DynamoStore {
    async fn create_media(&self, record: &MediaRecord) -> PortResult<MediaRecord> {
        let item = to_item("media", &MediaItem::from(record))?;
        for _ in 0..CREATE_ATTEMPTS {
            let result = self
                .client
                .put_item()
                .table_name(&self.tables.media)
                .set_item(Some(item.clone()))
                .condition_expression("attribute_not_exists(#id) OR #state = :rejected")
                .expression_attribute_names("#id", HASH)
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":rejected", s(MediaState::Rejected.as_str()))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(record.clone()),
                Err(err) if is_condition_failed(&err) => {
                    // A record that is not rejected: answered as it is, unless it was rejected
                    // between the put and this read (then the put goes again).
                    match self.media(&record.media_id).await? {
                        Some(existing) if existing.state != MediaState::Rejected => {
                            return Ok(existing);
                        }
                        _ => continue,
                    }
                }
                Err(err) => return Err(internal("create_media", err)),
            }
        }
        Err(ChatError::Internal {
            context: format!(
                "create_media: the record of {} kept changing for {CREATE_ATTEMPTS} tries",
                record.media_id
            ),
            cause: None,
        })
    }

    async fn media(&self, id: &MediaId) -> PortResult<Option<MediaRecord>> {
        let found = self
            .client
            .get_item()
            .table_name(&self.tables.media)
            .set_key(Some(key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| internal("media", e))?;
        found
            .item
            .map(|item| from_item::<MediaItem>("media", item).and_then(MediaRecord::try_from))
            .transpose()
    }

    async fn settle_media(&self, id: &MediaId, verdict: &MediaVerdict) -> PortResult<bool> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.media)
            .set_key(Some(key(id)))
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#id", HASH)
            .expression_attribute_names("#state", "state");
        let mut set = vec!["#state = :state".to_string()];
        let mut remove = Vec::new();
        // A rejection clears what a verification found: the object is gone.
        let (state, found) = match verdict {
            MediaVerdict::Verified {
                width,
                height,
                thumbnail,
            } => (
                MediaState::Verified,
                [
                    ("width", width.map(n)),
                    ("height", height.map(n)),
                    (
                        "thumbnail",
                        thumbnail
                            .as_ref()
                            .map(|t| to_value("thumbnail", t))
                            .transpose()?,
                    ),
                ],
            ),
            MediaVerdict::Rejected => (
                MediaState::Rejected,
                [("width", None), ("height", None), ("thumbnail", None)],
            ),
        };
        request = request.expression_attribute_values(":state", s(state.as_str()));
        for (attribute, value) in found {
            request = request.expression_attribute_names(format!("#{attribute}"), attribute);
            match value {
                Some(value) => {
                    set.push(format!("#{attribute} = :{attribute}"));
                    request = request.expression_attribute_values(format!(":{attribute}"), value);
                }
                None => remove.push(format!("#{attribute}")),
            }
        }
        let mut update = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            update.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        match request.update_expression(update).send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failed(&err) => Ok(false),
            Err(err) => Err(internal("settle_media", err)),
        }
    }

    async fn add_media_use(&self, id: &MediaId, used: &MediaUse) -> PortResult<()> {
        self.change_use("ADD", id, used, "add_media_use").await
    }

    async fn remove_media_use(&self, id: &MediaId, used: &MediaUse) -> PortResult<()> {
        self.change_use("DELETE", id, used, "remove_media_use")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_are_a_string_set_of_conversation_and_seq() {
        let used = MediaUse {
            conversation_id: ConversationId::parse("dm:alice:bob").expect("conversation"),
            seq: Seq::new(12).expect("seq"),
        };
        assert_eq!(use_element(&used), "dm:alice:bob#12");
        assert_eq!(parse_use("dm:alice:bob#12").expect("parse"), used);
        assert!(parse_use("dm:alice:bob").is_err());
        assert!(parse_use("dm:alice:bob#0").is_err());
        let record = MediaRecord {
            media_id: MediaId::parse("m1").expect("id"),
            uploader: UserId::parse("alice").expect("user"),
            content_type: ContentType::parse("image/png").expect("type"),
            size: 10,
            sha256: Sha256::of(b"x"),
            state: MediaState::Pending,
            created_at: Millis(1),
            width: None,
            height: None,
            thumbnail: None,
            uses: vec![used],
        };
        let item = to_item("media", &MediaItem::from(&record)).expect("encode");
        assert_eq!(
            item.get(USES),
            Some(&AttributeValue::Ss(vec!["dm:alice:bob#12".into()]))
        );
        assert_eq!(item.get("state"), Some(&s("pending")));
        assert!(!item.contains_key("width"));
        let back: MediaItem = from_item("media", item).expect("decode");
        assert_eq!(MediaRecord::try_from(back).expect("record"), record);
    }
}
