//! Media records: one per upload, from the presign to the verdict of the check after upload,
//! and where the media has been sent (which decides who may download it).

use async_trait::async_trait;
use chat_domain::{
    ContentType, ConversationId, MediaId, Millis, Seq, Sha256, ThumbnailRef, UserId,
};

use crate::PortResult;

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaState {
    /// A URL was handed out; the bytes are not (known to be) there.
    Pending,
    /// The stored object has the announced size and SHA-256: it may be sent.
    Verified,
    /// The stored object did not match and was deleted; never sendable. A new request for the
    /// same bytes starts over.
    Rejected,
}

impl MediaState {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaState::Pending => "pending",
            MediaState::Verified => "verified",
            MediaState::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<MediaState> {
        match raw {
            "pending" => Some(MediaState::Pending),
            "verified" => Some(MediaState::Verified),
            "rejected" => Some(MediaState::Rejected),
            _ => None,
        }
    }
}

/// A message that carries a media: the media may be downloaded by whoever may see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaUse {
    pub conversation_id: ConversationId,
    pub seq: Seq,
}

/// One upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRecord {
    pub media_id: MediaId,
    pub uploader: UserId,
    pub content_type: ContentType,
    /// The announced size in bytes.
    pub size: u64,
    /// The announced SHA-256.
    pub sha256: Sha256,
    pub state: MediaState,
    pub created_at: Millis,
    /// Image dimensions, read by the check after upload.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The server-made thumbnail (images only).
    pub thumbnail: Option<ThumbnailRef>,
    /// The messages carrying it (a recall takes its message out).
    pub uses: Vec<MediaUse>,
}

/// What the check after upload found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaVerdict {
    Verified {
        width: Option<u32>,
        height: Option<u32>,
        thumbnail: Option<ThumbnailRef>,
    },
    Rejected,
}

#[async_trait]
pub trait MediaStore: Send + Sync {
    /// Records a new upload (`record.state` is `Pending`, `uses` empty) unless one with its id
    /// exists that is not `Rejected`; answers the record now stored (the existing one, or
    /// `record`). One conditional write.
    async fn create_media(&self, record: &MediaRecord) -> PortResult<MediaRecord>;

    /// One record (a key lookup).
    async fn media(&self, id: &MediaId) -> PortResult<Option<MediaRecord>>;

    /// Writes the check's verdict (whatever the state was: an object overwritten after a
    /// verification is checked again). Answers `false` when there is no such record.
    async fn settle_media(&self, id: &MediaId, verdict: &MediaVerdict) -> PortResult<bool>;

    /// Notes that the message at `used` carries the media (idempotent).
    async fn add_media_use(&self, id: &MediaId, used: &MediaUse) -> PortResult<()>;

    /// Forgets a message that carried the media (a recall); forgetting an unknown one is not
    /// an error.
    async fn remove_media_use(&self, id: &MediaId, used: &MediaUse) -> PortResult<()>;
}
