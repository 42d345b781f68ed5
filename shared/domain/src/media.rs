//! Media: what may be uploaded (an allow-list of content types, each of a kind with a size
//! limit), the SHA-256 a client announces, and the id an upload gets.
//!
//! A media id is derived from the uploader and the SHA-256 of the bytes, so the same user
//! uploading the same bytes again gets the same id (and no second upload), while another user
//! who only knows a file's hash gets an id of their own and must upload the bytes: knowing a
//! hash never grants the bytes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256 as Hasher};

use crate::error::ChatError;
use crate::ids::MediaId;
#[cfg(test)]
use crate::ids::UserId;

/// What a content type is, for limits, previews and thumbnails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
}

impl MediaKind {
    /// What a notification says instead of a body.
    pub fn label(self) -> &'static str {
        match self {
            MediaKind::Image => "Photo",
            MediaKind::Video => "Video",
            MediaKind::Audio => "Audio",
            MediaKind::Document => "Document",
        }
    }
}

/// The content types a client may upload (lower case, no parameters), by kind. Kept short on
/// purpose: each is a type phones and browsers produce and can show or hand to another app.
pub const ALLOWED_TYPES: &[(&str, MediaKind)] = &[
    ("image/jpeg", MediaKind::Image),
    ("image/png", MediaKind::Image),
    ("image/webp", MediaKind::Image),
    ("image/gif", MediaKind::Image),
    ("image/heic", MediaKind::Image),
    ("video/mp4", MediaKind::Video),
    ("video/quicktime", MediaKind::Video),
    ("video/3gpp", MediaKind::Video),
    ("video/webm", MediaKind::Video),
    ("audio/mpeg", MediaKind::Audio),
    ("audio/mp4", MediaKind::Audio),
    ("audio/aac", MediaKind::Audio),
    ("audio/ogg", MediaKind::Audio),
    ("audio/opus", MediaKind::Audio),
    ("audio/amr", MediaKind::Audio),
    ("audio/webm", MediaKind::Audio),
    ("application/pdf", MediaKind::Document),
    ("text/plain", MediaKind::Document),
    ("application/zip", MediaKind::Document),
    ("application/msword", MediaKind::Document),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        MediaKind::Document,
    ),
    ("application/vnd.ms-excel", MediaKind::Document),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        MediaKind::Document,
    ),
    ("application/vnd.ms-powerpoint", MediaKind::Document),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        MediaKind::Document,
    ),
];

/// A content type from the allow-list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentType(String);

impl ContentType {
    pub fn parse(raw: &str) -> Result<ContentType, ChatError> {
        let normalized = raw.trim().to_ascii_lowercase();
        if ALLOWED_TYPES.iter().any(|(name, _)| *name == normalized) {
            Ok(ContentType(normalized))
        } else {
            Err(ChatError::bad_request(format!(
                "content type {raw:?} is not allowed; allowed: {}",
                ALLOWED_TYPES
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }

    pub fn kind(&self) -> MediaKind {
        ALLOWED_TYPES
            .iter()
            .find(|(name, _)| *name == self.0)
            .map_or(MediaKind::Document, |(_, kind)| *kind)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ContentType {
    type Error = ChatError;
    fn try_from(raw: String) -> Result<Self, ChatError> {
        ContentType::parse(&raw)
    }
}

impl From<ContentType> for String {
    fn from(value: ContentType) -> String {
        value.0
    }
}

impl std::fmt::Display for ContentType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A SHA-256 digest, on the wire as 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256([u8; 32]);

impl Sha256 {
    pub fn parse(raw: &str) -> Result<Sha256, ChatError> {
        let bad = || ChatError::bad_request("`sha256` must be 64 lowercase hex digits");
        if raw.len() != 64 || raw.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(raw, &mut bytes).map_err(|_| bad())?;
        Ok(Sha256(bytes))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256 {
        Sha256(Hasher::digest(bytes).into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Sha256 {
        Sha256(bytes)
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl TryFrom<String> for Sha256 {
    type Error = ChatError;
    fn try_from(raw: String) -> Result<Self, ChatError> {
        Sha256::parse(&raw)
    }
}

impl From<Sha256> for String {
    fn from(value: Sha256) -> String {
        value.to_hex()
    }
}

impl std::fmt::Display for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The largest upload of each kind (a deployment setting; these are the contract's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    /// Images, video and audio.
    pub media_bytes: u64,
    pub document_bytes: u64,
}

impl Default for MediaLimits {
    fn default() -> Self {
        MediaLimits {
            media_bytes: 16 * 1024 * 1024,
            document_bytes: 100 * 1024 * 1024,
        }
    }
}

impl MediaLimits {
    pub fn limit_for(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Document => self.document_bytes,
            _ => self.media_bytes,
        }
    }

    /// `size` bytes of `content_type`, or the error that refuses it.
    pub fn check(&self, content_type: &ContentType, size: u64) -> Result<(), ChatError> {
        if size == 0 {
            return Err(ChatError::bad_request("`size` must be at least 1 byte"));
        }
        let limit = self.limit_for(content_type.kind());
        if size > limit {
            return Err(ChatError::TooLarge(format!(
                "{content_type} uploads are limited to {limit} bytes; this one is {size}"
            )));
        }
        Ok(())
    }
}

/// A thumbnail as a `message`'s `media` names it: the media id it is served under
/// (`GET /v1/media/{id}/thumbnail`) and its size in pixels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailRef {
    pub id: MediaId,
    pub width: u32,
    pub height: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_allow_listed_and_normalized() {
        let jpeg = ContentType::parse(" Image/JPEG ").expect("jpeg");
        assert_eq!(jpeg.as_str(), "image/jpeg");
        assert_eq!(jpeg.kind(), MediaKind::Image);
        assert_eq!(
            ContentType::parse("application/pdf").map(|t| t.kind()).ok(),
            Some(MediaKind::Document)
        );
        for bad in ["text/html", "application/x-msdownload", "image/svg+xml", ""] {
            assert!(ContentType::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_are_limited_by_kind() {
        let limits = MediaLimits::default();
        let video = ContentType::parse("video/mp4").expect("type");
        let pdf = ContentType::parse("application/pdf").expect("type");
        assert!(limits.check(&video, 16 * 1024 * 1024).is_ok());
        assert!(matches!(
            limits.check(&video, 16 * 1024 * 1024 + 1),
            Err(ChatError::TooLarge(_))
        ));
        assert!(limits.check(&pdf, 100 * 1024 * 1024).is_ok());
        assert!(limits.check(&pdf, 0).is_err());
    }

    #[test]
    fn sha256_is_64_lowercase_hex() {
        let digest = Sha256::of(b"abc");
        let hex = digest.to_hex();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256::parse(&hex).ok(), Some(digest));
        assert!(Sha256::parse(&hex.to_ascii_uppercase()).is_err());
        assert!(Sha256::parse(&hex[..63]).is_err());
        assert!(Sha256::parse(&format!("{}g", &hex[..63])).is_err());
    }

    #[test]
    fn a_media_id_belongs_to_its_uploader_and_bytes() {
        let alice = UserId::parse("alice").expect("user");
        let bob = UserId::parse("bob").expect("user");
        let photo = Sha256::of(b"photo");
        let id = MediaId::for_upload(&alice, &photo);
        assert_eq!(id, MediaId::for_upload(&alice, &photo));
        assert_ne!(id, MediaId::for_upload(&bob, &photo));
        assert_ne!(id, MediaId::for_upload(&alice, &Sha256::of(b"other")));
        assert_eq!(id.as_str().len(), 33);
        assert!(MediaId::parse(id.as_str()).is_ok());
    }
}
